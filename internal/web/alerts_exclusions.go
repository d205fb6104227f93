// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// exclusionsPage is the data of the suppressions page.
type exclusionsPage struct {
	*Page
	Rule       string // the rule asked for with ?rule=, or ""
	Exclusions []exclusionView
	NewURL     string // the form for a new suppression, when the viewer may make one
}

// exclusionView is one exclusion as the page shows it. Texts have been
// through safeLine.
type exclusionView struct {
	ID         int64
	RuleID     string
	RuleHref   string
	Conditions []alert.KV
	Reason     string
	Author     string
	Created    timeView
	Expires    timeView
	Never      bool // it never expires
	Expired    bool
	Hits       int64
	LastHit    timeView
	AlertID    int64 // the alert it was made from, or 0
}

func (s *Server) exclusionsData(r *http.Request, rule string) (*exclusionsPage, error) {
	xs, err := s.opts.Alerts.Exclusions(r.Context(), alert.ExclusionFilter{RuleID: rule})
	if err != nil {
		return nil, err
	}
	p := s.page(r, "alerts", "alerts.exclusions_title")
	s.alertsFlash(p, r)
	d := &exclusionsPage{Page: p, Rule: safeLine(rule, 200)}
	if canManage(r) {
		d.NewURL = newExclusionURL(rule)
	}
	now := s.now()
	// Newest first, as the queue.
	for i := len(xs) - 1; i >= 0; i-- {
		x := xs[i]
		v := exclusionView{ID: x.ID, RuleID: safeLine(x.RuleID, 200), Reason: safeLine(x.Reason, 2000),
			Author: safeLine(x.Author, 200), Created: p.timeView(x.Created, now), Expires: p.timeView(x.Expires, now),
			Never: x.Expires.IsZero(), Expired: !x.Active(now), Hits: x.Hits, LastHit: p.timeView(x.LastHit, now),
			AlertID:  x.AlertID,
			RuleHref: "/alerts/exclusions?" + url.Values{"rule": {x.RuleID}}.Encode()}
		for _, c := range x.Conditions {
			v.Conditions = append(v.Conditions, alert.KV{Name: safeLine(c.Name, 200), Value: safeLine(c.Value, 500)})
		}
		d.Exclusions = append(d.Exclusions, v)
	}
	return d, nil
}

// exclusions lists the suppressions (rule exclusions): GET
// /alerts/exclusions, optionally ?rule=.
func (s *Server) exclusions(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	d, err := s.exclusionsData(r, strings.TrimSpace(r.URL.Query().Get("rule")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "alerts_exclusions", d)
}

// deleteExclusion removes a suppression: POST
// /alerts/exclusions/{id}/delete.
func (s *Server) deleteExclusion(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Alerts.DeleteExclusion(r.Context(), alertActor(r), id)
	}
	if err == nil {
		http.Redirect(w, r, "/alerts/exclusions?done=exclusion_deleted", http.StatusSeeOther)
		return
	}
	if fault.KindOf(err) == fault.Internal {
		s.fail(w, r, err)
		return
	}
	r.URL.RawQuery = ""
	d, derr := s.exclusionsData(r, "")
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	d.RequestPath = "/alerts/exclusions"
	d.formErrors(err)
	s.render(w, r, statusFor(fault.KindOf(err)), "alerts_exclusions", d)
}
