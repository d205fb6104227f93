// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/intake/syslog"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
	"github.com/koban-csirt/koban/internal/web"
)

// Bounds on the sample events pasted into a rule test.
const (
	maxPastedBytes  = 1 << 20
	maxPastedEvents = web.MaxPastedEvents
	// maxTestFields bounds the fields shown with each tested event.
	maxTestFields = 12
	maxTestValue  = 300
)

// pastedEvent is one sample event, or the line that did not read as one.
type pastedEvent struct {
	line int // 1-based, in the pasted text
	ev   event.Event
	err  string // why the line is not an event
}

// pastedEvents reads pasted sample events: JSON lines (as koban's HTTP
// intake takes them), a JSON array of such objects, or syslog lines; a
// line starting with "{" is JSON, any other is syslog. Blank lines are
// skipped. Each event is normalised as intake would. A line that does not
// read is kept with its reason. More than maxPastedBytes or
// maxPastedEvents is a fault naming the field "events".
func pastedEvents(text []byte, now time.Time, norm *normalize.Normalizer) ([]pastedEvent, error) {
	if len(text) > maxPastedBytes {
		return nil, &fault.Error{Kind: fault.TooLarge, Field: "events", Msg: "rulesui.events_too_large", Args: []any{"max", maxPastedBytes}}
	}
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 {
		return nil, fault.InvalidField("events", "rulesui.events_none")
	}
	var out []pastedEvent
	var err error
	if trimmed[0] == '[' {
		out, err = pastedArray(text, now)
	} else {
		out, err = pastedLines(text, now)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 { // an empty JSON array
		return nil, fault.InvalidField("events", "rulesui.events_none")
	}
	for i := range out {
		if out[i].err == "" {
			norm.Event(&out[i].ev)
		}
	}
	return out, nil
}

func tooMany() error {
	return &fault.Error{Kind: fault.TooLarge, Field: "events", Msg: "rulesui.events_too_many", Args: []any{"max", maxPastedEvents}}
}

// newPasted starts the event of one pasted line.
func newPasted(line int, now time.Time) pastedEvent {
	ns := now.UnixNano()
	return pastedEvent{line: line, ev: event.Event{ID: event.NewID(ns), Received: ns, Source: "test"}}
}

func pastedLines(text []byte, now time.Time) ([]pastedEvent, error) {
	var out []pastedEvent
	for n, line := range bytes.Split(text, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(out) == maxPastedEvents {
			return nil, tooMany()
		}
		pe := newPasted(n+1, now)
		if doc := bytes.TrimSpace(line); doc[0] == '{' {
			if err := intake.FromJSON(doc, &pe.ev); err != nil {
				pe.err = jsonReason(err)
			}
		} else {
			syslog.Parse(line, &pe.ev)
		}
		out = append(out, pe)
	}
	return out, nil
}

// pastedArray reads a JSON array of event objects.
func pastedArray(text []byte, now time.Time) ([]pastedEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	bad := func(err error) error {
		return &fault.Error{Kind: fault.Invalid, Field: "events", Msg: "rulesui.events_array",
			Args: []any{"line", lineAt(text, dec.InputOffset())}, Err: err}
	}
	if _, err := dec.Token(); err != nil { // the opening bracket
		return nil, bad(err)
	}
	var out []pastedEvent
	for dec.More() {
		if len(out) == maxPastedEvents {
			return nil, tooMany()
		}
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad(err)
		}
		// The element starts after the separator and spaces before it.
		line := lineAt(text, start+int64(len(text[start:])-len(bytes.TrimLeft(text[start:], ", \t\r\n"))))
		pe := newPasted(line, now)
		if err := intake.FromJSON(raw, &pe.ev); err != nil {
			pe.err = jsonReason(err)
		}
		out = append(out, pe)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad(err)
	}
	return out, nil
}

// lineAt returns the 1-based line of byte offset off in text.
func lineAt(text []byte, off int64) int {
	off = min(max(off, 0), int64(len(text)))
	return bytes.Count(text[:off], []byte("\n")) + 1
}

func jsonReason(err error) string {
	var je *intake.JSONError
	if errors.As(err, &je) {
		return "JSON: " + je.Msg
	}
	return err.Error()
}

