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

// commsTabPage is an incident's communication tab: who is involved, the
// log, and the forms to log a message or start a draft.
type commsTabPage struct {
	*Page
	Head      incidentHead
	Involved  []comms.Involvement
	Contacts  []comms.Contact
	Labels    map[int64]string // contact id → label, for the log
	Messages  []comms.Message
	Templates []comms.TemplateKind
	Channels  []comms.Channel
	Langs     []i18n.Lang
	Kinds     []comms.ContactKind
	Form      comms.MessageInput // the log form
	FormAt    string
}

// Party is who a message went to or came from, as the log shows it.
func (d *commsTabPage) Party(m comms.Message) string { return partyOf(d.Labels, m.ContactID, m.Party) }

func partyOf(labels map[int64]string, id int64, party string) string {
	l := labels[id]
	switch {
	case l == "":
		return party
	case party == "" || party == l:
		return l
	}
	return l + " / " + party
}

func contactLabels(cs []comms.Contact) map[int64]string {
	m := make(map[int64]string, len(cs))
	for _, c := range cs {
		m[c.ID] = c.Label()
	}
	return m
}

func (s *Server) commsTabData(w http.ResponseWriter, r *http.Request) (*commsTabPage, incident.Detail, bool) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return nil, d, false
	}
	ctx, a := r.Context(), commsActor(r)
	p := s.page(r, "incidents", "")
	p.Title = p.T("comms.ui.tab_title", "ref", d.Ref)
	pg := &commsTabPage{Page: p, Head: headOf(p, d.Incident, "comms", true), Templates: comms.TemplateKinds,
		Channels: comms.Channels, Langs: i18n.Langs, Kinds: comms.ContactKinds,
		Form: comms.MessageInput{Direction: comms.DirectionIn, Channel: comms.ChannelEmail}}
	var err error
	if pg.Contacts, err = s.opts.Comms.Contacts(ctx, a, d.Tenant); err == nil {
		if pg.Involved, err = s.opts.Comms.IncidentContacts(ctx, a, d.ID); err == nil {
			pg.Messages, err = s.opts.Comms.Messages(ctx, a, d.ID)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, d, false
	}
	pg.Labels = contactLabels(pg.Contacts)
	return pg, d, true
}

// commsTab is the communication tab: GET /incidents/{ref}/comms.
func (s *Server) commsTab(w http.ResponseWriter, r *http.Request) {
	if !s.commsOn(w, r) {
		return
	}
	if d, _, ok := s.commsTabData(w, r); ok {
		s.render(w, r, http.StatusOK, "comms", d)
	}
}

// messageForm reads a message form; the time is in the viewer's zone.
func messageForm(r *http.Request, p *Page) (comms.MessageInput, error) {
	in := comms.MessageInput{Draft: r.PostFormValue("draft") == "1",
		Direction: comms.Direction(r.PostFormValue("direction")), Channel: comms.Channel(r.PostFormValue("channel")),
		ContactID: formInt(r, "contact"), Party: r.PostFormValue("party"), Subject: r.PostFormValue("subject"),
		Body: r.PostFormValue("body"), Template: comms.TemplateKind(r.PostFormValue("template")),
		Lang: i18n.Lang(r.PostFormValue("lang"))}
	at, err := formTime(r, p, "at")
	in.At = at
	return in, err
}

// formTime reads a datetime-local field in the viewer's zone; zero when
// empty.
func formTime(r *http.Request, p *Page, name string) (time.Time, error) {
	v := r.PostFormValue(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseInputTime(v, p.loc)
	if err != nil {
		return time.Time{}, fault.InvalidField(name, "comms.ui.time_invalid")
	}
	return t, nil
}

// commsCreate logs a message or starts a draft: POST /incidents/{ref}/comms.
func (s *Server) commsCreate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	in, err := messageForm(r, p)
	var m comms.Message
	if err == nil {
		m, err = s.opts.Comms.AddMessage(r.Context(), commsActor(r), d.ID, in)
	}
	if err == nil {
		target := incidentHref(d.Ref, "comms")
		if m.Status == comms.StatusDraft {
			target += "/" + strconv.FormatInt(m.ID, 10)
		}
		redirectDone(w, r, target, "comms_message_added")
		return
	}
	if in.Draft {
		mp, ok := s.commsMessagePageOf(w, r, d, comms.Message{}, in)
		if !ok {
			return
		}
		if !mp.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "comms_message", mp)
		return
	}
	tp, _, ok := s.commsTabData(w, r)
	if !ok {
		return
	}
	if !tp.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	tp.Form, tp.FormAt = in, r.PostFormValue("at")
	s.render(w, r, statusFor(fault.KindOf(err)), "comms", tp)
}

