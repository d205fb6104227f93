// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// The rule pages over the real rule service are tested in internal/app
// (rulesvc_test.go), which builds it over a data directory and SQLite;
// here are the parts of the web side that need no service.

func TestParseRuleQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		query  string
		want   ruleQuery
		fields []string // fields with a fault
	}{
		{"empty", "", ruleQuery{}, nil},
		{"every filter", "level=high&level=low&level=high&status=test&tag=+T1059+&product=windows&category=process_creation" +
			"&service=sysmon&pack=sigmahq&state=enabled&q=powershell&page=3",
			ruleQuery{Levels: []string{"high", "low"}, Status: "test", Tag: "T1059", Product: "windows", Category: "process_creation",
				Service: "sysmon", Pack: "sigmahq", State: "enabled", Q: "powershell", Page: 3}, nil},
		{"a rule state", "state=off", ruleQuery{State: "off"}, nil},
		{"bad values", "level=urgent&status=beta&state=maybe&page=0", ruleQuery{}, []string{"level", "status", "state", "page"}},
		{"page not a number", "page=x", ruleQuery{}, []string{"page"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRuleQuery(v)
			var fields []string
			for _, f := range fault.Faults(err) {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("parseRuleQuery(%q) faults on %v, want %v (%v)", tt.query, fields, tt.fields, err)
			}
			if got.Status != tt.want.Status || got.State != tt.want.State || got.Tag != tt.want.Tag || got.Q != tt.want.Q ||
				got.Page != tt.want.Page || got.Product != tt.want.Product || got.Category != tt.want.Category ||
				got.Service != tt.want.Service || got.Pack != tt.want.Pack || !slices.Equal(got.Levels, tt.want.Levels) {
				t.Errorf("parseRuleQuery(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
			// The query survives a round trip through the links.
			if err == nil {
				again, err := parseRuleQuery(got.values())
				if err != nil || again.Q != got.Q || !slices.Equal(again.Levels, got.Levels) || again.State != got.State {
					t.Errorf("parseRuleQuery(values()) = %+v, %v; want %+v", again, err, got)
				}
			}
		})
	}
}

func TestRuleQueryMatch(t *testing.T) {
	t.Parallel()
	ps := RuleInfo{Ref: "r1", Title: "Encoded PowerShell", TitleJA: "エンコードされた PowerShell", Level: "high", Status: "test",
		Product: "windows", Category: "process_creation", Tags: []string{"attack.execution", "attack.T1059.001"}, Pack: "sigmahq", State: RuleOn}
	info := RuleInfo{Ref: "r2", Title: "Logon", Level: "", Product: "Windows", Service: "security", Tags: []string{"cve.2021-1675"},
		Pack: "koban", State: RuleQuiet}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"r1", "r2"}},
		{"tag=t1059", []string{"r1"}},
		{"tag=T1059.001", []string{"r1"}},
		{"tag=t1059.002", nil},
		{"tag=t105", nil}, // a tag covers the tags below it, not longer names
		{"tag=execution", []string{"r1"}},
		{"tag=cve.2021-1675", []string{"r2"}},
		{"level=informational", []string{"r2"}}, // no level counts as informational
		{"product=windows", []string{"r1", "r2"}},
		{"service=security&product=WINDOWS", []string{"r2"}},
		{"state=enabled", []string{"r1", "r2"}},
		{"state=quiet", []string{"r2"}},
		{"q=" + url.QueryEscape("エンコード"), []string{"r1"}},
		{"q=powershell", []string{"r1"}},
		{"pack=koban", []string{"r2"}},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		q, err := parseRuleQuery(v)
		if err != nil {
			t.Fatalf("parseRuleQuery(%q): %v", tt.query, err)
		}
		var got []string
		for _, r := range filterRules([]RuleInfo{info, ps}, q) {
			got = append(got, r.Ref)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q: %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestSourceLines(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{Lang: i18n.English, cat: cat}
	text := "title: x\r\nlevel: urgent\n\x1b[31mred\n"
	lines := sourceLines(p, text, []RuleProblem{
		{Line: 2, Col: 8, Msg: "sigma.bad_level", Args: []any{"value", "urgent"}},
		{Line: 2, Col: 1, Msg: "rulesui.no_rule"},  // a second problem on a line keeps the first
		{Line: 99, Col: 1, Msg: "rulesui.no_rule"}, // past the end: ignored
	})
	if len(lines) != 3 {
		t.Fatalf("sourceLines: %d lines, want 3", len(lines))
	}
	if l := lines[1]; !l.Marked || l.Caret != "       ^" || !strings.Contains(l.Message, "urgent") || l.Text != "level: urgent" {
		t.Errorf("line 2: %+v, want it marked with a caret under column 8", l)
	}
	if lines[0].Marked || lines[0].Text != "title: x" {
		t.Errorf("line 1: %+v, want it plain without the carriage return", lines[0])
	}
	if strings.ContainsRune(lines[2].Text, 0x1b) {
		t.Errorf("line 3: %q, want the escape character made visible", lines[2].Text)
	}
}

// TestRulesWithoutService: a koban without detection says what the page
// is for, and the rule pages answer 404 rather than fail.
func TestRulesWithoutService(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ana", auth.RoleAnalyst)
	s := e.session("ana")
	resp := e.do(req{path: "/rules", session: s})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "The Sigma rules detection runs") {
		t.Errorf("GET /rules without a service: %d, want the section page", resp.StatusCode)
	}
	for _, r := range []req{
		{path: "/rules/x", session: s},
		{path: "/rules/new", session: s},
		{method: http.MethodPost, path: "/rules/x/disable", form: url.Values{"reason": {"r"}}, session: s},
	} {
		resp := e.do(r)
		if body := bodyOf(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "detection is not running") {
			t.Errorf("%s %s without a service: %d, want 404 saying why", r.method, r.path, resp.StatusCode)
		}
	}
}

func TestRefLinks(t *testing.T) {
	t.Parallel()
	got := refLinks([]string{"https://example.com/a?b=1", "javascript:alert(1)", "see the manual", "http://"})
	want := []string{"https://example.com/a?b=1", "", "", ""}
	for i, l := range got {
		if l.Href != want[i] {
			t.Errorf("refLinks[%d] = %q, want link %q", i, l.Href, want[i])
		}
	}
}

// TestRuleMessagesExist checks the message ids the rule pages build at
// run time, in both languages.
func TestRuleMessagesExist(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range []RuleState{RuleOn, RuleQuiet, RuleOff, RuleSkipped, RuleBroken} {
		ids = append(ids, "rulesui.state."+string(s))
	}
	for _, k := range []string{"rule", "filter", "correlation"} {
		ids = append(ids, "rulesui.kind."+k)
	}
	for _, tac := range alert.Tactics {
		ids = append(ids, "rulesui.tactic."+tac)
	}
	for _, d := range []string{"disabled", "enabled", "disabled_n", "enabled_n", "saved", "deleted"} {
		ids = append(ids, "rulesui.done."+d)
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}
