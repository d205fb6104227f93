// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// draftRow is one report draft in the list.
type draftRow struct {
	comms.Report
	Title string
	Href  string
	Sends int
}

// draftDeadline is a regulatory clock as the report pages show it.
type draftDeadline struct {
	Kind  incident.DeadlineKind
	Label string
	Due   string
	State incident.DeadlineState
}

// draftsTabPage is an incident's reports tab: its drafts and the form
// to start one.
type draftsTabPage struct {
	*Page
	Head      incidentHead
	Reports   []draftRow
	Kinds     []comms.ReportKind
	Langs     []i18n.Lang
	Deadlines []draftDeadline
}

func draftTitle(p *Page, lang i18n.Lang, r comms.Report) string {
	t := p.cat.T(lang, "comms.report."+string(r.Kind)+".title")
	if r.Stage != "" {
		t += " — " + p.cat.T(lang, "comms.stage."+string(r.Stage))
	}
	return t
}

func draftHref(ref string, id int64) string {
	return incidentHref(ref, "reports") + "/" + strconv.FormatInt(id, 10)
}

// ppcClocks are the incident's PPC clocks, if it has any.
func (s *Server) ppcClocks(p *Page, d incident.Detail) []draftDeadline {
	var out []draftDeadline
	now := s.now()
	for _, dl := range incident.Deadlines(d.AwareAt, d.Flags, d.Severity, s.opts.Comms.Policy()) {
		if dl.Kind != incident.DeadlinePPCPreliminary && dl.Kind != incident.DeadlinePPCFinal {
			continue
		}
		out = append(out, draftDeadline{Kind: dl.Kind, Label: p.T("incidentclock.kind." + string(dl.Kind)),
			Due: incident.FormatDue(dl, p.Lang), State: dl.State(now, time.Time{})})
	}
	return out
}

// draftsTab is the reports tab: GET /incidents/{ref}/reports.
func (s *Server) draftsTab(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	s.renderDraftsTab(w, r, d, http.StatusOK, nil)
}

