// SPDX-License-Identifier: Apache-2.0

package intake

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

// Bounds on one JSON document. They keep the memory and time one document
// can cost proportional to its size, whatever its shape.
const (
	// MaxJSONBytes is the longest document FromJSON parses. A longer one is
	// refused and kept by Unparsed, cut to this length and flagged.
	MaxJSONBytes = 1 << 20
	// MaxJSONDepth is the deepest nesting of objects and arrays accepted.
	MaxJSONDepth = 64
	// MaxJSONFields is the most fields one document gives; further fields
	// stay in the raw bytes only and the event is flagged FlagTruncated.
	MaxJSONFields = 2000
	// MaxFieldNameBytes is the longest flattened field name kept; longer
	// ones stay in the raw bytes only (FlagFieldsDropped).
	MaxFieldNameBytes = 512
)

// JSONError says why and where a document is not a JSON object.
type JSONError struct {
	Offset int    // byte offset in the document
	Msg    string // what was wrong
}

// Error implements error.
func (e *JSONError) Error() string {
	return fmt.Sprintf("intake: json: %s at byte %d", e.Msg, e.Offset)
}

// The names FromJSON takes the event time from, in order of preference.
// "date" is the key Fluent Bit's http output uses by default.
var timeFields = [...]event.FieldID{
	event.MustIntern("@timestamp"), event.MustIntern("timestamp"),
	event.MustIntern("time"), event.MustIntern("ts"), event.MustIntern("date"),
}

// The names FromJSON takes the host from, in order of preference (ECS,
// Winlogbeat, then common flat names).
var hostFields = [...]event.FieldID{
	event.MustIntern("host.name"), event.MustIntern("host.hostname"),
	event.MustIntern("winlog.computer_name"), event.MustIntern("hostname"),
	event.MustIntern("host"), event.MustIntern("agent.hostname"),
}

var fieldMessage = event.MustIntern("message")

// FromJSON fills ev from one JSON object, doc.
//
//   - Nested objects are flattened with dots: {"a":{"b":1}} gives "a.b" = "1".
//     Empty objects give no field. A name given twice keeps the last value.
//   - An array gives one field holding the array as compact JSON text,
//     whatever it contains: {"tags":["a","b"]} gives "tags" = `["a","b"]`.
//     Strings inside are re-encoded with only the escapes JSON needs, so
//     non-ASCII text stays readable. (Indexed names such as "tags.0" were
//     not chosen: they would turn every array length into new field names.)
//   - Numbers keep their JSON text ("1.50" stays "1.50"); booleans become
//     "true"/"false"; null is skipped.
//   - Text that is not valid UTF-8 (Shift_JIS, binary) is repaired with
//     U+FFFD and the event is flagged FlagInvalidText.
//   - ev.Time comes from the first of "@timestamp", "timestamp", "time",
//     "ts", "date" that holds RFC 3339 text (with or without fraction and
//     zone) or Unix seconds, milliseconds, microseconds or nanoseconds as a
//     number or string (Zeek's "ts" 1521911721.926318 included); otherwise
//     it is left 0 for normalisation to decide.
//   - ev.Host, when empty, comes from the first of "host.name",
//     "host.hostname", "winlog.computer_name", "hostname", "host",
//     "agent.hostname".
//   - ev.Raw is a copy of doc.
//
// FromJSON returns a *JSONError, and leaves ev as it was, when doc is not
// one JSON object, nests deeper than MaxJSONDepth or is longer than
// MaxJSONBytes; the caller keeps such input with Unparsed.
func FromJSON(doc []byte, ev *event.Event) error {
	if len(doc) > MaxJSONBytes {
		return &JSONError{Offset: MaxJSONBytes, Msg: fmt.Sprintf("document longer than %d bytes", MaxJSONBytes)}
	}
	p := parserPool.Get().(*parser)
	defer p.release()
	p.doc = doc
	if err := p.document(); err != nil {
		return err
	}
	p.fill(ev)
	ev.Raw = bytes.Clone(doc)
	return nil
}

// Unparsed fills ev for a document that FromJSON refused with err: the raw
// bytes and the field "message" hold the text (at most MaxJSONBytes; longer
// input is cut and flagged FlagTruncated; invalid UTF-8 in the message is
// repaired and flagged FlagInvalidText), and the event is flagged
// FlagParseError with err as the reason. Nothing is dropped silently.
func Unparsed(doc []byte, err error, ev *event.Event) {
	if len(doc) > MaxJSONBytes {
		doc = doc[:MaxJSONBytes]
		ev.Flag(event.FlagTruncated, fmt.Sprintf("longer than %d bytes; cut", MaxJSONBytes))
	}
	ev.Flag(event.FlagParseError, err.Error())
	ev.Raw = bytes.Clone(doc)
	msg := bytes.TrimRight(doc, " \t\r\n")
	if !utf8.Valid(msg) {
		msg = appendRepaired(nil, msg)
		ev.Flag(event.FlagInvalidText, "not valid UTF-8; repaired")
	}
	ev.Set(fieldMessage, string(msg))
}

