// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"crypto/md5"  // recorded for forensic tools that ask for it; never trusted
	"crypto/sha1" // likewise
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Blobs is a content-addressed file store for evidence: each file is named
// by the SHA-256 of its content (<root>/ab/cd/<sha256>), written once,
// fsync'd, made read-only and never rewritten. New content streams into a
// temporary file in the root (so the final rename stays on one file
// system) while all three digests are computed in one pass.
//
// Deciding when content may be removed (retention, legal hold, other items
// sharing it) is the evidence locker's job, not this store's.
type Blobs struct {
	root string
}

// The evidence locker keeps its content here.
var _ incident.Blobs = (*Blobs)(nil)

// blobTempPrefix names content still being written; such files older than
// staleTemp are left over from a crash and removed by OpenBlobs.
const (
	blobTempPrefix = ".put-"
	staleTemp      = 24 * time.Hour
)

// OpenBlobs returns the content store rooted at root (conventionally
// <data_dir>/evidence), creating the directory readable by koban's user
// only, and removes temporary files a crash left behind.
func OpenBlobs(root string) (*Blobs, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("store: open blobs: %w", err)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("store: open blobs: %w", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), blobTempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(root, e.Name())) // best effort: a later start tries again
		}
	}
	return &Blobs{root: root}, nil
}

// Root returns the store's directory.
func (b *Blobs) Root() string { return b.root }

// blobPath returns where content with this SHA-256 lives, or Invalid when
// sha is not 64 lower-case hex digits (so no name can reach outside the
// store).
func (b *Blobs) blobPath(sha string) (string, error) {
	if !validSHA256(sha) {
		return "", fault.InvalidField("sha256", "evidence.hash_invalid")
	}
	return filepath.Join(b.root, sha[0:2], sha[2:4], sha), nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ctxReader stops reading once its context is done, so that a cancelled
// upload ends mid-stream.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put streams r into the store and returns its digests and size. Empty
// input is Invalid ("evidence.empty") and input longer than max is TooLarge
// ("evidence.too_large"); on these and any other error nothing is left
// behind. Content already stored is kept as it is and the new copy
// dropped, so concurrent Puts of the same content end with one file.
func (b *Blobs) Put(ctx context.Context, r io.Reader, max int64) (incident.Digests, int64, error) {
	if max <= 0 {
		return incident.Digests{}, 0, fmt.Errorf("store: put blob: size limit %d", max)
	}
	f, err := os.CreateTemp(b.root, blobTempPrefix+"*")
	if err != nil {
		return incident.Digests{}, 0, fmt.Errorf("store: put blob: %w", err)
	}
	tmp := f.Name()
	d, n, err := b.put(ctx, f, r, max)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: put blob: %w", cerr)
	}
	if err == nil {
		err = b.place(tmp, d.SHA256)
	}
	// Whether placed (as a link), refused or failed, the temporary name
	// goes.
	if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = fmt.Errorf("store: put blob: %w", rerr)
	}
	if err != nil {
		return incident.Digests{}, 0, err
	}
	return d, n, nil
}

// put copies r into f while hashing, up to max bytes, and makes f durable
// and read-only.
func (b *Blobs) put(ctx context.Context, f *os.File, r io.Reader, max int64) (incident.Digests, int64, error) {
	h256, h1, h5 := sha256.New(), sha1.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(f, h256, h1, h5), io.LimitReader(ctxReader{ctx, r}, max+1))
	switch {
	case err != nil:
		return incident.Digests{}, 0, fmt.Errorf("store: put blob: after %d bytes: %w", n, err)
	case n == 0:
		return incident.Digests{}, 0, fault.New(fault.Invalid, "evidence.empty")
	case n > max:
		return incident.Digests{}, 0, fault.New(fault.TooLarge, "evidence.too_large", "max", humanBytes(max))
	}
	if err := f.Sync(); err != nil {
		return incident.Digests{}, 0, fmt.Errorf("store: put blob: sync: %w", err)
	}
	if err := f.Chmod(0o400); err != nil {
		return incident.Digests{}, 0, fmt.Errorf("store: put blob: %w", err)
	}
	return incident.Digests{SHA256: sum(h256), SHA1: sum(h1), MD5: sum(h5)}, n, nil
}

// humanBytes renders a size limit for people: 1 GiB, 500 MiB, 1500 bytes.
func humanBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// place gives the finished temporary file tmp its content address. A hard
// link never replaces an existing file, so content stored first stays
// untouched; where the file system has no hard links, the temporary file is
// renamed into place unless the content is there already.
func (b *Blobs) place(tmp, sha string) error {
	dst, err := b.blobPath(sha)
	if err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: put blob %s: %w", sha, err)
	}
	switch err := os.Link(tmp, dst); {
	case err == nil, errors.Is(err, fs.ErrExist):
	default:
		if _, serr := os.Lstat(dst); serr == nil {
			break
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("store: put blob %s: %w", sha, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: put blob %s: %w", sha, err)
	}
	return nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}

// Open returns the content with this SHA-256 and its size. It is NotFound
// ("evidence.blob_missing") when absent and Invalid when sha is not a
// SHA-256 in lower-case hex; anything but a regular file (a link planted
// in the store) is refused as Internal.
func (b *Blobs) Open(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error) {
	p, err := b.blobPath(sha)
	if err != nil {
		return nil, 0, err
	}
	lst, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fault.Wrap(fault.NotFound, err, "evidence.blob_missing")
	} else if err != nil {
		return nil, 0, fmt.Errorf("store: open blob %s: %w", sha, err)
	}
	if !lst.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("store: open blob %s: not a regular file (%v)", sha, lst.Mode().Type())
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fault.Wrap(fault.NotFound, err, "evidence.blob_missing")
	} else if err != nil {
		return nil, 0, fmt.Errorf("store: open blob %s: %w", sha, err)
	}
	st, err := f.Stat()
	if err != nil || !os.SameFile(lst, st) {
		f.Close()
		return nil, 0, fmt.Errorf("store: open blob %s: the file changed while opening it (%v)", sha, err)
	}
	return f, st.Size(), nil
}

// Verify re-hashes the content with this SHA-256: nil when it still has
// that hash, Conflict ("evidence.altered") when it does not, NotFound when
// it is gone.
func (b *Blobs) Verify(ctx context.Context, sha string) error {
	rc, _, err := b.Open(ctx, sha)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, rc}); err != nil {
		return fmt.Errorf("store: verify blob %s: %w", sha, err)
	}
	if got := sum(h); got != sha {
		return fault.Wrap(fault.Conflict, fmt.Errorf("blob %s now hashes to %s", sha, got), "evidence.altered")
	}
	return nil
}

// Remove destroys the content with this SHA-256; NotFound when absent.
// Callers decide whether it may go.
func (b *Blobs) Remove(ctx context.Context, sha string) error {
	p, err := b.blobPath(sha)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fault.Wrap(fault.NotFound, err, "evidence.blob_missing")
	} else if err != nil {
		return fmt.Errorf("store: remove blob %s: %w", sha, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("store: remove blob %s: %w", sha, err)
	}
	return nil
}
