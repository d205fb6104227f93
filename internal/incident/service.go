// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// Store keeps incidents, their tasks, timelines, links, reviews and
// prevention actions. It is implemented by internal/store for SQLite and
// PostgreSQL. Reads of a missing row return NotFound; every method may
// return Internal.
type Store interface {
	// Tx runs fn in a transaction that calls made with its ctx join; a
	// transaction is serialised with every other.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	// NextIncidentNumber returns the next number of a tenant's incidents
	// of year, from 1: concurrent callers get distinct numbers, and a
	// rolled-back transaction gives its number back.
	NextIncidentNumber(ctx context.Context, tenant string, year int) (int, error)
	// CreateIncident inserts inc (ignoring its ID) and returns it with its
	// id; Conflict when the tenant has an incident with its Ref already.
	CreateIncident(ctx context.Context, inc Incident) (Incident, error)
	// UpdateIncident stores every field of inc but its tenant, reference
	// and creation, provided the row's version is still prevVersion;
	// NotFound otherwise.
	UpdateIncident(ctx context.Context, inc Incident, prevVersion int64) error
	// Incident returns the incident with id.
	Incident(ctx context.Context, id int64) (Incident, error)
	// IncidentByRef returns a tenant's incident with a reference.
	IncidentByRef(ctx context.Context, tenant, ref string) (Incident, error)
	// Incidents returns the incidents f selects, newest (highest id)
	// first, at most f.Limit (every one when it is 0).
	Incidents(ctx context.Context, f Filter) ([]Incident, error)

	// CreateIncidentTask inserts t (ignoring its ID) and returns it with
	// its id; Invalid when its incident does not exist.
	CreateIncidentTask(ctx context.Context, t Task) (Task, error)
	// UpdateIncidentTask stores every field of t but its incident, source
	// and creation, provided the row's version is still prevVersion;
	// NotFound otherwise.
	UpdateIncidentTask(ctx context.Context, t Task, prevVersion int64) error
	// DeleteIncidentTask removes a task.
	DeleteIncidentTask(ctx context.Context, id int64) error
	// IncidentTask returns the task with id.
	IncidentTask(ctx context.Context, id int64) (Task, error)
	// IncidentTasks returns an incident's tasks in creation order.
	IncidentTasks(ctx context.Context, incidentID int64) ([]Task, error)
	// OverdueIncidentTasks returns a tenant's open and in-progress tasks
	// due before now on incidents that are not closed, earliest due first,
	// at most limit.
	OverdueIncidentTasks(ctx context.Context, tenant string, now time.Time, limit int) ([]DueTask, error)

	// AddIncidentEntry appends a timeline entry (ignoring its ID) and
	// returns it with its id; Invalid when its incident does not exist.
	AddIncidentEntry(ctx context.Context, e Entry) (Entry, error)
	// IncidentEntries returns an incident's timeline by the time things
	// happened, then by recording order.
	IncidentEntries(ctx context.Context, incidentID int64) ([]Entry, error)

	// AddIncidentLink stores a link; Conflict when the same link (same
	// ends and kind) exists, Invalid when an incident does not.
	AddIncidentLink(ctx context.Context, l Link) error
	// DeleteIncidentLink removes the link with l's ends and kind.
	DeleteIncidentLink(ctx context.Context, l Link) error
	// IncidentLinks returns the links from and to an incident, oldest
	// first, each with the incident at its other end.
	IncidentLinks(ctx context.Context, incidentID int64) ([]Linked, error)

	// IncidentReview returns an incident's post-incident review.
	IncidentReview(ctx context.Context, incidentID int64) (Review, error)
	// SaveIncidentReview inserts r when prevVersion is 0 (Conflict if the
	// incident has one) or else updates it, provided the row's version is
	// still prevVersion (NotFound otherwise).
	SaveIncidentReview(ctx context.Context, r Review, prevVersion int64) error
	// CreatePreventionAction inserts p (ignoring its ID) and returns it
	// with its id; Invalid when its incident does not exist.
	CreatePreventionAction(ctx context.Context, p PreventionAction) (PreventionAction, error)
	// UpdatePreventionAction stores every field of p but its incident and
	// creation, provided the row's version is still prevVersion; NotFound
	// otherwise.
	UpdatePreventionAction(ctx context.Context, p PreventionAction, prevVersion int64) error
	// PreventionAction returns the prevention action with id.
	PreventionAction(ctx context.Context, id int64) (PreventionAction, error)
	// PreventionActions returns an incident's prevention actions in
	// creation order.
	PreventionActions(ctx context.Context, incidentID int64) ([]PreventionAction, error)
	// OpenPreventionActions returns a tenant's open and in-progress
	// prevention actions, closed incidents' included, by due time (those
	// without one last), at most limit.
	OpenPreventionActions(ctx context.Context, tenant string, limit int) ([]DueAction, error)

	// IncidentPerson returns the koban user with id, to check an assignee
	// or an owner.
	IncidentPerson(ctx context.Context, id int64) (Person, error)
	// AppendAudit appends to the audit trail, in the caller's transaction.
	AppendAudit(ctx context.Context, e audit.Entry) error
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is the time zone whose year numbers incidents (default
	// Asia/Tokyo): an incident opened on 1 January at 08:00 in Tokyo is
	// of the new year.
	Location *time.Location
	// Assignable reports whether a user of a role may be assigned
	// incidents, tasks and prevention actions; the caller passes the
	// role check of internal/auth (auth.PermIncidents). Nil allows every
	// enabled user.
	Assignable func(role string) bool
	// Log receives warnings (default: discarded).
	Log *slog.Logger
}

// Service runs incidents: their lifecycle, severity, assignees, links,
// tasks, timeline and post-incident review. Every change is one
// transaction, with its timeline entries and an audit entry: a change that
// fails leaves nothing behind.
type Service struct {
	store      Store
	now        func() time.Time
	loc        *time.Location
	assignable func(role string) bool
	log        *slog.Logger
}

// New returns a Service over store.
func New(store Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = Tokyo()
	}
	if o.Assignable == nil {
		o.Assignable = func(string) bool { return true }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, now: o.Now, loc: o.Location, assignable: o.Assignable, log: o.Log}
}

