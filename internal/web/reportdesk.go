// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
)

// The employee report desk (報告窓口): a form simple enough for anyone, the
// reporter's own reports, anonymous reporting when the desk allows it, and
// the responders' triage queue (reportdesk_triage.go).

// registerReportDesk registers the routes of the employee report form (報告窓口) and its triage queue.
func (s *Server) registerReportDesk() {
	max := s.reportBodyLimit()
	s.handle(Session, auth.PermReportDesk, "GET /report", s.reportNew)
	s.handleUpload(Session, auth.PermReportDesk, "POST /report", max, s.reportSubmit)
	s.handle(Session, auth.PermReportDesk, "GET /report/mine", s.reportMine)
	s.handle(Session, auth.PermReportDesk, "GET /report/mine/{ref}", s.reportMineDetail)
	// Anonymous reporting: registered always, answering 404 unless the
	// desk takes anonymous reports.
	s.handle(Public, "", "GET /report/anonymous", s.reportAnonymousNew)
	s.handleUpload(Public, "", "POST /report/anonymous", max, s.reportAnonymousSubmit)
	s.handle(Public, "", "GET /report/status/{token}", s.reportStatus)
	// Triage. The queue's literal path wins over /incidents/{ref}; one
	// report's pages live under /report/triage, since /incidents/reports/{ref}
	// would clash with the incident tabs (/incidents/{ref}/reports).
	s.handle(Session, auth.PermIncidents, "GET /incidents/reports", s.reportQueue)
	s.handle(Session, auth.PermIncidents, "GET /report/triage/{ref}", s.reportTriage)
	s.handle(Session, auth.PermIncidents, "POST /report/triage/{ref}/take", s.reportTake)
	s.handle(Session, auth.PermIncidents, "POST /report/triage/{ref}/dismiss", s.reportDismiss)
	s.handle(Session, auth.PermIncidents, "POST /report/triage/{ref}/incident", s.reportOpenIncident)
}

// reportBodyLimit bounds the body of a report: every file at its largest,
// plus room for the text and the multipart framing.
func (s *Server) reportBodyLimit() int64 {
	size, n := int64(reportdesk.DefaultMaxAttachmentSize), reportdesk.DefaultMaxAttachments
	if d := s.opts.ReportDesk; d != nil {
		size, n = d.MaxAttachmentSize(), d.MaxAttachments()
	}
	return int64(n)*size + 1<<20
}

// deskOn reports whether the report desk is configured, else writes the
// not-found page.
func (s *Server) deskOn(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ReportDesk == nil {
		s.fail(w, r, fault.New(fault.NotFound, "reportdesk.off"))
		return false
	}
	return true
}

// anonymousOn is deskOn for the anonymous routes: they do not exist unless
// the desk takes anonymous reports.
func (s *Server) anonymousOn(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ReportDesk == nil || !s.opts.ReportDesk.Anonymous() {
		s.notFound(w, r)
		return false
	}
	return true
}

// kindChoice is one of the big choices of "what happened".
type kindChoice struct {
	Value       reportdesk.Kind
	Label, Help string
	Checked     bool
}

// reportNewPage is the report form.
type reportNewPage struct {
	*Page
	Action    string // where the form posts
	Anonymous bool
	Kinds     []kindChoice
	Form      reportForm
	MaxFiles  int
	MaxSize   string
	// AnonymousHref links to the anonymous form when the desk has one.
	AnonymousHref string
}

