// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "koban.db")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// strict reports whether a missing PostgreSQL must fail rather than skip:
// under CI and `make test`.
func strict() bool { return os.Getenv("CI") != "" || os.Getenv("KOBAN_TEST_STRICT") != "" }

// openPostgres gives each test its own schema in the database named by
// KOBAN_TEST_POSTGRES, dropped afterwards.
func openPostgres(t *testing.T) *store.DB {
	t.Helper()
	dsn := os.Getenv("KOBAN_TEST_POSTGRES")
	if dsn == "" && strict() {
		t.Fatal("KOBAN_TEST_POSTGRES is required under CI and make test")
	} else if dsn == "" {
		t.Skip("KOBAN_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
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
	db, err := store.Open(ctx, store.Options{DSN: u.String()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { storetest.Run(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { storetest.Run(t, openPostgres) })
}

// TestMigrationListsMatch keeps the two dialects' migrations in step: the
// same numbers and names, so that both stores have the same schema history.
func TestMigrationListsMatch(t *testing.T) {
	list := func(dir string) []string {
		var names []string
		err := fs.WalkDir(os.DirFS("migrations/"+dir), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("migrations/%s: %v", dir, err)
		}
		slices.Sort(names)
		return names
	}
	sq, pg := list("sqlite"), list("postgres")
	if len(sq) == 0 || !slices.Equal(sq, pg) {
		t.Errorf("migrations differ:\n sqlite:   %v\n postgres: %v", sq, pg)
	}
}
