// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"cmp"
	"slices"

	"github.com/koban-csirt/koban/internal/event"
)

// A Correlator evaluates correlation rules over the stream of detection
// matches. The detector calls Observe for every match of a detection rule;
// the Correlator keeps, per correlation and group-by key, the window of
// recent inputs and calls back when a correlation's condition holds.
//
// # Windows and when a correlation fires
//
// Times are event times (Unix nanoseconds). "Within the timespan" means the
// first and last input counted are at most Timespan apart.
//
// A condition with only lower bounds (gt, gte: the usual "at least N") is
// evaluated on a sliding window as each input arrives: the correlation
// fires as soon as the inputs of the last Timespan satisfy it. A condition
// with an upper bound (lt, lte, eq, neq, such as the range gt 100, lte 200)
// and every value_avg can only be decided once the window is complete: the
// window starts at a group's first input, ends Timespan later, and is
// evaluated when the Correlator's clock (the latest event time seen, or the
// time given to Advance) passes its end.
//
// After firing, the group's window is emptied: the next match for the same
// group needs the condition to hold again on later inputs. A burst of 1,000
// failed logins under "gte: 10" yields 100 matches, not 991; the alert
// layer groups them.
//
// Counts: event_count counts inputs; value_count the distinct values of the
// condition field; value_sum and value_avg sum and average its numeric
// values (inputs without a number are ignored); temporal counts the
// referenced rules seen; temporal_ordered counts the longest prefix of the
// rules seen in order (so the default condition, all rules, means the whole
// sequence). value_percentile is not supported.
//
// Inputs may arrive somewhat out of order: an input older than the group's
// latest input by more than Timespan is dropped (counted in Stats.Late).
// temporal_ordered orders by event time; equal times count as in order.
//
// # Groups and chains
//
// Group-by values are read from the matched event (through the
// correlation's aliases for the matched rule's name). An input whose event
// lacks a group-by field, or the condition field of a value_* correlation,
// is not counted. A correlation referring to another correlation receives
// each firing of it as one input, at its Last time, reading group-by fields
// from the firing's group values and else from the event that made it fire.
//
// Correlations and rules referenced only by correlations whose generate is
// false do not alert on their own (Sigma's "generate" attribute): the
// Correlator never passes their matches to fn, and Silent tells the
// detector to drop the plain matches of such detection rules.
//
// A Correlator is not safe for concurrent use: one goroutine calls Observe,
// Advance, Snapshot and Restore.
type Correlator struct {
	o      CorrelatorOptions
	corrs  []*corr
	byRule map[*Rule][]*feed
	silent map[*Rule]bool
	clock  int64 // the latest event time seen
	heap   deadlines
	stats  CorrelatorStats
	// scratch for the group key and values of one input; recursion into
	// chained correlations overwrites them, so callers copy what they keep.
	key  []byte
	vals []string
}

// CorrelatorOptions bound the memory of a Correlator. Zero values take the
// defaults.
type CorrelatorOptions struct {
	// MaxGroups bounds the live group-by keys per correlation; past it the
	// least recently updated group is dropped. Default 100,000.
	MaxGroups int
	// MaxValues bounds what one group keeps: distinct values for
	// value_count, window entries for event_count and value_sum (past it,
	// neighbouring entries are merged, so expiry becomes approximate).
	// Default 10,000.
	MaxValues int
	// MaxEvents bounds the event ids a group keeps for
	// CorrelationMatch.Events (the latest). Default 50.
	MaxEvents int
}

// The default bounds.
const (
	DefaultMaxGroups = 100_000
	DefaultMaxValues = 10_000
	DefaultMaxEvents = 50
)

// CorrelationMatch is one firing of a correlation rule.
type CorrelationMatch struct {
	Rule *Rule
	// Group holds the group-by values, in the order of the rule's group-by.
	Group []string
	// Count is what the condition was evaluated on: events, distinct
	// values, rules seen, or the sum or average of the field.
	Count float64
	// First and Last are the times of the earliest and latest input
	// counted (for a chained correlation, the time its input fired).
	First, Last int64
	// Events are the contributing events, at most MaxEvents, the latest.
	Events []event.ID
}

// CorrelatorStats are counters of a Correlator since it was built.
type CorrelatorStats struct {
	Correlations int    // correlations being evaluated
	Groups       int    // live groups over all correlations
	Fired        uint64 // correlation matches, including silent ones
	Evicted      uint64 // groups dropped at MaxGroups before their window ended
	Late         uint64 // inputs older than their group's window
	Incomplete   uint64 // inputs lacking a group-by or condition field
}

type corrType uint8

const (
	ctEventCount corrType = iota
	ctValueCount
	ctTemporal
	ctOrdered
	ctSum
	ctAvg
)

var corrTypes = map[string]corrType{
	"event_count": ctEventCount, "value_count": ctValueCount, "temporal": ctTemporal,
	"temporal_ordered": ctOrdered, "value_sum": ctSum, "value_avg": ctAvg,
}

