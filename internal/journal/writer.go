// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/koban-csirt/koban/internal/event"
)

// fullPause is how long Append refuses at once after the writer found the
// disk budget used up; a reader's Commit ends it early.
const fullPause = 250 * time.Millisecond

// run is the writer: it takes everything pending and commits it as one
// group, until the journal is closed and nothing is pending.
func (j *Journal) run() {
	defer close(j.stopped)
	for {
		j.mu.Lock()
		for len(j.pending) == 0 {
			if j.closed {
				j.mu.Unlock()
				return
			}
			j.mu.Unlock()
			<-j.wake
			j.mu.Lock()
		}
		batch := j.pending
		j.pending = j.spare[:0]
		j.mu.Unlock()
		j.commit(batch)
		clear(batch)
		j.spare = batch[:0]
	}
}

// commit writes one group: under the file lock, it catches up with other
// processes, checks the disk budget, writes every record in one write per
// segment and syncs once.
func (j *Journal) commit(batch []*request) {
	defer func() {
		if v := recover(); v != nil {
			j.log.Error("writer failed", "error", v, "stack", string(debug.Stack()))
			j.broken = fmt.Errorf("journal: writer failed: %v", v)
			j.finish(batch, j.broken)
		}
	}()
	if j.broken != nil {
		j.finish(batch, j.broken)
		return
	}
	if err := j.flock(); err != nil {
		j.finish(batch, fmt.Errorf("journal: append: %w", err))
		return
	}
	defer j.funlock()
	if m, ok := j.readMarker(); !ok || m.seg != j.seg || m.off != j.end {
		if err := j.reconcile(m, ok); err != nil {
			j.finish(batch, fmt.Errorf("journal: append: %w", err))
			return
		}
	}
	accepted := j.admit(batch)
	err := j.write(accepted) // the refused ones carry their own error
	for _, r := range accepted {
		if err != nil {
			r.err = err
		} else {
			j.appended.Add(uint64(r.events))
		}
	}
	j.finish(batch, nil)
	if len(accepted) > 0 {
		j.broadcast()
	}
}

// admit returns the leading requests that fit in the disk budget, removing
// consumed segments if that makes room, and refuses the others.
func (j *Journal) admit(batch []*request) []*request {
	var need int64
	for _, r := range batch {
		need += r.size()
	}
	if j.total()+need <= j.opt.MaxBytes {
		return batch
	}
	j.retain(need, true)
	room := j.opt.MaxBytes - j.total()
	k := 0
	for k < len(batch) && batch[k].size() <= room {
		room -= batch[k].size()
		k++
	}
	if k < len(batch) {
		j.fullUntil.Store(time.Now().Add(fullPause).UnixNano())
		for _, r := range batch[k:] {
			j.rejected.Add(1)
			r.err = fmt.Errorf("journal: append %d events: disk budget of %d bytes used up: %w", r.events, j.opt.MaxBytes, event.ErrFull)
		}
	}
	return batch[:k]
}

func (r *request) size() int64 { return int64(len(r.buf) + headerSize*len(r.ends)) }

func (j *Journal) total() int64 {
	var t int64
	for _, s := range j.segs {
		t += s.size
	}
	return t
}

// write frames and writes the records of rs, rotating where a segment
// fills, and syncs.
func (j *Journal) write(rs []*request) error {
	j.wbuf = j.wbuf[:0]
	for _, r := range rs {
		start := 0
		for _, end := range r.ends {
			p := r.buf[start:end]
			start = end
			if at := j.end + int64(len(j.wbuf)); at > 0 && at+int64(headerSize+len(p)) > j.opt.SegmentBytes {
				if err := j.flush(); err != nil {
					return err
				}
				if err := j.rotate(); err != nil {
					return fmt.Errorf("journal: append: %w", err)
				}
			}
			j.wbuf = appendFrame(j.wbuf, j.seg, j.end+int64(len(j.wbuf)), p)
		}
	}
	return j.flush()
}

