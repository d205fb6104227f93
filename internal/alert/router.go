// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Kind says whether a notification is about one alert or a digest of several.
type Kind string

// The kinds of notification.
const (
	KindSingle Kind = "single"
	KindDigest Kind = "digest"
)

// Notification is what a Sender delivers to one channel.
type Notification struct {
	Kind Kind
	// Alert is the alert of a single notification; nil in a digest.
	Alert *Alert
	// Digest lists the alerts a route held back while its rate limit was
	// exhausted, in the order they came (an alert that escalated while held
	// appears once, as it is now).
	Digest []Alert
	// Omitted counts alerts held back beyond the digest's bound, not listed.
	Omitted int
	// Since is when the first alert of a digest was held back.
	Since time.Time
}

// Sender delivers notifications, implemented by internal/notify (e-mail,
// webhooks). Its errors are logged, so they must not carry secrets (webhook
// URLs with tokens, passwords).
type Sender interface {
	Send(ctx context.Context, channel string, n Notification) error
}

// Route sends alerts of at least MinLevel to Channel: each at once while
// fewer than RatePerHour went out in the past hour (0: no limit), and into a
// digest sent Digest after the first alert it holds otherwise.
type Route struct {
	Channel     string
	MinLevel    Level
	RatePerHour int
	Digest      time.Duration // default 1h
}

// RouterOptions tune a Router. Zero values take the defaults.
type RouterOptions struct {
	// Queue is the capacity of the queue of notifications to send (default
	// 256). When it is full an alert goes into its routes' digests instead:
	// it is stored already, so nothing is lost, only delayed.
	Queue int
	// Retries is how many times a failed send is tried again (default 3,
	// negative for none), after Backoff, then twice as long each time
	// (default 2s).
	Retries int
	Backoff time.Duration
	// Retryable says whether a failed send is worth trying again (default:
	// every failure is); internal/notify classifies its errors.
	Retryable func(error) bool
	// MaxDigest bounds the alerts listed in one digest (default 100); the
	// rest are counted in Notification.Omitted.
	MaxDigest int
	// Tick is how often Run looks for digests that are due (default 1
	// minute).
	Tick time.Duration
	// Now is the clock (default time.Now); Sleep waits between retries
	// (default: a timer that ends early when ctx is done).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives failed sends (default: discarded).
	Log *slog.Logger
}

// RouterStats counts what a Router did since it was made.
type RouterStats struct {
	Sent       uint64 // notifications delivered
	Failed     uint64 // notifications given up after every retry
	Digested   uint64 // alerts held back for a digest by a rate limit
	Overflowed uint64 // alerts put into digests because the queue was full
}

// Router routes stored alerts to notification channels by level, with a
// rate limit and a digest per route. Notify never blocks; Run sends.
type Router struct {
	sender Sender
	opt    RouterOptions
	queue  chan job

	mu     sync.Mutex // guards every route's state
	routes []*route

	sent, failed, digested, overflowed atomic.Uint64
}

// route is a Route and its state.
type route struct {
	Route
	recent  []time.Time // sends in the past hour, oldest first
	pending []Alert     // held back for the digest
	omitted int
	since   time.Time // when pending got its first alert
}

type job struct {
	channel string
	n       Notification
}

