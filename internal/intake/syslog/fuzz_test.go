// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"os"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// FuzzParse checks Parse's promises on any input: no panic, Raw equal to
// the input, valid UTF-8 everywhere, flags with reasons.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases(&testing.T{}) {
		f.Add([]byte(tc.line))
	}
	for _, bl := range benchLines {
		f.Add([]byte(bl.line))
	}
	for _, rel := range []string{"loghub/Linux/Linux_2k.log", "loghub/OpenSSH/OpenSSH_2k.log"} {
		for i, line := range readLines(f, rel) {
			if i%10 == 0 { // every tenth line keeps the corpus small
				f.Add([]byte(line))
			}
		}
	}
	cisco := "sigma/regression_data/rules/cisco/aaa/cisco_cli_dot1x_disabled/ef0ff092-a24a-4fbc-beea-06c08d53e085.raw"
	if b, err := os.ReadFile(shareddata.Path(f, cisco)); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	rec := received.UnixNano()
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev event.Event
		ev.Received = rec
		in := append([]byte(nil), line...)
		Parse(line, &ev)
		checkInvariants(t, in, &ev)
	})
}
