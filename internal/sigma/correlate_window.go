// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"cmp"
	"container/heap"
	"math"
	"slices"

	"github.com/koban-csirt/koban/internal/event"
)

// noTime marks a temporal position not seen yet.
const noTime = math.MinInt64

// group is the window of one correlation for one group-by key.
type window struct {
	k          *corr
	key        string
	vals       []string
	prev, next *window // the correlation's LRU list
	hidx       int     // index in the deadline heap; -1 when not in it
	start      int64   // deferred: when the window began
	first, max int64   // earliest and latest input time
	// event_count, value_sum (sliding): inputs in time order.
	ents  []entry
	total float64 // sum of the inputs' values (1 per event for event_count)
	n     float64 // inputs counted (deferred event_count, value_sum, value_avg)
	// value_count: each value's latest time; vq lists (time, value) in
	// time order for expiry, with stale entries compacted away.
	vset map[string]int64
	vq   []vent
	// temporal: latest time each position was seen.
	seen []int64
	// temporal_ordered: per prefix of the rules, the chain completing it
	// with the latest start.
	chain []span
	// the latest contributing events.
	ids []idAt
}

type entry struct {
	t int64
	x float64
}

type vent struct {
	t int64
	v string
}

type span struct{ start, end int64 }

type idAt struct {
	t  int64
	id event.ID
}

// input is one match of a rule, or one firing of a correlation, entering a
// correlation.
type input struct {
	t   int64
	ev  *event.Event // nil when a correlation fired on the clock
	id  event.ID     // the matched event (src == nil)
	src *firing      // the correlation that fired
}

// firing is a correlation match fed to the correlations referring to it.
type firing struct {
	names, vals []string // group-by names and values
	ids         []event.ID
}

// Observe takes one detection match: m matched ev. It calls fn for each
// correlation that fires, its chained correlations included (fn may keep
// the match but must not modify it). Matches of rules no correlation
// refers to only advance the clock.
func (cr *Correlator) Observe(m Match, ev *event.Event, fn func(CorrelationMatch)) {
	if ev == nil {
		return
	}
	if ev.Time > cr.clock {
		cr.clock = ev.Time
	}
	cr.expire(fn)
	fs := cr.byRule[m.Rule]
	if len(fs) == 0 {
		return
	}
	in := input{t: ev.Time, ev: ev, id: ev.ID}
	for _, f := range fs {
		cr.add(f, &in, fn)
		cr.sweep(f.c, 2)
	}
}

// Advance moves the clock to now (event time, Unix nanoseconds) when it is
// later, evaluates the windows that ended by then and forgets expired
// groups. The detector calls it from time to time, so that windows of
// upper-bounded conditions close without further events, and with
// math.MaxInt64 at the end of an offline scan.
func (cr *Correlator) Advance(now int64, fn func(CorrelationMatch)) {
	if now > cr.clock {
		cr.clock = now
	}
	cr.expire(fn)
	for _, k := range cr.corrs {
		cr.sweep(k, k.n)
	}
}

// expire closes the windows that ended before the clock.
func (cr *Correlator) expire(fn func(CorrelationMatch)) {
	for len(cr.heap) > 0 {
		g := cr.heap[0]
		if !after(cr.clock, g.start, g.k.ts) {
			return
		}
		cr.close(g, fn)
	}
}

// sweep forgets up to limit of k's least recently updated groups whose
// inputs are all older than the timespan.
func (cr *Correlator) sweep(k *corr, limit int) {
	if k.deferred {
		return // closed by expire
	}
	for range limit {
		g := k.lru.prev
		if g == &k.lru || !after(cr.clock, g.max, k.ts) {
			return
		}
		k.remove(cr, g)
	}
}

func (cr *Correlator) lookup(name string, in *input) (string, bool) {
	if in.src != nil {
		if i := slices.Index(in.src.names, name); i >= 0 {
			return in.src.vals[i], true
		}
	}
	if in.ev != nil {
		return in.ev.Lookup(name)
	}
	return "", false
}

