// SPDX-License-Identifier: Apache-2.0

package app

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/store"
)

// manifest describes a backup archive; it is its last member.
type manifest struct {
	Version string            `json:"koban_version"`
	Created time.Time         `json:"created"`
	Files   map[string]string `json:"sha256"`
}

func runBackup(ctx context.Context, args []string, env Env) error {
	fs := newFlags("backup", "backup [--out FILE] [flags]", env)
	cf := config.AddFlags(fs)
	out := fs.String("out", "", "archive to write (default koban-backup-<time>.tar.gz in the current directory)")
	_, c, err := prepare(fs, cf, args, env, noArgs)
	if err != nil {
		return done(err)
	}
	if c.DB != "" {
		return fmt.Errorf("the state store is PostgreSQL: back it up with pg_dump (koban backup covers the embedded store)")
	}
	if _, err := os.Stat(sqlitePath(c)); err != nil {
		return fmt.Errorf("no koban database in %s: %w", c.DataDir, err)
	}
	now := time.Now().UTC()
	if *out == "" {
		*out = "koban-backup-" + now.Format("20060102T150405Z") + ".tar.gz"
	}
	if inside(*out, c.DataDir) {
		return usageErr(fs, "the archive %s would be inside the data directory %s, which it copies: choose --out elsewhere", *out, c.DataDir)
	}
	n, err := backup(ctx, c, *out, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "backup written: %s (%d bytes)\n", *out, n)
	return nil
}

// inside reports whether path lies in dir or below it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// backup snapshots the state database while koban may be running (VACUUM
// INTO reads one consistent snapshot), checks the copy, and archives it with
// the rest of the data directory and a manifest of SHA-256 sums. The archive
// appears under its name only once complete.
func backup(ctx context.Context, c config.Config, out string, now time.Time) (int64, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".koban-backup-")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	db, err := openStore(ctx, c, false, nil)
	if err != nil {
		return 0, err
	}
	snap := filepath.Join(tmp, "koban.db")
	err = db.Snapshot(ctx, snap)
	db.Close()
	if err != nil {
		return 0, err
	}
	check, err := store.Open(ctx, store.Options{SQLitePath: snap})
	if err != nil {
		return 0, fmt.Errorf("backup: open snapshot: %w", err)
	}
	err = check.IntegrityCheck(ctx)
	check.Close()
	if err != nil {
		return 0, fmt.Errorf("backup: snapshot failed its check: %w", err)
	}
	// Opening the copy in WAL mode may leave side files; the copy is
	// complete without them.
	os.Remove(snap + "-wal")
	os.Remove(snap + "-shm")

	f, err := os.CreateTemp(filepath.Dir(out), ".koban-backup-*.tar.gz")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename this removes nothing
	m := manifest{Version: Version(), Created: now, Files: map[string]string{}}
	if err := writeArchive(f, c.DataDir, snap, &m); err != nil {
		f.Close()
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("backup: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return st.Size(), nil
}

func writeArchive(w io.Writer, dataDir, snap string, m *manifest) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if err := addFile(tw, snap, "koban.db", m); err != nil {
		return err
	}
	// Everything else in the data directory, except the live database
	// files (the snapshot replaces them).
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil || rel == "." || d.IsDir() {
			return err
		}
		if strings.HasPrefix(rel, "koban.db") || !d.Type().IsRegular() {
			return nil
		}
		return addFile(tw, p, filepath.ToSlash(rel), m)
	})
	if err != nil {
		return err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "MANIFEST.json", Mode: 0o600, Size: int64(len(mb)), ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, path, name string, m *manifest) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), f); err != nil {
		return err
	}
	m.Files[name] = hex.EncodeToString(h.Sum(nil))
	return nil
}
