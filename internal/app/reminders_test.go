// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// gotMail is a received reminder, decoded.
type gotMail struct{ to, subject, body string }

// mails decodes what the inbox received, sorted by recipient then subject.
func (in *inbox) mails(t *testing.T) []gotMail {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []gotMail
	for _, raw := range in.msgs {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, m.Body)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, gotMail{to: m.Header.Get("To"), subject: subject, body: string(body)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].to != out[j].to {
			return out[i].to < out[j].to
		}
		return out[i].subject < out[j].subject
	})
	return out
}

// findMail returns the mail to to with subject, or nil.
func findMail(ms []gotMail, to, subject string) *gotMail {
	for i := range ms {
		if ms[i].to == to && ms[i].subject == subject {
			return &ms[i]
		}
	}
	return nil
}

// reminderEnv is an incident service on SQLite, a real SMTP listener and
// a fixed clock at 10:00 JST on 22 November 2026.
type reminderEnv struct {
	db    *store.DB
	svc   *incident.Service
	clock *testClock
	in    *inbox
	deps  reminderDeps
	send  reminderSend
	a     incident.Actor
	users map[string]auth.User
}

func newReminderEnv(t *testing.T) *reminderEnv {
	t.Helper()
	db := storetest.OpenSQLite(t)
	clk := &testClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, incident.Tokyo())}
	svc := incident.New(db, incident.Options{Now: clk.now})
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	in := newInbox(t)
	send, err := newReminderMailer(config.NotifySMTP{Host: "127.0.0.1", Port: in.addr.Port, TLS: "none", From: "koban@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e := &reminderEnv{db: db, svc: svc, clock: clk, in: in, send: send, users: map[string]auth.User{},
		deps: reminderDeps{Incidents: svc, Users: db.Users, Catalog: cat, BaseURL: "https://koban.example.com/"}}
	for _, u := range []auth.User{
		{Name: "boss", Role: auth.RoleAdmin, Email: "boss@example.com"},
		{Name: "boss2", Role: auth.RoleAdmin, Email: "boss2@example.com", Disabled: true},
		{Name: "hanako", Role: auth.RoleResponder, Email: "hanako@example.com", Lang: "ja"},
		{Name: "nomail", Role: auth.RoleResponder},
	} {
		u.PasswordHash, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = "x", clk.now(), clk.now(), clk.now()
		created, err := db.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		e.users[u.Name] = created
	}
	e.a = incident.Actor{Access: incident.AccessFull}
	e.a.UserID, e.a.Name = e.users["boss"].ID, "boss"
	return e
}

// open creates an incident assessed low (acknowledge within 24 hours,
// contain within 7 days) with flags and assignees.
func (e *reminderEnv) open(t *testing.T, title string, f incident.Flags, assignees ...int64) incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, err := e.svc.Create(ctx, e.a, incident.Draft{Input: incident.Input{Title: title, Type: incident.TypePhishing, Flags: f},
		Assignees: assignees})
	if err != nil {
		t.Fatal(err)
	}
	inc, err = e.svc.Assess(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Impact{Functional: incident.FunctionalLow,
		Recoverability: incident.RecoverRegular, Criticality: incident.CriticalityMedium})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (e *reminderEnv) run(t *testing.T, send reminderSend) {
	t.Helper()
	if err := remindOnce(context.Background(), e.deps, incident.DefaultPolicy(), send, e.clock.now, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("remindOnce: %v", err)
	}
}

