// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

const (
	readersDir = "readers"
	posSuffix  = ".pos"
	// pollInterval is how often a waiting reader looks for records written
	// by other processes; this process's writes wake it at once.
	pollInterval = 50 * time.Millisecond
)

// Reader reads the journal from a position onwards. Its name is its
// identity: the committed position is kept under that name in the journal
// directory, and retention keeps every record a named reader has not
// committed past. A Reader is used by one goroutine at a time.
type Reader struct {
	j      *Journal
	name   string
	sb     segBuf // sb.f is nil when no segment is open
	pos    Position
	timer  *time.Timer
	closed bool
}

// validName reports whether name can name a reader (and a file).
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Reader returns the reader called name (letters, digits, '-', '_'), at its
// committed position, or at the start of the journal for a new name. A new
// name is registered at once, so retention keeps its data from then on.
func (j *Journal) Reader(name string) (*Reader, error) {
	if !validName(name) {
		return nil, fmt.Errorf("journal: reader name %q: want 1 to 64 letters, digits, '-' or '_'", name)
	}
	if j.isClosed() {
		return nil, ErrClosed
	}
	p, ok, err := readPosition(j.dir, name)
	if err != nil {
		return nil, fmt.Errorf("journal: reader %s: %w", name, err)
	}
	if !ok {
		segs, err := listSegments(j.dir)
		if err != nil {
			return nil, fmt.Errorf("journal: reader %s: %w", name, err)
		}
		if len(segs) > 0 {
			p = Position{Segment: segs[0].n}
		}
		if err := writePosition(j.dir, name, p, j.opt); err != nil {
			return nil, fmt.Errorf("journal: reader %s: %w", name, err)
		}
	}
	return &Reader{j: j, name: name, pos: p}, nil
}

// Seek moves the reader to p, for instance to the event store's own
// checkpoint; the zero Position is the start of the journal. A position whose segment retention has removed becomes the
// start of the oldest segment, with a warning; a position past the end of
// the journal is an error.
func (r *Reader) Seek(p Position) error {
	if r.closed {
		return ErrClosed
	}
	segs, err := listSegments(r.j.dir)
	if err != nil {
		return fmt.Errorf("journal: reader %s: seek %s: %w", r.name, p, err)
	}
	if len(segs) > 0 && p.Segment < segs[0].n {
		if p == (Position{}) {
			p = Position{Segment: segs[0].n} // the start
		} else {
			r.j.log.Warn("reader position was removed by retention; starting at the oldest segment",
				"reader", r.name, "position", p.String(), "oldest", segs[0].n)
			p = Position{Segment: segs[0].n}
		}
	}
	found := false
	for _, s := range segs {
		if s.n == p.Segment {
			found = p.Offset <= s.size
		}
	}
	if !found {
		return fmt.Errorf("journal: reader %s: seek %s: beyond the end of the journal", r.name, p)
	}
	r.setPos(p)
	return nil
}

func (r *Reader) setPos(p Position) {
	if r.sb.f != nil && p.Segment != r.pos.Segment {
		_ = r.sb.f.Close() // read-only
		r.sb.f = nil
	}
	r.sb.drop()
	r.pos = p
}

// Next returns the next events, at least one unless ctx ends, and the
// position after them. It returns whole records (the batches appenders
// wrote) and stops before a record that would take it past max events,
// unless that record is the first. It waits for records to arrive; records
// that another process appends are seen within pollInterval.
func (r *Reader) Next(ctx context.Context, max int) ([]event.Event, Position, error) {
	limit := max
	if limit < 1 {
		limit = 1
	}
	for {
		if r.closed {
			return nil, r.pos, ErrClosed
		}
		wait := r.j.changed() // before reading, so no write is missed
		evs, err := r.read(limit)
		if err != nil || len(evs) > 0 {
			return evs, r.pos, err
		}
		if r.j.isClosed() {
			return nil, r.pos, ErrClosed
		}
		if r.timer == nil {
			r.timer = time.NewTimer(pollInterval)
		} else {
			r.timer.Reset(pollInterval)
		}
		select {
		case <-ctx.Done():
			return nil, r.pos, ctx.Err()
		case <-wait:
		case <-r.timer.C:
		}
	}
}

