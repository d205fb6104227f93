// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
	"github.com/koban-csirt/koban/internal/web"
)

// The rules of the test pack "local".
const (
	rulePS      = "b0000000-0000-4000-8000-000000000001" // high, windows process_creation, T1059.001, title_ja
	ruleWho     = "b0000000-0000-4000-8000-000000000002" // medium, windows process_creation, T1033
	ruleSSH     = "b0000000-0000-4000-8000-000000000003" // low, linux sshd keywords, T1110
	ruleOld     = "b0000000-0000-4000-8000-000000000004" // deprecated: left out by detection.statuses
	ruleInfo    = "b0000000-0000-4000-8000-000000000005" // informational: below detection.min_level
	ruleCfgOff  = "b0000000-0000-4000-8000-000000000006" // in detection.disabled_rules
	ruleHostile = "b0000000-0000-4000-8000-000000000007" // markup in every text
)

const psRule = `title: Encoded PowerShell
title_ja: エンコードされた PowerShell の実行
id: ` + rulePS + `
status: test
description: PowerShell started with an encoded command.
references:
    - https://attack.mitre.org/techniques/T1059/001/
author: koban tests
tags:
    - attack.execution
    - attack.t1059.001
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\powershell.exe'
        CommandLine|contains: ' -enc '
    condition: selection
falsepositives:
    - Administration scripts
level: high
`

const sshRule = `title: SSH failed password
id: ` + ruleSSH + `
status: stable
tags:
    - attack.credential-access
    - attack.t1110
logsource:
    product: linux
    service: sshd
detection:
    keywords:
        - 'Failed password'
    condition: keywords
level: low
`

const hostileRule = `title: <script>alert('title')</script>
title_ja: "<img src=x onerror=alert('ja')>"
id: ` + ruleHostile + `
status: test
description: '</pre><script>alert("description")</script>'
author: <b onmouseover=alert(1)>mallory</b>
references:
    - javascript:alert('reference')
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\</script><script>alert(1)</script>.exe'
    condition: selection
level: high
`

const rulesPassword = "nine plain words keep the rule tests safe"

// rulesEnv is the web UI over the real rule service: a data directory
// with a pack of a few rules, SQLite, a detection whose reloads the test
// can observe.
type rulesEnv struct {
	t       *testing.T
	c       config.Config
	db      *store.DB
	svc     *ruleService
	det     *detection
	srv     *web.Server
	analyst string // session secrets
	viewer  string
}

func writeRulePack(t *testing.T, dir string) {
	t.Helper()
	write(t, filepath.Join(dir, "rules", "local"), map[string]string{
		"windows/ps.yml":      psRule,
		"windows/whoami.yml":  sigmaRule(ruleWho, "Whoami Run", "medium", "whoami.exe", "attack.discovery", "attack.t1033"),
		"windows/old.yml":     strings.Replace(sigmaRule(ruleOld, "Old Rule", "high", "old.exe"), "status: test", "status: deprecated", 1),
		"windows/info.yml":    sigmaRule(ruleInfo, "Info Rule", "informational", "info.exe"),
		"windows/cfgoff.yml":  sigmaRule(ruleCfgOff, "Config Off", "high", "cfg.exe"),
		"windows/hostile.yml": hostileRule,
		"linux/ssh.yml":       sshRule,
		"broken.yml":          brokenRule,
	})
}

