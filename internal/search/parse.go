// SPDX-License-Identifier: Apache-2.0

package search

import (
	"errors"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
)

// MaxQueryLen is the longest query text Parse accepts, in bytes.
const MaxQueryLen = 16 << 10

// MaxDepth is how deeply Parse lets parentheses and NOTs nest.
const MaxDepth = 64

// Parse reads the query box language into an expression. An empty query
// (or one of blanks only) gives nil, which matches every event.
//
// The language:
//
//	field:value          the field's value equals value (case ignored)
//	field:"a phrase"     the same with blanks, quotes (\") and backslashes (\\)
//	word  "a phrase"     the raw event contains the text (Text)
//	a AND b, a b         both (AND is implied between terms)
//	a OR b               either; AND binds tighter than OR
//	NOT a, -a            not; operators ignore case (and, or, not)
//	( … )                grouping; field:( … ) applies field to every term
//	field:*mimi*         wildcards * (any run) and ? (one character), also
//	                     inside quotes; \* and \? match the characters
//	                     themselves. Stars at the ends only give Prefix,
//	                     Suffix or Contains; other wildcards give Wildcard.
//	field:*              the field is present (Exists)
//	field:/regex/        RE2, case-sensitive unless (?i); \/ is a slash
//	field:>10 >= < <=    numeric comparisons
//	field:10.0.0.0/8     an unquoted IP prefix: the value is an address in it
//
// A backslash before \, ", *, ?, a blank or a parenthesis makes that
// character literal; before any other character it is itself literal, so
// that C:\Windows\System32 needs no doubling (but \\server must be written
// \\\\server). A bare word with wildcards inside it searches the raw event
// with Pred{Field: "raw", Op: Wildcard}; a bare /regex/ gives Pred{Field:
// "raw", Op: Regex}. A letter followed by ":\" is a Windows drive
// (C:\Temp) and a word with "://" a URL, not field:value. An unquoted value
// that starts and ends with / is a regex only when a blank, ')' or the end
// follows it; quote values that are paths.
//
// In a Wildcard value a backslash makes the next character literal (the
// store and String rely on this).
//
// Errors are *fault.Error of kind Invalid with a message id search.* whose
// arguments include "column", the 1-based column (in characters) where the
// problem is.
func Parse(text string) (Expr, error) {
	if len(text) > MaxQueryLen {
		return nil, fault.New(fault.Invalid, "search.too_long", "max", MaxQueryLen)
	}
	if !utf8.ValidString(text) {
		off := 0
		for off < len(text) {
			r, n := utf8.DecodeRuneInString(text[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, fault.New(fault.Invalid, "search.invalid_text", "column", column(text, off))
	}
	p := &parser{s: text}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	x, err := p.or("")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		// Only an unmatched ')' stops the top-level loop early.
		return nil, p.fail(p.off, "search.unmatched_paren")
	}
	return x, nil
}

// column returns the 1-based character column of byte offset off in s.
func column(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return utf8.RuneCountInString(s[:off]) + 1
}

type parser struct {
	s     string
	off   int
	depth int
}

func (p *parser) eof() bool { return p.off >= len(p.s) }

func (p *parser) peek() rune {
	if p.eof() {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.off:])
	return r
}

func (p *parser) skipSpace() {
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.s[p.off:])
		if !unicode.IsSpace(r) {
			return
		}
		p.off += n
	}
}

func (p *parser) fail(off int, msg string, args ...any) error {
	return fault.New(fault.Invalid, msg, append([]any{"column", column(p.s, off)}, args...)...)
}

// found describes the token at off for an error message.
func (p *parser) found(off int) string {
	if off >= len(p.s) {
		return ""
	}
	end := off
	for end < len(p.s) && end-off < 20 {
		r, n := utf8.DecodeRuneInString(p.s[end:])
		if unicode.IsSpace(r) || (end > off && (r == '(' || r == ')')) {
			break
		}
		end += n
	}
	return p.s[off:end]
}

