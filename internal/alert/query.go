// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// Paging bounds of the queue.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	maxText      = 200
)

// Filter selects alerts for the queue. Empty fields select everything.
type Filter struct {
	Tenant     string // exact; "" is the single-tenant install
	States     []State
	Levels     []Level
	RuleID     string // exact
	Host       string // exact
	User       string // exact
	AssigneeID int64  // alerts assigned to this user
	Unassigned bool   // alerts assigned to nobody
	// Text matches a substring of the rule title, rule id, host, user or key
	// fields, ignoring case (ASCII case only on SQLite).
	Text string
	// From and To select alerts active in [From, To): last seen at or after
	// From, first seen before To.
	From, To time.Time
	Limit    int   // 1 to MaxLimit; DefaultLimit when 0
	After    int64 // cursor: the Next of the previous page
}

// Page is one page of the queue.
type Page struct {
	Alerts []Alert
	// Next is the cursor for the following page (Filter.After), or 0 on the
	// last page.
	Next int64
}

// Alerts returns a page of the alerts f selects, newest first (by creation;
// keyset paging stays stable while alerts take new detections). An unknown
// state or level, both AssigneeID and Unassigned, or a limit out of range is
// Invalid.
func (s *Service) Alerts(ctx context.Context, f Filter) (Page, error) {
	var errs fault.List
	for _, st := range f.States {
		if !st.Valid() {
			errs = append(errs, fault.InvalidField("state", "alert.state_invalid", "value", text(string(st), maxIDLen)))
		}
	}
	for _, l := range f.Levels {
		if !l.Valid() {
			errs = append(errs, fault.InvalidField("level", "alert.level_invalid", "value", text(string(l), maxIDLen)))
		}
	}
	if f.AssigneeID != 0 && f.Unassigned {
		errs = append(errs, fault.InvalidField("assignee", "alert.assignee_both"))
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		errs = append(errs, fault.InvalidField("limit", "alert.limit_invalid", "max", MaxLimit))
	}
	if f.After < 0 {
		errs = append(errs, fault.InvalidField("after", "alert.cursor_invalid"))
	}
	f.Text = strings.TrimSpace(f.Text)
	if len(f.Text) > maxText {
		errs = append(errs, fault.InvalidField("text", "alert.text_too_long", "max", maxText))
	}
	if err := errs.Err(); err != nil {
		return Page{}, err
	}
	f.Text = text(f.Text, maxText)
	want := f.Limit
	f.Limit++ // one more says whether a next page exists
	as, err := s.store.Alerts(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("alert: list: %w", err)
	}
	p := Page{Alerts: as}
	if len(as) > want {
		p.Alerts = as[:want]
		p.Next = as[want-1].ID
	}
	return p, nil
}

// Alert returns an alert with its linked events and history; NotFound
// "alert.not_found" if there is none.
func (s *Service) Alert(ctx context.Context, id int64) (Detail, error) {
	a, err := s.store.Alert(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return Detail{}, fault.Wrap(fault.NotFound, err, "alert.not_found", "id", id)
	} else if err != nil {
		return Detail{}, fmt.Errorf("alert: get %d: %w", id, err)
	}
	d := Detail{Alert: a}
	if d.EventIDs, err = s.store.AlertEvents(ctx, id); err != nil {
		return Detail{}, fmt.Errorf("alert: get %d: %w", id, err)
	}
	if d.History, err = s.store.AlertHistory(ctx, id); err != nil {
		return Detail{}, fmt.Errorf("alert: get %d: %w", id, err)
	}
	return d, nil
}

// Count is the number of a tenant's alerts in one state and level.
type Count struct {
	State State
	Level Level
	N     int
}

// Counts is a tenant's alerts counted by state and level.
type Counts []Count

// State returns the number of alerts in state st.
func (c Counts) State(st State) int {
	n := 0
	for _, x := range c {
		if x.State == st {
			n += x.N
		}
	}
	return n
}

// Level returns the number of alerts of level l in any of states (every
// state when none is given).
func (c Counts) Level(l Level, states ...State) int {
	n := 0
	for _, x := range c {
		if x.Level == l && (len(states) == 0 || slices.Contains(states, x.State)) {
			n += x.N
		}
	}
	return n
}

// Counts counts a tenant's alerts by state and level, for the queue's tabs
// and the dashboard.
func (s *Service) Counts(ctx context.Context, tenant string) (Counts, error) {
	cs, err := s.store.AlertCounts(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("alert: counts: %w", err)
	}
	return cs, nil
}
