// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// registerIncidentWork registers the routes of tasks, timeline, playbooks
// applied.
func (s *Server) registerIncidentWork() {
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/tasks", s.incidentTasks)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/tasks", s.taskAdd)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/tasks/{id}/edit", s.taskEdit)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/tasks/{id}/status", s.taskStatus)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/tasks/{id}/check", s.taskCheck)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/tasks/{id}/delete", s.taskDelete)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/playbook", s.playbookApply)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/timeline", s.incidentTimeline)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/timeline", s.timelineNote)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/timeline.csv", s.timelineCSV)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/timeline.json", s.timelineJSON)
}

// dueLayout is the value of a datetime-local input to the minute.
const dueLayout = "2006-01-02T15:04"

// tasksPage is the data of an incident's tasks tab.
type tasksPage struct {
	*Page
	Head   incidentHead
	Closed bool
	Phases []taskPhaseView
	Count  int
	// Active names the form the page is shown again for ("new" or
	// "task-<id>"), whose fields show their messages.
	Active   string
	New      taskForm
	Owners   []ownerOption
	Statuses []incident.TaskStatus
	// PhaseChoices are the phases a task may be put in.
	PhaseChoices []incident.Phase
	Apply        playbookChoice
	// IncVersion is the incident's version, which applying a playbook
	// that sets flags changes.
	IncVersion int64
}

// taskCard is the data of the incident_task partial.
type taskCard struct {
	P      *tasksPage
	V      taskView
	Active bool
}

// TaskCard prepares the card of task v.
func (pg *tasksPage) TaskCard(v taskView) taskCard {
	return taskCard{P: pg, V: v, Active: pg.Active == v.FormID}
}

// taskFields is the data of the incident_task_fields partial: the fields of
// the form with id ID.
type taskFields struct {
	P      *tasksPage
	ID     string
	F      taskForm
	Active bool
}

// Fields prepares the fields of form id holding f; active says the page is
// shown again for this form, whose fields then show their messages.
func (pg *tasksPage) Fields(id string, f taskForm, active bool) taskFields {
	return taskFields{P: pg, ID: id, F: f, Active: active}
}

// FieldErr returns the message of field when active, else "".
func (pg *tasksPage) FieldErr(active bool, field string) string {
	if !active {
		return ""
	}
	return pg.Err(field)
}

// pbTaskCard is the data of the incident_playbook_task partial.
type pbTaskCard struct {
	P *tasksPage
	V pbTaskView
}

// PlaybookTask prepares a playbook task's line.
func (pg *tasksPage) PlaybookTask(v pbTaskView) pbTaskCard { return pbTaskCard{P: pg, V: v} }

// taskPhaseView is one phase's tasks.
type taskPhaseView struct {
	Phase   incident.Phase
	Current bool
	Tasks   []taskView
}

// taskView is one task as its card shows it. Texts go through the
// template's escaping.
type taskView struct {
	ID, Version  int64
	FormID       string
	Title, Why   string
	Status       incident.TaskStatus
	StatusReason string
	Owner        string
	Due          string
	DueISO       string
	Overdue      bool
	Required     bool
	Source       string
	Checklist    []checkView
	ChecksDone   int
	Done         string // when it was done or skipped
	Form         taskForm
	// Reason is the reason typed in the status form, when shown again.
	Reason string
}

// checkView is one checklist line.
type checkView struct {
	Index int
	Text  string
	Done  bool
}

// taskForm is the add or edit form of a task, as typed.
type taskForm struct {
	Title, Why, Owner, Due, Checklist string
	Phase                             incident.Phase
	Required                          bool
}

// ownerOption is a choice of the owner select: "user:<id>" or "role:<role>".
type ownerOption struct {
	Value, Label string
	Group        string // "user" or "role"
}

// incidentTasks shows an incident's tasks: GET /incidents/{ref}/tasks.
func (s *Server) incidentTasks(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	pg, err := s.tasksData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if pg.Apply.Err != nil {
		pg.formErrors(pg.Apply.Err)
		status = statusFor(fault.KindOf(pg.Apply.Err))
	}
	s.render(w, r, status, "incident_tasks", pg)
}

// tasksData builds the tasks tab of incident d.
func (s *Server) tasksData(r *http.Request, d incident.Detail) (*tasksPage, error) {
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.tasks.title", "ref", d.Ref)
	pg := &tasksPage{Page: p, Head: headOf(p, d.Incident, "tasks", true), Closed: d.Closed(),
		Statuses: incident.TaskStatuses, PhaseChoices: incident.PlaybookPhases(), Count: len(d.Tasks),
		New: taskForm{Phase: d.Phase}, IncVersion: d.Version}
	if d.Closed() {
		pg.New.Phase = incident.PhaseReview
	}
	owners, names, err := s.taskOwners(r.Context(), p)
	if err != nil {
		return nil, err
	}
	pg.Owners = owners
	lib, err := s.playbookLibrary(r.Context())
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, pb := range lib {
		titles[pb.ID] = incident.PlaybookText(pb.Title, string(p.Lang))
	}
	now := s.now()
	for _, ph := range incident.Phases {
		pv := taskPhaseView{Phase: ph, Current: ph == d.Phase}
		for _, t := range d.Tasks {
			if t.Phase == ph {
				pv.Tasks = append(pv.Tasks, s.taskViewOf(p, t, names, titles, now))
			}
		}
		if len(pv.Tasks) > 0 || (ph != incident.PhaseClosed && ph == d.Phase) {
			pg.Phases = append(pg.Phases, pv)
		}
	}
	pg.Apply = s.playbookChoiceOf(r, p, d, lib)
	return pg, nil
}

