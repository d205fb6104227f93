// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Dialects(t, storetest.Run)
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

// TestSQLiteFileMode: the database holds password hashes and TOTP secrets,
// so it is readable by koban's user only, whatever the directory allows.
func TestSQLiteFileMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "koban.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil { // an existing, too open file
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
