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
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// The queue's tabs that are not a single state.
const (
	tabOpen = "open" // new, acknowledged and in progress: the default
	tabAll  = "all"
)

// alertQuery is the queue's filter as the query string asks for it.
type alertQuery struct {
	Tab string // tabOpen, tabAll or a state; "" when several are asked for
	// StateParams are the state parameters as given, to keep in links.
	StateParams      []string
	States           []alert.State
	Levels           []alert.Level
	Rule, Host, User string
	// Assignee is "", "none" (unassigned), "me" or a user id.
	Assignee string
	Q        string
	From, To time.Time
	After    int64
	Limit    int
}

// parseAlertQuery reads state, level, rule, host, user, assignee, q, from,
// to, after and limit. state and level may repeat; state also takes "open"
// and "all". from and to are datetime-local values in loc or RFC 3339
// times. me is the asking user, for assignee=me. Every problem is a fault
// naming its field; states and levels are checked by the alert service.
func parseAlertQuery(v url.Values, loc *time.Location, me int64) (alertQuery, alert.Filter, error) {
	var q alertQuery
	var f alert.Filter
	var errs fault.List
	states := v["state"]
	switch {
	case len(states) == 0 || (len(states) == 1 && states[0] == ""):
		q.Tab, f.States = tabOpen, slices.Clone(alert.OpenStates)
	case len(states) == 1 && states[0] == tabOpen:
		q.Tab, f.States = tabOpen, slices.Clone(alert.OpenStates)
	case len(states) == 1 && states[0] == tabAll:
		q.Tab = tabAll
	default:
		for _, st := range states {
			if st == tabOpen {
				f.States = append(f.States, alert.OpenStates...)
				continue
			}
			f.States = append(f.States, alert.State(st))
		}
		if len(states) == 1 {
			q.Tab = states[0]
		}
	}
	q.States = f.States
	if q.Tab == "" {
		q.StateParams = states
	}
	for _, l := range v["level"] {
		if l != "" {
			f.Levels = append(f.Levels, alert.Level(l))
		}
	}
	q.Levels = f.Levels
	q.Rule, q.Host, q.User = strings.TrimSpace(v.Get("rule")), strings.TrimSpace(v.Get("host")), strings.TrimSpace(v.Get("user"))
	f.RuleID, f.Host, f.User = q.Rule, q.Host, q.User
	q.Q = strings.TrimSpace(v.Get("q"))
	f.Text = q.Q
	switch q.Assignee = strings.TrimSpace(v.Get("assignee")); q.Assignee {
	case "":
	case "none":
		f.Unassigned = true
	case "me":
		f.AssigneeID = me
	default:
		id, err := strconv.ParseInt(q.Assignee, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fault.InvalidField("assignee", "alerts.bad_assignee"))
		}
		f.AssigneeID = id
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		text := strings.TrimSpace(v.Get(t.name))
		if text == "" {
			continue
		}
		tm, err := parseInputTime(text, loc)
		if err != nil || tm.Before(minSearchTime) || tm.After(maxSearchTime) {
			errs = append(errs, fault.InvalidField(t.name, "alerts.bad_time", "value", safeLine(text, 40)))
			continue
		}
		*t.dst = tm
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		errs = append(errs, fault.InvalidField("to", "alerts.range_order"))
	}
	f.From, f.To = q.From, q.To
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fault.InvalidField("after", "alert.cursor_invalid"))
		}
		q.After = n
	}
	f.After = q.After
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > alert.MaxLimit {
			errs = append(errs, fault.InvalidField("limit", "alert.limit_invalid", "max", alert.MaxLimit))
		}
		q.Limit = n
	}
	f.Limit = q.Limit
	return q, f, errs.Err()
}

