// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// TestTransitionTable walks every pair of states through the service: the
// allowed ones change the alert and record history, the others are Conflict
// and change nothing.
func TestTransitionTable(t *testing.T) {
	t.Parallel()
	allowed := map[[2]alert.State]bool{}
	for _, to := range []alert.State{alert.StateAcknowledged, alert.StateInProgress, alert.StateFalsePositive, alert.StateTruePositive, alert.StateClosed} {
		allowed[[2]alert.State{alert.StateNew, to}] = true
	}
	for _, to := range []alert.State{alert.StateInProgress, alert.StateFalsePositive, alert.StateTruePositive, alert.StateClosed} {
		allowed[[2]alert.State{alert.StateAcknowledged, to}] = true
	}
	for _, to := range []alert.State{alert.StateAcknowledged, alert.StateFalsePositive, alert.StateTruePositive, alert.StateClosed} {
		allowed[[2]alert.State{alert.StateInProgress, to}] = true
	}
	for _, from := range []alert.State{alert.StateFalsePositive, alert.StateTruePositive, alert.StateClosed} {
		allowed[[2]alert.State{from, alert.StateAcknowledged}] = true
	}
	e := newEnv(t, alert.Options{})
	an := e.user(t, "ana", auth.RoleAnalyst)
	ctx := context.Background()
	// path brings a new alert to state s through allowed steps.
	path := map[alert.State][]alert.State{
		alert.StateNew: nil, alert.StateAcknowledged: {alert.StateAcknowledged}, alert.StateInProgress: {alert.StateInProgress},
		alert.StateFalsePositive: {alert.StateFalsePositive}, alert.StateTruePositive: {alert.StateTruePositive}, alert.StateClosed: {alert.StateClosed},
	}
	n := 0
	for _, from := range alert.States {
		for _, to := range alert.States {
			n++
			a, _ := e.record(t, det(fmt.Sprintf("r%d", n), "h", "u", 0, n))
			for _, s := range path[from] {
				if _, err := e.svc.Transition(ctx, an, []alert.Ref{{ID: a.ID}}, s, "setup"); err != nil {
					t.Fatal(err)
				}
			}
			if got := alert.CanTransition(from, to); got != allowed[[2]alert.State{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, !got)
			}
			res, err := e.svc.Transition(ctx, an, []alert.Ref{{ID: a.ID}}, to, "because")
			if err != nil {
				t.Fatalf("Transition(%s → %s): %v", from, to, err)
			}
			r := res[0]
			switch {
			case from == to:
				if r.Err != nil || r.Changed {
					t.Errorf("Transition(%s → itself) = changed %v, %v; want unchanged, no error", from, r.Changed, r.Err)
				}
			case allowed[[2]alert.State{from, to}]:
				if r.Err != nil || !r.Changed || r.Alert.State != to || r.Alert.StateReason != "because" {
					t.Errorf("Transition(%s → %s) = %+v; want changed to %s with the reason", from, to, r, to)
				}
			default:
				if msg, _ := fault.Public(r.Err); !fault.Is(r.Err, fault.Conflict) || msg != "alert.bad_transition" {
					t.Errorf("Transition(%s → %s): got %v, want Conflict alert.bad_transition", from, to, r.Err)
				}
				if got := detail(t, e, a.ID); got.State != from {
					t.Errorf("after a refused %s → %s the alert is %s", from, to, got.State)
				}
			}
		}
	}
}

