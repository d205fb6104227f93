// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// Store keeps alerts, their events and history, and exclusions. It is
// implemented by internal/store for SQLite and PostgreSQL. Reads of a missing
// row return NotFound; every method may return Internal.
type Store interface {
	// Tx runs fn in a transaction that calls made with its ctx join; a
	// transaction is serialised with every other.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	// AlertForGroup returns the alert of group k in one of states whose
	// last detection is at or after since, the latest if several; NotFound
	// if none.
	AlertForGroup(ctx context.Context, k GroupKey, states []State, since time.Time) (Alert, error)
	// CreateAlert inserts a (ignoring its ID) and returns it with its id.
	CreateAlert(ctx context.Context, a Alert) (Alert, error)
	// UpdateAlert stores every mutable field of a, provided the row's
	// version is still prevVersion; NotFound otherwise.
	UpdateAlert(ctx context.Context, a Alert, prevVersion int64) error
	// Alert returns the alert with id.
	Alert(ctx context.Context, id int64) (Alert, error)
	// Alerts returns the alerts matching f, newest (highest id) first, at
	// most f.Limit.
	Alerts(ctx context.Context, f Filter) ([]Alert, error)
	// AlertCounts counts a tenant's alerts by state and level.
	AlertCounts(ctx context.Context, tenant string) ([]Count, error)
	// AddAlertEvents links eventIDs to an alert, numbering them from first,
	// skips those already linked, and returns how many it linked.
	AddAlertEvents(ctx context.Context, alertID int64, first int, eventIDs []string) (int, error)
	// AlertEvents returns the event ids linked to an alert in link order.
	AlertEvents(ctx context.Context, alertID int64) ([]string, error)
	// AddAlertHistory appends a history entry.
	AddAlertHistory(ctx context.Context, h HistoryEntry) error
	// AlertHistory returns an alert's history, oldest first.
	AlertHistory(ctx context.Context, alertID int64) ([]HistoryEntry, error)

	// CreateExclusion inserts x (ignoring its ID, Hits and LastHit).
	CreateExclusion(ctx context.Context, x Exclusion) (Exclusion, error)
	// Exclusion returns the exclusion with id.
	Exclusion(ctx context.Context, id int64) (Exclusion, error)
	// Exclusions returns every exclusion, expired ones included, by id.
	Exclusions(ctx context.Context) ([]Exclusion, error)
	// DeleteExclusion removes an exclusion.
	DeleteExclusion(ctx context.Context, id int64) error
	// AddExclusionHit counts n suppressed detections at at.
	AddExclusionHit(ctx context.Context, id int64, n int64, at time.Time) error

	// User returns a koban user (to check an assignee).
	User(ctx context.Context, id int64) (auth.User, error)
	// AppendAudit appends to the audit trail, in the caller's transaction.
	AppendAudit(ctx context.Context, e audit.Entry) error
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// GroupWindow is how long after an open alert's last detection a new
	// one of the same group still joins it (default 1h).
	GroupWindow time.Duration
	// MaxEvents is how many events an alert links at most (default 100);
	// its count keeps growing beyond.
	MaxEvents int
	// ExclusionRefresh is how old the in-memory copy of the exclusions may
	// grow before Record reads them again, so that changes made by other
	// koban nodes apply (default 1 minute). Changes made through this
	// Service apply at once.
	ExclusionRefresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives warnings (default: discarded).
	Log *slog.Logger
}

// Service records detections as alerts and runs their triage.
type Service struct {
	store Store
	opt   Options
	now   func() time.Time
	log   *slog.Logger
	excl  exclusionCache
}

// New returns a Service over store.
func New(store Store, o Options) *Service {
	if o.GroupWindow <= 0 {
		o.GroupWindow = time.Hour
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 100
	}
	if o.ExclusionRefresh <= 0 {
		o.ExclusionRefresh = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, opt: o, now: o.Now, log: o.Log}
}

