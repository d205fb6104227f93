// SPDX-License-Identifier: Apache-2.0

// Package event defines the one record every stage of koban shares: intake
// produces it, the journal keeps it, the event store and the detection
// engine read it (DESIGN.md §3).
//
// Field names are interned: a FieldID is a small number that stands for a
// name process-wide, so that the detection engine compares integers on its
// hot path and never hashes a name per event. Values are plain strings,
// decoded once by intake. The binary form (AppendBinary, Decode) carries
// names, not ids, because ids are only valid inside one process.
package event