func TestTransitionBulk(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	an := e.user(t, "ana", auth.RoleAnalyst)
	ctx := context.Background()
	var ids []int64
	for i := 0; i < 4; i++ {
		a, _ := e.record(t, det("r", fmt.Sprintf("h%d", i), "u", 0, i))
		ids = append(ids, a.ID)
	}
	// Alert 3 is a true positive already: closing it as false positive is
	// refused, as is a stale version for alert 1 and an unknown id.
	if _, err := e.svc.Transition(ctx, an, []alert.Ref{{ID: ids[3]}}, alert.StateTruePositive, "real"); err != nil {
		t.Fatal(err)
	}
	refs := []alert.Ref{{ID: ids[0], Version: 1}, {ID: ids[1], Version: 7}, {ID: 999999}, {ID: ids[2]}, {ID: ids[3]}, {ID: ids[0]}}
	res, err := e.svc.Transition(ctx, an, refs, alert.StateFalsePositive, "  backup software  ")
	if err != nil {
		t.Fatalf("Transition(bulk): %v", err)
	}
	want := []struct {
		id   int64
		kind fault.Kind
		msg  string
	}{{ids[0], "", ""}, {ids[1], fault.Conflict, "alert.changed"}, {999999, fault.NotFound, "alert.not_found"},
		{ids[2], "", ""}, {ids[3], fault.Conflict, "alert.bad_transition"}}
	if len(res) != len(want) {
		t.Fatalf("Transition(bulk) gave %d results, want %d (a repeated id counts once): %+v", len(res), len(want), res)
	}
	for i, w := range want {
		r := res[i]
		if r.ID != w.id {
			t.Errorf("result %d is for %d, want %d", i, r.ID, w.id)
		}
		if w.kind == "" {
			if r.Err != nil || !r.Changed || r.Alert.State != alert.StateFalsePositive || r.Alert.StateReason != "backup software" || r.Alert.Version != 2 {
				t.Errorf("result for %d = %+v; want false positive, reason trimmed, version 2", w.id, r)
			}
			continue
		}
		if msg, _ := fault.Public(r.Err); fault.KindOf(r.Err) != w.kind || msg != w.msg {
			t.Errorf("result for %d: got %v, want %s %s", w.id, r.Err, w.kind, w.msg)
		}
	}
	if got := detail(t, e, ids[1]); got.State != alert.StateNew {
		t.Errorf("alert with a stale version changed to %s", got.State)
	}
	h := detail(t, e, ids[0]).History
	last := h[len(h)-1]
	if last.Action != alert.ActionState || last.From != "new" || last.To != "false_positive" || last.Actor != "ana" ||
		last.ActorID != an.UserID || last.Reason != "backup software" || !last.At.Equal(t0) {
		t.Errorf("last history entry = %+v; want ana's new → false_positive with the reason at t0", last)
	}
	entries, err := e.db.AuditEntries(ctx, audit.Filter{Action: "alert.transition"})
	if err != nil || len(entries) != 3 { // setup's true positive and the two changes
		t.Errorf("audit entries for alert.transition = %d, %v; want 3", len(entries), err)
	}
	if n, _, err := e.db.VerifyAudit(ctx); err != nil || n != 3 {
		t.Errorf("VerifyAudit = %d, %v; want 3 intact", n, err)
	}
}

func TestTransitionRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	an := e.user(t, "ana", auth.RoleAnalyst)
	viewer := e.user(t, "vic", auth.RoleViewer)
	a, _ := e.record(t, det("r", "h", "u", 0, 1))
	ctx := context.Background()
	many := make([]alert.Ref, 501)
	pending := alert.ActorOf(auth.Principal{User: auth.User{ID: an.UserID, Name: "ana"}, Role: auth.RoleAdmin, MFAPending: true}, "192.0.2.1")
	for _, c := range []struct {
		name   string
		actor  alert.Actor
		refs   []alert.Ref
		to     alert.State
		reason string
		kind   fault.Kind
		msg    string
	}{
		{"viewer", viewer, []alert.Ref{{ID: a.ID}}, alert.StateAcknowledged, "", fault.Forbidden, "alert.forbidden"},
		{"mfa pending", pending, []alert.Ref{{ID: a.ID}}, alert.StateAcknowledged, "", fault.Forbidden, "alert.forbidden"},
		{"no reason", an, []alert.Ref{{ID: a.ID}}, alert.StateClosed, "  ", fault.Invalid, "alert.reason_required"},
		{"long reason", an, []alert.Ref{{ID: a.ID}}, alert.StateClosed, string(make([]byte, 2001)), fault.Invalid, "alert.reason_too_long"},
		{"bad state", an, []alert.Ref{{ID: a.ID}}, "done", "", fault.Invalid, "alert.state_invalid"},
		{"none", an, nil, alert.StateAcknowledged, "", fault.Invalid, "alert.none_selected"},
		{"too many", an, many, alert.StateAcknowledged, "", fault.Invalid, "alert.too_many"},
	} {
		res, err := e.svc.Transition(ctx, c.actor, c.refs, c.to, c.reason)
		if msg, _ := fault.Public(err); fault.KindOf(err) != c.kind || msg != c.msg || res != nil {
			t.Errorf("Transition(%s): got %v, %v; want %s %s", c.name, res, err, c.kind, c.msg)
		}
	}
	if got := detail(t, e, a.ID); got.State != alert.StateNew || len(got.History) != 1 {
		t.Errorf("refused requests changed the alert: %+v", got)
	}
}

