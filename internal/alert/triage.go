// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// transitions is the triage state machine: from each state, the states an
// analyst may move an alert to.
//
//	new            → acknowledged, in_progress, false_positive, true_positive, closed
//	acknowledged   → in_progress, false_positive, true_positive, closed
//	in_progress    → acknowledged, false_positive, true_positive, closed
//	false_positive → acknowledged (reopen)
//	true_positive  → acknowledged (reopen)
//	closed         → acknowledged (reopen)
//
// Nothing returns to new: it means nobody has looked. The three closed
// states (false_positive, true_positive, closed) need a reason; changing one
// resolution for another goes through a reopen, so both decisions stay in
// the history. Moving an alert to the state it is in changes nothing and is
// not an error, so that bulk actions over a mixed selection succeed.
var transitions = map[State][]State{
	StateNew:           {StateAcknowledged, StateInProgress, StateFalsePositive, StateTruePositive, StateClosed},
	StateAcknowledged:  {StateInProgress, StateFalsePositive, StateTruePositive, StateClosed},
	StateInProgress:    {StateAcknowledged, StateFalsePositive, StateTruePositive, StateClosed},
	StateFalsePositive: {StateAcknowledged},
	StateTruePositive:  {StateAcknowledged},
	StateClosed:        {StateAcknowledged},
}

// CanTransition reports whether the table allows moving from one state to
// another (a state to itself excepted: that is a no-op).
func CanTransition(from, to State) bool { return slices.Contains(transitions[from], to) }

// Next returns the states an alert in state s may move to, for the UI.
func Next(s State) []State { return slices.Clone(transitions[s]) }

// NeedsReason reports whether moving to s needs a reason: the closed states.
func NeedsReason(s State) bool { return s.Valid() && !s.Open() }

// maxBulk is how many alerts one bulk action may name.
const maxBulk = 500

// Actor is who triages: the audit trail's actor and the role the request
// acts with. Triage needs auth.PermAlerts.
type Actor struct {
	audit.Actor
	Role auth.Role
}

// ActorOf returns the actor for a principal acting from ip. A principal
// whose TOTP code is still due gets no role.
func ActorOf(p auth.Principal, ip string) Actor {
	a := Actor{Actor: p.Actor(ip), Role: p.Role}
	if p.MFAPending {
		a.Role = ""
	}
	return a
}

func (a Actor) check() error {
	if !auth.Can(a.Role, auth.PermAlerts) {
		return fault.New(fault.Forbidden, "alert.forbidden")
	}
	return nil
}

// Ref names an alert to change and, unless Version is 0, the version the
// person saw: if the alert has changed since, the change is refused.
type Ref struct {
	ID      int64
	Version int64
}

// Result is the outcome of a bulk action for one alert.
type Result struct {
	ID      int64
	Alert   Alert // the alert after the action, when Err is nil
	Changed bool  // false when the alert already was as asked
	Err     error // a fault: NotFound, Conflict (changed by someone else, or not allowed from its state), Internal
}

