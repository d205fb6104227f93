// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(3, time.Hour)
	for i, at := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
		if _, ok := l.Allow("a", t0.Add(at)); !ok {
			t.Fatalf("Allow #%d refused", i+1)
		}
	}
	wait, ok := l.Allow("a", t0.Add(30*time.Minute))
	if ok || wait != 30*time.Minute {
		t.Errorf("Allow #4 = %v, %v; want refused, wait 30m (the first leaves the window at 60m)", wait, ok)
	}
	// A refused attempt is not counted: at 60m the first event has left.
	if _, ok := l.Allow("a", t0.Add(time.Hour)); !ok {
		t.Error("Allow at 60m refused; the window slid")
	}
	if _, ok := l.Allow("b", t0.Add(30*time.Minute)); !ok {
		t.Error("another key refused")
	}
}

func TestLimiterBoundsMemory(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(1, time.Hour)
	for i := range maxLimiterKeys + 50 {
		l.Allow(fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(l.seen); n > maxLimiterKeys {
		t.Errorf("limiter holds %d keys, max %d", n, maxLimiterKeys)
	}
	// The newest key is remembered; the oldest was forgotten first.
	if _, ok := l.Allow(fmt.Sprint("k", maxLimiterKeys+49), t0.Add(time.Minute)); ok {
		t.Error("newest key forgotten")
	}
	if _, ok := l.Allow("k0", t0.Add(time.Minute)); !ok {
		t.Error("oldest key still remembered past the bound")
	}
	// Past the window every key is pruned at once.
	l.Allow("late", t0.Add(2*time.Hour))
	for i := range 2 {
		l.Allow(fmt.Sprint("x", i), t0.Add(2*time.Hour))
	}
	if n := len(l.seen); n > 10 {
		t.Errorf("after the window the limiter holds %d keys", n)
	}
}
