// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/koban-csirt/koban/internal/event"
)

// Match is one rule that matched an event.
type Match struct {
	Rule *Rule
	// Index is the rule's index in the Ruleset.
	Index int
}

// KeyFields returns the event fields the rule's predicates name, in rule
// order, for showing what matched.
func (rs *Ruleset) KeyFields(i int) []string { return rs.rules[i].keys }

// Matcher evaluates events against a Ruleset. It is not safe for
// concurrent use: give each goroutine its own (they share the Ruleset).
type Matcher struct {
	rs     *Ruleset
	gen    uint32
	st     []groupState
	groups map[event.LogSource][]int32
	lastLS event.LogSource
	lastG  []int32
	ev     *event.Event
	low    []byte // lowered values of this event
	cand   []int32
}

type groupState struct {
	atomGen []uint32 // literal atoms: true when = gen; others: evaluated
	atomVal []bool
	ruleGen []uint32
	slotGen []uint32
	slotIdx []int32 // index in ev.Fields
	lowGen  []uint32
	lowOff  []int32
	lowEnd  []int32
}

// maxGroupCache bounds the logsource combinations a Matcher remembers.
const maxGroupCache = 4096

// NewMatcher returns a Matcher for rs.
func (rs *Ruleset) NewMatcher() *Matcher {
	m := &Matcher{rs: rs, st: make([]groupState, len(rs.groups)), groups: map[event.LogSource][]int32{}}
	for i, g := range rs.groups {
		n, s := len(g.atoms), len(g.slotNames)
		m.st[i] = groupState{
			atomGen: make([]uint32, n), atomVal: make([]bool, n),
			ruleGen: make([]uint32, len(g.rules)),
			slotGen: make([]uint32, s), slotIdx: make([]int32, s),
			lowGen: make([]uint32, s), lowOff: make([]int32, s), lowEnd: make([]int32, s),
		}
	}
	m.lastG = m.groupsOf(event.LogSource{})
	return m
}

// groupsOf returns the groups whose rules apply to an event logsource.
func (m *Matcher) groupsOf(ls event.LogSource) []int32 {
	if gs, ok := m.groups[ls]; ok {
		return gs
	}
	var gs []int32
	for i, g := range m.rs.groups {
		if m.rs.applies(event.LogSource{Product: g.ls.Product, Category: g.ls.Category, Service: g.ls.Service}, ls) {
			gs = append(gs, int32(i))
		}
	}
	if len(m.groups) >= maxGroupCache {
		clear(m.groups)
	}
	m.groups[ls] = gs
	return gs
}

// Match calls fn for each rule ev matches, in Ruleset order within each
// logsource group. fn must not keep the Match's event.
func (m *Matcher) Match(ev *event.Event, fn func(Match)) {
	gs := m.lastG
	if ev.Log != m.lastLS {
		gs = m.groupsOf(ev.Log)
		m.lastLS, m.lastG = ev.Log, gs
	}
	m.ev = ev
	for _, gi := range gs {
		m.matchGroup(gi, fn)
	}
	m.ev = nil
}

func (m *Matcher) nextGen() {
	m.gen++
	if m.gen == 0 {
		for i := range m.st {
			st := &m.st[i]
			clear(st.atomGen)
			clear(st.ruleGen)
			clear(st.slotGen)
			clear(st.lowGen)
		}
		m.gen = 1
	}
}

func (m *Matcher) matchGroup(gi int32, fn func(Match)) {
	g := m.rs.groups[gi]
	st := &m.st[gi]
	m.nextGen()
	gen := m.gen
	m.low = m.low[:0]
	m.cand = m.cand[:0]
	ev := m.ev
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if g.kw != nil {
			m.scanSlot(g, st, g.kw, f.Value, -1)
		}
		if int(f.ID) >= len(g.slotOf) {
			continue
		}
		s := g.slotOf[f.ID]
		if s < 0 {
			continue
		}
		st.slotGen[s] = gen
		st.slotIdx[s] = int32(i)
		m.scanSlot(g, st, &g.slots[s], f.Value, s)
	}
	for _, r := range g.always {
		if st.ruleGen[r] != gen {
			st.ruleGen[r] = gen
			m.cand = append(m.cand, r)
		}
	}
	if len(m.cand) > 1 {
		sortInt32(m.cand)
	}
	for _, r := range m.cand {
		ri := g.rules[r]
		if m.eval(g, st, m.rs.rules[ri].root) {
			fn(Match{Rule: m.rs.rules[ri].rule, Index: int(ri)})
		}
	}
}

func sortInt32(a []int32) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// setAtom records that literal atom a holds and queues the rules it gates.
func (m *Matcher) setAtom(g *group, st *groupState, a int32) {
	if st.atomGen[a] == m.gen {
		return
	}
	st.atomGen[a] = m.gen
	for _, r := range g.atomRules[a] {
		if st.ruleGen[r] != m.gen {
			st.ruleGen[r] = m.gen
			m.cand = append(m.cand, r)
		}
	}
}

