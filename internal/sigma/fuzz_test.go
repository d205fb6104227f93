// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// FuzzParse feeds rule files to the parser and compiler and matches what
// compiles against an event: nothing may panic, every problem must have a
// message, and a rule that parsed must compile or say why not.
func FuzzParse(f *testing.F) {
	base := shareddata.Path(f, "sigma")
	for i, p := range ruleFiles(f, filepath.Join(base, "rules", "windows", "process_creation")) {
		if i%40 != 0 {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    A|re|i: '(a|b)+'\n    B|cidr: 10.0.0.0/8\n  k: [x, 'y*z']\n  condition: s or not 1 of k*\n"))
	f.Add([]byte("title: c\ncorrelation: {type: event_count, rules: [a], group-by: [U], timespan: 5m, condition: {gte: 3}}\n---\ntitle: a\nname: a\nlogsource: {product: linux}\ndetection: {s: {A|windash|contains: -x}, condition: s}\n"))
	var ev event.Event
	ev.Log = event.LogSource{Product: "windows", Category: "process_creation"}
	ev.Add("CommandLine", `powershell -enc SQBFAFgA /c "whoami"`)
	ev.Add("Image", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)
	ev.Add("A", "abba")
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, probs := sigma.Parse("fuzz.yml", data)
		for _, p := range probs {
			if p.Msg == "" || p.Error() == "" {
				t.Fatalf("problem without a message: %#v", p)
			}
		}
		rs, cprobs := sigma.Compile(rules, sigma.Options{})
		for _, p := range cprobs {
			if p.Msg == "" {
				t.Fatalf("compile problem without a message: %#v", p)
			}
		}
		m := rs.NewMatcher()
		m.Match(&ev, func(sigma.Match) {})
		sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	})
}

// FuzzCondition parses condition text: no panic, and what parses prints
// back to text that parses to the same tree.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"selection", "selection and not filter", "1 of selection* and not 1 of filter_*",
		"all of them", "(a or b) and not (c or d)", "not not a", "a | count() > 5", "1 of", "((((a))))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := sigma.ParseCondition(s)
		if err != nil {
			if err.Msg == "" || err.Col < 1 || err.Col > len(s)+1 {
				t.Fatalf("%q: bad error %#v", s, err)
			}
			return
		}
		again, err := sigma.ParseCondition(c.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, c.String(), err)
		}
		if again.String() != c.String() {
			t.Fatalf("%q: %q then %q", s, c.String(), again.String())
		}
		if strings.Count(c.String(), "(") != strings.Count(c.String(), ")") {
			t.Fatalf("unbalanced %q", c.String())
		}
	})
}
