// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// serveUDP reads datagrams, one message each, into batches that appendUDP
// hands to the sink. The reader never waits for the sink: when every batch
// is waiting for it, datagrams are dropped and counted.
func (l *Listener) serveUDP(ctx context.Context) {
	defer l.wg.Done()
	full := make(chan *batch, udpBatches) // capacities hold every batch: sends never block
	free := make(chan *batch, udpBatches)
	for range udpBatches - 1 {
		free <- &batch{}
	}
	l.wg.Add(1)
	go l.appendUDP(ctx, full, free)
	defer close(full)

	b := &batch{}
	buf := make([]byte, 1<<16)
	var (
		lastAddr    netip.Addr
		lastSender  string
		lastAllowed bool
		deadline    bool
	)
	handoff := func() {
		if b != nil && b.n > 0 {
			full <- b
			b = nil
		}
		if b == nil {
			select {
			case b = <-free:
			default:
			}
		}
	}
	defer handoff()
	for {
		if b != nil && b.n > 0 && !deadline {
			if err := l.udp.SetReadDeadline(b.first.Add(linger)); err == nil {
				deadline = true
			}
		}
		n, ap, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				handoff()
				deadline = l.udp.SetReadDeadline(time.Time{}) != nil
				continue
			}
			if l.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			l.limit.log(l.log, slog.LevelWarn, "syslog UDP read failed", "error", err)
			time.Sleep(time.Millisecond) // a failing socket must not spin
			continue
		}
		if a := ap.Addr(); a != lastAddr || lastSender == "" {
			lastAddr, lastAllowed = a, l.allowed(a)
			lastSender = a.Unmap().String()
		}
		if !lastAllowed {
			l.stats.Rejected("address not allowed: " + lastSender)
			l.limit.log(l.log, slog.LevelWarn, "syslog sender refused: address not allowed", "sender_ip", lastSender)
			continue
		}
		if b == nil {
			handoff()
			if b == nil {
				l.stats.Dropped(1, "UDP intake queue full")
				l.limit.log(l.log, slog.LevelWarn, "syslog UDP datagrams dropped: every batch is waiting for the sink")
				continue
			}
		}
		msg, cut := buf[:n], ""
		if n > l.c.MaxMessageBytes {
			msg, cut = msg[:l.c.MaxMessageBytes], reasonTooLong
		}
		l.fill(b.add(len(msg)), msg, cut, time.Now().UnixNano(), lastSender)
		if b.full() {
			handoff()
		}
	}
}

// appendUDP appends the batches serveUDP fills. UDP cannot push back, so a
// batch the sink refuses is dropped and counted.
func (l *Listener) appendUDP(ctx context.Context, full <-chan *batch, free chan<- *batch) {
	defer l.wg.Done()
	for b := range full {
		actx, cancel := appendCtx(ctx, l.stopping())
		err := l.c.Sink.Append(actx, b.events())
		cancel()
		switch {
		case err == nil:
			l.stats.Accepted(b.events())
		case isFull(err):
			l.stats.Dropped(b.n, "sink full")
			l.limit.log(l.log, slog.LevelWarn, "syslog UDP events dropped: sink full", "error", err)
		default:
			l.stats.Dropped(b.n, "sink failed: "+firstLine(err.Error()))
			l.limit.log(l.log, slog.LevelError, "syslog UDP events dropped: sink failed", "error", err)
		}
		b.reset()
		free <- b
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