// Transition moves each alert in refs to state to, with a reason (required
// for the closed states). Each alert changes in its own transaction, with a
// history entry and an audit entry: one failing leaves the others done, and
// its Result says why. A version mismatch is Conflict "alert.changed".
// Moving an unassigned alert to in_progress assigns it to the actor.
//
// The error is for the request as a whole: Forbidden without
// auth.PermAlerts, Invalid for an unknown state, a missing or too long
// reason, or no or too many alerts.
func (s *Service) Transition(ctx context.Context, a Actor, refs []Ref, to State, reason string) ([]Result, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if !to.Valid() {
		return nil, fault.InvalidField("state", "alert.state_invalid", "value", text(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, NeedsReason(to))
	if err != nil {
		return nil, err
	}
	if err := checkBulk(refs); err != nil {
		return nil, err
	}
	return s.each(ctx, refs, func(ctx context.Context, cur Alert) (Alert, bool, error) {
		return s.transition(ctx, a, cur, to, reason)
	})
}

// transition changes one alert's state inside a transaction.
func (s *Service) transition(ctx context.Context, a Actor, cur Alert, to State, reason string) (Alert, bool, error) {
	if cur.State == to {
		return cur, false, nil
	}
	if !CanTransition(cur.State, to) {
		return Alert{}, false, fault.New(fault.Conflict, "alert.bad_transition", "from", string(cur.State), "to", string(to))
	}
	now := s.nowUTC()
	next := cur
	next.State, next.StateReason, next.Version, next.UpdatedAt = to, reason, cur.Version+1, now
	if err := s.history(ctx, a, cur.ID, ActionState, string(cur.State), string(to), reason); err != nil {
		return Alert{}, false, err
	}
	if to == StateInProgress && cur.AssigneeID == 0 && a.UserID != 0 {
		next.AssigneeID, next.AssigneeName = a.UserID, a.Name
		if err := s.history(ctx, a, cur.ID, ActionAssign, "", a.Name, ""); err != nil {
			return Alert{}, false, err
		}
	}
	if err := s.store.UpdateAlert(ctx, next, cur.Version); err != nil {
		return Alert{}, false, err
	}
	if err := s.audit(ctx, a, "alert.transition", cur.ID, triageView(cur), triageView(next)); err != nil {
		return Alert{}, false, err
	}
	return next, true, nil
}

// Assign gives each alert in refs to the user assigneeID, or to nobody when
// it is 0, per alert as Transition does. The assignee must exist, be enabled
// and hold auth.PermAlerts (Invalid otherwise).
func (s *Service) Assign(ctx context.Context, a Actor, refs []Ref, assigneeID int64) ([]Result, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if err := checkBulk(refs); err != nil {
		return nil, err
	}
	name := ""
	if assigneeID != 0 {
		u, err := s.store.User(ctx, assigneeID)
		if fault.Is(err, fault.NotFound) {
			return nil, fault.InvalidField("assignee", "alert.assignee_unknown")
		} else if err != nil {
			return nil, fmt.Errorf("alert: assign: %w", err)
		}
		if u.Disabled || !auth.Can(u.Role, auth.PermAlerts) {
			return nil, fault.InvalidField("assignee", "alert.assignee_cannot", "name", u.Name)
		}
		name = u.Name
	}
	return s.each(ctx, refs, func(ctx context.Context, cur Alert) (Alert, bool, error) {
		if cur.AssigneeID == assigneeID {
			return cur, false, nil
		}
		next := cur
		next.AssigneeID, next.AssigneeName, next.Version, next.UpdatedAt = assigneeID, name, cur.Version+1, s.nowUTC()
		if err := s.history(ctx, a, cur.ID, ActionAssign, cur.AssigneeName, name, ""); err != nil {
			return Alert{}, false, err
		}
		if err := s.store.UpdateAlert(ctx, next, cur.Version); err != nil {
			return Alert{}, false, err
		}
		if err := s.audit(ctx, a, "alert.assign", cur.ID, triageView(cur), triageView(next)); err != nil {
			return Alert{}, false, err
		}
		return next, true, nil
	})
}

// each runs change for every alert of refs, each in its own transaction
// after reading the alert and checking its version.
func (s *Service) each(ctx context.Context, refs []Ref, change func(ctx context.Context, cur Alert) (Alert, bool, error)) ([]Result, error) {
	out := make([]Result, 0, len(refs))
	seen := make(map[int64]bool, len(refs))
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if seen[ref.ID] {
			continue // named twice in one request: the first counts
		}
		seen[ref.ID] = true
		r := Result{ID: ref.ID}
		r.Err = s.store.Tx(ctx, func(ctx context.Context) error {
			cur, err := s.current(ctx, ref)
			if err != nil {
				return err
			}
			r.Alert, r.Changed, err = change(ctx, cur)
			return err
		})
		if r.Err != nil {
			r.Alert, r.Changed = Alert{}, false
			if fault.KindOf(r.Err) == fault.Internal {
				r.Err = fmt.Errorf("alert: change %d: %w", ref.ID, r.Err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// current reads the alert ref names and checks its version.
func (s *Service) current(ctx context.Context, ref Ref) (Alert, error) {
	cur, err := s.store.Alert(ctx, ref.ID)
	if fault.Is(err, fault.NotFound) {
		return Alert{}, fault.Wrap(fault.NotFound, err, "alert.not_found", "id", ref.ID)
	} else if err != nil {
		return Alert{}, err
	}
	if ref.Version != 0 && ref.Version != cur.Version {
		return Alert{}, fault.New(fault.Conflict, "alert.changed", "id", ref.ID)
	}
	return cur, nil
}

func (s *Service) history(ctx context.Context, a Actor, id int64, act Action, from, to, reason string) error {
	return s.store.AddAlertHistory(ctx, HistoryEntry{AlertID: id, At: s.nowUTC(), ActorID: a.UserID, Actor: a.Name,
		Action: act, From: from, To: to, Reason: reason})
}

func (s *Service) audit(ctx context.Context, a Actor, action string, id int64, before, after any) error {
	e := audit.New(a.Actor, action, audit.Object("alert", id), before, after)
	e.Time = s.nowUTC()
	return s.store.AppendAudit(ctx, e)
}

// triageRecord is what the audit trail records of an alert's triage.
type triageRecord struct {
	State      State  `json:"state"`
	Reason     string `json:"reason,omitempty"`
	AssigneeID int64  `json:"assignee_id,omitempty"`
	Version    int64  `json:"version"`
}

func triageView(a Alert) triageRecord {
	return triageRecord{State: a.State, Reason: a.StateReason, AssigneeID: a.AssigneeID, Version: a.Version}
}

func checkReason(reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	if required && reason == "" {
		return "", fault.InvalidField("reason", "alert.reason_required")
	}
	if len(reason) > maxReasonLen {
		return "", fault.InvalidField("reason", "alert.reason_too_long", "max", maxReasonLen)
	}
	return text(reason, maxReasonLen), nil
}

func checkBulk(refs []Ref) error {
	if len(refs) == 0 {
		return fault.New(fault.Invalid, "alert.none_selected")
	}
	if len(refs) > maxBulk {
		return fault.New(fault.Invalid, "alert.too_many", "max", maxBulk)
	}
	return nil
}
