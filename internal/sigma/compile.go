// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// Options tune compilation.
type Options struct {
	// Applies reports whether a rule with logsource rule applies to an
	// event with logsource ev. The default requires each part the rule
	// names to equal the event's; detection passes normalize.Matches.
	Applies func(rule, ev event.LogSource) bool
	// Mapping adds event field names a rule field also stands for.
	Mapping *Mapping
	// Placeholders gives the values of %name% placeholders (the expand
	// modifier). A rule using a placeholder with no value is skipped.
	Placeholders map[string][]string
	// Exclusions are per-rule tuning: a match whose event has all of an
	// exclusion's field values is dropped until the exclusion expires.
	Exclusions []Exclusion
	// Now gives the time exclusions expire against; time.Now by default.
	Now func() time.Time
}

// Exclusion suppresses a rule's matches on events whose fields have the
// given values (compared as Sigma compares: case-insensitive, exact).
type Exclusion struct {
	RuleID     string
	Conditions []FieldValue
	Expires    time.Time // zero: never
}

// FieldValue is one field = value condition of an exclusion.
type FieldValue struct{ Field, Value string }

// Ruleset is a compiled set of rules, safe for concurrent use by many
// Matchers.
type Ruleset struct {
	rules   []*compiled
	groups  []*group
	applies func(rule, ev event.LogSource) bool
	now     func() time.Time
	stats   Stats
}

// Stats describe a compiled Ruleset.
type Stats struct {
	Rules, Groups, Atoms, Literals, Regexps, AlwaysEvaluated int
	AutomatonBytes                                           int
}

// compiled is one detection rule in its group.
type compiled struct {
	rule  *Rule
	group int32
	root  int32
	// keys are the fields the rule's predicates name (mapped), for
	// showing what matched.
	keys []string
}

type atomKind uint8

const (
	atomLit      atomKind = iota // case-insensitive literal, decided by the scan
	atomGlob                     // wildcard pattern, with a literal prefilter
	atomRegex                    // regular expression
	atomCased                    // case-sensitive literal or pattern
	atomCIDR                     // IP in ranges
	atomCmp                      // numeric comparison
	atomExists                   // field present
	atomNull                     // field absent or empty
	atomFieldRef                 // compare with another field
	atomTime                     // part of a date compared with a number
	atomLongRun                  // a regular expression .{n,}: a run of n characters
)

type atom struct {
	kind     atomKind
	slots    []int32 // fields; nil for keywords (every field)
	lit      string  // atomLit: lowered; atomCased: as written
	anchor   byte    // 'x' exact, 's' prefix, 'e' suffix, 'c' contains
	pre      int32   // literal atom that must hold first, or -1
	glob     *glob
	re       *regexp.Regexp
	prefixes []netip.Prefix
	cmp      string
	num      float64
	ref      []int32 // fieldref: the other field's slots
	part     string  // time part
	minLen   int     // regex: the fewest characters a match has
	// regex with a literal a fixed reLead characters into every match
	// (lit): reAnchored is the expression anchored at its start.
	reLead     int
	reAnchored *regexp.Regexp
}

type nodeOp uint8

const (
	nAtom nodeOp = iota
	nAnd
	nOr
	nNot
	nTrue
	nFalse
	nUnless // kids[0] and not kids[1] while until (ns) has not passed
)

type node struct {
	op    nodeOp
	atom  int32
	kids  []int32
	until int64
}

// atomRef is a literal pattern's meaning for one atom.
type atomRef struct {
	atom   int32
	anchor byte
}

// slotScan is what the scan does with one field's value: an automaton for
// substrings, a trie walked forwards for prefixes and exact values, one
// walked backwards for suffixes. Each pattern lists the atoms it decides.
type slotScan struct {
	ac      *automaton
	acPats  [][]atomRef
	pre     *trie
	prePats [][]atomRef
	suf     *trie
	sufPats [][]atomRef
	// ascii: no pattern has a non-ASCII byte, so values are scanned as
	// they are (folding ASCII only changes ASCII bytes).
	ascii bool
}

