// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/koban-csirt/koban/internal/store"
)

// OpenSQLite returns a fresh, migrated SQLite store in a temporary
// directory, closed when the test ends.
func OpenSQLite(t *testing.T) *store.DB {
	t.Helper()
	return openMigrated(t, store.Options{SQLitePath: filepath.Join(t.TempDir(), "koban.db")})
}

// openMigrated opens a store, closes it when the test ends, and migrates it.
func openMigrated(t *testing.T, o store.Options) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// Strict reports whether a missing PostgreSQL must fail rather than skip:
// under CI and `make test`.
func Strict() bool { return os.Getenv("CI") != "" || os.Getenv("KOBAN_TEST_STRICT") != "" }

// PostgresDSN returns KOBAN_TEST_POSTGRES with search_path set to a new
// schema of its own, dropped when the test ends. Without the variable the
// test is skipped, or fails under CI and `make test`.
func PostgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("KOBAN_TEST_POSTGRES")
	if dsn == "" && Strict() {
		t.Fatal("KOBAN_TEST_POSTGRES is required under CI and make test")
	} else if dsn == "" {
		t.Skip("KOBAN_TEST_POSTGRES not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("KOBAN_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a fresh, migrated PostgreSQL store in a schema of its
// own (see PostgresDSN).
func OpenPostgres(t *testing.T) *store.DB {
	t.Helper()
	return openMigrated(t, store.Options{DSN: PostgresDSN(t)})
}

// Dialects runs fn once per store dialect, as subtests named sqlite and
// postgres.
func Dialects(t *testing.T, fn func(t *testing.T, open Opener)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres) })
}
