// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/koban-csirt/koban/internal/event"
)

// parse5424 reads an RFC 5424 message from s[i:], just after "<PRI>1 ":
// TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]. A part
// that is "-" (NILVALUE) sets no field. When a part is malformed, the event
// keeps what was read, is flagged, and the rest of the line becomes its
// message.
func (p *parser) parse5424(i int) {
	s := p.s
	p.recognised = true
	bad := func(part string, at int) {
		p.ev.Flag(event.FlagParseError, "rfc5424: bad "+part+" at byte "+strconv.Itoa(at))
		p.addNew(fieldMessage, s[min(at, len(s)):])
	}
	// TIMESTAMP
	if strings.HasPrefix(s[i:], "- ") {
		i += 2
	} else {
		st, n := isoTime(s, i)
		if n == 0 || i+n >= len(s) || s[i+n] != ' ' {
			bad("timestamp", i)
			return
		}
		p.setTime(st, s[i:i+n])
		i += n + 1
	}
	// HOSTNAME APP-NAME PROCID MSGID
	for _, part := range [...]struct {
		id   event.FieldID
		name string
	}{{fieldHostname, "hostname"}, {fieldProgram, "app-name"}, {fieldPID, "procid"}, {fieldMsgID, "msgid"}} {
		j := strings.IndexByte(s[i:], ' ')
		if j <= 0 {
			bad(part.name, i)
			return
		}
		if v := s[i : i+j]; v != "-" {
			p.add(part.id, v)
			if part.id == fieldHostname {
				p.host = v
			}
		}
		i += j + 1
	}
	// STRUCTURED-DATA
	if i >= len(s) {
		bad("structured data", i)
		return
	}
	if s[i] == '-' {
		i++
	} else {
		n, ok := p.structuredData(s[i:])
		if !ok {
			p.ev.Flag(event.FlagParseError, "rfc5424: bad structured data at byte "+strconv.Itoa(i+n))
			p.addNew(fieldMessage, s[i:])
			return
		}
		i += n
	}
	// MSG
	if i == len(s) {
		return
	}
	if s[i] != ' ' {
		bad("structured data", i)
		return
	}
	// Leading spaces are dropped as after an RFC 3164 tag: rsyslog
	// forwards "tag: msg" as MSG " msg", and one log must read the same
	// whichever way it came.
	msg := skipSpaces(strings.TrimPrefix(s[i+1:], "\uFEFF"))
	p.add(fieldMessage, msg)
}

// structuredData reads SD-ELEMENTs ("[id name=\"value\" …]") at the start
// of s and adds a field sd.<id>.<name> per parameter. It returns the bytes
// used, or where it failed.
func (p *parser) structuredData(s string) (int, bool) {
	i := 0
	if i >= len(s) || s[i] != '[' {
		return i, false
	}
	for i < len(s) && s[i] == '[' {
		i++
		k := i
		for i < len(s) && sdNameByte(s[i]) {
			i++
		}
		if i == k || i >= len(s) {
			return i, false
		}
		id := s[k:i]
		for {
			if i >= len(s) {
				return i, false
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ' ' {
				return i, false
			}
			i++
			k = i
			for i < len(s) && sdNameByte(s[i]) {
				i++
			}
			if i == k || i >= len(s) || s[i] != '=' {
				return i, false
			}
			if i+1 >= len(s) || s[i+1] != '"' {
				return i + 1, false
			}
			name := s[k:i]
			i++
			v, n, ok := sdValue(s[i:])
			if !ok {
				return i, false
			}
			i += n
			p.addSD(id, name, v)
		}
	}
	return i, true
}

// sdNameByte reports whether c may appear in an SD-NAME: printable ASCII
// except '=', space, ']' and '"'.
func sdNameByte(c byte) bool {
	return c > ' ' && c < 0x7F && c != '=' && c != ']' && c != '"'
}

// sdValue reads a PARAM-VALUE in double quotes, where '\' escapes '"', '\'
// and ']' (RFC 5424 §6.3.3; a backslash before anything else is kept).
func sdValue(s string) (string, int, bool) {
	esc := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			esc = true
			i++
		case '"':
			if !esc {
				return s[1:i], i + 1, true
			}
			return sdUnescape(s[1:i]), i + 1, true
		}
	}
	return "", len(s), false
}

func sdUnescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// addSD adds the field sd.<id>.<name> without allocating when the name is
// already interned.
func (p *parser) addSD(id, name, v string) {
	b := append(p.scratch[:0], "sd."...)
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, name...)
	// Lookup and Intern do not keep the string; Intern copies it.
	p.addNamed(unsafe.String(unsafe.SliceData(b), len(b)), v)
}
