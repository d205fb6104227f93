// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/store"
)

// commsCases are the conformance cases of contacts, the communication log and report drafts.
var commsCases = []conformanceCase{
	{"CommsContacts", testCommsContacts},
	{"CommsIncidentContacts", testCommsIncidentContacts},
	{"CommsMessages", testCommsMessages},
	{"CommsReports", testCommsReports},
	{"CommsReportSendsAppendOnly", testCommsReportSendsAppendOnly},
}

func newContact(t *testing.T, db *store.DB, tenant, name, org string) comms.Contact {
	t.Helper()
	c, err := db.CreateContact(context.Background(), comms.Contact{Tenant: tenant, Name: name, Organisation: org,
		Kind: comms.KindVendor, Email: "a@example.jp", Phone: "+81-3-0000-0000", Notes: "<b>夜間</b>\n対応可",
		Version: 1, CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatalf("CreateContact(%s): %v", name, err)
	}
	return c
}

func testCommsContacts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.Contact(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Contact(4242): got %v, want NotFound", err)
	}
	b := newContact(t, db, "", "佐藤", "B社")
	a := newContact(t, db, "", "鈴木", "A社")
	newContact(t, db, "other", "田中", "A社")
	got, err := db.Contacts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]comms.Contact{a, b}, got); diff != "" {
		t.Errorf("Contacts (by organisation, one tenant) mismatch (-want +got):\n%s", diff)
	}
	b2 := b
	b2.Name, b2.Kind, b2.Version, b2.UpdatedAt = "佐藤 次郎", comms.KindInsurer, 2, t0.Add(time.Hour)
	if err := db.UpdateContact(ctx, b2, 1); err != nil {
		t.Fatalf("UpdateContact: %v", err)
	}
	if err := db.UpdateContact(ctx, b2, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateContact(stale version): got %v, want NotFound", err)
	}
	if c, err := db.Contact(ctx, b.ID); err != nil || !cmp.Equal(c, b2) {
		t.Errorf("Contact after update = %+v, %v; want %+v", c, err, b2)
	}
	for _, tenant := range []string{"", "other"} {
		if ok, err := db.ContactsSeeded(ctx, tenant); err != nil || ok {
			t.Errorf("ContactsSeeded(%q) = %v, %v before marking", tenant, ok, err)
		}
	}
	if err := db.MarkContactsSeeded(ctx, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkContactsSeeded(ctx, "", t0); !fault.Is(err, fault.Conflict) {
		t.Errorf("MarkContactsSeeded twice: got %v, want Conflict", err)
	}
	if ok, _ := db.ContactsSeeded(ctx, ""); !ok {
		t.Error("ContactsSeeded after marking = false")
	}
	if ok, _ := db.ContactsSeeded(ctx, "other"); ok {
		t.Error("ContactsSeeded(other tenant) = true")
	}
}

