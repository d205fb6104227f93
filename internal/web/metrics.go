// SPDX-License-Identifier: Apache-2.0

package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/koban-csirt/koban/internal/auth"
)

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "koban_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "koban_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "koban_signin_throttled_total", Help: "Sign-in and token attempts refused because the account or address was locked.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.throttled} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// acceptScraper lets loopback clients read /metrics, and others with the
// configured metrics token or an API token holding PermMetrics. A request
// that a proxy forwarded is never taken for a loopback one, so a reverse
// proxy on the same host does not open /metrics to the world.
func (s *Server) acceptScraper(w http.ResponseWriter, r *http.Request, ri *reqInfo) bool {
	ri.api = true
	forwarded := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && !forwarded {
		if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
			return true
		}
	}
	secret, ok := bearer(r)
	if ok && s.opts.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.MetricsToken)) == 1 {
		return true
	}
	return s.acceptToken(w, r, ri, auth.PermMetrics)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metricsHandler().ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.opts.Health != nil {
		if err := s.opts.Health(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "health check failed", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}` + "\n")) // the client may be gone; nothing to do
			return
		}
	}
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n")) // the client may be gone; nothing to do
}
