// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/sigma"
)

// TestPathologicalRules: what would stall a backtracking engine or grow
// without bound is either linear here or refused with a reason.
func TestPathologicalRules(t *testing.T) {
	ev := event.Event{Log: event.LogSource{Product: "windows"}}
	ev.Add("CommandLine", strings.Repeat("a", 100_000)+"!")
	compileOne := func(t *testing.T, yml string) (*sigma.Ruleset, []*sigma.Problem) {
		t.Helper()
		rules, probs := sigma.Parse("p.yml", []byte(yml))
		if len(probs) > 0 {
			return nil, probs
		}
		return sigma.Compile(rules, sigma.Options{})
	}
	t.Run("catastrophic regex is linear", func(t *testing.T) {
		rs, probs := compileOne(t, "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|re: '(a+)+$'\n  condition: s\n")
		if len(probs) > 0 {
			t.Fatal(probs[0])
		}
		n := 0
		rs.NewMatcher().Match(&ev, func(sigma.Match) { n++ })
		if n != 0 {
			t.Fatalf("matched %d times; the value ends with '!'", n)
		}
	})
	t.Run("10,000 values", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|contains:\n")
		for i := range 10_000 {
			fmt.Fprintf(&b, "      - 'needle%05d'\n", i)
		}
		b.WriteString("  condition: s\n")
		rs, probs := compileOne(t, b.String())
		if len(probs) > 0 {
			t.Fatal(probs[0])
		}
		e := event.Event{Log: event.LogSource{Product: "windows"}}
		e.Add("CommandLine", "x needle09999 y")
		n := 0
		rs.NewMatcher().Match(&e, func(sigma.Match) { n++ })
		if n != 1 {
			t.Fatalf("%d matches, want 1", n)
		}
	})
	t.Run("more than 10,000 values is refused", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine:\n")
		for i := range 10_001 {
			fmt.Fprintf(&b, "      - v%d\n", i)
		}
		b.WriteString("  condition: s\n")
		_, probs := compileOne(t, b.String())
		if len(probs) != 1 || probs[0].Msg != "sigma.too_many_values" || probs[0].Pos.Line != 6 {
			t.Fatalf("problems %v", probs)
		}
	})
	t.Run("windash on many dashes is refused", func(t *testing.T) {
		_, probs := compileOne(t, "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|windash|contains: '-a -b -c -d -e -f -g'\n  condition: s\n")
		if len(probs) == 0 || probs[0].Msg != "sigma.mod.windash_too_many" {
			t.Fatalf("problems %v", probs)
		}
	})
	t.Run("deep condition is refused", func(t *testing.T) {
		cond := strings.Repeat("(", 100) + "s" + strings.Repeat(")", 100)
		_, probs := compileOne(t, "title: t\nlogsource: {product: windows}\ndetection:\n  s: {A: b}\n  condition: "+cond+"\n")
		if len(probs) == 0 || probs[0].Msg != "sigma.cond.too_deep" {
			t.Fatalf("problems %v", probs)
		}
	})
}
