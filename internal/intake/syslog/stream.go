// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"
)

// accept takes TCP connections, refuses those outside the allow-list or
// over the connection limit, and serves the others.
func (l *Listener) accept(ctx context.Context) {
	defer l.wg.Done()
	delay := 5 * time.Millisecond
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			l.limit.log(l.log, slog.LevelWarn, "syslog accept failed", "error", err)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
			}
			t.Stop()
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		var addr netip.Addr
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			addr = ta.AddrPort().Addr().Unmap()
		}
		if !l.allowed(addr) {
			l.stats.Rejected("syslog.problem.address")
			l.limit.log(l.log, slog.LevelWarn, "syslog sender refused: address not allowed", "sender_ip", addr.String())
			_ = conn.Close() // refused; nothing was read
			continue
		}
		if reason := l.track(conn); reason == errClosing {
			_ = conn.Close() // the listener is stopping
			continue
		} else if reason != "" {
			l.stats.Rejected(reason)
			l.limit.log(l.log, slog.LevelWarn, "syslog connection refused: too many connections", "sender_ip", addr.String())
			_ = conn.Close() // refused; nothing was read
			continue
		}
		var c net.Conn = conn
		if l.c.Network == "tls" {
			c = tls.Server(conn, l.c.TLS)
		}
		l.wg.Add(1)
		go l.serveConn(ctx, c, conn, addr.String())
	}
}

// errClosing is track's answer once the listener stops.
const errClosing = "listener closing"

// track records an open connection, or says why it may not be served.
func (l *Listener) track(c net.Conn) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return errClosing
	case len(l.conns) >= l.c.MaxConnections:
		return "syslog.problem.connections"
	}
	l.conns[c] = struct{}{}
	return ""
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// serveConn reads one connection (c; raw is the TCP connection beneath a
// TLS one) until it ends, is idle for IdleTimeout, or the listener stops.
func (l *Listener) serveConn(ctx context.Context, c, raw net.Conn, sender string) {
	defer l.wg.Done()
	defer l.untrack(raw)
	defer c.Close()
	if tc, ok := c.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(ctx, handshakeLimit)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			l.stats.Rejected("syslog.problem.tls")
			l.limit.log(l.log, slog.LevelWarn, "syslog TLS handshake failed", "error", err, "sender_ip", sender)
			return
		}
	}
	var b batch
	var recv int64
	f := newFramer(c, l.c.MaxMessageBytes)
	f.onRead = func() { recv = time.Now().UnixNano() }
	f.beforeRead = func() error {
		if b.n > 0 {
			d := b.first.Add(linger)
			if !time.Now().Before(d) {
				return errLinger
			}
			return c.SetReadDeadline(d)
		}
		return c.SetReadDeadline(time.Now().Add(l.c.IdleTimeout))
	}
	for {
		msg, cut, err := f.next()
		if err != nil {
			if errors.Is(err, errLinger) || (errors.Is(err, os.ErrDeadlineExceeded) && b.n > 0) {
				l.flushStream(ctx, &b)
				continue
			}
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				l.log.Debug("idle syslog connection closed", "sender_ip", sender)
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), l.stopping():
			default:
				l.log.Debug("syslog connection ended", "error", err, "sender_ip", sender)
			}
			break
		}
		l.fill(b.add(len(msg)), msg, cut, recv, sender)
		if b.full() {
			l.flushStream(ctx, &b)
		}
	}
	l.flushStream(ctx, &b)
}
