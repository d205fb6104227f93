// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Kind is what an employee reports, in their words rather than a
// responder's taxonomy; stored as-is. Labels and one-line help live in the
// catalogue (reportdesk.kind.<kind>, reportdesk.kind_help.<kind>).
type Kind string

// The kinds of report.
const (
	KindSuspiciousEmail Kind = "suspicious_email" // a phishing or fraud e-mail, an odd attachment or link
	KindLostDevice      Kind = "lost_device"      // a PC, phone, USB stick or papers lost or stolen
	KindStrangeBehavior Kind = "strange_behavior" // a PC or account acting strangely
	KindOther           Kind = "other"
)

// Kinds lists every kind in the order the form offers them.
var Kinds = []Kind{KindSuspiciousEmail, KindLostDevice, KindStrangeBehavior, KindOther}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// IncidentType is the incident type a report of kind k suggests: phishing
// for a suspicious e-mail, a lost device for one lost or stolen. Strange
// behaviour may be malware, a taken-over account or nothing at all: the
// responder decides, so it suggests "other", as does anything else.
func (k Kind) IncidentType() incident.Type {
	switch k {
	case KindSuspiciousEmail:
		return incident.TypePhishing
	case KindLostDevice:
		return incident.TypeLostDevice
	}
	return incident.TypeOther
}

// Status is where a report stands, stored as-is.
type Status string

// The statuses: received → in triage → incident opened or not an incident.
const (
	StatusReceived  Status = "received"  // waiting for a responder
	StatusTriage    Status = "triage"    // a responder is looking at it
	StatusIncident  Status = "incident"  // an incident was opened from it
	StatusDismissed Status = "dismissed" // not an incident; Note tells the reporter why
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusReceived, StatusTriage, StatusIncident, StatusDismissed}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Open reports whether a report in status s still waits for a decision.
func (s Status) Open() bool { return s == StatusReceived || s == StatusTriage }

// Report is one employee report.
type Report struct {
	ID     int64
	Tenant string // "" for the single-tenant install
	// Ref is the human reference, RPT-<year>-<number> (RPT-2026-0001),
	// numbered per tenant and year in the Service's time zone.
	Ref  string
	Kind Kind
	// What happened, in the reporter's words; When and Where (which
	// device, which place) as they put it; Contact is how to reach them
	// with questions (a phone extension, a desk).
	What, When, Where, Contact string
	// ReporterID and Reporter are the reporting user's id and name; 0 and
	// "" for an anonymous report.
	ReporterID int64
	Reporter   string
	// TokenHash is the hex SHA-256 of an anonymous report's status token;
	// "" for a signed-in reporter's.
	TokenHash string
	Status    Status
	// HandlerID and Handler are the responder who took the report.
	HandlerID int64
	Handler   string
	// Note is what the responder tells the reporter on dismissing it.
	Note string
	// IncidentID and IncidentRef name the incident opened from it.
	IncidentID  int64
	IncidentRef string
	Attachments []Attachment
	// Version counts changes, for optimistic locking.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// DecidedAt is when it was dismissed or an incident was opened.
	DecidedAt time.Time
}

// Anonymous reports whether the report has no known reporter.
func (r Report) Anonymous() bool { return r.ReporterID == 0 }

// Attachment is a file sent with a report, kept in the evidence content
// store by its SHA-256.
type Attachment struct {
	ID       int64
	ReportID int64
	// Name is the client's file name, cleaned (incident.CleanName).
	Name string
	Size int64
	incident.Digests
	// EvidenceID is the evidence item the attachment became when an
	// incident was opened from the report; 0 until then.
	EvidenceID int64
	CreatedAt  time.Time
}

// Submission is what a reporter writes.
type Submission struct {
	Tenant  string
	Kind    Kind
	What    string // required
	When    string
	Where   string
	Contact string
	// Anonymous asks for a report without a reporter, followed with a
	// status link; allowed only when the desk takes anonymous reports.
	Anonymous bool
}

// Bounds on what a report holds, in characters unless said otherwise.
const (
	MaxWhat    = 10000
	MaxLine    = 500 // When, Where, Contact
	MaxNote    = 4000
	maxTenant  = 64
	refPrefix  = "RPT"
	tokenBytes = 32
)

// FormatRef returns the reference of the n-th report of a year.
func FormatRef(year, n int) string { return fmt.Sprintf("%s-%d-%04d", refPrefix, year, n) }

// check cleans a submission and reports every problem, field by field.
func (s Submission) check() (Submission, error) {
	var errs fault.List
	s.Tenant = cleanLine(s.Tenant)
	s.What, s.When, s.Where, s.Contact = cleanText(s.What), cleanLine(s.When), cleanLine(s.Where), cleanLine(s.Contact)
	if !s.Kind.Valid() {
		errs = append(errs, fault.InvalidField("kind", "reportdesk.kind_missing"))
	}
	switch n := utf8.RuneCountInString(s.What); {
	case n == 0:
		errs = append(errs, fault.InvalidField("what", "reportdesk.what_missing"))
	case n > MaxWhat:
		errs = append(errs, fault.InvalidField("what", "reportdesk.too_long", "max", MaxWhat))
	}
	for _, f := range []struct{ name, v string }{{"when", s.When}, {"where", s.Where}, {"contact", s.Contact}} {
		if utf8.RuneCountInString(f.v) > MaxLine {
			errs = append(errs, fault.InvalidField(f.name, "reportdesk.too_long", "max", MaxLine))
		}
	}
	if len(s.Tenant) > maxTenant {
		errs = append(errs, fault.InvalidField("tenant", "reportdesk.too_long", "max", maxTenant))
	}
	return s, errs.Err()
}

// cleanText makes text people write safe to store: valid UTF-8, line
// breaks as \n, no control characters but line breaks and tabs, no blanks
// around it. HTML stays as written: escaping is the web's job.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// cleanLine is cleanText for a one-line field: line breaks and tabs become
// blanks.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, cleanText(s)))
}
