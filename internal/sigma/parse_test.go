// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/sigma"
)

// TestProblemPositions: problems point at the line and column of what is
// wrong, and their text names the column within the condition.
func TestProblemPositions(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
		text       string
	}{
		{"unknown identifier", "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: b}\n  condition: sel and filter\n", 5, 22, "Column 9: the condition names “filter”"},
		{"quoted condition", "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: b}\n  condition: 'sel and ('\n", 5, 24, "column 10"},
		{"unknown modifier", "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    A|contians: b\n  condition: sel\n", 5, 5, "“contians” is not a Sigma modifier"},
		{"bad level", "title: t\nlevel: severe\nlogsource: {product: windows}\ndetection:\n  sel: {A: b}\n  condition: sel\n", 2, 8, "“severe” is not a level"},
		{"yaml syntax", "title: t\ndetection:\n  sel: [a\n", 2, 1, "not valid YAML"},
	} {
		rules, probs := sigma.Parse("r.yml", []byte(tc.yaml))
		if len(probs) == 0 {
			// Modifiers are checked when the rule compiles.
			var cs *sigma.Ruleset
			cs, probs = sigma.Compile(rules, sigma.Options{})
			if cs.Len() == 0 {
				rules = nil
			}
		}
		if len(rules) != 0 || len(probs) == 0 {
			t.Errorf("%s: %d rules, problems %v", tc.name, len(rules), probs)
			continue
		}
		p := probs[0]
		if p.Pos.Line != tc.line || p.Pos.Col != tc.col || !strings.Contains(p.Error(), tc.text) || !strings.HasPrefix(p.Error(), "r.yml:") {
			t.Errorf("%s: %v at %d:%d, want %d:%d and %q", tc.name, p, p.Pos.Line, p.Pos.Col, tc.line, tc.col, tc.text)
		}
	}
}
