// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
)

func signInForm(name, pw string) url.Values {
	return url.Values{"name": {name}, "password": {pw}, "next": {"/alerts"}}
}

func TestSignInAndRotation(t *testing.T) {
	e := newEnv(t)
	e.user("alice", auth.RoleAnalyst)

	bad := e.do(req{method: "POST", path: "/signin", form: signInForm("alice", "wrong password!")})
	if bad.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", bad.StatusCode)
	}
	if b := bodyOf(t, bad); !strings.Contains(b, "Wrong user name or password.") || !strings.Contains(b, `value="alice"`) {
		t.Errorf("wrong password page lacks the message or the typed name:\n%s", b)
	}
	if c := cookieOf(bad, "koban_session"); c != nil {
		t.Errorf("failed sign-in set a session cookie %v", c)
	}
	unknown := e.do(req{method: "POST", path: "/signin", form: signInForm("nobody", "wrong password!")})
	if unknown.StatusCode != http.StatusUnauthorized || !strings.Contains(bodyOf(t, unknown), "Wrong user name or password.") {
		t.Errorf("unknown user: status %d; want the same answer as a wrong password", unknown.StatusCode)
	}

	ok := e.do(req{method: "POST", path: "/signin", form: signInForm("Alice ", testPassword)})
	if ok.StatusCode != http.StatusSeeOther || ok.Header.Get("Location") != "/alerts" {
		t.Fatalf("sign-in: %d %s, want 303 to /alerts", ok.StatusCode, ok.Header.Get("Location"))
	}
	c := cookieOf(ok, "koban_session")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || len(c.Value) < 40 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, a long random value", c)
	}
	if page := e.do(req{path: "/alerts", session: c.Value}); page.StatusCode != http.StatusOK {
		t.Errorf("GET /alerts with the new session: %d", page.StatusCode)
	}

	// Signing in again from the same browser rotates the session: the
	// old value stops working.
	again := e.do(req{method: "POST", path: "/signin", form: signInForm("alice", testPassword), session: c.Value})
	c2 := cookieOf(again, "koban_session")
	if c2 == nil || c2.Value == c.Value {
		t.Fatalf("second sign-in did not rotate the session")
	}
	if old := e.do(req{path: "/alerts", session: c.Value}); !isSignInRedirect(old) {
		t.Errorf("old session after rotation: %d, want a redirect to sign in", old.StatusCode)
	}

	// Sign-in failures and successes are audited.
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "auth."})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, x := range es {
		counts[x.Action]++
	}
	if counts["auth.signin_failed"] != 2 || counts["auth.signin"] != 2 {
		t.Errorf("audit counts %v: want 2 failures and 2 sign-ins", counts)
	}
}

func TestNextCannotLeaveTheSite(t *testing.T) {
	e := newEnv(t)
	e.user("bob", auth.RoleViewer)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		resp := e.do(req{method: "POST", path: "/signin", form: url.Values{"name": {"bob"}, "password": {testPassword}, "next": {next}}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q: redirected to %q, want /", next, loc)
		}
	}
}

func TestThrottling(t *testing.T) {
	e := newEnv(t)
	e.user("carol", auth.RoleResponder)
	for i := 0; i < 5; i++ {
		e.do(req{method: "POST", path: "/signin", form: signInForm("carol", "not the password")})
	}
	// Locked: even the right password is refused, with Retry-After.
	resp := e.do(req{method: "POST", path: "/signin", form: signInForm("carol", testPassword)})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: status %d, want 429", resp.StatusCode)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q, want 1–60 seconds", resp.Header.Get("Retry-After"))
	}
	if b := bodyOf(t, resp); !strings.Contains(b, "Try again in 1 minute.") {
		t.Errorf("locked page lacks the wait:\n%s", b)
	}
	// The lock ends; a further failure locks for twice as long.
	e.clock.advance(61 * time.Second)
	if resp := e.do(req{method: "POST", path: "/signin", form: signInForm("carol", "still wrong")}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the lock: status %d, want 401", resp.StatusCode)
	}
	if resp := e.do(req{method: "POST", path: "/signin", form: signInForm("carol", testPassword)}); resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(bodyOf(t, resp), "2 minutes") {
		t.Errorf("second lock: status %d, want 429 for 2 minutes", resp.StatusCode)
	}
	e.clock.advance(121 * time.Second)
	if resp := e.do(req{method: "POST", path: "/signin", form: signInForm("carol", testPassword)}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the second lock: status %d, want 303", resp.StatusCode)
	}

	// Per address: many accounts from one address lock the address.
	e2 := newEnv(t)
	e2.user("dave", auth.RoleAnalyst)
	for i := 0; i < 20; i++ {
		e2.do(req{method: "POST", path: "/signin", form: signInForm("spray"+strconv.Itoa(i), "Winter2026!!"), remote: "198.51.100.9:4000"})
	}
	if resp := e2.do(req{method: "POST", path: "/signin", form: signInForm("dave", testPassword), remote: "198.51.100.9:4000"}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("password spraying from one address: status %d, want 429", resp.StatusCode)
	}
	if resp := e2.do(req{method: "POST", path: "/signin", form: signInForm("dave", testPassword), remote: "203.0.113.5:4000"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the same account from another address: status %d, want 303", resp.StatusCode)
	}
}

