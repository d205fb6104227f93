// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

// shortLearning is the built-in set with ten-minute learning periods, so
// that a replay of short samples makes findings of every kind.
func shortLearning() []Definition {
	defs := Defaults()
	for i := range defs {
		if defs[i].Learn > 0 {
			defs[i].Learn = 10 * time.Minute
		}
	}
	return defs
}

func snapshot(t testing.TB, e *Engine) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := e.Snapshot(&b); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return b.Bytes()
}

func observe(e *Engine, evs []event.Event) []Finding {
	var got []Finding
	for i := range evs {
		e.Observe(&evs[i], collect(&got))
	}
	return got
}

// TestSnapshotRoundTrip: an engine restored from a snapshot goes on exactly
// as the engine that wrote it.
func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	half := len(evs) / 2
	opts := Options{Now: fixedNow}

	orig := mustNew(t, shortLearning(), opts)
	observe(orig, evs[:half])
	snap := snapshot(t, orig)

	viaReader := mustNew(t, shortLearning(), opts)
	if err := viaReader.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	path := filepath.Join(t.TempDir(), "baseline.state")
	if err := orig.SaveFile(path); err != nil {
		t.Fatalf("SaveFile: %v", err)
	}
	viaFile := mustNew(t, shortLearning(), opts)
	if err := viaFile.LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if got := snapshot(t, viaFile); !bytes.Equal(got, snap) {
		t.Errorf("a restored engine's snapshot differs from the one it read (%d vs %d bytes)", len(got), len(snap))
	}

	want := observe(orig, evs[half:])
	if len(want) == 0 {
		t.Fatal("no findings in the second half: the test shows nothing")
	}
	for name, e := range map[string]*Engine{"Restore": viaReader, "LoadFile": viaFile} {
		if diff := cmp.Diff(want, observe(e, evs[half:])); diff != "" {
			t.Errorf("after %s, findings differ from the original engine's (-orig +restored):\n%s", name, diff)
		}
		if !bytes.Equal(snapshot(t, e), snapshot(t, orig)) {
			t.Errorf("after %s and the same events, the state differs", name)
		}
	}
	st := orig.Stats()
	entries := 0
	for _, d := range st.Definitions {
		entries += d.Values + d.Subjects
	}
	t.Logf("snapshot of %d entries: %d bytes; %d findings after restore", entries, len(snap), len(want))

	// No temporary file is left beside the state.
	files, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(files) != 1 {
		t.Errorf("directory holds %v (%v), want only the state file", files, err)
	}
}

