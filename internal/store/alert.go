// SPDX-License-Identifier: Apache-2.0

package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
)

// Alerts, their linked events and history, and rule exclusions. Grouping,
// triage and suppression rules live in internal/alert; this file only keeps
// rows. Tags, key fields and exclusion conditions are JSON text (fields and
// conditions as [name, value] pairs, so their order survives).

// The alert service runs on this store.
var _ alert.Store = (*DB)(nil)

const alertColumns = `alerts.id, alerts.tenant, alerts.source, alerts.rule_id, alerts.rule_title, alerts.level,
	alerts.tags, alerts.host, alerts.user_name, alerts.fields, alerts.first_seen, alerts.last_seen,
	alerts.detections, alerts.event_refs, alerts.state, alerts.state_reason, alerts.assignee_id,
	COALESCE(users.name, ''), alerts.version, alerts.created_at, alerts.updated_at`

// alertFrom joins the assignee's name.
const alertFrom = ` FROM alerts LEFT JOIN users ON users.id = alerts.assignee_id`

func scanAlert(s scanner) (alert.Alert, error) {
	var a alert.Alert
	var level, state, tags, fields string
	var first, last, created, updated int64
	err := s.Scan(&a.ID, &a.Tenant, &a.Source, &a.RuleID, &a.RuleTitle, &level, &tags, &a.Host, &a.User, &fields,
		&first, &last, &a.Count, &a.EventRefs, &state, &a.StateReason, &a.AssigneeID, &a.AssigneeName, &a.Version,
		&created, &updated)
	if err != nil {
		return alert.Alert{}, mapErr(err)
	}
	a.Level, a.State = alert.Level(level), alert.State(state)
	a.FirstSeen, a.LastSeen, a.CreatedAt, a.UpdatedAt = fromMicros(first), fromMicros(last), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return alert.Alert{}, fmt.Errorf("alert %d tags: %w", a.ID, err)
	}
	if a.Fields, err = decodeKVs(fields); err != nil {
		return alert.Alert{}, fmt.Errorf("alert %d fields: %w", a.ID, err)
	}
	return a, nil
}

// encodeJSON renders v compactly without HTML escaping.
func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func encodeKVs(kvs []alert.KV) (string, error) {
	pairs := make([][2]string, len(kvs))
	for i, kv := range kvs {
		pairs[i] = [2]string{kv.Name, kv.Value}
	}
	return encodeJSON(pairs)
}

func decodeKVs(s string) ([]alert.KV, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	kvs := make([]alert.KV, len(pairs))
	for i, p := range pairs {
		kvs[i] = alert.KV{Name: p[0], Value: p[1]}
	}
	return kvs, nil
}

