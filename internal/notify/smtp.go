// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/koban-csirt/koban/internal/i18n"
)

// The TLS modes of SMTPConfig.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which must succeed
	TLSImplicit = "tls"      // TLS from the first byte (usually port 465)
	TLSNone     = "none"     // no encryption: only to a loopback host
)

// DefaultSMTPTimeout bounds one delivery when SMTPConfig.Timeout is 0.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig is the configuration of the e-mail channel. Its String,
// GoString and LogValue never show the password.
type SMTPConfig struct {
	// Name identifies the channel in logs and routing; "email:<host>"
	// when empty.
	Name string
	Host string // host name or IP address of the submission server
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// TLS is "starttls" (the default; STARTTLS must succeed), "tls"
	// (implicit TLS) or "none" (loopback hosts only).
	TLS      string
	Username string // empty: no authentication
	Password string
	From     string   // "koban <koban@example.com>" or "koban@example.com"
	To       []string // at least one recipient
	// Timeout bounds one delivery (connect, TLS, authenticate, send);
	// DefaultSMTPTimeout when 0.
	Timeout time.Duration
}

func (c SMTPConfig) tlsMode() string {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

func (c SMTPConfig) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.tlsMode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

func (c SMTPConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultSMTPTimeout
}

func (c SMTPConfig) name() string {
	if c.Name != "" {
		return c.Name
	}
	return "email:" + c.Host
}

func (c SMTPConfig) target() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.port()))
}

func mask(secret string) string {
	if secret == "" {
		return `""`
	}
	return "********"
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("email %s (tls %s, user %q, password %s) from %q to %q", c.target(), c.tlsMode(), c.Username, mask(c.Password), c.From, c.To)
}

// GoString is String, so that %#v does not print the password either.
func (c SMTPConfig) GoString() string { return "notify.SMTPConfig{" + c.String() + "}" }

// LogValue logs the configuration without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.port()), slog.String("tls", c.tlsMode()),
		slog.String("username", c.Username), slog.String("password", mask(c.Password)),
		slog.String("from", c.From), slog.Any("to", c.To))
}

