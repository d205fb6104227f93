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

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

var _ = addRouteRules(map[string]rule{
	"GET /incidents/{ref}/observables":              {Session, analysts},
	"POST /incidents/{ref}/observables":             {Session, analysts},
	"POST /incidents/{ref}/observables/extract":     {Session, analysts},
	"POST /incidents/{ref}/observables/add":         {Session, analysts},
	"POST /incidents/{ref}/observables/{id}/ioc":    {Session, analysts},
	"POST /incidents/{ref}/observables/{id}/delete": {Session, analysts},
	"GET /incidents/new/from-alerts":                {Session, analysts},
	"POST /incidents/new/from-alerts":               {Session, analysts},
	"POST /incidents/add-alerts":                    {Session, analysts},
})

// obsEnv is a web server with incidents and alerts, and a responder, resp,
// signed in.
type obsEnv struct {
	*incidentEnv
	alerts *alert.Service
}

func newObsEnv(t *testing.T) *obsEnv {
	t.Helper()
	e := newIncidentEnv(t, withAlerts)
	return &obsEnv{incidentEnv: e, alerts: e.srv.opts.Alerts}
}

// send posts form to path as resp and returns the response and its body.
func (e *obsEnv) send(path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{method: http.MethodPost, path: path, form: form, session: e.session})
	return resp, bodyOf(e.t, resp)
}

// fetch gets path as resp.
func (e *obsEnv) fetch(path string) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{path: path, session: e.session})
	return resp, bodyOf(e.t, resp)
}

// wantSeeOther checks a redirect to path with the done notice.
func wantSeeOther(t *testing.T, what string, resp *http.Response, body, path, done string) {
	t.Helper()
	want := path + "?done=" + done
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("%s: got %d %s, want 303 to %s\n%s", what, resp.StatusCode, resp.Header.Get("Location"), want, body)
	}
}

// faultText is err's message in English as a page shows it (escaped).
func faultText(e *obsEnv, err error) string {
	msg, args := fault.Public(err)
	return html.EscapeString(e.srv.cat.T(i18n.English, msg, args...))
}

func TestObservablesTabDefangedAndMalformed(t *testing.T) {
	e := newObsEnv(t)
	inc := e.create("Phishing wave", incident.TypePhishing)
	tab := "/incidents/" + inc.Ref + "/observables"
	resp, body := e.send(tab, url.Values{"kind": {"url"}, "value": {"http://evil.example/login"}, "note": {"<b>from mail</b>"}})
	wantSeeOther(t, "add url", resp, body, tab, "observable_added")
	resp, body = e.send(tab, url.Values{"kind": {"url"}, "value": {"hxxp://evil[.]example/login"}})
	wantSeeOther(t, "add the same url defanged", resp, body, tab, "observable_known")

	resp, body = e.fetch(tab)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", tab, resp.StatusCode, body)
	}
	if !strings.Contains(body, "hxxp://evil[.]example/login") {
		t.Errorf("GET %s: no de-fanged value hxxp://evil[.]example/login", tab)
	}
	if strings.Contains(body, "http://evil.example") {
		t.Errorf("GET %s: the live URL http://evil.example is shown", tab)
	}
	if !strings.Contains(body, "&lt;b&gt;from mail&lt;/b&gt;") || strings.Contains(body, "<b>from mail") {
		t.Errorf("GET %s: the note is not escaped", tab)
	}

	for _, c := range []struct{ kind, value string }{
		{"ip", "999.1.1.1"},
		{"user", `CORP\`},
		{"host", "bad host"},
	} {
		k, _ := incident.ParseObservableKind(c.kind)
		_, perr := incident.ParseObservable(k, c.value)
		if perr == nil {
			t.Fatalf("ParseObservable(%s, %q) accepted it", c.kind, c.value)
		}
		resp, body := e.send(tab, url.Values{"kind": {c.kind}, "value": {c.value}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("add %s %q: got %d, want 400", c.kind, c.value, resp.StatusCode)
		}
		want := faultText(e, perr)
		if !strings.Contains(body, `id="obs-value-error">`+want) {
			t.Errorf("add %s %q: no message %q beside the value", c.kind, c.value, want)
		}
		if !strings.Contains(body, `value="`+html.EscapeString(c.value)+`"`) {
			t.Errorf("add %s %q: the value typed is not kept", c.kind, c.value)
		}
	}
	resp, body = e.send(tab, url.Values{"kind": {"colour"}, "value": {"red"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="obs-kind-error"`) {
		t.Errorf("add kind colour: got %d, want 400 with a message beside the kind", resp.StatusCode)
	}
	obs, err := e.inc.Observables(context.Background(), incActorOf(e.resp), inc.ID)
	if err != nil || len(obs) != 1 {
		t.Errorf("Observables after the refusals: %+v, %v; want the URL only", obs, err)
	}
}

