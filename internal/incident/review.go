// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// RootCause is the category of an incident's root cause, stored as-is.
type RootCause string

// The root cause categories.
const (
	CauseSocialEngineering RootCause = "social_engineering" // phishing, pretexting, fraud calls
	CauseUnpatched         RootCause = "unpatched"          // a known vulnerability left unpatched
	CauseMisconfiguration  RootCause = "misconfiguration"   // open shares, public buckets, default settings
	CauseWeakAuth          RootCause = "weak_auth"          // weak or reused passwords, no MFA
	CauseHumanError        RootCause = "human_error"        // 誤送信, wrong recipient, accidental deletion
	CauseLossTheft         RootCause = "loss_theft"         // a device or medium lost or stolen
	CauseInsider           RootCause = "insider"            // deliberate misuse by someone inside
	CauseThirdParty        RootCause = "third_party"        // a supplier, service provider or partner
	CauseUnknown           RootCause = "unknown"            // not found out
	CauseOther             RootCause = "other"
)

// RootCauses lists every category.
var RootCauses = []RootCause{CauseSocialEngineering, CauseUnpatched, CauseMisconfiguration, CauseWeakAuth,
	CauseHumanError, CauseLossTheft, CauseInsider, CauseThirdParty, CauseUnknown, CauseOther}

// Valid reports whether c is one of the categories.
func (c RootCause) Valid() bool { return slices.Contains(RootCauses, c) }

// Review is an incident's post-incident review (振り返り): what caused it and
// what the team learnt. Its prevention actions are rows of their own
// (PreventionAction), so that they outlive the incident's closing.
type Review struct {
	IncidentID int64 // 0 for an incident without a review
	Cause      RootCause
	CauseText  string
	// Whys are the answers of a "5 whys" analysis, in order.
	Whys      []string
	WentWell  string
	WentBadly string
	// CompletedAt is when the review was marked complete; zero while it is
	// a draft. A high or critical incident closes only with a complete
	// review.
	CompletedAt time.Time
	CompletedBy string
	Version     int64
	UpdatedAt   time.Time
	UpdatedBy   string
}

// Complete reports whether the review was marked complete.
func (r Review) Complete() bool { return r.IncidentID != 0 && !r.CompletedAt.IsZero() }

// ReviewInput is what a person writes in the review form.
type ReviewInput struct {
	Cause     RootCause
	CauseText string
	Whys      []string
	WentWell  string
	WentBadly string
	// Complete marks the review complete (it then needs a cause and its
	// description) or, false, keeps or makes it a draft.
	Complete bool
}

// Bounds of reviews and prevention actions.
const (
	maxReviewTextLen = 10000
	maxWhys          = 10
	maxWhyLen        = 1000
	maxActionLen     = 500
	maxOpenActions   = 500
)

// SaveReview writes an incident's post-incident review. version is the
// review's version the person saw: 0 for a first review (Conflict
// "incident.review_changed" if someone wrote one meanwhile). Marking it
// complete needs a root cause category and its description; the completion
// time stays while it remains complete.
//
// Errors: Forbidden; NotFound; Conflict "incident.review_changed",
// "incident.closed"; Invalid for an unknown category, text over its bounds,
// or a complete review without its cause.
func (s *Service) SaveReview(ctx context.Context, a Actor, incidentID, version int64, in ReviewInput) (Review, error) {
	if err := a.needFull(); err != nil {
		return Review{}, err
	}
	var c inputCheck
	r := Review{IncidentID: incidentID, Cause: in.Cause,
		CauseText: c.text("cause_text", in.CauseText, maxReviewTextLen, in.Complete),
		WentWell:  c.text("went_well", in.WentWell, maxReviewTextLen, false),
		WentBadly: c.text("went_badly", in.WentBadly, maxReviewTextLen, false)}
	for _, w := range in.Whys {
		if w = c.text("whys", w, maxWhyLen, false); w != "" {
			r.Whys = append(r.Whys, w)
		}
	}
	if len(r.Whys) > maxWhys {
		c.add("whys", "incident.field_too_many", "max", maxWhys)
	}
	switch {
	case in.Cause == "" && in.Complete:
		c.add("cause", "incident.field_required")
	case in.Cause != "" && !in.Cause.Valid():
		c.add("cause", "incident.review_cause_invalid", "value", cleanLine(string(in.Cause), maxIDLen))
	}
	if err := c.errs.Err(); err != nil {
		return Review{}, err
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if _, err := s.open(ctx, Ref{ID: incidentID}); err != nil {
			return err
		}
		cur, err := s.store.IncidentReview(ctx, incidentID)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
		if cur.Version != version {
			return fault.New(fault.Conflict, "incident.review_changed")
		}
		now := s.nowUTC()
		r.Version, r.UpdatedAt, r.UpdatedBy = version+1, now, a.Name
		if in.Complete {
			r.CompletedAt, r.CompletedBy = cur.CompletedAt, cur.CompletedBy
			if !cur.Complete() {
				r.CompletedAt, r.CompletedBy = now, a.Name
			}
		}
		if err := s.store.SaveIncidentReview(ctx, r, version); fault.Is(err, fault.NotFound) || fault.Is(err, fault.Conflict) {
			return fault.Wrap(fault.Conflict, err, "incident.review_changed")
		} else if err != nil {
			return err
		}
		msg := "incident.timeline.review_saved"
		if r.Complete() && !cur.Complete() {
			msg = "incident.timeline.review_completed"
		}
		if err := s.logEntry(ctx, a, incidentID, EntryReview, now, msg); err != nil {
			return err
		}
		var before any
		if cur.IncidentID != 0 {
			before = cur
		}
		return s.audit(ctx, a, "incident.review", incidentID, before, r, now)
	})
	if err != nil {
		return Review{}, wrap(err, "save review of", incidentID)
	}
	return r, nil
}

