// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"path"
	"strings"
)

// CondOp is the operator of a condition node.
type CondOp uint8

// Condition operators.
const (
	CondIdent CondOp = iota // a search identifier
	CondAnd
	CondOr
	CondNot
	CondOneOf // 1 of pattern / 1 of them
	CondAllOf // all of pattern / all of them
)

// Cond is a parsed condition.
type Cond struct {
	Op   CondOp
	Name string // identifier, or pattern of x of; "them" for all
	Args []*Cond
	Col  int // 1-based column in the condition text
}

// String renders the condition back in Sigma syntax, fully parenthesised.
func (c *Cond) String() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c *Cond) write(b *strings.Builder) {
	switch c.Op {
	case CondIdent:
		b.WriteString(c.Name)
	case CondOneOf:
		b.WriteString("1 of " + c.Name)
	case CondAllOf:
		b.WriteString("all of " + c.Name)
	case CondNot:
		b.WriteString("not ")
		c.Args[0].write(b)
	case CondAnd, CondOr:
		op := " and "
		if c.Op == CondOr {
			op = " or "
		}
		b.WriteByte('(')
		for i, a := range c.Args {
			if i > 0 {
				b.WriteString(op)
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}

// CondError is a condition syntax error at a column of the condition text.
type CondError struct {
	Col  int
	Msg  string
	Args []any
}

func (e *CondError) Error() string {
	return englishOf(e.Msg, append([]any{"column", e.Col}, e.Args...))
}

type token struct {
	kind byte // 'w' word, '(' ')', '|' pipe, 0 end
	text string
	col  int
}

func lexCondition(s string) ([]token, *CondError) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, token{kind: c, text: s[i : i+1], col: i + 1})
			i++
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: 'w', text: s[i:j], col: i + 1})
			i = j
		default:
			return nil, &CondError{Col: i + 1, Msg: "sigma.cond.bad_char", Args: []any{"char", string(rune(c))}}
		}
	}
	return append(toks, token{col: len(s) + 1}), nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '*' || c == '-' || c == '.' || c >= 0x80
}

type condParser struct {
	toks  []token
	i     int
	depth int
}

// ParseCondition parses a Sigma condition. Operator precedence, least to
// most binding: or, and, not, x of, parentheses.
func ParseCondition(s string) (*Cond, *CondError) {
	if len(s) > maxCondition {
		return nil, &CondError{Col: 1, Msg: "sigma.cond.too_long", Args: []any{"max", maxCondition}}
	}
	if strings.TrimSpace(s) == "" {
		return nil, &CondError{Col: 1, Msg: "sigma.cond.empty"}
	}
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 0 {
		if t.kind == '|' {
			return nil, &CondError{Col: t.col, Msg: "sigma.cond.aggregation"}
		}
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.unexpected", Args: []any{"found", t.text}}
	}
	return c, nil
}

func (p *condParser) peek() token { return p.toks[p.i] }
func (p *condParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *condParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == 'w' && strings.EqualFold(t.text, w)
}

func (p *condParser) or() (*Cond, *CondError) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	c := first
	for p.isWord("or") {
		t := p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		if c == first {
			c = &Cond{Op: CondOr, Args: []*Cond{c}, Col: t.col}
		}
		c.Args = append(c.Args, r)
	}
	return c, nil
}

func (p *condParser) and() (*Cond, *CondError) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	c := first
	for p.isWord("and") {
		t := p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		if c == first {
			c = &Cond{Op: CondAnd, Args: []*Cond{c}, Col: t.col}
		}
		c.Args = append(c.Args, r)
	}
	return c, nil
}

func (p *condParser) not() (*Cond, *CondError) {
	if p.isWord("not") {
		t := p.next()
		if p.depth++; p.depth > maxCondDepth {
			return nil, &CondError{Col: t.col, Msg: "sigma.cond.too_deep", Args: []any{"max", maxCondDepth}}
		}
		a, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &Cond{Op: CondNot, Args: []*Cond{a}, Col: t.col}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*Cond, *CondError) {
	t := p.next()
	switch t.kind {
	case 0:
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.ends"}
	case '(':
		if p.depth++; p.depth > maxCondDepth {
			return nil, &CondError{Col: t.col, Msg: "sigma.cond.too_deep", Args: []any{"max", maxCondDepth}}
		}
		c, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if e := p.next(); e.kind != ')' {
			return nil, &CondError{Col: t.col, Msg: "sigma.cond.unclosed"}
		}
		return c, nil
	case ')':
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.unmatched"}
	case '|':
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.aggregation"}
	}
	low := strings.ToLower(t.text)
	switch low {
	case "and", "or", "of", "them":
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.unexpected", Args: []any{"found", t.text}}
	}
	if p.isWord("of") {
		of := p.next()
		var op CondOp
		switch low {
		case "1", "any":
			op = CondOneOf
		case "all":
			op = CondAllOf
		default:
			return nil, &CondError{Col: t.col, Msg: "sigma.cond.bad_quantifier", Args: []any{"found", t.text}}
		}
		target := p.next()
		if target.kind != 'w' || isKeyword(target.text) && !strings.EqualFold(target.text, "them") {
			return nil, &CondError{Col: of.col, Msg: "sigma.cond.of_target"}
		}
		name := target.text
		if strings.EqualFold(name, "them") {
			name = "them"
		}
		return &Cond{Op: op, Name: name, Col: t.col}, nil
	}
	if strings.Contains(t.text, "*") {
		return nil, &CondError{Col: t.col, Msg: "sigma.cond.pattern_without_of", Args: []any{"found", t.text}}
	}
	return &Cond{Op: CondIdent, Name: t.text, Col: t.col}, nil
}

func isKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "and", "or", "not", "of", "them":
		return true
	}
	return false
}

// checkIdents reports the first identifier of c that names no search, or a
// pattern that matches none.
func checkIdents(c *Cond, det *Detection) *CondError {
	switch c.Op {
	case CondIdent:
		if det.Search(c.Name) == nil {
			return &CondError{Col: c.Col, Msg: "sigma.cond.unknown_ident", Args: []any{"name", c.Name}}
		}
	case CondOneOf, CondAllOf:
		if len(matchSearches(c.Name, det)) == 0 {
			return &CondError{Col: c.Col, Msg: "sigma.cond.no_match", Args: []any{"pattern", c.Name}}
		}
	default:
		for _, a := range c.Args {
			if err := checkIdents(a, det); err != nil {
				return err
			}
		}
	}
	return nil
}

// matchSearches lists the searches an x-of pattern selects: "them" means
// every search whose name does not start with an underscore.
func matchSearches(pattern string, det *Detection) []*Search {
	var out []*Search
	for _, s := range det.Searches {
		if pattern == "them" {
			if !strings.HasPrefix(s.Name, "_") {
				out = append(out, s)
			}
			continue
		}
		// Search names cannot hold path's other metacharacters: search()
		// rejects '*' and the lexer the rest of what Match treats specially
		// only within the pattern, where [ and ? and \ cannot appear.
		if ok, _ := path.Match(pattern, s.Name); ok {
			out = append(out, s)
		}
	}
	return out
}