// values is q as query parameters (without the cursor), for the links of
// the queue.
func (q alertQuery) values() url.Values {
	v := url.Values{}
	switch {
	case q.Tab == "":
		v["state"] = slices.Clone(q.StateParams)
	case q.Tab != tabOpen:
		v.Set("state", q.Tab)
	}
	for _, l := range q.Levels {
		v.Add("level", string(l))
	}
	for _, kv := range [][2]string{{"rule", q.Rule}, {"host", q.Host}, {"user", q.User}, {"assignee", q.Assignee}, {"q", q.Q}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// alertsURL is the queue with parameters v.
func alertsURL(v url.Values) string {
	if len(v) == 0 {
		return "/alerts"
	}
	return "/alerts?" + v.Encode()
}

// alertsPage is the data of the queue.
type alertsPage struct {
	*Page
	In        alertQuery
	FromInput string // datetime-local values in the viewer's zone
	ToInput   string
	Tabs      []alertTab
	Alerts    []alertRow
	// Filtered: some filter other than the tab is set.
	Filtered bool
	// Empty: there is no alert at all yet.
	Empty bool
	// OlderURL is the next page; FirstURL the newest, when this is not it.
	OlderURL, FirstURL string
	Levels             []alert.Level
	BulkStates         []alert.State
	Users              []assignee
	Result             []string // the outcome of a bulk action, translated
	ResultWarn         bool     // some alerts were not changed
	Back               string   // this page, for the bulk form to come back to
	Reason             string   // the bulk reason as typed, when shown again
	ClearURL           string
}

// alertTab is one tab of the queue.
type alertTab struct {
	Key, Label, Href string
	Count            int
	Current          bool
}

// alertRow is one alert of the queue. Texts have been through safeLine.
type alertRow struct {
	ID, Version                  int64
	Level                        alert.Level
	Title, RuleID, Host, User    string
	RuleHref, HostHref, UserHref string
	Techniques                   []technique
	Count                        int64
	First, Last                  timeView
	State                        alert.State
	Assignee                     string
	Marked                       bool // named in the last bulk action's problems
}

// Ref is the value of the row's checkbox: id and version.
func (a alertRow) Ref() string {
	return strconv.FormatInt(a.ID, 10) + "." + strconv.FormatInt(a.Version, 10)
}

// technique is an ATT&CK technique id and its page.
type technique struct {
	ID, Href string
}

// techniques links the ATT&CK technique ids among tags.
func techniques(tags []string) []technique {
	var out []technique
	for _, id := range alert.Techniques(tags) {
		// Technique ids are "T1234" or "T1234.567": safe in a URL.
		out = append(out, technique{ID: id, Href: "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"})
	}
	return out
}

// assignee is a user alerts may be assigned to.
type assignee struct {
	ID    int64
	Label string
}

// assignees lists the enabled users who may triage alerts.
func (s *Server) assignees(ctx context.Context) ([]assignee, error) {
	us, err := s.auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	var out []assignee
	for _, u := range us {
		if !u.Disabled && auth.Can(u.Role, auth.PermAlerts) {
			label := u.Name
			if u.DisplayName != "" && u.DisplayName != u.Name {
				label = u.DisplayName + " (" + u.Name + ")"
			}
			out = append(out, assignee{ID: u.ID, Label: safeLine(label, 200)})
		}
	}
	return out, nil
}

// alertsPageData builds the queue for the query v. A fault in the query
// comes back as the page's messages with no alerts listed, and its kind.
func (s *Server) alertsPageData(r *http.Request, v url.Values) (*alertsPage, error) {
	ctx := r.Context()
	p := s.page(r, "alerts", "alerts.title")
	s.alertsFlash(p, r)
	d := &alertsPage{Page: p, Levels: alert.Levels, BulkStates: bulkStates}
	var me int64
	if pr := principal(r); pr != nil {
		me = pr.User.ID
	}
	in, f, qerr := parseAlertQuery(v, p.loc, me)
	d.In = in
	if !in.From.IsZero() {
		d.FromInput = in.From.In(p.loc).Format(inputLayout)
	}
	if !in.To.IsZero() {
		d.ToInput = in.To.In(p.loc).Format(inputLayout)
	}
	base := in.values()
	base.Del("state")
	base.Del("limit")
	d.Filtered = len(base) > 0
	d.ClearURL = alertsURL(url.Values{"state": {in.Tab}})
	counts, err := s.opts.Alerts.Counts(ctx, "")
	if err != nil {
		return nil, err
	}
	d.Tabs = s.alertTabs(p, in, counts)
	for _, t := range d.Tabs {
		if t.Key == tabAll {
			d.Empty = t.Count == 0
		}
	}
	if d.Users, err = s.assignees(ctx); err != nil {
		return nil, err
	}
	here := in.values()
	if in.After != 0 {
		here.Set("after", strconv.FormatInt(in.After, 10))
		d.FirstURL = alertsURL(in.values())
	}
	d.Back = alertsURL(here)
	marked := d.bulkResult(r.URL.Query())
	if qerr != nil {
		d.formErrors(qerr)
		return d, qerr
	}
	pg, err := s.opts.Alerts.Alerts(ctx, f)
	if err != nil {
		if fault.KindOf(err) != fault.Internal {
			d.formErrors(err)
		}
		return d, err
	}
	now := s.now()
	for _, a := range pg.Alerts {
		d.Alerts = append(d.Alerts, alertRowOf(p, a, now, marked[a.ID]))
	}
	if pg.Next != 0 {
		older := in.values()
		older.Set("after", strconv.FormatInt(pg.Next, 10))
		d.OlderURL = alertsURL(older)
	}
	return d, nil
}

// alertTabs builds the tabs: open, each state, all, with their counts.
func (s *Server) alertTabs(p *Page, in alertQuery, counts alert.Counts) []alertTab {
	v := in.values()
	mk := func(key, label string, n int) alertTab {
		v.Set("state", key)
		if key == tabOpen {
			v.Del("state")
		}
		return alertTab{Key: key, Label: label, Href: alertsURL(v), Count: n, Current: in.Tab == key}
	}
	open, all := 0, 0
	for _, st := range alert.States {
		n := counts.State(st)
		all += n
		if st.Open() {
			open += n
		}
	}
	tabs := []alertTab{mk(tabOpen, p.T("alerts.tab_open"), open)}
	for _, st := range alert.States {
		tabs = append(tabs, mk(string(st), p.T("alert.state."+string(st)), counts.State(st)))
	}
	return append(tabs, mk(tabAll, p.T("alerts.tab_all"), all))
}

func alertRowOf(p *Page, a alert.Alert, now time.Time, marked bool) alertRow {
	row := alertRow{ID: a.ID, Version: a.Version, Level: a.Level, Title: safeLine(a.RuleTitle, 200),
		RuleID: safeLine(a.RuleID, 120), Host: safeLine(a.Host, 120), User: safeLine(a.User, 120),
		Techniques: techniques(a.Tags), Count: a.Count, First: p.timeView(a.FirstSeen, now), Last: p.timeView(a.LastSeen, now),
		State: a.State, Assignee: safeLine(a.AssigneeName, 120), Marked: marked}
	if row.Title == "" {
		row.Title = row.RuleID
	}
	row.RuleHref = alertsURL(url.Values{"rule": {a.RuleID}, "state": {tabAll}})
	if a.Host != "" {
		row.HostHref = alertsURL(url.Values{"host": {a.Host}, "state": {tabAll}})
	}
	if a.User != "" {
		row.UserHref = alertsURL(url.Values{"user": {a.User}, "state": {tabAll}})
	}
	return row
}

// alerts is the queue: GET /alerts.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alerts == nil {
		s.section("alerts")(w, r)
		return
	}
	d, err := s.alertsPageData(r, r.URL.Query())
	if err != nil {
		if d == nil || fault.KindOf(err) == fault.Internal {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "alerts", d)
		return
	}
	s.render(w, r, http.StatusOK, "alerts", d)
}

