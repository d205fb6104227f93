// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// The core incident pages: who may use them.
var _ = addRouteRules(map[string]rule{
	"GET /incidents":                     {Session, management},
	"GET /incidents/new":                 {Session, analysts},
	"POST /incidents/new":                {Session, analysts},
	"GET /incidents/{ref}":               {Session, management},
	"POST /incidents/{ref}/edit":         {Session, analysts},
	"POST /incidents/{ref}/flags":        {Session, analysts},
	"POST /incidents/{ref}/phase":        {Session, analysts},
	"POST /incidents/{ref}/status":       {Session, analysts},
	"POST /incidents/{ref}/close":        {Session, analysts},
	"POST /incidents/{ref}/reopen":       {Session, analysts},
	"POST /incidents/{ref}/assign":       {Session, analysts},
	"POST /incidents/{ref}/assess":       {Session, analysts},
	"POST /incidents/{ref}/severity":     {Session, analysts},
	"POST /incidents/{ref}/links":        {Session, analysts},
	"POST /incidents/{ref}/links/delete": {Session, analysts},
})

// ciPost sends a form as the env's responder.
func (e *incidentEnv) ciPost(path string, form url.Values) *http.Response {
	e.t.Helper()
	return e.do(req{method: http.MethodPost, path: path, form: form, session: e.session})
}

// ciGet reads a page as the env's responder.
func (e *incidentEnv) ciGet(path string) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{path: path, session: e.session})
	return resp, bodyOf(e.t, resp)
}

// ciDetail reads an incident in full.
func (e *incidentEnv) ciDetail(ref string) incident.Detail {
	e.t.Helper()
	d, err := e.inc.IncidentByRef(context.Background(), incActorOf(e.resp), "", ref)
	if err != nil {
		e.t.Fatalf("IncidentByRef(%s): %v", ref, err)
	}
	return d
}

// ciStatus fails the test unless resp has status want.
func ciStatus(t *testing.T, call string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: got %d %s, want %d\n%s", call, resp.StatusCode, resp.Header.Get("Location"), want, body)
	}
}

