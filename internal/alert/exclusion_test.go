// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

func TestExclusionMatches(t *testing.T) {
	t.Parallel()
	d := alert.Detection{Tenant: "acme", RuleID: "r", Host: "WS01", User: `CORP\Alice`,
		Fields: []alert.KV{{Name: "Image", Value: `C:\Backup\agent.exe`}, {Name: "Empty", Value: ""}}}
	x := func(conds ...alert.KV) alert.Exclusion {
		return alert.Exclusion{Tenant: "acme", RuleID: "r", Conditions: conds}
	}
	for _, c := range []struct {
		name string
		x    alert.Exclusion
		want bool
	}{
		{"host", x(alert.KV{Name: "host", Value: "ws01"}), true},
		{"user folds case", x(alert.KV{Name: "user", Value: `corp\ALICE`}), true},
		{"key field", x(alert.KV{Name: "Image", Value: `c:\backup\AGENT.EXE`}), true},
		{"all must match", x(alert.KV{Name: "host", Value: "WS01"}, alert.KV{Name: "Image", Value: "other.exe"}), false},
		{"both match", x(alert.KV{Name: "host", Value: "WS01"}, alert.KV{Name: "Image", Value: `C:\Backup\agent.exe`}), true},
		{"exact, not substring", x(alert.KV{Name: "host", Value: "WS0"}), false},
		{"no wildcards", x(alert.KV{Name: "host", Value: "WS*"}), false},
		{"field names are exact", x(alert.KV{Name: "image", Value: `C:\Backup\agent.exe`}), false},
		{"missing field", x(alert.KV{Name: "ParentImage", Value: "x"}), false},
		{"empty field value", x(alert.KV{Name: "Empty", Value: ""}), true},
		{"no conditions", x(), false},
		{"other rule", alert.Exclusion{Tenant: "acme", RuleID: "r2", Conditions: []alert.KV{{Name: "host", Value: "WS01"}}}, false},
		{"other tenant", alert.Exclusion{RuleID: "r", Conditions: []alert.KV{{Name: "host", Value: "WS01"}}}, false},
	} {
		if got := c.x.Matches(d); got != c.want {
			t.Errorf("Matches(%s: %+v) = %v, want %v", c.name, c.x.Conditions, got, c.want)
		}
	}
	if (alert.Exclusion{Expires: t0}).Active(t0) || !(alert.Exclusion{Expires: t0}).Active(t0.Add(-time.Nanosecond)) || !(alert.Exclusion{}).Active(t0) {
		t.Error("Active: want inactive from the expiry on, and always active without one")
	}
}

