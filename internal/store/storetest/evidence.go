// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// evidenceCases are the conformance cases of the evidence locker's tables.
var evidenceCases = []struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}{
	{"EvidenceRoundTrip", testEvidenceRoundTrip},
	{"EvidenceState", testEvidenceState},
	{"EvidenceCountBySHA256", testEvidenceCountBySHA256},
	{"EvidenceCustodyOrder", testEvidenceCustodyOrder},
	{"EvidenceFactsFixed", testEvidenceFactsFixed},
	{"EvidenceInTx", testEvidenceInTx},
	{"EvidenceIncidentKey", testEvidenceIncidentKey},
}

// evidenceIncidents creates n bare incidents and returns their ids.
func evidenceIncidents(t *testing.T, db *store.DB, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		ref := fmt.Sprintf("INC-2026-%04d", 9000+i)
		inc, err := db.CreateIncident(context.Background(), incident.Incident{Ref: ref, Title: "evidence " + ref,
			Type: incident.TypePhishing, Status: incident.StatusOpen, Phase: incident.PhaseAnalysis, DetectedAt: t0,
			AwareAt: t0, CreatedBy: "alice", Version: 1, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatalf("CreateIncident(%s): %v", ref, err)
		}
		ids[i] = inc.ID
	}
	return ids
}

// evidenceItem returns an item of incident inc whose content is named by
// a SHA-256 made of c.
func evidenceItem(inc int64, c byte, name string) incident.Evidence {
	return incident.Evidence{IncidentID: inc, Name: name, ContentType: "message/rfc822", Size: 4242,
		Digests: incident.Digests{SHA256: strings.Repeat(string(c), 64), SHA1: strings.Repeat(string(c), 40),
			MD5: strings.Repeat(string(c), 32)},
		Description: "請求書を装った\nメール <script>alert(1)</script> 100% _done_", CollectedBy: "山田 花子",
		CollectedFrom: `PC-042 (C:\Users\hanako\Downloads)`, CollectedAt: t0.Add(-3 * time.Hour), UploadedBy: "alice",
		UploadedByID: 7, UploadedAt: t0, Custodian: "山田 花子", RetainUntil: t0.AddDate(5, 0, 0)}
}

func createEvidence(t *testing.T, db *store.DB, e incident.Evidence) incident.Evidence {
	t.Helper()
	got, err := db.CreateEvidence(context.Background(), e)
	if err != nil {
		t.Fatalf("CreateEvidence(%s): %v", e.Name, err)
	}
	return got
}

func testEvidenceRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 2)
	if _, err := db.Evidence(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Evidence(4242): got %v, want NotFound", err)
	}
	if es, err := db.IncidentEvidence(ctx, inc[0]); err != nil || len(es) != 0 {
		t.Errorf("IncidentEvidence(none) = %v, %v; want none", es, err)
	}
	want := evidenceItem(inc[0], 'a', "請求書.eml")
	got := createEvidence(t, db, want)
	if got.ID == 0 {
		t.Fatal("CreateEvidence: id not set")
	}
	want.ID = got.ID
	read, err := db.Evidence(ctx, want.ID)
	if err != nil {
		t.Fatalf("Evidence: %v", err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("Evidence round trip (-want +got):\n%s", diff)
	}
	second := createEvidence(t, db, evidenceItem(inc[0], 'b', "second.evtx"))
	createEvidence(t, db, evidenceItem(inc[1], 'c', "other incident.pcap"))
	es, err := db.IncidentEvidence(ctx, inc[0])
	if err != nil {
		t.Fatalf("IncidentEvidence: %v", err)
	}
	var ids []int64
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]int64{want.ID, second.ID}, ids); diff != "" {
		t.Errorf("IncidentEvidence ids in upload order (-want +got):\n%s", diff)
	}
}

