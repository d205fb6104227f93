// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/i18n"
)

const testPassword = "s3cret-Pässwörd!" // never in an error or a log

// jaAlert has a long Japanese title (several encoded words), markup that
// must stay text, and facts.
var jaAlert = Message{
	Title:   "管理者アカウントへのパスワード総当たり攻撃の後にログオンが成功しました <script>alert(1)</script>",
	Summary: "10 分間に 57 回のログオン失敗の後、成功しました。\r\n送信元: 203.0.113.7",
	Level:   LevelHigh,
	URL:     "https://koban.example/alerts/42",
	Facts: []Fact{
		{Name: "ルール", Value: "ブルートフォース後のログオン成功"},
		{Name: "ホスト", Value: "pc-01.corp.example"},
		{Name: "ユーザー", Value: `CORP\山田`},
		{Name: "ATT&CK", Value: "T1110.001 (Password Guessing)"},
	},
	Lang: i18n.Japanese,
}

func smtpConfig(mb *mailbox, mode string) SMTPConfig {
	return SMTPConfig{
		Host:     "127.0.0.1",
		Port:     mb.addr.Port,
		TLS:      mode,
		Username: "alice",
		Password: testPassword,
		From:     "koban <koban@koban.example>",
		To:       []string{"soc@koban.example", "山田 太郎 <yamada@koban.example>"},
		Timeout:  10 * time.Second,
	}
}

// parsed is a received mail taken apart with net/mail and mime.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
}

func parseMail(t *testing.T, raw []byte) parsed {
	t.Helper()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for i, line := range strings.Split(string(head), "\r\n") {
		for _, r := range line {
			if r > 127 {
				t.Fatalf("header line %d %q is not ASCII: RFC 2047 encoding missing", i, line)
			}
		}
		if len(line) > 998 {
			t.Fatalf("header line %d is %d bytes, over RFC 5322's 998", i, len(line))
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v", err)
	}
	p := parsed{header: m.Header}
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("decode Subject %q: %v", m.Header.Get("Subject"), err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: want multipart/alternative (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next MIME part: %v", err)
		}
		var r io.Reader = part // multipart decodes quoted-printable itself
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read MIME part: %v", err)
		}
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %s: charset %q, want UTF-8", pt, pp["charset"])
		}
		switch pt {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		default:
			t.Errorf("unexpected part %s", pt)
		}
	}
	return p
}

