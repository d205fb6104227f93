// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// Limits on result sizes.
const (
	DefaultLimit = 100    // Search without a limit
	MaxLimit     = 10_000 // Search, Top, CountBy
	MaxBuckets   = 10_000 // Histogram
)

// sub is one partition's SELECT.
type sub struct {
	sql  string
	args []any
}

// subs builds, for each partition q's range touches, a SELECT of sel from
// it with q's conditions and tail (GROUP BY, ORDER BY …). sel is a function
// of the partition's compiler so that field references resolve per day.
func (s *Store) subs(q search.Query, sel func(c *compiler) (string, error), tail string) ([]sub, error) {
	var out []sub
	for _, p := range s.partitionsIn(q.From, q.To) {
		x, err := s.sub(p, q, sel, tail)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// sub builds the SELECT of sel from partition p with q's conditions and
// tail.
func (s *Store) sub(p *partition, q search.Query, sel func(c *compiler) (string, error), tail string) (sub, error) {
	c := &compiler{s: s, p: p}
	cols, err := sel(c)
	if err != nil {
		return sub{}, err
	}
	c.b.WriteString(" FROM " + quoteIdent(p.table) + " WHERE tenant = ")
	c.param(q.Tenant)
	if !q.From.IsZero() {
		c.b.WriteString(" AND time >= ")
		c.param(clampNanos(q.From))
	}
	if !q.To.IsZero() {
		c.b.WriteString(" AND time < ")
		c.param(clampNanos(q.To))
	}
	if q.After != nil {
		c.b.WriteString(" AND (time < ")
		c.param(q.After.Time)
		c.b.WriteString(" OR (time = ")
		c.param(q.After.Time)
		c.b.WriteString(" AND id < ")
		c.param(q.After.ID[:])
		c.b.WriteString("))")
	}
	if q.Where != nil {
		c.b.WriteString(" AND (")
		if err := c.where(q.Where); err != nil {
			return sub{}, err
		}
		c.b.WriteString(")")
	}
	c.b.WriteString(tail)
	return sub{sql: "SELECT " + cols + c.b.String(), args: c.args}, nil
}

// union joins subs with sep ("UNION ALL" or "UNION ALL BY NAME"), each in
// parentheses.
func union(subs []sub, sep string) (string, []any) {
	var b strings.Builder
	var args []any
	for i, x := range subs {
		if i > 0 {
			b.WriteString(" " + sep + " ")
		}
		b.WriteString("(" + x.sql + ")")
		args = append(args, x.args...)
	}
	return b.String(), args
}

// selecting returns a sel function that writes a fixed column list.
func selecting(cols string) func(*compiler) (string, error) {
	return func(*compiler) (string, error) { return cols, nil }
}

// key locates an event: its sort key and its day.
type key struct {
	time int64
	id   event.ID
	p    *partition
}

// Search returns up to q.Limit events, newest first (by time, then id).
// Days are disjoint in time, so it asks the newest day first for the keys
// (time, id) of the page and goes to older days only while the page is not
// full; then it reads the page's events by key, which reads only the
// row groups that hold them.
func (s *Store) Search(ctx context.Context, q search.Query) (search.Page, error) {
	if err := s.rlock(); err != nil {
		return search.Page{}, err
	}
	defer s.mu.RUnlock()
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	need := limit + 1
	ps := s.partitionsIn(q.From, q.To)
	var keys []key
	for i := len(ps) - 1; i >= 0 && len(keys) < need; i-- {
		p := ps[i]
		if q.After != nil && p.day > dayOf(q.After.Time) {
			continue
		}
		x, err := s.sub(p, q, selecting("time, id"), " ORDER BY time DESC, id DESC LIMIT "+strconv.Itoa(need-len(keys)))
		if err != nil {
			return search.Page{}, err
		}
		keys, err = s.keys(ctx, x, p, keys)
		if err != nil {
			return search.Page{}, fmt.Errorf("eventstore: search: %w", err)
		}
	}
	var pg search.Page
	if len(keys) > limit {
		keys = keys[:limit]
		last := keys[limit-1]
		pg.Next = &search.Cursor{Time: last.time, ID: last.id}
	}
	evs, err := s.fetch(ctx, q.Tenant, keys)
	if err != nil {
		return search.Page{}, fmt.Errorf("eventstore: search: %w", err)
	}
	pg.Events = evs
	return pg, nil
}

// keys runs a SELECT time, id query on p and appends its rows to keys.
func (s *Store) keys(ctx context.Context, x sub, p *partition, keys []key) ([]key, error) {
	rows, err := s.db.QueryContext(ctx, x.sql, x.args...)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		k := key{p: p}
		var id []byte
		if err := rows.Scan(&k.time, &id); err != nil {
			return nil, err
		}
		copy(k.id[:], id)
		keys = append(keys, k)
	}
	return keys, ctxErr(ctx, rows.Err())
}

// fetch reads the events with keys, in the keys' order. Reading all
// columns costs about a vector of every column per vector of rows a scan
// touches, so keys close in time (likely in one vector: rows are stored
// roughly in time order) are read with one time range, and keys far apart
// each with their own time, which zone maps narrow to a vector or two.
func (s *Store) fetch(ctx context.Context, tenant string, keys []key) ([]event.Event, error) {
	byPart := make(map[*partition][]key)
	var order []*partition
	for _, k := range keys {
		if byPart[k.p] == nil {
			order = append(order, k.p)
		}
		byPart[k.p] = append(byPart[k.p], k)
	}
	found := make(map[event.ID]event.Event, len(keys))
	for _, p := range order {
		ks := slices.Clone(byPart[p])
		slices.SortFunc(ks, func(a, b key) int { return cmp.Compare(a.time, b.time) })
		gap := p.vectorSpan()
		// One query per cluster: DuckDB plans a UNION of many such
		// SELECT * far slower than it runs them one by one.
		for i := 0; i < len(ks); {
			j := i + 1
			for j < len(ks) && ks[j].time-ks[j-1].time <= gap {
				j++
			}
			var q strings.Builder
			q.WriteString("SELECT * FROM " + quoteIdent(p.table) + " WHERE tenant = ? AND time >= ? AND time <= ? AND id IN (")
			args := []any{tenant, ks[i].time, ks[j-1].time}
			for n, k := range ks[i:j] {
				if n > 0 {
					q.WriteString(", ")
				}
				q.WriteByte('?')
				args = append(args, append([]byte(nil), k.id[:]...)) // k holds a pointer: cgo may not see into it
			}
			q.WriteString(")")
			evs, err := s.events(ctx, q.String(), args)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				found[e.ID] = e
			}
			i = j
		}
	}
	out := make([]event.Event, 0, len(keys))
	for _, k := range keys {
		if e, ok := found[k.id]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// Get returns the event with id in tenant's events.
func (s *Store) Get(ctx context.Context, tenant string, id event.ID) (event.Event, error) {
	if err := s.rlock(); err != nil {
		return event.Event{}, err
	}
	defer s.mu.RUnlock()
	q := search.Query{Tenant: tenant, Where: search.Pred{Field: "id", Op: search.Eq, Value: id.String()}}
	subs, err := s.subs(q, selecting("time"), " LIMIT 1")
	if err != nil {
		return event.Event{}, err
	}
	if len(subs) > 0 {
		u, args := union(subs, "UNION ALL")
		var t int64
		err := s.db.QueryRowContext(ctx, "SELECT time FROM ("+u+") LIMIT 1", args...).Scan(&t)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return event.Event{}, fmt.Errorf("eventstore: get %s: %w", id, ctxErr(ctx, err))
		default:
			if p := s.parts[dayOf(t)]; p != nil {
				evs, err := s.fetch(ctx, tenant, []key{{time: t, id: id, p: p}})
				if err != nil {
					return event.Event{}, fmt.Errorf("eventstore: get %s: %w", id, err)
				}
				if len(evs) == 1 {
					return evs[0], nil
				}
			}
		}
	}
	return event.Event{}, fault.New(fault.NotFound, "search.not_found", "id", id.String())
}

// events runs a SELECT * query and reads its rows as events.
func (s *Store) events(ctx context.Context, query string, args []any) ([]event.Event, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var out []event.Event
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, s.eventOf(cols, vals))
	}
	return out, ctxErr(ctx, rows.Err())
}

