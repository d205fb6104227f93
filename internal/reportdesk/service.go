// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Store keeps reports and their attachments. It is implemented by
// internal/store for SQLite and PostgreSQL. Reads of a missing row return
// NotFound; every method may return Internal.
type Store interface {
	// Tx runs fn in a transaction that calls made with its ctx join; a
	// transaction is serialised with every other.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error
	// NextDeskReportNumber returns the next number of a tenant's reports
	// of year, from 1: concurrent callers get distinct numbers, and a
	// rolled-back transaction gives its number back.
	NextDeskReportNumber(ctx context.Context, tenant string, year int) (int, error)
	// CreateDeskReport inserts r and its attachments (ignoring their IDs)
	// and returns them with their ids; Conflict when the tenant has a
	// report with its Ref already, or one with its TokenHash.
	CreateDeskReport(ctx context.Context, r Report) (Report, error)
	// UpdateDeskReport stores r's Status, handler, Note, incident,
	// Version, UpdatedAt and DecidedAt, provided the row's version is
	// still prevVersion; NotFound otherwise.
	UpdateDeskReport(ctx context.Context, r Report, prevVersion int64) error
	// SetDeskAttachmentEvidence records the evidence item an attachment
	// became.
	SetDeskAttachmentEvidence(ctx context.Context, attachmentID, evidenceID int64) error
	// DeskReport returns the report with id, with its attachments.
	DeskReport(ctx context.Context, id int64) (Report, error)
	// DeskReportByRef returns a tenant's report with a reference, with its
	// attachments.
	DeskReportByRef(ctx context.Context, tenant, ref string) (Report, error)
	// DeskReportByToken returns the anonymous report whose status token
	// has this hex SHA-256, with its attachments.
	DeskReportByToken(ctx context.Context, tokenHash string) (Report, error)
	// DeskReports returns the reports f selects, newest (highest id)
	// first, at most f.Limit (every one when it is 0), without their
	// attachments.
	DeskReports(ctx context.Context, f Filter) ([]Report, error)
	// CountDeskAttachments counts the attachments with this SHA-256 not
	// yet moved into an incident's evidence.
	CountDeskAttachments(ctx context.Context, sha256 string) (int, error)
	// CountEvidenceBySHA256 counts the evidence items not disposed of
	// whose content has this SHA-256.
	CountEvidenceBySHA256(ctx context.Context, sha256 string) (int, error)
	// AppendAudit appends to the audit trail, in the caller's transaction.
	AppendAudit(ctx context.Context, e audit.Entry) error
}

// Filter selects reports.
type Filter struct {
	Tenant string
	// ReporterID, when not 0, selects that user's reports only.
	ReporterID int64
	// Statuses, when given, selects reports in any of them.
	Statuses []Status
	Limit    int
}

// Incidents creates incidents and writes on their timelines;
// *incident.Service is one.
type Incidents interface {
	Create(ctx context.Context, a incident.Actor, d incident.Draft) (incident.Incident, error)
	Log(ctx context.Context, a incident.Actor, id int64, kind incident.EntryKind, at time.Time, msg string, args ...string) (incident.Entry, error)
}

// Locker takes evidence into an incident's locker; *incident.Locker is
// one.
type Locker interface {
	AddEvidence(ctx context.Context, a incident.Actor, incidentID int64, m incident.EvidenceMeta, r io.Reader) (incident.Evidence, error)
	MaxSize() int64
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is the time zone whose year numbers reports (default
	// Asia/Tokyo).
	Location *time.Location
	// MaxAttachmentSize is the largest attachment accepted, in bytes
	// (default 25 MiB, and never more than the evidence locker takes).
	MaxAttachmentSize int64
	// MaxAttachments is how many files one report may carry (default 5).
	MaxAttachments int
	// Anonymous lets people report without signing in.
	Anonymous bool
	// AnonymousLimit anonymous reports are accepted from one client
	// address per AnonymousWindow (defaults 5 and one hour).
	AnonymousLimit  int
	AnonymousWindow time.Duration
	// Log receives warnings (default: discarded).
	Log *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxAttachmentSize = 25 << 20
	DefaultMaxAttachments    = 5
	DefaultAnonymousLimit    = 5
	DefaultAnonymousWindow   = time.Hour
	// maxList bounds the lists of reports.
	maxList = 500
)

// Service runs the report desk.
type Service struct {
	store     Store
	incidents Incidents
	locker    Locker
	blobs     incident.Blobs
	now       func() time.Time
	loc       *time.Location
	maxSize   int64
	maxFiles  int
	anonymous bool
	limit     *Limiter
	log       *slog.Logger
}

// New returns a Service keeping reports in store and attachments in blobs
// (the evidence locker's content store), opening incidents with incidents
// and moving attachments into locker.
func New(store Store, incidents Incidents, locker Locker, blobs incident.Blobs, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = incident.Tokyo()
	}
	if o.MaxAttachmentSize <= 0 {
		o.MaxAttachmentSize = DefaultMaxAttachmentSize
	}
	if locker != nil && locker.MaxSize() < o.MaxAttachmentSize {
		// An attachment must fit into the locker it moves to.
		o.MaxAttachmentSize = locker.MaxSize()
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = DefaultMaxAttachments
	}
	if o.AnonymousLimit <= 0 {
		o.AnonymousLimit = DefaultAnonymousLimit
	}
	if o.AnonymousWindow <= 0 {
		o.AnonymousWindow = DefaultAnonymousWindow
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, incidents: incidents, locker: locker, blobs: blobs, now: o.Now, loc: o.Location,
		maxSize: o.MaxAttachmentSize, maxFiles: o.MaxAttachments, anonymous: o.Anonymous,
		limit: NewLimiter(o.AnonymousLimit, o.AnonymousWindow), log: o.Log}
}

