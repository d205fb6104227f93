// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"bufio"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// readLines returns the lines of a shared data file.
func readLines(tb testing.TB, rel string) []string {
	tb.Helper()
	f, err := os.Open(shareddata.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return out
}

// readCSV returns the records of a shared CSV file, header first.
func readCSV(tb testing.TB, rel string) [][]string {
	tb.Helper()
	f, err := os.Open(shareddata.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return recs
}

// TestLoghubGroundTruth parses loghub's Linux and OpenSSH samples and
// compares host, program, pid and message with loghub's own structured
// rendering of the same lines.
func TestLoghubGroundTruth(t *testing.T) {
	for _, tc := range []struct {
		log, csv string
		// columns of the CSV holding host, program, pid and content; -1:
		// absent (the program is then fixed).
		host, prog, pid, content int
		fixedProg                string
	}{
		{"loghub/Linux/Linux_2k.log", "loghub/Linux/Linux_2k.log_structured.csv", 4, 5, 6, 7, ""},
		{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/OpenSSH/OpenSSH_2k.log_structured.csv", 4, -1, 5, 6, "sshd"},
	} {
		t.Run(tc.log, func(t *testing.T) {
			lines := readLines(t, tc.log)
			recs := readCSV(t, tc.csv)[1:]
			if len(lines) != len(recs) {
				t.Fatalf("%d lines but %d structured records", len(lines), len(recs))
			}
			bad, spaced := 0, 0
			for i, line := range lines {
				rec := recs[i]
				ev := parseLine(line, received)
				prog := tc.fixedProg
				if tc.prog >= 0 {
					prog = rec[tc.prog]
				}
				if strings.Contains(prog, " ") {
					// "syslogd 1.4.1: restart.", " -- root[2421]: …": loghub
					// reads a tag with spaces; we, as rsyslog does, keep
					// such text in the message. Nothing is lost.
					spaced++
					continue
				}
				want := map[string]string{"hostname": rec[tc.host], "program": prog, "pid": rec[tc.pid], "message": strings.TrimSpace(rec[tc.content])}
				for name, w := range want {
					got, _ := ev.Lookup(name)
					if strings.TrimSpace(got) != w {
						bad++
						if bad <= 20 {
							t.Errorf("line %d %q: %s = %q, loghub says %q", i+1, line, name, got, w)
						}
					}
				}
				if ev.Flags&(event.FlagParseError|event.FlagNoTime) != 0 {
					t.Errorf("line %d %q: flagged %v: %s", i+1, line, ev.Flags.Names(), ev.Reason)
				}
			}
			if spaced > len(lines)/100 {
				t.Errorf("%d of %d lines have a tag with spaces: the comparison covers too little", spaced, len(lines))
			}
		})
	}
}