// add counts one input in f's correlation.
func (cr *Correlator) add(f *feed, in *input, fn func(CorrelationMatch)) {
	k := f.c
	vals := cr.vals[:0]
	key := cr.key[:0]
	for _, name := range f.fields {
		v, ok := cr.lookup(name, in)
		if !ok {
			cr.stats.Incomplete++
			return
		}
		vals = append(vals, v)
		key = appendKey(key, v)
	}
	cr.vals, cr.key = vals, key
	x, sv := 1.0, ""
	if f.value != "" && k.typ != ctEventCount && k.typ != ctTemporal && k.typ != ctOrdered {
		v, ok := cr.lookup(f.value, in)
		if ok && k.typ != ctValueCount {
			x, ok = parseNumber(v)
			ok = ok && !math.IsInf(x, 0) && !math.IsNaN(x)
		}
		if !ok {
			cr.stats.Incomplete++
			return
		}
		sv = v
	}
	g := k.groups[string(key)]
	if g != nil && k.deferred && after(in.t, g.start, k.ts) {
		// The input is past the window: close it first. Closing may feed
		// other correlations, which reuses the scratch key and values.
		gkey, gvals := g.key, g.vals
		cr.close(g, fn)
		g = k.newGroup(cr, gkey, gvals, in.t)
	}
	switch {
	case g == nil:
		g = k.newGroup(cr, string(key), slices.Clone(vals), in.t)
	case !k.deferred && after(g.max, in.t, k.ts), k.deferred && after(g.start, in.t, k.ts):
		cr.stats.Late++
		return
	default:
		k.touch(g)
	}
	g.record(in, x, sv, f.pos, &cr.o)
	if k.deferred {
		return
	}
	cutoff := satSub(g.max, k.ts)
	g.prune(cutoff)
	if n, first, ok := g.count(cutoff); ok && k.holds(n) {
		cr.fire(g, n, first, in.ev, fn)
	}
}

// close evaluates a deferred group's window and forgets the group.
func (cr *Correlator) close(g *window, fn func(CorrelationMatch)) {
	if n, first, ok := g.count(noTime); ok && g.k.holds(n) {
		cr.fire(g, n, first, nil, fn)
		return
	}
	g.k.remove(cr, g)
}

// fire reports g's correlation as matching, empties or forgets g (so the
// next match needs new inputs) and feeds the correlations that refer to it.
func (cr *Correlator) fire(g *window, n float64, first int64, ev *event.Event, fn func(CorrelationMatch)) {
	k := g.k
	m := CorrelationMatch{Rule: k.rule, Group: g.vals, Count: n, First: first, Last: g.max}
	for _, e := range g.ids {
		if e.t >= first {
			m.Events = append(m.Events, e.id)
		}
	}
	if k.deferred {
		k.remove(cr, g)
	} else {
		g.clear() // kept, with its storage, until it expires
	}
	cr.stats.Fired++
	if !k.silent && fn != nil {
		fn(m)
	}
	if len(k.out) == 0 {
		return
	}
	in := input{t: m.Last, ev: ev, src: &firing{names: k.def.GroupBy, vals: m.Group, ids: m.Events}}
	for _, f := range k.out {
		cr.add(f, &in, fn)
		cr.sweep(f.c, 2)
	}
}

// newGroup starts a group at t, dropping the least recently updated one
// when k has MaxGroups.
func (k *corr) newGroup(cr *Correlator, key string, vals []string, t int64) *window {
	if k.n >= cr.o.MaxGroups {
		k.remove(cr, k.lru.prev)
		cr.stats.Evicted++
	}
	g := &window{k: k, key: key, vals: vals, hidx: -1, start: t, first: t, max: t}
	switch k.typ {
	case ctValueCount:
		g.vset = map[string]int64{}
	case ctTemporal:
		g.seen = make([]int64, k.npos)
		for i := range g.seen {
			g.seen[i] = noTime
		}
	case ctOrdered:
		g.chain = make([]span, k.npos)
		for i := range g.chain {
			g.chain[i] = span{noTime, noTime}
		}
	}
	k.link(cr, g)
	return g
}