func (s *Server) reportNewData(r *http.Request, f reportForm, anonymous bool) *reportNewPage {
	title := "reportdesk.form.title"
	if anonymous {
		title = "reportdesk.form.anonymous_title"
	}
	p := s.page(r, "report", title)
	d := s.opts.ReportDesk
	data := &reportNewPage{Page: p, Action: "/report", Anonymous: anonymous, Form: f, MaxFiles: d.MaxAttachments(),
		MaxSize: reportdesk.SizeText(d.MaxAttachmentSize())}
	if anonymous {
		data.Action = "/report/anonymous"
	} else if d.Anonymous() {
		data.AnonymousHref = "/report/anonymous"
	}
	for _, k := range reportdesk.Kinds {
		data.Kinds = append(data.Kinds, kindChoice{Value: k, Label: p.T("reportdesk.kind." + string(k)),
			Help: p.T("reportdesk.kind_help." + string(k)), Checked: string(k) == f.Kind})
	}
	return data
}

// reportNew is the report form: GET /report.
func (s *Server) reportNew(w http.ResponseWriter, r *http.Request) {
	if !s.deskOn(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "report", s.reportNewData(r, reportForm{Kind: r.URL.Query().Get("kind")}, false))
}

// reportAnonymousNew is the anonymous report form: GET /report/anonymous.
func (s *Server) reportAnonymousNew(w http.ResponseWriter, r *http.Request) {
	if !s.anonymousOn(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "report", s.reportNewData(r, reportForm{}, true))
}

// reportSubmit sends a signed-in employee's report: POST /report
// (multipart, with up to MaxAttachments files), then shows it with a
// thank-you.
func (s *Server) reportSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.deskOn(w, r) {
		return
	}
	rc, f, err := s.submitReport(r, incidentActor(r), false)
	if err != nil {
		s.reportFailed(w, r, f, err, false)
		return
	}
	redirectDone(w, r, "/report/mine/"+rc.Report.Ref, "report_sent")
}

// reportAnonymousSubmit sends an anonymous report: POST
// /report/anonymous, at most a few per client address an hour; it leads
// to the report's private status page.
func (s *Server) reportAnonymousSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.anonymousOn(w, r) {
		return
	}
	if err := s.opts.ReportDesk.Admit(info(r).ip); err != nil {
		var ra reportdesk.RetryAfter
		if errors.As(err, &ra) {
			w.Header().Set("Retry-After", retrySeconds(time.Duration(ra)))
		}
		s.fail(w, r, err)
		return
	}
	a := incident.Actor{Actor: audit.Actor{Name: "anonymous", Via: audit.ViaWeb}}
	rc, f, err := s.submitReport(r, a, true)
	if err != nil {
		s.reportFailed(w, r, f, err, true)
		return
	}
	redirectDone(w, r, "/report/status/"+rc.Token, "report_sent")
}

// submitReport reads the multipart form, staging its files, and submits
// the report; on any error the staged files are discarded.
func (s *Server) submitReport(r *http.Request, a incident.Actor, anonymous bool) (reportdesk.Receipt, reportForm, error) {
	d := s.opts.ReportDesk
	f, staged, err := readReportForm(r.Context(), r.Body, r.Header.Get("Content-Type"), d.MaxAttachments(), d.Stage)
	if err != nil {
		d.Discard(r.Context(), staged)
		return reportdesk.Receipt{}, f, err
	}
	rc, err := d.Submit(r.Context(), a, reportdesk.Submission{Tenant: tenantOf(r), Kind: reportdesk.Kind(f.Kind),
		What: f.What, When: f.When, Where: f.Where, Contact: f.Contact, Anonymous: anonymous}, staged)
	return rc, f, err
}

// reportFailed shows the form again with what was typed and the problems,
// or the error page for anything a reporter cannot fix.
func (s *Server) reportFailed(w http.ResponseWriter, r *http.Request, f reportForm, err error, anonymous bool) {
	d := s.reportNewData(r, f, anonymous)
	if fault.KindOf(err) == fault.Internal || !d.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "report", d)
}

// reportRow is a report in a list.
type reportRow struct {
	Ref, Href, Kind, Status string
	StatusKey               reportdesk.Status
	Sent                    string
}

// reportMinePage lists the reporter's own reports.
type reportMinePage struct {
	*Page
	Reports []reportRow
}