func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail(off, "search.too_deep", "max", MaxDepth)
	}
	return nil
}

// keyword reports which operator, if any, starts at the current offset: a
// word AND, OR or NOT (any case) followed by a blank, a parenthesis or the
// end.
func (p *parser) keyword() string {
	for _, k := range [...]string{"AND", "OR", "NOT"} {
		if len(p.s)-p.off < len(k) || !strings.EqualFold(p.s[p.off:p.off+len(k)], k) {
			continue
		}
		rest := p.s[p.off+len(k):]
		if rest == "" {
			return k
		}
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsSpace(r) || r == '(' || r == ')' {
			return k
		}
	}
	return ""
}

// or parses a OR b OR …; field, when set, is the field of an enclosing
// field:( … ) group.
func (p *parser) or(field string) (Expr, error) {
	first, err := p.and(field)
	if err != nil {
		return nil, err
	}
	parts := []Expr{first}
	for {
		p.skipSpace()
		if p.keyword() != "OR" {
			break
		}
		p.off += 2
		x, err := p.and(field)
		if err != nil {
			return nil, err
		}
		parts = append(parts, x)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return Or(parts), nil
}

// and parses a AND b c …, stopping before OR, ')' or the end.
func (p *parser) and(field string) (Expr, error) {
	var parts []Expr
	for {
		p.skipSpace()
		if p.eof() || p.peek() == ')' || p.keyword() == "OR" {
			break
		}
		if len(parts) > 0 && p.keyword() == "AND" {
			p.off += 3
			p.skipSpace()
		}
		x, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		parts = append(parts, x)
	}
	switch len(parts) {
	case 0:
		return nil, p.expectedTerm()
	case 1:
		return parts[0], nil
	}
	return And(parts), nil
}

func (p *parser) expectedTerm() error {
	if p.eof() {
		return p.fail(p.off, "search.expected_term_end")
	}
	return p.fail(p.off, "search.expected_term", "found", p.found(p.off))
}

// unary parses NOT x, -x or a primary.
func (p *parser) unary(field string) (Expr, error) {
	p.skipSpace()
	start := p.off
	neg := false
	switch {
	case p.keyword() == "NOT":
		p.off += 3
		neg = true
	case p.peek() == '-' && p.off+1 < len(p.s):
		r, _ := utf8.DecodeRuneInString(p.s[p.off+1:])
		if !unicode.IsSpace(r) && r != ')' {
			p.off++
			neg = true
		}
	}
	if neg {
		if err := p.enter(start); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.skipSpace()
		if p.eof() || p.peek() == ')' || p.keyword() == "AND" || p.keyword() == "OR" {
			return nil, p.expectedTerm()
		}
		x, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	}
	return p.primary(field)
}

// primary parses ( … ), field:value, a phrase or a word.
func (p *parser) primary(field string) (Expr, error) {
	if k := p.keyword(); k == "AND" || k == "OR" {
		return nil, p.expectedTerm()
	}
	if p.peek() == '(' {
		return p.group(field)
	}
	if name, ok := p.fieldName(); ok {
		p.off += len(name) + 1
		return p.value(name, p.off-len(name)-1)
	}
	return p.value(field, p.off)
}

// group parses ( … ) at the current offset.
func (p *parser) group(field string) (Expr, error) {
	open := p.off
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.off++
	p.skipSpace()
	if p.peek() == ')' {
		return nil, p.expectedTerm()
	}
	x, err := p.or(field)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.fail(open, "search.unclosed_paren")
	}
	p.off++
	return x, nil
}

// isFieldRune reports whether r may appear in a field name: a letter, _
// or @ first, then also digits, dots and hyphens.
func isFieldRune(r rune, first bool) bool {
	switch {
	case r == '_' || r == '@' || unicode.IsLetter(r):
		return true
	case r == '.' || r == '-' || unicode.IsDigit(r):
		return !first
	}
	return false
}

