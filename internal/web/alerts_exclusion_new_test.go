// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// ruleStub is a rule set of fixed rules. The real rule service lives in
// internal/app, which this package cannot import; only the reads the
// suppression form and the rule page make are answered.
type ruleStub struct{ rules []RuleInfo }

var errStub = errors.New("rule stub: not supported")

func (s ruleStub) Rules(context.Context) (RuleSet, error) { return RuleSet{Rules: s.rules}, nil }

func (s ruleStub) Rule(_ context.Context, id string) (RuleDetail, error) {
	for _, r := range s.rules {
		if r.Ref == id {
			return RuleDetail{RuleInfo: r, Source: "title: " + r.Title + "\n"}, nil
		}
	}
	return RuleDetail{}, fault.New(fault.NotFound, "rulesui.not_found")
}

func (ruleStub) SetEnabled(context.Context, audit.Actor, []string, bool, string) (int, error) {
	return 0, errStub
}

func (ruleStub) CheckRule(context.Context, string, []byte) ([]RuleProblem, error) {
	return nil, errStub
}

func (ruleStub) TestRule(context.Context, []byte, []byte) (RuleTest, error) {
	return RuleTest{}, errStub
}

func (ruleStub) SaveRule(context.Context, audit.Actor, string, []byte) (string, []RuleProblem, error) {
	return "", nil, errStub
}

func (ruleStub) DeleteRule(context.Context, audit.Actor, string) error { return errStub }

// withRuleStub gives the server a rule set holding r-cmd (a rule with the
// id of detections of det("r-cmd", …)) and a filter.
func withRuleStub(o *Options) {
	o.Rules = ruleStub{rules: []RuleInfo{
		{Ref: "r-cmd", ID: "r-cmd", Kind: "rule", Title: "Shell started", Level: "high", State: RuleOn,
			Fields: []string{"Image", "CommandLine"}},
		{Ref: "f-noise", ID: "f-noise", Kind: "filter", Title: "Noise filter", State: RuleOn},
	}}
}

// exclusionForm builds the form of the new-suppression page: pairs are a
// field name then its value, as many as given, then blank rows up to the
// form's five.
func newExclusionForm(rule, reason, expiry string, pairs ...string) url.Values {
	v := url.Values{"rule": {rule}, "reason": {reason}, "expiry": {expiry}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add("field", pairs[i])
		v.Add("value", pairs[i+1])
	}
	for i := len(pairs) / 2; i < exclusionRows; i++ {
		v.Add("field", "")
		v.Add("value", "")
	}
	return v
}