// group holds the rules of one logsource.
type group struct {
	ls        LogSource
	atoms     []atom
	atomKey   map[string]int32
	nodes     []node
	rules     []int32   // Ruleset.rules indices
	atomRules [][]int32 // literal atom → local rule indices
	always    []int32   // local rule indices with no need set
	slotOf    []int32   // FieldID → slot, -1 when no rule reads it
	slotNames []string
	slots     []slotScan
	kw        *slotScan // keyword literals, run on every field
	kwLazy    bool      // some keyword atom needs every field's value
}

// Compile compiles detection rules and filters into a Ruleset. Correlation
// rules are returned untouched for the correlation engine. A rule that
// cannot be compiled (an unsupported placeholder, a bad regular
// expression) is left out with a problem; the others compile.
func Compile(rules []*Rule, o Options) (*Ruleset, []*Problem) {
	rs := &Ruleset{applies: o.Applies, now: o.Now}
	if rs.applies == nil {
		rs.applies = exactApplies
	}
	if rs.now == nil {
		rs.now = time.Now
	}
	var probs []*Problem
	// Filters by the rules they name.
	filters := map[string][]*Rule{}
	for _, r := range rules {
		if r.Kind == KindFilter {
			for _, ref := range r.FilterRules {
				filters[ref] = append(filters[ref], r)
			}
		}
	}
	excl := map[string][]Exclusion{}
	for _, e := range o.Exclusions {
		excl[e.RuleID] = append(excl[e.RuleID], e)
	}
	byLS := map[LogSource]int{}
	for _, r := range rules {
		if r.Kind != KindRule || r.Detection == nil {
			continue
		}
		ls := r.LogSource
		ls.Definition = ""
		gi, ok := byLS[ls]
		if !ok {
			gi = len(rs.groups)
			byLS[ls] = gi
			rs.groups = append(rs.groups, &group{ls: ls, atomKey: map[string]int32{}})
		}
		g := rs.groups[gi]
		c := &compiler{g: g, o: &o, rule: r, ls: ls}
		root, p := c.rule0(r, filters, excl)
		if p != nil {
			p.File, p.Rule = r.File, r.Ref()
			probs = append(probs, p)
			c.rollback()
			continue
		}
		cr := &compiled{rule: r, group: int32(gi), root: root, keys: c.keys}
		g.rules = append(g.rules, int32(len(rs.rules)))
		rs.rules = append(rs.rules, cr)
	}
	for _, g := range rs.groups {
		rs.finish(g)
	}
	rs.stats.Rules = len(rs.rules)
	rs.stats.Groups = len(rs.groups)
	return rs, probs
}

func exactApplies(rule, ev event.LogSource) bool {
	return (rule.Product == "" || rule.Product == ev.Product) &&
		(rule.Category == "" || rule.Category == ev.Category) &&
		(rule.Service == "" || rule.Service == ev.Service)
}

// Stats returns figures about the compiled rules.
func (rs *Ruleset) Stats() Stats { return rs.stats }

// Len returns the number of compiled detection rules.
func (rs *Ruleset) Len() int { return len(rs.rules) }

// Rule returns compiled rule i (0 ≤ i < Len).
func (rs *Ruleset) Rule(i int) *Rule { return rs.rules[i].rule }

// compiler compiles one rule into its group.
type compiler struct {
	g        *group
	o        *Options
	rule     *Rule
	ls       LogSource
	keys     []string
	atoms0   int // group sizes before this rule, for rollback
	nodes0   int
	searches map[*Search]int32
	started  bool
}

func (c *compiler) start() {
	if !c.started {
		c.started = true
		c.atoms0, c.nodes0 = len(c.g.atoms), len(c.g.nodes)
	}
}

// rollback forgets atoms and nodes a failed rule added.
func (c *compiler) rollback() {
	g := c.g
	for k, a := range g.atomKey {
		if int(a) >= c.atoms0 {
			delete(g.atomKey, k)
		}
	}
	g.atoms = g.atoms[:c.atoms0]
	g.nodes = g.nodes[:c.nodes0]
}

