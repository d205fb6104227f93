// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// TestLoadEverySigmaHQFile parses and compiles every YAML file in the
// shared SigmaHQ checkout: each rule loads or is skipped with a reason,
// and the counts are reported. Rules in the main packs must all load;
// unsupported/, deprecated/ and rules-placeholder/ may be skipped, and are
// expected to be (a placeholder without a value, for instance).
func TestLoadEverySigmaHQFile(t *testing.T) {
	t.Parallel()
	base := shareddata.Path(t, "sigma")
	files := ruleFiles(t, base)
	var rules []*sigma.Rule
	skipped := map[string]int{}
	parsed, docs := 0, 0
	nonRule := 0
	for _, f := range files {
		rel, _ := filepath.Rel(base, f)
		if !isRuleFile(rel) {
			nonRule++
			continue
		}
		rs, probs := loadRules(t, []string{f})
		docs += len(rs) + len(probs)
		parsed += len(rs)
		for _, p := range probs {
			skipped[p.Msg]++
			if mustLoad(rel) {
				t.Errorf("%v", p)
			}
		}
		rules = append(rules, rs...)
	}
	cs, probs := sigma.Compile(rules, sigma.Options{Applies: applies})
	for _, p := range probs {
		skipped[p.Msg]++
		rel, _ := filepath.Rel(base, p.File)
		if mustLoad(rel) && !p.Unsupported {
			t.Errorf("%v", p)
		}
	}
	var reasons []string
	for k, v := range skipped {
		reasons = append(reasons, fmt.Sprintf("%s: %d", k, v))
	}
	slices.Sort(reasons)
	t.Logf("%d rule files (%d other YAML files left out), %d documents: %d parsed, %d compiled; skipped by reason: %s",
		len(files)-nonRule, nonRule, docs, parsed, cs.Len(), strings.Join(reasons, ", "))
	t.Logf("stats %+v", cs.Stats())
	if cs.Len() < 3000 {
		t.Errorf("only %d rules compiled", cs.Len())
	}
}

// isRuleFile tells rule files from the checkout's other YAML (regression
// info files, test configurations, GitHub workflows).
func isRuleFile(rel string) bool {
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	return strings.HasPrefix(top, "rules") || top == "deprecated" || top == "unsupported"
}

func mustLoad(rel string) bool {
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	return top == "rules" || top == "rules-emerging-threats" || top == "rules-threat-hunting" || top == "rules-compliance"
}
