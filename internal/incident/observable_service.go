// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// Bounds of an incident's observables.
const (
	// MaxObservables is the most observables one incident keeps.
	MaxObservables = 5000
	// maxRelatedRows bounds the shared observables RelatedIncidents reads.
	maxRelatedRows = 2000
	// obsTimelineValues is how many values a timeline entry names.
	obsTimelineValues = 5
)

// Related is another incident that shares observables with one.
type Related struct {
	Incident Headline
	// Shared are the observables both have, as the other incident keeps
	// them (its IOC flag, its source).
	Shared []Observable
	// Linked is set when the two incidents are linked already (any kind).
	Linked bool
}

// Observables returns an incident's observables in the order they were
// added.
//
// Errors: Forbidden without AccessFull (summary readers do not see
// observables); NotFound.
func (s *Service) Observables(ctx context.Context, a Actor, incidentID int64) ([]StoredObservable, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	if _, err := s.current(ctx, Ref{ID: incidentID}); err != nil {
		return nil, wrap(err, "observables", incidentID)
	}
	out, err := s.store.IncidentObservables(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "observables", incidentID)
	}
	return out, nil
}

// ExtractObservables returns the observables Extract finds in text that
// the incident does not have yet, for a person to choose from before
// AddObservables.
//
// Errors: Forbidden; NotFound.
func (s *Service) ExtractObservables(ctx context.Context, a Actor, incidentID int64, text string) ([]Observable, error) {
	have, err := s.Observables(ctx, a, incidentID)
	if err != nil {
		return nil, err
	}
	known := make(map[obsKey]bool, len(have))
	for _, o := range have {
		known[keyOf(o.Observable)] = true
	}
	var out []Observable
	for _, o := range Extract(text) {
		if !known[keyOf(o)] {
			out = append(out, o)
		}
	}
	return out, nil
}

// obsKey is what makes an observable the same as another.
type obsKey struct {
	kind  ObservableKind
	value string
}

func keyOf(o Observable) obsKey { return obsKey{o.Kind, o.Value} }

// AddObservables adds observables to an open incident: each is parsed again
// (ParseObservable: a raw or defanged value is fine), and one the incident
// has already (same kind and value), or that comes twice, is skipped. An
// empty Source means ObservableSourceManual. It returns those added; one
// timeline entry and one audit entry record them. Either all are stored or,
// on any error, none.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed"; Invalid with
// field "value" (ParseObservable's message for a malformed value) or
// "note", or "incidentobs.too_many" past MaxObservables.
func (s *Service) AddObservables(ctx context.Context, a Actor, incidentID int64, obs []Observable) ([]StoredObservable, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	clean, err := cleanObservables(obs)
	if err != nil {
		return nil, err
	}
	var added []StoredObservable
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		inc, err := s.open(ctx, Ref{ID: incidentID})
		if err != nil {
			return err
		}
		now := s.nowUTC()
		if added, err = s.addObservables(ctx, a, inc.ID, clean, now); err != nil || len(added) == 0 {
			return err
		}
		return s.logObservables(ctx, a, inc.ID, added, now)
	})
	if err != nil {
		return nil, wrap(err, "add observables", incidentID)
	}
	return added, nil
}

// cleanObservables parses each observable again and checks its note and
// source.
func cleanObservables(obs []Observable) ([]Observable, error) {
	out := make([]Observable, 0, len(obs))
	for _, o := range obs {
		p, err := ParseObservable(o.Kind, o.Value)
		if err != nil {
			return nil, withField(err, "value")
		}
		p.IOC, p.Source, p.Note = o.IOC, o.Source, cleanText(o.Note, MaxObservableNote)
		if p.Source == "" {
			p.Source = ObservableSourceManual
		}
		if err := p.Validate(); err != nil {
			return nil, withField(err, "note")
		}
		out = append(out, p)
	}
	return out, nil
}

// withField names the form field a fault is about.
func withField(err error, field string) error {
	var f *fault.Error
	if errors.As(err, &f) && f.Field == "" {
		c := *f
		c.Field = field
		return &c
	}
	return err
}

// addObservables stores the observables incident id does not have yet, in
// the caller's transaction, and returns them.
func (s *Service) addObservables(ctx context.Context, a Actor, id int64, obs []Observable, now time.Time) ([]StoredObservable, error) {
	have, err := s.store.IncidentObservables(ctx, id)
	if err != nil {
		return nil, err
	}
	known := make(map[obsKey]bool, len(have)+len(obs))
	for _, o := range have {
		known[keyOf(o.Observable)] = true
	}
	var added []StoredObservable
	for _, o := range obs {
		if known[keyOf(o)] {
			continue
		}
		if len(have)+len(added) >= MaxObservables {
			return nil, fault.New(fault.Invalid, "incidentobs.too_many", "max", MaxObservables)
		}
		known[keyOf(o)] = true
		so, err := s.store.CreateIncidentObservable(ctx, StoredObservable{IncidentID: id, Observable: o,
			AddedByID: a.UserID, AddedBy: actorName(a), AddedAt: now, UpdatedAt: now})
		if err != nil {
			return nil, err
		}
		added = append(added, so)
	}
	return added, nil
}