func TestIncidentNewValidation(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	form := url.Values{"title": {""}, "description": {"Mail from <b>ceo@example.com</b>"}, "aware_at": {"yesterday"},
		"fields": {"no colon here"}, "playbook": {"none"}}
	resp := e.ciPost("/incidents/new", form)
	body := bodyOf(t, resp)
	ciStatus(t, "POST /incidents/new (bad)", resp, body, http.StatusBadRequest)
	for _, want := range []string{
		`id="new-aware_at-error"`, "“yesterday” is not a date and time.",
		`id="new-fields-error"`, "Line 1 of the custom fields",
		// What was typed is kept, escaped.
		"Mail from &lt;b&gt;ceo@example.com&lt;/b&gt;", `value="yesterday"`,
		`<option value="none" selected>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("POST /incidents/new (bad): body lacks %q", want)
		}
	}
	// Once the form reads, the service's own checks speak, field by field.
	form.Set("aware_at", "")
	form.Set("fields", "Claim: 1")
	resp = e.ciPost("/incidents/new", form)
	body = bodyOf(t, resp)
	ciStatus(t, "POST /incidents/new (no title, no type)", resp, body, http.StatusBadRequest)
	for _, want := range []string{`id="new-title-error"`, "This field is required.", `id="new-type-error"`, "Choose the type of incident"} {
		if !strings.Contains(body, want) {
			t.Errorf("POST /incidents/new (no title): body lacks %q", want)
		}
	}
	// Nothing was created.
	pg, err := e.inc.Incidents(context.Background(), incActorOf(e.resp), incident.Filter{})
	if err != nil || len(pg.Incidents) != 0 {
		t.Errorf("after refused forms: %d incidents, %v; want none", len(pg.Incidents), err)
	}
}

func TestIncidentNewWithPlaybookAndClocks(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	// The env's clock is 2026-11-22 10:00 UTC, 19:00 in Tokyo; the
	// responder's zone is UTC (English, no zone set).
	form := url.Values{"title": {`<script>alert(1)</script> Invoice mail`}, "type": {"phishing"},
		"description": {"Reported by sales."}, "aware_at": {"2026-11-22T09:30:00"},
		"flag": {"sensitive", "malicious_intent"}, "playbook": {"auto"},
		"assignee": {strconv.FormatInt(e.resp.ID, 10)}, "techniques": {"t1566, T1078.004"}, "tags": {"mail、sales"},
		"affected_users": {"tanaka\nsuzuki\n"}, "fields": {"Insurer claim： C-1"}}
	resp := e.ciPost("/incidents/new", form)
	body := bodyOf(t, resp)
	ciStatus(t, "POST /incidents/new", resp, body, http.StatusSeeOther)
	ref := "INC-2026-0001"
	if loc := resp.Header.Get("Location"); loc != "/incidents/"+ref+"?done=inc_created" {
		t.Fatalf("POST /incidents/new: Location %q", loc)
	}
	d := e.ciDetail(ref)
	wantFlags := incident.Flags{PersonalData: true, Sensitive: true, MaliciousIntent: true}
	if d.Flags != wantFlags {
		t.Errorf("flags: got %+v, want %+v (sensitive implies personal data)", d.Flags, wantFlags)
	}
	if !d.AwareAt.Equal(time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("aware at %v, want 09:30 UTC (the form's time in the viewer's zone)", d.AwareAt)
	}
	if len(d.Assignees) != 1 || d.Assignees[0] != e.resp.ID {
		t.Errorf("assignees %v, want [%d]", d.Assignees, e.resp.ID)
	}
	if strings.Join(d.Techniques, " ") != "T1566 T1078.004" || strings.Join(d.Tags, " ") != "mail sales" ||
		strings.Join(d.AffectedUsers, " ") != "tanaka suzuki" || len(d.Fields) != 1 || d.Fields[0] != (incident.Field{Name: "Insurer claim", Value: "C-1"}) {
		t.Errorf("lists: techniques %v, tags %v, users %v, fields %v", d.Techniques, d.Tags, d.AffectedUsers, d.Fields)
	}
	fromPlaybook := 0
	for _, tk := range d.Tasks {
		if tk.Source.PlaybookID == "phishing-bec" {
			fromPlaybook++
		}
	}
	if fromPlaybook == 0 || fromPlaybook != len(d.Tasks) {
		t.Errorf("tasks: %d of %d from phishing-bec, want all and some", fromPlaybook, len(d.Tasks))
	}

	resp, body = e.ciGet("/incidents/" + ref + "?done=inc_created")
	ciStatus(t, "GET overview", resp, body, http.StatusOK)
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt; Invoice mail") {
		t.Errorf("overview: the title is not escaped")
	}
	for _, want := range []string{
		"The incident was opened.",
		// PPC: aware 22 Nov 18:30 JST; the day of awareness is not
		// counted, so the preliminary report is due at the end of the
		// third day after it, the final one 60 days after it (unlawful
		// purpose suspected).
		`id="clock-ppc_preliminary"`, "2026-11-25 23:59 JST", `id="clock-ppc_final"`, "2027-01-21 23:59 JST",
		"Legal deadline", `id="ppc-reportable"`,
		// What to do next comes from the playbook applied.
		`id="next-playbook"`, `id="next-list"`,
		`href="https://attack.mitre.org/techniques/T1078/004/"`,
		`id="tab-tasks"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview: body lacks %q", want)
		}
	}
	if strings.Contains(body, `id="clock-gdpr_authority"`) {
		t.Errorf("overview: a GDPR clock runs without EU residents")
	}

	// In Japanese the deadline reads the Japanese way, still in JST.
	resp = e.do(req{path: "/incidents/" + ref, session: e.session, header: map[string]string{"Accept-Language": "ja"}})
	if body = bodyOf(t, resp); !strings.Contains(body, "2026年11月25日 23:59 (JST)") {
		t.Errorf("overview in Japanese: no 2026年11月25日 23:59 (JST)")
	}
}

