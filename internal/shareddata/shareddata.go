// SPDX-License-Identifier: Apache-2.0

package shareddata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Env overrides where the data is looked for.
const Env = "KOBAN_TEST_DATA"

// Find returns the data directory: $KOBAN_TEST_DATA, or ../shared/data from
// the repository root (the nearest parent directory with a go.mod).
func Find() (string, error) {
	if d := os.Getenv(Env); d != "" {
		return check(d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return check(filepath.Join(dir, "..", "shared", "data"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("shared test data: no go.mod above the working directory, so the repository root is unknown; set " + Env)
		}
		dir = parent
	}
}

func check(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", errors.New("shared test data is missing: expected the directory " + abs +
			" (../shared/data beside the repository, see CONTRIBUTING.md), or set " + Env)
	}
	return abs, nil
}

// Dir returns the data directory or fails tb with a clear message.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, err := Find()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Path returns the path of rel inside the data directory, failing tb when it
// does not exist.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Dir(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared test data %s is missing: %v", rel, err)
	}
	return p
}
