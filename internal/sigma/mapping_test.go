// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"os"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// TestThorMapping: SigmaHQ's own mapping file (tests/thor.yml) reads as a
// koban mapping, and with it a process_creation rule written with Sigma's
// names fires on a raw Security 4688 event that still carries Windows'
// names (NewProcessName), as a source the normaliser does not rename would.
func TestThorMapping(t *testing.T) {
	path := shareddata.Path(t, "sigma/tests/thor.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, probs := sigma.ParseMapping(path, b)
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	if len(m.Entries) == 0 {
		t.Fatal("no entries read from thor.yml")
	}
	rules, probs := sigma.Parse("r.yml", []byte(`
title: cmd from Office
id: 11111111-2222-4333-8444-555555555555
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    ParentImage|endswith: '\winword.exe'
  condition: sel
`))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	ev := event.Event{Log: event.LogSource{Product: "windows", Category: "process_creation", Service: "security"}}
	ev.Add("EventID", "4688")
	ev.Add("NewProcessName", `C:\Windows\System32\cmd.exe`)
	ev.Add("ParentProcessName", `C:\Program Files\Microsoft Office\WINWORD.EXE`)
	for _, tc := range []struct {
		mapping *sigma.Mapping
		want    int
	}{{nil, 0}, {m, 1}} {
		rs, cp := sigma.Compile(rules, sigma.Options{Mapping: tc.mapping})
		if len(cp) > 0 {
			t.Fatal(cp[0])
		}
		n := 0
		rs.NewMatcher().Match(&ev, func(sigma.Match) { n++ })
		if n != tc.want {
			t.Errorf("mapping %v: %d matches, want %d", tc.mapping != nil, n, tc.want)
		}
	}
}