func TestSMTPStartTLSJapanese(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: testPassword,
		startTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	opt := testOptions(t)
	opt.RootCAs = pool
	ch, err := NewSMTP(smtpConfig(mb, TLSStartTLS), opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), jaAlert); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := mb.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if ok, failed := mb.auths(); ok != 1 || failed != 0 {
		t.Errorf("AUTH: %d succeeded, %d failed; want 1, 0", ok, failed)
	}
	if !got.tls {
		t.Error("the message went over a connection without TLS")
	}
	if diff := cmp.Diff(received{from: "koban@koban.example", to: []string{"soc@koban.example", "yamada@koban.example"}, tls: true},
		received{from: got.from, to: got.to, tls: got.tls}, cmp.AllowUnexported(received{})); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}

	p := parseMail(t, got.data)
	wantSubject := "[koban] 【高】管理者アカウントへのパスワード総当たり攻撃の後にログオンが成功しました <script>alert(1)</script>"
	if p.subject != wantSubject {
		t.Errorf("Subject = %q, want %q", p.subject, wantSubject)
	}
	if raw := p.header.Get("Subject"); !strings.HasPrefix(strings.ToUpper(raw), "=?UTF-8?B?") {
		t.Errorf("raw Subject %q: want RFC 2047 B encoding for Japanese", raw)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "koban@koban.example" || from[0].Name != "koban" {
		t.Errorf("From = %v (%v), want koban <koban@koban.example>", from, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "山田 太郎" || to[1].Address != "yamada@koban.example" {
		t.Errorf("To = %v (%v), want soc@ and 山田 太郎 <yamada@koban.example>", to, err)
	}
	for name, want := range map[string]string{
		"Auto-Submitted":   "auto-generated",
		"Content-Language": "ja",
		"X-Koban-Level":    "high",
		"Mime-Version":     "1.0",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date = %v (%v), want %v", d, err, fixedNow)
	}
	if id := p.header.Get("Message-Id"); !strings.HasSuffix(id, "@koban.example>") {
		t.Errorf("Message-ID = %q, want one in the From domain", id)
	}

	for _, want := range []string{
		"高 | 管理者アカウントへのパスワード総当たり攻撃の後にログオンが成功しました <script>alert(1)</script>\n",
		"10 分間に 57 回のログオン失敗の後、成功しました。\n送信元: 203.0.113.7\n",
		"ルール: ブルートフォース後のログオン成功\n",
		"ホスト: pc-01.corp.example\n",
		"ユーザー: CORP\\山田\n",
		"ATT&CK: T1110.001 (Password Guessing)\n",
		"koban で開く: https://koban.example/alerts/42\n",
		"アラート通知の宛先として設定されている",
	} {
		if !strings.Contains(strings.ReplaceAll(p.text, "\r\n", "\n"), want) {
			t.Errorf("text part lacks %q; got:\n%s", want, p.text)
		}
	}
	for _, want := range []string{
		`<html lang="ja">`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"<th", "ATT&amp;CK", "CORP\\山田",
		`<a href="https://koban.example/alerts/42">koban で開く</a>`,
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("HTML part lacks %q; got:\n%s", want, p.html)
		}
	}
	if strings.Contains(p.html, "<script>") {
		t.Errorf("HTML part holds unescaped markup from the alert:\n%s", p.html)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: testPassword,
		implicit: &tls.Config{Certificates: []tls.Certificate{cert}}})
	opt := testOptions(t)
	opt.RootCAs = pool
	ch, err := NewSMTP(smtpConfig(mb, TLSImplicit), opt)
	if err != nil {
		t.Fatal(err)
	}
	m := jaAlert
	m.Lang = i18n.English
	m.Title = "Brute force then success"
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := mb.messages()
	if len(msgs) != 1 || !msgs[0].tls {
		t.Fatalf("server received %d messages (want 1, over TLS)", len(msgs))
	}
	p := parseMail(t, msgs[0].data)
	if want := "[koban] High Brute force then success"; p.subject != want {
		t.Errorf("Subject = %q, want %q", p.subject, want)
	}
}

// TestSMTPNoneDigest sends an English digest without TLS to 127.0.0.1,
// with AUTH PLAIN (go-mail allows it unencrypted to localhost only).
func TestSMTPNoneDigest(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: testPassword, insecure: true})
	opt := testOptions(t)
	opt.Guard = Guard{AllowInternal: true}
	ch, err := NewSMTP(smtpConfig(mb, TLSNone), opt)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 4, 1, 8, 15, 0, 0, time.UTC)
	digest := Message{
		Title:   "Alerts in the last hour",
		Summary: "3 alerts since 08:30.",
		Level:   LevelCritical,
		URL:     "https://koban.example/alerts",
		Items: []Item{
			{Title: "Audit log cleared", Level: LevelCritical, URL: "https://koban.example/alerts/7", Time: at, Count: 1},
			{Title: "New local admin", Level: LevelHigh, URL: "javascript:alert(1)", Time: at, Count: 4},
			{Title: "Off-hours logon", Level: LevelLow},
		},
		Lang: i18n.English,
	}
	if err := ch.Send(context.Background(), digest); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := mb.messages()
	if len(msgs) != 1 || msgs[0].tls {
		t.Fatalf("server received %d messages (want 1, without TLS)", len(msgs))
	}
	p := parseMail(t, msgs[0].data)
	if want := "[koban] Alerts in the last hour (3 alerts)"; p.subject != want {
		t.Errorf("Subject = %q, want %q", p.subject, want)
	}
	text := strings.ReplaceAll(p.text, "\r\n", "\n")
	for _, want := range []string{
		"- [Critical] Audit log cleared / 1 Apr 2025 08:15 UTC\n  https://koban.example/alerts/7\n",
		"- [High] New local admin / 4 events / 1 Apr 2025 08:15 UTC\n- [Low] Off-hours logon\n",
		"Open in koban: https://koban.example/alerts\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q; got:\n%s", want, text)
		}
	}
	if strings.Contains(p.text+p.html, "javascript:") {
		t.Error("a javascript: link reached the mail")
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: "the-right-one",
		startTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	opt := testOptions(t)
	opt.RootCAs = pool
	ch, err := NewSMTP(smtpConfig(mb, TLSStartTLS), opt)
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), jaAlert)
	var se *SendError
	if !errors.As(err, &se) || se.Op != `authenticate as "alice"` {
		t.Fatalf("Send = %v, want a *SendError with Op authenticate as \"alice\"", err)
	}
	for _, want := range []string{"127.0.0.1:", "535", "Authentication credentials invalid"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if Retryable(err) {
		t.Errorf("Retryable(%v) = true, want false: the password is wrong", err)
	}
	checkNoSecret(t, err, testPassword)
	if ok, failed := mb.auths(); ok != 0 || failed != 1 || len(mb.messages()) != 0 {
		t.Errorf("server: %d AUTH ok, %d failed, %d messages; want 0, 1, 0", ok, failed, len(mb.messages()))
	}
}