// scanSlot decides the literal atoms of one field value.
func (m *Matcher) scanSlot(g *group, st *groupState, sc *slotScan, v string, slot int32) {
	text := v
	if !sc.ascii && !isASCII(v) {
		if slot >= 0 {
			text = m.loweredString(st, slot, v)
		} else {
			text = lowerString(v)
		}
	}
	if sc.pre != nil {
		m.walk(g, st, sc.pre, sc.prePats, text)
	}
	if sc.suf != nil {
		m.walk(g, st, sc.suf, sc.sufPats, text)
	}
	if sc.ac != nil {
		m.scan(g, st, sc.ac, sc.acPats, text)
	}
}

// walk follows a trie from one end of text, marking the atoms of every
// pattern it passes (exact ones only at the far end).
func (m *Matcher) walk(g *group, st *groupState, t *trie, pats [][]atomRef, text string) {
	n := int32(0)
	for k := 0; ; k++ {
		if t.outAt[n] != t.outAt[n+1] {
			for _, p := range t.outs[t.outAt[n]:t.outAt[n+1]] {
				for _, ref := range pats[p] {
					if ref.anchor == 'x' && k != len(text) {
						continue
					}
					m.setAtom(g, st, ref.atom)
				}
			}
		}
		if k == len(text) {
			return
		}
		b := text[k]
		if t.reverse {
			b = text[len(text)-1-k]
		}
		if n = t.next(n, b); n < 0 {
			return
		}
	}
}

// scan runs a substring automaton over text.
func (m *Matcher) scan(g *group, st *groupState, ac *automaton, pats [][]atomRef, text string) {
	if ac.anchors != nil && !mayMatch(ac.anchors, text) {
		return
	}
	s := int32(0)
	dense, classes, outStart, sparseOut := ac.dense, &ac.classes, ac.outStart, ac.sparseOut
	for i := 0; i < len(text); i++ {
		c := classes[text[i]]
		if s >= 0 {
			s = dense[s+int32(c)]
		} else {
			s = ac.step(s, c)
		}
		if s < outStart && s > sparseOut {
			continue
		}
		end := int32(i + 1)
		for _, p := range ac.outputs(s) {
			start := end - ac.plen[p]
			for _, ref := range pats[p] {
				switch ref.anchor {
				case 's':
					if start != 0 {
						continue
					}
				case 'e':
					if int(end) != len(text) {
						continue
					}
				case 'x':
					if start != 0 || int(end) != len(text) {
						continue
					}
				}
				m.setAtom(g, st, ref.atom)
			}
		}
	}
}