func (s *Server) renderDraftsTab(w http.ResponseWriter, r *http.Request, d incident.Detail, status int, ferr error) {
	ctx, a := r.Context(), commsActor(r)
	rs, err := s.opts.Comms.Reports(ctx, a, d.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	p.Title = p.T("comms.ui.reports_title", "ref", d.Ref)
	pg := &draftsTabPage{Page: p, Head: headOf(p, d.Incident, "reports", true), Kinds: comms.ReportKinds,
		Langs: i18n.Langs, Deadlines: s.ppcClocks(p, d)}
	for _, rep := range rs {
		ss, err := s.opts.Comms.Sends(ctx, a, d.ID, rep.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		pg.Reports = append(pg.Reports, draftRow{Report: rep, Title: draftTitle(p, p.Lang, rep),
			Href: draftHref(d.Ref, rep.ID), Sends: len(ss)})
	}
	if ferr != nil && !pg.formErrors(ferr) {
		s.fail(w, r, ferr)
		return
	}
	s.render(w, r, status, "reports_drafts", pg)
}

// draftCreate starts a draft: POST /incidents/{ref}/reports. The kind
// field carries the PPC stage as "ppc:preliminary" or "ppc:final".
func (s *Server) draftCreate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	kind, stage := r.PostFormValue("kind"), ""
	if k, st, found := cutStage(kind); found {
		kind, stage = k, st
	}
	rep, err := s.opts.Comms.CreateReport(r.Context(), commsActor(r), d.ID, comms.ReportKind(kind), comms.Stage(stage),
		i18n.Lang(r.PostFormValue("lang")))
	if err != nil {
		s.renderDraftsTab(w, r, d, statusFor(fault.KindOf(err)), err)
		return
	}
	redirectDone(w, r, draftHref(d.Ref, rep.ID), "comms_report_created")
}

func cutStage(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// draftField is one field of a draft as its form and print view show it.
type draftField struct {
	comms.Field
	Label string
	Name  string // the form field's name
	N     int    // its number, from 1
}

// draftPage is a draft's form, with its clock and sent log.
type draftPage struct {
	*Page
	Head      incidentHead
	Report    comms.Report
	Title     string
	Fields    []draftField
	Deadline  *draftDeadline
	Sends     []comms.Send
	Contacts  []comms.Contact
	Channels  []comms.Channel
	Href      string
	PrintHref string
	// Suggestions: fields with a newer pre-fill than the person's text.
	Suggestions bool
}

// draftFieldViews labels a draft's fields in lang.
func draftFieldViews(p *Page, lang i18n.Lang, rep comms.Report) []draftField {
	out := make([]draftField, 0, len(rep.Fields))
	for i, f := range rep.Fields {
		out = append(out, draftField{Field: f, Name: "f_" + f.Key, N: i + 1,
			Label: p.cat.T(lang, "comms.report."+string(rep.Kind)+"."+f.Key)})
	}
	return out
}

// draftOf reads the draft the request's {id} names in incident d.
func (s *Server) draftOf(w http.ResponseWriter, r *http.Request, d incident.Detail) (comms.Report, bool) {
	id, err := pathID(r)
	var rep comms.Report
	if err == nil {
		rep, err = s.opts.Comms.Report(r.Context(), commsActor(r), d.ID, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return rep, false
	}
	return rep, true
}

func (s *Server) draftPageOf(w http.ResponseWriter, r *http.Request, d incident.Detail, rep comms.Report) (*draftPage, bool) {
	ctx, a := r.Context(), commsActor(r)
	ss, err := s.opts.Comms.Sends(ctx, a, d.ID, rep.ID)
	var cs []comms.Contact
	if err == nil {
		cs, err = s.opts.Comms.Contacts(ctx, a, d.Tenant)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	p := s.page(r, "incidents", "")
	title := draftTitle(p, p.Lang, rep)
	p.Title = title + " · " + d.Ref
	pg := &draftPage{Page: p, Head: headOf(p, d.Incident, "reports", true), Report: rep, Title: title,
		Fields: draftFieldViews(p, p.Lang, rep), Sends: ss, Contacts: cs, Channels: comms.Channels,
		Href: draftHref(d.Ref, rep.ID), PrintHref: draftHref(d.Ref, rep.ID) + "/print"}
	for _, f := range rep.Fields {
		pg.Suggestions = pg.Suggestions || f.Suggested != ""
	}
	if k := rep.DeadlineKind(); k != "" {
		for _, dl := range s.ppcClocks(p, d) {
			if dl.Kind == k {
				pg.Deadline = &dl
			}
		}
	}
	return pg, true
}

// draftEdit is a draft's form: GET /incidents/{ref}/reports/{id}.
func (s *Server) draftEdit(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	rep, ok := s.draftOf(w, r, d)
	if !ok {
		return
	}
	if pg, ok := s.draftPageOf(w, r, d, rep); ok {
		s.render(w, r, http.StatusOK, "reports_draft", pg)
	}
}

// draftSave saves a draft's fields: POST /incidents/{ref}/reports/{id}.
// A "take" button takes one field's suggested pre-fill.
func (s *Server) draftSave(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	rep, ok := s.draftOf(w, r, d)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	values := map[string]string{}
	for _, f := range rep.Fields {
		if v, ok := r.PostForm["f_"+f.Key]; ok && len(v) > 0 {
			values[f.Key] = v[0]
		}
		if r.PostFormValue("take") == f.Key && f.Suggested != "" {
			values[f.Key] = f.Suggested
		}
	}
	saved, err := s.opts.Comms.SaveReport(r.Context(), commsActor(r), d.ID,
		comms.ReportRef{ID: rep.ID, Version: formInt(r, "version")}, values)
	if err == nil {
		redirectDone(w, r, draftHref(d.Ref, saved.ID), "comms_report_saved")
		return
	}
	// Show the person's text again beside the messages.
	for i, f := range rep.Fields {
		if v, ok := values[f.Key]; ok {
			rep.Fields[i].Value = v
		}
	}
	pg, ok := s.draftPageOf(w, r, d, rep)
	if !ok {
		return
	}
	if !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "reports_draft", pg)
}

// draftRefresh pre-fills a draft again from the incident without writing
// over edited fields: POST /incidents/{ref}/reports/{id}/refresh.
func (s *Server) draftRefresh(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	rep, ok := s.draftOf(w, r, d)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	_, _, suggested, err := s.opts.Comms.RefreshReport(r.Context(), commsActor(r), d.ID,
		comms.ReportRef{ID: rep.ID, Version: formInt(r, "version")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done := "comms_report_refreshed"
	if len(suggested) > 0 {
		done = "comms_report_suggested"
	}
	redirectDone(w, r, draftHref(d.Ref, rep.ID), done)
}

// draftSent records a send: POST /incidents/{ref}/reports/{id}/sent.
func (s *Server) draftSent(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	rep, ok := s.draftOf(w, r, d)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	at, err := formTime(r, p, "at")
	if err == nil {
		_, err = s.opts.Comms.RecordSend(r.Context(), commsActor(r), d.ID, rep.ID, comms.SendInput{
			ContactID: formInt(r, "contact"), To: r.PostFormValue("to"), Channel: comms.Channel(r.PostFormValue("channel")),
			At: at, Reference: r.PostFormValue("reference"), Note: r.PostFormValue("note")})
	}
	if err == nil {
		redirectDone(w, r, draftHref(d.Ref, rep.ID), "comms_report_sent")
		return
	}
	pg, ok := s.draftPageOf(w, r, d, rep)
	if !ok {
		return
	}
	if !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "reports_draft", pg)
}

// draftPrintPage is a draft's printable view, in the draft's language.
type draftPrintPage struct {
	*Page
	Ref       string
	IncTitle  string
	Title     string
	Fields    []draftField
	Deadline  *draftDeadline
	Generated string
}

// draftPrint is a draft's printable view, without navigation:
// GET /incidents/{ref}/reports/{id}/print.
func (s *Server) draftPrint(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	rep, ok := s.draftOf(w, r, d)
	if !ok {
		return
	}
	p := s.page(r, "incidents", "")
	p.Lang = rep.Lang // the draft's language, whatever the viewer's
	if rep.Lang == i18n.Japanese {
		p.loc = incident.Tokyo()
	}
	title := draftTitle(p, rep.Lang, rep)
	p.Title = title + " · " + d.Ref
	pg := &draftPrintPage{Page: p, Ref: d.Ref, IncTitle: d.Title, Title: title, Fields: draftFieldViews(p, rep.Lang, rep),
		Generated: p.Time(rep.UpdatedAt)}
	if k := rep.DeadlineKind(); k != "" {
		for _, dl := range s.ppcClocks(p, d) {
			if dl.Kind == k {
				pg.Deadline = &dl
			}
		}
	}
	s.render(w, r, http.StatusOK, "reports_draft_print", pg)
}
