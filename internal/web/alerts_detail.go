// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

const (
	// contextWindow is how far before the first and after the last
	// detection the event context of an alert reaches.
	contextWindow = 15 * time.Minute
	// contextSide is how many events of the alert's host the alert page
	// shows before and after its first event.
	contextSide = 10
	// contextScan bounds the events read to find the ones just after the
	// first event when many share a minute.
	contextScan = 1000
)

// suppressExpiries are the lifetimes "suppress similar" offers, in order.
// The alert service refuses a suppression that never expires (it has
// CreateExclusion for permanent tuning), so none is offered here.
var suppressExpiries = []expiry{
	{"1d", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
}

// expiry is a lifetime a suppression may be given.
type expiry struct {
	Key string
	D   time.Duration
}

// defaultExpiry is the lifetime chosen when the form opens.
const defaultExpiry = "7d"

// alertPage is the data of one alert's page.
type alertPage struct {
	*Page
	A     alertView
	Next  []stateAction
	Users []assignee
	// Reason is the triage reason as typed, when the page is shown again.
	Reason string
	// CanSuppress: the alert is open or a false positive, which "suppress
	// similar" needs.
	CanSuppress    bool
	Suppress       []suppressField
	SuppressReason string
	Expiries       []string
	Expiry         string
	// ContextURL searches the events around the alert.
	ContextURL string
	// ContextShown: the events of the host around the first event were
	// looked up (an event store is there and the alert names a host).
	ContextShown bool
	Context      []contextEvent
	ContextNote  string // why Context is incomplete or missing, translated
	// Incidents: those the alert is in, and the way to open or extend one
	// (incident_fromalerts.go).
	Incidents alertIncidentsView
}

// alertView is an alert as its page shows it. Texts have been through
// safeLine or safeText.
type alertView struct {
	ID, Version, Count, AssigneeID int64
	EventRefs                      int
	Level                          alert.Level
	State                          alert.State
	StateReason                    string
	Title, RuleID, Source, Tenant  string
	Host, User, Assignee           string
	RuleHref, HostHref, UserHref   string
	First, Last, Created, Updated  timeView
	Fields                         []fieldView
	Tags                           []string
	Techniques                     []technique
	Tactics                        []string
	EventIDs                       []string
	History                        []historyView
}

// stateAction is a state the alert may move to and how to say so.
type stateAction struct {
	State       alert.State
	Label       string
	NeedsReason bool
}

// suppressField is a value "suppress similar" may match on.
type suppressField struct {
	Name    string // alert.FieldHost, alert.FieldUser or a key field's name
	Label   string
	Value   string
	Checked bool
	Key     bool // a key field, named as the event names it
}

// historyView is one history entry as the page shows it.
type historyView struct {
	At             timeView
	Actor, Action  string
	From, To       string
	Reason         string
	ExclusionsHref string // set for a suppression
}

// contextEvent is one event around the alert.
type contextEvent struct {
	eventView
	Linked bool // one of the alert's events
	Anchor bool // the event the context is centred on
}

// alertPageData builds the page of alert id.
func (s *Server) alertPageData(r *http.Request, id int64) (*alertPage, error) {
	ctx := r.Context()
	a, err := s.opts.Alerts.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	p := s.page(r, "alerts", "")
	s.alertsFlash(p, r)
	d := &alertPage{Page: p, Expiries: make([]string, 0, len(suppressExpiries)), Expiry: defaultExpiry}
	for _, e := range suppressExpiries {
		d.Expiries = append(d.Expiries, e.Key)
	}
	now := s.now()
	d.A = alertViewOf(p, a, now)
	d.Title = p.T("alerts.detail_title", "id", a.ID)
	for _, st := range alert.Next(a.State) {
		label := p.T("alerts.action." + string(st))
		if st == alert.StateAcknowledged && !a.State.Open() {
			label = p.T("alerts.action.reopen")
		}
		d.Next = append(d.Next, stateAction{State: st, Label: label, NeedsReason: alert.NeedsReason(st)})
	}
	if d.Users, err = s.assignees(ctx); err != nil {
		return nil, err
	}
	d.CanSuppress = a.State.Open() || a.State == alert.StateFalsePositive
	if a.Host != "" {
		d.Suppress = append(d.Suppress, suppressField{Name: alert.FieldHost, Label: p.T("alerts.host"), Value: d.A.Host, Checked: true})
	}
	if a.User != "" {
		d.Suppress = append(d.Suppress, suppressField{Name: alert.FieldUser, Label: p.T("alerts.user"), Value: d.A.User})
	}
	for i, f := range a.Fields {
		if f.Value != "" && f.Name != alert.FieldHost && f.Name != alert.FieldUser {
			d.Suppress = append(d.Suppress, suppressField{Name: f.Name, Label: d.A.Fields[i].Name, Value: d.A.Fields[i].Value, Key: true})
		}
	}
	s.alertContext(r, d, a)
	d.Incidents = s.alertIncidents(r, a.Alert)
	return d, nil
}

func alertViewOf(p *Page, a alert.Detail, now time.Time) alertView {
	v := alertView{ID: a.ID, Version: a.Version, Count: a.Count, AssigneeID: a.AssigneeID, EventRefs: a.EventRefs,
		Level: a.Level, State: a.State, StateReason: safeLine(a.StateReason, 2000), Title: safeLine(a.RuleTitle, 500),
		RuleID: safeLine(a.RuleID, 200), Source: safeLine(a.Source, 100), Tenant: safeLine(a.Tenant, 100),
		Host: safeLine(a.Host, 200), User: safeLine(a.User, 200), Assignee: safeLine(a.AssigneeName, 200),
		First: p.timeView(a.FirstSeen, now), Last: p.timeView(a.LastSeen, now),
		Created: p.timeView(a.CreatedAt, now), Updated: p.timeView(a.UpdatedAt, now),
		Techniques: techniques(a.Tags), Tactics: a.Tactics()}
	if v.Title == "" {
		v.Title = v.RuleID
	}
	row := alertRowOf(p, a.Alert, now, false)
	v.RuleHref, v.HostHref, v.UserHref = row.RuleHref, row.HostHref, row.UserHref
	for _, f := range a.Fields {
		val, cut := safeText(f.Value, pageValueRunes)
		v.Fields = append(v.Fields, fieldView{Name: safeLine(f.Name, 200), Value: val, Cut: cut})
	}
	for _, t := range a.Tags {
		v.Tags = append(v.Tags, safeLine(t, 200))
	}
	for _, id := range a.EventIDs {
		// Stored ids were parsed when recorded; check again before they
		// become links.
		if eid, err := event.ParseID(id); err == nil {
			v.EventIDs = append(v.EventIDs, eid.String())
		}
	}
	for _, h := range a.History {
		v.History = append(v.History, historyViewOf(p, h, now))
	}
	return v
}

// historyViewOf says what a history entry records in the viewer's
// language.
func historyViewOf(p *Page, h alert.HistoryEntry, now time.Time) historyView {
	v := historyView{At: p.timeView(h.At, now), Actor: safeLine(h.Actor, 200), Reason: safeLine(h.Reason, 2000)}
	if id := "alerts.history." + string(h.Action); p.cat.Has(p.Lang, id) {
		v.Action = p.T(id)
	} else {
		v.Action = safeLine(string(h.Action), 100)
	}
	word := func(prefix, s string) string {
		if s != "" && p.cat.Has(p.Lang, prefix+s) {
			return p.T(prefix + s)
		}
		return safeLine(s, 200)
	}
	switch h.Action {
	case alert.ActionCreated, alert.ActionState:
		v.From, v.To = word("alert.state.", h.From), word("alert.state.", h.To)
	case alert.ActionEscalate:
		v.From, v.To = word("alert.level.", h.From), word("alert.level.", h.To)
	case alert.ActionAssign:
		v.From, v.To = safeLine(h.From, 200), safeLine(h.To, 200)
		if v.From == "" {
			v.From = p.T("alerts.nobody")
		}
		if v.To == "" {
			v.To = p.T("alerts.nobody")
		}
	case alert.ActionSuppressed:
		if _, err := strconv.ParseInt(h.To, 10, 64); err == nil {
			v.To = "#" + h.To
			v.ExclusionsHref = "/alerts/exclusions#exclusion-" + h.To
		}
	default:
		v.From, v.To = safeLine(h.From, 200), safeLine(h.To, 200)
	}
	return v
}

// alertContext fills the event context: the search link always, and the
// events of the alert's host around its first event when an event store is
// there.
func (s *Server) alertContext(r *http.Request, d *alertPage, a alert.Detail) {
	v := url.Values{}
	if a.Host != "" {
		v.Set("q", "host:"+quoteValue(a.Host))
	}
	v.Set("range", customRange)
	v.Set("from", a.FirstSeen.Add(-contextWindow).UTC().Format(time.RFC3339Nano))
	v.Set("to", a.LastSeen.Add(contextWindow).UTC().Format(time.RFC3339Nano))
	d.ContextURL = "/events?" + v.Encode()
	if s.opts.Events == nil || a.Host == "" {
		return
	}
	d.ContextShown = true
	ctx, cancel := s.searchContext(r)
	defer cancel()
	evs, anchor, err := s.eventsAround(ctx, a)
	switch {
	case timedOut(ctx, err):
		d.ContextNote = d.T("alerts.context_timeout", "seconds", int(s.searchTimeout()/time.Second))
	case err != nil:
		s.log.ErrorContext(r.Context(), "alert event context", "error", err, "alert_id", a.ID, "request_id", info(r).id)
		d.ContextNote = d.T("alerts.context_failed", "request", d.RequestID)
	}
	linked := make(map[string]bool, len(a.EventIDs))
	for _, id := range a.EventIDs {
		linked[id] = true
	}
	for i := range evs {
		id := evs[i].ID.String()
		d.Context = append(d.Context, contextEvent{eventView: viewEvent(&evs[i], d.loc, listRawBytes, listValueRunes),
			Linked: linked[id], Anchor: id == anchor})
	}
}

// eventsAround returns up to contextSide events of the alert's host at or
// before its first event and up to contextSide after it, within
// contextWindow, oldest first, and the id of the first event ("" when it
// is not in the store, and the first detection's time is used).
func (s *Server) eventsAround(ctx context.Context, a alert.Detail) ([]event.Event, string, error) {
	st := s.opts.Events
	at, anchor := a.FirstSeen.UnixNano(), ""
	if len(a.EventIDs) > 0 {
		if id, err := event.ParseID(a.EventIDs[0]); err == nil {
			e, err := st.Get(ctx, a.Tenant, id)
			switch {
			case err == nil:
				at, anchor = e.Time, e.ID.String()
			case !fault.Is(err, fault.NotFound):
				return nil, "", err
			}
		}
	}
	t := time.Unix(0, at)
	host := search.Pred{Field: "host", Op: search.Eq, Value: a.Host}
	before, err := st.Search(ctx, search.Query{Tenant: a.Tenant, From: t.Add(-contextWindow), To: t.Add(time.Nanosecond),
		Where: host, Limit: contextSide})
	if err != nil {
		return nil, "", err
	}
	after, err := s.eventsAfter(ctx, a.Tenant, host, t)
	if err != nil {
		return nil, "", err
	}
	out := make([]event.Event, 0, len(before.Events)+len(after))
	out = append(out, after...)
	out = append(out, before.Events...)
	slices.Reverse(out) // both lists are newest first
	return out, anchor, nil
}

// eventsAfter returns the contextSide events matching where just after t
// (within contextWindow), newest first. The store lists newest first, so
// a per-minute histogram finds how far to read to reach the nearest ones.
func (s *Server) eventsAfter(ctx context.Context, tenant string, where search.Expr, t time.Time) ([]event.Event, error) {
	st := s.opts.Events
	from, to := t.Add(time.Nanosecond), t.Add(contextWindow)
	bs, err := st.Histogram(ctx, search.Query{Tenant: tenant, From: from, To: to, Where: where}, time.Minute)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, b := range bs {
		n += b.Count
		if n >= contextSide {
			if end := b.Start.Add(time.Minute); end.Before(to) {
				to = end
			}
			break
		}
	}
	if n == 0 {
		return nil, nil
	}
	pg, err := st.Search(ctx, search.Query{Tenant: tenant, From: from, To: to, Where: where, Limit: int(min(n, contextScan))})
	if err != nil {
		return nil, err
	}
	evs := pg.Events
	if len(evs) > contextSide {
		evs = evs[len(evs)-contextSide:]
	}
	return evs, nil
}

// alertDetail is one alert's page: GET /alerts/{id}.
func (s *Server) alertDetail(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.alertPageData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "alerts_detail", d)
}