// nowUTC is the clock at the store's precision.
func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// storeTime returns t in UTC at the store's precision (zero stays zero).
func storeTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// maxSkew is how far in the future a time people give may lie: clocks of
// browsers and servers differ a little.
const maxSkew = 5 * time.Minute

// needFull refuses an actor without full access: every change and every
// detailed read needs it.
func (a Actor) needFull() error {
	if a.Access != AccessFull {
		return fault.New(fault.Forbidden, "incident.forbidden")
	}
	return nil
}

// needSummary refuses an actor who may not even read summaries.
func (a Actor) needSummary() error {
	if a.Access < AccessSummary {
		return fault.New(fault.Forbidden, "incident.forbidden")
	}
	return nil
}

// cleanInput validates and cleans what a person wrote. At creation a zero
// AwareAt becomes now and a zero DetectedAt becomes AwareAt; at update they
// stay zero, meaning unchanged.
func cleanInput(in Input, now time.Time, create bool) (Input, fault.List) {
	var c inputCheck
	out := Input{
		Title:          c.line("title", in.Title, maxTitleLen, true),
		Description:    c.text("description", in.Description, maxDescriptionLen, false),
		Type:           in.Type,
		AffectedAssets: c.list("affected_assets", in.AffectedAssets, maxItemLen, maxItems),
		AffectedUsers:  c.list("affected_users", in.AffectedUsers, maxItemLen, maxItems),
		Techniques:     c.techniques(in.Techniques),
		Fields:         c.fields(in.Fields),
		Tags:           c.list("tags", in.Tags, maxItemLen, maxTags),
		Flags:          in.Flags,
		DetectedAt:     storeTime(in.DetectedAt),
		AwareAt:        storeTime(in.AwareAt),
	}
	if !in.Type.Valid() {
		c.add("type", "incident.type_invalid", "value", cleanLine(string(in.Type), maxIDLen))
	}
	for _, t := range []struct {
		field string
		v     time.Time
	}{{"detected_at", out.DetectedAt}, {"aware_at", out.AwareAt}} {
		if t.v.After(now.Add(maxSkew)) {
			c.add(t.field, "incident.time_future")
		}
	}
	if create {
		if out.AwareAt.IsZero() {
			out.AwareAt = now
		}
		if out.DetectedAt.IsZero() {
			out.DetectedAt = out.AwareAt
		}
	}
	return out, c.errs
}

// apply sets inc's written fields from in; zero times leave inc's.
func (in Input) apply(inc *Incident) {
	inc.Title, inc.Description, inc.Type = in.Title, in.Description, in.Type
	inc.AffectedAssets, inc.AffectedUsers, inc.Techniques = in.AffectedAssets, in.AffectedUsers, in.Techniques
	inc.Fields, inc.Tags, inc.Flags = in.Fields, in.Tags, in.Flags
	if !in.AwareAt.IsZero() {
		inc.AwareAt = in.AwareAt
	}
	if !in.DetectedAt.IsZero() {
		inc.DetectedAt = in.DetectedAt
	}
}

