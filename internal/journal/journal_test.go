// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	j := open(t, t.TempDir(), Options{})
	var want []event.Event
	for i, n := range []int{1, 7, 100, 1, 2500} {
		evs := batch("rt", len(want), n)
		if err := j.Append(context.Background(), evs); err != nil {
			t.Fatalf("Append batch %d of %d events: %v", i, n, err)
		}
		want = append(want, evs...)
	}
	evs := []event.Event{{ID: event.NewID(1), Raw: []byte("\x00\xff binary"), Flags: event.FlagInvalidText, Reason: "not UTF-8"}}
	if err := j.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	want = append(want, evs...)

	r := reader(t, j, "pipeline")
	got := drain(t, r)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
	st := j.Stats()
	if st.Appended != uint64(len(want)) || st.Segments != 1 || st.Bytes == 0 {
		t.Errorf("Stats = %+v, want %d appended in 1 segment", st, len(want))
	}
}

func TestNextLimit(t *testing.T) {
	t.Parallel()
	j := open(t, t.TempDir(), Options{})
	for i := range 10 {
		if err := j.Append(context.Background(), batch("lim", i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	r := reader(t, j, "r")
	var prev Position
	for i := range 5 {
		evs, pos, err := r.Next(context.Background(), 25)
		if err != nil {
			t.Fatal(err)
		}
		// Whole records of 10: two fit under 25, a third would not.
		if len(evs) != 20 {
			t.Errorf("Next %d returned %d events, want 20", i, len(evs))
		}
		if !prev.Less(pos) {
			t.Errorf("Next %d: position %s does not follow %s", i, pos, prev)
		}
		prev = pos
		if got, want := seqOf(t, &evs[0]), fmt.Sprintf("lim/%d", i*20); got != want {
			t.Errorf("Next %d starts at %s, want %s", i, got, want)
		}
	}
	// A record larger than the limit still comes whole.
	if err := j.Append(context.Background(), batch("big", 0, 50)); err != nil {
		t.Fatal(err)
	}
	if evs, _, err := r.Next(context.Background(), 10); err != nil || len(evs) != 50 {
		t.Errorf("Next(10) over a record of 50 = %d events, %v; want 50", len(evs), err)
	}
}

func TestCommitAndReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch("a", 0, 300)); err != nil {
		t.Fatal(err)
	}
	r, err := j.Reader("store")
	if err != nil {
		t.Fatal(err)
	}
	evs, pos, err := r.Next(context.Background(), 100)
	if err != nil || len(evs) == 0 || len(evs) > 100 {
		t.Fatalf("Next = %d events, %v", len(evs), err)
	}
	done := len(evs)
	if err := r.Commit(pos); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch("a", 300, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}

	j = open(t, dir, Options{SegmentBytes: 64 << 10})
	if err := j.Append(context.Background(), batch("a", 300, 200)); err != nil {
		t.Fatal(err)
	}
	got := drain(t, reader(t, j, "store"))
	if len(got) != 500-done || seqOf(t, &got[0]) != fmt.Sprint("a/", done) || seqOf(t, &got[len(got)-1]) != "a/499" {
		t.Fatalf("after reopen read %d events from %s, want a/%d … a/499", len(got), seqOf(t, &got[0]), done)
	}
	if all := drain(t, reader(t, j, "fresh")); len(all) != 500 {
		t.Errorf("a new reader read %d events, want all 500", len(all))
	}
	rs := j.Stats().Readers
	if len(rs) != 2 || rs[1].Name != "store" || rs[1].Committed != pos || rs[1].LagBytes <= 0 {
		t.Errorf("Stats().Readers = %+v, want fresh and store at %s with a lag", rs, pos)
	}
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{QueueEvents: 1_000_000})
	const appenders, each, size = 16, 40, 25
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				if err := j.Append(context.Background(), batch(fmt.Sprint("g", g), k*size, size)); err != nil {
					t.Errorf("appender %d batch %d: %v", g, k, err)
					return
				}
			}
		}()
	}
	r := reader(t, j, "r")
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(seen) < appenders*each*size {
		evs, _, err := r.Next(ctx, 1000)
		if err != nil {
			dups := 0
			for _, n := range seen {
				dups += n - 1
			}
			t.Fatalf("Next after %d events (%d read twice): %v; reader at %s, segments %+v, stats %+v", len(seen), dups, err, r.Position(), segFiles(t, dir), j.Stats())
		}
		for i := range evs {
			seen[seqOf(t, &evs[i])]++
		}
	}
	wg.Wait()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s read %d times", k, n)
		}
	}
	t.Logf("%d appends, %d syncs", appenders*each, j.syncs.Load())
}

