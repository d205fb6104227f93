// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
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

func TestAlertDetailAndTransitions(t *testing.T) {
	e := newAlertEnv(t)
	bob := e.user("bob", auth.RoleResponder)
	now := e.clock.now()
	d := det("r-cmd", "web01", "alice", alert.LevelHigh, now.Add(-time.Hour), 1)
	d.Tags = append(d.Tags, "attack.t1003", "attack.credential_access", "cve.2021-44228")
	a := e.record(d)
	e.clock.advance(time.Minute)
	if _, o, err := e.svc.Record(context.Background(), det("r-cmd", "web01", "alice", alert.LevelCritical, now.Add(-30*time.Minute), 2)); err != nil || o != alert.OutcomeEscalated {
		t.Fatalf("Record: %v %s", err, o)
	}
	path := "/alerts/" + strconv.FormatInt(a.ID, 10)
	resp, body := e.get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	ev := d.EventIDs[0]
	for _, want := range []string{
		`<span class="level level-critical">Critical</span> <span id="alert-title">Title of r-cmd</span>`,
		`<code>CommandLine</code></th><td><pre>cmd /c whoami</pre>`,
		`<a href="https://attack.mitre.org/techniques/T1059/001/"`, `<a href="https://attack.mitre.org/techniques/T1003/"`,
		`<span class="badge">execution</span>`, `<span class="badge">credential-access</span>`, `<code>cve.2021-44228</code>`,
		`<a href="/events/` + ev + `"><code>` + ev + `</code></a>`,
		`id="alert-count">2`, "Level raised", "High", "Created",
		`name="version" value="1"`,
		`id="to-acknowledged">Acknowledge`, `id="to-false_positive">False positive <span class="hint">*</span>`,
		`id="suppress-form"`, `value="host" id="suppress-field-0" checked`, `value="CommandLine"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("alert page lacks %q", want)
		}
	}
	// The event search around the alert: host and ±15 minutes.
	ctxURL, err := url.Parse(href(body, "context-search"))
	if err != nil {
		t.Fatal(err)
	}
	cq := ctxURL.Query()
	if ctxURL.Path != "/events" || cq.Get("q") != `host:"web01"` || cq.Get("range") != "custom" ||
		cq.Get("from") != now.Add(-75*time.Minute).UTC().Format(time.RFC3339Nano) ||
		cq.Get("to") != now.Add(-15*time.Minute).UTC().Format(time.RFC3339Nano) {
		t.Errorf("context search link %s: want host:\"web01\" from first seen -15m to last seen +15m", ctxURL)
	}
	// Without an event store the page does not look events up.
	if strings.Contains(body, `id="context-table"`) || strings.Contains(body, `id="context-none"`) {
		t.Error("alert page lists context events without an event store")
	}

	// A closing state without a reason: the page again with the message.
	post := func(form url.Values) *http.Response { return e.post(path+"/transition", form) }
	resp = post(url.Values{"state": {"closed"}, "version": {"1"}})
	body = bodyOf(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="reason-error">Give a reason for closing the alert.`) {
		t.Errorf("close without a reason: %d, want 400 with the message beside the reason", resp.StatusCode)
	}
	// Acknowledge: PRG with a notice; the history says who.
	resp = post(url.Values{"state": {"acknowledged"}, "version": {"1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != path+"?done=state" {
		t.Fatalf("acknowledge: %d %q", resp.StatusCode, loc)
	}
	_, body = e.get(path + "?done=state")
	if !strings.Contains(body, `id="flash">The alert&#39;s state was changed.`) || !strings.Contains(body, "<td>ana</td><td>State changed</td><td>New</td>") {
		t.Error("after acknowledging, the page lacks the notice or the history entry")
	}
	// Someone else changes it; the old version is refused, 409, nothing
	// lost.
	if _, err := e.svc.Assign(context.Background(), actorOf(bob), []alert.Ref{{ID: a.ID}}, bob.ID); err != nil {
		t.Fatal(err)
	}
	resp = post(url.Values{"state": {"true_positive"}, "reason": {"confirmed by owner"}, "version": {"2"}})
	body = bodyOf(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, fmt.Sprintf("Alert %d was changed by someone else.", a.ID)) ||
		!strings.Contains(body, ">confirmed by owner</textarea>") {
		t.Errorf("stale transition: %d, want 409 with the message and the reason kept", resp.StatusCode)
	}
	// Not allowed from its state.
	if _, err := e.svc.Transition(context.Background(), actorOf(bob), []alert.Ref{{ID: a.ID}}, alert.StateClosed, "done"); err != nil {
		t.Fatal(err)
	}
	resp = post(url.Values{"state": {"in_progress"}, "version": {"4"}})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "cannot be moved to") {
		t.Errorf("closed → in progress: %d, want 409 saying why", resp.StatusCode)
	}
	_, body = e.get(path)
	if !strings.Contains(body, `id="to-acknowledged">Reopen`) || strings.Contains(body, `id="suppress-form"`) {
		t.Error("a closed alert's page does not offer reopening only, or offers suppression")
	}
	// Assign to oneself.
	resp = e.post(path+"/assign", url.Values{"assignee": {"me"}, "version": {"4"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign to me: %d", resp.StatusCode)
	}
	if got, _ := e.svc.Alert(context.Background(), a.ID); got.AssigneeID != e.ana.ID {
		t.Errorf("assign to me: assignee %d, want ana (%d)", got.AssigneeID, e.ana.ID)
	}
	// Bad forms and ids.
	for name, c := range map[string]struct {
		path   string
		form   url.Values
		status int
	}{
		"no version":   {path + "/transition", url.Values{"state": {"acknowledged"}}, http.StatusBadRequest},
		"bad state":    {path + "/transition", url.Values{"state": {"gone"}, "version": {"5"}}, http.StatusBadRequest},
		"no such":      {"/alerts/999999/transition", url.Values{"state": {"acknowledged"}, "version": {"1"}}, http.StatusNotFound},
		"not a number": {"/alerts/abc/assign", url.Values{"version": {"1"}}, http.StatusNotFound},
	} {
		if resp := e.post(c.path, c.form); resp.StatusCode != c.status {
			t.Errorf("%s: POST %s: %d, want %d", name, c.path, resp.StatusCode, c.status)
		}
	}
	if resp, _ := e.get("/alerts/999999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /alerts/999999: %d, want 404", resp.StatusCode)
	}
}

func TestAlertSuppressSimilar(t *testing.T) {
	e := newAlertEnv(t)
	now := e.clock.now()
	d := det("r-backup", "backup01", "svc_backup", alert.LevelMedium, now.Add(-time.Minute), 1)
	a := e.record(d)
	path := "/alerts/" + strconv.FormatInt(a.ID, 10)
	// No field chosen: the page again, what was typed kept.
	resp := e.post(path+"/suppress", url.Values{"reason": {"nightly backup"}, "expiry": {"30d"}, "version": {"1"}})
	body := bodyOf(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choose at least one field") ||
		!strings.Contains(body, `value="nightly backup"`) || !strings.Contains(body, `<option value="30d" selected>`) {
		t.Errorf("suppress without fields: %d, want 400 keeping reason and expiry", resp.StatusCode)
	}
	if resp := e.post(path+"/suppress", url.Values{"field": {"host"}, "reason": {"x"}, "expiry": {"forever"}, "version": {"1"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("suppress with an unknown expiry: %d, want 400", resp.StatusCode)
	}
	resp = e.post(path+"/suppress", url.Values{"field": {"host", "user", "Image"}, "reason": {"nightly backup"}, "expiry": {"7d"}, "version": {"1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != path+"?done=suppressed" {
		t.Fatalf("suppress similar: %d %q", resp.StatusCode, loc)
	}
	got, err := e.svc.Alert(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != alert.StateFalsePositive || got.StateReason != "nightly backup" {
		t.Errorf("alert after suppress: %s %q, want false positive with the reason", got.State, got.StateReason)
	}
	xs, err := e.svc.Exclusions(context.Background(), alert.ExclusionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []alert.KV{{Name: "host", Value: "backup01"}, {Name: "user", Value: "svc_backup"}, {Name: "Image", Value: `C:\Windows\System32\cmd.exe`}}
	if len(xs) != 1 || xs[0].RuleID != "r-backup" || !cmp.Equal(xs[0].Conditions, want) || xs[0].Author != "ana" ||
		!xs[0].Expires.Equal(now.Add(7*24*time.Hour)) || xs[0].AlertID != a.ID {
		t.Fatalf("exclusions after suppress: %+v", xs)
	}
	// The next detection like it is suppressed; another host's is not.
	e.clock.advance(10 * time.Minute)
	if _, o, err := e.svc.Record(context.Background(), det("r-backup", "BACKUP01", "svc_backup", alert.LevelMedium, e.clock.now(), 2)); err != nil || o != alert.OutcomeSuppressed {
		t.Errorf("the same detection after suppress: %v, outcome %s, want suppressed", err, o)
	}
	if _, o, err := e.svc.Record(context.Background(), det("r-backup", "web01", "svc_backup", alert.LevelMedium, e.clock.now(), 3)); err != nil || o != alert.OutcomeCreated {
		t.Errorf("another host's detection: %v, outcome %s, want created", err, o)
	}
	_, body = e.get(path)
	if !strings.Contains(body, "Suppression made") || !strings.Contains(body, fmt.Sprintf(`<a href="/alerts/exclusions#exclusion-%d">#%d</a>`, xs[0].ID, xs[0].ID)) {
		t.Error("alert history does not link the suppression made")
	}
	// The suppressions page: conditions, author, hits, expiry.
	resp, body = e.get("/alerts/exclusions")
	for _, want := range []string{fmt.Sprintf(`<tr id="exclusion-%d">`, xs[0].ID), "<code>r-backup</code>",
		`<code>host</code> = <span class="value">backup01</span>`, "nightly backup", "<td>ana<div",
		`<td class="num">1</td>`, "2026-11-29 10:00:00", fmt.Sprintf(`from alert %d`, a.ID),
		`data-confirm="Delete this suppression?`} {
		if !strings.Contains(body, want) {
			t.Errorf("suppressions page lacks %q", want)
		}
	}
	if _, body := e.get("/alerts/exclusions?rule=other"); !strings.Contains(body, `id="no-exclusions"`) {
		t.Error("suppressions of another rule are listed")
	}
	// Delete: PRG, gone, and the detection alerts again.
	resp = e.post(fmt.Sprintf("/alerts/exclusions/%d/delete", xs[0].ID), url.Values{})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/alerts/exclusions?done=exclusion_deleted" {
		t.Fatalf("delete suppression: %d %q", resp.StatusCode, loc)
	}
	if _, body := e.get("/alerts/exclusions?done=exclusion_deleted"); !strings.Contains(body, "The suppression was deleted.") || !strings.Contains(body, `id="no-exclusions"`) {
		t.Error("after deleting, the page lacks the notice or still lists it")
	}
	if _, o, err := e.svc.Record(context.Background(), det("r-backup", "backup01", "svc_backup", alert.LevelMedium, e.clock.now(), 4)); err != nil || o != alert.OutcomeCreated {
		t.Errorf("the detection after deleting its suppression: %v, outcome %s, want created", err, o)
	}
	resp = e.post(fmt.Sprintf("/alerts/exclusions/%d/delete", xs[0].ID), url.Values{})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, fmt.Sprintf("There is no suppression %d.", xs[0].ID)) {
		t.Errorf("deleting it twice: %d, want 404 with the message", resp.StatusCode)
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

func TestAlertsAPI(t *testing.T) {
	e := newAlertEnv(t)
	tok := e.token(e.ana, auth.RoleAnalyst)
	now := e.clock.now()
	a1 := e.record(det("r-1", "web01", "alice", alert.LevelHigh, now.Add(-3*time.Minute), 1))
	a2 := e.record(det("r-2", "web01", "", alert.LevelLow, now.Add(-2*time.Minute), 2))
	a3 := e.record(det("r-3", "db01", "", alert.LevelLow, now.Add(-time.Minute), 3))
	api := func(method, path, body string) (*http.Response, string) {
		resp := e.do(req{method: method, path: path, token: tok, body: body,
			header: map[string]string{"Content-Type": "application/json"}})
		return resp, bodyOf(t, resp)
	}
	type page struct {
		Alerts []alertJSON `json:"alerts"`
		Next   string      `json:"next"`
	}
	var got []int64
	path := "/api/v1/alerts?host=web01&limit=1"
	for i := 0; ; i++ {
		resp, body := api(http.MethodGet, path, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var p page
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			got = append(got, a.ID)
		}
		if p.Next == "" || i > 3 {
			break
		}
		path = "/api/v1/alerts?host=web01&limit=1&after=" + p.Next
	}
	if diff := cmp.Diff([]int64{a2.ID, a1.ID}, got); diff != "" {
		t.Errorf("API pages (-want +got):\n%s", diff)
	}
	_, body := api(http.MethodGet, "/api/v1/alerts?level=low&state=all", "")
	var p page
	if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Alerts) != 2 || p.Alerts[0].ID != a3.ID {
		t.Errorf("API level filter: %v %s", err, body)
	}
	if resp, body := api(http.MethodGet, "/api/v1/alerts?level=severe", ""); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `"field": "level"`) {
		t.Errorf("API bad level: %d %s", resp.StatusCode, body)
	}

	resp, body := api(http.MethodGet, fmt.Sprintf("/api/v1/alerts/%d", a1.ID), "")
	var d alertDetailJSON
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET alert: %d %v %s", resp.StatusCode, err, body)
	}
	if d.RuleID != "r-1" || d.Level != alert.LevelHigh || d.Host != "web01" || d.Version != 1 ||
		!cmp.Equal(d.Techniques, []string{"T1059.001"}) || !cmp.Equal(d.Tactics, []string{"execution"}) ||
		len(d.EventIDs) != 1 || len(d.History) != 1 || d.History[0].Action != alert.ActionCreated ||
		!cmp.Equal(d.Fields[1], kvJSON{Name: "CommandLine", Value: "cmd /c whoami"}) {
		t.Errorf("GET alert: %+v", d)
	}

	tr := fmt.Sprintf("/api/v1/alerts/%d/transition", a1.ID)
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"no reason", `{"state": "closed", "version": 1}`, http.StatusBadRequest, `"field": "reason"`},
		{"bad state", `{"state": "gone"}`, http.StatusBadRequest, `"field": "state"`},
		{"unknown field", `{"state": "closed", "why": "x"}`, http.StatusBadRequest, `"code": "invalid"`},
		{"stale", `{"state": "acknowledged", "version": 7}`, http.StatusConflict, "was changed by someone else"},
		{"ok", `{"state": "closed", "reason": "known scanner", "version": 1}`, http.StatusOK, `"state": "closed"`},
		{"again", `{"state": "closed", "reason": "known scanner"}`, http.StatusOK, `"changed": false`},
		{"not allowed", `{"state": "in_progress"}`, http.StatusConflict, "cannot be moved"},
	} {
		resp, body := api(http.MethodPost, tr, c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: POST %s %s: %d %s, want %d with %q", c.name, tr, c.body, resp.StatusCode, body, c.status, c.want)
		}
	}
	if resp, _ := api(http.MethodGet, "/api/v1/alerts/999999", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown alert: %d, want 404", resp.StatusCode)
	}
	// The audit trail names the token.
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "alert.transition"})
	if err != nil || len(es) != 1 || es[0].Via != audit.ViaAPI || es[0].Actor != "ana" {
		t.Errorf("audit of the API transition: %v %+v", err, es)
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

func TestAlertEventContext(t *testing.T) {
	se := newSearchEnv(t, withAlerts)
	e := &alertEnv{testEnv: se.testEnv, svc: se.srv.opts.Alerts, ana: se.analyst, session: se.session}
	t0 := e.clock.now().Add(-time.Hour)
	anchor := testEvent(t0, "web01", "syslog-tcp", "message", "anchor <b>event</b>")
	evs := []event.Event{anchor}
	for k := 1; k <= 14; k++ {
		evs = append(evs,
			testEvent(t0.Add(-time.Duration(k)*time.Minute), "web01", "syslog-tcp", "message", fmt.Sprintf("before %02d", k)),
			testEvent(t0.Add(time.Duration(k)*time.Minute), "web01", "syslog-tcp", "message", fmt.Sprintf("after %02d", k)),
			testEvent(t0.Add(time.Duration(k)*time.Second), "db01", "syslog-tcp", "message", "other host"))
	}
	// Outside the window.
	evs = append(evs, testEvent(t0.Add(20*time.Minute), "web01", "syslog-tcp", "message", "far after"))
	se.add(evs...)
	linked := evs[5] // "after 02"
	// The detection's time is not the event's: the context centres on the
	// first event as stored.
	d := det("r-ctx", "web01", "", alert.LevelHigh, t0.Add(90*time.Second), 0)
	d.EventIDs = []string{anchor.ID.String(), linked.ID.String()}
	a := e.record(d)
	_, body := e.get("/alerts/" + strconv.FormatInt(a.ID, 10))
	var got []string
	for _, m := range regexp.MustCompile(`<a href="/events/[^"]+">([^<]*(?:&lt;[^<]*)*)</a></td>`).FindAllStringSubmatch(body, -1) {
		got = append(got, html.UnescapeString(m[1]))
	}
	var want []string
	for k := 9; k >= 1; k-- {
		want = append(want, fmt.Sprintf("before %02d", k))
	}
	want = append(want, "anchor <b>event</b>")
	for k := 1; k <= 10; k++ {
		want = append(want, fmt.Sprintf("after %02d", k))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event context (-want +got):\n%s", diff)
	}
	for _, w := range []string{fmt.Sprintf(`<tr id="ctx-%s" class="anchor">`, anchor.ID), fmt.Sprintf(`<tr id="ctx-%s" class="linked">`, linked.ID),
		"anchor &lt;b&gt;event&lt;/b&gt;"} {
		if !strings.Contains(body, w) {
			t.Errorf("event context lacks %q", w)
		}
	}
	// The search the link opens finds the same host's events in the window.
	_, sbody := e.get(href(body, "context-search"))
	if !strings.Contains(sbody, "anchor &lt;b&gt;event&lt;/b&gt;") || strings.Contains(sbody, "other host") || strings.Contains(sbody, "far after") {
		t.Error("the context search link does not select the host's events around the alert")
	}

	// A host with no stored events, and a detection without a host.
	b := e.record(det("r-ctx", "quiet01", "", alert.LevelLow, t0, 100))
	if _, body := e.get("/alerts/" + strconv.FormatInt(b.ID, 10)); !strings.Contains(body, `id="context-none"`) {
		t.Error("an alert of a host without events does not say so")
	}
	c := e.record(det("r-nohost", "", "alice", alert.LevelLow, t0, 101))
	_, body = e.get("/alerts/" + strconv.FormatInt(c.ID, 10))
	if strings.Contains(body, `id="context-table"`) || strings.Contains(body, `id="context-none"`) || !strings.Contains(body, "Search every event from 15 minutes before") {
		t.Error("an alert without a host lists context events or lacks the search link")
	}
}

func TestAlertEventContextTimeout(t *testing.T) {
	e := newAlertEnv(t, func(o *Options) { o.Events = slowStore{}; o.SearchTimeout = 50 * time.Millisecond })
	a := e.record(det("r-1", "web01", "", alert.LevelHigh, e.clock.now().Add(-time.Minute), 1))
	resp, body := e.get("/alerts/" + strconv.FormatInt(a.ID, 10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="context-note"`) || !strings.Contains(body, "did not answer within") {
		t.Errorf("alert page with a slow event store: %d, want the page with a note on the context", resp.StatusCode)
	}
}

// FuzzParseAlertQuery: the queue's query string is untrusted; parsing never
// panics, and a query the queue accepts survives the round trip through its
// own links.
func FuzzParseAlertQuery(f *testing.F) {
	for _, s := range []string{"", "state=all", "state=open&state=closed&level=high&level=low", "state=&state=new",
		"from=2026-11-22T08:30&to=2026-11-23", "from=2026-11-22T08:30:00.123456789%2B09:00", "assignee=none&after=12&limit=3",
		"assignee=me", "assignee=7&q=%20whoami%20&rule=r-1&host=%3Cscript%3E&user=a%00b", "level=&level=critical",
		"after=-1", "limit=501", "q=" + strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, flt, err := parseAlertQuery(v, time.UTC, 7)
		if err != nil {
			if len(fault.Faults(err)) == 0 {
				t.Fatalf("parseAlertQuery(%q): %v is not a fault", raw, err)
			}
			return
		}
		again := q.values()
		if q.After != 0 {
			again.Set("after", strconv.FormatInt(q.After, 10))
		}
		q2, flt2, err := parseAlertQuery(again, time.UTC, 7)
		if err != nil {
			t.Fatalf("parseAlertQuery(%q) accepted, its links %q are refused: %v", raw, again.Encode(), err)
		}
		if !cmp.Equal(flt, flt2) || q.Tab != q2.Tab {
			t.Fatalf("parseAlertQuery(%q) = %+v (tab %q), through its links %q = %+v (tab %q)", raw, flt, q.Tab, again.Encode(), flt2, q2.Tab)
		}
	})
}

// FuzzAlertsRequests: whatever the queue's query or the bulk form holds,
// the answer is a page or a redirect to the queue, never a server error or
// unescaped markup.
func FuzzAlertsRequests(f *testing.F) {
	for _, s := range []string{"", "state=all&level=high", "after=1&limit=1", "done=bulk&changed=3&stale=1,2,x&refused=-1&missing=99999999999999999999&failed=2",
		"alert=1.1&action=acknowledged&back=%2Falerts%3Fstate%3Dall", "alert=1.1&action=false_positive&reason=", "alert=1.x&action=closed",
		"alert=1.1&action=assign&assignee=me", "alert=1.1&alert=1.1&action=in_progress&back=//evil", "action=bogus&alert=2.1"} {
		f.Add(s)
	}
	e := newFuzzAlertEnv(f)
	const x = `<script>alert(1)</script>`
	if _, _, err := e.svc.Record(context.Background(), alert.Detection{Time: e.clock.now(), RuleID: "r" + x, RuleTitle: x,
		Level: alert.LevelHigh, Host: x, User: x, Fields: []alert.KV{{Name: x, Value: x}}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e.t = t
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		// A browser sends the query encoded; the request line cannot hold
		// spaces.
		resp, body := e.get("/alerts?" + v.Encode())
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /alerts?%s: status %d", raw, resp.StatusCode)
		}
		if strings.Contains(body, "<script>alert") {
			t.Fatalf("GET /alerts?%s: unescaped markup", raw)
		}
		resp = e.do(req{method: http.MethodPost, path: "/alerts/bulk", body: raw, session: e.session,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		switch {
		case resp.StatusCode == http.StatusSeeOther:
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/alerts?") {
				t.Fatalf("POST /alerts/bulk %q: redirect to %q", raw, loc)
			}
		case resp.StatusCode >= 500:
			t.Fatalf("POST /alerts/bulk %q: status %d", raw, resp.StatusCode)
		}
	})
}

// newFuzzAlertEnv is newAlertEnv for a fuzz target: one server and store for
// every input, closed when the target ends.
func newFuzzAlertEnv(f *testing.F) *alertEnv {
	f.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(f.TempDir(), "koban.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	svc, err := auth.New(db, auth.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour}, clk.now, nil)
	if err != nil {
		f.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	o := Options{Auth: svc, Audit: db, Catalog: cat, Registry: prometheus.NewRegistry(), Now: clk.now}
	withAlerts(&o)
	srv, err := New(o)
	if err != nil {
		f.Fatal(err)
	}
	u, _, err := svc.CreateUser(ctx, audit.System, auth.NewUser{Name: "ana", Role: auth.RoleAnalyst, Password: testPassword})
	if err != nil {
		f.Fatal(err)
	}
	res, err := svc.SignIn(ctx, "ana", testPassword, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		f.Fatal(err)
	}
	return &alertEnv{testEnv: &testEnv{srv: srv, db: db, auth: svc, clock: clk}, svc: o.Alerts, ana: u, session: res.Secret}
}
