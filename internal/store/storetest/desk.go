// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/store"
)

// deskCases are the conformance cases of the employee report desk.
var deskCases = []conformanceCase{
	{"DeskReportRoundTrip", testDeskReportRoundTrip},
	{"DeskReportNumbers", testDeskReportNumbers},
	{"DeskReportConflicts", testDeskReportConflicts},
	{"DeskReportUpdate", testDeskReportUpdate},
	{"DeskReportsFilter", testDeskReportsFilter},
	{"DeskAttachmentEvidence", testDeskAttachmentEvidence},
	{"DeskReportRollback", testDeskReportRollback},
}

// deskReport returns a report with the given reference and attachments
// whose SHA-256 is made of the bytes given.
func deskReport(ref string, reporter int64, sums ...byte) reportdesk.Report {
	r := reportdesk.Report{Ref: ref, Kind: reportdesk.KindSuspiciousEmail,
		What: "請求書を装ったメール\n<script>alert(1)</script> 100% _x_", When: "今朝 9:10", Where: `PC-042 (C:\Users\hanako)`,
		Contact: "内線 1234", ReporterID: reporter, Reporter: "hanako", Status: reportdesk.StatusReceived, Version: 1,
		CreatedAt: t0, UpdatedAt: t0}
	if reporter == 0 {
		r.Reporter, r.TokenHash = "", strings.Repeat("t", 63)+ref[len(ref)-1:]
	}
	for _, c := range sums {
		r.Attachments = append(r.Attachments, reportdesk.Attachment{Name: "mail " + string(c) + ".eml", Size: 4242,
			Digests: incident.Digests{SHA256: strings.Repeat(string(c), 64), SHA1: strings.Repeat(string(c), 40),
				MD5: strings.Repeat(string(c), 32)}, CreatedAt: t0})
	}
	return r
}

func createDeskReport(t *testing.T, db *store.DB, r reportdesk.Report) reportdesk.Report {
	t.Helper()
	got, err := db.CreateDeskReport(context.Background(), r)
	if err != nil {
		t.Fatalf("CreateDeskReport(%s): %v", r.Ref, err)
	}
	return got
}

func testDeskReportRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.DeskReport(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeskReport(4242): got %v, want NotFound", err)
	}
	want := createDeskReport(t, db, deskReport("RPT-2026-0001", 7, 'a', 'b'))
	if want.ID == 0 || len(want.Attachments) != 2 || want.Attachments[0].ID == 0 || want.Attachments[1].ReportID != want.ID {
		t.Fatalf("CreateDeskReport = %+v; want ids set", want)
	}
	anon := createDeskReport(t, db, deskReport("RPT-2026-0002", 0))
	for name, read := range map[string]func() (reportdesk.Report, error){
		"DeskReport":      func() (reportdesk.Report, error) { return db.DeskReport(ctx, want.ID) },
		"DeskReportByRef": func() (reportdesk.Report, error) { return db.DeskReportByRef(ctx, "", "RPT-2026-0001") },
	} {
		got, err := read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	got, err := db.DeskReportByToken(ctx, anon.TokenHash)
	if err != nil || got.ID != anon.ID || got.Attachments != nil {
		t.Errorf("DeskReportByToken = %+v, %v; want the anonymous report", got, err)
	}
	for _, h := range []string{"", strings.Repeat("z", 64)} {
		if _, err := db.DeskReportByToken(ctx, h); !fault.Is(err, fault.NotFound) {
			t.Errorf("DeskReportByToken(%q): got %v, want NotFound", h, err)
		}
	}
	if _, err := db.DeskReportByRef(ctx, "other", "RPT-2026-0001"); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeskReportByRef(other tenant): got %v, want NotFound", err)
	}
}

func testDeskReportNumbers(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for _, tc := range []struct {
		tenant string
		year   int
		want   int
	}{{"", 2026, 1}, {"", 2026, 2}, {"", 2027, 1}, {"acme", 2026, 1}, {"", 2026, 3}} {
		if n, err := db.NextDeskReportNumber(ctx, tc.tenant, tc.year); err != nil || n != tc.want {
			t.Errorf("NextDeskReportNumber(%q, %d) = %d, %v; want %d", tc.tenant, tc.year, n, err, tc.want)
		}
	}
	// A rolled-back transaction gives its number back.
	err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.NextDeskReportNumber(ctx, "", 2026); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx: got %v, want errBoom", err)
	}
	if n, err := db.NextDeskReportNumber(ctx, "", 2026); err != nil || n != 4 {
		t.Errorf("NextDeskReportNumber after rollback = %d, %v; want 4", n, err)
	}
}

func testDeskReportConflicts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	createDeskReport(t, db, deskReport("RPT-2026-0001", 7))
	if _, err := db.CreateDeskReport(ctx, deskReport("RPT-2026-0001", 8, 'c')); !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateDeskReport(same ref): got %v, want Conflict", err)
	}
	other := deskReport("RPT-2026-0001", 7)
	other.Tenant = "acme"
	createDeskReport(t, db, other)
	createDeskReport(t, db, deskReport("RPT-2026-0003", 0))
	dup := deskReport("RPT-2026-0013", 0) // the same token hash: it ends in the same digit
	if _, err := db.CreateDeskReport(ctx, dup); !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateDeskReport(same token): got %v, want Conflict", err)
	}
	// The failed inserts left no attachment behind.
	if n, err := db.CountDeskAttachments(ctx, strings.Repeat("c", 64)); err != nil || n != 0 {
		t.Errorf("CountDeskAttachments after a conflict = %d, %v; want 0", n, err)
	}
}

