// SPDX-License-Identifier: Apache-2.0

// Package fault defines the kinds of error every koban package shares:
// invalid input, not found, conflict, unauthenticated, forbidden, too many
// requests and internal failure.
//
// A fault carries a public message: a message id from the i18n catalogue plus
// named arguments, which the web layer translates into the user's language.
// Anything that is not a fault is internal, and its text never reaches a
// browser. This package is a leaf: it imports only the standard library, and
// every other package may use it.
package fault
