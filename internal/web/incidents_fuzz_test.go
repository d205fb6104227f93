// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// FuzzIncidentForm feeds the incident form's text parsers and the list's
// query parser with arbitrary input: they never panic, refuse only with
// faults naming a field, and what they accept keeps its promises.
func FuzzIncidentForm(f *testing.F) {
	f.Add("Insurer claim: C-1\nPolice：2026-77", "T1566, t1078.004、T1059", "2026-11-22T19:00", "status=all&phase=triage&q=INC-2026")
	f.Add("no colon", "mail sales\tphishing", "2026-11-22 19:00:05", "assignee=mine&after=12")
	f.Add(":value\n\n  \nname:", "", "yesterday", "after=-1&assignee=x&type=%00")
	f.Add("名前：値\r\n", "、，,", "0000-01-01T00:00", "status=%ff")
	f.Fuzz(func(t *testing.T, fields, words, when, query string) {
		loc := time.FixedZone("JST", 9*3600)
		fm := incForm{Title: "t", Type: "other", Fields: fields, Techniques: words, Tags: words, Assets: fields,
			Aware: when, Detected: when}
		in, err := fm.input(loc, incident.Incident{})
		for _, fl := range fault.Faults(err) {
			if fl.Kind != fault.Invalid || fl.Field == "" {
				t.Fatalf("input(%q, %q): fault %+v, want Invalid naming a field", fields, when, fl)
			}
		}
		if err == nil {
			for _, fl := range in.Fields {
				if fl.Name == "" || fl.Name != strings.TrimSpace(fl.Name) || fl.Value != strings.TrimSpace(fl.Value) {
					t.Fatalf("parseIncFields(%q): field %+v not trimmed or nameless", fields, fl)
				}
			}
			if !in.AwareAt.IsZero() && (in.AwareAt.Year() < 1970 || in.AwareAt.Year() > 9999) {
				t.Fatalf("input(aware %q): %v out of range", when, in.AwareAt)
			}
		}
		for _, w := range splitWords(words) {
			if w == "" || strings.ContainsAny(w, ",、， \t\n") {
				t.Fatalf("splitWords(%q): word %q", words, w)
			}
		}
		for _, l := range splitLines(fields) {
			if l == "" || strings.Contains(l, "\n") {
				t.Fatalf("splitLines(%q): line %q", fields, l)
			}
		}
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q, fl, err := parseIncListQuery(v, 7)
		for _, x := range fault.Faults(err) {
			if x.Kind != fault.Invalid || x.Field == "" {
				t.Fatalf("parseIncListQuery(%q): fault %+v", query, x)
			}
		}
		if err == nil && (fl.After < 0 || (q.Assignee == "mine" && fl.AssigneeID != 7)) {
			t.Fatalf("parseIncListQuery(%q): filter %+v", query, fl)
		}
		if back, err := url.ParseQuery(q.values().Encode()); err != nil || back.Get("q") != q.Q {
			t.Fatalf("parseIncListQuery(%q): values %v do not read back: %v", query, q.values(), err)
		}
	})
}