// searchText is what the queue's text filter looks in, lower-cased here so
// that both dialects fold case alike.
func searchText(a alert.Alert) string {
	parts := []string{a.RuleTitle, a.RuleID, a.Host, a.User}
	for _, f := range a.Fields {
		parts = append(parts, f.Value)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// likeEscape escapes LIKE's wildcards and the escape character itself.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

const createAlertSQL = `INSERT INTO alerts (tenant, source, rule_id, rule_title, level, tags, host, user_name, fields,
	search_text, first_seen, last_seen, detections, event_refs, state, state_reason, assignee_id, version,
	created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateAlert inserts a and returns it with its id.
func (db *DB) CreateAlert(ctx context.Context, a alert.Alert) (alert.Alert, error) {
	tags, err := encodeJSON(nonNil(a.Tags))
	if err != nil {
		return alert.Alert{}, fmt.Errorf("store: create alert: %w", err)
	}
	fields, err := encodeKVs(a.Fields)
	if err != nil {
		return alert.Alert{}, fmt.Errorf("store: create alert: %w", err)
	}
	err = db.queryRow(ctx, createAlertSQL, a.Tenant, a.Source, a.RuleID, a.RuleTitle, string(a.Level), tags, a.Host,
		a.User, fields, searchText(a), micros(a.FirstSeen), micros(a.LastSeen), a.Count, a.EventRefs, string(a.State),
		a.StateReason, a.AssigneeID, a.Version, micros(a.CreatedAt), micros(a.UpdatedAt)).Scan(&a.ID)
	if err != nil {
		return alert.Alert{}, fmt.Errorf("store: create alert: %w", mapErr(err))
	}
	return a, nil
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

const updateAlertSQL = `UPDATE alerts SET level = ?, first_seen = ?, last_seen = ?, detections = ?, event_refs = ?,
	state = ?, state_reason = ?, assignee_id = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?`

// UpdateAlert stores a's mutable fields (level, times, counts, triage state,
// assignee, version) if the row's version is still prevVersion; NotFound
// otherwise. Rule, tags, host, user and key fields never change.
func (db *DB) UpdateAlert(ctx context.Context, a alert.Alert, prevVersion int64) error {
	r, err := db.exec(ctx, updateAlertSQL, string(a.Level), micros(a.FirstSeen), micros(a.LastSeen), a.Count,
		a.EventRefs, string(a.State), a.StateReason, a.AssigneeID, a.Version, micros(a.UpdatedAt), a.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update alert %d: %w", a.ID, err)
	}
	return nil
}

// Alert returns the alert with id, or NotFound.
func (db *DB) Alert(ctx context.Context, id int64) (alert.Alert, error) {
	a, err := scanAlert(db.queryRow(ctx, `SELECT `+alertColumns+alertFrom+` WHERE alerts.id = ?`, id))
	if err != nil {
		return alert.Alert{}, fmt.Errorf("store: alert %d: %w", id, err)
	}
	return a, nil
}

// AlertForGroup returns the latest alert of group k in one of states whose
// last detection is at or after since, or NotFound.
func (db *DB) AlertForGroup(ctx context.Context, k alert.GroupKey, states []alert.State, since time.Time) (alert.Alert, error) {
	if len(states) == 0 {
		return alert.Alert{}, fmt.Errorf("store: alert for group %s: %w", k.RuleID, mapErr(sql.ErrNoRows))
	}
	q := `SELECT ` + alertColumns + alertFrom + ` WHERE alerts.tenant = ? AND alerts.rule_id = ? AND alerts.host = ?
		AND alerts.user_name = ? AND alerts.last_seen >= ? AND alerts.state IN (` + marks(len(states)) + `)
		ORDER BY alerts.last_seen DESC, alerts.id DESC LIMIT 1`
	args := []any{k.Tenant, k.RuleID, k.Host, k.User, micros(since)}
	for _, s := range states {
		args = append(args, string(s))
	}
	a, err := scanAlert(db.queryRow(ctx, q, args...))
	if err != nil {
		return alert.Alert{}, fmt.Errorf("store: alert for group %s: %w", k.RuleID, err)
	}
	return a, nil
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Alerts returns the alerts matching f, highest id first, at most f.Limit
// (all when it is 0).
func (db *DB) Alerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error) {
	where := []string{"alerts.tenant = ?"}
	args := []any{f.Tenant}
	if len(f.States) > 0 {
		where = append(where, "alerts.state IN ("+marks(len(f.States))+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	if len(f.Levels) > 0 {
		where = append(where, "alerts.level IN ("+marks(len(f.Levels))+")")
		for _, l := range f.Levels {
			args = append(args, string(l))
		}
	}
	for _, c := range []struct{ col, v string }{{"alerts.rule_id", f.RuleID}, {"alerts.host", f.Host}, {"alerts.user_name", f.User}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.AssigneeID != 0 {
		where, args = append(where, "alerts.assignee_id = ?"), append(args, f.AssigneeID)
	} else if f.Unassigned {
		where = append(where, "alerts.assignee_id = 0")
	}
	if f.Text != "" {
		where = append(where, `alerts.search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape.Replace(strings.ToLower(f.Text))+"%")
	}
	if !f.From.IsZero() {
		where, args = append(where, "alerts.last_seen >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "alerts.first_seen < ?"), append(args, micros(f.To))
	}
	if f.After > 0 {
		where, args = append(where, "alerts.id < ?"), append(args, f.After)
	}
	q := `SELECT ` + alertColumns + alertFrom + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY alerts.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alerts: %w", err)
	}
	defer rows.Close()
	var out []alert.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alerts: %w", mapErr(err))
	}
	return out, nil
}