// TestOptimisticLock: two people open the same alert; the second to act is
// told it changed.
func TestOptimisticLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana, ben := e.user(t, "ana", auth.RoleAnalyst), e.user(t, "ben", auth.RoleResponder)
	a, _ := e.record(t, det("r", "h", "u", 0, 1))
	ctx := context.Background()
	seen := detail(t, e, a.ID).Version
	res, err := e.svc.Transition(ctx, ana, []alert.Ref{{ID: a.ID, Version: seen}}, alert.StateAcknowledged, "")
	if err != nil || res[0].Err != nil {
		t.Fatalf("ana's Transition: %v %v", err, res)
	}
	res, err = e.svc.Transition(ctx, ben, []alert.Ref{{ID: a.ID, Version: seen}}, alert.StateClosed, "dup")
	if err != nil {
		t.Fatal(err)
	}
	if msg, args := fault.Public(res[0].Err); !fault.Is(res[0].Err, fault.Conflict) || msg != "alert.changed" || fmt.Sprint(args) != fmt.Sprint([]any{"id", a.ID}) {
		t.Errorf("ben's stale Transition: got %v, want Conflict alert.changed naming the alert", res[0].Err)
	}
	res, err = e.svc.Assign(ctx, ben, []alert.Ref{{ID: a.ID, Version: seen}}, ben.UserID)
	if err != nil || !fault.Is(res[0].Err, fault.Conflict) {
		t.Errorf("ben's stale Assign: got %v, %v; want Conflict", res, err)
	}
	// After reloading, ben's change goes through.
	cur := detail(t, e, a.ID)
	res, err = e.svc.Transition(ctx, ben, []alert.Ref{{ID: a.ID, Version: cur.Version}}, alert.StateClosed, "dup")
	if err != nil || res[0].Err != nil || res[0].Alert.Version != cur.Version+1 {
		t.Errorf("ben's Transition after reload = %+v, %v; want version %d", res, err, cur.Version+1)
	}
}

func TestAssign(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana := e.user(t, "ana", auth.RoleAnalyst)
	viewer := e.user(t, "vic", auth.RoleViewer)
	gone := e.user(t, "gone", auth.RoleAnalyst)
	ctx := context.Background()
	u, err := e.db.User(ctx, gone.UserID)
	if err != nil {
		t.Fatal(err)
	}
	u.Disabled = true
	if err := e.db.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	a, _ := e.record(t, det("r", "h", "u", 0, 1))
	for _, c := range []struct {
		name     string
		assignee int64
		msg      string
	}{{"viewer", viewer.UserID, "alert.assignee_cannot"}, {"disabled", gone.UserID, "alert.assignee_cannot"}, {"unknown", 4242, "alert.assignee_unknown"}} {
		_, err := e.svc.Assign(ctx, ana, []alert.Ref{{ID: a.ID}}, c.assignee)
		if msg, _ := fault.Public(err); !fault.Is(err, fault.Invalid) || msg != c.msg {
			t.Errorf("Assign(%s): got %v, want Invalid %s", c.name, err, c.msg)
		}
	}
	if _, err := e.svc.Assign(ctx, viewer, []alert.Ref{{ID: a.ID}}, ana.UserID); !fault.Is(err, fault.Forbidden) {
		t.Errorf("Assign by a viewer: got %v, want Forbidden", err)
	}
	res, err := e.svc.Assign(ctx, ana, []alert.Ref{{ID: a.ID}}, ana.UserID)
	if err != nil || res[0].Err != nil || res[0].Alert.AssigneeID != ana.UserID || res[0].Alert.AssigneeName != "ana" {
		t.Fatalf("Assign(ana) = %+v, %v", res, err)
	}
	if got := detail(t, e, a.ID); got.AssigneeName != "ana" || got.Version != 2 {
		t.Errorf("after Assign: assignee %q version %d; want ana, 2", got.AssigneeName, got.Version)
	}
	if res, _ := e.svc.Assign(ctx, ana, []alert.Ref{{ID: a.ID}}, ana.UserID); res[0].Changed {
		t.Error("Assign(same assignee) changed the alert")
	}
	if res, err := e.svc.Assign(ctx, ana, []alert.Ref{{ID: a.ID}}, 0); err != nil || res[0].Alert.AssigneeID != 0 {
		t.Errorf("Assign(nobody) = %+v, %v", res, err)
	}
	h := detail(t, e, a.ID).History
	var got []string
	for _, x := range h {
		if x.Action == alert.ActionAssign {
			got = append(got, x.From+"→"+x.To)
		}
	}
	if !slices.Equal(got, []string{"→ana", "ana→"}) {
		t.Errorf("assign history = %q, want [→ana ana→]", got)
	}
	// Taking an unassigned alert in progress assigns it to whoever does.
	b, _ := e.record(t, det("r2", "h", "u", time.Minute, 2))
	res, err = e.svc.Transition(ctx, ana, []alert.Ref{{ID: b.ID}}, alert.StateInProgress, "")
	if err != nil || res[0].Alert.AssigneeID != ana.UserID {
		t.Errorf("Transition(in_progress, unassigned) = %+v, %v; want assigned to ana", res, err)
	}
	if got := detail(t, e, b.ID); got.AssigneeID != ana.UserID {
		t.Errorf("stored assignee after in_progress = %d, want %d", got.AssigneeID, ana.UserID)
	}
}