// link adds g to k's map, LRU list (as the most recent) and, when k is
// deferred, the deadline heap.
func (k *corr) link(cr *Correlator, g *window) {
	k.groups[g.key] = g
	k.n++
	g.prev, g.next = &k.lru, k.lru.next
	g.next.prev, k.lru.next = g, g
	if k.deferred {
		heap.Push(&cr.heap, g)
	}
}

// touch makes g the most recently updated group.
func (k *corr) touch(g *window) {
	if k.lru.next == g {
		return
	}
	g.prev.next, g.next.prev = g.next, g.prev
	g.prev, g.next = &k.lru, k.lru.next
	g.next.prev, k.lru.next = g, g
}

func (k *corr) remove(cr *Correlator, g *window) {
	delete(k.groups, g.key)
	k.n--
	g.prev.next, g.next.prev = g.next, g.prev
	g.prev, g.next = nil, nil
	if g.hidx >= 0 {
		heap.Remove(&cr.heap, g.hidx)
	}
}

// clear empties a sliding window after it fired. The group-by values stay:
// the match just made shares them.
func (g *window) clear() {
	g.ents, g.total, g.n = g.ents[:0], 0, 0
	clear(g.vset)
	g.vq = g.vq[:0]
	for i := range g.seen {
		g.seen[i] = noTime
	}
	for i := range g.chain {
		g.chain[i] = span{noTime, noTime}
	}
	g.ids = g.ids[:0]
	g.first = g.max
}

// record counts one input.
func (g *window) record(in *input, x float64, sv string, pos []int, o *CorrelatorOptions) {
	k, t := g.k, in.t
	g.first, g.max = min(g.first, t), max(g.max, t)
	switch k.typ {
	case ctEventCount, ctSum, ctAvg:
		g.total += x
		g.total = max(min(g.total, math.MaxFloat64), -math.MaxFloat64)
		g.n++
		if !k.deferred {
			i := len(g.ents)
			for i > 0 && g.ents[i-1].t > t {
				i--
			}
			g.ents = slices.Insert(g.ents, i, entry{t, x})
			if len(g.ents) > o.MaxValues {
				g.ents = mergePairs(g.ents)
			}
		}
	case ctValueCount:
		last, ok := g.vset[sv]
		if !ok && len(g.vset) >= o.MaxValues {
			if k.deferred {
				break // the count stays at MaxValues, above every condition bound
			}
			g.evictOldestValue()
		}
		if !ok || t > last {
			g.vset[sv] = t
		}
		if !k.deferred {
			i := len(g.vq)
			for i > 0 && g.vq[i-1].t > t {
				i--
			}
			g.vq = slices.Insert(g.vq, i, vent{t, sv})
			if len(g.vq) > 2*len(g.vset)+16 {
				g.compactValues()
			}
		}
	case ctTemporal:
		for _, p := range pos {
			g.seen[p] = max(g.seen[p], t)
		}
	case ctOrdered:
		for _, p := range pos { // descending, so one input fills one position
			c := span{t, t}
			if p > 0 {
				prev := g.chain[p-1]
				if prev.start == noTime || prev.end > t || after(t, prev.start, k.ts) {
					continue
				}
				c.start = prev.start
			}
			if cur := g.chain[p]; c.start > cur.start || c.start == cur.start && c.end < cur.end {
				g.chain[p] = c
			}
		}
	}
	if in.src != nil {
		for _, id := range in.src.ids {
			g.pushID(t, id, o.MaxEvents)
		}
	} else {
		g.pushID(t, in.id, o.MaxEvents)
	}
}

func (g *window) pushID(t int64, id event.ID, limit int) {
	if len(g.ids) >= limit {
		copy(g.ids, g.ids[1:])
		g.ids = g.ids[:len(g.ids)-1]
	}
	g.ids = append(g.ids, idAt{t, id})
}