// pending is a field found in the document; its value is vals[start:end].
type pending struct {
	id         event.FieldID
	start, end int32
}

// parser is one document's flattening state. Parsers are pooled: each
// holds a cache of interned names, which stay valid for the whole process.
type parser struct {
	doc    []byte
	pos    int
	name   []byte // the dotted name of the value being read
	vals   []byte // every value, decoded, one after the other
	tmp    []byte // a string decoded inside an array
	fields []pending
	// slot[id] is 1 + the position of field id, once there are too many
	// fields to scan; entries are cleared after each document.
	slot    []int32
	indexed bool
	cache   map[string]event.FieldID
	flags   event.Flag
	reason  string
}

var parserPool = sync.Pool{New: func() any {
	return &parser{cache: make(map[string]event.FieldID)}
}}

// maxCachedNames bounds a parser's name cache.
const maxCachedNames = 4096

func (p *parser) release() {
	p.doc = nil
	p.pos = 0
	p.name = p.name[:0]
	if p.indexed {
		for _, f := range p.fields {
			p.slot[f.id] = 0
		}
		p.indexed = false
	}
	p.fields = p.fields[:0]
	p.flags, p.reason = 0, ""
	if cap(p.vals) > 64<<10 {
		p.vals = nil // don't keep one huge document's buffer alive
	}
	p.vals = p.vals[:0]
	if cap(p.tmp) > 64<<10 {
		p.tmp = nil
	}
	if len(p.cache) > maxCachedNames {
		clear(p.cache)
	}
	parserPool.Put(p)
}

func (p *parser) fail(off int, format string, args ...any) error {
	return &JSONError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) flag(f event.Flag, reason string) {
	p.flags |= f
	if p.reason == "" {
		p.reason = reason
	}
}

