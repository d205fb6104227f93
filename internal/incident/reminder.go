// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"time"
)

// ReminderKey names one e-mail reminder to one person: the clock of an
// incident (its kind and due time, so that a clock that moves, because the
// severity or the flags changed, gets reminders of its own), how long
// before the due time it goes out (0 at the due time) and the recipient.
type ReminderKey struct {
	IncidentID int64
	Kind       DeadlineKind
	Due        time.Time
	Lead       time.Duration
	UserID     int64
}

// SentReminder is a reminder the store remembers.
type SentReminder struct {
	ReminderKey
	// ClaimedAt is when a node took the reminder on; SentAt when the
	// mail server accepted it (zero while it is being sent).
	ClaimedAt time.Time
	SentAt    time.Time
}

// ReminderStore remembers the clock reminders already sent, so each is sent
// once, even after a restart and when several nodes run the reminder job.
// Times are stored to the microsecond. Every method may return Internal.
type ReminderStore interface {
	// ClaimReminder records, at at, that the caller is sending k, and
	// reports whether it may: false when k was sent, or another caller
	// claimed it after staleBefore (a claim older than that belongs to a
	// node that stopped while sending, and is taken over). It is one
	// atomic statement: of concurrent callers one gets true.
	ClaimReminder(ctx context.Context, k ReminderKey, at, staleBefore time.Time) (bool, error)
	// MarkReminderSent records that k was sent at at; NotFound when k
	// was not claimed.
	MarkReminderSent(ctx context.Context, k ReminderKey, at time.Time) error
	// ReleaseReminder forgets an unsent claim of k, so that the next run
	// tries again; a sent reminder stays.
	ReleaseReminder(ctx context.Context, k ReminderKey) error
	// IncidentReminders returns the reminders claimed or sent about an
	// incident, by claim time then recipient.
	IncidentReminders(ctx context.Context, incidentID int64) ([]SentReminder, error)
}