// Validate reports every invalid setting as Problems, with the field names
// of the config section (host, port, tls, username, password, from,
// to[i], timeout).
func (c SMTPConfig) Validate() error {
	var p Problems
	switch {
	case strings.TrimSpace(c.Host) == "":
		p.add("host", "must not be empty")
	default:
		if why := badHost(c.Host); why != "" {
			p.add("host", "%q %s", c.Host, why)
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		p.add("port", "%d is not a TCP port (1-65535, or 0 for the default of the TLS mode)", c.Port)
	}
	switch c.tlsMode() {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Host != "" && !loopbackHost(c.Host) {
			p.add("tls", `"none" sends mail and the password unencrypted, so it is allowed only to localhost, 127.0.0.1 or ::1; use "starttls" or "tls" for %q`, c.Host)
		}
	default:
		p.add("tls", `%q must be "starttls", "tls" or "none"`, c.TLS)
	}
	switch {
	case c.Username == "" && c.Password != "":
		p.add("username", "must be set when a password is (the password is never used without it)")
	case c.Username != "" && c.Password == "":
		p.add("password", "must be set when username %q is", c.Username)
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") {
		p.add("username", "must not contain line breaks or NUL")
	}
	if strings.ContainsAny(c.Password, "\r\n\x00") {
		p.add("password", "must not contain line breaks or NUL") // never echo it
	}
	if strings.TrimSpace(c.From) == "" {
		p.add("from", "must not be empty")
	} else if why := badAddress(c.From); why != "" {
		p.add("from", "%q %s", c.From, why)
	}
	if len(c.To) == 0 {
		p.add("to", "needs at least one recipient")
	}
	for i, to := range c.To {
		if why := badAddress(to); why != "" {
			p.add(fmt.Sprintf("to[%d]", i), "%q %s", to, why)
		}
	}
	if c.Timeout < 0 {
		p.add("timeout", "%s must not be negative", c.Timeout)
	}
	return p.err()
}

// badHost says what is wrong with a host name, or "".
func badHost(h string) string {
	if strings.Contains(h, "://") {
		return "must be a host name or IP address, not a URL"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if len(h) > 253 {
		return "is longer than 253 characters"
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return "is not a valid host name (empty or over-long label)"
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			ok := b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
			if !ok {
				if b >= 0x80 {
					return "is not a valid host name (write an internationalised name in its xn-- form)"
				}
				return fmt.Sprintf("is not a valid host name (character %q)", rune(b))
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "is not a valid host name (a label starts or ends with '-')"
		}
	}
	return ""
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// badAddress says what is wrong with an e-mail address, or "".
func badAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "is not an e-mail address (" + strings.TrimPrefix(err.Error(), "mail: ") + ")"
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "is not an e-mail address (no domain)"
	}
	return ""
}

// SMTP is the e-mail channel: one message per Send, over a fresh
// connection checked by the Guard.
type SMTP struct {
	cfg  SMTPConfig
	opt  Options
	tls  *tls.Config
	from *mail.Address
	scr  scrubber
}

// NewSMTP returns the e-mail channel for a valid cfg.
func NewSMTP(cfg SMTPConfig, opt Options) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.Guard.Setting == "" {
		opt.Guard.Setting = "notify"
	}
	from, _ := mail.ParseAddress(cfg.From) // checked by Validate
	s := &SMTP{
		cfg:  cfg,
		opt:  opt,
		from: from,
		tls:  &tls.Config{ServerName: cfg.Host, RootCAs: opt.RootCAs, MinVersion: tls.VersionTLS12},
	}
	s.scr.add(cfg.Password,
		base64.StdEncoding.EncodeToString([]byte("\x00"+cfg.Username+"\x00"+cfg.Password)))
	return s, nil
}

// Name returns the configured name or "email:<host>".
func (s *SMTP) Name() string { return s.cfg.name() }

// Send composes m as a text and HTML mail and delivers it to every
// recipient. Errors are *SendError (Op "connect", "authenticate",
// "session" or "send").
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("notify: %s: %w", s.Name(), err)
	}
	msg, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("notify: %s: compose: %w", s.Name(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout())
	defer cancel()

	var st attempt
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port()),
		gomail.WithTimeout(s.cfg.timeout()),
		gomail.WithTLSConfig(s.tls.Clone()),
		gomail.WithDialContextFunc(s.dial(&st)),
	}
	switch s.cfg.tlsMode() {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&auth{user: s.cfg.Username, pass: s.cfg.Password, host: s.cfg.Host, st: &st}))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return s.scr.sendError(s.Name(), s.cfg.target(), "set up", err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.scr.sendError(s.Name(), s.cfg.target(), st.op(err), err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn) // the send error is the one to report
		return s.scr.sendError(s.Name(), s.cfg.target(), "send", err)
	}
	// The server accepted the message: a failing QUIT loses nothing.
	_ = client.CloseWithSMTPClient(conn)
	return nil
}

// attempt records how far one delivery got, to name the failing step.
type attempt struct {
	connected bool
	authing   bool
	user      string
}

func (a *attempt) op(err error) string {
	var cv *tls.CertificateVerificationError
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &cv), errors.As(err, &alert), errors.As(err, &rh):
		return "TLS handshake"
	case a.authing:
		return fmt.Sprintf("authenticate as %q", a.user)
	case a.connected:
		return "session"
	}
	return "connect"
}

// dial connects through the Guard, with TLS from the first byte in "tls"
// mode.
func (s *SMTP) dial(st *attempt) gomail.DialContextFunc {
	d := s.opt.Guard.dialer(s.cfg.timeout(), s.opt.resolver)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if s.cfg.tlsMode() == TLSImplicit {
			c, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, network, addr)
		} else {
			c, err = d.DialContext(ctx, network, addr)
		}
		if err == nil {
			st.connected = true
		}
		return c, err
	}
}

