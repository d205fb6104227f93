// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

func TestAlertsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ctx := context.Background()
	var want []int64
	for i := 0; i < 7; i++ {
		a, _ := e.record(t, det("r", fmt.Sprintf("h%d", i), "u", time.Duration(i)*time.Minute, i))
		want = append([]int64{a.ID}, want...)
	}
	var got []int64
	f := alert.Filter{Limit: 3}
	pages := 0
	for {
		p, err := e.svc.Alerts(ctx, f)
		if err != nil {
			t.Fatalf("Alerts(after %d): %v", f.After, err)
		}
		pages++
		for _, a := range p.Alerts {
			got = append(got, a.ID)
		}
		if p.Next == 0 {
			break
		}
		if pages > 5 {
			t.Fatal("Alerts never reached the last page")
		}
		f.After = p.Next
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("paging 7 alerts by 3: %d pages, ids (-want +got):\n%s", pages, diff)
	}
	// A page that ends exactly at the last alert has no next.
	if p, err := e.svc.Alerts(ctx, alert.Filter{Limit: 7}); err != nil || len(p.Alerts) != 7 || p.Next != 0 {
		t.Errorf("Alerts(limit 7 of 7) = %d alerts, next %d, %v; want 7, 0", len(p.Alerts), p.Next, err)
	}
	if p, err := e.svc.Alerts(ctx, alert.Filter{Text: " H3 "}); err != nil || len(p.Alerts) != 1 || p.Alerts[0].Host != "h3" {
		t.Errorf("Alerts(text H3) = %+v, %v; want the alert on h3", p.Alerts, err)
	}
}

func TestAlertsInvalidFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	long := string(make([]byte, 201))
	for _, c := range []struct {
		name string
		f    alert.Filter
		msg  string
	}{
		{"state", alert.Filter{States: []alert.State{"open"}}, "alert.state_invalid"},
		{"level", alert.Filter{Levels: []alert.Level{"severe"}}, "alert.level_invalid"},
		{"assignee both", alert.Filter{AssigneeID: 1, Unassigned: true}, "alert.assignee_both"},
		{"limit", alert.Filter{Limit: 501}, "alert.limit_invalid"},
		{"negative limit", alert.Filter{Limit: -1}, "alert.limit_invalid"},
		{"cursor", alert.Filter{After: -4}, "alert.cursor_invalid"},
		{"text", alert.Filter{Text: long}, "alert.text_too_long"},
	} {
		_, err := e.svc.Alerts(context.Background(), c.f)
		if msg, _ := fault.Public(err); !fault.Is(err, fault.Invalid) || msg != c.msg {
			t.Errorf("Alerts(%s): got %v, want Invalid %s", c.name, err, c.msg)
		}
	}
}

func TestAlertDetailAndCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	ana := e.user(t, "ana", auth.RoleAnalyst)
	ctx := context.Background()
	if _, err := e.svc.Alert(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Alert(4242): got %v, want NotFound", err)
	}
	a, _ := e.record(t, det("r", "h1", "u", 0, 1))
	e.record(t, det("r", "h1", "u", time.Second, 2))
	hi := det("r", "h2", "u", 0, 3)
	hi.Level = alert.LevelCritical
	b, _ := e.record(t, hi)
	if _, err := e.svc.Transition(ctx, ana, []alert.Ref{{ID: b.ID}}, alert.StateClosed, "handled"); err != nil {
		t.Fatal(err)
	}
	d := detail(t, e, a.ID)
	if d.Count != 2 || len(d.EventIDs) != 2 || len(d.History) != 1 {
		t.Errorf("Alert(%d) = count %d, %d events, %d history entries; want 2, 2, 1", a.ID, d.Count, len(d.EventIDs), len(d.History))
	}
	c, err := e.svc.Counts(ctx, "")
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	if c.State(alert.StateNew) != 1 || c.State(alert.StateClosed) != 1 || c.Level(alert.LevelCritical) != 1 ||
		c.Level(alert.LevelCritical, alert.OpenStates...) != 0 || c.Level(alert.LevelMedium, alert.OpenStates...) != 1 {
		t.Errorf("Counts = %+v; want 1 new medium, 1 closed critical", c)
	}
}
