// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// DefaultMaxKeys is the bound on entries per definition when Options
// leaves MaxKeys at 0. An entry takes about 80 bytes (plus 8 per Threshold
// for rare and threshold definitions; measured with Go 1.26's maps), so a
// full first_seen definition holds about 8 MB.
const DefaultMaxKeys = 100_000

// Options tune an Engine.
type Options struct {
	// MaxKeys bounds the values tracked per definition, and separately the
	// subjects in their learning bookkeeping. When full, the least recently
	// observed entry makes room: an evicted value is new again and may be
	// reported as first seen once more (or counted afresh), and an evicted
	// subject starts a new learning period. Stats counts evictions.
	MaxKeys int
	// Now is the clock for events that carry no time; nil means time.Now.
	// Windows and learning periods run on event time, never on this clock.
	Now func() time.Time
}

// Finding is what a definition reports about one event.
type Finding struct {
	Definition string
	Kind       Kind
	Level      Level
	Time       time.Time // the event's time
	EventID    event.ID
	Host       string
	User       string   // the user the event is about, as the event writes it, or ""
	Key        []string // the subject's values, as the event writes them
	Value      []string // the observed values, as the event writes them
	// Count is the sightings within Window counting this one (rare), the
	// events within Window (threshold), or 1 (first_seen).
	Count int
	// Reason is a message id of the i18n catalogue and Args its arguments
	// (name, value pairs): host, user, key and value (parts joined by
	// " / "), count, window ("10m", "24h", "30d") and threshold.
	Reason string
	Args   []any
}

// Stats counts what an Engine did since New (or the last Restore for the
// entries).
type Stats struct {
	Events      uint64 // events given to Observe
	Definitions []DefinitionStats
}

// DefinitionStats counts one definition.
type DefinitionStats struct {
	Name      string
	Observed  uint64 // events the definition observed
	Findings  uint64 // findings reported
	Held      uint64 // findings held back by the learning period
	Values    int    // values tracked now
	Subjects  int    // subjects in learning bookkeeping now
	Evictions uint64 // entries evicted to stay within MaxKeys
}

// Engine keeps the baselines. Observe must be called from one goroutine
// at a time; Stats, Snapshot and Restore may be called from others
// concurrently with it. A mutex guards the state: Observe takes it only
// for events a definition observes, and calls fn after releasing it.
type Engine struct {
	defs     []*compiled
	now      func() time.Time
	maxKeys  int
	slots    slots
	fallback spec // where a finding's user comes from when its fields have none
	events   atomic.Uint64

	// Observe's own scratch space (one goroutine).
	buf     []byte
	vals    []string
	pending []Finding

	mu  sync.Mutex // guards key and every table and counter of defs
	key sipKey
}

// compiled is a validated definition ready to run.
type compiled struct {
	def           Definition
	matches       []match
	key, value    []spec
	learn, window int64
	fp            uint64
	reason        string

	subjects *table // learning starts; nil when Learn is 0
	values   *table

	observed, findings, held uint64
}

// New checks and compiles defs.
func New(defs []Definition, opts Options) (*Engine, error) {
	e := &Engine{now: opts.Now, maxKeys: opts.MaxKeys}
	if e.now == nil {
		e.now = time.Now
	}
	if e.maxKeys <= 0 {
		e.maxKeys = DefaultMaxKeys
	}
	if e.maxKeys > math.MaxInt32/2 {
		return nil, fmt.Errorf("baseline: MaxKeys %d is too large", opts.MaxKeys)
	}
	var errs []error
	seen := map[string]bool{}
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("baseline: definition %q is defined twice", d.Name))
			continue
		}
		seen[d.Name] = true
		c, err := compile(d, &e.slots)
		if err != nil {
			errs = append(errs, fmt.Errorf("baseline: definition %q: %w", d.Name, err))
			continue
		}
		e.reset(c)
		e.defs = append(e.defs, c)
	}
	for _, name := range []string{"User", "TargetUserName", "SubjectUserName"} {
		src, err := e.slots.source(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("baseline: %w", err))
		}
		e.fallback = append(e.fallback, src)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e.vals = make([]string, min(e.slots.n, 64))
	var k [16]byte
	_, _ = rand.Read(k[:]) // never fails (crypto/rand's documented contract)
	e.key = sipKey{binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])}
	return e, nil
}

