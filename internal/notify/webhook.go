// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The kinds of webhook.
const (
	KindSlack = "slack" // Slack incoming webhook: text + Block Kit blocks
	KindTeams = "teams" // Microsoft Teams Workflows webhook: an Adaptive Card
	KindJSON  = "json"  // the generic JSON object documented in json.go
)

// DefaultWebhookTimeout bounds one request when WebhookConfig.Timeout is 0.
const DefaultWebhookTimeout = 10 * time.Second

// SignatureHeader carries the json kind's HMAC-SHA256 signature of the
// body, as "sha256=<lower-case hex>", when a secret is configured.
const SignatureHeader = "X-Koban-Signature"

// WebhookConfig is the configuration of one webhook channel. Its String,
// GoString and LogValue show the URL as scheme://host/… and never the
// secret or header values.
type WebhookConfig struct {
	// Name identifies the channel in logs and routing; "<kind>:<host>"
	// when empty.
	Name string
	Kind string // "slack", "teams" or "json"
	// URL is where to POST. It usually carries a token: it is never shown
	// whole. Slack and Teams need https; json may use http.
	URL string
	// Secret, for the json kind, signs each body (SignatureHeader).
	Secret string
	// Headers are sent with every request (for example an Authorization
	// header a receiving gateway wants). Their values are never shown.
	Headers map[string]string
	// Timeout bounds one request; DefaultWebhookTimeout when 0.
	Timeout time.Duration
}

func (c WebhookConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultWebhookTimeout
}

func (c WebhookConfig) name() string {
	if c.Name != "" {
		return c.Name
	}
	host := "?"
	if u, err := url.Parse(c.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	return c.Kind + ":" + host
}

func (c WebhookConfig) headerNames() []string {
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// String describes the configuration without secrets.
func (c WebhookConfig) String() string {
	return fmt.Sprintf("webhook %s %s (secret %s, headers %q)", c.Kind, RedactURL(c.URL), mask(c.Secret), c.headerNames())
}

// GoString is String, so that %#v does not print secrets either.
func (c WebhookConfig) GoString() string { return "notify.WebhookConfig{" + c.String() + "}" }

// LogValue logs the configuration without secrets.
func (c WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", c.Kind), slog.String("url", RedactURL(c.URL)),
		slog.String("secret", mask(c.Secret)), slog.Any("headers", c.headerNames()))
}

// reservedHeaders are set by the channel itself.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Transfer-Encoding": true,
	"Connection": true, http.CanonicalHeaderKey(SignatureHeader): true,
}

// Validate reports every invalid setting as Problems, with the field names
// of the config section (kind, url, secret, headers.<name>, timeout). The
// URL is never echoed: it holds the token.
func (c WebhookConfig) Validate() error {
	var p Problems
	switch c.Kind {
	case KindSlack, KindTeams, KindJSON:
	case "":
		p.add("kind", `must be set: "slack", "teams" or "json"`)
	default:
		p.add("kind", `%q must be "slack", "teams" or "json"`, c.Kind)
	}
	if strings.TrimSpace(c.URL) == "" {
		p.add("url", "must not be empty")
	} else if u, err := url.Parse(c.URL); err != nil {
		p.add("url", "is not a valid URL") // the text may hold the token: never echo it
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			p.add("url", "must start with https:// (or http:// for the json kind)")
		case u.Scheme == "http" && (c.Kind == KindSlack || c.Kind == KindTeams):
			p.add("url", "%s webhooks need https://", c.Kind)
		case u.Host == "" || u.Hostname() == "":
			p.add("url", "has no host")
		case u.User != nil:
			p.add("url", "must not contain a user name or password (%s): use headers for credentials", RedactURL(c.URL))
		case u.Fragment != "":
			p.add("url", "must not contain a #fragment (%s): it is never sent", RedactURL(c.URL))
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				p.add("url", "has an invalid port (%s)", RedactURL(c.URL))
			}
		}
	}
	if c.Secret != "" && c.Kind != KindJSON && c.Kind != "" {
		p.add("secret", "only the json kind signs its body; %s ignores a secret, so remove it", c.Kind)
	}
	if c.Secret != "" && len(c.Secret) < 16 {
		p.add("secret", "is %d bytes; use at least 16 random bytes", len(c.Secret))
	}
	for _, name := range c.headerNames() {
		field := "headers." + name
		switch {
		case !validHeaderName(name):
			p.add(field, "%q is not a valid HTTP header name", name)
		case reservedHeaders[http.CanonicalHeaderKey(name)]:
			p.add(field, "%s is set by koban and cannot be configured", http.CanonicalHeaderKey(name))
		case strings.ContainsAny(c.Headers[name], "\r\n\x00"):
			p.add(field, "the value must not contain line breaks or NUL") // never echo the value
		}
	}
	if c.Timeout < 0 {
		p.add("timeout", "%s must not be negative", c.Timeout)
	}
	return p.err()
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(b)) {
			return false
		}
	}
	return true
}

