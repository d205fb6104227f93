// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// incView is an incident as its overview shows it. Texts are escaped by the
// template; multi-line ones are split into lines.
type incView struct {
	ID               int64
	Ref, Title       string
	Description      []string
	Type             incident.Type
	TypeLabel        string
	Status           incident.Status
	StatusReason     string
	Phase            incident.Phase
	IPASteps         []incIPAStep
	Severity         incident.Severity
	Assessed         bool
	AssessedSeverity incident.Severity
	AssessedBy       string
	AssessedAt       timeView
	Reasons          []incReason
	OverrideSeverity incident.Severity
	OverrideReason   string
	OverrideBy       string
	Assignees        []string
	AffectedAssets   []string
	AffectedUsers    []string
	Techniques       []technique
	Tags             []string
	Fields           []incident.Field
	Flags            []string
	Resolution       incident.Resolution
	Summary          []string
	Times            []incTime
	CreatedBy        string
	Version          int64
	Closed, OnHold   bool
	PPCReportable    bool
	PPCSituations    []string
}

// incIPAStep is one of IPA's three steps, marked when the incident is in
// it.
type incIPAStep struct {
	Step    incident.IPAStep
	Label   string
	Current bool
}

// incReason is one line of a computed severity's reasoning.
type incReason struct {
	Text     string
	Severity incident.Severity
}

// incTime is one milestone time of an incident.
type incTime struct {
	Key  string
	Time timeView
}

// incLinkView is a link to another incident.
type incLinkView struct {
	Kind           incident.LinkKind
	Label          string
	Reverse        bool
	OtherID        int64
	Ref, Title     string
	Href           string
	Status         incident.Status
	Phase          incident.Phase
	Severity       incident.Severity
	CanRemove      bool
	RemoveFromThis bool
}

// incMove is a phase the incident may move to.
type incMove struct {
	Phase       incident.Phase
	Label       string
	NeedsReason bool
}

// incImpactForm is the severity questionnaire as typed.
type incImpactForm struct {
	Functional, Recoverability, Criticality string
	Information                             []string
	People                                  string
}

// incOverviewPage is the data of an incident's overview, for full readers.
type incOverviewPage struct {
	*Page
	Head   incidentHead
	Inc    incView
	Clocks []incClock
	Next   incNext
	Links  []incLinkView
	// Form names the form whose errors and typed values are shown.
	Form string
	Edit incForm
	// Forms' choices.
	Types          []incTypeOption
	FlagBoxes      []incFlagBox
	Moves          []incMove
	Resolutions    []incident.Resolution
	ReopenPhases   []incident.Phase
	Users          []incUserOption
	LinkKinds      []incident.LinkKind
	Severities     []incident.Severity
	Functionals    []incident.FunctionalImpact
	Informations   []incident.InformationImpact
	Recovers       []incident.Recoverability
	Criticalities  []incident.Criticality
	Impact         incImpactForm
	PhaseTo        string
	Reason         string // of the phase, status, reopen or override form, as typed
	Resolution     string
	CloseSummary   string
	ReopenTo       string
	OverrideTo     string
	LinkTo         string
	LinkKind       string
	TasksHref      string
	OpenRequired   int
	ReviewRequired bool
}

// FErr returns the message for field of form, or "" when another form
// was sent.
func (d *incOverviewPage) FErr(form, field string) string {
	if d.Form != form {
		return ""
	}
	return d.Errors[field]
}

// InfoChecked reports whether the questionnaire has information kind v
// ticked.
func (d *incOverviewPage) InfoChecked(v incident.InformationImpact) bool {
	for _, s := range d.Impact.Information {
		if s == string(v) {
			return true
		}
	}
	return false
}

// incSummaryPage is the data of an incident's summary, for those who read
// summaries only.
type incSummaryPage struct {
	*Page
	Head   incidentHead
	Inc    incView
	Clocks []incClock
}

// incidentOverview is an incident's first page: GET /incidents/{ref}. Full
// readers see everything and its forms; summary readers the summary.
func (s *Server) incidentOverview(w http.ResponseWriter, r *http.Request) {
	if !principal(r).Can(auth.PermIncidents) {
		s.incidentSummary(w, r)
		return
	}
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	pg, err := s.incOverviewData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incidents_overview", pg)
}