// Create opens an incident in triage, numbered INC-<year>-<n>, with a
// "created" timeline entry and an audit entry. A draft's impact, when given,
// is assessed at once.
//
// Errors: Forbidden without AccessFull; Invalid (a fault.List, field by
// field) for a missing title or type, text over its bounds, malformed
// ATT&CK ids, times in the future, bad questionnaire answers or
// assignees who cannot be assigned.
func (s *Service) Create(ctx context.Context, a Actor, d Draft) (Incident, error) {
	if err := a.needFull(); err != nil {
		return Incident{}, err
	}
	now := s.nowUTC()
	in, errs := cleanInput(d.Input, now, true)
	var as Assessment
	if d.Impact != nil {
		sev, reasons, err := Assess(*d.Impact)
		if err != nil {
			errs = append(errs, fault.Faults(err)...)
		} else {
			im, _ := d.Impact.check()
			as = Assessment{Impact: im, Severity: sev, Reasons: reasons, At: now, ByID: a.UserID, By: a.Name}
		}
	}
	if err := errs.Err(); err != nil {
		return Incident{}, err
	}
	inc := Incident{Tenant: cleanLine(d.Tenant, maxIDLen), Status: StatusOpen, Phase: PhaseTriage,
		Severity: as.Severity, Assessment: as, CreatedByID: a.UserID, CreatedBy: a.Name, Version: 1,
		CreatedAt: now, UpdatedAt: now}
	in.apply(&inc)
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if inc.Assignees, err = s.checkPeople(ctx, "assignees", d.Assignees, maxAssignees); err != nil {
			return err
		}
		year := now.In(s.loc).Year()
		n, err := s.store.NextIncidentNumber(ctx, inc.Tenant, year)
		if err != nil {
			return err
		}
		inc.Ref = FormatRef(year, n)
		if inc, err = s.store.CreateIncident(ctx, inc); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, inc.ID, EntryCreated, now, "incident.timeline.created", "ref", inc.Ref); err != nil {
			return err
		}
		if as.Severity != "" {
			if err := s.logEntry(ctx, a, inc.ID, EntrySeverity, now, "incident.timeline.assessed", "severity", string(as.Severity)); err != nil {
				return err
			}
		}
		return s.audit(ctx, a, "incident.create", inc.ID, nil, viewOf(inc), now)
	})
	if err != nil {
		return Incident{}, wrap(err, "create")
	}
	return inc, nil
}

// wrap adds the operation to an internal error; faults pass as they are,
// with the operation in their chain for logs.
func wrap(err error, op string, id ...int64) error {
	if len(id) > 0 {
		return fmt.Errorf("incident: %s %d: %w", op, id[0], err)
	}
	return fmt.Errorf("incident: %s: %w", op, err)
}

// checkPeople checks that every id is an enabled user who may be assigned
// incidents, and returns the ids without repeats.
func (s *Service) checkPeople(ctx context.Context, field string, ids []int64, maxN int) ([]int64, error) {
	var out []int64
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxN {
		return nil, fault.InvalidField(field, "incident.field_too_many", "max", maxN)
	}
	for _, id := range out {
		if _, err := s.person(ctx, field, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// person returns the assignable user with id, or an Invalid fault about
// field.
func (s *Service) person(ctx context.Context, field string, id int64) (Person, error) {
	p, err := s.store.IncidentPerson(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return Person{}, fault.InvalidField(field, "incident.person_unknown", "id", id)
	} else if err != nil {
		return Person{}, err
	}
	if p.Disabled || !s.assignable(p.Role) {
		return Person{}, fault.InvalidField(field, "incident.person_cannot", "name", p.Name)
	}
	return p, nil
}

// current reads the incident ref names and checks its version.
func (s *Service) current(ctx context.Context, ref Ref) (Incident, error) {
	cur, err := s.store.Incident(ctx, ref.ID)
	if fault.Is(err, fault.NotFound) {
		return Incident{}, fault.Wrap(fault.NotFound, err, "incident.not_found", "id", ref.ID)
	} else if err != nil {
		return Incident{}, err
	}
	if ref.Version != 0 && ref.Version != cur.Version {
		return Incident{}, fault.New(fault.Conflict, "incident.changed", "ref", cur.Ref)
	}
	return cur, nil
}

// open reads the incident ref names, checks its version and refuses a
// closed one.
func (s *Service) open(ctx context.Context, ref Ref) (Incident, error) {
	cur, err := s.current(ctx, ref)
	if err != nil {
		return Incident{}, err
	}
	if cur.Closed() {
		return Incident{}, fault.New(fault.Conflict, "incident.closed", "ref", cur.Ref)
	}
	return cur, nil
}

// change runs one change of an incident in a transaction: it reads the
// incident (refusing a stale version, and a closed incident unless
// closedOK), lets fn edit a copy and log timeline entries, and stores and
// audits the copy if fn says it changed.
func (s *Service) change(ctx context.Context, a Actor, ref Ref, op string, closedOK bool,
	fn func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error)) (Incident, error) {
	if err := a.needFull(); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		read := s.open
		if closedOK {
			read = s.current
		}
		cur, err := read(ctx, ref)
		if err != nil {
			return err
		}
		now := s.nowUTC()
		next := cur
		next.Assignees = slices.Clone(cur.Assignees)
		changed, err := fn(ctx, cur, &next, now)
		if err != nil {
			return err
		}
		if !changed {
			out = cur
			return nil
		}
		next.Version, next.UpdatedAt = cur.Version+1, now
		if err := s.store.UpdateIncident(ctx, next, cur.Version); fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Conflict, err, "incident.changed", "ref", cur.Ref)
		} else if err != nil {
			return err
		}
		out = next
		return s.audit(ctx, a, "incident."+op, cur.ID, viewOf(cur), viewOf(next), now)
	})
	if err != nil {
		return Incident{}, wrap(err, op, ref.ID)
	}
	return out, nil
}

