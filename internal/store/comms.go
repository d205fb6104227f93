// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/i18n"
)

// Contacts, the communication log and report drafts (migration 0009). The
// rules (who approves, what may change when) live in internal/comms.

// The comms service runs on this store.
var _ comms.Store = (*DB)(nil)

const contactColumns = `id, tenant, name, organisation, kind, email, phone, notes, version, created_at, updated_at`

func scanContact(s scanner) (comms.Contact, error) {
	var c comms.Contact
	var kind string
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Tenant, &c.Name, &c.Organisation, &kind, &c.Email, &c.Phone, &c.Notes, &c.Version,
		&created, &updated); err != nil {
		return comms.Contact{}, mapErr(err)
	}
	c.Kind, c.CreatedAt, c.UpdatedAt = comms.ContactKind(kind), fromMicros(created), fromMicros(updated)
	return c, nil
}

// Contacts returns a tenant's contacts by organisation, then name.
func (db *DB) Contacts(ctx context.Context, tenant string) ([]comms.Contact, error) {
	return queryAll(ctx, db, "contacts", scanContact, `SELECT `+contactColumns+` FROM contacts WHERE tenant = ?
		ORDER BY organisation, name, id`, tenant)
}

// Contact returns the contact with id, or NotFound.
func (db *DB) Contact(ctx context.Context, id int64) (comms.Contact, error) {
	c, err := scanContact(db.queryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
	if err != nil {
		return comms.Contact{}, fmt.Errorf("store: contact %d: %w", id, err)
	}
	return c, nil
}

// CreateContact inserts c and returns it with its id.
func (db *DB) CreateContact(ctx context.Context, c comms.Contact) (comms.Contact, error) {
	err := db.queryRow(ctx, `INSERT INTO contacts (tenant, name, organisation, kind, email, phone, notes, version,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Tenant, c.Name, c.Organisation,
		string(c.Kind), c.Email, c.Phone, c.Notes, c.Version, micros(c.CreatedAt), micros(c.UpdatedAt)).Scan(&c.ID)
	if err != nil {
		return comms.Contact{}, fmt.Errorf("store: create contact: %w", mapErr(err))
	}
	return c, nil
}

// UpdateContact stores c provided the row's version is still prevVersion.
func (db *DB) UpdateContact(ctx context.Context, c comms.Contact, prevVersion int64) error {
	r, err := db.exec(ctx, `UPDATE contacts SET name = ?, organisation = ?, kind = ?, email = ?, phone = ?, notes = ?,
		version = ?, updated_at = ? WHERE id = ? AND version = ?`, c.Name, c.Organisation, string(c.Kind), c.Email,
		c.Phone, c.Notes, c.Version, micros(c.UpdatedAt), c.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update contact %d: %w", c.ID, err)
	}
	return nil
}

// ContactsSeeded reports whether a tenant's directory was seeded.
func (db *DB) ContactsSeeded(ctx context.Context, tenant string) (bool, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM contact_seeds WHERE tenant = ?`, tenant).Scan(&n); err != nil {
		return false, fmt.Errorf("store: contacts seeded: %w", mapErr(err))
	}
	return n > 0, nil
}

// MarkContactsSeeded records that a tenant's directory was seeded;
// Conflict if it already was.
func (db *DB) MarkContactsSeeded(ctx context.Context, tenant string, at time.Time) error {
	if _, err := db.exec(ctx, `INSERT INTO contact_seeds (tenant, seeded_at) VALUES (?, ?)`, tenant, micros(at)); err != nil {
		return fmt.Errorf("store: mark contacts seeded: %w", err)
	}
	return nil
}

// AddIncidentContact links a contact to an incident; Conflict when linked
// already, Invalid when either does not exist.
func (db *DB) AddIncidentContact(ctx context.Context, in comms.Involvement) error {
	_, err := db.exec(ctx, `INSERT INTO incident_contacts (incident_id, contact_id, role, added_at, added_by_id, added_by)
		VALUES (?, ?, ?, ?, ?, ?)`, in.IncidentID, in.ContactID, in.Role, micros(in.AddedAt), in.AddedByID, in.AddedBy)
	if err != nil {
		return fmt.Errorf("store: add contact %d to incident %d: %w", in.ContactID, in.IncidentID, err)
	}
	return nil
}

// RemoveIncidentContact removes the link; NotFound when there is none.
func (db *DB) RemoveIncidentContact(ctx context.Context, incidentID, contactID int64) error {
	r, err := db.exec(ctx, `DELETE FROM incident_contacts WHERE incident_id = ? AND contact_id = ?`, incidentID, contactID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: remove contact %d from incident %d: %w", contactID, incidentID, err)
	}
	return nil
}

// IncidentContacts returns an incident's contacts in the order they were
// linked, each with the contact.
func (db *DB) IncidentContacts(ctx context.Context, incidentID int64) ([]comms.Involvement, error) {
	const q = `SELECT ic.incident_id, ic.contact_id, ic.role, ic.added_at, ic.added_by_id, ic.added_by,
		c.id, c.tenant, c.name, c.organisation, c.kind, c.email, c.phone, c.notes, c.version, c.created_at, c.updated_at
		FROM incident_contacts ic JOIN contacts c ON c.id = ic.contact_id
		WHERE ic.incident_id = ? ORDER BY ic.added_at, ic.contact_id`
	return queryAll(ctx, db, fmt.Sprintf("contacts of incident %d", incidentID), func(s scanner) (comms.Involvement, error) {
		var in comms.Involvement
		var added, created, updated int64
		var kind string
		c := &in.Contact
		if err := s.Scan(&in.IncidentID, &in.ContactID, &in.Role, &added, &in.AddedByID, &in.AddedBy, &c.ID, &c.Tenant,
			&c.Name, &c.Organisation, &kind, &c.Email, &c.Phone, &c.Notes, &c.Version, &created, &updated); err != nil {
			return comms.Involvement{}, mapErr(err)
		}
		in.AddedAt, c.Kind, c.CreatedAt, c.UpdatedAt = fromMicros(added), comms.ContactKind(kind), fromMicros(created),
			fromMicros(updated)
		return in, nil
	}, q, incidentID)
}

const messageColumns = `id, incident_id, direction, channel, contact_id, party, subject, body, template, lang, status,
	at, author_id, author, submitted_at, approved_at, approved_by_id, approved_by, return_reason, released_at,
	released_by_id, released_by, version, created_at, updated_at`

func scanMessage(s scanner) (comms.Message, error) {
	var m comms.Message
	var dir, ch, tpl, lang, status string
	var at, submitted, approved, released, created, updated int64
	if err := s.Scan(&m.ID, &m.IncidentID, &dir, &ch, &m.ContactID, &m.Party, &m.Subject, &m.Body, &tpl, &lang, &status,
		&at, &m.AuthorID, &m.Author, &submitted, &approved, &m.ApprovedByID, &m.ApprovedBy, &m.ReturnReason, &released,
		&m.ReleasedByID, &m.ReleasedBy, &m.Version, &created, &updated); err != nil {
		return comms.Message{}, mapErr(err)
	}
	m.Direction, m.Channel, m.Template, m.Lang, m.Status = comms.Direction(dir), comms.Channel(ch),
		comms.TemplateKind(tpl), i18n.Lang(lang), comms.Status(status)
	m.At, m.SubmittedAt, m.ApprovedAt, m.ReleasedAt = fromMicros(at), fromMicros(submitted), fromMicros(approved),
		fromMicros(released)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, nil
}

// CreateMessage inserts m and returns it with its id; Invalid when its
// incident does not exist.
func (db *DB) CreateMessage(ctx context.Context, m comms.Message) (comms.Message, error) {
	err := db.queryRow(ctx, `INSERT INTO comms_messages (incident_id, direction, channel, contact_id, party, subject,
		body, template, lang, status, at, author_id, author, submitted_at, approved_at, approved_by_id, approved_by,
		return_reason, released_at, released_by_id, released_by, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.IncidentID, string(m.Direction), string(m.Channel), m.ContactID, m.Party, m.Subject, m.Body, string(m.Template),
		string(m.Lang), string(m.Status), micros(m.At), m.AuthorID, m.Author, micros(m.SubmittedAt), micros(m.ApprovedAt),
		m.ApprovedByID, m.ApprovedBy, m.ReturnReason, micros(m.ReleasedAt), m.ReleasedByID, m.ReleasedBy, m.Version,
		micros(m.CreatedAt), micros(m.UpdatedAt)).Scan(&m.ID)
	if err != nil {
		return comms.Message{}, fmt.Errorf("store: create message for incident %d: %w", m.IncidentID, mapErr(err))
	}
	return m, nil
}

// UpdateMessage stores every field of m but its incident, author and
// creation, provided the row's version is still prevVersion.
func (db *DB) UpdateMessage(ctx context.Context, m comms.Message, prevVersion int64) error {
	r, err := db.exec(ctx, `UPDATE comms_messages SET direction = ?, channel = ?, contact_id = ?, party = ?, subject = ?,
		body = ?, template = ?, lang = ?, status = ?, at = ?, submitted_at = ?, approved_at = ?, approved_by_id = ?,
		approved_by = ?, return_reason = ?, released_at = ?, released_by_id = ?, released_by = ?, version = ?,
		updated_at = ? WHERE id = ? AND version = ?`, string(m.Direction), string(m.Channel), m.ContactID, m.Party,
		m.Subject, m.Body, string(m.Template), string(m.Lang), string(m.Status), micros(m.At), micros(m.SubmittedAt),
		micros(m.ApprovedAt), m.ApprovedByID, m.ApprovedBy, m.ReturnReason, micros(m.ReleasedAt), m.ReleasedByID,
		m.ReleasedBy, m.Version, micros(m.UpdatedAt), m.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update message %d: %w", m.ID, err)
	}
	return nil
}

// Message returns the message with id, or NotFound.
func (db *DB) Message(ctx context.Context, id int64) (comms.Message, error) {
	m, err := scanMessage(db.queryRow(ctx, `SELECT `+messageColumns+` FROM comms_messages WHERE id = ?`, id))
	if err != nil {
		return comms.Message{}, fmt.Errorf("store: message %d: %w", id, err)
	}
	return m, nil
}

// IncidentMessages returns an incident's messages in creation order.
func (db *DB) IncidentMessages(ctx context.Context, incidentID int64) ([]comms.Message, error) {
	return queryAll(ctx, db, fmt.Sprintf("messages of incident %d", incidentID), scanMessage,
		`SELECT `+messageColumns+` FROM comms_messages WHERE incident_id = ? ORDER BY id`, incidentID)
}

// fieldRecord is a report field as stored.
type fieldRecord struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Prefill   string `json:"prefill"`
	Suggested string `json:"suggested,omitempty"`
}

func encodeReportFields(fs []comms.Field) (string, error) {
	rs := make([]fieldRecord, len(fs))
	for i, f := range fs {
		rs[i] = fieldRecord(f)
	}
	b, err := json.Marshal(rs)
	return string(b), err
}

const reportColumns = `id, incident_id, kind, stage, lang, fields, version, created_at, created_by, updated_at, updated_by`

func scanReport(s scanner) (comms.Report, error) {
	var r comms.Report
	var kind, stage, lang, fields string
	var created, updated int64
	if err := s.Scan(&r.ID, &r.IncidentID, &kind, &stage, &lang, &fields, &r.Version, &created, &r.CreatedBy, &updated,
		&r.UpdatedBy); err != nil {
		return comms.Report{}, mapErr(err)
	}
	var rs []fieldRecord
	if err := json.Unmarshal([]byte(fields), &rs); err != nil {
		return comms.Report{}, fmt.Errorf("report %d fields: %w", r.ID, err)
	}
	for _, f := range rs {
		r.Fields = append(r.Fields, comms.Field(f))
	}
	r.Kind, r.Stage, r.Lang = comms.ReportKind(kind), comms.Stage(stage), i18n.Lang(lang)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

// CreateReport inserts r and returns it with its id; Invalid when its
// incident does not exist.
func (db *DB) CreateReport(ctx context.Context, r comms.Report) (comms.Report, error) {
	fields, err := encodeReportFields(r.Fields)
	if err != nil {
		return comms.Report{}, fmt.Errorf("store: create report: %w", err)
	}
	err = db.queryRow(ctx, `INSERT INTO report_drafts (incident_id, kind, stage, lang, fields, version, created_at,
		created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.IncidentID,
		string(r.Kind), string(r.Stage), string(r.Lang), fields, r.Version, micros(r.CreatedAt), r.CreatedBy,
		micros(r.UpdatedAt), r.UpdatedBy).Scan(&r.ID)
	if err != nil {
		return comms.Report{}, fmt.Errorf("store: create report for incident %d: %w", r.IncidentID, mapErr(err))
	}
	return r, nil
}

// UpdateReport stores r's fields, language and update stamp provided the
// row's version is still prevVersion.
func (db *DB) UpdateReport(ctx context.Context, r comms.Report, prevVersion int64) error {
	fields, err := encodeReportFields(r.Fields)
	if err != nil {
		return fmt.Errorf("store: update report %d: %w", r.ID, err)
	}
	res, err := db.exec(ctx, `UPDATE report_drafts SET lang = ?, fields = ?, version = ?, updated_at = ?, updated_by = ?
		WHERE id = ? AND version = ?`, string(r.Lang), fields, r.Version, micros(r.UpdatedAt), r.UpdatedBy, r.ID,
		prevVersion)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("store: update report %d: %w", r.ID, err)
	}
	return nil
}

// Report returns the report draft with id, or NotFound.
func (db *DB) Report(ctx context.Context, id int64) (comms.Report, error) {
	r, err := scanReport(db.queryRow(ctx, `SELECT `+reportColumns+` FROM report_drafts WHERE id = ?`, id))
	if err != nil {
		return comms.Report{}, fmt.Errorf("store: report %d: %w", id, err)
	}
	return r, nil
}

// IncidentReports returns an incident's report drafts in creation order.
func (db *DB) IncidentReports(ctx context.Context, incidentID int64) ([]comms.Report, error) {
	return queryAll(ctx, db, fmt.Sprintf("reports of incident %d", incidentID), scanReport,
		`SELECT `+reportColumns+` FROM report_drafts WHERE incident_id = ? ORDER BY id`, incidentID)
}

// AddReportSend appends to a report's sent log and returns the entry with
// its id; Invalid when the report does not exist.
func (db *DB) AddReportSend(ctx context.Context, s comms.Send) (comms.Send, error) {
	err := db.queryRow(ctx, `INSERT INTO report_sends (report_id, contact_id, to_party, channel, at, reference, note,
		by_id, by_name, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, s.ReportID, s.ContactID, s.To,
		string(s.Channel), micros(s.At), s.Reference, s.Note, s.ByID, s.By, micros(s.RecordedAt)).Scan(&s.ID)
	if err != nil {
		return comms.Send{}, fmt.Errorf("store: add send of report %d: %w", s.ReportID, mapErr(err))
	}
	return s, nil
}

// ReportSends returns a report's sent log in the order recorded.
func (db *DB) ReportSends(ctx context.Context, reportID int64) ([]comms.Send, error) {
	return queryAll(ctx, db, fmt.Sprintf("sends of report %d", reportID), func(sc scanner) (comms.Send, error) {
		var s comms.Send
		var ch string
		var at, recorded int64
		if err := sc.Scan(&s.ID, &s.ReportID, &s.ContactID, &s.To, &ch, &at, &s.Reference, &s.Note, &s.ByID, &s.By,
			&recorded); err != nil {
			return comms.Send{}, mapErr(err)
		}
		s.Channel, s.At, s.RecordedAt = comms.Channel(ch), fromMicros(at), fromMicros(recorded)
		return s, nil
	}, `SELECT id, report_id, contact_id, to_party, channel, at, reference, note, by_id, by_name, recorded_at
		FROM report_sends WHERE report_id = ? ORDER BY id`, reportID)
}