func testEvidenceState(t *testing.T, db *store.DB) {
	ctx := context.Background()
	e := createEvidence(t, db, evidenceItem(evidenceIncidents(t, db, 1)[0], 'd', "disk.img"))
	e.Custodian = "鈴木 一郎 (法務部)"
	e.Hold = incident.LegalHold{Held: true, By: "bob", ByID: 8, At: t0.Add(time.Hour), Reason: "訴訟の可能性"}
	e.RetainUntil = t0.AddDate(10, 0, 0)
	if err := db.UpdateEvidenceState(ctx, e); err != nil {
		t.Fatalf("UpdateEvidenceState: %v", err)
	}
	got, err := db.Evidence(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("Evidence after UpdateEvidenceState (-want +got):\n%s", diff)
	}
	// Only the state is written: facts passed along are ignored.
	changed := e
	changed.Name, changed.SHA256, changed.Size, changed.Description = "renamed", strings.Repeat("f", 64), 1, "edited"
	changed.Hold, changed.DisposedAt = incident.LegalHold{}, t0.AddDate(10, 0, 1)
	if err := db.UpdateEvidenceState(ctx, changed); err != nil {
		t.Fatalf("UpdateEvidenceState(with facts changed): %v", err)
	}
	got, err = db.Evidence(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := e
	want.Hold, want.DisposedAt = incident.LegalHold{}, changed.DisposedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evidence after UpdateEvidenceState with other fields changed (-want +got):\n%s", diff)
	}
	if err := db.UpdateEvidenceState(ctx, incident.Evidence{ID: 4242}); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateEvidenceState(4242): got %v, want NotFound", err)
	}
}

func testEvidenceCountBySHA256(t *testing.T, db *store.DB) {
	ctx := context.Background()
	sha := strings.Repeat("e", 64)
	count := func(want int) {
		t.Helper()
		if n, err := db.CountEvidenceBySHA256(ctx, sha); err != nil || n != want {
			t.Errorf("CountEvidenceBySHA256 = %d, %v; want %d", n, err, want)
		}
	}
	count(0)
	inc := evidenceIncidents(t, db, 2)
	a := createEvidence(t, db, evidenceItem(inc[0], 'e', "a.eml"))
	b := createEvidence(t, db, evidenceItem(inc[1], 'e', "same content, other incident.eml"))
	createEvidence(t, db, evidenceItem(inc[0], '0', "different.eml"))
	count(2)
	a.DisposedAt = t0.AddDate(6, 0, 0)
	if err := db.UpdateEvidenceState(ctx, a); err != nil {
		t.Fatal(err)
	}
	count(1)
	b.DisposedAt = t0.AddDate(6, 0, 0)
	if err := db.UpdateEvidenceState(ctx, b); err != nil {
		t.Fatal(err)
	}
	count(0)
}

func testEvidenceCustodyOrder(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 1)[0]
	e := createEvidence(t, db, evidenceItem(inc, 'f', "f.eml"))
	other := createEvidence(t, db, evidenceItem(inc, '1', "g.eml"))
	// Recorded order, not time order: a collection is recorded after the
	// fact, with the time it happened.
	want := []incident.Custody{
		{EvidenceID: e.ID, At: t0.Add(-3 * time.Hour), Actor: "山田 花子", Action: incident.CustodyCollected, Note: "PC-042"},
		{EvidenceID: e.ID, At: t0, Actor: "alice", ActorID: 7, Action: incident.CustodyUploaded},
		{EvidenceID: e.ID, At: t0.Add(time.Minute), Actor: "alice", ActorID: 7, Action: incident.CustodyTransferred,
			From: "山田 花子", To: "外部フォレンジック業者 <lab@example.jp>", Note: "封印袋 #12"},
		{EvidenceID: e.ID, At: t0.Add(2 * time.Minute), Actor: "bob", ActorID: 8, Action: incident.CustodyDownloaded},
	}
	for i, c := range want {
		got, err := db.AddEvidenceCustody(ctx, c)
		if err != nil {
			t.Fatalf("AddEvidenceCustody(%s): %v", c.Action, err)
		}
		if got.ID == 0 {
			t.Fatalf("AddEvidenceCustody(%s): id not set", c.Action)
		}
		want[i].ID = got.ID
		if i == 1 {
			if _, err := db.AddEvidenceCustody(ctx, incident.Custody{EvidenceID: other.ID, At: t0, Actor: "x",
				Action: incident.CustodyUploaded}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := db.EvidenceCustody(ctx, e.ID)
	if err != nil {
		t.Fatalf("EvidenceCustody: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EvidenceCustody (-want +got):\n%s", diff)
	}
	if cs, err := db.EvidenceCustody(ctx, 4242); err != nil || len(cs) != 0 {
		t.Errorf("EvidenceCustody(4242) = %v, %v; want none", cs, err)
	}
	_, err = db.AddEvidenceCustody(ctx, incident.Custody{EvidenceID: 4242, At: t0, Actor: "x", Action: incident.CustodyViewed})
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("AddEvidenceCustody(unknown item): got %v, want Invalid (foreign key)", err)
	}
}

// testEvidenceFactsFixed: even with direct database access, through SQL,
// an item's facts cannot be edited, items cannot be deleted, and custody
// entries cannot be changed or removed.
func testEvidenceFactsFixed(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 2)
	e := createEvidence(t, db, evidenceItem(inc[0], '2', "fixed.eml"))
	c, err := db.AddEvidenceCustody(ctx, incident.Custody{EvidenceID: e.ID, At: t0, Actor: "alice", Action: incident.CustodyUploaded})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`UPDATE evidence SET sha256 = '%s' WHERE id = %d`, strings.Repeat("9", 64), e.ID),
		fmt.Sprintf(`UPDATE evidence SET name = 'innocent.txt' WHERE id = %d`, e.ID),
		fmt.Sprintf(`UPDATE evidence SET size = 1, description = 'x' WHERE id = %d`, e.ID),
		fmt.Sprintf(`UPDATE evidence SET incident_id = %d WHERE id = %d`, inc[1], e.ID),
		fmt.Sprintf(`UPDATE evidence SET collected_at = 0 WHERE id = %d`, e.ID),
		fmt.Sprintf(`DELETE FROM evidence WHERE id = %d`, e.ID),
		fmt.Sprintf(`UPDATE evidence_custody SET actor = 'mallory' WHERE id = %d`, c.ID),
		fmt.Sprintf(`DELETE FROM evidence_custody WHERE id = %d`, c.ID),
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err == nil {
			t.Errorf("%s succeeded; want the schema to refuse it", q)
		}
	}
	got, err := db.Evidence(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("Evidence after refused edits (-want +got):\n%s", diff)
	}
	if cs, err := db.EvidenceCustody(ctx, e.ID); err != nil || len(cs) != 1 || cs[0] != c {
		t.Errorf("EvidenceCustody after refused edits = %+v, %v; want [%+v]", cs, err, c)
	}
}

