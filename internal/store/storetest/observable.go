// SPDX-License-Identifier: Apache-2.0

package storetest

// observableCases are the conformance cases of incidents' observables and the alerts they were made from.
var observableCases = []conformanceCase{}
