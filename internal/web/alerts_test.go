// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/store"
)

// withAlerts gives the server an alert service on the test's own store and
// clock.
func withAlerts(o *Options) {
	o.Alerts = alert.New(o.Audit.(*store.DB), alert.Options{Now: o.Now})
}

// alertEnv is a web server with the alert service and an analyst, ana,
// signed in.
type alertEnv struct {
	*testEnv
	svc     *alert.Service
	ana     auth.User
	session string
}

func newAlertEnv(t *testing.T, opts ...func(*Options)) *alertEnv {
	t.Helper()
	e := newEnv(t, append([]func(*Options){withAlerts}, opts...)...)
	u := e.user("ana", auth.RoleAnalyst)
	return &alertEnv{testEnv: e, svc: e.srv.opts.Alerts, ana: u, session: e.session("ana")}
}

// record stores d and returns its alert.
func (e *alertEnv) record(d alert.Detection) alert.Alert {
	e.t.Helper()
	a, o, err := e.svc.Record(context.Background(), d)
	if err != nil {
		e.t.Fatalf("Record(%s on %s): %v", d.RuleID, d.Host, err)
	}
	if o != alert.OutcomeCreated {
		e.t.Fatalf("Record(%s on %s): outcome %s, want created", d.RuleID, d.Host, o)
	}
	return a
}

// get fetches path as ana and returns the response and its body.
func (e *alertEnv) get(path string) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{path: path, session: e.session})
	return resp, bodyOf(e.t, resp)
}

// post sends a form as ana.
func (e *alertEnv) post(path string, form url.Values) *http.Response {
	e.t.Helper()
	return e.do(req{method: http.MethodPost, path: path, form: form, session: e.session})
}

// actor acts on alerts through the service as u.
func actorOf(u auth.User) alert.Actor {
	return alert.Actor{Actor: audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: "192.0.2.9"}, Role: u.Role}
}

// det is a detection of rule on host and user at t.
func det(rule, host, user string, level alert.Level, t time.Time, n int) alert.Detection {
	return alert.Detection{Time: t, Source: alert.SourceSigma, RuleID: rule, RuleTitle: "Title of " + rule, Level: level,
		Tags: []string{"attack.execution", "attack.t1059.001"}, Host: host, User: user,
		Fields:   []alert.KV{{Name: "Image", Value: `C:\Windows\System32\cmd.exe`}, {Name: "CommandLine", Value: "cmd /c whoami"}},
		EventIDs: []string{event.NewID(t.UnixNano() + int64(n)).String()}}
}