func compile(d Definition, sl *slots) (*compiled, error) {
	c := &compiled{def: d, learn: int64(d.Learn), window: int64(d.Window), reason: d.reasonID()}
	for _, m := range d.Match {
		cm := match{product: strings.ToLower(m.Product), category: strings.ToLower(m.Category),
			service: strings.ToLower(m.Service)}
		for _, f := range m.Fields {
			cc, err := compileCond(f, sl)
			if err != nil {
				return nil, err
			}
			cm.fields = append(cm.fields, cc)
		}
		for _, f := range m.Except {
			cc, err := compileCond(f, sl)
			if err != nil {
				return nil, err
			}
			cm.except = append(cm.except, cc)
		}
		c.matches = append(c.matches, cm)
	}
	for _, f := range d.Key {
		sp, err := compileSpec(f, sl)
		if err != nil {
			return nil, err
		}
		c.key = append(c.key, sp)
	}
	for _, f := range d.Value {
		sp, err := compileSpec(f, sl)
		if err != nil {
			return nil, err
		}
		c.value = append(c.value, sp)
	}
	c.fp = fingerprint(d)
	return c, nil
}

// fingerprint identifies what a definition's state means: its kind, the
// fields its hashes are made of and the number of times kept per entry. A
// snapshot's state is kept for a definition of the same name and
// fingerprint; a changed match, level, title, learning period or window
// keeps it too.
func fingerprint(d Definition) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%q\x00%q\x00", d.Kind, d.Key, d.Value)
	if d.Kind != FirstSeen {
		fmt.Fprintf(h, "%d", d.Threshold)
	}
	return h.Sum64()
}

// perEntry returns the times kept per value entry.
func (c *compiled) perEntry() int {
	if c.def.Kind == FirstSeen {
		return 0
	}
	return c.def.Threshold
}

// reset gives c empty tables.
func (e *Engine) reset(c *compiled) {
	c.values = newTable(e.maxKeys, c.perEntry())
	c.subjects = nil
	if c.learn > 0 {
		c.subjects = newTable(e.maxKeys, 0)
	}
}

// Definitions returns the engine's definitions, in the order given to New.
func (e *Engine) Definitions() []Definition {
	out := make([]Definition, len(e.defs))
	for i, c := range e.defs {
		out[i] = c.def
	}
	return out
}

// Observe feeds one event to every definition and calls fn (which may be
// nil) for each finding, after the engine's lock is released, so fn may
// call Stats or Snapshot. It allocates nothing for an event no definition
// observes, nor, once the tables have grown, for one that makes no
// finding. Not safe for concurrent calls: one goroutine observes.
func (e *Engine) Observe(ev *event.Event, fn func(Finding)) {
	e.events.Add(1)
	locked := false
	var at int64
	vw := view{ev: ev, vals: e.vals}
	for _, c := range e.defs {
		if !c.applies(&vw) {
			continue
		}
		b, nk, ok := c.parts(&vw, e.buf[:0])
		e.buf = b
		if !ok {
			continue
		}
		if !locked {
			e.mu.Lock()
			locked = true
			at = ev.Time
			if at == 0 {
				at = e.now().UnixNano()
			}
		}
		var hk uint64
		if c.subjects != nil {
			hk = e.key.sum(b[:nk])
		}
		if count, ok := c.observe(at, hk, e.key.sum(b)); ok {
			e.pending = append(e.pending, c.finding(&vw, at, count, e.fallback))
		}
	}
	if !locked {
		return
	}
	e.mu.Unlock()
	for i := range e.pending {
		if fn != nil {
			fn(e.pending[i])
		}
		e.pending[i] = Finding{}
	}
	e.pending = e.pending[:0]
}

// applies reports whether any match of c holds for the event.
func (c *compiled) applies(vw *view) bool {
	for i := range c.matches {
		if c.matches[i].holds(vw) {
			return true
		}
	}
	return false
}

// parts appends the hash input of ev to b: the key parts, then the value
// parts. nk is the length of the key parts; ok is false when ev lacks one.
func (c *compiled) parts(vw *view, b []byte) (_ []byte, nk int, ok bool) {
	for _, sp := range c.key {
		v, user, found := sp.pick(vw)
		if !found {
			return b, 0, false
		}
		b = appendPart(b, v, user)
	}
	nk = len(b)
	for _, sp := range c.value {
		v, user, found := sp.pick(vw)
		if !found {
			return b, 0, false
		}
		b = appendPart(b, v, user)
	}
	return b, nk, true
}