func testDeskReportUpdate(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := createDeskReport(t, db, deskReport("RPT-2026-0001", 7, 'a'))
	inc := evidenceIncidents(t, db, 1)[0]
	want := r
	want.Status, want.HandlerID, want.Handler, want.Note = reportdesk.StatusIncident, 3, "resp", "見ました <b>"
	want.IncidentID, want.IncidentRef, want.Version = inc, "INC-2026-9000", 2
	want.UpdatedAt, want.DecidedAt = t0.Add(time.Hour), t0.Add(time.Hour)
	want.What = "ignored: what the reporter wrote never changes"
	if err := db.UpdateDeskReport(ctx, want, 1); err != nil {
		t.Fatalf("UpdateDeskReport: %v", err)
	}
	want.What = r.What
	got, err := db.DeskReport(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after UpdateDeskReport (-want +got):\n%s", diff)
	}
	if err := db.UpdateDeskReport(ctx, want, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateDeskReport(stale version): got %v, want NotFound", err)
	}
	want.ID = 4242
	if err := db.UpdateDeskReport(ctx, want, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateDeskReport(missing): got %v, want NotFound", err)
	}
	bad := got
	bad.IncidentID, bad.Version = 4242, 3
	if err := db.UpdateDeskReport(ctx, bad, 2); !fault.Is(err, fault.Invalid) {
		t.Errorf("UpdateDeskReport(unknown incident): got %v, want Invalid", err)
	}
}

func testDeskReportsFilter(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var ids []int64
	for i, rep := range []int64{7, 8, 7, 0} {
		r := deskReport("RPT-2026-000"+string(rune('1'+i)), rep)
		if i == 2 {
			r.Status = reportdesk.StatusDismissed
		}
		ids = append(ids, createDeskReport(t, db, r).ID)
	}
	other := deskReport("RPT-2026-0001", 7)
	other.Tenant = "acme"
	createDeskReport(t, db, other)
	for _, tc := range []struct {
		name string
		f    reportdesk.Filter
		want []int64
	}{
		{"all", reportdesk.Filter{}, []int64{ids[3], ids[2], ids[1], ids[0]}},
		{"reporter", reportdesk.Filter{ReporterID: 7}, []int64{ids[2], ids[0]}},
		{"status", reportdesk.Filter{Statuses: []reportdesk.Status{reportdesk.StatusReceived, reportdesk.StatusTriage}}, []int64{ids[3], ids[1], ids[0]}},
		{"both", reportdesk.Filter{ReporterID: 7, Statuses: []reportdesk.Status{reportdesk.StatusDismissed}}, []int64{ids[2]}},
		{"limit", reportdesk.Filter{Limit: 2}, []int64{ids[3], ids[2]}},
		{"tenant", reportdesk.Filter{Tenant: "acme"}, nil},
	} {
		rs, err := db.DeskReports(ctx, tc.f)
		var got []int64
		for _, r := range rs {
			got = append(got, r.ID)
			if r.Tenant != tc.f.Tenant {
				t.Errorf("DeskReports(%s): report %d of tenant %q", tc.name, r.ID, r.Tenant)
			}
		}
		if tc.name == "tenant" {
			if len(got) != 1 {
				t.Errorf("DeskReports(tenant) = %v, want one", got)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("DeskReports(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func testDeskAttachmentEvidence(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := createDeskReport(t, db, deskReport("RPT-2026-0001", 7, 'a', 'a'))
	createDeskReport(t, db, deskReport("RPT-2026-0002", 8, 'a', 'b'))
	sha := strings.Repeat("a", 64)
	if n, err := db.CountDeskAttachments(ctx, sha); err != nil || n != 3 {
		t.Errorf("CountDeskAttachments(a) = %d, %v; want 3", n, err)
	}
	inc := evidenceIncidents(t, db, 1)[0]
	ev := createEvidence(t, db, evidenceItem(inc, 'a', "mail a.eml"))
	if err := db.SetDeskAttachmentEvidence(ctx, r.Attachments[0].ID, ev.ID); err != nil {
		t.Fatalf("SetDeskAttachmentEvidence: %v", err)
	}
	if n, err := db.CountDeskAttachments(ctx, sha); err != nil || n != 2 {
		t.Errorf("CountDeskAttachments(a) after one moved = %d, %v; want 2", n, err)
	}
	got, err := db.DeskReport(ctx, r.ID)
	if err != nil || got.Attachments[0].EvidenceID != ev.ID || got.Attachments[1].EvidenceID != 0 {
		t.Errorf("attachments after SetDeskAttachmentEvidence = %+v, %v", got.Attachments, err)
	}
	if err := db.SetDeskAttachmentEvidence(ctx, 4242, ev.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("SetDeskAttachmentEvidence(missing attachment): got %v, want NotFound", err)
	}
	if err := db.SetDeskAttachmentEvidence(ctx, r.Attachments[1].ID, 4242); !fault.Is(err, fault.Invalid) {
		t.Errorf("SetDeskAttachmentEvidence(missing evidence): got %v, want Invalid", err)
	}
}

func testDeskReportRollback(t *testing.T, db *store.DB) {
	ctx := context.Background()
	err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.CreateDeskReport(ctx, deskReport("RPT-2026-0001", 7, 'a')); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx: got %v, want errBoom", err)
	}
	if _, err := db.DeskReportByRef(ctx, "", "RPT-2026-0001"); !fault.Is(err, fault.NotFound) {
		t.Errorf("report after rollback: got %v, want NotFound", err)
	}
	if n, err := db.CountDeskAttachments(ctx, strings.Repeat("a", 64)); err != nil || n != 0 {
		t.Errorf("attachments after rollback = %d, %v; want 0", n, err)
	}
}
