// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Guard decides which addresses outbound connections may reach. The zero
// Guard refuses every address that is not public unicast: a webhook URL or
// feed address that names an internal host (or a public name that resolves
// to one) cannot be used to reach the machine itself, the office network or
// a cloud metadata service.
//
// The check runs on the address actually dialled, after DNS resolution
// (net.Dialer.Control), so a name that resolves differently the second
// time (DNS rebinding) is checked again.
type Guard struct {
	// AllowInternal permits loopback, private (RFC 1918, IPv6 ULA) and
	// CGNAT (100.64.0.0/10) addresses. Link-local addresses (where cloud
	// metadata services live, 169.254.169.254), unspecified, multicast and
	// reserved ones stay refused unless Allow lists them.
	AllowInternal bool
	// Allow lists prefixes permitted whatever their kind (for example the
	// one mail relay at 10.0.0.25/32). IPv4 prefixes also match
	// IPv4-mapped IPv6 addresses.
	Allow []netip.Prefix
	// Setting is the configuration section named in refusal messages, so
	// that a user learns which keys to change: "notify" (the default) gives
	// notify.allow_internal and notify.allow.
	Setting string
}

// class is why an address is refused.
type class int

const (
	public class = iota
	loopback
	private
	shared // CGNAT
	linkLocal
	unspecified
	multicast
	reserved
)

// internal reports whether AllowInternal permits the class.
func (c class) internal() bool { return c == loopback || c == private || c == shared }

type rangeInfo struct {
	prefix netip.Prefix
	class  class
	what   string
}

// ranges lists every refused prefix with the words a refusal uses. IPv4-mapped
// IPv6 addresses are unmapped before the lookup, and NAT64 and 6to4
// addresses are also judged by the IPv4 address they carry.
var ranges = func() []rangeInfo {
	list := []struct {
		p     string
		class class
		what  string
	}{
		{"0.0.0.0/8", unspecified, `an unspecified ("this network") address`},
		{"10.0.0.0/8", private, "a private address (RFC 1918)"},
		{"100.64.0.0/10", shared, "a carrier-grade NAT address (RFC 6598)"},
		{"127.0.0.0/8", loopback, "a loopback address"},
		{"169.254.0.0/16", linkLocal, "a link-local address (cloud metadata services such as 169.254.169.254 live here)"},
		{"172.16.0.0/12", private, "a private address (RFC 1918)"},
		{"192.0.0.0/24", reserved, "a reserved address (IETF protocol assignments)"},
		{"192.168.0.0/16", private, "a private address (RFC 1918)"},
		{"198.18.0.0/15", reserved, "a reserved address (benchmarking, RFC 2544)"},
		{"224.0.0.0/4", multicast, "a multicast address"},
		{"240.0.0.0/4", reserved, "a reserved or broadcast address"},
		{"::/128", unspecified, "the unspecified address"},
		{"::1/128", loopback, "a loopback address"},
		{"::/96", reserved, "a deprecated IPv4-compatible address"},
		{"64:ff9b:1::/48", private, "a local-use NAT64 address (RFC 8215)"},
		{"100::/64", reserved, "a discard-only address (RFC 6666)"},
		{"fc00::/7", private, "a unique local address (IPv6 ULA)"},
		{"fe80::/10", linkLocal, "a link-local address"},
		{"fec0::/10", private, "a site-local address"},
		{"ff00::/8", multicast, "a multicast address"},
	}
	out := make([]rangeInfo, len(list))
	for i, r := range list {
		out[i] = rangeInfo{prefix: netip.MustParsePrefix(r.p), class: r.class, what: r.what}
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify returns the class of a and the words describing it.
func classify(a netip.Addr) (class, string) {
	a = a.WithZone("").Unmap()
	for _, r := range ranges {
		if r.prefix.Contains(a) {
			return r.class, r.what
		}
	}
	if v4, via, ok := embedded(a); ok {
		if c, what := classify(v4); c != public {
			return c, what + " reached through " + via
		}
	}
	return public, ""
}

// embedded returns the IPv4 address a NAT64 or 6to4 address carries.
func embedded(a netip.Addr) (netip.Addr, string, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), "NAT64 (64:ff9b::/96)", true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4 (2002::/16)", true
	}
	return netip.Addr{}, "", false
}

// RefusedError is returned when the guard refuses an address. Its message
// names the address, why it is refused and the settings that would allow
// it; it never holds a URL.
type RefusedError struct {
	Addr    netip.Addr
	What    string // "a private address (RFC 1918)"
	Setting string // configuration section, "notify"
	// Internal is true when Setting.allow_internal would permit Addr.
	Internal bool
}

// Error names the address, its kind and the settings that would allow it.
func (e *RefusedError) Error() string {
	s := e.Setting
	if s == "" {
		s = "notify"
	}
	host := e.Addr.WithZone("").Unmap()
	bits := 32
	if host.Is6() {
		bits = 128
	}
	example := netip.PrefixFrom(host, bits).String()
	if e.Internal {
		return fmt.Sprintf("refused to connect to %s, %s: set %s.allow_internal to true, or list it in %s.allow (for example %q)",
			e.Addr, e.What, s, s, example)
	}
	return fmt.Sprintf("refused to connect to %s, %s: list it in %s.allow (for example %q) to permit it",
		e.Addr, e.What, s, example)
}

// Check returns a *RefusedError when g refuses a, nil when a may be dialled.
func (g Guard) Check(a netip.Addr) error {
	c, what := classify(a)
	if c == public {
		return nil
	}
	plainAddr := a.WithZone("").Unmap()
	for _, p := range g.Allow {
		if p.Contains(plainAddr) {
			return nil
		}
		if v4, _, ok := embedded(plainAddr); ok && p.Contains(v4) {
			return nil
		}
	}
	if g.AllowInternal && c.internal() {
		return nil
	}
	return &RefusedError{Addr: a, What: what, Setting: g.Setting, Internal: c.internal()}
}

// control is a net.Dialer Control function: it runs after the name is
// resolved and before the connection is made, for every address tried.
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("refused to connect over %s: only TCP is allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a net.Dialer whose every connection is checked by g.
// timeout bounds the connection set-up (0: no bound beyond the context's).
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	return g.dialer(timeout, nil)
}

func (g Guard) dialer(timeout time.Duration, r *net.Resolver) *net.Dialer {
	return &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control:   g.control,
		Resolver:  r,
	}
}

// DefaultHTTPTimeout bounds a whole request of a client from NewHTTPClient.
const DefaultHTTPTimeout = 30 * time.Second

// NewHTTPClient returns an HTTP client for outbound requests to addresses
// that users configure (webhooks, intel feeds): every connection is checked
// by g at dial time, redirects are returned to the caller rather than
// followed (a 3xx answer is just an answer), no proxy is used (so the guard
// checks the real destination), TLS is 1.2 or newer with the system's
// roots, and a request takes at most DefaultHTTPTimeout.
//
// Errors from its Do are *url.Error values whose text holds the whole URL:
// a caller whose URLs carry tokens reports errors.Unwrap of them with
// RedactURL(url) instead, as Webhook does.
func NewHTTPClient(g Guard) *http.Client {
	return newHTTPClient(g, nil, nil)
}

func newHTTPClient(g Guard, roots *x509.CertPool, r *net.Resolver) *http.Client {
	d := g.dialer(10*time.Second, r)
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: t,
		Timeout:   DefaultHTTPTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