func newRulesEnv(t *testing.T) *rulesEnv {
	t.Helper()
	dir := t.TempDir()
	writeRulePack(t, dir)
	c := config.Default()
	c.DataDir = dir
	c.Detect.OwnRules = false
	c.Detect.DisabledRules = []string{ruleCfgOff}
	e := &rulesEnv{t: t, c: c, db: storetest.OpenSQLite(t)}
	e.start()
	ctx := context.Background()
	authSvc, err := auth.New(e.db, auth.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour,
		Throttle: auth.ThrottlePolicy{MaxFailuresPerUser: 5, MaxFailuresPerIP: 20, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: time.Hour}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	session := func(name string, role auth.Role) string {
		if _, _, err := authSvc.CreateUser(ctx, audit.System, auth.NewUser{Name: name, Role: role, Password: rulesPassword}); err != nil {
			t.Fatal(err)
		}
		res, err := authSvc.SignIn(ctx, name, rulesPassword, auth.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Secret
	}
	e.analyst, e.viewer = session("ana", auth.RoleAnalyst), session("vic", auth.RoleViewer)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	e.srv, err = web.New(web.Options{Auth: authSvc, Audit: e.db, Catalog: cat, Health: e.db.Ping, Version: "test",
		StoreKind: "sqlite", Rules: e.svc})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start builds the rule service, as serve does at start-up, with a
// detection whose reloads the test reads.
func (e *rulesEnv) start() {
	e.svc = newRuleService(e.c, e.db, nil)
	e.det = &detection{det: detect.New(detect.Options{}), reload: make(chan *detect.Rules, 1), log: slog.New(slog.DiscardHandler)}
	e.svc.reload = e.det.reloadRules
}

// reloaded returns the rules detection was last handed and swaps them in,
// as its loop does; it fails when there was no reload.
func (e *rulesEnv) reloaded() *detect.Rules {
	e.t.Helper()
	select {
	case nr := <-e.det.reload:
		e.det.swap(nr)
		if e.det.det.Rules() != nr {
			e.t.Fatal("detector did not take the new rules")
		}
		return nr
	default:
		e.t.Fatal("detection was not reloaded")
		return nil
	}
}

// ruleIDs lists the ids of a compiled rule set.
func ruleIDs(r *detect.Rules) []string {
	var ids []string
	for i := range r.Set.Len() {
		ids = append(ids, r.Set.Rule(i).ID)
	}
	slices.Sort(ids)
	return ids
}

type rulesReq struct {
	method, path string
	form         url.Values
	session      string
	lang         string
}

func (e *rulesEnv) do(r rulesReq) (*http.Response, string) {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.session == "" {
		r.session = e.analyst
	}
	hr.AddCookie(&http.Cookie{Name: "koban_session", Value: r.session})
	if r.lang != "" {
		hr.Header.Set("Accept-Language", r.lang)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, hr)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(b)
}

// get fetches path as the analyst and wants 200.
func (e *rulesEnv) get(path string) string {
	e.t.Helper()
	resp, body := e.do(rulesReq{path: path})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d, want 200\n%s", path, resp.StatusCode, body)
	}
	return body
}

// listed returns the rule ids the list page shows, in order.
func listed(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<div class="hint rule-id"><code>([^<]+)</code>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestRulesListFilters(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"all, most severe first, then by title", "", []string{ruleHostile, ruleCfgOff, rulePS, ruleOld, ruleWho, ruleSSH, ruleInfo}},
		{"level", "?level=high&level=critical", []string{ruleHostile, ruleCfgOff, rulePS, ruleOld}},
		{"status", "?status=stable", []string{ruleSSH}},
		{"technique covers sub-techniques", "?tag=T1059", []string{rulePS}},
		{"tactic without prefix", "?tag=discovery", []string{ruleWho}},
		{"product", "?product=linux", []string{ruleSSH}},
		{"service", "?service=sshd", []string{ruleSSH}},
		{"category and level", "?category=process_creation&level=medium", []string{ruleWho}},
		{"pack", "?pack=nothere", nil},
		{"enabled", "?state=enabled", []string{ruleHostile, rulePS, ruleWho, ruleSSH, ruleInfo}},
		{"on", "?state=on", []string{ruleHostile, rulePS, ruleWho, ruleSSH}},
		{"quiet", "?state=quiet", []string{ruleInfo}},
		{"skipped by configuration", "?state=skipped", []string{ruleCfgOff, ruleOld}},
		{"text in the Japanese title", "?q=" + url.QueryEscape("エンコード"), []string{rulePS}},
		{"text in the description", "?q=encoded+command", []string{rulePS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := e.get("/rules" + tt.query)
			if got := listed(body); !slices.Equal(got, tt.want) {
				t.Errorf("GET /rules%s lists %v, want %v", tt.query, got, tt.want)
			}
			if want := strconv.Itoa(len(tt.want)) + " of 7 rules match."; !strings.Contains(body, want) {
				t.Errorf("GET /rules%s: no %q", tt.query, want)
			}
		})
	}
	body := e.get("/rules")
	for _, want := range []string{
		`href="https://attack.mitre.org/techniques/T1059/001/"`, // technique linked
		"Credential access", // tactic named
		"Rules below Low only feed correlations.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /rules: no %q", want)
		}
	}
	// The broken file is listed with its position and the reason.
	if !regexp.MustCompile(`<code>local/broken.yml:10:\d+</code>`).MatchString(body) {
		t.Errorf("GET /rules: the broken document is not listed with its position:\n%s", section(body, "rule-problems"))
	}
	if row := section(body, "rules-table"); !regexp.MustCompile(`(?s)Config Off</a>.*?Left out by the configuration</span><div class="hint">[^<]*` + ruleCfgOff).MatchString(row) {
		t.Errorf("GET /rules: the rule off in the configuration does not say why:\n%s", row)
	}
	if resp, _ := e.do(rulesReq{path: "/rules?level=urgent"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /rules?level=urgent: %d, want 400", resp.StatusCode)
	}
}

// section returns the part of body from the element with id on, for
// failure messages.
func section(body, id string) string {
	if i := strings.Index(body, `id="`+id+`"`); i >= 0 {
		return body[i:min(len(body), i+2000)]
	}
	return "(no element " + id + ")"
}