// Update replaces what people write about an incident (title, description,
// type, affected assets and users, techniques, custom fields, tags, flags
// and, when given, the detection and awareness times) with in. ref.Version
// is required: an incident changed since the person loaded it is Conflict
// "incident.changed", so nobody overwrites another's edit unseen. Each
// changed field gets a timeline entry.
//
// Errors: Forbidden; NotFound; Conflict (changed, or closed: reopen it
// first); Invalid as for Create.
func (s *Service) Update(ctx context.Context, a Actor, ref Ref, in Input) (Incident, error) {
	if ref.Version == 0 {
		return Incident{}, fault.InvalidField("version", "incident.version_missing")
	}
	if err := a.needFull(); err != nil {
		return Incident{}, err
	}
	in, errs := cleanInput(in, s.nowUTC(), false)
	if err := errs.Err(); err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "update", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		in.apply(next)
		changes := changedFields(cur, *next)
		for _, c := range changes {
			if err := s.logEntry(ctx, a, cur.ID, EntryUpdate, now, "incident.timeline.changed_"+c.name, c.args...); err != nil {
				return false, err
			}
		}
		return len(changes) > 0, nil
	})
}

// fieldChange is one changed field of an update, for the timeline.
type fieldChange struct {
	name string
	args []string
}

// changedFields lists what differs between two versions of an incident's
// written fields.
func changedFields(a, b Incident) []fieldChange {
	var out []fieldChange
	add := func(differ bool, name string, args ...string) {
		if differ {
			out = append(out, fieldChange{name: name, args: args})
		}
	}
	add(a.Title != b.Title, "title", "from", a.Title, "to", b.Title)
	add(a.Description != b.Description, "description")
	add(a.Type != b.Type, "type", "from", string(a.Type), "to", string(b.Type))
	add(!slices.Equal(a.AffectedAssets, b.AffectedAssets) || !slices.Equal(a.AffectedUsers, b.AffectedUsers), "affected")
	add(!slices.Equal(a.Techniques, b.Techniques), "techniques", "to", strings.Join(b.Techniques, ", "))
	add(!slices.Equal(a.Fields, b.Fields), "fields")
	add(!slices.Equal(a.Tags, b.Tags), "tags", "to", strings.Join(b.Tags, ", "))
	add(a.Flags != b.Flags, "flags", "to", strings.Join(b.Flags.Names(), ", "))
	add(!a.AwareAt.Equal(b.AwareAt), "aware", "from", rfc3339(a.AwareAt), "to", rfc3339(b.AwareAt))
	add(!a.DetectedAt.Equal(b.DetectedAt), "detected", "from", rfc3339(a.DetectedAt), "to", rfc3339(b.DetectedAt))
	return out
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ChangePhase moves an open incident to another phase, as CanMove allows;
// going back needs a reason. The first time the incident leaves triage it
// is acknowledged, reaching eradication or later marks it contained, and
// reaching review resolved (Incident's milestone times). Moving to the
// phase it is in changes nothing.
//
// Errors: Forbidden; NotFound; Conflict "incident.bad_phase" (to triage,
// to closed: use Close), "incident.changed", "incident.closed"; Invalid for
// an unknown phase or a missing or too long reason.
func (s *Service) ChangePhase(ctx context.Context, a Actor, ref Ref, to Phase, reason string) (Incident, error) {
	if !to.Valid() {
		return Incident{}, fault.InvalidField("phase", "incident.phase_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, false)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "phase", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Phase == to {
			return false, nil
		}
		if !CanMove(cur.Phase, to) {
			return false, fault.New(fault.Conflict, "incident.bad_phase", "from", string(cur.Phase), "to", string(to))
		}
		if MoveNeedsReason(cur.Phase, to) && reason == "" {
			return false, fault.InvalidField("reason", "incident.reason_required")
		}
		next.Phase = to
		reached(next, to, now)
		return true, s.logEntry(ctx, a, cur.ID, EntryPhase, now, "incident.timeline.phase",
			"from", string(cur.Phase), "to", string(to), "reason", reason)
	})
}

// reached sets the milestone times an incident passes by reaching phase p
// (those still unset).
func reached(inc *Incident, p Phase, now time.Time) {
	set := func(t *time.Time, from Phase) {
		if t.IsZero() && !p.Before(from) {
			*t = now
		}
	}
	set(&inc.AcknowledgedAt, PhaseAnalysis)
	set(&inc.ContainedAt, PhaseEradication)
	set(&inc.ResolvedAt, PhaseReview)
}

