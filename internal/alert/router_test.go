// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var rt0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// sent is one notification a fakeSender received.
type sent struct {
	channel string
	kind    Kind
	ids     []int64 // the alert, or the digest's alerts
	omitted int
}

func (s sent) String() string {
	return fmt.Sprintf("%s %s %v +%d", s.channel, s.kind, s.ids, s.omitted)
}

// fakeSender records notifications and fails the first fail sends.
type fakeSender struct {
	mu    sync.Mutex
	got   []sent
	fail  int
	calls int
	ch    chan sent // if set, receives every delivered notification
}

func (f *fakeSender) Send(_ context.Context, channel string, n Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail > 0 {
		f.fail--
		return errors.New("smtp: 451 try later")
	}
	s := sent{channel: channel, kind: n.Kind, omitted: n.Omitted}
	if n.Alert != nil {
		s.ids = []int64{n.Alert.ID}
	}
	for _, a := range n.Digest {
		s.ids = append(s.ids, a.ID)
	}
	f.got = append(f.got, s)
	if f.ch != nil {
		f.ch <- s
	}
	return nil
}

func (f *fakeSender) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.got {
		out = append(out, s.String())
	}
	f.got = nil
	return out
}

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// newTestRouter returns a router on a settable clock whose retries do not
// wait, recording the pauses asked for.
func newTestRouter(t *testing.T, s Sender, routes []Route, o RouterOptions) (*Router, *testClock, *[]time.Duration) {
	t.Helper()
	c := &testClock{t: rt0}
	var waits []time.Duration
	o.Now = c.now
	o.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	r, err := NewRouter(s, routes, o)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r, c, &waits
}

