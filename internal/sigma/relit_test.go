// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"regexp"
	"strings"
	"testing"
)

func TestLongRun(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		n     int
		anyNL bool
		ok    bool
	}{
		{".{1000,}", 1000, false, true},
		{"(?s).{20,}", 20, true, true},
		{".{5,9}", 5, false, true},
		{"...", 3, false, true},
		{"a.{5,}", 0, false, false},
		{"^.{5,}$", 0, false, false},
		{".", 0, false, false},
		{"(.){200,}", 200, false, true}, // captures do not change whether it matches
	} {
		n, nl, ok := longRun(tc.expr)
		if n != tc.n || nl != tc.anyNL || ok != tc.ok {
			t.Errorf("longRun(%q) = %d, %v, %v; want %d, %v, %v", tc.expr, n, nl, ok, tc.n, tc.anyNL, tc.ok)
		}
		if !ok {
			continue
		}
		// The special case agrees with the regexp package.
		re := regexp.MustCompile(tc.expr)
		for _, v := range []string{strings.Repeat("x", tc.n-1), strings.Repeat("x", tc.n), strings.Repeat("x", tc.n-1) + "\n" + strings.Repeat("y", tc.n-1), "日本" + strings.Repeat("語", tc.n)} {
			m := &Matcher{}
			got := m.check(&atom{kind: atomLongRun, minLen: tc.n, cmp: map[bool]string{true: "s"}[tc.anyNL]}, v, nil)
			if want := re.MatchString(v); got != want {
				t.Errorf("%q on %q: got %v, regexp says %v", tc.expr, v, got, want)
			}
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`powershell.*-enc`, []string{"powershell"}},
		{`(?i)\$\{env:path\}`, []string{"${env:path}"}},
		{`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`, []string{`. `, `."`, `.'`}},
		{`[Pp]ower[Ss]hell`, []string{"powershell"}},
		{`(foo|barbaz)\d+`, []string{"barbaz", "foo"}},
		{`a.b`, nil},
		{`\s-c\s`, nil},
		{`(x|y)?abc`, []string{"abc"}},
	} {
		got := requiredLiterals(tc.expr)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tc.expr, got, tc.want)
		}
		// Every string the expression matches in these samples holds
		// one of the literals.
		re := regexp.MustCompile(tc.expr)
		for _, v := range []string{"powershell -enc x", "POWERSHELL", "${env:path}", `C:\a\b.c." x`, "foo12", "barbaz3", "xabc"} {
			if !re.MatchString(v) || len(got) == 0 {
				continue
			}
			lv := strings.ToLower(v)
			ok := false
			for _, l := range got {
				ok = ok || strings.Contains(lv, l)
			}
			if !ok {
				t.Errorf("%q matches %q, which holds none of %q", tc.expr, v, got)
			}
		}
	}
}

// TestExistenceForm: the rewritten expression matches exactly the strings
// the original matches somewhere, and drops the costly ends.
func TestExistenceForm(t *testing.T) {
	inputs := []string{"", "a", "ab`c`d", "x`-`y", "foo `bar` baz", "`", "a``b", "ab", "aaa", "ba", "xyy", "XYYYY", "xy",
		"set a && set b invoke && x\"", "word`(x`", strings.Repeat("w", 50) + "`a`b", "a\nb", "b\na"}
	for _, tc := range []struct {
		expr    string
		changed bool
	}{
		{"\\w+`(\\w+|-|.)`[\\w+|\\s]", true},
		{"a.*", true},
		{".*a.*b.*", true},
		{"(?i)x+y{2,5}", true},
		{"^a+", true},
		{"a+$", true},
		{"^a+$", false},
		{"(?m)^a.*$", false},
		{"abc", false},
	} {
		got := existenceForm(tc.expr)
		if (got != tc.expr) != tc.changed {
			t.Errorf("existenceForm(%q) = %q, changed %v, want %v", tc.expr, got, got != tc.expr, tc.changed)
		}
		a, b := regexp.MustCompile(tc.expr), regexp.MustCompile(got)
		for _, in := range inputs {
			if a.MatchString(in) != b.MatchString(in) {
				t.Errorf("%q and %q disagree on %q", tc.expr, got, in)
			}
		}
	}
}

// FuzzExistenceForm: for any expression and input, the rewritten form and
// the original agree on whether the input matches.
func FuzzExistenceForm(f *testing.F) {
	f.Add("\\w+`(\\w+|-|.)`[\\w+|\\s]", "ab`c`d")
	f.Add(".*a.*b.*", "xaxb")
	f.Add("(?i)x+y{2,5}", "XYYY")
	f.Add("^a+", "aa")
	f.Fuzz(func(t *testing.T, expr, in string) {
		a, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		form := existenceForm(expr)
		b, err := regexp.Compile(form)
		if err != nil {
			t.Fatalf("%q became %q, which does not compile: %v", expr, form, err)
		}
		if a.MatchString(in) != b.MatchString(in) {
			t.Fatalf("%q and %q disagree on %q", expr, form, in)
		}
	})
}

// FuzzLiteralAnchor: running the expression anchored at its literal's
// occurrences agrees with running it everywhere.
func FuzzLiteralAnchor(f *testing.F) {
	f.Add("[0-9A-Z_a-z]`([0-9A-Z_a-z]+|.)`[\\t\\n\\f\\r \\+0-9A-Z_a-z\\|]", "ab`c`d")
	f.Add("..x", "日本x")
	f.Add("[ab]c", "acbc")
	f.Fuzz(func(t *testing.T, expr, in string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		lead, lit, ok := literalAnchor(expr)
		if !ok {
			return
		}
		anchored, err := regexp.Compile(`\A(?:` + expr + `)`)
		if err != nil {
			t.Fatal(err)
		}
		a := &atom{reLead: lead, lit: lit, reAnchored: anchored}
		if got, want := anchoredMatch(a, in), re.MatchString(in); got != want {
			t.Fatalf("%q on %q: anchored %v, everywhere %v (lead %d, literal %q)", expr, in, got, want, lead, lit)
		}
	})
}

func TestLiteralAnchor(t *testing.T) {
	for _, tc := range []struct {
		expr string
		lead int
		lit  string
		ok   bool
	}{
		{"[0-9A-Z_a-z]`([0-9A-Z_a-z]+|.)`x", 1, "`", true},
		{"..abc", 2, "abc", true},
		{"abc.", 0, "", false},   // a literal prefix: regexp skips to it itself
		{"^.x", 0, "", false},    // anchored
		{"(?i).x", 0, "", false}, // case-insensitive letter
		{"(?i).-", 1, "-", true},
		{"a*x", 0, "", false},
	} {
		lead, lit, ok := literalAnchor(tc.expr)
		if lead != tc.lead || lit != tc.lit || ok != tc.ok {
			t.Errorf("literalAnchor(%q) = %d, %q, %v; want %d, %q, %v", tc.expr, lead, lit, ok, tc.lead, tc.lit, tc.ok)
		}
	}
}
