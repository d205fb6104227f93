// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"bytes"
	"testing"
)

// FuzzRestore feeds arbitrary bytes to Restore, as they are and with a
// correct checksum appended (so that the fuzzer reaches the parser behind
// the checksum). Restore must not panic; when it fails the state is as it
// was; when it succeeds, the state snapshots and restores again to the
// same bytes.
func FuzzRestore(f *testing.F) {
	defs := shortLearning()
	seed := mustNew(f, defs, Options{Now: fixedNow})
	observe(seed, replayEVTX(f, "evtx-attack-samples/Lateral Movement"))
	observe(seed, replayEVTX(f, "deepbluecli-evtx/smb-password-guessing-security.evtx")[:40])
	good := snapshot(f, seed)
	f.Add(good)
	f.Add(good[:len(good)-4])
	small := mustNew(f, only(f, "new_service", nil), Options{Now: fixedNow})
	small.Observe(service7045("SRV01", t0, "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`), nil)
	f.Add(snapshot(f, small)[:len(snapshot(f, small))-4])
	f.Add([]byte(magic))
	f.Add([]byte{})

	before, after := sysmon1("H", t0, `C:\a.exe`, `C:\p.exe`, "u"), sysmon1("H", t0, `C:\b.exe`, `C:\p.exe`, "u")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(append(append([]byte(nil), data...), 0, 0, 0, 0))} {
			e := mustNew(t, defs, Options{Now: fixedNow, MaxKeys: 8})
			e.Observe(before, nil)
			state := snapshot(t, e)
			if err := e.Restore(bytes.NewReader(in)); err != nil {
				if !bytes.Equal(snapshot(t, e), state) {
					t.Fatalf("state changed after Restore failed with %v", err)
				}
				continue
			}
			again := snapshot(t, e)
			e2 := mustNew(t, defs, Options{Now: fixedNow, MaxKeys: 8})
			if err := e2.Restore(bytes.NewReader(again)); err != nil {
				t.Fatalf("Restore of a snapshot just written: %v", err)
			}
			if !bytes.Equal(snapshot(t, e2), again) {
				t.Fatal("snapshot, restore, snapshot changed the bytes")
			}
			e2.Observe(after, nil)
		}
	})
}
