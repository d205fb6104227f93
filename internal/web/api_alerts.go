// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// alertJSON is an alert as the API shows it.
type alertJSON struct {
	ID          int64       `json:"id"`
	Tenant      string      `json:"tenant,omitempty"`
	Source      string      `json:"source"`
	RuleID      string      `json:"rule_id"`
	RuleTitle   string      `json:"rule_title"`
	Level       alert.Level `json:"level"`
	Tags        []string    `json:"tags"`
	Techniques  []string    `json:"techniques"`
	Tactics     []string    `json:"tactics"`
	Host        string      `json:"host"`
	User        string      `json:"user"`
	Fields      []kvJSON    `json:"fields"`
	FirstSeen   time.Time   `json:"first_seen"`
	LastSeen    time.Time   `json:"last_seen"`
	Count       int64       `json:"count"`
	EventRefs   int         `json:"event_refs"`
	State       alert.State `json:"state"`
	StateReason string      `json:"state_reason,omitempty"`
	AssigneeID  int64       `json:"assignee_id,omitempty"`
	Assignee    string      `json:"assignee,omitempty"`
	// Version is what POST …/transition takes to refuse a change when the
	// alert has changed since it was read.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// kvJSON is a key field of an alert.
type kvJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// alertDetailJSON is one alert with its events and history.
type alertDetailJSON struct {
	alertJSON
	EventIDs []string      `json:"event_ids"`
	History  []historyJSON `json:"history"`
}

// historyJSON is one change of an alert.
type historyJSON struct {
	At      time.Time    `json:"at"`
	ActorID int64        `json:"actor_id,omitempty"`
	Actor   string       `json:"actor"`
	Action  alert.Action `json:"action"`
	From    string       `json:"from,omitempty"`
	To      string       `json:"to,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

func toAPIAlert(a alert.Alert) alertJSON {
	out := alertJSON{ID: a.ID, Tenant: a.Tenant, Source: a.Source, RuleID: a.RuleID, RuleTitle: a.RuleTitle, Level: a.Level,
		Tags: nonNil(a.Tags), Techniques: nonNil(a.Techniques()), Tactics: nonNil(a.Tactics()), Host: a.Host, User: a.User,
		Fields: make([]kvJSON, 0, len(a.Fields)), FirstSeen: a.FirstSeen.UTC(), LastSeen: a.LastSeen.UTC(), Count: a.Count,
		EventRefs: a.EventRefs, State: a.State, StateReason: a.StateReason, AssigneeID: a.AssigneeID,
		Assignee: a.AssigneeName, Version: a.Version, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	for _, f := range a.Fields {
		out.Fields = append(out.Fields, kvJSON(f))
	}
	return out
}

// nonNil makes an empty list a JSON [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// apiAlerts is GET /api/v1/alerts with the queue's filters: state and
// level (repeatable; state also "open" and "all", default open), rule,
// host, user, assignee ("none", "me" or a user id), q, from and to (RFC
// 3339), limit (1–500, default 50) and after (the next of the previous
// page). Alerts come newest first.
func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	_, f, err := parseAlertQuery(r.URL.Query(), time.UTC, principal(r).User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.opts.Alerts.Alerts(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Alerts []alertJSON `json:"alerts"`
		Next   string      `json:"next,omitempty"`
	}{Alerts: make([]alertJSON, 0, len(pg.Alerts))}
	for _, a := range pg.Alerts {
		out.Alerts = append(out.Alerts, toAPIAlert(a))
	}
	if pg.Next != 0 {
		out.Next = strconv.FormatInt(pg.Next, 10)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// apiAlert is GET /api/v1/alerts/{id}: the alert, its linked event ids and
// its history.
func (s *Server) apiAlert(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.opts.Alerts.Alert(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, toAPIAlertDetail(d))
}

func toAPIAlertDetail(d alert.Detail) alertDetailJSON {
	out := alertDetailJSON{alertJSON: toAPIAlert(d.Alert), EventIDs: nonNil(d.EventIDs),
		History: make([]historyJSON, 0, len(d.History))}
	for _, h := range d.History {
		out.History = append(out.History, historyJSON{At: h.At.UTC(), ActorID: h.ActorID, Actor: h.Actor, Action: h.Action,
			From: h.From, To: h.To, Reason: h.Reason})
	}
	return out
}

// apiAlertTransition is POST /api/v1/alerts/{id}/transition with
// {"state", "reason", "version"}: it moves the alert and answers with it
// and whether it changed. A version other than the alert's is 409 (0 or
// absent skips the check); so is a state the alert cannot move to.
func (s *Server) apiAlertTransition(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		State   alert.State `json:"state"`
		Reason  string      `json:"reason"`
		Version int64       `json:"version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Version < 0 {
		s.fail(w, r, fault.InvalidField("version", "alerts.bad_version"))
		return
	}
	res, err := s.opts.Alerts.Transition(r.Context(), alertActor(r), []alert.Ref{{ID: id, Version: in.Version}}, in.State, in.Reason)
	if _, err = one(res, err); err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Alert   alertJSON `json:"alert"`
		Changed bool      `json:"changed"`
	}{Alert: toAPIAlert(res[0].Alert), Changed: res[0].Changed}
	s.writeJSON(w, http.StatusOK, out)
}