// reportMine lists the signed-in user's own reports: GET /report/mine.
func (s *Server) reportMine(w http.ResponseWriter, r *http.Request) {
	if !s.deskOn(w, r) {
		return
	}
	rs, err := s.opts.ReportDesk.MyReports(r.Context(), incidentActor(r), tenantOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "report", "reportdesk.mine.title")
	d := reportMinePage{Page: p}
	for _, rep := range rs {
		d.Reports = append(d.Reports, reportRow{Ref: rep.Ref, Href: "/report/mine/" + rep.Ref,
			Kind: p.T("reportdesk.kind." + string(rep.Kind)), Status: p.T("reportdesk.status." + string(rep.Status)),
			StatusKey: rep.Status, Sent: p.Time(rep.CreatedAt)})
	}
	s.render(w, r, http.StatusOK, "report_mine", d)
}

// attachmentRow is an attachment as the pages show it.
type attachmentRow struct {
	Name, Size, SHA256 string
	InEvidence         bool
}

// reportDetailPage is one report as its reporter sees it.
type reportDetailPage struct {
	*Page
	Report      reportdesk.Report
	Kind        string
	Status      string
	Next        string // what happens next, for the report's status
	Sent        string
	Attachments []attachmentRow
	Thanks      bool
	// StatusURL is an anonymous report's private link, shown to keep.
	StatusURL string
}

func (s *Server) reportDetailData(r *http.Request, rep reportdesk.Report) reportDetailPage {
	p := s.page(r, "report", "")
	p.Title = p.T("reportdesk.detail.title", "ref", rep.Ref)
	d := reportDetailPage{Page: p, Report: rep, Kind: p.T("reportdesk.kind." + string(rep.Kind)),
		Status: p.T("reportdesk.status." + string(rep.Status)),
		Next:   p.T("reportdesk.next."+string(rep.Status), "ref", rep.IncidentRef), Sent: p.Time(rep.CreatedAt),
		Attachments: attachmentRows(rep), Thanks: r.URL.Query().Get("done") == "report_sent"}
	return d
}

func attachmentRows(rep reportdesk.Report) []attachmentRow {
	var out []attachmentRow
	for _, a := range rep.Attachments {
		out = append(out, attachmentRow{Name: a.Name, Size: reportdesk.SizeText(a.Size), SHA256: a.SHA256,
			InEvidence: a.EvidenceID != 0})
	}
	return out
}

// reportMineDetail shows one of the signed-in user's reports: GET
// /report/mine/{ref}. Anyone else's report does not exist for them.
func (s *Server) reportMineDetail(w http.ResponseWriter, r *http.Request) {
	if !s.deskOn(w, r) {
		return
	}
	a := incidentActor(r)
	a.Access = incident.AccessNone // here everyone reads as a reporter: their own only
	rep, err := s.opts.ReportDesk.ReportByRef(r.Context(), a, tenantOf(r), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "report_detail", s.reportDetailData(r, rep))
}

// reportStatus shows an anonymous report to whoever holds its private
// link: GET /report/status/{token}.
func (s *Server) reportStatus(w http.ResponseWriter, r *http.Request) {
	if !s.anonymousOn(w, r) {
		return
	}
	rep, err := s.opts.ReportDesk.StatusByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.reportDetailData(r, rep)
	d.StatusURL = s.absoluteURL(r, "/report/status/"+r.PathValue("token"))
	// The page's address is the key to the report: no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "report_detail", d)
}

// absoluteURL is path on koban's external address, or on the host the
// request came to when none is configured.
func (s *Server) absoluteURL(r *http.Request, path string) string {
	if s.opts.BaseURL != "" {
		return trimSlash(s.opts.BaseURL) + path
	}
	scheme := "http"
	if s.isSecure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Lines splits text people wrote into its lines, for a template to join
// with line breaks: each line is escaped on its own.
func (reportDetailPage) Lines(text string) []string { return strings.Split(text, "\n") }