// ActionStatus is where a prevention action stands, stored as-is.
type ActionStatus string

// The prevention action statuses.
const (
	ActionOpen       ActionStatus = "open"
	ActionInProgress ActionStatus = "in_progress"
	ActionDone       ActionStatus = "done"
	// ActionCancelled: decided against; the reason says why.
	ActionCancelled ActionStatus = "cancelled"
)

// ActionStatuses lists every status.
var ActionStatuses = []ActionStatus{ActionOpen, ActionInProgress, ActionDone, ActionCancelled}

// Valid reports whether s is one of the statuses.
func (s ActionStatus) Valid() bool { return slices.Contains(ActionStatuses, s) }

// Open reports whether an action in status s is still to be done.
func (s ActionStatus) Open() bool { return s == ActionOpen || s == ActionInProgress }

// PreventionAction is a measure against recurrence (再発防止策) decided in a
// post-incident review. It stays open, and listed, after its incident
// closes, until it is done or cancelled.
type PreventionAction struct {
	ID         int64
	IncidentID int64
	Title      string
	// The owner is a user (OwnerID) or a role (OwnerRole, one of
	// PlaybookRoles()).
	OwnerID      int64
	OwnerRole    string
	Due          time.Time
	Status       ActionStatus
	StatusReason string // why it was cancelled
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DoneAt       time.Time
}

// Overdue reports whether the action is still to be done after its due
// time.
func (p PreventionAction) Overdue(now time.Time) bool {
	return p.Status.Open() && !p.Due.IsZero() && now.After(p.Due)
}

// ActionInput is what a person writes about a prevention action.
type ActionInput struct {
	Title     string // required
	OwnerID   int64
	OwnerRole string
	Due       time.Time
	// Status is ActionOpen when empty; cancelling needs a reason.
	Status ActionStatus
	Reason string
}

// ActionRef names a prevention action and, unless Version is 0, the
// version the person saw.
type ActionRef struct {
	ID      int64
	Version int64
}

// DueAction is a prevention action with its incident, for lists across
// incidents.
type DueAction struct {
	PreventionAction
	Incident Headline
}

// cleanAction validates and cleans an action input.
func (s *Service) cleanAction(ctx context.Context, in ActionInput) (ActionInput, error) {
	var c inputCheck
	out := ActionInput{Title: c.line("title", in.Title, maxActionLen, true), OwnerID: in.OwnerID,
		OwnerRole: c.line("owner_role", in.OwnerRole, maxIDLen, false), Due: storeTime(in.Due), Status: in.Status}
	if out.Status == "" {
		out.Status = ActionOpen
	}
	if !out.Status.Valid() {
		c.add("status", "incident.action_status_invalid", "value", cleanLine(string(out.Status), maxIDLen))
	}
	if out.OwnerRole != "" && !slices.Contains(PlaybookRoles(), out.OwnerRole) {
		c.add("owner_role", "incident.task_role_invalid", "value", out.OwnerRole)
	}
	if out.Reason = c.text("reason", in.Reason, maxReasonLen, false); out.Status == ActionCancelled && out.Reason == "" {
		c.add("reason", "incident.reason_required")
	}
	if err := c.errs.Err(); err != nil {
		return ActionInput{}, err
	}
	if out.OwnerID != 0 {
		if _, err := s.person(ctx, "owner", out.OwnerID); err != nil {
			return ActionInput{}, err
		}
	}
	return out, nil
}

