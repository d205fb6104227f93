// SPDX-License-Identifier: Apache-2.0

package comms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// t0 is 18:26 in Tokyo.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

type env struct {
	db   *store.DB
	inc  *incident.Service
	svc  *comms.Service
	cat  *i18n.Catalog
	now  time.Time
	resp comms.Actor // responder, approver
	lead comms.Actor // another responder, approver
	anal comms.Actor // analyst: full access, may not approve
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := storetest.OpenSQLite(t)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, cat: cat, now: t0}
	clock := func() time.Time { return e.now }
	e.inc = incident.New(db, incident.Options{Now: clock})
	e.svc = comms.New(db, e.inc, cat, comms.Options{Now: clock})
	e.resp = e.user(t, "resp1", auth.RoleResponder, true)
	e.lead = e.user(t, "lead", auth.RoleResponder, true)
	e.anal = e.user(t, "anal", auth.RoleAnalyst, false)
	return e
}

func (e *env) user(t *testing.T, name string, role auth.Role, approver bool) comms.Actor {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), auth.User{Name: name, Role: role, PasswordHash: "x",
		CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return comms.Actor{Actor: incident.Actor{Actor: audit.Actor{UserID: u.ID, Name: name, Via: audit.ViaWeb},
		Access: incident.AccessFull}, Approver: approver}
}