func TestMustChangePassword(t *testing.T) {
	e := newEnv(t)
	u, pw, err := e.auth.CreateUser(context.Background(), audit.System, auth.NewUser{Name: "erin", Role: auth.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	if !u.MustChangePassword {
		t.Fatal("a generated password must be changed")
	}
	res, err := e.auth.SignIn(context.Background(), "erin", pw, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.do(req{path: "/alerts", session: res.Secret}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/password" {
		t.Fatalf("GET /alerts before changing: %d %s, want redirect to /settings/password", resp.StatusCode, resp.Header.Get("Location"))
	}
	mismatch := e.do(req{method: "POST", path: "/settings/password", session: res.Secret, form: url.Values{
		"current_password": {pw}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a different one entirely"}}})
	if mismatch.StatusCode != http.StatusBadRequest || !strings.Contains(bodyOf(t, mismatch), "The two new passwords do not match.") {
		t.Errorf("mismatched confirmation: status %d", mismatch.StatusCode)
	}
	short := e.do(req{method: "POST", path: "/settings/password", session: res.Secret, form: url.Values{
		"current_password": {pw}, "new_password": {"short"}, "confirm_password": {"short"}}})
	if short.StatusCode != http.StatusBadRequest || !strings.Contains(bodyOf(t, short), "at least 12 characters") {
		t.Errorf("short password: status %d", short.StatusCode)
	}
	done := e.do(req{method: "POST", path: "/settings/password", session: res.Secret, form: url.Values{
		"current_password": {pw}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}}})
	if done.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: status %d\n%s", done.StatusCode, bodyOf(t, done))
	}
	if resp := e.do(req{path: "/alerts", session: res.Secret}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /alerts after changing: %d, want 200", resp.StatusCode)
	}
}

func TestTOTPSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.user("frank", auth.RoleResponder)
	ctx := context.Background()
	me := audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb}
	enr, err := e.auth.BeginTOTP(ctx, me, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(enr.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := e.auth.ConfirmTOTP(ctx, me, u.ID, code(e.clock.now())); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	e.clock.advance(time.Minute)

	resp := e.do(req{method: "POST", path: "/signin", form: signInForm("frank", testPassword)})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin/totp") {
		t.Fatalf("password step: %d %s, want redirect to /signin/totp", resp.StatusCode, resp.Header.Get("Location"))
	}
	pending := cookieOf(resp, "koban_session").Value
	if r := e.do(req{path: "/alerts", session: pending}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin/totp" {
		t.Errorf("pending session on /alerts: %d %s, want redirect to /signin/totp", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.do(req{path: "/api/v1/me", session: pending}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("pending session on the API: %d, want 401", r.StatusCode)
	}
	wrong := e.do(req{method: "POST", path: "/signin/totp", session: pending, form: url.Values{"code": {"000000"}, "next": {"/alerts"}}})
	if wrong.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong code: %d, want 401", wrong.StatusCode)
	}
	good := code(e.clock.now())
	ok := e.do(req{method: "POST", path: "/signin/totp", session: pending, form: url.Values{"code": {good}, "next": {"/alerts"}}})
	if ok.StatusCode != http.StatusSeeOther || ok.Header.Get("Location") != "/alerts" {
		t.Fatalf("right code: %d %s", ok.StatusCode, ok.Header.Get("Location"))
	}
	full := cookieOf(ok, "koban_session").Value
	if full == pending {
		t.Error("the session was not rotated after the second step")
	}
	if r := e.do(req{path: "/alerts", session: full}); r.StatusCode != http.StatusOK {
		t.Errorf("full session: %d", r.StatusCode)
	}
	// The same code cannot be used twice.
	again := cookieOf(e.do(req{method: "POST", path: "/signin", form: signInForm("frank", testPassword)}), "koban_session").Value
	if r := e.do(req{method: "POST", path: "/signin/totp", session: again, form: url.Values{"code": {good}}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed code: %d, want 401", r.StatusCode)
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newEnv(t)
	e.user("gina", auth.RoleViewer)
	s := e.session("gina")
	for i := 0; i < 13; i++ { // active every 55 minutes: never idle for an hour
		e.clock.advance(55 * time.Minute)
		if resp := e.do(req{path: "/reports", session: s}); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d, %d minutes after sign-in: %d", i, (i+1)*55, resp.StatusCode)
		}
	}
	e.clock.advance(10 * time.Minute) // 725 minutes: past the 12-hour end
	if resp := e.do(req{path: "/reports", session: s}); !isSignInRedirect(resp) || !strings.Contains(resp.Header.Get("Location"), "m=session.expired") {
		t.Errorf("after 12 hours: %d %s, want sign-in with the expiry notice", resp.StatusCode, resp.Header.Get("Location"))
	}
	s = e.session("gina")
	e.clock.advance(61 * time.Minute)
	if resp := e.do(req{path: "/reports", session: s}); !isSignInRedirect(resp) {
		t.Errorf("after 61 idle minutes: %d, want sign-in", resp.StatusCode)
	}
}
