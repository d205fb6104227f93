// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/koban-csirt/koban/internal/event"
)

// Insert stores evs and checkpoint in one transaction (see
// eventstore.Store).
func (s *Store) Insert(ctx context.Context, evs []event.Event, checkpoint string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("eventstore: insert: %w", err)
	}
	// Group the new events by day, skipping ids seen recently or earlier
	// in the batch.
	byDay := make(map[int64][]int)
	batch := make(map[event.ID]struct{}, len(evs))
	var ids []event.ID
	for i := range evs {
		id := evs[i].ID
		if !id.IsZero() {
			if _, dup := batch[id]; dup || s.dedup.has(id) {
				continue
			}
			batch[id] = struct{}{}
			ids = append(ids, id)
		}
		d := dayOf(evs[i].Time)
		byDay[d] = append(byDay[d], i)
	}
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.SortFunc(days, cmp.Compare)
	parts := make([]*partition, len(days))
	for i, d := range days {
		p, err := s.partition(ctx, d)
		if err != nil {
			return fmt.Errorf("eventstore: insert: create %s: %w", tableName(d), err)
		}
		parts[i] = p
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("eventstore: insert: %w", err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		conn, ok := dc.(*ddb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return s.insertTx(ctx, conn, evs, parts, byDay, checkpoint)
	})
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return fmt.Errorf("eventstore: insert: %w", err)
	}
	for _, id := range ids {
		s.dedup.add(id)
	}
	for _, p := range parts {
		p.rows.Add(int64(len(byDay[p.day])))
	}
	return nil
}

