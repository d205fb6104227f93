// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// ContactKind says what a contact is to the CSIRT, stored as-is.
type ContactKind string

// The contact kinds: the public bodies a Japanese organisation reports to,
// the outside help it calls, and the people it answers to.
const (
	KindJPCERT     ContactKind = "jpcert"     // JPCERT/CC: incident coordination
	KindIPA        ContactKind = "ipa"        // IPA: virus and unauthorised-access notifications
	KindPPC        ContactKind = "ppc"        // 個人情報保護委員会: personal-data breach reports
	KindPolice     ContactKind = "police"     // the prefectural police's cyber crime desk
	KindInsurer    ContactKind = "insurer"    // the cyber insurance
	KindLawyer     ContactKind = "lawyer"     // legal counsel
	KindVendor     ContactKind = "vendor"     // suppliers, service providers, the IT contractor
	KindCustomer   ContactKind = "customer"   // customers and business partners
	KindManagement ContactKind = "management" // executives, the board
	KindInternal   ContactKind = "internal"   // staff, departments
)

// ContactKinds lists every kind, in the order forms offer them.
var ContactKinds = []ContactKind{KindJPCERT, KindIPA, KindPPC, KindPolice, KindInsurer, KindLawyer, KindVendor,
	KindCustomer, KindManagement, KindInternal}

// Valid reports whether k is one of the kinds.
func (k ContactKind) Valid() bool {
	for _, c := range ContactKinds {
		if k == c {
			return true
		}
	}
	return false
}

// Contact is one entry of the contacts directory.
type Contact struct {
	ID           int64
	Tenant       string
	Name         string // a person or a desk ("インシデント報告窓口")
	Organisation string
	Kind         ContactKind
	Email        string
	Phone        string
	Notes        string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Label is the contact as lists show it: name and organisation.
func (c Contact) Label() string {
	if c.Organisation == "" || c.Organisation == c.Name {
		return c.Name
	}
	return c.Name + " (" + c.Organisation + ")"
}

// ContactInput is what a person writes about a contact.
type ContactInput struct {
	Name         string // required
	Organisation string
	Kind         ContactKind // required
	Email        string
	Phone        string
	Notes        string
}

// ContactRef names a contact and the version the person saw.
type ContactRef struct {
	ID      int64
	Version int64
}

// Involvement is a contact taking part in an incident.
type Involvement struct {
	IncidentID int64
	ContactID  int64
	// Role says what the contact does in this incident ("reported the
	// phishing e-mail", "handles the insurance claim").
	Role      string
	AddedAt   time.Time
	AddedByID int64
	AddedBy   string
	// Contact is filled by reads.
	Contact Contact
}

// seedContacts are the public bodies every Japanese organisation may have
// to report to. Only their names: the telephone numbers, addresses and
// forms change, and the administrator fills in the ones that apply (the
// police desk is the prefecture's).
var seedContacts = []ContactInput{
	{Name: "JPCERT/CC インシデント報告窓口", Organisation: "一般社団法人JPCERTコーディネーションセンター", Kind: KindJPCERT},
	{Name: "IPA セキュリティセンター", Organisation: "独立行政法人情報処理推進機構", Kind: KindIPA},
	{Name: "個人情報保護委員会", Organisation: "個人情報保護委員会", Kind: KindPPC},
	{Name: "サイバー犯罪相談窓口", Organisation: "都道府県警察", Kind: KindPolice},
}

// cleanContact checks and cleans a contact's input, field by field.
func cleanContact(in ContactInput) (ContactInput, error) {
	var c checker
	in.Name = c.text("name", in.Name, maxLineLen, false, true)
	in.Organisation = c.text("organisation", in.Organisation, maxLineLen, false, false)
	if !in.Kind.Valid() {
		c.add("kind", "comms.contact_kind_invalid")
	}
	in.Email = c.text("email", in.Email, maxEmailLen, false, false)
	if in.Email != "" && !plausibleEmail(in.Email) {
		c.add("email", "comms.email_invalid")
	}
	in.Phone = c.text("phone", in.Phone, maxPhoneLen, false, false)
	in.Notes = c.text("notes", in.Notes, maxNoteLen, true, false)
	return in, c.errs.Err()
}

// plausibleEmail accepts one address: something, one @, a domain with a
// dot, no blanks or angle brackets. Whether it reaches anyone is for the
// person who writes to it to find out.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") &&
		!strings.HasSuffix(domain, ".") && !strings.ContainsAny(s, " <>,;\"") && !strings.Contains(domain, "@")
}

