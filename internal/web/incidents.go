// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// registerIncidents registers the routes of list, new, overview, lifecycle.
func (s *Server) registerIncidents() {
	s.handle(Session, auth.PermIncidentSummaries, "GET /incidents", s.incidents)
	s.handle(Session, auth.PermIncidents, "GET /incidents/new", s.incidentNew)
	s.handle(Session, auth.PermIncidents, "POST /incidents/new", s.incidentNewPost)
	s.handle(Session, auth.PermIncidentSummaries, "GET /incidents/{ref}", s.incidentOverview)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/edit", s.incidentEdit)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/flags", s.incidentFlags)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/phase", s.incidentPhase)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/status", s.incidentStatus)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/close", s.incidentClose)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/reopen", s.incidentReopen)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/assign", s.incidentAssign)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/assess", s.incidentAssess)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/severity", s.incidentOverride)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/links", s.incidentLink)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/links/delete", s.incidentUnlink)
}

// The status choices of the list's filter besides the statuses themselves.
const (
	incStatusActive = "" // open and on hold: the default
	incStatusAll    = "all"
)

// incListLimit is how many incidents one page of the list shows.
const incListLimit = 50

// incListQuery is the list's filter as the query string gives it, kept
// for the form and the paging links.
type incListQuery struct {
	Status, Phase, Type, Severity, Assignee, Q string
	After                                      int64
}

// values is q as query parameters, without the cursor.
func (q incListQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "phase": q.Phase, "type": q.Type,
		"severity": q.Severity, "assignee": q.Assignee, "q": q.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// parseIncListQuery reads status, phase, type, severity, assignee ("" or
// "mine"), q and after; values the service does not know are its to refuse.
func parseIncListQuery(v url.Values, me int64) (incListQuery, incident.Filter, error) {
	q := incListQuery{Status: strings.TrimSpace(v.Get("status")), Phase: strings.TrimSpace(v.Get("phase")),
		Type: strings.TrimSpace(v.Get("type")), Severity: strings.TrimSpace(v.Get("severity")),
		Assignee: strings.TrimSpace(v.Get("assignee")), Q: strings.TrimSpace(v.Get("q"))}
	f := incident.Filter{Text: q.Q, Limit: incListLimit}
	var errs fault.List
	switch q.Status {
	case incStatusActive:
		f.Statuses = []incident.Status{incident.StatusOpen, incident.StatusOnHold}
	case incStatusAll:
	default:
		f.Statuses = []incident.Status{incident.Status(q.Status)}
	}
	if q.Phase != "" {
		f.Phases = []incident.Phase{incident.Phase(q.Phase)}
	}
	if q.Type != "" {
		f.Types = []incident.Type{incident.Type(q.Type)}
	}
	if q.Severity != "" {
		f.Severities = []incident.Severity{incident.Severity(q.Severity)}
	}
	switch q.Assignee {
	case "":
	case "mine":
		f.AssigneeID = me
	default:
		errs = append(errs, fault.InvalidField("assignee", "incidents.list.bad_assignee"))
	}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fault.InvalidField("after", "incident.cursor_invalid"))
		}
		q.After, f.After = n, n
	}
	return q, f, errs.Err()
}

// incListPage is the data of the incident list.
type incListPage struct {
	*Page
	In   incListQuery
	Rows []incRow
	// Full: the reader may open incidents in full and create them.
	Full       bool
	Configured bool
	// Filtered: a filter other than the default is set (an empty list
	// then means "nothing matches" rather than "no incidents yet").
	Filtered           bool
	FirstURL, OlderURL string
	Statuses           []incident.Status
	Phases             []incident.Phase
	Types              []incident.Type
	Severities         []incident.Severity
}