// commsMessagePage is one message: a draft's form, or what was sent and
// who approved it, with the approval steps.
type commsMessagePage struct {
	*Page
	Head     incidentHead
	Message  comms.Message // ID 0 for a new draft
	Form     comms.MessageInput
	Contacts []comms.Contact
	Labels   map[int64]string
	Channels []comms.Channel
	Langs    []i18n.Lang
	Action   string // where the draft form posts
	Href     string // the message's address
	// Approver: the viewer's role may approve; Own: the viewer wrote it.
	Approver bool
	Own      bool
}

// Party is who the message went to or came from.
func (d *commsMessagePage) Party() string {
	return partyOf(d.Labels, d.Message.ContactID, d.Message.Party)
}

// Editable reports whether the form may change the message.
func (d *commsMessagePage) Editable() bool {
	return d.Message.ID == 0 || d.Message.Status == comms.StatusDraft
}

func (s *Server) commsMessagePageOf(w http.ResponseWriter, r *http.Request, d incident.Detail, m comms.Message, form comms.MessageInput) (*commsMessagePage, bool) {
	a := commsActor(r)
	cs, err := s.opts.Comms.Contacts(r.Context(), a, d.Tenant)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	p := s.page(r, "incidents", "")
	p.Title = p.T("comms.ui.message_title", "ref", d.Ref)
	mp := &commsMessagePage{Page: p, Head: headOf(p, d.Incident, "comms", true), Message: m, Form: form, Contacts: cs,
		Labels: contactLabels(cs), Channels: comms.Channels, Langs: i18n.Langs, Action: incidentHref(d.Ref, "comms"),
		Approver: a.Approver, Own: m.ID != 0 && m.AuthorID == a.UserID}
	if m.ID != 0 {
		mp.Href = incidentHref(d.Ref, "comms") + "/" + strconv.FormatInt(m.ID, 10)
		mp.Action = mp.Href
	}
	return mp, true
}

// commsNew is a new draft, from a template when one is asked for:
// GET /incidents/{ref}/comms/new?template=…&lang=….
func (s *Server) commsNew(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	form := comms.MessageInput{Draft: true, Direction: comms.DirectionOut, Channel: comms.ChannelEmail}
	if t := r.URL.Query().Get("template"); t != "" {
		lang := i18n.Lang(r.URL.Query().Get("lang"))
		if !lang.Valid() {
			lang = s.lang(r)
		}
		var err error
		if form, err = s.opts.Comms.Template(r.Context(), commsActor(r), d.ID, comms.TemplateKind(t), lang); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if mp, ok := s.commsMessagePageOf(w, r, d, comms.Message{}, form); ok {
		s.render(w, r, http.StatusOK, "comms_message", mp)
	}
}

// commsMessageOf reads the message the request's {id} names in incident d.
func (s *Server) commsMessageOf(w http.ResponseWriter, r *http.Request, d incident.Detail) (comms.Message, bool) {
	id, err := pathID(r)
	var m comms.Message
	if err == nil {
		m, err = s.opts.Comms.Message(r.Context(), commsActor(r), d.ID, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return m, false
	}
	return m, true
}

func messageFormOf(m comms.Message) comms.MessageInput {
	return comms.MessageInput{Draft: true, Direction: m.Direction, Channel: m.Channel, ContactID: m.ContactID,
		Party: m.Party, Subject: m.Subject, Body: m.Body, Template: m.Template, Lang: m.Lang}
}

// commsMessage is one message: GET /incidents/{ref}/comms/{id}.
func (s *Server) commsMessage(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	m, ok := s.commsMessageOf(w, r, d)
	if !ok {
		return
	}
	if mp, ok := s.commsMessagePageOf(w, r, d, m, messageFormOf(m)); ok {
		s.render(w, r, http.StatusOK, "comms_message", mp)
	}
}

// commsUpdate saves a draft: POST /incidents/{ref}/comms/{id}.
func (s *Server) commsUpdate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	m, ok := s.commsMessageOf(w, r, d)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "")
	in, err := messageForm(r, p)
	if err == nil {
		_, err = s.opts.Comms.UpdateMessage(r.Context(), commsActor(r), d.ID,
			comms.MessageRef{ID: m.ID, Version: formInt(r, "version")}, in)
	}
	href := incidentHref(d.Ref, "comms") + "/" + strconv.FormatInt(m.ID, 10)
	if err == nil {
		redirectDone(w, r, href, "comms_message_saved")
		return
	}
	mp, ok := s.commsMessagePageOf(w, r, d, m, in)
	if !ok {
		return
	}
	if !mp.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "comms_message", mp)
}

