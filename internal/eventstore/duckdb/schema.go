// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// dayNanos is the length of a partition.
const dayNanos = int64(24 * time.Hour)

// fixedColumns are the event's own columns, in table order, before the
// typed field columns.
const fixedColumns = `id BLOB, time BIGINT, received BIGINT, tenant VARCHAR, source VARCHAR, host VARCHAR,
	product VARCHAR, category VARCHAR, service VARCHAR, flags USMALLINT, reason VARCHAR, raw VARCHAR,
	raw_bin BLOB, fields MAP(VARCHAR, VARCHAR)`

// numFixed is the number of fixed columns.
const numFixed = 14

// partition is one day's table.
type partition struct {
	day   int64
	table string
	// order lists the fields with typed columns, in table order.
	order []string
	// cols maps a field to its column; pos to its position in order.
	cols map[string]string
	pos  map[string]int
	// fold maps a lower-cased field name to its column when only one
	// typed field has that lower-case form.
	fold map[string]string
	// insert is the appender's INSERT statement (see appendDay).
	insert string
	// rows counts the table's events (estimated at Open, then counted).
	rows atomic.Int64
}

// vectorRows is DuckDB's vector size: the unit in which it reads rows.
const vectorRows = 2048

// vectorSpan estimates the time a vector of p's rows covers.
func (p *partition) vectorSpan() int64 {
	vectors := p.rows.Load() / vectorRows
	if vectors <= 1 {
		return dayNanos
	}
	return dayNanos / vectors
}

func newPartition(day int64) *partition {
	return &partition{day: day, table: tableName(day), cols: map[string]string{}, pos: map[string]int{}, fold: map[string]string{}}
}

// insertSQL returns the appender's statement for p: the appended columns
// col1 … in table order, except that the map arrives as two lists.
func (p *partition) insertSQL() string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + quoteIdent(p.table) + " (id, time, received, tenant, source, host, product, category, service, flags, reason, raw, raw_bin, fields")
	for _, f := range p.order {
		b.WriteString(", " + quoteIdent(p.cols[f]))
	}
	b.WriteString(") SELECT ")
	for i := 1; i < numFixed; i++ {
		b.WriteString("col" + strconv.Itoa(i) + ", ")
	}
	k, v := "col"+strconv.Itoa(numFixed), "col"+strconv.Itoa(numFixed+1)
	b.WriteString("CASE WHEN " + k + " IS NULL THEN NULL ELSE map(" + k + ", " + v + ") END")
	for i := range p.order {
		b.WriteString(", col" + strconv.Itoa(numFixed+2+i))
	}
	b.WriteString(" FROM appended_data")
	return b.String()
}

func (p *partition) add(field, col string) {
	p.pos[field] = len(p.order)
	p.order = append(p.order, field)
	p.cols[field] = col
	k := strings.ToLower(field)
	if _, dup := p.fold[k]; dup {
		p.fold[k] = "" // ambiguous
	} else {
		p.fold[k] = col
	}
}

// dayOf returns the day number (days since 1970-01-01 UTC) of ns.
func dayOf(ns int64) int64 {
	d := ns / dayNanos
	if ns%dayNanos < 0 {
		d--
	}
	return d
}

// dayTime returns the midnight UTC that starts day.
func dayTime(day int64) time.Time { return time.Unix(0, day*dayNanos).UTC() }

// tableName returns the name of day's table.
func tableName(day int64) string { return "events_" + dayTime(day).Format("20060102") }

// tableDay reads a table name back to its day number.
func tableDay(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "events_")
	if !ok || len(s) != 8 {
		return 0, false
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, false
	}
	return dayOf(t.UnixNano()), true
}

// columnName returns a new SQL column name for field: lower-case letters,
// digits and underscores behind an f_ prefix, made unique against taken.
func columnName(field string, taken map[string]string) string {
	var b strings.Builder
	b.WriteString("f_")
	under := true
	for _, r := range strings.ToLower(field) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case !under:
			b.WriteByte('_')
			under = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	base := strings.TrimRight(b.String(), "_")
	if base == "f" {
		base = "f_field"
	}
	name := base
	for i := 2; ; i++ {
		if _, ok := taken[name]; !ok {
			return name
		}
		name = base + "_" + strconv.Itoa(i)
	}
}

// quoteIdent quotes a column or table name. Names come from columnName or
// tableName only; quoting keeps them from meaning anything else.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// partition returns day's table, creating it with the current typed
// columns. The caller holds wmu.
func (s *Store) partition(ctx context.Context, day int64) (*partition, error) {
	s.mu.RLock()
	p, ok := s.parts[day]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	if ok {
		return p, nil
	}
	p = newPartition(day)
	var ddl strings.Builder
	ddl.WriteString("CREATE TABLE IF NOT EXISTS " + quoteIdent(p.table) + " (" + fixedColumns)
	for _, f := range s.typed {
		col := s.fields[f]
		ddl.WriteString(", " + quoteIdent(col) + " VARCHAR")
		p.add(f, col)
	}
	ddl.WriteString(")")
	p.insert = p.insertSQL()
	if _, err := s.db.ExecContext(ctx, ddl.String()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.parts[day] = p
	s.mu.Unlock()
	return p, nil
}

// partitionsIn returns the days' tables that [from, to) touches, oldest
// first; zero times leave that end open. The caller holds mu.
func (s *Store) partitionsIn(from, to time.Time) []*partition {
	lo, hi := int64(-1<<62), int64(1<<62)
	if !from.IsZero() {
		lo = dayOf(clampNanos(from))
	}
	if !to.IsZero() {
		hi = dayOf(clampNanos(to) - 1)
	}
	var out []*partition
	for d, p := range s.parts {
		if d >= lo && d <= hi {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *partition) int { return cmp.Compare(a.day, b.day) })
	return out
}

// clampNanos returns t in Unix nanoseconds, clamped to the int64 range.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, -1<<63)):
		return -1 << 63
	case t.After(time.Unix(0, 1<<63-1)):
		return 1<<63 - 1
	}
	return t.UnixNano()
}
