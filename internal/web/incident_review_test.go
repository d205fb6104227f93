// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

var _ = addRouteRules(map[string]rule{
	"GET /incidents/actions":             {Session, analysts},
	"GET /incidents/{ref}/review":        {Session, analysts},
	"POST /incidents/{ref}/review":       {Session, analysts},
	"POST /incidents/{ref}/actions":      {Session, analysts},
	"POST /incidents/{ref}/actions/{id}": {Session, analysts},
})

// reviewPath is the review tab of incident ref.
func reviewPath(ref string) string { return "/incidents/" + ref + "/review" }

// detail reads incident id in full as resp.
func (e *incidentEnv) detail(id int64) incident.Detail {
	e.t.Helper()
	d, err := e.inc.Incident(context.Background(), incActorOf(e.resp), id)
	if err != nil {
		e.t.Fatalf("Incident(%d): %v", id, err)
	}
	return d
}

// post sends a form as resp and returns the response and its body.
func (e *incidentEnv) post(path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{method: http.MethodPost, path: path, form: form, session: e.session})
	return resp, bodyOf(e.t, resp)
}

// wantRedirect checks a POST answered See Other to path with done.
func wantRedirect(t *testing.T, resp *http.Response, body, path, done string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", resp.StatusCode, body)
	}
	want := path + "?done=" + done
	if p, frag, ok := strings.Cut(path, "#"); ok {
		want = p + "?done=" + done + "#" + frag
	}
	if got := resp.Header.Get("Location"); got != want {
		t.Fatalf("Location %q, want %q", got, want)
	}
}

func msgOf(t *testing.T, id string, args ...any) string {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return html.EscapeString(cat.T(i18n.English, id, args...))
}

func TestReviewSaveWithWhysAndCause(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Invoice fraud mail", incident.TypeBEC)

	body := bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.session}))
	for _, want := range []string{`id="review-form"`, `id="cause-social_engineering"`, `id="why-4"`, `id="time-aware"`,
		msgOf(t, "incidents.review.cause_help.weak_auth"), msgOf(t, "incidents.review.state_none"), `id="tab-review" aria-current="page"`} {
		if !strings.Contains(body, want) {
			t.Errorf("review tab lacks %q", want)
		}
	}

	evil := `<script>alert("x")</script>`
	whys := []string{"The accountant paid a fake invoice", "The mail looked like the supplier's " + evil,
		"", "Nobody checked the bank details by phone", "There is no rule to call back"}
	form := url.Values{"version": {"0"}, "cause": {"social_engineering"}, "cause_text": {"Fraud mail " + evil},
		"why": whys, "went_well": {"Bank stopped the transfer"}, "went_badly": {"Found a week late"}, "complete": {"1"}}
	resp, body := e.post(reviewPath(inc.Ref), form)
	wantRedirect(t, resp, body, reviewPath(inc.Ref), "incident_review_saved")

	rv := e.detail(inc.ID).Review
	if rv.Cause != incident.CauseSocialEngineering || !rv.Complete() || rv.CauseText != "Fraud mail "+evil {
		t.Errorf("saved review = %+v, want complete social engineering with the text as typed", rv)
	}
	if len(rv.Whys) != 4 || rv.Whys[2] != whys[3] {
		t.Errorf("saved whys = %q, want the four non-empty lines in order", rv.Whys)
	}

	body = bodyOf(t, e.do(req{path: reviewPath(inc.Ref) + "?done=incident_review_saved", session: e.session}))
	if strings.Contains(body, evil) {
		t.Error("the review tab shows HTML from the review unescaped")
	}
	if !strings.Contains(body, html.EscapeString(evil)) {
		t.Error("the review tab does not show the escaped text")
	}
	for _, want := range []string{msgOf(t, "done.incident_review_saved"), `value="Nobody checked the bank details by phone"`,
		`id="complete" checked`, `name="version" value="1"`, `value="social_engineering" id="cause-social_engineering" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("review tab after saving lacks %q", want)
		}
	}
}

func TestReviewIncompleteNeedsCause(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Lost laptop", incident.TypeLostDevice)
	resp, body := e.post(reviewPath(inc.Ref), url.Values{"version": {"0"}, "why": {"Left on a train"}, "complete": {"1"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("complete review without cause: status %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(body, `id="cause-error"`) || !strings.Contains(body, `value="Left on a train"`) {
		t.Errorf("refused review lacks the cause error or the typed why:\n%s", body)
	}
	if rv := e.detail(inc.ID).Review; rv.IncidentID != 0 {
		t.Errorf("a refused review was saved: %+v", rv)
	}
}

func TestReviewStaleVersionKeepsTypedValues(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Ransom note on file server", incident.TypeRansomware)
	other := e.user("otto", auth.RoleAnalyst)
	if _, err := e.inc.SaveReview(context.Background(), incActorOf(other), inc.ID, 0, incident.ReviewInput{
		Cause: incident.CauseUnpatched, CauseText: "VPN appliance not patched"}); err != nil {
		t.Fatal(err)
	}
	// resp opened the tab before otto saved: version 0.
	resp, body := e.post(reviewPath(inc.Ref), url.Values{"version": {"0"}, "cause": {"weak_auth"},
		"cause_text": {"Reused admin password"}, "why": {"why one", "why two"}, "went_well": {"Backups"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale save: status %d, want 409", resp.StatusCode)
	}
	for _, want := range []string{msgOf(t, "incident.review_changed"), ">Reused admin password</textarea>",
		`value="why two"`, ">Backups</textarea>", `value="weak_auth" id="cause-weak_auth" checked`,
		`id="review-current"`, "VPN appliance not patched", `name="version" value="1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("conflict page lacks %q", want)
		}
	}
	if rv := e.detail(inc.ID).Review; rv.CauseText != "VPN appliance not patched" || rv.Version != 1 {
		t.Errorf("the stale save changed the review: %+v", rv)
	}
}