// taskViewOf prepares task t for its card.
func (s *Server) taskViewOf(p *Page, t incident.Task, names map[int64]string, titles map[string]string, now time.Time) taskView {
	v := taskView{ID: t.ID, Version: t.Version, FormID: "task-" + strconv.FormatInt(t.ID, 10), Title: t.Title, Why: t.Why,
		Status: t.Status, StatusReason: t.StatusReason, Required: t.Required, Overdue: t.Overdue(now)}
	switch {
	case t.OwnerID != 0:
		v.Owner = names[t.OwnerID]
		if v.Owner == "" {
			v.Owner = "#" + strconv.FormatInt(t.OwnerID, 10)
		}
	case t.OwnerRole != "":
		v.Owner = p.T("playbook.role." + t.OwnerRole)
	}
	if !t.Due.IsZero() {
		v.Due, v.DueISO = p.Time(t.Due), t.Due.UTC().Format(time.RFC3339)
	}
	if !t.DoneAt.IsZero() {
		v.Done = p.Time(t.DoneAt)
	}
	if !t.Source.Manual() {
		v.Source = titles[t.Source.PlaybookID]
		if v.Source == "" {
			v.Source = t.Source.PlaybookID
		}
	}
	lines := make([]string, 0, len(t.Checklist))
	for i, c := range t.Checklist {
		v.Checklist = append(v.Checklist, checkView{Index: i, Text: c.Text, Done: c.Done})
		if c.Done {
			v.ChecksDone++
		}
		lines = append(lines, c.Text)
	}
	v.Form = taskForm{Title: t.Title, Why: t.Why, Phase: t.Phase, Required: t.Required, Checklist: strings.Join(lines, "\n")}
	switch {
	case t.OwnerID != 0:
		v.Form.Owner = "user:" + strconv.FormatInt(t.OwnerID, 10)
	case t.OwnerRole != "":
		v.Form.Owner = "role:" + t.OwnerRole
	}
	if !t.Due.IsZero() {
		v.Form.Due = t.Due.In(p.loc).Format(dueLayout)
	}
	return v
}

// taskOwners lists who may own a task: the users who handle incidents,
// then the playbook roles; and the names of every user by id.
func (s *Server) taskOwners(ctx context.Context, p *Page) ([]ownerOption, map[int64]string, error) {
	us, err := s.auth.Users(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[int64]string, len(us))
	var out []ownerOption
	for _, u := range us {
		label := u.Name
		if u.DisplayName != "" && u.DisplayName != u.Name {
			label = u.DisplayName + " (" + u.Name + ")"
		}
		label = safeLine(label, 200)
		names[u.ID] = label
		if !u.Disabled && auth.Can(u.Role, auth.PermIncidents) {
			out = append(out, ownerOption{Value: "user:" + strconv.FormatInt(u.ID, 10), Label: label, Group: "user"})
		}
	}
	for _, role := range incident.PlaybookRoles() {
		out = append(out, ownerOption{Value: "role:" + role, Label: p.T("playbook.role." + role), Group: "role"})
	}
	return out, names, nil
}

// readTaskForm reads the add or edit form as typed.
func readTaskForm(r *http.Request) taskForm {
	return taskForm{Title: r.PostFormValue("title"), Why: r.PostFormValue("why"), Owner: r.PostFormValue("owner"),
		Due: strings.TrimSpace(r.PostFormValue("due")), Checklist: r.PostFormValue("checklist"),
		Phase: incident.Phase(r.PostFormValue("phase")), Required: r.PostFormValue("required") != ""}
}

// input turns the form into a task input, keeping the ticks of checklist
// lines that are still there (old). Field problems come back together.
func (f taskForm) input(loc *time.Location, old []incident.CheckItem) (incident.TaskInput, error) {
	var errs fault.List
	in := incident.TaskInput{Title: f.Title, Why: f.Why, Phase: f.Phase, Required: f.Required}
	switch kind, val, _ := strings.Cut(f.Owner, ":"); {
	case f.Owner == "":
	case kind == "user":
		id, err := strconv.ParseInt(val, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fault.InvalidField("owner", "incidents.tasks.owner_invalid"))
		}
		in.OwnerID = id
	case kind == "role":
		in.OwnerRole = val
	default:
		errs = append(errs, fault.InvalidField("owner", "incidents.tasks.owner_invalid"))
	}
	if f.Due != "" {
		t, err := parseInputTime(f.Due, loc)
		if err != nil {
			errs = append(errs, fault.InvalidField("due", "incidents.tasks.due_invalid", "value", safeLine(f.Due, 40)))
		}
		in.Due = t
	}
	done := map[string]bool{}
	for _, c := range old {
		if c.Done {
			done[c.Text] = true
		}
	}
	for line := range strings.SplitSeq(strings.ReplaceAll(f.Checklist, "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			in.Checklist = append(in.Checklist, incident.CheckItem{Text: line, Done: done[line]})
		}
	}
	return in, errs.Err()
}

