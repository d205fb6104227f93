// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

func newService(t *testing.T, now func() time.Time) (*auth.Service, *store.DB) {
	t.Helper()
	db := storetest.OpenSQLite(t)
	return serviceOn(t, db, now), db
}

func TestEnsureAdminOnce(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	pw, created, err := s.EnsureAdmin(ctx)
	if err != nil || !created || pw == "" {
		t.Fatalf("EnsureAdmin on an empty store = %q, %v, %v", pw, created, err)
	}
	u, err := s.UserByName(ctx, "admin")
	if err != nil || u.Role != auth.RoleAdmin || !u.MustChangePassword {
		t.Errorf("first admin %+v, %v: want an admin who must change the password", u, err)
	}
	if _, created, err := s.EnsureAdmin(ctx); created || err != nil {
		t.Errorf("EnsureAdmin again = %v, %v; want nothing created", created, err)
	}
	if _, err := s.SignIn(ctx, "admin", pw, auth.Client{IP: "127.0.0.1"}); err != nil {
		t.Errorf("sign in with the one-time password: %v", err)
	}
}

func TestLastAdminAndSelf(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	a, _, err := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "root", Role: auth.RoleAdmin, Password: "a long enough passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	me := audit.Actor{UserID: a.ID, Name: a.Name, Via: audit.ViaWeb}
	if err := s.SetRole(ctx, me, a.ID, auth.RoleViewer); !fault.Is(err, fault.Conflict) {
		t.Errorf("demoting the last admin: %v, want Conflict", err)
	}
	if err := s.SetDisabled(ctx, audit.System, a.ID, true); !fault.Is(err, fault.Conflict) {
		t.Errorf("disabling the last admin: %v, want Conflict", err)
	}
	b, _, err := s.CreateUser(ctx, me, auth.NewUser{Name: "second", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, me, a.ID, true); !fault.Is(err, fault.Conflict) {
		t.Errorf("disabling oneself: %v, want Conflict", err)
	}
	if err := s.SetRole(ctx, me, a.ID, auth.RoleViewer); err != nil {
		t.Errorf("demoting one of two admins: %v", err)
	}
	if err := s.SetRole(ctx, me, b.ID, "overlord"); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown role: %v, want Invalid", err)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	u, _, err := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "pia", Role: auth.RoleAnalyst, Password: "first long passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.SignIn(ctx, "pia", "first long passphrase", auth.Client{IP: "192.0.2.1"})
	b, _ := s.SignIn(ctx, "pia", "first long passphrase", auth.Client{IP: "192.0.2.2"})
	pa, err := s.Authenticate(ctx, a.Secret)
	if err != nil {
		t.Fatal(err)
	}
	me := pa.Actor("192.0.2.1")
	if err := s.ChangePassword(ctx, me, u.ID, "wrong current one", "second long passphrase", pa.SessionID); !fault.Is(err, fault.Invalid) {
		t.Errorf("wrong current password: %v, want Invalid", err)
	}
	if err := s.ChangePassword(ctx, me, u.ID, "first long passphrase", "second long passphrase", pa.SessionID); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := s.Authenticate(ctx, a.Secret); err != nil {
		t.Errorf("the session that changed the password: %v, want kept", err)
	}
	if _, err := s.Authenticate(ctx, b.Secret); !fault.Is(err, fault.Unauthenticated) {
		t.Errorf("another session after the change: %v, want ended", err)
	}
	if _, err := s.SignIn(ctx, "pia", "first long passphrase", auth.Client{IP: "192.0.2.1"}); !fault.Is(err, fault.Unauthenticated) {
		t.Errorf("old password after the change: %v", err)
	}
}

func TestTokenUseAuditedHourly(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, db := newService(t, clock)
	ctx := context.Background()
	u, _, err := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "bot", Role: auth.RoleAdmin, Password: "machines have passphrases"})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.CreateToken(ctx, audit.Actor{UserID: u.ID, Name: u.Name}, "export", auth.RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 120; i++ { // two hours, every minute
		if _, err := s.AuthenticateToken(ctx, secret, "192.0.2.9"); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
		now = now.Add(time.Minute)
	}
	es, err := db.AuditEntries(ctx, audit.Filter{Action: "token.use"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Errorf("token.use audited %d times over two hours of use, want 2 (hourly)", len(es))
	}
	if _, err := s.AuthenticateToken(ctx, secret, "203.0.113.4"); err != nil {
		t.Fatal(err)
	}
	if es, _ := db.AuditEntries(ctx, audit.Filter{Action: "token.use"}); len(es) != 3 || es[0].IP != "203.0.113.4" {
		t.Errorf("use from a new address was not audited at once: %d entries", len(es))
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	s, db := newService(t, func() time.Time { return now })
	ctx := context.Background()
	u, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "sam", Role: auth.RoleViewer, Password: "sweeping passphrase"})
	if _, err := s.SignIn(ctx, "sam", "sweeping passphrase", auth.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "sam", "wrong", auth.Client{IP: "192.0.2.1"}); err == nil {
		t.Fatal("wrong password accepted")
	}
	now = now.Add(2 * time.Hour)
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if ss, _ := db.Sessions(ctx, u.ID); len(ss) != 0 {
		t.Errorf("idle session survived the sweep: %v", ss)
	}
	if th, _ := db.Throttle(ctx, "ip:192.0.2.1"); th.Failures != 0 {
		t.Errorf("stale throttle survived the sweep: %+v", th)
	}
}

