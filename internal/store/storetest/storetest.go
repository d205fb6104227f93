// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
)

// Opener returns a fresh, migrated, empty store for one test; it arranges
// its own cleanup.
type Opener func(t *testing.T) *store.DB

// conformanceCase is one conformance case.
type conformanceCase = struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}

// groups are the conformance cases of every area, each in its own file.
var groups = [][]conformanceCase{cases, alertCases, ruleSettingCases, evidenceCases, incidentCases,
	observableCases, playbookCases, reminderCases, commsCases, deskCases}

// cases lists every conformance case by name.
var cases = []conformanceCase{
	{"Migrations", testMigrations},
	{"UserRoundTrip", testUserRoundTrip},
	{"UserNameConflict", testUserNameConflict},
	{"UserNotFound", testUserNotFound},
	{"UsersOrderAndCount", testUsersOrderAndCount},
	{"SessionLifecycle", testSessionLifecycle},
	{"SessionExpiry", testSessionExpiry},
	{"TokenRoundTrip", testTokenRoundTrip},
	{"TokenForeignKey", testTokenForeignKey},
	{"ThrottleUpsert", testThrottleUpsert},
	{"TxRollback", testTxRollback},
	{"TxNested", testTxNested},
	{"TxSerialised", testTxSerialised},
	{"TokenTouchKeepsRevocation", testTokenTouchKeepsRevocation},
	{"AuditChain", testAuditChain},
	{"AuditConcurrentAppends", testAuditConcurrentAppends},
	{"AuditRolledBackLeavesNoTrace", testAuditRolledBack},
	{"AuditAppendOnly", testAuditAppendOnly},
	{"AuditDetectsDirectEdit", testAuditDetectsDirectEdit},
	{"AuditDetectsDeletedRow", testAuditDetectsDeletedRow},
	{"AuditFilter", testAuditFilter},
	{"Snapshot", testSnapshot},
}

// Run runs every case against stores from open, each as a parallel subtest.
func Run(t *testing.T, open Opener) {
	for _, c := range slices.Concat(groups...) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// t0 has a microsecond part so that round trips prove the precision kept.
var t0 = time.Date(2026, 11, 22, 9, 30, 15, 123456000, time.UTC)

func newUser(t *testing.T, db *store.DB, name string, role auth.Role) auth.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), auth.User{Name: name, Role: role, PasswordHash: "$argon2id$x",
		CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func testMigrations(t *testing.T, db *store.DB) {
	ctx := context.Background()
	ms, err := db.Migrations(ctx)
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("Migrations: none known")
	}
	for _, m := range ms {
		if !m.Applied {
			t.Errorf("Migrations: %d %s not applied", m.Version, m.Name)
		}
	}
	n, err := db.Migrate(ctx)
	if err != nil || n != 0 {
		t.Errorf("Migrate on a migrated store: applied %d, err %v; want 0, nil", n, err)
	}
}

func testUserRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	want := auth.User{Name: "alice", DisplayName: "Alice 鈴木", Email: "alice@example.com", Role: auth.RoleAnalyst,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def", MustChangePassword: true, TOTPSecret: "JBSWY3DPEHPK3PXP",
		TOTPPending: "PENDING", TOTPLastStep: 59000000, Lang: "ja", TimeZone: "Asia/Tokyo", Disabled: false,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), PasswordChangedAt: t0.Add(2 * time.Second)}
	got, err := db.CreateUser(ctx, want)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got.ID == 0 {
		t.Fatal("CreateUser: id not set")
	}
	want.ID = got.ID
	for name, read := range map[string]func() (auth.User, error){
		"User":       func() (auth.User, error) { return db.User(ctx, want.ID) },
		"UserByName": func() (auth.User, error) { return db.UserByName(ctx, "alice") },
	} {
		u, err := read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	want.Role, want.Disabled, want.MustChangePassword, want.TOTPSecret = auth.RoleAdmin, true, false, ""
	want.UpdatedAt = t0.Add(time.Hour)
	if err := db.UpdateUser(ctx, want); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	u, err := db.User(ctx, want.ID)
	if err != nil {
		t.Fatalf("User after update: %v", err)
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("User after UpdateUser mismatch (-want +got):\n%s", diff)
	}
}