// rowIDs lists the alert ids of the queue's rows in page order.
func rowIDs(body string) []int64 {
	var ids []int64
	for _, m := range regexp.MustCompile(`<tr id="alert-(\d+)"`).FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// href returns the unescaped href of the element with id, or "".
func href(body, id string) string {
	m := regexp.MustCompile(`<a href="([^"]*)"[^>]* id="` + regexp.QuoteMeta(id) + `"`).FindStringSubmatch(body)
	if m == nil {
		m = regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*href="([^"]*)"`).FindStringSubmatch(body)
	}
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAlertsQueueFilters(t *testing.T) {
	e := newAlertEnv(t)
	bob := e.user("bob", auth.RoleResponder)
	now := e.clock.now()
	a1 := e.record(det("r-cmd", "web01", "alice", alert.LevelHigh, now.Add(-3*time.Hour), 1))
	a2 := e.record(det("r-cmd", "db01", "bob", alert.LevelMedium, now.Add(-2*time.Hour), 2))
	a3 := e.record(det("r-logon", "web01", "", alert.LevelLow, now.Add(-time.Hour), 3))
	a4 := e.record(det("r-clear", "dc01", "admin", alert.LevelCritical, now.Add(-10*time.Minute), 4))
	ctx := context.Background()
	if _, err := e.svc.Transition(ctx, actorOf(bob), []alert.Ref{{ID: a4.ID}}, alert.StateClosed, "handled"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Assign(ctx, actorOf(bob), []alert.Ref{{ID: a2.ID}}, e.ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Assign(ctx, actorOf(bob), []alert.Ref{{ID: a3.ID}}, bob.ID); err != nil {
		t.Fatal(err)
	}
	from := url.QueryEscape(now.Add(-150 * time.Minute).Format(time.RFC3339))
	to := url.QueryEscape(now.Add(-90 * time.Minute).Format(time.RFC3339))
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{"open by default", "", []int64{a3.ID, a2.ID, a1.ID}},
		{"all", "state=all", []int64{a4.ID, a3.ID, a2.ID, a1.ID}},
		{"closed tab", "state=closed", []int64{a4.ID}},
		{"two states", "state=closed&state=new", []int64{a4.ID, a3.ID, a2.ID, a1.ID}},
		{"level", "level=high&level=low", []int64{a3.ID, a1.ID}},
		{"rule", "rule=r-cmd", []int64{a2.ID, a1.ID}},
		{"host", "host=web01", []int64{a3.ID, a1.ID}},
		{"user", "user=bob", []int64{a2.ID}},
		{"unassigned", "assignee=none", []int64{a1.ID}},
		{"mine", "assignee=me", []int64{a2.ID}},
		{"assignee id", "assignee=" + strconv.FormatInt(bob.ID, 10), []int64{a3.ID}},
		{"text in title", "q=logon", []int64{a3.ID}},
		{"text in field", "q=WHOAMI&state=all", []int64{a4.ID, a3.ID, a2.ID, a1.ID}},
		{"time range", "from=" + from + "&to=" + to, []int64{a2.ID}},
		{"datetime-local in the viewer's zone", "from=2026-11-22T08:30&state=all", []int64{a4.ID, a3.ID}},
		{"nothing", "host=nowhere", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.get("/alerts?" + tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /alerts?%s: status %d", tt.query, resp.StatusCode)
			}
			if diff := cmp.Diff(tt.want, rowIDs(body)); diff != "" {
				t.Errorf("GET /alerts?%s rows (-want +got):\n%s", tt.query, diff)
			}
		})
	}

	_, body := e.get("/alerts")
	for _, want := range []string{
		`id="tab-open" aria-current="page">Open <span class="count">3</span>`,
		`id="tab-new">New <span class="count">3</span>`,
		`id="tab-closed">Closed <span class="count">1</span>`,
		`id="tab-all">All <span class="count">4</span>`,
		`<span class="level level-high">High</span>`,
		`<a href="https://attack.mitre.org/techniques/T1059/001/" class="technique"`,
		`<code>r-cmd</code>`, `value="` + strconv.FormatInt(a1.ID, 10) + `.1"`,
		// Times in the viewer's zone (UTC for English without a setting).
		`<time datetime="2026-11-22T07:00:00Z">2026-11-22 07:00:00</time>`, "3 hours ago",
		// The new alerts beside Alerts in the navigation.
		`id="nav-alerts-count" title="3 new alerts"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	// Bad filters: the messages, no rows, 400.
	for query, want := range map[string]string{
		"level=severe":                  "“severe” is not an alert level",
		"state=bogus":                   "“bogus” is not an alert state.",
		"assignee=x":                    "Choose an assignee from the list.",
		"from=yesterday":                "“yesterday” is not a date and time.",
		"from=2026-11-22&to=2026-11-21": "The end of the range must be after its start.",
		"after=-3":                      "The page link is not valid",
		"q=" + strings.Repeat("x", 201): "The search text is longer than 200 characters.",
	} {
		resp, body := e.get("/alerts?" + query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) || len(rowIDs(body)) != 0 {
			t.Errorf("GET /alerts?%s: status %d, message %q shown: %v, rows %v", query, resp.StatusCode, want,
				strings.Contains(body, want), rowIDs(body))
		}
	}
}

func TestAlertsQueuePaging(t *testing.T) {
	e := newAlertEnv(t)
	now := e.clock.now()
	var ids []int64
	for i := range 5 {
		a := e.record(det(fmt.Sprintf("r-%d", i), "web01", "", alert.LevelMedium, now.Add(-time.Duration(10-i)*time.Minute), i))
		ids = append([]int64{a.ID}, ids...) // newest first
	}
	var got []int64
	path := "/alerts?host=web01&limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		_, body := e.get(path)
		got = append(got, rowIDs(body)...)
		path = href(body, "alerts-older")
		if path != "" && (!strings.Contains(path, "host=web01") || !strings.Contains(path, "limit=2")) {
			t.Errorf("older link %q loses the filter", path)
		}
		if pages > 0 && href(body, "alerts-newest") == "" {
			t.Errorf("page %d has no link back to the newest alerts", pages+1)
		}
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("alerts over all pages (-want +got):\n%s", diff)
	}
	// An alert that takes a new detection keeps its place.
	_, body := e.get("/alerts?host=web01&limit=2")
	e.clock.advance(time.Minute)
	if _, o, err := e.svc.Record(context.Background(), det("r-0", "web01", "", alert.LevelMedium, now, 99)); err != nil || o != alert.OutcomeGrouped {
		t.Fatalf("Record: %v, %s", err, o)
	}
	_, body2 := e.get(href(body, "alerts-older"))
	if diff := cmp.Diff(ids[2:4], rowIDs(body2)); diff != "" {
		t.Errorf("second page after a new detection (-want +got):\n%s", diff)
	}
}

func TestAlertsBulk(t *testing.T) {
	e := newAlertEnv(t)
	bob := e.user("bob", auth.RoleResponder)
	now := e.clock.now()
	var as []alert.Alert
	for i := range 4 {
		as = append(as, e.record(det(fmt.Sprintf("r-%d", i), "web01", "", alert.LevelHigh, now.Add(-time.Duration(i)*time.Minute), i)))
	}
	ref := func(a alert.Alert) string { return fmt.Sprintf("%d.%d", a.ID, a.Version) }
	// Bob acts on the last alert after ana loaded the page.
	if _, err := e.svc.Transition(context.Background(), actorOf(bob), []alert.Ref{{ID: as[3].ID}}, alert.StateInProgress, ""); err != nil {
		t.Fatal(err)
	}
	back := "/alerts?host=web01&state=all"
	resp := e.post("/alerts/bulk", url.Values{"alert": {ref(as[0]), ref(as[1]), ref(as[2]), ref(as[3])},
		"action": {"acknowledged"}, "back": {back}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/alerts?") {
		t.Fatalf("bulk acknowledge: %d %q, want a redirect to the queue", resp.StatusCode, loc)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(loc, "/alerts?"))
	if q.Get("host") != "web01" || q.Get("state") != "all" || q.Get("changed") != "3" || q.Get("stale") != strconv.FormatInt(as[3].ID, 10) {
		t.Errorf("bulk redirect %q: want the view's filters, changed=3, stale=%d", loc, as[3].ID)
	}
	_, body := e.get(loc)
	for _, want := range []string{"3 alerts changed.",
		fmt.Sprintf("1 alert was changed by someone else meanwhile (#%d). Reload to see it and try again.", as[3].ID),
		fmt.Sprintf(`<tr id="alert-%d" class="marked">`, as[3].ID)} {
		if !strings.Contains(body, want) {
			t.Errorf("queue after bulk lacks %q", want)
		}
	}
	for _, a := range as[:3] {
		if d, _ := e.svc.Alert(context.Background(), a.ID); d.State != alert.StateAcknowledged {
			t.Errorf("alert %d: state %s, want acknowledged", a.ID, d.State)
		}
	}
	if d, _ := e.svc.Alert(context.Background(), as[3].ID); d.State != alert.StateInProgress || d.AssigneeID != bob.ID {
		t.Errorf("stale alert %d: %s assigned to %d, want bob's change kept", as[3].ID, d.State, d.AssigneeID)
	}

	// A closed state needs a reason: the view again, with the message and
	// what was typed, nothing changed.
	cur := func(a alert.Alert) alert.Alert {
		d, err := e.svc.Alert(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d.Alert
	}
	resp = e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0]))}, "action": {"false_positive"}, "reason": {"  "}, "back": {back}})
	body = bodyOf(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Give a reason for closing the alert.") ||
		!strings.Contains(body, `id="bulk-reason-error"`) || !strings.Contains(body, `id="tab-all" aria-current="page"`) {
		t.Errorf("bulk false positive without reason: %d, want 400 with the message beside the reason on the same view", resp.StatusCode)
	}
	// Nothing selected, and a malformed selection.
	for name, form := range map[string]url.Values{
		"none":      {"action": {"acknowledged"}},
		"malformed": {"alert": {"12"}, "action": {"acknowledged"}},
		"no action": {"alert": {ref(cur(as[0]))}},
	} {
		if resp := e.post("/alerts/bulk", form); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bulk %s: status %d, want 400", name, resp.StatusCode)
		}
	}

	// With a reason; one alert is refused (true positive cannot go
	// straight to false positive), one is already so.
	if _, err := e.svc.Transition(context.Background(), actorOf(bob), []alert.Ref{{ID: as[1].ID}}, alert.StateTruePositive, "real"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Transition(context.Background(), actorOf(bob), []alert.Ref{{ID: as[2].ID}}, alert.StateFalsePositive, "noise"); err != nil {
		t.Fatal(err)
	}
	resp = e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0])), ref(cur(as[1])), ref(cur(as[2])), "999999.1"},
		"action": {"false_positive"}, "reason": {"backup job"}, "back": {back}})
	_, body = e.get(resp.Header.Get("Location"))
	for _, want := range []string{"1 alert changed.", "1 alert already was so; nothing to change.",
		fmt.Sprintf("1 alert cannot move to that state from where it stands (#%d).", as[1].ID),
		"1 alert no longer exists (#999999)."} {
		if !strings.Contains(body, want) {
			t.Errorf("queue after mixed bulk lacks %q", want)
		}
	}
	if a := cur(as[0]); a.State != alert.StateFalsePositive || a.StateReason != "backup job" {
		t.Errorf("alert %d: %s %q, want false positive with the reason", a.ID, a.State, a.StateReason)
	}

	// Assign to bob, then to nobody.
	resp = e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0]))}, "action": {"assign"}, "assignee": {strconv.FormatInt(bob.ID, 10)}})
	if resp.StatusCode != http.StatusSeeOther || cur(as[0]).AssigneeName != "bob" {
		t.Errorf("bulk assign: %d, assignee %q, want bob", resp.StatusCode, cur(as[0]).AssigneeName)
	}
	e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0]))}, "action": {"assign"}, "assignee": {"none"}})
	if cur(as[0]).AssigneeID != 0 {
		t.Error("bulk assign to nobody left an assignee")
	}
	viewer := e.user("vera", auth.RoleViewer)
	resp = e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0]))}, "action": {"assign"}, "assignee": {strconv.FormatInt(viewer.ID, 10)}})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "vera cannot be assigned alerts") {
		t.Errorf("bulk assign to a viewer: %d, want 400 with the reason", resp.StatusCode)
	}
	// A back address elsewhere is not followed.
	resp = e.post("/alerts/bulk", url.Values{"alert": {ref(cur(as[0]))}, "action": {"acknowledged"}, "back": {"https://evil.example/alerts"}})
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/alerts?") {
		t.Errorf("bulk with a foreign back address redirects to %q", loc)
	}
}

func TestAlertsEscapeHostileValues(t *testing.T) {
	e := newAlertEnv(t)
	now := e.clock.now()
	const x = `<script>alert(1)</script>`
	d := alert.Detection{Time: now.Add(-time.Minute), RuleID: `r"><img src=x onerror=alert(2)>`, RuleTitle: "Title " + x,
		Level: alert.LevelHigh, Tags: []string{"attack.t1059", x}, Host: "h" + x, User: "u\u202egnp.exe" + x,
		Fields: []alert.KV{{Name: "F" + x, Value: "v" + x + "\x1b[31m"}}, EventIDs: []string{event.NewID(now.UnixNano()).String()}}
	a := e.record(d)
	path := "/alerts/" + strconv.FormatInt(a.ID, 10)
	// Suppress on the hostile field, so that the suppressions page shows
	// it too.
	if resp := e.post(path+"/suppress", url.Values{"field": {"F" + x, "host"}, "reason": {"r" + x}, "expiry": {"1d"}, "version": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("suppress: %d %s", resp.StatusCode, bodyOf(t, resp))
	}
	for _, p := range []string{"/alerts?state=all", path, "/alerts/exclusions", "/alerts?state=all&q=" + url.QueryEscape(x)} {
		resp, body := e.get(p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "\u202e", "\x1b"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: the page contains %q unescaped", p, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s: the hostile text is not shown escaped", p)
		}
	}
	_, body := e.get(path)
	if !strings.Contains(body, `u\u{202E}gnp.exe`) || !strings.Contains(body, `\x1B[31m`) {
		t.Error("invisible and control characters are not made visible")
	}
}

