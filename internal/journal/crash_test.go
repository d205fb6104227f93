// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startChild runs the test binary as an appending child (see child).
func startChild(t *testing.T, dir, tag string, batches, size int, segBytes int64) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"KOBAN_JOURNAL_TEST_DIR="+dir, "KOBAN_JOURNAL_TEST_TAG="+tag,
		"KOBAN_JOURNAL_TEST_BATCHES="+strconv.Itoa(batches),
		"KOBAN_JOURNAL_TEST_BATCH_SIZE="+strconv.Itoa(size),
		"KOBAN_JOURNAL_TEST_SEGMENT="+strconv.FormatInt(segBytes, 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// ackLine parses a child's "ok TAG FIRST LAST" line into the seq keys.
func ackLine(t *testing.T, line string) []string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ok" {
		t.Fatalf("child wrote %q", line)
	}
	first, err1 := strconv.Atoi(f[2])
	last, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		t.Fatalf("child wrote %q", line)
	}
	var keys []string
	for i := first; i <= last; i++ {
		keys = append(keys, f[1]+"/"+strconv.Itoa(i))
	}
	return keys
}

// TestCrash kills appending child processes with SIGKILL in mid-stream,
// several times over one journal, and checks that every batch a child saw
// acknowledged is there exactly once and that the journal reads cleanly.
func TestCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	acked := map[string]bool{}
	for round := range 4 {
		tag := fmt.Sprint("crash", round)
		cmd, out := startChild(t, dir, tag, 0, 1+rng.IntN(200), 96<<10)
		sc := bufio.NewScanner(out)
		killAfter := 10 + rng.IntN(60)
		for n := 0; sc.Scan(); n++ {
			for _, k := range ackLine(t, sc.Text()) {
				acked[k] = true
			}
			if n == killAfter {
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := cmd.Wait(); err == nil {
			t.Fatalf("round %d: the child was not killed", round)
		}
	}

	j := open(t, dir, Options{SegmentBytes: 96 << 10})
	got := drain(t, reader(t, j, "check"))
	seen := map[string]int{}
	for i := range got {
		seen[seqOf(t, &got[i])]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s is in the journal %d times", k, n)
		}
	}
	missing := 0
	for k := range acked {
		if seen[k] != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events are missing", missing, len(acked))
	}
	// Only the last kill's torn record, if any, is left for this Open.
	if c := j.Stats().Corrupt; c > 1 {
		t.Errorf("Stats().Corrupt = %d, want at most the one torn record", c)
	}
	t.Logf("%d acknowledged, %d in the journal, %d segments", len(acked), len(got), len(segFiles(t, dir)))
}

// TestTruncatedTail cuts the last segment at random places, as a crash in
// the middle of a write can, and checks that Open keeps exactly the whole
// records before the cut and that appending goes on cleanly.
func TestTruncatedTail(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	j, err := Open(src, Options{SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range 25 {
		n := 1 + i*7%40
		if err := j.Append(context.Background(), batch("t", total, n)); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, src)
	last := segs[len(segs)-1]
	data, err := os.ReadFile(filepath.Join(src, segName(last.n)))
	if err != nil {
		t.Fatal(err)
	}
	// Events in the segments before the last, and frame ends in the last.
	before := total
	type frame struct {
		end    int64
		events int
	}
	var frames []frame
	for off := 0; off < len(data); {
		p, size, st := checkFrame(data[off:], last.n, int64(off))
		if st != frameOK {
			t.Fatalf("segment %d is not clean at %d", last.n, off)
		}
		off += size
		frames = append(frames, frame{end: int64(off), events: payloadCount(p)})
		before -= payloadCount(p)
	}
	if len(frames) < 3 {
		t.Fatalf("the last segment has only %d records", len(frames))
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("seed %d", seed)
	for trial := range 30 {
		cut := rng.Int64N(int64(len(data)))
		if trial == 0 {
			cut = frames[1].end // exactly on a boundary
		}
		want := before
		for _, f := range frames {
			if f.end <= cut {
				want += f.events
			}
		}
		dir := t.TempDir()
		copyDir(t, src, dir)
		if err := os.Truncate(filepath.Join(dir, segName(last.n)), cut); err != nil {
			t.Fatal(err)
		}
		j := open(t, dir, Options{SegmentBytes: 64 << 10})
		got := drain(t, reader(t, j, "r"))
		if len(got) != want {
			t.Fatalf("cut at %d: read %d events, want %d", cut, len(got), want)
		}
		for i := range got {
			if s := seqOf(t, &got[i]); s != "t/"+strconv.Itoa(i) {
				t.Fatalf("cut at %d: event %d is %s", cut, i, s)
			}
		}
		if err := j.Append(context.Background(), batch("after", 0, 3)); err != nil {
			t.Fatalf("cut at %d: Append: %v", cut, err)
		}
		more := drain(t, reader(t, j, "r2"))
		if len(more) != want+3 || seqOf(t, &more[want]) != "after/0" {
			t.Fatalf("cut at %d: after appending read %d events, want %d", cut, len(more), want+3)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMultiProcess has two processes append to one journal at once while
// this one reads: every event arrives once and no record is interleaved.
func TestMultiProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const batches, size = 150, 40
	j := open(t, dir, Options{SegmentBytes: 128 << 10})
	r := reader(t, j, "tail")
	var wg sync.WaitGroup
	for _, tag := range []string{"p1", "p2"} {
		cmd, out := startChild(t, dir, tag, batches, size, 128<<10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines++
			}
			if err := cmd.Wait(); err != nil || lines != batches {
				t.Errorf("child %s: %v after %d acknowledged batches", tag, err, lines)
			}
		}()
	}
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(seen) < 2*batches*size {
		evs, _, err := r.Next(ctx, 1000)
		if err != nil {
			t.Fatalf("Next after %d events: %v", len(seen), err)
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
	if c := j.Stats().Corrupt; c != 0 {
		t.Errorf("Stats().Corrupt = %d", c)
	}
	// Every segment is a clean run of frames.
	segs := segFiles(t, dir)
	for _, s := range segs {
		data, err := os.ReadFile(filepath.Join(dir, segName(s.n)))
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); {
			_, size, st := checkFrame(data[off:], s.n, int64(off))
			if st != frameOK {
				t.Fatalf("segment %d: no valid frame at %d", s.n, off)
			}
			off += size
		}
	}
	t.Logf("%d segments", len(segs))
}
