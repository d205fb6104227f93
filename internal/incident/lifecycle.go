// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// ChangePhase moves an open incident to another phase, as CanMove allows;
// going back needs a reason. The first time the incident leaves triage it
// is acknowledged, reaching eradication or later marks it contained, and
// reaching review resolved (Incident's milestone times). Moving to the
// phase it is in changes nothing.
//
// Errors: Forbidden; NotFound; Conflict "incident.bad_phase" (to triage,
// to closed: use Close), "incident.changed", "incident.closed"; Invalid for
// an unknown phase or a missing or too long reason.
func (s *Service) ChangePhase(ctx context.Context, a Actor, ref Ref, to Phase, reason string) (Incident, error) {
	if !to.Valid() {
		return Incident{}, fault.InvalidField("phase", "incident.phase_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, false)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "phase", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Phase == to {
			return false, nil
		}
		if !CanMove(cur.Phase, to) {
			return false, fault.New(fault.Conflict, "incident.bad_phase", "from", string(cur.Phase), "to", string(to))
		}
		if MoveNeedsReason(cur.Phase, to) && reason == "" {
			return false, fault.InvalidField("reason", "incident.reason_required")
		}
		next.Phase = to
		reached(next, to, now)
		return true, s.logEntry(ctx, a, cur.ID, EntryPhase, now, "incident.timeline.phase",
			"from", string(cur.Phase), "to", string(to), "reason", reason)
	})
}

// reached sets the milestone times an incident passes by reaching phase p
// (those still unset).
func reached(inc *Incident, p Phase, now time.Time) {
	set := func(t *time.Time, from Phase) {
		if t.IsZero() && !p.Before(from) {
			*t = now
		}
	}
	set(&inc.AcknowledgedAt, PhaseAnalysis)
	set(&inc.ContainedAt, PhaseEradication)
	set(&inc.ResolvedAt, PhaseReview)
}

// ChangeStatus puts an open incident on hold (with a reason: whom it waits
// for) or takes it off hold. Closing and reopening have their own methods.
//
// Errors: Forbidden; NotFound; Conflict "incident.bad_status" (to closed),
// "incident.changed", "incident.closed"; Invalid for an unknown status or a
// missing or too long reason.
func (s *Service) ChangeStatus(ctx context.Context, a Actor, ref Ref, to Status, reason string) (Incident, error) {
	if !to.Valid() {
		return Incident{}, fault.InvalidField("status", "incident.status_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, to == StatusOnHold)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "status", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Status == to {
			return false, nil
		}
		if to == StatusClosed {
			return false, fault.New(fault.Conflict, "incident.bad_status", "from", string(cur.Status), "to", string(to))
		}
		next.Status, next.StatusReason = to, reason
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.status",
			"from", string(cur.Status), "to", string(to), "reason", reason)
	})
}

// Closing is how an incident ended.
type Closing struct {
	Resolution Resolution
	Summary    string // required: what happened and what was done, in short
}

// Close closes an incident. It must have a severity; its required tasks
// must all be done or skipped; a high or critical incident needs its
// post-incident review completed. Prevention actions stay open and listed.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed",
// "incident.changed", "incident.close_no_severity",
// "incident.close_open_tasks", "incident.close_review_missing"; Invalid for
// an unknown resolution or a missing or too long summary.
func (s *Service) Close(ctx context.Context, a Actor, ref Ref, c Closing) (Incident, error) {
	var errs fault.List
	if !c.Resolution.Valid() {
		errs = append(errs, fault.InvalidField("resolution", "incident.resolution_invalid",
			"value", cleanLine(string(c.Resolution), maxIDLen)))
	}
	var ic inputCheck
	summary := ic.text("summary", c.Summary, maxReasonLen, true)
	if err := append(errs, ic.errs...).Err(); err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "close", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Severity == "" {
			return false, fault.New(fault.Conflict, "incident.close_no_severity", "ref", cur.Ref)
		}
		tasks, err := s.store.IncidentTasks(ctx, cur.ID)
		if err != nil {
			return false, err
		}
		open := 0
		for _, t := range tasks {
			if t.Required && t.Status.Open() {
				open++
			}
		}
		if open > 0 {
			return false, fault.New(fault.Conflict, "incident.close_open_tasks", "ref", cur.Ref, "count", open)
		}
		if cur.Severity.AtLeast(SeverityHigh) {
			r, err := s.store.IncidentReview(ctx, cur.ID)
			if err != nil && !fault.Is(err, fault.NotFound) {
				return false, err
			}
			if !r.Complete() {
				return false, fault.New(fault.Conflict, "incident.close_review_missing", "ref", cur.Ref, "severity", string(cur.Severity))
			}
		}
		next.Status, next.StatusReason, next.Phase = StatusClosed, "", PhaseClosed
		next.Resolution, next.Summary, next.ClosedAt = c.Resolution, summary, now
		if next.AcknowledgedAt.IsZero() {
			next.AcknowledgedAt = now
		}
		if next.ResolvedAt.IsZero() {
			next.ResolvedAt = now
		}
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.closed",
			"from", string(cur.Phase), "resolution", string(c.Resolution), "summary", summary)
	})
}

