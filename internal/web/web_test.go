// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
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

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	e.user("hana", auth.RoleAdmin)
	s := e.session("hana")
	resp := e.do(req{method: "POST", path: "/admin/users", session: s,
		form:   url.Values{"name": {"mallory"}, "role": {"admin"}},
		header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Accept-Language": "ja"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if b := bodyOf(t, resp); !strings.Contains(b, "ほかのサイトから送られたリクエスト") {
		t.Errorf("cross-site refusal is not explained in the user's language:\n%s", b)
	}
	if _, err := e.auth.UserByName(context.Background(), "mallory"); err == nil {
		t.Error("the cross-site POST created a user")
	}
	same := e.do(req{method: "POST", path: "/admin/users", session: s,
		form: url.Values{"name": {"ivan"}, "role": {"analyst"}}, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if same.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST: %d, want 200 (password shown)", same.StatusCode)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.user("judy", auth.RoleAdmin)
	s := e.session("judy")
	tok := e.token(admin, auth.RoleAdmin)
	big := strings.Repeat("x", 70<<10)
	tests := []struct {
		name   string
		r      req
		status int
		want   string
	}{
		{"oversized form", req{method: "POST", path: "/admin/users", session: s, form: url.Values{"name": {big}}}, 413, "larger than the limit of 65536 bytes"},
		{"malformed form", req{method: "POST", path: "/settings/profile", session: s, body: "%zz", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "could not be read"},
		{"invalid fields reported together", req{method: "POST", path: "/admin/users", session: s, form: url.Values{"name": {"Bad Name!"}, "role": {"king"}, "email": {"nope"}}}, 400, "lower-case letters"},
		{"duplicate name", req{method: "POST", path: "/admin/users", session: s, form: url.Values{"name": {"judy"}, "role": {"viewer"}}}, 400, "is already taken"},
		{"unknown id", req{path: "/admin/users/424242", session: s}, 404, "does not exist"},
		{"non-numeric id", req{path: "/admin/users/abc", session: s}, 404, "There is nothing here"},
		{"last admin", req{method: "POST", path: "/admin/users/" + strconv.FormatInt(admin.ID, 10) + "/role", session: s, form: url.Values{"role": {"viewer"}}}, 409, "at least one active administrator"},
		{"bad time zone", req{method: "POST", path: "/settings/preferences", session: s, form: url.Values{"lang": {"ja"}, "time_zone": {"Mars/Olympus"}}}, 400, "Mars/Olympus"},
		{"JSON syntax", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"name": "x",`}, 400, "not valid near byte"},
		{"JSON type", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"name": 42}`}, 400, `"name" has the wrong type`},
		{"JSON unknown field", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"nmae": "x"}`}, 400, `"nmae" is not known`},
		{"JSON trailing data", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"name": "x"} {}`}, 400, "exactly one JSON value"},
		{"JSON oversized", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"name": "` + big + `"}`}, 413, "larger than the limit"},
		{"JSON invalid user", req{method: "POST", path: "/api/v1/users", token: tok, body: `{"name": "kim", "role": "boss"}`}, 400, "Choose one of the roles."},
		{"bad token", req{path: "/api/v1/me", token: "koban_" + strings.Repeat("A", 43)}, 401, "not valid, expired or revoked"},
		{"unknown API path", req{path: "/api/v1/nothing", token: tok}, 404, "There is nothing here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.r)
			b := bodyOf(t, resp)
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				var e apiError
				if err := json.Unmarshal([]byte(b), &e); err != nil {
					t.Fatalf("error body is not JSON: %v\n%s", err, b)
				}
				b = e.Error.Message
			}
			if resp.StatusCode != tt.status || !strings.Contains(b, tt.want) {
				t.Errorf("%s %s: got %d, want %d containing %q:\n%.600s", tt.r.method, tt.r.path, resp.StatusCode, tt.status, tt.want, b)
			}
			if strings.Contains(b, "sqlite") || strings.Contains(b, "goroutine") || strings.Contains(b, "store:") {
				t.Errorf("%s: internal details reach the client:\n%s", tt.name, b)
			}
		})
	}
}

func TestInternalErrorsStayInternal(t *testing.T) {
	e := newEnv(t)
	e.user("kate", auth.RoleAdmin)
	s := e.session("kate")
	e.db.Close() // every store call now fails
	resp := e.do(req{path: "/admin/users", session: s})
	b := bodyOf(t, resp)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	rid := resp.Header.Get("X-Request-Id")
	if rid == "" || !strings.Contains(b, rid) || !strings.Contains(b, "could not complete this request") {
		t.Errorf("500 page lacks the generic message or request id %q:\n%s", rid, b)
	}
	for _, leak := range []string{"sql", "database", "store:", "closed"} {
		if strings.Contains(strings.ToLower(b), leak) {
			t.Errorf("500 page leaks %q:\n%s", leak, b)
		}
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)

func TestSecurityHeadersAndNoInlineScript(t *testing.T) {
	e := newEnv(t)
	u := e.user("liam", auth.RoleAdmin)
	s := e.session("liam")
	for _, path := range []string{"/signin", "/", "/alerts", "/settings", "/settings/totp", "/settings/password", "/admin/users", "/admin/users/new",
		"/admin/users/" + strconv.FormatInt(u.ID, 10), "/admin/tokens", "/admin/audit", "/no-such-page"} {
		resp := e.do(req{path: path, session: s})
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
		if m := inlineScript.FindString(bodyOf(t, resp)); m != "" {
			t.Errorf("%s: inline script or style in the page: %q", path, m)
		}
	}
}

func TestSecureCookiesBehindHTTPS(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.BaseURL = "https://koban.example.com" })
	e.user("mia", auth.RoleViewer)
	resp := e.do(req{method: "POST", path: "/signin", form: signInForm("mia", testPassword)})
	c := cookieOf(resp, "__Host-koban_session")
	if c == nil || !c.Secure {
		t.Fatalf("behind HTTPS: cookies %v, want a Secure __Host-koban_session", resp.Cookies())
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind HTTPS")
	}
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	e.user("nao", auth.RoleAnalyst)
	tests := []struct {
		name string
		r    req
		want string
	}{
		{"English by default", req{path: "/signin"}, "<h1>Sign in</h1>"},
		{"Accept-Language ja", req{path: "/signin", header: map[string]string{"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}}, "<h1>サインイン</h1>"},
		{"unsupported falls back", req{path: "/signin", header: map[string]string{"Accept-Language": "fr-FR"}}, "<h1>Sign in</h1>"},
		{"cookie beats header", req{path: "/signin", header: map[string]string{"Accept-Language": "en", "Cookie": "koban_lang=ja"}}, `lang="ja"`},
	}
	for _, tt := range tests {
		if b := bodyOf(t, e.do(tt.r)); !strings.Contains(b, tt.want) {
			t.Errorf("%s: page lacks %q", tt.name, tt.want)
		}
	}
	s := e.session("nao")
	resp := e.do(req{method: "POST", path: "/lang", session: s, form: url.Values{"lang": {"ja"}, "next": {"/alerts"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/alerts" {
		t.Fatalf("POST /lang: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Saved on the user: it follows them whatever the browser says, with
	// times in Asia/Tokyo.
	b := bodyOf(t, e.do(req{path: "/settings", session: s, header: map[string]string{"Accept-Language": "en"}}))
	for _, want := range []string{"<h1>設定</h1>", "Asia/Tokyo", "2026/11/22 19:00 JST"} {
		if !strings.Contains(b, want) {
			t.Errorf("Japanese settings page lacks %q", want)
		}
	}
	if r := e.do(req{method: "POST", path: "/lang", session: s, form: url.Values{"lang": {"de"}}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /lang de: %d, want 400", r.StatusCode)
	}
}

func TestTokensThroughUI(t *testing.T) {
	e := newEnv(t)
	u := e.user("olga", auth.RoleAdmin)
	s := e.session("olga")
	resp := e.do(req{method: "POST", path: "/admin/tokens", session: s, form: url.Values{"name": {"SIEM"}, "role": {"viewer"}, "days": {"30"}}})
	b := bodyOf(t, resp)
	secret := regexp.MustCompile(`koban_[A-Za-z0-9_-]{43}`).FindString(b)
	if resp.StatusCode != http.StatusOK || secret == "" {
		t.Fatalf("create token: %d, secret %q", resp.StatusCode, secret)
	}
	if strings.Contains(bodyOf(t, e.do(req{path: "/admin/tokens", session: s})), secret) {
		t.Error("the token list shows the secret again")
	}
	me := e.do(req{path: "/api/v1/me", token: secret})
	var got struct {
		User  struct{ Name string }
		Role  string
		Token string
	}
	if err := json.NewDecoder(me.Body).Decode(&got); err != nil || got.User.Name != "olga" || got.Role != "viewer" || got.Token != "SIEM" {
		t.Errorf("GET /api/v1/me: %+v %v; want olga acting as viewer with token SIEM", got, err)
	}
	if r := e.do(req{path: "/api/v1/users", token: secret}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer token on /api/v1/users: %d, want 403", r.StatusCode)
	}
	// Expiry.
	e.clock.advance(31 * 24 * time.Hour)
	if r := e.do(req{path: "/api/v1/me", token: secret}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", r.StatusCode)
	}
	// Revocation, and a disabled owner.
	tok := e.token(u, auth.RoleAdmin)
	ts, _ := e.auth.Tokens(context.Background())
	if r := e.do(req{method: "POST", path: "/admin/tokens/" + strconv.FormatInt(ts[0].ID, 10) + "/revoke", session: e.session("olga")}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := e.do(req{path: "/api/v1/me", token: tok}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", r.StatusCode)
	}
	other := e.user("pat", auth.RoleAdmin)
	ptok := e.token(other, auth.RoleAnalyst)
	if err := e.auth.SetDisabled(context.Background(), audit.System, other.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := e.do(req{path: "/api/v1/me", token: ptok}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("token of a disabled user: %d, want 401", r.StatusCode)
	}
}

func TestStaticAndHealth(t *testing.T) {
	e := newEnv(t)
	css := e.srv.assets.url("koban.css")
	resp := e.do(req{path: css})
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: %d %q %q", css, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}
	if r := e.do(req{path: "/static/koban.css"}); r.StatusCode != http.StatusNotFound {
		t.Errorf("unhashed static name: %d, want 404", r.StatusCode)
	}
	if r := e.do(req{path: "/healthz"}); r.StatusCode != 200 || !strings.Contains(bodyOf(t, r), `"ok"`) {
		t.Errorf("healthz: %d", r.StatusCode)
	}
	e.db.Close()
	if r := e.do(req{path: "/healthz"}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with the store down: %d, want 503", r.StatusCode)
	}
}

func TestMetricsAccess(t *testing.T) {
	e := newEnv(t)
	e.do(req{path: "/signin"})
	tests := []struct {
		name   string
		r      req
		status int
	}{
		{"loopback", req{path: "/metrics", remote: "127.0.0.1:5555"}, 200},
		{"loopback IPv6", req{path: "/metrics", remote: "[::1]:5555"}, 200},
		{"forwarded through a local proxy", req{path: "/metrics", remote: "127.0.0.1:5555", header: map[string]string{"X-Forwarded-For": "203.0.113.7"}}, 401},
		{"remote without token", req{path: "/metrics", remote: "203.0.113.7:5555"}, 401},
		{"remote with the metrics token", req{path: "/metrics", remote: "203.0.113.7:5555", header: map[string]string{"Authorization": "Bearer metrics-secret"}}, 200},
		{"remote with a wrong token", req{path: "/metrics", remote: "203.0.113.7:5555", header: map[string]string{"Authorization": "Bearer metrics-secreT"}}, 401},
	}
	for _, tt := range tests {
		resp := e.do(tt.r)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if tt.status == 200 {
			if b := bodyOf(t, resp); !strings.Contains(b, `koban_http_requests_total{code="200",route="GET /signin"}`) {
				t.Errorf("%s: metrics lack the request counter:\n%.400s", tt.name, b)
			}
		}
	}
}

func TestClientIPBehindTrustedProxy(t *testing.T) {
	e := newEnv(t)
	e.user("quinn", auth.RoleViewer)
	// 10.9.0.0/16 is trusted in the harness: the address before it counts.
	e.do(req{method: "POST", path: "/signin", form: signInForm("quinn", "wrong wrong wrong"), remote: "10.9.1.1:443",
		header: map[string]string{"X-Forwarded-For": "198.51.100.77, 10.9.3.3"}})
	// An untrusted peer cannot choose its address.
	e.do(req{method: "POST", path: "/signin", form: signInForm("quinn", "wrong wrong wrong"), remote: "203.0.113.1:443",
		header: map[string]string{"X-Forwarded-For": "198.51.100.88"}})
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "auth.signin_failed"})
	if err != nil || len(es) != 2 {
		t.Fatalf("audit: %v %v", es, err)
	}
	if es[1].IP != "198.51.100.77" || es[0].IP != "203.0.113.1" {
		t.Errorf("audited addresses %q and %q, want 198.51.100.77 and 203.0.113.1", es[1].IP, es[0].IP)
	}
}

func TestAuditPageAndRowsPart(t *testing.T) {
	e := newEnv(t)
	e.user("rae", auth.RoleAdmin)
	s := e.session("rae")
	for i := 0; i < 60; i++ {
		e.do(req{method: "POST", path: "/settings/preferences", session: s, form: url.Values{"lang": {"en"}}})
	}
	page := bodyOf(t, e.do(req{path: "/admin/audit", session: s}))
	if n := strings.Count(page, "<code>user.set_preferences</code>"); n != 50 {
		t.Errorf("first audit page: %d preference rows, want the newest 50", n)
	}
	more := regexp.MustCompile(`hx-get="(/admin/audit\?[^"]+)"`).FindStringSubmatch(page)
	if more == nil {
		t.Fatal("no htmx link to older entries")
	}
	part := e.do(req{path: strings.ReplaceAll(more[1], "&amp;", "&"), session: s, header: map[string]string{"HX-Request": "true"}})
	pb := bodyOf(t, part)
	if strings.Contains(pb, "<html") || strings.Count(pb, "<tr>") != 12 || !strings.Contains(pb, "user.create") {
		t.Errorf("rows part: want 12 bare rows (10 changes, the sign-in, the creation), got:\n%.500s", pb)
	}
	filtered := bodyOf(t, e.do(req{path: "/admin/audit?action=auth.", session: s}))
	if strings.Contains(filtered, "user.set_preferences") || !strings.Contains(filtered, "auth.signin") {
		t.Error("action prefix filter does not filter")
	}
}