// ChangeStatus puts an open incident on hold (with a reason: whom it waits
// for) or takes it off hold. Closing and reopening have their own methods.
//
// Errors: Forbidden; NotFound; Conflict "incident.bad_status" (to closed),
// "incident.changed", "incident.closed"; Invalid for an unknown status or a
// missing or too long reason.
func (s *Service) ChangeStatus(ctx context.Context, a Actor, ref Ref, to Status, reason string) (Incident, error) {
	if !to.Valid() {
		return Incident{}, fault.InvalidField("status", "incident.status_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, to == StatusOnHold)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "status", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Status == to {
			return false, nil
		}
		if to == StatusClosed {
			return false, fault.New(fault.Conflict, "incident.bad_status", "from", string(cur.Status), "to", string(to))
		}
		next.Status, next.StatusReason = to, reason
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.status",
			"from", string(cur.Status), "to", string(to), "reason", reason)
	})
}

// Closing is how an incident ended.
type Closing struct {
	Resolution Resolution
	Summary    string // required: what happened and what was done, in short
}

// Close closes an incident. It must have a severity; its required tasks
// must all be done or skipped; a high or critical incident needs its
// post-incident review completed. Prevention actions stay open and listed.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed",
// "incident.changed", "incident.close_no_severity",
// "incident.close_open_tasks", "incident.close_review_missing"; Invalid for
// an unknown resolution or a missing or too long summary.
func (s *Service) Close(ctx context.Context, a Actor, ref Ref, c Closing) (Incident, error) {
	var errs fault.List
	if !c.Resolution.Valid() {
		errs = append(errs, fault.InvalidField("resolution", "incident.resolution_invalid",
			"value", cleanLine(string(c.Resolution), maxIDLen)))
	}
	var ic inputCheck
	summary := ic.text("summary", c.Summary, maxReasonLen, true)
	if err := append(errs, ic.errs...).Err(); err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "close", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if cur.Severity == "" {
			return false, fault.New(fault.Conflict, "incident.close_no_severity", "ref", cur.Ref)
		}
		tasks, err := s.store.IncidentTasks(ctx, cur.ID)
		if err != nil {
			return false, err
		}
		open := 0
		for _, t := range tasks {
			if t.Required && t.Status.Open() {
				open++
			}
		}
		if open > 0 {
			return false, fault.New(fault.Conflict, "incident.close_open_tasks", "ref", cur.Ref, "count", open)
		}
		if cur.Severity.AtLeast(SeverityHigh) {
			r, err := s.store.IncidentReview(ctx, cur.ID)
			if err != nil && !fault.Is(err, fault.NotFound) {
				return false, err
			}
			if !r.Complete() {
				return false, fault.New(fault.Conflict, "incident.close_review_missing", "ref", cur.Ref, "severity", string(cur.Severity))
			}
		}
		next.Status, next.StatusReason, next.Phase = StatusClosed, "", PhaseClosed
		next.Resolution, next.Summary, next.ClosedAt = c.Resolution, summary, now
		if next.AcknowledgedAt.IsZero() {
			next.AcknowledgedAt = now
		}
		if next.ResolvedAt.IsZero() {
			next.ResolvedAt = now
		}
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.closed",
			"from", string(cur.Phase), "resolution", string(c.Resolution), "summary", summary)
	})
}

// Reopen reopens a closed incident into phase to (analysis when empty), with
// a reason. Its resolution and summary are cleared (the timeline keeps
// them), as are its closing time and, when it goes back before review, its
// resolution time.
//
// Errors: Forbidden; NotFound; Conflict "incident.not_closed",
// "incident.bad_phase", "incident.changed"; Invalid for a missing or too long
// reason or an unknown phase.
func (s *Service) Reopen(ctx context.Context, a Actor, ref Ref, to Phase, reason string) (Incident, error) {
	if to == "" {
		to = PhaseAnalysis
	}
	if !to.Valid() {
		return Incident{}, fault.InvalidField("phase", "incident.phase_invalid", "value", cleanLine(string(to), maxIDLen))
	}
	reason, err := checkReason(reason, true)
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "reopen", true, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if !cur.Closed() {
			return false, fault.New(fault.Conflict, "incident.not_closed", "ref", cur.Ref)
		}
		if to == PhaseTriage || to == PhaseClosed {
			return false, fault.New(fault.Conflict, "incident.bad_phase", "from", string(cur.Phase), "to", string(to))
		}
		next.Status, next.StatusReason, next.Phase = StatusOpen, reason, to
		next.Resolution, next.Summary, next.ClosedAt = "", "", time.Time{}
		if to.Before(PhaseReview) {
			next.ResolvedAt = time.Time{}
		}
		return true, s.logEntry(ctx, a, cur.ID, EntryStatus, now, "incident.timeline.reopened",
			"to", string(to), "reason", reason)
	})
}

// Assign makes userIDs the incident's assignees (none when empty). Each must
// be an enabled user whom Options.Assignable allows.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid "incident.person_unknown",
// "incident.person_cannot", too many.
func (s *Service) Assign(ctx context.Context, a Actor, ref Ref, userIDs []int64) (Incident, error) {
	return s.change(ctx, a, ref, "assign", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		ids, err := s.checkPeople(ctx, "assignees", userIDs, maxAssignees)
		if err != nil {
			return false, err
		}
		if slices.Equal(ids, cur.Assignees) {
			return false, nil
		}
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			p, err := s.store.IncidentPerson(ctx, id)
			if err != nil {
				return false, err
			}
			names = append(names, p.Name)
		}
		next.Assignees = ids
		return true, s.logEntry(ctx, a, cur.ID, EntryAssign, now, "incident.timeline.assigned", "names", strings.Join(names, ", "))
	})
}

