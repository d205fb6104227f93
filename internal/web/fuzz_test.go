// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
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
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest("GET", "/", nil), got, http.StatusSeeOther)
		loc := w.Header().Get("Location")
		u, err := url.Parse(loc)
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\r\n\t") || err != nil || u.Host != "" {
			t.Fatalf("localPath(%q) = %q redirects to %q, off the site", p, got, loc)
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

func TestLocalPath(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"/alerts":              "/alerts",
		"/admin/audit?a=b&c=d": "/admin/audit?a=b&c=d",
		"":                     "/",
		"alerts":               "/",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"/./\\evil.example":    "/",
		"/\t/evil.example":     "/",
		"/%09/evil.example":    "/%09/evil.example", // stays a path: %09 is not decoded by browsers into a separator
		"/.//evil.example":     "/.//evil.example",  // http.Redirect cleans it to /evil.example, a page here
		"https://evil.example": "/",
		"/a\r\nSet-Cookie: x":  "/",
		"/x/../..//evil":       "/x/../..//evil", // cleaned to /evil
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
	// What http.Redirect finally sends must stay on the site.
	for in := range tests {
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest("GET", "/", nil), localPath(in), http.StatusSeeOther)
		loc := w.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Host != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n") {
			t.Errorf("next=%q redirects to %q, off the site", in, loc)
		}
	}
}
