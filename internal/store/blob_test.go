// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

func openBlobs(t *testing.T) *store.Blobs {
	t.Helper()
	b, err := store.OpenBlobs(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatalf("OpenBlobs: %v", err)
	}
	return b
}

// digestsOf computes the digests independently of the store.
func digestsOf(b []byte) incident.Digests {
	s2, s1, m5 := sha256.Sum256(b), sha1.Sum(b), md5.Sum(b)
	return incident.Digests{SHA256: hex.EncodeToString(s2[:]), SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}
}

// files lists every file under the store's root, relative to it.
func files(t *testing.T, b *store.Blobs) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(b.Root(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(b.Root(), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBlobPutDigestsAndLayout(t *testing.T) {
	b := openBlobs(t)
	content := []byte("From: attacker@example.com\r\nSubject: 請求書\r\n\r\nbody\r\n")
	want := digestsOf(content)
	d, n, err := b.Put(context.Background(), bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if d != want || n != int64(len(content)) {
		t.Errorf("Put = %+v, %d; want %+v, %d", d, n, want, len(content))
	}
	wantPath := want.SHA256[:2] + "/" + want.SHA256[2:4] + "/" + want.SHA256
	if got := files(t, b); len(got) != 1 || got[0] != wantPath {
		t.Errorf("files after Put = %v, want [%s]", got, wantPath)
	}
	rc, size, err := b.Open(context.Background(), d.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, content) || size != int64(len(content)) {
		t.Errorf("Open(%s) read %q (size %d), %v; want the content back", d.SHA256, got, size, err)
	}
	// The reader seeks, for HTTP range requests.
	if _, err := rc.Seek(6, io.SeekStart); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	if rest, _ := io.ReadAll(rc); !bytes.Equal(rest, content[6:]) {
		t.Errorf("after Seek(6) read %q, want %q", rest, content[6:])
	}
}

func TestBlobPutLimits(t *testing.T) {
	const max = 1000
	tests := []struct {
		name string
		size int
		kind fault.Kind // "" for success
		msg  string
	}{
		{"empty", 0, fault.Invalid, "evidence.empty"},
		{"one byte", 1, "", ""},
		{"exactly max", max, "", ""},
		{"max+1", max + 1, fault.TooLarge, "evidence.too_large"},
		{"far over max", 10 * max, fault.TooLarge, "evidence.too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := openBlobs(t)
			content := bytes.Repeat([]byte{'x'}, tt.size)
			d, n, err := b.Put(context.Background(), bytes.NewReader(content), max)
			if tt.kind == "" {
				if err != nil || n != int64(tt.size) || d != digestsOf(content) {
					t.Fatalf("Put(%d bytes, max %d) = %+v, %d, %v; want its digests and size", tt.size, max, d, n, err)
				}
				if got := files(t, b); len(got) != 1 {
					t.Errorf("files after Put = %v, want one", got)
				}
				return
			}
			msg, _ := fault.Public(err)
			if !fault.Is(err, tt.kind) || msg != tt.msg {
				t.Errorf("Put(%d bytes, max %d): got %v, want %s %s", tt.size, max, err, tt.kind, tt.msg)
			}
			if got := files(t, b); len(got) != 0 {
				t.Errorf("files after a refused Put = %v, want none", got)
			}
		})
	}
}

func TestBlobTooLargeSaysTheLimit(t *testing.T) {
	b := openBlobs(t)
	_, _, err := b.Put(context.Background(), strings.NewReader(strings.Repeat("x", 2<<20+1)), 2<<20)
	var f *fault.Error
	if !errors.As(err, &f) || len(f.Args) != 2 || f.Args[1] != "2 MiB" {
		t.Errorf("Put over 2 MiB: got %#v, want evidence.too_large with max \"2 MiB\"", err)
	}
}

// failingReader yields some bytes and then fails, as a dropped upload does.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'y'
	}
	f.n -= k
	return k, nil
}

func TestBlobPutFailedReadLeavesNothing(t *testing.T) {
	b := openBlobs(t)
	if _, _, err := b.Put(context.Background(), &failingReader{n: 5000}, 1<<20); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("Put(failing reader): got %v, want the read error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.Put(ctx, strings.NewReader("late"), 1<<20); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled ctx): got %v, want context.Canceled", err)
	}
	if got := files(t, b); len(got) != 0 {
		t.Errorf("files after failed Puts = %v, want none", got)
	}
}

func TestBlobSameContentTwice(t *testing.T) {
	b := openBlobs(t)
	ctx := context.Background()
	content := []byte("the same evidence")
	d1, _, err := b.Put(ctx, bytes.NewReader(content), 100)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(b.Root(), d1.SHA256[:2], d1.SHA256[2:4], d1.SHA256)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	d2, _, err := b.Put(ctx, bytes.NewReader(content), 100)
	if err != nil || d2 != d1 {
		t.Fatalf("second Put = %+v, %v; want %+v", d2, err, d1)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("second Put of the same content replaced the stored file; want it kept")
	}
	if got := files(t, b); len(got) != 1 {
		t.Errorf("files after two Puts of one content = %v, want one", got)
	}
}

