// SPDX-License-Identifier: Apache-2.0

package comms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestPPCDraftNineItems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	// A customer notice released before the draft shows in 本人への対応.
	in, err := e.svc.Template(ctx, e.resp, inc.ID, comms.TemplateCustomer, i18n.Japanese)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.AddMessage(ctx, e.resp, inc.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	m, _ = e.svc.Submit(ctx, e.resp, inc.ID, comms.MessageRef{ID: m.ID, Version: m.Version})
	m, _ = e.svc.Approve(ctx, e.lead, inc.ID, comms.MessageRef{ID: m.ID, Version: m.Version})
	if _, err := e.svc.ReleaseMessage(ctx, e.resp, inc.ID, comms.MessageRef{ID: m.ID, Version: m.Version},
		comms.Release{Channel: comms.ChannelEmail, Party: "対象のお客様"}); err != nil {
		t.Fatalf("ReleaseMessage: %v", err)
	}

	r, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportPPC, "", "")
	if err != nil {
		t.Fatalf("CreateReport(ppc): %v", err)
	}
	if r.Stage != comms.StagePreliminary || r.Lang != i18n.Japanese {
		t.Errorf("CreateReport(ppc) stage %q lang %q; want preliminary, ja", r.Stage, r.Lang)
	}
	keys := comms.ReportPPC.Fields()
	if len(keys) != 9 || len(r.Fields) != 9 {
		t.Fatalf("PPC draft has %d fields (kind lists %d); want the nine items", len(r.Fields), len(keys))
	}
	ja := func(id string, args ...any) string { return e.cat.T(i18n.Japanese, id, args...) }
	want := map[string][]string{
		"summary":           {inc.Title, inc.Description, ja("incident.type.phishing")},
		"data_items":        {ja("comms.prefill.items_personal")},
		"people":            {"1,234"},
		"cause":             {ja("incident.root_cause.social_engineering"), "多要素認証のないクラウドメール", "リンクを開いた"},
		"secondary_harm":    {ja("comms.prefill.harm_malicious")},
		"subjects_response": {in.Subject},
		"publication":       {ja("comms.prefill.publication_not_yet")},
		"prevention":        {"全社員に多要素認証を導入"},
		"other":             {"hanako@example.co.jp", "PC-KEIRI-01", ja("comms.prefill.timeline_head")},
	}
	for i, k := range keys {
		f := r.Fields[i]
		if f.Key != k || f.Value == "" || f.Edited() {
			t.Errorf("field %d = %+v; want %s filled and not edited", i, f, k)
		}
		for _, s := range want[k] {
			if !strings.Contains(f.Value, s) {
				t.Errorf("field %s = %q; want it to contain %q", k, f.Value, s)
			}
		}
	}
	dl, ok := comms.Deadline(incident.Detail{Incident: inc}, r, e.svc.Policy())
	if !ok || dl.Kind != incident.DeadlinePPCPreliminary || dl.Due.IsZero() {
		t.Errorf("Deadline(ppc preliminary) = %+v, %v; want the 速報 clock", dl, ok)
	}
	final, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportPPC, comms.StageFinal, "")
	if err != nil {
		t.Fatal(err)
	}
	if dl, ok := comms.Deadline(incident.Detail{Incident: inc}, final, e.svc.Policy()); !ok ||
		dl.Kind != incident.DeadlinePPCFinal {
		t.Errorf("Deadline(ppc final) = %+v, %v", dl, ok)
	}
	_, err = e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportJPCERT, comms.StageFinal, "")
	wantFault(t, "CreateReport(jpcert with a stage)", err, fault.Invalid, "comms.stage_invalid")
	_, err = e.svc.CreateReport(ctx, e.resp, inc.ID, "fax", "", "")
	wantFault(t, "CreateReport(unknown kind)", err, fault.Invalid, "comms.report_kind_invalid")

	// JPCERT/CC's draft carries the indicators, defanged.
	jp, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportJPCERT, "", i18n.English)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := jp.Field("source"); !strings.Contains(f.Value, "evil[.]example") {
		t.Errorf("jpcert source = %q; want the defanged domain", f.Value)
	}
}

