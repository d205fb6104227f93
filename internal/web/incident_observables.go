// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// The observables tab of an incident: its observables, shown de-fanged,
// with their IOC flag and source; forms to add one, to extract them from
// pasted text (a preview to choose from, then add) and to remove one; the
// other incidents sharing observables; the alerts taken in. Alerts →
// incidents is in incident_fromalerts.go.

// registerObservables registers the routes of observables and alerts → incidents.
func (s *Server) registerObservables() {
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/observables", s.incidentObservables)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/observables", s.observableAdd)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/observables/extract", s.observablesExtract)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/observables/add", s.observablesAddSelected)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/observables/{id}/ioc", s.observableIOC)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/observables/{id}/delete", s.observableDelete)
	s.handle(Session, auth.PermIncidents, "GET /incidents/new/from-alerts", s.fromAlerts)
	s.handle(Session, auth.PermIncidents, "POST /incidents/new/from-alerts", s.fromAlertsCreate)
	s.handle(Session, auth.PermIncidents, "POST /incidents/add-alerts", s.fromAlertsAdd)
}

// obsPage is the data of an incident's observables tab.
type obsPage struct {
	*Page
	Head incidentHead
	// Open: the incident is not closed, so its observables may change.
	Open    bool
	Kinds   []obsOption
	Items   []obsRow
	Related []relatedView
	Alerts  []incAlertView
	// The add form as typed, when shown again.
	AddKind, AddValue, AddNote string
	AddIOC                     bool
	// The extract form: the text, and what it holds that is new.
	Text      string
	Previewed bool
	Preview   []obsPreview
	// ErrForm names the form the Errors are about: "add", "extract" or
	// "preview".
	ErrForm string
}

// obsOption is an option of a select.
type obsOption struct{ Value, Label string }

// obsRow is one observable as the tab lists it. Value is de-fanged.
type obsRow struct {
	ID                       int64
	Kind                     incident.ObservableKind
	KindLabel, Value, Source string
	SourceHref               string // the alert it came from
	IOC                      bool
	Note, AddedBy            string
	Added                    timeView
}

// relatedView is another incident sharing observables.
type relatedView struct {
	Ref, Title, Href string
	Shared           []string // "kind: de-fanged value"
	Linked           bool
}

// incAlertView is an alert taken into the incident.
type incAlertView struct {
	ID                 int64
	Href, Title, Level string
	Host               string
	First              timeView
}

// obsPreview is an observable found in pasted text: the checkbox value
// ("kind value", canonical) and what the label shows (de-fanged).
type obsPreview struct {
	N                 int
	Value, Label      string
	Kind              incident.ObservableKind
	KindLabel, Source string
}

// incidentObservables shows the tab: GET /incidents/{ref}/observables.
func (s *Server) incidentObservables(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	pg, err := s.obsPageData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incident_observables", pg)
}

// obsPageData builds the tab of incident d.
func (s *Server) obsPageData(r *http.Request, d incident.Detail) (*obsPage, error) {
	ctx, a := r.Context(), incidentActor(r)
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.observables.title", "ref", d.Ref)
	pg := &obsPage{Page: p, Head: headOf(p, d.Incident, "observables", true), Open: !d.Closed(),
		AddKind: string(incident.ObservableIP)}
	for _, k := range incident.ObservableKinds {
		pg.Kinds = append(pg.Kinds, obsOption{Value: string(k), Label: p.T("observable.kind." + string(k))})
	}
	items, err := s.opts.Incidents.Observables(ctx, a, d.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, o := range items {
		row := obsRow{ID: o.ID, Kind: o.Kind, KindLabel: p.T("observable.kind." + string(o.Kind)),
			Value: incident.Defang(o.Observable), IOC: o.IOC, Note: o.Note, AddedBy: o.AddedBy,
			Added: p.timeView(o.AddedAt, now)}
		row.Source, row.SourceHref = obsSource(p, o.Source)
		pg.Items = append(pg.Items, row)
	}
	rel, err := s.opts.Incidents.RelatedIncidents(ctx, a, d.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range rel {
		v := relatedView{Ref: x.Incident.Ref, Title: x.Incident.Title, Href: incidentHref(x.Incident.Ref, "observables"),
			Linked: x.Linked}
		for _, o := range x.Shared {
			v.Shared = append(v.Shared, p.T("observable.kind."+string(o.Kind))+": "+incident.Defang(o))
		}
		pg.Related = append(pg.Related, v)
	}
	links, err := s.opts.Incidents.AlertsOfIncident(ctx, a, d.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		pg.Alerts = append(pg.Alerts, incAlertView{ID: l.AlertID, Href: "/alerts/" + strconv.FormatInt(l.AlertID, 10),
			Title: l.Title, Level: l.Level, Host: l.Host, First: p.timeView(l.FirstSeen, now)})
	}
	return pg, nil
}

// obsSource says where an observable came from, and links the alert.
func obsSource(p *Page, src string) (string, string) {
	switch {
	case src == incident.ObservableSourceManual:
		return p.T("incidents.observables.source_manual"), ""
	case src == incident.ObservableSourceText:
		return p.T("incidents.observables.source_text"), ""
	case strings.HasPrefix(src, incident.ObservableSourceAlert+":"):
		if id, err := strconv.ParseInt(strings.TrimPrefix(src, incident.ObservableSourceAlert+":"), 10, 64); err == nil && id > 0 {
			return p.T("incidents.observables.source_alert") + " #" + strconv.FormatInt(id, 10), "/alerts/" + strconv.FormatInt(id, 10)
		}
	case src == incident.ObservableSourceAlert:
		return p.T("incidents.observables.source_alert"), ""
	}
	return safeLine(src, 64), ""
}

// obsForm handles a form of the tab: it runs act on the incident and goes
// back to the tab with done's notice, or shows the tab again with the
// faults beside form errForm, keep restoring what was typed.
func (s *Server) obsForm(w http.ResponseWriter, r *http.Request, errForm string,
	act func(d incident.Detail, a incident.Actor) (string, error), keep func(pg *obsPage)) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	done, err := act(d, incidentActor(r))
	if err == nil {
		redirectDone(w, r, incidentHref(d.Ref, "observables"), done)
		return
	}
	if fault.KindOf(err) == fault.Internal || fault.KindOf(err) == fault.Forbidden {
		s.fail(w, r, err)
		return
	}
	pg, derr := s.obsPageData(r, d)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	pg.RequestPath = incidentHref(d.Ref, "observables")
	pg.ErrForm = errForm
	keep(pg)
	if !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "incident_observables", pg)
}