func testUserNameConflict(t *testing.T, db *store.DB) {
	newUser(t, db, "bob", auth.RoleViewer)
	_, err := db.CreateUser(context.Background(), auth.User{Name: "bob", Role: auth.RoleAdmin, PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
	if !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateUser(duplicate name): got %v, want Conflict", err)
	}
}

func testUserNotFound(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.User(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("User(4242): got %v, want NotFound", err)
	}
	if _, err := db.UserByName(ctx, "nobody"); !fault.Is(err, fault.NotFound) {
		t.Errorf("UserByName(nobody): got %v, want NotFound", err)
	}
	if err := db.UpdateUser(ctx, auth.User{ID: 4242, Name: "x", Role: auth.RoleViewer}); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateUser(4242): got %v, want NotFound", err)
	}
}

func testUsersOrderAndCount(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers(empty) = %d, %v; want 0", n, err)
	}
	for _, n := range []string{"carol", "alice", "bob"} {
		newUser(t, db, n, auth.RoleViewer)
	}
	us, err := db.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Name)
	}
	if diff := cmp.Diff([]string{"alice", "bob", "carol"}, names); diff != "" {
		t.Errorf("Users order (-want +got):\n%s", diff)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 3 {
		t.Errorf("CountUsers = %d, %v; want 3", n, err)
	}
}

func testSessionLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "dave", auth.RoleResponder)
	other := newUser(t, db, "erin", auth.RoleResponder)
	want := auth.Session{ID: "s1", UserID: u.ID, MFAPending: true, CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(12 * time.Hour), IP: "2001:db8::1", UserAgent: "Mozilla/5.0"}
	for _, s := range []auth.Session{want, {ID: "s2", UserID: u.ID, CreatedAt: t0.Add(time.Minute), LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{ID: "s3", UserID: other.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession(%s): %v", s.ID, err)
		}
	}
	s, su, err := db.SessionUser(ctx, "s1")
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("SessionUser session (-want +got):\n%s", diff)
	}
	if su.ID != u.ID || su.Name != "dave" {
		t.Errorf("SessionUser user = %d %q, want %d dave", su.ID, su.Name, u.ID)
	}
	if err := db.TouchSession(ctx, "s1", t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	if s, _, _ := db.SessionUser(ctx, "s1"); !s.LastSeenAt.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("after TouchSession LastSeenAt = %v", s.LastSeenAt)
	}
	ss, err := db.Sessions(ctx, u.ID)
	if err != nil || len(ss) != 2 || ss[0].ID != "s2" {
		t.Errorf("Sessions(dave) = %v, %v; want s2, s1", ss, err)
	}
	n, err := db.DeleteUserSessions(ctx, u.ID, "s1")
	if err != nil || n != 1 {
		t.Errorf("DeleteUserSessions(keep s1) = %d, %v; want 1", n, err)
	}
	if _, _, err := db.SessionUser(ctx, "s2"); !fault.Is(err, fault.NotFound) {
		t.Errorf("SessionUser(s2) after delete: got %v, want NotFound", err)
	}
	if _, _, err := db.SessionUser(ctx, "s3"); err != nil {
		t.Errorf("SessionUser(s3) of another user: %v, want it kept", err)
	}
	if err := db.DeleteSession(ctx, "s1"); err != nil {
		t.Errorf("DeleteSession: %v", err)
	}
	if err := db.DeleteSession(ctx, "s1"); err != nil {
		t.Errorf("DeleteSession(again): %v, want nil", err)
	}
}