// Assess answers the severity questionnaire for an incident: the computed
// severity becomes the incident's unless an override stands.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid for bad answers.
func (s *Service) Assess(ctx context.Context, a Actor, ref Ref, im Impact) (Incident, error) {
	sev, reasons, err := Assess(im)
	if err != nil {
		return Incident{}, err
	}
	im, _ = im.check()
	return s.change(ctx, a, ref, "assess", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		next.Assessment = Assessment{Impact: im, Severity: sev, Reasons: reasons, At: now, ByID: a.UserID, By: a.Name}
		next.Severity = effectiveSeverity(*next)
		return true, s.logEntry(ctx, a, cur.ID, EntrySeverity, now, "incident.timeline.assessed", "severity", string(sev))
	})
}

// effectiveSeverity is the override's severity when there is one, else the
// assessment's.
func effectiveSeverity(inc Incident) Severity {
	if inc.Override.Severity != "" {
		return inc.Override.Severity
	}
	return inc.Assessment.Severity
}

// OverrideSeverity sets the incident's severity by hand, with a reason;
// sev "" removes the override, so that the assessment's severity applies
// again.
//
// Errors: Forbidden; NotFound; Conflict "incident.changed",
// "incident.closed"; Invalid for an unknown severity or a missing or too
// long reason.
func (s *Service) OverrideSeverity(ctx context.Context, a Actor, ref Ref, sev Severity, reason string) (Incident, error) {
	if sev != "" && !sev.Valid() {
		return Incident{}, fault.InvalidField("severity", "incident.severity_invalid", "value", cleanLine(string(sev), maxIDLen))
	}
	reason, err := checkReason(reason, sev != "")
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, a, ref, "override", false, func(ctx context.Context, cur Incident, next *Incident, now time.Time) (bool, error) {
		if sev == "" {
			if cur.Override.Severity == "" {
				return false, nil
			}
			next.Override = Override{}
		} else {
			next.Override = Override{Severity: sev, Reason: reason, ByID: a.UserID, By: a.Name, At: now}
		}
		next.Severity = effectiveSeverity(*next)
		return true, s.logEntry(ctx, a, cur.ID, EntrySeverity, now, "incident.timeline.override",
			"severity", string(next.Severity), "reason", reason)
	})
}

// checkReason cleans a reason and checks it is present when required and
// not too long.
func checkReason(reason string, required bool) (string, error) {
	var c inputCheck
	if reason = c.text("reason", reason, maxReasonLen, false); required && reason == "" {
		c.add("reason", "incident.reason_required")
	}
	if err := c.errs.Err(); err != nil {
		return "", err
	}
	return reason, nil
}

// Link relates incident from to incident to: related, from a duplicate of
// to, or to the parent of from. Both incidents have one tenant; from must be
// open. An incident has at most one parent and is a duplicate of at most
// one incident, and parents never form a cycle. Both incidents' timelines
// record the link.
//
// Errors: Forbidden; NotFound (from); Conflict "incident.closed",
// "incident.link_exists", "incident.link_taken", "incident.link_cycle";
// Invalid "incident.link_self", "incident.link_target_unknown", an unknown
// kind.
func (s *Service) Link(ctx context.Context, a Actor, from, to int64, kind LinkKind) error {
	if err := a.needFull(); err != nil {
		return err
	}
	if !kind.Valid() {
		return fault.InvalidField("kind", "incident.link_kind_invalid", "value", cleanLine(string(kind), maxIDLen))
	}
	if from == to {
		return fault.InvalidField("to", "incident.link_self")
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		src, dst, err := s.linkEnds(ctx, from, to)
		if err != nil {
			return err
		}
		links, err := s.store.IncidentLinks(ctx, from)
		if err != nil {
			return err
		}
		for _, l := range links {
			switch {
			case l.Other.ID == to && l.Kind == kind && (!l.Reverse || kind == LinkRelated):
				return fault.New(fault.Conflict, "incident.link_exists", "ref", dst.Ref)
			case !l.Reverse && l.Kind == kind && kind != LinkRelated:
				return fault.New(fault.Conflict, "incident.link_taken", "ref", l.Other.Ref)
			}
		}
		if kind != LinkRelated {
			if err := s.noCycle(ctx, from, to, kind); err != nil {
				return err
			}
		}
		now := s.nowUTC()
		if err := s.store.AddIncidentLink(ctx, Link{From: from, To: to, Kind: kind, CreatedAt: now,
			AuthorID: a.UserID, Author: a.Name}); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, from, EntryLink, now, "incident.timeline.linked_"+string(kind), "ref", dst.Ref); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, to, EntryLink, now, "incident.timeline.linked_by_"+string(kind), "ref", src.Ref); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.link", from, nil, linkView{To: to, Kind: kind}, now)
	})
	if err != nil {
		return wrap(err, "link", from)
	}
	return nil
}

