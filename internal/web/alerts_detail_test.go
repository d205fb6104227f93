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
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
)

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
	_, body = e.get("/alerts/exclusions")
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