// alertsFlash shows the notice a redirect asked for with ?done=, from the
// alerts.done messages only, so that a link cannot inject text.
func (s *Server) alertsFlash(p *Page, r *http.Request) {
	if id := r.URL.Query().Get("done"); id != "" && s.cat.Has(i18n.English, "alerts.done."+id) {
		p.Flash = p.T("alerts.done." + id)
	}
}

// alertsConfigured answers 404 when koban runs without the alert service.
func (s *Server) alertsConfigured(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Alerts == nil {
		s.fail(w, r, fault.New(fault.NotFound, "alerts.no_service"))
		return false
	}
	return true
}

// NavCount is a number shown beside a navigation entry and what it counts,
// for screen readers.
type NavCount struct {
	N     int
	Label string
}

// navCounts are the numbers beside the navigation entries of p: the new
// alerts beside Alerts, the overdue incident tasks beside Incidents. A
// failure to count is logged and shows nothing.
func (s *Server) navCounts(r *http.Request, p *Page) map[string]NavCount {
	counts := map[string]NavCount{}
	if s.opts.Alerts != nil && slices.ContainsFunc(p.Nav, func(it NavItem) bool { return it.Key == "alerts" }) {
		if cs, err := s.opts.Alerts.Counts(r.Context(), ""); err != nil {
			s.log.WarnContext(r.Context(), "count new alerts", "error", err, "request_id", info(r).id)
		} else if n := cs.State(alert.StateNew); n > 0 {
			counts["alerts"] = NavCount{N: n, Label: p.T("alerts.nav_new", "count", n)}
		}
	}
	// Overdue tasks show beside Incidents on every page, for those who
	// work on incidents.
	if pr := principal(r); s.opts.Incidents != nil && pr != nil && pr.Can(auth.PermIncidents) {
		due, err := s.opts.Incidents.OverdueTasks(r.Context(), incidentActor(r), tenantOf(r), navOverdueMax)
		if err != nil {
			s.log.WarnContext(r.Context(), "count overdue tasks", "error", err, "request_id", info(r).id)
		} else if n := len(due); n > 0 {
			counts["incidents"] = NavCount{N: n, Label: p.T("incidents.nav_overdue", "count", n)}
		}
	}
	if len(counts) == 0 {
		return nil
	}
	return counts
}

// navOverdueMax bounds the overdue tasks counted for the navigation.
const navOverdueMax = 99

// AlertLevel names an alert level in the viewer's language.
func (p *Page) AlertLevel(l alert.Level) string {
	if !l.Valid() {
		return safeLine(string(l), 40)
	}
	return p.T("alert.level." + string(l))
}

// AlertState names an alert state in the viewer's language.
func (p *Page) AlertState(s alert.State) string {
	if !s.Valid() {
		return safeLine(string(s), 40)
	}
	return p.T("alert.state." + string(s))
}

// AlertAction labels the button that moves alerts to state s.
func (p *Page) AlertAction(s alert.State) string { return p.T("alerts.action." + string(s)) }

// levelBadge is the data of the alert_level partial.
type levelBadge struct {
	Key   string // the level, or "unknown"
	Label string
}

// LevelBadge prepares the partial that shows an alert level.
func (p *Page) LevelBadge(l alert.Level) levelBadge {
	if !l.Valid() {
		return levelBadge{Key: "unknown", Label: p.AlertLevel(l)}
	}
	return levelBadge{Key: string(l), Label: p.AlertLevel(l)}
}

// LevelChecked reports whether the queue filters on level l.
func (d *alertsPage) LevelChecked(l alert.Level) bool { return slices.Contains(d.In.Levels, l) }
