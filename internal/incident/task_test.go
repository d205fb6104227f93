// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestTasks(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("tasks"))
	if _, err := e.svc.ChangePhase(ctx, e.a, incident.Ref{ID: inc.ID}, incident.PhaseContainment, ""); err != nil {
		t.Fatal(err)
	}
	owner := e.user(t, "it", auth.RoleAnalyst)
	in := incident.TaskInput{Title: "  Disconnect the PC from the network ", Why: "stops the spread\r\nbut keeps memory",
		OwnerRole: "it_admin", Due: incT0.Add(time.Hour), Required: true,
		Checklist: []incident.CheckItem{{Text: "LAN cable"}, {Text: " "}, {Text: "Wi-Fi", Done: true}},
		Source:    incident.TaskSource{PlaybookID: "ransomware", TaskID: "isolate"}}
	task, err := e.svc.AddTask(ctx, e.a, inc.ID, in)
	if err != nil {
		t.Fatalf("AddTask: %v", err)
	}
	want := incident.Task{ID: task.ID, IncidentID: inc.ID, Title: "Disconnect the PC from the network",
		Why: "stops the spread\nbut keeps memory", Phase: incident.PhaseContainment, OwnerRole: "it_admin",
		Due: incT0.Add(time.Hour), Status: incident.TaskOpen, Required: true,
		Checklist: []incident.CheckItem{{Text: "LAN cable"}, {Text: "Wi-Fi", Done: true}},
		Source:    incident.TaskSource{PlaybookID: "ransomware", TaskID: "isolate"}, Version: 1, CreatedAt: incT0, UpdatedAt: incT0}
	if diff := cmp.Diff(want, task); diff != "" {
		t.Errorf("AddTask (-want +got):\n%s", diff)
	}
	if task.Source.Manual() {
		t.Error("a playbook's task reads as manual")
	}
	for _, c := range []struct {
		name  string
		in    incident.TaskInput
		field string
		msg   string
	}{
		{"no title", incident.TaskInput{}, "title", "incident.field_required"},
		{"unknown role", incident.TaskInput{Title: "x", OwnerRole: "ceo"}, "owner_role", "incident.task_role_invalid"},
		{"closed phase", incident.TaskInput{Title: "x", Phase: incident.PhaseClosed}, "phase", "incident.phase_invalid"},
		{"unknown owner", incident.TaskInput{Title: "x", OwnerID: 999}, "owner", "incident.person_unknown"},
		{"long why", incident.TaskInput{Title: "x", Why: strings.Repeat("x", 4001)}, "why", "incident.field_too_long"},
	} {
		_, err := e.svc.AddTask(ctx, e.a, inc.ID, c.in)
		if fs := fault.Faults(err); len(fs) != 1 || fs[0].Field != c.field || fs[0].Msg != c.msg {
			t.Errorf("AddTask(%s): got %v, want Invalid %s on %s", c.name, err, c.msg, c.field)
		}
	}
	// AddTasks is all or nothing.
	_, err = e.svc.AddTasks(ctx, e.a, inc.ID, []incident.TaskInput{{Title: "fine"}, {Title: ""}})
	wantFault(t, "AddTasks(one bad)", err, fault.Invalid, "incident.field_required")
	_, err = e.svc.AddTasks(ctx, e.a, inc.ID, nil)
	wantFault(t, "AddTasks(none)", err, fault.Invalid, "incident.task_none")
	_, err = e.svc.AddTask(ctx, e.a, 999, incident.TaskInput{Title: "x"})
	wantFault(t, "AddTask(no incident)", err, fault.NotFound, "incident.not_found")
	if d := e.detail(t, inc.ID); len(d.Tasks) != 1 {
		t.Errorf("tasks after failed adds = %d, want 1", len(d.Tasks))
	}

	// Update needs the version and replaces what was written.
	_, err = e.svc.UpdateTask(ctx, e.a, incident.TaskRef{ID: task.ID}, in)
	wantFault(t, "UpdateTask(no version)", err, fault.Invalid, "incident.version_missing")
	e.clock.Add(time.Minute)
	upd, err := e.svc.UpdateTask(ctx, e.a, incident.TaskRef{ID: task.ID, Version: 1}, incident.TaskInput{Title: "Isolate",
		OwnerID: owner.UserID, Phase: incident.PhaseEradication, Source: incident.TaskSource{PlaybookID: "other"}})
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if upd.Title != "Isolate" || upd.OwnerID != owner.UserID || upd.OwnerRole != "" || upd.Phase != incident.PhaseEradication ||
		upd.Required || !upd.Due.IsZero() || upd.Checklist != nil || upd.Source != task.Source || upd.Version != 2 {
		t.Errorf("UpdateTask = %+v", upd)
	}
	_, err = e.svc.UpdateTask(ctx, e.a, incident.TaskRef{ID: task.ID, Version: 1}, in)
	wantFault(t, "UpdateTask(stale)", err, fault.Conflict, "incident.task_changed")
	_, err = e.svc.UpdateTask(ctx, e.a, incident.TaskRef{ID: 999, Version: 1}, in)
	wantFault(t, "UpdateTask(missing)", err, fault.NotFound, "incident.task_not_found")

	// Put the checklist back and tick it.
	upd, err = e.svc.UpdateTask(ctx, e.a, incident.TaskRef{ID: task.ID, Version: 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	ticked, err := e.svc.CheckTaskItem(ctx, e.a, incident.TaskRef{ID: task.ID, Version: upd.Version}, 0, true)
	if err != nil || !ticked.Checklist[0].Done || ticked.Version != upd.Version+1 {
		t.Errorf("CheckTaskItem = %+v, %v", ticked.Checklist, err)
	}
	_, err = e.svc.CheckTaskItem(ctx, e.a, incident.TaskRef{ID: task.ID}, 5, true)
	wantFault(t, "CheckTaskItem(out of range)", err, fault.Invalid, "incident.task_item_invalid")

	// Status: skipping needs a reason; done and skipped record when.
	_, err = e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID}, incident.TaskSkipped, "")
	wantFault(t, "SetTaskStatus(skip without reason)", err, fault.Invalid, "incident.reason_required")
	_, err = e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID}, "finished", "")
	wantFault(t, "SetTaskStatus(unknown)", err, fault.Invalid, "incident.task_status_invalid")
	e.clock.Add(time.Minute)
	done, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID}, incident.TaskDone, "")
	if err != nil || done.Status != incident.TaskDone || !done.DoneAt.Equal(incT0.Add(2*time.Minute)) {
		t.Errorf("SetTaskStatus(done) = %s at %v, %v", done.Status, done.DoneAt, err)
	}
	reopened, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID}, incident.TaskOpen, "")
	if err != nil || !reopened.DoneAt.IsZero() {
		t.Errorf("SetTaskStatus(open again) = done at %v, %v; want no time", reopened.DoneAt, err)
	}
	skipped, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID}, incident.TaskSkipped, "PC was already off")
	if err != nil || skipped.StatusReason != "PC was already off" || skipped.DoneAt.IsZero() {
		t.Errorf("SetTaskStatus(skipped) = %+v, %v", skipped, err)
	}

	// A required task is skipped, never deleted; others may go.
	err = e.svc.DeleteTask(ctx, e.a, incident.TaskRef{ID: task.ID})
	wantFault(t, "DeleteTask(required)", err, fault.Conflict, "incident.task_required")
	extra, err := e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: "optional"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.svc.DeleteTask(ctx, e.a, incident.TaskRef{ID: extra.ID, Version: 7})
	wantFault(t, "DeleteTask(stale)", err, fault.Conflict, "incident.task_changed")
	if err := e.svc.DeleteTask(ctx, e.a, incident.TaskRef{ID: extra.ID, Version: 1}); err != nil {
		t.Errorf("DeleteTask: %v", err)
	}
	d := e.detail(t, inc.ID)
	if len(d.Tasks) != 1 || d.Tasks[0].ID != task.ID {
		t.Errorf("tasks = %+v, want only the required one", d.Tasks)
	}
	var entries []string
	for _, en := range d.Timeline {
		if en.Kind == incident.EntryTask {
			entries = append(entries, en.Msg[len("incident.timeline."):])
		}
	}
	want2 := []string{"task_added", "task_updated", "task_updated", "task_status", "task_status", "task_status",
		"task_added", "task_deleted"}
	if diff := cmp.Diff(want2, entries); diff != "" {
		t.Errorf("task entries (-want +got):\n%s", diff)
	}
	audits := e.audits(t, inc.ID)
	for _, a := range []string{"incident.task_add", "incident.task_update", "incident.task_check", "incident.task_status", "incident.task_delete"} {
		if !strings.Contains(strings.Join(audits, " "), a) {
			t.Errorf("audit trail %v has no %s", audits, a)
		}
	}
}

