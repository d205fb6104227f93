// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore"
	"github.com/koban-csirt/koban/internal/eventstore/duckdb"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/intake/httpin"
	"github.com/koban-csirt/koban/internal/intake/syslog"
	"github.com/koban-csirt/koban/internal/journal"
	"github.com/koban-csirt/koban/internal/normalize"
)

// storeReader is the journal reader that feeds the event store.
const storeReader = "eventstore"

// retainEvery is how often the event store's retention runs.
const retainEvery = time.Hour

// pipeline is intake → normalise → journal → event store, as serve runs it.
type pipeline struct {
	c        config.Config
	log      *slog.Logger
	journal  *journal.Journal
	events   *lazyEvents
	registry *intake.Registry
	sink     event.Sink
}

func journalDir(c config.Config) string { return filepath.Join(c.DataDir, "journal") }
func eventsDir(c config.Config) string  { return filepath.Join(c.DataDir, "events") }

func openJournal(c config.Config, log *slog.Logger) (*journal.Journal, error) {
	j, err := journal.Open(journalDir(c), journal.Options{
		SegmentBytes: c.Journal.SegmentBytes, MaxBytes: c.Journal.MaxBytes,
		QueueEvents: c.Journal.QueueEvents, Log: log.With("component", "journal"),
	})
	if err != nil {
		return nil, fmt.Errorf("journal in %s: %w", journalDir(c), err)
	}
	return j, nil
}

func openEvents(c config.Config, log *slog.Logger) (*duckdb.Store, error) {
	es, err := duckdb.Open(eventsDir(c), duckdb.Options{
		Columns: normalize.CommonFields(), Canonical: normalize.Canonical,
		MaxAge: c.Events.MaxAge.D(), MaxBytes: c.Events.MaxBytes, MemoryBytes: c.Events.MemoryBytes,
		Log: log.With("component", "eventstore"),
	})
	if err != nil {
		return nil, fmt.Errorf("event store in %s: %w", eventsDir(c), err)
	}
	return es, nil
}

func openPipeline(c config.Config, log *slog.Logger) (*pipeline, error) {
	j, err := openJournal(c, log)
	if err != nil {
		return nil, err
	}
	es := &lazyEvents{open: func() (eventstore.Store, error) { return openEvents(c, log) }}
	// A store that holds events opens now, so that a broken one stops koban
	// at start; a new one waits for its first events or search.
	if entries, _ := os.ReadDir(eventsDir(c)); len(entries) > 0 {
		if _, err := es.store(); err != nil {
			j.Close()
			return nil, err
		}
	}
	return &pipeline{
		c: c, log: log, journal: j, events: es, registry: intake.NewRegistry(),
		sink: normalize.New().Sink(j),
	}, nil
}

// close closes the stores; run has returned.
func (p *pipeline) close() error {
	return errors.Join(p.events.Close(), p.journal.Close())
}

// run starts the listeners and the event store's consumer. When ctx ends it
// closes the listeners (everything they acknowledged is in the journal),
// lets the consumer move what remains into the event store for at most
// grace, and returns.
func (p *pipeline) run(ctx context.Context, grace time.Duration) error {
	consumerCtx, stopConsumer := context.WithCancel(context.Background())
	defer stopConsumer()
	draining := make(chan struct{})
	consumed := make(chan error, 1)
	go func() { consumed <- p.consume(consumerCtx, draining) }()

	rctx, stopRetain := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() { defer close(retained); p.retain(rctx) }()
	defer func() { stopRetain(); <-retained }()

	closers, err := p.listen(ctx)
	consumerDone := false
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-consumed:
			consumerDone = true
			if err == nil {
				err = errors.New("event store consumer stopped")
			}
		}
	}
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if consumerDone {
		return err
	}
	close(draining)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var cerr error
	select {
	case cerr = <-consumed:
	case <-timer.C:
		p.log.Warn("event store did not catch up with the journal before shutdown; it resumes at the next start", "grace", grace.String())
		stopConsumer()
		cerr = <-consumed
	}
	return errors.Join(err, cerr)
}

// consume moves events from the journal into the event store until ctx
// ends, or, once draining is closed, until the journal has nothing more.
// The store keeps the journal position of what it holds in the same
// transaction as the events, so a crash never stores a batch twice.
func (p *pipeline) consume(ctx context.Context, draining <-chan struct{}) error {
	r, err := p.journal.Reader(storeReader)
	if err != nil {
		return err
	}
	defer r.Close()
	// The store's own checkpoint says where to resume; a store not yet
	// open is opened when the journal first has events for it.
	seeked := false
	if p.events.opened() != nil {
		if err := p.seekCheckpoint(ctx, r, r.Position()); err != nil {
			return err
		}
		seeked = true
	}
	// waitCtx ends when draining begins, so that a reader waiting for new
	// events looks again in draining mode.
	waitCtx, stopWait := context.WithCancel(ctx)
	defer stopWait()
	go func() {
		select {
		case <-draining:
			stopWait()
		case <-waitCtx.Done():
		}
	}()
	for {
		before := r.Position()
		wctx, cancel := waitCtx, context.CancelFunc(func() {})
		drainingNow := false
		select {
		case <-draining:
			drainingNow = true
			wctx, cancel = context.WithTimeout(ctx, drainQuiet)
		default:
		}
		evs, pos, err := r.Next(wctx, 5000)
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case drainingNow && errors.Is(err, context.DeadlineExceeded):
				return nil // caught up
			case errors.Is(err, context.Canceled):
				continue // draining began while waiting
			}
			return fmt.Errorf("journal: %w", err)
		}
		if !seeked {
			if err := p.seekCheckpoint(ctx, r, before); err != nil {
				return err
			}
			seeked = true
			continue // read again from where the store says
		}
		if err := p.insert(ctx, evs, pos); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := r.Commit(pos); err != nil {
			p.log.Warn("journal reader commit failed", "reader", storeReader, "error", err)
		}
	}
}