func (p *parser) ws() {
	for p.pos < len(p.doc) {
		switch p.doc[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) document() error {
	if bytes.HasPrefix(p.doc, []byte("\xEF\xBB\xBF")) {
		p.pos = 3 // a UTF-8 byte order mark, as Windows tools write
	}
	p.ws()
	if p.pos >= len(p.doc) {
		return p.fail(p.pos, "empty document, want a JSON object")
	}
	if c := p.doc[p.pos]; c != '{' {
		return p.fail(p.pos, "not a JSON object: starts with %q", rune(c))
	}
	if err := p.object(1); err != nil {
		return err
	}
	p.ws()
	if p.pos < len(p.doc) {
		return p.fail(p.pos, "text after the JSON object")
	}
	return nil
}

// object reads the object at p.pos, adding its fields under p.name.
func (p *parser) object(depth int) error {
	if depth > MaxJSONDepth {
		return p.fail(p.pos, "nested deeper than %d levels", MaxJSONDepth)
	}
	p.pos++ // '{'
	p.ws()
	if p.pos < len(p.doc) && p.doc[p.pos] == '}' {
		p.pos++
		return nil
	}
	base := len(p.name)
	for {
		if p.pos >= len(p.doc) || p.doc[p.pos] != '"' {
			return p.fail(p.pos, "want a quoted member name")
		}
		if base > 0 {
			p.name = append(p.name, '.')
		}
		var err error
		if p.name, err = p.str(p.name); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.doc) || p.doc[p.pos] != ':' {
			return p.fail(p.pos, "want ':' after a member name")
		}
		p.pos++
		p.ws()
		if err := p.value(depth); err != nil {
			return err
		}
		p.name = p.name[:base]
		p.ws()
		if p.pos >= len(p.doc) {
			return p.fail(p.pos, "unterminated object")
		}
		switch p.doc[p.pos] {
		case ',':
			p.pos++
			p.ws()
		case '}':
			p.pos++
			return nil
		default:
			return p.fail(p.pos, "want ',' or '}' in an object")
		}
	}
}

// value reads the member value at p.pos into the field named p.name.
func (p *parser) value(depth int) error {
	if p.pos >= len(p.doc) {
		return p.fail(p.pos, "want a value")
	}
	start := len(p.vals)
	var err error
	switch c := p.doc[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		p.vals, err = p.compact(p.vals, depth+1)
	case c == '"':
		p.vals, err = p.str(p.vals)
	case c == 'n':
		return p.literal("null")
	case c == 't':
		if err = p.literal("true"); err == nil {
			p.vals = append(p.vals, "true"...)
		}
	case c == 'f':
		if err = p.literal("false"); err == nil {
			p.vals = append(p.vals, "false"...)
		}
	case c == '-' || c >= '0' && c <= '9':
		var n int
		if n, err = p.number(); err == nil {
			p.vals = append(p.vals, p.doc[p.pos-n:p.pos]...)
		}
	default:
		return p.fail(p.pos, "unexpected %q, want a value", rune(c))
	}
	if err != nil {
		return err
	}
	p.add(start)
	return nil
}

// add records the value vals[start:] as the field named p.name.
func (p *parser) add(start int) {
	if len(p.name) == 0 || len(p.name) > MaxFieldNameBytes {
		p.vals = p.vals[:start]
		p.flag(event.FlagFieldsDropped, fmt.Sprintf("a field name is empty or longer than %d bytes", MaxFieldNameBytes))
		return
	}
	id, ok := p.cache[string(p.name)]
	if !ok {
		var err error
		if id, err = event.Intern(string(p.name)); err != nil {
			p.vals = p.vals[:start]
			p.flag(event.FlagFieldsDropped, "too many distinct field names")
			return
		}
		p.cache[string(p.name)] = id
	}
	f := pending{id: id, start: int32(start), end: int32(len(p.vals))}
	if i, dup := p.find(id); dup {
		p.fields[i] = f // the last value wins; the earlier bytes stay unused
		return
	}
	if len(p.fields) >= MaxJSONFields {
		p.vals = p.vals[:start]
		p.flag(event.FlagTruncated, fmt.Sprintf("more than %d fields; the rest are in the raw event only", MaxJSONFields))
		return
	}
	p.fields = append(p.fields, f)
	if p.indexed {
		p.setSlot(id, len(p.fields)-1)
	}
}

func (p *parser) setSlot(id event.FieldID, pos int) {
	if int(id) >= len(p.slot) {
		p.slot = append(p.slot, make([]int32, int(id)+1-len(p.slot)+64)...)
	}
	p.slot[id] = int32(pos + 1)
}

// find returns the position of field id: a scan while fields are few, a
// table indexed by field id once there are many (so that huge documents
// cost linear time, without a map per document).
func (p *parser) find(id event.FieldID) (int, bool) {
	const scanMax = 32
	if !p.indexed {
		if len(p.fields) < scanMax {
			for i := range p.fields {
				if p.fields[i].id == id {
					return i, true
				}
			}
			return 0, false
		}
		p.indexed = true
		for i, f := range p.fields {
			p.setSlot(f.id, i)
		}
	}
	if int(id) < len(p.slot) && p.slot[id] > 0 {
		return int(p.slot[id]) - 1, true
	}
	return 0, false
}

func (p *parser) literal(word string) error {
	if !bytes.HasPrefix(p.doc[p.pos:], []byte(word)) {
		return p.fail(p.pos, "invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

// number checks the JSON number at p.pos, moves past it and returns its
// length.
func (p *parser) number() (int, error) {
	d, start := p.doc, p.pos
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		return 0, p.fail(i, "invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return 0, p.fail(i, "invalid number: no digits after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, p.fail(i, "invalid number: no digits in the exponent")
		}
	}
	p.pos = i
	return i - start, nil
}

// str decodes the string at p.pos (at its opening quote), appends its text
// to dst and moves past it. It is long because it is the scanner's inner
// loop: one function keeps the common case (plain text) a tight scan.
func (p *parser) str(dst []byte) ([]byte, error) {
	d := p.doc
	open := p.pos
	i := open + 1
	for {
		start := i
		ascii := true
		for i < len(d) {
			c := d[i]
			if c == '"' || c == '\\' {
				break
			}
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
		if ascii {
			dst = append(dst, d[start:i]...)
		} else {
			dst = p.text(dst, d[start:i])
		}
		if i >= len(d) {
			return dst, p.fail(open, "unterminated string")
		}
		if d[i] == '"' {
			p.pos = i + 1
			return dst, nil
		}
		// An escape.
		if i+1 >= len(d) {
			return dst, p.fail(i, "unterminated string")
		}
		switch e := d[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
			i += 2
		case 'b':
			dst, i = append(dst, '\b'), i+2
		case 'f':
			dst, i = append(dst, '\f'), i+2
		case 'n':
			dst, i = append(dst, '\n'), i+2
		case 'r':
			dst, i = append(dst, '\r'), i+2
		case 't':
			dst, i = append(dst, '\t'), i+2
		case 'u':
			r, ok := hex4(d, i+2)
			if !ok {
				return dst, p.fail(i, "invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
					r2, ok2 = hex4(d, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
					p.flag(event.FlagInvalidText, "a \\u escape is half a surrogate pair; replaced with U+FFFD")
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, p.fail(i, "invalid escape \\%c", rune(e))
		}
	}
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// text appends s to dst, replacing each byte that is not part of valid
// UTF-8 with U+FFFD (as encoding/json does).
func (p *parser) text(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	p.flag(event.FlagInvalidText, "not valid UTF-8 (Shift_JIS or binary?); repaired with U+FFFD")
	return appendRepaired(dst, s)
}

// appendRepaired appends s to dst with each byte that is not part of valid
// UTF-8 replaced by U+FFFD.
func appendRepaired(dst, s []byte) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[:n]...)
		}
		s = s[n:]
	}
	return dst
}

// compact re-encodes the value at p.pos as compact JSON text onto dst:
// whitespace dropped, strings decoded and re-escaped minimally. Arrays and
// objects share one loop, which is why it is long.
func (p *parser) compact(dst []byte, depth int) ([]byte, error) {
	if p.pos >= len(p.doc) {
		return dst, p.fail(p.pos, "want a value")
	}
	var err error
	switch c := p.doc[p.pos]; {
	case c == '[' || c == '{':
		if depth > MaxJSONDepth {
			return dst, p.fail(p.pos, "nested deeper than %d levels", MaxJSONDepth)
		}
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		dst = append(dst, c)
		p.pos++
		p.ws()
		if p.pos < len(p.doc) && p.doc[p.pos] == closer {
			p.pos++
			return append(dst, closer), nil
		}
		for {
			if c == '{' {
				if p.pos >= len(p.doc) || p.doc[p.pos] != '"' {
					return dst, p.fail(p.pos, "want a quoted member name")
				}
				if dst, err = p.compactString(dst); err != nil {
					return dst, err
				}
				p.ws()
				if p.pos >= len(p.doc) || p.doc[p.pos] != ':' {
					return dst, p.fail(p.pos, "want ':' after a member name")
				}
				p.pos++
				p.ws()
				dst = append(dst, ':')
			}
			if dst, err = p.compact(dst, depth+1); err != nil {
				return dst, err
			}
			p.ws()
			if p.pos >= len(p.doc) {
				return dst, p.fail(p.pos, "unterminated array or object")
			}
			switch p.doc[p.pos] {
			case ',':
				p.pos++
				p.ws()
				dst = append(dst, ',')
			case closer:
				p.pos++
				return append(dst, closer), nil
			default:
				return dst, p.fail(p.pos, "want ',' or %q", rune(closer))
			}
		}
	case c == '"':
		return p.compactString(dst)
	case c == 'n':
		err = p.literal("null")
		return append(dst, "null"...), err
	case c == 't':
		err = p.literal("true")
		return append(dst, "true"...), err
	case c == 'f':
		err = p.literal("false")
		return append(dst, "false"...), err
	case c == '-' || c >= '0' && c <= '9':
		n, err := p.number()
		if err != nil {
			return dst, err
		}
		return append(dst, p.doc[p.pos-n:p.pos]...), nil
	default:
		return dst, p.fail(p.pos, "unexpected %q, want a value", rune(c))
	}
}

func (p *parser) compactString(dst []byte) ([]byte, error) {
	var err error
	p.tmp, err = p.str(p.tmp[:0])
	if err != nil {
		return dst, err
	}
	return appendQuoted(dst, p.tmp), nil
}

// appendQuoted appends s (valid UTF-8) as a JSON string with only the
// escapes JSON requires.
func appendQuoted(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// fill moves the parsed fields into ev.
func (p *parser) fill(ev *event.Event) {
	all := string(p.vals) // one allocation for every value
	if len(ev.Fields) == 0 {
		if cap(ev.Fields) < len(p.fields) {
			ev.Fields = make([]event.Field, 0, len(p.fields))
		}
		for _, f := range p.fields {
			ev.Fields = append(ev.Fields, event.Field{ID: f.id, Value: all[f.start:f.end]})
		}
	} else {
		for _, f := range p.fields {
			ev.Set(f.id, all[f.start:f.end])
		}
	}
	if p.flags != 0 {
		ev.Flag(p.flags, p.reason)
	}
	for _, id := range timeFields {
		if i, ok := p.find(id); ok {
			if ns, ok := ParseTime(all[p.fields[i].start:p.fields[i].end]); ok {
				ev.Time = ns
				break
			}
		}
	}
	if ev.Host == "" {
		for _, id := range hostFields {
			// Not an empty value, nor an array.
			if i, ok := p.find(id); ok && p.fields[i].end > p.fields[i].start && all[p.fields[i].start] != '[' {
				ev.Host = all[p.fields[i].start:p.fields[i].end]
				break
			}
		}
	}
}

// timeLayouts are the textual times ParseTime accepts besides RFC 3339.
var timeLayouts = [...]string{
	"2006-01-02T15:04:05.999999999Z0700", // zone without a colon
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02 15:04:05.999999999",
}

// ParseTime reads a time as JSON logs write it: RFC 3339 (and the common
// variants with a space, a zone without a colon or no zone, taken as UTC),
// or a Unix time in seconds, milliseconds, microseconds or nanoseconds,
// told apart by magnitude, with an optional fraction (Zeek's
// 1521911721.926318); numbers with fewer than 9 integer digits (before
// 1973 in seconds) are not taken as times. It returns Unix nanoseconds.
func ParseTime(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 64 {
		return 0, false
	}
	if ns, ok := parseEpoch(s); ok {
		return ns, true
	}
	if s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

// parseEpoch reads digits[.digits] as a Unix time; the number of integer
// digits decides the unit: 9 or 10 seconds, 11-13 milliseconds, 14-16
// microseconds, 17-19 nanoseconds. Exponent forms (1.5e9) are read as
// seconds.
func parseEpoch(s string) (int64, bool) {
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0:
			dot = i
		case c == 'e' || c == 'E':
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f < 1e8 || f >= 1e10 {
				return 0, false
			}
			return int64(f * 1e9), true
		default:
			return 0, false
		}
	}
	intPart, frac := s, ""
	if dot >= 0 {
		intPart, frac = s[:dot], s[dot+1:]
	}
	// Fewer than 9 digits is before 1973 in seconds: more likely a
	// duration or a counter than a time.
	if len(intPart) < 9 || len(intPart) > 19 {
		return 0, false
	}
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, false
	}
	var unit int64
	switch {
	case len(intPart) <= 10:
		unit = 1e9
	case len(intPart) <= 13:
		unit = 1e6
	case len(intPart) <= 16:
		unit = 1e3
	default:
		unit = 1
	}
	if n > (1<<63-1)/unit {
		return 0, false
	}
	ns := n * unit
	// The fraction, in units of the integer part, to nanoseconds.
	for i, scale := 0, unit/10; i < len(frac) && scale > 0; i, scale = i+1, scale/10 {
		ns += int64(frac[i]-'0') * scale
	}
	return ns, true
}

// JSONArray calls yield with each element of the JSON array doc, as its
// raw bytes, until yield returns false. An element need not be an object:
// the caller passes each to FromJSON, which refuses what is not one.
// JSONArray returns nil, or a *JSONError when doc is not a well-formed
// array; then rest is the offset of the first byte that no yielded element
// covers, so that the caller can keep the remainder with Unparsed.
func JSONArray(doc []byte, yield func(elem []byte) bool) (rest int, err error) {
	p := parserPool.Get().(*parser)
	defer p.release()
	p.doc = doc
	if bytes.HasPrefix(doc, []byte("\xEF\xBB\xBF")) {
		p.pos = 3
	}
	p.ws()
	if p.pos >= len(doc) || doc[p.pos] != '[' {
		return 0, p.fail(p.pos, "not a JSON array")
	}
	p.pos++
	p.ws()
	if p.pos < len(doc) && doc[p.pos] == ']' {
		p.pos++
	} else {
		for {
			start := p.pos
			p.vals = p.vals[:0]
			if p.vals, err = p.compact(p.vals, 2); err != nil {
				return start, err
			}
			if !yield(doc[start:p.pos]) {
				return p.pos, nil
			}
			p.ws()
			if p.pos >= len(doc) {
				return p.pos, p.fail(p.pos, "unterminated array")
			}
			if doc[p.pos] == ']' {
				p.pos++
				break
			}
			if doc[p.pos] != ',' {
				return p.pos, p.fail(p.pos, "want ',' or ']' in an array")
			}
			p.pos++
			p.ws()
		}
	}
	p.ws()
	if p.pos < len(doc) {
		return p.pos, p.fail(p.pos, "text after the JSON array")
	}
	return len(doc), nil
}
