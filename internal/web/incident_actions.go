// SPDX-License-Identifier: Apache-2.0

package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Prevention actions (再発防止策) on an incident's review tab, which stay
// editable after the incident closes, and the list of open ones across
// incidents (GET /incidents/actions). Routes in incident_review.go.

// preventionForm is a prevention action's form: saved or as typed.
type preventionForm struct {
	ID      int64
	Version int64
	Prefix  string // element ids: "new" or "action-<id>"
	Action  string // where it posts
	Title   string
	Owner   string // "", "user:<id>" or "role:<role>"
	Due     string // date, YYYY-MM-DD, in the viewer's zone
	Status  string
	Reason  string
}

// preventionView is a prevention action as the tab lists it, with its form.
type preventionView struct {
	Form      preventionForm
	Title     string
	Owner     string
	Due       string
	Overdue   bool
	Status    string
	StatusKey incident.ActionStatus
	Reason    string
	DoneAt    timeView
	Open      bool
	UpdatedAt timeView
}

// reviewUser is a koban user as the review tab names one.
type reviewUser struct {
	id    int64
	label string
	holds bool // may be given prevention actions (an enabled incident role)
}

// reviewUsers lists koban's users, each with a label and whether they may
// own prevention actions.
func (s *Server) reviewUsers(ctx context.Context) ([]reviewUser, error) {
	us, err := s.auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reviewUser, 0, len(us))
	for _, u := range us {
		label := u.Name
		if u.DisplayName != "" && u.DisplayName != u.Name {
			label = u.DisplayName + " (" + u.Name + ")"
		}
		out = append(out, reviewUser{id: u.ID, label: safeLine(label, 200),
			holds: !u.Disabled && auth.Can(u.Role, auth.PermIncidents)})
	}
	return out, nil
}

// preventionOwner names a prevention action's owner.
func preventionOwner(p *Page, a incident.PreventionAction, users []reviewUser) string {
	switch {
	case a.OwnerID != 0:
		for _, u := range users {
			if u.id == a.OwnerID {
				return u.label
			}
		}
		return p.T("incidents.review.owner_unknown", "id", a.OwnerID)
	case a.OwnerRole != "":
		return p.T("playbook.role." + a.OwnerRole)
	}
	return p.T("incidents.review.owner_none")
}

// reviewDueDate writes a due time as the date input takes it, in the viewer's
// zone.
func reviewDueDate(p *Page, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.loc).Format(time.DateOnly)
}

// preventionViewOf shows prevention action a of incident ref, with its form.
func preventionViewOf(p *Page, ref string, a incident.PreventionAction, users []reviewUser, now time.Time) preventionView {
	f := preventionForm{ID: a.ID, Version: a.Version, Prefix: "action-" + strconv.FormatInt(a.ID, 10),
		Action: "/incidents/" + ref + "/actions/" + strconv.FormatInt(a.ID, 10), Title: a.Title,
		Due: reviewDueDate(p, a.Due), Status: string(a.Status), Reason: a.StatusReason}
	switch {
	case a.OwnerID != 0:
		f.Owner = "user:" + strconv.FormatInt(a.OwnerID, 10)
	case a.OwnerRole != "":
		f.Owner = "role:" + a.OwnerRole
	}
	v := preventionView{Form: f, Title: safeLine(a.Title, 600), Owner: preventionOwner(p, a, users), Due: reviewDueDate(p, a.Due),
		Overdue: a.Overdue(now), StatusKey: a.Status, Reason: a.StatusReason, Open: a.Status.Open(),
		DoneAt: p.timeView(a.DoneAt, now), UpdatedAt: p.timeView(a.UpdatedAt, now)}
	if v.Due == "" {
		v.Due = p.T("incidents.review.no_due")
	}
	if a.Status.Valid() {
		v.Status = p.T("incident.action_status." + string(a.Status))
	} else {
		v.Status = safeLine(string(a.Status), 50)
	}
	return v
}

// readPreventionForm reads a prevention action's form into the form as typed
// and the service's input.
func readPreventionForm(r *http.Request, p *Page, f *preventionForm) (incident.ActionInput, error) {
	f.Title, f.Owner, f.Due = r.PostFormValue("title"), r.PostFormValue("owner"), strings.TrimSpace(r.PostFormValue("due"))
	f.Status, f.Reason = r.PostFormValue("status"), r.PostFormValue("reason")
	in := incident.ActionInput{Title: f.Title, Status: incident.ActionStatus(f.Status), Reason: f.Reason}
	var errs fault.List
	switch owner := f.Owner; {
	case owner == "":
	case strings.HasPrefix(owner, "user:"):
		id, err := strconv.ParseInt(strings.TrimPrefix(owner, "user:"), 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fault.InvalidField("owner", "incidents.review.owner_invalid"))
		}
		in.OwnerID = id
	case strings.HasPrefix(owner, "role:"):
		in.OwnerRole = strings.TrimPrefix(owner, "role:")
	default:
		errs = append(errs, fault.InvalidField("owner", "incidents.review.owner_invalid"))
	}
	if f.Due != "" {
		day, err := time.ParseInLocation(time.DateOnly, f.Due, p.loc)
		if err != nil {
			errs = append(errs, fault.InvalidField("due", "incidents.review.due_invalid"))
		} else {
			// Due at the end of the day chosen: the action is overdue
			// from the next day on.
			in.Due = day.AddDate(0, 0, 1).Add(-time.Second)
		}
	}
	return in, errs.Err()
}