func TestDemotingAUserDemotesTheirTokens(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	alice, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "alice", Role: auth.RoleAdmin, Password: "a long enough passphrase"})
	bob, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "bob", Role: auth.RoleAdmin, Password: "a long enough passphrase"})
	_, secret, err := s.CreateToken(ctx, audit.Actor{UserID: alice.ID, Name: alice.Name}, "alice's", auth.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, audit.Actor{UserID: bob.ID, Name: bob.Name}, alice.ID, auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	p, err := s.AuthenticateToken(ctx, secret, "192.0.2.1")
	if err != nil || p.Role != auth.RoleViewer || p.Can(auth.PermUsers) {
		t.Errorf("token of a demoted admin acts as %q (%v); want viewer", p.Role, err)
	}
}

func TestValidTokenWorksFromALockedAddress(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	u, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "ops", Role: auth.RoleAdmin, Password: "a long enough passphrase"})
	_, secret, err := s.CreateToken(ctx, audit.Actor{UserID: u.ID, Name: u.Name}, "ops", auth.RoleAnalyst, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := s.AuthenticateToken(ctx, fmt.Sprintf("koban_bad%d", i), "203.0.113.50"); !fault.Is(err, fault.Unauthenticated) {
			t.Fatalf("bad token %d: %v", i, err)
		}
	}
	if _, err := s.AuthenticateToken(ctx, "koban_bad", "203.0.113.50"); !fault.Is(err, fault.TooMany) {
		t.Errorf("21st bad token: %v, want the address locked", err)
	}
	if p, err := s.AuthenticateToken(ctx, secret, "203.0.113.50"); err != nil || p.TokenID == 0 {
		t.Errorf("a valid token from the locked address: %v, want it accepted", err)
	}
}

func TestRevokedTokenIsRefused(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	ctx := context.Background()
	u, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "rev", Role: auth.RoleAdmin, Password: "a long enough passphrase"})
	tok, secret, _ := s.CreateToken(ctx, audit.Actor{UserID: u.ID, Name: u.Name}, "t", auth.RoleViewer, 0)
	if _, err := s.AuthenticateToken(ctx, secret, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, audit.Actor{UserID: u.ID, Name: u.Name}, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, secret, "192.0.2.2"); !fault.Is(err, fault.Unauthenticated) {
		t.Errorf("revoked token: %v, want Unauthenticated", err)
	}
}

func TestCurrentPasswordGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	s, db := newService(t, nil)
	ctx := context.Background()
	u, _, _ := s.CreateUser(ctx, audit.System, auth.NewUser{Name: "yuki", Role: auth.RoleAnalyst, Password: "the real passphrase"})
	me := audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: "192.0.2.3"}
	for i := 0; i < 5; i++ {
		err := s.ChangePassword(ctx, me, u.ID, fmt.Sprintf("guess %d of the password", i), "a brand new passphrase", "")
		if !fault.Is(err, fault.Invalid) {
			t.Fatalf("guess %d: %v, want Invalid", i, err)
		}
	}
	if err := s.ChangePassword(ctx, me, u.ID, "the real passphrase", "a brand new passphrase", ""); !fault.Is(err, fault.TooMany) {
		t.Errorf("right password after 5 wrong ones: %v, want TooMany", err)
	}
	if err := s.DisableTOTP(ctx, me, u.ID, ptr("the real passphrase")); !fault.Is(err, fault.TooMany) {
		t.Errorf("DisableTOTP while locked: %v, want TooMany", err)
	}
	es, _ := db.AuditEntries(ctx, audit.Filter{Action: "auth.password_check_failed"})
	if len(es) != 5 {
		t.Errorf("%d wrong current passwords audited, want 5", len(es))
	}
}

func ptr(s string) *string { return &s }

func TestFailedNamesThatAreNotUserNamesAreNotRecorded(t *testing.T) {
	t.Parallel()
	s, db := newService(t, nil)
	ctx := context.Background()
	// Someone typed their password into the name field.
	if _, err := s.SignIn(ctx, "Summer2026!Secret", "", auth.Client{IP: "192.0.2.4"}); !fault.Is(err, fault.Unauthenticated) {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "bob.smith", "x", auth.Client{IP: "192.0.2.4"}); !fault.Is(err, fault.Unauthenticated) {
		t.Fatal(err)
	}
	es, _ := db.AuditEntries(ctx, audit.Filter{Action: "auth.signin_failed"})
	if len(es) != 2 || es[1].Actor != "(not a user name)" || strings.Contains(es[1].After, "Summer") || es[0].Actor != "bob.smith" {
		t.Errorf("audited names %q, %q", es[1].Actor, es[0].Actor)
	}
}
