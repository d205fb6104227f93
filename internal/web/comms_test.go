// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

var _ = addRouteRules(map[string]rule{
	"GET /contacts":       {Session, analysts},
	"POST /contacts":      {Session, analysts},
	"GET /contacts/{id}":  {Session, analysts},
	"POST /contacts/{id}": {Session, analysts},

	"GET /incidents/{ref}/comms":                       {Session, analysts},
	"POST /incidents/{ref}/comms":                      {Session, analysts},
	"GET /incidents/{ref}/comms/new":                   {Session, analysts},
	"POST /incidents/{ref}/comms/contacts":             {Session, analysts},
	"POST /incidents/{ref}/comms/contacts/{id}/remove": {Session, analysts},
	"GET /incidents/{ref}/comms/{id}":                  {Session, analysts},
	"POST /incidents/{ref}/comms/{id}":                 {Session, analysts},
	"POST /incidents/{ref}/comms/{id}/submit":          {Session, analysts},
	"POST /incidents/{ref}/comms/{id}/approve":         {Session, analysts},
	"POST /incidents/{ref}/comms/{id}/return":          {Session, analysts},
	"POST /incidents/{ref}/comms/{id}/release":         {Session, analysts},
	"GET /incidents/{ref}/reports":                     {Session, analysts},
	"POST /incidents/{ref}/reports":                    {Session, analysts},
	"GET /incidents/{ref}/reports/{id}":                {Session, analysts},
	"POST /incidents/{ref}/reports/{id}":               {Session, analysts},
	"POST /incidents/{ref}/reports/{id}/refresh":       {Session, analysts},
	"POST /incidents/{ref}/reports/{id}/sent":          {Session, analysts},
	"GET /incidents/{ref}/reports/{id}/print":          {Session, analysts},
})

// withComms gives the server the comms service, after withIncidents.
func withComms(o *Options) {
	o.Comms = comms.New(o.Audit.(*store.DB), o.Incidents, o.Catalog, comms.Options{Now: o.Now})
}

// newCommsEnv is an incident env with comms and a Japanese-speaking
// responder signed in.
func newCommsEnv(t *testing.T) *incidentEnv {
	t.Helper()
	e := newIncidentEnv(t, withComms)
	u := e.resp
	u.Lang = string(i18n.Japanese)
	if err := e.db.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return e
}

