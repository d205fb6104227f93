// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// modifiers is a predicate's parsed modifier chain.
type modifiers struct {
	transforms []string // value transformations, in rule order
	anchor     byte     // 0, 'c' contains, 's' startswith, 'e' endswith
	all        bool
	re         bool
	reFlags    string
	cidr       bool
	cmp        string // gt, gte, lt, lte
	exists     bool
	expand     bool
	fieldref   bool
	cased      bool
	neq        bool
	timePart   string // minute … year
}

// parseModifiers checks a modifier chain and returns it parsed.
func parseModifiers(p *Pred) (modifiers, *Problem) {
	var m modifiers
	bad := func(msg string, args ...any) (modifiers, *Problem) {
		return m, problem(p.Pos, msg, append([]any{"field", p.Field}, args...)...)
	}
	for _, mod := range p.Modifiers {
		switch mod {
		case "contains", "startswith", "endswith":
			if m.anchor != 0 {
				return bad("sigma.mod.conflict", "modifier", mod)
			}
			m.anchor = mod[0]
		case "all":
			m.all = true
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash":
			if m.re || m.cidr || m.cmp != "" {
				return bad("sigma.mod.conflict", "modifier", mod)
			}
			m.transforms = append(m.transforms, mod)
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return bad("sigma.mod.re_flag", "modifier", mod)
			}
			m.reFlags += mod
		case "cidr":
			m.cidr = true
		case "gt", "gte", "lt", "lte":
			if m.cmp != "" {
				return bad("sigma.mod.conflict", "modifier", mod)
			}
			m.cmp = mod
		case "exists":
			m.exists = true
		case "expand":
			m.expand = true
		case "fieldref":
			m.fieldref = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "minute", "hour", "day", "week", "month", "year":
			if m.timePart != "" {
				return bad("sigma.mod.conflict", "modifier", mod)
			}
			m.timePart = mod
		default:
			return bad("sigma.mod.unknown", "modifier", mod)
		}
	}
	types := 0
	for _, b := range []bool{m.re, m.cidr, m.exists, m.fieldref && m.anchor == 0 && m.cmp == "", m.timePart != ""} {
		if b {
			types++
		}
	}
	switch {
	case types > 1:
		return bad("sigma.mod.conflict", "modifier", strings.Join(p.Modifiers, "|"))
	case m.re && (m.anchor != 0 || len(m.transforms) > 0 || m.expand):
		return bad("sigma.mod.conflict", "modifier", "re")
	case (m.cidr || m.exists) && (m.anchor != 0 || len(m.transforms) > 0 || m.cmp != ""):
		return bad("sigma.mod.conflict", "modifier", strings.Join(p.Modifiers, "|"))
	case m.cmp != "" && (m.anchor != 0 || len(m.transforms) > 0):
		return bad("sigma.mod.conflict", "modifier", m.cmp)
	case m.all && len(p.Values) == 1 && p.Field != "":
		return bad("sigma.mod.all_single")
	case m.exists && len(p.Values) != 1:
		return bad("sigma.mod.exists_value")
	case p.Field == "" && (m.exists || m.fieldref || m.cmp != "" || m.cidr || m.timePart != ""):
		return bad("sigma.mod.needs_field", "modifier", strings.Join(p.Modifiers, "|"))
	}
	return m, nil
}

// transform applies an encoding or windash modifier to each string.
func transform(mod string, in []sstr, pos Pos, field string) ([]sstr, *Problem) {
	out := make([]sstr, 0, len(in))
	for _, s := range in {
		if mod == "windash" {
			v, ok := windash(s)
			if !ok {
				return nil, problem(pos, "sigma.mod.windash_too_many", "field", field)
			}
			out = append(out, v...)
			continue
		}
		text, ok := s.plain()
		if !ok {
			return nil, problem(pos, "sigma.mod.wildcard_encoded", "field", field, "modifier", mod)
		}
		switch mod {
		case "base64":
			out = append(out, plainString(base64.StdEncoding.EncodeToString([]byte(text))))
		case "base64offset":
			for _, v := range base64Offsets(text) {
				out = append(out, plainString(v))
			}
		case "utf16le", "wide":
			out = append(out, plainString(utf16Bytes(text, false, false)))
		case "utf16be":
			out = append(out, plainString(utf16Bytes(text, true, false)))
		case "utf16":
			out = append(out, plainString(utf16Bytes(text, false, true)))
		}
	}
	return out, nil
}

// base64Offsets returns the parts of text's Base64 encoding that do not
// depend on where text starts within the encoded data, for the three
// alignments (as pySigma does).
func base64Offsets(text string) []string {
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), text...))
		start := []int{0, 2, 3}[i]
		end := len(enc) - []int{0, 3, 2}[(len(text)+i)%3]
		if start < end {
			out = append(out, enc[start:end])
		}
	}
	return out
}

func utf16Bytes(s string, big, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, c := range u {
		if big {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}

// dashes are the characters windash treats as one another.
var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxWindash bounds the permutations one value may expand to.
const maxWindash = 5 * 5 * 5 * 5 * 5

// windash returns every variant of s with each dash-like character replaced
// by each of the others.
func windash(s sstr) ([]sstr, bool) {
	variants := []sstr{nil}
	for _, p := range s {
		if p.wild != 0 {
			for i := range variants {
				variants[i] = append(variants[i], p)
			}
			continue
		}
		// Split the literal at dashes.
		pieces := []string{""}
		rest := p.lit
		for rest != "" {
			d := dashAt(rest)
			if d == "" {
				pieces[len(pieces)-1] += rest[:1]
				rest = rest[1:]
				continue
			}
			pieces = append(pieces, "")
			rest = rest[len(d):]
		}
		for k, piece := range pieces {
			if k > 0 {
				if len(variants)*len(dashes) > maxWindash {
					return nil, false
				}
				var nv []sstr
				for _, v := range variants {
					for _, d := range dashes {
						nv = append(nv, appendLit(v, d))
					}
				}
				variants = nv
			}
			if piece != "" {
				for i := range variants {
					variants[i] = appendLit(variants[i], piece)
				}
			}
		}
	}
	return variants, true
}

func dashAt(s string) string {
	for _, d := range dashes {
		if strings.HasPrefix(s, d) {
			return d
		}
	}
	return ""
}

// appendLit returns a copy of s with lit appended to its literal tail.
func appendLit(s sstr, lit string) sstr {
	out := make(sstr, len(s), len(s)+1)
	copy(out, s)
	if n := len(out); n > 0 && out[n-1].wild == 0 {
		out[n-1].lit += lit
		return out
	}
	return append(out, part{lit: lit})
}

// expandPlaceholders replaces %name% placeholders (the expand modifier)
// with each of their values. A backslash before % keeps it plain.
func expandPlaceholders(s string, values map[string][]string) ([]string, string) {
	out := []string{""}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '%' {
			for k := range out {
				out[k] += "%"
			}
			i++
			continue
		}
		if c == '%' {
			if j := strings.IndexByte(s[i+1:], '%'); j > 0 {
				name := s[i+1 : i+1+j]
				vals, ok := values[name]
				if !ok || len(vals) == 0 {
					return nil, name
				}
				var nv []string
				for _, o := range out {
					for _, v := range vals {
						nv = append(nv, o+v)
					}
				}
				if len(nv) > maxValues {
					return nil, name
				}
				out = nv
				i += j + 1
				continue
			}
		}
		for k := range out {
			out[k] += string(c)
		}
	}
	return out, ""
}
