// SPDX-License-Identifier: Apache-2.0

// Package auth owns people and access: local users and their passwords
// (argon2id), browser sessions with idle and absolute timeouts, sign-in
// throttling per account and per address, optional TOTP, API tokens scoped to
// a role, and the one table (Can) that says which role may do what.
//
// Every change it makes is written to the audit trail in the same transaction.
// It never talks HTTP and never formats text for people: the web layer maps
// its faults to pages. It imports no other domain package; the state store
// implements its Store interface, and internal/app wires the two.
package auth
