// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"errors"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// Bounds on an expression the store compiles, so that a tree built by code
// (not by search.Parse) cannot exhaust the stack or build giant SQL.
const (
	maxExprDepth = 100
	maxExprNodes = 10_000
)

// kind says what a field reference is.
type kind int

const (
	kindValue kind = iota // a typed column or map entry: NULL when absent
	kindText              // a fixed text column: '' when absent
	kindID
	kindFlags
)

// textColumns are the fixed text columns a query may name.
var textColumns = map[string]bool{
	"tenant": true, "source": true, "host": true, "product": true, "category": true, "service": true,
	"reason": true, "raw": true,
}

// ref is a field as a SQL value: sql with ? for args.
type ref struct {
	kind kind
	sql  string
	args []any
}

// resolve finds field in partition p. Event columns come first; then the
// canonical name (or the name itself) if p has a typed column for it; then
// a typed column whose name differs only in case, and the map entries for
// the canonical name and the name as given.
func (s *Store) resolve(p *partition, field string) ref {
	switch {
	case textColumns[field]:
		return ref{kind: kindText, sql: field}
	case field == "id":
		return ref{kind: kindID, sql: "id"}
	case field == "flags":
		return ref{kind: kindFlags, sql: "flags"}
	}
	name := field
	if s.canonical != nil {
		if c, ok := s.canonical(field); ok && c != "" {
			name = c
		}
	}
	if col, ok := p.cols[name]; ok {
		return ref{kind: kindValue, sql: quoteIdent(col)}
	}
	if col, ok := p.cols[field]; ok {
		return ref{kind: kindValue, sql: quoteIdent(col)}
	}
	var parts []string
	var args []any
	if col := p.fold[strings.ToLower(name)]; col != "" {
		parts = append(parts, quoteIdent(col))
	}
	parts = append(parts, "fields[?]")
	args = append(args, name)
	if field != name {
		parts = append(parts, "fields[?]")
		args = append(args, field)
	}
	if len(parts) == 1 {
		return ref{kind: kindValue, sql: parts[0], args: args}
	}
	return ref{kind: kindValue, sql: "coalesce(" + strings.Join(parts, ", ") + ")", args: args}
}

// compiler turns an expression into a WHERE condition for one partition.
type compiler struct {
	s     *Store
	p     *partition
	b     strings.Builder
	args  []any
	nodes int
}

// where compiles x (nil: every event) into c.b and c.args.
func (c *compiler) where(x search.Expr) error {
	if x == nil {
		c.b.WriteString("TRUE")
		return nil
	}
	return c.expr(x, 0)
}

func (c *compiler) expr(x search.Expr, depth int) error {
	c.nodes++
	if depth > maxExprDepth || c.nodes > maxExprNodes {
		return fault.New(fault.Invalid, "search.too_complex", "max", maxExprNodes)
	}
	switch x := x.(type) {
	case search.And:
		return c.list(x, " AND ", "TRUE", depth)
	case search.Or:
		return c.list(x, " OR ", "FALSE", depth)
	case search.Not:
		// A predicate on a missing field is NULL; NOT must see FALSE.
		c.b.WriteString("NOT coalesce(")
		if err := c.expr(x.X, depth+1); err != nil {
			return err
		}
		c.b.WriteString(", FALSE)")
		return nil
	case search.Text:
		c.text(ref{kind: kindText, sql: "raw"}, search.Contains, x.Value)
		return nil
	case search.Pred:
		return c.pred(x)
	case nil:
		c.b.WriteString("TRUE")
		return nil
	}
	return fault.New(fault.Invalid, "search.too_complex", "max", maxExprNodes)
}

func (c *compiler) list(xs []search.Expr, sep, empty string, depth int) error {
	if len(xs) == 0 {
		c.b.WriteString(empty)
		return nil
	}
	c.b.WriteByte('(')
	for i, x := range xs {
		if i > 0 {
			c.b.WriteString(sep)
		}
		if err := c.expr(x, depth+1); err != nil {
			return err
		}
	}
	c.b.WriteByte(')')
	return nil
}

// val writes r's SQL and adds its arguments.
func (c *compiler) val(r ref) {
	c.b.WriteString(r.sql)
	c.args = append(c.args, r.args...)
}

// param writes a placeholder for v.
func (c *compiler) param(v any) {
	c.b.WriteByte('?')
	c.args = append(c.args, v)
}