// loweredString is lowered as a string sharing the event's buffer, valid
// until the next group is matched (the buffer only grows meanwhile, and a
// grown buffer leaves the old bytes in place).
func (m *Matcher) loweredString(st *groupState, slot int32, v string) string {
	b := m.lowered(st, slot, v)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// lowered returns slot's value lowered, computing it once per event.
func (m *Matcher) lowered(st *groupState, slot int32, v string) []byte {
	if st.lowGen[slot] == m.gen {
		return m.low[st.lowOff[slot]:st.lowEnd[slot]]
	}
	off := len(m.low)
	m.low = appendLower(m.low, v)
	st.lowGen[slot] = m.gen
	st.lowOff[slot], st.lowEnd[slot] = int32(off), int32(len(m.low))
	return m.low[off:]
}

// value returns the event's value for a slot.
func (m *Matcher) value(st *groupState, slot int32) (string, bool) {
	if st.slotGen[slot] != m.gen {
		return "", false
	}
	return m.ev.Fields[st.slotIdx[slot]].Value, true
}

func (m *Matcher) eval(g *group, st *groupState, i int32) bool {
	n := &g.nodes[i]
	switch n.op {
	case nAtom:
		return m.atom(g, st, n.atom)
	case nAnd:
		for _, k := range n.kids {
			if !m.eval(g, st, k) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if m.eval(g, st, k) {
				return true
			}
		}
		return false
	case nNot:
		return !m.eval(g, st, n.kids[0])
	case nTrue:
		return true
	case nUnless:
		if !m.eval(g, st, n.kids[0]) {
			return false
		}
		if n.until != 1<<63-1 && m.rs.now().UnixNano() >= n.until {
			return true
		}
		return !m.eval(g, st, n.kids[1])
	}
	return false
}

func (m *Matcher) atom(g *group, st *groupState, ai int32) bool {
	a := &g.atoms[ai]
	if a.kind == atomLit {
		if st.atomGen[ai] == m.gen {
			return true
		}
		if a.lit == "" {
			return m.emptyLit(st, a)
		}
		return false
	}
	if st.atomGen[ai] == m.gen {
		return st.atomVal[ai]
	}
	v := m.lazy(st, a)
	st.atomGen[ai] = m.gen
	st.atomVal[ai] = v
	return v
}

// emptyLit decides an empty literal: exact "" is an empty value; the
// others hold for any present value.
func (m *Matcher) emptyLit(st *groupState, a *atom) bool {
	if a.slots == nil {
		for _, f := range m.ev.Fields {
			if a.anchor != 'x' || f.Value == "" {
				return true
			}
		}
		return false
	}
	for _, s := range a.slots {
		if v, ok := m.value(st, s); ok && (a.anchor != 'x' || v == "") {
			return true
		}
	}
	return false
}

// lazy evaluates an atom the scan does not decide.
func (m *Matcher) lazy(st *groupState, a *atom) bool {
	if a.pre >= 0 && st.atomGen[a.pre] != m.gen {
		return false
	}
	switch a.kind {
	case atomExists:
		if a.slots == nil {
			return len(m.ev.Fields) > 0
		}
		for _, s := range a.slots {
			if st.slotGen[s] == m.gen {
				return true
			}
		}
		return false
	case atomNull:
		for _, s := range a.slots {
			if v, ok := m.value(st, s); ok && v != "" {
				return false
			}
		}
		return true
	case atomFieldRef:
		for _, s := range a.slots {
			v, ok := m.value(st, s)
			if !ok {
				continue
			}
			for _, r := range a.ref {
				w, ok := m.value(st, r)
				if ok && refMatch(v, w, a.anchor, a.lit == "cased") {
					return true
				}
			}
		}
		return false
	}
	if a.slots == nil {
		for i := range m.ev.Fields {
			if m.check(a, m.ev.Fields[i].Value, nil) {
				return true
			}
		}
		return false
	}
	for _, s := range a.slots {
		if v, ok := m.value(st, s); ok {
			if m.check(a, v, func() string { return m.loweredString(st, s, v) }) {
				return true
			}
		}
	}
	return false
}

// check tests one value against a value atom. low gives the lowered value
// (cached per slot), or nil to lower here.
func (m *Matcher) check(a *atom, v string, low func() string) bool {
	switch a.kind {
	case atomGlob:
		var lv string
		if low != nil {
			lv = low()
		} else {
			lv = lowerString(v)
		}
		return a.glob.match(lv)
	case atomLongRun:
		if len(v) < a.minLen {
			return false
		}
		run := 0
		for _, r := range v {
			if r == '\n' && a.cmp != "s" {
				run = 0
				continue
			}
			if run++; run >= a.minLen {
				return true
			}
		}
		return false
	case atomRegex:
		if len(v) < a.minLen {
			return false
		}
		if a.reAnchored != nil {
			return anchoredMatch(a, v)
		}
		return a.re.MatchString(v)
	case atomCased:
		if a.glob != nil {
			return a.glob.match(v)
		}
		switch a.anchor {
		case 's':
			return strings.HasPrefix(v, a.lit)
		case 'e':
			return strings.HasSuffix(v, a.lit)
		case 'c':
			return strings.Contains(v, a.lit)
		}
		return v == a.lit
	case atomCIDR:
		ip, ok := parseIP(v)
		if !ok {
			return false
		}
		for _, p := range a.prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	case atomCmp:
		f, ok := parseNumber(v)
		return ok && compare(f, a.cmp, a.num)
	case atomTime:
		t, ok := parseTime(v)
		if !ok {
			return false
		}
		var part int
		switch a.part {
		case "minute":
			part = t.Minute()
		case "hour":
			part = t.Hour()
		case "day":
			part = t.Day()
		case "week":
			_, part = t.ISOWeek()
		case "month":
			part = int(t.Month())
		case "year":
			part = t.Year()
		}
		return compare(float64(part), a.cmp, a.num)
	}
	return false
}

// anchoredMatch runs a regular expression at each place its literal
// anchor allows: reLead characters before each occurrence of the literal.
func anchoredMatch(a *atom, v string) bool {
	for from := 0; ; {
		i := strings.Index(v[from:], a.lit)
		if i < 0 {
			return false
		}
		p := from + i
		start := p
		ok := true
		for k := 0; k < a.reLead; k++ {
			if start == 0 {
				ok = false
				break
			}
			_, n := utf8.DecodeLastRuneInString(v[:start])
			start -= n
		}
		if ok && a.reAnchored.MatchString(v[start:]) {
			return true
		}
		from = p + 1
	}
}

func compare(f float64, op string, n float64) bool {
	switch op {
	case "gt":
		return f > n
	case "gte":
		return f >= n
	case "lt":
		return f < n
	case "lte":
		return f <= n
	}
	return f == n
}

func refMatch(v, w string, anchor byte, cased bool) bool {
	if !cased {
		v, w = lowerString(v), lowerString(w)
	}
	switch anchor {
	case 's':
		return strings.HasPrefix(v, w)
	case 'e':
		return strings.HasSuffix(v, w)
	case 'c':
		return strings.Contains(v, w)
	}
	return v == w
}

func parseIP(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if ip, err := netip.ParseAddr(v); err == nil {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func parseNumber(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if i, err := strconv.ParseInt(v, 0, 64); err == nil {
		return float64(i), true
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"}

func parseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