// incidentActionAdd adds a prevention action: POST
// /incidents/{ref}/actions. It works on closed incidents too.
func (s *Server) incidentActionAdd(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	p := s.page(r, "incidents", "")
	typed := preventionForm{Prefix: "new", Action: "/incidents/" + d.Ref + "/actions"}
	act := func() error {
		in, err := readPreventionForm(r, p, &typed)
		if err != nil {
			return err
		}
		_, err = s.opts.Incidents.AddPreventionAction(r.Context(), incidentActor(r), d.ID, in)
		return err
	}
	reshow := func() (pageData, error) {
		v, err := s.reviewPageData(r, d)
		if err != nil {
			return nil, err
		}
		v.ErrForm, v.New = "new", typed
		return v, nil
	}
	s.form(w, r, "incident_review", incidentHref(d.Ref, "review")+"#actions", "incident_action_added", act, reshow)
}

// incidentActionUpdate changes a prevention action: POST
// /incidents/{ref}/actions/{id}. A refused change shows the form again as
// typed, with the action's current version when someone else changed it.
func (s *Server) incidentActionUpdate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err == nil && !slices.ContainsFunc(d.Actions, func(a incident.PreventionAction) bool { return a.ID == id }) {
		err = fault.New(fault.NotFound, "incident.action_not_found", "id", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	var typed preventionForm
	act := func() error {
		in, err := readPreventionForm(r, p, &typed)
		if err != nil {
			return err
		}
		version, err := reviewFormVersion(r)
		if err != nil {
			return err
		}
		_, err = s.opts.Incidents.UpdatePreventionAction(r.Context(), incidentActor(r),
			incident.ActionRef{ID: id, Version: version}, in)
		return err
	}
	reshow := func() (pageData, error) {
		cur, err := s.opts.Incidents.IncidentByRef(r.Context(), incidentActor(r), tenantOf(r), d.Ref)
		if err != nil {
			return nil, err
		}
		v, err := s.reviewPageData(r, cur)
		if err != nil {
			return nil, err
		}
		for i := range v.Actions {
			if f := &v.Actions[i].Form; f.ID == id {
				v.ErrForm = f.Prefix
				typed.ID, typed.Version, typed.Prefix, typed.Action = f.ID, f.Version, f.Prefix, f.Action
				*f = typed
			}
		}
		return v, nil
	}
	s.form(w, r, "incident_review", incidentHref(d.Ref, "review")+"#action-"+strconv.FormatInt(id, 10),
		"incident_action_saved", act, reshow)
}

// preventionActionsPage is the list of open prevention actions across incidents.
type preventionActionsPage struct {
	*Page
	Rows    []preventionRow
	Overdue int
	// Limit is how many the list shows at most; Full when it holds that
	// many (there may be more).
	Limit int
	Full  bool
}

// preventionRow is one open prevention action with its incident.
type preventionRow struct {
	ID                int64
	Ref, RefHref      string
	IncidentTitle     string
	IncidentClosed    bool
	Title, Owner, Due string
	Status            string
	Overdue           bool
}

// preventionActionsLimit bounds the list of open prevention actions.
const preventionActionsLimit = 500

// preventionActions lists the open prevention actions of every incident,
// closed ones included, overdue first: GET /incidents/actions.
func (s *Server) preventionActions(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "incidents", "incidents.actions.title")
	v := &preventionActionsPage{Page: p, Limit: preventionActionsLimit}
	if s.opts.Incidents != nil {
		as, err := s.opts.Incidents.OpenPreventionActions(r.Context(), incidentActor(r), tenantOf(r), preventionActionsLimit)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		users, err := s.reviewUsers(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		now := s.now()
		// The store orders by due time, those without one last; put the
		// overdue ones first whatever that order, keeping it otherwise.
		slices.SortStableFunc(as, func(a, b incident.DueAction) int {
			return cmp.Compare(reviewBtoi(!a.Overdue(now)), reviewBtoi(!b.Overdue(now)))
		})
		for _, a := range as {
			row := preventionRow{ID: a.ID, Ref: safeLine(a.Incident.Ref, 100), RefHref: incidentHref(a.Incident.Ref, "review"),
				IncidentTitle: safeLine(a.Incident.Title, 300), IncidentClosed: a.Incident.Status == incident.StatusClosed,
				Title: safeLine(a.Title, 600), Owner: preventionOwner(p, a.PreventionAction, users), Due: reviewDueDate(p, a.Due),
				Overdue: a.Overdue(now)}
			if row.Due == "" {
				row.Due = p.T("incidents.review.no_due")
			}
			row.Status = p.T("incident.action_status." + string(a.Status))
			if row.Overdue {
				v.Overdue++
			}
			v.Rows = append(v.Rows, row)
		}
		v.Full = len(as) == preventionActionsLimit
	}
	s.render(w, r, http.StatusOK, "incident_actions", v)
}

// reviewBtoi is 1 for true, 0 for false.
func reviewBtoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