// read returns what records there are now, without waiting.
func (r *Reader) read(limit int) ([]event.Event, error) {
	var out []event.Event
	fresh := false
	for {
		if r.sb.f == nil {
			ok, err := r.open()
			if err != nil || !ok {
				return out, err
			}
		}
		off := r.pos.Offset
		p, size, st, err := r.sb.frameAt(off, fresh)
		if err != nil {
			return out, fmt.Errorf("journal: reader %s: %w", r.name, err)
		}
		if st == frameOK {
			n := payloadCount(p)
			if len(out) > 0 && len(out)+n > limit {
				return out, nil
			}
			if out == nil {
				out = make([]event.Event, 0, max(n, min(limit, 4096)))
			}
			if out, err = decodePayload(p, out); err != nil {
				// The CRC matched, so the writer wrote this: a codec
				// mismatch, not a disk fault. Skip it loudly.
				r.j.corrupt.Add(1)
				r.j.log.Error("record does not decode, skipped", "reader", r.name, "segment", r.pos.Segment, "offset", off, "error", err)
			}
			r.pos.Offset += int64(size)
			fresh = false
			if len(out) >= limit {
				return out, nil
			}
			continue
		}
		if !fresh {
			fresh = true // decide on the file as it is now, not on old bytes
			continue
		}
		more, err := r.unstick(off)
		if err != nil || !more {
			return out, err
		}
		fresh = false
	}
}

// unstick decides what to do when there is no valid frame at off in the
// file as it is now: wait for the rest of a frame being written (false),
// or skip corruption or move on to the next segment (true).
func (r *Reader) unstick(off int64) (bool, error) {
	// Once the next segment exists this one is finished for good: look
	// once more, since the writer may have completed the frame just before
	// it rotated.
	final := false
	if _, err := os.Stat(r.j.segPath(r.pos.Segment + 1)); err == nil {
		final = true
		if _, _, st, err := r.sb.frameAt(off, true); err != nil {
			return false, fmt.Errorf("journal: reader %s: %w", r.name, err)
		} else if st == frameOK {
			return true, nil
		}
	}
	atEnd := len(r.sb.buf) == 0 // the fresh look read from off
	if !atEnd {
		next, ok, err := r.sb.nextValid(off)
		if err != nil {
			return false, fmt.Errorf("journal: reader %s: %w", r.name, err)
		}
		if ok {
			// A frame that was still being written when first read is whole
			// by now, since a later one is: look once more.
			if _, _, st, err := r.sb.frameAt(off, true); err != nil {
				return false, fmt.Errorf("journal: reader %s: %w", r.name, err)
			} else if st == frameOK {
				return true, nil
			}
			r.j.corrupt.Add(1)
			r.j.log.Warn("corrupt record skipped", "reader", r.name, "segment", r.pos.Segment, "offset", off, "bytes", next-off)
			r.pos.Offset = next
			r.sb.drop()
			return true, nil
		}
	}
	if !final {
		if _, err := os.Stat(r.j.segPath(r.pos.Segment)); errors.Is(err, fs.ErrNotExist) {
			// Retention removed it under a reader that had sought back
			// behind its committed position: go on where data is.
			r.setPos(Position{Segment: r.pos.Segment + 1})
			return true, nil
		}
		return false, nil // more may come
	}
	if !atEnd {
		r.j.corrupt.Add(1)
		r.j.log.Warn("corrupt end of segment skipped", "reader", r.name, "segment", r.pos.Segment, "offset", off)
	}
	r.setPos(Position{Segment: r.pos.Segment + 1})
	return true, nil
}

