// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

// memSink keeps copies of the events appended to it.
type memSink struct {
	mu     sync.Mutex
	events []event.Event
	calls  int
	full   int   // refuse this many calls with ErrFull first
	fail   error // refuse every call with this error
}

func (s *memSink) Append(_ context.Context, evs []event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	if s.full > 0 {
		s.full--
		return event.ErrFull
	}
	for i := range evs {
		e := evs[i]
		e.Fields = append([]event.Field(nil), e.Fields...)
		s.events = append(s.events, e)
	}
	return nil
}

// get returns field name of e, failing when it is missing.
func get(t *testing.T, e *event.Event, name string) string {
	t.Helper()
	v, ok := e.Lookup(name)
	if !ok {
		t.Fatalf("event %s (raw %.200q) has no field %q; fields %v", e.ID, e.Raw, name, fieldNames(e))
	}
	return v
}

func fieldNames(e *event.Event) []string {
	var n []string
	for _, f := range e.Fields {
		n = append(n, f.Name())
	}
	return n
}

// importFile imports path into a fresh memSink.
func importFile(t *testing.T, path string, o Options) (Summary, *memSink) {
	t.Helper()
	s := &memSink{}
	sum, err := Import(context.Background(), path, s, o)
	if err != nil {
		t.Fatalf("Import(%s): %v", path, err)
	}
	if int(sum.Events) != len(s.events) {
		t.Fatalf("Import(%s): summary says %d events, sink got %d", path, sum.Events, len(s.events))
	}
	checkEvents(t, path, s.events)
	return sum, s
}

// checkEvents checks what every imported event must satisfy.
func checkEvents(t *testing.T, path string, evs []event.Event) {
	t.Helper()
	var flagged int
	for i := range evs {
		e := &evs[i]
		if e.ID.IsZero() || e.Time == 0 || e.Received == 0 || e.Source == "" || len(e.Raw) == 0 {
			t.Fatalf("%s: event %d incomplete: id %s time %d received %d source %q raw %d bytes", path, i, e.ID, e.Time, e.Received, e.Source, len(e.Raw))
		}
		for _, f := range e.Fields {
			if !utf8.ValidString(f.Value) || !utf8.ValidString(f.Name()) {
				t.Fatalf("%s: event %d: field %q = %q is not UTF-8", path, i, f.Name(), f.Value)
			}
		}
		if e.Flags != 0 {
			flagged++
			if e.Reason == "" && !e.Flags.Has(event.FlagNoTime) {
				t.Errorf("%s: event %d flagged %v without a reason", path, i, e.Flags.Names())
			}
		}
	}
	_ = flagged
}

// writeFile writes data to name in a temporary directory, gzip-compressed
// when name ends in .gz, with the given modification time (zero: now).
func writeFile(t *testing.T, name string, data []byte, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if filepath.Ext(name) == ".gz" {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		if _, err := z.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		data = b.Bytes()
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
