// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// Defaults for Config's optional limits.
const (
	DefaultMaxMessageBytes = 64 << 10
	DefaultMaxConnections  = 1000
	// DefaultIdleTimeout is long: rsyslog and others keep one connection
	// open for days and may lose a message when the server closed it.
	DefaultIdleTimeout = time.Hour
)

// Tuning that is not configurable.
const (
	batchMax        = 1000                 // events per Append
	linger          = 5 * time.Millisecond // longest wait before a partial batch is appended
	shutdownTimeout = 5 * time.Second      // how long Close tries to append what is pending
	handshakeLimit  = 10 * time.Second     // for a TLS handshake
	udpBuffer       = 8 << 20              // socket receive buffer asked for
	udpBatches      = 4                    // batches between the UDP reader and its appender
	logEvery        = 10 * time.Second     // at most one log line per problem this often
)

// Config configures one listener.
type Config struct {
	Name            string         // source name, e.g. "syslog-tcp"
	Network         string         // "udp", "tcp" or "tls"
	Addr            string         // host:port; port 0 picks a free one
	TLS             *tls.Config    // for "tls"
	Allow           []netip.Prefix // senders allowed; empty: loopback only
	MaxMessageBytes int            // longer messages are cut and flagged; 0: DefaultMaxMessageBytes
	// Sink takes the events: the journal (through normalisation); Append
	// blocks until durable. The listener reuses the slice it passed and
	// each event's Fields storage after Append returns.
	Sink  event.Sink
	Stats *intake.Counter // nil: counted nowhere
	Log   *slog.Logger    // nil: discarded
	// MaxConnections bounds concurrent TCP/TLS connections; more are
	// refused and counted. 0: DefaultMaxConnections.
	MaxConnections int
	// IdleTimeout closes a TCP/TLS connection silent for so long. 0:
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Listener serves one syslog listener. Close stops it.
type Listener struct {
	c      Config
	kind   string
	log    *slog.Logger
	stats  *intake.Counter
	allow  []netip.Prefix
	limit  logLimiter
	ln     net.Listener // tcp, tls
	udp    *net.UDPConn // udp
	done   chan struct{}
	stop   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// loopback is the allow-list when none is configured.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// Listen opens the listener described by c and serves it in goroutines
// until ctx is done or Close is called.
func Listen(ctx context.Context, c Config) (*Listener, error) {
	if c.Sink == nil {
		return nil, fmt.Errorf("syslog: listen %s: no sink", c.Name)
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	l := &Listener{c: c, kind: "syslog-" + c.Network, allow: c.Allow, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	if len(l.allow) == 0 {
		l.allow = loopback
	}
	l.log = c.Log
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "syslog", "source", c.Name)
	l.stats = c.Stats
	if l.stats == nil {
		l.stats = intake.NewRegistry().Source(c.Name, l.kind)
	}
	var lc net.ListenConfig
	switch c.Network {
	case "udp":
		pc, err := lc.ListenPacket(ctx, "udp", c.Addr)
		if err != nil {
			return nil, fmt.Errorf("syslog: listen %s on udp %s: %w", c.Name, c.Addr, err)
		}
		l.udp = pc.(*net.UDPConn)
		if err := l.udp.SetReadBuffer(udpBuffer); err != nil {
			l.log.Debug("socket receive buffer not enlarged", "error", err)
		}
		l.wg.Add(1)
		go l.serveUDP(ctx)
	case "tcp", "tls":
		if c.Network == "tls" && c.TLS == nil {
			return nil, fmt.Errorf("syslog: listen %s: tls without a TLS config", c.Name)
		}
		ln, err := lc.Listen(ctx, "tcp", c.Addr)
		if err != nil {
			return nil, fmt.Errorf("syslog: listen %s on tcp %s: %w", c.Name, c.Addr, err)
		}
		l.ln = ln
		l.wg.Add(1)
		go l.accept(ctx)
	default:
		return nil, fmt.Errorf("syslog: listen %s: unknown network %q (want udp, tcp or tls)", c.Name, c.Network)
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case <-ctx.Done():
			l.shutdown()
		case <-l.done:
		}
	}()
	l.log.Info("syslog listener started", "network", c.Network, "addr", l.Addr().String())
	return l, nil
}

// Addr returns the address the listener serves.
func (l *Listener) Addr() net.Addr {
	if l.udp != nil {
		return l.udp.LocalAddr()
	}
	return l.ln.Addr()
}

// Close stops accepting, closes the connections, appends what was pending
// (trying for up to a few seconds if the sink is full) and returns when
// every goroutine has ended.
func (l *Listener) Close() error {
	l.shutdown()
	l.wg.Wait()
	return nil
}

// shutdown stops the socket and the connections; the goroutines then flush
// and end.
func (l *Listener) shutdown() {
	l.stop.Do(func() {
		close(l.done)
		if l.udp != nil {
			_ = l.udp.Close() // ends the reader; an error here changes nothing
		}
		if l.ln != nil {
			_ = l.ln.Close() // ends the accept loop; likewise
		}
		l.mu.Lock()
		l.closed = true
		for c := range l.conns {
			_ = c.Close() // wakes the reader, which then flushes
		}
		l.mu.Unlock()
	})
}

// stopping reports whether shutdown has begun.
func (l *Listener) stopping() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// allowed reports whether a sender may send.
func (l *Listener) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// logLimiter lets one log line per problem through every logEvery and
// counts the ones it held back.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

// log logs msg at level unless it was logged within logEvery.
func (ll *logLimiter) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ll.mu.Lock()
	if ll.last == nil {
		ll.last, ll.held = make(map[string]time.Time), make(map[string]int)
	}
	now := time.Now()
	if t, ok := ll.last[msg]; ok && now.Sub(t) < logEvery {
		ll.held[msg]++
		ll.mu.Unlock()
		return
	}
	held := ll.held[msg]
	ll.last[msg], ll.held[msg] = now, 0
	ll.mu.Unlock()
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	log.Log(context.Background(), level, msg, args...)
}

// appendCtx returns the context for an Append: ctx while serving, and one
// that outlives ctx by shutdownTimeout once shutdown has begun, so that
// pending events still reach the sink.
func appendCtx(ctx context.Context, stopping bool) (context.Context, context.CancelFunc) {
	if !stopping {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
}

// isFull reports whether err says the sink is full.
func isFull(err error) bool { return errors.Is(err, event.ErrFull) }
