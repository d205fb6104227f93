// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// playbookCases are the conformance cases of the playbooks admins copied and edited.
var playbookCases = []conformanceCase{
	{"CustomPlaybookRoundTrip", testCustomPlaybookRoundTrip},
	{"CustomPlaybookVersions", testCustomPlaybookVersions},
}

// customPlaybook is a stored playbook whose text has what a store could
// mangle: Japanese, markup, quotes, tabs, a trailing newline.
func customPlaybook(id string) incident.CustomPlaybook {
	return incident.CustomPlaybook{ID: id,
		Source:     "# 写し <script>alert('x')</script>\nid: " + id + "\ntitle:\n  en: \"Ransomware \\\"ours\\\"\"\n  ja:\tランサムウェア 100% _対応_\n",
		CopiedFrom: "ransomware", Version: 1, CreatedByID: 7, CreatedBy: "山田 花子", CreatedAt: t0,
		UpdatedByID: 7, UpdatedBy: "山田 花子", UpdatedAt: t0}
}

func testCustomPlaybookRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if ps, err := db.CustomPlaybooks(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("CustomPlaybooks on an empty store = %v, %v; want none", ps, err)
	}
	if _, err := db.CustomPlaybook(ctx, "ransomware"); !fault.Is(err, fault.NotFound) {
		t.Errorf("CustomPlaybook(missing): got %v, want NotFound", err)
	}
	want := []incident.CustomPlaybook{customPlaybook("a-custom"), customPlaybook("ransomware"), customPlaybook("z-custom")}
	want[1].Disabled, want[1].CopiedFrom = true, ""
	for _, i := range []int{2, 0, 1} { // not in id order
		if err := db.CreateCustomPlaybook(ctx, want[i]); err != nil {
			t.Fatalf("CreateCustomPlaybook(%s): %v", want[i].ID, err)
		}
	}
	got, err := db.CustomPlaybook(ctx, "ransomware")
	if err != nil {
		t.Fatalf("CustomPlaybook(ransomware): %v", err)
	}
	if diff := cmp.Diff(want[1], got); diff != "" {
		t.Errorf("CustomPlaybook(ransomware) round trip (-want +got):\n%s", diff)
	}
	all, err := db.CustomPlaybooks(ctx)
	if err != nil {
		t.Fatalf("CustomPlaybooks: %v", err)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("CustomPlaybooks, by id (-want +got):\n%s", diff)
	}
	dup := customPlaybook("a-custom")
	dup.Source = "other"
	if err := db.CreateCustomPlaybook(ctx, dup); !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateCustomPlaybook(a-custom again): got %v, want Conflict", err)
	}
	if got, _ := db.CustomPlaybook(ctx, "a-custom"); got.Source != want[0].Source {
		t.Errorf("a refused create changed the row: source %q", got.Source)
	}
}

func testCustomPlaybookVersions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	p := customPlaybook("phishing-bec-custom")
	if err := db.CreateCustomPlaybook(ctx, p); err != nil {
		t.Fatalf("CreateCustomPlaybook: %v", err)
	}
	next := p
	next.Source, next.Disabled, next.Version = p.Source+"# edited\n", true, 2
	next.UpdatedBy, next.UpdatedByID, next.UpdatedAt = "bob", 9, t0.Add(time.Hour)
	if err := db.UpdateCustomPlaybook(ctx, next, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateCustomPlaybook with a stale version: got %v, want NotFound", err)
	}
	if err := db.UpdateCustomPlaybook(ctx, next, 1); err != nil {
		t.Fatalf("UpdateCustomPlaybook: %v", err)
	}
	// Everything but the creation changes.
	got, err := db.CustomPlaybook(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("after UpdateCustomPlaybook (-want +got):\n%s", diff)
	}
	if err := db.UpdateCustomPlaybook(ctx, next, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateCustomPlaybook with the old version again: got %v, want NotFound", err)
	}
	if err := db.DeleteCustomPlaybook(ctx, p.ID, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteCustomPlaybook with a stale version: got %v, want NotFound", err)
	}
	if err := db.DeleteCustomPlaybook(ctx, p.ID, 2); err != nil {
		t.Fatalf("DeleteCustomPlaybook: %v", err)
	}
	if _, err := db.CustomPlaybook(ctx, p.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("CustomPlaybook after delete: got %v, want NotFound", err)
	}
	if err := db.DeleteCustomPlaybook(ctx, p.ID, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteCustomPlaybook twice: got %v, want NotFound", err)
	}
	if err := db.UpdateCustomPlaybook(ctx, next, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateCustomPlaybook of a deleted playbook: got %v, want NotFound", err)
	}
}