// open opens the segment of r.pos. It reports false when that segment does
// not exist yet.
func (r *Reader) open() (bool, error) {
	for {
		f, err := os.Open(r.j.segPath(r.pos.Segment))
		if err == nil {
			r.sb = segBuf{f: f, seg: r.pos.Segment, buf: r.sb.buf[:0]}
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("journal: reader %s: %w", r.name, err)
		}
		segs, err := listSegments(r.j.dir)
		if err != nil {
			return false, fmt.Errorf("journal: reader %s: %w", r.name, err)
		}
		var next uint64
		for _, s := range segs {
			if s.n > r.pos.Segment {
				next = s.n
				break
			}
		}
		if next == 0 {
			return false, nil
		}
		r.j.log.Warn("reader position was removed; going on at the next segment there is",
			"reader", r.name, "position", r.pos.String(), "segment", next)
		r.pos = Position{Segment: next}
	}
}

// Position returns where the next Next starts.
func (r *Reader) Position() Position { return r.pos }

// Commit records p durably as this reader's committed position: after a
// restart the reader starts there, and retention may remove what lies
// before it.
func (r *Reader) Commit(p Position) error {
	if r.closed {
		return ErrClosed
	}
	if err := writePosition(r.j.dir, r.name, p, r.j.opt); err != nil {
		return fmt.Errorf("journal: reader %s: commit %s: %w", r.name, p, err)
	}
	r.j.fullUntil.Store(0) // retention may find room now
	return nil
}

// Close releases the reader's file. Its committed position stays.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.sb.f != nil {
		err := r.sb.f.Close()
		r.sb.f = nil
		if err != nil {
			return fmt.Errorf("journal: reader %s: close: %w", r.name, err)
		}
	}
	return nil
}

// DeleteReader forgets the named reader, so that retention no longer keeps
// data for it: for a consumer that is gone for good.
func (j *Journal) DeleteReader(name string) error {
	if !validName(name) {
		return fmt.Errorf("journal: reader name %q is not valid", name)
	}
	err := os.Remove(filepath.Join(j.dir, readersDir, name+posSuffix))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal: delete reader %s: %w", name, err)
	}
	if err := syncDir(filepath.Join(j.dir, readersDir), j.opt); err != nil {
		return fmt.Errorf("journal: delete reader %s: %w", name, err)
	}
	return nil
}

type readerPos struct {
	name string
	pos  Position
}

// readPosition returns the committed position of reader name, and whether
// it has one.
func readPosition(dir, name string) (Position, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, readersDir, name+posSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return Position{}, false, nil
	} else if err != nil {
		return Position{}, false, err
	}
	p, err := ParsePosition(strings.TrimSpace(string(b)))
	if err != nil {
		return Position{}, false, fmt.Errorf("committed position of %s: %w", name, err)
	}
	return p, true, nil
}

// readPositions returns every named reader's committed position. A file
// that does not parse counts as the start, which keeps all data.
func readPositions(dir string) ([]readerPos, error) {
	ents, err := os.ReadDir(filepath.Join(dir, readersDir))
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", err)
	}
	var out []readerPos
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), posSuffix)
		if !ok || !validName(name) {
			continue
		}
		p, ok, err := readPosition(dir, name)
		if !ok && err == nil {
			continue // deleted just now
		}
		out = append(out, readerPos{name: name, pos: p}) // p is zero on error
	}
	return out, nil
}

// writePosition replaces the position file of name atomically and durably.
func writePosition(dir, name string, p Position, o Options) error {
	rdir := filepath.Join(dir, readersDir)
	f, err := os.CreateTemp(rdir, name+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.WriteString(p.String() + "\n")
	if err == nil && !o.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(rdir, name+posSuffix))
	}
	if err != nil {
		_ = os.Remove(f.Name()) // reporting err
		return err
	}
	return syncDir(rdir, o)
}