// TestRestoreChangedDefinitions: state is kept per definition of the same
// name and meaning; a definition whose fields changed starts afresh.
func TestRestoreChangedDefinitions(t *testing.T) {
	t.Parallel()
	defs := Defaults()
	for i := range defs {
		defs[i].Learn = 0
	}
	a := mustNew(t, defs, Options{})
	proc := sysmon1("WKS01", t0, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `CORP\alice`)
	svc := service7045("WKS01", t0, "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`)
	a.Observe(proc, nil)
	a.Observe(svc, nil)
	snap := snapshot(t, a)

	changed := Defaults()
	for i := range changed {
		changed[i].Learn = 0
		switch changed[i].Name {
		case "new_process":
			changed[i].Key = []string{Host, "User"} // other hashes: afresh
		case "new_service":
			changed[i].Level = LevelHigh // same meaning: kept
		}
	}
	b := mustNew(t, changed[1:], Options{}) // rare_parent_child onwards
	b2 := mustNew(t, changed, Options{})
	for _, e := range []*Engine{b, b2} {
		if err := e.Restore(bytes.NewReader(snap)); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	var got []Finding
	b2.Observe(proc, collect(&got))
	b2.Observe(svc, collect(&got))
	b.Observe(proc, collect(&got))
	b.Observe(svc, collect(&got))
	var names []string
	for _, f := range got {
		names = append(names, fmt.Sprintf("%s #%d", f.Definition, f.Count))
	}
	// new_process starts afresh in b2; rare_parent_child goes on counting in
	// each engine (one sighting before the snapshot); the
	// service is known.
	want := "new_process #1,rare_parent_child #2,rare_parent_child #2"
	if g := strings.Join(names, ","); g != want {
		t.Errorf("after restoring into changed definitions, findings %q, want %q", g, want)
	}
}

// TestRestoreSmallerBound: a table larger than the new MaxKeys keeps its
// most recently observed entries.
func TestRestoreSmallerBound(t *testing.T) {
	t.Parallel()
	defs := only(t, "new_process", noLearning)
	image := func(i int) string { return `C:\Tools\t` + string(rune('a'+i)) + ".exe" }
	a := mustNew(t, defs, Options{})
	for i := range 20 {
		a.Observe(sysmon1("H", t0.Add(time.Duration(i)*time.Second), image(i), `C:\p.exe`, "u"), nil)
	}
	b := mustNew(t, defs, Options{MaxKeys: 5})
	if err := b.Restore(bytes.NewReader(snapshot(t, a))); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if d := b.Stats().Definitions[0]; d.Values != 5 {
		t.Fatalf("Values = %d after restoring 20 into MaxKeys 5", d.Values)
	}
	var got []Finding
	for i := 15; i < 20; i++ {
		b.Observe(sysmon1("H", t0.Add(time.Hour), image(i), `C:\p.exe`, "u"), collect(&got))
	}
	b.Observe(sysmon1("H", t0.Add(time.Hour), image(14), `C:\p.exe`, "u"), collect(&got))
	if len(got) != 1 || got[0].Value[0] != image(14) {
		t.Errorf("findings = %v, want only the dropped %s", got, image(14))
	}
}

// reseal recomputes the checksum of a snapshot whose body was edited.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, crcTable))
}

// TestRestoreRejects: a foreign, corrupt, truncated or newer file is
// refused with a clear error and the state stays as it was.
func TestRestoreRejects(t *testing.T) {
	t.Parallel()
	defs := shortLearning()
	e := mustNew(t, defs, Options{Now: fixedNow})
	evs := replayEVTX(t, "evtx-attack-samples/Lateral Movement")
	observe(e, evs)
	good := snapshot(t, e)

	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	v2 := append([]byte(magic), 2)
	v2 = append(v2, good[len(magic)+1:]...)
	badFlag := mustNew(t, only(t, "failed_logons", nil), Options{Now: fixedNow}) // no subjects table
	bf := snapshot(t, badFlag)
	bf[len(bf)-5] = 7 // the subjects flag is the last byte before the checksum
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a koban baseline snapshot"},
		{"JSON", []byte(`{"new_process": {}}`), "not a koban baseline snapshot"},
		{"SQLite", append([]byte("SQLite format 3\x00"), good[16:]...), "not a koban baseline snapshot"},
		{"magic only", []byte(magic), "bad version"},
		{"newer version", v2, "version 2 is not supported"},
		{"bit flip", flipped, "checksum mismatch"},
		{"truncated", good[:len(good)-100], "checksum mismatch"},
		{"cut before checksum", good[:len(magic)+3], "truncated"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), "checksum mismatch"},
		{"trailing bytes resealed", reseal(append(append([]byte(nil), good[:len(good)-4]...), 1, 2, 3, 4, 5)), "trailing bytes"},
		{"bad flag resealed", reseal(bf), "corrupt at byte"},
	}
	for _, tt := range tests {
		err := e.Restore(bytes.NewReader(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "baseline: restore: ") {
			t.Errorf("%s: Restore = %v, want an error containing %q", tt.name, err, tt.want)
		}
		if got := snapshot(t, e); !bytes.Equal(got, good) {
			t.Errorf("%s: the state changed after a failed Restore", tt.name)
		}
	}

	// A fresh engine stays fresh: nothing half-restored.
	fresh := mustNew(t, defs, Options{Now: fixedNow})
	before := snapshot(t, fresh)
	if err := fresh.Restore(bytes.NewReader(flipped)); err == nil {
		t.Fatal("Restore(corrupt) = nil")
	}
	if !bytes.Equal(snapshot(t, fresh), before) {
		t.Error("a fresh engine holds state after a failed Restore")
	}

	path := filepath.Join(t.TempDir(), "missing.state")
	if err := fresh.LoadFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(path, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := fresh.LoadFile(path); err == nil || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "checksum") {
		t.Errorf("LoadFile(corrupt) = %v, want an error naming the file and the checksum", err)
	}
}

// TestConcurrentReaders runs Stats and Snapshot while Observe runs (for the
// race detector).
func TestConcurrentReaders(t *testing.T) {
	t.Parallel()
	evs := replayEVTX(t, "evtx-attack-samples/Execution")
	e := mustNew(t, shortLearning(), Options{})
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				_ = e.Stats()
				var b bytes.Buffer
				if err := e.Snapshot(&b); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 3 {
		observe(e, evs)
	}
	close(done)
	wg.Wait()
	if st := e.Stats(); st.Events != uint64(3*len(evs)) {
		t.Errorf("Events = %d, want %d", st.Events, 3*len(evs))
	}
}