// eventOf builds an event from a row of a day table.
func (s *Store) eventOf(cols []string, vals []any) event.Event {
	var e event.Event
	str := func(v any) string { x, _ := v.(string); return x }
	var extra ddb.OrderedMap
	for i, c := range cols {
		v := vals[i]
		switch c {
		case "id":
			if b, ok := v.([]byte); ok {
				copy(e.ID[:], b)
			}
		case "time":
			e.Time, _ = v.(int64)
		case "received":
			e.Received, _ = v.(int64)
		case "tenant":
			e.Tenant = str(v)
		case "source":
			e.Source = str(v)
		case "host":
			e.Host = str(v)
		case "product":
			e.Log.Product = str(v)
		case "category":
			e.Log.Category = str(v)
		case "service":
			e.Log.Service = str(v)
		case "flags":
			f, _ := v.(uint16)
			e.Flags = event.Flag(f)
		case "reason":
			e.Reason = str(v)
		case "raw":
			if x := str(v); x != "" && e.Raw == nil {
				e.Raw = []byte(x)
			}
		case "raw_bin":
			if b, ok := v.([]byte); ok {
				e.Raw = b
			}
		case "fields":
			if m, ok := v.(ddb.OrderedMap); ok {
				extra = m
			}
		default:
			f, ok := s.byCol[c]
			if x, isStr := v.(string); ok && isStr {
				addField(&e, f, x)
			}
		}
	}
	keys, values := extra.Keys(), extra.Values()
	for i := range keys {
		k, _ := keys[i].(string)
		if v, ok := values[i].(string); ok {
			addField(&e, k, v)
		}
	}
	return e
}

func addField(e *event.Event, name, v string) {
	id, err := event.Intern(name)
	if err != nil {
		e.Flag(event.FlagFieldsDropped, "too many distinct field names")
		return
	}
	e.Fields = append(e.Fields, event.Field{ID: id, Value: v})
}

// ctxErr returns ctx's error joined to err when ctx has ended, so that
// callers can tell a cancelled query with errors.Is.
func ctxErr(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errors.Join(ctx.Err(), err)
	}
	return err
}