func testCommsIncidentContacts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 2)
	a, b := newContact(t, db, "", "A", "A社"), newContact(t, db, "", "B", "B社")
	for i, in := range []comms.Involvement{
		{IncidentID: inc[0], ContactID: b.ID, Role: "保険請求", AddedAt: t0, AddedByID: 3, AddedBy: "alice"},
		{IncidentID: inc[0], ContactID: a.ID, AddedAt: t0.Add(time.Minute), AddedBy: "bob"},
	} {
		if err := db.AddIncidentContact(ctx, in); err != nil {
			t.Fatalf("AddIncidentContact %d: %v", i, err)
		}
	}
	if err := db.AddIncidentContact(ctx, comms.Involvement{IncidentID: inc[0], ContactID: a.ID, AddedAt: t0,
		AddedBy: "x"}); !fault.Is(err, fault.Conflict) {
		t.Errorf("AddIncidentContact(twice): got %v, want Conflict", err)
	}
	if err := db.AddIncidentContact(ctx, comms.Involvement{IncidentID: inc[1], ContactID: 4242, AddedAt: t0,
		AddedBy: "x"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddIncidentContact(no such contact): got %v, want Invalid", err)
	}
	got, err := db.IncidentContacts(ctx, inc[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []comms.Involvement{
		{IncidentID: inc[0], ContactID: b.ID, Role: "保険請求", AddedAt: t0, AddedByID: 3, AddedBy: "alice", Contact: b},
		{IncidentID: inc[0], ContactID: a.ID, AddedAt: t0.Add(time.Minute), AddedBy: "bob", Contact: a},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IncidentContacts mismatch (-want +got):\n%s", diff)
	}
	if err := db.RemoveIncidentContact(ctx, inc[0], b.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveIncidentContact(ctx, inc[0], b.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("RemoveIncidentContact(again): got %v, want NotFound", err)
	}
	if got, _ := db.IncidentContacts(ctx, inc[1]); len(got) != 0 {
		t.Errorf("IncidentContacts(other incident) = %v", got)
	}
}

func testCommsMessages(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 2)
	m := comms.Message{IncidentID: inc[0], Direction: comms.DirectionOut, Channel: comms.ChannelEmail, ContactID: 7,
		Party: "社長", Subject: "状況報告 <script>", Body: "本文\n2行目 '; DROP TABLE x; --", Template: comms.TemplateManagement,
		Lang: i18n.Japanese, Status: comms.StatusDraft, AuthorID: 3, Author: "alice", Version: 1, CreatedAt: t0,
		UpdatedAt: t0}
	got, err := db.CreateMessage(ctx, m)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	m.ID = got.ID
	if r, err := db.Message(ctx, m.ID); err != nil || !cmp.Equal(r, m) {
		t.Errorf("Message = %+v, %v; want %+v", r, err, m)
	}
	m2 := m
	m2.Status, m2.At, m2.SubmittedAt, m2.ApprovedAt, m2.ApprovedByID, m2.ApprovedBy = comms.StatusReleased,
		t0.Add(3*time.Hour), t0.Add(time.Hour), t0.Add(2*time.Hour), 4, "bob"
	m2.ReleasedAt, m2.ReleasedByID, m2.ReleasedBy, m2.ReturnReason = t0.Add(3*time.Hour), 3, "alice", "以前の差し戻し"
	m2.Version, m2.UpdatedAt = 2, t0.Add(3*time.Hour)
	if err := db.UpdateMessage(ctx, m2, 1); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	if err := db.UpdateMessage(ctx, m2, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateMessage(stale): got %v, want NotFound", err)
	}
	other, err := db.CreateMessage(ctx, comms.Message{IncidentID: inc[1], Direction: comms.DirectionIn,
		Channel: comms.ChannelPhone, Party: "x", Subject: "y", Status: comms.StatusLogged, At: t0, Author: "a",
		Version: 1, CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := db.IncidentMessages(ctx, inc[0])
	if diff := cmp.Diff([]comms.Message{m2}, ms); err != nil || diff != "" {
		t.Errorf("IncidentMessages = %v (-want +got):\n%s", err, diff)
	}
	if ms, _ := db.IncidentMessages(ctx, inc[1]); len(ms) != 1 || ms[0].ID != other.ID {
		t.Errorf("IncidentMessages(other) = %+v", ms)
	}
	if _, err := db.CreateMessage(ctx, comms.Message{IncidentID: 4242, Direction: comms.DirectionIn, Channel: "phone",
		Subject: "x", Status: comms.StatusLogged, Author: "a", Version: 1}); !fault.Is(err, fault.Invalid) {
		t.Errorf("CreateMessage(no incident): got %v, want Invalid", err)
	}
}

func testCommsReports(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 1)
	r := comms.Report{IncidentID: inc[0], Kind: comms.ReportPPC, Stage: comms.StagePreliminary, Lang: i18n.Japanese,
		Fields: []comms.Field{{Key: "summary", Value: "概要 <b>", Prefill: "概要"}, {Key: "people", Value: "1,234人",
			Prefill: "1,234人", Suggested: "1,500人"}, {Key: "other"}},
		Version: 1, CreatedAt: t0, CreatedBy: "alice", UpdatedAt: t0, UpdatedBy: "alice"}
	got, err := db.CreateReport(ctx, r)
	if err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
	r.ID = got.ID
	if g, err := db.Report(ctx, r.ID); err != nil || !cmp.Equal(g, r) {
		t.Errorf("Report = %+v, %v; want %+v", g, err, r)
	}
	r2 := r
	r2.Fields = []comms.Field{{Key: "summary", Value: "書き直し", Prefill: "概要"}, {Key: "people", Value: "1,500人",
		Prefill: "1,500人"}, {Key: "other", Value: "x"}}
	r2.Lang, r2.Version, r2.UpdatedAt, r2.UpdatedBy = i18n.English, 2, t0.Add(time.Hour), "bob"
	if err := db.UpdateReport(ctx, r2, 1); err != nil {
		t.Fatalf("UpdateReport: %v", err)
	}
	if err := db.UpdateReport(ctx, r2, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateReport(stale): got %v, want NotFound", err)
	}
	rs, err := db.IncidentReports(ctx, inc[0])
	if diff := cmp.Diff([]comms.Report{r2}, rs); err != nil || diff != "" {
		t.Errorf("IncidentReports = %v (-want +got):\n%s", err, diff)
	}
	s1 := comms.Send{ReportID: r.ID, ContactID: 5, To: "個人情報保護委員会", Channel: comms.ChannelWebForm, At: t0,
		Reference: "R-1", Note: "速報", ByID: 3, By: "alice", RecordedAt: t0.Add(time.Minute)}
	s2 := comms.Send{ReportID: r.ID, To: "所管省庁", Channel: comms.ChannelEmail, At: t0.Add(time.Hour), By: "bob",
		RecordedAt: t0.Add(time.Hour)}
	for _, s := range []*comms.Send{&s1, &s2} {
		g, err := db.AddReportSend(ctx, *s)
		if err != nil {
			t.Fatalf("AddReportSend: %v", err)
		}
		s.ID = g.ID
	}
	ss, err := db.ReportSends(ctx, r.ID)
	if diff := cmp.Diff([]comms.Send{s1, s2}, ss); err != nil || diff != "" {
		t.Errorf("ReportSends = %v (-want +got):\n%s", err, diff)
	}
	if _, err := db.AddReportSend(ctx, comms.Send{ReportID: 4242, To: "x", Channel: "email", By: "a"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddReportSend(no report): got %v, want Invalid", err)
	}
}

func testCommsReportSendsAppendOnly(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := evidenceIncidents(t, db, 1)
	r, err := db.CreateReport(ctx, comms.Report{IncidentID: inc[0], Kind: comms.ReportIPA, Lang: i18n.Japanese,
		Version: 1, CreatedAt: t0, CreatedBy: "a", UpdatedAt: t0, UpdatedBy: "a"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.AddReportSend(ctx, comms.Send{ReportID: r.ID, To: "IPA", Channel: comms.ChannelEmail, At: t0, By: "a",
		RecordedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE report_sends SET to_party = 'mallory'`, `DELETE FROM report_sends`} {
		if _, err := db.SQL().ExecContext(ctx, q); err == nil {
			t.Errorf("%s: succeeded; the sent log must be append-only", q)
		}
	}
	ss, err := db.ReportSends(ctx, r.ID)
	if err != nil || len(ss) != 1 || ss[0] != s {
		t.Errorf("ReportSends after refused edits = %+v, %v; want %+v", ss, err, s)
	}
}
