// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// Direction says whether a message came in or went out.
type Direction string

// The directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// Valid reports whether d is a direction.
func (d Direction) Valid() bool { return d == DirectionIn || d == DirectionOut }

// Channel is how a message travelled, stored as-is.
type Channel string

// The channels.
const (
	ChannelEmail   Channel = "email"
	ChannelPhone   Channel = "phone"
	ChannelMeeting Channel = "meeting"
	ChannelLetter  Channel = "letter"
	ChannelWebForm Channel = "web_form"
	ChannelFax     Channel = "fax" // JPCERT/CC still accepts reports by fax
	ChannelOther   Channel = "other"
)

// Channels lists every channel, in the order forms offer them.
var Channels = []Channel{ChannelEmail, ChannelPhone, ChannelMeeting, ChannelLetter, ChannelWebForm, ChannelFax,
	ChannelOther}

// Valid reports whether c is a channel.
func (c Channel) Valid() bool {
	for _, k := range Channels {
		if c == k {
			return true
		}
	}
	return false
}

// Status is where a message stands, stored as-is. A message that simply
// happened (a call taken, an e-mail received or sent) is logged. A message
// prepared in koban goes draft → submitted → approved → released: someone
// other than its author, with a role that may approve, approves it before
// anyone sends it; returning it sends it back to draft with a reason.
type Status string

// The statuses.
const (
	StatusLogged    Status = "logged"
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusApproved  Status = "approved"
	StatusReleased  Status = "released"
)

// Message is one entry of an incident's communication log.
type Message struct {
	ID         int64
	IncidentID int64
	Direction  Direction
	Channel    Channel
	// ContactID is the contact written to or heard from (0 when none of the
	// directory); Party is who else, or the contact's label at the time.
	ContactID int64
	Party     string
	Subject   string
	Body      string
	// Template is the template a draft started from ("" for none); Lang its
	// language.
	Template TemplateKind
	Lang     i18n.Lang
	Status   Status
	// At is when a logged message happened, or when a released one was
	// sent.
	At       time.Time
	AuthorID int64
	Author   string
	// SubmittedAt is when the draft was last submitted for approval.
	SubmittedAt  time.Time
	ApprovedAt   time.Time
	ApprovedByID int64
	ApprovedBy   string
	// ReturnReason is why the last approver sent the draft back.
	ReturnReason string
	ReleasedAt   time.Time
	ReleasedByID int64
	ReleasedBy   string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MessageInput is what a person writes about a message.
type MessageInput struct {
	// Draft: the message is prepared here and needs approval before
	// release (always outgoing); otherwise it is logged as having
	// happened.
	Draft     bool
	Direction Direction
	Channel   Channel
	ContactID int64
	Party     string
	Subject   string // required
	Body      string
	Template  TemplateKind
	Lang      i18n.Lang
	// At is when a logged message happened (zero: now); not in the future.
	At time.Time
}

// MessageRef names a message and the version the person saw.
type MessageRef struct {
	ID      int64
	Version int64
}

// Release is how an approved message went out.
type Release struct {
	Channel   Channel
	ContactID int64
	Party     string // to whom, when not (only) a contact of the directory
	At        time.Time
}

// maxSkew is how far in the future a time may lie: clocks differ.
const maxSkew = 5 * time.Minute

// cleanMessage checks and cleans a message's input for the incident's
// tenant.
func (s *Service) cleanMessage(ctx context.Context, tenant string, in MessageInput, now time.Time) (MessageInput, string, error) {
	var c checker
	if in.Draft {
		in.Direction = DirectionOut
		in.At = time.Time{}
	}
	if !in.Direction.Valid() {
		c.add("direction", "comms.direction_invalid")
	}
	if !in.Channel.Valid() {
		c.add("channel", "comms.channel_invalid")
	}
	in.Party = c.text("party", in.Party, maxLineLen, false, false)
	in.Subject = c.text("subject", in.Subject, maxLineLen, false, true)
	in.Body = c.text("body", in.Body, maxBodyLen, true, false)
	if in.Template != "" && !in.Template.Valid() {
		c.add("template", "comms.template_invalid")
	}
	if in.Lang != "" && !in.Lang.Valid() {
		c.add("lang", "comms.lang_invalid")
	}
	in.At = in.At.UTC().Truncate(time.Microsecond)
	if !in.Draft && in.At.IsZero() {
		in.At = now
	}
	if in.At.After(now.Add(maxSkew)) {
		c.add("at", "comms.time_future")
	}
	label := in.Party
	if in.ContactID != 0 {
		ct, err := s.contact(ctx, tenant, in.ContactID)
		if fault.Is(err, fault.NotFound) {
			c.add("contact", "comms.contact_not_found")
		} else if err != nil {
			return in, "", err
		} else {
			label = ct.Label()
		}
	}
	if in.ContactID == 0 && in.Party == "" && !in.Draft {
		c.add("party", "comms.party_required")
	}
	return in, label, c.errs.Err()
}

// Messages returns an incident's communication log in the order entries
// were made.
//
// Errors: Forbidden; NotFound (incident).
func (s *Service) Messages(ctx context.Context, a Actor, incidentID int64) ([]Message, error) {
	if err := needFull(a); err != nil {
		return nil, err
	}
	ms, err := s.store.IncidentMessages(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "messages of incident", incidentID)
	}
	return ms, nil
}