// Anonymous reports whether the desk takes anonymous reports.
func (s *Service) Anonymous() bool { return s.anonymous }

// MaxAttachmentSize returns the largest attachment accepted, in bytes.
func (s *Service) MaxAttachmentSize() int64 { return s.maxSize }

// MaxAttachments returns how many files one report may carry.
func (s *Service) MaxAttachments() int { return s.maxFiles }

func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// MyReports returns the reports a signed-in user made, newest first.
//
// Errors: Forbidden "reportdesk.sign_in" without a user.
func (s *Service) MyReports(ctx context.Context, a incident.Actor, tenant string) ([]Report, error) {
	if a.UserID == 0 {
		return nil, fault.New(fault.Forbidden, "reportdesk.sign_in")
	}
	rs, err := s.store.DeskReports(ctx, Filter{Tenant: tenant, ReporterID: a.UserID, Limit: maxList})
	if err != nil {
		return nil, fmt.Errorf("reportdesk: reports of user %d: %w", a.UserID, err)
	}
	return rs, nil
}

// Report returns a report for its reporter or a responder (AccessFull);
// to anyone else there is no such report (NotFound), so that nobody learns
// which references exist.
func (s *Service) Report(ctx context.Context, a incident.Actor, id int64) (Report, error) {
	r, err := s.store.DeskReport(ctx, id)
	return s.readable(a, r, err, fmt.Sprint(id))
}

// ReportByRef returns a tenant's report by its reference as Report does.
func (s *Service) ReportByRef(ctx context.Context, a incident.Actor, tenant, ref string) (Report, error) {
	r, err := s.store.DeskReportByRef(ctx, tenant, ref)
	return s.readable(a, r, err, ref)
}

func (s *Service) readable(a incident.Actor, r Report, err error, which string) (Report, error) {
	if fault.Is(err, fault.NotFound) || (err == nil && !canRead(a, r)) {
		return Report{}, fault.Wrap(fault.NotFound, err, "reportdesk.not_found")
	}
	if err != nil {
		return Report{}, fmt.Errorf("reportdesk: report %s: %w", which, err)
	}
	return r, nil
}

func canRead(a incident.Actor, r Report) bool {
	return a.Access == incident.AccessFull || (a.UserID != 0 && r.ReporterID == a.UserID)
}

// StatusByToken returns the anonymous report whose status token this is;
// NotFound "reportdesk.not_found" for any other token, and whenever the
// desk takes no anonymous reports.
func (s *Service) StatusByToken(ctx context.Context, token string) (Report, error) {
	if !s.anonymous || len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return Report{}, fault.New(fault.NotFound, "reportdesk.not_found")
	}
	r, err := s.store.DeskReportByToken(ctx, hashToken(token))
	if fault.Is(err, fault.NotFound) {
		return Report{}, fault.Wrap(fault.NotFound, err, "reportdesk.not_found")
	} else if err != nil {
		return Report{}, fmt.Errorf("reportdesk: report by token: %w", err)
	}
	return r, nil
}

// Queue returns the reports responders triage, newest first: those f
// selects (every tenant's report in any status when f is zero), at most
// 500.
//
// Errors: Forbidden without AccessFull; Invalid for an unknown status.
func (s *Service) Queue(ctx context.Context, a incident.Actor, f Filter) ([]Report, error) {
	if err := needResponder(a); err != nil {
		return nil, err
	}
	for _, st := range f.Statuses {
		if !st.Valid() {
			return nil, fault.InvalidField("status", "reportdesk.status_unknown")
		}
	}
	if f.Limit <= 0 || f.Limit > maxList {
		f.Limit = maxList
	}
	rs, err := s.store.DeskReports(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("reportdesk: queue: %w", err)
	}
	return rs, nil
}

func needResponder(a incident.Actor) error {
	if a.Access != incident.AccessFull {
		return fault.New(fault.Forbidden, "reportdesk.forbidden")
	}
	return nil
}