// NewRouter returns a Router sending through s. A route without a channel,
// with an invalid level or with a negative rate or digest is an error.
func NewRouter(s Sender, routes []Route, o RouterOptions) (*Router, error) {
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return true }
	}
	if o.MaxDigest <= 0 {
		o.MaxDigest = 100
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Router{sender: s, opt: o, queue: make(chan job, o.Queue)}
	var errs []error
	for i, rt := range routes {
		if rt.MinLevel == "" {
			rt.MinLevel = LevelInformational
		}
		if rt.Digest == 0 {
			rt.Digest = time.Hour
		}
		switch {
		case rt.Channel == "":
			errs = append(errs, fmt.Errorf("alert: route %d: no channel", i+1))
		case !rt.MinLevel.Valid():
			errs = append(errs, fmt.Errorf("alert: route %d (%s): unknown level %q", i+1, rt.Channel, rt.MinLevel))
		case rt.RatePerHour < 0 || rt.Digest < 0:
			errs = append(errs, fmt.Errorf("alert: route %d (%s): negative rate or digest interval", i+1, rt.Channel))
		}
		r.routes = append(r.routes, &route{Route: rt})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Notify routes a stored alert, new or escalated: for every route whose
// level it reaches, it queues a notification if the route's rate allows,
// and adds it to the route's digest otherwise or when the queue is full.
// It never blocks.
func (r *Router) Notify(ctx context.Context, a Alert) {
	now := r.opt.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rt := range r.routes {
		if !a.Level.AtLeast(rt.MinLevel) {
			continue
		}
		if !rt.allow(now) {
			r.digested.Add(1)
			r.hold(rt, a, now)
			continue
		}
		c := a
		select {
		case r.queue <- job{channel: rt.Channel, n: Notification{Kind: KindSingle, Alert: &c}}:
			rt.recent = append(rt.recent, now)
		default:
			r.overflowed.Add(1)
			r.hold(rt, a, now)
		}
	}
}

// allow forgets sends older than an hour and reports whether another may
// go out now.
func (rt *route) allow(now time.Time) bool {
	i := 0
	for i < len(rt.recent) && now.Sub(rt.recent[i]) >= time.Hour {
		i++
	}
	rt.recent = append(rt.recent[:0], rt.recent[i:]...)
	return rt.RatePerHour == 0 || len(rt.recent) < rt.RatePerHour
}

// hold adds a to rt's digest, replacing an earlier copy of it.
func (r *Router) hold(rt *route, a Alert, now time.Time) {
	for i := range rt.pending {
		if rt.pending[i].ID == a.ID {
			rt.pending[i] = a
			return
		}
	}
	if len(rt.pending) == 0 && rt.omitted == 0 {
		rt.since = now
	}
	if len(rt.pending) >= r.opt.MaxDigest {
		rt.omitted++
		return
	}
	rt.pending = append(rt.pending, a)
}

// take removes and returns the digests that are due at now, or all when
// all is set.
func (r *Router) take(now time.Time, all bool) []job {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []job
	for _, rt := range r.routes {
		if len(rt.pending) == 0 && rt.omitted == 0 {
			continue
		}
		if !all && now.Sub(rt.since) < rt.Digest {
			continue
		}
		out = append(out, job{channel: rt.Channel, n: Notification{Kind: KindDigest, Digest: rt.pending,
			Omitted: rt.omitted, Since: rt.since}})
		rt.pending, rt.omitted, rt.since = nil, 0, time.Time{}
	}
	return out
}

// Run sends queued notifications and due digests until ctx ends. A send
// that still fails after its retries is logged and dropped. Call Flush after
// Run returns to send what is left.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.opt.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-r.queue:
			r.logFailure(ctx, j, r.deliver(ctx, j))
		case <-t.C:
			r.flushDue(ctx)
		}
	}
}

// flushDue sends the digests that are due, logging failures.
func (r *Router) flushDue(ctx context.Context) {
	for _, j := range r.take(r.opt.Now(), false) {
		r.logFailure(ctx, j, r.deliver(ctx, j))
	}
}

// Flush sends every queued notification and every digest now, whether due
// or not: for shutdown, and for tests. It returns the sends that failed
// after their retries.
func (r *Router) Flush(ctx context.Context) error {
	var errs []error
	for {
		select {
		case j := <-r.queue:
			errs = append(errs, r.deliver(ctx, j))
			continue
		default:
		}
		break
	}
	for _, j := range r.take(r.opt.Now(), true) {
		errs = append(errs, r.deliver(ctx, j))
	}
	return errors.Join(errs...)
}

// Stats returns the router's counters.
func (r *Router) Stats() RouterStats {
	return RouterStats{Sent: r.sent.Load(), Failed: r.failed.Load(), Digested: r.digested.Load(), Overflowed: r.overflowed.Load()}
}

// deliver sends j, trying again after a growing pause.
func (r *Router) deliver(ctx context.Context, j job) error {
	wait := r.opt.Backoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = r.sender.Send(ctx, j.channel, j.n); err == nil {
			r.sent.Add(1)
			return nil
		}
		if attempt == r.opt.Retries || ctx.Err() != nil || !r.opt.Retryable(err) {
			break
		}
		if serr := r.opt.Sleep(ctx, wait); serr != nil {
			break
		}
		wait *= 2
	}
	r.failed.Add(1)
	return fmt.Errorf("alert: notify %s (%s): %w", j.channel, j.n.Kind, err)
}

func (r *Router) logFailure(ctx context.Context, j job, err error) {
	if err == nil {
		return
	}
	args := []any{"channel", j.channel, "kind", string(j.n.Kind), "error", err}
	if j.n.Alert != nil {
		args = append(args, "alert_id", j.n.Alert.ID, "rule_id", j.n.Alert.RuleID)
	} else {
		args = append(args, "alerts", len(j.n.Digest)+j.n.Omitted)
	}
	r.opt.Log.ErrorContext(ctx, "notification failed", args...)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