// Reopen reopens a closed incident into phase to (analysis when empty), with
// a reason. Its resolution and summary are cleared (the timeline keeps
// them), as are its closing time and, when it goes back before review, its
// resolution time.
//
// Errors: Forbidden; NotFound; Conflict "incident.not_closed",
// "incident.bad_phase", "incident.changed"; Invalid for a missing or too long
// reason or an unknown phase.
func (s *Service) Reopen(ctx context.Context, a Actor, ref Ref, to Phase, reason string) (Incident, error) {
	if to == "" {
		to = PhaseAnalysis
	}
	if !to.Valid() {
		return Incident{}, fault.InvalidField("phase", "incident.phase_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, true)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "reopen", true, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if !cur.Closed() {
			return false, fault.New(fault.Conflict, "incident.not_closed", "ref", cur.Ref)
		}
		if to == PhaseTriage || to == PhaseClosed {
			return false, fault.New(fault.Conflict, "incident.bad_phase", "from", string(cur.Phase), "to", string(to))
		}
		next.Status, next.StatusReason, next.Phase = StatusOpen, reason, to
		next.Resolution, next.Summary, next.ClosedAt = "", "", time.Time{}
		if to.Before(PhaseReview) {
			next.ResolvedAt = time.Time{}
		}
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.reopened",
			"to", string(to), "reason", reason)
	})
}

// Assign makes userIDs the incident's assignees (none when empty). Each must
// be an enabled user whom Options.Assignable allows.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid "incident.person_unknown",
// "incident.person_cannot", too many.
func (s *Service) Assign(ctx context.Context, a Actor, ref Ref, userIDs []int64) (Incident, error) {
	return s.change(ctx, a, ref, "assign", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		ids, err := s.checkPeople(ctx, "assignees", userIDs, maxAssignees)
		if err != nil {
			return false, err
		}
		if slices.Equal(ids, cur.Assignees) {
			return false, nil
		}
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			p, err := s.store.IncidentPerson(ctx, id)
			if err != nil {
				return false, err
			}
			names = append(names, p.Name)
		}
		next.Assignees = ids
		return true, s.logEntry(ctx, a, cur.ID, EntryAssign, now, "incident.timeline.assigned", "names", strings.Join(names, ", "))
	})
}

// Assess answers the severity questionnaire for an incident: the computed
// severity becomes the incident's unless an override stands.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid for bad answers.
func (s *Service) Assess(ctx context.Context, a Actor, ref Ref, im Impact) (Incident, error) {
	sev, reasons, err := Assess(im)
	if err != nil {
		return Incident{}, err
	}
	im, _ = im.check()
	return s.change(ctx, a, ref, "assess", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		next.Assessment = Assessment{Impact: im, Severity: sev, Reasons: reasons, At: now, ByID: a.UserID, By: a.Name}
		next.Severity = effectiveSeverity(*next)
		return true, s.logEntry(ctx, a, cur.ID, EntrySeverity, now, "incident.timeline.assessed", "severity", string(sev))
	})
}

// effectiveSeverity is the override's severity when there is one, else the
// assessment's.
func effectiveSeverity(inc Incident) Severity {
	if inc.Override.Severity != "" {
		return inc.Override.Severity
	}
	return inc.Assessment.Severity
}

// OverrideSeverity sets the incident's severity by hand, with a reason;
// sev "" removes the override, so that the assessment's severity applies
// again.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid for an unknown severity or a missing or too
// long reason.
func (s *Service) OverrideSeverity(ctx context.Context, a Actor, ref Ref, sev Severity, reason string) (Incident, error) {
	if sev != "" && !sev.Valid() {
		return Incident{}, fault.InvalidField("severity", "incident.severity_invalid", "value", cleanLine(string(sev), maxIDLen))
	}
	reason, err := checkReason(reason, sev != "")
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "override", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if sev == "" {
			if cur.Override.Severity == "" {
				return false, nil
			}
			next.Override = Override{}
		} else {
			next.Override = Override{Severity: sev, Reason: reason, ByID: a.UserID, By: a.Name, At: now}
		}
		next.Severity = effectiveSeverity(*next)
		return true, s.logEntry(ctx, a, cur.ID, EntrySeverity, now, "incident.timeline.override",
			"severity", string(next.Severity), "reason", reason)
	})
}

// checkReason cleans a reason and checks it is present when required and
// not too long.
func checkReason(reason string, required bool) (string, error) {
	var c inputCheck
	if reason = c.text("reason", reason, maxReasonLen, false); required && reason == "" {
		c.add("reason", "incident.reason_required")
	}
	if err := c.errs.Err(); err != nil {
		return "", err
	}
	return reason, nil
}