// insertTx appends the events and updates the checkpoint inside one
// transaction on conn, rolling back on any error.
func (s *Store) insertTx(ctx context.Context, conn *ddb.Conn, evs []event.Event, parts []*partition, byDay map[int64][]int, checkpoint string) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
		return err
	}
	committing := false
	defer func() {
		// A failed COMMIT has rolled back already; anything else needs
		// a ROLLBACK, which also ends a transaction an error aborted.
		if err != nil && !committing {
			if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	for _, p := range parts {
		if err := s.appendDay(ctx, conn, p, evs, byDay[p.day]); err != nil {
			return fmt.Errorf("%s: %w", p.table, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `UPDATE koban_meta SET value = ? WHERE key = 'checkpoint'`,
		[]driver.NamedValue{{Ordinal: 1, Value: checkpoint}}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	committing = true
	_, err = conn.ExecContext(ctx, "COMMIT", nil)
	return err
}

// appendDay appends the events at idx to p's table. The long-tail fields
// go to the appender as two lists, names and values, which DuckDB turns
// into the MAP: the driver's MAP path costs a Go map per entry, lists
// cost one string each.
func (s *Store) appendDay(ctx context.Context, conn *ddb.Conn, p *partition, evs []event.Event, idx []int) error {
	types, err := appendTypes(len(p.order))
	if err != nil {
		return err
	}
	a, err := ddb.NewQueryAppender(conn, p.insert, "", types, nil)
	if err != nil {
		return err
	}
	const nFixed = numFixed + 1 // the map arrives as two lists
	row := make([]driver.Value, nFixed+len(p.order))
	// Ids are copied out of the events: cgo may not be handed memory
	// inside a struct that holds Go pointers.
	ids := make([]byte, 16*len(idx))
	var keys, values []any
	seen := make(map[string]struct{})
	for n, i := range idx {
		e := &evs[i]
		for j := nFixed; j < len(row); j++ {
			row[j] = nil
		}
		keys, values = keys[:0], values[:0]
		clear(seen)
		for _, f := range e.Fields {
			name := f.ID.Name()
			if _, dup := seen[name]; dup {
				continue // a MAP refuses duplicate keys; the first wins
			}
			seen[name] = struct{}{}
			if k, ok := p.pos[name]; ok {
				row[nFixed+k] = text(f.Value)
				continue
			}
			keys = append(keys, text(name))
			values = append(values, text(f.Value))
		}
		raw, rawBin := rawColumns(e.Raw)
		id := ids[16*n : 16*n+16 : 16*n+16]
		copy(id, e.ID[:])
		row[0], row[1], row[2] = id, e.Time, e.Received
		row[3], row[4], row[5] = text(e.Tenant), text(e.Source), text(e.Host)
		row[6], row[7], row[8] = text(e.Log.Product), text(e.Log.Category), text(e.Log.Service)
		row[9], row[10], row[11], row[12] = uint16(e.Flags), text(e.Reason), raw, rawBin
		row[13], row[14] = nil, nil
		if len(keys) > 0 {
			row[13], row[14] = keys, values
		}
		if err := a.AppendRow(row...); err != nil {
			return errors.Join(err, a.Close())
		}
		if n%4096 == 4095 && ctx.Err() != nil {
			return errors.Join(ctx.Err(), a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}

// appendTypes returns the appender's column types for a table with n
// typed columns: the fixed columns with the map as two VARCHAR lists.
func appendTypes(n int) ([]ddb.TypeInfo, error) {
	var out []ddb.TypeInfo
	add := func(t ddb.Type) error {
		ti, err := ddb.NewTypeInfo(t)
		out = append(out, ti)
		return err
	}
	var errs []error
	for _, t := range []ddb.Type{ddb.TYPE_BLOB, ddb.TYPE_BIGINT, ddb.TYPE_BIGINT, ddb.TYPE_VARCHAR, ddb.TYPE_VARCHAR, ddb.TYPE_VARCHAR,
		ddb.TYPE_VARCHAR, ddb.TYPE_VARCHAR, ddb.TYPE_VARCHAR, ddb.TYPE_USMALLINT, ddb.TYPE_VARCHAR, ddb.TYPE_VARCHAR, ddb.TYPE_BLOB} {
		errs = append(errs, add(t))
	}
	str, err := ddb.NewTypeInfo(ddb.TYPE_VARCHAR)
	errs = append(errs, err)
	list, err := ddb.NewListInfo(str)
	errs = append(errs, err)
	out = append(out, list, list)
	for range n {
		out = append(out, str)
	}
	return out, errors.Join(errs...)
}

// text returns s as valid UTF-8, which DuckDB's VARCHAR requires.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// rawColumns returns the raw column (text, invalid bytes replaced) and the
// raw_bin column (the bytes, only when they are not valid UTF-8).
func rawColumns(raw []byte) (string, driver.Value) {
	if utf8.Valid(raw) {
		return string(raw), nil
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD"), raw
}

// Checkpoint returns the checkpoint stored by the last Insert.
func (s *Store) Checkpoint(ctx context.Context) (string, error) {
	if err := s.rlock(); err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	var cp string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM koban_meta WHERE key = 'checkpoint'`).Scan(&cp)
	if err != nil {
		return "", fmt.Errorf("eventstore: checkpoint: %w", ctxErr(ctx, err))
	}
	return cp, nil
}

// dedup remembers the last n event ids stored.
type dedup struct {
	ring []event.ID
	next int
	full bool
	set  map[event.ID]struct{}
}

func newDedup(n int) *dedup {
	if n < 0 {
		n = 0
	}
	return &dedup{ring: make([]event.ID, n), set: make(map[event.ID]struct{}, n)}
}

func (d *dedup) has(id event.ID) bool {
	_, ok := d.set[id]
	return ok
}

func (d *dedup) add(id event.ID) {
	if len(d.ring) == 0 {
		return
	}
	if d.full {
		delete(d.set, d.ring[d.next])
	}
	d.ring[d.next] = id
	d.set[id] = struct{}{}
	d.next++
	if d.next == len(d.ring) {
		d.next, d.full = 0, true
	}
}

// refillDedup loads the ids of the newest events (by received time) of the
// two newest days.
func (s *Store) refillDedup(ctx context.Context, c *sql.Conn) error {
	n := len(s.dedup.ring)
	ps := s.partitionsIn(time.Time{}, time.Time{})
	if n == 0 || len(ps) == 0 {
		return nil
	}
	ps = ps[max(0, len(ps)-2):]
	var union strings.Builder
	for i, p := range ps {
		if i > 0 {
			union.WriteString(" UNION ALL ")
		}
		union.WriteString("SELECT id, received FROM " + quoteIdent(p.table))
	}
	// Oldest first, so that the ring forgets the oldest first.
	rows, err := c.QueryContext(ctx, "SELECT id FROM (SELECT id, received FROM ("+union.String()+
		") ORDER BY received DESC LIMIT ?) ORDER BY received", n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		var id event.ID
		if len(b) == len(id) {
			copy(id[:], b)
			s.dedup.add(id)
		}
	}
	return rows.Err()
}