func TestRulesJapaneseTitles(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	_, ja := e.do(rulesReq{path: "/rules?tag=t1059", lang: "ja"})
	if !strings.Contains(ja, "エンコードされた PowerShell の実行") || strings.Contains(ja, ">Encoded PowerShell<") {
		t.Errorf("GET /rules in Japanese: want the title_ja, not the English title:\n%s", section(ja, "rules-table"))
	}
	if !strings.Contains(ja, "実行") || !strings.Contains(ja, "検知ルール") {
		t.Error("GET /rules in Japanese: tactic and heading not in Japanese")
	}
	en := e.get("/rules?tag=t1059")
	if !strings.Contains(en, ">Encoded PowerShell<") {
		t.Errorf("GET /rules in English: want the English title:\n%s", section(en, "rules-table"))
	}
	_, detail := e.do(rulesReq{path: "/rules/" + rulePS, lang: "ja"})
	if !strings.Contains(detail, `<span id="rule-title">エンコードされた PowerShell の実行</span>`) {
		t.Errorf("GET /rules/%s in Japanese: title is not the title_ja", rulePS)
	}
}

func TestRuleDetail(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	body := e.get("/rules/" + rulePS)
	for _, want := range []string{
		"PowerShell started with an encoded command.",
		`href="https://attack.mitre.org/techniques/T1059/001/"`,
		"Administration scripts",
		`href="/alerts/exclusions?rule=` + rulePS + `"`,
		`href="/alerts?rule=` + rulePS + `&amp;state=all"`,
		`<code>windows/ps.yml</code>`,
		`id="disable-form"`,
		`Image|endswith: &#39;\powershell.exe&#39;`, // the YAML, escaped
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /rules/%s: no %q", rulePS, want)
		}
	}
	if resp, _ := e.do(rulesReq{path: "/rules/no-such-rule"}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /rules/no-such-rule: %d, want 404", resp.StatusCode)
	}
	// A rule of an imported pack cannot be edited here.
	if resp, _ := e.do(rulesReq{path: "/rules/" + rulePS + "/edit"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /rules/%s/edit: %d, want 400 (not a custom rule)", rulePS, resp.StatusCode)
	}
	cfg := e.get("/rules/" + ruleCfgOff)
	if !strings.Contains(cfg, `id="rule-config-off"`) || strings.Contains(cfg, `id="enable-form"`) {
		t.Errorf("GET /rules/%s: a rule off in the configuration must say so and offer no switch", ruleCfgOff)
	}
}

func TestRulesHostileContentIsEscaped(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	pages := map[string]string{
		"list":      e.get("/rules?q=mallory"),
		"list ja":   func() string { _, b := e.do(rulesReq{path: "/rules?q=mallory", lang: "ja"}); return b }(),
		"detail":    e.get("/rules/" + ruleHostile),
		"detail ja": func() string { _, b := e.do(rulesReq{path: "/rules/" + ruleHostile, lang: "ja"}); return b }(),
	}
	for name, body := range pages {
		for _, bad := range []string{"<script>alert", "<img src=x", "<b onmouseover", `href="javascript:`, "</pre><script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s page holds %q unescaped", name, bad)
			}
		}
	}
	if !strings.Contains(pages["detail"], "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;") {
		t.Error("detail page: the hostile title is not shown escaped")
	}
	if !strings.Contains(pages["detail ja"], "&lt;img src=x onerror=alert(&#39;ja&#39;)&gt;") {
		t.Error("detail page in Japanese: the hostile title_ja is not shown escaped")
	}
}

