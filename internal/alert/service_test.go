// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

func TestRecordGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	first, o := e.record(t, det("r1", "ws01", "alice", 0, 1))
	if o != alert.OutcomeCreated || first.ID == 0 || first.Count != 1 || first.State != alert.StateNew {
		t.Fatalf("Record(first) = %+v, %s; want a new alert with count 1", first, o)
	}
	a, o := e.record(t, det("r1", "ws01", "alice", 20*time.Minute, 2))
	if o != alert.OutcomeGrouped || a.ID != first.ID {
		t.Errorf("Record(+20m, same group) = alert %d, %s; want alert %d grouped", a.ID, o, first.ID)
	}
	// An earlier detection arriving late joins too and moves first seen back.
	a, o = e.record(t, det("r1", "ws01", "alice", -5*time.Minute, 3))
	if o != alert.OutcomeGrouped || a.ID != first.ID {
		t.Errorf("Record(-5m, same group) = alert %d, %s; want alert %d grouped", a.ID, o, first.ID)
	}
	for _, c := range []struct {
		name string
		d    alert.Detection
	}{
		{"other host", det("r1", "ws02", "alice", 21*time.Minute, 10)},
		{"other user", det("r1", "ws01", "bob", 21*time.Minute, 11)},
		{"no user", det("r1", "ws01", "", 21*time.Minute, 12)},
		{"other rule", det("r2", "ws01", "alice", 21*time.Minute, 13)},
		{"other tenant", func() alert.Detection {
			d := det("r1", "ws01", "alice", 21*time.Minute, 14)
			d.Tenant = "acme"
			return d
		}()},
	} {
		a, o := e.record(t, c.d)
		if o != alert.OutcomeCreated || a.ID == first.ID {
			t.Errorf("Record(%s) = alert %d, %s; want a new alert", c.name, a.ID, o)
		}
	}
	got := detail(t, e, first.ID)
	if got.Count != 3 || got.EventRefs != 3 || !got.FirstSeen.Equal(t0.Add(-5*time.Minute)) || !got.LastSeen.Equal(t0.Add(20*time.Minute)) {
		t.Errorf("grouped alert = count %d, %d events, seen %v – %v; want 3, 3, t0-5m – t0+20m",
			got.Count, got.EventRefs, got.FirstSeen, got.LastSeen)
	}
	if diff := cmp.Diff([]string{evID(1), evID(2), evID(3)}, got.EventIDs); diff != "" {
		t.Errorf("linked events (-want +got):\n%s", diff)
	}
	if got.Version != 1 {
		t.Errorf("Version after grouping = %d, want 1 (grouping is no triage change)", got.Version)
	}
	if len(got.History) != 1 || got.History[0].Action != alert.ActionCreated || got.History[0].Actor != "system" {
		t.Errorf("History = %+v, want one created entry by system", got.History)
	}
	if diff := cmp.Diff([]string{"T1059.001"}, got.Techniques()); diff != "" {
		t.Errorf("Techniques (-want +got):\n%s", diff)
	}
}

func TestRecordWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{GroupWindow: 30 * time.Minute})
	first, _ := e.record(t, det("r", "h", "u", 0, 1))
	// Exactly one window after the last detection still joins.
	if a, o := e.record(t, det("r", "h", "u", 30*time.Minute, 2)); o != alert.OutcomeGrouped || a.ID != first.ID {
		t.Errorf("Record(+30m, window 30m) = alert %d, %s; want grouped into %d", a.ID, o, first.ID)
	}
	// The window runs from the last detection: +60m is 30m after +30m.
	if a, o := e.record(t, det("r", "h", "u", 60*time.Minute, 3)); o != alert.OutcomeGrouped || a.ID != first.ID {
		t.Errorf("Record(+60m) = alert %d, %s; want grouped into %d", a.ID, o, first.ID)
	}
	second, o := e.record(t, det("r", "h", "u", 90*time.Minute+time.Microsecond, 4))
	if o != alert.OutcomeCreated || second.ID == first.ID {
		t.Fatalf("Record(window passed) = alert %d, %s; want a new alert", second.ID, o)
	}
	// Later detections join the newer alert.
	if a, o := e.record(t, det("r", "h", "u", 91*time.Minute, 5)); o != alert.OutcomeGrouped || a.ID != second.ID {
		t.Errorf("Record(+91m) = alert %d, %s; want grouped into %d", a.ID, o, second.ID)
	}
}

func TestRecordAfterClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	an := e.user(t, "ana", "analyst")
	first, _ := e.record(t, det("r", "h", "u", 0, 1))
	ctx := context.Background()
	if _, err := e.svc.Transition(ctx, an, []alert.Ref{{ID: first.ID}}, alert.StateAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	// Acknowledged is still open: it takes the detection.
	if a, o := e.record(t, det("r", "h", "u", time.Minute, 2)); o != alert.OutcomeGrouped || a.ID != first.ID {
		t.Errorf("Record(after acknowledge) = alert %d, %s; want grouped into %d", a.ID, o, first.ID)
	}
	if _, err := e.svc.Transition(ctx, an, []alert.Ref{{ID: first.ID}}, alert.StateTruePositive, "confirmed"); err != nil {
		t.Fatal(err)
	}
	if a, o := e.record(t, det("r", "h", "u", 2*time.Minute, 3)); o != alert.OutcomeCreated || a.ID == first.ID {
		t.Errorf("Record(after true positive) = alert %d, %s; want a new alert", a.ID, o)
	}
}

func TestRecordEscalates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	d := det("r", "h", "u", 0, 1)
	d.Level = alert.LevelLow
	first, _ := e.record(t, d)
	d = det("r", "h", "u", time.Minute, 2)
	d.Level = alert.LevelHigh
	a, o := e.record(t, d)
	if o != alert.OutcomeEscalated || a.Level != alert.LevelHigh || !o.Notify() {
		t.Errorf("Record(high after low) = level %s, %s; want high, escalated (notify)", a.Level, o)
	}
	d = det("r", "h", "u", 2*time.Minute, 3)
	d.Level = alert.LevelMedium
	a, o = e.record(t, d)
	if o != alert.OutcomeGrouped || a.Level != alert.LevelHigh || o.Notify() {
		t.Errorf("Record(medium after high) = level %s, %s; want high, grouped (no notify)", a.Level, o)
	}
	h := detail(t, e, first.ID).History
	if len(h) != 2 || h[1].Action != alert.ActionEscalate || h[1].From != "low" || h[1].To != "high" {
		t.Errorf("History = %+v; want created, then escalate low → high", h)
	}
}

func TestRecordMaxEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{MaxEvents: 5})
	var id int64
	for i := 0; i < 8; i++ {
		d := det("r", "h", "u", time.Duration(i)*time.Second, 100+i)
		if i == 3 { // a correlation carries several events
			d.EventIDs = append(d.EventIDs, evID(200), evID(201), evID(202))
		}
		a, _ := e.record(t, d)
		id = a.ID
	}
	got := detail(t, e, id)
	want := []string{evID(100), evID(101), evID(102), evID(103), evID(200)}
	if got.Count != 8 || got.EventRefs != 5 {
		t.Errorf("after 8 detections with MaxEvents 5: count %d, %d events; want 8, 5", got.Count, got.EventRefs)
	}
	if diff := cmp.Diff(want, got.EventIDs); diff != "" {
		t.Errorf("linked events (-want +got):\n%s", diff)
	}
}

func TestRecordDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	d := det("r", "h", "u", 0, 1)
	first, _ := e.record(t, d)
	a, o := e.record(t, d) // replayed after a restart
	if o != alert.OutcomeDuplicate || a.ID != first.ID || a.Count != 1 || o.Notify() {
		t.Errorf("Record(replay) = alert %d count %d, %s; want %d count 1, duplicate", a.ID, a.Count, o, first.ID)
	}
	// A detection without events cannot be told from a replay: it counts.
	d.EventIDs = nil
	if a, o := e.record(t, d); o != alert.OutcomeGrouped || a.Count != 2 {
		t.Errorf("Record(no events) = count %d, %s; want 2, grouped", a.Count, o)
	}
}

func TestRecordInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	for _, c := range []struct {
		name string
		d    alert.Detection
		msg  string
	}{
		{"no rule", alert.Detection{RuleID: "  ", Level: alert.LevelLow}, "alert.rule_missing"},
		{"no level", alert.Detection{RuleID: "r"}, "alert.level_invalid"},
		{"bad level", alert.Detection{RuleID: "r", Level: "urgent"}, "alert.level_invalid"},
	} {
		_, _, err := e.svc.Record(context.Background(), c.d)
		if msg, _ := fault.Public(err); !fault.Is(err, fault.Invalid) || msg != c.msg {
			t.Errorf("Record(%s): got %v, want Invalid %s", c.name, err, c.msg)
		}
	}
}

