// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
)

// ruleSettingCases are the conformance cases of the rule settings table.
var ruleSettingCases = []struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}{
	{"RuleSettingLifecycle", testRuleSettingLifecycle},
	{"RuleSettingInTx", testRuleSettingInTx},
}

func testRuleSettingLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.RuleSetting(ctx, "r-1"); !fault.Is(err, fault.NotFound) {
		t.Errorf("RuleSetting(never set): got %v, want NotFound", err)
	}
	if all, err := db.RuleSettings(ctx); err != nil || len(all) != 0 {
		t.Errorf("RuleSettings(empty) = %v, %v; want none", all, err)
	}
	off := store.RuleSetting{RuleID: "5638f7c0-ac70-491d-8465-2a65075e0d86", Enabled: false,
		Reason: `noisy on the backup server: "robocopy" <nightly> & 50%_done 誤検知`, Actor: "alice", ActorID: 7, UpdatedAt: t0}
	other := store.RuleSetting{RuleID: "failed_logon", Enabled: true, Reason: "needed again", Actor: "cli:root", UpdatedAt: t0.Add(time.Minute)}
	for _, rs := range []store.RuleSetting{off, other} {
		if err := db.SetRuleSetting(ctx, rs); err != nil {
			t.Fatalf("SetRuleSetting(%s): %v", rs.RuleID, err)
		}
	}
	got, err := db.RuleSetting(ctx, off.RuleID)
	if err != nil {
		t.Fatalf("RuleSetting: %v", err)
	}
	if diff := cmp.Diff(off, got); diff != "" {
		t.Errorf("RuleSetting round trip (-want +got):\n%s", diff)
	}
	// Setting it again replaces the row: one setting per rule.
	on := off
	on.Enabled, on.Reason, on.Actor, on.ActorID, on.UpdatedAt = true, "fixed upstream", "bob", 8, t0.Add(time.Hour)
	if err := db.SetRuleSetting(ctx, on); err != nil {
		t.Fatalf("SetRuleSetting(again): %v", err)
	}
	all, err := db.RuleSettings(ctx)
	if err != nil {
		t.Fatalf("RuleSettings: %v", err)
	}
	if diff := cmp.Diff([]store.RuleSetting{on, other}, all); diff != "" {
		t.Errorf("RuleSettings after replacing (-want +got):\n%s", diff)
	}
	if err := db.DeleteRuleSetting(ctx, on.RuleID); err != nil {
		t.Fatalf("DeleteRuleSetting: %v", err)
	}
	if err := db.DeleteRuleSetting(ctx, on.RuleID); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteRuleSetting(again): got %v, want NotFound", err)
	}
	if all, err := db.RuleSettings(ctx); err != nil || len(all) != 1 || all[0].RuleID != other.RuleID {
		t.Errorf("RuleSettings after delete = %v, %v; want only %s", all, err, other.RuleID)
	}
}

// testRuleSettingInTx: a setting and its audit entry are written together
// or not at all.
func testRuleSettingInTx(t *testing.T, db *store.DB) {
	ctx := context.Background()
	rs := store.RuleSetting{RuleID: "r-tx", Reason: "r", Actor: "alice", UpdatedAt: t0}
	boom := errors.New("boom")
	err := db.Tx(ctx, func(ctx context.Context) error {
		if err := db.SetRuleSetting(ctx, rs); err != nil {
			return err
		}
		if err := db.AppendAudit(ctx, audit.New(audit.System, "rule.disable", "rule:r-tx", nil, rs)); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Tx: got %v, want the function's error", err)
	}
	if _, err := db.RuleSetting(ctx, rs.RuleID); !fault.Is(err, fault.NotFound) {
		t.Errorf("RuleSetting after a rolled-back Tx: got %v, want NotFound", err)
	}
	if err := db.Tx(ctx, func(ctx context.Context) error { return db.SetRuleSetting(ctx, rs) }); err != nil {
		t.Fatalf("Tx(commit): %v", err)
	}
	if got, err := db.RuleSetting(ctx, rs.RuleID); err != nil || got.Reason != rs.Reason {
		t.Errorf("RuleSetting after commit = %+v, %v; want it stored", got, err)
	}
}