// TestSuppressSimilar is the analyst's "suppress similar" from the alert
// page: the alert becomes a false positive and later detections like it are
// counted, not alerted, until the suppression expires.
func TestSuppressSimilar(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana := e.user(t, "ana", auth.RoleAnalyst)
	ctx := context.Background()
	d := det("r", "WS01", "alice", 0, 1)
	d.Fields = []alert.KV{{Name: "Image", Value: `C:\Backup\agent.exe`}, {Name: "CommandLine", Value: "agent --nightly"}}
	a, _ := e.record(t, d)
	x, got, err := e.svc.SuppressSimilar(ctx, ana, alert.Ref{ID: a.ID, Version: 1}, []string{"host", "Image", "host"},
		"nightly backup agent", t0.Add(7*24*time.Hour))
	if err != nil {
		t.Fatalf("SuppressSimilar: %v", err)
	}
	want := alert.Exclusion{ID: x.ID, RuleID: "r", Conditions: []alert.KV{{Name: "host", Value: "WS01"}, {Name: "Image", Value: `C:\Backup\agent.exe`}},
		Reason: "nightly backup agent", Author: "ana", AlertID: a.ID, Created: t0, Expires: t0.Add(7 * 24 * time.Hour)}
	if diff := cmp.Diff(want, x); diff != "" {
		t.Errorf("SuppressSimilar exclusion (-want +got):\n%s", diff)
	}
	if got.State != alert.StateFalsePositive || got.StateReason != "nightly backup agent" {
		t.Errorf("SuppressSimilar alert = %s %q; want false positive with the reason", got.State, got.StateReason)
	}
	h := detail(t, e, a.ID).History
	if last := h[len(h)-1]; last.Action != alert.ActionSuppressed || last.Actor != "ana" {
		t.Errorf("last history entry = %+v; want suppressed by ana", last)
	}

	// Similar: same host and image, whatever the case, user or command line.
	e.clock.Add(time.Hour)
	s := det("r", "ws01", "bob", time.Hour, 2)
	s.Fields = []alert.KV{{Name: "Image", Value: `c:\backup\AGENT.exe`}, {Name: "CommandLine", Value: "agent --weekly"}}
	if b, o := e.record(t, s); o != alert.OutcomeSuppressed || b.ID != 0 || o.Notify() {
		t.Errorf("Record(similar) = alert %d, %s; want suppressed, no alert", b.ID, o)
	}
	e.record(t, s) // a second hit
	// Not similar: another host.
	other := s
	other.Host, other.EventIDs = "WS02", []string{evID(3)}
	if _, o := e.record(t, other); o != alert.OutcomeCreated {
		t.Errorf("Record(other host) = %s, want created", o)
	}
	xs, err := e.svc.Exclusions(ctx, alert.ExclusionFilter{RuleID: "r"})
	if err != nil || len(xs) != 1 || xs[0].Hits != 2 || !xs[0].LastHit.Equal(t0.Add(time.Hour)) {
		t.Errorf("Exclusions(r) = %+v, %v; want one with 2 hits, the last at t0+1h", xs, err)
	}
	// Once it expires, similar detections alert again.
	e.clock.Add(7 * 24 * time.Hour)
	s.Time, s.EventIDs = t0.Add(8*24*time.Hour), []string{evID(4)}
	if _, o := e.record(t, s); o != alert.OutcomeCreated {
		t.Errorf("Record(similar, after expiry) = %s, want created", o)
	}
	if xs, _ := e.svc.Exclusions(ctx, alert.ExclusionFilter{ActiveOnly: true}); len(xs) != 0 {
		t.Errorf("Exclusions(active) after expiry = %+v, want none", xs)
	}
	if entries, err := e.db.AuditEntries(ctx, audit.Filter{Action: "exclusion.create"}); err != nil || len(entries) != 1 || entries[0].Actor != "ana" {
		t.Errorf("audit entries for exclusion.create = %+v, %v; want one by ana", entries, err)
	}
}

func TestSuppressSimilarRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana := e.user(t, "ana", auth.RoleAnalyst)
	viewer := e.user(t, "vic", auth.RoleViewer)
	ctx := context.Background()
	a, _ := e.record(t, det("r", "WS01", "", 0, 1))
	tp, _ := e.record(t, det("r2", "WS01", "", 0, 2))
	if _, err := e.svc.Transition(ctx, ana, []alert.Ref{{ID: tp.ID}}, alert.StateTruePositive, "real"); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	for _, c := range []struct {
		name    string
		actor   alert.Actor
		ref     alert.Ref
		fields  []string
		reason  string
		expires time.Time
		kind    fault.Kind
		msg     string
	}{
		{"viewer", viewer, alert.Ref{ID: a.ID}, []string{"host"}, "r", later, fault.Forbidden, "alert.forbidden"},
		{"no reason", ana, alert.Ref{ID: a.ID}, []string{"host"}, "", later, fault.Invalid, "alert.reason_required"},
		{"no expiry", ana, alert.Ref{ID: a.ID}, []string{"host"}, "r", time.Time{}, fault.Invalid, "alert.expiry_past"},
		{"past expiry", ana, alert.Ref{ID: a.ID}, []string{"host"}, "r", t0, fault.Invalid, "alert.expiry_past"},
		{"no fields", ana, alert.Ref{ID: a.ID}, nil, "r", later, fault.Invalid, "alert.fields_none"},
		{"empty user", ana, alert.Ref{ID: a.ID}, []string{"user"}, "r", later, fault.Invalid, "alert.field_unknown"},
		{"unknown field", ana, alert.Ref{ID: a.ID}, []string{"ParentImage"}, "r", later, fault.Invalid, "alert.field_unknown"},
		{"stale", ana, alert.Ref{ID: a.ID, Version: 9}, []string{"host"}, "r", later, fault.Conflict, "alert.changed"},
		{"missing", ana, alert.Ref{ID: 4242}, []string{"host"}, "r", later, fault.NotFound, "alert.not_found"},
		{"true positive", ana, alert.Ref{ID: tp.ID}, []string{"host"}, "r", later, fault.Conflict, "alert.bad_transition"},
	} {
		_, _, err := e.svc.SuppressSimilar(ctx, c.actor, c.ref, c.fields, c.reason, c.expires)
		if msg, _ := fault.Public(err); fault.KindOf(err) != c.kind || msg != c.msg {
			t.Errorf("SuppressSimilar(%s): got %v, want %s %s", c.name, err, c.kind, c.msg)
		}
	}
	// Nothing of the refused attempts was kept.
	if xs, err := e.svc.Exclusions(ctx, alert.ExclusionFilter{}); err != nil || len(xs) != 0 {
		t.Errorf("Exclusions after refused attempts = %+v, %v; want none (the transaction rolled back)", xs, err)
	}
	if got := detail(t, e, tp.ID); got.State != alert.StateTruePositive {
		t.Errorf("true positive alert is now %s", got.State)
	}
}

func TestExclusionByHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana := e.user(t, "ana", auth.RoleAnalyst)
	ctx := context.Background()
	_, err := e.svc.CreateExclusion(ctx, ana, alert.Exclusion{RuleID: " ", Conditions: []alert.KV{{Name: "host", Value: ""},
		{Name: "Image", Value: "a"}, {Name: "Image", Value: "b"}}, Expires: t0})
	var msgs []string
	for _, f := range fault.Faults(err) {
		msgs = append(msgs, f.Msg)
	}
	if diff := cmp.Diff([]string{"alert.rule_missing", "alert.condition_empty", "alert.condition_twice", "alert.reason_required", "alert.expiry_past"}, msgs); diff != "" {
		t.Errorf("CreateExclusion(bad) faults (-want +got):\n%s", diff)
	}
	// No expiry: until deleted.
	x, err := e.svc.CreateExclusion(ctx, ana, alert.Exclusion{RuleID: "r", Conditions: []alert.KV{{Name: "user", Value: "svc_backup"}},
		Reason: "service account", Hits: 5, AlertID: 77})
	if err != nil {
		t.Fatalf("CreateExclusion: %v", err)
	}
	if x.Author != "ana" || x.Hits != 0 || x.AlertID != 0 || !x.Created.Equal(t0) || !x.Expires.IsZero() {
		t.Errorf("CreateExclusion = %+v; want author ana, no hits, no alert, created t0, no expiry", x)
	}
	if _, o := e.record(t, det("r", "h", "SVC_BACKUP", 0, 1)); o != alert.OutcomeSuppressed {
		t.Errorf("Record(matching) = %s, want suppressed", o)
	}
	if err := e.svc.DeleteExclusion(ctx, ana, x.ID); err != nil {
		t.Fatalf("DeleteExclusion: %v", err)
	}
	if _, o := e.record(t, det("r", "h", "SVC_BACKUP", time.Minute, 2)); o != alert.OutcomeCreated {
		t.Errorf("Record(after delete) = %s, want created", o)
	}
	if err := e.svc.DeleteExclusion(ctx, ana, x.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteExclusion(again): got %v, want NotFound", err)
	}
	viewer := e.user(t, "vic", auth.RoleViewer)
	if _, err := e.svc.CreateExclusion(ctx, viewer, x); !fault.Is(err, fault.Forbidden) {
		t.Errorf("CreateExclusion by a viewer: got %v, want Forbidden", err)
	}
	if entries, _ := e.db.AuditEntries(ctx, audit.Filter{Action: "exclusion."}); len(entries) != 2 {
		t.Errorf("exclusion audit entries = %d, want create and delete", len(entries))
	}
}

// TestExclusionRefresh: an exclusion another koban node adds applies once
// the cached copy is older than ExclusionRefresh.
func TestExclusionRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{ExclusionRefresh: 5 * time.Minute})
	ctx := context.Background()
	e.record(t, det("warm", "h", "u", 0, 1)) // loads the (empty) exclusions
	_, err := e.db.CreateExclusion(ctx, alert.Exclusion{RuleID: "r", Conditions: []alert.KV{{Name: "host", Value: "h"}},
		Reason: "elsewhere", Author: "other-node", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, o := e.record(t, det("r", "h", "u", 0, 2)); o != alert.OutcomeCreated {
		t.Errorf("Record(before refresh) = %s, want created (cached copy)", o)
	}
	e.clock.Add(5 * time.Minute)
	if _, o := e.record(t, det("r", "h", "u", time.Minute, 3)); o != alert.OutcomeSuppressed {
		t.Errorf("Record(after refresh) = %s, want suppressed", o)
	}
}
