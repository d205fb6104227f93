// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// exclusionRows is how many conditions the new-suppression form offers;
// more are refused.
const exclusionRows = 5

// maxFormRows bounds the condition rows read from a posted form and shown
// again, whatever a crafted request sends.
const maxFormRows = 16

// exclusionExpiries are the lifetimes a suppression made by hand may be
// given, in order.
var exclusionExpiries = []expiry{
	{"1d", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
	{"90d", 90 * 24 * time.Hour},
}

// defaultExclusionExpiry is the lifetime chosen when the form opens.
const defaultExclusionExpiry = "30d"

// Rule ids of detections that are not Sigma rules: they are not in the
// rule set, and may be tuned all the same.
var otherRulePrefixes = []string{"ioc:", "baseline:"}

// exclusionForm is the new-suppression form as typed.
type exclusionForm struct {
	Rule   string
	Conds  []alert.KV // the rows with a field or a value, in order
	Reason string
	Expiry string
}

// exclusionNewPage is the data of the new-suppression form.
type exclusionNewPage struct {
	*Page
	Rule string // as typed
	// RuleTitle and RuleHref describe the rule when it is known.
	RuleTitle, RuleHref string
	Rows                []conditionRow
	Reason              string
	Expiries            []string
	Expiry              string
	// Suggest are field names offered while typing.
	Suggest []string
}

// conditionRow is one row of the form: a field name and its value.
type conditionRow struct {
	N            int // from 1
	Field, Value string
	Err          string // translated
}

// readExclusionForm reads rule, field and value (repeated, in pairs),
// reason and expiry. Rows with neither a field nor a value are left out.
func readExclusionForm(v url.Values) exclusionForm {
	f := exclusionForm{Rule: strings.TrimSpace(v.Get("rule")), Reason: v.Get("reason"), Expiry: v.Get("expiry")}
	names, values := v["field"], v["value"]
	for i := range min(max(len(names), len(values)), 4*maxFormRows) {
		var c alert.KV
		if i < len(names) {
			c.Name = strings.TrimSpace(names[i])
		}
		if i < len(values) {
			c.Value = strings.TrimSpace(values[i])
		}
		if c.Name != "" || c.Value != "" {
			f.Conds = append(f.Conds, c)
		}
	}
	return f
}

// findRule returns the rule whose detections carry rule id ref: exactly,
// else ignoring case (Sigma ids are UUIDs that people retype). It returns
// nil when no rule set is configured or none has that id.
func (s *Server) findRule(ctx context.Context, ref string) (*RuleInfo, error) {
	if s.opts.Rules == nil || ref == "" {
		return nil, nil
	}
	set, err := s.opts.Rules.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var fold *RuleInfo
	for i := range set.Rules {
		r := &set.Rules[i]
		if r.Ref == ref {
			return r, nil
		}
		if fold == nil && strings.EqualFold(r.Ref, ref) {
			fold = r
		}
	}
	return fold, nil
}

// isOtherRule reports whether id names an indicator or baseline detection
// rather than a rule of the rule set.
func isOtherRule(id string) bool {
	return slices.ContainsFunc(otherRulePrefixes, func(p string) bool { return strings.HasPrefix(id, p) })
}

// checkExclusionForm finds what the form lacks, each fault naming the
// input to fix, and sets f.Rule to the rule's id as detections carry it.
// The alert service checks the rest (lengths, expiry) again.
func (s *Server) checkExclusionForm(ctx context.Context, f *exclusionForm) (fault.List, error) {
	var errs fault.List
	switch {
	case f.Rule == "":
		errs = append(errs, fault.InvalidField("rule_id", "alert.rule_missing"))
	case s.opts.Rules != nil && !isOtherRule(f.Rule):
		ri, err := s.findRule(ctx, f.Rule)
		switch {
		case err != nil:
			return nil, err
		case ri == nil:
			errs = append(errs, fault.InvalidField("rule_id", "alerts.rule_unknown", "rule", safeLine(f.Rule, 200)))
		case ri.Kind == "filter":
			errs = append(errs, fault.InvalidField("rule_id", "alerts.rule_filter", "rule", safeLine(ri.Ref, 200)))
		default:
			f.Rule = ri.Ref
		}
	}
	switch {
	case len(f.Conds) == 0:
		errs = append(errs, fault.InvalidField("conditions", "alerts.conditions_none"))
	case len(f.Conds) > exclusionRows:
		errs = append(errs, fault.InvalidField("conditions", "alert.conditions_too_many", "max", exclusionRows))
	}
	for i, c := range f.Conds {
		field := "condition-" + strconv.Itoa(i+1)
		switch {
		case c.Name == "" || c.Value == "":
			errs = append(errs, fault.InvalidField(field, "alert.condition_empty"))
		case slices.ContainsFunc(f.Conds[:i], func(o alert.KV) bool { return o.Name == c.Name }):
			errs = append(errs, fault.InvalidField(field, "alert.condition_twice", "field", safeLine(c.Name, 200)))
		}
	}
	if strings.TrimSpace(f.Reason) == "" {
		errs = append(errs, fault.InvalidField("reason", "alerts.exclusion_reason_required"))
	}
	if !slices.ContainsFunc(exclusionExpiries, func(e expiry) bool { return e.Key == f.Expiry }) {
		errs = append(errs, fault.InvalidField("expires", "alerts.bad_expiry"))
	}
	return errs, nil
}

// exclusionNewData builds the form showing f.
func (s *Server) exclusionNewData(r *http.Request, f exclusionForm) (*exclusionNewPage, error) {
	p := s.page(r, "alerts", "alerts.exclusion_new_title")
	d := &exclusionNewPage{Page: p, Rule: f.Rule, Reason: f.Reason, Expiry: defaultExclusionExpiry,
		Suggest: []string{alert.FieldHost, alert.FieldUser}}
	for _, e := range exclusionExpiries {
		d.Expiries = append(d.Expiries, e.Key)
		if e.Key == f.Expiry {
			d.Expiry = e.Key
		}
	}
	ri, err := s.findRule(r.Context(), f.Rule)
	if err != nil {
		return nil, err
	}
	if ri != nil {
		d.RuleTitle, d.RuleHref = p.RuleTitle(ri), ruleHref(ri.Ref)
		for _, name := range ri.Fields {
			if name = safeLine(name, 200); name != "" && !slices.Contains(d.Suggest, name) {
				d.Suggest = append(d.Suggest, name)
			}
		}
	}
	n := min(max(len(f.Conds), exclusionRows), maxFormRows)
	for i := range n {
		row := conditionRow{N: i + 1}
		if i < len(f.Conds) {
			row.Field, row.Value = f.Conds[i].Name, f.Conds[i].Value
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// newExclusionURL is the form prefilled with rule, which may be "".
func newExclusionURL(rule string) string {
	if rule == "" {
		return "/alerts/exclusions/new"
	}
	return "/alerts/exclusions/new?" + url.Values{"rule": {rule}}.Encode()
}

// exclusionNew is the form for a suppression made by hand (rule tuning):
// GET /alerts/exclusions/new, optionally ?rule=.
func (s *Server) exclusionNew(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	d, err := s.exclusionNewData(r, exclusionForm{Rule: strings.TrimSpace(r.URL.Query().Get("rule")), Expiry: defaultExclusionExpiry})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "alerts_exclusion_new", d)
}

// exclusionNewPost makes a suppression by hand: POST
// /alerts/exclusions/new with rule, field and value (repeated, in pairs),
// reason and expiry. It goes to the new suppression on the list, or shows
// the form again with the problems and what was typed.
func (s *Server) exclusionNewPost(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := readExclusionForm(r.PostForm)
	errs, err := s.checkExclusionForm(r.Context(), &f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = errs.Err()
	if err == nil {
		i := slices.IndexFunc(exclusionExpiries, func(e expiry) bool { return e.Key == f.Expiry })
		var x alert.Exclusion
		x, err = s.opts.Alerts.CreateExclusion(r.Context(), alertActor(r), alert.Exclusion{RuleID: f.Rule,
			Conditions: f.Conds, Reason: f.Reason, Expires: s.now().Add(exclusionExpiries[i].D)})
		if err == nil {
			http.Redirect(w, r, "/alerts/exclusions?done=exclusion_created#exclusion-"+strconv.FormatInt(x.ID, 10), http.StatusSeeOther)
			return
		}
	}
	if fault.KindOf(err) == fault.Internal {
		s.fail(w, r, err)
		return
	}
	d, derr := s.exclusionNewData(r, f)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	d.RequestPath = newExclusionURL(f.Rule)
	if !d.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	for i := range d.Rows {
		d.Rows[i].Err = d.Err("condition-" + strconv.Itoa(d.Rows[i].N))
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "alerts_exclusion_new", d)
}
