// SPDX-License-Identifier: Apache-2.0

package incident

// PlaybookStore keeps the playbooks admins copied and edited.
type PlaybookStore interface{}
