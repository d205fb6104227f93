// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The path and query of every test webhook URL hold tokens that must never
// appear in an error.
const (
	hookPath   = "/services/T0KOBAN/B0TEST/Xy9secretTOKENabc"
	hookQuery  = "sig=qsSECRETsignature42"
	hookSecret = "a-signing-secret-of-32-bytes-xyz"
	hookAuth   = "Bearer header-TOKEN-value"
)

var hookSecrets = []string{"Xy9secretTOKENabc", "qsSECRETsignature42", hookSecret, "header-TOKEN-value"}

// capture is a webhook receiver that keeps the requests it gets.
type capture struct {
	srv   *httptest.Server
	roots *x509.CertPool

	mu   sync.Mutex
	reqs []captured
}

type captured struct {
	path   string
	header http.Header
	body   []byte
}

// newReceiver starts a receiver answering with handle (200 when nil).
func newReceiver(t *testing.T, useTLS bool, handle http.HandlerFunc) *capture {
	t.Helper()
	c := &capture{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // a short read shows in the checks
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{path: r.URL.RequestURI(), header: r.Header.Clone(), body: b})
		c.mu.Unlock()
		if handle != nil {
			handle(w, r)
		}
	})
	if useTLS {
		c.srv = httptest.NewTLSServer(h)
		c.roots = x509.NewCertPool()
		c.roots.AddCert(c.srv.Certificate())
	} else {
		c.srv = httptest.NewServer(h)
	}
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) url() string { return c.srv.URL + hookPath + "?" + hookQuery }

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

func newHook(t *testing.T, c *capture, kind, secret string) *Webhook {
	t.Helper()
	opt := testOptions(t)
	opt.RootCAs = c.roots
	w, err := NewWebhook(WebhookConfig{Kind: kind, URL: c.url(), Secret: secret,
		Headers: map[string]string{"Authorization": hookAuth}, Timeout: 5 * time.Second}, opt)
	if err != nil {
		t.Fatalf("NewWebhook(%s): %v", kind, err)
	}
	return w
}

var enDigest = Message{
	Title:   "Alerts in the last hour",
	Summary: "3 alerts since 08:30.",
	Level:   LevelCritical,
	URL:     "https://koban.example/alerts?since=1h",
	Items: []Item{
		{Title: "Audit log cleared", Level: LevelCritical, URL: "https://koban.example/alerts/7", Time: time.Date(2025, 4, 1, 8, 15, 0, 0, time.UTC), Count: 1},
		{Title: "New local admin <b>x</b>", Level: LevelHigh, URL: "https://koban.example/alerts/8|x", Time: time.Date(2025, 4, 1, 8, 40, 0, 0, time.UTC), Count: 4},
		{Title: "Off-hours logon", Level: LevelLow, URL: "javascript:alert(1)"},
	},
	Lang: i18n.English,
}

// TestWebhookPayloads posts an alert and a digest with each kind and
// compares the JSON received, decoded, with testdata/<kind>_<case>.json.
func TestWebhookPayloads(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{KindSlack, KindTeams, KindJSON} {
		for _, tc := range []struct {
			name string
			m    Message
		}{{"alert_ja", jaAlert}, {"digest_en", enDigest}} {
			t.Run(kind+"_"+tc.name, func(t *testing.T) {
				t.Parallel()
				rcv := newReceiver(t, kind != KindJSON, nil)
				secret := ""
				if kind == KindJSON {
					secret = hookSecret
				}
				w := newHook(t, rcv, kind, secret)
				if err := w.Send(context.Background(), tc.m); err != nil {
					t.Fatalf("Send: %v", err)
				}
				reqs := rcv.requests()
				if len(reqs) != 1 {
					t.Fatalf("receiver got %d requests, want 1", len(reqs))
				}
				r := reqs[0]
				if r.path != hookPath+"?"+hookQuery {
					t.Errorf("request URI %q, want %q", r.path, hookPath+"?"+hookQuery)
				}
				for name, want := range map[string]string{
					"Content-Type":  "application/json; charset=utf-8",
					"Authorization": hookAuth,
					"User-Agent":    "koban-notify",
				} {
					if got := r.header.Get(name); got != want {
						t.Errorf("header %s = %q, want %q", name, got, want)
					}
				}
				sig := r.header.Get(SignatureHeader)
				if kind == KindJSON {
					mac := hmac.New(sha256.New, []byte(hookSecret))
					mac.Write(r.body)
					if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); sig != want {
						t.Errorf("%s = %q, want %q", SignatureHeader, sig, want)
					}
				} else if sig != "" {
					t.Errorf("%s = %q on a %s webhook, want none", SignatureHeader, sig, kind)
				}
				golden(t, filepath.Join("testdata", kind+"_"+tc.name+".json"), r.body)
			})
		}
	}
}