// incRow is one incident of the list. Texts are escaped by the template.
type incRow struct {
	Ref, Title, Href string
	Type             incident.Type
	Status           incident.Status
	Phase            incident.Phase
	Severity         incident.Severity
	Assignees        []string
	// Clock is the next clock to meet; nil when none runs.
	Clock *incClock
	// Overdue counts the incident's overdue tasks.
	Overdue int
	Created timeView
}

// incidents is the incident list: GET /incidents.
func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "incidents", "incidents.list.title")
	pr := principal(r)
	d := &incListPage{Page: p, Full: pr.Can(auth.PermIncidents), Configured: s.opts.Incidents != nil,
		Statuses: incident.Statuses, Phases: incident.Phases, Types: incident.Types(), Severities: incident.Severities}
	if !d.Configured {
		s.render(w, r, http.StatusOK, "incidents", d)
		return
	}
	q, f, err := parseIncListQuery(r.URL.Query(), pr.User.ID)
	d.In = q
	d.Filtered = q.Status != "" || q.Phase != "" || q.Type != "" || q.Severity != "" || q.Assignee != "" || q.Q != ""
	f.Tenant = tenantOf(r)
	var pg incident.Page
	if err == nil {
		pg, err = s.opts.Incidents.Incidents(r.Context(), incidentActor(r), f)
	}
	if err != nil {
		if !p.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "incidents", d)
		return
	}
	names, err := s.userLabels(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	overdue, err := s.overdueByIncident(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	for _, inc := range pg.Incidents {
		row := incRow{Ref: inc.Ref, Title: safeLine(inc.Title, 300), Href: incidentHref(inc.Ref, ""), Type: inc.Type,
			Status: inc.Status, Phase: inc.Phase, Severity: inc.Severity, Overdue: overdue[inc.ID],
			Created: p.timeView(inc.CreatedAt, now)}
		for _, id := range inc.Assignees {
			row.Assignees = append(row.Assignees, names.label(id))
		}
		if !inc.Closed() {
			row.Clock = nextClock(s.incClocks(p, inc, now))
		}
		d.Rows = append(d.Rows, row)
	}
	v := q.values()
	if q.After != 0 {
		d.FirstURL = "/incidents?" + v.Encode()
	}
	if pg.Next != 0 {
		v.Set("after", strconv.FormatInt(pg.Next, 10))
		d.OlderURL = "/incidents?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "incidents", d)
}

// overdueByIncident counts the tenant's overdue tasks by incident id.
func (s *Server) overdueByIncident(ctx context.Context, r *http.Request) (map[int64]int, error) {
	ts, err := s.opts.Incidents.OverdueTasks(ctx, incidentActor(r), tenantOf(r), 500)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(ts))
	for _, t := range ts {
		out[t.IncidentID]++
	}
	return out, nil
}

// incPeople are koban's users by id, as incident pages name them.
type incPeople map[int64]string

// label names user id, or says the user is unknown.
func (n incPeople) label(id int64) string {
	if l, ok := n[id]; ok {
		return l
	}
	return "#" + strconv.FormatInt(id, 10)
}

// userLabels names every user: "Display name (login)".
func (s *Server) userLabels(ctx context.Context) (incPeople, error) {
	us, err := s.auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make(incPeople, len(us))
	for _, u := range us {
		label := u.Name
		if u.DisplayName != "" && u.DisplayName != u.Name {
			label = u.DisplayName + " (" + u.Name + ")"
		}
		out[u.ID] = safeLine(label, 200)
	}
	return out, nil
}

// incAssignable lists the enabled users who may handle incidents.
func (s *Server) incAssignable(ctx context.Context) ([]assignee, error) {
	us, err := s.auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	var out []assignee
	for _, u := range us {
		if !u.Disabled && auth.Can(u.Role, auth.PermIncidents) {
			label := u.Name
			if u.DisplayName != "" && u.DisplayName != u.Name {
				label = u.DisplayName + " (" + u.Name + ")"
			}
			out = append(out, assignee{ID: u.ID, Label: safeLine(label, 200)})
		}
	}
	return out, nil
}