func TestReportRefreshKeepsEdits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	r, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportManagement, "", i18n.English)
	if err != nil {
		t.Fatal(err)
	}
	mine := "Our own overview <img src=x onerror=alert(1)>"
	if r, err = e.svc.SaveReport(ctx, e.resp, inc.ID, comms.ReportRef{ID: r.ID, Version: r.Version},
		map[string]string{"overview": mine}); err != nil {
		t.Fatalf("SaveReport: %v", err)
	}
	_, err = e.svc.SaveReport(ctx, e.resp, inc.ID, comms.ReportRef{ID: r.ID, Version: r.Version - 1},
		map[string]string{"overview": "x"})
	wantFault(t, "SaveReport(stale)", err, fault.Conflict, "comms.report_changed")
	_, err = e.svc.SaveReport(ctx, e.resp, inc.ID, comms.ReportRef{ID: r.ID, Version: r.Version},
		map[string]string{"nine": "x"})
	wantFault(t, "SaveReport(unknown field)", err, fault.Invalid, "comms.report_field_unknown")

	// The incident changes: its description and its phase.
	cur, err := e.inc.Incident(ctx, e.resp.Actor, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	newDesc := "新しい事実: 取引先にも同じメールが届いていた。"
	upd := incident.Input{Title: cur.Title, Description: newDesc, Type: cur.Type, AffectedAssets: cur.AffectedAssets,
		AffectedUsers: cur.AffectedUsers, Flags: cur.Flags}
	up, err := e.inc.Update(ctx, e.resp.Actor, incident.Ref{ID: inc.ID, Version: cur.Version}, upd)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := e.inc.ChangePhase(ctx, e.resp.Actor, incident.Ref{ID: inc.ID, Version: up.Version},
		incident.PhaseContainment, ""); err != nil {
		t.Fatalf("ChangePhase: %v", err)
	}
	e.now = e.now.Add(time.Hour)
	before, _ := r.Field("impact")
	r2, filled, suggested, err := e.svc.RefreshReport(ctx, e.resp, inc.ID, comms.ReportRef{ID: r.ID, Version: r.Version})
	if err != nil {
		t.Fatalf("RefreshReport: %v", err)
	}
	ov, _ := r2.Field("overview")
	if ov.Value != mine || !strings.Contains(ov.Suggested, newDesc) {
		t.Errorf("overview after refresh = %q, suggested %q; want the edit kept and the new text suggested", ov.Value, ov.Suggested)
	}
	if !containsStr(suggested, "overview") {
		t.Errorf("RefreshReport suggested %v; want overview", suggested)
	}
	resp, _ := r2.Field("response")
	if !containsStr(filled, "response") || resp.Edited() {
		t.Errorf("RefreshReport filled %v (response %+v); want the unedited response field refilled", filled, resp)
	}
	if after, _ := r2.Field("impact"); after.Value != before.Value && after.Edited() {
		t.Errorf("impact = %+v; an unedited field stays unedited", after)
	}
	// Taking the suggestion makes it the field's pre-fill.
	r3, err := e.svc.SaveReport(ctx, e.resp, inc.ID, comms.ReportRef{ID: r2.ID, Version: r2.Version},
		map[string]string{"overview": ov.Suggested})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r3.Field("overview"); f.Edited() || f.Suggested != "" {
		t.Errorf("overview after taking the suggestion = %+v; want it unedited with no suggestion", f)
	}
	got, err := e.svc.Report(ctx, e.resp, inc.ID, r.ID)
	if err != nil || got.Version != r3.Version {
		t.Errorf("Report = v%d, %v; want v%d", got.Version, err, r3.Version)
	}
}

func TestReportSendLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	r, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportPPC, comms.StagePreliminary, "")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e.svc.Contacts(ctx, e.resp, "")
	if err != nil {
		t.Fatal(err)
	}
	var ppc comms.Contact
	for _, c := range cs {
		if c.Kind == comms.KindPPC {
			ppc = c
		}
	}
	if ppc.ID == 0 {
		t.Fatalf("Contacts = %+v; want the PPC seeded", cs)
	}
	_, err = e.svc.RecordSend(ctx, e.resp, inc.ID, r.ID, comms.SendInput{Channel: comms.ChannelWebForm})
	wantFault(t, "RecordSend(to nobody)", err, fault.Invalid, "comms.party_required")
	at := t0.Add(-30 * time.Minute)
	sd, err := e.svc.RecordSend(ctx, e.resp, inc.ID, r.ID, comms.SendInput{ContactID: ppc.ID,
		Channel: comms.ChannelWebForm, At: at, Reference: "PPC-2026-000123"})
	if err != nil {
		t.Fatalf("RecordSend: %v", err)
	}
	ss, err := e.svc.Sends(ctx, e.resp, inc.ID, r.ID)
	if err != nil || len(ss) != 1 {
		t.Fatalf("Sends = %v, %v; want one", ss, err)
	}
	if got := ss[0]; got != sd || got.To != ppc.Label() || got.Reference != "PPC-2026-000123" ||
		!got.At.Equal(at.Truncate(time.Microsecond)) || got.By != "resp1" {
		t.Errorf("Sends[0] = %+v; want %+v to %q", got, sd, ppc.Label())
	}
	tl, _ := e.inc.Timeline(ctx, e.resp.Actor, inc.ID)
	found := false
	for _, en := range tl {
		found = found || (en.Msg == "comms.timeline.report_sent" && en.Kind == incident.EntryReport)
	}
	if !found {
		t.Error("timeline lacks the report_sent entry")
	}
	// Another incident's report is not found through this one.
	other, err := e.inc.Create(ctx, e.resp.Actor, incident.Draft{Input: incident.Input{Title: "別件", Type: incident.TypeDoS}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Report(ctx, e.resp, other.ID, r.ID)
	wantFault(t, "Report(other incident)", err, fault.NotFound, "comms.report_not_found")
}

func TestContacts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cs, err := e.svc.Contacts(ctx, e.resp, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 {
		t.Fatalf("Contacts(first use) = %d; want the 4 public bodies", len(cs))
	}
	for _, c := range cs {
		if c.Phone != "" || c.Email != "" {
			t.Errorf("seeded %q has phone %q e-mail %q; the seed holds names only", c.Name, c.Phone, c.Email)
		}
	}
	_, err = e.svc.CreateContact(ctx, e.resp, "", comms.ContactInput{Name: "x", Kind: comms.KindLawyer, Email: "not mail"})
	wantFault(t, "CreateContact(bad e-mail)", err, fault.Invalid, "comms.email_invalid")
	c, err := e.svc.CreateContact(ctx, e.resp, "", comms.ContactInput{Name: "山田 太郎", Organisation: "山田法律事務所",
		Kind: comms.KindLawyer, Email: "yamada@example.jp", Phone: "03-0000-0000"})
	if err != nil {
		t.Fatalf("CreateContact: %v", err)
	}
	if cs, _ = e.svc.Contacts(ctx, e.resp, ""); len(cs) != 5 {
		t.Errorf("Contacts after one more = %d; want 5 (no second seeding)", len(cs))
	}
	_, err = e.svc.UpdateContact(ctx, e.resp, "", comms.ContactRef{ID: c.ID, Version: c.Version + 1}, comms.ContactInput{
		Name: "y", Kind: comms.KindLawyer})
	wantFault(t, "UpdateContact(stale)", err, fault.Conflict, "comms.contact_changed")
	_, err = e.svc.Contact(ctx, e.resp, "other-tenant", c.ID)
	wantFault(t, "Contact(other tenant)", err, fault.NotFound, "comms.contact_not_found")

	inc := e.prepared(t)
	if _, err := e.svc.AddIncidentContact(ctx, e.resp, inc.ID, c.ID, "法的助言"); err != nil {
		t.Fatalf("AddIncidentContact: %v", err)
	}
	_, err = e.svc.AddIncidentContact(ctx, e.resp, inc.ID, c.ID, "")
	wantFault(t, "AddIncidentContact(twice)", err, fault.Conflict, "comms.contact_involved")
	ins, err := e.svc.IncidentContacts(ctx, e.resp, inc.ID)
	if err != nil || len(ins) != 1 || ins[0].Contact.Name != "山田 太郎" || ins[0].Role != "法的助言" {
		t.Fatalf("IncidentContacts = %+v, %v", ins, err)
	}
	if err := e.svc.RemoveIncidentContact(ctx, e.resp, inc.ID, c.ID); err != nil {
		t.Fatalf("RemoveIncidentContact: %v", err)
	}
	err = e.svc.RemoveIncidentContact(ctx, e.resp, inc.ID, c.ID)
	wantFault(t, "RemoveIncidentContact(again)", err, fault.NotFound, "comms.contact_not_involved")
}