// TestSMTPRejected: a temporary refusal (4xx) is worth retrying, a
// permanent one (5xx) is not.
func TestSMTPRejected(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code      int
		retryable bool
	}{{451, true}, {452, true}, {550, false}, {553, false}} {
		mb := newMailbox(t, mailboxOptions{insecure: true, rcptCode: tt.code})
		opt := testOptions(t)
		opt.Guard = Guard{AllowInternal: true}
		cfg := smtpConfig(mb, TLSNone)
		cfg.Username, cfg.Password = "", ""
		ch, err := NewSMTP(cfg, opt)
		if err != nil {
			t.Fatal(err)
		}
		err = ch.Send(context.Background(), jaAlert)
		var se *SendError
		if !errors.As(err, &se) || se.Op != "send" || !strings.Contains(err.Error(), fmt.Sprint(tt.code)) {
			t.Errorf("RCPT answered %d: Send = %v, want a *SendError with Op send naming the code", tt.code, err)
		}
		if got := Retryable(err); got != tt.retryable {
			t.Errorf("RCPT answered %d: Retryable = %v, want %v", tt.code, got, tt.retryable)
		}
	}
}

// TestSMTPStartTLSRequired: a server without STARTTLS never sees the
// password.
func TestSMTPStartTLSRequired(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: testPassword, insecure: true})
	ch, err := NewSMTP(smtpConfig(mb, TLSStartTLS), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), jaAlert)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want an error about STARTTLS", err)
	}
	if ok, failed := mb.auths(); ok+failed != 0 || len(mb.messages()) != 0 {
		t.Errorf("server saw %d AUTH and %d messages, want none", ok+failed, len(mb.messages()))
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	t.Parallel()
	cert, _ := selfSigned(t)
	mb := newMailbox(t, mailboxOptions{user: "alice", pass: testPassword,
		startTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ch, err := NewSMTP(smtpConfig(mb, TLSStartTLS), testOptions(t)) // system roots only
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), jaAlert)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send = %v, want a certificate error", err)
	}
	if Retryable(err) {
		t.Errorf("Retryable(%v) = true, want false", err)
	}
	if ok, failed := mb.auths(); ok+failed != 0 {
		t.Errorf("server saw %d AUTH, want none", ok+failed)
	}
}

