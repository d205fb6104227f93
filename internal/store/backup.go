// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"os"

	"github.com/koban-csirt/koban/internal/fault"
)

// Snapshot writes a consistent copy of the SQLite database to dest while
// koban keeps running (VACUUM INTO reads one snapshot; writers go on). dest
// must not exist. For PostgreSQL it returns Invalid: use pg_dump.
func (db *DB) Snapshot(ctx context.Context, dest string) error {
	if db.dialect != SQLite {
		return fault.New(fault.Invalid, "backup.postgres")
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("store: snapshot: %s already exists", dest)
	}
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check on the database; backups use
// it on their copy. For PostgreSQL it only pings.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if db.dialect != SQLite {
		return db.Ping(ctx)
	}
	var res string
	if err := db.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: integrity check: %s", res)
	}
	return nil
}