func (c *compiler) rule0(r *Rule, filters map[string][]*Rule, excl map[string][]Exclusion) (int32, *Problem) {
	c.start()
	root, p := c.detection(r.Detection)
	if p != nil {
		return 0, p
	}
	var fs []*Rule
	for _, ref := range []string{r.ID, r.Name} {
		if ref != "" {
			fs = append(fs, filters[ref]...)
		}
	}
	for _, f := range fs {
		fr, p := c.detection(f.Detection)
		if p != nil {
			p.File, p.Rule = f.File, f.Ref()
			return 0, p
		}
		root = c.add(node{op: nAnd, kids: []int32{root, fr}})
	}
	for _, e := range excl[r.ID] {
		var kids []int32
		for _, fv := range e.Conditions {
			kids = append(kids, c.litAtomNode(c.slotsFor(fv.Field), strings.ToLower(fv.Value), 'x'))
		}
		if len(kids) == 0 {
			continue
		}
		var until int64 = math.MaxInt64
		if !e.Expires.IsZero() {
			until = e.Expires.UnixNano()
		}
		root = c.add(node{op: nUnless, kids: []int32{root, c.and(kids)}, until: until})
	}
	return root, nil
}

func (c *compiler) add(n node) int32 {
	c.g.nodes = append(c.g.nodes, n)
	return int32(len(c.g.nodes) - 1)
}

func (c *compiler) and(kids []int32) int32 {
	if len(kids) == 1 {
		return kids[0]
	}
	return c.add(node{op: nAnd, kids: kids})
}

func (c *compiler) or(kids []int32) int32 {
	if len(kids) == 1 {
		return kids[0]
	}
	return c.add(node{op: nOr, kids: kids})
}

func (c *compiler) not(k int32) int32 { return c.add(node{op: nNot, kids: []int32{k}}) }

func (c *compiler) detection(d *Detection) (int32, *Problem) {
	c.searches = map[*Search]int32{}
	var roots []int32
	for _, cond := range d.Conditions {
		n, p := c.cond(cond, d)
		if p != nil {
			return 0, p
		}
		roots = append(roots, n)
	}
	if len(roots) == 0 {
		return c.add(node{op: nFalse}), nil
	}
	return c.or(roots), nil
}

func (c *compiler) cond(cd *Cond, d *Detection) (int32, *Problem) {
	switch cd.Op {
	case CondIdent:
		s := d.Search(cd.Name)
		if s == nil {
			return 0, problem(Pos{}, "sigma.cond.unknown_ident", "column", cd.Col, "name", cd.Name)
		}
		return c.search(s)
	case CondOneOf, CondAllOf:
		var kids []int32
		for _, s := range matchSearches(cd.Name, d) {
			n, p := c.search(s)
			if p != nil {
				return 0, p
			}
			kids = append(kids, n)
		}
		if len(kids) == 0 {
			return 0, problem(Pos{}, "sigma.cond.no_match", "column", cd.Col, "pattern", cd.Name)
		}
		if cd.Op == CondAllOf {
			return c.and(kids), nil
		}
		return c.or(kids), nil
	case CondNot:
		k, p := c.cond(cd.Args[0], d)
		if p != nil {
			return 0, p
		}
		return c.not(k), nil
	default:
		var kids []int32
		for _, a := range cd.Args {
			k, p := c.cond(a, d)
			if p != nil {
				return 0, p
			}
			kids = append(kids, k)
		}
		if cd.Op == CondAnd {
			return c.and(kids), nil
		}
		return c.or(kids), nil
	}
}

func (c *compiler) search(s *Search) (int32, *Problem) {
	if n, ok := c.searches[s]; ok {
		return n, nil
	}
	var alts []int32
	for _, preds := range s.Any {
		var ands []int32
		for _, p := range preds {
			n, prob := c.pred(p)
			if prob != nil {
				return 0, prob
			}
			ands = append(ands, n)
		}
		alts = append(alts, c.and(ands))
	}
	n := c.or(alts)
	c.searches[s] = n
	return n, nil
}

// slotsFor returns the slots of a rule field and the fields it is mapped
// to; nil for keywords.
func (c *compiler) slotsFor(field string) []int32 {
	if field == "" {
		return nil
	}
	names := []string{field}
	if c.o.Mapping != nil {
		for _, t := range c.o.Mapping.targets(c.ls, field) {
			if !slices.Contains(names, t) {
				names = append(names, t)
			}
		}
	}
	var slots []int32
	for _, n := range names {
		if !slices.Contains(c.keys, n) {
			c.keys = append(c.keys, n)
		}
		slots = append(slots, c.g.slot(n))
	}
	return slots
}

