// SPDX-License-Identifier: Apache-2.0

package syslog

import "strings"

// kvStart reports whether s begins with "key=", the shape of FortiGate and
// similar key=value messages sent with a PRI and nothing else.
func kvStart(s string) bool {
	i := 0
	for i < len(s) && i < 64 && isKeyByte(s[i]) {
		i++
	}
	return i > 0 && i < len(s) && s[i] == '=' && (s[0] < '0' || s[0] > '9')
}

// fortiGateMessage reports whether a 3164 message body is a FortiGate log
// relayed with a syslog header.
func fortiGateMessage(s string) bool {
	return strings.HasPrefix(s, "date=") || strings.HasPrefix(s, "logver=") || strings.HasPrefix(s, "devname=")
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// kvResult is what parseKV saw of the keys that carry the time and host.
type kvResult struct {
	pairs                      int
	date, clock, tz, eventtime string
	devname                    string
}

// parseKV splits key=value pairs (values plain or double-quoted, with
// backslash escapes) into fields named by their keys, stopping at the first
// token that is not a pair. A key already set keeps its first value.
func (p *parser) parseKV(s string) kvResult {
	var r kvResult
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		k := i
		for i < len(s) && i-k < 128 && isKeyByte(s[i]) {
			i++
		}
		if i == k || i >= len(s) || s[i] != '=' {
			return r
		}
		key := s[k:i]
		i++
		var val string
		if i < len(s) && s[i] == '"' {
			v, n, ok := quoted(s[i:])
			if !ok {
				return r
			}
			val = v
			i += n
		} else {
			j := i
			for i < len(s) && s[i] != ' ' {
				i++
			}
			val = s[j:i]
		}
		if i < len(s) && s[i] != ' ' {
			return r
		}
		r.pairs++
		switch key {
		case "date":
			r.date = val
		case "time":
			r.clock = val
		case "tz":
			r.tz = val
		case "eventtime":
			r.eventtime = val
		case "devname":
			r.devname = val
		}
		p.addNamed(key, val)
	}
}

// keyValues is parseKV for a whole message: it keeps the fields only when
// the message starts with at least two pairs, so that a sentence holding
// one "a=b" is left alone.
func (p *parser) keyValues(s string) (kvResult, bool) {
	n := len(p.ev.Fields)
	r := p.parseKV(s)
	if r.pairs < 2 {
		clear(p.ev.Fields[n:])
		p.ev.Fields = p.ev.Fields[:n]
		return r, false
	}
	return r, true
}

// quoted reads a double-quoted string at the start of s, undoing backslash
// escapes, and returns its value and the bytes used.
func quoted(s string) (string, int, bool) {
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
			return unescape(s[1:i]), i + 1, true
		}
	}
	return "", 0, false
}

// unescape removes the backslash before any character.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// setFortiGate takes the time and host of a FortiGate log: eventtime (Unix
// seconds, milli-, micro- or nanoseconds by its length) when present, else
// date and time in zone tz ("+0900"), UTC without one.
func (p *parser) setFortiGate(r kvResult) {
	if r.devname != "" && p.host == "" {
		p.host = r.devname
	}
	if ns, ok := unixDigits(r.eventtime); ok {
		p.ev.Time, p.hasTime = ns, true
		return
	}
	if r.date == "" || r.clock == "" {
		return
	}
	text := r.date + "T" + r.clock
	st, n := isoTime(text, 0)
	if n != len(text) {
		return
	}
	if r.tz != "" {
		off, m := zoneOffset(r.tz, 0)
		if m != len(r.tz) {
			return // a zone name we cannot resolve: keep the header's time
		}
		st.ns -= int64(off) * nsPerSecond
	}
	p.setTime(st, r.date+" "+r.clock)
}

// unixDigits reads a Unix time of 10, 13, 16 or 19 digits (s, ms, µs, ns).
func unixDigits(s string) (int64, bool) {
	var scale int64
	switch len(s) {
	case 10:
		scale = 1e9
	case 13:
		scale = 1e6
	case 16:
		scale = 1e3
	case 19:
		scale = 1
	default:
		return 0, false
	}
	var v int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if len(s) == 19 && s > "9223372036854775807" {
		return 0, false
	}
	return v * scale, true
}