func TestReminders(t *testing.T) {
	e := newReminderEnv(t)
	ctx := context.Background()
	jst := incident.Tokyo()
	// INC-2026-0001: personal data with 要配慮個人情報, assigned to Hanako
	// (Japanese) and to a responder without an address. INC-2026-0002:
	// nobody assigned, so the admins get its reminders. INC-2026-0003:
	// closed.
	a := e.open(t, "請求書メール <b>", incident.Flags{PersonalData: true, Sensitive: true}, e.users["hanako"].ID, e.users["nomail"].ID)
	b := e.open(t, "Unassigned", incident.Flags{})
	c := e.open(t, "Closed one", incident.Flags{})
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: c.ID}, incident.Closing{Resolution: incident.ResolutionFalsePositive, Summary: "nothing"}); err != nil {
		t.Fatal(err)
	}

	// 21 hours in: nothing is due (the acknowledgement's 24-hour lead
	// falls on the start and is skipped).
	e.clock.set(time.Date(2026, 11, 23, 7, 0, 0, 0, jst))
	e.run(t, e.send)
	if n := e.in.count(); n != 0 {
		t.Fatalf("%d mails 21 hours in, want none", n)
	}

	// 22 hours in: the acknowledgement is due in 2 hours. Run by
	// runReminders, which stops with its context.
	e.clock.set(time.Date(2026, 11, 23, 8, 0, 0, 0, jst))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runReminders(rctx, e.deps, incident.DefaultPolicy(), e.send, time.Hour, e.clock.now, nil)
	}()
	waitFor(t, "two reminders", func() bool { return e.in.count() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runReminders after cancel: %v", err)
	}
	got := e.in.mails(t)
	want := []gotMail{
		{to: "<boss@example.com>", subject: "[koban] " + b.Ref + ": Acknowledge (internal target) due in 2 h (2026-11-23 10:00 JST)"},
		{to: "<hanako@example.com>", subject: "[koban] " + a.Ref + ": 受付（社内目標）の期限まであと2時間（2026年11月23日 10:00 (JST)）"},
	}
	for i := range want {
		if i >= len(got) || got[i].to != want[i].to || got[i].subject != want[i].subject {
			t.Fatalf("mails %+v,\nwant %+v", got, want)
		}
	}
	if body := got[1].body; !strings.Contains(body, "インシデント "+a.Ref+": 請求書メール <b>") ||
		!strings.Contains(body, "https://koban.example.com/incidents/"+a.Ref) || !strings.Contains(body, "担当者なので") {
		t.Errorf("Hanako's mail body:\n%s", body)
	}
	if body := got[0].body; !strings.Contains(body, "you are an administrator") {
		t.Errorf("the admin's mail does not say why they get it:\n%s", body)
	}

	// Again, and from a second service (a restart, or another node):
	// nothing more.
	e.run(t, e.send)
	other := e.deps
	other.Incidents = incident.New(e.db, incident.Options{Now: e.clock.now})
	if err := remindOnce(ctx, other, incident.DefaultPolicy(), e.send, e.clock.now, nil); err != nil {
		t.Fatal(err)
	}
	if n := e.in.count(); n != 2 {
		t.Fatalf("%d mails after running again, want still 2", n)
	}

	// B is acknowledged (it left triage); at the deadline only A's
	// reminder goes out.
	if _, err := e.svc.ChangePhase(ctx, e.a, incident.Ref{ID: b.ID}, incident.PhaseAnalysis, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.set(time.Date(2026, 11, 23, 10, 0, 0, 0, jst))
	e.run(t, e.send)
	got = e.in.mails(t)
	if len(got) != 3 || findMail(got, "<hanako@example.com>", "[koban] "+a.Ref+": 受付（社内目標）の期限です（2026年11月23日 10:00 (JST)）") == nil {
		t.Fatalf("at the deadline: %+v", got)
	}

	// The PPC preliminary report, 24 hours before: the first send fails
	// and nothing is marked; the next run sends it.
	e.clock.set(time.Date(2026, 11, 24, 23, 59, 59, 999999999, jst))
	var tries int
	e.run(t, func(context.Context, []string, string, string) error { tries++; return errors.New("mail server down") })
	if tries != 1 || e.in.count() != 3 {
		t.Fatalf("failing send: %d tries, %d mails; want 1 try and still 3 mails", tries, e.in.count())
	}
	e.clock.set(e.clock.now().Add(time.Minute))
	e.run(t, e.send)
	got = e.in.mails(t)
	ppc := findMail(got, "<hanako@example.com>", "[koban] "+a.Ref+": 個人情報保護委員会への速報の期限まであと24時間（2026年11月25日 23:59 (JST)）")
	if len(got) != 4 || ppc == nil {
		t.Fatalf("after the failed send: %+v", got)
	}
	if !strings.Contains(ppc.body, "法令上の期限です。") {
		t.Errorf("the PPC reminder does not say it is a legal deadline:\n%s", ppc.body)
	}
	sent, err := e.db.IncidentReminders(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sent {
		if r.SentAt.IsZero() || r.UserID != e.users["hanako"].ID {
			t.Errorf("stored reminder %+v: want sent, to Hanako", r)
		}
	}
	if len(sent) != 3 {
		t.Errorf("%d stored reminders of %s, want 3", len(sent), a.Ref)
	}
}
