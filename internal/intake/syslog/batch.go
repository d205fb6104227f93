// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"context"
	"log/slog"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// batchBytes bounds the raw bytes of one batch, so that a connection
// sending long messages holds little memory.
const batchBytes = 1 << 20

// batch collects events for one Append. Its events are reused: Reset keeps
// their Fields storage.
type batch struct {
	evs   []event.Event
	n     int
	bytes int
	first time.Time // when the first event came
}

// add returns the next event to fill, reset.
func (b *batch) add(size int) *event.Event {
	if b.n == len(b.evs) {
		b.evs = append(b.evs, event.Event{})
	}
	ev := &b.evs[b.n]
	ev.Reset()
	if b.n == 0 {
		b.first = time.Now()
	}
	b.n++
	b.bytes += size
	return ev
}

func (b *batch) full() bool { return b.n >= batchMax || b.bytes >= batchBytes }

func (b *batch) events() []event.Event { return b.evs[:b.n] }

// reset empties b after an Append. After a batch of long messages the
// events are dropped entirely, so that their field values (which point into
// the messages) are not kept alive.
func (b *batch) reset() {
	if b.bytes >= batchBytes/4 {
		clear(b.evs)
	}
	b.n, b.bytes = 0, 0
}

// fill makes ev the event of one received message.
func (l *Listener) fill(ev *event.Event, msg []byte, cut string, recv int64, sender string) {
	ev.Received = recv
	ev.ID = event.NewID(recv)
	ev.Source = l.c.Name
	if cut != "" {
		ev.Flag(event.FlagTruncated, cut)
	}
	Parse(msg, ev)
	if ev.Host == "" {
		ev.Host = sender
	}
	ev.Set(fieldSenderIP, sender)
}

// flushStream appends a TCP or TLS batch. It never drops while serving: on
// a full sink (or any error) it waits and retries the same batch, and the
// connection is not read meanwhile, which pushes back on the sender. Once
// shutdown has begun it tries for shutdownTimeout, then counts the batch as
// dropped.
func (l *Listener) flushStream(ctx context.Context, b *batch) {
	if b.n == 0 {
		return
	}
	delay := 10 * time.Millisecond
	var stopCtx context.Context
	for {
		actx := ctx
		if l.stopping() {
			if stopCtx == nil {
				var cancel context.CancelFunc
				stopCtx, cancel = appendCtx(ctx, true)
				defer cancel()
			}
			actx = stopCtx
		}
		err := l.c.Sink.Append(actx, b.events())
		if err == nil {
			l.stats.Accepted(b.events())
			b.reset()
			return
		}
		if stopCtx != nil && stopCtx.Err() != nil {
			l.stats.Dropped(b.n, "syslog.problem.shutdown")
			l.log.Error("events lost at shutdown: the sink did not take them", "error", err, "events", b.n)
			b.reset()
			return
		}
		if isFull(err) {
			l.limit.log(l.log, slog.LevelWarn, "sink full, pausing TCP reads", "error", err)
		} else {
			l.limit.log(l.log, slog.LevelError, "sink append failed, retrying", "error", err)
		}
		t := time.NewTimer(delay)
		if stopCtx != nil {
			select {
			case <-t.C:
			case <-stopCtx.Done():
			}
		} else {
			select {
			case <-t.C:
			case <-l.done:
			}
		}
		t.Stop()
		delay = min(2*delay, time.Second)
	}
}