// TestGroupCommitShares shows that callers waiting together share one
// write and one sync: with the lock held elsewhere, all wait; once it is
// released, at most two groups are written (the first taken before the
// others arrived, and the rest).
func TestGroupCommitShares(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{})
	release := holdLock(t, dir)
	before := j.syncs.Load()
	const n = 20
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.Append(context.Background(), batch("s", g*10, 10)); err != nil {
				t.Errorf("Append: %v", err)
			}
		}()
	}
	waitFor(t, func() bool { return j.Stats().Queued == n*10 })
	release()
	wg.Wait()
	if got := j.syncs.Load() - before; got > 2 {
		t.Errorf("%d waiting appends took %d syncs, want at most 2", n, got)
	}
	if got := drain(t, reader(t, j, "r")); len(got) != n*10 {
		t.Errorf("read %d events, want %d", len(got), n*10)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const segBytes = 32 << 10
	j := open(t, dir, Options{SegmentBytes: segBytes})
	for i := range 40 {
		if err := j.Append(context.Background(), batch("rot", i*30, 30)); err != nil {
			t.Fatal(err)
		}
	}
	// One large append spans segments too.
	if err := j.Append(context.Background(), batch("rot", 1200, 800)); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if len(segs) < 10 {
		t.Fatalf("%d segments, want many of %d bytes", len(segs), segBytes)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for i, s := range segs {
		if s.n != uint64(i+1) {
			t.Errorf("segment %d is number %d, want %d", i, s.n, i+1)
		}
		if s.size > segBytes {
			t.Errorf("segment %d has %d bytes, over %d", s.n, s.size, segBytes)
		}
		if !regexp.MustCompile(`^\d{20}\.seg$`).MatchString(filepath.Base(names[i])) {
			t.Errorf("segment file name %s", names[i])
		}
	}
	got := drain(t, reader(t, j, "r"))
	if len(got) != 2000 {
		t.Fatalf("read %d events over %d segments, want 2000", len(got), len(segs))
	}
	for i := range got {
		if s := seqOf(t, &got[i]); s != fmt.Sprintf("rot/%d", i) {
			t.Fatalf("event %d is %s", i, s)
		}
	}
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{QueueEvents: 100})
	release := holdLock(t, dir)
	first := make(chan error, 1)
	go func() { first <- j.Append(context.Background(), batch("q", 0, 60)) }()
	waitFor(t, func() bool { return j.Stats().Queued == 60 })
	err := j.Append(context.Background(), batch("q", 60, 60))
	if !errors.Is(err, event.ErrFull) {
		t.Fatalf("Append over the queue = %v, want ErrFull", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatalf("first Append: %v", err)
	}
	got := drain(t, reader(t, j, "r"))
	if len(got) != 60 || seqOf(t, &got[0]) != "q/0" || seqOf(t, &got[59]) != "q/59" {
		t.Errorf("read %d events, want q/0 … q/59 (none of the refused batch)", len(got))
	}
	if st := j.Stats(); st.FullRejections != 1 || st.Queued != 0 {
		t.Errorf("Stats = %+v, want 1 rejection and an empty queue", st)
	}
}

func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const segBytes, maxBytes = 16 << 10, 64 << 10
	j := open(t, dir, Options{SegmentBytes: segBytes, MaxBytes: maxBytes})
	slow := reader(t, j, "slow")
	acked := 0
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		err := j.Append(context.Background(), batch("d", acked, 10))
		if errors.Is(err, event.ErrFull) {
			full = err
		} else if err != nil {
			t.Fatal(err)
		} else {
			acked += 10
		}
	}
	if full == nil {
		t.Fatalf("no ErrFull after %d events with a reader at the start", acked)
	}
	if st := j.Stats(); st.Bytes > maxBytes {
		t.Errorf("journal holds %d bytes, over MaxBytes %d", st.Bytes, maxBytes)
	}
	got := drain(t, slow)
	if len(got) != acked || seqOf(t, &got[acked-1]) != fmt.Sprintf("d/%d", acked-1) {
		t.Fatalf("slow reader read %d events, want all %d acknowledged", len(got), acked)
	}
	before := len(segFiles(t, dir))
	if err := slow.Commit(slow.Position()); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch("d", acked, 10)); err != nil {
		t.Fatalf("Append after the reader committed: %v", err)
	}
	for i := 1; i < 10; i++ { // enough to rotate a few times
		if err := j.Append(context.Background(), batch("d", acked+10*i, 10)); err != nil {
			t.Fatalf("Append after the reader committed: %v", err)
		}
	}
	segs := segFiles(t, dir)
	if segs[0].n == 1 {
		t.Errorf("segment 1 is still there (%d segments before, %d now)", before, len(segs))
	}
	if got := drain(t, slow); len(got) != 100 {
		t.Errorf("slow reader read %d new events, want 100", len(got))
	}
}