// AlertCounts counts a tenant's alerts by state and level.
func (db *DB) AlertCounts(ctx context.Context, tenant string) ([]alert.Count, error) {
	rows, err := db.query(ctx, `SELECT state, level, COUNT(*) FROM alerts WHERE tenant = ? GROUP BY state, level
		ORDER BY state, level`, tenant)
	if err != nil {
		return nil, fmt.Errorf("store: alert counts: %w", err)
	}
	defer rows.Close()
	var out []alert.Count
	for rows.Next() {
		var c alert.Count
		var state, level string
		if err := rows.Scan(&state, &level, &c.N); err != nil {
			return nil, fmt.Errorf("store: alert counts: %w", mapErr(err))
		}
		c.State, c.Level = alert.State(state), alert.Level(level)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alert counts: %w", mapErr(err))
	}
	return out, nil
}

// AddAlertEvents links eventIDs to an alert, numbered from first in the
// given order, skips those linked already, and returns how many it linked.
func (db *DB) AddAlertEvents(ctx context.Context, alertID int64, first int, eventIDs []string) (int, error) {
	if len(eventIDs) == 0 {
		return 0, nil
	}
	q := `INSERT INTO alert_events (alert_id, event_id, seq) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(eventIDs)), ", ") +
		` ON CONFLICT (alert_id, event_id) DO NOTHING`
	args := make([]any, 0, 3*len(eventIDs))
	for i, id := range eventIDs {
		args = append(args, alertID, id, first+i)
	}
	r, err := db.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: add alert %d events: %w", alertID, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: add alert %d events: %w", alertID, err)
	}
	return int(n), nil
}

// AlertEvents returns the event ids linked to an alert in link order.
func (db *DB) AlertEvents(ctx context.Context, alertID int64) ([]string, error) {
	rows, err := db.query(ctx, `SELECT event_id FROM alert_events WHERE alert_id = ? ORDER BY seq, event_id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("store: alert %d events: %w", alertID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: alert %d events: %w", alertID, mapErr(err))
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alert %d events: %w", alertID, mapErr(err))
	}
	return out, nil
}

const addAlertHistorySQL = `INSERT INTO alert_history (alert_id, at, actor_id, actor, action, from_value, to_value, reason)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// AddAlertHistory appends a history entry. An unknown alert is Invalid.
func (db *DB) AddAlertHistory(ctx context.Context, h alert.HistoryEntry) error {
	if _, err := db.exec(ctx, addAlertHistorySQL, h.AlertID, micros(h.At), h.ActorID, h.Actor, string(h.Action),
		h.From, h.To, h.Reason); err != nil {
		return fmt.Errorf("store: add alert %d history: %w", h.AlertID, err)
	}
	return nil
}

// AlertHistory returns an alert's history, oldest first.
func (db *DB) AlertHistory(ctx context.Context, alertID int64) ([]alert.HistoryEntry, error) {
	rows, err := db.query(ctx, `SELECT id, alert_id, at, actor_id, actor, action, from_value, to_value, reason
		FROM alert_history WHERE alert_id = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("store: alert %d history: %w", alertID, err)
	}
	defer rows.Close()
	var out []alert.HistoryEntry
	for rows.Next() {
		var h alert.HistoryEntry
		var at int64
		var action string
		if err := rows.Scan(&h.ID, &h.AlertID, &at, &h.ActorID, &h.Actor, &action, &h.From, &h.To, &h.Reason); err != nil {
			return nil, fmt.Errorf("store: alert %d history: %w", alertID, mapErr(err))
		}
		h.At, h.Action = fromMicros(at), alert.Action(action)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alert %d history: %w", alertID, mapErr(err))
	}
	return out, nil
}

