// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// isAuditLine reports whether s is a Linux audit record:
// "[node=H ]type=T msg=audit(…): …", or Microsoft's auoms variant
// "type=AUOMS_T audit(…): …".
func isAuditLine(s string) bool {
	if strings.HasPrefix(s, "node=") {
		_, s, _ = strings.Cut(s, " ")
	}
	if !strings.HasPrefix(s, "type=") {
		return false
	}
	if len(s) > 96 {
		s = s[:96]
	}
	return strings.Contains(s, "audit(")
}

// auditd turns an audit record into fields named as auditd writes them
// (type, msg, arch, syscall, a0…, exe, comm, key, name, …), which is how
// SigmaHQ's auditd rules address them. Hex-encoded strings (EXECVE
// arguments, proctitle, and unquoted path-like values) are decoded; the
// nested msg='…' of user-space records is read as fields too; a word
// without "=" continues the previous value (auoms writes proctitle
// unquoted). It returns the record's time text (Unix seconds).
func (n *Normalizer) auditd(e *event.Event, sc *scan, line string) string {
	i := strings.Index(line, "audit(")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(line[i:], ')')
	if j < 0 {
		return ""
	}
	stamp := line[i+len("audit(") : i+j]
	t, _, _ := strings.Cut(stamp, ":")
	head, tail := line[:i], strings.TrimPrefix(line[i+j+1:], ":")
	head = strings.TrimSuffix(strings.TrimSpace(head), "msg=")
	p := auditParser{n: n, e: e}
	p.parse(head)
	p.set("msg", line[i:i+j+1])
	p.parse(tail)
	n.index(e, sc)
	if e.Host == "" {
		e.Host = sc.val(e, sAuditNode)
	}
	return t
}

// auditParser reads key=value records.
type auditParser struct {
	n      *Normalizer
	e      *event.Event
	execve bool
	prev   int    // index+1 in e.Fields of the last value set, for continuations
	src    string // the text prev's value is a slice of
	start  int    // where prev's value starts in src
}

func (p *auditParser) set(k, v string) {
	if k == "type" && v == "EXECVE" {
		p.execve = true
	}
	if !p.e.Add(k, v) {
		p.prev = 0
		return
	}
	id, _ := event.Lookup(k)
	p.prev = 0
	for i := range p.e.Fields {
		if p.e.Fields[i].ID == id {
			p.prev = i + 1
			break
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == 0x1d || c == '\n' || c == '\r' }

func (p *auditParser) parse(s string) {
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return
		}
		tokStart := i
		k := i
		for k < len(s) && isKeyByte(s[k]) {
			k++
		}
		if k == tokStart || k >= len(s) || s[k] != '=' || !isLetter(s[tokStart]) {
			// Not key=value: a continuation of the previous unquoted value.
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			if p.prev != 0 && p.src == s && p.prev <= len(p.e.Fields) {
				p.e.Fields[p.prev-1].Value = s[p.start:i]
			}
			continue
		}
		key := s[tokStart:k]
		i = k + 1
		switch {
		case i < len(s) && (s[i] == '"' || s[i] == '\''):
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				end = len(s) - i - 1
			}
			v := s[i+1 : i+1+end]
			i += end + 2
			if q == '\'' && key == "msg" {
				inner := auditParser{n: p.n, e: p.e, execve: p.execve}
				inner.parse(v)
				p.prev = 0
				continue
			}
			p.set(key, v)
			p.prev = 0 // quoted values are complete
		default:
			vs := i
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			v := s[vs:i]
			if p.hexKey(key) {
				if d, ok := decodeAuditHex(v); ok {
					p.set(key, d)
					p.prev = 0
					continue
				}
			}
			p.set(key, v)
			p.src, p.start = s, vs
		}
	}
}

// hexKey reports whether an unquoted value of key is hex-encoded text.
func (p *auditParser) hexKey(key string) bool {
	switch key {
	case "proctitle", "name", "cwd", "exe", "comm", "path", "cmd", "acct", "key", "data", "old", "new":
		return true
	}
	if p.execve && len(key) >= 2 && key[0] == 'a' && key[1] >= '0' && key[1] <= '9' {
		return !strings.Contains(key, "_len")
	}
	return false
}

func isKeyByte(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '[' || c == ']'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// decodeAuditHex decodes auditd's hex encoding of a string holding spaces,
// quotes or control bytes; NULs (proctitle's argument separators) become
// spaces. It refuses text that is not even-length hex or decodes to
// control bytes, which is then an ordinary unquoted value.
func decodeAuditHex(v string) (string, bool) {
	if len(v) < 2 || len(v)%2 != 0 {
		return "", false
	}
	out := make([]byte, len(v)/2)
	for i := range out {
		hi, ok1 := unhex(v[2*i])
		lo, ok2 := unhex(v[2*i+1])
		if !ok1 || !ok2 {
			return "", false
		}
		c := hi<<4 | lo
		switch {
		case c == 0:
			c = ' '
		case c < 0x20 && c != '\t' && c != '\n':
			return "", false
		}
		out[i] = c
	}
	return strings.TrimRight(string(out), " "), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
