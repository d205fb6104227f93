// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

// xmlSystem lists the System elements of an event's XML rendering and the
// slot each is kept in, as the EVTX parser names them.
var xmlSystem = []struct {
	open, close string
	s           slot
}{
	{"<EventID>", "</EventID>", sEventID},
	{"<Version>", "</Version>", sVersion},
	{"<Level>", "</Level>", sLevel},
	{"<Task>", "</Task>", sTask},
	{"<Opcode>", "</Opcode>", sOpcode},
	{"<Keywords>", "</Keywords>", sKeywords},
	{"<EventRecordID>", "</EventRecordID>", sEventRecordID},
	{"<Channel>", "</Channel>", sChannel},
	{"<Computer>", "</Computer>", sComputer},
}

// xmlAttrs lists the System attributes kept.
var xmlAttrs = []struct {
	elem, attr string
	s          slot
}{
	{"<Provider ", `Name="`, sProviderName},
	{"<Provider ", `Guid="`, sProviderGuid},
	{"<TimeCreated ", `SystemTime="`, sTimeCreated},
	{"<Execution ", `ProcessID="`, sExecProcessID},
	{"<Execution ", `ThreadID="`, sExecThreadID},
	{"<Security ", `UserID="`, sSecurityUserID},
	{"<Security ", `UserId="`, sSecurityUserID},
}

// sysmonXML reads an event's XML rendering (Sysmon for Linux logs each
// event to syslog so) into the fields the EVTX parser would give: System
// elements and attributes, and one field per <Data Name="…">.
func (n *Normalizer) sysmonXML(e *event.Event, sc *scan, x string) {
	sys, data, _ := strings.Cut(x, "<EventData")
	for _, f := range xmlSystem {
		if _, rest, ok := strings.Cut(sys, f.open); ok {
			if v, _, ok := strings.Cut(rest, f.close); ok {
				n.set(e, sc, f.s, xmlText(v))
			}
		}
	}
	for _, a := range xmlAttrs {
		if _, rest, ok := strings.Cut(sys, a.elem); ok {
			rest, _, _ = strings.Cut(rest, ">")
			if _, v, ok := strings.Cut(rest, a.attr); ok {
				if v, _, ok := strings.Cut(v, `"`); ok {
					n.set(e, sc, a.s, xmlText(v))
				}
			}
		}
	}
	for {
		_, rest, ok := strings.Cut(data, `<Data Name="`)
		if !ok {
			break
		}
		name, rest, ok := strings.Cut(rest, `"`)
		if !ok {
			break
		}
		rest = strings.TrimLeft(rest, " ")
		var v string
		switch {
		case strings.HasPrefix(rest, "/>"):
			data = rest[2:]
		case strings.HasPrefix(rest, ">"):
			v, data, ok = strings.Cut(rest[1:], "</Data>")
			if !ok {
				v, data = rest[1:], ""
			}
		default:
			data = rest
			continue
		}
		if name == "" || len(name) > 256 {
			continue
		}
		e.Add(xmlText(name), xmlText(v))
	}
	n.index(e, sc)
}

// xmlText unescapes XML character and entity references; it allocates only
// when there is one.
func xmlText(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for s != "" {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		semi := strings.IndexByte(s, ';')
		if semi < 0 || semi > 12 {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		ref := s[1:semi]
		s = s[semi+1:]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			if r, ok := charRef(ref); ok {
				b.WriteRune(r)
			} else {
				b.WriteString("&" + ref + ";")
			}
		}
	}
	return b.String()
}

// charRef reads "#65" or "#x41".
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' || digits[0] == 'X' {
		base, digits = 16, digits[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, false
	}
	return rune(v), true
}
