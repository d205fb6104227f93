// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore/duckdb"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/search"
	"github.com/koban-csirt/koban/internal/store"
)

func BenchmarkEventsPage(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("KOBAN_BENCH_EVENTS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	st, err := duckdb.Open(b.TempDir(), duckdb.Options{Columns: []string{"EventID", "TargetUserName", "Image", "LogonType"}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	batch := make([]event.Event, 0, 10_000)
	for i := 0; i < n; i++ {
		ts := now.Add(-time.Duration(i) * (24 * time.Hour / time.Duration(n)))
		e := event.Event{ID: event.NewID(ts.UnixNano()), Time: ts.UnixNano(), Received: ts.UnixNano(), Host: "ws" + strconv.Itoa(i%500),
			Source: "winlogbeat", Log: event.LogSource{Product: "windows", Service: "security"}}
		e.Add("EventID", []string{"4624", "4625", "4688", "4672"}[i%4])
		e.Add("TargetUserName", "user"+strconv.Itoa(i%997))
		e.Add("Image", `C:\Windows\System32\prog`+strconv.Itoa(i%50)+".exe")
		e.Add("LogonType", strconv.Itoa(i%11))
		e.Raw = []byte("EventID=" + []string{"4624", "4625", "4688", "4672"}[i%4] + " host=ws" + strconv.Itoa(i%500))
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Insert(context.Background(), batch, strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	srv, session := benchServer(b, st, now)
	for _, bc := range []struct{ name, path string }{
		{"page", "/events?range=24h"},
		{"page_query", "/events?range=24h&q=" + url.QueryEscape("EventID:4625 AND TargetUserName:user1*")},
		{"page_text", "/events?range=24h&q=ws42"},
		{"histogram", "/events/histogram?range=24h&q=EventID:4625"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				hr := httptest.NewRequest(http.MethodGet, bc.path, nil)
				hr.AddCookie(&http.Cookie{Name: "koban_session", Value: session})
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, hr)
				if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `id="timed-out"`) {
					b.Fatalf("GET %s: %d or timed out", bc.path, w.Code)
				}
			}
		})
	}
}

func benchServer(b *testing.B, st search.Store, now time.Time) (*Server, string) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(b.TempDir(), "koban.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	clock := func() time.Time { return now }
	svc, err := auth.New(db, auth.Config{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 24 * time.Hour}, clock, nil)
	if err != nil {
		b.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Auth: svc, Audit: db, Catalog: cat, Now: clock, Events: st, SearchTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.CreateUser(ctx, audit.System, auth.NewUser{Name: "ana", Role: auth.RoleAnalyst, Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	res, err := svc.SignIn(ctx, "ana", testPassword, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	return srv, res.Secret
}
