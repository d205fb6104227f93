// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
)

// alertCases are the conformance cases of the alert tables.
var alertCases = []struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}{
	{"AlertRoundTrip", testAlertRoundTrip},
	{"AlertUpdateVersion", testAlertUpdateVersion},
	{"AlertForGroup", testAlertForGroup},
	{"AlertsFilter", testAlertsFilter},
	{"AlertsText", testAlertsText},
	{"AlertsPaging", testAlertsPaging},
	{"AlertCounts", testAlertCounts},
	{"AlertEvents", testAlertEvents},
	{"AlertHistory", testAlertHistory},
	{"ExclusionLifecycle", testExclusionLifecycle},
}

// sampleAlert returns an alert with every field set; vary it by the key.
func sampleAlert(k alert.GroupKey, at time.Time) alert.Alert {
	return alert.Alert{Tenant: k.Tenant, Source: alert.SourceSigma, RuleID: k.RuleID, RuleTitle: "Suspicious PowerShell 不審",
		Level: alert.LevelHigh, Tags: []string{"attack.execution", "attack.t1059.001"}, Host: k.Host, User: k.User,
		Fields: []alert.KV{{Name: "Image", Value: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
			{Name: "CommandLine", Value: `powershell -enc "SQBFAFgA" <x> & 50%_done`}},
		FirstSeen: at, LastSeen: at, Count: 1, EventRefs: 0, State: alert.StateNew, Version: 1,
		CreatedAt: at, UpdatedAt: at}
}

func createAlert(t *testing.T, db *store.DB, a alert.Alert) alert.Alert {
	t.Helper()
	got, err := db.CreateAlert(context.Background(), a)
	if err != nil {
		t.Fatalf("CreateAlert(%s %s): %v", a.RuleID, a.Host, err)
	}
	return got
}

func testAlertRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "analyst1", auth.RoleAnalyst)
	want := sampleAlert(alert.GroupKey{Tenant: "acme", RuleID: "r-1", Host: "WS01", User: `CORP\alice`}, t0)
	want.StateReason, want.AssigneeID, want.EventRefs, want.Count = "looked at it", u.ID, 3, 7
	want.LastSeen = t0.Add(90 * time.Second)
	got := createAlert(t, db, want)
	if got.ID == 0 {
		t.Fatal("CreateAlert: id not set")
	}
	want.ID, want.AssigneeName = got.ID, "analyst1"
	read, err := db.Alert(ctx, got.ID)
	if err != nil {
		t.Fatalf("Alert(%d): %v", got.ID, err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("Alert(%d) after CreateAlert (-want +got):\n%s", got.ID, diff)
	}
	// Empty tags and fields come back empty, not as a decoding error.
	bare := createAlert(t, db, alert.Alert{RuleID: "r-2", Level: alert.LevelLow, State: alert.StateNew, Version: 1})
	if b, err := db.Alert(ctx, bare.ID); err != nil || len(b.Tags) != 0 || len(b.Fields) != 0 || b.AssigneeName != "" {
		t.Errorf("Alert(bare) = %+v, %v; want no tags, fields or assignee", b, err)
	}
	if _, err := db.Alert(ctx, 99999); !fault.Is(err, fault.NotFound) {
		t.Errorf("Alert(99999): got %v, want NotFound", err)
	}
}

func testAlertUpdateVersion(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createAlert(t, db, sampleAlert(alert.GroupKey{RuleID: "r-1", Host: "h"}, t0))
	next := a
	next.Level, next.State, next.StateReason, next.Version = alert.LevelCritical, alert.StateFalsePositive, "benign", 2
	next.Count, next.EventRefs, next.FirstSeen, next.LastSeen, next.UpdatedAt = 5, 4, t0.Add(-time.Minute), t0.Add(time.Hour), t0.Add(time.Hour)
	// Changes to the immutable columns are not written.
	next.RuleTitle, next.Host = "changed", "other"
	if err := db.UpdateAlert(ctx, next, 7); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateAlert(stale version 7): got %v, want NotFound", err)
	}
	if err := db.UpdateAlert(ctx, next, 1); err != nil {
		t.Fatalf("UpdateAlert(version 1): %v", err)
	}
	got, err := db.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := next
	want.RuleTitle, want.Host = a.RuleTitle, a.Host
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Alert after UpdateAlert (-want +got):\n%s", diff)
	}
	if err := db.UpdateAlert(ctx, next, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateAlert(version 1 again): got %v, want NotFound", err)
	}
	next.ID = 424242
	if err := db.UpdateAlert(ctx, next, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateAlert(missing alert): got %v, want NotFound", err)
	}
}