// nowUTC is the clock at the store's precision.
func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Record stores a detection: it joins the open alert of its group (same
// tenant, rule, host and user, state new, acknowledged or in progress, last
// detection within GroupWindow of this one) or starts a new alert, and links
// its events, all in one transaction. The outcome says which; only when it
// is Created or Escalated (Outcome.Notify) should the caller notify, and it
// may, since the alert is stored by then.
//
// A detection an active exclusion matches is not stored: the exclusion's hit
// counter grows and the outcome is Suppressed, with a zero Alert. A
// detection whose events are all linked to the alert already (a replay after
// a restart) changes nothing and is Duplicate.
//
// A detection without a rule id or with an invalid level is Invalid. Other
// text is cleaned (valid UTF-8, no NUL, bounded lengths) and malformed event
// ids are dropped with a warning, so that no alert is lost to bad input.
func (s *Service) Record(ctx context.Context, d Detection) (Alert, Outcome, error) {
	now := s.nowUTC()
	d, err := s.clean(d, now)
	if err != nil {
		return Alert{}, "", err
	}
	x, ok, err := s.excluded(ctx, d, now)
	if err != nil {
		return Alert{}, "", fmt.Errorf("alert: record %s: %w", d.RuleID, err)
	}
	if ok {
		if err := s.store.AddExclusionHit(ctx, x.ID, int64(d.Count), now); err != nil && !fault.Is(err, fault.NotFound) {
			return Alert{}, "", fmt.Errorf("alert: record %s: count exclusion %d: %w", d.RuleID, x.ID, err)
		}
		return Alert{}, OutcomeSuppressed, nil
	}
	var a Alert
	var o Outcome
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		a, o, err = s.record(ctx, d, now)
		return err
	})
	if err != nil {
		return Alert{}, "", fmt.Errorf("alert: record %s: %w", d.RuleID, err)
	}
	return a, o, nil
}

// record is Record's transaction.
func (s *Service) record(ctx context.Context, d Detection, now time.Time) (Alert, Outcome, error) {
	k := GroupKey{Tenant: d.Tenant, RuleID: d.RuleID, Host: d.Host, User: d.User}
	cur, err := s.store.AlertForGroup(ctx, k, OpenStates, d.Time.Add(-s.opt.GroupWindow))
	if fault.Is(err, fault.NotFound) {
		return s.create(ctx, d, now)
	} else if err != nil {
		return Alert{}, "", err
	}
	ids := d.EventIDs[:min(len(d.EventIDs), max(0, s.opt.MaxEvents-cur.EventRefs))]
	added, err := s.store.AddAlertEvents(ctx, cur.ID, cur.EventRefs, ids)
	if err != nil {
		return Alert{}, "", err
	}
	if len(ids) > 0 && added == 0 {
		return cur, OutcomeDuplicate, nil
	}
	o := OutcomeGrouped
	cur.Count += int64(d.Count)
	cur.EventRefs += added
	if d.Time.Before(cur.FirstSeen) {
		cur.FirstSeen = d.Time
	}
	if d.Last.After(cur.LastSeen) {
		cur.LastSeen = d.Last
	}
	if d.Level.Compare(cur.Level) > 0 {
		if err := s.store.AddAlertHistory(ctx, HistoryEntry{AlertID: cur.ID, At: now, Actor: audit.System.Name,
			Action: ActionEscalate, From: string(cur.Level), To: string(d.Level)}); err != nil {
			return Alert{}, "", err
		}
		cur.Level, o = d.Level, OutcomeEscalated
	}
	cur.UpdatedAt = now
	if err := s.store.UpdateAlert(ctx, cur, cur.Version); err != nil {
		return Alert{}, "", err
	}
	return cur, o, nil
}

// create starts a new alert for d.
func (s *Service) create(ctx context.Context, d Detection, now time.Time) (Alert, Outcome, error) {
	ids := d.EventIDs[:min(len(d.EventIDs), s.opt.MaxEvents)]
	a := Alert{Tenant: d.Tenant, Source: d.Source, RuleID: d.RuleID, RuleTitle: d.RuleTitle, Level: d.Level,
		Tags: d.Tags, Host: d.Host, User: d.User, Fields: d.Fields, FirstSeen: d.Time, LastSeen: d.Last,
		Count: int64(d.Count), EventRefs: len(ids), State: StateNew, Version: 1, CreatedAt: now, UpdatedAt: now}
	a, err := s.store.CreateAlert(ctx, a)
	if err != nil {
		return Alert{}, "", err
	}
	if _, err := s.store.AddAlertEvents(ctx, a.ID, 0, ids); err != nil {
		return Alert{}, "", err
	}
	err = s.store.AddAlertHistory(ctx, HistoryEntry{AlertID: a.ID, At: now, Actor: audit.System.Name,
		Action: ActionCreated, To: string(StateNew)})
	if err != nil {
		return Alert{}, "", err
	}
	return a, OutcomeCreated, nil
}