// golden compares JSON body, decoded, with the decoded golden file, or
// rewrites the file under -update.
func golden(t *testing.T, path string, body []byte) {
	t.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if *update {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", "  "); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
		// encoding/json escapes <, > and & in strings; the literal
		// characters mean the same and read better.
		out := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String())
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestWebhookNoMarkupInjection sends facts an attacker could choose (a
// user name is whatever the log says) and checks they stay text.
func TestWebhookNoMarkupInjection(t *testing.T) {
	t.Parallel()
	m := Message{
		Title:   "<!channel> *urgent*",
		Summary: "see <https://phish.example|here>",
		Level:   LevelMedium,
		URL:     "javascript:alert(1)",
		Facts:   []Fact{{Name: "User", Value: "[sign in](https://phish.example) <!here> & <@U123>"}},
	}
	for _, kind := range []string{KindSlack, KindTeams} {
		rcv := newReceiver(t, true, nil)
		if err := newHook(t, rcv, kind, "").Send(context.Background(), m); err != nil {
			t.Fatalf("%s: Send: %v", kind, err)
		}
		body := rcv.requests()[0].body
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		// Slack parses mrkdwn texts (and the top-level text); plain_text
		// is shown as written. Teams renders Markdown in TextBlock and
		// FactSet, never in TextRun.
		var mrkdwns, plains, types []string
		if top, ok := doc.(map[string]any)["text"].(string); ok {
			mrkdwns = append(mrkdwns, top)
		}
		walk(doc, func(_ string, v any) {
			obj, ok := v.(map[string]any)
			if !ok {
				return
			}
			typ, _ := obj["type"].(string)
			types = append(types, typ)
			if text, ok := obj["text"].(string); ok {
				switch typ {
				case "mrkdwn":
					mrkdwns = append(mrkdwns, text)
				case "plain_text":
					plains = append(plains, text)
				}
			}
		})
		switch kind {
		case KindSlack:
			if len(mrkdwns) < 3 {
				t.Fatalf("slack: found %d mrkdwn texts, want the notification text, the level and the fact", len(mrkdwns))
			}
			for _, s := range mrkdwns {
				if strings.Contains(s, "<!") || strings.Contains(s, "<@") || strings.Contains(s, "<https://phish") {
					t.Errorf("slack: attacker text became markup: %q", s)
				}
			}
			if !slices.Contains(plains, "see <https://phish.example|here>") {
				t.Errorf("slack: the summary should be plain_text as written; got %q", plains)
			}
		case KindTeams:
			for _, typ := range types {
				if typ == "TextBlock" || typ == "FactSet" {
					t.Errorf("teams: %s renders Markdown; alert text must go into TextRuns", typ)
				}
			}
		}
		if bytes.Contains(body, []byte("javascript:")) {
			t.Errorf("%s: a javascript: URL reached the payload", kind)
		}
	}
}

// walk calls f for every key and value in a decoded JSON document.
func walk(v any, f func(key string, v any)) {
	f("", v)
	walkChildren(v, f)
}

func walkChildren(v any, f func(key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f(k, e)
			walkChildren(e, f)
		}
	case []any:
		for _, e := range x {
			f("", e)
			walkChildren(e, f)
		}
	}
}

func TestWebhookAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		body       string
		retryAfter string
		ok         bool
		retryable  bool
		wantWait   time.Duration
		want       []string
	}{
		{status: 200, ok: true},
		{status: 202, ok: true},
		{status: 204, ok: true},
		{status: 400, body: "invalid_payload", want: []string{"answered 400 Bad Request", `"invalid_payload"`}},
		{status: 403, body: `{"error":"token Xy9secretTOKENabc revoked"}`, want: []string{"403", "token … revoked"}},
		{status: 404, body: "no_service\n<html>\x00\x01</html>", want: []string{"404", `"no_service <html> </html>"`}},
		{status: 410, body: strings.Repeat("ほ", 300), want: []string{"410", "…"}},
		{status: 408, retryable: true},
		{status: 429, body: "rate_limited", retryAfter: "30", retryable: true, wantWait: 30 * time.Second, want: []string{"429 Too Many Requests"}},
		{status: 500, body: "boom", retryable: true, want: []string{"500 Internal Server Error", `"boom"`}},
		{status: 503, retryAfter: "Tue, 01 Apr 2025 09:32:00 GMT", retryable: true, wantWait: 2 * time.Minute},
		{status: 302, want: []string{"302 Found", "redirects are not followed"}},
		{status: 301, want: []string{"301"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "http://10.0.0.1/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body) // the client may not read it
			})
			err := newHook(t, rcv, KindJSON, "").Send(context.Background(), jaAlert)
			if tt.ok {
				if err != nil {
					t.Errorf("Send: %v, want nil", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.status {
				t.Fatalf("Send = %v, want a *StatusError with code %d", err, tt.status)
			}
			if got := Retryable(err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			if se.RetryAfter != tt.wantWait {
				t.Errorf("RetryAfter = %v, want %v", se.RetryAfter, tt.wantWait)
			}
			if len(se.Body) > 204 {
				t.Errorf("body excerpt is %d bytes, want at most 200 and an ellipsis", len(se.Body))
			}
			want := append([]string{"notify: json:127.0.0.1:", "http://127.0.0.1:", "/…"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			checkNoSecrets(t, err)
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("receiver got %d requests, want 1 (no redirect followed, no retry)", n)
			}
		})
	}
}

func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range hookSecrets {
		checkNoSecret(t, err, s)
	}
}

func TestWebhookTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	opt := testOptions(t)
	w, err := NewWebhook(WebhookConfig{Kind: KindJSON, URL: rcv.url(), Timeout: 200 * time.Millisecond}, opt)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), jaAlert)
	var se *SendError
	if !errors.As(err, &se) || se.Op != "post" {
		t.Fatalf("Send = %v, want a *SendError with Op post", err)
	}
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true for a timeout", err)
	}
	checkNoSecrets(t, err)
}