func testAlertForGroup(t *testing.T, db *store.DB) {
	ctx := context.Background()
	k := alert.GroupKey{Tenant: "t", RuleID: "r", Host: "h", User: "u"}
	old := sampleAlert(k, t0)
	createAlert(t, db, old)
	latest := createAlert(t, db, sampleAlert(k, t0.Add(30*time.Minute)))
	closed := sampleAlert(k, t0.Add(50*time.Minute))
	closed.State = alert.StateClosed
	createAlert(t, db, closed)
	for _, other := range []alert.GroupKey{{Tenant: "x", RuleID: "r", Host: "h", User: "u"}, {Tenant: "t", RuleID: "x", Host: "h", User: "u"},
		{Tenant: "t", RuleID: "r", Host: "x", User: "u"}, {Tenant: "t", RuleID: "r", Host: "h", User: ""}} {
		createAlert(t, db, sampleAlert(other, t0.Add(time.Hour)))
	}
	got, err := db.AlertForGroup(ctx, k, alert.OpenStates, t0.Add(10*time.Minute))
	if err != nil || got.ID != latest.ID {
		t.Errorf("AlertForGroup(since +10m) = %d, %v; want %d (latest open of the group)", got.ID, err, latest.ID)
	}
	if _, err := db.AlertForGroup(ctx, k, alert.OpenStates, t0.Add(31*time.Minute)); !fault.Is(err, fault.NotFound) {
		t.Errorf("AlertForGroup(since +31m): got %v, want NotFound (the closed one does not count)", err)
	}
	got, err = db.AlertForGroup(ctx, k, []alert.State{alert.StateClosed}, t0)
	if err != nil || got.State != alert.StateClosed {
		t.Errorf("AlertForGroup(closed) = %+v, %v; want the closed alert", got, err)
	}
	if _, err := db.AlertForGroup(ctx, k, nil, t0); !fault.Is(err, fault.NotFound) {
		t.Errorf("AlertForGroup(no states): got %v, want NotFound", err)
	}
}