func TestBlobConcurrentPutSameContent(t *testing.T) {
	b := openBlobs(t)
	content := bytes.Repeat([]byte("concurrent "), 10000)
	want := digestsOf(content)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _, err := b.Put(context.Background(), bytes.NewReader(content), 1<<20)
			if err == nil && d != want {
				err = errors.New("wrong digests " + d.SHA256)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Put: %v", err)
		}
	}
	if got := files(t, b); len(got) != 1 {
		t.Errorf("files after %d concurrent Puts of one content = %v, want one (no temporaries left)", n, got)
	}
	if err := b.Verify(context.Background(), want.SHA256); err != nil {
		t.Errorf("Verify after concurrent Puts: %v", err)
	}
}

func TestBlobReadOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	b := openBlobs(t)
	d, _, err := b.Put(context.Background(), strings.NewReader("read only"), 100)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(b.Root(), d.SHA256[:2], d.SHA256[2:4], d.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o400 {
		t.Errorf("blob mode %v, want 0400", st.Mode().Perm())
	}
	root, err := os.Stat(b.Root())
	if err != nil {
		t.Fatal(err)
	}
	if root.Mode().Perm() != 0o700 {
		t.Errorf("root mode %v, want 0700", root.Mode().Perm())
	}
}

func TestBlobBadHashes(t *testing.T) {
	b := openBlobs(t)
	ctx := context.Background()
	// A file outside the store that a path trick would reach.
	secret := filepath.Join(filepath.Dir(b.Root()), "secret")
	if err := os.WriteFile(secret, []byte("not evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := digestsOf([]byte("x")).SHA256
	for _, h := range []string{
		"", "abc", "../secret", "../../../../etc/passwd", strings.ToUpper(good), good + "0", good[:63],
		good[:62] + "/.", "..%2fsecret", good[:63] + "\x00", good[:63] + "g", strings.Repeat(".", 64),
		"./" + good[:62], `..\` + good[:61],
	} {
		if _, _, err := b.Open(ctx, h); !fault.Is(err, fault.Invalid) {
			t.Errorf("Open(%q): got %v, want Invalid", h, err)
		}
		if err := b.Verify(ctx, h); !fault.Is(err, fault.Invalid) {
			t.Errorf("Verify(%q): got %v, want Invalid", h, err)
		}
		if err := b.Remove(ctx, h); !fault.Is(err, fault.Invalid) {
			t.Errorf("Remove(%q): got %v, want Invalid", h, err)
		}
	}
	if _, _, err := b.Open(ctx, good); !fault.Is(err, fault.NotFound) {
		t.Errorf("Open(absent %s): got %v, want NotFound", good, err)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("file outside the store: %v", err)
	}
}

func TestBlobOpenRefusesLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	b := openBlobs(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("planted"), 0o600); err != nil {
		t.Fatal(err)
	}
	sha := digestsOf([]byte("planted")).SHA256
	dir := filepath.Join(b.Root(), sha[:2], sha[2:4])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, sha)); err != nil {
		t.Fatal(err)
	}
	if rc, _, err := b.Open(context.Background(), sha); err == nil {
		rc.Close()
		t.Error("Open of a symbolic link planted in the store succeeded; want it refused")
	}
}

func TestBlobVerifyDetectsTampering(t *testing.T) {
	b := openBlobs(t)
	ctx := context.Background()
	d, _, err := b.Put(ctx, strings.NewReader("original evidence"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ctx, d.SHA256); err != nil {
		t.Fatalf("Verify(untouched): %v", err)
	}
	p := filepath.Join(b.Root(), d.SHA256[:2], d.SHA256[2:4], d.SHA256)
	// Someone with access to the disk changes one byte.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("Original evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, _ := fault.Public(b.Verify(ctx, d.SHA256))
	if err := b.Verify(ctx, d.SHA256); !fault.Is(err, fault.Conflict) || msg != "evidence.altered" {
		t.Errorf("Verify(tampered): got %v, want Conflict evidence.altered", err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ctx, d.SHA256); !fault.Is(err, fault.NotFound) {
		t.Errorf("Verify(deleted): got %v, want NotFound", err)
	}
}

func TestBlobRemove(t *testing.T) {
	b := openBlobs(t)
	ctx := context.Background()
	d, _, err := b.Put(ctx, strings.NewReader("to be disposed of"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(ctx, d.SHA256); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, _, err := b.Open(ctx, d.SHA256); !fault.Is(err, fault.NotFound) {
		t.Errorf("Open after Remove: got %v, want NotFound", err)
	}
	if err := b.Remove(ctx, d.SHA256); !fault.Is(err, fault.NotFound) {
		t.Errorf("Remove(again): got %v, want NotFound", err)
	}
	// The same content can come back later.
	if _, _, err := b.Put(ctx, strings.NewReader("to be disposed of"), 100); err != nil {
		t.Errorf("Put after Remove: %v", err)
	}
}

func TestOpenBlobsRemovesStaleTemporaries(t *testing.T) {
	root := filepath.Join(t.TempDir(), "evidence")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(root, ".put-stale"), filepath.Join(root, ".put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := mustTime(t, "2020-01-01T00:00:00Z")
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenBlobs(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary after OpenBlobs: %v, want removed", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary (an upload in progress elsewhere) after OpenBlobs: %v, want kept", err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// BenchmarkBlobPut measures streaming 8 MiB through the three hashes into
// the store, fsync included; every iteration stores new content.
func BenchmarkBlobPut(b *testing.B) {
	blobs, err := store.OpenBlobs(filepath.Join(b.TempDir(), "evidence"))
	if err != nil {
		b.Fatal(err)
	}
	content := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		content[0], content[1] = byte(i), byte(i>>8)
		if _, _, err := blobs.Put(context.Background(), bytes.NewReader(content), 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
