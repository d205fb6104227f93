// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/koban-csirt/koban/internal/event"
)

// reasonNotSyslog flags a line in which nothing of syslog was found.
const reasonNotSyslog = "not a syslog message: no priority, timestamp or tag"

// Parse fills ev (already Reset by the caller; ev.Received set) from one
// syslog message. It never fails: a message that does not parse becomes an
// event with FlagParseError, Reason set, the message text in field
// "message", Time = Received (FlagNoTime). ev.Raw = a copy of line. Host =
// the hostname when known.
//
// Recognised: RFC 5424 (structured data as "sd.<SD-ID>.<PARAM-NAME>", BOM
// and leading spaces of MSG removed, NILVALUE fields left unset); RFC 3164 and its variants (no PRI,
// RFC 3339 or fractional-second timestamps as rsyslog forwards them, a year
// after the day, no hostname, Cisco IOS sequence numbers and '*' clocks,
// Cisco ASA's empty tag); FortiGate key=value messages, whose pairs become
// fields named by their keys. A time without a zone is taken as UTC. Text
// that is not UTF-8 is decoded as Shift_JIS or EUC-JP when it decodes
// cleanly, else repaired, and flagged FlagInvalidText either way.
//
// The field values share one allocation with ev.Raw; they are never
// modified.
func Parse(line []byte, ev *event.Event) {
	n := len(line)
	var s string
	if n > 0 {
		// One allocation for both the raw copy and the text the fields
		// point into; the second half is never reachable as a []byte.
		buf := make([]byte, 2*n)
		copy(buf, line)
		copy(buf[n:], line)
		ev.Raw = buf[:n:n]
		s = unsafe.String(&buf[n], n)
	} else {
		ev.Raw = []byte{}
	}
	s = strings.TrimRight(s, "\r\n\x00")
	if !utf8.ValidString(s) {
		s = repairText(s, ev)
	}
	if cap(ev.Fields)-len(ev.Fields) < 8 {
		f := make([]event.Field, len(ev.Fields), len(ev.Fields)+12)
		copy(f, ev.Fields)
		ev.Fields = f
	}
	p := parser{ev: ev, s: s, received: ev.Received}
	if p.received == 0 {
		p.received = time.Now().UnixNano()
	}
	p.parse()
}

// parser holds the state of one Parse call.
type parser struct {
	ev         *event.Event
	s          string
	received   int64
	recognised bool // a PRI, a time or a tag was found
	hasTime    bool
	host       string
	scratch    [128]byte // builds structured-data field names
}

func (p *parser) parse() {
	s := p.s
	pos := 0
	if pri, n := parsePRI(s); n > 0 {
		p.setPRI(pri)
		pos = n
		if strings.HasPrefix(s[pos:], "1 ") {
			p.parse5424(pos + 2)
			p.finish()
			return
		}
	}
	rest := s[pos:]
	if kvStart(rest) {
		if fg, ok := p.keyValues(rest); ok {
			p.recognised = true
			p.setFortiGate(fg)
			p.add(fieldMessage, rest)
			p.finish()
			return
		}
	}
	p.parse3164(rest)
	p.finish()
}

// finish sets what every event gets: Host, and Time = Received when the
// message had no usable time.
func (p *parser) finish() {
	ev := p.ev
	if !p.recognised {
		ev.Flag(event.FlagParseError, reasonNotSyslog)
		if _, ok := ev.Get(fieldMessage); !ok {
			p.add(fieldMessage, p.s)
		}
	}
	if !p.hasTime {
		ev.Time = ev.Received
		ev.Flags |= event.FlagNoTime
	}
	ev.Host = p.host
}

// add appends a field known not to be set yet.
func (p *parser) add(id event.FieldID, v string) {
	p.ev.Fields = append(p.ev.Fields, event.Field{ID: id, Value: v})
}

// addNew sets a field unless the event already has it: the first value of a
// repeated name wins.
func (p *parser) addNew(id event.FieldID, v string) {
	if _, ok := p.ev.Get(id); !ok {
		p.add(id, v)
	}
}

// addNamed is addNew for a name read from the input.
func (p *parser) addNamed(name, v string) {
	id, ok := event.Lookup(name)
	if !ok {
		var err error
		if id, err = event.Intern(name); err != nil {
			p.ev.Flag(event.FlagFieldsDropped, "too many distinct field names")
			return
		}
	}
	p.addNew(id, v)
}

func (p *parser) setTime(st stamp, raw string) {
	if st.valid {
		p.ev.Time, p.hasTime = st.ns, true
		return
	}
	p.ev.Flag(event.FlagTimeSkew, "timestamp out of range: "+raw)
	p.addNew(fieldTimeRaw, raw)
}

// parsePRI reads "<N>" with N in 0–191 and returns N and the bytes used.
func parsePRI(s string) (int, int) {
	if len(s) < 3 || s[0] != '<' {
		return 0, 0
	}
	v := 0
	for i := 1; i < len(s) && i <= 4; i++ {
		c := s[i]
		if c == '>' {
			if i == 1 || v > 191 {
				return 0, 0
			}
			return v, i + 1
		}
		if c < '0' || c > '9' {
			return 0, 0
		}
		v = v*10 + int(c-'0')
	}
	return 0, 0
}

