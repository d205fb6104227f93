// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// The condition names that mean a detection's host and user rather than a
// key field.
const (
	FieldHost = "host"
	FieldUser = "user"
)

// maxConditions bounds the conditions of one exclusion.
const maxConditions = 16

// Exclusion tunes a rule: detections of RuleID in Tenant whose values match
// every condition are not alerted on until Expires. A condition's Name is
// FieldHost, FieldUser or the exact name of a key field (an event field, for
// the Sigma engine, which compiles exclusions into its rules too); its Value
// matches case-insensitively and exactly, not as a pattern.
type Exclusion struct {
	ID         int64
	Tenant     string // "" for the single-tenant install
	RuleID     string
	Conditions []KV // all must match; at least one
	Reason     string
	Author     string    // the user name of who made it
	AlertID    int64     // the alert it was made from ("suppress similar"), or 0
	Created    time.Time //
	Expires    time.Time // zero: never
	Hits       int64     // detections suppressed so far
	LastHit    time.Time // zero: none yet
}

// Active reports whether x still applies at now.
func (x Exclusion) Active(now time.Time) bool { return x.Expires.IsZero() || now.Before(x.Expires) }

// Matches reports whether d is of x's tenant and rule and matches every
// condition. It does not look at expiry.
func (x Exclusion) Matches(d Detection) bool {
	if x.RuleID != d.RuleID || x.Tenant != d.Tenant || len(x.Conditions) == 0 {
		return false
	}
	for _, c := range x.Conditions {
		v, ok := d.value(c.Name)
		if !ok || !strings.EqualFold(v, c.Value) {
			return false
		}
	}
	return true
}

// value returns the value of an exclusion condition's field in d.
func (d Detection) value(name string) (string, bool) {
	switch name {
	case FieldHost:
		return d.Host, d.Host != ""
	case FieldUser:
		return d.User, d.User != ""
	}
	for _, f := range d.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// ExclusionFilter selects exclusions.
type ExclusionFilter struct {
	RuleID     string // "" for every rule
	ActiveOnly bool   // leave out expired exclusions
}

// Exclusions returns the exclusions f selects, by id. The Sigma engine loads
// the active ones to compile them into its rules.
func (s *Service) Exclusions(ctx context.Context, f ExclusionFilter) ([]Exclusion, error) {
	xs, err := s.store.Exclusions(ctx)
	if err != nil {
		return nil, fmt.Errorf("alert: exclusions: %w", err)
	}
	now := s.nowUTC()
	return slices.DeleteFunc(xs, func(x Exclusion) bool {
		return (f.RuleID != "" && x.RuleID != f.RuleID) || (f.ActiveOnly && !x.Active(now))
	}), nil
}

// CreateExclusion adds an exclusion by hand (rule tuning). It needs a rule
// id, one to 16 conditions with distinct names and non-empty values, a
// reason, and an expiry in the future or none. Its author is the actor.
func (s *Service) CreateExclusion(ctx context.Context, a Actor, x Exclusion) (Exclusion, error) {
	if err := a.check(); err != nil {
		return Exclusion{}, err
	}
	now := s.nowUTC()
	x, err := checkExclusion(x, now)
	if err != nil {
		return Exclusion{}, err
	}
	x.Author, x.AlertID, x.Created = a.Name, 0, now
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if x, err = s.store.CreateExclusion(ctx, x); err != nil {
			return err
		}
		return s.auditExclusion(ctx, a, "exclusion.create", x.ID, nil, x)
	})
	if err != nil {
		return Exclusion{}, fmt.Errorf("alert: create exclusion for %s: %w", x.RuleID, err)
	}
	s.excl.invalidate()
	return x, nil
}

// SuppressSimilar makes an exclusion from an alert and marks the alert a
// false positive, in one transaction: later detections of its rule whose
// chosen fields (FieldHost, FieldUser, or names of its key fields) have the
// alert's values are suppressed until expires, which must be in the future.
// A reason is required. The alert must be open or a false positive already
// (Conflict otherwise); ref.Version is checked as Transition does.
func (s *Service) SuppressSimilar(ctx context.Context, a Actor, ref Ref, fields []string, reason string, expires time.Time) (Exclusion, Alert, error) {
	if err := a.check(); err != nil {
		return Exclusion{}, Alert{}, err
	}
	reason, err := checkReason(reason, true)
	if err != nil {
		return Exclusion{}, Alert{}, err
	}
	now := s.nowUTC()
	if expires.IsZero() || !expires.After(now) {
		return Exclusion{}, Alert{}, fault.InvalidField("expires", "alert.expiry_past")
	}
	if len(fields) == 0 {
		return Exclusion{}, Alert{}, fault.InvalidField("fields", "alert.fields_none")
	}
	var x Exclusion
	var next Alert
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.current(ctx, ref)
		if err != nil {
			return err
		}
		conds, err := similar(cur, fields)
		if err != nil {
			return err
		}
		x = Exclusion{Tenant: cur.Tenant, RuleID: cur.RuleID, Conditions: conds, Reason: reason, Author: a.Name,
			AlertID: cur.ID, Created: now, Expires: expires.UTC().Truncate(time.Microsecond)}
		if x, err = s.store.CreateExclusion(ctx, x); err != nil {
			return err
		}
		if err := s.auditExclusion(ctx, a, "exclusion.create", x.ID, nil, x); err != nil {
			return err
		}
		if next, _, err = s.transition(ctx, a, cur, StateFalsePositive, reason); err != nil {
			return err
		}
		return s.history(ctx, a, cur.ID, ActionSuppressed, "", fmt.Sprint(x.ID), reason)
	})
	if err != nil {
		if fault.KindOf(err) == fault.Internal {
			err = fmt.Errorf("alert: suppress similar to %d: %w", ref.ID, err)
		}
		return Exclusion{}, Alert{}, err
	}
	s.excl.invalidate()
	return x, next, nil
}

