// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

// sysmonXML reads an event's XML rendering (Sysmon for Linux logs each
// event to syslog so) into the fields the EVTX parser would give: System
// elements and attributes, and one field per <Data Name="…">. One pass over
// the text, no XML tree.
func (n *Normalizer) sysmonXML(e *event.Event, sc *scan, x string) {
	sys, data, _ := strings.Cut(x, "<EventData")
	n.xmlSystem(e, sc, sys)
	xmlData(e, data)
	n.index(e, sc)
}

// xmlSystem reads the <System> elements and attributes.
func (n *Normalizer) xmlSystem(e *event.Event, sc *scan, sys string) {
	for {
		i := strings.IndexByte(sys, '<')
		if i < 0 {
			break
		}
		sys = sys[i+1:]
		end := strings.IndexByte(sys, '>')
		if end < 0 {
			break
		}
		tag, rest := sys[:end], sys[end+1:]
		sys = rest
		name := tag
		if sp := strings.IndexAny(tag, " /"); sp >= 0 {
			name = tag[:sp]
		}
		text := func() string {
			if strings.HasSuffix(tag, "/") {
				return ""
			}
			v, _, _ := strings.Cut(rest, "<")
			return xmlText(v)
		}
		switch name {
		case "EventID":
			n.set(e, sc, sEventID, text())
		case "Version":
			n.set(e, sc, sVersion, text())
		case "Level":
			n.set(e, sc, sLevel, text())
		case "Task":
			n.set(e, sc, sTask, text())
		case "Opcode":
			n.set(e, sc, sOpcode, text())
		case "Keywords":
			n.set(e, sc, sKeywords, text())
		case "EventRecordID":
			n.set(e, sc, sEventRecordID, text())
		case "Channel":
			n.set(e, sc, sChannel, text())
		case "Computer":
			n.set(e, sc, sComputer, text())
		case "Provider":
			n.xmlAttr(e, sc, tag, ` Name="`, sProviderName)
			n.xmlAttr(e, sc, tag, ` Guid="`, sProviderGuid)
		case "TimeCreated":
			n.xmlAttr(e, sc, tag, ` SystemTime="`, sTimeCreated)
		case "Execution":
			n.xmlAttr(e, sc, tag, ` ProcessID="`, sExecProcessID)
			n.xmlAttr(e, sc, tag, ` ThreadID="`, sExecThreadID)
		case "Security":
			n.xmlAttr(e, sc, tag, ` UserID="`, sSecurityUserID)
			n.xmlAttr(e, sc, tag, ` UserId="`, sSecurityUserID)
		}
	}
}

// xmlData adds one field per <Data Name="…">value</Data>.
func xmlData(e *event.Event, data string) {
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
}

// xmlAttr sets s from the attribute that starts with prefix (` Name="`) in
// an element's tag.
func (n *Normalizer) xmlAttr(e *event.Event, sc *scan, tag, prefix string, s slot) {
	if _, v, ok := strings.Cut(tag, prefix); ok {
		if v, _, ok := strings.Cut(v, `"`); ok {
			n.set(e, sc, s, xmlText(v))
		}
	}
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