// linkEnds reads the two ends of a link to be made or removed: from must
// exist and be open, to must exist in from's tenant.
func (s *Service) linkEnds(ctx context.Context, from, to int64) (Incident, Incident, error) {
	src, err := s.open(ctx, Ref{ID: from})
	if err != nil {
		return Incident{}, Incident{}, err
	}
	dst, err := s.store.Incident(ctx, to)
	if fault.Is(err, fault.NotFound) || (err == nil && dst.Tenant != src.Tenant) {
		return Incident{}, Incident{}, fault.InvalidField("to", "incident.link_target_unknown", "id", to)
	} else if err != nil {
		return Incident{}, Incident{}, err
	}
	return src, dst, nil
}

// maxLinkDepth bounds the walk up a chain of parents or duplicates.
const maxLinkDepth = 100

// noCycle refuses a parent or duplicate link from → to when to already
// leads back to from through links of that kind.
func (s *Service) noCycle(ctx context.Context, from, to int64, kind LinkKind) error {
	at := to
	for range maxLinkDepth {
		if at == from {
			return fault.New(fault.Conflict, "incident.link_cycle")
		}
		links, err := s.store.IncidentLinks(ctx, at)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(links, func(l Linked) bool { return !l.Reverse && l.Kind == kind })
		if i < 0 {
			return nil
		}
		at = links[i].Other.ID
	}
	return fault.New(fault.Conflict, "incident.link_cycle")
}

// Unlink removes a link made by Link (a related link either way round).
//
// Errors: Forbidden; NotFound (from, or no such link); Conflict
// "incident.closed"; Invalid for an unknown kind or target.
func (s *Service) Unlink(ctx context.Context, a Actor, from, to int64, kind LinkKind) error {
	if err := a.needFull(); err != nil {
		return err
	}
	if !kind.Valid() {
		return fault.InvalidField("kind", "incident.link_kind_invalid", "value", cleanLine(string(kind), maxIDLen))
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		src, dst, err := s.linkEnds(ctx, from, to)
		if err != nil {
			return err
		}
		l := Link{From: from, To: to, Kind: kind}
		err = s.store.DeleteIncidentLink(ctx, l)
		if fault.Is(err, fault.NotFound) && kind == LinkRelated {
			err = s.store.DeleteIncidentLink(ctx, Link{From: to, To: from, Kind: kind})
		}
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.NotFound, err, "incident.link_not_found", "ref", dst.Ref)
		} else if err != nil {
			return err
		}
		now := s.nowUTC()
		if err := s.logEntry(ctx, a, from, EntryLink, now, "incident.timeline.unlinked", "ref", dst.Ref, "kind", string(kind)); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, to, EntryLink, now, "incident.timeline.unlinked", "ref", src.Ref, "kind", string(kind)); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.unlink", from, linkView{To: to, Kind: kind}, nil, now)
	})
	if err != nil {
		return wrap(err, "unlink", from)
	}
	return nil
}

// Incidents returns a page of the incidents f selects, newest first. An
// actor with AccessSummary sees them in brief (Incident.Brief).
//
// Errors: Forbidden; Invalid for an unknown status, phase, type or
// severity, a limit out of range, a bad cursor or too long a text.
func (s *Service) Incidents(ctx context.Context, a Actor, f Filter) (Page, error) {
	if err := a.needSummary(); err != nil {
		return Page{}, err
	}
	var errs fault.List
	bad := func(field, msg, v string) {
		errs = append(errs, fault.InvalidField(field, msg, "value", cleanLine(v, maxIDLen)))
	}
	for _, v := range f.Statuses {
		if !v.Valid() {
			bad("status", "incident.status_invalid", string(v))
		}
	}
	for _, v := range f.Phases {
		if !v.Valid() {
			bad("phase", "incident.phase_invalid", string(v))
		}
	}
	for _, v := range f.Types {
		if !v.Valid() {
			bad("type", "incident.type_invalid", string(v))
		}
	}
	for _, v := range f.Severities {
		if !v.Valid() {
			bad("severity", "incident.severity_invalid", string(v))
		}
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		errs = append(errs, fault.InvalidField("limit", "incident.limit_invalid", "max", MaxLimit))
	}
	if f.After < 0 {
		errs = append(errs, fault.InvalidField("after", "incident.cursor_invalid"))
	}
	var c inputCheck
	f.Text = c.line("text", f.Text, maxTextLen, false)
	if err := append(errs, c.errs...).Err(); err != nil {
		return Page{}, err
	}
	want := f.Limit
	f.Limit++ // one more says whether a next page exists
	incs, err := s.store.Incidents(ctx, f)
	if err != nil {
		return Page{}, wrap(err, "list")
	}
	p := Page{Incidents: incs}
	if len(incs) > want {
		p.Incidents = incs[:want]
		p.Next = incs[want-1].ID
	}
	if a.Access < AccessFull {
		for i := range p.Incidents {
			p.Incidents[i] = p.Incidents[i].Brief()
		}
	}
	return p, nil
}