// parseVersion reads the alert version a form carries.
func parseVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fault.New(fault.Invalid, "alerts.bad_version")
	}
	return n, nil
}

// one is the outcome of an action on one alert: the request's error, else
// the alert's.
func one(res []alert.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if len(res) != 1 {
		return false, fault.New(fault.Invalid, "alert.none_selected")
	}
	return res[0].Changed, res[0].Err
}

// alertAction runs act on the alert of the route (given its id and the
// version the form carries) and goes back to its page with the notice act
// names, or shows the page again with the fault and what was typed.
func (s *Server) alertAction(w http.ResponseWriter, r *http.Request, act func(ref alert.Ref) (string, error), keep func(d *alertPage)) {
	if !s.alertsConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := "/alerts/" + strconv.FormatInt(id, 10)
	var done string
	ver, err := parseVersion(r.PostFormValue("version"))
	if err == nil {
		done, err = act(alert.Ref{ID: id, Version: ver})
	}
	if err == nil {
		http.Redirect(w, r, page+"?done="+url.QueryEscape(done), http.StatusSeeOther)
		return
	}
	if k := fault.KindOf(err); k == fault.Internal || k == fault.NotFound {
		s.fail(w, r, err)
		return
	}
	r.URL.RawQuery = ""
	d, derr := s.alertPageData(r, id)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	d.RequestPath = page
	keep(d)
	d.formErrors(err)
	s.render(w, r, statusFor(fault.KindOf(err)), "alerts_detail", d)
}