// testEvidenceInTx: an item, its custody and its audit entry are written
// together or not at all.
func testEvidenceInTx(t *testing.T, db *store.DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	var id int64
	inc := evidenceIncidents(t, db, 1)[0]
	err := db.Tx(ctx, func(ctx context.Context) error {
		e, err := db.CreateEvidence(ctx, evidenceItem(inc, '3', "tx.eml"))
		if err != nil {
			return err
		}
		id = e.ID
		if _, err := db.AddEvidenceCustody(ctx, incident.Custody{EvidenceID: e.ID, At: t0, Actor: "alice", Action: incident.CustodyUploaded}); err != nil {
			return err
		}
		if err := db.AppendAudit(ctx, audit.New(audit.System, "evidence.upload", audit.Object("evidence", e.ID), nil, nil)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: got %v, want the function's error", err)
	}
	if _, err := db.Evidence(ctx, id); !fault.Is(err, fault.NotFound) {
		t.Errorf("Evidence after a rolled-back Tx: got %v, want NotFound", err)
	}
	if cs, err := db.EvidenceCustody(ctx, id); err != nil || len(cs) != 0 {
		t.Errorf("EvidenceCustody after a rolled-back Tx = %v, %v; want none", cs, err)
	}
	if es, err := db.AuditEntries(ctx, audit.Filter{Action: "evidence."}); err != nil || len(es) != 0 {
		t.Errorf("audit after a rolled-back Tx = %v, %v; want none", es, err)
	}
}

// testEvidenceIncidentKey: evidence belongs to an incident that exists, and
// an incident with evidence cannot be deleted.
func testEvidenceIncidentKey(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.CreateEvidence(ctx, evidenceItem(4242, '4', "orphan.eml")); !fault.Is(err, fault.Invalid) {
		t.Errorf("CreateEvidence(unknown incident): got %v, want Invalid (foreign key)", err)
	}
	inc := evidenceIncidents(t, db, 1)[0]
	createEvidence(t, db, evidenceItem(inc, '4', "kept.eml"))
	if _, err := db.SQL().ExecContext(ctx, fmt.Sprintf(`DELETE FROM incidents WHERE id = %d`, inc)); err == nil {
		t.Error("DELETE of an incident with evidence succeeded; want it refused")
	}
	if es, err := db.IncidentEvidence(ctx, inc); err != nil || len(es) != 1 {
		t.Errorf("IncidentEvidence after a refused delete = %v, %v; want the item", es, err)
	}
}