const exclusionColumns = `id, tenant, rule_id, conditions, reason, author, alert_id, created_at, expires_at, hits, last_hit`

func scanExclusion(s scanner) (alert.Exclusion, error) {
	var x alert.Exclusion
	var conds string
	var created, expires, lastHit int64
	if err := s.Scan(&x.ID, &x.Tenant, &x.RuleID, &conds, &x.Reason, &x.Author, &x.AlertID, &created, &expires,
		&x.Hits, &lastHit); err != nil {
		return alert.Exclusion{}, mapErr(err)
	}
	var err error
	if x.Conditions, err = decodeKVs(conds); err != nil {
		return alert.Exclusion{}, fmt.Errorf("exclusion %d conditions: %w", x.ID, err)
	}
	x.Created, x.Expires, x.LastHit = fromMicros(created), fromMicros(expires), fromMicros(lastHit)
	return x, nil
}

const createExclusionSQL = `INSERT INTO rule_exclusions (tenant, rule_id, conditions, reason, author, alert_id,
	created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateExclusion inserts x with no hits and returns it with its id.
func (db *DB) CreateExclusion(ctx context.Context, x alert.Exclusion) (alert.Exclusion, error) {
	conds, err := encodeKVs(x.Conditions)
	if err != nil {
		return alert.Exclusion{}, fmt.Errorf("store: create exclusion: %w", err)
	}
	err = db.queryRow(ctx, createExclusionSQL, x.Tenant, x.RuleID, conds, x.Reason, x.Author, x.AlertID,
		micros(x.Created), micros(x.Expires)).Scan(&x.ID)
	if err != nil {
		return alert.Exclusion{}, fmt.Errorf("store: create exclusion: %w", mapErr(err))
	}
	x.Hits, x.LastHit = 0, time.Time{}
	return x, nil
}

// Exclusion returns the exclusion with id, or NotFound.
func (db *DB) Exclusion(ctx context.Context, id int64) (alert.Exclusion, error) {
	x, err := scanExclusion(db.queryRow(ctx, `SELECT `+exclusionColumns+` FROM rule_exclusions WHERE id = ?`, id))
	if err != nil {
		return alert.Exclusion{}, fmt.Errorf("store: exclusion %d: %w", id, err)
	}
	return x, nil
}

// Exclusions returns every exclusion by id, expired ones included.
func (db *DB) Exclusions(ctx context.Context) ([]alert.Exclusion, error) {
	rows, err := db.query(ctx, `SELECT `+exclusionColumns+` FROM rule_exclusions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: exclusions: %w", err)
	}
	defer rows.Close()
	var out []alert.Exclusion
	for rows.Next() {
		x, err := scanExclusion(rows)
		if err != nil {
			return nil, fmt.Errorf("store: exclusions: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: exclusions: %w", mapErr(err))
	}
	return out, nil
}

// DeleteExclusion removes an exclusion; NotFound if there is none.
func (db *DB) DeleteExclusion(ctx context.Context, id int64) error {
	r, err := db.exec(ctx, `DELETE FROM rule_exclusions WHERE id = ?`, id)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: delete exclusion %d: %w", id, err)
	}
	return nil
}

// AddExclusionHit counts n suppressed detections at at (the latest hit
// time is kept); NotFound if the exclusion is gone.
func (db *DB) AddExclusionHit(ctx context.Context, id int64, n int64, at time.Time) error {
	r, err := db.exec(ctx, `UPDATE rule_exclusions SET hits = hits + ?,
		last_hit = CASE WHEN last_hit > ? THEN last_hit ELSE ? END WHERE id = ?`, max(n, 1), micros(at), micros(at), id)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: add exclusion %d hit: %w", id, err)
	}
	return nil
}
