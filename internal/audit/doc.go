// SPDX-License-Identifier: Apache-2.0

// Package audit defines the audit trail's record and its hash chain: every
// state change in koban (who, when, what, before and after) becomes an Entry
// whose hash covers its own fields and the hash of the entry before it, so
// that editing or removing a stored row breaks the chain at that row.
//
// The package is a leaf (standard library only). Domain packages build
// entries; the state store appends them in the same transaction as the change
// they describe and is the only writer; `koban audit verify` walks the chain
// with a Checker. The package never stores or sends anything itself.
package audit
