// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Alerts → incidents: the page the alert queue's "incident from selected"
// and the alert page's button lead to, which opens a new incident from the
// alerts or adds them to an open one. Either is one transaction
// (Options.Tx) with the alerts' move to true positive, whose reason names
// the incident: nothing is half-saved.

// fromAlertsPage is the data of the alerts → incident page.
type fromAlertsPage struct {
	*Page
	Alerts []fromAlertRow
	// Refs are the alerts' "id.version", carried by the forms.
	Refs        []string
	Title       string
	Type        incident.Type
	Description string
	Types       []obsOption
	// Open are the incidents the alerts may be added to.
	Open     []obsOption
	Incident string // the one chosen
	// ErrForm names the form the Errors are about: "create" or "add".
	ErrForm string
}

// fromAlertRow is a selected alert.
type fromAlertRow struct {
	ID                       int64
	Href, Title, Level, Host string
	User                     string
	State                    alert.State
	First                    timeView
	In                       []obsOption // incidents it is in already: ref, href
}

// alertIncidentsView is what an alert's page shows of incidents.
type alertIncidentsView struct {
	Shown bool // the viewer may work on incidents
	In    []obsOption
	Href  string // the alerts → incident page for this alert
}

// CanIncidents reports whether the viewer may open and change incidents,
// for the alert queue's "incident from selected" button.
func (p *Page) CanIncidents() bool { return auth.Can(p.Role, auth.PermIncidents) }

// alertIncidents fills what an alert's page shows of incidents: those it
// is in, and the way to make or extend one.
func (s *Server) alertIncidents(r *http.Request, a alert.Alert) alertIncidentsView {
	var v alertIncidentsView
	p := principal(r)
	if s.opts.Incidents == nil || p == nil || !p.Can(auth.PermIncidents) {
		return v
	}
	v.Shown = true
	v.Href = "/incidents/new/from-alerts?" + url.Values{"alert": {strconv.FormatInt(a.ID, 10) + "." +
		strconv.FormatInt(a.Version, 10)}}.Encode()
	in, err := s.opts.Incidents.IncidentsOfAlert(r.Context(), incidentActor(r), a.Tenant, a.ID)
	if err != nil {
		s.log.ErrorContext(r.Context(), "incidents of alert", "error", err, "alert_id", a.ID, "request_id", info(r).id)
		return v
	}
	for _, x := range in {
		v.In = append(v.In, obsOption{Value: x.Incident.Ref, Label: incidentHref(x.Incident.Ref, "")})
	}
	return v
}

// alertsOn reports whether both services are there, else fails the
// request.
func (s *Server) alertsOn(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Incidents == nil || s.opts.Alerts == nil {
		s.fail(w, r, fault.New(fault.NotFound, "error.not_found"))
		return false
	}
	return true
}

// selectedAlerts reads the alerts the request names ("id.version", at most
// incident.MaxAlertsAtOnce) and their incident inputs.
func (s *Server) selectedAlerts(ctx context.Context, vals []string) ([]alert.Ref, []alert.Detail, error) {
	refs, err := parseRefs(vals)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(refs) == 0:
		return nil, nil, fault.InvalidField("alerts", "incidentobs.no_alerts")
	case len(refs) > incident.MaxAlertsAtOnce:
		return nil, nil, fault.InvalidField("alerts", "incidentobs.too_many_alerts", "max", incident.MaxAlertsAtOnce)
	}
	out := make([]alert.Detail, 0, len(refs))
	for _, ref := range refs {
		a, err := s.opts.Alerts.Alert(ctx, ref.ID)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, a)
	}
	return refs, out, nil
}

// alertInput converts an alert for the incident service.
func alertInput(a alert.Alert) incident.AlertInput {
	in := incident.AlertInput{ID: a.ID, Tenant: a.Tenant, Title: a.RuleTitle, Level: string(a.Level), Host: a.Host,
		User: a.User, Techniques: a.Techniques(), FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count}
	if in.Title == "" {
		in.Title = a.RuleID
	}
	for _, f := range a.Fields {
		in.Fields = append(in.Fields, incident.AlertField(f))
	}
	return in
}