// hostileIncident opens an incident whose text is HTML, with personal data
// of 1,234 people.
func hostileIncident(t *testing.T, e *incidentEnv) incident.Incident {
	t.Helper()
	inc, err := e.inc.Create(context.Background(), incActorOf(e.resp), incident.Draft{Input: incident.Input{
		Title: `請求書メール <img src=x onerror=alert(1)>`, Description: `<script>alert("desc")</script> 経理部で開封`,
		Type: incident.TypePhishing, Flags: incident.Flags{PersonalData: true, MaliciousIntent: true}},
		Impact: &incident.Impact{Functional: incident.FunctionalLow, Information: []incident.InformationImpact{
			incident.InfoPersonal}, People: 1234, Recoverability: incident.RecoverRegular,
			Criticality: incident.CriticalityMedium}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return inc
}

func location(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", resp.StatusCode, bodyOf(t, resp))
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestCommsPPCDraftPrint(t *testing.T) {
	e := newCommsEnv(t)
	inc := hostileIncident(t, e)
	base := "/incidents/" + inc.Ref
	href := location(t, e.do(req{method: "POST", path: base + "/reports", session: e.session,
		form: url.Values{"kind": {"ppc:preliminary"}}}))
	if !strings.HasPrefix(href, base+"/reports/") {
		t.Fatalf("create went to %q", href)
	}
	resp := e.do(req{path: href + "/print", session: e.session})
	body := bodyOf(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("print: status %d:\n%s", resp.StatusCode, body)
	}
	cat := e.srv.cat
	for _, k := range comms.ReportPPC.Fields() {
		label := cat.T(i18n.Japanese, "comms.report.ppc."+k)
		if !strings.Contains(body, label) {
			t.Errorf("print view lacks item %s (%q)", k, label)
		}
		if !strings.Contains(body, `id="print-`+k+`"`) {
			t.Errorf("print view lacks the row of %s", k)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x", `id="nav"`, `class="tabs"`} {
		if strings.Contains(body, bad) {
			t.Errorf("print view contains %q", bad)
		}
	}
	// The icon is linked as on every page, or the browser asks for
	// /favicon.ico and meets a 404.
	for _, want := range []string{`&lt;script&gt;alert(&#34;desc&#34;)&lt;/script&gt;`, "1,234", `lang="ja"`, `rel="icon"`,
		cat.T(i18n.Japanese, "incidentclock.kind.ppc_preliminary")} {
		if !strings.Contains(body, want) {
			t.Errorf("print view lacks %q", want)
		}
	}

	// A field saved with HTML comes back escaped; a stale version is refused.
	page := bodyOf(t, e.do(req{path: href, session: e.session}))
	if !strings.Contains(page, `name="version" value="1"`) {
		t.Fatalf("draft form lacks version 1:\n%s", page)
	}
	location(t, e.do(req{method: "POST", path: href, session: e.session, form: url.Values{"version": {"1"},
		"f_other": {`<b onmouseover=alert(2)>追記</b>`}}}))
	resp = e.do(req{method: "POST", path: href, session: e.session, form: url.Values{"version": {"1"},
		"f_other": {"x"}}})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body,
		cat.T(i18n.Japanese, "comms.report_changed")) {
		t.Errorf("stale save: status %d, want 409 with the message", resp.StatusCode)
	}
	page = bodyOf(t, e.do(req{path: href, session: e.session}))
	if strings.Contains(page, "<b onmouseover") || !strings.Contains(page, "&lt;b onmouseover=alert(2)&gt;") {
		t.Error("edited field not escaped on the draft page")
	}

	// The sent log records the recipient and the reference number.
	location(t, e.do(req{method: "POST", path: href + "/sent", session: e.session, form: url.Values{
		"to": {"個人情報保護委員会"}, "channel": {"web_form"}, "reference": {"PPC-0001"}}}))
	page = bodyOf(t, e.do(req{path: href, session: e.session}))
	if !strings.Contains(page, "PPC-0001") {
		t.Error("sent log lacks the reference number")
	}
}

func TestCommsApprovalFlow(t *testing.T) {
	e := newCommsEnv(t)
	inc := hostileIncident(t, e)
	base := "/incidents/" + inc.Ref + "/comms"
	e.user("lead", auth.RoleResponder)
	e.user("anal", auth.RoleAnalyst)
	lead, anal := e.testEnv.session("lead"), e.testEnv.session("anal")

	// A draft from the management template, in Japanese.
	page := bodyOf(t, e.do(req{path: base + "/new?template=management_update&lang=ja", session: e.session}))
	if !strings.Contains(page, inc.Ref) || strings.Contains(page, "<script>alert") {
		t.Fatalf("template draft lacks the reference or is not escaped:\n%s", page)
	}
	msg := location(t, e.do(req{method: "POST", path: base, session: e.session, form: url.Values{"draft": {"1"},
		"direction": {"out"}, "channel": {"email"}, "subject": {"状況報告 <i>"}, "body": {"本文"},
		"template": {"management_update"}, "lang": {"ja"}}}))
	step := func(session, name, version string, extra url.Values) *http.Response {
		f := url.Values{"version": {version}}
		for k, v := range extra {
			f[k] = v
		}
		return e.do(req{method: "POST", path: msg + "/" + name, session: session, form: f})
	}
	if resp := step(e.session, "release", "1", url.Values{"party": {"社長"}, "channel": {"email"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("release of a draft: status %d, want 409", resp.StatusCode)
	}
	location(t, step(e.session, "submit", "1", nil))
	for _, c := range []struct {
		name, session string
	}{{"author", e.session}, {"analyst", anal}} {
		resp := step(c.session, "approve", "2", nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("approve by the %s: status %d, want 403", c.name, resp.StatusCode)
		}
	}
	location(t, step(lead, "approve", "2", nil))
	location(t, step(e.session, "release", "3", url.Values{"party": {"社長"}, "channel": {"meeting"}}))
	page = bodyOf(t, e.do(req{path: msg, session: e.session}))
	for _, want := range []string{`id="message-status"`, "lead", "社長", "状況報告 &lt;i&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("released message page lacks %q", want)
		}
	}
	tab := bodyOf(t, e.do(req{path: base, session: e.session}))
	if !strings.Contains(tab, e.srv.cat.T(i18n.Japanese, "comms.status.released")) {
		t.Error("the log does not show the message released")
	}
}

func TestCommsContactsAndViewer(t *testing.T) {
	e := newCommsEnv(t)
	inc := hostileIncident(t, e)
	page := bodyOf(t, e.do(req{path: "/contacts", session: e.session}))
	if !strings.Contains(page, "JPCERT/CC") || !strings.Contains(page, "個人情報保護委員会") {
		t.Errorf("contacts not seeded with the public bodies:\n%s", page)
	}
	resp := e.do(req{method: "POST", path: "/contacts", session: e.session, form: url.Values{"name": {"<b>弁護士</b>"},
		"kind": {"lawyer"}, "email": {"not an address"}}})
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body,
		e.srv.cat.T(i18n.Japanese, "comms.email_invalid")) || !strings.Contains(body, "&lt;b&gt;弁護士") {
		t.Errorf("bad e-mail: status %d, want 400 with the message and the name kept, escaped", resp.StatusCode)
	}
	location(t, e.do(req{method: "POST", path: "/contacts", session: e.session, form: url.Values{"name": {"山田 弁護士"},
		"kind": {"lawyer"}, "email": {"yamada@example.jp"}}}))

	e.user("boss", auth.RoleViewer)
	boss := e.testEnv.session("boss")
	for _, p := range []string{"/contacts", "/incidents/" + inc.Ref + "/comms", "/incidents/" + inc.Ref + "/reports",
		"/incidents/" + inc.Ref + "/reports/1/print"} {
		if resp := e.do(req{path: p, session: boss}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s: status %d, want 403", p, resp.StatusCode)
		}
	}
}