func TestAlertsJapanese(t *testing.T) {
	e := newAlertEnv(t)
	now := e.clock.now()
	a := e.record(det("r-1", "web01", "alice", alert.LevelHigh, now.Add(-time.Hour), 1))
	if err := e.auth.SetPreferences(context.Background(), actor2(e.ana), e.ana.ID, "ja", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Transition(context.Background(), actorOf(e.ana), []alert.Ref{{ID: a.ID}}, alert.StateInProgress, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SuppressSimilar(context.Background(), actorOf(e.ana), alert.Ref{ID: a.ID}, []string{"host"}, "定期バックアップ", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/alerts?state=all", "/alerts?state=all&done=bulk&changed=2&stale=1&refused=2&missing=3&failed=1",
		"/alerts/" + strconv.FormatInt(a.ID, 10), "/alerts/exclusions", "/alerts?state=closed", "/alerts?level=bad"} {
		_, body := e.get(p)
		if m := regexp.MustCompile(`\[alerts?\.[a-z0-9_.]+\]`).FindString(body); m != "" {
			t.Errorf("GET %s in Japanese: message %s is missing", p, m)
		}
		if !strings.Contains(body, "アラート") {
			t.Errorf("GET %s: not in Japanese", p)
		}
	}
	_, body := e.get("/alerts/" + strconv.FormatInt(a.ID, 10))
	// Asia/Tokyo for Japanese without a zone of one's own.
	for _, want := range []string{"誤検知", "重要度", "抑制の作成", "2026-11-22 18:00:00", "状態の変更", "対応中"} {
		if !strings.Contains(body, want) {
			t.Errorf("Japanese alert page lacks %q", want)
		}
	}
}

// actor2 is u as the audit actor of an administrative change.
func actor2(u auth.User) audit.Actor {
	return audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb}
}

// TestAlertsDynamicMessages checks the message ids the alert pages build at
// run time, in both languages.
func TestAlertsDynamicMessages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"alerts.action.reopen", "alerts.nav_new"}
	for _, st := range alert.States {
		ids = append(ids, "alert.state."+string(st))
	}
	for _, st := range bulkStates {
		ids = append(ids, "alerts.action."+string(st))
	}
	for _, st := range alert.States {
		for _, n := range alert.Next(st) {
			ids = append(ids, "alerts.action."+string(n))
		}
	}
	for _, l := range alert.Levels {
		ids = append(ids, "alert.level."+string(l))
	}
	for _, a := range []alert.Action{alert.ActionCreated, alert.ActionState, alert.ActionAssign, alert.ActionEscalate, alert.ActionSuppressed} {
		ids = append(ids, "alerts.history."+string(a))
	}
	for _, x := range suppressExpiries {
		ids = append(ids, "alerts.expiry_"+x.Key)
	}
	for _, d := range []string{"state", "unchanged", "assigned", "suppressed", "exclusion_deleted"} {
		ids = append(ids, "alerts.done."+d)
	}
	for _, r := range []string{"changed", "same", "stale", "refused", "missing", "failed", "none"} {
		ids = append(ids, "alerts.result."+r)
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}