// Message returns one message of an incident; NotFound
// "comms.message_not_found" when it is not that incident's.
func (s *Service) Message(ctx context.Context, a Actor, incidentID, id int64) (Message, error) {
	if err := needFull(a); err != nil {
		return Message{}, err
	}
	m, err := s.message(ctx, incidentID, id)
	if err != nil {
		return Message{}, wrap(err, "message", id)
	}
	return m, nil
}

func (s *Service) message(ctx context.Context, incidentID, id int64) (Message, error) {
	m, err := s.store.Message(ctx, id)
	if fault.Is(err, fault.NotFound) || (err == nil && m.IncidentID != incidentID) {
		return Message{}, fault.New(fault.NotFound, "comms.message_not_found")
	}
	return m, err
}

// AddMessage logs a message that happened, or starts a draft.
//
// Errors: Forbidden; NotFound (incident); Invalid field by field (no
// subject, unknown direction or channel, a contact of another tenant, no
// one to or from whom a logged message went, a time in the future).
func (s *Service) AddMessage(ctx context.Context, a Actor, incidentID int64, in MessageInput) (Message, error) {
	if err := needFull(a); err != nil {
		return Message{}, err
	}
	now := s.nowUTC()
	var m Message
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		d, err := s.detail(ctx, a, incidentID)
		if err != nil {
			return err
		}
		in, label, err := s.cleanMessage(ctx, d.Tenant, in, now)
		if err != nil {
			return err
		}
		m = Message{IncidentID: incidentID, Direction: in.Direction, Channel: in.Channel, ContactID: in.ContactID,
			Party: in.Party, Subject: in.Subject, Body: in.Body, Template: in.Template, Lang: in.Lang, At: in.At,
			AuthorID: a.UserID, Author: a.Name, Status: StatusLogged, Version: 1, CreatedAt: now, UpdatedAt: now}
		if in.Draft {
			m.Status = StatusDraft
		}
		if m, err = s.store.CreateMessage(ctx, m); err != nil {
			return err
		}
		id := strconv.FormatInt(m.ID, 10)
		msg, at := "comms.timeline.logged_"+string(m.Direction), m.At
		if in.Draft {
			msg, at = "comms.timeline.drafted", now
		}
		return s.record(ctx, a, incidentID, incident.EntryMessage, at, "comms.message.create",
			audit.Object("message", m.ID), nil, m, msg, "message", id, "subject", m.Subject, "party", label,
			"channel", string(m.Channel))
	})
	if err != nil {
		return Message{}, wrap(err, "add message to incident", incidentID)
	}
	return m, nil
}

// UpdateMessage replaces a draft's text, recipient and channel. Only a
// draft changes: a submitted one is returned first, an approved or
// released one never changes.
//
// Errors: Forbidden; NotFound; Conflict "comms.message_changed",
// "comms.not_draft"; Invalid as AddMessage's.
func (s *Service) UpdateMessage(ctx context.Context, a Actor, incidentID int64, ref MessageRef, in MessageInput) (Message, error) {
	return s.transition(ctx, a, incidentID, ref, "comms.message.update", func(ctx context.Context, d incident.Detail, m *Message, now time.Time) (string, []string, error) {
		if m.Status != StatusDraft {
			return "", nil, fault.New(fault.Conflict, "comms.not_draft")
		}
		in.Draft = true
		in, label, err := s.cleanMessage(ctx, d.Tenant, in, now)
		if err != nil {
			return "", nil, err
		}
		m.Channel, m.ContactID, m.Party, m.Subject, m.Body = in.Channel, in.ContactID, in.Party, in.Subject, in.Body
		if in.Lang != "" {
			m.Lang = in.Lang
		}
		return "comms.timeline.edited", []string{"party", label}, nil
	})
}

// Submit asks for a draft's approval.
//
// Errors: Forbidden; NotFound; Conflict "comms.message_changed",
// "comms.not_draft".
func (s *Service) Submit(ctx context.Context, a Actor, incidentID int64, ref MessageRef) (Message, error) {
	return s.transition(ctx, a, incidentID, ref, "comms.message.submit", func(_ context.Context, _ incident.Detail, m *Message, now time.Time) (string, []string, error) {
		if m.Status != StatusDraft {
			return "", nil, fault.New(fault.Conflict, "comms.not_draft")
		}
		m.Status, m.SubmittedAt = StatusSubmitted, now
		return "comms.timeline.submitted", nil, nil
	})
}