// incidentSummary is the summary page of an incident.
func (s *Server) incidentSummary(w http.ResponseWriter, r *http.Request) {
	if s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "incidents.off"))
		return
	}
	inc, err := s.opts.Incidents.IncidentSummary(r.Context(), incidentActor(r), tenantOf(r), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	p.Title = inc.Ref + " " + safeLine(inc.Title, 200)
	names, err := s.userLabels(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	d := &incSummaryPage{Page: p, Head: headOf(p, inc, "overview", false), Inc: incViewOf(p, inc, names, now),
		Clocks: s.incClocks(p, inc, now)}
	s.render(w, r, http.StatusOK, "incidents_summary", d)
}

// incOverviewData builds the overview of d with its forms showing the
// incident as it is.
func (s *Server) incOverviewData(r *http.Request, d incident.Detail) (*incOverviewPage, error) {
	ctx := r.Context()
	p := s.page(r, "incidents", "")
	p.Title = d.Ref + " " + safeLine(d.Title, 200)
	p.RequestPath = incidentHref(d.Ref, "")
	names, err := s.userLabels(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	inc := d.Incident
	pg := &incOverviewPage{Page: p, Head: headOf(p, inc, "overview", true), Inc: incViewOf(p, inc, names, now),
		Clocks: s.incClocks(p, inc, now), Edit: incFormFrom(inc, p.loc), Types: incTypeOptions(p, string(inc.Type)),
		FlagBoxes: incFlagBoxes(p, inc.Flags.Names()), Resolutions: incident.Resolutions,
		LinkKinds: incident.LinkKinds, Severities: incident.Severities, Functionals: incident.FunctionalImpacts,
		Informations: incident.InformationImpacts, Recovers: incident.Recoverabilities,
		Criticalities: incident.Criticalities, TasksHref: incidentHref(d.Ref, "tasks"),
		ReviewRequired: inc.Severity.AtLeast(incident.SeverityHigh) && !d.Review.Complete(),
		Resolution:     string(incident.ResolutionResolved), ReopenTo: string(incident.PhaseAnalysis),
		OverrideTo: string(inc.Override.Severity)}
	for _, t := range d.Tasks {
		if t.Required && t.Status.Open() {
			pg.OpenRequired++
		}
	}
	for _, ph := range incident.Phases {
		if ph != inc.Phase && incident.CanMove(inc.Phase, ph) {
			pg.Moves = append(pg.Moves, incMove{Phase: ph, Label: p.T("incident.phase." + string(ph)),
				NeedsReason: incident.MoveNeedsReason(inc.Phase, ph)})
		}
		if ph != incident.PhaseTriage && ph != incident.PhaseClosed {
			pg.ReopenPhases = append(pg.ReopenPhases, ph)
		}
	}
	if im := inc.Assessment.Impact; inc.Assessment.Severity != "" {
		pg.Impact = incImpactForm{Functional: string(im.Functional), Recoverability: string(im.Recoverability),
			Criticality: string(im.Criticality)}
		if im.People > 0 {
			pg.Impact.People = strconv.FormatInt(im.People, 10)
		}
		for _, v := range im.Information {
			pg.Impact.Information = append(pg.Impact.Information, string(v))
		}
	}
	if pg.Users, err = s.incUserOptions(ctx, inc.Assignees); err != nil {
		return nil, err
	}
	pg.Links = incLinksOf(p, d)
	if pg.Next, err = s.incNextSteps(r, p, d); err != nil {
		return nil, err
	}
	return pg, nil
}

// incLinksOf shows d's links to other incidents as d sees them.
func incLinksOf(p *Page, d incident.Detail) []incLinkView {
	var out []incLinkView
	for _, l := range d.Links {
		v := incLinkView{Kind: l.Kind, Reverse: l.Reverse, OtherID: l.Other.ID, Ref: l.Other.Ref,
			Title: safeLine(l.Other.Title, 200), Href: incidentHref(l.Other.Ref, ""), Status: l.Other.Status,
			Phase: l.Other.Phase, Severity: l.Other.Severity, CanRemove: !d.Closed()}
		if l.Reverse {
			v.Label = p.T("incident.link_kind_reverse." + string(l.Kind))
		} else {
			v.Label = p.T("incident.link_kind." + string(l.Kind))
		}
		out = append(out, v)
	}
	return out
}

// incViewOf shows inc; a brief incident (Incident.Brief) shows as much as
// it holds.
func incViewOf(p *Page, inc incident.Incident, names incPeople, now time.Time) incView {
	v := incView{ID: inc.ID, Ref: inc.Ref, Title: safeLine(inc.Title, 300), Type: inc.Type,
		TypeLabel: p.T("incident.type." + string(inc.Type)), Status: inc.Status,
		StatusReason: safeLine(inc.StatusReason, 2000), Phase: inc.Phase, Severity: inc.Severity,
		Version: inc.Version, Closed: inc.Closed(), OnHold: inc.Status == incident.StatusOnHold,
		CreatedBy: safeLine(inc.CreatedBy, 200), Resolution: inc.Resolution,
		AffectedAssets: safeLines(inc.AffectedAssets, 300), AffectedUsers: safeLines(inc.AffectedUsers, 300),
		Tags: safeLines(inc.Tags, 300)}
	if inc.Description != "" {
		v.Description = textLines(inc.Description)
	}
	if inc.Summary != "" {
		v.Summary = textLines(inc.Summary)
	}
	steps := inc.IPASteps()
	for _, st := range incident.IPASteps {
		cur := false
		for _, c := range steps {
			cur = cur || c == st
		}
		v.IPASteps = append(v.IPASteps, incIPAStep{Step: st, Label: p.T("incident.ipa_step." + string(st)), Current: cur})
	}
	if as := inc.Assessment; as.Severity != "" {
		v.Assessed, v.AssessedSeverity, v.AssessedBy = true, as.Severity, safeLine(as.By, 200)
		v.AssessedAt = p.timeView(as.At, now)
		for _, r := range as.Reasons {
			v.Reasons = append(v.Reasons, incReason{Text: p.T(r.Msg, r.MsgArgs()...), Severity: r.Severity})
		}
	}
	if o := inc.Override; o.Severity != "" {
		v.OverrideSeverity, v.OverrideReason, v.OverrideBy = o.Severity, safeLine(o.Reason, 2000), safeLine(o.By, 200)
	}
	for _, id := range inc.Assignees {
		v.Assignees = append(v.Assignees, names.label(id))
	}
	for _, id := range inc.Techniques {
		// Stored ids were checked as T1234 or T1234.567: safe in a URL.
		v.Techniques = append(v.Techniques, technique{ID: safeLine(id, 20),
			Href: "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"})
	}
	for _, f := range inc.Fields {
		val, _ := safeText(f.Value, 2000)
		v.Fields = append(v.Fields, incident.Field{Name: safeLine(f.Name, 100), Value: val})
	}
	for _, n := range inc.Flags.Names() {
		v.Flags = append(v.Flags, p.T("incidentclock.flag."+n))
	}
	var ids []string
	v.PPCReportable, ids = inc.Flags.PPCReportable()
	for _, id := range ids {
		v.PPCSituations = append(v.PPCSituations, p.T(id))
	}
	v.Times = incTimesOf(p, inc, now)
	return v
}

// incTimesOf lists inc's milestone times.
func incTimesOf(p *Page, inc incident.Incident, now time.Time) []incTime {
	var out []incTime
	for _, t := range []struct {
		key string
		at  time.Time
	}{{"detected", inc.DetectedAt}, {"aware", inc.AwareAt}, {"acknowledged", inc.AcknowledgedAt},
		{"contained", inc.ContainedAt}, {"resolved", inc.ResolvedAt}, {"closed", inc.ClosedAt},
		{"created", inc.CreatedAt}, {"updated", inc.UpdatedAt}} {
		out = append(out, incTime{Key: t.key, Time: p.timeView(t.at, now)})
	}
	return out
}

// textLines splits a person's text into lines for display.
func textLines(s string) []string {
	t, _ := safeText(s, 20000)
	return strings.Split(strings.ReplaceAll(t, "\r\n", "\n"), "\n")
}

// Fields returns the data of the edit form's fields.
func (d *incOverviewPage) Fields() incFieldsData {
	f := incFieldsData{P: d.Page, F: d.Edit, Types: d.Types, ID: "edit-"}
	if d.Form == "edit" {
		f.Errs = d.Errors
	}
	return f
}

// Flags returns the data of the flags form's boxes.
func (d *incOverviewPage) Flags() incFlagsData {
	return incFlagsData{P: d.Page, Boxes: d.FlagBoxes, ID: "ov-", Err: d.FErr("flags", "flags")}
}