// Take puts a report in triage with a as its handler; a responder may take
// over a report another has taken. version is the report's version the
// responder saw (0: do not check).
//
// Errors: Forbidden; NotFound; Conflict "reportdesk.decided" (dismissed or
// an incident opened), "reportdesk.changed".
func (s *Service) Take(ctx context.Context, a incident.Actor, id, version int64) (Report, error) {
	return s.change(ctx, a, id, version, "reportdesk.take", func(r *Report, now time.Time) error {
		r.Status, r.HandlerID, r.Handler = StatusTriage, a.UserID, a.Name
		return nil
	})
}

// Dismiss decides that a report is not an incident, with a note the
// reporter reads (what it was, what to do next time).
//
// Errors: Forbidden; NotFound; Conflict "reportdesk.decided",
// "reportdesk.changed"; Invalid "reportdesk.note_missing",
// "reportdesk.too_long" (field note).
func (s *Service) Dismiss(ctx context.Context, a incident.Actor, id, version int64, note string) (Report, error) {
	note = cleanText(note)
	switch n := len([]rune(note)); {
	case n == 0:
		return Report{}, fault.InvalidField("note", "reportdesk.note_missing")
	case n > MaxNote:
		return Report{}, fault.InvalidField("note", "reportdesk.too_long", "max", MaxNote)
	}
	return s.change(ctx, a, id, version, "reportdesk.dismiss", func(r *Report, now time.Time) error {
		r.Status, r.Note, r.DecidedAt = StatusDismissed, note, now
		if r.HandlerID == 0 {
			r.HandlerID, r.Handler = a.UserID, a.Name
		}
		return nil
	})
}

// change applies fn to an open report in one transaction with its audit
// entry.
func (s *Service) change(ctx context.Context, a incident.Actor, id, version int64, action string, fn func(r *Report, now time.Time) error) (Report, error) {
	if err := needResponder(a); err != nil {
		return Report{}, err
	}
	now := s.nowUTC()
	var r Report
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		before, err := s.openReport(ctx, id, version)
		if err != nil {
			return err
		}
		r = before
		if err := fn(&r, now); err != nil {
			return err
		}
		if err := s.save(ctx, &r, now); err != nil {
			return err
		}
		return s.audit(ctx, a.Actor, action, r, &before, now)
	})
	if err != nil {
		return Report{}, fmt.Errorf("reportdesk: %s %d: %w", action, id, err)
	}
	return r, nil
}

// openReport reads a report that still waits for a decision, at version
// unless it is 0.
func (s *Service) openReport(ctx context.Context, id, version int64) (Report, error) {
	r, err := s.store.DeskReport(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return Report{}, fault.Wrap(fault.NotFound, err, "reportdesk.not_found")
	} else if err != nil {
		return Report{}, err
	}
	if !r.Status.Open() {
		return Report{}, fault.New(fault.Conflict, "reportdesk.decided")
	}
	if version != 0 && r.Version != version {
		return Report{}, fault.New(fault.Conflict, "reportdesk.changed")
	}
	return r, nil
}

// save stores r's new state with the next version.
func (s *Service) save(ctx context.Context, r *Report, now time.Time) error {
	prev := r.Version
	r.Version, r.UpdatedAt = prev+1, now
	err := s.store.UpdateDeskReport(ctx, *r, prev)
	if fault.Is(err, fault.NotFound) {
		return fault.Wrap(fault.Conflict, err, "reportdesk.changed")
	}
	return err
}

// reportView is what the audit trail records of a report: not the text
// the reporter wrote, which stays in the report.
type reportView struct {
	Ref         string           `json:"ref"`
	Kind        Kind             `json:"kind"`
	Status      Status           `json:"status"`
	Reporter    string           `json:"reporter,omitempty"`
	Anonymous   bool             `json:"anonymous,omitempty"`
	Handler     string           `json:"handler,omitempty"`
	Note        string           `json:"note,omitempty"`
	IncidentRef string           `json:"incident,omitempty"`
	Attachments []attachmentView `json:"attachments,omitempty"`
}

type attachmentView struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Evidence int64  `json:"evidence,omitempty"`
}

func viewOf(r Report) reportView {
	v := reportView{Ref: r.Ref, Kind: r.Kind, Status: r.Status, Reporter: r.Reporter, Anonymous: r.Anonymous(),
		Handler: r.Handler, Note: r.Note, IncidentRef: r.IncidentRef}
	for _, a := range r.Attachments {
		v.Attachments = append(v.Attachments, attachmentView{Name: a.Name, Size: a.Size, SHA256: a.SHA256, Evidence: a.EvidenceID})
	}
	return v
}

func (s *Service) audit(ctx context.Context, a audit.Actor, action string, after Report, before *Report, now time.Time) error {
	var b any
	if before != nil {
		b = viewOf(*before)
	}
	e := audit.New(a, action, audit.Object("desk_report", after.ID), b, viewOf(after))
	e.Time = now
	return s.store.AppendAudit(ctx, e)
}