// flush writes wbuf at the end of the current segment and syncs it.
func (j *Journal) flush() error {
	if len(j.wbuf) == 0 {
		return nil
	}
	if _, err := j.f.WriteAt(j.wbuf, j.end); err != nil {
		// Cut off what part was written: it is not acknowledged. Should
		// this fail too, the next writer finds the torn record.
		_ = j.f.Truncate(j.end)
		if errors.Is(err, syscall.ENOSPC) {
			j.fullUntil.Store(time.Now().Add(fullPause).UnixNano())
			return fmt.Errorf("journal: write segment %d: %w: %w", j.seg, err, event.ErrFull)
		}
		return fmt.Errorf("journal: write segment %d: %w", j.seg, err)
	}
	j.syncs.Add(1)
	if err := j.fdatasync(); err != nil {
		// After a failed fsync the kernel may have dropped the pages: what
		// is on disk is unknown. Stop writing; a restart checks the tail.
		j.broken = fmt.Errorf("journal: sync segment %d failed, appends stop until restart: %w", j.seg, err)
		j.log.Error("sync failed, appends stop until restart", "error", err, "segment", j.seg)
		return j.broken
	}
	j.end += int64(len(j.wbuf))
	j.segs[len(j.segs)-1].size = j.end
	j.wbuf = j.wbuf[:0]
	if err := j.writeMarker(); err != nil {
		j.log.Warn("marker not written, the next append checks the tail", "error", err)
	}
	return nil
}

// rotate starts the next segment and removes consumed ones if the budget
// needs the room.
func (j *Journal) rotate() error {
	if err := j.createSegment(j.seg + 1); err != nil {
		return err
	}
	j.segs = append(j.segs, segInfo{n: j.seg})
	if err := j.writeMarker(); err != nil {
		j.log.Warn("marker not written, the next append checks the tail", "error", err)
	}
	j.retain(j.opt.SegmentBytes, false)
	return nil
}

// finish hands each request its result.
func (j *Journal) finish(batch []*request, err error) {
	n := 0
	for _, r := range batch {
		n += r.events
	}
	j.mu.Lock()
	j.queued -= n
	j.mu.Unlock()
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err = err
		}
		r.done <- struct{}{}
	}
}

// retain removes the oldest segments that every named reader has committed
// past, while the segments and need bytes more would exceed MaxBytes. A
// reader that holds the oldest segment stops it: its data is kept, and when
// the journal is full (loud), writers get ErrFull and the reader is named
// in an error log.
func (j *Journal) retain(need int64, loud bool) {
	segs, err := listSegments(j.dir)
	if err != nil {
		j.log.Warn("retention skipped", "error", err)
		return
	}
	if len(segs) == 0 || segs[len(segs)-1].n != j.seg {
		return // reconcile will put this right under the next lock
	}
	segs[len(segs)-1].size = j.end
	j.segs = segs
	if j.total()+need <= j.opt.MaxBytes {
		return
	}
	readers, err := readPositions(j.dir)
	if err != nil {
		j.log.Warn("retention skipped", "error", err)
		return
	}
	for len(j.segs) > 1 && j.total()+need > j.opt.MaxBytes {
		s := j.segs[0]
		for _, rp := range readers {
			if !pastSegment(rp.pos, s) {
				if loud {
					j.blocked(rp, s)
				}
				return
			}
		}
		if err := os.Remove(j.segPath(s.n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Warn("retention could not remove a segment", "error", err, "segment", s.n)
			return
		}
		j.log.Debug("removed consumed segment", "segment", s.n, "bytes", s.size)
		j.segs = j.segs[1:]
	}
}

// pastSegment reports whether a reader at p needs nothing of s (which is
// not the current segment).
func pastSegment(p Position, s segInfo) bool {
	return p.Segment > s.n || p.Segment == s.n && p.Offset >= s.size
}

func (j *Journal) blocked(rp readerPos, s segInfo) {
	now := time.Now().UnixNano()
	if last := j.lastLoud.Load(); last != 0 && now-last < int64(10*time.Second) {
		return
	}
	j.lastLoud.Store(now)
	j.log.Error("disk budget used up and a reader has not committed past the oldest segment; appends get ErrFull until it catches up",
		"reader", rp.name, "committed", rp.pos.String(), "segment", s.n, "max_bytes", j.opt.MaxBytes)
}

// broadcast wakes readers waiting for new records.
func (j *Journal) broadcast() {
	j.notifyMu.Lock()
	close(j.notify)
	j.notify = make(chan struct{})
	j.notifyMu.Unlock()
}

// changed returns a channel closed at the next write in this process.
func (j *Journal) changed() <-chan struct{} {
	j.notifyMu.Lock()
	defer j.notifyMu.Unlock()
	return j.notify
}

func (j *Journal) fdatasync() error {
	if j.opt.noSync {
		return nil
	}
	return unix.Fdatasync(int(j.f.Fd()))
}
