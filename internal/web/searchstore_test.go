// SPDX-License-Identifier: Apache-2.0

package web

import (
	"cmp"
	"context"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// memStore is a search.Store over a slice, for the handler tests: it
// evaluates the query model (field equality, wildcards, text, AND/OR/NOT)
// as the DuckDB store does, without a database.
type memStore struct {
	mu     sync.Mutex
	events []event.Event
	// block makes every call wait for its context to end: a store that is
	// too slow.
	block bool
}

func (m *memStore) add(evs ...event.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, evs...)
}

func (m *memStore) match(ctx context.Context, q search.Query) ([]event.Event, error) {
	if m.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []event.Event
	for _, e := range m.events {
		if e.Time < q.From.UnixNano() || e.Time >= q.To.UnixNano() || (q.Where != nil && !eval(q.Where, &e)) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b event.Event) int { return -cmpKey(a.Time, a.ID, b.Time, b.ID) })
	return out, nil
}

func cmpKey(t1 int64, id1 event.ID, t2 int64, id2 event.ID) int {
	if c := cmp.Compare(t1, t2); c != 0 {
		return c
	}
	return strings.Compare(string(id1[:]), string(id2[:]))
}

func column(e *event.Event, field string) (string, bool) {
	switch field {
	case "host":
		return e.Host, true
	case "source":
		return e.Source, true
	case "product":
		return e.Log.Product, true
	case "category":
		return e.Log.Category, true
	case "service":
		return e.Log.Service, true
	case "raw":
		return string(e.Raw), true
	}
	return e.Lookup(field)
}

func eval(x search.Expr, e *event.Event) bool {
	switch x := x.(type) {
	case search.And:
		for _, y := range x {
			if !eval(y, e) {
				return false
			}
		}
		return true
	case search.Or:
		for _, y := range x {
			if eval(y, e) {
				return true
			}
		}
		return false
	case search.Not:
		return !eval(x.X, e)
	case search.Text:
		return strings.Contains(strings.ToLower(string(e.Raw)), strings.ToLower(x.Value))
	case search.Pred:
		v, ok := column(e, x.Field)
		if !ok {
			return false
		}
		lv, want := strings.ToLower(v), strings.ToLower(x.Value)
		switch x.Op {
		case search.Eq:
			return lv == want
		case search.Contains:
			return strings.Contains(lv, want)
		case search.Prefix:
			return strings.HasPrefix(lv, want)
		case search.Suffix:
			return strings.HasSuffix(lv, want)
		case search.Wildcard:
			// path.Match knows * and ?; the test data holds no slashes.
			ok, _ := path.Match(want, lv)
			return ok
		case search.Exists:
			return true
		}
	}
	return false
}

func (m *memStore) Search(ctx context.Context, q search.Query) (search.Page, error) {
	evs, err := m.match(ctx, q)
	if err != nil {
		return search.Page{}, err
	}
	if q.After != nil {
		i := 0
		for i < len(evs) && cmpKey(evs[i].Time, evs[i].ID, q.After.Time, q.After.ID) >= 0 {
			i++
		}
		evs = evs[i:]
	}
	var pg search.Page
	if q.Limit > 0 && len(evs) > q.Limit {
		evs = evs[:q.Limit]
		last := evs[len(evs)-1]
		pg.Next = &search.Cursor{Time: last.Time, ID: last.ID}
	}
	pg.Events = evs
	return pg, nil
}

func (m *memStore) Count(ctx context.Context, q search.Query) (int64, error) {
	evs, err := m.match(ctx, q)
	return int64(len(evs)), err
}

func (m *memStore) Histogram(ctx context.Context, q search.Query, step time.Duration) ([]search.Bucket, error) {
	evs, err := m.match(ctx, q)
	if err != nil {
		return nil, err
	}
	var bs []search.Bucket
	for t := q.From; t.Before(q.To); t = t.Add(step) {
		bs = append(bs, search.Bucket{Start: t})
	}
	for _, e := range evs {
		bs[(e.Time-q.From.UnixNano())/int64(step)].Count++
	}
	return bs, nil
}

func (m *memStore) Top(ctx context.Context, q search.Query, field string, n int, rare bool) ([]search.Value, error) {
	evs, err := m.match(ctx, q)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for i := range evs {
		if v, ok := column(&evs[i], field); ok {
			counts[v]++
		}
	}
	var out []search.Value
	for v, c := range counts {
		out = append(out, search.Value{Value: v, Count: c})
	}
	slices.SortFunc(out, func(a, b search.Value) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out[:min(n, len(out))], nil
}

func (m *memStore) CountBy(ctx context.Context, q search.Query, fields []string, limit int) ([]search.Group, error) {
	return nil, fault.New(fault.Invalid, "not used by the web tests")
}

func (m *memStore) Get(ctx context.Context, tenant string, id event.ID) (event.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		if e.ID == id {
			return e, nil
		}
	}
	return event.Event{}, fault.New(fault.NotFound, "error.not_found")
}
