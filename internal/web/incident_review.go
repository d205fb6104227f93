// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// The post-incident review tab (振り返り) of an incident: root cause, the
// "5 whys", what went well and badly, the response's milestone times, and
// the prevention actions (再発防止策), which stay editable after the
// incident closes; and the list of open prevention actions across
// incidents.

// registerReview registers the routes of the review tab and the list of
// open prevention actions. "/incidents/actions" is a literal segment, more
// specific than "/incidents/{ref}", so ServeMux sends it here.
func (s *Server) registerReview() {
	s.handle(Session, auth.PermIncidents, "GET /incidents/actions", s.preventionActions)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/review", s.incidentReview)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/review", s.incidentReviewPost)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/actions", s.incidentActionAdd)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/actions/{id}", s.incidentActionUpdate)
}

// reviewWhyLines is how many "why" lines the form offers at least.
const reviewWhyLines = 5

// reviewPage is the data of an incident's review tab.
type reviewPage struct {
	*Page
	Head incidentHead
	// Editable: the review form may be saved (the incident is open).
	// Prevention actions are editable whatever the incident's state.
	Editable bool
	// NeedsReview: the incident's severity makes a completed review a
	// condition of closing it.
	NeedsReview bool
	Review      reviewForm
	Saved       reviewSaved
	// Conflict: a save was refused because someone else saved the
	// review meanwhile; Current is the review as saved now.
	Conflict bool
	Current  reviewSaved
	Causes   []reviewCause
	Times    []reviewMilestone
	Actions  []preventionView
	New      preventionForm
	Owners   []reviewOption
	States   []reviewOption
	// ErrForm names the form whose fields Errors describe: "review",
	// "new" or "action-<id>".
	ErrForm string
}

// reviewForm is the review as the form shows it: saved or as typed.
type reviewForm struct {
	Version   int64
	Cause     string
	CauseText string
	Whys      []string
	WentWell  string
	WentBadly string
	Complete  bool
}

// reviewSaved says who saved a review and when, and what it holds.
type reviewSaved struct {
	Exists                 bool
	Complete               bool
	CompletedAt, UpdatedAt timeView
	CompletedBy, UpdatedBy string
	Cause                  string // translated
	// The texts, in paragraphs (one per line written).
	CauseText, WentWell, WentBadly []string
	Whys                           []string
}

// reviewCause is a root cause category with its label and a line of help.
type reviewCause struct {
	Value       incident.RootCause
	Label, Help string
}

// reviewMilestone is one milestone of the response and its time.
type reviewMilestone struct {
	Key   string
	Label string
	At    timeView
	// Since says how long after awareness (or, for awareness, after
	// detection) it was reached; "" when not reached.
	Since string
}

// reviewOption is an option of a select.
type reviewOption struct{ Value, Label string }

// whyLine is one line of the "5 whys" in the form.
type whyLine struct {
	Index, N int // from 0, and as shown (from 1)
	Text     string
}

// Lines returns the form's whys, numbered.
func (f reviewForm) Lines() []whyLine {
	out := make([]whyLine, len(f.Whys))
	for i, w := range f.Whys {
		out[i] = whyLine{Index: i, N: i + 1, Text: w}
	}
	return out
}

// reviewPart is the data of a partial of the review tab: the page and
// one value.
type reviewPart[T any] struct {
	P *reviewPage
	V T
}

// SavedPart prepares the "review_saved" partial for v.
func (d *reviewPage) SavedPart(v reviewSaved) reviewPart[reviewSaved] {
	return reviewPart[reviewSaved]{P: d, V: v}
}

// FormPart prepares the "prevention_form" partial for f.
func (d *reviewPage) FormPart(f preventionForm) reviewPart[preventionForm] {
	return reviewPart[preventionForm]{P: d, V: f}
}

