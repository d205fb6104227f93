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

// TestRegressionCross runs every regression rule over every regression
// sample: a rule must fire on its own sample and (as a check that matching
// is selective) on few others.
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
	own := map[string]int{}
	for _, c := range cases {
		evs := evtxEvents(t, filepath.Join(base, c.EVTX))
		all = append(all, evs...)
		own[c.RuleID] += len(evs)
	}
	counts := matchCounts(rs, all)
	fired := 0
	for _, c := range cases {
		if counts[c.RuleID] > 0 {
			fired++
		}
	}
	t.Logf("%d events, %d rules fired, total matches %d", len(all), fired, sum(counts))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