// fromAlertsData builds the page for the alerts vals name. A problem with
// the selection itself is returned for the caller to show.
func (s *Server) fromAlertsData(r *http.Request, vals []string) (*fromAlertsPage, error) {
	ctx, a := r.Context(), incidentActor(r)
	p := s.page(r, "incidents", "incidents.fromalerts.title")
	pg := &fromAlertsPage{Page: p}
	for _, t := range incident.Types() {
		pg.Types = append(pg.Types, obsOption{Value: string(t), Label: p.T("incident.type." + string(t))})
	}
	list, err := s.opts.Incidents.Incidents(ctx, a, incident.Filter{Tenant: tenantOf(r),
		Statuses: []incident.Status{incident.StatusOpen, incident.StatusOnHold}, Limit: incident.MaxLimit})
	if err != nil {
		return nil, err
	}
	for _, inc := range list.Incidents {
		pg.Open = append(pg.Open, obsOption{Value: inc.Ref, Label: inc.Ref + " " + inc.Title})
	}
	refs, alerts, err := s.selectedAlerts(ctx, vals)
	if err != nil {
		return pg, err
	}
	now := s.now()
	inputs := make([]incident.AlertInput, len(alerts))
	for i, al := range alerts {
		pg.Refs = append(pg.Refs, strconv.FormatInt(refs[i].ID, 10)+"."+strconv.FormatInt(refs[i].Version, 10))
		row := fromAlertRow{ID: al.ID, Href: "/alerts/" + strconv.FormatInt(al.ID, 10), Title: safeLine(al.RuleTitle, 500),
			Level: p.T("alert.level." + string(al.Level)), Host: safeLine(al.Host, 200), User: safeLine(al.User, 200),
			State: al.State, First: p.timeView(al.FirstSeen, now)}
		in, err := s.opts.Incidents.IncidentsOfAlert(ctx, a, al.Tenant, al.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range in {
			row.In = append(row.In, obsOption{Value: x.Incident.Ref, Label: incidentHref(x.Incident.Ref, "")})
		}
		pg.Alerts = append(pg.Alerts, row)
		inputs[i] = alertInput(al.Alert)
	}
	pg.Title, pg.Type = incident.SuggestTitle(inputs), incident.SuggestType(inputs)
	return pg, nil
}

// fromAlerts shows the page: GET /incidents/new/from-alerts with alert
// ("id.version", repeated).
func (s *Server) fromAlerts(w http.ResponseWriter, r *http.Request) {
	if !s.alertsOn(w, r) {
		return
	}
	pg, err := s.fromAlertsData(r, r.URL.Query()["alert"])
	if err != nil {
		if pg == nil || !pg.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "incident_from_alerts", pg)
		return
	}
	s.render(w, r, http.StatusOK, "incident_from_alerts", pg)
}

// alertFailed is an alert whose move to true positive was refused.
type alertFailed struct {
	id  int64
	err error
}

func (e *alertFailed) Error() string {
	return "alert " + strconv.FormatInt(e.id, 10) + ": " + e.err.Error()
}
func (e *alertFailed) Unwrap() error { return e.err }

// takeAlerts runs change (which makes or extends the incident and returns
// its reference) and moves the alerts to true positive naming it, in one
// transaction.
func (s *Server) takeAlerts(r *http.Request, refs []alert.Ref, reason func(ref string) string,
	change func(ctx context.Context) (string, error)) (string, error) {
	var ref string
	err := s.opts.Tx(r.Context(), func(ctx context.Context) error {
		var err error
		if ref, err = change(ctx); err != nil {
			return err
		}
		res, err := s.opts.Alerts.Transition(ctx, alertActor(r), refs, alert.StateTruePositive, reason(ref))
		if err != nil {
			return err
		}
		for _, x := range res {
			if x.Err != nil {
				return &alertFailed{id: x.ID, err: x.Err}
			}
		}
		return nil
	})
	return ref, err
}

