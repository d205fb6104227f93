// SPDX-License-Identifier: Apache-2.0

package rulepack_test

import (
	"bufio"
	"io/fs"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/detect/rulepack"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

var norm = normalize.New()

// loadPack parses every file of the pack, failing the test on any problem.
func loadPack(tb testing.TB) []*sigma.Rule {
	tb.Helper()
	var rules []*sigma.Rule
	for _, name := range rulepack.Files() {
		b, err := fs.ReadFile(rulepack.FS(), name)
		if err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
		rs, probs := sigma.Parse(name, b)
		for _, p := range probs {
			tb.Errorf("sigma.Parse(%s): %v", name, p)
		}
		rules = append(rules, rs...)
	}
	return rules
}

// engine runs the pack as the detector does: detection rules through a
// Matcher, their matches through a Correlator; matches of rules that only
// feed correlations are dropped (Correlator.Silent).
type engine struct {
	byID map[string]*sigma.Rule
	rs   *sigma.Ruleset
	m    *sigma.Matcher
	cr   *sigma.Correlator
}

func newEngine(tb testing.TB) *engine {
	tb.Helper()
	rules := loadPack(tb)
	rs, probs := sigma.Compile(rules, sigma.Options{Applies: normalize.Matches})
	for _, p := range probs {
		tb.Errorf("sigma.Compile: %v", p)
	}
	cr, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	for _, p := range probs {
		tb.Errorf("sigma.NewCorrelator: %v", p)
	}
	e := &engine{byID: map[string]*sigma.Rule{}, rs: rs, m: rs.NewMatcher(), cr: cr}
	for _, r := range rules {
		e.byID[r.ID] = r
	}
	return e
}

// alerts runs evs in order and returns how many alerts each rule raised,
// by rule id: plain matches of rules that alert on their own, and
// correlation matches.
func (e *engine) alerts(evs []event.Event) map[string]int {
	out := map[string]int{}
	corr := func(c sigma.CorrelationMatch) { out[c.Rule.ID]++ }
	for i := range evs {
		ev := &evs[i]
		e.m.Match(ev, func(x sigma.Match) {
			if !e.cr.Silent(x.Rule) {
				out[x.Rule.ID]++
			}
			e.cr.Observe(x, ev, corr)
		})
	}
	e.cr.Advance(math.MaxInt64, corr)
	return out
}

// title names a rule in messages.
func (e *engine) title(id string) string {
	if r := e.byID[id]; r != nil {
		return r.Title
	}
	return "unknown rule " + id
}

// base is the start of synthetic events' clocks: a Monday, 10:00 JST.
var base = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// win builds a normalised Windows event from EVTX field names and values;
// TimeCreated is set from at.
func win(at time.Time, kv ...string) event.Event {
	e := event.Event{Received: at.Add(time.Minute).UnixNano(), Log: event.LogSource{Product: "windows"}}
	e.Add("TimeCreated", at.UTC().Format(time.RFC3339Nano))
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	norm.Event(&e)
	return e
}

// security builds a Security log event with id and the given EventData.
func security(at time.Time, id string, kv ...string) event.Event {
	return win(at, append([]string{"EventID", id, "Channel", "Security",
		"Provider_Name", "Microsoft-Windows-Security-Auditing", "Computer", "fs01.example.local"}, kv...)...)
}

// syslogLine builds a normalised event from a syslog listener's fields.
func syslogLine(at time.Time, host, program, msg string) event.Event {
	e := event.Event{Time: at.UnixNano(), Received: at.UnixNano(), Host: host}
	e.Add("facility", "authpriv")
	e.Add("hostname", host)
	e.Add("program", program)
	e.Add("message", msg)
	norm.Event(&e)
	return e
}

// evtxEvents reads a shared-data EVTX file into normalised events, as
// koban's import does.
func evtxEvents(tb testing.TB, rel string) []event.Event {
	tb.Helper()
	path := shareddata.Path(tb, rel)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := evtx.NewReader(f, fi.Size())
	if err != nil {
		tb.Fatalf("evtx.NewReader(%s): %v", rel, err)
	}
	var out []event.Event
	err = r.Records(func(rec *evtx.Record) error {
		ev := event.Event{Time: rec.Time, Received: rec.Time, Log: event.LogSource{Product: "windows"}}
		for _, fl := range rec.Fields {
			ev.Add(fl.Name, strings.Clone(fl.Value))
		}
		norm.Event(&ev)
		out = append(out, ev)
		return nil
	}, func(*evtx.Warning) {})
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return out
}

// logLines reads a shared-data log file, one event per line, as the file
// import does for lines with no structure of their own.
func logLines(tb testing.TB, rel string, received time.Time) []event.Event {
	tb.Helper()
	f, err := os.Open(shareddata.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []event.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ev := event.Event{Received: received.UnixNano()}
		ev.Add("message", sc.Text())
		norm.Event(&ev)
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
