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
