// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/koban-csirt/koban/internal/incident"
)

// Incidents' observables and the alerts incidents were made from
// (migration 0006). Observables are unique per incident, kind and the
// SHA-256 of the value; the rules (parsing, dedupe, closed incidents) live
// in internal/incident.

// valueHash is the key an observable's value is compared by.
func valueHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

const observableColumns = `incident_observables.id, incident_observables.incident_id, incident_observables.kind,
	incident_observables.value, incident_observables.ioc, incident_observables.source, incident_observables.note,
	incident_observables.added_by_id, incident_observables.added_by, incident_observables.added_at,
	incident_observables.updated_at`

func scanObservable(s scanner, extra ...any) (incident.StoredObservable, error) {
	var o incident.StoredObservable
	var kind string
	var added, updated int64
	dest := append([]any{&o.ID, &o.IncidentID, &kind, &o.Value, &o.IOC, &o.Source, &o.Note, &o.AddedByID, &o.AddedBy,
		&added, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return incident.StoredObservable{}, mapErr(err)
	}
	o.Kind, o.AddedAt, o.UpdatedAt = incident.ObservableKind(kind), fromMicros(added), fromMicros(updated)
	return o, nil
}

// CreateIncidentObservable inserts o and returns it with its id; Conflict
// when the incident has the same kind and value, Invalid when the incident
// does not exist.
func (db *DB) CreateIncidentObservable(ctx context.Context, o incident.StoredObservable) (incident.StoredObservable, error) {
	err := db.queryRow(ctx, `INSERT INTO incident_observables (incident_id, kind, value, value_hash, ioc, source, note,
		added_by_id, added_by, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		o.IncidentID, string(o.Kind), o.Value, valueHash(o.Value), o.IOC, o.Source, o.Note, o.AddedByID, o.AddedBy,
		micros(o.AddedAt), micros(o.UpdatedAt)).Scan(&o.ID)
	if err != nil {
		return incident.StoredObservable{}, fmt.Errorf("store: add observable to incident %d: %w", o.IncidentID, mapErr(err))
	}
	return o, nil
}

// UpdateIncidentObservable stores o's IOC flag, note and update time;
// NotFound when there is no such observable.
func (db *DB) UpdateIncidentObservable(ctx context.Context, o incident.StoredObservable) error {
	r, err := db.exec(ctx, `UPDATE incident_observables SET ioc = ?, note = ?, updated_at = ? WHERE id = ?`, o.IOC,
		o.Note, micros(o.UpdatedAt), o.ID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update observable %d: %w", o.ID, err)
	}
	return nil
}

// DeleteIncidentObservable removes an observable; NotFound when there is
// none with id.
func (db *DB) DeleteIncidentObservable(ctx context.Context, id int64) error {
	r, err := db.exec(ctx, `DELETE FROM incident_observables WHERE id = ?`, id)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: delete observable %d: %w", id, err)
	}
	return nil
}

// IncidentObservable returns the observable with id.
func (db *DB) IncidentObservable(ctx context.Context, id int64) (incident.StoredObservable, error) {
	o, err := scanObservable(db.queryRow(ctx, `SELECT `+observableColumns+` FROM incident_observables WHERE id = ?`, id))
	if err != nil {
		return incident.StoredObservable{}, fmt.Errorf("store: observable %d: %w", id, err)
	}
	return o, nil
}

// IncidentObservables returns an incident's observables in the order they
// were added.
func (db *DB) IncidentObservables(ctx context.Context, incidentID int64) ([]incident.StoredObservable, error) {
	return queryAll(ctx, db, fmt.Sprintf("observables of incident %d", incidentID),
		func(s scanner) (incident.StoredObservable, error) { return scanObservable(s) },
		`SELECT `+observableColumns+` FROM incident_observables WHERE incident_id = ? ORDER BY id`, incidentID)
}

// SharedObservables returns the observables of an incident that other
// incidents of its tenant have too, one row per other incident and
// observable, newest other incident first, at most limit.
func (db *DB) SharedObservables(ctx context.Context, incidentID int64, limit int) ([]incident.SharedObservable, error) {
	q := `SELECT ` + observableColumns + `, ` + headlineColumns + `
		FROM incident_observables AS mine
		JOIN incidents AS me ON me.id = mine.incident_id
		JOIN incident_observables ON incident_observables.kind = mine.kind
			AND incident_observables.value_hash = mine.value_hash
			AND incident_observables.incident_id <> mine.incident_id
		JOIN incidents ON incidents.id = incident_observables.incident_id AND incidents.tenant = me.tenant
		WHERE mine.incident_id = ?
		ORDER BY incidents.id DESC, incident_observables.id
		LIMIT ?`
	return queryAll(ctx, db, fmt.Sprintf("observables shared with incident %d", incidentID),
		func(s scanner) (incident.SharedObservable, error) {
			var r incident.SharedObservable
			dest, finish := headlineDest(&r.Other)
			o, err := scanObservable(s, dest...)
			if err != nil {
				return incident.SharedObservable{}, err
			}
			finish()
			r.Observable = o.Observable
			return r, nil
		}, q, incidentID, limit)
}

// AddIncidentAlert stores a link from an incident to an alert; Conflict
// when it exists, Invalid when the incident does not.
func (db *DB) AddIncidentAlert(ctx context.Context, l incident.AlertLink) error {
	if _, err := db.exec(ctx, `INSERT INTO incident_alerts (incident_id, alert_id, title, level, host, first_seen,
		added_at, added_by_id, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, l.IncidentID, l.AlertID, l.Title, l.Level,
		l.Host, micros(l.FirstSeen), micros(l.AddedAt), l.AddedByID, l.AddedBy); err != nil {
		return fmt.Errorf("store: link incident %d to alert %d: %w", l.IncidentID, l.AlertID, err)
	}
	return nil
}

// IncidentAlerts returns the alerts taken into an incident, by first
// detection, then alert id.
func (db *DB) IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.AlertLink, error) {
	return queryAll(ctx, db, fmt.Sprintf("alerts of incident %d", incidentID), func(s scanner) (incident.AlertLink, error) {
		var l incident.AlertLink
		var first, added int64
		if err := s.Scan(&l.IncidentID, &l.AlertID, &l.Title, &l.Level, &l.Host, &first, &added, &l.AddedByID,
			&l.AddedBy); err != nil {
			return incident.AlertLink{}, mapErr(err)
		}
		l.FirstSeen, l.AddedAt = fromMicros(first), fromMicros(added)
		return l, nil
	}, `SELECT incident_id, alert_id, title, level, host, first_seen, added_at, added_by_id, added_by
		FROM incident_alerts WHERE incident_id = ? ORDER BY first_seen, alert_id`, incidentID)
}

// AlertIncidents returns the incidents of a tenant an alert was taken into,
// oldest link first.
func (db *DB) AlertIncidents(ctx context.Context, tenant string, alertID int64) ([]incident.AlertIncident, error) {
	q := `SELECT incident_alerts.added_at, ` + headlineColumns + ` FROM incident_alerts
		JOIN incidents ON incidents.id = incident_alerts.incident_id
		WHERE incident_alerts.alert_id = ? AND incidents.tenant = ?
		ORDER BY incident_alerts.added_at, incidents.id`
	return queryAll(ctx, db, fmt.Sprintf("incidents of alert %d", alertID), func(s scanner) (incident.AlertIncident, error) {
		var r incident.AlertIncident
		var added int64
		dest, finish := headlineDest(&r.Incident)
		if err := s.Scan(append([]any{&added}, dest...)...); err != nil {
			return incident.AlertIncident{}, mapErr(err)
		}
		finish()
		r.AddedAt = fromMicros(added)
		return r, nil
	}, q, alertID, tenant)
}
