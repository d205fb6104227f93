// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/koban-csirt/koban/internal/event"
)

// childEnv makes the test binary a child process that appends (see child).
const childEnv = "KOBAN_JOURNAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child appends batches to the journal in $KOBAN_JOURNAL_TEST_DIR and writes
// "ok TAG FIRST LAST" to stdout after each acknowledged batch. With
// $KOBAN_JOURNAL_TEST_BATCHES at 0 it appends until killed.
func child() int {
	dir := os.Getenv("KOBAN_JOURNAL_TEST_DIR")
	tag := os.Getenv("KOBAN_JOURNAL_TEST_TAG")
	batches, _ := strconv.Atoi(os.Getenv("KOBAN_JOURNAL_TEST_BATCHES"))
	size, _ := strconv.Atoi(os.Getenv("KOBAN_JOURNAL_TEST_BATCH_SIZE"))
	seg, _ := strconv.ParseInt(os.Getenv("KOBAN_JOURNAL_TEST_SEGMENT"), 10, 64)
	j, err := Open(dir, Options{SegmentBytes: seg, MaxBytes: 1 << 30})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	seq := 0
	for b := 0; batches == 0 || b < batches; b++ {
		evs := make([]event.Event, size)
		for i := range evs {
			evs[i] = testEvent(tag, seq+i)
		}
		if err := j.Append(context.Background(), evs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Fprintf(out, "ok %s %d %d\n", tag, seq, seq+size-1)
		if err := out.Flush(); err != nil {
			return 4
		}
		seq += size
	}
	if err := j.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	return 0
}

// testEvent returns event n of a stream called tag; its field "seq" is
// "tag/n". Encoded it takes about 300 bytes, like a syslog event.
func testEvent(tag string, n int) event.Event {
	key := tag + "/" + strconv.Itoa(n)
	e := event.Event{
		ID:       event.DeriveID(1_700_000_000_000_000_000+int64(n), []byte(key)),
		Time:     1_700_000_000_000_000_000 + int64(n),
		Received: 1_700_000_000_500_000_000 + int64(n),
		Source:   "syslog-tcp",
		Host:     "web01.example.jp",
		Log:      event.LogSource{Product: "linux", Service: "sshd"},
		Raw:      fmt.Appendf(nil, "<38>1 2023-11-14T22:13:20.%06dZ web01.example.jp sshd 4242 - - Failed password for invalid user admin from 203.0.113.%d port %d ssh2", n%1000000, n%256, 1024+n%60000),
	}
	e.Add("seq", key)
	e.Add("process.name", "sshd")
	e.Add("process.pid", "4242")
	e.Add("source.ip", "203.0.113."+strconv.Itoa(n%256))
	e.Add("user.name", "admin")
	e.Add("event.outcome", "failure")
	return e
}

func seqOf(t testing.TB, e *event.Event) string {
	t.Helper()
	v, ok := e.Lookup("seq")
	if !ok {
		t.Fatalf("event %s has no seq field", e.ID)
	}
	return v
}

func batch(tag string, from, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = testEvent(tag, from+i)
	}
	return evs
}

func open(t testing.TB, dir string, o Options) *Journal {
	t.Helper()
	j, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return j
}

func reader(t testing.TB, j *Journal, name string) *Reader {
	t.Helper()
	r, err := j.Reader(name)
	if err != nil {
		t.Fatalf("Reader(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// drain returns every event readable now, without waiting.
func drain(t testing.TB, r *Reader) []event.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var all []event.Event
	for {
		evs, _, err := r.Next(ctx, 10_000)
		if errors.Is(err, context.Canceled) {
			return all
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		all = append(all, evs...)
	}
}

// holdLock takes the journal's append lock through a descriptor of its own,
// as another process would, and returns the function that releases it.
func holdLock(t testing.TB, dir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { _ = f.Close() }
}

func segFiles(t testing.TB, dir string) []segInfo {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}