// Contacts returns a tenant's contacts directory. The first time a tenant
// uses it, it is seeded with the public bodies (JPCERT/CC, IPA, the PPC,
// the police cyber desk), names only; after that, what the administrators
// made of it.
//
// Errors: Forbidden.
func (s *Service) Contacts(ctx context.Context, a Actor, tenant string) ([]Contact, error) {
	if err := needFull(a); err != nil {
		return nil, err
	}
	seeded, err := s.store.ContactsSeeded(ctx, tenant)
	if err != nil {
		return nil, wrap(err, "contacts of tenant", 0)
	}
	if !seeded {
		if err := s.seed(ctx, a, tenant); err != nil {
			return nil, wrap(err, "seed contacts of tenant", 0)
		}
	}
	cs, err := s.store.Contacts(ctx, tenant)
	if err != nil {
		return nil, wrap(err, "contacts of tenant", 0)
	}
	return cs, nil
}

// seed fills a tenant's directory once; a concurrent first use finds it
// done.
func (s *Service) seed(ctx context.Context, a Actor, tenant string) error {
	now := s.nowUTC()
	return s.store.Tx(ctx, func(ctx context.Context) error {
		done, err := s.store.ContactsSeeded(ctx, tenant)
		if err != nil || done {
			return err
		}
		for _, in := range seedContacts {
			c, err := s.store.CreateContact(ctx, Contact{Tenant: tenant, Name: in.Name, Organisation: in.Organisation,
				Kind: in.Kind, Version: 1, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return err
			}
			if err := s.store.AppendAudit(ctx, audit.New(audit.System, "comms.contact.seed",
				audit.Object("contact", c.ID), nil, c)); err != nil {
				return err
			}
		}
		return s.store.MarkContactsSeeded(ctx, tenant, now)
	})
}

// Contact returns a tenant's contact with id; NotFound "comms.contact_not_found"
// when there is none in that tenant.
func (s *Service) Contact(ctx context.Context, a Actor, tenant string, id int64) (Contact, error) {
	if err := needFull(a); err != nil {
		return Contact{}, err
	}
	c, err := s.contact(ctx, tenant, id)
	if err != nil {
		return Contact{}, wrap(err, "contact", id)
	}
	return c, nil
}

func (s *Service) contact(ctx context.Context, tenant string, id int64) (Contact, error) {
	c, err := s.store.Contact(ctx, id)
	if fault.Is(err, fault.NotFound) || (err == nil && c.Tenant != tenant) {
		return Contact{}, fault.New(fault.NotFound, "comms.contact_not_found")
	}
	return c, err
}

// CreateContact adds a contact to a tenant's directory.
//
// Errors: Forbidden; Invalid, field by field (name and kind required,
// lengths, an e-mail address that is not one).
func (s *Service) CreateContact(ctx context.Context, a Actor, tenant string, in ContactInput) (Contact, error) {
	if err := needFull(a); err != nil {
		return Contact{}, err
	}
	in, err := cleanContact(in)
	if err != nil {
		return Contact{}, err
	}
	now := s.nowUTC()
	c := Contact{Tenant: tenant, Name: in.Name, Organisation: in.Organisation, Kind: in.Kind, Email: in.Email,
		Phone: in.Phone, Notes: in.Notes, Version: 1, CreatedAt: now, UpdatedAt: now}
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.CreateContact(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, a, 0, "", now, "comms.contact.create", audit.Object("contact", c.ID), nil, c, "")
	})
	if err != nil {
		return Contact{}, wrap(err, "create contact", 0)
	}
	return c, nil
}