// mergePairs halves a window by merging neighbouring entries, keeping the
// later time (so a merged entry expires with its newer half).
func mergePairs(ents []entry) []entry {
	j := 0
	for i := 0; i < len(ents); i += 2 {
		e := ents[i]
		if i+1 < len(ents) {
			e = entry{ents[i+1].t, e.x + ents[i+1].x}
		}
		ents[j] = e
		j++
	}
	return ents[:j]
}

// evictOldestValue forgets the value seen longest ago.
func (g *window) evictOldestValue() {
	for range 2 {
		for len(g.vq) > 0 {
			e := g.vq[0]
			g.vq = g.vq[1:]
			if t, ok := g.vset[e.v]; ok && t == e.t {
				delete(g.vset, e.v)
				return
			}
		}
		g.compactValues() // the queue had no live entry (a restored state)
	}
}

// compactValues rebuilds the expiry queue from the value set.
func (g *window) compactValues() {
	g.vq = g.vq[:0:0]
	for v, t := range g.vset {
		g.vq = append(g.vq, vent{t, v})
	}
	slices.SortFunc(g.vq, func(a, b vent) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.v, b.v)
	})
}

// prune drops a sliding window's inputs before cutoff.
func (g *window) prune(cutoff int64) {
	i := 0
	for i < len(g.ents) && g.ents[i].t < cutoff {
		g.total -= g.ents[i].x
		i++
	}
	if i > 0 {
		g.ents = g.ents[i:]
		if len(g.ents) == 0 {
			g.ents, g.total = nil, 0
		}
	}
	i = 0
	for i < len(g.vq) && g.vq[i].t < cutoff {
		if t, ok := g.vset[g.vq[i].v]; ok && t <= g.vq[i].t {
			delete(g.vset, g.vq[i].v)
		}
		i++
	}
	if i > 0 {
		g.vq = g.vq[i:]
	}
	i = 0
	for i < len(g.ids) && g.ids[i].t < cutoff {
		i++
	}
	if i > 0 {
		g.ids = append(g.ids[:0], g.ids[i:]...)
	}
}

// count returns what the condition is evaluated on over the inputs at or
// after cutoff, and the earliest of them; ok is false when none counts.
func (g *window) count(cutoff int64) (n float64, first int64, ok bool) {
	k := g.k
	switch k.typ {
	case ctEventCount, ctSum:
		if k.deferred {
			return g.total, g.first, g.n > 0
		}
		if len(g.ents) == 0 {
			return 0, 0, false
		}
		return g.total, g.ents[0].t, true
	case ctAvg:
		if g.n == 0 {
			return 0, 0, false
		}
		return g.total / g.n, g.first, true
	case ctValueCount:
		if len(g.vset) == 0 {
			return 0, 0, false
		}
		if k.deferred || len(g.vq) == 0 {
			return float64(len(g.vset)), g.first, true
		}
		return float64(len(g.vset)), g.vq[0].t, true
	case ctTemporal:
		first = math.MaxInt64
		for _, t := range g.seen {
			if t != noTime && t >= cutoff {
				n++
				first = min(first, t)
			}
		}
		return n, first, n > 0
	case ctOrdered:
		for i := len(g.chain) - 1; i >= 0; i-- {
			if c := g.chain[i]; c.start != noTime && c.start >= cutoff {
				return float64(i + 1), c.start, true
			}
		}
	}
	return 0, 0, false
}

// deadlines orders deferred groups by the end of their window.
type deadlines []*window

func (d deadlines) Len() int { return len(d) }
func (d deadlines) Less(i, j int) bool {
	return satAdd(d[i].start, d[i].k.ts) < satAdd(d[j].start, d[j].k.ts)
}

// after reports whether t is more than ts after start, without overflow.
func after(t, start, ts int64) bool {
	return t > start && uint64(t)-uint64(start) > uint64(ts)
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satSub(a, b int64) int64 {
	if a < noTime+1+b {
		return noTime + 1
	}
	return a - b
}
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].hidx, d[j].hidx = i, j
}
func (d *deadlines) Push(x any) {
	g := x.(*window)
	g.hidx = len(*d)
	*d = append(*d, g)
}
func (d *deadlines) Pop() any {
	old := *d
	g := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	g.hidx = -1
	return g
}
