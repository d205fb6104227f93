// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"regexp/syntax"
	"slices"
	"strings"
)

// minPrefilter is the shortest literal worth gating a regular expression
// on: shorter ones occur in nearly every value, unless they hold a
// character that is rare in log values (a backtick, a brace, a dollar).
const minPrefilter = 3

// strength rates a literal as a gate: its length, with rare characters
// counting three times.
func strength(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		n++
		if rareByte(l[i]) {
			n += 2
		}
	}
	return n
}

// rareByte reports characters seldom found in command lines, paths and
// messages.
func rareByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return false
	}
	return !strings.ContainsRune(" \\/.-_:,\"'=\t", rune(c)) && c < 0x80
}

// allPunct reports a literal of two or more characters none of which is a
// letter or digit, and not all spaces: such pairs (".'", "\"{", ". ") are
// rare enough in log values to gate on.
func allPunct(l string) bool {
	if len(l) < 2 || strings.TrimSpace(l) == "" {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 {
			return false
		}
	}
	return true
}

// minLength returns the fewest characters a match of expr has.
func minLength(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0
	}
	return minLen(re.Simplify())
}

func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0
}

// maxPrefilters bounds the alternatives a regular expression's prefilter
// may list.
const maxPrefilters = 64

// requiredLiterals returns lowered literals at least one of which occurs in
// every string the expression matches, or nil when it finds none worth
// using. The matcher's literal scan folds case, so a case-sensitive
// expression's literals are a valid (wider) gate too.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	set, ok := litSet(re.Simplify())
	if !ok || len(set) == 0 || len(set) > maxPrefilters {
		return nil
	}
	for i, l := range set {
		if strength(l) < minPrefilter && !allPunct(l) {
			return nil
		}
		set[i] = lowerString(l)
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// litSet returns a set of literals one of which every match contains.
func litSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			// Folding is what the scan does anyway.
			return []string{string(re.Rune)}, true
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return litSet(re.Sub[0])
	case syntax.OpPlus:
		return litSet(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return litSet(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		// Runs of literals and small character classes join into longer
		// literals (a class multiplies the run by its members); then the
		// best run or child wins.
		var best []string
		found := false
		var run []string
		consider := func(set []string) {
			if score := setScore(set); !found || score > setScore(best) {
				best, found = set, true
			}
		}
		end := func() {
			if len(run) > 0 {
				consider(run)
				run = nil
			}
		}
		for _, s := range re.Sub {
			switch {
			case s.Op == syntax.OpLiteral:
				if run == nil {
					run = []string{""}
				}
				for i := range run {
					run[i] += string(s.Rune)
				}
				continue
			case s.Op == syntax.OpCharClass && classSize(s) > 0 && len(run)*classSize(s) <= maxPrefilters:
				if run == nil {
					run = []string{""}
				}
				var next []string
				for _, r := range run {
					for i := 0; i+1 < len(s.Rune); i += 2 {
						for c := s.Rune[i]; c <= s.Rune[i+1]; c++ {
							next = append(next, r+string(c))
						}
					}
				}
				run = next
				continue
			}
			end()
			if set, ok := litSet(s); ok {
				consider(set)
			}
		}
		end()
		return best, found
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			set, ok := litSet(s)
			if !ok {
				return nil, false
			}
			all = append(all, set...)
			if len(all) > maxPrefilters {
				return nil, false
			}
		}
		return all, true
	}
	return nil, false
}

// maxClass is the largest character class a literal run takes in.
const maxClass = 4

// classSize returns how many characters a class holds, or 0 when it is
// larger than maxClass.
func classSize(re *syntax.Regexp) int {
	n := 0
	for i := 0; i+1 < len(re.Rune); i += 2 {
		n += int(re.Rune[i+1]-re.Rune[i]) + 1
		if n > maxClass {
			return 0
		}
	}
	return n
}

// setScore rates a literal set by its shortest literal: a gate is as weak
// as its most common member.
func setScore(set []string) int {
	m := -1
	for _, l := range set {
		if n := strength(l); m < 0 || n < m {
			m = n
		}
	}
	return m
}