// similar returns the conditions that select alerts like a on fields.
func similar(a Alert, fields []string) ([]KV, error) {
	d := Detection{Host: a.Host, User: a.User, Fields: a.Fields}
	var conds []KV
	for _, f := range fields {
		if slices.ContainsFunc(conds, func(c KV) bool { return c.Name == f }) {
			continue
		}
		v, ok := d.value(f)
		if !ok || v == "" {
			return nil, fault.InvalidField("fields", "alert.field_unknown", "field", text(f, maxNameLen))
		}
		conds = append(conds, KV{Name: f, Value: v})
	}
	if len(conds) > maxConditions {
		return nil, fault.InvalidField("fields", "alert.conditions_too_many", "max", maxConditions)
	}
	return conds, nil
}

// DeleteExclusion removes an exclusion; detections it suppressed stay
// unrecorded. A missing exclusion is NotFound.
func (s *Service) DeleteExclusion(ctx context.Context, a Actor, id int64) error {
	if err := a.check(); err != nil {
		return err
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		x, err := s.store.Exclusion(ctx, id)
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.NotFound, err, "alert.exclusion_not_found", "id", id)
		} else if err != nil {
			return err
		}
		if err := s.store.DeleteExclusion(ctx, id); err != nil {
			return err
		}
		return s.auditExclusion(ctx, a, "exclusion.delete", id, x, nil)
	})
	if err != nil {
		if fault.KindOf(err) == fault.Internal {
			err = fmt.Errorf("alert: delete exclusion %d: %w", id, err)
		}
		return err
	}
	s.excl.invalidate()
	return nil
}

// checkExclusion validates and cleans a hand-made exclusion.
func checkExclusion(x Exclusion, now time.Time) (Exclusion, error) {
	var errs fault.List
	x.RuleID = text(strings.TrimSpace(x.RuleID), maxIDLen)
	if x.RuleID == "" {
		errs = append(errs, fault.InvalidField("rule_id", "alert.rule_missing"))
	}
	x.Tenant = text(x.Tenant, maxIDLen)
	switch {
	case len(x.Conditions) == 0:
		errs = append(errs, fault.InvalidField("conditions", "alert.fields_none"))
	case len(x.Conditions) > maxConditions:
		errs = append(errs, fault.InvalidField("conditions", "alert.conditions_too_many", "max", maxConditions))
	}
	conds := make([]KV, 0, len(x.Conditions))
	for _, c := range x.Conditions {
		c = KV{Name: text(strings.TrimSpace(c.Name), maxNameLen), Value: text(c.Value, maxValueLen)}
		switch {
		case c.Name == "" || c.Value == "":
			errs = append(errs, fault.InvalidField("conditions", "alert.condition_empty"))
		case slices.ContainsFunc(conds, func(o KV) bool { return o.Name == c.Name }):
			errs = append(errs, fault.InvalidField("conditions", "alert.condition_twice", "field", c.Name))
		}
		conds = append(conds, c)
	}
	x.Conditions = conds
	reason, err := checkReason(x.Reason, true)
	if err != nil {
		errs = append(errs, fault.Faults(err)...)
	}
	x.Reason = reason
	if !x.Expires.IsZero() {
		if !x.Expires.After(now) {
			errs = append(errs, fault.InvalidField("expires", "alert.expiry_past"))
		}
		x.Expires = x.Expires.UTC().Truncate(time.Microsecond)
	}
	x.ID, x.Hits, x.LastHit = 0, 0, time.Time{}
	return x, errs.Err()
}

func (s *Service) auditExclusion(ctx context.Context, a Actor, action string, id int64, before, after any) error {
	e := audit.New(a.Actor, action, audit.Object("exclusion", id), before, after)
	e.Time = s.nowUTC()
	return s.store.AppendAudit(ctx, e)
}

// exclusionCache is the in-memory copy of the exclusions Record checks,
// indexed by rule id.
type exclusionCache struct {
	mu     sync.Mutex
	loaded time.Time // when read from the store; zero: read before next use
	byRule map[string][]Exclusion
}

func (c *exclusionCache) invalidate() {
	c.mu.Lock()
	c.loaded = time.Time{}
	c.mu.Unlock()
}

// excluded returns the first active exclusion matching d, reading the
// exclusions again when the copy is older than ExclusionRefresh.
func (s *Service) excluded(ctx context.Context, d Detection, now time.Time) (Exclusion, bool, error) {
	c := &s.excl
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded.IsZero() || now.Sub(c.loaded) >= s.opt.ExclusionRefresh || now.Before(c.loaded) {
		xs, err := s.store.Exclusions(ctx)
		if err != nil {
			return Exclusion{}, false, fmt.Errorf("read exclusions: %w", err)
		}
		c.byRule = make(map[string][]Exclusion)
		for _, x := range xs {
			if x.Active(now) {
				c.byRule[x.RuleID] = append(c.byRule[x.RuleID], x)
			}
		}
		c.loaded = now
	}
	for _, x := range c.byRule[d.RuleID] {
		if x.Active(now) && x.Matches(d) {
			return x, true, nil
		}
	}
	return Exclusion{}, false, nil
}
