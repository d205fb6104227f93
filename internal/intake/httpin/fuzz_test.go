// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
)

func fuzzSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*.ndjson")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"{\"index\":{}}\nnot json\n{\"delete\":{}}\n{\"update\":{}}\n{\"doc\":{}}\ngarbage\n{\"m\":1}\n{\"create\":{}}",
		"[{\"a\":1}, 2, {\"b\":", "{\"a\":\"\x83\x65\"}\r\n\n[1]", "",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseBulk: any body gives items whose events exist, whose answer is
// valid JSON, and every document line is kept.
func FuzzParseBulk(f *testing.F) {
	fuzzSeeds(f)
	h := New(Config{Sink: &memSink{}}).(*handler)
	src := &source{name: "fuzz"}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, evs := parseBulk(body, "p", src, 1)
		for _, it := range items {
			if it.ev >= len(evs) || it.ev < -1 {
				t.Fatalf("item %+v points past %d events", it, len(evs))
			}
			if it.status != 201 && it.status != 400 {
				t.Fatalf("item %+v: status %d", it, it.status)
			}
			if it.ev >= 0 && (it.status == 201) == evs[it.ev].Flags.Has(event.FlagParseError) {
				t.Fatalf("item %+v: status and the event's parse_error flag disagree", it)
			}
			out := h.appendResult(nil, it)
			if !json.Valid(out) {
				t.Fatalf("answer %s is not JSON", out)
			}
		}
		for _, ev := range evs {
			if ev.ID.IsZero() || ev.Source != "fuzz" || ev.Raw == nil {
				t.Fatalf("event %+v lacks id, source or raw bytes", ev)
			}
		}
		if len(evs) > bytes.Count(body, []byte{'\n'})+1 {
			t.Fatalf("%d events from %d lines", len(evs), bytes.Count(body, []byte{'\n'})+1)
		}
	})
}

// FuzzParseIngest: every non-blank NDJSON line is one event; every rejected
// line is a flagged event.
func FuzzParseIngest(f *testing.F) {
	fuzzSeeds(f)
	src := &source{name: "fuzz"}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"application/x-ndjson", "application/json", ""} {
			evs, rej := parseIngest(body, ct, src, 1)
			flagged := 0
			for _, ev := range evs {
				if ev.ID.IsZero() || ev.Raw == nil {
					t.Fatalf("%s: event %+v lacks id or raw bytes", ct, ev)
				}
				if ev.Flags.Has(event.FlagParseError) {
					flagged++
				}
			}
			if flagged != len(rej) {
				t.Fatalf("%s: %d flagged events, %d rejections", ct, flagged, len(rej))
			}
			if ct == "application/x-ndjson" {
				l, n := lines{b: body}, 0
				for _, _, ok := l.next(); ok; _, _, ok = l.next() {
					n++
				}
				if n != len(evs) {
					t.Fatalf("%d non-blank lines, %d events", n, len(evs))
				}
			}
		}
	})
}
