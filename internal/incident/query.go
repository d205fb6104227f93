// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
)

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
