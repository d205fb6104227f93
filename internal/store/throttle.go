// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// Throttle returns the throttle for key, or a zero one with the key set.
func (db *DB) Throttle(ctx context.Context, key string) (auth.Throttle, error) {
	t := auth.Throttle{Key: key}
	var start, until int64
	err := db.queryRow(ctx, `SELECT failures, window_start, locked_until FROM signin_throttle WHERE key = ?`, key).
		Scan(&t.Failures, &start, &until)
	if err = mapErr(err); fault.Is(err, fault.NotFound) {
		return t, nil
	} else if err != nil {
		return auth.Throttle{}, fmt.Errorf("store: throttle: %w", err)
	}
	t.WindowStart, t.LockedUntil = fromMicros(start), fromMicros(until)
	return t, nil
}

const saveThrottleSQL = `INSERT INTO signin_throttle (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
	ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
	locked_until = excluded.locked_until`

// SaveThrottle inserts or replaces a throttle.
func (db *DB) SaveThrottle(ctx context.Context, t auth.Throttle) error {
	if _, err := db.exec(ctx, saveThrottleSQL, t.Key, t.Failures, micros(t.WindowStart), micros(t.LockedUntil)); err != nil {
		return fmt.Errorf("store: save throttle: %w", err)
	}
	return nil
}

// DeleteThrottle forgets the failures of key.
func (db *DB) DeleteThrottle(ctx context.Context, key string) error {
	if _, err := db.exec(ctx, `DELETE FROM signin_throttle WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: delete throttle: %w", err)
	}
	return nil
}

// DeleteStaleThrottles removes throttles whose window started and whose lock
// ended before before.
func (db *DB) DeleteStaleThrottles(ctx context.Context, before time.Time) (int64, error) {
	r, err := db.exec(ctx, `DELETE FROM signin_throttle WHERE window_start < ? AND locked_until < ?`, micros(before), micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete stale throttles: %w", err)
	}
	return r.RowsAffected()
}