// auth picks the best mechanism the server offers (SCRAM-SHA-256,
// SCRAM-SHA-1, PLAIN, LOGIN) and records that authentication started, so
// that a failure is reported as such. PLAIN and LOGIN refuse to run on an
// unencrypted connection except to localhost (go-mail checks).
type auth struct {
	user, pass, host string
	st               *attempt
	inner            gosmtp.Auth
}

// authMechs is our order of preference.
var authMechs = []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"}

func (a *auth) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	a.st.authing, a.st.user = true, a.user
	for _, mech := range authMechs {
		if !slices.ContainsFunc(server.Auth, func(s string) bool { return strings.EqualFold(s, mech) }) {
			continue
		}
		switch mech {
		case "SCRAM-SHA-256":
			a.inner = gosmtp.ScramSHA256Auth(a.user, a.pass)
		case "SCRAM-SHA-1":
			a.inner = gosmtp.ScramSHA1Auth(a.user, a.pass)
		case "PLAIN":
			a.inner = gosmtp.PlainAuth("", a.user, a.pass, a.host, false)
		case "LOGIN":
			a.inner = gosmtp.LoginAuth(a.user, a.pass, a.host, false)
		}
		return a.inner.Start(server)
	}
	if len(server.Auth) == 0 {
		return "", nil, errors.New("the server offers no authentication (AUTH); remove the username or use another server")
	}
	return "", nil, fmt.Errorf("the server offers AUTH %s; koban supports %s",
		strings.Join(server.Auth, " "), strings.Join(authMechs, ", "))
}

func (a *auth) Next(fromServer []byte, more bool) ([]byte, error) {
	b, err := a.inner.Next(fromServer, more)
	if err == nil && !more {
		a.st.authing = false
	}
	return b, err
}

// compose renders m as a multipart/alternative mail: UTF-8 text and an
// escaped HTML version.
func (s *SMTP) compose(m Message) (*gomail.Msg, error) {
	l := newLabels(s.opt.Catalog, m.Lang)
	v := newView(l, m)
	// Japanese text is smaller in base64 than in quoted-printable, and
	// B-encoded subjects are what Japanese mail clients expect.
	enc := gomail.EncodingQP
	if l.lang == i18n.Japanese {
		enc = gomail.EncodingB64
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(enc))
	msg.FromMailAddress(s.from)
	if err := msg.To(s.cfg.To...); err != nil {
		return nil, err
	}
	setSubject(msg, v.Subject)
	now := s.opt.now()
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(messageID(s.from.Address))
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader(gomail.HeaderContentLang, string(l.lang))
	msg.SetGenHeader("X-Koban-Level", string(m.Level))
	msg.SetUserAgent("koban") // not the library and its version
	msg.SetBodyString(gomail.TypeTextPlain, renderText(v))
	html, err := renderHTML(v)
	if err != nil {
		return nil, err
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// setSubject sets the Subject header. The MIME encoder leaves ASCII text
// as it is, even text that looks like an encoded word ("=?UTF-8?B?…?="),
// which mail clients would then decode: an event could put any words into
// the subject that way. A subject holding "=?" is encoded whole instead.
func setSubject(msg *gomail.Msg, subject string) {
	if !strings.Contains(subject, "=?") {
		msg.Subject(subject)
		return
	}
	msg.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeWords(subject))
}

// encodeWords encodes s as RFC 2047 B-encoded words of at most 75
// characters, one per folded line, never splitting a character.
func encodeWords(s string) string {
	const maxChunk = 45 // bytes: 60 base64 characters and the 12 of "=?UTF-8?B?", "?="
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxChunk {
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// messageID returns "<random>@<domain of from>", so that the ID names no
// host of ours.
func messageID(from string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return hex.EncodeToString(b) + "@" + domain
}
