// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"

	"github.com/koban-csirt/koban/internal/incident"
)

// Evidence items and their chain of custody. The content lives in Blobs;
// the rules (what may change, when content may go) live in
// incident.Locker. The schema refuses edits of an item's facts and of
// custody entries, and deletion of either (migration 0005).

// The evidence locker runs on this store.
var _ incident.EvidenceStore = (*DB)(nil)

const evidenceColumns = `id, incident_id, name, content_type, size, sha256, sha1, md5, description, collected_by,
	collected_from, collected_at, uploaded_by, uploaded_by_id, uploaded_at, custodian, hold, hold_by, hold_by_id,
	hold_at, hold_reason, retain_until, disposed_at`

func scanEvidence(s scanner) (incident.Evidence, error) {
	var e incident.Evidence
	var collected, uploaded, holdAt, retain, disposed int64
	err := s.Scan(&e.ID, &e.IncidentID, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.SHA1, &e.MD5, &e.Description,
		&e.CollectedBy, &e.CollectedFrom, &collected, &e.UploadedBy, &e.UploadedByID, &uploaded, &e.Custodian,
		&e.Hold.Held, &e.Hold.By, &e.Hold.ByID, &holdAt, &e.Hold.Reason, &retain, &disposed)
	if err != nil {
		return incident.Evidence{}, mapErr(err)
	}
	e.CollectedAt, e.UploadedAt, e.Hold.At = fromMicros(collected), fromMicros(uploaded), fromMicros(holdAt)
	e.RetainUntil, e.DisposedAt = fromMicros(retain), fromMicros(disposed)
	return e, nil
}

const createEvidenceSQL = `INSERT INTO evidence (incident_id, name, content_type, size, sha256, sha1, md5, description,
	collected_by, collected_from, collected_at, uploaded_by, uploaded_by_id, uploaded_at, custodian, hold, hold_by,
	hold_by_id, hold_at, hold_reason, retain_until, disposed_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateEvidence inserts e and returns it with its id.
func (db *DB) CreateEvidence(ctx context.Context, e incident.Evidence) (incident.Evidence, error) {
	err := db.queryRow(ctx, createEvidenceSQL, e.IncidentID, e.Name, e.ContentType, e.Size, e.SHA256, e.SHA1, e.MD5,
		e.Description, e.CollectedBy, e.CollectedFrom, micros(e.CollectedAt), e.UploadedBy, e.UploadedByID,
		micros(e.UploadedAt), e.Custodian, e.Hold.Held, e.Hold.By, e.Hold.ByID, micros(e.Hold.At), e.Hold.Reason,
		micros(e.RetainUntil), micros(e.DisposedAt)).Scan(&e.ID)
	if err != nil {
		return incident.Evidence{}, fmt.Errorf("store: create evidence for incident %d: %w", e.IncidentID, mapErr(err))
	}
	return e, nil
}

// Evidence returns the item with id, or NotFound.
func (db *DB) Evidence(ctx context.Context, id int64) (incident.Evidence, error) {
	e, err := scanEvidence(db.queryRow(ctx, `SELECT `+evidenceColumns+` FROM evidence WHERE id = ?`, id))
	if err != nil {
		return incident.Evidence{}, fmt.Errorf("store: evidence %d: %w", id, err)
	}
	return e, nil
}

// IncidentEvidence returns an incident's items in upload (id) order.
func (db *DB) IncidentEvidence(ctx context.Context, incidentID int64) ([]incident.Evidence, error) {
	rows, err := db.query(ctx, `SELECT `+evidenceColumns+` FROM evidence WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: evidence of incident %d: %w", incidentID, err)
	}
	defer rows.Close()
	var out []incident.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("store: evidence of incident %d: %w", incidentID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: evidence of incident %d: %w", incidentID, mapErr(err))
	}
	return out, nil
}

const updateEvidenceStateSQL = `UPDATE evidence SET custodian = ?, hold = ?, hold_by = ?, hold_by_id = ?, hold_at = ?,
	hold_reason = ?, retain_until = ?, disposed_at = ? WHERE id = ?`

// UpdateEvidenceState stores e's custodian, legal hold, retention date and
// disposal time; NotFound when there is no such item. Nothing else of an
// item can change.
func (db *DB) UpdateEvidenceState(ctx context.Context, e incident.Evidence) error {
	r, err := db.exec(ctx, updateEvidenceStateSQL, e.Custodian, e.Hold.Held, e.Hold.By, e.Hold.ByID, micros(e.Hold.At),
		e.Hold.Reason, micros(e.RetainUntil), micros(e.DisposedAt), e.ID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update evidence %d: %w", e.ID, err)
	}
	return nil
}

// CountEvidenceBySHA256 counts the items not disposed of whose content has
// this SHA-256.
func (db *DB) CountEvidenceBySHA256(ctx context.Context, sha256 string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM evidence WHERE sha256 = ? AND disposed_at = 0`, sha256).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count evidence %s: %w", sha256, mapErr(err))
	}
	return n, nil
}

const addCustodySQL = `INSERT INTO evidence_custody (evidence_id, at, actor, actor_id, action, from_party, to_party, note)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// AddEvidenceCustody appends a custody entry and returns it with its id;
// Invalid when the item does not exist.
func (db *DB) AddEvidenceCustody(ctx context.Context, c incident.Custody) (incident.Custody, error) {
	err := db.queryRow(ctx, addCustodySQL, c.EvidenceID, micros(c.At), c.Actor, c.ActorID, string(c.Action), c.From,
		c.To, c.Note).Scan(&c.ID)
	if err != nil {
		return incident.Custody{}, fmt.Errorf("store: add custody of evidence %d: %w", c.EvidenceID, mapErr(err))
	}
	return c, nil
}

// EvidenceCustody returns an item's custody entries in the order they were
// recorded.
func (db *DB) EvidenceCustody(ctx context.Context, evidenceID int64) ([]incident.Custody, error) {
	rows, err := db.query(ctx, `SELECT id, evidence_id, at, actor, actor_id, action, from_party, to_party, note
		FROM evidence_custody WHERE evidence_id = ? ORDER BY id`, evidenceID)
	if err != nil {
		return nil, fmt.Errorf("store: custody of evidence %d: %w", evidenceID, err)
	}
	defer rows.Close()
	var out []incident.Custody
	for rows.Next() {
		var c incident.Custody
		var at int64
		var action string
		if err := rows.Scan(&c.ID, &c.EvidenceID, &at, &c.Actor, &c.ActorID, &action, &c.From, &c.To, &c.Note); err != nil {
			return nil, fmt.Errorf("store: custody of evidence %d: %w", evidenceID, mapErr(err))
		}
		c.At, c.Action = fromMicros(at), incident.CustodyAction(action)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: custody of evidence %d: %w", evidenceID, mapErr(err))
	}
	return out, nil
}
