// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// TaskStatus is where a task stands, stored as-is.
type TaskStatus string

// The task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in_progress"
	TaskDone       TaskStatus = "done"
	// TaskSkipped: not done, on purpose; the reason says why. A skipped
	// required task no longer keeps the incident open.
	TaskSkipped TaskStatus = "skipped"
)

// TaskStatuses lists every task status.
var TaskStatuses = []TaskStatus{TaskOpen, TaskInProgress, TaskDone, TaskSkipped}

// Valid reports whether s is one of the task statuses.
func (s TaskStatus) Valid() bool { return slices.Contains(TaskStatuses, s) }

// Open reports whether a task in status s still waits to be finished: open
// or in progress.
func (s TaskStatus) Open() bool { return s == TaskOpen || s == TaskInProgress }

// CheckItem is one line of a task's checklist.
type CheckItem struct {
	Text string
	Done bool
}

// TaskSource says where a task came from: a playbook's task, or (zero) a
// person who added it by hand.
type TaskSource struct {
	PlaybookID string
	TaskID     string
}

// Manual reports whether the task was added by hand.
func (s TaskSource) Manual() bool { return s.PlaybookID == "" }

// Task is a piece of work on an incident.
type Task struct {
	ID         int64
	IncidentID int64
	Title      string
	// Why says why the task matters, so that a part-time responder knows
	// what is at stake.
	Why   string
	Phase Phase
	// The owner is a user (OwnerID) or, until someone takes it, a role
	// (OwnerRole, one of PlaybookRoles()); either may be unset.
	OwnerID   int64
	OwnerRole string
	Due       time.Time // zero when there is no due time
	Status    TaskStatus
	// StatusReason is why the task was skipped.
	StatusReason string
	Checklist    []CheckItem
	// Required tasks must be done or skipped before the incident closes.
	Required  bool
	Source    TaskSource
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DoneAt    time.Time // when it was done or skipped; zero while open
}

// Overdue reports whether the task is still to be finished after its due
// time.
func (t Task) Overdue(now time.Time) bool {
	return t.Status.Open() && !t.Due.IsZero() && now.After(t.Due)
}

// TaskInput is what a person (or a playbook) says about a task.
type TaskInput struct {
	Title string // required
	Why   string
	// Phase defaults to the incident's phase when a task is added, and
	// means "unchanged" when one is updated.
	Phase     Phase
	OwnerID   int64
	OwnerRole string
	Due       time.Time
	Required  bool
	Checklist []CheckItem
	// Source is read when a task is added only.
	Source TaskSource
}

// TaskRef names a task to change and, unless Version is 0, the version the
// person saw (Conflict "incident.task_changed" if it has changed since).
type TaskRef struct {
	ID      int64
	Version int64
}

// DueTask is a task with the incident it belongs to, for lists across
// incidents.
type DueTask struct {
	Task
	Incident Headline
}

// Bounds of tasks.
const (
	maxTaskTitleLen = 300
	maxTaskWhyLen   = 4000
	maxChecklist    = 50
	maxCheckLen     = 500
	maxSourceLen    = 64
	maxTasksAdded   = 200 // tasks one AddTasks call creates
	maxOverdue      = 500 // tasks one OverdueTasks call lists
)

// cleanTask validates and cleans a task input.
func (s *Service) cleanTask(ctx context.Context, in TaskInput) (TaskInput, error) {
	var c inputCheck
	out := TaskInput{
		Title:     c.line("title", in.Title, maxTaskTitleLen, true),
		Why:       c.text("why", in.Why, maxTaskWhyLen, false),
		Phase:     in.Phase,
		OwnerID:   in.OwnerID,
		OwnerRole: c.line("owner_role", in.OwnerRole, maxIDLen, false),
		Due:       storeTime(in.Due),
		Required:  in.Required,
		Source: TaskSource{PlaybookID: c.line("source", in.Source.PlaybookID, maxSourceLen, false),
			TaskID: c.line("source", in.Source.TaskID, maxSourceLen, false)},
	}
	if out.Phase != "" && (!out.Phase.Valid() || out.Phase == PhaseClosed) {
		c.add("phase", "incident.phase_invalid", "value", cleanLine(string(out.Phase), maxIDLen))
	}
	if out.OwnerRole != "" && !slices.Contains(PlaybookRoles(), out.OwnerRole) {
		c.add("owner_role", "incident.task_role_invalid", "value", out.OwnerRole)
	}
	for _, it := range in.Checklist {
		if text := c.line("checklist", it.Text, maxCheckLen, false); text != "" {
			out.Checklist = append(out.Checklist, CheckItem{Text: text, Done: it.Done})
		}
	}
	if len(out.Checklist) > maxChecklist {
		c.add("checklist", "incident.field_too_many", "max", maxChecklist)
	}
	if err := c.errs.Err(); err != nil {
		return TaskInput{}, err
	}
	if out.OwnerID != 0 {
		if _, err := s.person(ctx, "owner", out.OwnerID); err != nil {
			return TaskInput{}, err
		}
	}
	return out, nil
}

