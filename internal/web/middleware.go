// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// reqInfo travels with each request: the outer middleware creates it, the
// guard fills in who is asking, and the log line reads it at the end.
type reqInfo struct {
	id        string
	ip        string
	principal *auth.Principal // nil until a session or token is accepted
	secret    string          // the session secret, for sign-out
	api       bool            // errors are JSON
	// rawBody is the request body before the default bound, for routes
	// that allow larger uploads.
	rawBody io.ReadCloser
}

type infoKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// principal returns who is signed in, or nil.
func principal(r *http.Request) *auth.Principal { return info(r).principal }

// statusWriter records the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// chain wraps the mux in the middleware every request passes:
// recover → request id, log and metrics → security headers → body limit →
// cross-origin protection. The session and permission checks are per route
// (guard).
func (s *Server) chain(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fault.New(fault.Forbidden, "error.cross_origin"))
	}))
	h := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		ri := &reqInfo{id: newRequestID(), ip: s.clientIP(r), api: strings.HasPrefix(r.URL.Path, "/api/")}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "error", v, "request_id", ri.id, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.fail(sw, r, errPanic)
				}
			}
			s.observe(r, ri, sw.status, s.now().Sub(start))
		}()
		sw.Header().Set("X-Request-Id", ri.id)
		s.securityHeaders(sw.Header(), r)
		// Every body is bounded; an upload route (Route.MaxBody) bounds
		// the raw body again with its own limit in guard.
		ri.rawBody = r.Body
		r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes)
		h.ServeHTTP(sw, r)
	})
}

type panicError struct{}

func (panicError) Error() string { return "web: handler panicked" }

var errPanic = panicError{}

func (s *Server) observe(r *http.Request, ri *reqInfo, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
	var uid int64
	if ri.principal != nil {
		uid = ri.principal.User.ID
	}
	level := s.log.Info
	if strings.HasPrefix(r.URL.Path, "/static/") || r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
		level = s.log.Debug
	}
	// The path only: query strings are not logged. Private routes log
	// their pattern and no address: a status link's token is a secret, and
	// an anonymous reporter's address is not koban's to keep.
	path, ip := r.URL.Path, ri.ip
	if privateRoutes[r.Pattern] {
		path, ip = r.Pattern, ""
	}
	level("request", "method", r.Method, "path", path, "status", status,
		"duration_ms", d.Milliseconds(), "request_id", ri.id, "user_id", uid, "ip", ip)
}

// privateRoutes are logged by pattern, without the client's address.
var privateRoutes = map[string]bool{
	"GET /report/anonymous":      true,
	"POST /report/anonymous":     true,
	"GET /report/status/{token}": true,
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// csp allows no inline script or style, nothing from elsewhere, and data:
// images only (the TOTP QR code).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) securityHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.isSecure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

func (s *Server) isSecure(r *http.Request) bool { return s.secure || r.TLS != nil }

// clientIP is the connection's address, or, when the connection comes from
// a trusted proxy, the nearest untrusted address in X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		if r.Header.Get("X-Forwarded-For") != "" && s.log != nil {
			s.xffOnce.Do(func() {
				s.log.Warn("X-Forwarded-For from a peer that is not a trusted proxy: if koban is behind a proxy, list it in http.trusted_proxies", "peer", host)
			})
		}
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// uploadDeadline is when an upload of at most max bytes must have been
// read: ten minutes, plus a second per megabyte above 600 MB. The deadline
// is on the wall clock, as the connection's is.
func (s *Server) uploadDeadline(max int64) time.Time {
	d := 10 * time.Minute
	if extra := time.Duration(max>>20-600) * time.Second; extra > 0 {
		d += extra
	}
	return time.Now().Add(d)
}

// guard checks who may use route rt before h runs.
func (s *Server) guard(rt Route, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r)
		if rt.MaxBody > 0 && ri.rawBody != nil {
			r.Body = http.MaxBytesReader(w, ri.rawBody, rt.MaxBody)
			// A large upload over a slow line takes longer than the
			// server's read timeout allows a form: give it time in
			// proportion to its limit (at least 1 MB/s).
			_ = http.NewResponseController(w).SetReadDeadline(s.uploadDeadline(rt.MaxBody))
		}
		switch rt.Access {
		case Token:
			ri.api = true
			if !s.acceptToken(w, r, ri, rt.Perm) {
				return
			}
		case Scrape:
			if !s.acceptScraper(w, r, ri) {
				return
			}
		default:
			if !s.acceptSession(w, r, ri, rt) {
				return
			}
		}
		h(w, r)
	})
}

// acceptSession loads the browser's session, if any, and applies rt's rule.
func (s *Server) acceptSession(w http.ResponseWriter, r *http.Request, ri *reqInfo, rt Route) bool {
	if c, err := r.Cookie(s.sessionCookie(r)); err == nil && c.Value != "" {
		p, err := s.auth.Authenticate(r.Context(), c.Value)
		switch {
		case err == nil:
			ri.principal, ri.secret = &p, c.Value
		case fault.Is(err, fault.Unauthenticated):
			s.clearSessionCookie(w, r)
			if rt.Access == Session {
				s.redirectToSignIn(w, r, "session.expired")
				return false
			}
		default:
			s.fail(w, r, err)
			return false
		}
	}
	p := ri.principal
	switch rt.Access {
	case Public:
		return true
	case AnySession:
		if p == nil {
			s.redirectToSignIn(w, r, "")
			return false
		}
		return true
	case Pending:
		if p == nil {
			s.redirectToSignIn(w, r, "")
			return false
		}
		if !p.MFAPending {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return false
		}
		return true
	}
	// Session.
	switch {
	case p == nil:
		s.redirectToSignIn(w, r, "")
		return false
	case p.MFAPending:
		http.Redirect(w, r, "/signin/totp", http.StatusSeeOther)
		return false
	case !p.Can(rt.Perm):
		s.fail(w, r, fault.New(fault.Forbidden, "error.forbidden"))
		return false
	case p.User.MustChangePassword && rt.Pattern != "GET /settings/password" && rt.Pattern != "POST /settings/password":
		http.Redirect(w, r, "/settings/password", http.StatusSeeOther)
		return false
	}
	return true
}

// acceptToken authenticates the API token in the Authorization header.
// Cookies are ignored: a browser session never reaches the API.
func (s *Server) acceptToken(w http.ResponseWriter, r *http.Request, ri *reqInfo, perm auth.Permission) bool {
	secret, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="koban"`)
		s.fail(w, r, fault.New(fault.Unauthenticated, "tokens.missing"))
		return false
	}
	p, err := s.auth.AuthenticateToken(r.Context(), secret, ri.ip)
	if err != nil {
		if fault.Is(err, fault.Unauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="koban", error="invalid_token"`)
		}
		s.fail(w, r, err)
		return false
	}
	ri.principal = &p
	if !p.Can(perm) {
		s.fail(w, r, fault.New(fault.Forbidden, "error.forbidden"))
		return false
	}
	return true
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}
