// SPDX-License-Identifier: Apache-2.0

package storetest

// reminderCases are the conformance cases of the clock reminders already sent.
var reminderCases = []conformanceCase{}
