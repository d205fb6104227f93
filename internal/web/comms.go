// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Contacts, an incident's communication log (comms_messages.go) and its
// report drafts (comms_reports.go). koban sends none of it: people send,
// and record here what went to whom.

// registerComms registers the routes of contacts, the communication log and report drafts.
func (s *Server) registerComms() {
	s.handle(Session, auth.PermIncidents, "GET /contacts", s.contacts)
	s.handle(Session, auth.PermIncidents, "POST /contacts", s.contactCreate)
	s.handle(Session, auth.PermIncidents, "GET /contacts/{id}", s.contactEdit)
	s.handle(Session, auth.PermIncidents, "POST /contacts/{id}", s.contactUpdate)

	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/comms", s.commsTab)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms", s.commsCreate)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/comms/new", s.commsNew)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/contacts", s.commsInvolve)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/contacts/{id}/remove", s.commsUninvolve)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/comms/{id}", s.commsMessage)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/{id}", s.commsUpdate)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/{id}/submit", s.commsStep("submit"))
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/{id}/approve", s.commsStep("approve"))
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/{id}/return", s.commsStep("return"))
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/comms/{id}/release", s.commsStep("release"))

	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/reports", s.draftsTab)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/reports", s.draftCreate)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/reports/{id}", s.draftEdit)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/reports/{id}", s.draftSave)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/reports/{id}/refresh", s.draftRefresh)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/reports/{id}/sent", s.draftSent)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/reports/{id}/print", s.draftPrint)
}

// commsActor is the request's principal as the comms service takes it:
// administrators and responders may approve messages for release.
func commsActor(r *http.Request) comms.Actor {
	a := comms.Actor{Actor: incidentActor(r)}
	if p := principal(r); p != nil {
		a.Approver = p.Role == auth.RoleAdmin || p.Role == auth.RoleResponder
	}
	return a
}

// commsOn writes the not-found page when koban runs without the comms
// service.
func (s *Server) commsOn(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Comms == nil || s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "error.not_found"))
		return false
	}
	return true
}

// commsIncident reads the incident of a communication or report-draft
// route, or writes the error page and returns false.
func (s *Server) commsIncident(w http.ResponseWriter, r *http.Request) (incident.Detail, bool) {
	if !s.commsOn(w, r) {
		return incident.Detail{}, false
	}
	return s.incidentDetail(w, r)
}

// formInt reads an optional whole number from a form; 0 when empty or not
// a number.
func formInt(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PostFormValue(name), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// contactsPage is the contacts directory with its add form.
type contactsPage struct {
	*Page
	Contacts []comms.Contact
	Kinds    []comms.ContactKind
	Form     comms.ContactInput
}

func (s *Server) contactsData(r *http.Request) (*contactsPage, error) {
	p := s.page(r, "incidents", "comms.ui.contacts_title")
	cs, err := s.opts.Comms.Contacts(r.Context(), commsActor(r), tenantOf(r))
	if err != nil {
		return nil, err
	}
	return &contactsPage{Page: p, Contacts: cs, Kinds: comms.ContactKinds}, nil
}

// contacts is the directory: GET /contacts.
func (s *Server) contacts(w http.ResponseWriter, r *http.Request) {
	if !s.commsOn(w, r) {
		return
	}
	d, err := s.contactsData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "comms_contacts", d)
}

func contactForm(r *http.Request) comms.ContactInput {
	return comms.ContactInput{Name: r.PostFormValue("name"), Organisation: r.PostFormValue("organisation"),
		Kind: comms.ContactKind(r.PostFormValue("kind")), Email: r.PostFormValue("email"),
		Phone: r.PostFormValue("phone"), Notes: r.PostFormValue("notes")}
}

// contactCreate adds a contact: POST /contacts.
func (s *Server) contactCreate(w http.ResponseWriter, r *http.Request) {
	if !s.commsOn(w, r) {
		return
	}
	s.form(w, r, "comms_contacts", "/contacts", "comms_contact_added", func() error {
		_, err := s.opts.Comms.CreateContact(r.Context(), commsActor(r), tenantOf(r), contactForm(r))
		return err
	}, func() (pageData, error) {
		d, err := s.contactsData(r)
		if err == nil {
			d.Form = contactForm(r)
		}
		return d, err
	})
}

// contactPage is one contact's edit form.
type contactPage struct {
	*Page
	Contact comms.Contact
	Kinds   []comms.ContactKind
	Form    comms.ContactInput
	Version int64
}

func (s *Server) contactData(r *http.Request) (*contactPage, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Comms.Contact(r.Context(), commsActor(r), tenantOf(r), id)
	if err != nil {
		return nil, err
	}
	p := s.page(r, "incidents", "comms.ui.contact_title")
	return &contactPage{Page: p, Contact: c, Kinds: comms.ContactKinds, Version: c.Version,
		Form: comms.ContactInput{Name: c.Name, Organisation: c.Organisation, Kind: c.Kind, Email: c.Email,
			Phone: c.Phone, Notes: c.Notes}}, nil
}

// contactEdit is a contact's form: GET /contacts/{id}.
func (s *Server) contactEdit(w http.ResponseWriter, r *http.Request) {
	if !s.commsOn(w, r) {
		return
	}
	d, err := s.contactData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "comms_contact", d)
}

// contactUpdate saves a contact: POST /contacts/{id}.
func (s *Server) contactUpdate(w http.ResponseWriter, r *http.Request) {
	if !s.commsOn(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.form(w, r, "comms_contact", "/contacts", "comms_contact_saved", func() error {
		_, err := s.opts.Comms.UpdateContact(r.Context(), commsActor(r), tenantOf(r),
			comms.ContactRef{ID: id, Version: formInt(r, "version")}, contactForm(r))
		return err
	}, func() (pageData, error) {
		d, err := s.contactData(r)
		if err == nil {
			d.Form, d.Version = contactForm(r), formInt(r, "version")
		}
		return d, err
	})
}

// contactFields is the data of the comms_contact_fields partial.
type contactFields struct {
	Page  *Page
	Form  comms.ContactInput
	Kinds []comms.ContactKind
}

// ContactFields prepares the contact form's fields.
func (d *contactsPage) ContactFields() contactFields {
	return contactFields{Page: d.Page, Form: d.Form, Kinds: d.Kinds}
}

// ContactFields prepares the contact form's fields.
func (d *contactPage) ContactFields() contactFields {
	return contactFields{Page: d.Page, Form: d.Form, Kinds: d.Kinds}
}

// partyFields is the data of the comms_party_fields partial: a contact of
// the directory, or who else, for a form's field name.
type partyFields struct {
	Page         *Page
	Contacts     []comms.Contact
	Selected     int64
	Party        string
	Prefix, Name string
}

// CommsParty prepares the comms_party_fields partial: ids start with
// prefix, the free-text field is called name.
func (p *Page) CommsParty(prefix, name string, cs []comms.Contact, sel int64, party string) partyFields {
	return partyFields{Page: p, Contacts: cs, Selected: sel, Party: party, Prefix: prefix, Name: name}
}

// channelSelect is the data of the comms_channel_options partial.
type channelSelect struct {
	Page     *Page
	Channels []comms.Channel
	Selected comms.Channel
}

// CommsChannels prepares the channel options with sel selected.
func (p *Page) CommsChannels(sel comms.Channel) channelSelect {
	return channelSelect{Page: p, Channels: comms.Channels, Selected: sel}
}
