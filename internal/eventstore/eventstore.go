// SPDX-License-Identifier: Apache-2.0

package eventstore

import (
	"context"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/search"
)

// Store keeps events for search. Query methods (search.Store) return
// fault.Invalid for a query they cannot run (a bad regex, a non-numeric
// comparison value), fault.NotFound from Get, and ctx's error when ctx ends
// first.
type Store interface {
	search.Store
	// Insert stores evs and records checkpoint, the journal position after
	// them, in one transaction: after an error or a crash either both are
	// stored or neither is. Events whose id the store has seen recently
	// (see the adapter's documentation for how recently) are skipped, so a
	// batch delivered twice is stored once. Errors: ctx's error, or an
	// internal fault (disk full, database closed).
	Insert(ctx context.Context, evs []event.Event, checkpoint string) error
	// Checkpoint returns the checkpoint of the last successful Insert, ""
	// for a new store.
	Checkpoint(ctx context.Context) (string, error)
	// Retain removes whole days: those older than the maximum age at now,
	// then the oldest while the store is larger than its maximum size. The
	// newest day is never removed for size.
	Retain(ctx context.Context, now time.Time) (Retention, error)
	// Stats reports the store's size.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the store; it waits for running calls to end.
	Close() error
}

// Day is one day of stored events (UTC).
type Day struct {
	Day    time.Time // midnight UTC
	Events int64
	// Bytes is the day's share of the store's size, estimated from its
	// number of events.
	Bytes int64
}

// Stats is the size of a store.
type Stats struct {
	Events int64
	// Bytes is the space the stored events use, in bytes.
	Bytes int64
	// FileBytes is the size of the store's files on disk. Space freed by
	// retention is reused for new events rather than returned at once, so
	// it may exceed Bytes.
	FileBytes int64
	Days      []Day // oldest first
}

// BytesPerEvent returns the average stored size of an event.
func (s Stats) BytesPerEvent() float64 {
	if s.Events == 0 {
		return 0
	}
	return float64(s.Bytes) / float64(s.Events)
}

// Retention reports what Retain removed.
type Retention struct {
	Dropped     []Day // oldest first
	Events      int64 // events removed
	BytesBefore int64
	BytesAfter  int64
}
