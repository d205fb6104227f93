// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// Store keeps contacts, messages and report drafts. It is implemented by
// internal/store for SQLite and PostgreSQL. Reads of a missing row return
// NotFound; every method may return Internal.
type Store interface {
	// Tx runs fn in a transaction that calls made with its ctx join.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	// Contacts returns a tenant's contacts by organisation, then name.
	Contacts(ctx context.Context, tenant string) ([]Contact, error)
	// Contact returns the contact with id.
	Contact(ctx context.Context, id int64) (Contact, error)
	// CreateContact inserts c (ignoring its ID) and returns it with its id.
	CreateContact(ctx context.Context, c Contact) (Contact, error)
	// UpdateContact stores every field of c but its tenant and creation,
	// provided the row's version is still prevVersion; NotFound otherwise.
	UpdateContact(ctx context.Context, c Contact, prevVersion int64) error
	// ContactsSeeded reports whether a tenant's directory was seeded.
	ContactsSeeded(ctx context.Context, tenant string) (bool, error)
	// MarkContactsSeeded records that a tenant's directory was seeded;
	// Conflict if it already was.
	MarkContactsSeeded(ctx context.Context, tenant string, at time.Time) error

	// AddIncidentContact links a contact to an incident; Conflict when it
	// is linked already, Invalid when either does not exist.
	AddIncidentContact(ctx context.Context, in Involvement) error
	// RemoveIncidentContact removes the link; NotFound when there is none.
	RemoveIncidentContact(ctx context.Context, incidentID, contactID int64) error
	// IncidentContacts returns an incident's contacts in the order they
	// were linked, each with the contact.
	IncidentContacts(ctx context.Context, incidentID int64) ([]Involvement, error)

	// CreateMessage inserts m (ignoring its ID) and returns it with its id;
	// Invalid when its incident does not exist.
	CreateMessage(ctx context.Context, m Message) (Message, error)
	// UpdateMessage stores every field of m but its incident and creation,
	// provided the row's version is still prevVersion; NotFound otherwise.
	UpdateMessage(ctx context.Context, m Message, prevVersion int64) error
	// Message returns the message with id.
	Message(ctx context.Context, id int64) (Message, error)
	// IncidentMessages returns an incident's messages in creation order.
	IncidentMessages(ctx context.Context, incidentID int64) ([]Message, error)

	// CreateReport inserts r (ignoring its ID) and returns it with its id;
	// Invalid when its incident does not exist.
	CreateReport(ctx context.Context, r Report) (Report, error)
	// UpdateReport stores r's fields, language and update stamp, provided
	// the row's version is still prevVersion; NotFound otherwise.
	UpdateReport(ctx context.Context, r Report, prevVersion int64) error
	// Report returns the report draft with id.
	Report(ctx context.Context, id int64) (Report, error)
	// IncidentReports returns an incident's report drafts in creation
	// order.
	IncidentReports(ctx context.Context, incidentID int64) ([]Report, error)
	// AddReportSend appends to a report's sent log (ignoring its ID) and
	// returns the entry with its id.
	AddReportSend(ctx context.Context, s Send) (Send, error)
	// ReportSends returns a report's sent log in the order recorded.
	ReportSends(ctx context.Context, reportID int64) ([]Send, error)

	// AppendAudit appends to the audit trail, in the caller's transaction.
	AppendAudit(ctx context.Context, e audit.Entry) error
}

// Incidents is what comms needs of the incident service: to read an
// incident in full and to write its timeline. *incident.Service has it.
type Incidents interface {
	Incident(ctx context.Context, a incident.Actor, id int64) (incident.Detail, error)
	Log(ctx context.Context, a incident.Actor, id int64, kind incident.EntryKind, at time.Time, msg string, args ...string) (incident.Entry, error)
}

// Actor is who works on communications: the incident actor, and whether
// their role may approve a message for release (in koban: admin and
// responder; the caller decides from internal/auth).
type Actor struct {
	incident.Actor
	Approver bool
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is the zone times are written in pre-filled text (default
	// Asia/Tokyo, the zone Japanese regulators read).
	Location *time.Location
	// Policy is the clock policy whose deadlines drafts quote (default
	// incident.DefaultPolicy).
	Policy incident.Policy
	// Log receives warnings (default: discarded).
	Log *slog.Logger
}

// Policy returns the clock policy the service quotes deadlines under.
func (s *Service) Policy() incident.Policy { return s.policy }

// Service runs contacts, the communication log and report drafts.
type Service struct {
	store     Store
	incidents Incidents
	cat       *i18n.Catalog
	now       func() time.Time
	loc       *time.Location
	policy    incident.Policy
	log       *slog.Logger
}

// New returns a Service over store, reading incidents through incidents and
// writing pre-filled text with the messages of cat.
func New(store Store, incidents Incidents, cat *i18n.Catalog, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = incident.Tokyo()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Policy.PPCPreliminaryDays == 0 && o.Policy.SLA == nil && o.Policy.Location == nil {
		o.Policy = incident.DefaultPolicy()
	}
	return &Service{store: store, incidents: incidents, cat: cat, now: o.Now, loc: o.Location, policy: o.Policy, log: o.Log}
}

func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// needFull refuses an actor without full access to incidents: everything
// here needs it.
func needFull(a Actor) error {
	if a.Access != incident.AccessFull {
		return fault.New(fault.Forbidden, "comms.forbidden")
	}
	return nil
}

// detail reads an incident in full for actor a.
func (s *Service) detail(ctx context.Context, a Actor, id int64) (incident.Detail, error) {
	return s.incidents.Incident(ctx, a.Actor, id)
}

// record writes the audit entry and the timeline entry of a change, in the
// caller's transaction.
func (s *Service) record(ctx context.Context, a Actor, incidentID int64, kind incident.EntryKind, at time.Time,
	action, object string, before, after any, msg string, args ...string) error {
	if incidentID != 0 {
		if _, err := s.incidents.Log(ctx, a.Actor, incidentID, kind, at, msg, args...); err != nil {
			return err
		}
	}
	return s.store.AppendAudit(ctx, audit.New(a.Actor.Actor, action, object, before, after))
}

func wrap(err error, op string, id int64) error {
	return fmt.Errorf("comms: %s %d: %w", op, id, err)
}