// commsStep runs one approval step on a message: submit, approve,
// return or release (POST /incidents/{ref}/comms/{id}/<step>). A refused
// step shows the message again with the reason.
func (s *Server) commsStep(step string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.commsOn(w, r) {
			return
		}
		d, ok := s.incidentDetail(w, r)
		if !ok {
			return
		}
		m, ok := s.commsMessageOf(w, r, d)
		if !ok {
			return
		}
		if err := parseForm(r); err != nil {
			s.fail(w, r, err)
			return
		}
		ctx, a := r.Context(), commsActor(r)
		ref := comms.MessageRef{ID: m.ID, Version: formInt(r, "version")}
		var err error
		switch step {
		case "submit":
			_, err = s.opts.Comms.Submit(ctx, a, d.ID, ref)
		case "approve":
			_, err = s.opts.Comms.Approve(ctx, a, d.ID, ref)
		case "return":
			_, err = s.opts.Comms.Return(ctx, a, d.ID, ref, r.PostFormValue("reason"))
		case "release":
			p := s.page(r, "incidents", "")
			var at time.Time
			if at, err = formTime(r, p, "at"); err == nil {
				_, err = s.opts.Comms.ReleaseMessage(ctx, a, d.ID, ref, comms.Release{
					Channel: comms.Channel(r.PostFormValue("channel")), ContactID: formInt(r, "contact"),
					Party: r.PostFormValue("party"), At: at})
			}
		}
		href := incidentHref(d.Ref, "comms") + "/" + strconv.FormatInt(m.ID, 10)
		if err == nil {
			redirectDone(w, r, href, "comms_"+step)
			return
		}
		if fault.KindOf(err) == fault.Internal {
			s.fail(w, r, err)
			return
		}
		if cur, e2 := s.opts.Comms.Message(ctx, a, d.ID, m.ID); e2 == nil {
			m = cur
		}
		mp, ok := s.commsMessagePageOf(w, r, d, m, messageFormOf(m))
		if !ok {
			return
		}
		if !mp.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "comms_message", mp)
	}
}

// commsInvolve adds a contact to the incident:
// POST /incidents/{ref}/comms/contacts.
func (s *Server) commsInvolve(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	_, err := s.opts.Comms.AddIncidentContact(r.Context(), commsActor(r), d.ID, formInt(r, "contact"),
		r.PostFormValue("role"))
	if err == nil {
		redirectDone(w, r, incidentHref(d.Ref, "comms"), "comms_contact_involved")
		return
	}
	tp, _, ok := s.commsTabData(w, r)
	if !ok {
		return
	}
	if !tp.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "comms", tp)
}

// commsUninvolve removes a contact from the incident:
// POST /incidents/{ref}/comms/contacts/{id}/remove.
func (s *Server) commsUninvolve(w http.ResponseWriter, r *http.Request) {
	d, ok := s.commsIncident(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Comms.RemoveIncidentContact(r.Context(), commsActor(r), d.ID, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, incidentHref(d.Ref, "comms"), "comms_contact_removed")
}