// taskOf returns the task with the route's {id} when it belongs to incident
// d; NotFound otherwise, so that no form reaches another incident's task.
func taskOf(r *http.Request, d incident.Detail) (incident.Task, error) {
	id, err := pathID(r)
	if err != nil {
		return incident.Task{}, err
	}
	for _, t := range d.Tasks {
		if t.ID == id {
			return t, nil
		}
	}
	return incident.Task{}, fault.New(fault.NotFound, "incident.task_not_found", "id", id)
}

// formVersion reads the version field a form carries.
func formVersion(r *http.Request) int64 {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return v
}

// taskAdd adds a task: POST /incidents/{ref}/tasks.
func (s *Server) taskAdd(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	var f taskForm
	s.form(w, r, "incident_tasks", incidentHref(d.Ref, "tasks"), "inctask_added", func() error {
		f = readTaskForm(r)
		in, err := f.input(s.page(r, "", "").loc, nil)
		if err != nil {
			return err
		}
		_, err = s.opts.Incidents.AddTask(r.Context(), incidentActor(r), d.ID, in)
		return err
	}, func() (pageData, error) {
		pg, err := s.tasksData(r, d)
		if err != nil {
			return nil, err
		}
		pg.Active, pg.New = "new", f
		return pg, nil
	})
}

// taskChange runs one change of the task the route names, showing the
// tasks tab again with the typed values kept when it is refused.
func (s *Server) taskChange(w http.ResponseWriter, r *http.Request, done string, act func(d incident.Detail, t incident.Task) error, keep func(v *taskView)) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	t, err := taskOf(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.form(w, r, "incident_tasks", incidentHref(d.Ref, "tasks")+"#task-"+strconv.FormatInt(t.ID, 10), done,
		func() error { return act(d, t) },
		func() (pageData, error) {
			pg, err := s.tasksData(r, d)
			if err != nil {
				return nil, err
			}
			pg.Active = "task-" + strconv.FormatInt(t.ID, 10)
			for i := range pg.Phases {
				for j := range pg.Phases[i].Tasks {
					if v := &pg.Phases[i].Tasks[j]; v.ID == t.ID && keep != nil {
						keep(v)
					}
				}
			}
			return pg, nil
		})
}

// taskEdit changes what was written about a task: POST
// /incidents/{ref}/tasks/{id}/edit.
func (s *Server) taskEdit(w http.ResponseWriter, r *http.Request) {
	var f taskForm
	s.taskChange(w, r, "inctask_saved", func(d incident.Detail, t incident.Task) error {
		f = readTaskForm(r)
		in, err := f.input(s.page(r, "", "").loc, t.Checklist)
		if err != nil {
			return err
		}
		_, err = s.opts.Incidents.UpdateTask(r.Context(), incidentActor(r), incident.TaskRef{ID: t.ID, Version: formVersion(r)}, in)
		return err
	}, func(v *taskView) { v.Form = f })
}

// taskStatus moves a task to another status: POST
// /incidents/{ref}/tasks/{id}/status.
func (s *Server) taskStatus(w http.ResponseWriter, r *http.Request) {
	s.taskChange(w, r, "inctask_status", func(d incident.Detail, t incident.Task) error {
		_, err := s.opts.Incidents.SetTaskStatus(r.Context(), incidentActor(r), incident.TaskRef{ID: t.ID, Version: formVersion(r)},
			incident.TaskStatus(r.PostFormValue("status")), r.PostFormValue("reason"))
		return err
	}, func(v *taskView) { v.Reason = r.PostFormValue("reason") })
}

// taskCheck ticks or unticks a checklist line: POST
// /incidents/{ref}/tasks/{id}/check.
func (s *Server) taskCheck(w http.ResponseWriter, r *http.Request) {
	s.taskChange(w, r, "", func(d incident.Detail, t incident.Task) error {
		i, err := strconv.Atoi(r.PostFormValue("item"))
		if err != nil {
			return fault.InvalidField("item", "incident.task_item_invalid")
		}
		_, err = s.opts.Incidents.CheckTaskItem(r.Context(), incidentActor(r), incident.TaskRef{ID: t.ID, Version: formVersion(r)},
			i, r.PostFormValue("done") == "true")
		return err
	}, nil)
}

// taskDelete removes a task that is not required: POST
// /incidents/{ref}/tasks/{id}/delete.
func (s *Server) taskDelete(w http.ResponseWriter, r *http.Request) {
	s.taskChange(w, r, "inctask_deleted", func(d incident.Detail, t incident.Task) error {
		return s.opts.Incidents.DeleteTask(r.Context(), incidentActor(r), incident.TaskRef{ID: t.ID, Version: formVersion(r)})
	}, nil)
}
