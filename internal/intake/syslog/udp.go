// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"
)

// serveUDP reads datagrams, one message each, into batches that appendUDP
// hands to the sink. The reader never waits for the sink: when every batch
// is waiting for it, datagrams are dropped and counted.
func (l *Listener) serveUDP(ctx context.Context) {
	defer l.wg.Done()
	u := udpReader{
		full: make(chan *batch, udpBatches), // capacities hold every batch: sends never block
		free: make(chan *batch, udpBatches),
		b:    &batch{},
	}
	for range udpBatches - 1 {
		u.free <- &batch{}
	}
	l.wg.Add(1)
	go l.appendUDP(ctx, u.full, u.free)
	defer close(u.full)
	defer u.handoff()
	buf := make([]byte, 1<<16)
	deadline := false // a linger deadline is set
	for {
		if u.b != nil && u.b.n > 0 && !deadline {
			deadline = l.udp.SetReadDeadline(u.b.first.Add(linger)) == nil
		}
		n, ap, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				u.handoff()
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
		l.datagram(&u, buf[:n], ap.Addr())
	}
}

// udpReader is the state of serveUDP: the batch being filled (nil when
// none was free) and the last sender, whose checks are kept.
type udpReader struct {
	full        chan *batch
	free        chan *batch
	b           *batch
	lastAddr    netip.Addr
	lastSender  string
	lastAllowed bool
}

// handoff passes a non-empty batch to the appender and takes a free one if
// there is one.
func (u *udpReader) handoff() {
	if u.b != nil && u.b.n > 0 {
		u.full <- u.b
		u.b = nil
	}
	if u.b == nil {
		select {
		case u.b = <-u.free:
		default:
		}
	}
}

// datagram takes one datagram from a.
func (l *Listener) datagram(u *udpReader, msg []byte, a netip.Addr) {
	if a != u.lastAddr || u.lastSender == "" {
		u.lastAddr, u.lastAllowed = a, l.allowed(a)
		u.lastSender = a.Unmap().String()
	}
	if !u.lastAllowed {
		l.stats.Rejected("syslog.problem.address")
		l.limit.log(l.log, slog.LevelWarn, "syslog sender refused: address not allowed", "sender_ip", u.lastSender)
		return
	}
	if u.b == nil {
		if u.handoff(); u.b == nil {
			l.stats.Dropped(1, "syslog.problem.udp_queue_full")
			l.limit.log(l.log, slog.LevelWarn, "syslog UDP datagrams dropped: every batch is waiting for the sink")
			return
		}
	}
	cut := ""
	if len(msg) > l.c.MaxMessageBytes {
		msg, cut = msg[:l.c.MaxMessageBytes], reasonTooLong
	}
	l.fill(u.b.add(len(msg)), msg, cut, time.Now().UnixNano(), u.lastSender)
	if u.b.full() {
		u.handoff()
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
			l.stats.Dropped(b.n, "syslog.problem.journal_full")
			l.limit.log(l.log, slog.LevelWarn, "syslog UDP events dropped: sink full", "error", err)
		default:
			l.stats.Dropped(b.n, "syslog.problem.journal_failed")
			l.limit.log(l.log, slog.LevelError, "syslog UDP events dropped: sink failed", "error", err)
		}
		b.reset()
		free <- b
	}
}