// fieldName returns the field name before a ':' at the current offset, if
// the text there is field:value rather than a word.
func (p *parser) fieldName() (string, bool) {
	i := p.off
	for i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[i:])
		if !isFieldRune(r, i == p.off) {
			break
		}
		i += n
	}
	if i == p.off || i >= len(p.s) || p.s[i] != ':' {
		return "", false
	}
	name, rest := p.s[p.off:i], p.s[i+1:]
	if len(name) == 1 && strings.HasPrefix(rest, `\`) {
		return "", false // C:\Windows
	}
	if strings.HasPrefix(rest, "//") {
		return "", false // http://…
	}
	return name, true
}

// item is one character of a value, and whether it is a wildcard.
type item struct {
	r    rune
	wild bool
}

// value parses what follows field: (or a bare term when field is "").
// start is where the term began, for errors.
func (p *parser) value(field string, start int) (Expr, error) {
	if p.eof() || unicode.IsSpace(p.peek()) || p.peek() == ')' {
		if field != "" && p.off > start {
			return nil, p.fail(p.off, "search.expected_value", "field", field)
		}
		return nil, p.expectedTerm()
	}
	switch c := p.s[p.off]; {
	case c == '(' && field != "" && p.off > start:
		return p.group(field)
	case c == '/':
		if re, ok := p.regex(); ok {
			if _, err := regexp.Compile(re); err != nil {
				return nil, p.fail(start, "search.invalid_regex", "reason", regexReason(err))
			}
			if field == "" {
				field = "raw"
			}
			return Pred{Field: field, Op: Regex, Value: re}, nil
		}
	case (c == '>' || c == '<') && field != "":
		return p.compare(field)
	}
	var items []item
	quoted := p.s[p.off] == '"'
	if quoted {
		var err error
		if items, err = p.phrase(); err != nil {
			return nil, err
		}
	} else {
		plain := p.off
		items = p.word()
		if field != "" {
			if pfx, err := netip.ParsePrefix(p.s[plain:p.off]); err == nil && pfx.IsValid() {
				return Pred{Field: field, Op: CIDR, Value: p.s[plain:p.off]}, nil
			}
		}
	}
	if field == "" {
		return textOf(items), nil
	}
	return predOf(field, items), nil
}

// regex reads /…/ at the current offset if the closing slash is followed
// by a blank, ')' or the end; otherwise it leaves the offset alone.
func (p *parser) regex() (string, bool) {
	var b strings.Builder
	for i := p.off + 1; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '\\' && i+1 < len(p.s) && p.s[i+1] == '/':
			b.WriteByte('/')
			i++
		case c == '\\' && i+1 < len(p.s):
			b.WriteByte(c)
			b.WriteByte(p.s[i+1])
			i++
		case c == '/':
			rest := p.s[i+1:]
			if rest != "" {
				r, _ := utf8.DecodeRuneInString(rest)
				if !unicode.IsSpace(r) && r != ')' {
					return "", false
				}
			}
			p.off = i + 1
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// regexReason is what is wrong with a regular expression, without the
// expression itself (which the user has in front of them).
func regexReason(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return string(re.Code)
	}
	return err.Error()
}

// compare parses >n, >=n, <n, <=n.
func (p *parser) compare(field string) (Expr, error) {
	op := Gt
	if p.s[p.off] == '<' {
		op = Lt
	}
	p.off++
	if !p.eof() && p.s[p.off] == '=' {
		op++ // Gte follows Gt, Lte follows Lt
		p.off++
	}
	at := p.off
	end := at
	for end < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[end:])
		if unicode.IsSpace(r) || r == ')' {
			break
		}
		end += n
	}
	num := p.s[at:end]
	if !isNumber(num) {
		return nil, p.fail(at, "search.expected_number", "found", p.found(at))
	}
	p.off = end
	return Pred{Field: field, Op: op, Value: num}, nil
}

// isNumber reports whether s is a finite decimal number.
func isNumber(s string) bool {
	if s == "" || strings.ContainsAny(s, "_xXpPiInN") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// phrase reads "…" at the current offset.
func (p *parser) phrase() ([]item, error) {
	open := p.off
	p.off++
	var items []item
	for p.off < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.off:])
		switch r {
		case '"':
			p.off++
			return items, nil
		case '*', '?':
			items = append(items, item{r: r, wild: true})
		case '\\':
			if p.off+1 < len(p.s) && strings.IndexByte(`\"*?`, p.s[p.off+1]) >= 0 {
				items = append(items, item{r: rune(p.s[p.off+1])})
				p.off += 2
				continue
			}
			items = append(items, item{r: r})
		default:
			items = append(items, item{r: r})
		}
		p.off += n
	}
	return nil, p.fail(open, "search.unclosed_quote")
}

