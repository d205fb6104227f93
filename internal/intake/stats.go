// SPDX-License-Identifier: Apache-2.0

package intake

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// MaxHostsPerSource bounds how many sending hosts a source remembers.
const MaxHostsPerSource = 10_000

// Registry holds the counters of every source. The zero value is not
// usable; call NewRegistry.
type Registry struct {
	mu      sync.Mutex
	sources map[string]*Counter
	now     func() time.Time
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{sources: make(map[string]*Counter), now: time.Now}
}

// Source returns the counter of the source called name, creating it. Kind
// says what it is: "syslog-udp", "syslog-tcp", "syslog-tls", "http",
// "elasticsearch", "import".
func (r *Registry) Source(name, kind string) *Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.sources[name]
	if !ok {
		c = &Counter{name: name, kind: kind, now: r.now, hosts: make(map[string]*hostSeen)}
		r.sources[name] = c
	}
	return c
}

// Counter counts one source's events. Its methods are safe for concurrent
// use; Accepted takes a lock once per batch, not per event.
type Counter struct {
	name, kind  string
	now         func() time.Time
	events      atomic.Int64
	parseErrors atomic.Int64
	dropped     atomic.Int64
	rejected    atomic.Int64
	last        atomic.Int64 // Unix ns of the last accepted event's arrival

	mu         sync.Mutex
	perSecond  [60]int64 // events accepted in each second, ring by Unix second
	secondOf   [60]int64
	hosts      map[string]*hostSeen
	lastReason string
}

type hostSeen struct {
	last int64   // Unix ns
	gap  float64 // smoothed gap between arrivals, ns
}

// Accepted counts events taken in (after the sink accepted them): their
// number, how many were flagged as parse errors, and each host's arrival.
func (c *Counter) Accepted(evs []event.Event) {
	if len(evs) == 0 {
		return
	}
	now := c.now().UnixNano()
	var bad int64
	for i := range evs {
		if evs[i].Flags&(event.FlagParseError) != 0 {
			bad++
		}
	}
	c.events.Add(int64(len(evs)))
	c.parseErrors.Add(bad)
	c.last.Store(now)
	sec := now / int64(time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sec % 60
	if c.secondOf[i] != sec {
		c.secondOf[i], c.perSecond[i] = sec, 0
	}
	c.perSecond[i] += int64(len(evs))
	prev := ""
	for i := range evs {
		h := evs[i].Host
		if h == "" || h == prev {
			continue
		}
		prev = h
		c.seen(h, now)
	}
}

func (c *Counter) seen(host string, now int64) {
	s, ok := c.hosts[host]
	if !ok {
		if len(c.hosts) >= MaxHostsPerSource {
			return
		}
		c.hosts[strings.Clone(host)] = &hostSeen{last: now}
		return
	}
	gap := now - s.last
	if gap < int64(time.Second) {
		return // within one burst: not a gap
	}
	if s.gap == 0 {
		s.gap = float64(gap)
	} else {
		s.gap = 0.8*s.gap + 0.2*float64(gap)
	}
	s.last = now
}

// Dropped counts events lost before the sink (UDP when full) with a reason.
func (c *Counter) Dropped(n int, reason string) {
	c.dropped.Add(int64(n))
	c.setReason(reason)
}

// Rejected counts a refused request or connection (bad token, address not
// allowed, body too large) with a reason.
func (c *Counter) Rejected(reason string) {
	c.rejected.Add(1)
	c.setReason(reason)
}

func (c *Counter) setReason(r string) {
	c.mu.Lock()
	c.lastReason = r
	c.mu.Unlock()
}

// SourceSnapshot is a source's counters at one moment.
type SourceSnapshot struct {
	Name, Kind  string
	Events      int64
	PerSecond   float64 // average over the last minute
	LastEvent   time.Time
	ParseErrors int64
	Dropped     int64
	Rejected    int64
	LastProblem string
	Hosts       []HostSnapshot // silent hosts first, then by name
}

// HostSnapshot is one sending host of a source.
type HostSnapshot struct {
	Host     string
	Last     time.Time
	UsualGap time.Duration // 0 until two arrivals were seen
	Silent   bool          // quiet for much longer than its usual gap
}

// Snapshot returns every source, sorted by name.
func (r *Registry) Snapshot() []SourceSnapshot {
	r.mu.Lock()
	list := make([]*Counter, 0, len(r.sources))
	for _, c := range r.sources {
		list = append(list, c)
	}
	r.mu.Unlock()
	now := r.now()
	out := make([]SourceSnapshot, 0, len(list))
	for _, c := range list {
		out = append(out, c.snapshot(now))
	}
	slices.SortFunc(out, func(a, b SourceSnapshot) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// silentFactor and minSilence decide when a host counts as silent: quiet for
// more than silentFactor usual gaps, and at least minSilence.
const (
	silentFactor = 4
	minSilence   = 5 * time.Minute
)

func (c *Counter) snapshot(now time.Time) SourceSnapshot {
	s := SourceSnapshot{
		Name: c.name, Kind: c.kind,
		Events: c.events.Load(), ParseErrors: c.parseErrors.Load(),
		Dropped: c.dropped.Load(), Rejected: c.rejected.Load(),
	}
	if l := c.last.Load(); l != 0 {
		s.LastEvent = time.Unix(0, l)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.LastProblem = c.lastReason
	sec := now.UnixNano() / int64(time.Second)
	var sum int64
	for i := range c.perSecond {
		if sec-c.secondOf[i] < 60 && c.secondOf[i] <= sec {
			sum += c.perSecond[i]
		}
	}
	s.PerSecond = float64(sum) / 60
	for h, hs := range c.hosts {
		last := time.Unix(0, hs.last)
		gap := time.Duration(hs.gap)
		quiet := now.Sub(last)
		s.Hosts = append(s.Hosts, HostSnapshot{
			Host: h, Last: last, UsualGap: gap,
			Silent: gap > 0 && quiet > silentFactor*gap && quiet > minSilence,
		})
	}
	slices.SortFunc(s.Hosts, func(a, b HostSnapshot) int {
		if a.Silent != b.Silent {
			if a.Silent {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Host, b.Host)
	})
	return s
}