// observableAdd adds one observable: POST /incidents/{ref}/observables
// with kind, value, note and ioc.
func (s *Server) observableAdd(w http.ResponseWriter, r *http.Request) {
	s.obsForm(w, r, "add", func(d incident.Detail, a incident.Actor) (string, error) {
		kind, err := incident.ParseObservableKind(r.PostFormValue("kind"))
		if err != nil {
			return "", withFieldName(err, "kind")
		}
		added, err := s.opts.Incidents.AddObservables(r.Context(), a, d.ID, []incident.Observable{{Kind: kind,
			Value: r.PostFormValue("value"), Note: r.PostFormValue("note"), IOC: r.PostFormValue("ioc") == "1",
			Source: incident.ObservableSourceManual}})
		if err != nil {
			return "", err
		}
		if len(added) == 0 {
			return "observable_known", nil
		}
		return "observable_added", nil
	}, func(pg *obsPage) {
		pg.AddKind, pg.AddValue, pg.AddNote = r.PostFormValue("kind"), r.PostFormValue("value"), r.PostFormValue("note")
		pg.AddIOC = r.PostFormValue("ioc") == "1"
	})
}

// withFieldName names the field a fault without one is about.
func withFieldName(err error, field string) error {
	if fs := fault.Faults(err); len(fs) == 1 && fs[0].Field == "" {
		c := *fs[0]
		c.Field = field
		return &c
	}
	return err
}

// observablesExtract shows what pasted text holds: POST
// /incidents/{ref}/observables/extract with text. Nothing is stored: the
// tab comes back with the preview to choose from.
func (s *Server) observablesExtract(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	text := r.PostFormValue("text")
	found, err := s.opts.Incidents.ExtractObservables(r.Context(), incidentActor(r), d.ID, text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.obsPageData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.RequestPath = incidentHref(d.Ref, "observables")
	pg.Text, pg.Previewed = text, true
	for i, o := range found {
		pg.Preview = append(pg.Preview, obsPreview{N: i + 1, Value: string(o.Kind) + " " + o.Value,
			Label: incident.Defang(o), Kind: o.Kind, KindLabel: pg.T("observable.kind." + string(o.Kind))})
	}
	s.render(w, r, http.StatusOK, "incident_observables", pg)
}

// observablesAddSelected adds the observables chosen from a preview: POST
// /incidents/{ref}/observables/add with obs ("kind value", repeated).
func (s *Server) observablesAddSelected(w http.ResponseWriter, r *http.Request) {
	s.obsForm(w, r, "preview", func(d incident.Detail, a incident.Actor) (string, error) {
		vals := r.PostForm["obs"]
		if len(vals) == 0 {
			return "", fault.InvalidField("obs", "incidents.observables.preview_none")
		}
		if len(vals) > incident.MaxExtracted {
			return "", fault.New(fault.Invalid, "incidentobs.too_many", "max", incident.MaxExtracted)
		}
		obs := make([]incident.Observable, 0, len(vals))
		for _, v := range vals {
			k, val, _ := strings.Cut(v, " ")
			obs = append(obs, incident.Observable{Kind: incident.ObservableKind(k), Value: val,
				Source: incident.ObservableSourceText})
		}
		if _, err := s.opts.Incidents.AddObservables(r.Context(), a, d.ID, obs); err != nil {
			return "", err
		}
		return "observables_added", nil
	}, func(pg *obsPage) { pg.Text = r.PostFormValue("text") })
}

// observableIOC flags an observable as an IOC or not: POST
// /incidents/{ref}/observables/{id}/ioc with ioc ("1" or "0").
func (s *Server) observableIOC(w http.ResponseWriter, r *http.Request) {
	s.obsForm(w, r, "list", func(d incident.Detail, a incident.Actor) (string, error) {
		id, err := pathID(r)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.SetIOC(r.Context(), a, d.ID, id, r.PostFormValue("ioc") == "1")
		return "observable_ioc", err
	}, func(*obsPage) {})
}

// observableDelete removes an observable: POST
// /incidents/{ref}/observables/{id}/delete.
func (s *Server) observableDelete(w http.ResponseWriter, r *http.Request) {
	s.obsForm(w, r, "list", func(d incident.Detail, a incident.Actor) (string, error) {
		id, err := pathID(r)
		if err != nil {
			return "", err
		}
		return "observable_removed", s.opts.Incidents.RemoveObservable(r.Context(), a, d.ID, id)
	}, func(*obsPage) {})
}
