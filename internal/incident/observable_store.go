// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"time"
)

// StoredObservable is an observable kept on an incident: one per kind and
// value, whoever added it first and when.
type StoredObservable struct {
	ID         int64
	IncidentID int64
	Observable
	AddedByID int64
	AddedBy   string
	AddedAt   time.Time
	UpdatedAt time.Time
}

// SharedObservable is an observable of one incident that another incident
// of its tenant has too: the other incident, and the kind and value they
// share (with the IOC flag the other incident gives it).
type SharedObservable struct {
	Other Headline
	Observable
}

// AlertLink says that an alert was taken into an incident, with a snapshot
// of what the alert was then: alerts are grouped and triaged on, the
// incident keeps what it was made from.
type AlertLink struct {
	IncidentID int64
	AlertID    int64
	Title      string
	Level      string
	Host       string
	FirstSeen  time.Time
	AddedAt    time.Time
	AddedByID  int64
	AddedBy    string
}

// AlertIncident is an incident an alert was taken into, as the alert's page
// shows it.
type AlertIncident struct {
	Incident Headline
	AddedAt  time.Time
}

// ObservableStore keeps incidents' observables and the alerts incidents were
// made from. Every method may return Internal.
type ObservableStore interface {
	// CreateIncidentObservable inserts o (ignoring its ID) and returns it
	// with its id; Conflict when the incident has an observable of the
	// same kind and value, Invalid when the incident does not exist. In a
	// transaction on PostgreSQL a conflict aborts the transaction: check
	// IncidentObservables first.
	CreateIncidentObservable(ctx context.Context, o StoredObservable) (StoredObservable, error)
	// UpdateIncidentObservable stores o's IOC flag, note and update time;
	// NotFound when there is no observable with its id.
	UpdateIncidentObservable(ctx context.Context, o StoredObservable) error
	// DeleteIncidentObservable removes an observable; NotFound when there
	// is none with id.
	DeleteIncidentObservable(ctx context.Context, id int64) error
	// IncidentObservable returns the observable with id.
	IncidentObservable(ctx context.Context, id int64) (StoredObservable, error)
	// IncidentObservables returns an incident's observables in the order
	// they were added.
	IncidentObservables(ctx context.Context, incidentID int64) ([]StoredObservable, error)
	// SharedObservables returns the observables of incident incidentID
	// that other incidents of the same tenant have too, one row per other
	// incident and observable, newest other incident first, at most limit.
	SharedObservables(ctx context.Context, incidentID int64, limit int) ([]SharedObservable, error)

	// AddIncidentAlert stores a link from an incident to an alert;
	// Conflict when the incident has it already, Invalid when the incident
	// does not exist.
	AddIncidentAlert(ctx context.Context, l AlertLink) error
	// IncidentAlerts returns the alerts taken into an incident, by first
	// detection, then alert id.
	IncidentAlerts(ctx context.Context, incidentID int64) ([]AlertLink, error)
	// AlertIncidents returns the incidents of a tenant an alert was taken
	// into, oldest link first.
	AlertIncidents(ctx context.Context, tenant string, alertID int64) ([]AlertIncident, error)
}
