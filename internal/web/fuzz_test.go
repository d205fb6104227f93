// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzLocalPath: whatever next= says, the redirect stays on this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/alerts", "//evil.example", "/\\evil", "https://x", "/a\r\nSet-Cookie: x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("localPath(%q) = %q leaves the site", p, got)
		}
	})
}

// FuzzClientIP: X-Forwarded-For is attacker-controlled; only a trusted proxy's
// word counts, and parsing never panics.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "198.51.100.1, 10.0.0.2", "garbage, ,,", "::1, [::1]"} {
		f.Add(s, "10.0.0.1:443")
		f.Add(s, "203.0.113.9:443")
	}
	s := &Server{prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff, remote string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := s.clientIP(r)
		if a, err := netip.ParseAddrPort(remote); err == nil && !s.trusted(a.Addr()) && got != a.Addr().String() {
			t.Fatalf("untrusted peer %q chose its address %q via %q", remote, got, xff)
		}
	})
}

// FuzzDecodeJSON: API bodies are untrusted; errors are faults, never panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":`, `[]`, `{"name":1}`, `{"x":1}`, `{} {}`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/users", strings.NewReader(body))
		var v struct {
			Name string `json:"name"`
		}
		if err := decodeJSON(r, &v); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