func testSessionExpiry(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "frank", auth.RoleViewer)
	now := t0.Add(24 * time.Hour)
	for _, s := range []auth.Session{
		{ID: "ended", UserID: u.ID, CreatedAt: t0, LastSeenAt: now, ExpiresAt: now},
		{ID: "idle", UserID: u.ID, CreatedAt: t0, LastSeenAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: "live", UserID: u.ID, CreatedAt: t0, LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)},
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	n, err := db.DeleteExpiredSessions(ctx, now, now.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	if _, _, err := db.SessionUser(ctx, "live"); err != nil {
		t.Errorf("live session: %v", err)
	}
}

func testTokenRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "grace", auth.RoleAdmin)
	want := auth.Token{Name: "SIEM export", Hint: "koban_AbCd", Hash: "h1", Role: auth.RoleAnalyst, UserID: u.ID,
		CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	got, err := db.CreateToken(ctx, want)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	want.ID = got.ID
	want.OwnerName = "grace"
	tok, tu, err := db.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("TokenByHash (-want +got):\n%s", diff)
	}
	if tu.ID != u.ID {
		t.Errorf("TokenByHash owner = %d, want %d", tu.ID, u.ID)
	}
	want.LastUsedAt, want.LastUsedIP, want.RevokedAt = t0.Add(time.Hour), "192.0.2.7", t0.Add(2*time.Hour)
	want.LastAuditedAt = t0.Add(30 * time.Minute)
	if err := db.UpdateToken(ctx, want); err != nil {
		t.Fatalf("UpdateToken: %v", err)
	}
	byID, err := db.Token(ctx, want.ID)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if diff := cmp.Diff(want, byID); diff != "" {
		t.Errorf("Token after update (-want +got):\n%s", diff)
	}
	if _, err := db.CreateToken(ctx, auth.Token{Name: "dup", Hash: "h1", Role: auth.RoleViewer, UserID: u.ID, CreatedAt: t0}); !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateToken(duplicate hash): got %v, want Conflict", err)
	}
	if _, err := db.CreateToken(ctx, auth.Token{Name: "second", Hash: "h2", Role: auth.RoleViewer, UserID: u.ID, CreatedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("CreateToken(second): %v", err)
	}
	ts, err := db.Tokens(ctx)
	if err != nil || len(ts) != 2 || ts[0].Name != "second" || ts[1].OwnerName != "grace" {
		t.Errorf("Tokens = %+v, %v; want second then SIEM export, owned by grace", ts, err)
	}
	if _, _, err := db.TokenByHash(ctx, "nope"); !fault.Is(err, fault.NotFound) {
		t.Errorf("TokenByHash(nope): got %v, want NotFound", err)
	}
}

func testTokenForeignKey(t *testing.T, db *store.DB) {
	_, err := db.CreateToken(context.Background(), auth.Token{Name: "orphan", Hash: "h", Role: auth.RoleViewer, UserID: 999, CreatedAt: t0})
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("CreateToken(unknown user): got %v, want Invalid (foreign key)", err)
	}
}

