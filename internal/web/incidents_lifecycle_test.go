// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/incident"
)

// The forms of an incident's overview: phase, edit (with a stale version),
// close, links, hold, flags, assign, severity override, reopen.

func TestIncidentPhaseAndStaleVersion(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Odd logins", incident.TypeAccountCompromise)
	base := "/incidents/" + inc.Ref

	resp := e.ciPost(base+"/phase", url.Values{"phase": {"containment"}, "version": {"1"}})
	ciStatus(t, "POST phase", resp, "", http.StatusSeeOther)
	d := e.ciDetail(inc.Ref)
	if d.Phase != incident.PhaseContainment || d.AcknowledgedAt.IsZero() {
		t.Fatalf("after POST phase: phase %s, acknowledged %v", d.Phase, d.AcknowledgedAt)
	}
	// Going back needs a reason, said beside the phase form.
	resp = e.ciPost(base+"/phase", url.Values{"phase": {"analysis"}, "version": {strconv.FormatInt(d.Version, 10)}})
	body := bodyOf(t, resp)
	ciStatus(t, "POST phase back", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, `id="phase-reason-error"`) {
		t.Errorf("POST phase back without reason: no error beside the reason")
	}

	// An edit made on version 1 after the phase change is refused, with
	// what was typed kept.
	resp = e.ciPost(base+"/edit", url.Values{"title": {"Odd logins from abroad <i>"}, "type": {"account_compromise"},
		"description": {"My new text"}, "version": {"1"}})
	body = bodyOf(t, resp)
	ciStatus(t, "POST edit (stale)", resp, body, http.StatusConflict)
	for _, want := range []string{"was changed by someone else", `value="Odd logins from abroad &lt;i&gt;"`, "My new text",
		`name="version" value="` + strconv.FormatInt(d.Version, 10) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("POST edit (stale): body lacks %q", want)
		}
	}
	if got := e.ciDetail(inc.Ref); got.Title != inc.Title {
		t.Errorf("after a stale edit: title %q, want %q", got.Title, inc.Title)
	}
	// With the current version it is saved.
	resp = e.ciPost(base+"/edit", url.Values{"title": {"Odd logins from abroad"}, "type": {"account_compromise"},
		"description": {"My new text"}, "version": {strconv.FormatInt(d.Version, 10)}})
	ciStatus(t, "POST edit", resp, "", http.StatusSeeOther)
	if got := e.ciDetail(inc.Ref); got.Title != "Odd logins from abroad" || got.Description != "My new text" || !got.AwareAt.Equal(d.AwareAt) {
		t.Errorf("after edit: %q, %q, aware %v (was %v)", got.Title, got.Description, got.AwareAt, d.AwareAt)
	}
}

func TestIncidentCloseRefusedWithOpenRequiredTask(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	a := incActorOf(e.resp)
	inc := e.create("Lost phone", incident.TypeLostDevice)
	base := "/incidents/" + inc.Ref
	resp := e.ciPost(base+"/assess", url.Values{"functional": {"none"}, "recoverability": {"regular"},
		"criticality": {"low"}, "people": {""}, "version": {"1"}})
	ciStatus(t, "POST assess", resp, "", http.StatusSeeOther)
	d := e.ciDetail(inc.Ref)
	if d.Severity != incident.SeverityLow {
		t.Fatalf("after assess: severity %q, want low", d.Severity)
	}
	_, body := e.ciGet(base)
	if !strings.Contains(body, `id="severity-reasons"`) || !strings.Contains(body, "No functional impact.") {
		t.Errorf("overview: the computed severity's reasons are not shown")
	}
	if _, err := e.inc.AddTask(ctx, a, inc.ID, incident.TaskInput{Title: "Wipe the phone remotely", Required: true}); err != nil {
		t.Fatal(err)
	}
	resp = e.ciPost(base+"/close", url.Values{"resolution": {"resolved"}, "summary": {"Found in the taxi"},
		"version": {strconv.FormatInt(d.Version, 10)}})
	body = bodyOf(t, resp)
	ciStatus(t, "POST close", resp, body, http.StatusConflict)
	for _, want := range []string{"still has 1 required task open", "Found in the taxi", `id="close-open-tasks"`} {
		if !strings.Contains(body, want) {
			t.Errorf("POST close with an open required task: body lacks %q", want)
		}
	}
	if got := e.ciDetail(inc.Ref); got.Closed() {
		t.Errorf("the incident closed with a required task open")
	}
}

func TestIncidentLinks(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	a := e.create("Phishing wave", incident.TypePhishing)
	b := e.create("Account taken over", incident.TypeAccountCompromise)
	resp := e.ciPost("/incidents/"+b.Ref+"/links", url.Values{"to": {strings.ToLower(a.Ref)}, "kind": {"parent"}})
	ciStatus(t, "POST links", resp, "", http.StatusSeeOther)
	_, body := e.ciGet("/incidents/" + a.Ref)
	if !strings.Contains(body, `id="link-`+b.Ref+`-parent"`) || !strings.Contains(body, "Includes") {
		t.Errorf("parent's overview does not list its child")
	}
	resp = e.ciPost("/incidents/"+b.Ref+"/links", url.Values{"to": {"INC-2026-0999"}, "kind": {"related"}})
	body = bodyOf(t, resp)
	ciStatus(t, "POST links (unknown)", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, `id="link-to-error"`) {
		t.Errorf("POST links to an unknown incident: no error beside the reference")
	}
	// Removed from the parent's side.
	resp = e.ciPost("/incidents/"+a.Ref+"/links/delete", url.Values{"other": {strconv.FormatInt(b.ID, 10)}, "kind": {"parent"}, "reverse": {"1"}})
	ciStatus(t, "POST links/delete", resp, "", http.StatusSeeOther)
	if d := e.ciDetail(a.Ref); len(d.Links) != 0 {
		t.Errorf("after unlinking: links %+v", d.Links)
	}
}

