// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// TestRegressionCross compiles every regression rule into one Ruleset (the
// shared automata, tries and need sets, where the regression test compiles
// each rule alone) and runs it over every regression sample: each rule must
// still reach its own case's count.
func TestRegressionCross(t *testing.T) {
	base := shareddata.Path(t, "sigma")
	b, _ := os.ReadFile(filepath.Join(base, "regression_manifest.json"))
	var cases []regressionCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, c := range cases {
		files = append(files, filepath.Join(base, c.RulePath))
	}
	rules, probs := loadRules(t, files)
	for _, p := range probs {
		t.Error(p)
	}
	rs := compile(t, rules, sigma.Options{})
	t.Logf("stats %+v", rs.Stats())
	var all []event.Event
	for _, c := range cases {
		all = append(all, evtxEvents(t, filepath.Join(base, c.EVTX))...)
	}
	counts := matchCounts(rs, all)
	fired := 0
	want := map[string]int{}
	for _, c := range cases {
		n := 1
		if c.MinCount != nil {
			n = max(*c.MinCount, 1)
		}
		want[c.RuleID] += n
	}
	for id, n := range want {
		if counts[id] >= n {
			fired++
		} else {
			t.Errorf("rule %s: %d matches over all samples, want at least %d", id, counts[id], n)
		}
	}
	t.Logf("%d events, %d of %d rules reach their count, total matches %d", len(all), fired, len(want), sum(counts))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
