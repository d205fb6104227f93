// SPDX-License-Identifier: Apache-2.0

// Package baseline finds anomalies against what each host and user usually
// does (DESIGN.md §4): a program never run on a host before, a parent/child
// process pair hardly ever seen, a user logging on from a new address, a
// new service, too many failed logons in a window. Definitions say which
// events to observe, which fields form the subject (host, user) and which
// the thing observed; Defaults gives the built-in set.
//
// State is bounded and survives restarts. Each definition keeps at most
// Options.MaxKeys values (and as many subjects for its learning periods),
// evicting the least recently observed: an evicted value is new again, so
// it may be reported as first seen once more, and Stats counts evictions.
// Subjects and values are kept as 64-bit SipHash sums under a random key,
// never as text: an entry has a fixed size and a snapshot holds no user
// names or addresses. Snapshot and Restore write and read the state in a
// versioned binary format with a checksum (see snapshot.go); SaveFile and
// LoadFile do so through a file replaced atomically. A corrupt or foreign
// snapshot is refused whole and the state is left as it was.
//
// Time is the events' own: windows and learning periods are measured in
// event time, never by the wall clock, so an import of last month's logs
// behaves as the live stream did. Events may arrive out of order: a
// sighting older than the newest is counted where it belongs, and a
// threshold fires when its latest Threshold events fit in one window.
//
// Who calls it: app runs an Engine on the normalised event stream beside
// the Sigma engine, turns findings into alerts, and saves the state
// periodically and on shutdown. Observe is the hot path: one goroutine,
// no allocation for events no definition observes. The package never
// blocks, logs, or reads anything but the events and snapshots it is given.
package baseline