// corr is one correlation being evaluated.
type corr struct {
	rule     *Rule
	def      *Correlation
	typ      corrType
	ts       int64
	deferred bool // decided when the window closes, not on each input
	silent   bool
	npos     int // positions (rules) for the temporal types
	cond     []bound
	groups   map[string]*window
	lru      window // sentinel: lru.next is the most recently updated
	n        int
	out      []*feed // correlations this one feeds
}

// feed is how matches of one rule (or firings of one correlation) enter a
// correlation.
type feed struct {
	c      *corr
	pos    []int    // the rule's positions in c.def.Rules, descending
	fields []string // event field of each group-by entry
	value  string   // event field of the condition (value_* types)
}

// NewCorrelator prepares the correlations among rules, which holds every
// parsed rule: the detection rules and correlations refer to each other by
// id or name. A correlation with a problem (an unknown or ambiguous
// reference, a loop, a bad alias, an unsupported type) is left out with a
// Problem, as is one that refers to a correlation left out; the others
// work.
func NewCorrelator(rules []*Rule, o CorrelatorOptions) (*Correlator, []*Problem) {
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxValues <= 0 {
		o.MaxValues = DefaultMaxValues
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	cr := &Correlator{o: o, byRule: map[*Rule][]*feed{}, silent: map[*Rule]bool{}}
	refs := map[string][]*Rule{}
	var list []*Rule
	for _, r := range rules {
		if r == nil {
			continue
		}
		for _, k := range []string{r.ID, r.Name} {
			if k != "" && !slices.Contains(refs[k], r) {
				refs[k] = append(refs[k], r)
			}
		}
		if r.Kind == KindCorrelation && r.Correlation != nil {
			list = append(list, r)
		}
	}
	res := &resolver{refs: refs, o: &o, targets: map[*Rule][]*Rule{}, bad: map[*Rule]bool{}}
	for _, r := range list {
		res.check(r)
	}
	res.loops(list)
	// A correlation is left out when one it refers to is.
	for changed := true; changed; {
		changed = false
		for _, r := range list {
			if res.bad[r] {
				continue
			}
			for _, t := range res.targets[r] {
				if t.Kind == KindCorrelation && res.bad[t] {
					res.fail(r, "sigmacorr.broken_ref", false, "ref", t.Ref())
					changed = true
					break
				}
			}
		}
	}
	byRule := map[*Rule]*corr{}
	referenced, generated := map[*Rule]bool{}, map[*Rule]bool{}
	for _, r := range list {
		if res.bad[r] {
			continue
		}
		k := newCorr(r, o)
		byRule[r] = k
		cr.corrs = append(cr.corrs, k)
		for _, t := range res.targets[r] {
			referenced[t] = true
			if r.Correlation.Generate {
				generated[t] = true
			}
		}
	}
	for _, k := range cr.corrs {
		done := map[*Rule]bool{}
		for _, t := range res.targets[k.rule] {
			if done[t] {
				continue
			}
			done[t] = true
			f := k.feedOf(t)
			if src := byRule[t]; src != nil {
				src.out = append(src.out, f)
			} else {
				cr.byRule[t] = append(cr.byRule[t], f)
			}
		}
	}
	for r := range referenced {
		if !generated[r] {
			cr.silent[r] = true
		}
	}
	for _, k := range cr.corrs {
		k.silent = cr.silent[k.rule]
	}
	cr.stats.Correlations = len(cr.corrs)
	return cr, res.probs
}

func newCorr(r *Rule, o CorrelatorOptions) *corr {
	d := r.Correlation
	k := &corr{rule: r, def: d, typ: corrTypes[d.Type], ts: int64(d.Timespan), npos: len(d.Rules), groups: map[string]*window{}}
	k.lru.next, k.lru.prev = &k.lru, &k.lru
	for _, op := range sortedKeys(d.Condition) {
		k.cond = append(k.cond, bound{op, d.Condition[op]})
		if op != "gt" && op != "gte" {
			k.deferred = true
		}
	}
	if k.typ == ctAvg {
		k.deferred = true
	}
	return k
}

// feedOf returns how matches of t enter k: its positions and the fields
// its events give the group-by and condition values in.
func (k *corr) feedOf(t *Rule) *feed {
	f := &feed{c: k}
	for i := len(k.def.Rules) - 1; i >= 0; i-- {
		ref := k.def.Rules[i]
		if ref == t.ID || ref == t.Name {
			f.pos = append(f.pos, i)
		}
	}
	field := func(name string) string {
		if m := k.def.Aliases[name]; m != nil {
			for _, key := range []string{t.Name, t.ID} {
				if v, ok := m[key]; ok && key != "" {
					return v
				}
			}
		}
		return name
	}
	for _, g := range k.def.GroupBy {
		f.fields = append(f.fields, field(g))
	}
	if k.def.Field != "" {
		f.value = field(k.def.Field)
	}
	return f
}

// Silent reports whether r's own matches should not alert: r is referenced
// by correlations, all of which have generate: false.
func (cr *Correlator) Silent(r *Rule) bool { return cr.silent[r] }

// Len returns how many correlations are evaluated.
func (cr *Correlator) Len() int { return len(cr.corrs) }

// Stats returns the Correlator's counters.
func (cr *Correlator) Stats() CorrelatorStats {
	s := cr.stats
	s.Groups = 0
	for _, k := range cr.corrs {
		s.Groups += k.n
	}
	return s
}

// resolver checks correlations' references.
type resolver struct {
	refs    map[string][]*Rule
	o       *CorrelatorOptions
	targets map[*Rule][]*Rule // resolved references in order
	bad     map[*Rule]bool
	probs   []*Problem
}

func (res *resolver) fail(r *Rule, msg string, unsupported bool, args ...any) {
	res.bad[r] = true
	res.probs = append(res.probs, &Problem{File: r.File, Pos: corrPos(r), Rule: r.Ref(), Msg: msg, Args: args, Unsupported: unsupported})
}

func corrPos(r *Rule) Pos {
	if r.Correlation != nil && r.Correlation.Pos.Line > 0 {
		return r.Correlation.Pos
	}
	return Pos{Line: r.Line, Col: 1}
}

// check resolves r's rules and checks what does not depend on other
// correlations.
func (res *resolver) check(r *Rule) {
	d := r.Correlation
	typ, ok := corrTypes[d.Type]
	switch {
	case d.Type == "value_percentile":
		res.fail(r, "sigmacorr.unsupported_type", true, "type", d.Type)
		return
	case !ok:
		res.fail(r, "sigma.corr.bad_type", false, "value", d.Type)
		return
	case d.Timespan <= 0:
		res.fail(r, "sigmacorr.no_timespan", false)
		return
	case len(d.Rules) == 0:
		res.fail(r, "sigma.missing", false, "key", "correlation.rules")
		return
	}
	for _, g := range d.GroupBy {
		if g == "" {
			res.fail(r, "sigmacorr.empty_group_by", false)
			return
		}
	}
	if typ != ctEventCount && typ != ctTemporal && typ != ctOrdered && d.Field == "" {
		res.fail(r, "sigma.missing", false, "key", "correlation.condition.field")
		return
	}
	if typ == ctValueCount {
		for _, b := range d.Condition {
			if b >= float64(res.o.MaxValues) {
				res.fail(r, "sigmacorr.too_many_values", true, "max", res.o.MaxValues)
				return
			}
		}
	}
	var targets []*Rule
	for _, ref := range d.Rules {
		rs := res.refs[ref]
		switch {
		case len(rs) == 0:
			res.fail(r, "sigmacorr.unknown_rule", false, "ref", ref)
			return
		case len(rs) > 1:
			res.fail(r, "sigmacorr.ambiguous_rule", false, "ref", ref)
			return
		case rs[0].Kind == KindFilter:
			res.fail(r, "sigmacorr.not_a_rule", false, "ref", ref)
			return
		case rs[0] == r:
			res.fail(r, "sigmacorr.cycle", false, "ref", ref)
			return
		}
		if typ == ctTemporal && slices.Contains(targets, rs[0]) {
			res.fail(r, "sigmacorr.duplicate_rule", false, "ref", ref)
			return
		}
		targets = append(targets, rs[0])
	}
	for _, alias := range sortedKeys(d.Aliases) {
		for _, name := range sortedKeys(d.Aliases[alias]) {
			found := false
			for _, t := range targets {
				if name != "" && (name == t.Name || name == t.ID) {
					found = true
				}
			}
			if !found {
				res.fail(r, "sigmacorr.alias_rule", false, "alias", alias, "rule", name)
				return
			}
			if d.Aliases[alias][name] == "" {
				res.fail(r, "sigmacorr.alias_field", false, "alias", alias, "rule", name)
				return
			}
		}
	}
	res.targets[r] = targets
}

// loops leaves out correlations that refer to themselves through others.
func (res *resolver) loops(list []*Rule) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Rule]int{}
	var visit func(r *Rule, path []*Rule)
	visit = func(r *Rule, path []*Rule) {
		color[r] = grey
		path = append(path, r)
		for _, t := range res.targets[r] {
			if t.Kind != KindCorrelation {
				continue
			}
			switch color[t] {
			case grey:
				i := slices.Index(path, t)
				for _, m := range path[i:] {
					if !res.bad[m] {
						res.fail(m, "sigmacorr.cycle", false, "ref", t.Ref())
					}
				}
			case white:
				visit(t, path)
			}
		}
		color[r] = black
	}
	for _, r := range list {
		if color[r] == white && !res.bad[r] {
			visit(r, nil)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}

// bound is one comparison of a correlation's condition.
type bound struct {
	op string
	b  float64
}

// holds is Correlation.Holds over the prepared bounds.
func (k *corr) holds(n float64) bool {
	for _, c := range k.cond {
		if c.op == "neq" {
			if n == c.b {
				return false
			}
		} else if !compare(n, c.op, c.b) {
			return false
		}
	}
	return true
}