// Approve approves a submitted message for release. The approver must
// have a role that may approve (Actor.Approver) and must not be its author:
// a second pair of eyes is the point.
//
// Errors: Forbidden "comms.approve_role", "comms.approve_own"; NotFound;
// Conflict "comms.message_changed", "comms.not_submitted".
func (s *Service) Approve(ctx context.Context, a Actor, incidentID int64, ref MessageRef) (Message, error) {
	if !a.Approver {
		return Message{}, fault.New(fault.Forbidden, "comms.approve_role")
	}
	return s.transition(ctx, a, incidentID, ref, "comms.message.approve", func(_ context.Context, _ incident.Detail, m *Message, now time.Time) (string, []string, error) {
		if m.Status != StatusSubmitted {
			return "", nil, fault.New(fault.Conflict, "comms.not_submitted")
		}
		if m.AuthorID == a.UserID {
			return "", nil, fault.New(fault.Forbidden, "comms.approve_own")
		}
		m.Status, m.ApprovedAt, m.ApprovedByID, m.ApprovedBy, m.ReturnReason = StatusApproved, now, a.UserID, a.Name, ""
		return "comms.timeline.approved", nil, nil
	})
}

// Return sends a submitted or approved message back to draft, with a
// reason, so that its author can change it. It needs a role that may
// approve.
//
// Errors: Forbidden "comms.approve_role"; NotFound; Conflict
// "comms.message_changed", "comms.not_returnable"; Invalid for a missing
// or too long reason.
func (s *Service) Return(ctx context.Context, a Actor, incidentID int64, ref MessageRef, reason string) (Message, error) {
	if !a.Approver {
		return Message{}, fault.New(fault.Forbidden, "comms.approve_role")
	}
	var c checker
	reason = c.text("reason", reason, maxNoteLen, true, true)
	if err := c.errs.Err(); err != nil {
		return Message{}, err
	}
	return s.transition(ctx, a, incidentID, ref, "comms.message.return", func(_ context.Context, _ incident.Detail, m *Message, _ time.Time) (string, []string, error) {
		if m.Status != StatusSubmitted && m.Status != StatusApproved {
			return "", nil, fault.New(fault.Conflict, "comms.not_returnable")
		}
		m.Status, m.ReturnReason = StatusDraft, reason
		m.ApprovedAt, m.ApprovedByID, m.ApprovedBy = time.Time{}, 0, ""
		return "comms.timeline.returned", []string{"reason", reason}, nil
	})
}

// ReleaseMessage records that an approved message was sent: to whom, how
// and when. koban sends nothing itself.
//
// Errors: Forbidden; NotFound; Conflict "comms.message_changed",
// "comms.not_approved"; Invalid (channel, recipient, time in the future).
func (s *Service) ReleaseMessage(ctx context.Context, a Actor, incidentID int64, ref MessageRef, rel Release) (Message, error) {
	return s.transition(ctx, a, incidentID, ref, "comms.message.release", func(ctx context.Context, d incident.Detail, m *Message, now time.Time) (string, []string, error) {
		if m.Status != StatusApproved {
			return "", nil, fault.New(fault.Conflict, "comms.not_approved")
		}
		in, label, err := s.cleanMessage(ctx, d.Tenant, MessageInput{Direction: DirectionOut, Channel: rel.Channel,
			ContactID: rel.ContactID, Party: rel.Party, Subject: m.Subject, At: rel.At}, now)
		if err != nil {
			return "", nil, err
		}
		m.Status, m.Channel, m.ContactID, m.Party, m.At = StatusReleased, in.Channel, in.ContactID, in.Party, in.At
		m.ReleasedAt, m.ReleasedByID, m.ReleasedBy = now, a.UserID, a.Name
		return "comms.timeline.released", []string{"party", label, "channel", string(in.Channel)}, nil
	})
}

// transition runs one change of a message in a transaction: it reads the
// message, checks the version, lets change apply itself (returning the
// timeline message and its extra arguments), stores it and records the
// timeline and audit entries.
func (s *Service) transition(ctx context.Context, a Actor, incidentID int64, ref MessageRef, action string,
	change func(ctx context.Context, d incident.Detail, m *Message, now time.Time) (string, []string, error)) (Message, error) {
	if err := needFull(a); err != nil {
		return Message{}, err
	}
	now := s.nowUTC()
	var m Message
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		d, err := s.detail(ctx, a, incidentID)
		if err != nil {
			return err
		}
		before, err := s.message(ctx, incidentID, ref.ID)
		if err != nil {
			return err
		}
		if before.Version != ref.Version {
			return fault.New(fault.Conflict, "comms.message_changed")
		}
		m = before
		msg, args, err := change(ctx, d, &m, now)
		if err != nil {
			return err
		}
		m.Version, m.UpdatedAt = before.Version+1, now
		if err := s.store.UpdateMessage(ctx, m, before.Version); err != nil {
			if fault.Is(err, fault.NotFound) {
				return fault.Wrap(fault.Conflict, err, "comms.message_changed")
			}
			return err
		}
		at := now
		if m.Status == StatusReleased {
			at = m.At
		}
		args = append([]string{"message", strconv.FormatInt(m.ID, 10), "subject", m.Subject}, args...)
		return s.record(ctx, a, incidentID, incident.EntryMessage, at, action, audit.Object("message", m.ID),
			before, m, msg, args...)
	})
	if err != nil {
		return Message{}, wrap(err, action, ref.ID)
	}
	return m, nil
}
