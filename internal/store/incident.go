// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/incident"
)

// Incidents and what hangs off them: the per-year reference counter,
// assignees, tasks, timeline, links, reviews and prevention actions. The
// lifecycle rules live in internal/incident; this file only keeps rows.
// Lists are JSON text; custom fields are [name, value] pairs so that their
// order survives; flags are their stored names (incident.Flags.Names).

// The incident service runs on this store.
var _ incident.Store = (*DB)(nil)

// NextIncidentNumber returns the next number of a tenant's incidents of
// year, from 1. The upsert is atomic on both dialects; in a transaction the
// counter row stays locked until commit, and a rollback gives the number
// back.
func (db *DB) NextIncidentNumber(ctx context.Context, tenant string, year int) (int, error) {
	var n int
	err := db.queryRow(ctx, `INSERT INTO incident_counters (tenant, year, last_number) VALUES (?, ?, 1)
		ON CONFLICT (tenant, year) DO UPDATE SET last_number = incident_counters.last_number + 1
		RETURNING last_number`, tenant, year).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: next incident number %d: %w", year, mapErr(err))
	}
	return n, nil
}

const incidentColumns = `id, tenant, ref, title, description, type, status, status_reason, phase, resolution, summary,
	severity, assessment, override_severity, override_reason, override_by_id, override_by, override_at, assignees,
	affected_assets, affected_users, techniques, fields, tags, flags, detected_at, aware_at, acknowledged_at,
	contained_at, resolved_at, closed_at, created_by_id, created_by, version, created_at, updated_at`

// assessmentRecord is an assessment as stored, with names of its own so
// that renaming a Go field does not lose stored answers.
type assessmentRecord struct {
	Functional     string         `json:"functional"`
	Information    []string       `json:"information,omitempty"`
	People         int64          `json:"people,omitempty"`
	Recoverability string         `json:"recoverability"`
	Criticality    string         `json:"criticality"`
	Severity       string         `json:"severity"`
	Reasons        []reasonRecord `json:"reasons,omitempty"`
	At             int64          `json:"at"`
	ByID           int64          `json:"by_id,omitempty"`
	By             string         `json:"by,omitempty"`
}

type reasonRecord struct {
	Msg      string   `json:"msg"`
	Args     []string `json:"args,omitempty"`
	Severity string   `json:"severity"`
}

func encodeAssessment(a incident.Assessment) (string, error) {
	if a.Severity == "" {
		return "", nil
	}
	r := assessmentRecord{Functional: string(a.Impact.Functional), People: a.Impact.People,
		Recoverability: string(a.Impact.Recoverability), Criticality: string(a.Impact.Criticality),
		Severity: string(a.Severity), At: micros(a.At), ByID: a.ByID, By: a.By}
	for _, k := range a.Impact.Information {
		r.Information = append(r.Information, string(k))
	}
	for _, x := range a.Reasons {
		r.Reasons = append(r.Reasons, reasonRecord{Msg: x.Msg, Args: x.Args, Severity: string(x.Severity)})
	}
	return encodeJSON(r)
}

func decodeAssessment(s string) (incident.Assessment, error) {
	if s == "" {
		return incident.Assessment{}, nil
	}
	var r assessmentRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return incident.Assessment{}, err
	}
	a := incident.Assessment{Impact: incident.Impact{Functional: incident.FunctionalImpact(r.Functional),
		People: r.People, Recoverability: incident.Recoverability(r.Recoverability),
		Criticality: incident.Criticality(r.Criticality)}, Severity: incident.Severity(r.Severity),
		At: fromMicros(r.At), ByID: r.ByID, By: r.By}
	for _, k := range r.Information {
		a.Impact.Information = append(a.Impact.Information, incident.InformationImpact(k))
	}
	for _, x := range r.Reasons {
		a.Reasons = append(a.Reasons, incident.Reason{Msg: x.Msg, Args: x.Args, Severity: incident.Severity(x.Severity)})
	}
	return a, nil
}

func encodeFields(fs []incident.Field) (string, error) {
	pairs := make([][2]string, len(fs))
	for i, f := range fs {
		pairs[i] = [2]string{f.Name, f.Value}
	}
	return encodeJSON(pairs)
}

func decodeFields(s string) ([]incident.Field, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make([]incident.Field, len(pairs))
	for i, p := range pairs {
		out[i] = incident.Field{Name: p[0], Value: p[1]}
	}
	return out, nil
}