// slot returns the slot of an event field name, adding one.
func (g *group) slot(name string) int32 {
	for i, n := range g.slotNames {
		if n == name {
			return int32(i)
		}
	}
	g.slotNames = append(g.slotNames, name)
	return int32(len(g.slotNames) - 1)
}

// addAtom returns the index of an atom equal to a, adding it if new.
func (c *compiler) addAtom(a atom, key string) int32 {
	key = fmt.Sprintf("%d|%v|%s", a.kind, a.slots, key)
	if i, ok := c.g.atomKey[key]; ok {
		return i
	}
	c.g.atoms = append(c.g.atoms, a)
	i := int32(len(c.g.atoms) - 1)
	c.g.atomKey[key] = i
	return i
}

func (c *compiler) atomNode(a atom, key string) int32 {
	return c.add(node{op: nAtom, atom: c.addAtom(a, key)})
}

func (c *compiler) litAtom(slots []int32, lit string, anchor byte) int32 {
	return c.addAtom(atom{kind: atomLit, slots: slots, lit: lit, anchor: anchor, pre: -1}, string(anchor)+lit)
}

func (c *compiler) litAtomNode(slots []int32, lit string, anchor byte) int32 {
	return c.add(node{op: nAtom, atom: c.litAtom(slots, lit, anchor)})
}

// pred compiles one field predicate.
func (c *compiler) pred(p *Pred) (int32, *Problem) {
	m, prob := parseModifiers(p)
	if prob != nil {
		return 0, prob
	}
	slots := c.slotsFor(p.Field)
	if m.exists {
		v := p.Values[0]
		if v.Kind != Bool {
			return 0, problem(v.Pos, "sigma.mod.exists_value", "field", p.Field)
		}
		n := c.atomNode(atom{kind: atomExists, slots: slots, pre: -1}, "")
		if v.Text == "false" {
			n = c.not(n)
		}
		return n, nil
	}
	var kids []int32
	for _, v := range p.Values {
		n, prob := c.value(p, &m, slots, v)
		if prob != nil {
			return 0, prob
		}
		kids = append(kids, n)
	}
	var n int32
	if m.all {
		n = c.and(kids)
	} else {
		n = c.or(kids)
	}
	if m.neq {
		n = c.not(n)
	}
	return n, nil
}

