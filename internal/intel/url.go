// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
)

// urlParts says where the parts of a URL are, for the checks beyond the
// URL itself.
type urlParts struct {
	host  string // the host as the input wrote it, without brackets or port
	query int    // offset of '?' in the canonical form, or -1
}

// normURL returns the canonical form of URL s (see Normalize).
func normURL(s string) (string, error) {
	orig := s
	if !strings.Contains(s, "://") {
		if strings.HasPrefix(s, "//") {
			s = "http:" + s
		} else {
			s = "http://" + s
		}
	}
	b, p, ok := appendCanonURL(nil, s)
	if !ok {
		i := strings.Index(s, "://")
		if i > 0 && !validScheme(s[:i]) {
			return "", fault.New(fault.Invalid, "intel.bad_url_scheme", "value", clip(orig), "scheme", clip(s[:i]))
		}
		return "", fault.New(fault.Invalid, "intel.bad_url", "value", clip(orig))
	}
	if _, err := netip.ParseAddr(p.host); err != nil {
		if _, err := normDomain(p.host); err != nil {
			return "", fault.New(fault.Invalid, "intel.bad_url_host", "value", clip(orig), "host", clip(p.host))
		}
	}
	return string(b), nil
}

// validScheme reports whether s is a URL scheme (RFC 3986 §3.1).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// appendCanonURL appends the canonical form of URL s to dst (see
// Normalize). It reports false when s is not a URL with a scheme and a host.
// It allocates only for a host with non-ASCII letters or an IPv6 zone.
func appendCanonURL(dst []byte, s string) ([]byte, urlParts, bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !validScheme(s[:i]) {
		return dst, urlParts{}, false
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return appendURLParts(dst, s[:i], rest[:end], rest[end:])
}

// appendURLParts appends the canonical form of the URL made of scheme,
// authority (userinfo@host:port) and tail (path, query and fragment).
func appendURLParts(dst []byte, scheme, auth, tail string) ([]byte, urlParts, bool) {
	start := len(dst)
	for i := 0; i < len(scheme); i++ {
		dst = append(dst, lowerByte(scheme[i]))
	}
	lscheme := dst[start:]
	dst = append(dst, "://"...)
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		dst = append(dst, auth[:at+1]...)
		auth = auth[at+1:]
	}
	host, port, ok := splitAuthority(auth)
	if !ok {
		return dst[:start], urlParts{}, false
	}
	if a, err := parseAddr(host); err == nil {
		if a.Is6() && !a.Is4In6() {
			dst = append(dst, '[')
			dst = a.AppendTo(dst)
			dst = append(dst, ']')
		} else {
			dst = a.Unmap().AppendTo(dst)
		}
	} else if dst, ok = appendHostLower(dst, host); !ok {
		return dst[:start], urlParts{}, false
	}
	port = strings.TrimLeft(port, "0")
	if port != "" && port != defaultPort(lscheme) {
		dst = append(dst, ':')
		dst = append(dst, port...)
	}
	if f := strings.IndexByte(tail, '#'); f >= 0 {
		tail = tail[:f]
	}
	path, query, hasQuery := strings.Cut(tail, "?")
	if path == "" {
		dst = append(dst, '/')
	} else {
		dst = appendPct(dst, path)
	}
	p := urlParts{host: host, query: -1}
	if hasQuery && query != "" {
		p.query = len(dst) - start
		dst = append(dst, '?')
		dst = appendPct(dst, query)
	}
	return dst, p, true
}

// parseAddr is netip.ParseAddr for hosts that may be addresses (an error
// for the others costs no allocation).
func parseAddr(h string) (netip.Addr, error) {
	if !maybeAddr(h) {
		return netip.Addr{}, errNotAddr
	}
	return netip.ParseAddr(h)
}

var errNotAddr = errors.New("intel: not an address")

// splitAuthority splits host:port, [v6]:port or a bare host; the port, if
// any, is digits.
func splitAuthority(auth string) (host, port string, ok bool) {
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := auth[1:end], auth[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", false
			}
			port = rest[1:]
		}
		if !strings.Contains(host, ":") {
			return "", "", false
		}
		return host, port, isDigitsOrEmpty(port)
	}
	host = auth
	if c := strings.LastIndexByte(auth, ':'); c >= 0 {
		host, port = auth[:c], auth[c+1:]
	}
	if host == "" || strings.IndexByte(host, ':') >= 0 {
		return "", "", false
	}
	return host, port, isDigitsOrEmpty(port) && len(port) <= 5
}

func isDigitsOrEmpty(s string) bool { return s == "" || isDigits(s) }

// defaultPort returns the port a scheme (lower case) implies.
func defaultPort(scheme []byte) string {
	switch string(scheme) {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	case "ftp":
		return "21"
	}
	return ""
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - ('a' - 'A')
	}
	return c
}

// appendPct appends s with its percent escapes' hex digits in upper case
// (RFC 3986 §6.2.2.1).
func appendPct(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && hexVal(s[i+1]) >= 0 && hexVal(s[i+2]) >= 0 {
			dst = append(dst, '%', upperHex(s[i+1]), upperHex(s[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