func TestWebhookCancelledIsNotRetryable(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newHook(t, rcv, KindJSON, "").Send(ctx, jaAlert)
	if err == nil || Retryable(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v (retryable %v), want context.Canceled, not retryable", err, Retryable(err))
	}
}

func TestWebhookConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // now nothing listens there
	w, err := NewWebhook(WebhookConfig{Kind: KindJSON, URL: "http://" + addr + hookPath + "?" + hookQuery}, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), jaAlert)
	if err == nil || !Retryable(err) {
		t.Errorf("Send to a closed port = %v, want a retryable error", err)
	}
	checkNoSecrets(t, err)
}

func TestWebhookGuard(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, false, nil)
	opt := testOptions(t)
	opt.Guard = Guard{}
	w, err := NewWebhook(WebhookConfig{Kind: KindJSON, URL: rcv.url()}, opt)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), jaAlert)
	var re *RefusedError
	if !errors.As(err, &re) || Retryable(err) {
		t.Fatalf("Send = %v, want a *RefusedError, not retryable", err)
	}
	if !strings.Contains(err.Error(), "notify.allow") || len(rcv.requests()) != 0 {
		t.Errorf("Send = %q with %d requests received; want a refusal naming notify.allow and none", err, len(rcv.requests()))
	}
	checkNoSecrets(t, err)

	// A name that resolves to an internal address is refused the same way.
	opt.resolver = fakeDNS(t, netip.MustParseAddr("192.168.10.20"))
	w, err = NewWebhook(WebhookConfig{Kind: KindJSON, URL: "http://hooks.koban.test" + hookPath + "?" + hookQuery}, opt)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), jaAlert)
	if !errors.As(err, &re) || re.Addr != netip.MustParseAddr("192.168.10.20") {
		t.Fatalf("Send via hooks.koban.test = %v, want a *RefusedError for 192.168.10.20", err)
	}
	checkNoSecrets(t, err)
}

func TestWebhookInvalidMessage(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, false, nil)
	w := newHook(t, rcv, KindJSON, "")
	for _, m := range []Message{{Level: LevelHigh}, {Title: "x", Level: "severe"}, {Title: "x", Level: LevelLow, Items: []Item{{Title: "y"}}}} {
		if err := w.Send(context.Background(), m); err == nil {
			t.Errorf("Send(%+v) = nil, want an error", m)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("invalid messages were posted %d times", n)
	}
}