// logObservables records added observables on the timeline and in the
// audit trail.
func (s *Service) logObservables(ctx context.Context, a Actor, id int64, added []StoredObservable, now time.Time) error {
	values := make([]string, 0, obsTimelineValues)
	views := make([]observableView, len(added))
	for i, o := range added {
		if i < obsTimelineValues {
			values = append(values, Defang(o.Observable))
		}
		views[i] = viewOfObservable(o)
	}
	list := strings.Join(values, ", ")
	if len(added) > obsTimelineValues {
		list += ", …"
	}
	if err := s.logEntry(ctx, a, id, EntryObservable, now, "incidentobs.timeline.added",
		"count", strconv.Itoa(len(added)), "values", list); err != nil {
		return err
	}
	return s.audit(ctx, a, "incident.observables_add", id, nil, views, now)
}

// observableView is what the audit trail records of an observable.
type observableView struct {
	ID     int64          `json:"id,omitempty"`
	Kind   ObservableKind `json:"kind"`
	Value  string         `json:"value"`
	IOC    bool           `json:"ioc,omitempty"`
	Source string         `json:"source,omitempty"`
	Note   string         `json:"note,omitempty"`
}

func viewOfObservable(o StoredObservable) observableView {
	return observableView{ID: o.ID, Kind: o.Kind, Value: o.Value, IOC: o.IOC, Source: o.Source, Note: o.Note}
}

// actorName is the name timeline and records give an actor.
func actorName(a Actor) string {
	if a.Name == "" {
		return "system"
	}
	return a.Name
}

// observableOf reads observable id of an open incident.
func (s *Service) observableOf(ctx context.Context, incidentID, id int64) (StoredObservable, error) {
	if _, err := s.open(ctx, Ref{ID: incidentID}); err != nil {
		return StoredObservable{}, err
	}
	o, err := s.store.IncidentObservable(ctx, id)
	if (err == nil && o.IncidentID != incidentID) || fault.Is(err, fault.NotFound) {
		return StoredObservable{}, fault.New(fault.NotFound, "incidentobs.not_found", "id", id)
	}
	return o, err
}

// SetIOC flags observable id of an open incident as an indicator of
// compromise, or not, with a timeline and an audit entry (none when it is
// flagged as asked already).
//
// Errors: Forbidden; NotFound (incident or observable); Conflict
// "incident.closed".
func (s *Service) SetIOC(ctx context.Context, a Actor, incidentID, id int64, ioc bool) (StoredObservable, error) {
	if err := a.needFull(); err != nil {
		return StoredObservable{}, err
	}
	var out StoredObservable
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.observableOf(ctx, incidentID, id)
		if err != nil {
			return err
		}
		out = cur
		if cur.IOC == ioc {
			return nil
		}
		now := s.nowUTC()
		out.IOC, out.UpdatedAt = ioc, now
		if err := s.store.UpdateIncidentObservable(ctx, out); err != nil {
			return err
		}
		msg := "incidentobs.timeline.ioc_off"
		if ioc {
			msg = "incidentobs.timeline.ioc_on"
		}
		if err := s.logEntry(ctx, a, incidentID, EntryObservable, now, msg, "kind", string(cur.Kind),
			"value", Defang(cur.Observable)); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.observable_ioc", incidentID, viewOfObservable(cur), viewOfObservable(out), now)
	})
	if err != nil {
		return StoredObservable{}, wrap(err, "set ioc", incidentID)
	}
	return out, nil
}

// RemoveObservable removes observable id from an open incident, with a
// timeline and an audit entry.
//
// Errors: Forbidden; NotFound (incident or observable); Conflict
// "incident.closed".
func (s *Service) RemoveObservable(ctx context.Context, a Actor, incidentID, id int64) error {
	if err := a.needFull(); err != nil {
		return err
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.observableOf(ctx, incidentID, id)
		if err != nil {
			return err
		}
		if err := s.store.DeleteIncidentObservable(ctx, id); err != nil {
			return err
		}
		now := s.nowUTC()
		if err := s.logEntry(ctx, a, incidentID, EntryObservable, now, "incidentobs.timeline.removed",
			"kind", string(cur.Kind), "value", Defang(cur.Observable)); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.observable_remove", incidentID, viewOfObservable(cur), nil, now)
	})
	if err != nil {
		return wrap(err, "remove observable", incidentID)
	}
	return nil
}

// RelatedIncidents returns the other incidents of the incident's tenant that
// share any of its observables, newest first, each with what it shares and
// whether the two are linked already (to offer Link with LinkRelated).
//
// Errors: Forbidden; NotFound.
func (s *Service) RelatedIncidents(ctx context.Context, a Actor, incidentID int64) ([]Related, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	if _, err := s.current(ctx, Ref{ID: incidentID}); err != nil {
		return nil, wrap(err, "related", incidentID)
	}
	rows, err := s.store.SharedObservables(ctx, incidentID, maxRelatedRows)
	if err != nil {
		return nil, wrap(err, "related", incidentID)
	}
	links, err := s.store.IncidentLinks(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "related", incidentID)
	}
	linked := map[int64]bool{}
	for _, l := range links {
		linked[l.Other.ID] = true
	}
	var out []Related
	at := map[int64]int{}
	for _, r := range rows {
		i, ok := at[r.Other.ID]
		if !ok {
			i = len(out)
			at[r.Other.ID] = i
			out = append(out, Related{Incident: r.Other, Linked: linked[r.Other.ID]})
		}
		out[i].Shared = append(out[i].Shared, r.Observable)
	}
	return out, nil
}
