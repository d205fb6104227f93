// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/koban-csirt/koban/internal/fault"
)

func TestThrottleEscalation(t *testing.T) {
	t.Parallel()
	p := ThrottlePolicy{Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 8 * time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var th Throttle
	now := t0
	for i := 1; i <= 2; i++ {
		if th.fail(now, 3, p) {
			t.Fatalf("failure %d of 3 locked", i)
		}
	}
	wantLocks := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute}
	for i, want := range wantLocks {
		if !th.fail(now, 3, p) {
			t.Fatalf("failure %d did not lock", i+3)
		}
		if got := th.LockedUntil.Sub(now); got != want {
			t.Errorf("lock after failure %d: %s, want %s", i+3, got, want)
		}
		now = th.LockedUntil
	}
	// Quiet for longer than the window: the count starts again.
	now = now.Add(16 * time.Minute)
	if th.fail(now, 3, p) || th.Failures != 1 {
		t.Errorf("after a quiet window: failures %d, want 1 and no lock", th.Failures)
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"192.0.2.7":            "ip:192.0.2.7",
		"::ffff:192.0.2.7":     "ip:192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "ip:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "ip:2001:db8:1:2::/64",
		"not an address":       "ip:not an address",
		"fe80::1%eth0":         "ip:fe80::/64",
	}
	for in, want := range tests {
		if got := ipKey(in); got != want {
			t.Errorf("ipKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPasswordAndName(t *testing.T) {
	t.Parallel()
	pw := []struct {
		name, pw, want string
	}{
		{"alice", "correct horse battery", ""},
		{"alice", "short", "password.too_short"},
		{"alice", strings.Repeat("ab", 129), "password.too_long"},
		{"alice", "my-Alice-password-1", "password.contains_name"},
		{"alice", "aaaaaaaaaaaaaaaa", "password.one_character"},
		{"bob", "パスワードはとても長い日本語です", ""},
	}
	for _, tt := range pw {
		got := ""
		if err := CheckPassword(tt.name, tt.pw); err != nil {
			got = fault.Faults(err)[0].Msg
		}
		if got != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %q, want %q", tt.name, tt.pw, got, tt.want)
		}
	}
	names := map[string]string{"alice": "", "a.b-c_d@example": "", "": "user.name_required", "Alice": "user.name_chars",
		"with space": "user.name_chars", strings.Repeat("a", 65): "user.name_too_long", "ユーザー": "user.name_chars"}
	for n, want := range names {
		got := ""
		if err := CheckName(n); err != nil {
			got = fault.Faults(err)[0].Msg
		}
		if got != want {
			t.Errorf("CheckName(%q) = %q, want %q", n, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := newHasher(2)
	ctx := context.Background()
	enc, err := h.hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q: want argon2id with the OWASP parameters", enc)
	}
	enc2, _ := h.hash(ctx, "correct horse battery")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := h.verify(ctx, enc, pw); err != nil || ok != want {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=8,t=1,p=1$!!$AA", "$argon2id$v=19$m=8,t=1,p=1$AA$"} {
		if _, err := h.verify(ctx, bad, "x"); err == nil {
			t.Errorf("verify(%q): no error for a malformed hash", bad)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p := GeneratePassword()
		if len(p) != 23 || strings.Count(p, "-") != 3 || CheckPassword("admin", p) != nil || strings.ContainsAny(p, "0O1lI") {
			t.Errorf("GeneratePassword() = %q", p)
		}
		if seen[p] {
			t.Errorf("GeneratePassword repeated %q", p)
		}
		seen[p] = true
	}
}

func TestCheckTOTP(t *testing.T) {
	t.Parallel()
	secret := "JBSWY3DPEHPK3PXP"
	now := time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC)
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := now.Unix() / 30
	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		ok       bool
	}{
		{"current", code(now), 0, step, true},
		{"with spaces", code(now)[:3] + " " + code(now)[3:], 0, step, true},
		{"previous step (skew)", code(now.Add(-30 * time.Second)), 0, step - 1, true},
		{"next step (skew)", code(now.Add(30 * time.Second)), 0, step + 1, true},
		{"two steps old", code(now.Add(-60 * time.Second)), 0, 0, false},
		{"replay", code(now), step, 0, false},
		{"wrong", "123456", 0, 0, false},
		{"letters", "abcdef", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := checkTOTP(secret, tt.code, now, tt.lastStep)
		if ok != tt.ok || (ok && got != tt.wantStep) {
			t.Errorf("%s: checkTOTP(%q) = %d, %v; want %d, %v", tt.name, tt.code, got, ok, tt.wantStep, tt.ok)
		}
	}
	if _, ok := checkTOTP("", code(now), now, 0); ok {
		t.Error("checkTOTP with no secret accepted a code")
	}
}

func TestCan(t *testing.T) {
	t.Parallel()
	for _, p := range Permissions() {
		if !Can(RoleAdmin, p) {
			t.Errorf("admin lacks %s", p)
		}
	}
	for _, p := range Permissions() {
		// Reporters have their settings and the report form, nothing else.
		if Can(RoleReporter, p) != (p == PermSelf || p == PermReportDesk) {
			t.Errorf("reporter and %s: %v", p, Can(RoleReporter, p))
		}
	}
	if Can(RoleViewer, PermAlerts) || !Can(RoleViewer, PermReports) || Can(RoleResponder, PermUsers) || !Can(RoleAnalyst, PermHunting) {
		t.Error("grants do not follow the design: viewers read reports, analysts hunt, only admins manage users")
	}
	// Changing detection rules is for those who triage alerts, never for
	// management or reporters.
	for _, r := range Roles {
		if Can(r, PermRules) && !Can(r, PermAlerts) {
			t.Errorf("%s may change rules without seeing alerts", r)
		}
	}
	// Management follows incidents in summary; the people handling them
	// read everything.
	if Can(RoleViewer, PermIncidents) || !Can(RoleViewer, PermIncidentSummaries) || !Can(RoleAnalyst, PermIncidents) ||
		Can(RoleResponder, PermPlaybooks) {
		t.Error("incidents: viewers read summaries, analysts and responders work cases, admins edit playbooks")
	}
	if Can(RoleViewer, PermRules) || !Can(RoleAnalyst, PermRules) || !Can(RoleAdmin, PermRules) {
		t.Error("rules.manage: analysts and admins tune detection, viewers do not")
	}
	if Can(RoleAdmin, "no.such.permission") || Can("root", PermSelf) {
		t.Error("an unknown permission or role is granted")
	}
}

func TestDummyHashIsWellFormedAndMatchesNothing(t *testing.T) {
	t.Parallel()
	h := newHasher(1)
	d := dummyHash()
	for _, pw := range []string{"", "password", "correct horse battery"} {
		ok, err := h.verify(context.Background(), d, pw)
		if err != nil || ok {
			t.Errorf("verify(dummy, %q) = %v, %v; want false with no error (a full-cost check)", pw, ok, err)
		}
	}
	if dummyHash() == d {
		t.Error("two dummy hashes are equal")
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"日本語", 4, "日"}, {"日本語", 6, "日本"}, {"日本語", 2, ""}}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestRolesAreNested(t *testing.T) {
	t.Parallel()
	// Lower relies on each role holding every permission of the roles
	// below it.
	for i := 1; i < len(Roles); i++ {
		hi, lo := Roles[i-1], Roles[i]
		for _, p := range Permissions() {
			if Can(lo, p) && !Can(hi, p) {
				t.Errorf("%s holds %s but %s does not", lo, p, hi)
			}
		}
		if Lower(hi, lo) != lo || Lower(lo, hi) != lo {
			t.Errorf("Lower(%s, %s) is not %s", hi, lo, lo)
		}
	}
	if Lower(RoleAdmin, "bogus") != "bogus" {
		t.Error("an unknown role is not the lowest")
	}
}
