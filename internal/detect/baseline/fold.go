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

// source is one alternative of a field spec: an interned field or the host.
type source struct {
	id   event.FieldID // 0 for the host
	user bool
}

// spec is one Key or Value entry: alternatives tried in order.
type spec []source

// compileSpec resolves "A|B" to field ids.
func compileSpec(s string) (spec, error) {
	var sp spec
	for _, name := range strings.Split(s, "|") {
		if name == Host {
			sp = append(sp, source{})
			continue
		}
		id, err := event.Intern(name)
		if err != nil {
			return nil, fmt.Errorf("baseline: field %q: %w", name, err)
		}
		sp = append(sp, source{id: id, user: userFields[name]})
	}
	return sp, nil
}

// present reports whether v counts as a value: Windows writes "-" for none.
func present(v string) bool { return v != "" && v != "-" }

// pick returns the value of the first alternative the event has, and
// whether it is a user name.
func (sp spec) pick(ev *event.Event) (string, bool, bool) {
	for _, s := range sp {
		var v string
		if s.id == 0 {
			v = ev.Host
		} else {
			v, _ = ev.Get(s.id)
		}
		if present(v) {
			return v, s.user, true
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

func compileCond(c Cond) (cond, error) {
	var src source
	if c.Field != Host {
		id, err := event.Intern(c.Field)
		if err != nil {
			return cond{}, fmt.Errorf("baseline: field %q: %w", c.Field, err)
		}
		src.id = id
	}
	cc := cond{src: src}
	for _, v := range c.Values {
		p := pattern{s: v}
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

// holds reports whether the condition holds for ev.
func (c *cond) holds(ev *event.Event) bool {
	var v string
	if c.src.id == 0 {
		v = ev.Host
	} else {
		v, _ = ev.Get(c.src.id)
	}
	for _, p := range c.pats {
		switch p.kind {
		case patEqual:
			if strings.EqualFold(v, p.s) {
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

// match is a compiled Match.
type match struct {
	product, category, service string
	fields, except             []cond
}

func (m *match) holds(ev *event.Event) bool {
	if m.product != "" && !strings.EqualFold(ev.Log.Product, m.product) ||
		m.category != "" && !strings.EqualFold(ev.Log.Category, m.category) ||
		m.service != "" && !strings.EqualFold(ev.Log.Service, m.service) {
		return false
	}
	for i := range m.fields {
		if !m.fields[i].holds(ev) {
			return false
		}
	}
	for i := range m.except {
		if m.except[i].holds(ev) {
			return false
		}
	}
	return true
}