// AddTask adds a task to an open incident, in its current phase unless the
// input names one.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed"; Invalid for a
// missing title, text over its bounds, an unknown phase or role, an owner
// who cannot be assigned.
func (s *Service) AddTask(ctx context.Context, a Actor, incidentID int64, in TaskInput) (Task, error) {
	ts, err := s.AddTasks(ctx, a, incidentID, []TaskInput{in})
	if err != nil {
		return Task{}, err
	}
	return ts[0], nil
}

// AddTasks adds several tasks to an open incident in one transaction (all
// or none), as applying a playbook does, with one timeline entry each.
// Errors as AddTask's; an input's problem fails all.
func (s *Service) AddTasks(ctx context.Context, a Actor, incidentID int64, ins []TaskInput) ([]Task, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fault.New(fault.Invalid, "incident.task_none")
	}
	if len(ins) > maxTasksAdded {
		return nil, fault.New(fault.Invalid, "incident.task_too_many", "max", maxTasksAdded)
	}
	var out []Task
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		inc, err := s.open(ctx, Ref{ID: incidentID})
		if err != nil {
			return err
		}
		now := s.nowUTC()
		for _, in := range ins {
			if in, err = s.cleanTask(ctx, in); err != nil {
				return err
			}
			if in.Phase == "" {
				in.Phase = inc.Phase
			}
			t := Task{IncidentID: inc.ID, Status: TaskOpen, Source: in.Source, Version: 1, CreatedAt: now, UpdatedAt: now}
			in.apply(&t)
			if t, err = s.store.CreateIncidentTask(ctx, t); err != nil {
				return err
			}
			if err := s.logEntry(ctx, a, inc.ID, EntryTask, now, "incident.timeline.task_added", "title", t.Title); err != nil {
				return err
			}
			if err := s.audit(ctx, a, "incident.task_add", inc.ID, nil, taskViewOf(t), now); err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "add tasks to", incidentID)
	}
	return out, nil
}

// apply sets a task's written fields from in; an empty phase leaves the
// task's.
func (in TaskInput) apply(t *Task) {
	t.Title, t.Why, t.OwnerID, t.OwnerRole = in.Title, in.Why, in.OwnerID, in.OwnerRole
	t.Due, t.Required, t.Checklist = in.Due, in.Required, in.Checklist
	if in.Phase != "" {
		t.Phase = in.Phase
	}
}

// UpdateTask replaces what was written about a task (title, why, phase,
// owner, due time, required, checklist) with in; its source stays.
// ref.Version is required.
//
// Errors: Forbidden; NotFound "incident.task_not_found"; Conflict
// "incident.task_changed", "incident.closed"; Invalid as AddTask's.
func (s *Service) UpdateTask(ctx context.Context, a Actor, ref TaskRef, in TaskInput) (Task, error) {
	if ref.Version == 0 {
		return Task{}, fault.InvalidField("version", "incident.version_missing")
	}
	return s.changeTask(ctx, a, ref, "task_update", func(ctx context.Context, cur Task, next *Task, now time.Time) (bool, error) {
		in, err := s.cleanTask(ctx, in)
		if err != nil {
			return false, err
		}
		in.apply(next)
		return true, s.logEntry(ctx, a, cur.IncidentID, EntryTask, now, "incident.timeline.task_updated", "title", next.Title)
	})
}