// Webhook is a webhook channel: one POST per Send through a client whose
// every connection is checked by the Guard and which follows no redirect.
type Webhook struct {
	cfg    WebhookConfig
	opt    Options
	client *http.Client
	target string // the URL without path and query
	scr    scrubber
}

// NewWebhook returns the webhook channel for a valid cfg.
func NewWebhook(cfg WebhookConfig, opt Options) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.Guard.Setting == "" {
		opt.Guard.Setting = "notify"
	}
	w := &Webhook{
		cfg:    cfg,
		opt:    opt,
		client: newHTTPClient(opt.Guard, opt.RootCAs, opt.resolver),
		target: RedactURL(cfg.URL),
	}
	w.client.Timeout = cfg.timeout()
	w.scr.addURL(cfg.URL)
	w.scr.add(cfg.Secret)
	for _, v := range cfg.Headers {
		w.scr.add(v)
	}
	return w, nil
}

// Name returns the configured name or "<kind>:<host>".
func (w *Webhook) Name() string { return w.cfg.name() }

// Send posts m in the channel's format. A non-2xx answer is a
// *StatusError; a failure to connect or to read the answer a *SendError.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("notify: %s: %w", w.Name(), err)
	}
	body, err := w.payload(m)
	if err != nil {
		return fmt.Errorf("notify: %s: encode: %w", w.Name(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return w.scr.sendError(w.Name(), w.target, "build request", err)
	}
	for _, name := range w.cfg.headerNames() {
		req.Header.Set(name, w.cfg.Headers[name])
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "koban-notify")
	if w.cfg.Kind == KindJSON && w.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign([]byte(w.cfg.Secret), body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return w.scr.sendError(w.Name(), w.target, "post", err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512)) // only for the error text
	// Drain a little more so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &StatusError{
		Channel:    w.Name(),
		Target:     w.target,
		Code:       resp.StatusCode,
		Body:       w.scr.excerpt(head),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), w.opt.now()),
	}
}

// payload renders m for the channel's kind.
func (w *Webhook) payload(m Message) ([]byte, error) {
	l := newLabels(w.opt.Catalog, m.Lang)
	switch w.cfg.Kind {
	case KindSlack:
		return slackPayload(l, m)
	case KindTeams:
		return teamsPayload(l, m)
	}
	return jsonPayload(m, w.opt.now())
}

// Sign returns the SignatureHeader value for body: "sha256=" and the
// lower-case hex HMAC-SHA256 of body under secret. Receivers recompute it
// over the raw body and compare in constant time (hmac.Equal).
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(min(n, maxRetryAfterSeconds)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil && t.After(now) {
		d = t.Sub(now)
	}
	return min(d, maxRetryAfterSeconds*time.Second)
}

// maxRetryAfterSeconds caps a server's Retry-After at one day.
const maxRetryAfterSeconds = 24 * 60 * 60

// Both channels are Channels.
var (
	_ Channel = (*SMTP)(nil)
	_ Channel = (*Webhook)(nil)
)
