// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/koban-csirt/koban/internal/i18n"
)

var (
	catOnce sync.Once
	cat     *i18n.Catalog
	catErr  error
)

// catalog returns the real message catalogue.
func catalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	catOnce.Do(func() { cat, catErr = i18n.Load() })
	if catErr != nil {
		t.Fatalf("i18n.Load: %v", catErr)
	}
	return cat
}

// loopbackOnly is the guard tests use to reach their own servers.
var loopbackOnly = Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

// fixedNow is the clock of every test that renders a message.
var fixedNow = time.Date(2025, 4, 1, 9, 30, 0, 0, time.UTC)

func testOptions(t *testing.T) Options {
	return Options{Catalog: catalog(t), Guard: loopbackOnly, Now: func() time.Time { return fixedNow }}
}

// selfSigned returns a server certificate for 127.0.0.1 and localhost and a
// pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "koban test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mailbox is an in-process SMTP server (go-smtp) on 127.0.0.1 that keeps
// what it receives.
type mailbox struct {
	addr     *net.TCPAddr
	user     string
	pass     string // when user is set, MAIL needs a successful AUTH
	rcptCode int

	mu       sync.Mutex
	received []received
	authOK   int
	authFail int
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

type mailboxOptions struct {
	user, pass string
	startTLS   *tls.Config // offered STARTTLS
	implicit   *tls.Config // TLS from the first byte
	insecure   bool        // AUTH allowed without TLS
	rcptCode   int         // when set, RCPT TO is answered with this reply code
}

func newMailbox(t *testing.T, o mailboxOptions) *mailbox {
	t.Helper()
	mb := &mailbox{user: o.user, pass: o.pass, rcptCode: o.rcptCode}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{mb: mb, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "mail.koban.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.AllowInsecureAuth = o.insecure
	srv.TLSConfig = o.startTLS
	var ln net.Listener
	var err error
	if o.implicit != nil {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", o.implicit)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().(*net.TCPAddr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns when Close stops it
	}()
	t.Cleanup(func() {
		// Close may run before Serve has registered the listener: close
		// it ourselves too. Teardown errors have nothing to report.
		_ = srv.Close()
		_ = ln.Close()
		<-done
	})
	return mb
}

func (mb *mailbox) messages() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.received...)
}

func (mb *mailbox) auths() (ok, failed int) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.authOK, mb.authFail
}

type session struct {
	mb     *mailbox
	conn   *gosmtp.Conn
	tls    bool
	authed bool
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.mb.mu.Lock()
		defer s.mb.mu.Unlock()
		if user != s.mb.user || pass != s.mb.pass {
			s.mb.authFail++
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.mb.authOK++
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.mb.user != "" && !s.authed {
		return gosmtp.ErrAuthRequired
	}
	_, s.tls = s.conn.TLSConnectionState()
	s.cur = received{from: from, tls: s.tls}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if c := s.mb.rcptCode; c != 0 {
		return &gosmtp.SMTPError{Code: c, EnhancedCode: gosmtp.EnhancedCode{c / 100, 1, 1}, Message: "mailbox says no"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.received = append(s.mb.received, s.cur)
	s.mb.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// fakeDNS answers every A question with one address and every other
// question with no answer, over UDP on 127.0.0.1. Tests use it to make a
// name resolve to an internal address without touching the network.
func fakeDNS(t *testing.T, answer netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if resp, ok := dnsAnswer(buf[:n], answer); ok {
				_, _ = pc.WriteTo(resp, from) // a lost answer makes the test fail anyway
			}
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close() // ends the goroutine
		<-done
	})
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// dnsAnswer builds the response to a one-question query (RFC 1035 §4).
func dnsAnswer(q []byte, a netip.Addr) ([]byte, bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, false
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // root label, QTYPE, QCLASS
	if end > len(q) {
		return nil, false
	}
	qtype := binary.BigEndian.Uint16(q[end-4 : end-2])
	resp := append([]byte(nil), q[:end]...)
	resp[2] = 0x81 // response, recursion desired
	resp[3] = 0x80 // recursion available, NOERROR
	binary.BigEndian.PutUint16(resp[8:10], 0)
	binary.BigEndian.PutUint16(resp[10:12], 0)
	if qtype != 1 || !a.Is4() {
		binary.BigEndian.PutUint16(resp[6:8], 0)
		return resp, true
	}
	binary.BigEndian.PutUint16(resp[6:8], 1)
	ip := a.As4()
	resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
	resp = append(resp, ip[:]...)
	return resp, true
}

// errorChain returns the text of err and of every error it wraps (joined
// ones included), in %v and %#v forms, so that a test can check that no
// secret hides anywhere in the chain.
func errorChain(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error() + "\n" + fmt.Sprintf("%#v", err) + "\n"
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		s += errorChain(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			s += errorChain(e)
		}
	}
	return s
}
