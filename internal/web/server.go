// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/search"
)

// AuditReader reads the audit trail for the audit page and API.
type AuditReader interface {
	AuditEntries(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
}

// Options is what a Server needs.
type Options struct {
	Auth    *auth.Service
	Audit   AuditReader
	Catalog *i18n.Catalog
	// Health checks the state store for /healthz.
	Health func(ctx context.Context) error
	Log    *slog.Logger
	// Registry receives the web metrics and is served at /metrics.
	Registry *prometheus.Registry
	Version  string
	// StoreKind names the state store on the dashboard ("sqlite", "postgres").
	StoreKind string
	// BaseURL is koban's external URL; an https one marks cookies Secure.
	BaseURL        string
	MaxBodyBytes   int64
	TrustedProxies []netip.Prefix
	// MetricsToken lets non-loopback scrapers read /metrics.
	MetricsToken string
	Now          func() time.Time
	// Events is the event store behind the search page and the events
	// API; nil when koban runs without one (the page says so).
	Events search.Store
	// SearchTimeout bounds the store queries of one search request
	// (default 10 s); the page says when it ran out.
	SearchTimeout time.Duration
	// Sources returns the intake counters for the sources page, such as
	// intake.Registry.Snapshot; nil when nothing takes in events.
	Sources func() []intake.SourceSnapshot
	// Alerts is the alert queue behind /alerts and its API; nil when koban
	// runs without detection (the alerts section then says what will be
	// there).
	Alerts *alert.Service
	// Rules is the detection rule set behind /rules; nil when koban runs
	// without detection.
	Rules RuleManager
	// Incidents runs incident cases behind /incidents; nil when koban runs
	// without them (the section then says what will be there).
	Incidents *incident.Service
	// Evidence is the evidence locker of the incidents.
	Evidence *incident.Locker
	// Comms runs contacts, incidents' communication logs and report
	// drafts behind /contacts and the comms and reports tabs; nil when off.
	Comms *comms.Service
	// ReportDesk is the employee report desk behind /report and the
	// triage queue; nil when koban runs without it (its pages say so). It
	// says whether anonymous reports are taken.
	ReportDesk *reportdesk.Service
	// ClockPolicy sets the incidents' deadline clocks (PPC period, service
	// levels); the zero value is incident.DefaultPolicy().
	ClockPolicy incident.Policy
	// Tx runs fn in one transaction of the state store that every service
	// call made with its ctx joins, for a change that spans services (an
	// incident made from alerts, and the alerts' new state). Nil runs fn
	// as it is.
	Tx func(ctx context.Context, fn func(ctx context.Context) error) error
}

// Server is the web UI and API.
type Server struct {
	opts     Options
	auth     *auth.Service
	cat      *i18n.Catalog
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	assets   *assets
	mux      *http.ServeMux
	routes   []Route
	handler  http.Handler
	metrics  *metrics
	secure   bool // cookies are Secure whatever the request says
	prefixes []netip.Prefix
	// xffOnce warns once when a peer that is not a trusted proxy sends
	// X-Forwarded-For: behind an unlisted proxy every client shares one
	// address, for throttling and the audit trail alike.
	xffOnce sync.Once
}

// New builds the server: it parses templates, hashes assets and registers
// every route.
func New(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Tx == nil {
		o.Tx = func(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) }
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	s := &Server{opts: o, auth: o.Auth, cat: o.Catalog, log: o.Log, now: o.Now,
		secure: strings.HasPrefix(o.BaseURL, "https://"), prefixes: o.TrustedProxies}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	if s.metrics, err = newMetrics(o.Registry); err != nil {
		return nil, fmt.Errorf("web: metrics: %w", err)
	}
	if o.Auth != nil {
		o.Auth.Throttled = s.metrics.throttled.Inc
	}
	s.mux = http.NewServeMux()
	s.register()
	s.handler = s.chain(s.mux)
	return s, nil
}

// ServeHTTP serves the UI and API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists every registered route, for the route × role test.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})
}
