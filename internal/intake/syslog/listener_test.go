// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// waitLimit bounds every wait in these tests; it is a hang guard, not a
// timing assertion.
const waitLimit = 20 * time.Second

// recordSink is a Sink that keeps deep copies of what it is given and can
// be told to refuse with ErrFull.
type recordSink struct {
	mu      sync.Mutex
	evs     []event.Event
	refuse  atomic.Bool
	refused atomic.Int64
	calls   atomic.Int64
}

func (s *recordSink) Append(_ context.Context, evs []event.Event) error {
	s.calls.Add(1)
	if s.refuse.Load() {
		s.refused.Add(1)
		return fmt.Errorf("test sink: %w", event.ErrFull)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		ev.Fields = slices.Clone(ev.Fields)
		s.evs = append(s.evs, ev)
	}
	return nil
}

func (s *recordSink) events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.evs)
}

// wait returns the events once there are at least n.
func (s *recordSink) wait(t *testing.T, n int) []event.Event {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		evs := s.events()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink holds %d events after %v, want %d", len(evs), waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testListener struct {
	*Listener
	sink  *recordSink
	stats *intake.Counter
	reg   *intake.Registry
}

func (tl testListener) snapshot() intake.SourceSnapshot { return tl.reg.Snapshot()[0] }

func listen(t *testing.T, network string, mod func(*Config)) testListener {
	t.Helper()
	reg := intake.NewRegistry()
	c := Config{Name: "test-" + network, Network: network, Addr: "127.0.0.1:0", Sink: &recordSink{}, Stats: reg.Source("test-"+network, "syslog-"+network)}
	if mod != nil {
		mod(&c)
	}
	l, err := Listen(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() }) // a second Close is a no-op
	return testListener{Listener: l, sink: c.Sink.(*recordSink), stats: c.Stats, reg: reg}
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func messages(evs []event.Event) []string {
	var out []string
	for _, ev := range evs {
		m, _ := ev.Lookup("message")
		out = append(out, m)
	}
	return out
}

