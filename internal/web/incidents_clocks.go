// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/incident"
)

// The deadline clocks of incidents as pages show them: on the list (the
// next one), the overview and summary (all of them) and the dashboard
// (those of every open incident, soonest first).

// incClock is one clock of an incident as a page shows it.
type incClock struct {
	Kind  incident.DeadlineKind
	Label string
	// Due is the due time: for the PPC reports in Japan time as the rule
	// counts it (FormatDue), for the others in the viewer's zone.
	Due, DueISO string
	State       incident.DeadlineState
	StateLabel  string
	// Left says how long is left, or how late it is.
	Left  string
	Basis string
	// Hard: a legal deadline rather than an internal target.
	Hard bool
	due  time.Time
	// Met: the clock is met (acknowledged or contained in time or late).
	Met bool
}

// clockPolicy is the policy the clocks are computed with.
func (s *Server) clockPolicy() incident.Policy {
	p := s.opts.ClockPolicy
	if p.PPCPreliminaryDays == 0 && p.SLA == nil && p.Location == nil {
		return incident.DefaultPolicy()
	}
	return p
}

// clockMet returns when inc met clock k, zero when it has not (or koban
// does not know: reports sent to authorities are recorded elsewhere).
func clockMet(inc incident.Incident, k incident.DeadlineKind) time.Time {
	switch k {
	case incident.DeadlineAcknowledge:
		return inc.AcknowledgedAt
	case incident.DeadlineContain:
		return inc.ContainedAt
	}
	return time.Time{}
}

// incClocks returns every clock inc runs, by due time.
func (s *Server) incClocks(p *Page, inc incident.Incident, now time.Time) []incClock {
	var out []incClock
	for _, d := range incident.Deadlines(inc.AwareAt, inc.Flags, inc.Severity, s.clockPolicy()) {
		st := d.State(now, clockMet(inc, d.Kind))
		c := incClock{Kind: d.Kind, Label: p.T("incidentclock.kind." + string(d.Kind)), State: st,
			StateLabel: p.T("incidentclock.state." + string(st)), Hard: d.Hard, due: d.Due,
			DueISO: d.Due.UTC().Format(time.RFC3339), Basis: p.T(d.Basis, d.BasisArgs...),
			Met: st == incident.StateMet || st == incident.StateMetLate}
		switch d.Kind {
		case incident.DeadlinePPCPreliminary, incident.DeadlinePPCFinal:
			c.Due = incident.FormatDue(d, p.Lang)
		default:
			c.Due = p.Time(d.Due)
		}
		switch left := d.Remaining(now); {
		case c.Met:
		case left >= 0:
			c.Left = p.T("incidents.clock.left", "span", p.span(left))
		default:
			c.Left = p.T("incidents.clock.late", "span", p.span(-left))
		}
		out = append(out, c)
	}
	return out
}

// nextClock returns the first clock not yet met, or nil.
func nextClock(cs []incClock) *incClock {
	for i := range cs {
		if !cs[i].Met {
			return &cs[i]
		}
	}
	return nil
}

// incDashboard is the dashboard's incident card.
type incDashboard struct {
	*Page
	// Open counts the open and on-hold incidents; More says there are
	// more than Open.
	Open int
	More bool
	// Clocks are the unmet clocks of open incidents, soonest first.
	Clocks []incDashClock
	// Overdue counts overdue tasks across incidents.
	Overdue int
}

// incDashClock is a clock on the dashboard, with its incident.
type incDashClock struct {
	incClock
	Ref, Title, Href string
}

// incDashboardClocks is how many clocks the dashboard lists.
const incDashboardClocks = 8

// incidentsDashboard builds the dashboard's incident card, or nil when
// incidents are off or the reader may not see them. A failure is logged
// and leaves the card out: the dashboard still shows.
func (s *Server) incidentsDashboard(r *http.Request, p *Page) *incDashboard {
	pr := principal(r)
	if s.opts.Incidents == nil || pr == nil || !pr.Can(auth.PermIncidentSummaries) {
		return nil
	}
	ctx := r.Context()
	a := incidentActor(r)
	pg, err := s.opts.Incidents.Incidents(ctx, a, incident.Filter{Tenant: tenantOf(r), Limit: incident.MaxLimit,
		Statuses: []incident.Status{incident.StatusOpen, incident.StatusOnHold}})
	if err != nil {
		s.log.ErrorContext(ctx, "dashboard incidents", "error", err, "request_id", info(r).id)
		return nil
	}
	overdue, err := s.opts.Incidents.OverdueTasks(ctx, a, tenantOf(r), 500)
	if err != nil {
		s.log.ErrorContext(ctx, "dashboard overdue tasks", "error", err, "request_id", info(r).id)
		return nil
	}
	d := &incDashboard{Page: p, Open: len(pg.Incidents), More: pg.Next != 0, Overdue: len(overdue)}
	now := s.now()
	for _, inc := range pg.Incidents {
		for _, c := range s.incClocks(p, inc, now) {
			if !c.Met {
				d.Clocks = append(d.Clocks, incDashClock{incClock: c, Ref: inc.Ref, Title: safeLine(inc.Title, 200),
					Href: incidentHref(inc.Ref, "")})
			}
		}
	}
	slices.SortStableFunc(d.Clocks, func(a, b incDashClock) int { return a.due.Compare(b.due) })
	if len(d.Clocks) > incDashboardClocks {
		d.Clocks = d.Clocks[:incDashboardClocks]
	}
	return d
}