// alertTransition moves one alert to another state: POST
// /alerts/{id}/transition with state, reason and version.
func (s *Server) alertTransition(w http.ResponseWriter, r *http.Request) {
	s.alertAction(w, r, func(ref alert.Ref) (string, error) {
		changed, err := one(s.opts.Alerts.Transition(r.Context(), alertActor(r), []alert.Ref{ref},
			alert.State(r.PostFormValue("state")), r.PostFormValue("reason")))
		if !changed {
			return "unchanged", err
		}
		return "state", err
	}, func(d *alertPage) { d.Reason = r.PostFormValue("reason") })
}

// alertAssign gives one alert to a user or to nobody: POST
// /alerts/{id}/assign with assignee ("none", "me" or a user id) and
// version.
func (s *Server) alertAssign(w http.ResponseWriter, r *http.Request) {
	s.alertAction(w, r, func(ref alert.Ref) (string, error) {
		a := alertActor(r)
		id, err := parseAssignee(r.PostFormValue("assignee"), a.UserID)
		if err != nil {
			return "", err
		}
		changed, err := one(s.opts.Alerts.Assign(r.Context(), a, []alert.Ref{ref}, id))
		if !changed {
			return "unchanged", err
		}
		return "assigned", err
	}, func(*alertPage) {})
}

// alertSuppress makes an exclusion from one alert and marks it a false
// positive: POST /alerts/{id}/suppress with field (repeated), reason,
// expiry and version.
func (s *Server) alertSuppress(w http.ResponseWriter, r *http.Request) {
	s.alertAction(w, r, func(ref alert.Ref) (string, error) {
		key := r.PostFormValue("expiry")
		i := slices.IndexFunc(suppressExpiries, func(e expiry) bool { return e.Key == key })
		if i < 0 {
			return "", fault.InvalidField("expires", "alerts.bad_expiry")
		}
		_, _, err := s.opts.Alerts.SuppressSimilar(r.Context(), alertActor(r), ref, r.PostForm["field"],
			r.PostFormValue("reason"), s.now().Add(suppressExpiries[i].D))
		return "suppressed", err
	}, func(d *alertPage) {
		d.SuppressReason = r.PostFormValue("reason")
		if key := r.PostFormValue("expiry"); slices.Contains(d.Expiries, key) {
			d.Expiry = key
		}
		for i := range d.Suppress {
			d.Suppress[i].Checked = slices.Contains(r.PostForm["field"], d.Suppress[i].Name)
		}
	})
}