func (p *parser) setPRI(pri int) {
	p.recognised = true
	p.add(fieldFacility, facilityNames[pri>>3])
	p.add(fieldSeverity, severityNames[pri&7])
	p.add(fieldPriority, priorityText[pri])
}

// token returns s up to its first space and what follows that space.
func token(s string) (string, string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func skipSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

// ciscoSeq returns the length of a Cisco IOS sequence number "123: ".
func ciscoSeq(s string) int {
	i := 0
	for i < len(s) && i < 12 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i+1 >= len(s) || s[i] != ':' || s[i+1] != ' ' {
		return 0
	}
	return i + 2
}

// parse3164 reads an RFC 3164 message after its PRI, with the variants
// real devices send: [host] [seq:] [*]time[:] [host] [:] [tag[pid]:] msg.
func (p *parser) parse3164(r string) {
	// Apache's error log and others: "[Sun Dec 04 04:47:44 2005] [notice] …".
	if st, n := bracketTime(r); n > 0 {
		p.recognised = true
		p.setTime(st, r[1:n-1])
		p.add(fieldMessage, skipSpaces(r[n:]))
		return
	}
	st, n := anyTime(r, 0, p.received)
	if n == 0 {
		m := ciscoSeq(r)
		if m > 0 {
			if st, n = anyTime(r, m, p.received); n > 0 {
				n += m
			}
		}
		// A host before the time, as Cisco sends with its origin id or
		// when a relay wrote the sender's address first.
		if tok, after := token(r[m:]); n == 0 && tok != "" && after != "" && tok[0] != '%' && tok[0] != '[' {
			k := ciscoSeq(after)
			if st, n = anyTime(after, k, p.received); n > 0 {
				p.host = strings.TrimSuffix(tok, ":")
				n += len(r) - len(after) + k
			}
		}
	}
	noTag := false
	if n > 0 {
		p.recognised = true
		p.setTime(st, strings.TrimRight(strings.TrimLeft(r[:n], "*."), ": "))
		r = skipSpaces(r[n:])
		if p.host == "" {
			if tok, after := token(r); looksLikeHost(tok) && after != "" {
				p.host = tok
				r = after
			}
		}
		// A relayed Cisco IOS message keeps its own sequence number and
		// time after the relay's header.
		if m := ciscoSeq(r); m > 0 {
			if _, k := anyTime(r, m, p.received); k > 0 {
				r = skipSpaces(r[m+k:])
			}
		}
		// Cisco ASA: "host : %ASA-…", an empty tag.
		if r == ":" || strings.HasPrefix(r, ": ") {
			r = strings.TrimPrefix(r[1:], " ")
			noTag = true
		}
	}
	if p.host != "" {
		p.add(fieldHostname, p.host)
	}
	if !noTag {
		if prog, pid, m := parseTag(r); m > 0 {
			p.recognised = true
			p.add(fieldProgram, prog)
			if pid != "" {
				p.add(fieldPID, pid)
			}
			r = r[m:]
		}
	}
	p.add(fieldMessage, r)
	if fortiGateMessage(r) {
		if fg, ok := p.keyValues(r); ok {
			p.setFortiGate(fg)
		}
	}
}

// bracketTime reads "[Www Mmm dd hh:mm:ss yyyy]" at the start of s (no
// zone: UTC, as elsewhere) and returns the time and the bytes used,
// brackets included (0: none).
func bracketTime(s string) (stamp, int) {
	if len(s) < 6 || s[0] != '[' || s[4] != ' ' {
		return stamp{}, 0
	}
	switch s[1:4] {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
	default:
		return stamp{}, 0
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 40 {
		return stamp{}, 0
	}
	t, err := time.Parse("Mon Jan _2 15:04:05 2006", s[1:end])
	if err != nil || t.Year() < minYear || t.Year() > maxYear {
		return stamp{}, 0
	}
	return stamp{ns: t.UnixNano(), valid: true}, end + 1
}

// looksLikeHost reports whether the token after a 3164 time is a hostname
// rather than a tag ("sshd[1]:", "kernel:") or the text of the message.
func looksLikeHost(tok string) bool {
	if tok == "" || tok[0] == '%' || strings.HasSuffix(tok, ":") {
		return false
	}
	return !strings.ContainsAny(tok, "[]=\"")
}

// maxTag bounds the length of a tag; RFC 3164 says 32, senders use more.
const maxTag = 128

// parseTag reads "prog[pid]: ", "prog[pid] " or "prog: " at the start of s
// and returns the program, the pid and the bytes used (0: no tag).
func parseTag(s string) (prog, pid string, n int) {
	i := 0
	for i < len(s) && i < maxTag {
		c := s[i]
		if c == ' ' || c == '[' || c == ':' || c == '=' || c == '"' {
			break
		}
		i++
	}
	if i == 0 || i == len(s) || s[0] == '%' {
		return "", "", 0
	}
	prog = s[:i]
	switch s[i] {
	case '[':
		j := strings.IndexByte(s[i:], ']')
		if j < 0 || j > 64 {
			return "", "", 0
		}
		pid = s[i+1 : i+j]
		if strings.IndexByte(pid, ' ') >= 0 {
			return "", "", 0
		}
		i += j + 1
		if i < len(s) && s[i] == ':' {
			i++
		}
	case ':':
		i++
	default:
		return "", "", 0
	}
	if i < len(s) {
		if s[i] != ' ' {
			return "", "", 0
		}
		i++
	}
	return prog, pid, i
}