func (c *compiler) pred(p search.Pred) error {
	r := c.s.resolve(c.p, p.Field)
	switch r.kind {
	case kindID:
		return c.idPred(p)
	case kindFlags:
		return c.flagsPred(p)
	}
	switch p.Op {
	case search.Eq, search.Contains, search.Prefix, search.Suffix:
		c.text(r, p.Op, p.Value)
	case search.Wildcard:
		pat := likePattern(p.Value)
		if caseless(pat) {
			c.val(r)
			c.b.WriteString(" LIKE ")
			c.param(pat)
		} else {
			c.b.WriteString("lower(")
			c.val(r)
			c.b.WriteString(") LIKE lower(")
			c.param(pat)
			c.b.WriteString(")")
		}
		c.b.WriteString(` ESCAPE '\'`)
	case search.Regex:
		if _, err := regexp.Compile(p.Value); err != nil {
			return fault.Wrap(fault.Invalid, err, "search.bad_regex", "field", p.Field, "reason", regexReason(err))
		}
		c.b.WriteString("regexp_matches(")
		c.val(r)
		c.b.WriteString(", ")
		c.param(p.Value)
		c.b.WriteString(")")
	case search.Exists:
		c.val(r)
		if r.kind == kindText {
			c.b.WriteString(" <> ''")
		} else {
			c.b.WriteString(" IS NOT NULL")
		}
	case search.CIDR:
		pfx, err := netip.ParsePrefix(strings.TrimSpace(p.Value))
		if err != nil {
			return fault.Wrap(fault.Invalid, err, "search.bad_cidr", "field", p.Field, "value", p.Value)
		}
		lo, hi := prefixRange(pfx)
		c.b.WriteString("koban_ip(")
		c.val(r)
		c.b.WriteString(") BETWEEN ")
		c.param(lo[:])
		c.b.WriteString(" AND ")
		c.param(hi[:])
	case search.Gt, search.Gte, search.Lt, search.Lte:
		f, err := strconv.ParseFloat(strings.TrimSpace(p.Value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fault.New(fault.Invalid, "search.bad_number", "field", p.Field, "value", p.Value)
		}
		c.b.WriteString("TRY_CAST(")
		c.val(r)
		c.b.WriteString(" AS DOUBLE) ")
		c.b.WriteString([...]string{search.Gt: ">", search.Gte: ">=", search.Lt: "<", search.Lte: "<="}[p.Op])
		c.b.WriteByte(' ')
		c.param(f)
	default:
		return fault.New(fault.Invalid, "search.bad_operator", "field", p.Field)
	}
	return nil
}

// text writes a case-insensitive string comparison of r with v.
func (c *compiler) text(r ref, op search.Op, v string) {
	fn := map[search.Op]string{search.Contains: "contains", search.Prefix: "starts_with", search.Suffix: "ends_with"}[op]
	fold := !caseless(v)
	if fn == "" { // Eq
		if fold {
			c.b.WriteString("lower(")
			c.val(r)
			c.b.WriteString(") = lower(")
			c.param(v)
			c.b.WriteString(")")
		} else {
			c.val(r)
			c.b.WriteString(" = ")
			c.param(v)
		}
		return
	}
	if fold {
		// RE2 matches a case-insensitive literal without building a
		// lower-cased copy of every value: measured 1.5× faster than
		// contains(lower(x), …) over long raw text, never slower.
		pat := "(?i)" + regexp.QuoteMeta(v)
		switch op {
		case search.Prefix:
			pat = "(?i)^" + regexp.QuoteMeta(v)
		case search.Suffix:
			pat += "$"
		}
		c.b.WriteString("regexp_matches(")
		c.val(r)
		c.b.WriteString(", ")
		c.param(pat)
		c.b.WriteString(")")
		return
	}
	c.b.WriteString(fn + "(")
	c.val(r)
	c.b.WriteString(", ")
	c.param(v)
	c.b.WriteString(")")
}

func (c *compiler) idPred(p search.Pred) error {
	switch p.Op {
	case search.Exists:
		c.b.WriteString("TRUE")
		return nil
	case search.Eq:
		id, err := event.ParseID(strings.ToUpper(strings.TrimSpace(p.Value)))
		if err != nil {
			return fault.Wrap(fault.Invalid, err, "search.bad_id", "value", p.Value)
		}
		c.b.WriteString("id = ")
		c.param(id[:])
		return nil
	}
	return fault.New(fault.Invalid, "search.bad_operator", "field", p.Field)
}

func (c *compiler) flagsPred(p search.Pred) error {
	switch p.Op {
	case search.Exists:
		c.b.WriteString("flags <> 0")
		return nil
	case search.Eq:
		for i := range 16 {
			f := event.Flag(1 << i)
			if n := f.Names(); len(n) == 1 && strings.EqualFold(n[0], strings.TrimSpace(p.Value)) {
				c.b.WriteString("(flags & ")
				c.param(int64(f))
				c.b.WriteString(") <> 0")
				return nil
			}
		}
		return fault.New(fault.Invalid, "search.bad_flag", "value", p.Value)
	}
	return fault.New(fault.Invalid, "search.bad_operator", "field", p.Field)
}

// caseless reports whether lower-casing cannot change a match on s: it has
// no letters that have case.
func caseless(s string) bool {
	for _, r := range s {
		if unicode.ToLower(r) != r || unicode.ToUpper(r) != r {
			return false
		}
	}
	return true
}

// likePattern turns a Wildcard value (a backslash makes the next character
// literal) into a LIKE pattern with \ as its escape.
func likePattern(glob string) string {
	var b strings.Builder
	escaped := false
	for _, r := range glob {
		switch {
		case escaped:
			escaped = false
			if r == '%' || r == '_' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case r == '\\':
			escaped = true
		case r == '*':
			b.WriteByte('%')
		case r == '?':
			b.WriteByte('_')
		case r == '%' || r == '_':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	if escaped { // a trailing backslash stands for itself
		b.WriteString(`\\`)
	}
	return b.String()
}

// regexReason is what is wrong with a regular expression.
func regexReason(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return string(re.Code)
	}
	return err.Error()
}
