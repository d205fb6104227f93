// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/store"
)

// FuzzParseAlertQuery: the queue's query string is untrusted; parsing never
// panics, and a query the queue accepts survives the round trip through its
// own links.
func FuzzParseAlertQuery(f *testing.F) {
	for _, s := range []string{"", "state=all", "state=open&state=closed&level=high&level=low", "state=&state=new",
		"from=2026-11-22T08:30&to=2026-11-23", "from=2026-11-22T08:30:00.123456789%2B09:00", "assignee=none&after=12&limit=3",
		"assignee=me", "assignee=7&q=%20whoami%20&rule=r-1&host=%3Cscript%3E&user=a%00b", "level=&level=critical",
		"after=-1", "limit=501", "q=" + strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, flt, err := parseAlertQuery(v, time.UTC, 7)
		if err != nil {
			if len(fault.Faults(err)) == 0 {
				t.Fatalf("parseAlertQuery(%q): %v is not a fault", raw, err)
			}
			return
		}
		again := q.values()
		if q.After != 0 {
			again.Set("after", strconv.FormatInt(q.After, 10))
		}
		q2, flt2, err := parseAlertQuery(again, time.UTC, 7)
		if err != nil {
			t.Fatalf("parseAlertQuery(%q) accepted, its links %q are refused: %v", raw, again.Encode(), err)
		}
		if !cmp.Equal(flt, flt2) || q.Tab != q2.Tab {
			t.Fatalf("parseAlertQuery(%q) = %+v (tab %q), through its links %q = %+v (tab %q)", raw, flt, q.Tab, again.Encode(), flt2, q2.Tab)
		}
	})
}

// FuzzAlertsRequests: whatever the queue's query or the bulk form holds,
// the answer is a page or a redirect to the queue, never a server error or
// unescaped markup.
func FuzzAlertsRequests(f *testing.F) {
	for _, s := range []string{"", "state=all&level=high", "after=1&limit=1", "done=bulk&changed=3&stale=1,2,x&refused=-1&missing=99999999999999999999&failed=2",
		"alert=1.1&action=acknowledged&back=%2Falerts%3Fstate%3Dall", "alert=1.1&action=false_positive&reason=", "alert=1.x&action=closed",
		"alert=1.1&action=assign&assignee=me", "alert=1.1&alert=1.1&action=in_progress&back=//evil", "action=bogus&alert=2.1"} {
		f.Add(s)
	}
	e := newFuzzAlertEnv(f)
	const x = `<script>alert(1)</script>`
	if _, _, err := e.svc.Record(context.Background(), alert.Detection{Time: e.clock.now(), RuleID: "r" + x, RuleTitle: x,
		Level: alert.LevelHigh, Host: x, User: x, Fields: []alert.KV{{Name: x, Value: x}}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e.t = t
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		// A browser sends the query encoded; the request line cannot hold
		// spaces.
		resp, body := e.get("/alerts?" + v.Encode())
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /alerts?%s: status %d", raw, resp.StatusCode)
		}
		if strings.Contains(body, "<script>alert") {
			t.Fatalf("GET /alerts?%s: unescaped markup", raw)
		}
		resp = e.do(req{method: http.MethodPost, path: "/alerts/bulk", body: raw, session: e.session,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		switch {
		case resp.StatusCode == http.StatusSeeOther:
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/alerts?") {
				t.Fatalf("POST /alerts/bulk %q: redirect to %q", raw, loc)
			}
		case resp.StatusCode >= 500:
			t.Fatalf("POST /alerts/bulk %q: status %d", raw, resp.StatusCode)
		}
	})
}

// newFuzzAlertEnv is newAlertEnv for a fuzz target: one server and store for
// every input, closed when the target ends.
func newFuzzAlertEnv(f *testing.F) *alertEnv {
	f.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(f.TempDir(), "koban.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	svc, err := auth.New(db, auth.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour}, clk.now, nil)
	if err != nil {
		f.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	o := Options{Auth: svc, Audit: db, Catalog: cat, Registry: prometheus.NewRegistry(), Now: clk.now}
	withAlerts(&o)
	srv, err := New(o)
	if err != nil {
		f.Fatal(err)
	}
	u, _, err := svc.CreateUser(ctx, audit.System, auth.NewUser{Name: "ana", Role: auth.RoleAnalyst, Password: testPassword})
	if err != nil {
		f.Fatal(err)
	}
	res, err := svc.SignIn(ctx, "ana", testPassword, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		f.Fatal(err)
	}
	return &alertEnv{testEnv: &testEnv{srv: srv, db: db, auth: svc, clock: clk}, svc: o.Alerts, ana: u, session: res.Secret}
}
