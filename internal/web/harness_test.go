// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// clock is a settable time source shared by the auth service and the web
// server of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testEnv is a real web server on a real SQLite store.
type testEnv struct {
	t     *testing.T
	srv   *Server
	db    *store.DB
	auth  *auth.Service
	clock *clock
}

const testPassword = "correct horse battery staple"

func newEnv(t *testing.T, opts ...func(*Options)) *testEnv {
	t.Helper()
	db := storetest.OpenSQLite(t)
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	svc, err := auth.New(db, auth.Config{
		IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour,
		Throttle: auth.ThrottlePolicy{MaxFailuresPerUser: 5, MaxFailuresPerIP: 20, Window: 15 * time.Minute,
			Lockout: time.Minute, MaxLockout: 30 * time.Minute},
	}, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Auth: svc, Audit: db, Catalog: cat, Health: db.Ping, Registry: prometheus.NewRegistry(),
		Version: "test", StoreKind: "sqlite", MaxBodyBytes: 64 << 10, Now: clk.now, MetricsToken: "metrics-secret",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, srv: srv, db: db, auth: svc, clock: clk}
}

// user creates a user with the test password (no change required).
func (e *testEnv) user(name string, role auth.Role) auth.User {
	e.t.Helper()
	u, _, err := e.auth.CreateUser(context.Background(), audit.System, auth.NewUser{Name: name, Role: role, Password: testPassword})
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// session signs name in through the service and returns the cookie value.
func (e *testEnv) session(name string) string {
	e.t.Helper()
	res, err := e.auth.SignIn(context.Background(), name, testPassword, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("SignIn(%s): %v", name, err)
	}
	return res.Secret
}

// token creates an API token with role for the user.
func (e *testEnv) token(u auth.User, role auth.Role) string {
	e.t.Helper()
	_, secret, err := e.auth.CreateToken(context.Background(), audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb}, "test "+string(role), role, 0)
	if err != nil {
		e.t.Fatalf("CreateToken: %v", err)
	}
	return secret
}

// req is one request to the server.
type req struct {
	method  string
	path    string
	form    url.Values
	body    string
	session string
	token   string
	header  map[string]string
	remote  string
}

func (e *testEnv) do(r req) *http.Response {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	} else if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.session != "" {
		hr.AddCookie(&http.Cookie{Name: "koban_session", Value: r.session})
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, hr)
	return w.Result()
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
