// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"
)

// RuleSetting is a person's choice about one detection rule: turned off
// or back on, by whom, when and why. Rules live in files; a setting names
// a rule by its Sigma id (or name) and outlives the file.
type RuleSetting struct {
	RuleID    string
	Enabled   bool
	Reason    string
	Actor     string // the user's name, as the audit trail records it
	ActorID   int64  // the user's id, 0 for the command line or the system
	UpdatedAt time.Time
}

const ruleSettingColumns = `rule_id, enabled, reason, actor, actor_id, updated_at`

func scanRuleSetting(s scanner) (RuleSetting, error) {
	var rs RuleSetting
	var at int64
	if err := s.Scan(&rs.RuleID, &rs.Enabled, &rs.Reason, &rs.Actor, &rs.ActorID, &at); err != nil {
		return RuleSetting{}, mapErr(err)
	}
	rs.UpdatedAt = fromMicros(at)
	return rs, nil
}

// RuleSettings returns every rule setting, by rule id.
func (db *DB) RuleSettings(ctx context.Context) ([]RuleSetting, error) {
	rows, err := db.query(ctx, `SELECT `+ruleSettingColumns+` FROM rule_settings ORDER BY rule_id`)
	if err != nil {
		return nil, fmt.Errorf("store: rule settings: %w", err)
	}
	defer rows.Close()
	var out []RuleSetting
	for rows.Next() {
		rs, err := scanRuleSetting(rows)
		if err != nil {
			return nil, fmt.Errorf("store: rule settings: %w", err)
		}
		out = append(out, rs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rule settings: %w", mapErr(err))
	}
	return out, nil
}

// RuleSetting returns the setting of one rule, or NotFound when nobody
// has changed it.
func (db *DB) RuleSetting(ctx context.Context, ruleID string) (RuleSetting, error) {
	rs, err := scanRuleSetting(db.queryRow(ctx, `SELECT `+ruleSettingColumns+` FROM rule_settings WHERE rule_id = ?`, ruleID))
	if err != nil {
		return RuleSetting{}, fmt.Errorf("store: rule setting %q: %w", ruleID, err)
	}
	return rs, nil
}

const setRuleSettingSQL = `INSERT INTO rule_settings (` + ruleSettingColumns + `) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (rule_id) DO UPDATE SET enabled = excluded.enabled, reason = excluded.reason,
	actor = excluded.actor, actor_id = excluded.actor_id, updated_at = excluded.updated_at`

// SetRuleSetting stores the setting of rs.RuleID, replacing an earlier
// one.
func (db *DB) SetRuleSetting(ctx context.Context, rs RuleSetting) error {
	if _, err := db.exec(ctx, setRuleSettingSQL, rs.RuleID, rs.Enabled, rs.Reason, rs.Actor, rs.ActorID, micros(rs.UpdatedAt)); err != nil {
		return fmt.Errorf("store: set rule setting %q: %w", rs.RuleID, err)
	}
	return nil
}

// DeleteRuleSetting forgets the setting of a rule; NotFound if it has
// none.
func (db *DB) DeleteRuleSetting(ctx context.Context, ruleID string) error {
	r, err := db.exec(ctx, `DELETE FROM rule_settings WHERE rule_id = ?`, ruleID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: delete rule setting %q: %w", ruleID, err)
	}
	return nil
}