func TestRulesDisableEnablePersists(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	// No reason: refused, nothing changes, detection untouched.
	resp, body := e.do(rulesReq{method: http.MethodPost, path: "/rules/" + rulePS + "/disable", form: url.Values{"reason": {"  "}}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Give a reason.") {
		t.Fatalf("disable without a reason: %d, want 400 with the message", resp.StatusCode)
	}
	select {
	case <-e.det.reload:
		t.Fatal("a refused change reloaded detection")
	default:
	}
	resp, _ = e.do(rulesReq{method: http.MethodPost, path: "/rules/" + rulePS + "/disable", form: url.Values{"reason": {"noisy on the build server"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rules/"+rulePS+"?done=disabled" {
		t.Fatalf("disable: %d %s, want a redirect to the rule", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Detection got a rule set without it at once.
	if ids := ruleIDs(e.reloaded()); slices.Contains(ids, rulePS) || !slices.Contains(ids, ruleWho) {
		t.Errorf("rules after disabling %s: %v", rulePS, ids)
	}
	body = e.get("/rules/" + rulePS + "?done=disabled")
	for _, want := range []string{"The rule is off.", `id="enable-form"`, "Turned off by ana", "noisy on the build server"} {
		if !strings.Contains(body, want) {
			t.Errorf("rule page after disabling: no %q", want)
		}
	}
	entries, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "rule."})
	if err != nil || len(entries) != 1 || entries[0].Action != "rule.disable" || entries[0].Object != "rule:"+rulePS ||
		entries[0].Actor != "ana" || !strings.Contains(entries[0].After, "noisy on the build server") {
		t.Errorf("audit after disabling = %+v, %v; want one rule.disable by ana with the reason", entries, err)
	}

	// A restart: a new service over the same store and files.
	e.start()
	if dc, err := e.svc.detectConfig(context.Background()); err != nil || !slices.Contains(dc.Detect.DisabledRules, rulePS) ||
		!slices.Contains(dc.Detect.DisabledRules, ruleCfgOff) {
		t.Fatalf("detectConfig after a restart: %v, %v; want both the configured and the stored rule off", dc.Detect.DisabledRules, err)
	}
	// The web server holds the old service; ask the new one directly.
	set, err := e.svc.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Rules {
		if r.ID == rulePS && (r.State != web.RuleOff || r.Setting == nil || r.Setting.Actor != "ana") {
			t.Errorf("after a restart %s is %s with setting %+v, want off by ana", rulePS, r.State, r.Setting)
		}
	}
	if _, err := e.svc.SetEnabled(context.Background(), audit.Actor{Name: "bob"}, []string{rulePS}, true, "fixed"); err != nil {
		t.Fatalf("SetEnabled(on): %v", err)
	}
	if ids := ruleIDs(e.reloaded()); !slices.Contains(ids, rulePS) {
		t.Errorf("rules after enabling %s again: %v", rulePS, ids)
	}
	if _, err := e.svc.SetEnabled(context.Background(), audit.Actor{Name: "bob"}, []string{ruleCfgOff}, true, "x"); err == nil {
		t.Error("SetEnabled(on) of a rule off in the configuration: no error")
	}
}

func TestRulesBulk(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	filter := url.Values{"category": {"process_creation"}, "level": {"high"}}.Encode()
	resp, _ := e.do(rulesReq{method: http.MethodPost, path: "/rules/bulk",
		form: url.Values{"filter": {filter}, "action": {"disable"}, "reason": {"too noisy here"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk disable: %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "done=disabled_n") || !strings.Contains(loc, "n=2") || !strings.Contains(loc, "category=process_creation") {
		t.Errorf("bulk disable went to %s, want the same filter with 2 turned off", loc)
	}
	ids := ruleIDs(e.reloaded())
	if slices.Contains(ids, rulePS) || slices.Contains(ids, ruleHostile) || !slices.Contains(ids, ruleWho) {
		t.Errorf("rules after the bulk disable: %v", ids)
	}
	if got := listed(e.get("/rules?state=off")); !slices.Equal(got, []string{ruleHostile, rulePS}) {
		t.Errorf("rules off after the bulk disable: %v", got)
	}
	resp, body := e.do(rulesReq{method: http.MethodPost, path: "/rules/bulk",
		form: url.Values{"filter": {filter}, "action": {"disable"}, "reason": {"again"}}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "None of these rules can be changed that way.") {
		t.Errorf("bulk disable with nothing left to turn off: %d, want 400 with the message", resp.StatusCode)
	}
}

// TestRulesViewerCannotSee: rules are for those who triage alerts.
func TestRulesViewerCannotSee(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	for _, r := range []rulesReq{
		{path: "/rules", session: e.viewer},
		{path: "/rules/" + rulePS, session: e.viewer},
		{method: http.MethodPost, path: "/rules/" + rulePS + "/disable", form: url.Values{"reason": {"x"}}, session: e.viewer},
		{method: http.MethodPost, path: "/rules/new", form: url.Values{"action": {"save"}, "yaml": {psRule}}, session: e.viewer},
	} {
		if resp, _ := e.do(r); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s as a viewer: %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}
}

func TestRulesFileModeOfCustomRules(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	id, probs, err := e.svc.SaveRule(context.Background(), audit.System, "", []byte(strings.ReplaceAll(sshRule, ruleSSH, "c0000000-0000-4000-8000-00000000000a")))
	if err != nil || len(probs) > 0 {
		t.Fatalf("SaveRule: %v %v", probs, err)
	}
	fi, err := os.Stat(filepath.Join(customDir(e.c), id+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("custom rule file mode %v: readable by others", fi.Mode().Perm())
	}
}

// editor posts the custom rule editor's form.
func (e *rulesEnv) editor(path, action, yaml, events string) (*http.Response, string) {
	e.t.Helper()
	return e.do(rulesReq{method: http.MethodPost, path: path, form: url.Values{"action": {action}, "yaml": {yaml}, "events": {events}}})
}

// lintBroken has an unknown modifier on line 8 (column 9) and an unknown
// level on line 10 (column 8).
const lintBroken = `title: Broken on purpose
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswiht: '\x.exe'
    condition: selection
level: urgent
`

func TestRulesEditorLint(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	badModifier := strings.Replace(lintBroken, "urgent", "high", 1)
	tests := []struct {
		name, yaml, lang string
		want             []string // position and message of each problem, in order
		marked           []int    // lines highlighted
	}{
		{"unknown level", lintBroken, "", []string{"line 10, column 8|“urgent” is not a level"}, []int{10}},
		{"unknown level in Japanese", lintBroken, "ja", []string{"10 行 8 列|urgent」はレベル"}, []int{10}},
		{"unknown modifier and a YAML error", badModifier + "---\ntitle: x\nlogsource: {product: y}\ndetection:\n  a: [1\n",
			"", []string{"line 8, column 9|“endswiht” is not a Sigma modifier", "line 14, column 1|not valid YAML"}, []int{8, 14}},
		{"not a rule", "just: yaml\n", "", []string{"line 1, column 1|No Sigma rule found"}, []int{1}},
		{"id already used", strings.Replace(psRule, "Encoded PowerShell", "Copy", 1), "",
			[]string{"line 3, column 5|The id " + rulePS + " is already used by a rule in local (windows/ps.yml)"}, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(rulesReq{method: http.MethodPost, path: "/rules/new", lang: tt.lang,
				form: url.Values{"action": {"check"}, "yaml": {tt.yaml}}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("check: %d, want 200", resp.StatusCode)
			}
			var got []string
			for _, m := range regexp.MustCompile(`class="lint-pos">([^<]+)</a> <span class="lint-msg">([^<]+)</span>`).FindAllStringSubmatch(body, -1) {
				got = append(got, m[1]+"|"+html.UnescapeString(m[2]))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("check found %q, want %q", got, tt.want)
			}
			for i, w := range tt.want {
				pos, msg, _ := strings.Cut(w, "|")
				if !strings.HasPrefix(got[i], pos+"|") || !strings.Contains(got[i], msg) {
					t.Errorf("problem %d: %q, want %q", i, got[i], w)
				}
			}
			var marked []int
			for _, m := range regexp.MustCompile(`<tr id="L(\d+)" class="marked">`).FindAllStringSubmatch(body, -1) {
				n, _ := strconv.Atoi(m[1])
				marked = append(marked, n)
			}
			if !slices.Equal(marked, tt.marked) {
				t.Errorf("lines highlighted %v, want %v", marked, tt.marked)
			}
			// Save is refused while there are problems, and writes nothing.
			resp, _ = e.editor("/rules/new", "save", tt.yaml, "")
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("save with problems: %d, want 422", resp.StatusCode)
			}
			if _, err := os.Stat(customDir(e.c)); err == nil {
				t.Error("save with problems created the custom pack")
			}
		})
	}
	_, ok := e.editor("/rules/new", "check", strings.ReplaceAll(sshRule, ruleSSH, "c0000000-0000-4000-8000-0000000000cb")+"---\n"+
		strings.ReplaceAll(psRule, rulePS, "c0000000-0000-4000-8000-0000000000cc"), "")
	if !strings.Contains(ok, `id="lint-ok"`) {
		t.Errorf("check of a good rule: no all-clear:\n%s", section(ok, "lint"))
	}
}

// windowsEvent is a Sysmon process creation as JSON.
func windowsEvent(host, image, cmd string) string {
	b, _ := json.Marshal(map[string]any{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": host,
		"Image": image, "CommandLine": cmd, "@timestamp": "2026-11-22T09:00:00Z"})
	return string(b)
}

func TestRulesEditorTest(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	events := strings.Join([]string{
		windowsEvent("ws1", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "powershell -enc SQBFAFgA"),
		"",
		// A near miss: the same program, no encoded command.
		windowsEvent("ws2", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "powershell -File backup.ps1"),
		"<38>Nov 22 09:00:01 web1 sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2",
		"{not json",
	}, "\r\n")
	resp, body := e.editor("/rules/new", "test", psRule+"---\n"+strings.ReplaceAll(sshRule, ruleSSH, "c0000000-0000-4000-8000-0000000000dd"), events)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("test: %d, want 200\n%s", resp.StatusCode, section(body, "error-summary"))
	}
	row := func(line int) string {
		m := regexp.MustCompile(`(?s)<tr id="test-line-` + strconv.Itoa(line) + `"[^>]*>.*?</tr>`).FindString(body)
		if m == "" {
			t.Fatalf("no result for line %d:\n%s", line, section(body, "test-result"))
		}
		return html.UnescapeString(m)
	}
	for _, c := range []struct {
		line  int
		wants []string
	}{
		{1, []string{`class="marked"`, "Match", "Encoded PowerShell", "ws1", "windows/process_creation", "powershell -enc SQBFAFgA"}},
		{3, []string{"No match", "ws2", "powershell -File backup.ps1", `<code>Image</code>`}},
		{4, []string{"Match", "SSH failed password", "web1"}},
		{5, []string{"Not read", "JSON"}},
	} {
		r := row(c.line)
		for _, w := range c.wants {
			if !strings.Contains(r, w) {
				t.Errorf("line %d: no %q in\n%s", c.line, w, r)
			}
		}
	}
	if strings.Contains(row(3), `class="marked"`) {
		t.Error("the near miss is marked as a match")
	}
	if !strings.Contains(body, "4 events tested, 2 with a match.") || !strings.Contains(body, "1 line could not be read as an event.") {
		t.Errorf("test summary wrong:\n%s", section(body, "test-summary"))
	}
	// Nothing was saved or reloaded by a test.
	select {
	case <-e.det.reload:
		t.Error("a test reloaded detection")
	default:
	}

	for name, c := range map[string]struct {
		events, want string
		status       int
	}{
		"none":      {"  \n", "Paste at least one sample event.", http.StatusBadRequest},
		"too many":  {strings.Repeat("<13>Nov 22 09:00:00 h x: y\n", maxPastedEvents+1), "Too many events (at most 1000).", http.StatusRequestEntityTooLarge},
		"bad array": {`[{"a":1},`, "The JSON array does not parse (line 1).", http.StatusBadRequest},
	} {
		resp, body := e.editor("/rules/new", "test", psRule, c.events)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) || !strings.Contains(body, `id="events-error"`) {
			t.Errorf("test with %s events: %d, want %d with %q at the field", name, resp.StatusCode, c.status, c.want)
		}
	}
}

func TestRulesEditorSaveEditDelete(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	// The editor starts from the template in the reader's language, which
	// passes lint as it is.
	tmpl := e.get("/rules/new")
	m := regexp.MustCompile(`(?s)<textarea id="yaml"[^>]*>(.*?)</textarea>`).FindStringSubmatch(tmpl)
	if m == nil || !strings.Contains(m[1], "# A custom Sigma rule") || !strings.Contains(m[1], "author: ana") {
		t.Fatalf("GET /rules/new: no commented template:\n%s", section(tmpl, "rule-editor"))
	}
	_, ja := e.do(rulesReq{path: "/rules/new", lang: "ja"})
	if !strings.Contains(ja, "# カスタム Sigma ルール") {
		t.Error("GET /rules/new in Japanese: the template is not in Japanese")
	}
	yaml := html.UnescapeString(m[1])
	if probs, err := e.svc.CheckRule(context.Background(), "", []byte(yaml)); err != nil || len(probs) > 0 {
		t.Fatalf("the template does not pass lint: %v %v", probs, err)
	}

	// Save: the rule gets an id, its file is written, detection reloads.
	resp, body := e.editor("/rules/new", "save", yaml, "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d, want 303\n%s", resp.StatusCode, section(body, "error-summary"))
	}
	loc := resp.Header.Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/rules/"), "?done=saved")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("save went to %s: want the page of a rule with a fresh UUIDv4", loc)
	}
	file := filepath.Join(customDir(e.c), id+".yml")
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the saved rule's file: %v", err)
	}
	if !strings.Contains(string(saved), "# A custom Sigma rule") || !strings.Contains(string(saved), "\nid: "+id+"\ntitle: ") {
		t.Errorf("saved file lost its comments or has no id before its title:\n%s", saved)
	}
	if ids := ruleIDs(e.reloaded()); !slices.Contains(ids, id) || !slices.Contains(ids, rulePS) {
		t.Errorf("detection after the save: %v, want the new rule beside the others", ids)
	}
	page := e.get(loc)
	for _, want := range []string{"The rule is saved and detection uses it now.", `id="rule-edit"`, `id="delete-form"`, ">custom<"} {
		if !strings.Contains(page, want) {
			t.Errorf("the new rule's page: no %q", want)
		}
	}

	// Edit: the same file, now high.
	edit := e.get("/rules/" + id + "/edit")
	if !strings.Contains(edit, "id: "+id) {
		t.Fatal("the editor of the saved rule does not show its file")
	}
	resp, _ = e.editor("/rules/"+id+"/edit", "save", strings.Replace(string(saved), "level: medium", "level: high", 1), "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save of the edit: %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "level: high") {
		t.Errorf("the edit did not reach the file:\n%s", b)
	}
	if entries, _ := os.ReadDir(customDir(e.c)); len(entries) != 1 {
		t.Errorf("custom pack after an edit holds %d files, want 1", len(entries))
	}
	rs := e.reloaded()
	for i := range rs.Set.Len() {
		if r := rs.Set.Rule(i); r.ID == id && r.Level != "high" {
			t.Errorf("detection after the edit has %s at %s, want high", id, r.Level)
		}
	}

	// Delete: asks for the confirmation, then removes the file.
	resp, body = e.do(rulesReq{method: http.MethodPost, path: "/rules/" + id + "/delete", form: url.Values{}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Tick the box to confirm the deletion.") {
		t.Errorf("delete without the confirmation: %d, want 400 with the message", resp.StatusCode)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal("delete without the confirmation removed the file")
	}
	resp, _ = e.do(rulesReq{method: http.MethodPost, path: "/rules/" + id + "/delete", form: url.Values{"confirm": {"yes"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rules?done=deleted" {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("the deleted rule's file is still there")
	}
	if ids := ruleIDs(e.reloaded()); slices.Contains(ids, id) {
		t.Errorf("detection after the delete still has %s", id)
	}
	// A rule of another pack cannot be deleted.
	resp, _ = e.do(rulesReq{method: http.MethodPost, path: "/rules/" + rulePS + "/delete", form: url.Values{"confirm": {"yes"}}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delete of an imported rule: %d, want 400", resp.StatusCode)
	}
	var actions []string
	entries, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "rule."})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		actions = append(actions, en.Action+" "+en.Object)
	}
	slices.Sort(actions)
	if want := []string{"rule.create rule:" + id, "rule.delete rule:" + id, "rule.update rule:" + id}; !slices.Equal(actions, want) {
		t.Errorf("audit trail %v, want %v", actions, want)
	}
}

func TestWithIDs(t *testing.T) {
	t.Parallel()
	n := 0
	next := func() string { n++; return "id-" + strconv.Itoa(n) }
	tests := []struct{ name, in, want string }{
		{"adds before the first key, comments kept", "# c\ntitle: a\nlevel: low\n", "# c\nid: id-1\ntitle: a\nlevel: low\n"},
		{"keeps an id", "title: a\nid: mine\n", "title: a\nid: mine\n"},
		{"each document, in order", "title: a\n---\nid: x\n---\n  title: c\n", "id: id-2\ntitle: a\n---\nid: x\n---\n  id: id-3\n  title: c\n"},
		{"flow style left alone", "{title: a}\n", "{title: a}\n"},
		{"not YAML left alone", "title: [\n", "title: [\n"},
	}
	for _, tt := range tests {
		if got := string(withIDs([]byte(tt.in), next)); got != tt.want {
			t.Errorf("%s: withIDs(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// FuzzPastedEvents feeds arbitrary text to the reader of pasted sample
// events: it must never panic, keep to its bounds, and say which field a
// refusal is about.
func FuzzPastedEvents(f *testing.F) {
	dir := shareddata.Dir(f)
	for _, p := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log",
		"suricata-eve/fever/util/testdata/jsonparse_eve.json", "suricata-eve/fever/util/testdata/jsonparse_eve_broken1.json"} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		f.Add([]byte(strings.Join(lines[:min(4, len(lines))], "")))
		if strings.HasPrefix(lines[0], "{") {
			f.Add([]byte("[" + strings.TrimSpace(lines[0]) + ",\n" + strings.TrimSpace(lines[0]) + "]"))
		}
	}
	f.Add([]byte(windowsEvent("ws1", `C:\x.exe`, "x") + "\r\n\r\n{\n[\n"))
	f.Add([]byte(`[{"a":1}, 2, "x", {"b":[1,{"c":null}]}] trailing`))
	f.Add([]byte(" [ ] "))
	norm := normalize.New()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text []byte) {
		evs, err := pastedEvents(text, now, norm)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Field != "events" || (fe.Kind != fault.Invalid && fe.Kind != fault.TooLarge) {
				t.Fatalf("pastedEvents(%q): error %v, want an Invalid or TooLarge fault on the events field", text, err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > maxPastedEvents {
			t.Fatalf("pastedEvents(%q): %d events, want 1 to %d", text, len(evs), maxPastedEvents)
		}
		lines := bytes.Count(text, []byte("\n")) + 1
		last := 0
		for _, e := range evs {
			if e.line < 1 || e.line > lines || e.line < last {
				t.Fatalf("pastedEvents(%q): event on line %d after %d, text has %d lines", text, e.line, last, lines)
			}
			last = e.line
			if e.err == "" && e.ev.Received != now.UnixNano() {
				t.Fatalf("pastedEvents(%q): event without its received time", text)
			}
		}
	})
}

// TestRulesEditorMultipart: the editor's form is multipart, so that
// pasted events are not tripled by URL encoding.
func TestRulesEditorMultipart(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"action": "test", "yaml": psRule,
		"events": windowsEvent("ws9", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "powershell -enc AAAA")} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	hr := httptest.NewRequest(http.MethodPost, "/rules/new", &buf)
	hr.Header.Set("Content-Type", mw.FormDataContentType())
	hr.AddCookie(&http.Cookie{Name: "koban_session", Value: e.analyst})
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, hr)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "1 event tested, 1 with a match.") {
		t.Errorf("multipart test: %d\n%s", w.Code, section(body, "test-result"))
	}

	// A form over http.max_body_bytes (1 MiB by default) is refused as
	// too large, not as malformed.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("action", "test")                                  // writes to a buffer
	_ = mw.WriteField("events", strings.Repeat("<13>Nov 22 x\n", 1<<17)) // 1.6 MiB
	_ = mw.Close()
	hr = httptest.NewRequest(http.MethodPost, "/rules/new", &buf)
	hr.Header.Set("Content-Type", mw.FormDataContentType())
	hr.AddCookie(&http.Cookie{Name: "koban_session", Value: e.analyst})
	w = httptest.NewRecorder()
	e.srv.ServeHTTP(w, hr)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart form over the body limit: %d, want 413", w.Code)
	}
}

// TestServeRulesOffAcrossRestart: koban serve wires the rule service; a
// rule turned off in the web UI stays off after a restart.
func TestServeRulesOffAcrossRestart(t *testing.T) {
	t.Parallel()
	const sshPublic = "cc184bb5-2dcd-480a-9812-a9a37ddb7ae5" // koban's own pack
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	b := newBrowser(t, s.url)
	if code, loc, _ := b.post("/signin", url.Values{"name": {"admin"}, "password": {s.password}}); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in: %d %s", code, loc)
	}
	const pw = "seven blue herons watch the quiet harbour"
	if code, _, body := b.post("/settings/password", url.Values{"current_password": {s.password}, "new_password": {pw}, "confirm_password": {pw}}); code != http.StatusSeeOther {
		t.Fatalf("change password: %d\n%s", code, body)
	}
	if code, _, body := b.get("/rules/" + sshPublic); code != http.StatusOK || !strings.Contains(body, `id="disable-form"`) {
		t.Fatalf("GET /rules/%s: %d, want the rule on with a switch", sshPublic, code)
	}
	if code, loc, _ := b.post("/rules/"+sshPublic+"/disable", url.Values{"reason": {"every login here comes from outside"}}); code != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", code, loc)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s = startServe(t, dir, nil)
	b = newBrowser(t, s.url)
	if code, loc, _ := b.post("/signin", url.Values{"name": {"admin"}, "password": {pw}}); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in after the restart: %d %s", code, loc)
	}
	code, _, body := b.get("/rules?state=off")
	if code != http.StatusOK || !slices.Equal(listed(body), []string{sshPublic}) {
		t.Errorf("rules off after a restart: %d %v, want %s", code, listed(body), sshPublic)
	}
	if _, _, body := b.get("/rules/" + sshPublic); !strings.Contains(body, "every login here comes from outside") || !strings.Contains(body, `id="enable-form"`) {
		t.Error("the rule's page after a restart does not show who turned it off and why")
	}
}

// TestRuleTestCorrelation: a rule test runs correlations over the pasted
// events in order, and counts what fires.
func TestRuleTestCorrelation(t *testing.T) {
	t.Parallel()
	e := newRulesEnv(t)
	yaml := strings.Replace(strings.ReplaceAll(sshRule, ruleSSH, "c0000000-0000-4000-8000-0000000000e1"), "status: stable", "name: ssh_failed\nstatus: stable", 1) + `---
title: SSH password guessing
id: c0000000-0000-4000-8000-0000000000e2
correlation:
    type: event_count
    rules:
        - ssh_failed
    group-by:
        - hostname
    timespan: 5m
    condition:
        gte: 3
level: high
`
	line := func(sec int, host string) string {
		return fmt.Sprintf("<38>Nov 22 09:00:%02d %s sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2", sec, host)
	}
	events := strings.Join([]string{line(1, "web1"), line(2, "web1"), line(3, "web2"), line(4, "web1")}, "\n")
	// The configuration's selection does not keep a rule from its test.
	e.svc.c.Detect.DisabledLogSources = []string{"linux"}
	res, err := e.svc.TestRule(context.Background(), []byte(yaml), []byte(events))
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("TestRule: %v %v", res.Problems, err)
	}
	counts := map[string]int{}
	for _, r := range res.Rules {
		counts[r.Ref] = r.Matches
	}
	if counts["c0000000-0000-4000-8000-0000000000e1"] != 4 || counts["c0000000-0000-4000-8000-0000000000e2"] != 1 {
		t.Errorf("matches %v, want the base rule 4 times and the correlation once (web1's third failure)", counts)
	}
	var fired []int
	for _, ev := range res.Events {
		for _, m := range ev.Matches {
			if m.Correlation {
				fired = append(fired, ev.Line)
			}
		}
	}
	if !slices.Equal(fired, []int{4}) {
		t.Errorf("correlation fired on lines %v, want [4]", fired)
	}
}