// prepared opens a phishing incident with personal data of 1,234 people,
// suspected malicious intent, a completed review and a prevention action.
func (e *env) prepared(t *testing.T) incident.Incident {
	t.Helper()
	ctx := context.Background()
	a := e.resp.Actor
	inc, err := e.inc.Create(ctx, a, incident.Draft{Input: incident.Input{
		Title:          "請求書を装ったフィッシング <b>注意</b>",
		Description:    "経理部の担当者がメールのリンク hxxps://evil[.]example/login を開き、認証情報を入力した。",
		Type:           incident.TypePhishing,
		AffectedAssets: []string{"PC-KEIRI-01"},
		AffectedUsers:  []string{"hanako@example.co.jp"},
		Flags:          incident.Flags{PersonalData: true, MaliciousIntent: true, Over1000: true},
		AwareAt:        t0.Add(-2 * time.Hour),
	}, Impact: &incident.Impact{Functional: incident.FunctionalLow, Information: []incident.InformationImpact{
		incident.InfoPersonal}, People: 1234, Recoverability: incident.RecoverRegular,
		Criticality: incident.CriticalityMedium}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := e.inc.SaveReview(ctx, a, inc.ID, 0, incident.ReviewInput{Cause: incident.CauseSocialEngineering,
		CauseText: "多要素認証のないクラウドメールで認証情報が窃取された", Whys: []string{"リンクを開いた"},
		Complete: true}); err != nil {
		t.Fatalf("SaveReview: %v", err)
	}
	if _, err := e.inc.AddPreventionAction(ctx, a, inc.ID, incident.ActionInput{Title: "全社員に多要素認証を導入",
		Due: t0.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatalf("AddPreventionAction: %v", err)
	}
	return inc
}

func wantFault(t *testing.T, call string, err error, kind fault.Kind, msg string) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("%s: got %v, want %s %s", call, err, kind, msg)
	}
	if got, _ := fault.Public(err); msg != "" && got != msg {
		t.Fatalf("%s: got message %q, want %q", call, got, msg)
	}
}

func TestMessageApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	in, err := e.svc.Template(ctx, e.resp, inc.ID, comms.TemplateManagement, i18n.Japanese)
	if err != nil {
		t.Fatalf("Template: %v", err)
	}
	if !strings.Contains(in.Subject, inc.Ref) || !strings.Contains(in.Body, inc.Description) {
		t.Errorf("Template(management, ja) = %q / %q; want the reference and the description in it", in.Subject, in.Body)
	}
	m, err := e.svc.AddMessage(ctx, e.resp, inc.ID, in)
	if err != nil {
		t.Fatalf("AddMessage(draft): %v", err)
	}
	if m.Status != comms.StatusDraft || m.Direction != comms.DirectionOut {
		t.Fatalf("AddMessage(draft) = %s %s; want draft out", m.Status, m.Direction)
	}
	ref := comms.MessageRef{ID: m.ID, Version: m.Version}
	_, err = e.svc.ReleaseMessage(ctx, e.resp, inc.ID, ref, comms.Release{Channel: comms.ChannelEmail, Party: "社長"})
	wantFault(t, "ReleaseMessage(draft)", err, fault.Conflict, "comms.not_approved")
	_, err = e.svc.Approve(ctx, e.lead, inc.ID, ref)
	wantFault(t, "Approve(draft)", err, fault.Conflict, "comms.not_submitted")

	if m, err = e.svc.Submit(ctx, e.resp, inc.ID, ref); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	_, err = e.svc.Submit(ctx, e.resp, inc.ID, ref)
	wantFault(t, "Submit(stale version)", err, fault.Conflict, "comms.message_changed")
	ref.Version = m.Version
	_, err = e.svc.Approve(ctx, e.resp, inc.ID, ref)
	wantFault(t, "Approve(by its author)", err, fault.Forbidden, "comms.approve_own")
	_, err = e.svc.Approve(ctx, e.anal, inc.ID, ref)
	wantFault(t, "Approve(by an analyst)", err, fault.Forbidden, "comms.approve_role")
	_, err = e.svc.ReleaseMessage(ctx, e.resp, inc.ID, ref, comms.Release{Channel: comms.ChannelEmail, Party: "社長"})
	wantFault(t, "ReleaseMessage(submitted)", err, fault.Conflict, "comms.not_approved")

	if m, err = e.svc.Approve(ctx, e.lead, inc.ID, ref); err != nil {
		t.Fatalf("Approve(by another responder): %v", err)
	}
	if m.Status != comms.StatusApproved || m.ApprovedBy != "lead" {
		t.Errorf("Approve = %s by %q; want approved by lead", m.Status, m.ApprovedBy)
	}
	ref.Version = m.Version
	_, err = e.svc.UpdateMessage(ctx, e.resp, inc.ID, ref, comms.MessageInput{Channel: comms.ChannelEmail, Subject: "x"})
	wantFault(t, "UpdateMessage(approved)", err, fault.Conflict, "comms.not_draft")
	_, err = e.svc.ReleaseMessage(ctx, e.resp, inc.ID, ref, comms.Release{Channel: comms.ChannelEmail})
	wantFault(t, "ReleaseMessage(to nobody)", err, fault.Invalid, "comms.party_required")

	sentAt := t0.Add(-10 * time.Minute)
	if m, err = e.svc.ReleaseMessage(ctx, e.resp, inc.ID, ref, comms.Release{Channel: comms.ChannelEmail,
		Party: "社長 <ceo@example.co.jp>", At: sentAt}); err != nil {
		t.Fatalf("ReleaseMessage(approved): %v", err)
	}
	if m.Status != comms.StatusReleased || !m.At.Equal(sentAt.Truncate(time.Microsecond)) || m.ReleasedBy != "resp1" {
		t.Errorf("ReleaseMessage = %s at %v by %q; want released at %v by resp1", m.Status, m.At, m.ReleasedBy, sentAt)
	}

	// Every step is on the timeline and in the audit trail.
	tl, err := e.inc.Timeline(ctx, e.resp.Actor, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, en := range tl {
		if strings.HasPrefix(en.Msg, "comms.timeline.") {
			msgs = append(msgs, en.Msg)
		}
	}
	for _, want := range []string{"comms.timeline.drafted", "comms.timeline.submitted", "comms.timeline.approved",
		"comms.timeline.released"} {
		if !containsStr(msgs, want) {
			t.Errorf("timeline %v lacks %s", msgs, want)
		}
	}
	au, err := e.db.AuditEntries(ctx, audit.Filter{Action: "comms.", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(au) != 4 {
		t.Errorf("audit has %d comms entries; want 4 (create, submit, approve, release)", len(au))
	}
}

func TestMessageReturnAndLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	m, err := e.svc.AddMessage(ctx, e.resp, inc.ID, comms.MessageInput{Draft: true, Channel: comms.ChannelEmail,
		Subject: "お知らせ", Body: "<script>alert(1)</script>"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err = e.svc.Submit(ctx, e.resp, inc.ID, comms.MessageRef{ID: m.ID, Version: m.Version}); err != nil {
		t.Fatal(err)
	}
	ref := comms.MessageRef{ID: m.ID, Version: m.Version}
	_, err = e.svc.Return(ctx, e.lead, inc.ID, ref, "")
	wantFault(t, "Return(no reason)", err, fault.Invalid, "comms.required")
	if m, err = e.svc.Return(ctx, e.lead, inc.ID, ref, "表現を見直してください"); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if m.Status != comms.StatusDraft || m.ReturnReason == "" {
		t.Errorf("Return = %s %q; want a draft with the reason", m.Status, m.ReturnReason)
	}
	if m, err = e.svc.UpdateMessage(ctx, e.resp, inc.ID, comms.MessageRef{ID: m.ID, Version: m.Version},
		comms.MessageInput{Channel: comms.ChannelLetter, Subject: "お知らせ（改）", Body: "本文"}); err != nil {
		t.Fatalf("UpdateMessage(draft): %v", err)
	}
	if m.Subject != "お知らせ（改）" || m.Channel != comms.ChannelLetter {
		t.Errorf("UpdateMessage = %q %s", m.Subject, m.Channel)
	}

	// Logged messages need no approval but do need a party, and no future.
	_, err = e.svc.AddMessage(ctx, e.resp, inc.ID, comms.MessageInput{Direction: comms.DirectionIn,
		Channel: comms.ChannelPhone, Subject: "保険会社から連絡"})
	wantFault(t, "AddMessage(logged, no party)", err, fault.Invalid, "comms.party_required")
	_, err = e.svc.AddMessage(ctx, e.resp, inc.ID, comms.MessageInput{Direction: comms.DirectionIn,
		Channel: comms.ChannelPhone, Subject: "x", Party: "y", At: t0.Add(time.Hour)})
	wantFault(t, "AddMessage(future)", err, fault.Invalid, "comms.time_future")
	lg, err := e.svc.AddMessage(ctx, e.resp, inc.ID, comms.MessageInput{Direction: comms.DirectionIn,
		Channel: comms.ChannelPhone, Subject: "保険会社から連絡", Party: "損保の担当者"})
	if err != nil || lg.Status != comms.StatusLogged {
		t.Fatalf("AddMessage(logged) = %v, %v; want logged", lg.Status, err)
	}
	ms, err := e.svc.Messages(ctx, e.resp, inc.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Messages = %d, %v; want 2", len(ms), err)
	}
	viewer := e.resp
	viewer.Access = incident.AccessSummary
	_, err = e.svc.Messages(ctx, viewer, inc.ID)
	wantFault(t, "Messages(viewer)", err, fault.Forbidden, "comms.forbidden")
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
