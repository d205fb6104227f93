// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/koban-csirt/koban/internal/eventstore"
)

// Stats reports the store's size and its days.
func (s *Store) Stats(ctx context.Context) (eventstore.Stats, error) {
	if err := s.rlock(); err != nil {
		return eventstore.Stats{}, err
	}
	defer s.mu.RUnlock()
	st, err := s.stats(ctx)
	if err != nil {
		return eventstore.Stats{}, fmt.Errorf("eventstore: stats: %w", ctxErr(ctx, err))
	}
	return st, nil
}

// stats measures the store. The caller holds mu.
func (s *Store) stats(ctx context.Context) (eventstore.Stats, error) {
	var st eventstore.Stats
	counts := make(map[string]int64)
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, estimated_size FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main'`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return st, err
		}
		counts[name] = n
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return st, err
	}
	var blockSize, used int64
	err = s.db.QueryRowContext(ctx, `SELECT block_size, used_blocks FROM pragma_database_size()
		WHERE database_name = current_database()`).Scan(&blockSize, &used)
	if err != nil {
		return st, err
	}
	wal := fileSize(s.path + ".wal")
	st.Bytes = blockSize*used + wal
	st.FileBytes = fileSize(s.path) + wal
	for _, p := range s.partitionsIn(time.Time{}, time.Time{}) {
		n := counts[p.table]
		st.Events += n
		st.Days = append(st.Days, eventstore.Day{Day: dayTime(p.day), Events: n})
	}
	for i := range st.Days {
		if st.Events > 0 {
			st.Days[i].Bytes = int64(float64(st.Bytes) * float64(st.Days[i].Events) / float64(st.Events))
		}
	}
	return st, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Retain drops the days older than MaxAge at now, then the oldest days
// while the store is larger than MaxBytes, keeping the newest day. A day's
// size is estimated as its share of the events.
func (s *Store) Retain(ctx context.Context, now time.Time) (eventstore.Retention, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Blocks of tables dropped earlier are freed by a checkpoint; it fails
	// while queries run, and then the sizes below are a little high.
	s.checkpoint(ctx)
	if err := s.rlock(); err != nil {
		return eventstore.Retention{}, err
	}
	st, err := s.stats(ctx)
	s.mu.RUnlock()
	if err != nil {
		return eventstore.Retention{}, fmt.Errorf("eventstore: retain: %w", ctxErr(ctx, err))
	}
	r := eventstore.Retention{BytesBefore: st.Bytes, BytesAfter: st.Bytes}
	days := st.Days
	if s.maxAge > 0 {
		cutoff := dayOf(clampNanos(now.Add(-s.maxAge))) // days before this one ended before the cutoff
		for len(days) > 0 && dayOf(days[0].Day.UnixNano()) < cutoff {
			r.Dropped = append(r.Dropped, days[0])
			r.BytesAfter -= days[0].Bytes
			days = days[1:]
		}
	}
	if s.maxBytes > 0 {
		for len(days) > 1 && r.BytesAfter > s.maxBytes {
			r.Dropped = append(r.Dropped, days[0])
			r.BytesAfter -= days[0].Bytes
			days = days[1:]
		}
	}
	if len(r.Dropped) == 0 {
		return r, nil
	}
	s.mu.Lock()
	for i, d := range r.Dropped {
		day := dayOf(d.Day.UnixNano())
		p := s.parts[day]
		if p == nil {
			continue
		}
		if _, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(p.table)); err != nil {
			s.mu.Unlock()
			r.Dropped = r.Dropped[:i]
			return r, fmt.Errorf("eventstore: retain: drop %s: %w", p.table, ctxErr(ctx, err))
		}
		delete(s.parts, day)
		r.Events += d.Events
		s.log.Info("event store day removed", "day", d.Day.Format(time.DateOnly), "events", d.Events)
	}
	s.mu.Unlock()
	s.checkpoint(ctx)
	if err := s.rlock(); err == nil {
		if st, err := s.stats(ctx); err == nil {
			r.BytesAfter = st.Bytes
		}
		s.mu.RUnlock()
	}
	return r, nil
}

// checkpoint writes the WAL into the database file and frees dropped
// tables' blocks, when no query is running.
func (s *Store) checkpoint(ctx context.Context) {
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil && !errors.Is(err, sql.ErrConnDone) {
		s.log.Debug("event store checkpoint skipped", "error", err)
	}
}