func TestIncidentList(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	a := incActorOf(e.resp)
	phish, err := e.inc.Create(ctx, a, incident.Draft{Input: incident.Input{Title: "Phishing at sales", Type: incident.TypePhishing,
		Flags: incident.Flags{PersonalData: true, Over1000: true}}, Assignees: []int64{e.resp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ransom := e.create("Files encrypted on NAS", incident.TypeRansomware)
	dos := e.create("Shop website down", incident.TypeDoS)
	if _, err := e.inc.AddTask(ctx, a, ransom.ID, incident.TaskInput{Title: "Call the insurer", Due: e.clock.now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(time.Minute) // the task's due time is now past

	rows := func(query string) []string {
		t.Helper()
		resp, body := e.ciGet("/incidents" + query)
		ciStatus(t, "GET /incidents"+query, resp, body, http.StatusOK)
		var out []string
		for _, inc := range []incident.Incident{phish, ransom, dos} {
			if strings.Contains(body, `id="incident-`+inc.Ref+`"`) {
				out = append(out, inc.Title)
			}
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  string
	}{
		{"", "Phishing at sales,Files encrypted on NAS,Shop website down"},
		{"?type=ransomware", "Files encrypted on NAS"},
		{"?assignee=mine", "Phishing at sales"},
		{"?q=website", "Shop website down"},
		{"?phase=analysis", ""},
		{"?status=closed", ""},
		{"?status=all&phase=triage", "Phishing at sales,Files encrypted on NAS,Shop website down"},
	} {
		if got := strings.Join(rows(c.query), ","); got != c.want {
			t.Errorf("GET /incidents%s: rows %q, want %q", c.query, got, c.want)
		}
	}
	_, body := e.ciGet("/incidents")
	// Newest first.
	if i, j := strings.Index(body, dos.Ref), strings.Index(body, phish.Ref); i < 0 || j < 0 || i > j {
		t.Errorf("GET /incidents: %s not before %s", dos.Ref, phish.Ref)
	}
	row := body[strings.Index(body, `id="incident-`+ransom.Ref+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "1 overdue task") {
		t.Errorf("GET /incidents: the ransomware row shows no overdue task:\n%s", row)
	}
	row = body[strings.Index(body, `id="incident-`+phish.Ref+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "PPC preliminary report") || !strings.Contains(row, "2026-11-25 23:59 JST") {
		t.Errorf("GET /incidents: the phishing row does not show its PPC clock:\n%s", row)
	}

	resp, body := e.ciGet("/incidents?phase=bogus")
	ciStatus(t, "GET /incidents?phase=bogus", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "“bogus” is not a phase.") {
		t.Errorf("GET /incidents?phase=bogus: no message")
	}

	// Paging: one page holds incListLimit incidents, newest first.
	for i := range incListLimit {
		e.create("More "+strconv.Itoa(i), incident.TypeOther)
	}
	resp, body = e.ciGet("/incidents")
	ciStatus(t, "GET /incidents (page 1)", resp, body, http.StatusOK)
	if strings.Contains(body, `id="incident-`+phish.Ref+`"`) || !strings.Contains(body, `id="incidents-older"`) {
		t.Fatalf("GET /incidents with %d incidents: want the oldest on the next page and a link to it", incListLimit+3)
	}
	m := regexp.MustCompile(`<a href="([^"]*)" id="incidents-older"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET /incidents: no link to older incidents")
	}
	href := html.UnescapeString(m[1])
	resp, body = e.ciGet(href)
	ciStatus(t, "GET "+href, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="incident-`+phish.Ref+`"`) || !strings.Contains(body, `id="incidents-newest"`) {
		t.Errorf("GET %s: want the oldest incident and a link to the newest", href)
	}
}

func TestIncidentViewerAndReporter(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	inc, err := e.inc.Create(ctx, incActorOf(e.resp), incident.Draft{Input: incident.Input{Title: "Ransom note on file server",
		Type: incident.TypeRansomware, Description: "Confidential: payroll share encrypted",
		Flags: incident.Flags{PersonalData: true, FinancialRisk: true}}})
	if err != nil {
		t.Fatal(err)
	}
	e.user("boss", auth.RoleViewer)
	boss := e.testEnv.session("boss")
	resp := e.do(req{path: "/incidents", session: boss})
	body := bodyOf(t, resp)
	ciStatus(t, "GET /incidents as viewer", resp, body, http.StatusOK)
	if !strings.Contains(body, inc.Ref) || strings.Contains(body, `id="new-incident"`) {
		t.Errorf("GET /incidents as viewer: want the row and no new-incident link")
	}
	resp = e.do(req{path: "/incidents/" + inc.Ref, session: boss})
	body = bodyOf(t, resp)
	ciStatus(t, "GET overview as viewer", resp, body, http.StatusOK)
	for _, want := range []string{`id="summary-note"`, "Ransom note on file server", `id="clock-ppc_preliminary"`, `id="time-aware"`} {
		if !strings.Contains(body, want) {
			t.Errorf("summary as viewer: body lacks %q", want)
		}
	}
	for _, unwanted := range []string{"payroll", `id="tab-tasks"`, `id="tab-timeline"`, `id="tab-evidence"`, "<form method=\"post\" action=\"/incidents/"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("summary as viewer: body shows %q", unwanted)
		}
	}
	for _, path := range []string{"/phase", "/edit", "/close", "/assess"} {
		resp := e.do(req{method: http.MethodPost, path: "/incidents/" + inc.Ref + path, session: boss,
			form: url.Values{"phase": {"analysis"}, "version": {"1"}}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as viewer: got %d, want 403", path, resp.StatusCode)
		}
	}
	if resp := e.do(req{path: "/incidents/new", session: boss}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /incidents/new as viewer: got %d, want 403", resp.StatusCode)
	}
	if got := e.ciDetail(inc.Ref); got.Phase != incident.PhaseTriage || got.Version != 1 {
		t.Errorf("after the viewer's POSTs: phase %s, version %d", got.Phase, got.Version)
	}

	e.user("emp", auth.RoleReporter)
	emp := e.testEnv.session("emp")
	for _, path := range []string{"/incidents", "/incidents/" + inc.Ref, "/incidents/new"} {
		if resp := e.do(req{path: path, session: emp}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as reporter: got %d, want 403", path, resp.StatusCode)
		}
	}
	if resp := e.do(req{method: http.MethodPost, path: "/incidents/new", session: emp,
		form: url.Values{"title": {"x"}, "type": {"other"}}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /incidents/new as reporter: got %d, want 403", resp.StatusCode)
	}
}

func TestIncidentDashboardCard(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	ctx := context.Background()
	if _, err := e.inc.Create(ctx, incActorOf(e.resp), incident.Draft{Input: incident.Input{Title: "Card data leak",
		Type: incident.TypeDataLeak, Flags: incident.Flags{PersonalData: true, FinancialRisk: true}}}); err != nil {
		t.Fatal(err)
	}
	e.create("Scan from abroad", incident.TypeScanProbe)
	resp, body := e.ciGet("/")
	ciStatus(t, "GET /", resp, body, http.StatusOK)
	for _, want := range []string{`id="dash-incidents"`, "2 open incidents.", `id="dash-clocks"`, "Card data leak", "2026-11-25 23:59 JST"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard: body lacks %q", want)
		}
	}
}

// TestIncidentMessagesExist checks the message ids the incident pages
// build at run time, in both languages.
func TestIncidentMessagesExist(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"done.inc_created", "done.inc_updated", "done.inc_flags", "done.inc_phase", "done.inc_on_hold",
		"done.inc_resumed", "done.inc_closed", "done.inc_reopened", "done.inc_assigned", "done.inc_assessed",
		"done.inc_severity", "done.inc_linked", "done.inc_unlinked"}
	for _, ph := range incident.Phases {
		if incGenericAdvice[ph] == 0 {
			t.Errorf("phase %s has no generic advice", ph)
		}
		ids = append(ids, incAdviceKeys(ph)...)
		ids = append(ids, "incident.phase."+string(ph))
	}
	for _, k := range incident.DeadlineKinds {
		ids = append(ids, "incidentclock.kind."+string(k))
	}
	for _, s := range incident.DeadlineStates {
		ids = append(ids, "incidentclock.state."+string(s))
	}
	for _, s := range incident.IPASteps {
		ids = append(ids, "incident.ipa_step."+string(s))
	}
	for _, k := range []string{"detected", "aware", "acknowledged", "contained", "resolved", "closed", "created", "updated"} {
		ids = append(ids, "incidents.ov.time."+k)
	}
	for _, n := range incident.PlaybookFlags {
		ids = append(ids, "incidentclock.flag."+n)
	}
	for _, k := range []incident.StepKind{incident.StepTask, incident.StepDecision, incident.StepNextPhase} {
		ids = append(ids, "playbook.step."+string(k))
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}
