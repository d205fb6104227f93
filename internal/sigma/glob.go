// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"strings"
	"unicode/utf8"
)

// part is a piece of a Sigma string: a literal run, or a wildcard.
type part struct {
	wild byte // 0 for a literal, '*' or '?'
	lit  string
}

// sstr is a Sigma string with its wildcards recognised.
type sstr []part

// parseSigmaString splits a rule value into literals and wildcards. A
// backslash escapes '*', '?' and '\'; before anything else it is a plain
// backslash (specification, "Escape Character").
func parseSigmaString(s string) sstr {
	var out sstr
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			if c == '*' && len(out) > 0 && out[len(out)-1].wild == '*' {
				continue
			}
			out = append(out, part{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// plainString makes an sstr of text with no wildcards.
func plainString(s string) sstr {
	if s == "" {
		return sstr{}
	}
	return sstr{{lit: s}}
}

// plain returns the text when s has no wildcard.
func (s sstr) plain() (string, bool) {
	var b strings.Builder
	for _, p := range s {
		if p.wild != 0 {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// mapLiterals returns s with f applied to each literal part.
func (s sstr) mapLiterals(f func(string) string) sstr {
	out := make(sstr, len(s))
	for i, p := range s {
		if p.wild == 0 {
			p.lit = f(p.lit)
		}
		out[i] = p
	}
	return out
}

// withStar adds a leading and/or trailing '*' where there is none.
func (s sstr) withStar(lead, trail bool) sstr {
	out := make(sstr, 0, len(s)+2)
	if lead && (len(s) == 0 || s[0].wild != '*') {
		out = append(out, part{wild: '*'})
	}
	out = append(out, s...)
	if trail && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, part{wild: '*'})
	}
	return out
}

// String renders s back in Sigma syntax, for messages.
func (s sstr) String() string {
	var b strings.Builder
	for _, p := range s {
		if p.wild != 0 {
			b.WriteByte(p.wild)
			continue
		}
		for i := 0; i < len(p.lit); i++ {
			if c := p.lit[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.lit[i])
		}
	}
	return b.String()
}

// glob matches a value against a pattern of literals, '*' and '?' ('?' is
// one character). Segments between stars are matched leftmost-first, which
// is exact for such patterns and linear in practice.
type glob struct {
	lead, trail bool     // pattern starts / ends with '*'
	segs        [][]part // literal and '?' runs between stars
}

func newGlob(s sstr) *glob {
	g := &glob{}
	var seg []part
	for i, p := range s {
		if p.wild == '*' {
			if i == 0 {
				g.lead = true
			}
			if len(seg) > 0 {
				g.segs = append(g.segs, seg)
				seg = nil
			}
			continue
		}
		seg = append(seg, p)
	}
	if len(seg) > 0 {
		g.segs = append(g.segs, seg)
	}
	g.trail = len(s) > 0 && s[len(s)-1].wild == '*'
	return g
}

// segAt reports where seg ends when it matches v at i, or -1.
func segAt(seg []part, v string, i int) int {
	for _, p := range seg {
		if p.wild == '?' {
			if i >= len(v) {
				return -1
			}
			_, n := utf8.DecodeRuneInString(v[i:])
			i += n
			continue
		}
		if !strings.HasPrefix(v[i:], p.lit) {
			return -1
		}
		i += len(p.lit)
	}
	return i
}

// find returns the leftmost match of seg in v at or after from: start, end.
func segFind(seg []part, v string, from int) (int, int) {
	for i := from; i <= len(v); {
		if seg[0].wild == 0 {
			j := strings.Index(v[i:], seg[0].lit)
			if j < 0 {
				return -1, -1
			}
			i += j
		}
		if e := segAt(seg, v, i); e >= 0 {
			return i, e
		}
		if i >= len(v) {
			break
		}
		_, n := utf8.DecodeRuneInString(v[i:])
		i += n
	}
	return -1, -1
}

func (g *glob) match(v string) bool {
	segs := g.segs
	if len(segs) == 0 {
		return g.lead || v == ""
	}
	pos := 0
	if !g.lead {
		e := segAt(segs[0], v, 0)
		if e < 0 {
			return false
		}
		if len(segs) == 1 && !g.trail {
			return e == len(v)
		}
		pos = e
		segs = segs[1:]
	}
	last := len(segs) - 1
	for i, seg := range segs {
		if i == last && !g.trail {
			// The last segment must end the value: try starts from the
			// right place onwards.
			for s := pos; s <= len(v); s++ {
				if e := segAt(seg, v, s); e == len(v) {
					return true
				}
			}
			return false
		}
		_, e := segFind(seg, v, pos)
		if e < 0 {
			return false
		}
		pos = e
	}
	return true
}

// longestLiteral returns the longest literal part of s, the best prefilter.
func (s sstr) longestLiteral() string {
	best := ""
	for _, p := range s {
		if p.wild == 0 && len(p.lit) > len(best) {
			best = p.lit
		}
	}
	return best
}