// observe records one sighting at event time at of subject hk and entry hv
// and reports whether it makes a finding, with its count.
func (c *compiled) observe(at int64, hk, hv uint64) (int, bool) {
	c.observed++
	learning := false
	if c.subjects != nil {
		s, _ := c.subjects.sight(hk, at)
		learning = at < addSat(s.first, c.learn)
	}
	var count int
	var ok bool
	switch c.def.Kind {
	case FirstSeen:
		count, ok = c.firstSeen(at, hv)
	case Rare:
		count, ok = c.rare(at, hv)
	case Threshold:
		count, ok = c.threshold(at, hv, learning)
	}
	if !ok {
		return 0, false
	}
	if learning {
		c.held++
		return 0, false
	}
	c.findings++
	return count, true
}

// firstSeen: a value is new when it is not in the table, or, with a
// window, was last seen longer ago than that.
func (c *compiled) firstSeen(at int64, hv uint64) (int, bool) {
	v, _, ok := c.values.get(hv)
	if !ok {
		c.values.sight(hv, at)
		return 1, true
	}
	stale := c.window > 0 && at > addSat(v.last, c.window)
	v.last = max(v.last, at)
	return 1, stale
}

// rare: a value is rare while fewer than Threshold of its kept sightings
// are later than one window before this one. Sightings after this one
// (events out of order) count too: they are already known.
func (c *compiled) rare(at int64, hv uint64) (int, bool) {
	_, i := c.values.sight(hv, at)
	n := c.values.since(i, addSat(at, -c.window))
	c.values.record(i, at)
	return n + 1, n < c.def.Threshold
}

// threshold: a subject fires when its latest Threshold events fit in one
// window, then stays quiet until one window after the latest of them.
// While learning it neither fires nor goes quiet.
func (c *compiled) threshold(at int64, hv uint64, learning bool) (int, bool) {
	v, i := c.values.sight(hv, at)
	c.values.record(i, at)
	ts := c.values.times(i)
	if len(ts) < c.def.Threshold {
		return 0, false
	}
	latest := ts[len(ts)-1]
	if latest-ts[0] >= c.window || latest < v.quiet {
		return 0, false
	}
	if !learning {
		v.quiet = addSat(latest, c.window)
	}
	return len(ts), true
}

// addSat returns a+b, stopping at the int64 limits.
func addSat(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

// finding builds the finding of c for the event (the slow path: it
// allocates). fallback names where its user comes from when the
// definition's own fields hold no user name.
func (c *compiled) finding(vw *view, at int64, count int, fallback spec) Finding {
	ev := vw.ev
	f := Finding{
		Definition: c.def.Name, Kind: c.def.Kind, Level: c.def.Level, Time: time.Unix(0, at).UTC(),
		EventID: ev.ID, Host: ev.Host, Count: count, Reason: c.reason,
	}
	raw := func(specs []spec) []string {
		out := make([]string, 0, len(specs))
		for _, sp := range specs {
			v, user, _ := sp.pick(vw)
			if user && f.User == "" {
				f.User = v
			}
			out = append(out, v)
		}
		return out
	}
	f.Key, f.Value = raw(c.key), raw(c.value)
	if f.User == "" {
		f.User, _, _ = fallback.pick(vw)
	}
	f.Args = []any{
		"host", f.Host, "user", f.User, "key", strings.Join(f.Key, " / "), "value", strings.Join(f.Value, " / "),
		"count", count, "window", shortDuration(c.def.Window), "threshold", c.def.Threshold,
	}
	return f
}

// shortDuration writes d in its largest whole unit: 30d, 24h, 10m, 45s.
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// Stats returns the counters; safe to call while Observe runs.
func (e *Engine) Stats() Stats {
	st := Stats{Events: e.events.Load(), Definitions: make([]DefinitionStats, len(e.defs))}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.defs {
		ds := DefinitionStats{
			Name: c.def.Name, Observed: c.observed, Findings: c.findings, Held: c.held,
			Values: c.values.len(), Evictions: c.values.evictions,
		}
		if c.subjects != nil {
			ds.Subjects = c.subjects.len()
			ds.Evictions += c.subjects.evictions
		}
		st.Definitions[i] = ds
	}
	return st
}
