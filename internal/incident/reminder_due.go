// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"
	"time"
)

// MaxReminderDelay is how late a reminder may still go out. A node that
// was down longer sends only the latest reminder of each clock (the others
// are old news), and none at all for a clock whose last reminder time is
// further back: a first start on an old database must not flood inboxes.
const MaxReminderDelay = 6 * time.Hour

// ReminderClaimTTL is how long a node's claim on a reminder holds. A node
// that stopped between claiming and sending leaves a claim that another
// node takes over after this long; SMTP's own timeouts are far shorter.
const ReminderClaimTTL = 10 * time.Minute

// Reminder is one e-mail reminder due about one clock of one incident.
type Reminder struct {
	Incident Incident
	Deadline Deadline
	// At is when the reminder was due to go out; Lead is how long before
	// the deadline that is (0 for the reminder at the deadline).
	At   time.Time
	Lead time.Duration
}

// Key names the reminder to the user with id userID.
func (r Reminder) Key(userID int64) ReminderKey {
	return ReminderKey{IncidentID: r.Incident.ID, Kind: r.Deadline.Kind, Due: storeTime(r.Deadline.Due), Lead: r.Lead, UserID: userID}
}

// MetFunc returns when an incident's clock of kind k was met, or zero when
// it was not (or koban cannot tell).
type MetFunc func(inc Incident, k DeadlineKind) time.Time

// DeadlineMet returns when an incident met the clocks koban can tell from
// the incident itself: acknowledgement when it left triage, containment
// when it reached eradication or later. The legal clocks need a record of
// the report sent (the report desk's log); DeadlineMet returns zero for
// them.
func DeadlineMet(inc Incident, k DeadlineKind) time.Time {
	switch k {
	case DeadlineAcknowledge:
		return inc.AcknowledgedAt
	case DeadlineContain:
		return inc.ContainedAt
	}
	return time.Time{}
}

// DueReminders returns the reminders due at now about inc's clocks under
// policy p: for each clock not met (per met, or DeadlineMet when met is
// nil; met may also say a legal report went out), the latest of its
// reminder times (Deadline.Reminders: 24 hours and 2 hours before, and at
// the due time) that is at or before now and at most MaxReminderDelay
// old. A closed incident has none. The caller sends each once per
// recipient: see ReminderStore.
func DueReminders(inc Incident, p Policy, now time.Time, met MetFunc) []Reminder {
	if inc.Closed() {
		return nil
	}
	if met == nil {
		met = DeadlineMet
	}
	var out []Reminder
	for _, d := range Deadlines(inc.AwareAt, inc.Flags, inc.Severity, p) {
		if !met(inc, d.Kind).IsZero() || !DeadlineMet(inc, d.Kind).IsZero() {
			continue
		}
		var at time.Time
		for _, t := range d.Reminders(d.From) {
			if !t.After(now) {
				at = t
			}
		}
		if at.IsZero() || now.Sub(at) > MaxReminderDelay {
			continue
		}
		out = append(out, Reminder{Incident: inc, Deadline: d, At: at, Lead: d.Due.Sub(at)})
	}
	return out
}

// DueReminders returns the reminders due at now on every open or on-hold
// incident (of the single-tenant install), by when they were due. See the
// function DueReminders for met.
func (s *Service) DueReminders(ctx context.Context, p Policy, now time.Time, met MetFunc) ([]Reminder, error) {
	incs, err := s.store.Incidents(ctx, Filter{Statuses: []Status{StatusOpen, StatusOnHold}})
	if err != nil {
		return nil, wrap(err, "due reminders")
	}
	var out []Reminder
	for _, inc := range incs {
		out = append(out, DueReminders(inc, p, now, met)...)
	}
	slices.SortStableFunc(out, func(a, b Reminder) int { return a.At.Compare(b.At) })
	return out, nil
}

// ClaimReminder takes reminder r to user userID on for sending, and reports
// whether the caller should send it: false when it went out already or
// another node is sending it.
func (s *Service) ClaimReminder(ctx context.Context, r Reminder, userID int64) (bool, error) {
	now := s.nowUTC()
	ok, err := s.store.ClaimReminder(ctx, r.Key(userID), now, now.Add(-ReminderClaimTTL))
	if err != nil {
		return false, wrap(err, "claim reminder", r.Incident.ID)
	}
	return ok, nil
}

// ReminderSent records that the mail server accepted reminder r to user
// userID.
func (s *Service) ReminderSent(ctx context.Context, r Reminder, userID int64) error {
	if err := s.store.MarkReminderSent(ctx, r.Key(userID), s.nowUTC()); err != nil {
		return wrap(err, "reminder sent", r.Incident.ID)
	}
	return nil
}

// ReleaseReminder gives up the claim on reminder r to user userID after
// sending failed, so that the next run tries again.
func (s *Service) ReleaseReminder(ctx context.Context, r Reminder, userID int64) error {
	if err := s.store.ReleaseReminder(ctx, r.Key(userID)); err != nil {
		return wrap(err, "release reminder", r.Incident.ID)
	}
	return nil
}
