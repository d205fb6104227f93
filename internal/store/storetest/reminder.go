// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// reminderCases are the conformance cases of the clock reminders already sent.
var reminderCases = []conformanceCase{
	{"ReminderOnce", testReminderOnce},
	{"ReminderStaleClaim", testReminderStaleClaim},
	{"ReminderConcurrentClaims", testReminderConcurrentClaims},
}

// reminderKey is a reminder of an incident's PPC preliminary report,
// whose due time has nanoseconds the store drops.
func reminderKey(inc, user int64, lead time.Duration) incident.ReminderKey {
	return incident.ReminderKey{IncidentID: inc, Kind: incident.DeadlinePPCPreliminary,
		Due: time.Date(2026, 11, 25, 14, 59, 59, 999999000, time.UTC), Lead: lead, UserID: user}
}

func claim(t *testing.T, db *store.DB, k incident.ReminderKey, at time.Time) bool {
	t.Helper()
	ok, err := db.ClaimReminder(context.Background(), k, at, at.Add(-incident.ReminderClaimTTL))
	if err != nil {
		t.Fatalf("ClaimReminder(%+v) at %v: %v", k, at, err)
	}
	return ok
}

func testReminderOnce(t *testing.T, db *store.DB) {
	ctx := context.Background()
	incs := evidenceIncidents(t, db, 2)
	k := reminderKey(incs[0], 7, 24*time.Hour)
	if !claim(t, db, k, t0) {
		t.Fatal("first ClaimReminder = false, want true")
	}
	if claim(t, db, k, t0.Add(time.Minute)) {
		t.Error("ClaimReminder while claimed = true, want false")
	}
	if err := db.MarkReminderSent(ctx, k, t0.Add(2*time.Second)); err != nil {
		t.Fatalf("MarkReminderSent: %v", err)
	}
	if claim(t, db, k, t0.Add(time.Hour)) {
		t.Error("ClaimReminder of a sent reminder, after the claim went stale = true, want false")
	}
	if err := db.ReleaseReminder(ctx, k); err != nil {
		t.Fatalf("ReleaseReminder of a sent reminder: %v", err)
	}
	if claim(t, db, k, t0.Add(2*time.Hour)) {
		t.Error("ReleaseReminder forgot a sent reminder")
	}
	// Every part of the key counts: another lead, recipient, clock,
	// due time or incident is another reminder.
	others := []incident.ReminderKey{reminderKey(incs[0], 7, 2*time.Hour), reminderKey(incs[0], 8, 24*time.Hour),
		reminderKey(incs[1], 7, 24*time.Hour)}
	o := k
	o.Kind = incident.DeadlinePPCFinal
	others = append(others, o)
	o = k
	o.Due = k.Due.Add(24 * time.Hour)
	others = append(others, o)
	for _, o := range others {
		if !claim(t, db, o, t0) {
			t.Errorf("ClaimReminder(%+v) = false, want true: it differs from the sent one", o)
		}
	}
	if err := db.MarkReminderSent(ctx, reminderKey(incs[0], 99, 0), t0); !fault.Is(err, fault.NotFound) {
		t.Errorf("MarkReminderSent of an unclaimed reminder: got %v, want NotFound", err)
	}
	got, err := db.IncidentReminders(ctx, incs[0])
	if err != nil {
		t.Fatalf("IncidentReminders: %v", err)
	}
	sent := k
	sent.Due = time.Date(2026, 11, 25, 14, 59, 59, 999999000, time.UTC)
	want := []incident.SentReminder{{ReminderKey: sent, ClaimedAt: t0, SentAt: t0.Add(2 * time.Second)}}
	var gotSent []incident.SentReminder
	for _, r := range got {
		if !r.SentAt.IsZero() {
			gotSent = append(gotSent, r)
		}
	}
	if diff := cmp.Diff(want, gotSent); diff != "" || len(got) != 5 {
		t.Errorf("IncidentReminders: %d rows (want 5), the sent ones (-want +got):\n%s", len(got), diff)
	}
}

func testReminderStaleClaim(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 1)[0]
	k := reminderKey(inc, 7, 0)
	if !claim(t, db, k, t0) {
		t.Fatal("first ClaimReminder = false")
	}
	if claim(t, db, k, t0.Add(incident.ReminderClaimTTL)) {
		t.Error("ClaimReminder exactly at the claim's end = true, want false")
	}
	// A node stopped while sending: its claim is taken over once stale.
	if !claim(t, db, k, t0.Add(incident.ReminderClaimTTL+time.Second)) {
		t.Error("ClaimReminder of a stale claim = false, want true")
	}
	// A failed send releases the claim: the next run may try again.
	if err := db.ReleaseReminder(ctx, k); err != nil {
		t.Fatalf("ReleaseReminder: %v", err)
	}
	if rs, err := db.IncidentReminders(ctx, inc); err != nil || len(rs) != 0 {
		t.Errorf("IncidentReminders after release = %v, %v; want none", rs, err)
	}
	if !claim(t, db, k, t0.Add(20*time.Minute)) {
		t.Error("ClaimReminder after release = false, want true")
	}
}

func testReminderConcurrentClaims(t *testing.T, db *store.DB) {
	inc := evidenceIncidents(t, db, 1)[0]
	k := reminderKey(inc, 7, 2*time.Hour)
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.ClaimReminder(context.Background(), k, t0, t0.Add(-incident.ReminderClaimTTL))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				wins++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || wins != 1 {
		t.Errorf("%d concurrent ClaimReminder calls: %d got it, errors %v; want exactly 1 and no errors", n, wins, errs)
	}
}
