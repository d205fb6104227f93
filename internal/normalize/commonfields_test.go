// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/shareddata"
)

// ruleFieldUse counts, over SigmaHQ's rules/, how often each field name is
// used in a detection section (modifiers stripped, canonicalised).
func ruleFieldUse(t *testing.T) (map[string]int, int) {
	t.Helper()
	counts := map[string]int{}
	rules := 0
	root := shareddata.Path(t, "sigma/rules")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		for {
			var doc struct {
				Detection map[string]any `yaml:"detection"`
			}
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if doc.Detection != nil {
				rules++
			}
			for name, sel := range doc.Detection {
				if name != "condition" && name != "timeframe" {
					countFields(sel, counts)
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts, rules
}

// countFields counts the field names of a selection: a map of field
// conditions, or a list of such maps (a list of strings is keywords).
func countFields(sel any, counts map[string]int) {
	switch x := sel.(type) {
	case map[string]any:
		for k := range x {
			name, _, _ := strings.Cut(k, "|")
			if name == "" {
				continue // "|all" keyword lists
			}
			c, _ := Canonical(name)
			counts[c]++
		}
	case []any:
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				countFields(m, counts)
			}
		}
	}
}

// TestCommonFields checks CommonFields against SigmaHQ's rules: the 60
// field names the rules use most must all have a typed column, and the
// rule-chosen part of the list is in order of use.
func TestCommonFields(t *testing.T) {
	t.Parallel()
	counts, rules := ruleFieldUse(t)
	type use struct {
		name string
		n    int
	}
	var top []use
	for k, v := range counts {
		top = append(top, use{k, v})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].n != top[j].n {
			return top[i].n > top[j].n
		}
		return top[i].name < top[j].name
	})
	var b strings.Builder
	for i, u := range top[:min(len(top), 100)] {
		fmt.Fprintf(&b, "%s=%d", u.name, u.n)
		if i%8 == 7 {
			b.WriteString("\n")
		} else {
			b.WriteString("  ")
		}
	}
	t.Logf("field uses in %d rules, top 100:\n%s", rules, b.String())

	common := CommonFields()
	if n := len(common); n < 80 || n > 120 {
		t.Errorf("CommonFields has %d names, want 80 to 120", n)
	}
	in := map[string]bool{}
	for _, f := range common {
		if in[f] {
			t.Errorf("CommonFields lists %q twice", f)
		}
		in[f] = true
	}
	for _, u := range top[:60] {
		if !in[u.name] {
			t.Errorf("CommonFields lacks %q, used %d times by SigmaHQ rules (among the top 60)", u.name, u.n)
		}
	}
	for i := 1; i < len(ruleFields); i++ {
		if counts[ruleFields[i]] > counts[ruleFields[i-1]] {
			t.Errorf("ruleFields: %q (%d uses) after %q (%d uses)", ruleFields[i], counts[ruleFields[i]],
				ruleFields[i-1], counts[ruleFields[i-1]])
		}
		if counts[ruleFields[i]] == 0 {
			t.Errorf("ruleFields: %q is used by no rule", ruleFields[i])
		}
	}
	for _, f := range common {
		if c, ok := Canonical(f); ok {
			t.Errorf("CommonFields lists the alias %q of %q", f, c)
		}
	}
}
