// SPDX-License-Identifier: Apache-2.0

package incident

// ObservableStore keeps incidents' observables and the alerts incidents were made from.
type ObservableStore interface{}