func TestPreventionActionAddAndUpdate(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Phishing to sales", incident.TypePhishing)
	owner := e.user("ida", auth.RoleAnalyst)
	e.user("vic", auth.RoleViewer)

	body := bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.session}))
	if !strings.Contains(body, `value="user:`+strconv.FormatInt(owner.ID, 10)+`"`) || !strings.Contains(body, `value="role:it_admin"`) {
		t.Error("the owner list lacks an analyst or the roles")
	}
	if strings.Contains(body, ">vic</option>") {
		t.Error("a viewer is offered as an owner of prevention actions")
	}

	resp, body := e.post(reviewPath(inc.Ref)[:len(reviewPath(inc.Ref))-len("/review")]+"/actions", url.Values{
		"title": {"Turn on MFA for mail <b>now</b>"}, "owner": {"user:" + strconv.FormatInt(owner.ID, 10)},
		"due": {"2026-12-01"}, "status": {"open"}})
	wantRedirect(t, resp, body, reviewPath(inc.Ref)+"#actions", "incident_action_added")
	d := e.detail(inc.ID)
	if len(d.Actions) != 1 {
		t.Fatalf("actions after adding one: %+v", d.Actions)
	}
	a := d.Actions[0]
	// resp has no time zone and English: UTC; due at the end of the day.
	if wantDue := time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC); a.OwnerID != owner.ID || !a.Due.Equal(wantDue) || a.Status != incident.ActionOpen {
		t.Errorf("added action = %+v, want owner %d due %v open", a, owner.ID, wantDue)
	}
	body = bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.session}))
	if strings.Contains(body, "<b>now</b>") || !strings.Contains(body, "&lt;b&gt;now&lt;/b&gt;") {
		t.Error("the action title is not escaped")
	}

	actionPath := "/incidents/" + inc.Ref + "/actions/" + strconv.FormatInt(a.ID, 10)
	// A bad date and a cancellation without reason: refused, typed
	// values kept, errors beside that action's fields.
	resp, body = e.post(actionPath, url.Values{"version": {"1"}, "title": {"MFA for everyone"}, "due": {"1st of May"},
		"status": {"cancelled"}, "owner": {"role:it_admin"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad date: status %d, want 400", resp.StatusCode)
	}
	prefix := "action-" + strconv.FormatInt(a.ID, 10)
	for _, want := range []string{msgOf(t, "incidents.review.due_invalid"), `id="` + prefix + `-title" name="title" value="MFA for everyone"`,
		`value="1st of May"`, `<details class="card" id="` + prefix + `" open>`} {
		if !strings.Contains(body, want) {
			t.Errorf("refused update lacks %q", want)
		}
	}
	resp, body = e.post(actionPath, url.Values{"version": {"1"}, "title": {"MFA for everyone"}, "due": {"2026-12-01"},
		"status": {"cancelled"}, "owner": {"role:it_admin"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, msgOf(t, "incident.reason_required")) {
		t.Errorf("cancel without reason: status %d, want 400 and the reason message", resp.StatusCode)
	}

	resp, body = e.post(actionPath, url.Values{"version": {"1"}, "title": {"MFA for everyone"}, "due": {"2026-12-01"},
		"status": {"in_progress"}, "owner": {"role:it_admin"}})
	wantRedirect(t, resp, body, reviewPath(inc.Ref)+"#"+prefix, "incident_action_saved")
	if a := e.detail(inc.ID).Actions[0]; a.OwnerRole != "it_admin" || a.OwnerID != 0 || a.Status != incident.ActionInProgress || a.Version != 2 {
		t.Errorf("updated action = %+v", a)
	}

	// Version 1 again: someone else's change in between.
	resp, body = e.post(actionPath, url.Values{"version": {"1"}, "title": {"MFA, typed late"}, "status": {"done"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale action: status %d, want 409", resp.StatusCode)
	}
	if !strings.Contains(body, msgOf(t, "incident.action_changed", "title", "MFA for everyone")) || !strings.Contains(body, `value="MFA, typed late"`) {
		t.Errorf("stale action page lacks the message or the typed title:\n%s", body)
	}

	// An action of another incident is not reachable through this one.
	other := e.create("Another", incident.TypeOther)
	resp, _ = e.post("/incidents/"+other.Ref+"/actions/"+strconv.FormatInt(a.ID, 10), url.Values{"version": {"2"}, "title": {"x"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("action through another incident: status %d, want 404", resp.StatusCode)
	}
}

// TestActionsAfterClose: a high incident closes only with a complete
// review; its prevention actions stay open, editable and listed, overdue
// first, after it closes.
func TestActionsAfterClose(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	a := incActorOf(e.resp)
	inc := e.create("Ransomware on the file server", incident.TypeRansomware)
	inc, err := e.inc.OverrideSeverity(ctx, a, incident.Ref{ID: inc.ID}, incident.SeverityHigh, "whole office down")
	if err != nil {
		t.Fatal(err)
	}
	later := e.create("Scan from abroad", incident.TypeScanProbe)
	if _, err := e.inc.AddPreventionAction(ctx, a, later.ID, incident.ActionInput{Title: "Geo-block the VPN",
		Due: e.clock.now().Add(60 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inc.AddPreventionAction(ctx, a, later.ID, incident.ActionInput{Title: "Write it down, some day"}); err != nil {
		t.Fatal(err)
	}

	body := bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.session}))
	if !strings.Contains(body, `id="review-needed"`) {
		t.Error("the review tab of a high incident does not say the review is needed to close it")
	}
	closing := incident.Closing{Resolution: incident.ResolutionResolved, Summary: "Restored from backup"}
	_, err = e.inc.Close(ctx, a, incident.Ref{ID: inc.ID}, closing)
	if msg, _ := fault.Public(err); fault.KindOf(err) != fault.Conflict || msg != "incident.close_review_missing" {
		t.Fatalf("Close without review: %v, want Conflict incident.close_review_missing", err)
	}

	resp, body := e.post(reviewPath(inc.Ref), url.Values{"version": {"0"}, "cause": {"unpatched"},
		"cause_text": {"Old VPN firmware"}, "complete": {"1"}})
	wantRedirect(t, resp, body, reviewPath(inc.Ref), "incident_review_saved")
	resp, body = e.post("/incidents/"+inc.Ref+"/actions", url.Values{"title": {"Patch the VPN monthly"},
		"due": {"2026-11-25"}, "status": {"open"}})
	wantRedirect(t, resp, body, reviewPath(inc.Ref)+"#actions", "incident_action_added")
	if _, err := e.inc.Close(ctx, a, incident.Ref{ID: inc.ID}, closing); err != nil {
		t.Fatalf("Close with a complete review: %v", err)
	}

	// After the close: the review is read-only, actions are not.
	body = bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.session}))
	if strings.Contains(body, `id="review-form"`) || !strings.Contains(body, `id="review-closed"`) || !strings.Contains(body, "Old VPN firmware") {
		t.Error("the review tab of a closed incident does not show the review read-only")
	}
	resp, body = e.post(reviewPath(inc.Ref), url.Values{"version": {"1"}, "cause": {"other"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, msgOf(t, "incident.closed", "ref", inc.Ref)) {
		t.Errorf("saving the review of a closed incident: status %d, want 409 and the closed message", resp.StatusCode)
	}
	resp, body = e.post("/incidents/"+inc.Ref+"/actions", url.Values{"title": {"Train staff on phishing"}, "due": {"2027-01-15"}})
	wantRedirect(t, resp, body, reviewPath(inc.Ref)+"#actions", "incident_action_added")

	e.clock.advance(5 * 24 * time.Hour) // 27 November: "Patch the VPN monthly" is overdue
	body = bodyOf(t, e.do(req{path: "/incidents/actions", session: e.testEnv.session("resp")}))
	order := []string{"Patch the VPN monthly", "Train staff on phishing", "Geo-block the VPN", "Write it down, some day"}
	last := -1
	for _, title := range order {
		i := strings.Index(body, title)
		if i < 0 || i < last {
			t.Fatalf("open actions not in order %q (overdue first, then by due date, none last):\n%s", order, body)
		}
		last = i
	}
	row := body[strings.Index(body, "Patch the VPN monthly"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `href="/incidents/`+inc.Ref+`/review#action-`) || !strings.Contains(row, msgOf(t, "incident.status.closed")) {
		t.Errorf("the overdue action's row does not link its closed incident: %s", row)
	}
	if i := strings.Index(body, "Patch the VPN monthly"); !strings.Contains(body[:i], msgOf(t, "incidents.review.overdue")) {
		t.Error("the overdue action is not marked overdue")
	}
	if !strings.Contains(body, msgOf(t, "incidents.actions.summary", "count", 4, "overdue", 1)) {
		t.Error("the list does not count 4 open actions, 1 overdue")
	}
}

func TestReviewForbiddenToViewers(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Defaced site", incident.TypeWebDefacement)
	e.user("vera", auth.RoleViewer)
	viewer := e.testEnv.session("vera")
	for _, r := range []req{
		{path: reviewPath(inc.Ref)},
		{path: "/incidents/actions"},
		{method: http.MethodPost, path: reviewPath(inc.Ref), form: url.Values{"version": {"0"}, "cause": {"other"}}},
		{method: http.MethodPost, path: "/incidents/" + inc.Ref + "/actions", form: url.Values{"title": {"x"}}},
	} {
		r.session = viewer
		if resp := e.do(r); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer %s %s: status %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}
	if d := e.detail(inc.ID); d.Review.IncidentID != 0 || len(d.Actions) != 0 {
		t.Error("a viewer's POST changed the incident")
	}
}

// TestActionsRouteBeatsRef: /incidents/actions is the list, not an
// incident called "actions", and an unknown incident's review is 404.
func TestActionsRouteBeatsRef(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	resp := e.do(req{path: "/incidents/actions", session: e.session})
	body := bodyOf(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="actions-none"`) {
		t.Errorf("GET /incidents/actions: status %d, want the (empty) list:\n%s", resp.StatusCode, body)
	}
	if resp := e.do(req{path: "/incidents/INC-2026-9999/review", session: e.session}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("review of an unknown incident: status %d, want 404", resp.StatusCode)
	}
}

func TestReviewTimes(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	a := incActorOf(e.resp)
	inc := e.create("Malware on a PC", incident.TypeMalware)
	e.clock.advance(95 * time.Minute)
	if _, err := e.inc.ChangePhase(ctx, a, incident.Ref{ID: inc.ID}, incident.PhaseContainment, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(4*time.Hour + 5*time.Minute)
	if _, err := e.inc.ChangePhase(ctx, a, incident.Ref{ID: inc.ID}, incident.PhaseEradication, ""); err != nil {
		t.Fatal(err)
	}
	body := bodyOf(t, e.do(req{path: reviewPath(inc.Ref), session: e.testEnv.session("resp")}))
	for key, want := range map[string]string{
		"acknowledged": msgOf(t, "incidents.review.after_awareness", "span", "1 h 35 min"),
		"contained":    msgOf(t, "incidents.review.after_awareness", "span", "5 h 40 min"),
		"resolved":     msgOf(t, "incidents.review.not_yet"),
		"aware":        msgOf(t, "incidents.review.with_detection"),
	} {
		i := strings.Index(body, `id="time-`+key+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", key)
		}
		row := body[i : i+strings.Index(body[i:], "</tr>")]
		if !strings.Contains(row, want) {
			t.Errorf("row %s = %s, want %q", key, row, want)
		}
	}
}

func TestReviewSpan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := httptestRequest()
	p := e.srv.page(r, "", "")
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "under a minute"},
		{45*time.Minute + 59*time.Second, "45 min"},
		{5 * time.Hour, "5 h"},
		{5*time.Hour + 20*time.Minute, "5 h 20 min"},
		{47*time.Hour + 59*time.Minute, "47 h 59 min"},
		{49 * time.Hour, "2 days 1 h"},
		{24 * time.Hour * 3, "3 days"},
		{25*24*time.Hour + time.Hour, "25 days 1 h"}, {24 * time.Hour, "24 h"},
	} {
		if got := reviewSpan(p, c.d); got != c.want {
			t.Errorf("reviewSpan(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// httptestRequest is a GET in English with nobody signed in.
func httptestRequest() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Language", "en")
	return r
}

// TestReviewMessagesExist checks the message ids the review tab builds at
// run time, in both languages.
func TestReviewMessagesExist(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"done.incident_review_saved", "done.incident_action_added", "done.incident_action_saved"}
	for _, c := range incident.RootCauses {
		ids = append(ids, "incident.root_cause."+string(c), "incidents.review.cause_help."+string(c))
	}
	for _, s := range incident.ActionStatuses {
		ids = append(ids, "incident.action_status."+string(s))
	}
	for _, r := range incident.PlaybookRoles() {
		ids = append(ids, "playbook.role."+r)
	}
	for _, k := range []string{"detected", "aware", "acknowledged", "contained", "resolved", "closed"} {
		ids = append(ids, "incidents.review.time."+k)
	}
	for _, w := range []string{"awareness", "detection"} {
		ids = append(ids, "incidents.review.after_"+w, "incidents.review.before_"+w, "incidents.review.with_"+w)
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}

// FuzzPreventionForm: the action form's owner and due date never panic;
// what is accepted reads back as typed.
func FuzzPreventionForm(f *testing.F) {
	for _, s := range [][2]string{{"user:12", "2026-12-01"}, {"role:it_admin", ""}, {"", "2028-02-29"},
		{"user:-1", "2026-02-30"}, {"user:99999999999999999999", "0000-01-01"}, {"x", "31/12/2026"}, {"role:", "2026-1-1"}} {
		f.Add(s[0], s[1])
	}
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		f.Fatal(err)
	}
	p := &Page{loc: loc}
	f.Fuzz(func(t *testing.T, owner, due string) {
		r := &http.Request{PostForm: url.Values{"owner": {owner}, "due": {due}, "title": {"t"}}}
		var form preventionForm
		in, err := readPreventionForm(r, p, &form)
		if form.Owner != owner {
			t.Fatalf("typed owner %q kept as %q", owner, form.Owner)
		}
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("owner %q due %q: %v, want Invalid", owner, due, err)
			}
			return
		}
		switch {
		case owner == "" && (in.OwnerID != 0 || in.OwnerRole != ""):
			t.Errorf("no owner read as %d %q", in.OwnerID, in.OwnerRole)
		case strings.HasPrefix(owner, "user:"):
			if id, _ := strconv.ParseInt(owner[len("user:"):], 10, 64); id <= 0 || in.OwnerID != id {
				t.Errorf("owner %q read as user %d", owner, in.OwnerID)
			}
		case strings.HasPrefix(owner, "role:") && "role:"+in.OwnerRole != owner:
			t.Errorf("owner %q read as role %q", owner, in.OwnerRole)
		}
		if got := reviewDueDate(p, in.Due); got != strings.TrimSpace(due) {
			t.Errorf("due %q read back as %q", due, got)
		}
	})
}
