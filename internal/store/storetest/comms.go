// SPDX-License-Identifier: Apache-2.0

package storetest

// commsCases are the conformance cases of contacts, the communication log and report drafts.
var commsCases = []conformanceCase{}
