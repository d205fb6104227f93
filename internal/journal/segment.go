// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const segSuffix = ".seg"

func segName(n uint64) string { return fmt.Sprintf("%020d%s", n, segSuffix) }

func (j *Journal) segPath(n uint64) string { return filepath.Join(j.dir, segName(n)) }

// segInfo is one segment file and its size when last looked at.
type segInfo struct {
	n    uint64
	size int64
}

// listSegments returns the journal's segments, oldest first, with sizes.
func listSegments(dir string) ([]segInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments in %s: %w", dir, err)
	}
	var segs []segInfo
	for _, e := range ents {
		name := e.Name()
		num, ok := strings.CutSuffix(name, segSuffix)
		if !ok || len(num) != 20 || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by another process's retention just now
		} else if err != nil {
			return nil, fmt.Errorf("stat segment %s: %w", name, err)
		}
		segs = append(segs, segInfo{n: n, size: info.Size()})
	}
	slices.SortFunc(segs, func(a, b segInfo) int { return cmpU64(a.n, b.n) })
	return segs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// syncDir makes entries created, renamed or removed in dir durable.
func syncDir(dir string, o Options) error {
	if o.noSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// The lock file's first bytes hold the end of the last completed write
// (segment, offset, CRC-32C of the two), so that the next writer, in any
// process, knows in one read whether someone else wrote or crashed since.
const markerSize = 20

type marker struct {
	seg uint64
	off int64
}

func (j *Journal) readMarker() (marker, bool) {
	var b [markerSize]byte
	if n, err := j.lock.ReadAt(b[:], 0); n != markerSize || err != nil {
		return marker{}, false
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return marker{}, false
	}
	return marker{seg: binary.LittleEndian.Uint64(b[0:]), off: int64(binary.LittleEndian.Uint64(b[8:]))}, true
}

// writeMarker records the current end. It is a hint, not synced: a stale
// or torn marker only makes the next writer check the tail itself.
func (j *Journal) writeMarker() error {
	var b [markerSize]byte
	binary.LittleEndian.PutUint64(b[0:], j.seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(j.end))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	if _, err := j.lock.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

func (j *Journal) flock() error {
	for {
		err := unix.Flock(int(j.lock.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("lock %s: %w", j.lock.Name(), err)
			}
			return nil
		}
	}
}

func (j *Journal) funlock() {
	// Unlocking a held flock cannot fail short of a closed descriptor; the
	// lock goes with the descriptor anyway.
	_ = unix.Flock(int(j.lock.Fd()), unix.LOCK_UN)
}

// reconcile brings the writer's view up to date with the directory: the
// last segment (another process may have rotated) and its verified end (a
// process may have died in the middle of a write). The lock is held.
func (j *Journal) reconcile(m marker, markerOK bool) error {
	segs, err := listSegments(j.dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		// Never emptied by retention (it keeps the current segment), so
		// this is a new journal or one whose files were removed by hand.
		segs = []segInfo{{n: max(j.seg, 1)}}
		if err := j.createSegment(segs[0].n); err != nil {
			return err
		}
	}
	j.segs = segs
	last := segs[len(segs)-1].n
	if j.f == nil || last != j.seg {
		f, err := os.OpenFile(j.segPath(last), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open segment %d: %w", last, err)
		}
		if j.f != nil {
			// Everything written to it was synced; a close error loses nothing.
			_ = j.f.Close()
		}
		j.f, j.seg = f, last
	}
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("stat segment %d: %w", j.seg, err)
	}
	from := int64(0)
	if markerOK && m.seg == j.seg && m.off <= fi.Size() {
		from = m.off
	}
	end, err := j.recoverTail(from, fi.Size())
	if err != nil {
		return err
	}
	j.end = end
	j.segs[len(j.segs)-1].size = end
	return j.writeMarker()
}

// recoverTail checks the frames of the current segment from from (a frame
// boundary) to size. A bad frame followed by a valid one is corruption that
// readers skip; a bad or partial frame with nothing valid after it is the
// torn end of a write that was never acknowledged, and is cut off.
func (j *Journal) recoverTail(from, size int64) (int64, error) {
	s := &segBuf{f: j.f, seg: j.seg}
	off := from
	for off < size {
		_, n, st, err := s.frameAt(off, false)
		if err != nil {
			return 0, err
		}
		if st == frameOK {
			off += int64(n)
			continue
		}
		next, ok, err := s.nextValid(off)
		if err != nil {
			return 0, err
		}
		if ok {
			j.corrupt.Add(1)
			j.log.Warn("corrupt record, readers will skip it", "segment", j.seg, "offset", off, "bytes", next-off)
			off = next
			continue
		}
		j.corrupt.Add(1)
		j.log.Warn("cut off a partial record left by an interrupted write", "segment", j.seg, "offset", off, "bytes", size-off)
		if err := j.f.Truncate(off); err != nil {
			return 0, fmt.Errorf("truncate segment %d at %d: %w", j.seg, off, err)
		}
		if err := j.fdatasync(); err != nil {
			return 0, fmt.Errorf("sync segment %d: %w", j.seg, err)
		}
		return off, nil
	}
	return off, nil
}

// createSegment creates segment n and makes its name durable.
func (j *Journal) createSegment(n uint64) error {
	f, err := os.OpenFile(j.segPath(n), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create segment %d: %w", n, err)
	}
	if err := syncDir(j.dir, j.opt); err != nil {
		_ = f.Close() // the error that matters is the one returned
		return fmt.Errorf("create segment %d: sync directory: %w", n, err)
	}
	if j.f != nil {
		_ = j.f.Close() // written and synced already
	}
	j.f, j.seg, j.end = f, n, 0
	return nil
}
