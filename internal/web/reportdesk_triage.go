// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
)

// The responders' side of the report desk: the queue at
// /incidents/reports and one report's triage page with its actions.

// queueRow is a report in the triage queue.
type queueRow struct {
	reportRow
	Reporter string // "" for anonymous
	Handler  string
	Files    int
}

// reportQueuePage is the triage queue.
type reportQueuePage struct {
	*Page
	All     bool // every report, not only those waiting
	Reports []queueRow
}

// reportQueue lists employee reports: GET /incidents/reports, those
// waiting for a decision, or ?status=all for every one.
func (s *Server) reportQueue(w http.ResponseWriter, r *http.Request) {
	if !s.deskOn(w, r) {
		return
	}
	all := r.URL.Query().Get("status") == "all"
	f := reportdesk.Filter{Tenant: tenantOf(r)}
	if !all {
		f.Statuses = []reportdesk.Status{reportdesk.StatusReceived, reportdesk.StatusTriage}
	}
	rs, err := s.opts.ReportDesk.Queue(r.Context(), incidentActor(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "reportdesk.queue.title")
	d := reportQueuePage{Page: p, All: all}
	for _, rep := range rs {
		d.Reports = append(d.Reports, queueRow{reportRow: reportRow{Ref: rep.Ref, Href: triageHref(rep.Ref),
			Kind: p.T("reportdesk.kind." + string(rep.Kind)), Status: p.T("reportdesk.status." + string(rep.Status)),
			StatusKey: rep.Status, Sent: p.Time(rep.CreatedAt)}, Reporter: rep.Reporter, Handler: rep.Handler})
	}
	s.render(w, r, http.StatusOK, "report_queue", d)
}

func triageHref(ref string) string { return "/report/triage/" + ref }

// typeChoice is an incident type offered by the open-incident form.
type typeChoice struct {
	Value    incident.Type
	Label    string
	Selected bool
}

// incidentForm is the open-incident form as typed.
type incidentForm struct {
	Title, Description string
	Type               incident.Type
}

// reportTriagePage is one report as a responder sees it.
type reportTriagePage struct {
	reportDetailPage
	Reporter    string // "" for anonymous
	Version     int64
	Open        bool
	Mine        bool // taken by the viewer
	Note        string
	Incident    incidentForm
	Types       []typeChoice
	IncidentURL string
}

// reportTriageData builds the page; form values, when given, are shown
// instead of the draft the report suggests.
func (s *Server) reportTriageData(r *http.Request, rep reportdesk.Report, inc *incidentForm, note string) *reportTriagePage {
	d := &reportTriagePage{reportDetailPage: s.reportDetailData(r, rep), Reporter: rep.Reporter, Version: rep.Version,
		Open: rep.Status.Open(), Mine: rep.HandlerID != 0 && rep.HandlerID == incidentActor(r).UserID, Note: note}
	d.Section, d.Thanks = "incidents", false
	if rep.IncidentRef != "" {
		d.IncidentURL = incidentHref(rep.IncidentRef, "")
	}
	if inc != nil {
		d.Incident = *inc
	} else {
		d.Incident = s.incidentFormFor(d.Page, rep)
	}
	for _, ti := range incident.Taxonomy {
		d.Types = append(d.Types, typeChoice{Value: ti.Type, Label: d.T("incident.type." + string(ti.Type)),
			Selected: ti.Type == d.Incident.Type})
	}
	return d
}

// incidentFormFor is the incident the report suggests, its description
// completed with the report's details in the responder's language.
func (s *Server) incidentFormFor(p *Page, rep reportdesk.Report) incidentForm {
	dr := reportdesk.DraftFor(rep)
	var b strings.Builder
	b.WriteString(dr.Description)
	b.WriteString("\n\n")
	for _, l := range []struct{ id, v string }{{"reportdesk.triage.desc_when", rep.When},
		{"reportdesk.triage.desc_where", rep.Where}, {"reportdesk.triage.desc_contact", rep.Contact}} {
		if l.v != "" {
			b.WriteString(p.T(l.id, "v", l.v) + "\n")
		}
	}
	who := rep.Reporter
	if rep.Anonymous() {
		who = p.T("reportdesk.queue.anonymous")
	}
	b.WriteString(p.T("reportdesk.triage.desc_reporter", "v", who, "ref", rep.Ref))
	return incidentForm{Title: dr.Title, Description: b.String(), Type: dr.Type}
}

// triageReport reads the report {ref} names for a responder, or writes the
// error page.
func (s *Server) triageReport(w http.ResponseWriter, r *http.Request) (reportdesk.Report, bool) {
	if !s.deskOn(w, r) {
		return reportdesk.Report{}, false
	}
	rep, err := s.opts.ReportDesk.ReportByRef(r.Context(), incidentActor(r), tenantOf(r), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return reportdesk.Report{}, false
	}
	return rep, true
}

// reportTriage shows one report with what a responder can do with it: GET
// /report/triage/{ref}.
func (s *Server) reportTriage(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.triageReport(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "report_triage", s.reportTriageData(r, rep, nil, ""))
}

// reportVersion reads the version field the page carried; 0 (do not
// check) when absent or not a number.
func reportVersion(r *http.Request) int64 {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64) // a bad number is "absent"
	return max(v, 0)
}

// reportTake makes the responder the report's handler: POST
// /report/triage/{ref}/take.
func (s *Server) reportTake(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.triageReport(w, r)
	if !ok {
		return
	}
	s.form(w, r, "report_triage", triageHref(rep.Ref), "report_taken", func() error {
		_, err := s.opts.ReportDesk.Take(r.Context(), incidentActor(r), rep.ID, reportVersion(r))
		return err
	}, func() (pageData, error) { return s.reportTriageData(r, rep, nil, ""), nil })
}

// reportDismiss closes the report as not an incident, with a note for the
// reporter: POST /report/triage/{ref}/dismiss.
func (s *Server) reportDismiss(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.triageReport(w, r)
	if !ok {
		return
	}
	s.form(w, r, "report_triage", "/incidents/reports", "report_dismissed", func() error {
		_, err := s.opts.ReportDesk.Dismiss(r.Context(), incidentActor(r), rep.ID, reportVersion(r), r.PostFormValue("note"))
		return err
	}, func() (pageData, error) { return s.reportTriageData(r, rep, nil, r.PostFormValue("note")), nil })
}

// reportOpenIncident opens an incident from the report, moving its
// attachments into the incident's evidence, and goes to the incident:
// POST /report/triage/{ref}/incident with title, type and description.
func (s *Server) reportOpenIncident(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.triageReport(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := incidentForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Type: incident.Type(r.PostFormValue("type"))}
	d := reportdesk.DraftFor(rep)
	d.Tenant, d.Title, d.Description, d.Type = tenantOf(r), f.Title, f.Description, f.Type
	inc, err := s.opts.ReportDesk.OpenIncident(r.Context(), incidentActor(r), rep.ID, d)
	if err == nil {
		redirectDone(w, r, incidentHref(inc.Ref, ""), "")
		return
	}
	data := s.reportTriageData(r, rep, &f, "")
	if fault.KindOf(err) == fault.Internal || !data.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "report_triage", data)
}