func ids(as []alert.Alert) []int64 {
	out := []int64{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testAlertsFilter(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "bea", auth.RoleAnalyst)
	mk := func(rule, host, user string, l alert.Level, s alert.State, assignee int64, first, last time.Time) int64 {
		a := sampleAlert(alert.GroupKey{RuleID: rule, Host: host, User: user}, first)
		a.Level, a.State, a.AssigneeID, a.LastSeen = l, s, assignee, last
		return createAlert(t, db, a).ID
	}
	a1 := mk("r1", "h1", "u1", alert.LevelHigh, alert.StateNew, 0, t0, t0.Add(time.Hour))
	a2 := mk("r1", "h2", "u2", alert.LevelLow, alert.StateAcknowledged, u.ID, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	a3 := mk("r2", "h1", "u1", alert.LevelCritical, alert.StateClosed, u.ID, t0.Add(4*time.Hour), t0.Add(5*time.Hour))
	other := sampleAlert(alert.GroupKey{Tenant: "other", RuleID: "r1", Host: "h1", User: "u1"}, t0)
	a4 := createAlert(t, db, other).ID
	for _, c := range []struct {
		name string
		f    alert.Filter
		want []int64
	}{
		{"all", alert.Filter{}, []int64{a3, a2, a1}},
		{"tenant", alert.Filter{Tenant: "other"}, []int64{a4}},
		{"states", alert.Filter{States: []alert.State{alert.StateNew, alert.StateClosed}}, []int64{a3, a1}},
		{"levels", alert.Filter{Levels: []alert.Level{alert.LevelLow}}, []int64{a2}},
		{"rule", alert.Filter{RuleID: "r1"}, []int64{a2, a1}},
		{"host", alert.Filter{Host: "h1"}, []int64{a3, a1}},
		{"user", alert.Filter{User: "u2"}, []int64{a2}},
		{"assignee", alert.Filter{AssigneeID: u.ID}, []int64{a3, a2}},
		{"unassigned", alert.Filter{Unassigned: true}, []int64{a1}},
		{"from", alert.Filter{From: t0.Add(3 * time.Hour)}, []int64{a3, a2}},
		{"to", alert.Filter{To: t0.Add(2 * time.Hour)}, []int64{a1}},
		{"from-to", alert.Filter{From: t0.Add(90 * time.Minute), To: t0.Add(4 * time.Hour)}, []int64{a2}},
		{"combined", alert.Filter{RuleID: "r1", Host: "h1", States: []alert.State{alert.StateNew}, Levels: []alert.Level{alert.LevelHigh}}, []int64{a1}},
		{"nothing", alert.Filter{RuleID: "r1", Levels: []alert.Level{alert.LevelCritical}}, []int64{}},
	} {
		got, err := db.Alerts(ctx, c.f)
		if err != nil {
			t.Errorf("Alerts(%s): %v", c.name, err)
			continue
		}
		if diff := cmp.Diff(c.want, ids(got)); diff != "" {
			t.Errorf("Alerts(%s %+v) ids (-want +got):\n%s", c.name, c.f, diff)
		}
	}
	if got, err := db.Alerts(ctx, alert.Filter{AssigneeID: u.ID}); err != nil || len(got) == 0 || got[0].AssigneeName != "bea" {
		t.Errorf("Alerts(assignee) = %+v, %v; want the assignee's name joined", got, err)
	}
}

func testAlertsText(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := sampleAlert(alert.GroupKey{RuleID: "proc_creation_win_susp", Host: "FILESRV-Ä", User: "Ōtani"}, t0)
	a.RuleTitle = "Mimikatz 実行の検知"
	hit := createAlert(t, db, a).ID
	b := sampleAlert(alert.GroupKey{RuleID: "other", Host: "db01", User: "bob"}, t0)
	b.RuleTitle, b.Fields = "Plain", []alert.KV{{Name: "CommandLine", Value: "100 percent"}}
	miss := createAlert(t, db, b).ID
	for _, c := range []struct {
		text string
		want []int64
	}{
		{"MIMIKATZ", []int64{hit}},
		{"実行", []int64{hit}},
		{"filesrv-ä", []int64{hit}},                  // non-ASCII case folds on both dialects
		{"ŌTANI", []int64{hit}},                      // the user
		{"win_susp", []int64{hit}},                   // the rule id; _ is literal
		{"w_n", []int64{}},                           // _ is no wildcard
		{`system32\windowspowershell`, []int64{hit}}, // a key field, with a backslash
		{"50%_done", []int64{hit}},                   // % is literal
		{"0%", []int64{hit}},                         // …and matches only where it stands
		{"<x> &", []int64{hit}},                      // no HTML escaping in stored text
		{"percent", []int64{miss}},
		{"nowhere", []int64{}},
	} {
		got, err := db.Alerts(ctx, alert.Filter{Text: c.text})
		if err != nil {
			t.Errorf("Alerts(text %q): %v", c.text, err)
			continue
		}
		if diff := cmp.Diff(c.want, ids(got)); diff != "" {
			t.Errorf("Alerts(text %q) ids (-want +got):\n%s", c.text, diff)
		}
	}
}

func testAlertsPaging(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var all []int64
	for i := 0; i < 7; i++ {
		a := createAlert(t, db, sampleAlert(alert.GroupKey{RuleID: "r", Host: fmt.Sprintf("h%d", i)}, t0.Add(time.Duration(i)*time.Minute)))
		all = append([]int64{a.ID}, all...)
	}
	var got []int64
	after := int64(0)
	for page := 0; page < 10; page++ {
		as, err := db.Alerts(ctx, alert.Filter{Limit: 3, After: after})
		if err != nil {
			t.Fatalf("Alerts(page %d): %v", page, err)
		}
		if len(as) == 0 {
			break
		}
		if len(as) > 3 {
			t.Fatalf("Alerts(limit 3) returned %d", len(as))
		}
		got = append(got, ids(as)...)
		after = as[len(as)-1].ID
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("paging by 3 (-want +got):\n%s", diff)
	}
}

func testAlertCounts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for i, c := range []struct {
		s alert.State
		l alert.Level
	}{{alert.StateNew, alert.LevelHigh}, {alert.StateNew, alert.LevelHigh}, {alert.StateNew, alert.LevelLow}, {alert.StateClosed, alert.LevelHigh}} {
		a := sampleAlert(alert.GroupKey{Tenant: "t", RuleID: "r", Host: fmt.Sprint(i)}, t0)
		a.State, a.Level = c.s, c.l
		createAlert(t, db, a)
	}
	createAlert(t, db, sampleAlert(alert.GroupKey{Tenant: "other", RuleID: "r"}, t0))
	got, err := db.AlertCounts(ctx, "t")
	if err != nil {
		t.Fatalf("AlertCounts: %v", err)
	}
	want := []alert.Count{{State: alert.StateClosed, Level: alert.LevelHigh, N: 1}, {State: alert.StateNew, Level: alert.LevelHigh, N: 2},
		{State: alert.StateNew, Level: alert.LevelLow, N: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AlertCounts(t) (-want +got):\n%s", diff)
	}
	if got, err := db.AlertCounts(ctx, "none"); err != nil || len(got) != 0 {
		t.Errorf("AlertCounts(none) = %v, %v; want nothing", got, err)
	}
}

func testAlertEvents(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createAlert(t, db, sampleAlert(alert.GroupKey{RuleID: "r"}, t0))
	b := createAlert(t, db, sampleAlert(alert.GroupKey{RuleID: "r", Host: "b"}, t0))
	n, err := db.AddAlertEvents(ctx, a.ID, 0, []string{"E3", "E1", "E2"})
	if err != nil || n != 3 {
		t.Fatalf("AddAlertEvents = %d, %v; want 3", n, err)
	}
	n, err = db.AddAlertEvents(ctx, a.ID, 3, []string{"E1", "E4"})
	if err != nil || n != 1 {
		t.Errorf("AddAlertEvents(one linked already) = %d, %v; want 1", n, err)
	}
	if n, err := db.AddAlertEvents(ctx, a.ID, 5, nil); err != nil || n != 0 {
		t.Errorf("AddAlertEvents(none) = %d, %v; want 0", n, err)
	}
	// The same event may belong to another alert too.
	if n, err := db.AddAlertEvents(ctx, b.ID, 0, []string{"E1"}); err != nil || n != 1 {
		t.Errorf("AddAlertEvents(other alert, same event) = %d, %v; want 1", n, err)
	}
	got, err := db.AlertEvents(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"E3", "E1", "E2", "E4"}, got); diff != "" {
		t.Errorf("AlertEvents (-want +got):\n%s", diff)
	}
	if _, err := db.AddAlertEvents(ctx, 99999, 0, []string{"E1"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddAlertEvents(unknown alert): got %v, want Invalid (foreign key)", err)
	}
}

func testAlertHistory(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createAlert(t, db, sampleAlert(alert.GroupKey{RuleID: "r"}, t0))
	want := []alert.HistoryEntry{
		{AlertID: a.ID, At: t0, Actor: "system", Action: alert.ActionCreated, To: "new"},
		{AlertID: a.ID, At: t0.Add(time.Minute), ActorID: 3, Actor: "carol", Action: alert.ActionState, From: "new",
			To: "false_positive", Reason: "backup job 定期"},
	}
	for _, h := range want {
		if err := db.AddAlertHistory(ctx, h); err != nil {
			t.Fatalf("AddAlertHistory: %v", err)
		}
	}
	got, err := db.AlertHistory(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("AlertHistory = %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		want[i].ID = got[i].ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AlertHistory (-want +got):\n%s", diff)
	}
	if err := db.AddAlertHistory(ctx, alert.HistoryEntry{AlertID: 99999, At: t0, Action: alert.ActionState}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddAlertHistory(unknown alert): got %v, want Invalid (foreign key)", err)
	}
}

func testExclusionLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	want := alert.Exclusion{Tenant: "acme", RuleID: "r-1", Conditions: []alert.KV{{Name: "host", Value: "WS01"},
		{Name: "CommandLine", Value: `C:\backup.exe "x" & <y>`}}, Reason: "nightly backup", Author: "alice",
		AlertID: 12, Created: t0, Expires: t0.Add(30 * 24 * time.Hour), Hits: 99, LastHit: t0}
	got, err := db.CreateExclusion(ctx, want)
	if err != nil {
		t.Fatalf("CreateExclusion: %v", err)
	}
	want.ID, want.Hits, want.LastHit = got.ID, 0, time.Time{} // a new exclusion has no hits
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateExclusion result (-want +got):\n%s", diff)
	}
	second, err := db.CreateExclusion(ctx, alert.Exclusion{RuleID: "r-2", Conditions: []alert.KV{{Name: "user", Value: "bob"}},
		Reason: "r", Author: "a", Created: t0})
	if err != nil {
		t.Fatalf("CreateExclusion(second): %v", err)
	}
	for i, at := range []time.Time{t0.Add(2 * time.Hour), t0.Add(time.Hour)} { // the later hit stays
		if err := db.AddExclusionHit(ctx, want.ID, int64(i*4+1), at); err != nil {
			t.Fatalf("AddExclusionHit: %v", err)
		}
	}
	want.Hits, want.LastHit = 6, t0.Add(2*time.Hour)
	read, err := db.Exclusion(ctx, want.ID)
	if err != nil {
		t.Fatalf("Exclusion: %v", err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("Exclusion after hits (-want +got):\n%s", diff)
	}
	all, err := db.Exclusions(ctx)
	if err != nil || len(all) != 2 || all[0].ID != want.ID || all[1].ID != second.ID || !all[1].Expires.IsZero() {
		t.Errorf("Exclusions = %+v, %v; want both by id, the second without expiry", all, err)
	}
	if err := db.DeleteExclusion(ctx, want.ID); err != nil {
		t.Fatalf("DeleteExclusion: %v", err)
	}
	if err := db.DeleteExclusion(ctx, want.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteExclusion(again): got %v, want NotFound", err)
	}
	if _, err := db.Exclusion(ctx, want.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("Exclusion(deleted): got %v, want NotFound", err)
	}
	if err := db.AddExclusionHit(ctx, want.ID, 1, t0); !fault.Is(err, fault.NotFound) {
		t.Errorf("AddExclusionHit(deleted): got %v, want NotFound", err)
	}
}