// TestRule implements web.RuleManager: lint, then run the rules over the
// pasted events with a fresh correlator, windows closed at the end.
func (s *ruleService) TestRule(ctx context.Context, data, events []byte) (web.RuleTest, error) {
	probs, cr, err := s.lint(ctx, nil, "", data)
	if err != nil || len(probs) > 0 {
		return web.RuleTest{Problems: probs}, err
	}
	evs, err := pastedEvents(events, s.now(), s.norm)
	if err != nil {
		return web.RuleTest{}, err
	}
	set := cr.rules.Set
	var res web.RuleTest
	index := map[*sigma.Rule]int{}
	for _, r := range cr.kept {
		if r.Kind == sigma.KindFilter {
			continue
		}
		index[r] = len(res.Rules)
		res.Rules = append(res.Rules, web.TestedRule{Ref: r.Ref(), Title: r.Title, Level: r.Level, Kind: r.Kind.String()})
	}
	count := func(r *sigma.Rule) {
		if i, ok := index[r]; ok {
			res.Rules[i].Matches++
		}
	}
	// The fields the rules look at, shown with every event, so that a
	// near miss shows the values that did not match.
	var keys []string
	for i := range set.Len() {
		for _, list := range [][]string{set.KeyFields(i), set.Rule(i).Fields} {
			for _, k := range list {
				if !containsString(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	corr := cr.rules.Correlator
	m := set.NewMatcher()
	for i := range evs {
		pe := &evs[i]
		te := web.TestedEvent{Line: pe.line, Error: pe.err}
		if pe.err == "" {
			ev := &pe.ev
			te.Time, te.Host, te.LogSource = ev.TimeOf(), ev.Host, logSourceText(ev.Log)
			fire := func(cm sigma.CorrelationMatch) {
				count(cm.Rule)
				te.Matches = append(te.Matches, web.TestMatch{Ref: cm.Rule.Ref(), Title: cm.Rule.Title, Level: cm.Rule.Level, Correlation: true})
			}
			m.Match(ev, func(x sigma.Match) {
				count(x.Rule)
				te.Matches = append(te.Matches, web.TestMatch{Ref: x.Rule.Ref(), Title: x.Rule.Title, Level: x.Rule.Level})
				if corr != nil {
					corr.Observe(x, ev, fire)
				}
			})
			te.Fields = testFields(ev, keys)
		}
		res.Events = append(res.Events, te)
	}
	if corr != nil {
		// Windows with an upper bound ("fewer than 3 in 1h") are decided
		// when they end: end them all.
		corr.Advance(math.MaxInt64, func(cm sigma.CorrelationMatch) { count(cm.Rule) })
	}
	return res, nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// testFields returns ev's values of the fields keys names, bounded.
func testFields(ev *event.Event, keys []string) []alert.KV {
	var out []alert.KV
	for _, k := range keys {
		if len(out) == maxTestFields {
			break
		}
		if v, ok := ev.Lookup(k); ok {
			if len(v) > maxTestValue {
				v = strings.ToValidUTF8(v[:maxTestValue], "") + "…"
			}
			out = append(out, alert.KV{Name: k, Value: v})
		}
	}
	return out
}

func logSourceText(ls event.LogSource) string {
	var parts []string
	for _, p := range []string{ls.Product, ls.Category, ls.Service} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// idPositions maps the first line of each rule document of data (where
// sigma.Rule.Line points) and a key ("id" or "name") to where the key's
// value is, so that a problem with an id can point at it.
func idPositions(data []byte) map[int]map[string]sigma.Pos {
	out := map[int]map[string]sigma.Pos{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return out
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; k == "id" || k == "name" {
				if out[m.Line] == nil {
					out[m.Line] = map[string]sigma.Pos{}
				}
				out[m.Line][k] = sigma.Pos{Line: m.Content[i+1].Line, Col: m.Content[i+1].Column}
			}
		}
	}
}

// withIDs gives every rule document of data that has no id a fresh one
// from newID, as a line "id: …" before its first attribute, so that
// comments and layout stay as written. Data that is not YAML, and
// documents in flow style, are left as they are (lint reports the first;
// a flow-style rule without id keeps none).
func withIDs(data []byte, newID func() string) []byte {
	type insert struct{ line, col int }
	var ins []insert
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return data
		}
		if len(doc.Content) == 0 {
			continue
		}
		m := doc.Content[0]
		if m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 || len(m.Content) == 0 {
			continue
		}
		has := false
		for i := 0; i+1 < len(m.Content); i += 2 {
			has = has || m.Content[i].Value == "id"
		}
		if !has {
			ins = append(ins, insert{m.Content[0].Line, m.Content[0].Column})
		}
	}
	if len(ins) == 0 {
		return data
	}
	ids := make([]string, len(ins))
	for j := range ins {
		ids[j] = newID()
	}
	lines := strings.SplitAfter(string(data), "\n")
	for j := len(ins) - 1; j >= 0; j-- {
		at := ins[j].line - 1
		if at < 0 || at > len(lines) || ins[j].col < 1 {
			continue
		}
		// The first key must start its line for the new line to sit in
		// the same mapping.
		if at < len(lines) && strings.TrimSpace(lines[at][:min(ins[j].col-1, len(lines[at]))]) != "" {
			continue
		}
		id := strings.Repeat(" ", ins[j].col-1) + "id: " + ids[j] + "\n"
		lines = append(lines[:at], append([]string{id}, lines[at:]...)...)
	}
	return []byte(strings.Join(lines, ""))
}
