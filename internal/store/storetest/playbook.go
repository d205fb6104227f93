// SPDX-License-Identifier: Apache-2.0

package storetest

// playbookCases are the conformance cases of the playbooks admins copied and edited.
var playbookCases = []conformanceCase{}