func TestSeek(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{SegmentBytes: 16 << 10, MaxBytes: 64 << 10})
	r := reader(t, j, "r")
	var marks []Position
	for i := range 40 {
		if err := j.Append(context.Background(), batch("k", i*10, 10)); err != nil {
			t.Fatal(err)
		}
		_, pos, err := r.Next(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, pos)
		if err := r.Commit(pos); err != nil {
			t.Fatal(err)
		}
	}
	// Back to a position still on disk: the events after it come again.
	last := marks[len(marks)-2]
	if err := r.Seek(last); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r); len(got) != 10 || seqOf(t, &got[0]) != "k/390" {
		t.Errorf("after Seek(%s) read %d events", last, len(got))
	}
	// Back to a removed position: the oldest segment.
	oldest := segFiles(t, dir)[0]
	if oldest.n == 1 {
		t.Fatal("retention removed nothing")
	}
	if err := r.Seek(marks[0]); err != nil {
		t.Fatalf("Seek to a removed position: %v", err)
	}
	if p := r.Position(); p != (Position{Segment: oldest.n}) {
		t.Errorf("after Seek(%s) the reader is at %s, want %d:0", marks[0], p, oldest.n)
	}
	if got := drain(t, r); len(got) == 0 || len(got) >= 400 {
		t.Errorf("from the oldest segment read %d events", len(got))
	}
	if err := r.Seek(Position{Segment: 9999}); err == nil {
		t.Error("Seek past the end succeeded")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{})
	r := reader(t, j, "r")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := r.Next(ctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an empty journal = %v, want the deadline", err)
	}
	release := holdLock(t, dir)
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Append(ctx, batch("c", 0, 5)) }()
	waitFor(t, func() bool { return j.Stats().Queued == 5 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v", err)
	}
	release()
	// The writer had taken it already: it is written all the same.
	if err := j.Append(context.Background(), batch("c", 5, 5)); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r); len(got) != 10 && len(got) != 5 {
		t.Errorf("read %d events", len(got))
	}
}

func TestPositionText(t *testing.T) {
	t.Parallel()
	for _, p := range []Position{{}, {Segment: 1}, {Segment: 18446744073709551615, Offset: 9223372036854775807}} {
		got, err := ParsePosition(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePosition(%q) = %v, %v", p.String(), got, err)
		}
	}
	for _, bad := range []string{"", "1", "1:", ":1", "a:1", "1:-1", "1:2:3", "-1:0"} {
		if _, err := ParsePosition(bad); err == nil {
			t.Errorf("ParsePosition(%q) accepted", bad)
		}
	}
}