// word reads an unquoted value: up to a blank, or a ')' that closes no '('
// opened inside the word.
func (p *parser) word() []item {
	var items []item
	depth := 0
	for p.off < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.off:])
		switch {
		case unicode.IsSpace(r):
			return items
		case r == ')' && depth == 0:
			return items
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == '*' || r == '?':
			items = append(items, item{r: r, wild: true})
			p.off += n
			continue
		case r == '\\' && p.off+1 < len(p.s):
			next, m := utf8.DecodeRuneInString(p.s[p.off+1:])
			if strings.ContainsRune(`\"*?()`, next) || unicode.IsSpace(next) {
				items = append(items, item{r: next})
				p.off += 1 + m
				continue
			}
		}
		items = append(items, item{r: r})
		p.off += n
	}
	return items
}

// literal returns the text of items, which hold no wildcards.
func literal(items []item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteRune(it.r)
	}
	return b.String()
}

// glob returns items as a Wildcard value: a backslash before a literal
// \, * or ?.
func glob(items []item) string {
	var b strings.Builder
	for _, it := range items {
		if !it.wild && (it.r == '\\' || it.r == '*' || it.r == '?') {
			b.WriteByte('\\')
		}
		b.WriteRune(it.r)
	}
	return b.String()
}

// trimStars splits items into the count of leading and trailing '*'
// wildcards and what lies between, and reports whether that middle holds
// wildcards.
func trimStars(items []item) (lead, trail int, mid []item, wild bool) {
	for lead < len(items) && items[lead].wild && items[lead].r == '*' {
		lead++
	}
	rest := items[lead:]
	for trail < len(rest) && rest[len(rest)-1-trail].wild && rest[len(rest)-1-trail].r == '*' {
		trail++
	}
	mid = rest[:len(rest)-trail]
	for _, it := range mid {
		if it.wild {
			wild = true
		}
	}
	return lead, trail, mid, wild
}

// predOf classifies a field's value.
func predOf(field string, items []item) Expr {
	if len(items) == 0 {
		return Pred{Field: field, Op: Eq}
	}
	lead, trail, mid, wild := trimStars(items)
	switch {
	case len(mid) == 0:
		return Pred{Field: field, Op: Exists}
	case wild:
		return Pred{Field: field, Op: Wildcard, Value: glob(items)}
	case lead > 0 && trail > 0:
		return Pred{Field: field, Op: Contains, Value: literal(mid)}
	case lead > 0:
		return Pred{Field: field, Op: Suffix, Value: literal(mid)}
	case trail > 0:
		return Pred{Field: field, Op: Prefix, Value: literal(mid)}
	}
	return Pred{Field: field, Op: Eq, Value: literal(mid)}
}

// textOf classifies a bare word or phrase: text the raw event contains,
// or a wildcard over the raw event.
func textOf(items []item) Expr {
	_, _, mid, wild := trimStars(items)
	if !wild {
		return Text{Value: literal(mid)}
	}
	all := make([]item, 0, len(mid)+2)
	all = append(all, item{r: '*', wild: true})
	all = append(all, mid...)
	all = append(all, item{r: '*', wild: true})
	return Pred{Field: "raw", Op: Wildcard, Value: glob(all)}
}

