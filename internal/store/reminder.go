// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/koban-csirt/koban/internal/incident"
)

// Clock reminders already claimed or sent, one row per reminder and
// recipient (migration 0008). The primary key and single-statement claims
// make each go out once across nodes; which reminders are due is decided
// in incident (reminder_due.go).

// The incident service remembers its reminders here.
var _ incident.ReminderStore = (*DB)(nil)

func reminderArgs(k incident.ReminderKey) []any {
	return []any{k.IncidentID, string(k.Kind), micros(k.Due), int64(k.Lead / time.Microsecond), k.UserID}
}

const reminderKeyWhere = `incident_id = ? AND kind = ? AND due_at = ? AND lead_us = ? AND user_id = ?`

// ClaimReminder inserts the claim of k, or takes over an unsent claim made
// before staleBefore; false when k was sent or is claimed by another.
func (db *DB) ClaimReminder(ctx context.Context, k incident.ReminderKey, at, staleBefore time.Time) (bool, error) {
	args := append(reminderArgs(k), micros(at))
	r, err := db.exec(ctx, `INSERT INTO incident_reminders (incident_id, kind, due_at, lead_us, user_id, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return false, fmt.Errorf("store: claim reminder of incident %d: %w", k.IncidentID, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return false, fmt.Errorf("store: claim reminder of incident %d: %w", k.IncidentID, mapErr(err))
	} else if n == 1 {
		return true, nil
	}
	args = append([]any{micros(at)}, reminderArgs(k)...)
	r, err = db.exec(ctx, `UPDATE incident_reminders SET claimed_at = ? WHERE `+reminderKeyWhere+
		` AND sent_at = 0 AND claimed_at < ?`, append(args, micros(staleBefore))...)
	if err != nil {
		return false, fmt.Errorf("store: claim reminder of incident %d: %w", k.IncidentID, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim reminder of incident %d: %w", k.IncidentID, mapErr(err))
	}
	return n == 1, nil
}

// MarkReminderSent records that k was sent at at; NotFound when k was not
// claimed.
func (db *DB) MarkReminderSent(ctx context.Context, k incident.ReminderKey, at time.Time) error {
	r, err := db.exec(ctx, `UPDATE incident_reminders SET sent_at = ? WHERE `+reminderKeyWhere,
		append([]any{micros(at)}, reminderArgs(k)...)...)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: mark reminder of incident %d sent: %w", k.IncidentID, err)
	}
	return nil
}

// ReleaseReminder deletes an unsent claim of k.
func (db *DB) ReleaseReminder(ctx context.Context, k incident.ReminderKey) error {
	if _, err := db.exec(ctx, `DELETE FROM incident_reminders WHERE `+reminderKeyWhere+` AND sent_at = 0`, reminderArgs(k)...); err != nil {
		return fmt.Errorf("store: release reminder of incident %d: %w", k.IncidentID, err)
	}
	return nil
}

// IncidentReminders returns an incident's reminders by claim time, then
// recipient.
func (db *DB) IncidentReminders(ctx context.Context, incidentID int64) ([]incident.SentReminder, error) {
	return queryAll(ctx, db, fmt.Sprintf("reminders of incident %d", incidentID), func(s scanner) (incident.SentReminder, error) {
		var r incident.SentReminder
		var kind string
		var due, lead, claimed, sent int64
		if err := s.Scan(&r.IncidentID, &kind, &due, &lead, &r.UserID, &claimed, &sent); err != nil {
			return incident.SentReminder{}, mapErr(err)
		}
		r.Kind, r.Due, r.Lead = incident.DeadlineKind(kind), fromMicros(due), time.Duration(lead)*time.Microsecond
		r.ClaimedAt, r.SentAt = fromMicros(claimed), fromMicros(sent)
		return r, nil
	}, `SELECT incident_id, kind, due_at, lead_us, user_id, claimed_at, sent_at FROM incident_reminders
		WHERE incident_id = ? ORDER BY claimed_at, user_id, kind, lead_us`, incidentID)
}