func TestObservablesTabExtractIOCRemove(t *testing.T) {
	e := newObsEnv(t)
	inc := e.create("BEC", incident.TypeBEC)
	tab := "/incidents/" + inc.Ref + "/observables"
	text := "Invoice from billing@evil[.]example, pay to hxxps://pay.evil[.]example/x — sent via 198.51.100.23"
	resp, body := e.send(tab+"/extract", url.Values{"text": {text}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("extract: got %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{`value="email billing@evil.example"`, `value="url https://pay.evil.example/x"`,
		`value="ip 198.51.100.23"`, "hxxps://pay.evil[.]example/x"} {
		if !strings.Contains(body, want) {
			t.Errorf("extract preview lacks %s", want)
		}
	}
	if obs, _ := e.inc.Observables(context.Background(), incActorOf(e.resp), inc.ID); len(obs) != 0 {
		t.Fatalf("extract stored observables: %+v", obs)
	}
	resp, body = e.send(tab+"/add", url.Values{"obs": {"email billing@evil.example", "ip 198.51.100.23"}})
	wantSeeOther(t, "add selected", resp, body, tab, "observables_added")
	obs, err := e.inc.Observables(context.Background(), incActorOf(e.resp), inc.ID)
	if err != nil || len(obs) != 2 || obs[0].Source != incident.ObservableSourceText {
		t.Fatalf("Observables after adding the selection: %+v, %v", obs, err)
	}
	resp, body = e.send(tab+"/add", url.Values{"obs": {"ip 999.1.1.1"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("add selected 999.1.1.1: got %d, want 400\n%s", resp.StatusCode, body)
	}

	id := strconv.FormatInt(obs[0].ID, 10)
	resp, body = e.send(tab+"/"+id+"/ioc", url.Values{"ioc": {"1"}})
	wantSeeOther(t, "flag IOC", resp, body, tab, "observable_ioc")
	_, body = e.fetch(tab)
	if !strings.Contains(body, `id="obs-ioc-`+id+`"`) {
		t.Errorf("GET %s: observable %s not shown as IOC", tab, id)
	}
	resp, body = e.send(tab+"/"+id+"/delete", nil)
	wantSeeOther(t, "remove", resp, body, tab, "observable_removed")
	resp, _ = e.send(tab+"/"+id+"/delete", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("remove twice: got %d, want 404", resp.StatusCode)
	}
}

func TestObservablesTabViewerForbidden(t *testing.T) {
	e := newObsEnv(t)
	inc := e.create("Secret", incident.TypeMalware)
	e.user("vera", auth.RoleViewer)
	viewer := e.testEnv.session("vera")
	for _, r := range []req{
		{path: "/incidents/" + inc.Ref + "/observables"},
		{method: http.MethodPost, path: "/incidents/" + inc.Ref + "/observables", form: url.Values{"kind": {"ip"}, "value": {"192.0.2.1"}}},
		{path: "/incidents/new/from-alerts?alert=1.1"},
	} {
		r.session = viewer
		if resp := e.do(r); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s as a viewer: got %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}
}

// recordAlert stores a detection and returns its alert.
func (e *obsEnv) recordAlert(rule, host, user string, at time.Time, fields ...alert.KV) alert.Alert {
	e.t.Helper()
	d := det(rule, host, user, alert.LevelHigh, at, 0)
	d.Tags = append(d.Tags, "attack.t1486")
	d.Fields = append(d.Fields, fields...)
	a, _, err := e.alerts.Record(context.Background(), d)
	if err != nil {
		e.t.Fatalf("Record(%s): %v", rule, err)
	}
	return a
}

func alertRef(a alert.Alert) string {
	return strconv.FormatInt(a.ID, 10) + "." + strconv.FormatInt(a.Version, 10)
}

func TestIncidentFromAlertsEndToEnd(t *testing.T) {
	e := newObsEnv(t)
	ctx := context.Background()
	now := e.clock.now()
	a1 := e.recordAlert("ransom-note", "FILESRV01", `CORP\tanaka`, now.Add(-2*time.Hour),
		alert.KV{Name: "DestinationIp", Value: "203.0.113.9"})
	a2 := e.recordAlert("shadow-delete", "ws-042", "suzuki", now.Add(-3*time.Hour))

	// The queue offers the button; the page lists the alerts with a title
	// suggested.
	if _, body := e.fetch("/alerts"); !strings.Contains(body, `formaction="/incidents/new/from-alerts"`) {
		t.Errorf("GET /alerts: no button to make an incident from the selection")
	}
	page := "/incidents/new/from-alerts?" + url.Values{"alert": {alertRef(a1), alertRef(a2)}}.Encode()
	resp, body := e.fetch(page)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", page, resp.StatusCode, body)
	}
	for _, want := range []string{`id="from-alert-` + strconv.FormatInt(a1.ID, 10) + `"`, `value="Title of ransom-note (FILESRV01) &#43;1"`,
		`<option value="ransomware" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET %s lacks %s", page, want)
		}
	}

	resp, body = e.send("/incidents/new/from-alerts", url.Values{"alert": {alertRef(a1), alertRef(a2)},
		"title": {"Ransomware on FILESRV01"}, "type": {"ransomware"}, "description": {"Two alerts"}})
	ref := "INC-2026-0001"
	wantSeeOther(t, "create from alerts", resp, body, "/incidents/"+ref+"/observables", "incident_from_alerts")
	d, err := e.inc.IncidentByRef(ctx, incActorOf(e.resp), "", ref)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Ransomware on FILESRV01" || !d.DetectedAt.Equal(a2.FirstSeen) || len(d.AffectedAssets) != 2 {
		t.Errorf("incident %s: title %q detected %v assets %v", ref, d.Title, d.DetectedAt, d.AffectedAssets)
	}
	for _, a := range []alert.Alert{a1, a2} {
		got, err := e.alerts.Alert(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != alert.StateTruePositive || !strings.Contains(got.StateReason, ref) {
			t.Errorf("alert %d after the incident: state %s reason %q, want true_positive naming %s", a.ID, got.State,
				got.StateReason, ref)
		}
	}
	_, body = e.fetch("/incidents/" + ref + "/observables")
	for _, want := range []string{"203.0.113[.]9", "filesrv01", `id="incident-alert-` + strconv.FormatInt(a1.ID, 10) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("observables tab of %s lacks %s", ref, want)
		}
	}
	_, body = e.fetch("/alerts/" + strconv.FormatInt(a1.ID, 10))
	if !strings.Contains(body, `id="alert-in"`) || !strings.Contains(body, ">"+ref+"</a>") {
		t.Errorf("alert page of %d does not say it is in %s", a1.ID, ref)
	}

	// Adding an alert the incident has is refused, and changes nothing.
	cur, _ := e.alerts.Alert(ctx, a1.ID)
	resp, body = e.send("/incidents/add-alerts", url.Values{"alert": {alertRef(cur.Alert)}, "incident": {ref}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, html.EscapeString(
		e.srv.cat.T(i18n.English, "incidentobs.alert_taken", "id", a1.ID, "ref", ref))) {
		t.Errorf("add alert %d to %s again: got %d, want 409 saying it is there\n%s", a1.ID, ref, resp.StatusCode, body)
	}

	// A third alert merges into the incident.
	a3 := e.recordAlert("c2-beacon", "ws-099", "", now.Add(-time.Hour))
	resp, body = e.send("/incidents/add-alerts", url.Values{"alert": {alertRef(a3)}, "incident": {ref}})
	wantSeeOther(t, "add alert 3", resp, body, "/incidents/"+ref+"/observables", "alerts_added")
	if links, _ := e.inc.AlertsOfIncident(ctx, incActorOf(e.resp), d.ID); len(links) != 3 {
		t.Errorf("AlertsOfIncident after the merge: %+v, want 3", links)
	}
	resp, body = e.send("/incidents/add-alerts", url.Values{"alert": {alertRef(a3)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="fa-incident-error"`) {
		t.Errorf("add without an incident: got %d, want 400 beside the incident", resp.StatusCode)
	}
}

// TestIncidentFromAlertsNothingHalfSaved: an alert changed since the page
// was shown refuses the whole request: no incident, no alert moved.
func TestIncidentFromAlertsNothingHalfSaved(t *testing.T) {
	e := newObsEnv(t)
	ctx := context.Background()
	now := e.clock.now()
	a1 := e.recordAlert("r1", "h1", "", now.Add(-time.Hour))
	a2 := e.recordAlert("r2", "h2", "", now.Add(-time.Hour))
	stale := alertRef(a2)
	if _, err := e.alerts.Transition(ctx, actorOf(e.resp), []alert.Ref{{ID: a2.ID}}, alert.StateAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	resp, body := e.send("/incidents/new/from-alerts", url.Values{"alert": {alertRef(a1), stale}, "title": {"x"},
		"type": {"malware"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "#"+strconv.FormatInt(a2.ID, 10)) {
		t.Errorf("create with a stale alert: got %d, want 409 naming alert %d\n%s", resp.StatusCode, a2.ID, body)
	}
	if pg, err := e.inc.Incidents(ctx, incActorOf(e.resp), incident.Filter{}); err != nil || len(pg.Incidents) != 0 {
		t.Errorf("incidents after the refusal: %+v, %v; want none", pg.Incidents, err)
	}
	if got, _ := e.alerts.Alert(ctx, a1.ID); got.State != alert.StateNew {
		t.Errorf("alert %d after the refusal: %s, want new", a1.ID, got.State)
	}
	// A closed (false positive) alert cannot be taken without a reopen.
	if _, err := e.alerts.Transition(ctx, actorOf(e.resp), []alert.Ref{{ID: a1.ID}}, alert.StateFalsePositive, "noise"); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.alerts.Alert(ctx, a1.ID)
	resp, _ = e.send("/incidents/new/from-alerts", url.Values{"alert": {alertRef(cur.Alert)}, "title": {"x"}, "type": {"malware"}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("create from a false positive: got %d, want 409", resp.StatusCode)
	}
	// No alert selected.
	resp, _ = e.fetch("/incidents/new/from-alerts")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET without alerts: got %d, want 400", resp.StatusCode)
	}
	resp, _ = e.fetch("/incidents/new/from-alerts?alert=" + url.QueryEscape("1.x"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET with a malformed alert: got %d, want 400", resp.StatusCode)
	}
}

func TestIncidentObservablesRelatedShown(t *testing.T) {
	e := newObsEnv(t)
	ctx := context.Background()
	a := e.create("First", incident.TypeMalware)
	b := e.create("Second", incident.TypeMalware)
	for _, inc := range []incident.Incident{a, b} {
		if _, err := e.inc.AddObservables(ctx, incActorOf(e.resp), inc.ID, []incident.Observable{
			{Kind: incident.ObservableDomain, Value: "shared.evil.example"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, body := e.fetch("/incidents/" + b.Ref + "/observables")
	for _, want := range []string{`id="related-` + a.Ref + `"`, `href="/incidents/` + a.Ref + `/observables"`,
		"shared[.]evil[.]example", `id="related-link-` + a.Ref + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("observables tab of %s lacks %s", b.Ref, want)
		}
	}
}
