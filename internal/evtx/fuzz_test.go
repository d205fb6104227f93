// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/shareddata"
)

// fuzzSeedFiles are small real files of different kinds (Sysmon, Security,
// System with UserData, PowerShell, ETW-converted), one chunk each.
var fuzzSeedFiles = []string{
	"deepbluecli-evtx/disablestop-eventlog.evtx",
	"deepbluecli-evtx/Powershell-Invoke-Obfuscation-string-menu.evtx",
	"hayabusa-sample-evtx/YamatoSecurity/Persistence/T1197_BitsClient.evtx",
	"sigma/regression_data/rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx",
}

func realSeeds(f *testing.F) [][]byte {
	f.Helper()
	dir := shareddata.Dir(f)
	var out [][]byte
	for _, rel := range fuzzSeedFiles {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatalf("fuzz seed: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// checkWalk parses data as a file (with Salvage, so that mutated chunks
// still reach the BinXml parser) and checks what must hold for any input.
// It returns how many records and warnings the walk gave.
func checkWalk(t *testing.T, data []byte) (records, warnings int) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, 0
	}
	r.Salvage = true
	err = r.Records(func(rec *Record) error {
		records++
		seen := make(map[string]bool, len(rec.Fields))
		for _, f := range rec.Fields {
			if f.Name == "" || seen[f.Name] {
				t.Fatalf("record %d: field name %q empty or repeated", rec.ID, f.Name)
			}
			seen[f.Name] = true
			if !utf8.ValidString(f.Name) || !utf8.ValidString(f.Value) {
				t.Fatalf("record %d: field %q is not valid UTF-8", rec.ID, f.Name)
			}
		}
		return nil
	}, func(w *Warning) {
		warnings++
		if w.Err == nil || w.Error() == "" {
			t.Fatalf("warning without a cause: %+v", w)
		}
	})
	if err != nil {
		t.Fatalf("Records on in-memory data: %v", err)
	}
	return records, warnings
}

// FuzzReader walks whole files: real small ones and generated ones.
func FuzzReader(f *testing.F) {
	for _, b := range realSeeds(f) {
		f.Add(b)
	}
	f.Add(sampleFile(1, 3))
	f.Add(sampleFile(2, 1)[:fileHeaderSize+chunkSize+700])
	f.Fuzz(func(t *testing.T, data []byte) { checkWalk(t, data) })
}

// FuzzChunk fuzzes one chunk's used bytes (header and records): the input
// is padded to a whole chunk behind a valid file header, so that small
// inputs reach the record and BinXml parsers.
func FuzzChunk(f *testing.F) {
	used := func(file []byte) []byte {
		c := file[fileHeaderSize : fileHeaderSize+chunkSize]
		free := int(le.Uint32(c[48:]))
		return c[:min(max(free, chunkHeadSize), chunkSize)]
	}
	for _, b := range realSeeds(f) {
		f.Add(used(b))
	}
	f.Add(used(sampleFile(1, 3)))
	header := sampleFile(0, 0)
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) > chunkSize {
			return
		}
		file := make([]byte, fileHeaderSize+chunkSize)
		copy(file, header)
		copy(file[fileHeaderSize:], chunk)
		checkWalk(t, file)
	})
}

// TestMutations runs the fuzz checks over a few thousand deterministic
// mutations of real chunks (flipped bits, bytes set to 0x00 and 0xff,
// copied runs), so that every test run exercises damaged input.
func TestMutations(t *testing.T) {
	t.Parallel()
	dir := shareddata.Dir(t)
	header := sampleFile(0, 0)
	var chunks [][]byte
	for _, rel := range fuzzSeedFiles {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, b[fileHeaderSize:fileHeaderSize+chunkSize])
	}
	seed := uint64(1)
	rnd := func(n int) int { // xorshift: no dependency on math/rand's versions
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	file := make([]byte, fileHeaderSize+chunkSize)
	var records, warnings int
	for range 8000 {
		copy(file, header)
		src := chunks[rnd(len(chunks))]
		copy(file[fileHeaderSize:], src)
		c := file[fileHeaderSize:]
		used := min(max(int(le.Uint32(src[48:])), chunkHeadSize+1), chunkSize)
		for k := rnd(6) + 1; k > 0; k-- {
			p := chunkHeadSize + rnd(used-chunkHeadSize)
			switch rnd(4) {
			case 0:
				c[p] ^= 1 << rnd(8)
			case 1:
				c[p] = 0
			case 2:
				c[p] = 0xff
			case 3:
				q := chunkHeadSize + rnd(used-chunkHeadSize)
				copy(c[p:min(p+rnd(64), used)], c[q:used])
			}
		}
		n, w := checkWalk(t, file)
		records += n
		warnings += w
	}
	// Both outcomes must be common, or the mutations test nothing.
	if records < 20000 || warnings < 8000 {
		t.Errorf("%d records and %d warnings over 8000 mutated chunks", records, warnings)
	}
	t.Logf("%d records and %d warnings over 8000 mutated chunks", records, warnings)
}