// fromAlertsFail shows the page again with err, or fails the request.
func (s *Server) fromAlertsFail(w http.ResponseWriter, r *http.Request, form string, err error, keep func(pg *fromAlertsPage)) {
	var af *alertFailed
	if errors.As(err, &af) && fault.KindOf(af.err) != fault.Internal {
		// Say which alert, in the viewer's words.
		msg, args := fault.Public(af.err)
		p := s.page(r, "", "")
		err = fault.New(fault.KindOf(af.err), "incidents.fromalerts.alert_failed", "id", af.id, "why", p.T(msg, args...))
	}
	if k := fault.KindOf(err); k == fault.Internal || k == fault.Forbidden {
		s.fail(w, r, err)
		return
	}
	pg, derr := s.fromAlertsData(r, r.PostForm["alert"])
	if pg == nil {
		s.fail(w, r, derr)
		return
	}
	if derr != nil {
		err = derr // the selection itself is wrong: say that
	}
	pg.RequestPath, pg.ErrForm = "/incidents/new/from-alerts", form
	keep(pg)
	if !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "incident_from_alerts", pg)
}

// fromAlertsCreate opens an incident from alerts: POST
// /incidents/new/from-alerts with alert ("id.version", repeated), title,
// type and description.
func (s *Server) fromAlertsCreate(w http.ResponseWriter, r *http.Request) {
	if !s.alertsOn(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "", "")
	d := incident.Draft{Tenant: tenantOf(r), Input: incident.Input{Title: r.PostFormValue("title"),
		Type: incident.Type(r.PostFormValue("type")), Description: r.PostFormValue("description")}}
	refs, alerts, err := s.selectedAlerts(r.Context(), r.PostForm["alert"])
	var ref string
	if err == nil {
		inputs := make([]incident.AlertInput, len(alerts))
		for i, al := range alerts {
			inputs[i] = alertInput(al.Alert)
		}
		ref, err = s.takeAlerts(r, refs, func(ref string) string { return p.T("incidents.fromalerts.reason", "ref", ref) },
			func(ctx context.Context) (string, error) {
				inc, err := s.opts.Incidents.CreateFromAlerts(ctx, incidentActor(r), d, inputs)
				return inc.Ref, err
			})
	}
	if err != nil {
		s.fromAlertsFail(w, r, "create", err, func(pg *fromAlertsPage) {
			pg.Title, pg.Type, pg.Description = r.PostFormValue("title"), d.Type, r.PostFormValue("description")
		})
		return
	}
	redirectDone(w, r, incidentHref(ref, "observables"), "incident_from_alerts")
}

// fromAlertsAdd adds alerts to an open incident: POST /incidents/add-alerts
// with alert ("id.version", repeated) and incident (its reference).
func (s *Server) fromAlertsAdd(w http.ResponseWriter, r *http.Request) {
	if !s.alertsOn(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "", "")
	a := incidentActor(r)
	refs, alerts, err := s.selectedAlerts(r.Context(), r.PostForm["alert"])
	var ref string
	if err == nil {
		inputs := make([]incident.AlertInput, len(alerts))
		for i, al := range alerts {
			inputs[i] = alertInput(al.Alert)
		}
		ref, err = s.takeAlerts(r, refs, func(ref string) string { return p.T("incidents.fromalerts.reason", "ref", ref) },
			func(ctx context.Context) (string, error) {
				want := r.PostFormValue("incident")
				if want == "" {
					return "", fault.InvalidField("incident", "incidents.fromalerts.bad_incident")
				}
				d, err := s.opts.Incidents.IncidentByRef(ctx, a, tenantOf(r), want)
				if fault.Is(err, fault.NotFound) {
					return "", fault.InvalidField("incident", "incident.ref_not_found", "ref", safeLine(want, 40))
				} else if err != nil {
					return "", err
				}
				inc, err := s.opts.Incidents.AddAlerts(ctx, a, incident.Ref{ID: d.ID}, inputs)
				return inc.Ref, err
			})
	}
	if err != nil {
		s.fromAlertsFail(w, r, "add", err, func(pg *fromAlertsPage) { pg.Incident = r.PostFormValue("incident") })
		return
	}
	redirectDone(w, r, incidentHref(ref, "observables"), "alerts_added")
}