func (c *compiler) value(p *Pred, m *modifiers, slots []int32, v Value) (int32, *Problem) {
	bad := func(msg string, args ...any) (int32, *Problem) {
		return 0, problem(v.Pos, msg, append([]any{"field", p.Field}, args...)...)
	}
	if v.Kind == Null {
		if len(p.Modifiers) > 0 || len(p.Values) > 1 {
			return bad("sigma.null_with_others")
		}
		if slots == nil {
			return bad("sigma.null_keyword")
		}
		return c.atomNode(atom{kind: atomNull, slots: slots, pre: -1}, ""), nil
	}
	switch {
	case m.re:
		return c.regex(p, m, slots, v)
	case m.cidr:
		pfx, err := netip.ParsePrefix(strings.TrimSpace(v.Text))
		if err != nil {
			return bad("sigma.bad_cidr", "value", v.Text)
		}
		return c.atomNode(atom{kind: atomCIDR, slots: slots, prefixes: []netip.Prefix{pfx.Masked()}, pre: -1}, pfx.Masked().String()), nil
	case m.fieldref:
		if v.Kind != String || v.Text == "" {
			return bad("sigma.bad_fieldref", "value", v.Text)
		}
		ref := c.slotsFor(v.Text)
		key := fmt.Sprintf("%v|%c|%t", ref, m.anchor, m.cased)
		a := atom{kind: atomFieldRef, slots: slots, ref: ref, anchor: anchorOf(m.anchor), pre: -1}
		if m.cased {
			a.lit = "cased"
		}
		return c.atomNode(a, key), nil
	case m.timePart != "":
		num, err := strconv.ParseFloat(v.Text, 64)
		if err != nil {
			return bad("sigma.bad_number", "value", v.Text)
		}
		op := m.cmp
		if op == "" {
			op = "eq"
		}
		return c.atomNode(atom{kind: atomTime, slots: slots, part: m.timePart, cmp: op, num: num, pre: -1}, m.timePart+op+v.Text), nil
	case m.cmp != "":
		num, err := strconv.ParseFloat(v.Text, 64)
		if err != nil || v.Kind == Bool {
			return bad("sigma.bad_number", "value", v.Text)
		}
		return c.atomNode(atom{kind: atomCmp, slots: slots, cmp: m.cmp, num: num, pre: -1}, m.cmp+v.Text), nil
	}
	// Strings, numbers and booleans compare as text.
	texts := []string{v.Text}
	if m.expand {
		var missing string
		texts, missing = expandPlaceholders(v.Text, c.o.Placeholders)
		if missing != "" {
			pr := problem(v.Pos, "sigma.placeholder", "field", p.Field, "name", missing)
			pr.Unsupported = true
			return 0, pr
		}
	}
	var strs []sstr
	for _, t := range texts {
		if v.Kind == String {
			strs = append(strs, parseSigmaString(t))
		} else {
			strs = append(strs, plainString(t))
		}
	}
	for _, mod := range m.transforms {
		var prob *Problem
		if strs, prob = transform(mod, strs, v.Pos, p.Field); prob != nil {
			return 0, prob
		}
	}
	// Keywords without wildcards at their ends match anywhere.
	lead, trail := m.anchor == 'c' || m.anchor == 'e', m.anchor == 'c' || m.anchor == 's'
	if slots == nil && m.anchor == 0 {
		lead, trail = true, true
	}
	var kids []int32
	for _, s := range strs {
		kids = append(kids, c.stringAtom(slots, s.withStar(lead, trail), m.cased))
	}
	return c.or(kids), nil
}

func anchorOf(a byte) byte {
	switch a {
	case 'c':
		return 'c'
	case 's':
		return 's'
	case 'e':
		return 'e'
	}
	return 'x'
}

// stringAtom compiles a Sigma string into the cheapest atom that decides
// it.
func (c *compiler) stringAtom(slots []int32, s sstr, cased bool) int32 {
	// Classify: literal with '*' only at its ends, or a general glob.
	lead := len(s) > 0 && s[0].wild == '*'
	trail := len(s) > 0 && s[len(s)-1].wild == '*'
	inner := s
	if lead {
		inner = inner[1:]
	}
	if trail && len(inner) > 0 {
		inner = inner[:len(inner)-1]
	}
	lit, simple := inner.plain()
	if simple && lit == "" {
		if lead || trail {
			// '*': any value, including an empty one.
			return c.atomNode(atom{kind: atomExists, slots: slots, pre: -1}, "")
		}
		return c.litAtomNode(slots, "", 'x')
	}
	if simple {
		anchor := byte('x')
		switch {
		case lead && trail:
			anchor = 'c'
		case lead:
			anchor = 'e'
		case trail:
			anchor = 's'
		}
		if !cased {
			return c.litAtomNode(slots, lowerString(lit), anchor)
		}
		pre := c.litAtom(slots, lowerString(lit), anchor)
		return c.atomNode(atom{kind: atomCased, slots: slots, lit: lit, anchor: anchor, pre: pre}, string(anchor)+lit)
	}
	// A glob: its longest literal is a necessary substring.
	pre := int32(-1)
	if l := s.longestLiteral(); l != "" {
		pre = c.litAtom(slots, lowerString(l), 'c')
	}
	key := s.String()
	if cased {
		return c.atomNode(atom{kind: atomCased, slots: slots, glob: newGlob(s), anchor: 'g', pre: pre}, "g"+key)
	}
	return c.atomNode(atom{kind: atomGlob, slots: slots, glob: newGlob(s.mapLiterals(lowerString)), pre: pre}, key)
}

