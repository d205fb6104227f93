// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/wneessen/go-mail"
)

// Problem is one invalid setting: the field (a key of the channel's config
// section, such as "port" or "to[1]") and what is wrong with it.
type Problem struct {
	Field string
	Text  string
}

// Problems is every invalid setting of one config section. The config
// layer puts its own key path in front of each Field.
type Problems []Problem

// Error lists every problem as "field: text", joined by semicolons.
func (p Problems) Error() string {
	parts := make([]string, len(p))
	for i, pr := range p {
		parts[i] = pr.Field + ": " + pr.Text
	}
	return "notify: " + strings.Join(parts, "; ")
}

func (p *Problems) add(field, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Text: fmt.Sprintf(format, args...)})
}

func (p Problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// SendError is a failed delivery attempt. Its text names the channel, the
// destination without secrets and what failed; the cause is kept for
// errors.Is and errors.As only when its own text holds no secret.
type SendError struct {
	Channel string // the channel's Name
	Target  string // "https://hooks.slack.com/…" or "smtp.example.com:587"
	Op      string // "connect", "authenticate", "send", "post" …
	// Temporary reports whether trying again later may succeed: timeouts,
	// refused or reset connections, SMTP 4xx replies.
	Temporary bool
	msg       string
	cause     error
}

// Error names the channel, the destination without secrets, the failing
// step and the cause with secrets removed.
func (e *SendError) Error() string {
	return "notify: " + e.Channel + " " + e.Target + ": " + e.Op + ": " + e.msg
}

// Unwrap returns the cause, or nil when its text held a secret.
func (e *SendError) Unwrap() error { return e.cause }

// StatusError is a webhook answer outside 2xx (redirects included: they are
// never followed).
type StatusError struct {
	Channel string
	Target  string // the URL without path and query
	Code    int
	// Body is the start of the answer, on one line, secrets removed.
	Body string
	// RetryAfter is the wait the server asked for (Retry-After), or 0.
	RetryAfter time.Duration
}

// Error names the channel, the destination without secrets, the status
// and the start of the answer.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("notify: %s %s: answered %d %s", e.Channel, e.Target, e.Code, statusText(e.Code))
	if e.Code >= 300 && e.Code < 400 {
		s += " (redirects are not followed: configure the final URL)"
	}
	if e.Body != "" {
		s += fmt.Sprintf(": %q", e.Body)
	}
	return s
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "(unknown status)"
}

// Retryable reports whether sending the same message again later may
// succeed: true for webhook answers 408, 429 and 5xx, timeouts, refused or
// reset connections and temporary SMTP replies (4xx); false for refusals by
// the Guard, bad credentials, other 4xx answers, certificate errors, a
// cancelled context and invalid messages.
func Retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == 408 || se.Code == 429 || se.Code >= 500
	}
	var sd *SendError
	if errors.As(err, &sd) {
		return sd.Temporary
	}
	return false
}

// temporary classifies a cause for SendError.Temporary.
func temporary(err error) bool {
	var re *RefusedError
	var dns *net.DNSError
	var me *mail.SendError
	var tp *textproto.Error
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.As(err, &re):
		return false
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &dns):
		return dns.IsTimeout || dns.IsTemporary
	case errors.As(err, &me):
		if me.IsTemp() {
			return true
		}
		if c := me.ErrorCode(); c > 0 {
			return c >= 400 && c < 500
		}
	case errors.As(err, &tp):
		return tp.Code >= 400 && tp.Code < 500
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// RedactURL shows a URL without what may identify or authorise the
// caller: "scheme://host/…" (webhook and feed URLs carry tokens in their
// path or query; user information is dropped too). Use it wherever a
// configured URL goes into an error or a log.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		s += "/…"
	}
	return s
}

// scrubber removes secrets from text bound for an error or a log.
type scrubber struct{ secrets []string }

// minSecret is the shortest text scrubbed: replacing every "ab" in a
// message would make it unreadable and protect nothing.
const minSecret = 3

func (s *scrubber) add(secrets ...string) {
	for _, v := range secrets {
		if len(v) >= minSecret {
			s.secrets = append(s.secrets, v)
		}
	}
	// Longest first, so that a secret containing another is removed whole.
	sort.Slice(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
}

// addURL registers the parts of a URL that may carry a token: the path,
// each long path segment, the query and each long query value, the user
// information, and their escaped forms.
func (s *scrubber) addURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		s.add(raw)
		return
	}
	s.add(raw, u.EscapedPath(), u.Path, u.RawQuery, u.Fragment, u.Opaque)
	if u.User != nil {
		p, _ := u.User.Password()
		s.add(u.User.String(), u.User.Username(), p)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 6 {
			s.add(seg, url.PathEscape(seg))
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 6 {
				s.add(v, url.QueryEscape(v))
			}
		}
	}
}

func (s *scrubber) scrub(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "…")
	}
	return text
}

// holds reports whether text contains a secret.
func (s *scrubber) holds(text string) bool {
	for _, v := range s.secrets {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

// sendError builds a SendError whose text holds no secret of s.
func (s *scrubber) sendError(channel, target, op string, cause error) *SendError {
	text := cause.Error()
	e := &SendError{Channel: channel, Target: target, Op: op, Temporary: temporary(cause), msg: s.scrub(text)}
	if !s.holds(text) && !s.holds(fmt.Sprintf("%+v", cause)) {
		e.cause = cause
	}
	return e
}

// excerpt returns the start of an answer body on one line, at most 200
// bytes, with secrets removed.
func (s *scrubber) excerpt(b []byte) string {
	const max = 200
	t := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "�"))
	t = strings.Join(strings.Fields(t), " ")
	t = s.scrub(t)
	if len(t) > max {
		i := max
		for i > 0 && !utf8Start(t[i]) {
			i--
		}
		t = t[:i] + "…"
	}
	return t
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
