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
	// Each area keeps its tables behind its own interface, in its own file.
	ObservableStore // observable_store.go
	PlaybookStore   // playbook_store.go
	ReminderStore   // reminder.go

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
