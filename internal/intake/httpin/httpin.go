// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// Source is one sender allowed to use the HTTP intake.
type Source struct {
	Name  string
	Token string         // the shared secret; a source without one never matches
	Allow []netip.Prefix // addresses it may send from; empty: any address
}

// Config configures the HTTP intake.
type Config struct {
	Sources []Source
	// Sink takes the events (normalisation and the journal); Append returns
	// once they are durable.
	Sink event.Sink
	// Registry holds per-source counters: Registry.Source(name, "http") for
	// /ingest/v1/events, "elasticsearch" for the Elasticsearch API. Nil:
	// a private registry.
	Registry *intake.Registry
	// MaxBodyBytes bounds a request body after gzip is undone (0: 64 MiB).
	MaxBodyBytes int64
	// MaxConcurrent bounds the requests whose bodies are read and held at
	// once, and so the memory intake uses; further requests are answered
	// 429 (0: 4).
	MaxConcurrent int
	Log           *slog.Logger
	Now           func() time.Time
}

// Defaults for Config's zero values.
const (
	DefaultMaxBodyBytes  = 64 << 20
	DefaultMaxConcurrent = 4
	// MaxBatch is the most events handed to the sink in one Append; larger
	// requests are split.
	MaxBatch = 10_000
	// retryAfter is the Retry-After answered with 429, in seconds.
	retryAfter = "1"
)

// UnknownSource names the counter that counts requests no source's token
// matched.
const UnknownSource = "http-unauthenticated"

// Counter kinds.
const (
	kindHTTP = "http"
	kindES   = "elasticsearch"
)

// The reasons given to Counter.Rejected and Counter.Dropped are i18n
// message ids (internal/i18n/messages/httpin.*.yaml), so that the sources
// page can show them in the reader's language.
const (
	reasonNoCredentials  = "httpin.rejected.no_credentials"
	reasonBadCredentials = "httpin.rejected.bad_credentials"
	reasonAddress        = "httpin.rejected.address"
	reasonTooLarge       = "httpin.rejected.too_large"
	reasonEncoding       = "httpin.rejected.encoding"
	reasonCorrupt        = "httpin.rejected.corrupt_body"
	reasonBusy           = "httpin.rejected.busy"
	reasonTooMany        = "httpin.rejected.too_many_requests"
	reasonSinkFailed     = "httpin.rejected.sink_failed"
)

type source struct {
	name  string
	hash  [sha256.Size]byte
	allow []netip.Prefix
}

// handler serves the HTTP intake.
type handler struct {
	sources []source
	sink    event.Sink
	reg     *intake.Registry
	maxBody int64
	slots   chan struct{}
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	seqNo   atomic.Int64 // for _seq_no in Elasticsearch answers
	warned  sync.Map     // reason → *atomic.Int64, Unix ns of its last warning
}

// New returns the HTTP intake handler. It panics when c.Sink is nil, a
// wiring mistake that start-up must reveal.
func New(c Config) http.Handler {
	if c.Sink == nil {
		panic("httpin: Config.Sink is nil")
	}
	h := &handler{
		sink:    c.Sink,
		reg:     c.Registry,
		maxBody: c.MaxBodyBytes,
		log:     c.Log,
		now:     c.Now,
	}
	if h.reg == nil {
		h.reg = intake.NewRegistry()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	n := c.MaxConcurrent
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	h.slots = make(chan struct{}, n)
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	for _, s := range c.Sources {
		if s.Token == "" {
			continue
		}
		h.sources = append(h.sources, source{name: s.Name, hash: sha256.Sum256([]byte(s.Token)), allow: s.Allow})
	}
	h.routes()
	return h
}

// ServeHTTP answers every request: the Elasticsearch product header,
// authentication, the address check, then the route.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // net/http's own sentinel, compared as it does
				panic(v)
			}
			h.log.Error("http intake handler panicked", "error", fmt.Sprint(v), "stack", string(debug.Stack()))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	// Elasticsearch clients refuse a server that does not say it is one.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if compatibleJSON(r) {
		w.Header().Set("Content-Type", compatibleType)
	}
	kind := kindES
	if strings.HasPrefix(r.URL.Path, "/ingest/") {
		kind = kindHTTP
	}
	src, status, reason := h.authenticate(r)
	if status != 0 {
		name := UnknownSource
		if src != nil {
			name = src.name
		}
		h.reg.Source(name, kind).Rejected(reason)
		h.warn(reason, "http intake request refused", "source", name, "remote", r.RemoteAddr, "reason", reason)
		if status == http.StatusUnauthorized {
			for _, v := range wwwAuthenticate {
				w.Header().Add("WWW-Authenticate", v)
			}
		}
		h.refuse(w, r, kind, status, reason)
		return
	}
	ctx := context.WithValue(r.Context(), sourceKey{}, src)
	h.mux.ServeHTTP(w, r.WithContext(ctx))
}

type sourceKey struct{}

func sourceOf(r *http.Request) *source {
	s, _ := r.Context().Value(sourceKey{}).(*source)
	return s
}

// warn logs a refused request at most once per 10 seconds per reason, so
// that a misconfigured shipper cannot flood the log; the counters count
// every one.
func (h *handler) warn(reason, msg string, args ...any) {
	h.logLimited(slog.LevelWarn, reason, msg, args...)
}

// logLimited logs at level at most once per 10 seconds per reason.
func (h *handler) logLimited(level slog.Level, reason, msg string, args ...any) {
	now := h.now().UnixNano()
	v, _ := h.warned.LoadOrStore(reason, new(atomic.Int64))
	last := v.(*atomic.Int64)
	prev := last.Load()
	if now-prev < int64(10*time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	h.log.Log(context.Background(), level, msg, args...)
}

// acquire takes a slot for reading a body, or reports that all are taken.
func (h *handler) acquire() bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (h *handler) releaseSlot() { <-h.slots }

// store hands evs to the sink in batches of at most MaxBatch. It returns
// how many leading events are durable and the first error.
func (h *handler) store(ctx context.Context, evs []event.Event) (int, error) {
	done := 0
	for done < len(evs) {
		end := min(done+MaxBatch, len(evs))
		if err := h.sink.Append(ctx, evs[done:end]); err != nil {
			return done, err
		}
		done = end
	}
	return done, nil
}

// sinkStatus maps a sink error to an HTTP status and a counter reason.
func sinkStatus(err error) (int, string) {
	if errors.Is(err, event.ErrFull) {
		return http.StatusTooManyRequests, reasonBusy
	}
	return http.StatusServiceUnavailable, reasonSinkFailed
}

// sinkFailed counts and logs a sink error for src.
func (h *handler) sinkFailed(c *intake.Counter, src *source, err error) (int, string) {
	status, reason := sinkStatus(err)
	c.Rejected(reason)
	if status == http.StatusTooManyRequests {
		h.warn(reason, "http intake pushing back: sink is full", "source", src.name)
	} else {
		// The journal failing needs an operator.
		h.logLimited(slog.LevelError, reason, "http intake cannot store events", "source", src.name, "error", err)
	}
	return status, reason
}

// newEvent prepares an event received now from src.
func newEvent(ev *event.Event, src *source, received int64) {
	ev.Source = src.name
	ev.Received = received
	ev.ID = event.NewID(received)
}