func TestAlertsWithoutService(t *testing.T) {
	e := newEnv(t)
	e.user("ana", auth.RoleAnalyst)
	s := e.session("ana")
	resp := e.do(req{path: "/alerts", session: s})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "grouped by rule and host") {
		t.Errorf("GET /alerts without the service: %d, want the section's description", resp.StatusCode)
	}
	for _, p := range []string{"/alerts/1", "/alerts/exclusions"} {
		if resp := e.do(req{path: p, session: s}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without the service: %d, want 404", p, resp.StatusCode)
		}
	}
	if body := bodyOf(t, e.do(req{path: "/settings", session: s})); strings.Contains(body, "nav-alerts-count") {
		t.Error("a count of new alerts is shown without the service")
	}
}

// TestBulkOutcomeRoundTrip: what a bulk action did survives the redirect,
// and the address cannot make the page say anything else.
func TestBulkOutcomeRoundTrip(t *testing.T) {
	e := newAlertEnv(t)
	var many []int64
	for i := int64(1); i <= maxResultIDs+10; i++ {
		many = append(many, i)
	}
	o := bulkOutcome{changed: 1, failed: 2, stale: many, request: "0123456789abcdef"}
	v := url.Values{"host": {"web01"}}
	o.set(v)
	_, body := e.get(alertsURL(v))
	for _, want := range []string{"1 alert changed.", "(request 0123456789abcdef)",
		fmt.Sprintf("%d alerts were changed by someone else meanwhile (#1, #2,", maxResultIDs),
		fmt.Sprintf("#%d)", maxResultIDs)} {
		if !strings.Contains(body, want) {
			t.Errorf("queue after %s lacks %q", v.Encode(), want)
		}
	}
	if strings.Contains(body, fmt.Sprintf("#%d", maxResultIDs+1)) {
		t.Errorf("the outcome lists more than %d ids", maxResultIDs)
	}
	_, body = e.get("/alerts?done=bulk&failed=1&request=%3Cb%3Ehi&stale=1,%3Cb%3E")
	if !strings.Contains(body, "(request ?)") || strings.Contains(body, "b&gt;hi") || strings.Contains(body, "<b>hi") || !strings.Contains(body, "1 alert was changed by someone else meanwhile (#1).") {
		t.Error("a forged outcome address shows text of its own")
	}
}