func testThrottleUpsert(t *testing.T, db *store.DB) {
	ctx := context.Background()
	th, err := db.Throttle(ctx, "user:alice")
	if err != nil || th != (auth.Throttle{Key: "user:alice"}) {
		t.Fatalf("Throttle(missing) = %+v, %v; want zero with key", th, err)
	}
	want := auth.Throttle{Key: "user:alice", Failures: 3, WindowStart: t0, LockedUntil: t0.Add(time.Minute)}
	if err := db.SaveThrottle(ctx, want); err != nil {
		t.Fatalf("SaveThrottle: %v", err)
	}
	want.Failures = 4
	if err := db.SaveThrottle(ctx, want); err != nil {
		t.Fatalf("SaveThrottle(again): %v", err)
	}
	if got, err := db.Throttle(ctx, "user:alice"); err != nil || got != want {
		t.Errorf("Throttle = %+v, %v; want %+v", got, err, want)
	}
	if err := db.SaveThrottle(ctx, auth.Throttle{Key: "ip:192.0.2.1", Failures: 1, WindowStart: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteStaleThrottles(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteStaleThrottles = %d, %v; want 1", n, err)
	}
	if err := db.DeleteThrottle(ctx, "ip:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Throttle(ctx, "ip:192.0.2.1"); got.Failures != 0 {
		t.Errorf("Throttle after delete = %+v", got)
	}
}

var errBoom = errors.New("boom")

func testTxRollback(t *testing.T, db *store.DB) {
	ctx := context.Background()
	err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.CreateUser(ctx, auth.User{Name: "half", Role: auth.RoleViewer, PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx: got %v, want errBoom", err)
	}
	if _, err := db.UserByName(ctx, "half"); !fault.Is(err, fault.NotFound) {
		t.Errorf("user written in a rolled-back Tx: got %v, want NotFound", err)
	}
}

func testTxNested(t *testing.T, db *store.DB) {
	ctx := context.Background()
	err := db.Tx(ctx, func(ctx context.Context) error {
		if err := db.Tx(ctx, func(ctx context.Context) error {
			_, err := db.CreateUser(ctx, auth.User{Name: "inner", Role: auth.RoleViewer, PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
			return err
		}); err != nil {
			return err
		}
		// The inner Tx joined this one: its write is visible here and
		// goes away with the rollback.
		if _, err := db.UserByName(ctx, "inner"); err != nil {
			return fmt.Errorf("inner write not visible: %w", err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx: got %v, want errBoom", err)
	}
	if _, err := db.UserByName(ctx, "inner"); !fault.Is(err, fault.NotFound) {
		t.Errorf("nested write after outer rollback: got %v, want NotFound", err)
	}
}

// testTxSerialised runs read-modify-write transactions at once: none may
// lose another's update, as the last-administrator check and the sign-in
// throttle rely on.
func testTxSerialised(t *testing.T, db *store.DB) {
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Tx(context.Background(), func(ctx context.Context) error {
				th, err := db.Throttle(ctx, "user:race")
				if err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond) // widen the window a lost update needs
				th.Failures++
				th.WindowStart = t0
				return db.SaveThrottle(ctx, th)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Tx: %v", err)
		}
	}
	if th, err := db.Throttle(context.Background(), "user:race"); err != nil || th.Failures != n {
		t.Errorf("after %d concurrent increments: %d failures, %v; want %d (no lost update)", n, th.Failures, err, n)
	}
}

func testTokenTouchKeepsRevocation(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "ivy", auth.RoleAdmin)
	tok, err := db.CreateToken(ctx, auth.Token{Name: "t", Hash: "hh", Role: auth.RoleViewer, UserID: u.ID, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.TouchToken(ctx, tok.ID, t0.Add(time.Minute), "192.0.2.1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	got, err := db.Token(ctx, tok.ID)
	if err != nil || !got.LastUsedAt.Equal(t0.Add(time.Minute)) || got.LastUsedIP != "192.0.2.1" || !got.LastAuditedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after TouchToken: %+v, %v", got, err)
	}
	got.RevokedAt = t0.Add(2 * time.Minute)
	if err := db.UpdateToken(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchToken(ctx, tok.ID, t0.Add(3*time.Minute), "192.0.2.2", t0); !fault.Is(err, fault.NotFound) {
		t.Errorf("TouchToken on a revoked token: %v, want NotFound", err)
	}
	if got, _ := db.Token(ctx, tok.ID); got.RevokedAt.IsZero() || got.LastUsedIP != "192.0.2.1" {
		t.Errorf("a touch after revocation changed the token: %+v", got)
	}
}

func entry(i int) audit.Entry {
	e := audit.New(audit.Actor{UserID: int64(i%3 + 1), Name: fmt.Sprintf("user%d", i%3), Via: audit.ViaWeb, IP: "198.51.100.4"},
		"user.update", audit.Object("user", int64(i)), map[string]int{"n": i}, map[string]int{"n": i + 1})
	e.Time = t0.Add(time.Duration(i) * time.Second)
	return e
}

func appendN(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := db.AppendAudit(context.Background(), entry(i)); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
}

func verify(t *testing.T, db *store.DB) (int64, *audit.Break) {
	t.Helper()
	n, h, err := db.VerifyAudit(context.Background())
	var b *audit.Break
	if err != nil && !errors.As(err, &b) {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if b == nil {
		if want, herr := db.AuditHead(context.Background()); herr != nil || h != want {
			t.Errorf("VerifyAudit checked head %+v, the store's head is %+v (%v)", h, want, herr)
		}
	}
	return n, b
}

func testAuditChain(t *testing.T, db *store.DB) {
	if n, b := verify(t, db); n != 0 || b != nil {
		t.Errorf("VerifyAudit(empty) = %d, %v; want 0, intact", n, b)
	}
	appendN(t, db, 10)
	if n, b := verify(t, db); n != 10 || b != nil {
		t.Errorf("VerifyAudit = %d, %v; want 10, intact", n, b)
	}
	h, err := db.AuditHead(context.Background())
	if err != nil || h.Seq != 10 || len(h.Hash) != 64 {
		t.Errorf("AuditHead = %+v, %v; want seq 10 and a hash", h, err)
	}
	es, err := db.AuditEntries(context.Background(), audit.Filter{Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("AuditEntries(limit 1) = %v, %v", es, err)
	}
	want := entry(9)
	want.Seq, want.PrevHash, want.Hash = 10, es[0].PrevHash, h.Hash
	if diff := cmp.Diff(want, es[0]); diff != "" {
		t.Errorf("stored entry (-want +got):\n%s", diff)
	}
	if es[0].Sum(es[0].PrevHash) != es[0].Hash {
		t.Error("stored entry does not match its own hash after the round trip")
	}
}

func testAuditConcurrentAppends(t *testing.T, db *store.DB) {
	const workers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := db.Tx(context.Background(), func(ctx context.Context) error {
					return db.AppendAudit(ctx, entry(w*each+i))
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent AppendAudit: %v", err)
	}
	if n, b := verify(t, db); n != workers*each || b != nil {
		t.Errorf("VerifyAudit after concurrent appends = %d, %v; want %d, intact", n, b, workers*each)
	}
}

func testAuditRolledBack(t *testing.T, db *store.DB) {
	appendN(t, db, 2)
	err := db.Tx(context.Background(), func(ctx context.Context) error {
		if err := db.AppendAudit(ctx, entry(99)); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx: %v", err)
	}
	appendN(t, db, 1)
	if n, b := verify(t, db); n != 3 || b != nil {
		t.Errorf("VerifyAudit = %d, %v; want 3 contiguous entries, intact", n, b)
	}
}

// dropAppendOnly removes the triggers that refuse edits, as someone with
// direct database access could.
func dropAppendOnly(t *testing.T, db *store.DB) {
	t.Helper()
	stmts := map[store.Dialect][]string{
		store.SQLite:   {`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`},
		store.Postgres: {`DROP TRIGGER audit_log_no_change ON audit_log`},
	}[db.Dialect()]
	for _, s := range stmts {
		if _, err := db.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// rebind is enough for the few direct statements the suite runs.
func rebind(db *store.DB, q string) string {
	if db.Dialect() == store.Postgres {
		return map[string]string{
			`UPDATE audit_log SET after_state = ? WHERE seq = ?`: `UPDATE audit_log SET after_state = $1 WHERE seq = $2`,
			`DELETE FROM audit_log WHERE seq = ?`:                `DELETE FROM audit_log WHERE seq = $1`,
		}[q]
	}
	return q
}

func testAuditAppendOnly(t *testing.T, db *store.DB) {
	appendN(t, db, 3)
	if _, err := db.SQL().Exec(rebind(db, `UPDATE audit_log SET after_state = ? WHERE seq = ?`), `{"n":0}`, 2); err == nil {
		t.Error("UPDATE audit_log succeeded; want the append-only trigger to refuse it")
	}
	if _, err := db.SQL().Exec(rebind(db, `DELETE FROM audit_log WHERE seq = ?`), 2); err == nil {
		t.Error("DELETE FROM audit_log succeeded; want the append-only trigger to refuse it")
	}
	if n, b := verify(t, db); n != 3 || b != nil {
		t.Errorf("VerifyAudit = %d, %v; want 3, intact", n, b)
	}
}

func testAuditDetectsDirectEdit(t *testing.T, db *store.DB) {
	appendN(t, db, 6)
	dropAppendOnly(t, db)
	if _, err := db.SQL().Exec(rebind(db, `UPDATE audit_log SET after_state = ? WHERE seq = ?`), `{"n":1000}`, 4); err != nil {
		t.Fatalf("direct UPDATE: %v", err)
	}
	_, b := verify(t, db)
	if b == nil || b.Seq != 4 {
		t.Errorf("VerifyAudit after editing row 4: got %v, want a break at row 4", b)
	}
}

func testAuditDetectsDeletedRow(t *testing.T, db *store.DB) {
	appendN(t, db, 5)
	dropAppendOnly(t, db)
	if _, err := db.SQL().Exec(rebind(db, `DELETE FROM audit_log WHERE seq = ?`), 5); err != nil {
		t.Fatalf("direct DELETE: %v", err)
	}
	_, b := verify(t, db)
	if b == nil || b.Seq != 5 {
		t.Errorf("VerifyAudit after deleting the newest row: got %v, want a break at row 5", b)
	}
}

func testAuditFilter(t *testing.T, db *store.DB) {
	ctx := context.Background()
	appendN(t, db, 9)
	login := audit.New(audit.Actor{Name: "zoe", Via: audit.ViaWeb}, "auth.signin_failed", "", nil, nil)
	login.Time = t0
	if err := db.AppendAudit(ctx, login); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"newest first", audit.Filter{Limit: 3}, []int64{10, 9, 8}},
		{"before", audit.Filter{Before: 3}, []int64{2, 1}},
		{"actor", audit.Filter{Actor: "user1"}, []int64{8, 5, 2}},
		{"action prefix", audit.Filter{Action: "auth."}, []int64{10}},
		{"action exact", audit.Filter{Action: "user.update", Limit: 2}, []int64{9, 8}},
		{"object", audit.Filter{Object: "user:4"}, []int64{5}},
	}
	for _, tt := range tests {
		es, err := db.AuditEntries(ctx, tt.f)
		if err != nil {
			t.Fatalf("AuditEntries(%+v): %v", tt.f, err)
		}
		var got []int64
		for _, e := range es {
			got = append(got, e.Seq)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("AuditEntries(%s %+v) seqs (-want +got):\n%s", tt.name, tt.f, diff)
		}
	}
}

func testSnapshot(t *testing.T, db *store.DB) {
	ctx := context.Background()
	newUser(t, db, "henry", auth.RoleViewer)
	dest := filepath.Join(t.TempDir(), "snap.db")
	err := db.Snapshot(ctx, dest)
	if db.Dialect() == store.Postgres {
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("Snapshot on PostgreSQL: got %v, want Invalid (use pg_dump)", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	snap, err := store.Open(ctx, store.Options{SQLitePath: dest})
	if err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	defer snap.Close()
	if err := snap.IntegrityCheck(ctx); err != nil {
		t.Errorf("snapshot integrity: %v", err)
	}
	if _, err := snap.UserByName(ctx, "henry"); err != nil {
		t.Errorf("snapshot lacks user: %v", err)
	}
	if err := db.Snapshot(ctx, dest); err == nil {
		t.Error("Snapshot over an existing file succeeded; want an error")
	}
}
