// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

// userFields are the field names whose values are user names: their domain
// part is dropped before comparing.
var userFields = map[string]bool{
	"User": true, "TargetUserName": true, "SubjectUserName": true, "AccountName": true,
	"SamAccountName": true, "UserName": true, "TargetUser": true,
}

// source is one alternative of a field spec or the field of a condition:
// an interned field, or the host.
type source struct {
	id   event.FieldID // 0 for the host
	slot int16         // the field's place in a view
	user bool
}

// slots numbers the fields an engine reads, so that a view gathers them
// from an event in one pass.
type slots struct {
	of []int16 // FieldID → slot, -1 for fields no definition reads
	n  int16
}

// source returns the source for the field called name.
func (sl *slots) source(name string) (source, error) {
	if name == Host {
		return source{}, nil
	}
	id, err := event.Intern(name)
	if err != nil {
		return source{}, fmt.Errorf("field %q: %w", name, err)
	}
	for int(id) >= len(sl.of) {
		sl.of = append(sl.of, -1)
	}
	if sl.of[id] < 0 {
		sl.of[id] = sl.n
		sl.n++
	}
	return source{id: id, slot: sl.of[id], user: userFields[name]}, nil
}

// view gives the fields an engine reads of one event, each looked up once
// however many definitions read it (EventID, Image …). Fields of an EVTX
// record come in document order, EventID second, so that a lookup usually
// stops early; a view therefore caches lookups rather than gathering every
// field in one pass.
type view struct {
	ev   *event.Event
	vals []string // by slot
	done uint64   // slots looked up; slots past 63 are not cached
}

func (v *view) get(s source) string {
	if s.id == 0 {
		return v.ev.Host
	}
	if s.slot >= 64 {
		x, _ := v.ev.Get(s.id)
		return x
	}
	bit := uint64(1) << s.slot
	if v.done&bit == 0 {
		v.done |= bit
		v.vals[s.slot], _ = v.ev.Get(s.id)
	}
	return v.vals[s.slot]
}

// spec is one Key or Value entry: alternatives tried in order.
type spec []source

// compileSpec resolves "A|B" to sources.
func compileSpec(s string, sl *slots) (spec, error) {
	var sp spec
	for _, name := range strings.Split(s, "|") {
		src, err := sl.source(name)
		if err != nil {
			return nil, err
		}
		sp = append(sp, src)
	}
	return sp, nil
}

// present reports whether v counts as a value: Windows writes "-" for none.
func present(v string) bool { return v != "" && v != "-" }

// pick returns the value of the first alternative the event has, and
// whether it is a user name.
func (sp spec) pick(v *view) (string, bool, bool) {
	for _, s := range sp {
		if x := v.get(s); present(x) {
			return x, s.user, true
		}
	}
	return "", false, false
}

// userName drops the domain of a user name: CORP\alice and
// alice@corp.example become alice.
func userName(v string) string {
	if i := strings.LastIndexByte(v, '\\'); i >= 0 && i+1 < len(v) {
		return v[i+1:]
	}
	if i := strings.IndexByte(v, '@'); i > 0 {
		return v[:i]
	}
	return v
}

// appendPart appends v to b as one part of a hash input: its folded
// length then its folded bytes, so that parts never run into each other.
func appendPart(b []byte, v string, user bool) []byte {
	if user {
		v = userName(v)
	}
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = appendFold(b, v)
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// appendFold appends v lower-cased; ASCII takes the fast path.
func appendFold(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			for _, r := range v[i:] {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			return b
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// cond is a compiled Cond.
type cond struct {
	src  source
	pats []pattern
}

type patKind uint8

const (
	patEqual patKind = iota
	patAny
	patPrefix
	patSuffix
)

type pattern struct {
	kind patKind
	s    string
}

func compileCond(c Cond, sl *slots) (cond, error) {
	src, err := sl.source(c.Field)
	if err != nil {
		return cond{}, err
	}
	cc := cond{src: src}
	for _, v := range c.Values {
		p := pattern{s: strings.ToLower(v)}
		switch {
		case v == "*":
			p.kind = patAny
		case len(v) > 1 && strings.HasSuffix(v, "*"):
			p.kind, p.s = patPrefix, v[:len(v)-1]
		case len(v) > 1 && strings.HasPrefix(v, "*"):
			p.kind, p.s = patSuffix, v[1:]
		}
		cc.pats = append(cc.pats, p)
	}
	return cc, nil
}

// holds reports whether the condition holds for the event.
func (c *cond) holds(vw *view) bool {
	v := vw.get(c.src)
	for _, p := range c.pats {
		switch p.kind {
		case patEqual:
			if v == p.s || len(v) == len(p.s) && strings.EqualFold(v, p.s) {
				return true
			}
		case patAny:
			if v != "" {
				return true
			}
		case patPrefix:
			if len(v) >= len(p.s) && strings.EqualFold(v[:len(p.s)], p.s) {
				return true
			}
		case patSuffix:
			if len(v) >= len(p.s) && strings.EqualFold(v[len(v)-len(p.s):], p.s) {
				return true
			}
		}
	}
	return false
}

// sameWord reports whether a logsource part of an event is the
// definition's want (lower-cased at compile time); an empty want matches
// anything. The normaliser writes lower case, so the common case is one
// string comparison.
func sameWord(want, got string) bool {
	return want == "" || want == got || len(want) == len(got) && strings.EqualFold(want, got)
}

// match is a compiled Match.
type match struct {
	product, category, service string
	fields, except             []cond
}

func (m *match) holds(vw *view) bool {
	ev := vw.ev
	if !sameWord(m.product, ev.Log.Product) || !sameWord(m.category, ev.Log.Category) ||
		!sameWord(m.service, ev.Log.Service) {
		return false
	}
	for i := range m.fields {
		if !m.fields[i].holds(vw) {
			return false
		}
	}
	for i := range m.except {
		if m.except[i].holds(vw) {
			return false
		}
	}
	return true
}
