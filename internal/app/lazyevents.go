// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"sync"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore"
	"github.com/koban-csirt/koban/internal/search"
)

// lazyEvents opens the event store when it is first needed: when the
// journal has events for it or someone searches. DuckDB's code and caches
// cost tens of megabytes of resident memory, which a koban that takes in no
// logs should not pay. A failed open is retried at the next use.
type lazyEvents struct {
	open func() (eventstore.Store, error)

	mu sync.Mutex
	s  eventstore.Store
}

var _ eventstore.Store = (*lazyEvents)(nil)

func (l *lazyEvents) store() (eventstore.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	s, err := l.open()
	if err != nil {
		return nil, err
	}
	l.s = s
	return s, nil
}

// opened returns the store if it is open, or nil.
func (l *lazyEvents) opened() eventstore.Store {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

// Search implements search.Store.
func (l *lazyEvents) Search(ctx context.Context, q search.Query) (search.Page, error) {
	s, err := l.store()
	if err != nil {
		return search.Page{}, err
	}
	return s.Search(ctx, q)
}

// Count implements search.Store.
func (l *lazyEvents) Count(ctx context.Context, q search.Query) (int64, error) {
	s, err := l.store()
	if err != nil {
		return 0, err
	}
	return s.Count(ctx, q)
}

// Histogram implements search.Store.
func (l *lazyEvents) Histogram(ctx context.Context, q search.Query, step time.Duration) ([]search.Bucket, error) {
	s, err := l.store()
	if err != nil {
		return nil, err
	}
	return s.Histogram(ctx, q, step)
}

// Top implements search.Store.
func (l *lazyEvents) Top(ctx context.Context, q search.Query, field string, n int, rare bool) ([]search.Value, error) {
	s, err := l.store()
	if err != nil {
		return nil, err
	}
	return s.Top(ctx, q, field, n, rare)
}

// CountBy implements search.Store.
func (l *lazyEvents) CountBy(ctx context.Context, q search.Query, fields []string, limit int) ([]search.Group, error) {
	s, err := l.store()
	if err != nil {
		return nil, err
	}
	return s.CountBy(ctx, q, fields, limit)
}

// Get implements search.Store.
func (l *lazyEvents) Get(ctx context.Context, tenant string, id event.ID) (event.Event, error) {
	s, err := l.store()
	if err != nil {
		return event.Event{}, err
	}
	return s.Get(ctx, tenant, id)
}

// Insert implements eventstore.Store.
func (l *lazyEvents) Insert(ctx context.Context, evs []event.Event, checkpoint string) error {
	s, err := l.store()
	if err != nil {
		return err
	}
	return s.Insert(ctx, evs, checkpoint)
}

// Checkpoint implements eventstore.Store.
func (l *lazyEvents) Checkpoint(ctx context.Context) (string, error) {
	s, err := l.store()
	if err != nil {
		return "", err
	}
	return s.Checkpoint(ctx)
}

// Retain implements eventstore.Store; a store never opened holds nothing to
// remove yet.
func (l *lazyEvents) Retain(ctx context.Context, now time.Time) (eventstore.Retention, error) {
	if s := l.opened(); s != nil {
		return s.Retain(ctx, now)
	}
	return eventstore.Retention{}, nil
}

// Stats implements eventstore.Store.
func (l *lazyEvents) Stats(ctx context.Context) (eventstore.Stats, error) {
	s, err := l.store()
	if err != nil {
		return eventstore.Stats{}, err
	}
	return s.Stats(ctx)
}

// Close closes the store if it was opened.
func (l *lazyEvents) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	err := l.s.Close()
	l.s = nil
	return err
}
