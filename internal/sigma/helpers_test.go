// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

// evtxEvents reads an EVTX file into normalised events, as koban's import
// does.
func evtxEvents(tb testing.TB, path string) []event.Event {
	tb.Helper()
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
		tb.Fatalf("%s: %v", path, err)
	}
	n := normalize.New()
	var out []event.Event
	err = r.Records(func(rec *evtx.Record) error {
		var ev event.Event
		ev.Log.Product = "windows"
		ev.Time = rec.Time
		for _, fl := range rec.Fields {
			ev.Add(fl.Name, strings.Clone(fl.Value))
			if fl.Name == "Computer" {
				ev.Host = strings.Clone(fl.Value)
			}
		}
		n.Event(&ev)
		out = append(out, ev)
		return nil
	}, func(*evtx.Warning) {})
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// ruleFiles lists the .yml files below dirs, sorted.
func ruleFiles(tb testing.TB, dirs ...string) []string {
	tb.Helper()
	var out []string
	for _, dir := range dirs {
		for _, p := range allFiles(tb, dir) {
			if strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") {
				out = append(out, p)
			}
		}
	}
	return out
}

// allFiles lists the files below dirs, sorted.
func allFiles(tb testing.TB, dirs ...string) []string {
	tb.Helper()
	var out []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// loadRules parses rule files, failing the test on a file that does not
// parse unless allowBad.
func loadRules(tb testing.TB, files []string) ([]*sigma.Rule, []*sigma.Problem) {
	tb.Helper()
	var rules []*sigma.Rule
	var probs []*sigma.Problem
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		rs, ps := sigma.Parse(f, b)
		rules = append(rules, rs...)
		probs = append(probs, ps...)
	}
	return rules, probs
}

func compile(tb testing.TB, rules []*sigma.Rule, o sigma.Options) *sigma.Ruleset {
	tb.Helper()
	if o.Applies == nil {
		o.Applies = normalize.Matches
	}
	rs, probs := sigma.Compile(rules, o)
	for _, p := range probs {
		tb.Errorf("compile: %v", p)
	}
	return rs
}

// matchCounts returns how many events each rule matched, by rule id.
func matchCounts(rs *sigma.Ruleset, evs []event.Event) map[string]int {
	m := rs.NewMatcher()
	counts := map[string]int{}
	for i := range evs {
		m.Match(&evs[i], func(x sigma.Match) { counts[x.Rule.ID]++ })
	}
	return counts
}

var applies = normalize.Matches
