// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// Options sizes a journal. Zero values take the defaults of config.Default.
type Options struct {
	SegmentBytes int64 // rotate segment files at this size
	// MaxBytes is the disk the segments may use. When a write would go past
	// it and no segment can be removed (a reader has not committed past
	// it), Append returns ErrFull.
	MaxBytes int64
	// QueueEvents bounds the events waiting for the writer; beyond it
	// Append fails at once with ErrFull.
	QueueEvents int
	Log         *slog.Logger

	noSync bool // fuzzing only: skip fsync, which dominates its time
}

// ErrClosed is returned by calls on a closed journal or reader.
var ErrClosed = errors.New("journal: closed")

// Journal is a durable, segmented, append-only log of event batches. It is
// safe for concurrent use, and by several processes on one directory.
type Journal struct {
	dir string
	opt Options
	log *slog.Logger
	// recordBytes is where Append starts a new record: so that readers
	// get batches of a useful size, and a segment holds many records.
	recordBytes int
	lock        *os.File // flock'd around every append; holds the marker

	mu      sync.Mutex
	pending []*request // waiting for the writer, in arrival order
	spare   []*request
	queued  int // events in pending and being written
	closed  bool
	wake    chan struct{}
	stopped chan struct{} // closed when the writer has returned

	// Owned by the writer goroutine (and Open before it starts); the file
	// lock is held while they are used.
	f      *os.File
	seg    uint64
	end    int64
	segs   []segInfo // oldest first; the last is seg
	wbuf   []byte
	broken error // a failed fsync: nothing more is written

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced after each write

	appended  atomic.Uint64
	syncs     atomic.Uint64 // fdatasync calls on segments, for tests
	rejected  atomic.Uint64
	corrupt   atomic.Uint64
	fullUntil atomic.Int64 // unix ns: refuse at once until then
	lastLoud  atomic.Int64 // unix ns of the last "reader blocks retention" error
}

// request is one Append call's events, encoded by the caller.
type request struct {
	buf    []byte // record payloads back to back
	ends   []int  // end of each payload in buf
	events int
	err    error
	done   chan struct{}
}

var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// Open opens the journal in dir, creating it if needed, and checks the end
// of the last segment: a record torn by a crash is cut off (it was never
// acknowledged). Close releases it.
func Open(dir string, o Options) (*Journal, error) {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 30
	}
	if o.QueueEvents <= 0 {
		o.QueueEvents = 100_000
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, readersDir), 0o700); err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	j := &Journal{
		dir: dir, opt: o, log: log, lock: lock,
		recordBytes: int(min(max(o.SegmentBytes/8, 4<<10), targetPayload)),
		wake:        make(chan struct{}, 1), stopped: make(chan struct{}),
		notify: make(chan struct{}),
	}
	if err := j.flock(); err != nil {
		_ = lock.Close() // the lock error is the one to report
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	// Check the whole last segment, whatever the marker says: Open is where
	// a machine crash is found.
	err = j.reconcile(marker{}, false)
	j.funlock()
	if err != nil {
		if j.f != nil {
			_ = j.f.Close() // reporting err
		}
		_ = lock.Close() // reporting err
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	j.removeStaleTemp()
	go j.run()
	return j, nil
}

// Close waits for queued events to be written, then releases the journal.
// Readers must be closed by their owners.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	j.kick()
	<-j.stopped
	j.broadcast() // wake readers, which then see the journal closed
	err := j.f.Close()
	if cerr := j.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

func (j *Journal) kick() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Append writes evs and returns once they are on disk (written and
// fdatasync'd); concurrent callers share one write and one sync. It returns
// an error wrapping event.ErrFull, at once, when QueueEvents events are
// already waiting or the disk budget is used up by data a reader still
// needs; the events are then not in the journal. When ctx ends first, Append
// returns its error and the events may or may not have been written.
func (j *Journal) Append(ctx context.Context, evs []event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if until := j.fullUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		j.rejected.Add(1)
		return fmt.Errorf("journal: append %d events: disk budget used up: %w", len(evs), event.ErrFull)
	}
	n := len(evs)
	j.mu.Lock()
	switch {
	case j.closed:
		j.mu.Unlock()
		return ErrClosed
	case j.queued > 0 && j.queued+n > j.opt.QueueEvents:
		// A batch larger than the whole queue still goes through alone.
		q := j.queued
		j.mu.Unlock()
		j.rejected.Add(1)
		return fmt.Errorf("journal: append %d events: %d already queued: %w", n, q, event.ErrFull)
	}
	j.queued += n
	j.mu.Unlock()

	r := requests.Get().(*request)
	r.buf, r.ends, r.events, r.err = r.buf[:0], r.ends[:0], n, nil
	if err := r.encode(evs, j.recordBytes); err != nil {
		j.mu.Lock()
		j.queued -= n
		j.mu.Unlock()
		requests.Put(r)
		return fmt.Errorf("journal: append: %w", err)
	}

	j.mu.Lock()
	if j.closed { // closed while encoding: the writer may be gone
		j.queued -= n
		j.mu.Unlock()
		requests.Put(r)
		return ErrClosed
	}
	j.pending = append(j.pending, r)
	j.mu.Unlock()
	j.kick()
	return j.wait(ctx, r)
}

// wait waits for the writer to finish r, or for ctx to end.
func (j *Journal) wait(ctx context.Context, r *request) error {
	select {
	case <-r.done:
		err := r.err
		requests.Put(r)
		return err
	case <-ctx.Done():
	}
	j.mu.Lock()
	for i, p := range j.pending {
		if p == r {
			j.pending = append(j.pending[:i], j.pending[i+1:]...)
			j.queued -= r.events
			j.mu.Unlock()
			requests.Put(r)
			return fmt.Errorf("journal: append: %w", ctx.Err())
		}
	}
	j.mu.Unlock()
	// The writer has it; r is left to the garbage collector.
	return fmt.Errorf("journal: append: %w (the events may have been written)", ctx.Err())
}

// encode splits evs into records of about target bytes.
func (r *request) encode(evs []event.Event, target int) error {
	for len(evs) > 0 {
		start := len(r.buf)
		r.buf = append(r.buf, 0, 0, 0, 0) // event count, set below
		k := 0
		for k < len(evs) && (k == 0 || len(r.buf)-start < target) {
			r.buf = appendEvent(r.buf, &evs[k])
			k++
		}
		if len(r.buf)-start > maxPayload {
			return fmt.Errorf("an event of %d bytes is larger than a record may be", len(r.buf)-start)
		}
		binary.LittleEndian.PutUint32(r.buf[start:], uint32(k))
		r.ends = append(r.ends, len(r.buf))
		evs = evs[k:]
	}
	return nil
}

// removeStaleTemp removes position files that a process died writing:
// any temp file older than an hour.
func (j *Journal) removeStaleTemp() {
	rdir := filepath.Join(j.dir, readersDir)
	ents, err := os.ReadDir(rdir)
	if err != nil {
		return // Reader reports problems with the directory
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(rdir, e.Name())) // best effort; it holds nothing needed
		}
	}
}