// globItems reads a Wildcard value back into items.
func globItems(g string) []item {
	var items []item
	for i := 0; i < len(g); {
		r, n := utf8.DecodeRuneInString(g[i:])
		switch {
		case r == '\\' && i+1 < len(g):
			next, m := utf8.DecodeRuneInString(g[i+1:])
			items = append(items, item{r: next})
			i += 1 + m
			continue
		case r == '*' || r == '?':
			items = append(items, item{r: r, wild: true})
		default:
			items = append(items, item{r: r})
		}
		i += n
	}
	return items
}

// Format returns x in the query box language: Parse(Format(x)) gives x
// again for any x that Parse returned. Format(nil) is "".
func Format(x Expr) string {
	var b strings.Builder
	format(&b, x)
	return b.String()
}

// String returns a in the query box language.
func (a And) String() string { return Format(a) }

// String returns o in the query box language.
func (o Or) String() string { return Format(o) }

// String returns n in the query box language.
func (n Not) String() string { return Format(n) }

// String returns p in the query box language.
func (p Pred) String() string { return Format(p) }

// String returns t in the query box language.
func (t Text) String() string { return Format(t) }

var opNames = [...]string{"eq", "contains", "prefix", "suffix", "wildcard", "regex", "exists", "cidr", "gt", "gte", "lt", "lte"}

// String returns the operator's name.
func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opNames[o]
}

func format(b *strings.Builder, x Expr) {
	switch x := x.(type) {
	case And:
		formatList(b, x, " AND ")
	case Or:
		formatList(b, x, " OR ")
	case Not:
		b.WriteString("NOT ")
		formatPart(b, x.X)
	case Text:
		quote(b, []item(nil), x.Value)
	case Pred:
		formatPred(b, x)
	}
}

func formatList(b *strings.Builder, parts []Expr, sep string) {
	for i, p := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		formatPart(b, p)
	}
}

// formatPart writes x, in parentheses when it is an And or an Or.
func formatPart(b *strings.Builder, x Expr) {
	switch x.(type) {
	case And, Or:
		b.WriteByte('(')
		format(b, x)
		b.WriteByte(')')
	default:
		format(b, x)
	}
}

func formatPred(b *strings.Builder, p Pred) {
	b.WriteString(p.Field)
	b.WriteByte(':')
	switch p.Op {
	case Exists:
		b.WriteByte('*')
	case Regex:
		if p.Value == "" {
			b.WriteString("(//)") // "f://" would read as a URL
			return
		}
		b.WriteByte('/')
		for i := 0; i < len(p.Value); i++ {
			switch c := p.Value[i]; {
			case c == '\\' && i+1 < len(p.Value):
				b.WriteByte(c)
				b.WriteByte(p.Value[i+1])
				i++
			case c == '/':
				b.WriteString(`\/`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('/')
	case CIDR:
		b.WriteString(p.Value)
	case Gt, Gte, Lt, Lte:
		b.WriteString([...]string{Gt: ">", Gte: ">=", Lt: "<", Lte: "<="}[p.Op])
		b.WriteString(p.Value)
	case Wildcard:
		quote(b, globItems(p.Value), "")
	default:
		star := item{r: '*', wild: true}
		var items []item
		if p.Op == Contains || p.Op == Suffix {
			items = append(items, star)
		}
		for _, r := range p.Value {
			items = append(items, item{r: r})
		}
		if p.Op == Contains || p.Op == Prefix {
			items = append(items, star)
		}
		quote(b, items, "")
	}
}

// quote writes items, or else the literal text s, as a quoted phrase.
func quote(b *strings.Builder, items []item, s string) {
	if items == nil {
		for _, r := range s {
			items = append(items, item{r: r})
		}
	}
	b.WriteByte('"')
	for _, it := range items {
		if !it.wild && strings.ContainsRune(`\"*?`, it.r) {
			b.WriteByte('\\')
		}
		b.WriteRune(it.r)
	}
	b.WriteByte('"')
}
