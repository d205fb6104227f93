// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// realSegment builds a segment whose events carry real sshd log lines.
func realSegment(f *testing.F) []byte {
	f.Helper()
	raw, err := os.ReadFile(shareddata.Path(f, "loghub/OpenSSH/OpenSSH_2k.log"))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.Split(raw, []byte("\n"))[:12]
	dir := f.TempDir()
	j, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < len(lines); i += 4 {
		evs := make([]event.Event, 0, 4)
		for k, l := range lines[i : i+4] {
			e := testEvent("real", i+k)
			e.Raw = l
			evs = append(evs, e)
		}
		if err := j.Append(context.Background(), evs); err != nil {
			f.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, segName(1)))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzOpenSegment opens a journal whose only segment holds the fuzzed
// bytes: Open must repair it, readers must read it without error, and
// appending must go on cleanly after it.
func FuzzOpenSegment(f *testing.F) {
	seg := realSegment(f)
	f.Add(seg)
	f.Add(seg[:len(seg)-7])
	f.Add(seg[:headerSize+3])
	flipped := bytes.Clone(seg)
	flipped[len(seg)/3] ^= 1
	f.Add(flipped)
	f.Add(append(append(bytes.Clone(seg[:len(seg)/2]), "garbage"...), seg[len(seg)/2:]...))
	f.Add(magic[:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		j := open(t, dir, Options{noSync: true})
		r := reader(t, j, "fuzz")
		before := drain(t, r)
		if err := j.Append(context.Background(), batch("new", 0, 2)); err != nil {
			t.Fatalf("Append after opening %d fuzzed bytes: %v", len(data), err)
		}
		after := drain(t, r)
		if len(after) != 2 || seqOf(t, &after[0]) != "new/0" {
			t.Fatalf("after %d old events, read %d new ones", len(before), len(after))
		}
		if st := j.Stats(); st.Segments != 1 || st.Bytes > int64(len(data))+2000 {
			t.Fatalf("Stats = %+v after %d bytes", st, len(data))
		}
	})
}

// FuzzDecodePayload feeds record payloads to the decoder, as a record with
// a valid CRC but foreign contents would.
func FuzzDecodePayload(f *testing.F) {
	f.Add(appendPayload(nil, batch("p", 0, 3)))
	f.Add([]byte{1, 0, 0, 0, 5, 0, 0, 0, 1})
	f.Add([]byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, p []byte) {
		evs, err := decodePayload(p, nil)
		if err != nil {
			if len(evs) != 0 {
				t.Fatalf("error %v with %d events", err, len(evs))
			}
			return
		}
		if len(evs) != payloadCount(p) {
			t.Fatalf("decoded %d events, the payload says %d", len(evs), payloadCount(p))
		}
	})
}