// TestOverdueTasks: tasks past due show up across incidents until done,
// and not for closed incidents.
func TestOverdueTasks(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	a := e.create(t, incDraft("a"))
	b := e.create(t, incDraft("b"))
	add := func(inc incident.Incident, title string, due time.Duration) incident.Task {
		tk, err := e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: title, Due: incT0.Add(due)})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	a1 := add(a, "a in 1h", time.Hour)
	b1 := add(b, "b in 30m", 30*time.Minute)
	add(b, "b in 3h", 3*time.Hour)
	noDue, err := e.svc.AddTask(ctx, e.a, a.ID, incident.TaskInput{Title: "whenever"})
	if err != nil {
		t.Fatal(err)
	}
	overdue := func() []string {
		t.Helper()
		ds, err := e.svc.OverdueTasks(ctx, e.a, "", 0)
		if err != nil {
			t.Fatalf("OverdueTasks: %v", err)
		}
		var out []string
		for _, d := range ds {
			if !d.Overdue(e.clock.Now()) {
				t.Errorf("OverdueTasks lists %q, which is not Overdue at %v", d.Title, e.clock.Now())
			}
			out = append(out, d.Incident.Ref+" "+d.Title)
		}
		return out
	}
	if got := overdue(); len(got) != 0 {
		t.Errorf("overdue at t0 = %v, want none", got)
	}
	e.clock.Add(2 * time.Hour)
	if diff := cmp.Diff([]string{b.Ref + " b in 30m", a.Ref + " a in 1h"}, overdue()); diff != "" {
		t.Errorf("overdue at t0+2h (-want +got):\n%s", diff)
	}
	if noDue.Overdue(e.clock.Now().Add(1000 * time.Hour)) {
		t.Error("a task without a due time is overdue")
	}
	if _, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: b1.ID}, incident.TaskDone, ""); err != nil {
		t.Fatal(err)
	}
	e.assessLow(t, a.ID)
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: a.ID}, incident.Closing{Resolution: incident.ResolutionResolved,
		Summary: "fine"}); err != nil {
		t.Fatal(err)
	}
	if !a1.Overdue(e.clock.Now()) {
		t.Error("task a1 is not Overdue by itself")
	}
	if got := overdue(); len(got) != 0 {
		t.Errorf("overdue after finishing b's task and closing a = %v, want none", got)
	}
	_, err = e.svc.OverdueTasks(ctx, e.a, "", 501)
	wantFault(t, "OverdueTasks(limit 501)", err, fault.Invalid, "incident.limit_invalid")
}