// regex compiles a |re value, with a literal prefilter when the
// expression requires one.
func (c *compiler) regex(p *Pred, m *modifiers, slots []int32, v Value) (int32, *Problem) {
	flags := ""
	for _, f := range "ims" {
		if strings.ContainsRune(m.reFlags, f) {
			flags += string(f)
		}
	}
	expr := v.Text
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	if _, err := regexp.Compile(expr); err != nil {
		return 0, problem(v.Pos, "sigma.bad_regex", "field", p.Field, "reason", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	form := existenceForm(expr)
	re, err := regexp.Compile(form)
	if err != nil {
		form, re = expr, regexp.MustCompile(expr) // compiled above
	}
	if n, anyNL, ok := longRun(expr); ok {
		// .{n,}: a line of at least n characters, without the cost of
		// simulating n states per byte.
		a := atom{kind: atomLongRun, slots: slots, num: float64(n), pre: -1, minLen: n}
		if anyNL {
			a.cmp = "s"
		}
		return c.atomNode(a, expr), nil
	}
	pres := requiredLiterals(expr)
	a := atom{kind: atomRegex, slots: slots, re: re, pre: -1, minLen: minLength(expr)}
	if lead, lit, ok := literalAnchor(form); ok {
		if anchored, err := regexp.Compile(`\A(?:` + form + `)`); err == nil {
			a.reLead, a.lit, a.reAnchored = lead, lit, anchored
		}
	}
	n := c.atomNode(a, expr)
	if len(pres) == 0 {
		return n, nil
	}
	// (any of the literals) and regex: the literals gate the rule.
	var alts []int32
	for _, l := range pres {
		alts = append(alts, c.litAtomNode(slots, l, 'c'))
	}
	return c.add(node{op: nAnd, kids: []int32{c.or(alts), n}}), nil
}

// lowerString lowers s as the matcher lowers values.
func lowerString(s string) string { return string(appendLower(nil, s)) }

// finish builds a group's scan tables, need sets and evaluation order.
func (rs *Ruleset) finish(g *group) {
	// Field slots by FieldID.
	maxID := event.FieldID(0)
	ids := make([]event.FieldID, len(g.slotNames))
	for i, n := range g.slotNames {
		id, err := event.Intern(n)
		if err != nil {
			ids[i] = 0
			continue
		}
		ids[i] = id
		maxID = max(maxID, id)
	}
	g.slotOf = make([]int32, maxID+1)
	for i := range g.slotOf {
		g.slotOf[i] = -1
	}
	for i, id := range ids {
		if id != 0 {
			g.slotOf[id] = int32(i)
		}
	}
	// Literal atoms into per-field automata and tries.
	g.slots = make([]slotScan, len(g.slotNames))
	type acc struct {
		pats  []string
		index map[string]int
		refs  [][]atomRef
	}
	type slotAcc struct{ c, p, e acc }
	accs := make([]slotAcc, len(g.slotNames)+1) // last: keywords
	add := func(a *acc, lit string, ref atomRef) {
		if a.index == nil {
			a.index = map[string]int{}
		}
		pi, ok := a.index[lit]
		if !ok {
			pi = len(a.pats)
			a.index[lit] = pi
			a.pats = append(a.pats, lit)
			a.refs = append(a.refs, nil)
		}
		a.refs[pi] = append(a.refs[pi], ref)
	}
	for ai := range g.atoms {
		a := &g.atoms[ai]
		switch a.kind {
		case atomLit:
			rs.stats.Literals++
		case atomRegex:
			rs.stats.Regexps++
			continue
		default:
			if a.slots == nil {
				g.kwLazy = true
			}
			continue
		}
		targets := a.slots
		kw := targets == nil
		if kw {
			targets = []int32{int32(len(g.slotNames))}
		}
		ref := atomRef{atom: int32(ai), anchor: a.anchor}
		for _, s := range targets {
			sa := &accs[s]
			switch {
			case a.lit == "" && (kw || a.anchor != 'x'):
				// Decided lazily: any value holds it.
				g.kwLazy = g.kwLazy || kw
			case kw || a.anchor == 'c':
				add(&sa.c, a.lit, ref)
			case a.anchor == 'e':
				add(&sa.e, a.lit, ref)
			default:
				add(&sa.p, a.lit, ref)
			}
		}
	}
	for i := range accs {
		var sc *slotScan
		if i < len(g.slotNames) {
			sc = &g.slots[i]
		} else {
			if len(accs[i].c.pats) == 0 {
				continue
			}
			g.kw = &slotScan{}
			sc = g.kw
		}
		sc.ascii = true
		for _, a := range []*acc{&accs[i].c, &accs[i].p, &accs[i].e} {
			for _, p := range a.pats {
				if !isASCII(p) {
					sc.ascii = false
				}
			}
		}
		if a := accs[i].c; len(a.pats) > 0 {
			sc.ac, sc.acPats = buildAutomaton(a.pats), a.refs
			rs.stats.AutomatonBytes += sc.ac.bytes()
		}
		if a := accs[i].p; len(a.pats) > 0 {
			sc.pre, sc.prePats = buildTrie(a.pats, false), a.refs
			rs.stats.AutomatonBytes += sc.pre.bytes()
		}
		if a := accs[i].e; len(a.pats) > 0 {
			sc.suf, sc.sufPats = buildTrie(a.pats, true), a.refs
			rs.stats.AutomatonBytes += sc.suf.bytes()
		}
	}
	rs.stats.Atoms += len(g.atoms)
	// Need sets, and cheap-first evaluation order.
	g.atomRules = make([][]int32, len(g.atoms))
	for li, ri := range g.rules {
		set, ok := g.need(rs.rules[ri].root)
		if !ok {
			g.always = append(g.always, int32(li))
			rs.stats.AlwaysEvaluated++
			continue
		}
		for _, a := range set {
			if !slices.Contains(g.atomRules[a], int32(li)) {
				g.atomRules[a] = append(g.atomRules[a], int32(li))
			}
		}
	}
	cost := make([]float64, len(g.nodes))
	for i := range g.nodes {
		cost[i] = g.cost(int32(i), cost)
	}
	for i := range g.nodes {
		n := &g.nodes[i]
		if n.op == nAnd || n.op == nOr {
			slices.SortStableFunc(n.kids, func(a, b int32) int { return cmp.Compare(cost[a], cost[b]) })
		}
	}
	g.atomKey = nil
}

// cost estimates the work of evaluating node i (kids come before parents).
func (g *group) cost(i int32, done []float64) float64 {
	n := &g.nodes[i]
	switch n.op {
	case nAtom:
		switch g.atoms[n.atom].kind {
		case atomLit:
			return 1
		case atomExists, atomNull:
			return 2
		case atomRegex:
			return 50
		default:
			return 10
		}
	case nTrue, nFalse:
		return 0
	}
	s := 0.0
	for _, k := range n.kids {
		s += done[k]
	}
	return s + 1
}

// need returns literal atoms at least one of which holds whenever node i
// does; ok is false when there is no such set.
func (g *group) need(i int32) ([]int32, bool) {
	n := &g.nodes[i]
	switch n.op {
	case nAtom:
		a := &g.atoms[n.atom]
		if a.kind == atomLit {
			if a.lit == "" && a.anchor != 'x' {
				return nil, false
			}
			return []int32{n.atom}, true
		}
		if a.pre >= 0 {
			return []int32{a.pre}, true
		}
		return nil, false
	case nFalse:
		return nil, true
	case nAnd, nUnless:
		kids := n.kids
		if n.op == nUnless {
			kids = kids[:1]
		}
		var best []int32
		found := false
		bestScore := math.Inf(1)
		for _, k := range kids {
			s, ok := g.need(k)
			if !ok {
				continue
			}
			if sc := g.score(s); !found || sc < bestScore {
				best, bestScore, found = s, sc, true
			}
		}
		return best, found
	case nOr:
		var all []int32
		for _, k := range n.kids {
			s, ok := g.need(k)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return all, true
	}
	return nil, false
}

// score estimates how often a need set is hit: lower is better. Short
// exact values (event ids, logon types) are common; long substrings rare.
func (g *group) score(set []int32) float64 {
	s := 0.0
	for _, a := range set {
		at := &g.atoms[a]
		l := float64(len(at.lit))
		if at.anchor == 'x' && l <= 5 {
			s += 0.5
			continue
		}
		s += 1 / ((l + 1) * (l + 1))
	}
	return s
}