// SetTaskStatus moves a task to a status; skipping needs a reason. Done and
// skipped tasks record when; reopening one clears it.
//
// Errors: Forbidden; NotFound; Conflict "incident.task_changed",
// "incident.closed"; Invalid for an unknown status or a missing or too long
// reason.
func (s *Service) SetTaskStatus(ctx context.Context, a Actor, ref TaskRef, to TaskStatus, reason string) (Task, error) {
	if !to.Valid() {
		return Task{}, fault.InvalidField("status", "incident.task_status_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, to == TaskSkipped)
	if err != nil {
		return Task{}, err
	}
	return s.changeTask(ctx, a, ref, "task_status", func(ctx context.Context, cur Task, next *Task, now time.Time) (bool, error) {
		if cur.Status == to {
			return false, nil
		}
		next.Status, next.StatusReason = to, ""
		if to == TaskSkipped {
			next.StatusReason = reason
		}
		next.DoneAt = time.Time{}
		if !to.Open() {
			next.DoneAt = now
		}
		return true, s.logEntry(ctx, a, cur.IncidentID, EntryTask, now, "incident.timeline.task_status",
			"title", cur.Title, "from", string(cur.Status), "to", string(to), "reason", reason)
	})
}

// CheckTaskItem ticks (or unticks) item i (from 0) of a task's checklist.
//
// Errors: Forbidden; NotFound; Conflict "incident.task_changed",
// "incident.closed"; Invalid for an item out of range.
func (s *Service) CheckTaskItem(ctx context.Context, a Actor, ref TaskRef, i int, done bool) (Task, error) {
	return s.changeTask(ctx, a, ref, "task_check", func(ctx context.Context, cur Task, next *Task, now time.Time) (bool, error) {
		if i < 0 || i >= len(cur.Checklist) {
			return false, fault.InvalidField("item", "incident.task_item_invalid")
		}
		if cur.Checklist[i].Done == done {
			return false, nil
		}
		next.Checklist = slices.Clone(cur.Checklist)
		next.Checklist[i].Done = done
		return true, nil
	})
}

// DeleteTask removes a task that is not required (a required one is
// skipped, with a reason, instead).
//
// Errors: Forbidden; NotFound; Conflict "incident.task_changed",
// "incident.task_required", "incident.closed".
func (s *Service) DeleteTask(ctx context.Context, a Actor, ref TaskRef) error {
	_, err := s.changeTask(ctx, a, ref, "task_delete", func(ctx context.Context, cur Task, next *Task, now time.Time) (bool, error) {
		if cur.Required {
			return false, fault.New(fault.Conflict, "incident.task_required", "title", cur.Title)
		}
		if err := s.store.DeleteIncidentTask(ctx, cur.ID); err != nil {
			return false, err
		}
		if err := s.logEntry(ctx, a, cur.IncidentID, EntryTask, now, "incident.timeline.task_deleted", "title", cur.Title); err != nil {
			return false, err
		}
		return false, s.audit(ctx, a, "incident.task_delete", cur.IncidentID, taskViewOf(cur), nil, now)
	})
	return err
}

// changeTask runs one change of a task in a transaction: it reads the task
// (checking its version) and its incident (refusing a closed one), lets fn
// edit a copy, and stores and audits the copy if fn says it changed.
func (s *Service) changeTask(ctx context.Context, a Actor, ref TaskRef, op string,
	fn func(ctx context.Context, cur Task, next *Task, now time.Time) (bool, error)) (Task, error) {
	if err := a.needFull(); err != nil {
		return Task{}, err
	}
	var out Task
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.store.IncidentTask(ctx, ref.ID)
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.NotFound, err, "incident.task_not_found", "id", ref.ID)
		} else if err != nil {
			return err
		}
		if ref.Version != 0 && ref.Version != cur.Version {
			return fault.New(fault.Conflict, "incident.task_changed", "title", cur.Title)
		}
		if _, err := s.open(ctx, Ref{ID: cur.IncidentID}); err != nil {
			return err
		}
		now := s.nowUTC()
		next := cur
		changed, err := fn(ctx, cur, &next, now)
		if err != nil || !changed {
			out = cur
			return err
		}
		next.Version, next.UpdatedAt = cur.Version+1, now
		if err := s.store.UpdateIncidentTask(ctx, next, cur.Version); fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Conflict, err, "incident.task_changed", "title", cur.Title)
		} else if err != nil {
			return err
		}
		out = next
		return s.audit(ctx, a, "incident."+op, cur.IncidentID, taskViewOf(cur), taskViewOf(next), now)
	})
	if err != nil {
		return Task{}, wrap(err, op, ref.ID)
	}
	return out, nil
}

// OverdueTasks lists a tenant's overdue tasks across its incidents that are
// not closed, earliest due first, at most limit (1 to 500; 0 means 100):
// for the dashboard and the "overdue" badges.
func (s *Service) OverdueTasks(ctx context.Context, a Actor, tenant string, limit int) ([]DueTask, error) {
	if err := a.needSummary(); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > maxOverdue {
		return nil, fault.InvalidField("limit", "incident.limit_invalid", "max", maxOverdue)
	}
	ts, err := s.store.OverdueIncidentTasks(ctx, tenant, s.nowUTC(), limit)
	if err != nil {
		return nil, wrap(err, "overdue tasks")
	}
	return ts, nil
}

// taskView is what the audit trail records of a task.
type taskView struct {
	ID           int64       `json:"id"`
	Title        string      `json:"title"`
	Why          string      `json:"why,omitempty"`
	Phase        Phase       `json:"phase"`
	OwnerID      int64       `json:"owner_id,omitempty"`
	OwnerRole    string      `json:"owner_role,omitempty"`
	Due          time.Time   `json:"due,omitzero"`
	Status       TaskStatus  `json:"status"`
	StatusReason string      `json:"status_reason,omitempty"`
	Required     bool        `json:"required,omitempty"`
	Checklist    []CheckItem `json:"checklist,omitempty"`
	Source       TaskSource  `json:"source,omitzero"`
	Version      int64       `json:"version"`
}

func taskViewOf(t Task) taskView {
	return taskView{ID: t.ID, Title: t.Title, Why: t.Why, Phase: t.Phase, OwnerID: t.OwnerID, OwnerRole: t.OwnerRole,
		Due: t.Due, Status: t.Status, StatusReason: t.StatusReason, Required: t.Required, Checklist: t.Checklist,
		Source: t.Source, Version: t.Version}
}
