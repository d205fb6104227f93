// SPDX-License-Identifier: Apache-2.0

package storetest

// deskCases are the conformance cases of the employee report desk.
var deskCases = []conformanceCase{}