// UpdateContact replaces what is written about a contact. ref.Version is
// the version the person saw: a contact changed since is Conflict
// "comms.contact_changed".
//
// Errors: Forbidden; NotFound; Conflict; Invalid as CreateContact's.
func (s *Service) UpdateContact(ctx context.Context, a Actor, tenant string, ref ContactRef, in ContactInput) (Contact, error) {
	if err := needFull(a); err != nil {
		return Contact{}, err
	}
	in, err := cleanContact(in)
	if err != nil {
		return Contact{}, err
	}
	now := s.nowUTC()
	var c Contact
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		before, err := s.contact(ctx, tenant, ref.ID)
		if err != nil {
			return err
		}
		if before.Version != ref.Version {
			return fault.New(fault.Conflict, "comms.contact_changed")
		}
		c = before
		c.Name, c.Organisation, c.Kind, c.Email, c.Phone, c.Notes = in.Name, in.Organisation, in.Kind, in.Email, in.Phone, in.Notes
		c.Version, c.UpdatedAt = before.Version+1, now
		if err := s.store.UpdateContact(ctx, c, before.Version); err != nil {
			if fault.Is(err, fault.NotFound) {
				return fault.Wrap(fault.Conflict, err, "comms.contact_changed")
			}
			return err
		}
		return s.record(ctx, a, 0, "", now, "comms.contact.update", audit.Object("contact", c.ID), before, c, "")
	})
	if err != nil {
		return Contact{}, wrap(err, "update contact", ref.ID)
	}
	return c, nil
}

// IncidentContacts returns who is involved in an incident, in the order
// they were added.
//
// Errors: Forbidden; NotFound (incident).
func (s *Service) IncidentContacts(ctx context.Context, a Actor, incidentID int64) ([]Involvement, error) {
	if err := needFull(a); err != nil {
		return nil, err
	}
	ins, err := s.store.IncidentContacts(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "contacts of incident", incidentID)
	}
	return ins, nil
}

// AddIncidentContact records that a contact of the incident's tenant takes
// part in an incident, and in what role.
//
// Errors: Forbidden; NotFound (incident, contact); Conflict
// "comms.contact_involved"; Invalid for a role too long.
func (s *Service) AddIncidentContact(ctx context.Context, a Actor, incidentID, contactID int64, role string) (Involvement, error) {
	if err := needFull(a); err != nil {
		return Involvement{}, err
	}
	var c checker
	role = c.text("role", role, maxLineLen, false, false)
	if err := c.errs.Err(); err != nil {
		return Involvement{}, err
	}
	now := s.nowUTC()
	in := Involvement{IncidentID: incidentID, ContactID: contactID, Role: role, AddedAt: now, AddedByID: a.UserID,
		AddedBy: a.Name}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		d, err := s.detail(ctx, a, incidentID)
		if err != nil {
			return err
		}
		if in.Contact, err = s.contact(ctx, d.Tenant, contactID); err != nil {
			return err
		}
		if err := s.store.AddIncidentContact(ctx, in); err != nil {
			if fault.Is(err, fault.Conflict) {
				return fault.Wrap(fault.Conflict, err, "comms.contact_involved")
			}
			return err
		}
		return s.record(ctx, a, incidentID, incident.EntryMessage, now, "comms.involve",
			audit.Object("incident", incidentID), nil, in, "comms.timeline.contact_added",
			"contact", in.Contact.Label(), "kind", string(in.Contact.Kind))
	})
	if err != nil {
		return Involvement{}, wrap(err, "add contact to incident", incidentID)
	}
	return in, nil
}

// RemoveIncidentContact records that a contact no longer takes part in an
// incident (messages to and from them stay in the log).
//
// Errors: Forbidden; NotFound (incident, contact, or not involved).
func (s *Service) RemoveIncidentContact(ctx context.Context, a Actor, incidentID, contactID int64) error {
	if err := needFull(a); err != nil {
		return err
	}
	now := s.nowUTC()
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		d, err := s.detail(ctx, a, incidentID)
		if err != nil {
			return err
		}
		c, err := s.contact(ctx, d.Tenant, contactID)
		if err != nil {
			return err
		}
		if err := s.store.RemoveIncidentContact(ctx, incidentID, contactID); err != nil {
			if fault.Is(err, fault.NotFound) {
				return fault.Wrap(fault.NotFound, err, "comms.contact_not_involved")
			}
			return err
		}
		return s.record(ctx, a, incidentID, incident.EntryMessage, now, "comms.uninvolve",
			audit.Object("incident", incidentID), c, nil, "comms.timeline.contact_removed", "contact", c.Label())
	})
	if err != nil {
		return wrap(err, "remove contact from incident", incidentID)
	}
	return nil
}