// drainQuiet is how long the journal must stay empty for a draining
// consumer to count as caught up.
const drainQuiet = 300 * time.Millisecond

// listen starts the configured listeners and returns their closers.
func (p *pipeline) listen(ctx context.Context) ([]func(), error) {
	var closers []func()
	sl := p.c.Intake.Syslog
	allow, err := prefixes(sl.Allow)
	if err != nil {
		return nil, fmt.Errorf("intake.syslog.allow: %w", err)
	}
	for _, l := range []struct{ network, addr string }{{"udp", sl.UDP}, {"tcp", sl.TCP}, {"tls", sl.TLS}} {
		if l.addr == "" {
			continue
		}
		name := "syslog-" + l.network
		cfg := syslog.Config{
			Name: name, Network: l.network, Addr: l.addr, Allow: allow, MaxMessageBytes: sl.MaxMessageBytes,
			Sink: p.sink, Stats: p.registry.Source(name, name), Log: p.log,
		}
		if l.network == "tls" {
			if cfg.TLS, err = syslogTLS(sl); err != nil {
				return closers, err
			}
		}
		ln, err := syslog.Listen(ctx, cfg)
		if err != nil {
			return closers, fmt.Errorf("syslog over %s on %s: %w", strings.ToUpper(l.network), l.addr, err)
		}
		closers = append(closers, func() { _ = ln.Close() })
	}
	if h := p.c.Intake.HTTP; h.Listen != "" {
		stop, err := p.listenHTTP(h)
		if err != nil {
			return closers, err
		}
		closers = append(closers, stop)
	}
	return closers, nil
}

func (p *pipeline) listenHTTP(h config.IntakeHTTP) (func(), error) {
	var sources []httpin.Source
	for _, s := range p.c.Intake.Sources {
		token := s.Token.Reveal()
		if s.TokenFile != "" {
			b, err := os.ReadFile(s.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("intake source %s: token_file: %w", s.Name, err)
			}
			token = strings.TrimSpace(string(b))
		}
		allow, err := prefixes(s.Allow)
		if err != nil {
			return nil, fmt.Errorf("intake source %s: allow: %w", s.Name, err)
		}
		sources = append(sources, httpin.Source{Name: s.Name, Token: token, Allow: allow})
	}
	handler := httpin.New(httpin.Config{
		Sources: sources, Sink: p.sink, Registry: p.registry, MaxBodyBytes: h.MaxBodyBytes,
		Log: p.log.With("component", "http-intake"),
	})
	ln, err := net.Listen("tcp", h.Listen)
	if err != nil {
		return nil, fmt.Errorf("HTTP intake on %s: %w", h.Listen, err)
	}
	hs := &http.Server{
		Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(p.log.With("component", "http-intake").Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		if h.CertFile != "" {
			err = hs.ServeTLS(ln, h.CertFile, h.KeyFile)
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("HTTP intake stopped", "error", err)
		}
	}()
	p.log.Info("HTTP intake started", "addr", ln.Addr().String(), "sources", len(sources))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), p.c.HTTP.ShutdownGrace.D())
		defer cancel()
		_ = hs.Shutdown(sctx)
		<-done
	}, nil
}

func syslogTLS(sl config.Syslog) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(sl.CertFile, sl.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("syslog over TLS: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if sl.ClientCAFile != "" {
		b, err := os.ReadFile(sl.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("intake.syslog.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("intake.syslog.client_ca_file %s: no PEM certificates", sl.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// prefixes parses addresses and CIDRs; an address is a one-address prefix.
func prefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// seekCheckpoint moves r to the event store's checkpoint, or to fallback
// when the store has none (it is new).
func (p *pipeline) seekCheckpoint(ctx context.Context, r *journal.Reader, fallback journal.Position) error {
	cp, err := p.events.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("event store checkpoint: %w", err)
	}
	if cp == "" {
		return r.Seek(fallback)
	}
	pos, err := journal.ParsePosition(cp)
	if err != nil {
		return fmt.Errorf("event store checkpoint %q: %w", cp, err)
	}
	return r.Seek(pos)
}

// insert stores a batch, retrying while the store fails (a full disk, a
// locked file): events are never skipped.
func (p *pipeline) insert(ctx context.Context, evs []event.Event, pos journal.Position) error {
	wait := 100 * time.Millisecond
	for {
		err := p.events.Insert(ctx, evs, pos.String())
		if err == nil {
			return nil
		}
		p.log.Error("event store insert failed; retrying", "events", len(evs), "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (p *pipeline) retain(ctx context.Context) {
	t := time.NewTicker(retainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := p.events.Retain(ctx, now); err != nil && ctx.Err() == nil {
				p.log.Warn("event store retention failed", "error", err)
			}
		}
	}
}