func TestSMTPGuard(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t, mailboxOptions{insecure: true})
	opt := testOptions(t)
	opt.Guard = Guard{}
	cfg := smtpConfig(mb, TLSNone)
	ch, err := NewSMTP(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), jaAlert)
	var re *RefusedError
	if !errors.As(err, &re) || re.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("Send = %v, want a *RefusedError for 127.0.0.1", err)
	}
	var se *SendError
	if !errors.As(err, &se) || se.Op != "connect" || Retryable(err) {
		t.Errorf("Send = %#v, want a SendError with Op connect, not retryable", err)
	}
	for _, want := range []string{"notify.allow_internal", "notify.allow"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestSMTPTimeout talks to a server that accepts and never answers.
func TestSMTPTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // teardown
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	t.Cleanup(func() {
		select {
		case c := <-held:
			_ = c.Close() // teardown
		default:
		}
	})
	opt := testOptions(t)
	opt.Guard = Guard{AllowInternal: true}
	ch, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: TLSNone,
		From: "koban@koban.example", To: []string{"soc@koban.example"}, Timeout: 300 * time.Millisecond}, opt)
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), jaAlert)
	if err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true for a timeout", err)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	t.Parallel()
	good := SMTPConfig{Host: "smtp.example.com", Username: "alice", Password: testPassword,
		From: "koban <koban@example.com>", To: []string{"soc@example.com"}}
	tests := []struct {
		name   string
		change func(*SMTPConfig)
		want   []string // "field: text fragment"
	}{
		{"good", func(*SMTPConfig) {}, nil},
		{"good none to localhost", func(c *SMTPConfig) { c.Host, c.TLS = "localhost", TLSNone }, nil},
		{"good none to ::1", func(c *SMTPConfig) { c.Host, c.TLS = "::1", TLSNone }, nil},
		{"good no auth", func(c *SMTPConfig) { c.Username, c.Password = "", "" }, nil},
		{"empty host", func(c *SMTPConfig) { c.Host = "" }, []string{"host: must not be empty"}},
		{"URL host", func(c *SMTPConfig) { c.Host = "smtp://mail.example.com" }, []string{"host: \"smtp://mail.example.com\" must be a host name or IP address, not a URL"}},
		{"unix host", func(c *SMTPConfig) { c.Host = "unix:///run/smtp.sock" }, []string{"host: "}},
		{"bad host", func(c *SMTPConfig) { c.Host = "mail example.com" }, []string{"host: \"mail example.com\" is not a valid host name (character ' ')"}},
		{"IDN host", func(c *SMTPConfig) { c.Host = "メール.example.jp" }, []string{"host: xn--"}},
		{"port", func(c *SMTPConfig) { c.Port = 70000 }, []string{"port: 70000 is not a TCP port"}},
		{"tls mode", func(c *SMTPConfig) { c.TLS = "ssl" }, []string{`tls: "ssl" must be "starttls", "tls" or "none"`}},
		{"none to remote", func(c *SMTPConfig) { c.TLS = TLSNone }, []string{`tls: "none" sends mail and the password unencrypted`}},
		{"password without user", func(c *SMTPConfig) { c.Username = "" }, []string{"username: must be set when a password is"}},
		{"user without password", func(c *SMTPConfig) { c.Password = "" }, []string{`password: must be set when username "alice" is`}},
		{"no from", func(c *SMTPConfig) { c.From = "" }, []string{"from: must not be empty"}},
		{"bad from", func(c *SMTPConfig) { c.From = "koban" }, []string{`from: "koban" is not an e-mail address`}},
		{"no to", func(c *SMTPConfig) { c.To = nil }, []string{"to: needs at least one recipient"}},
		{"bad to", func(c *SMTPConfig) { c.To = []string{"a@example.com", "b@", "c@example.com\r\nBcc: x@evil"} },
			[]string{`to[1]: "b@" is not an e-mail address`, `to[2]: `}},
		{"timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, []string{"timeout: -1s must not be negative"}},
		{"several at once", func(c *SMTPConfig) { c.Host, c.From = "", "" }, []string{"host: ", "from: "}},
	}
	for _, tt := range tests {
		c := good
		c.To = append([]string(nil), good.To...)
		tt.change(&c)
		err := c.Validate()
		checkProblems(t, tt.name, err, tt.want)
		checkNoSecret(t, err, testPassword)
	}
}

// checkProblems checks that err is Problems with exactly one problem per
// wanted "field: fragment".
func checkProblems(t *testing.T, name string, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("%s: Validate = %v, want nil", name, err)
		}
		return
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Errorf("%s: Validate = %v, want Problems", name, err)
		return
	}
	if len(ps) != len(want) {
		t.Errorf("%s: Validate = %v: %d problems, want %d", name, err, len(ps), len(want))
	}
	for i, w := range want {
		if i >= len(ps) {
			break
		}
		field, frag, _ := strings.Cut(w, ": ")
		if ps[i].Field != field || !strings.Contains(ps[i].Text, frag) {
			t.Errorf("%s: problem %d = %s: %q, want %s: …%s…", name, i, ps[i].Field, ps[i].Text, field, frag)
		}
	}
}

// checkNoSecret fails when secret appears in err, anything it wraps, or
// their %#v forms.
func checkNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if s := errorChain(err); strings.Contains(s, secret) {
		t.Errorf("a secret leaked into an error:\n%s", s)
	}
}

func TestSMTPConfigHidesPassword(t *testing.T) {
	t.Parallel()
	c := SMTPConfig{Host: "smtp.example.com", Username: "alice", Password: testPassword,
		From: "koban@example.com", To: []string{"soc@example.com"}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "smtp", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "smtp", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v", &c), logged.String()} {
		if strings.Contains(s, testPassword) {
			t.Errorf("the password is printed: %s", s)
		}
		if !strings.Contains(s, "alice") {
			t.Errorf("the description lacks the user name: %s", s)
		}
	}
}