func TestIncidentLifecycleForms(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Shared drive public", incident.TypeDataLeak)
	base := "/incidents/" + inc.Ref
	ver := func() string { return strconv.FormatInt(e.ciDetail(inc.Ref).Version, 10) }
	send := func(path string, form url.Values, want int, contains ...string) {
		t.Helper()
		form.Set("version", ver())
		resp := e.ciPost(base+path, form)
		body := bodyOf(t, resp)
		ciStatus(t, "POST "+path+" "+form.Encode(), resp, body, want)
		for _, c := range contains {
			if !strings.Contains(body, c) {
				t.Errorf("POST %s %s: body lacks %q", path, form.Encode(), c)
			}
		}
	}

	send("/status", url.Values{"status": {"on_hold"}}, http.StatusBadRequest, `id="status-reason-error"`)
	send("/status", url.Values{"status": {"on_hold"}, "reason": {"Waiting for the cloud vendor"}}, http.StatusSeeOther)
	if d := e.ciDetail(inc.Ref); d.Status != incident.StatusOnHold || d.StatusReason != "Waiting for the cloud vendor" {
		t.Fatalf("after hold: %s %q", d.Status, d.StatusReason)
	}
	_, body := e.ciGet(base)
	if !strings.Contains(body, `id="status-reason"`) || !strings.Contains(body, `value="open"`) {
		t.Errorf("overview on hold: no reason shown or no way to resume")
	}
	send("/status", url.Values{"status": {"open"}}, http.StatusSeeOther)

	// EU residents implies personal data, and GDPR's 72 hours run in
	// elapsed time, shown in the viewer's zone.
	send("/flags", url.Values{"flag": {"eu_residents"}}, http.StatusSeeOther)
	if d := e.ciDetail(inc.Ref); d.Flags != (incident.Flags{PersonalData: true, EUResidents: true}) {
		t.Errorf("after flags: %+v", d.Flags)
	}
	_, body = e.ciGet(base)
	if !strings.Contains(body, `id="clock-gdpr_authority"`) || !strings.Contains(body, "25 Nov 2026 10:00 UTC") {
		t.Errorf("overview: no GDPR clock due 25 Nov 2026 10:00 UTC")
	}
	if strings.Contains(body, `id="clock-ppc_preliminary"`) {
		t.Errorf("overview: a PPC clock runs with personal data alone")
	}

	send("/assign", url.Values{"assignee": {"999"}}, http.StatusBadRequest, `id="assign-error"`)
	send("/assign", url.Values{"assignee": {strconv.FormatInt(e.resp.ID, 10)}}, http.StatusSeeOther)
	if d := e.ciDetail(inc.Ref); len(d.Assignees) != 1 || d.Assignees[0] != e.resp.ID {
		t.Errorf("after assign: %v", d.Assignees)
	}

	send("/severity", url.Values{"severity": {"high"}}, http.StatusBadRequest, `id="override-reason-error"`)
	send("/severity", url.Values{"severity": {"high"}, "reason": {"Customer list"}}, http.StatusSeeOther)
	if d := e.ciDetail(inc.Ref); d.Severity != incident.SeverityHigh {
		t.Errorf("after override: severity %q", d.Severity)
	}
	// A high incident closes only with its review complete.
	send("/close", url.Values{"resolution": {"resolved"}, "summary": {"Share closed"}}, http.StatusConflict,
		"complete the post-incident review", "Share closed")
	send("/severity", url.Values{"severity": {"low"}, "reason": {"Only test data was shared"}}, http.StatusSeeOther)
	send("/close", url.Values{"resolution": {"resolved"}, "summary": {"Share closed"}}, http.StatusSeeOther)
	d := e.ciDetail(inc.Ref)
	if !d.Closed() || d.Summary != "Share closed" {
		t.Fatalf("after close: %s %q", d.Status, d.Summary)
	}
	_, body = e.ciGet(base)
	if !strings.Contains(body, `id="closed-note"`) || strings.Contains(body, `id="edit-form"`) || !strings.Contains(body, `id="reopen-form"`) {
		t.Errorf("closed overview: want the note and the reopen form, no edit form")
	}
	send("/reopen", url.Values{"phase": {"containment"}}, http.StatusBadRequest, `id="reopen-reason-error"`)
	send("/reopen", url.Values{"phase": {"containment"}, "reason": {"Another share found"}}, http.StatusSeeOther)
	if d := e.ciDetail(inc.Ref); d.Closed() || d.Phase != incident.PhaseContainment {
		t.Errorf("after reopen: %s %s", d.Status, d.Phase)
	}
	// A form without its version is refused, whatever it asks.
	resp := e.ciPost(base+"/phase", url.Values{"phase": {"eradication"}})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not say which version") {
		t.Errorf("POST phase without version: got %d", resp.StatusCode)
	}
}