// TestRecordCleans: text from events may be anything; what is stored is
// valid, bounded and still grouped consistently.
func TestRecordCleans(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		t.Parallel()
		e := newEnvOn(t, open(t), alert.Options{})
		d := alert.Detection{Time: t0, RuleID: "r\x00\xff", Level: alert.LevelHigh, Host: "h\x00ost\xc3", User: strings.Repeat("ユ", 200),
			RuleTitle: strings.Repeat("t", 5000), Tags: []string{" attack.t1003 ", "", "bad\xfe"},
			Fields:   []alert.KV{{Name: "", Value: "dropped"}, {Name: "CommandLine", Value: "a\x00b\xff" + strings.Repeat("x", 10000)}},
			EventIDs: []string{"nonsense", evID(1), evID(1), ""}}
		a, o := e.record(t, d)
		if o != alert.OutcomeCreated {
			t.Fatalf("Record = %s, want created", o)
		}
		got := detail(t, e, a.ID)
		for name, s := range map[string]string{"rule": got.RuleID, "host": got.Host, "user": got.User, "title": got.RuleTitle,
			"field": got.Fields[0].Value, "tag": got.Tags[1]} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Errorf("stored %s %q is not clean text", name, s)
			}
		}
		if got.RuleID != "r\uFFFD" || got.Host != "host\uFFFD" || len(got.User) > 256 || len(got.RuleTitle) != 512 {
			t.Errorf("stored rule %q, host %q, user %d bytes, title %d bytes; want cleaned and cut", got.RuleID, got.Host, len(got.User), len(got.RuleTitle))
		}
		if len(got.Fields) != 1 || len(got.Fields[0].Value) > 4096 {
			t.Errorf("stored fields %d, first %d bytes; want the named one, cut to 4096", len(got.Fields), len(got.Fields[0].Value))
		}
		if diff := cmp.Diff([]string{"attack.t1003", "bad\uFFFD"}, got.Tags); diff != "" {
			t.Errorf("stored tags (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{evID(1)}, got.EventIDs); diff != "" {
			t.Errorf("linked events (-want +got):\n%s", diff)
		}
		// The same dirty detection finds the same group.
		if b, o := e.record(t, d); b.ID != a.ID || o != alert.OutcomeDuplicate {
			t.Errorf("Record(same dirty detection) = alert %d, %s; want %d, duplicate", b.ID, o, a.ID)
		}
	})
}

// TestRecordConcurrent: detections of one group recorded at once make one
// alert that counts them all, on both databases.
func TestRecordConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		t.Parallel()
		e := newEnvOn(t, open(t), alert.Options{})
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		created := make(chan int64, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, o, err := e.svc.Record(context.Background(), det("r", "h", "u", time.Duration(i)*time.Second, i))
				if err != nil {
					errs <- err
				} else if o == alert.OutcomeCreated {
					created <- a.ID
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(created)
		for err := range errs {
			t.Errorf("concurrent Record: %v", err)
		}
		var ids []int64
		for id := range created {
			ids = append(ids, id)
		}
		if len(ids) != 1 {
			t.Fatalf("concurrent Record created %d alerts, want 1", len(ids))
		}
		if got := detail(t, e, ids[0]); got.Count != n || got.EventRefs != n {
			t.Errorf("alert after %d concurrent detections: count %d, %d events; want %d", n, got.Count, got.EventRefs, n)
		}
	})
}

// BenchmarkRecord measures recording detections on SQLite: into one open
// alert (the flood grouping exists for), as new alerts, and suppressed.
func BenchmarkRecord(b *testing.B) {
	for _, c := range []struct {
		name string
		det  func(i int) alert.Detection
	}{
		{"grouped", func(i int) alert.Detection { return det("r", "h", "u", time.Duration(i)*time.Millisecond, i) }},
		{"new", func(i int) alert.Detection { return det("r", fmt.Sprint("h", i), "u", 0, i) }},
		{"suppressed", func(i int) alert.Detection { return det("quiet", "h", "u", 0, i) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(b.TempDir(), "koban.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			svc := alert.New(db, alert.Options{})
			_, err = db.CreateExclusion(ctx, alert.Exclusion{RuleID: "quiet", Conditions: []alert.KV{{Name: "host", Value: "h"}},
				Reason: "bench", Author: "bench", Created: t0})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := svc.Record(ctx, c.det(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