func flush(t *testing.T, r *Router) {
	t.Helper()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestRouterByLevel(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	r, _, _ := newTestRouter(t, s, []Route{{Channel: "mail", MinLevel: LevelHigh}, {Channel: "slack", MinLevel: LevelLow}}, RouterOptions{})
	ctx := context.Background()
	r.Notify(ctx, Alert{ID: 1, Level: LevelInformational})
	r.Notify(ctx, Alert{ID: 2, Level: LevelMedium})
	r.Notify(ctx, Alert{ID: 3, Level: LevelCritical})
	flush(t, r)
	want := []string{"slack single [2] +0", "mail single [3] +0", "slack single [3] +0"}
	if diff := cmp.Diff(want, s.take()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

// TestRouterRateLimitDigest: past the rate, alerts wait for the digest,
// which goes out one Digest interval after the first of them; an hour
// after the first sends, single notifications resume.
func TestRouterRateLimitDigest(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	r, c, _ := newTestRouter(t, s, []Route{{Channel: "mail", MinLevel: LevelLow, RatePerHour: 2, Digest: 30 * time.Minute}}, RouterOptions{})
	ctx := context.Background()
	for i := int64(1); i <= 5; i++ {
		r.Notify(ctx, Alert{ID: i, Level: LevelHigh})
		c.t = c.t.Add(time.Minute)
	}
	// Alert 3 escalates while held: it stays listed once, as it is now.
	r.Notify(ctx, Alert{ID: 3, Level: LevelCritical})
	for len(r.queue) > 0 { // what Run would send now, without the digests Flush adds
		if err := r.deliver(ctx, <-r.queue); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"mail single [1] +0", "mail single [2] +0"}, s.take()); diff != "" {
		t.Errorf("sent at once (-want +got):\n%s", diff)
	}
	c.t = rt0.Add(2*time.Minute + 29*time.Minute) // the digest started at +2m with alert 3
	r.flushDue(ctx)
	if got := s.take(); len(got) != 0 {
		t.Errorf("sent before the digest was due: %v", got)
	}
	c.t = rt0.Add(32 * time.Minute)
	r.flushDue(ctx)
	if diff := cmp.Diff([]string{"mail digest [3 4 5] +0"}, s.take()); diff != "" {
		t.Errorf("digest (-want +got):\n%s", diff)
	}
	if st := r.Stats(); st.Sent != 3 || st.Digested != 4 || st.Failed != 0 || st.Overflowed != 0 {
		t.Errorf("Stats = %+v; want 3 sent, 4 digested", st)
	}
	// Still within the hour of the first two sends: held again.
	r.Notify(ctx, Alert{ID: 6, Level: LevelHigh})
	c.t = rt0.Add(time.Hour)
	r.Notify(ctx, Alert{ID: 7, Level: LevelHigh}) // the first send is an hour old now
	flush(t, r)
	if diff := cmp.Diff([]string{"mail single [7] +0", "mail digest [6] +0"}, s.take()); diff != "" {
		t.Errorf("after an hour (-want +got):\n%s", diff)
	}
}

func TestRouterDigestBound(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	r, _, _ := newTestRouter(t, s, []Route{{Channel: "hook", RatePerHour: 1}}, RouterOptions{MaxDigest: 3})
	for i := int64(1); i <= 7; i++ {
		r.Notify(context.Background(), Alert{ID: i, Level: LevelLow})
	}
	flush(t, r)
	if diff := cmp.Diff([]string{"hook single [1] +0", "hook digest [2 3 4] +3"}, s.take()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

// TestRouterQueueFull: Notify never blocks; what the queue cannot take goes
// into the digest.
func TestRouterQueueFull(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	r, _, _ := newTestRouter(t, s, []Route{{Channel: "hook"}}, RouterOptions{Queue: 1})
	for i := int64(1); i <= 3; i++ {
		r.Notify(context.Background(), Alert{ID: i, Level: LevelLow})
	}
	if st := r.Stats(); st.Overflowed != 2 {
		t.Errorf("Stats.Overflowed = %d, want 2", st.Overflowed)
	}
	flush(t, r)
	if diff := cmp.Diff([]string{"hook single [1] +0", "hook digest [2 3] +0"}, s.take()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

func TestRouterRetries(t *testing.T) {
	t.Parallel()
	s := &fakeSender{fail: 2}
	r, _, waits := newTestRouter(t, s, []Route{{Channel: "mail"}}, RouterOptions{Backoff: time.Second})
	r.Notify(context.Background(), Alert{ID: 1, Level: LevelLow})
	flush(t, r)
	if diff := cmp.Diff([]string{"mail single [1] +0"}, s.take()); diff != "" {
		t.Errorf("sent after two failures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, *waits); diff != "" {
		t.Errorf("pauses between attempts (-want +got):\n%s", diff)
	}

	var logs bytes.Buffer
	s = &fakeSender{fail: 100}
	r, _, waits = newTestRouter(t, s, []Route{{Channel: "mail"}}, RouterOptions{Retries: 2, Backoff: time.Second,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	r.Notify(context.Background(), Alert{ID: 9, RuleID: "rule-x", Level: LevelLow})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for {
		if st := r.Stats(); st.Failed == 1 {
			break
		}
		time.Sleep(time.Millisecond) // waiting for Run, not timing it
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	s.mu.Lock()
	calls := s.calls
	s.mu.Unlock()
	if calls != 3 || len(*waits) != 2 {
		t.Errorf("a failing channel was tried %d times with %d pauses, want 3 and 2", calls, len(*waits))
	}
	line := logs.String()
	for _, want := range []string{"level=ERROR", `msg="notification failed"`, "channel=mail", "alert_id=9", "rule_id=rule-x", "451 try later"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Flush with nothing left: %v", err)
	}

	// A permanent failure is not tried again.
	s = &fakeSender{fail: 100}
	r, _, waits = newTestRouter(t, s, []Route{{Channel: "hook"}}, RouterOptions{Retryable: func(error) bool { return false }})
	r.Notify(context.Background(), Alert{ID: 10, Level: LevelLow})
	if err := r.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "alert: notify hook (single): smtp: 451") {
		t.Errorf("Flush with a permanent failure: got %v, want the send's error", err)
	}
	if s.calls != 1 || len(*waits) != 0 {
		t.Errorf("a permanent failure was tried %d times with %d pauses, want once", s.calls, len(*waits))
	}
}

// TestRouterRun: Run delivers what Notify queues.
func TestRouterRun(t *testing.T) {
	t.Parallel()
	s := &fakeSender{ch: make(chan sent, 4)}
	r, _, _ := newTestRouter(t, s, []Route{{Channel: "hook", MinLevel: LevelMedium}}, RouterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	r.Notify(ctx, Alert{ID: 5, Level: LevelHigh})
	if got := <-s.ch; got.String() != "hook single [5] +0" {
		t.Errorf("Run delivered %v, want hook single [5]", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestNewRouterRefuses(t *testing.T) {
	t.Parallel()
	_, err := NewRouter(&fakeSender{}, []Route{{MinLevel: LevelLow}, {Channel: "a", MinLevel: "urgent"},
		{Channel: "b", RatePerHour: -1}, {Channel: "c", Digest: -time.Second}}, RouterOptions{})
	if err == nil {
		t.Fatal("NewRouter accepted bad routes")
	}
	for _, want := range []string{"route 1: no channel", `route 2 (a): unknown level "urgent"`, "route 3 (b): negative", "route 4 (c): negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewRouter error %q lacks %q", err, want)
		}
	}
}
