// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// Count returns how many events match q.
func (s *Store) Count(ctx context.Context, q search.Query) (int64, error) {
	if err := s.rlock(); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	subs, err := s.subs(q, selecting("count(*) AS n"), "")
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	u, args := union(subs, "UNION ALL")
	var n int64
	err = s.db.QueryRowContext(ctx, "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM ("+u+")", args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("eventstore: count: %w", ctxErr(ctx, err))
	}
	return n, nil
}

// Histogram counts matching events in buckets of width step over
// [q.From, q.To), which must both be set.
func (s *Store) Histogram(ctx context.Context, q search.Query, step time.Duration) ([]search.Bucket, error) {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) || step <= 0 {
		return nil, fault.New(fault.Invalid, "search.bad_range")
	}
	span := clampNanos(q.To) - clampNanos(q.From)
	n := span / int64(step)
	if span%int64(step) != 0 {
		n++
	}
	if n > MaxBuckets || n < 0 {
		return nil, fault.New(fault.Invalid, "search.too_many_buckets", "max", MaxBuckets)
	}
	out := make([]search.Bucket, n)
	for i := range out {
		out[i].Start = q.From.Add(time.Duration(i) * step)
	}
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	from := clampNanos(q.From)
	subs, err := s.subs(q, func(c *compiler) (string, error) {
		c.b.WriteString("(time - ")
		c.param(from)
		c.b.WriteString(") // ")
		c.param(int64(step))
		c.b.WriteString(" AS b, count(*) AS n")
		sel := c.b.String()
		c.b.Reset()
		return sel, nil
	}, " GROUP BY b")
	if err != nil || len(subs) == 0 {
		return out, err
	}
	u, args := union(subs, "UNION ALL")
	rows, err := s.db.QueryContext(ctx, "SELECT b, CAST(sum(n) AS BIGINT) FROM ("+u+") GROUP BY b", args...)
	if err != nil {
		return nil, fmt.Errorf("eventstore: histogram: %w", ctxErr(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		var b, c int64
		if err := rows.Scan(&b, &c); err != nil {
			return nil, fmt.Errorf("eventstore: histogram: %w", err)
		}
		if b >= 0 && b < n {
			out[b].Count = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: histogram: %w", ctxErr(ctx, err))
	}
	return out, nil
}

// groupRef returns the SQL value of field for grouping: NULL when the
// event lacks it.
func (c *compiler) groupRef(field string) error {
	r := c.s.resolve(c.p, field)
	switch r.kind {
	case kindID:
		return fault.New(fault.Invalid, "search.bad_field", "field", field)
	case kindFlags:
		c.b.WriteString("CAST(NULLIF(flags, 0) AS VARCHAR)")
	case kindText:
		c.b.WriteString("NULLIF(" + r.sql + ", '')")
	default:
		c.val(r)
	}
	return nil
}

// Top returns the n most (or, when rare, least) common values of field
// among matching events that have it.
func (s *Store) Top(ctx context.Context, q search.Query, field string, n int, rare bool) ([]search.Value, error) {
	groups, err := s.countBy(ctx, q, []string{field}, n, rare)
	if err != nil {
		return nil, err
	}
	out := make([]search.Value, len(groups))
	for i, g := range groups {
		out[i] = search.Value{Value: g.Values[0], Count: g.Count}
	}
	return out, nil
}

// CountBy counts matching events that have all of fields by their values,
// largest groups first.
func (s *Store) CountBy(ctx context.Context, q search.Query, fields []string, limit int) ([]search.Group, error) {
	return s.countBy(ctx, q, fields, limit, false)
}

func (s *Store) countBy(ctx context.Context, q search.Query, fields []string, limit int, rare bool) ([]search.Group, error) {
	if len(fields) == 0 || len(fields) > 16 {
		return nil, fault.New(fault.Invalid, "search.bad_field", "field", strings.Join(fields, ","))
	}
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, MaxLimit)
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var names, having []string
	for i := range fields {
		names = append(names, "v"+strconv.Itoa(i))
		having = append(having, "v"+strconv.Itoa(i)+" IS NOT NULL")
	}
	list := strings.Join(names, ", ")
	subs, err := s.subs(q, func(c *compiler) (string, error) {
		for i, f := range fields {
			if i > 0 {
				c.b.WriteString(", ")
			}
			if err := c.groupRef(f); err != nil {
				return "", err
			}
			c.b.WriteString(" AS " + names[i])
		}
		c.b.WriteString(", count(*) AS n")
		sel := c.b.String()
		c.b.Reset()
		return sel, nil
	}, " GROUP BY ALL HAVING "+strings.Join(having, " AND "))
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	order := "c DESC"
	if rare {
		order = "c ASC"
	}
	u, args := union(subs, "UNION ALL")
	rows, err := s.db.QueryContext(ctx, "SELECT "+list+", CAST(sum(n) AS BIGINT) AS c FROM ("+u+") GROUP BY "+list+
		" ORDER BY "+order+", "+list+" LIMIT "+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("eventstore: count by %s: %w", strings.Join(fields, ","), ctxErr(ctx, err))
	}
	defer rows.Close()
	var out []search.Group
	for rows.Next() {
		vals := make([]string, len(fields))
		dest := make([]any, len(fields)+1)
		for i := range vals {
			dest[i] = &vals[i]
		}
		g := search.Group{}
		dest[len(fields)] = &g.Count
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("eventstore: count by: %w", err)
		}
		g.Values = vals
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: count by: %w", ctxErr(ctx, err))
	}
	return out, nil
}
