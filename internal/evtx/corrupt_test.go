// SPDX-License-Identifier: Apache-2.0

package evtx_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/shareddata"
)

const (
	headerSize = 4096
	chunkSize  = 65536
)

// multiChunk copies a real file with at least four chunks of records into a
// temporary directory and returns its bytes, its records and the index of
// the chunk each record came from.
func multiChunk(t *testing.T) (data []byte, recs []evtx.Record, chunkOf []int) {
	t.Helper()
	src := shareddata.Path(t, "evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	recs, warns := readAll(t, src)
	if len(warns) != 0 {
		t.Fatalf("the pristine file warns: %v", warns)
	}
	chunkOf = recordChunks(t, data, recs)
	if chunkOf[len(chunkOf)-1] < 3 {
		t.Fatalf("%s has records in %d chunks, the test needs 4", src, chunkOf[len(chunkOf)-1]+1)
	}
	return data, recs, chunkOf
}

// recordChunks finds each record's chunk by reading the chunks one at a
// time.
func recordChunks(t *testing.T, data []byte, recs []evtx.Record) []int {
	t.Helper()
	var out []int
	for c := 0; headerSize+(c+1)*chunkSize <= len(data); c++ {
		one := slices.Concat(data[:headerSize], data[headerSize+c*chunkSize:headerSize+(c+1)*chunkSize])
		got, _ := readFrom(t, fmt.Sprintf("chunk %d", c), bytes.NewReader(one), int64(len(one)))
		for range got {
			out = append(out, c)
		}
	}
	if len(out) != len(recs) {
		t.Fatalf("the chunks read one by one hold %d records, the file %d", len(out), len(recs))
	}
	return out
}

// writeTemp writes data to a file in t.TempDir.
func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "copy.evtx")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// without returns the records outside chunk c.
func without(recs []evtx.Record, chunkOf []int, c int) []evtx.Record {
	var out []evtx.Record
	for i, rec := range recs {
		if chunkOf[i] != c {
			out = append(out, rec)
		}
	}
	return out
}

func TestCorruptChunk(t *testing.T) {
	t.Parallel()
	orig, recs, chunkOf := multiChunk(t)
	const bad = 1
	base := headerSize + bad*chunkSize
	tests := []struct {
		name    string
		damage  func(b []byte)
		warning string
	}{
		{"bytes flipped in a record", func(b []byte) {
			for i := 2000; i < 2016; i++ {
				b[base+i] ^= 0x5a
			}
		}, "event records checksum mismatch"},
		{"record area zeroed", func(b []byte) { clear(b[base+512 : base+8192]) }, "event records checksum mismatch"},
		{"chunk header byte flipped", func(b []byte) { b[base+20] ^= 1 }, "chunk header checksum mismatch"},
		{"chunk signature zeroed", func(b []byte) { clear(b[base : base+8]) }, "no ElfChnk signature"},
		{"free space offset wild", func(b []byte) { b[base+50] = 0xff }, "free space offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := slices.Clone(orig)
			tt.damage(data)
			got, warns := readAll(t, writeTemp(t, data))
			if diff := cmp.Diff(without(recs, chunkOf, bad), got); diff != "" {
				t.Errorf("records other than chunk %d's differ (-want +got):\n%s", bad, diff)
			}
			if len(warns) != 1 || warns[0].Chunk != bad || warns[0].Offset != int64(base) ||
				!strings.Contains(warns[0].Error(), fmt.Sprintf("chunk %d", bad)) ||
				!strings.Contains(warns[0].Error(), tt.warning) {
				t.Errorf("warnings %v, want one naming chunk %d at offset %d: %s", warns, bad, base, tt.warning)
			}
		})
	}
}

// TestSalvage checks that with Salvage a chunk whose checksum fails still
// gives the records that parse, and the others are skipped with warnings.
func TestSalvage(t *testing.T) {
	t.Parallel()
	orig, recs, chunkOf := multiChunk(t)
	const bad = 2
	base := headerSize + bad*chunkSize
	data := slices.Clone(orig)
	// Break the signature of the chunk's second record.
	var inBad []int
	for i, c := range chunkOf {
		if c == bad {
			inBad = append(inBad, i)
		}
	}
	if len(inBad) < 3 {
		t.Fatalf("chunk %d has %d records, the test needs 3", bad, len(inBad))
	}
	off := 512 + le32(data[base+512+4:]) // the first record's size
	data[base+int(off)] = 'X'
	f, err := os.Open(writeTemp(t, data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := evtx.NewReader(f, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	r.Salvage = true
	var got []uint64
	var warns []string
	err = r.Records(func(rec *evtx.Record) error { got = append(got, rec.ID); return nil },
		func(w *evtx.Warning) { warns = append(warns, w.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	// The chunk's first record comes out; from the broken signature on, the
	// rest of the chunk cannot be found.
	var want []uint64
	for i, rec := range recs {
		if chunkOf[i] != bad || i == inBad[0] {
			want = append(want, rec.ID)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record ids (-want +got):\n%s", diff)
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "salvaging") || !strings.Contains(warns[1], "bad signature") {
		t.Errorf("warnings %q, want a salvage warning and a bad record signature", warns)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func TestTruncated(t *testing.T) {
	t.Parallel()
	orig, recs, chunkOf := multiChunk(t)
	last := chunkOf[len(chunkOf)-1]
	for _, cut := range []int{headerSize + last*chunkSize + 30000, headerSize + last*chunkSize + 100} {
		got, warns := readAll(t, writeTemp(t, orig[:cut]))
		if diff := cmp.Diff(without(recs, chunkOf, last), got); diff != "" {
			t.Errorf("cut at %d: records of the complete chunks differ (-want +got):\n%s", cut, diff)
		}
		if len(warns) != 1 || warns[0].Chunk != last || !strings.Contains(warns[0].Error(), "truncated chunk") {
			t.Errorf("cut at %d: warnings %v, want one about truncated chunk %d", cut, warns, last)
		}
	}
	// Cut exactly at a chunk boundary: nothing to warn about.
	got, warns := readAll(t, writeTemp(t, orig[:headerSize+last*chunkSize]))
	if len(got) != len(without(recs, chunkOf, last)) || len(warns) != 0 {
		t.Errorf("cut at a chunk boundary: %d records, warnings %v", len(got), warns)
	}
}