func TestReaderNames(t *testing.T) {
	t.Parallel()
	j := open(t, t.TempDir(), Options{})
	for _, bad := range []string{"", "../x", "a b", "x.pos", string(make([]byte, 65))} {
		if _, err := j.Reader(bad); err == nil {
			t.Errorf("Reader(%q) accepted", bad)
		}
	}
	if _, err := j.Reader("event-store_1"); err != nil {
		t.Error(err)
	}
	if err := j.DeleteReader("event-store_1"); err != nil {
		t.Error(err)
	}
	if rs := j.Stats().Readers; len(rs) != 0 {
		t.Errorf("readers after DeleteReader: %+v", rs)
	}
}

func TestCorruptMiddle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := j.Append(context.Background(), batch("m", i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// Flip a byte inside the second record of segment 1.
	path := filepath.Join(dir, segName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, size, st := checkFrame(b, 1, 0)
	if st != frameOK {
		t.Fatal("segment 1 does not start with a record")
	}
	b[size+headerSize+100] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	j = open(t, dir, Options{SegmentBytes: 32 << 10})
	got := drain(t, reader(t, j, "r"))
	if len(got) != 290 {
		t.Fatalf("read %d events, want 290 (one record of 10 lost)", len(got))
	}
	if seqOf(t, &got[9]) != "m/9" || seqOf(t, &got[10]) != "m/20" {
		t.Errorf("around the corrupt record: %s, %s", seqOf(t, &got[9]), seqOf(t, &got[10]))
	}
	if c := j.Stats().Corrupt; c != 1 {
		t.Errorf("Stats().Corrupt = %d, want 1", c)
	}
}

// TestCloseWhileAppending closes the journal under concurrent appends:
// each Append either succeeds, and its events are there after a reopen,
// or returns ErrClosed.
func TestCloseWhileAppending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				evs := batch(fmt.Sprint("w", g), k*5, 5)
				err := j.Append(context.Background(), evs)
				if errors.Is(err, ErrClosed) {
					return
				} else if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				for i := range evs {
					acked[seqOf(t, &evs[i])] = true
				}
				mu.Unlock()
			}
		}()
	}
	waitFor(t, func() bool { return j.Stats().Appended >= 100 })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	j = open(t, dir, Options{})
	got := drain(t, reader(t, j, "r"))
	seen := map[string]bool{}
	for i := range got {
		seen[seqOf(t, &got[i])] = true
	}
	for k := range acked {
		if !seen[k] {
			t.Errorf("acknowledged %s is missing", k)
		}
	}
}

// TestSeekBackAcrossRetention: a reader that sought back behind its
// committed position may have its segment removed under it; it goes on at
// the next segment rather than waiting for ever.
func TestSeekBackAcrossRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, dir, Options{SegmentBytes: 16 << 10, MaxBytes: 64 << 10})
	r := reader(t, j, "r")
	for i := range 15 {
		if err := j.Append(context.Background(), batch("b", i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	all := drain(t, r)
	if err := r.Commit(r.Position()); err != nil {
		t.Fatal(err)
	}
	if err := r.Seek(Position{}); err != nil {
		t.Fatal(err)
	}
	if evs, _, err := r.Next(context.Background(), 1); err != nil || seqOf(t, &evs[0]) != seqOf(t, &all[0]) {
		t.Fatalf("after Seek to the start: %v", err)
	}
	for i := 15; i < 28; i++ {
		if err := j.Append(context.Background(), batch("b", i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if segFiles(t, dir)[0].n == 1 {
		t.Fatal("retention removed nothing")
	}
	got := drain(t, r)
	if len(got) == 0 || seqOf(t, &got[len(got)-1]) != "b/279" {
		t.Fatalf("read %d events after retention, not up to b/279", len(got))
	}
}