// decodeList reads a JSON list; an empty list reads as nil.
func decodeList[T any](s string) ([]T, error) {
	var out []T
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// encodeList renders a list as JSON; nil becomes [].
func encodeList[T any](v []T) (string, error) {
	if v == nil {
		v = []T{}
	}
	return encodeJSON(v)
}

// incidentRow is an incident's list and assessment columns as JSON text.
type incidentRow struct {
	assessment, assignees, assets, users, techniques, fields, tags, flags string
}

func encodeIncident(inc incident.Incident) (incidentRow, error) {
	var r incidentRow
	var err error
	set := func(dst *string, f func() (string, error)) {
		if err == nil {
			*dst, err = f()
		}
	}
	set(&r.assessment, func() (string, error) { return encodeAssessment(inc.Assessment) })
	set(&r.assignees, func() (string, error) { return encodeList(inc.Assignees) })
	set(&r.assets, func() (string, error) { return encodeList(inc.AffectedAssets) })
	set(&r.users, func() (string, error) { return encodeList(inc.AffectedUsers) })
	set(&r.techniques, func() (string, error) { return encodeList(inc.Techniques) })
	set(&r.fields, func() (string, error) { return encodeFields(inc.Fields) })
	set(&r.tags, func() (string, error) { return encodeList(inc.Tags) })
	set(&r.flags, func() (string, error) { return encodeList(inc.Flags.Names()) })
	return r, err
}

func scanIncident(s scanner) (incident.Incident, error) {
	var i incident.Incident
	var r incidentRow
	var typ, status, phase, resolution, severity, override string
	var overrideAt, detected, aware, acked, contained, resolved, closed, created, updated int64
	err := s.Scan(&i.ID, &i.Tenant, &i.Ref, &i.Title, &i.Description, &typ, &status, &i.StatusReason, &phase,
		&resolution, &i.Summary, &severity, &r.assessment, &override, &i.Override.Reason, &i.Override.ByID,
		&i.Override.By, &overrideAt, &r.assignees, &r.assets, &r.users, &r.techniques, &r.fields, &r.tags, &r.flags,
		&detected, &aware, &acked, &contained, &resolved, &closed, &i.CreatedByID, &i.CreatedBy, &i.Version,
		&created, &updated)
	if err != nil {
		return incident.Incident{}, mapErr(err)
	}
	i.Type, i.Status, i.Phase = incident.Type(typ), incident.Status(status), incident.Phase(phase)
	i.Resolution, i.Severity = incident.Resolution(resolution), incident.Severity(severity)
	i.Override.Severity, i.Override.At = incident.Severity(override), fromMicros(overrideAt)
	i.DetectedAt, i.AwareAt, i.AcknowledgedAt = fromMicros(detected), fromMicros(aware), fromMicros(acked)
	i.ContainedAt, i.ResolvedAt, i.ClosedAt = fromMicros(contained), fromMicros(resolved), fromMicros(closed)
	i.CreatedAt, i.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := decodeIncident(&i, r); err != nil {
		return incident.Incident{}, fmt.Errorf("incident %d: %w", i.ID, err)
	}
	return i, nil
}

func decodeIncident(i *incident.Incident, r incidentRow) error {
	var err error
	if i.Assessment, err = decodeAssessment(r.assessment); err != nil {
		return fmt.Errorf("assessment: %w", err)
	}
	if i.Assignees, err = decodeList[int64](r.assignees); err != nil {
		return fmt.Errorf("assignees: %w", err)
	}
	for _, l := range []struct {
		name string
		dst  *[]string
		src  string
	}{{"affected assets", &i.AffectedAssets, r.assets}, {"affected users", &i.AffectedUsers, r.users},
		{"techniques", &i.Techniques, r.techniques}, {"tags", &i.Tags, r.tags}} {
		if *l.dst, err = decodeList[string](l.src); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}
	if i.Fields, err = decodeFields(r.fields); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	names, err := decodeList[string](r.flags)
	if err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if i.Flags, err = incident.FlagsOf(names); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	return nil
}

// incidentSearchText is what the list's text filter looks in, lower-cased
// here so that both dialects fold case alike.
func incidentSearchText(i incident.Incident) string {
	parts := []string{i.Ref, i.Title, i.Description}
	parts = append(parts, i.AffectedAssets...)
	parts = append(parts, i.AffectedUsers...)
	parts = append(parts, i.Tags...)
	parts = append(parts, i.Techniques...)
	for _, f := range i.Fields {
		parts = append(parts, f.Value)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

const createIncidentSQL = `INSERT INTO incidents (tenant, ref, title, description, type, status, status_reason, phase,
	resolution, summary, severity, assessment, override_severity, override_reason, override_by_id, override_by,
	override_at, assignees, affected_assets, affected_users, techniques, fields, tags, flags, detected_at, aware_at,
	acknowledged_at, contained_at, resolved_at, closed_at, created_by_id, created_by, search_text, version,
	created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateIncident inserts inc and its assignees and returns it with its id;
// Conflict when the tenant has its reference already.
func (db *DB) CreateIncident(ctx context.Context, inc incident.Incident) (incident.Incident, error) {
	r, err := encodeIncident(inc)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("store: create incident %s: %w", inc.Ref, err)
	}
	err = db.Tx(ctx, func(ctx context.Context) error {
		err := db.queryRow(ctx, createIncidentSQL, inc.Tenant, inc.Ref, inc.Title, inc.Description, string(inc.Type),
			string(inc.Status), inc.StatusReason, string(inc.Phase), string(inc.Resolution), inc.Summary,
			string(inc.Severity), r.assessment, string(inc.Override.Severity), inc.Override.Reason, inc.Override.ByID,
			inc.Override.By, micros(inc.Override.At), r.assignees, r.assets, r.users, r.techniques, r.fields, r.tags,
			r.flags, micros(inc.DetectedAt), micros(inc.AwareAt), micros(inc.AcknowledgedAt), micros(inc.ContainedAt),
			micros(inc.ResolvedAt), micros(inc.ClosedAt), inc.CreatedByID, inc.CreatedBy, incidentSearchText(inc),
			inc.Version, micros(inc.CreatedAt), micros(inc.UpdatedAt)).Scan(&inc.ID)
		if err != nil {
			return mapErr(err)
		}
		return db.setAssignees(ctx, inc.ID, inc.Assignees)
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("store: create incident %s: %w", inc.Ref, err)
	}
	return inc, nil
}

// setAssignees makes ids the rows of an incident's assignees.
func (db *DB) setAssignees(ctx context.Context, incidentID int64, ids []int64) error {
	if _, err := db.exec(ctx, `DELETE FROM incident_assignees WHERE incident_id = ?`, incidentID); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(ids))
	for _, id := range ids {
		args = append(args, incidentID, id)
	}
	_, err := db.exec(ctx, `INSERT INTO incident_assignees (incident_id, user_id) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?, ?), ", len(ids)), ", ")+` ON CONFLICT DO NOTHING`, args...)
	return err
}

const updateIncidentSQL = `UPDATE incidents SET title = ?, description = ?, type = ?, status = ?, status_reason = ?,
	phase = ?, resolution = ?, summary = ?, severity = ?, assessment = ?, override_severity = ?, override_reason = ?,
	override_by_id = ?, override_by = ?, override_at = ?, assignees = ?, affected_assets = ?, affected_users = ?,
	techniques = ?, fields = ?, tags = ?, flags = ?, detected_at = ?, aware_at = ?, acknowledged_at = ?,
	contained_at = ?, resolved_at = ?, closed_at = ?, search_text = ?, version = ?, updated_at = ?
	WHERE id = ? AND version = ?`

// UpdateIncident stores every field of inc but its tenant, reference and
// creation, if the row's version is still prevVersion; NotFound otherwise.
func (db *DB) UpdateIncident(ctx context.Context, inc incident.Incident, prevVersion int64) error {
	r, err := encodeIncident(inc)
	if err != nil {
		return fmt.Errorf("store: update incident %d: %w", inc.ID, err)
	}
	err = db.Tx(ctx, func(ctx context.Context) error {
		res, err := db.exec(ctx, updateIncidentSQL, inc.Title, inc.Description, string(inc.Type), string(inc.Status),
			inc.StatusReason, string(inc.Phase), string(inc.Resolution), inc.Summary, string(inc.Severity), r.assessment,
			string(inc.Override.Severity), inc.Override.Reason, inc.Override.ByID, inc.Override.By,
			micros(inc.Override.At), r.assignees, r.assets, r.users, r.techniques, r.fields, r.tags, r.flags,
			micros(inc.DetectedAt), micros(inc.AwareAt), micros(inc.AcknowledgedAt), micros(inc.ContainedAt),
			micros(inc.ResolvedAt), micros(inc.ClosedAt), incidentSearchText(inc), inc.Version, micros(inc.UpdatedAt),
			inc.ID, prevVersion)
		if err == nil {
			err = affected(res)
		}
		if err != nil {
			return err
		}
		return db.setAssignees(ctx, inc.ID, inc.Assignees)
	})
	if err != nil {
		return fmt.Errorf("store: update incident %d: %w", inc.ID, err)
	}
	return nil
}

// Incident returns the incident with id, or NotFound.
func (db *DB) Incident(ctx context.Context, id int64) (incident.Incident, error) {
	i, err := scanIncident(db.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if err != nil {
		return incident.Incident{}, fmt.Errorf("store: incident %d: %w", id, err)
	}
	return i, nil
}

// IncidentByRef returns a tenant's incident with a reference, or NotFound.
func (db *DB) IncidentByRef(ctx context.Context, tenant, ref string) (incident.Incident, error) {
	i, err := scanIncident(db.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE tenant = ? AND ref = ?`,
		tenant, ref))
	if err != nil {
		return incident.Incident{}, fmt.Errorf("store: incident %s: %w", ref, err)
	}
	return i, nil
}

// whereIn appends "col IN (?, …)" for vs to where and its values to args, when
// vs is not empty.
func whereIn[T ~string](where []string, args []any, col string, vs []T) ([]string, []any) {
	if len(vs) == 0 {
		return where, args
	}
	for _, v := range vs {
		args = append(args, string(v))
	}
	return append(where, col+" IN ("+marks(len(vs))+")"), args
}

// Incidents returns the incidents matching f, highest id first, at most
// f.Limit (all when it is 0).
func (db *DB) Incidents(ctx context.Context, f incident.Filter) ([]incident.Incident, error) {
	where := []string{"tenant = ?"}
	args := []any{f.Tenant}
	where, args = whereIn(where, args, "status", f.Statuses)
	where, args = whereIn(where, args, "phase", f.Phases)
	where, args = whereIn(where, args, "type", f.Types)
	where, args = whereIn(where, args, "severity", f.Severities)
	if f.AssigneeID != 0 {
		where = append(where, "id IN (SELECT incident_id FROM incident_assignees WHERE user_id = ?)")
		args = append(args, f.AssigneeID)
	}
	if f.Text != "" {
		where = append(where, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape.Replace(strings.ToLower(f.Text))+"%")
	}
	if f.After > 0 {
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, db, "incidents", scanIncident, q, args...)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, mapErr(err))
	}
	return out, nil
}

const taskColumns = `incident_tasks.id, incident_tasks.incident_id, incident_tasks.title, incident_tasks.why,
	incident_tasks.phase, incident_tasks.owner_id, incident_tasks.owner_role, incident_tasks.due_at,
	incident_tasks.status, incident_tasks.status_reason, incident_tasks.checklist, incident_tasks.required,
	incident_tasks.playbook_id, incident_tasks.playbook_task, incident_tasks.version, incident_tasks.created_at,
	incident_tasks.updated_at, incident_tasks.done_at`

// checkRecord is a checklist item as stored.
type checkRecord struct {
	Text string `json:"text"`
	Done bool   `json:"done,omitempty"`
}

func encodeChecklist(items []incident.CheckItem) (string, error) {
	out := make([]checkRecord, len(items))
	for i, it := range items {
		out[i] = checkRecord{Text: it.Text, Done: it.Done}
	}
	return encodeJSON(out)
}

func scanTask(s scanner, extra ...any) (incident.Task, error) {
	var t incident.Task
	var phase, status, checklist string
	var due, created, updated, done int64
	dest := append([]any{&t.ID, &t.IncidentID, &t.Title, &t.Why, &phase, &t.OwnerID, &t.OwnerRole, &due, &status,
		&t.StatusReason, &checklist, &t.Required, &t.Source.PlaybookID, &t.Source.TaskID, &t.Version, &created,
		&updated, &done}, extra...)
	if err := s.Scan(dest...); err != nil {
		return incident.Task{}, mapErr(err)
	}
	t.Phase, t.Status = incident.Phase(phase), incident.TaskStatus(status)
	t.Due, t.CreatedAt, t.UpdatedAt, t.DoneAt = fromMicros(due), fromMicros(created), fromMicros(updated), fromMicros(done)
	items, err := decodeList[checkRecord](checklist)
	if err != nil {
		return incident.Task{}, fmt.Errorf("task %d checklist: %w", t.ID, err)
	}
	for _, it := range items {
		t.Checklist = append(t.Checklist, incident.CheckItem{Text: it.Text, Done: it.Done})
	}
	return t, nil
}

const createTaskSQL = `INSERT INTO incident_tasks (incident_id, title, why, phase, owner_id, owner_role, due_at, status,
	status_reason, checklist, required, playbook_id, playbook_task, version, created_at, updated_at, done_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateIncidentTask inserts t and returns it with its id; Invalid when
// its incident does not exist.
func (db *DB) CreateIncidentTask(ctx context.Context, t incident.Task) (incident.Task, error) {
	checklist, err := encodeChecklist(t.Checklist)
	if err != nil {
		return incident.Task{}, fmt.Errorf("store: create task of incident %d: %w", t.IncidentID, err)
	}
	err = db.queryRow(ctx, createTaskSQL, t.IncidentID, t.Title, t.Why, string(t.Phase), t.OwnerID, t.OwnerRole,
		micros(t.Due), string(t.Status), t.StatusReason, checklist, t.Required, t.Source.PlaybookID, t.Source.TaskID,
		t.Version, micros(t.CreatedAt), micros(t.UpdatedAt), micros(t.DoneAt)).Scan(&t.ID)
	if err != nil {
		return incident.Task{}, fmt.Errorf("store: create task of incident %d: %w", t.IncidentID, mapErr(err))
	}
	return t, nil
}

const updateTaskSQL = `UPDATE incident_tasks SET title = ?, why = ?, phase = ?, owner_id = ?, owner_role = ?,
	due_at = ?, status = ?, status_reason = ?, checklist = ?, required = ?, version = ?, updated_at = ?, done_at = ?
	WHERE id = ? AND version = ?`

// UpdateIncidentTask stores t's fields but its incident, source and
// creation, if the row's version is still prevVersion; NotFound otherwise.
func (db *DB) UpdateIncidentTask(ctx context.Context, t incident.Task, prevVersion int64) error {
	checklist, err := encodeChecklist(t.Checklist)
	if err != nil {
		return fmt.Errorf("store: update task %d: %w", t.ID, err)
	}
	r, err := db.exec(ctx, updateTaskSQL, t.Title, t.Why, string(t.Phase), t.OwnerID, t.OwnerRole, micros(t.Due),
		string(t.Status), t.StatusReason, checklist, t.Required, t.Version, micros(t.UpdatedAt), micros(t.DoneAt),
		t.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update task %d: %w", t.ID, err)
	}
	return nil
}

// DeleteIncidentTask removes a task; NotFound if there is none.
func (db *DB) DeleteIncidentTask(ctx context.Context, id int64) error {
	r, err := db.exec(ctx, `DELETE FROM incident_tasks WHERE id = ?`, id)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: delete task %d: %w", id, err)
	}
	return nil
}

// IncidentTask returns the task with id, or NotFound.
func (db *DB) IncidentTask(ctx context.Context, id int64) (incident.Task, error) {
	t, err := scanTask(db.queryRow(ctx, `SELECT `+taskColumns+` FROM incident_tasks WHERE id = ?`, id))
	if err != nil {
		return incident.Task{}, fmt.Errorf("store: task %d: %w", id, err)
	}
	return t, nil
}

// IncidentTasks returns an incident's tasks in creation order.
func (db *DB) IncidentTasks(ctx context.Context, incidentID int64) ([]incident.Task, error) {
	return queryAll(ctx, db, fmt.Sprintf("tasks of incident %d", incidentID), func(s scanner) (incident.Task, error) {
		return scanTask(s)
	}, `SELECT `+taskColumns+` FROM incident_tasks WHERE incident_id = ? ORDER BY id`, incidentID)
}

// headlineColumns are the incident columns of an incident.Headline.
const headlineColumns = `incidents.id, incidents.ref, incidents.title, incidents.type, incidents.status,
	incidents.phase, incidents.severity`

// headlineDest returns scan destinations filling h; finish converts the
// typed fields once scanned.
func headlineDest(h *incident.Headline) (dest []any, finish func()) {
	var typ, status, phase, severity string
	return []any{&h.ID, &h.Ref, &h.Title, &typ, &status, &phase, &severity}, func() {
		h.Type, h.Status, h.Phase, h.Severity = incident.Type(typ), incident.Status(status), incident.Phase(phase),
			incident.Severity(severity)
	}
}

// OverdueIncidentTasks returns a tenant's open and in-progress tasks due
// before now on incidents not closed, earliest due first, at most limit.
func (db *DB) OverdueIncidentTasks(ctx context.Context, tenant string, now time.Time, limit int) ([]incident.DueTask, error) {
	q := `SELECT ` + taskColumns + `, ` + headlineColumns + ` FROM incident_tasks
		JOIN incidents ON incidents.id = incident_tasks.incident_id
		WHERE incident_tasks.status IN (?, ?) AND incident_tasks.due_at > 0 AND incident_tasks.due_at < ?
		AND incidents.tenant = ? AND incidents.status <> ?
		ORDER BY incident_tasks.due_at, incident_tasks.id LIMIT ?`
	return queryAll(ctx, db, "overdue tasks", func(s scanner) (incident.DueTask, error) {
		var d incident.DueTask
		dest, finish := headlineDest(&d.Incident)
		t, err := scanTask(s, dest...)
		if err != nil {
			return incident.DueTask{}, err
		}
		finish()
		d.Task = t
		return d, nil
	}, q, string(incident.TaskOpen), string(incident.TaskInProgress), micros(now), tenant, string(incident.StatusClosed), limit)
}

const entryColumns = `id, incident_id, kind, at, recorded_at, author_id, author, manual, msg, args, text`

func scanEntry(s scanner) (incident.Entry, error) {
	var e incident.Entry
	var kind, args string
	var at, recorded int64
	if err := s.Scan(&e.ID, &e.IncidentID, &kind, &at, &recorded, &e.AuthorID, &e.Author, &e.Manual, &e.Msg, &args,
		&e.Text); err != nil {
		return incident.Entry{}, mapErr(err)
	}
	e.Kind, e.At, e.RecordedAt = incident.EntryKind(kind), fromMicros(at), fromMicros(recorded)
	var err error
	if e.Args, err = decodeList[string](args); err != nil {
		return incident.Entry{}, fmt.Errorf("timeline entry %d args: %w", e.ID, err)
	}
	return e, nil
}

// AddIncidentEntry appends a timeline entry and returns it with its id;
// Invalid when its incident does not exist.
func (db *DB) AddIncidentEntry(ctx context.Context, e incident.Entry) (incident.Entry, error) {
	args, err := encodeList(e.Args)
	if err != nil {
		return incident.Entry{}, fmt.Errorf("store: add timeline entry to incident %d: %w", e.IncidentID, err)
	}
	err = db.queryRow(ctx, `INSERT INTO incident_timeline (incident_id, kind, at, recorded_at, author_id, author, manual,
		msg, args, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.IncidentID, string(e.Kind), micros(e.At),
		micros(e.RecordedAt), e.AuthorID, e.Author, e.Manual, e.Msg, args, e.Text).Scan(&e.ID)
	if err != nil {
		return incident.Entry{}, fmt.Errorf("store: add timeline entry to incident %d: %w", e.IncidentID, mapErr(err))
	}
	return e, nil
}

// IncidentEntries returns an incident's timeline by the time things
// happened, then by recording order.
func (db *DB) IncidentEntries(ctx context.Context, incidentID int64) ([]incident.Entry, error) {
	return queryAll(ctx, db, fmt.Sprintf("timeline of incident %d", incidentID), scanEntry,
		`SELECT `+entryColumns+` FROM incident_timeline WHERE incident_id = ? ORDER BY at, id`, incidentID)
}

// AddIncidentLink stores a link; Conflict when it exists, Invalid when an
// incident does not.
func (db *DB) AddIncidentLink(ctx context.Context, l incident.Link) error {
	if _, err := db.exec(ctx, `INSERT INTO incident_links (from_id, to_id, kind, created_at, author_id, author)
		VALUES (?, ?, ?, ?, ?, ?)`, l.From, l.To, string(l.Kind), micros(l.CreatedAt), l.AuthorID, l.Author); err != nil {
		return fmt.Errorf("store: link incident %d to %d: %w", l.From, l.To, err)
	}
	return nil
}

// DeleteIncidentLink removes the link with l's ends and kind; NotFound if
// there is none.
func (db *DB) DeleteIncidentLink(ctx context.Context, l incident.Link) error {
	r, err := db.exec(ctx, `DELETE FROM incident_links WHERE from_id = ? AND to_id = ? AND kind = ?`, l.From, l.To,
		string(l.Kind))
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: unlink incident %d from %d: %w", l.From, l.To, err)
	}
	return nil
}

// IncidentLinks returns the links from and to an incident, oldest first,
// each with the incident at its other end.
func (db *DB) IncidentLinks(ctx context.Context, incidentID int64) ([]incident.Linked, error) {
	q := `SELECT incident_links.from_id, incident_links.to_id, incident_links.kind, incident_links.created_at,
		incident_links.author_id, incident_links.author, ` + headlineColumns + ` FROM incident_links
		JOIN incidents ON incidents.id = CASE WHEN incident_links.from_id = ? THEN incident_links.to_id
			ELSE incident_links.from_id END
		WHERE incident_links.from_id = ? OR incident_links.to_id = ?
		ORDER BY incident_links.created_at, incident_links.from_id, incident_links.to_id, incident_links.kind`
	return queryAll(ctx, db, fmt.Sprintf("links of incident %d", incidentID), func(s scanner) (incident.Linked, error) {
		var l incident.Linked
		var kind string
		var created int64
		dest, finish := headlineDest(&l.Other)
		if err := s.Scan(append([]any{&l.From, &l.To, &kind, &created, &l.AuthorID, &l.Author}, dest...)...); err != nil {
			return incident.Linked{}, mapErr(err)
		}
		finish()
		l.Kind, l.CreatedAt, l.Reverse = incident.LinkKind(kind), fromMicros(created), l.To == incidentID
		return l, nil
	}, q, incidentID, incidentID, incidentID)
}

const reviewColumns = `incident_id, cause, cause_text, whys, went_well, went_badly, completed_at, completed_by, version,
	updated_at, updated_by`

// IncidentReview returns an incident's review, or NotFound.
func (db *DB) IncidentReview(ctx context.Context, incidentID int64) (incident.Review, error) {
	var r incident.Review
	var cause, whys string
	var completed, updated int64
	err := db.queryRow(ctx, `SELECT `+reviewColumns+` FROM incident_reviews WHERE incident_id = ?`, incidentID).Scan(
		&r.IncidentID, &cause, &r.CauseText, &whys, &r.WentWell, &r.WentBadly, &completed, &r.CompletedBy, &r.Version,
		&updated, &r.UpdatedBy)
	if err != nil {
		return incident.Review{}, fmt.Errorf("store: review of incident %d: %w", incidentID, mapErr(err))
	}
	r.Cause, r.CompletedAt, r.UpdatedAt = incident.RootCause(cause), fromMicros(completed), fromMicros(updated)
	if r.Whys, err = decodeList[string](whys); err != nil {
		return incident.Review{}, fmt.Errorf("store: review of incident %d whys: %w", incidentID, err)
	}
	return r, nil
}

// SaveIncidentReview inserts r when prevVersion is 0 (Conflict if the
// incident has a review) or updates it if the row's version is still
// prevVersion (NotFound otherwise).
func (db *DB) SaveIncidentReview(ctx context.Context, r incident.Review, prevVersion int64) error {
	whys, err := encodeList(r.Whys)
	if err != nil {
		return fmt.Errorf("store: save review of incident %d: %w", r.IncidentID, err)
	}
	if prevVersion == 0 {
		_, err = db.exec(ctx, `INSERT INTO incident_reviews (`+reviewColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.IncidentID, string(r.Cause), r.CauseText, whys, r.WentWell, r.WentBadly, micros(r.CompletedAt),
			r.CompletedBy, r.Version, micros(r.UpdatedAt), r.UpdatedBy)
	} else {
		var res sql.Result
		res, err = db.exec(ctx, `UPDATE incident_reviews SET cause = ?, cause_text = ?, whys = ?, went_well = ?,
			went_badly = ?, completed_at = ?, completed_by = ?, version = ?, updated_at = ?, updated_by = ?
			WHERE incident_id = ? AND version = ?`, string(r.Cause), r.CauseText, whys, r.WentWell, r.WentBadly,
			micros(r.CompletedAt), r.CompletedBy, r.Version, micros(r.UpdatedAt), r.UpdatedBy, r.IncidentID, prevVersion)
		if err == nil {
			err = affected(res)
		}
	}
	if err != nil {
		return fmt.Errorf("store: save review of incident %d: %w", r.IncidentID, err)
	}
	return nil
}

const actionColumns = `incident_actions.id, incident_actions.incident_id, incident_actions.title,
	incident_actions.owner_id, incident_actions.owner_role, incident_actions.due_at, incident_actions.status,
	incident_actions.status_reason, incident_actions.version, incident_actions.created_at,
	incident_actions.updated_at, incident_actions.done_at`

func scanAction(s scanner, extra ...any) (incident.PreventionAction, error) {
	var p incident.PreventionAction
	var status string
	var due, created, updated, done int64
	if err := s.Scan(append([]any{&p.ID, &p.IncidentID, &p.Title, &p.OwnerID, &p.OwnerRole, &due, &status,
		&p.StatusReason, &p.Version, &created, &updated, &done}, extra...)...); err != nil {
		return incident.PreventionAction{}, mapErr(err)
	}
	p.Status = incident.ActionStatus(status)
	p.Due, p.CreatedAt, p.UpdatedAt, p.DoneAt = fromMicros(due), fromMicros(created), fromMicros(updated), fromMicros(done)
	return p, nil
}

// CreatePreventionAction inserts p and returns it with its id; Invalid
// when its incident does not exist.
func (db *DB) CreatePreventionAction(ctx context.Context, p incident.PreventionAction) (incident.PreventionAction, error) {
	err := db.queryRow(ctx, `INSERT INTO incident_actions (incident_id, title, owner_id, owner_role, due_at, status,
		status_reason, version, created_at, updated_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.IncidentID, p.Title, p.OwnerID, p.OwnerRole, micros(p.Due), string(p.Status), p.StatusReason, p.Version,
		micros(p.CreatedAt), micros(p.UpdatedAt), micros(p.DoneAt)).Scan(&p.ID)
	if err != nil {
		return incident.PreventionAction{}, fmt.Errorf("store: create prevention action of incident %d: %w", p.IncidentID, mapErr(err))
	}
	return p, nil
}

// UpdatePreventionAction stores p's fields but its incident and creation,
// if the row's version is still prevVersion; NotFound otherwise.
func (db *DB) UpdatePreventionAction(ctx context.Context, p incident.PreventionAction, prevVersion int64) error {
	r, err := db.exec(ctx, `UPDATE incident_actions SET title = ?, owner_id = ?, owner_role = ?, due_at = ?, status = ?,
		status_reason = ?, version = ?, updated_at = ?, done_at = ? WHERE id = ? AND version = ?`, p.Title, p.OwnerID,
		p.OwnerRole, micros(p.Due), string(p.Status), p.StatusReason, p.Version, micros(p.UpdatedAt), micros(p.DoneAt),
		p.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update prevention action %d: %w", p.ID, err)
	}
	return nil
}

// PreventionAction returns the prevention action with id, or NotFound.
func (db *DB) PreventionAction(ctx context.Context, id int64) (incident.PreventionAction, error) {
	p, err := scanAction(db.queryRow(ctx, `SELECT `+actionColumns+` FROM incident_actions WHERE id = ?`, id))
	if err != nil {
		return incident.PreventionAction{}, fmt.Errorf("store: prevention action %d: %w", id, err)
	}
	return p, nil
}

// PreventionActions returns an incident's prevention actions in creation
// order.
func (db *DB) PreventionActions(ctx context.Context, incidentID int64) ([]incident.PreventionAction, error) {
	return queryAll(ctx, db, fmt.Sprintf("prevention actions of incident %d", incidentID),
		func(s scanner) (incident.PreventionAction, error) { return scanAction(s) },
		`SELECT `+actionColumns+` FROM incident_actions WHERE incident_id = ? ORDER BY id`, incidentID)
}

// OpenPreventionActions returns a tenant's open and in-progress prevention
// actions by due time (those without one last), at most limit.
func (db *DB) OpenPreventionActions(ctx context.Context, tenant string, limit int) ([]incident.DueAction, error) {
	q := `SELECT ` + actionColumns + `, ` + headlineColumns + ` FROM incident_actions
		JOIN incidents ON incidents.id = incident_actions.incident_id
		WHERE incident_actions.status IN (?, ?) AND incidents.tenant = ?
		ORDER BY CASE WHEN incident_actions.due_at = 0 THEN 1 ELSE 0 END, incident_actions.due_at, incident_actions.id
		LIMIT ?`
	return queryAll(ctx, db, "open prevention actions", func(s scanner) (incident.DueAction, error) {
		var d incident.DueAction
		dest, finish := headlineDest(&d.Incident)
		p, err := scanAction(s, dest...)
		if err != nil {
			return incident.DueAction{}, err
		}
		finish()
		d.PreventionAction = p
		return d, nil
	}, q, string(incident.ActionOpen), string(incident.ActionInProgress), tenant, limit)
}

// IncidentPerson returns the user with id as incidents see one, or
// NotFound.
func (db *DB) IncidentPerson(ctx context.Context, id int64) (incident.Person, error) {
	var p incident.Person
	err := db.queryRow(ctx, `SELECT id, name, role, disabled FROM users WHERE id = ?`, id).Scan(&p.ID, &p.Name, &p.Role,
		&p.Disabled)
	if err != nil {
		return incident.Person{}, fmt.Errorf("store: user %d: %w", id, mapErr(err))
	}
	return p, nil
}