// longRun recognises expressions that only ask for n characters in a row
// (.{n,} or .{n,m}, unanchored): any run of at least n characters holds
// one. anyNL says whether '.' matches a newline too (the s flag).
func longRun(expr string) (n int, anyNL, ok bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0, false, false
	}
	var count func(r *syntax.Regexp) (int, bool, bool)
	count = func(r *syntax.Regexp) (int, bool, bool) {
		switch r.Op {
		case syntax.OpAnyCharNotNL:
			return 1, false, true
		case syntax.OpAnyChar:
			return 1, true, true
		case syntax.OpStar, syntax.OpQuest, syntax.OpPlus:
			if r.Sub[0].Op == syntax.OpAnyCharNotNL || r.Sub[0].Op == syntax.OpAnyChar {
				k := 0
				if r.Op == syntax.OpPlus {
					k = 1
				}
				return k, r.Sub[0].Op == syntax.OpAnyChar, true
			}
		case syntax.OpCapture:
			return count(r.Sub[0]) // whether it matches, not what it captures
		}
		return 0, false, false
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	total, nl, seen := 0, false, false
	for i, s := range subs {
		if s.Op == syntax.OpRepeat && len(s.Sub) == 1 {
			k, a, good := count(s.Sub[0])
			if !good || k == 0 {
				return 0, false, false
			}
			total += s.Min
			nl, seen = a, true
			continue
		}
		k, a, good := count(s)
		if !good || (seen || i > 0) && a != nl {
			return 0, false, false
		}
		total += k
		nl, seen = a, true
	}
	if total < 2 {
		return 0, false, false
	}
	return total, nl, true
}

// existenceForm rewrites an expression into one that matches the same
// strings somewhere, at less cost: for an unanchored search, a leading or
// trailing x* can go, and a leading or trailing x+ or x{n,m} can shrink to
// x or x{n} (any longer match contains the shorter one). Go's regexp
// otherwise tries every start of \w+`… at every position, which is
// quadratic on long script blocks. It returns expr unchanged when it
// cannot parse it or nothing applies.
func existenceForm(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return expr
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	shrink := func(r *syntax.Regexp) (*syntax.Regexp, bool) {
		switch r.Op {
		case syntax.OpStar, syntax.OpQuest:
			return nil, true
		case syntax.OpPlus:
			return r.Sub[0], true
		case syntax.OpRepeat:
			if r.Min == 0 {
				return nil, true
			}
			if r.Max != r.Min {
				c := *r
				c.Max = r.Min
				return &c, true
			}
		}
		return r, false
	}
	changed := false
	for len(subs) > 1 {
		r, ok := shrink(subs[0])
		if !ok {
			break
		}
		changed = true
		if r == nil {
			subs = subs[1:]
			continue
		}
		subs = append([]*syntax.Regexp{r}, subs[1:]...)
		break
	}
	for len(subs) > 1 {
		r, ok := shrink(subs[len(subs)-1])
		if !ok {
			break
		}
		changed = true
		if r == nil {
			subs = subs[:len(subs)-1]
			continue
		}
		subs = append(subs[:len(subs)-1:len(subs)-1], r)
		break
	}
	if !changed {
		return expr
	}
	out := &syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: re.Flags}
	if len(subs) == 1 {
		out = subs[0]
	}
	return out.String()
}

// literalAnchor finds, for an expression without anchors or word
// boundaries, a literal that every match holds at a fixed number of
// characters from its start: `[\w]\x60(…)` holds "\x60" one character in.
// The matcher then runs the expression anchored at each occurrence of the
// literal, instead of at every position of a long value. It returns the
// number of characters before the literal, the literal, and whether one
// was found (a literal with letters only when the expression is
// case-sensitive).
func literalAnchor(expr string) (int, string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0, "", false
	}
	if hasAnchors(re) {
		return 0, "", false
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	lead := 0
	for _, s := range subs {
		switch s.Op {
		case syntax.OpLiteral:
			lit := string(s.Rune)
			if s.Flags&syntax.FoldCase != 0 && strings.ToLower(lit) != strings.ToUpper(lit) {
				return 0, "", false
			}
			if lead == 0 {
				return 0, "", false // a literal prefix: the regexp package skips to it already
			}
			return lead, lit, true
		case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			lead++
		default:
			return 0, "", false
		}
	}
	return 0, "", false
}

func hasAnchors(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range re.Sub {
		if hasAnchors(s) {
			return true
		}
	}
	return false
}