// reviewParas splits a text into its non-empty lines, for display.
func reviewParas(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimRight(l, "\r\n"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// FieldErr returns the message for field of form, or "".
func (d *reviewPage) FieldErr(form, field string) string {
	if d.ErrForm != form {
		return ""
	}
	return d.Errors[field]
}

// reviewPageData builds the review tab of incident d.
func (s *Server) reviewPageData(r *http.Request, d incident.Detail) (*reviewPage, error) {
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.review.title", "ref", d.Ref)
	now := s.now()
	v := &reviewPage{Page: p, Head: headOf(p, d.Incident, "review", true), Editable: !d.Closed(),
		NeedsReview: d.Severity.AtLeast(incident.SeverityHigh) && !d.Review.Complete()}
	v.Review = reviewFormOf(d.Review)
	v.Saved = reviewSavedOf(p, d.Review, now)
	for _, c := range incident.RootCauses {
		v.Causes = append(v.Causes, reviewCause{Value: c, Label: p.T("incident.root_cause." + string(c)),
			Help: p.T("incidents.review.cause_help." + string(c))})
	}
	v.Times = reviewTimes(p, d.Incident, now)
	users, err := s.reviewUsers(r.Context())
	if err != nil {
		return nil, err
	}
	v.Owners = []reviewOption{{"", p.T("incidents.review.owner_none")}}
	for _, u := range users {
		if u.holds {
			v.Owners = append(v.Owners, reviewOption{"user:" + strconv.FormatInt(u.id, 10), u.label})
		}
	}
	for _, role := range incident.PlaybookRoles() {
		v.Owners = append(v.Owners, reviewOption{"role:" + role, p.T("incidents.review.owner_role", "role", p.T("playbook.role."+role))})
	}
	for _, st := range incident.ActionStatuses {
		v.States = append(v.States, reviewOption{string(st), p.T("incident.action_status." + string(st))})
	}
	for _, a := range d.Actions {
		v.Actions = append(v.Actions, preventionViewOf(p, d.Ref, a, users, now))
	}
	v.New = preventionForm{Prefix: "new", Action: "/incidents/" + d.Ref + "/actions", Status: string(incident.ActionOpen)}
	return v, nil
}

// reviewFormOf fills the form from a saved review, with at least
// reviewWhyLines lines of whys.
func reviewFormOf(rv incident.Review) reviewForm {
	f := reviewForm{Version: rv.Version, Cause: string(rv.Cause), CauseText: rv.CauseText, Whys: slices.Clone(rv.Whys),
		WentWell: rv.WentWell, WentBadly: rv.WentBadly, Complete: rv.Complete()}
	for len(f.Whys) < reviewWhyLines {
		f.Whys = append(f.Whys, "")
	}
	return f
}

// reviewSavedOf shows a saved review (zero when there is none).
func reviewSavedOf(p *Page, rv incident.Review, now time.Time) reviewSaved {
	if rv.IncidentID == 0 {
		return reviewSaved{}
	}
	v := reviewSaved{Exists: true, Complete: rv.Complete(), CompletedAt: p.timeView(rv.CompletedAt, now),
		UpdatedAt: p.timeView(rv.UpdatedAt, now), CompletedBy: safeLine(rv.CompletedBy, 200),
		UpdatedBy: safeLine(rv.UpdatedBy, 200), CauseText: reviewParas(rv.CauseText), Whys: rv.Whys,
		WentWell: reviewParas(rv.WentWell), WentBadly: reviewParas(rv.WentBadly)}
	if rv.Cause.Valid() {
		v.Cause = p.T("incident.root_cause." + string(rv.Cause))
	}
	return v
}

// reviewTimes lists the milestones of the response, each with how long
// after awareness it came (awareness itself: after detection).
func reviewTimes(p *Page, inc incident.Incident, now time.Time) []reviewMilestone {
	ms := []struct {
		key string
		at  time.Time
	}{
		{"detected", inc.DetectedAt}, {"aware", inc.AwareAt}, {"acknowledged", inc.AcknowledgedAt},
		{"contained", inc.ContainedAt}, {"resolved", inc.ResolvedAt}, {"closed", inc.ClosedAt},
	}
	var out []reviewMilestone
	for _, m := range ms {
		v := reviewMilestone{Key: m.key, Label: p.T("incidents.review.time." + m.key), At: p.timeView(m.at, now)}
		if m.at.IsZero() {
			v.At.Abs = p.T("incidents.review.not_yet")
		}
		from, what := inc.AwareAt, "awareness"
		if m.key == "aware" {
			from, what = inc.DetectedAt, "detection"
		}
		switch {
		case m.key == "detected" || m.at.IsZero() || from.IsZero():
		case m.at.Sub(from).Abs() < time.Minute:
			v.Since = p.T("incidents.review.with_" + what)
		case m.at.Before(from):
			v.Since = p.T("incidents.review.before_"+what, "span", reviewSpan(p, from.Sub(m.at)))
		default:
			v.Since = p.T("incidents.review.after_"+what, "span", reviewSpan(p, m.at.Sub(from)))
		}
		out = append(out, v)
	}
	return out
}

// reviewSpan says d plainly, to the minute: "45 min", "5 h 20 min",
// "3 days 4 h".
func reviewSpan(p *Page, d time.Duration) string {
	d = d.Truncate(time.Minute)
	switch {
	case d < time.Minute:
		return p.T("incidents.review.span_seconds")
	case d < time.Hour:
		return p.T("incidents.review.span_minutes", "minutes", int(d/time.Minute))
	case d < 48*time.Hour && d%time.Hour == 0:
		return p.T("incidents.review.span_hours_exact", "hours", int(d/time.Hour))
	case d < 48*time.Hour:
		return p.T("incidents.review.span_hours", "hours", int(d/time.Hour), "minutes", int(d%time.Hour/time.Minute))
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if hours == 0 {
		return p.T("incidents.review.span_days_exact", "count", days)
	}
	return p.T("incidents.review.span_days", "count", days, "hours", hours)
}

// incidentReview is the review tab: GET /incidents/{ref}/review.
func (s *Server) incidentReview(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	v, err := s.reviewPageData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incident_review", v)
}

// reviewFormVersion reads the version field of a form.
func reviewFormVersion(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("version")), 10, 64)
	if err != nil || v < 0 {
		return 0, fault.New(fault.Conflict, "incident.version_missing")
	}
	return v, nil
}

// incidentReviewPost saves the review: POST /incidents/{ref}/review. A
// refused save shows the form again as typed; when someone else saved the
// review meanwhile, the page also shows it as saved now and carries its
// version, so that saving again (deliberately) replaces it.
func (s *Server) incidentReviewPost(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	var typed reviewForm
	act := func() error {
		typed = reviewForm{Cause: r.PostFormValue("cause"), CauseText: r.PostFormValue("cause_text"),
			Whys: r.PostForm["why"], WentWell: r.PostFormValue("went_well"), WentBadly: r.PostFormValue("went_badly"),
			Complete: r.PostFormValue("complete") != ""}
		version, err := reviewFormVersion(r)
		if err != nil {
			return err
		}
		typed.Version = version
		var whys []string
		for _, w := range typed.Whys {
			if strings.TrimSpace(w) != "" {
				whys = append(whys, w)
			}
		}
		_, err = s.opts.Incidents.SaveReview(r.Context(), incidentActor(r), d.ID, version, incident.ReviewInput{
			Cause: incident.RootCause(typed.Cause), CauseText: typed.CauseText, Whys: whys,
			WentWell: typed.WentWell, WentBadly: typed.WentBadly, Complete: typed.Complete})
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
		v.ErrForm = "review"
		if cur.Review.Version != typed.Version {
			v.Conflict, v.Current = true, reviewSavedOf(v.Page, cur.Review, s.now())
		}
		typed.Version = cur.Review.Version
		for len(typed.Whys) < reviewWhyLines {
			typed.Whys = append(typed.Whys, "")
		}
		v.Review = typed
		return v, nil
	}
	s.form(w, r, "incident_review", incidentHref(d.Ref, "review"), "incident_review_saved", act, reshow)
}
