// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/incident"
)

func TestDueReminders(t *testing.T) {
	t.Parallel()
	jst := incident.Tokyo()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, jst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Aware at 08:00 JST on 22 November, high severity, personal data
	// with 要配慮個人情報: acknowledge by 09:00, contain by 08:00 the next
	// day, PPC preliminary report by the end of 25 November, final by
	// the end of 22 December.
	base := incident.Incident{ID: 1, Ref: "INC-2026-0001", Status: incident.StatusOpen, Phase: incident.PhaseTriage,
		Severity: incident.SeverityHigh, AwareAt: at("2026-11-22 08:00:00"),
		Flags: incident.Flags{PersonalData: true, Sensitive: true}}
	ppcDue := "2026-11-25 23:59:59.999999999"
	tests := []struct {
		name string
		now  string
		edit func(*incident.Incident)
		met  incident.MetFunc
		want []string // kind@lead
	}{
		{name: "nothing yet", now: "2026-11-22 08:30:00"},
		// Acknowledging within an hour has no room for 24 h and 2 h
		// leads: one reminder when it turns due soon (15 minutes before).
		{name: "acknowledge due soon", now: "2026-11-22 08:45:00", want: []string{"sla_acknowledge@15m0s"}},
		{name: "acknowledge a minute later still", now: "2026-11-22 08:46:00", want: []string{"sla_acknowledge@15m0s"}},
		{name: "acknowledge at the deadline", now: "2026-11-22 09:00:00", want: []string{"sla_acknowledge@0s"}},
		{name: "acknowledged: none", now: "2026-11-22 09:00:00",
			edit: func(i *incident.Incident) {
				i.Phase, i.AcknowledgedAt = incident.PhaseAnalysis, at("2026-11-22 08:50:00")
			}},
		// Containment: 24 h from 08:00; the 24 h lead falls on the start,
		// so the first reminder is 2 h before.
		{name: "contain 2 h before", now: "2026-11-23 06:00:00",
			edit: func(i *incident.Incident) { i.AcknowledgedAt = at("2026-11-22 08:50:00") },
			want: []string{"sla_contain@2h0m0s"}},
		// An hour past the deadline the at-deadline reminder is still due
		// (a node that was down sends it late).
		{name: "contain overdue within the delay", now: "2026-11-23 09:00:00",
			edit: func(i *incident.Incident) { i.AcknowledgedAt = at("2026-11-22 08:50:00") },
			want: []string{"sla_contain@0s"}},
		{name: "PPC 24 h before", now: "2026-11-24 23:59:59.999999999",
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt },
			want: []string{"ppc_preliminary@24h0m0s"}},
		{name: "PPC a nanosecond before 24 h before", now: "2026-11-24 23:59:59.999999998",
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt }},
		{name: "PPC 2 h before", now: "2026-11-25 22:00:00",
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt },
			want: []string{"ppc_preliminary@2h0m0s"}},
		{name: "PPC at the deadline", now: ppcDue,
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt },
			want: []string{"ppc_preliminary@0s"}},
		{name: "PPC report sent (met)", now: ppcDue,
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt },
			met: func(inc incident.Incident, k incident.DeadlineKind) time.Time {
				if k == incident.DeadlinePPCPreliminary {
					return at("2026-11-24 10:00:00")
				}
				return time.Time{}
			}},
		{name: "too late to remind", now: "2026-11-26 07:00:00",
			edit: func(i *incident.Incident) { i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt }},
		{name: "closed", now: "2026-11-22 09:00:00",
			edit: func(i *incident.Incident) { i.Status, i.Phase = incident.StatusClosed, incident.PhaseClosed }},
		{name: "on hold still runs", now: "2026-11-22 09:00:00",
			edit: func(i *incident.Incident) { i.Status = incident.StatusOnHold }, want: []string{"sla_acknowledge@0s"}},
		// A day later, neither acknowledged nor contained: the
		// acknowledgement's reminder (09:00 the day before) is older than
		// MaxReminderDelay and dropped; containment's is due now.
		{name: "stale reminder dropped", now: "2026-11-23 08:00:00", want: []string{"sla_contain@0s"}},
		{name: "two clocks at once", now: "2026-11-22 23:59:59.999999999",
			edit: func(i *incident.Incident) {
				i.Flags.EUResidents = true
				i.AwareAt = at("2026-11-19 23:59:59.999999999")
				i.AcknowledgedAt, i.ContainedAt = i.AwareAt, i.AwareAt
			},
			want: []string{"ppc_preliminary@0s", "gdpr_authority@0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := base
			if tt.edit != nil {
				tt.edit(&inc)
			}
			var got []string
			for _, r := range incident.DueReminders(inc, incident.DefaultPolicy(), at(tt.now), tt.met) {
				got = append(got, fmt.Sprintf("%s@%s", r.Deadline.Kind, r.Lead))
				if !r.At.Equal(r.Deadline.Due.Add(-r.Lead)) || r.At.After(at(tt.now)) {
					t.Errorf("reminder %s at %v for due %v", r.Deadline.Kind, r.At, r.Deadline.Due)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("DueReminders(now %s) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestReminderClaimedOnce(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("reminders"))
	e.assessLow(t, inc.ID) // low: acknowledge within 24 h
	now := inc.AwareAt.Add(22 * time.Hour)
	due, err := e.svc.DueReminders(ctx, incident.DefaultPolicy(), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Deadline.Kind != incident.DeadlineAcknowledge || due[0].Lead != 2*time.Hour {
		t.Fatalf("DueReminders 22 h after awareness = %+v, want the acknowledgement's 2 h reminder", due)
	}
	r := due[0]
	if ok, err := e.svc.ClaimReminder(ctx, r, e.a.UserID); !ok || err != nil {
		t.Fatalf("ClaimReminder = %v, %v; want true", ok, err)
	}
	if ok, _ := e.svc.ClaimReminder(ctx, r, e.a.UserID); ok {
		t.Error("a second ClaimReminder while the first is sending = true")
	}
	if err := e.svc.ReleaseReminder(ctx, r, e.a.UserID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.svc.ClaimReminder(ctx, r, e.a.UserID); !ok {
		t.Error("ClaimReminder after a release = false")
	}
	if err := e.svc.ReminderSent(ctx, r, e.a.UserID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	if ok, _ := e.svc.ClaimReminder(ctx, r, e.a.UserID); ok {
		t.Error("ClaimReminder of a sent reminder = true")
	}
	sent, err := e.db.IncidentReminders(ctx, inc.ID)
	if err != nil || len(sent) != 1 || sent[0].SentAt.IsZero() || sent[0].Lead != 2*time.Hour {
		t.Errorf("IncidentReminders = %+v, %v; want one sent", sent, err)
	}
}