func TestWebhookConfigValidate(t *testing.T) {
	t.Parallel()
	good := WebhookConfig{Kind: KindSlack, URL: "https://hooks.slack.com" + hookPath}
	tests := []struct {
		name   string
		change func(*WebhookConfig)
		want   []string
	}{
		{"good slack", func(*WebhookConfig) {}, nil},
		{"good teams", func(c *WebhookConfig) {
			c.Kind, c.URL = KindTeams, "https://prod-00.japaneast.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?"+hookQuery
		}, nil},
		{"good json over http with secret and headers", func(c *WebhookConfig) {
			c.Kind, c.URL, c.Secret = KindJSON, "http://soar.example:8080/koban", hookSecret
			c.Headers = map[string]string{"Authorization": hookAuth, "X-Tenant": "a"}
		}, nil},
		{"no kind", func(c *WebhookConfig) { c.Kind = "" }, []string{`kind: must be set`}},
		{"bad kind", func(c *WebhookConfig) { c.Kind = "discord" }, []string{`kind: "discord" must be`}},
		{"no URL", func(c *WebhookConfig) { c.URL = "" }, []string{"url: must not be empty"}},
		{"unparsable URL", func(c *WebhookConfig) { c.URL = "https://hooks.slack.com/%zz" + hookQuery }, []string{"url: is not a valid URL"}},
		{"ftp", func(c *WebhookConfig) { c.URL = "ftp://hooks.slack.com" + hookPath }, []string{"url: must start with https://"}},
		{"http slack", func(c *WebhookConfig) { c.URL = "http://hooks.slack.com" + hookPath }, []string{"url: slack webhooks need https://"}},
		{"no host", func(c *WebhookConfig) { c.URL = "https://" + hookPath }, []string{"url: has no host"}},
		{"user info", func(c *WebhookConfig) { c.URL = "https://bob:Xy9secretTOKENabc@hooks.slack.com/x" }, []string{"url: must not contain a user name or password (https://hooks.slack.com/…)"}},
		{"bad port", func(c *WebhookConfig) { c.URL = "https://hooks.slack.com:99999" + hookPath }, []string{"url: has an invalid port (https://hooks.slack.com:99999/…)"}},
		{"secret on slack", func(c *WebhookConfig) { c.Secret = hookSecret }, []string{"secret: only the json kind signs"}},
		{"short secret", func(c *WebhookConfig) { c.Kind, c.Secret = KindJSON, "0123456789" }, []string{"secret: is 10 bytes"}},
		{"bad header name", func(c *WebhookConfig) { c.Headers = map[string]string{"X Bad": "v"} }, []string{`headers.X Bad: "X Bad" is not a valid HTTP header name`}},
		{"reserved header", func(c *WebhookConfig) { c.Headers = map[string]string{"content-type": "text/plain"} }, []string{"headers.content-type: Content-Type is set by koban"}},
		{"signature header", func(c *WebhookConfig) { c.Headers = map[string]string{"X-Koban-Signature": "x"} }, []string{"headers.X-Koban-Signature: X-Koban-Signature is set by koban"}},
		{"header injection", func(c *WebhookConfig) {
			c.Headers = map[string]string{"Authorization": "Bearer header-TOKEN-value\r\nX-Evil: 1"}
		}, []string{"headers.Authorization: the value must not contain line breaks"}},
		{"timeout", func(c *WebhookConfig) { c.Timeout = -time.Second }, []string{"timeout: -1s must not be negative"}},
	}
	for _, tt := range tests {
		c := good
		tt.change(&c)
		err := c.Validate()
		checkProblems(t, tt.name, err, tt.want)
		checkNoSecrets(t, err)
	}
}

func TestWebhookConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := WebhookConfig{Name: "soc-json", Kind: KindJSON, URL: "https://soar.example" + hookPath + "?" + hookQuery, Secret: hookSecret,
		Headers: map[string]string{"Authorization": hookAuth}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "webhook", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "webhook", c)
	w, err := NewWebhook(c, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v", &c), logged.String(), w.Name()} {
		for _, secret := range hookSecrets {
			if strings.Contains(s, secret) {
				t.Errorf("%q is printed: %s", secret, s)
			}
		}
	}
	if !strings.Contains(logged.String(), "https://soar.example/…") || !strings.Contains(logged.String(), "Authorization") {
		t.Errorf("the log lacks the redacted URL or the header name: %s", logged.String())
	}
	if got := (WebhookConfig{Kind: KindSlack, URL: "https://hooks.slack.com" + hookPath}).name(); got != "slack:hooks.slack.com" {
		t.Errorf("default name = %q, want slack:hooks.slack.com", got)
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://hooks.slack.com/services/T/B/X": "https://hooks.slack.com/…",
		"https://example.com":                    "https://example.com",
		"https://example.com/":                   "https://example.com",
		"https://example.com/?token=1":           "https://example.com/…",
		"https://user:pw@example.com:8443/a":     "https://example.com:8443/…",
		"http://[::1]:8080/x#frag":               "http://[::1]:8080/…",
		"not a url":                              "(invalid URL)",
		"https://example.com/%zz":                "(invalid URL)",
		"mailto:someone@example.com":             "(invalid URL)",
	}
	for in, want := range tests {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