// Incident returns an incident with its tasks, timeline, links, review and
// prevention actions; NotFound "incident.not_found" if there is none.
func (s *Service) Incident(ctx context.Context, a Actor, id int64) (Detail, error) {
	if err := a.needFull(); err != nil {
		return Detail{}, err
	}
	inc, err := s.current(ctx, Ref{ID: id})
	if err != nil {
		return Detail{}, wrap(err, "get", id)
	}
	return s.detail(ctx, inc)
}

// IncidentByRef returns a tenant's incident by its reference (INC-2026-0001)
// as Incident does.
func (s *Service) IncidentByRef(ctx context.Context, a Actor, tenant, ref string) (Detail, error) {
	if err := a.needFull(); err != nil {
		return Detail{}, err
	}
	ref = strings.ToUpper(cleanLine(ref, maxIDLen))
	inc, err := s.store.IncidentByRef(ctx, tenant, ref)
	if fault.Is(err, fault.NotFound) {
		return Detail{}, fault.Wrap(fault.NotFound, err, "incident.ref_not_found", "ref", ref)
	} else if err != nil {
		return Detail{}, wrap(err, "get "+ref)
	}
	return s.detail(ctx, inc)
}

func (s *Service) detail(ctx context.Context, inc Incident) (Detail, error) {
	d := Detail{Incident: inc}
	var err error
	if d.Tasks, err = s.store.IncidentTasks(ctx, inc.ID); err != nil {
		return Detail{}, wrap(err, "get", inc.ID)
	}
	if d.Timeline, err = s.store.IncidentEntries(ctx, inc.ID); err != nil {
		return Detail{}, wrap(err, "get", inc.ID)
	}
	if d.Links, err = s.store.IncidentLinks(ctx, inc.ID); err != nil {
		return Detail{}, wrap(err, "get", inc.ID)
	}
	if d.Review, err = s.store.IncidentReview(ctx, inc.ID); err != nil && !fault.Is(err, fault.NotFound) {
		return Detail{}, wrap(err, "get", inc.ID)
	}
	if d.Actions, err = s.store.PreventionActions(ctx, inc.ID); err != nil {
		return Detail{}, wrap(err, "get", inc.ID)
	}
	return d, nil
}

// audit appends an audit entry about incident id.
func (s *Service) audit(ctx context.Context, a Actor, action string, id int64, before, after any, now time.Time) error {
	e := audit.New(a.Actor, action, audit.Object("incident", id), before, after)
	e.Time = now
	return s.store.AppendAudit(ctx, e)
}

// incidentView is what the audit trail records of an incident.
type incidentView struct {
	Ref            string     `json:"ref"`
	Title          string     `json:"title"`
	Description    string     `json:"description,omitempty"`
	Type           Type       `json:"type"`
	Status         Status     `json:"status"`
	StatusReason   string     `json:"status_reason,omitempty"`
	Phase          Phase      `json:"phase"`
	Resolution     Resolution `json:"resolution,omitempty"`
	Summary        string     `json:"summary,omitempty"`
	Severity       Severity   `json:"severity,omitempty"`
	Assessed       Severity   `json:"assessed,omitempty"`
	Override       Severity   `json:"override,omitempty"`
	OverrideReason string     `json:"override_reason,omitempty"`
	Assignees      []int64    `json:"assignees,omitempty"`
	AffectedAssets []string   `json:"affected_assets,omitempty"`
	AffectedUsers  []string   `json:"affected_users,omitempty"`
	Techniques     []string   `json:"techniques,omitempty"`
	Fields         []Field    `json:"fields,omitempty"`
	Tags           []string   `json:"tags,omitempty"`
	Flags          []string   `json:"flags,omitempty"`
	DetectedAt     time.Time  `json:"detected_at,omitzero"`
	AwareAt        time.Time  `json:"aware_at,omitzero"`
	Version        int64      `json:"version"`
}

func viewOf(i Incident) incidentView {
	return incidentView{Ref: i.Ref, Title: i.Title, Description: i.Description, Type: i.Type, Status: i.Status,
		StatusReason: i.StatusReason, Phase: i.Phase, Resolution: i.Resolution, Summary: i.Summary,
		Severity: i.Severity, Assessed: i.Assessment.Severity, Override: i.Override.Severity,
		OverrideReason: i.Override.Reason, Assignees: i.Assignees, AffectedAssets: i.AffectedAssets,
		AffectedUsers: i.AffectedUsers, Techniques: i.Techniques, Fields: i.Fields, Tags: i.Tags,
		Flags: i.Flags.Names(), DetectedAt: i.DetectedAt, AwareAt: i.AwareAt, Version: i.Version}
}

// linkView is what the audit trail records of a link.
type linkView struct {
	To   int64    `json:"to"`
	Kind LinkKind `json:"kind"`
}