// apply sets an action's fields from in, recording when it was finished.
func (in ActionInput) apply(p *PreventionAction, now time.Time) {
	p.Title, p.OwnerID, p.OwnerRole, p.Due = in.Title, in.OwnerID, in.OwnerRole, in.Due
	if p.Status != in.Status {
		p.DoneAt = time.Time{}
		if !in.Status.Open() {
			p.DoneAt = now
		}
	}
	p.Status, p.StatusReason = in.Status, ""
	if in.Status == ActionCancelled {
		p.StatusReason = in.Reason
	}
}

// AddPreventionAction adds a prevention action to an incident, closed or
// not: follow-up decided after the close is still follow-up.
//
// Errors: Forbidden; NotFound; Invalid for a missing title, an unknown
// status or role, an owner who cannot be assigned, a cancellation without
// reason.
func (s *Service) AddPreventionAction(ctx context.Context, a Actor, incidentID int64, in ActionInput) (PreventionAction, error) {
	if err := a.needFull(); err != nil {
		return PreventionAction{}, err
	}
	var p PreventionAction
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if _, err := s.current(ctx, Ref{ID: incidentID}); err != nil {
			return err
		}
		in, err := s.cleanAction(ctx, in)
		if err != nil {
			return err
		}
		now := s.nowUTC()
		p = PreventionAction{IncidentID: incidentID, Version: 1, CreatedAt: now, UpdatedAt: now}
		in.apply(&p, now)
		if p, err = s.store.CreatePreventionAction(ctx, p); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, incidentID, EntryReview, now, "incident.timeline.action_added", "title", p.Title); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.action_add", incidentID, nil, p, now)
	})
	if err != nil {
		return PreventionAction{}, wrap(err, "add prevention action to", incidentID)
	}
	return p, nil
}

// UpdatePreventionAction replaces a prevention action's fields with in,
// whether its incident is closed or not.
//
// Errors: Forbidden; NotFound "incident.action_not_found"; Conflict
// "incident.action_changed"; Invalid as AddPreventionAction's.
func (s *Service) UpdatePreventionAction(ctx context.Context, a Actor, ref ActionRef, in ActionInput) (PreventionAction, error) {
	if err := a.needFull(); err != nil {
		return PreventionAction{}, err
	}
	var out PreventionAction
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.store.PreventionAction(ctx, ref.ID)
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.NotFound, err, "incident.action_not_found", "id", ref.ID)
		} else if err != nil {
			return err
		}
		if ref.Version != 0 && ref.Version != cur.Version {
			return fault.New(fault.Conflict, "incident.action_changed", "title", cur.Title)
		}
		in, err := s.cleanAction(ctx, in)
		if err != nil {
			return err
		}
		now := s.nowUTC()
		next := cur
		in.apply(&next, now)
		if next == cur {
			out = cur
			return nil
		}
		next.Version, next.UpdatedAt = cur.Version+1, now
		if err := s.store.UpdatePreventionAction(ctx, next, cur.Version); fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Conflict, err, "incident.action_changed", "title", cur.Title)
		} else if err != nil {
			return err
		}
		if next.Status != cur.Status {
			if err := s.logEntry(ctx, a, cur.IncidentID, EntryReview, now, "incident.timeline.action_status",
				"title", next.Title, "from", string(cur.Status), "to", string(next.Status)); err != nil {
				return err
			}
		}
		out = next
		return s.audit(ctx, a, "incident.action_update", cur.IncidentID, cur, next, now)
	})
	if err != nil {
		return PreventionAction{}, wrap(err, "update prevention action", ref.ID)
	}
	return out, nil
}

// OpenPreventionActions lists a tenant's prevention actions still to be
// done, across its incidents (closed ones included), by due time, at most
// limit (1 to 500; 0 means 100).
func (s *Service) OpenPreventionActions(ctx context.Context, a Actor, tenant string, limit int) ([]DueAction, error) {
	if err := a.needSummary(); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > maxOpenActions {
		return nil, fault.InvalidField("limit", "incident.limit_invalid", "max", maxOpenActions)
	}
	out, err := s.store.OpenPreventionActions(ctx, tenant, limit)
	if err != nil {
		return nil, wrap(err, "open prevention actions")
	}
	return out, nil
}