func TestUDP(t *testing.T) {
	tl := listen(t, "udp", nil)
	c, err := net.Dial("udp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lines := []string{
		"<38>Nov 22 10:00:00 web01 sshd[123]: Failed password for root from 203.0.113.5 port 52144 ssh2\n",
		`<14>1 2026-11-22T10:00:00Z - app - - [x@1 k="v"] structured`,
		"\x00\xff binary",
	}
	for _, l := range lines {
		write(t, c, l)
	}
	evs := tl.sink.wait(t, 3)
	want := []struct{ host, msg string }{{"web01", "Failed password for root from 203.0.113.5 port 52144 ssh2"}, {"127.0.0.1", "structured"}, {"127.0.0.1", "\x00\uFFFD binary"}}
	for i, ev := range evs {
		if m, _ := ev.Lookup("message"); ev.Host != want[i].host || m != want[i].msg {
			t.Errorf("event %d: host %q message %q, want %q %q", i, ev.Host, m, want[i].host, want[i].msg)
		}
		if ip, _ := ev.Lookup("sender_ip"); ip != "127.0.0.1" || ev.Source != "test-udp" || ev.ID.IsZero() || ev.Received == 0 {
			t.Errorf("event %d: sender_ip %q source %q id %v received %d", i, ip, ev.Source, ev.ID, ev.Received)
		}
		if !bytes.Equal(ev.Raw, []byte(lines[i])) {
			t.Errorf("event %d: raw %q, want %q", i, ev.Raw, lines[i])
		}
	}
	if !evs[2].Flags.Has(event.FlagParseError | event.FlagInvalidText) {
		t.Errorf("garbage flags %v", evs[2].Flags.Names())
	}
	if s := tl.snapshot(); s.Events != 3 || s.ParseErrors != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestTCPFraming(t *testing.T) {
	m1 := "<13>Nov 22 10:00:00 h p: one"
	m2 := `<14>1 2026-11-22T10:00:00Z h app - - - two with a
newline inside`
	for _, tc := range []struct {
		name, stream string
		want         []string
	}{
		{"newline", m1 + "\n" + "<13>Nov 22 10:00:00 h p: two\n", []string{"one", "two"}},
		{"crlf and nul", m1 + "\r\n" + "<13>Nov 22 10:00:00 h p: two\x00" + "<13>Nov 22 10:00:00 h p: three\r\n\n", []string{"one", "two", "three"}},
		{"octet counted", fmt.Sprintf("%d %s%d %s", len(m1), m1, len(m2), m2), []string{"one", "two with a\nnewline inside"}},
		{"mixed", fmt.Sprintf("%d %s", len(m2), m2) + m1 + "\n" + fmt.Sprintf("%d %s", len(m1), m1) + "12 hello world\n", []string{"two with a\nnewline inside", "one", "one", "12 hello world"}},
		{"no terminator at the end", m1, []string{"one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := listen(t, "tcp", nil)
			c := dial(t, tl.Listener)
			// Byte by byte as well as at once: framing must not depend on
			// how the stream is cut into reads.
			for _, step := range []int{len(tc.stream), 1} {
				for i := 0; i < len(tc.stream); i += step {
					write(t, c, tc.stream[i:min(i+step, len(tc.stream))])
				}
				if tc.name == "no terminator at the end" {
					break
				}
			}
			c.Close()
			n := 2 * len(tc.want)
			if tc.name == "no terminator at the end" {
				n = 1
			}
			got := messages(tl.sink.wait(t, n))
			want := tc.want
			if n > len(tc.want) {
				want = append(slices.Clone(tc.want), tc.want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("messages %q, want %q", got, want)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	const max = 100
	tl := listen(t, "tcp", func(c *Config) { c.MaxMessageBytes = max })
	c := dial(t, tl.Listener)
	long := "<13>Nov 22 10:00:00 h p: " + strings.Repeat("a", 300)
	write(t, c, long+"\n")
	write(t, c, fmt.Sprintf("%d %s", len(long), long))
	write(t, c, "<13>Nov 22 10:00:00 h p: after\n")
	evs := tl.sink.wait(t, 3)
	for i, ev := range evs[:2] {
		if !ev.Flags.Has(event.FlagTruncated) || !bytes.Equal(ev.Raw, []byte(long[:max])) || ev.Reason != reasonTooLong {
			t.Errorf("event %d: flags %v reason %q raw %d bytes", i, ev.Flags.Names(), ev.Reason, len(ev.Raw))
		}
	}
	if m, _ := evs[2].Lookup("message"); m != "after" || evs[2].Flags != 0 {
		t.Errorf("message after the cut ones: %q, flags %v", m, evs[2].Flags.Names())
	}
}

// TestTenMegabyteLine sends a 10 MB line: it is cut to the limit, the rest
// skipped, and the next line arrives whole.
func TestTenMegabyteLine(t *testing.T) {
	tl := listen(t, "tcp", nil)
	c := dial(t, tl.Listener)
	head := "<13>Nov 22 10:00:00 h p: "
	go func() {
		// Written from a goroutine: the listener reads while we write.
		w := io.MultiWriter(c)
		_, _ = io.WriteString(w, head)
		chunk := strings.Repeat("x", 1<<20)
		for range 10 {
			_, _ = io.WriteString(w, chunk)
		}
		_, _ = io.WriteString(w, "\n<13>Nov 22 10:00:00 h p: next\n")
	}()
	evs := tl.sink.wait(t, 2)
	if len(evs[0].Raw) != DefaultMaxMessageBytes || !evs[0].Flags.Has(event.FlagTruncated) || !bytes.HasPrefix(evs[0].Raw, []byte(head+"xxx")) {
		t.Errorf("long line: %d raw bytes, flags %v", len(evs[0].Raw), evs[0].Flags.Names())
	}
	if m, _ := evs[1].Lookup("message"); m != "next" || len(evs) != 2 {
		t.Errorf("after the long line: %q, %d events", m, len(evs))
	}
}

func TestClosedMidFrame(t *testing.T) {
	tl := listen(t, "tcp", nil)
	c := dial(t, tl.Listener)
	write(t, c, "100 <13>Nov 22 10:00:00 h p: cut short")
	c.Close()
	evs := tl.sink.wait(t, 1)
	if m, _ := evs[0].Lookup("message"); m != "cut short" || !evs[0].Flags.Has(event.FlagTruncated) || evs[0].Reason != reasonClosedInFrame {
		t.Errorf("message %q flags %v reason %q", m, evs[0].Flags.Names(), evs[0].Reason)
	}
}

func TestAllowList(t *testing.T) {
	only := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	tcp := listen(t, "tcp", func(c *Config) { c.Allow = only })
	c := dial(t, tcp.Listener)
	_, _ = io.WriteString(c, "<13>Nov 22 10:00:00 h p: refused\n") // may fail: the listener closes the connection
	if err := c.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("refused connection was not closed")
	}
	waitFor(t, "a TCP rejection", func() bool { return tcp.snapshot().Rejected == 1 })

	udp := listen(t, "udp", func(c *Config) { c.Allow = only })
	u, err := net.Dial("udp", udp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	write(t, u, "<13>Nov 22 10:00:00 h p: refused")
	waitFor(t, "a UDP rejection", func() bool { return udp.snapshot().Rejected == 1 })
	if s := udp.snapshot(); s.LastProblem != "syslog.problem.address" {
		t.Errorf("last problem %q", s.LastProblem)
	}
	if n := len(tcp.sink.events()) + len(udp.sink.events()); n != 0 {
		t.Errorf("%d events from a refused sender", n)
	}

	// An allow-list naming loopback lets it in.
	ok := listen(t, "tcp", func(c *Config) { c.Allow = append(only, netip.MustParsePrefix("127.0.0.1/32")) })
	write(t, dial(t, ok.Listener), "<13>Nov 22 10:00:00 h p: welcome\n")
	ok.sink.wait(t, 1)
}

func TestMaxConnections(t *testing.T) {
	tl := listen(t, "tcp", func(c *Config) { c.MaxConnections = 1 })
	first := dial(t, tl.Listener)
	write(t, first, "<13>Nov 22 10:00:00 h p: first\n")
	tl.sink.wait(t, 1)
	second := dial(t, tl.Listener)
	if err := second.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Read(make([]byte, 1)); err == nil {
		t.Error("connection over the limit was not closed")
	}
	if s := tl.snapshot(); s.Rejected != 1 || s.LastProblem != "syslog.problem.connections" {
		t.Errorf("rejected %d (%q)", s.Rejected, s.LastProblem)
	}
	write(t, first, "<13>Nov 22 10:00:00 h p: still served\n")
	tl.sink.wait(t, 2)
}

func TestIdleTimeout(t *testing.T) {
	tl := listen(t, "tcp", func(c *Config) { c.IdleTimeout = 50 * time.Millisecond })
	c := dial(t, tl.Listener)
	if err := c.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read error %v, want EOF", err)
	}
}

// TestBackpressureTCP: while the sink is full nothing is lost; the
// listener retries and everything arrives in order once it has room.
func TestBackpressureTCP(t *testing.T) {
	tl := listen(t, "tcp", nil)
	tl.sink.refuse.Store(true)
	c := dial(t, tl.Listener)
	const n = 5000
	go func() {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "<13>Nov 22 10:00:00 h p: %d\n", i)
		}
		_, _ = io.WriteString(c, b.String())
	}()
	waitFor(t, "the sink to refuse a few times", func() bool { return tl.sink.refused.Load() >= 3 })
	if len(tl.sink.events()) != 0 {
		t.Fatal("events accepted while the sink refused")
	}
	tl.sink.refuse.Store(false)
	evs := tl.sink.wait(t, n)
	for i, m := range messages(evs) {
		if m != fmt.Sprint(i) {
			t.Fatalf("event %d has message %q", i, m)
		}
	}
	if s := tl.snapshot(); s.Dropped != 0 || s.Events != n {
		t.Errorf("stats %+v", s)
	}
}

// TestBackpressureUDP: UDP cannot wait, so datagrams are dropped and
// counted while the sink is full, and flow again after.
func TestBackpressureUDP(t *testing.T) {
	tl := listen(t, "udp", nil)
	tl.sink.refuse.Store(true)
	u, err := net.Dial("udp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for range 20 {
		write(t, u, "<13>Nov 22 10:00:00 h p: dropped")
	}
	waitFor(t, "20 drops", func() bool { return tl.snapshot().Dropped == 20 })
	if s := tl.snapshot(); s.LastProblem != "syslog.problem.journal_full" {
		t.Errorf("last problem %q", s.LastProblem)
	}
	tl.sink.refuse.Store(false)
	write(t, u, "<13>Nov 22 10:00:00 h p: kept")
	if m := messages(tl.sink.wait(t, 1)); m[0] != "kept" {
		t.Errorf("after the drops: %q", m)
	}
}

// TestCloseFlushes: Close appends the pending batch once the sink takes it.
func TestCloseFlushes(t *testing.T) {
	tl := listen(t, "tcp", nil)
	tl.sink.refuse.Store(true)
	c := dial(t, tl.Listener)
	for i := range 10 {
		write(t, c, fmt.Sprintf("<13>Nov 22 10:00:00 h p: %d\n", i))
	}
	waitFor(t, "a refused append", func() bool { return tl.sink.refused.Load() >= 1 })
	go func() {
		time.Sleep(50 * time.Millisecond)
		tl.sink.refuse.Store(false)
	}()
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(tl.sink.events()); n != 10 {
		t.Errorf("%d events after Close, want 10", n)
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "koban test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

func TestTLS(t *testing.T) {
	cfg, pool := selfSigned(t)
	tl := listen(t, "tls", func(c *Config) { c.TLS = cfg })
	c, err := tls.Dial("tcp", tl.Addr().String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	m := `<14>1 2026-11-22T10:00:00Z web01 app - - - over TLS`
	write(t, c, fmt.Sprintf("%d %s<13>Nov 22 10:00:00 web01 p: second\n", len(m), m))
	c.Close()
	if got := messages(tl.sink.wait(t, 2)); !slices.Equal(got, []string{"over TLS", "second"}) {
		t.Errorf("messages %q", got)
	}

	// A client speaking plain TCP to the TLS port is refused and counted.
	p := dial(t, tl.Listener)
	write(t, p, "<13>Nov 22 10:00:00 h p: plain\n")
	waitFor(t, "a failed handshake", func() bool { return tl.snapshot().Rejected == 1 })
}

func TestListenErrors(t *testing.T) {
	for _, c := range []Config{
		{Name: "x", Network: "tcp", Addr: "127.0.0.1:0"},
		{Name: "x", Network: "sctp", Addr: "127.0.0.1:0", Sink: &recordSink{}},
		{Name: "x", Network: "tls", Addr: "127.0.0.1:0", Sink: &recordSink{}},
		{Name: "x", Network: "tcp", Addr: "127.0.0.1:99999", Sink: &recordSink{}},
	} {
		if l, err := Listen(context.Background(), c); err == nil {
			l.Close()
			t.Errorf("Listen(%+v) succeeded", c)
		} else if !strings.HasPrefix(err.Error(), "syslog: listen x") {
			t.Errorf("error %q does not say what failed", err)
		}
	}
}

// TestContextStops: cancelling Listen's context stops the listener as
// Close does.
func TestContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Listen(ctx, Config{Name: "ctx", Network: "tcp", Addr: "127.0.0.1:0", Sink: &recordSink{}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, "the port to close", func() bool {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	l.Close()
}
