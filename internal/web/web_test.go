// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
)

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
	more := regexp.MustCompile(`href="(/admin/audit\?[^"]+)" hx-get="(/admin/audit\?[^"]+)"`).FindStringSubmatch(page)
	if more == nil {
		t.Fatal("no link to older entries")
	}
	unescape := func(s string) string { return html.UnescapeString(s) }
	// Without JavaScript the link is a plain page of the older entries.
	plain := bodyOf(t, e.do(req{path: unescape(more[1]), session: s}))
	if !strings.Contains(plain, "<html") || !strings.Contains(plain, "<code>user.create</code>") || strings.Count(plain, "<code>user.set_preferences</code>") != 10 {
		t.Errorf("the older-entries link without htmx does not show the older entries:\n%.500s", plain)
	}
	part := e.do(req{path: unescape(more[2]), session: s, header: map[string]string{"HX-Request": "true"}})
	pb := bodyOf(t, part)
	if strings.Contains(pb, "<html") || strings.Count(pb, "<tr>") != 12 || !strings.Contains(pb, "user.create") {
		t.Errorf("rows part: want 12 bare rows (10 changes, the sign-in, the creation), got:\n%.500s", pb)
	}
	filtered := bodyOf(t, e.do(req{path: "/admin/audit?action=auth.", session: s}))
	if strings.Contains(filtered, "user.set_preferences") || !strings.Contains(filtered, "auth.signin") {
		t.Error("action prefix filter does not filter")
	}
	// The filter survives paging.
	e.do(req{path: "/settings", session: s})
	for i := 0; i < 55; i++ {
		e.do(req{method: "POST", path: "/signout", session: e.session("rae")})
	}
	page = bodyOf(t, e.do(req{path: "/admin/audit?action=auth.", session: s}))
	more = regexp.MustCompile(`href="(/admin/audit\?[^"]+)"`).FindStringSubmatch(page[strings.Index(page, "audit-rows"):])
	if more == nil {
		t.Fatal("no link to older sign-in entries")
	}
	older := bodyOf(t, e.do(req{path: unescape(more[1]), session: s}))
	if strings.Contains(older, "user.set_preferences") || !strings.Contains(older, "auth.signin") {
		t.Errorf("the next page of a filtered trail lost the filter (%s)", unescape(more[1]))
	}
}