func (e *alertEnv) exclusions() []alert.Exclusion {
	e.t.Helper()
	xs, err := e.svc.Exclusions(context.Background(), alert.ExclusionFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return xs
}

func TestExclusionNewCreates(t *testing.T) {
	e := newAlertEnv(t, withRuleStub)
	now := e.clock.now()
	resp, body := e.get("/alerts/exclusions/new?rule=r-cmd")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the form: %d", resp.StatusCode)
	}
	for _, want := range []string{`id="rule" name="rule" type="text" value="r-cmd"`, `id="cond-field-5"`,
		`<a href="/rules/r-cmd">Shell started</a>`, `<option value="Image">`, `<option value="30d" selected>`,
		`<option value="90d">90 days</option>`, "ignoring case: no wildcards, no partial matches"} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	if strings.Contains(body, `id="cond-field-6"`) {
		t.Errorf("the form offers more than %d conditions", exclusionRows)
	}

	form := newExclusionForm("r-cmd", "  build server runs shells  ", "7d",
		"host", "WEB01", "Image", `c:\windows\system32\CMD.EXE`)
	resp = e.post("/alerts/exclusions/new", form)
	xs := e.exclusions()
	if len(xs) != 1 {
		t.Fatalf("POST %v: %d %s, %d exclusions, want 1", form, resp.StatusCode, bodyOf(t, resp), len(xs))
	}
	x := xs[0]
	wantLoc := fmt.Sprintf("/alerts/exclusions?done=exclusion_created#exclusion-%d", x.ID)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != wantLoc {
		t.Errorf("POST the form: %d %q, want 303 to %q", resp.StatusCode, loc, wantLoc)
	}
	wantConds := []alert.KV{{Name: "host", Value: "WEB01"}, {Name: "Image", Value: `c:\windows\system32\CMD.EXE`}}
	if x.RuleID != "r-cmd" || !cmp.Equal(x.Conditions, wantConds) || x.Reason != "build server runs shells" ||
		x.Author != "ana" || x.AlertID != 0 || !x.Expires.Equal(now.Add(7*24*time.Hour)) {
		t.Errorf("exclusion made: %+v", x)
	}

	// A detection matching both conditions (other case) is suppressed; one
	// matching only one, or of another rule, alerts.
	e.clock.advance(time.Minute)
	ctx := context.Background()
	for _, c := range []struct {
		d    alert.Detection
		want alert.Outcome
	}{
		{det("r-cmd", "web01", "alice", alert.LevelHigh, e.clock.now(), 1), alert.OutcomeSuppressed},
		{det("r-cmd", "db01", "alice", alert.LevelHigh, e.clock.now(), 2), alert.OutcomeCreated},
		{det("r-other", "web01", "alice", alert.LevelHigh, e.clock.now(), 3), alert.OutcomeCreated},
	} {
		if _, o, err := e.svc.Record(ctx, c.d); err != nil || o != c.want {
			t.Errorf("Record(%s on %s): %v, outcome %s, want %s", c.d.RuleID, c.d.Host, err, o, c.want)
		}
	}
	d := det("r-cmd", "web01", "", alert.LevelHigh, e.clock.now(), 4)
	d.Fields[0].Value = `C:\Windows\System32\cmd.exe.bak`
	if _, o, err := e.svc.Record(ctx, d); err != nil || o != alert.OutcomeCreated {
		t.Errorf("Record with a value that only starts like the condition's: %v, outcome %s, want created", err, o)
	}

	// The list shows it with the notice, and offers a new one.
	_, body = e.get(wantLoc[:strings.IndexByte(wantLoc, '#')])
	for _, want := range []string{fmt.Sprintf(`<tr id="exclusion-%d">`, x.ID), "The suppression was made.",
		`<code>Image</code> = <span class="value">c:\windows\system32\CMD.EXE</span>`, "build server runs shells",
		`<td class="num">1</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("suppressions page lacks %q", want)
		}
	}
	if got := href(body, "new-exclusion"); got != "/alerts/exclusions/new" {
		t.Errorf("New suppression links to %q", got)
	}
	if _, body := e.get("/alerts/exclusions?rule=r-cmd"); href(body, "new-exclusion") != "/alerts/exclusions/new?rule=r-cmd" {
		t.Errorf("New suppression on the rule's suppressions links to %q, want the rule prefilled", href(body, "new-exclusion"))
	}
}

func TestExclusionNewRuleIDs(t *testing.T) {
	e := newAlertEnv(t, withRuleStub)
	for _, c := range []struct {
		rule, want string // want: the id stored, or "" for refused
		msg        string
	}{
		{"r-cmd", "r-cmd", ""},
		{"  R-CMD ", "r-cmd", ""}, // the rule's own spelling is stored
		{"ioc:ip:203.0.113.7", "ioc:ip:203.0.113.7", ""},
		{"baseline:logon_hours", "baseline:logon_hours", ""},
		{"r-nope", "", "There is no rule with the id “r-nope”."},
		{"f-noise", "", "“f-noise” is a filter"},
		{"", "", "A rule id is required."},
	} {
		before := len(e.exclusions())
		// Each with its own host, so that none repeats another.
		resp := e.post("/alerts/exclusions/new", newExclusionForm(c.rule, "tuning", "1d", "host", "h-"+c.rule))
		body := bodyOf(t, resp)
		xs := e.exclusions()
		if c.want == "" {
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.msg) || len(xs) != before ||
				!strings.Contains(body, `id="rule-error"`) {
				t.Errorf("rule %q: %d, %d exclusions, message shown: %v; want 400 with %q and none made",
					c.rule, resp.StatusCode, len(xs)-before, strings.Contains(body, c.msg), c.msg)
			}
			continue
		}
		if resp.StatusCode != http.StatusSeeOther || len(xs) != before+1 || xs[len(xs)-1].RuleID != c.want {
			t.Errorf("rule %q: %d, exclusions %+v; want one for %q", c.rule, resp.StatusCode, xs, c.want)
		}
	}
}

func TestExclusionNewInvalid(t *testing.T) {
	e := newAlertEnv(t, withRuleStub)
	tests := []struct {
		name    string
		form    url.Values
		msg     string
		errID   string   // the element holding the message
		kept    []string // what the page shows again
		notKept []string
	}{
		{"no reason", newExclusionForm("r-cmd", "  ", "30d", "host", "keep-host"),
			"Give a reason for the suppression.", "reason-error",
			[]string{`value="keep-host"`, `value="r-cmd"`, `<option value="30d" selected>`}, nil},
		{"empty field", newExclusionForm("r-cmd", "keep reason", "90d", "host", "web01", "", "orphan value"),
			"Every condition needs a field name and a value.", "cond-error-2",
			[]string{`id="cond-value-2" name="value" type="text" value="orphan value"`, ">keep reason</textarea>",
				`<option value="90d" selected>`}, nil},
		{"unknown rule", newExclusionForm("r-typo", "keep reason", "1d", "user", "svc_backup"),
			"There is no rule with the id “r-typo”.", "rule-error",
			[]string{`value="r-typo"`, `value="svc_backup"`, `<option value="1d" selected>`}, nil},
		{"too many conditions", newExclusionForm("r-cmd", "keep reason", "7d", "f1", "v1", "f2", "v2", "f3", "v3",
			"f4", "v4", "f5", "v5", "f6", "v6"),
			"A suppression may match at most 5 fields.", "conditions-error",
			[]string{`id="cond-field-6" name="field" type="text" value="f6"`, `value="v6"`}, nil},
		{"field twice", newExclusionForm("r-cmd", "keep reason", "7d", "host", "a", "host", "b"),
			"The field “host” is used twice.", "cond-error-2", []string{`value="a"`, `value="b"`}, nil},
		{"no condition", newExclusionForm("r-cmd", "keep reason", "7d"),
			"Give at least one condition", "conditions-error", []string{">keep reason</textarea>"}, nil},
		{"unknown expiry", newExclusionForm("r-cmd", "keep reason", "forever", "host", "web01"),
			"Choose how long the suppression lasts.", "expiry-error", []string{`<option value="30d" selected>`},
			[]string{"forever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.post("/alerts/exclusions/new", tt.form)
			body := bodyOf(t, resp)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST %v: %d, want 400", tt.form, resp.StatusCode)
			}
			if !regexp.MustCompile(`id="` + tt.errID + `">` + regexp.QuoteMeta(tt.msg)).MatchString(body) {
				t.Errorf("POST %v: no %q in #%s", tt.form, tt.msg, tt.errID)
			}
			if !strings.Contains(body, `id="error-summary"`) {
				t.Errorf("POST %v: no error summary", tt.form)
			}
			for _, k := range tt.kept {
				if !strings.Contains(body, k) {
					t.Errorf("POST %v: the page does not keep %q", tt.form, k)
				}
			}
			for _, k := range tt.notKept {
				if strings.Contains(body, k) {
					t.Errorf("POST %v: the page shows %q", tt.form, k)
				}
			}
		})
	}
	if xs := e.exclusions(); len(xs) != 0 {
		t.Errorf("invalid forms made exclusions: %+v", xs)
	}
	// Every problem at once, each beside its input.
	resp := e.post("/alerts/exclusions/new", newExclusionForm("r-typo", "", "7d", "Image", ""))
	body := bodyOf(t, resp)
	for _, id := range []string{"rule-error", "cond-error-1", "reason-error"} {
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("a form with three problems lacks #%s", id)
		}
	}
}

func TestExclusionNewEscapes(t *testing.T) {
	e := newAlertEnv(t) // no rule set: any rule id is taken
	const x = `<script>alert(1)</script>`
	rule := `r"><img src=x onerror=alert(2)>`
	bad := []string{"<script>alert", "<img src=x", "onerror=alert(2)>"}
	check := func(what, body string) {
		t.Helper()
		for _, b := range bad {
			if strings.Contains(body, b) {
				t.Errorf("%s: the page contains %q unescaped", what, b)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the hostile text is not shown escaped", what)
		}
	}
	// Shown again after a problem, and prefilled from the address.
	resp := e.post("/alerts/exclusions/new", newExclusionForm(rule, "", "7d", "F"+x, "v"+x, "host", "dup", "host", x))
	body := bodyOf(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("hostile form without a reason: %d, want 400", resp.StatusCode)
	}
	check("the form shown again", body)
	_, body = e.get("/alerts/exclusions/new?rule=" + url.QueryEscape(rule+x))
	check("the form prefilled", body)

	resp = e.post("/alerts/exclusions/new", newExclusionForm(rule, "r"+x, "7d", "F"+x, "v"+x))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/alerts/exclusions\?done=exclusion_created#exclusion-\d+$`).MatchString(loc) {
		t.Fatalf("hostile suppression: %d %q", resp.StatusCode, loc)
	}
	_, body = e.get("/alerts/exclusions")
	check("the suppressions page", body)
	if xs := e.exclusions(); len(xs) != 1 || xs[0].RuleID != rule || xs[0].Conditions[0].Name != "F"+x {
		t.Errorf("hostile suppression stored as %+v", xs)
	}
}

func TestExclusionNewJapanese(t *testing.T) {
	e := newAlertEnv(t, withRuleStub)
	if err := e.auth.SetPreferences(context.Background(), actor2(e.ana), e.ana.ID, "ja", ""); err != nil {
		t.Fatal(err)
	}
	missing := regexp.MustCompile(`\[(alerts?|rulesui)\.[a-z0-9_.]+\]`)
	_, body := e.get("/alerts/exclusions/new?rule=r-cmd")
	resp := e.post("/alerts/exclusions/new", newExclusionForm("r-nope", "", "7d", "host", "", "host", "b", "host", "c"))
	invalid := bodyOf(t, resp)
	for name, c := range map[string]struct {
		body string
		want []string
	}{
		"form":    {body, []string{"抑制の作成", "大文字と小文字は区別しません", "90 日", "フィールド 1"}},
		"invalid": {invalid, []string{"ID が「r-nope」のルールはありません", "抑制する理由を入力してください。", "各条件にはフィールド名と値が必要です。", "フィールド「host」が 2 回使われています。"}},
	} {
		if m := missing.FindString(c.body); m != "" {
			t.Errorf("%s in Japanese: message %s is missing", name, m)
		}
		for _, w := range c.want {
			if !strings.Contains(c.body, w) {
				t.Errorf("%s in Japanese lacks %q", name, w)
			}
		}
	}
	if resp := e.post("/alerts/exclusions/new", newExclusionForm("r-cmd", "検証環境", "90d", "host", "web01")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST in Japanese: %d", resp.StatusCode)
	}
	_, body = e.get("/alerts/exclusions?done=exclusion_created")
	if !strings.Contains(body, "抑制を作成しました。") || !strings.Contains(body, `id="new-exclusion">抑制を作成</a>`) {
		t.Error("the Japanese suppressions page lacks the notice or the button")
	}
}

// TestExclusionNewMessages checks the message ids the form builds at run
// time, in both languages.
func TestExclusionNewMessages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"alerts.done.exclusion_created"}
	for _, x := range exclusionExpiries {
		ids = append(ids, "alerts.expiry_"+x.Key)
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}

func TestExclusionNewLinks(t *testing.T) {
	e := newAlertEnv(t, withRuleStub)
	_, body := e.get("/rules/r-cmd")
	link := href(body, "rule-new-exclusion")
	if link != "/alerts/exclusions/new?rule=r-cmd" {
		t.Fatalf("rule page: suppression link %q", link)
	}
	if _, form := e.get(link); !strings.Contains(form, `value="r-cmd"`) || !strings.Contains(form, "Shell started") {
		t.Error("the rule page's link does not open the form with the rule")
	}
	if _, body := e.get("/rules/f-noise"); strings.Contains(body, `id="rule-new-exclusion"`) {
		t.Error("a filter's page offers a suppression")
	}
	// Without the alert service there is nothing to add to.
	ne := newEnv(t, withRuleStub)
	ne.user("ana", auth.RoleAnalyst)
	s := ne.session("ana")
	if body := bodyOf(t, ne.do(req{path: "/rules/r-cmd", session: s})); strings.Contains(body, `id="rule-new-exclusion"`) {
		t.Error("the rule page offers a suppression without the alert service")
	}
	if resp := ne.do(req{path: "/alerts/exclusions/new", session: s}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET the form without the alert service: %d, want 404", resp.StatusCode)
	}
}
