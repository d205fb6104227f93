// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// zeekHeader is what a Zeek TSV log's "#" lines say.
type zeekHeader struct {
	sep    []byte
	empty  string
	unset  string
	path   string
	fields []string
	ids    []event.FieldID // of fields; 0 where a name could not be interned
	ts     int             // index of the ts field, or -1
}

func newZeekHeader() zeekHeader {
	return zeekHeader{sep: []byte{'\t'}, empty: "(empty)", unset: "-", ts: -1}
}

// directive applies one "#" line; others than those Zeek writes are
// ignored.
func (h *zeekHeader) directive(line []byte) {
	if bytes.HasPrefix(line, []byte("#separator ")) {
		if s := zeekUnescape(string(bytes.TrimSpace(line[len("#separator "):]))); s != "" {
			h.sep = []byte(s)
		}
		return
	}
	key, val, _ := bytes.Cut(line[1:], h.sep)
	switch string(key) {
	case "empty_field":
		h.empty = string(val)
	case "unset_field":
		h.unset = string(val)
	case "path":
		h.path = strings.ToValidUTF8(string(val), "\uFFFD")
	case "fields":
		h.fields, h.ids = h.fields[:0], h.ids[:0]
		h.ts = -1
		for i, f := range bytes.Split(val, h.sep) {
			name := strings.ToValidUTF8(zeekUnescape(string(f)), "\uFFFD")
			if name == "" {
				name = "column_" + strconv.Itoa(i+1)
			}
			if name == "ts" {
				h.ts = i
			}
			id, _ := event.Intern(name) // 0 on failure: Add flags the event
			if slices.Contains(h.fields, name) {
				id = 0 // a repeated name: Add keeps one of them
			}
			h.fields, h.ids = append(h.fields, name), append(h.ids, id)
		}
	}
}

// readZeek reads Zeek's TSV logs: "#" header lines (again wherever a new
// header starts, as in concatenated logs), then one event per line. Unset
// fields ("-") are not fields; "(empty)" is the empty value; \xNN escapes
// are undone where they stand for text.
func (im *importer) readZeek(br *bufio.Reader) error {
	lr := newLineReader(br, im.o.MaxLineBytes)
	h := newZeekHeader()
	service := zeekServiceFromName(im.path)
	var cells []string
	for {
		line, cut, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return im.readErr(err, lr.num, lr.next)
		}
		if blank(line) {
			continue
		}
		if line[0] == '#' { // meta data, not an event
			h.directive(line)
			continue
		}
		ev := im.slot()
		setRaw(ev, line, cut, im.o.MaxLineBytes)
		ev.Log.Product = "zeek"
		ev.Log.Service = h.path
		if ev.Log.Service == "" {
			ev.Log.Service = service
		}
		cells = zeekFields(ev, &h, line, cells)
		if err := im.commit(lr.off); err != nil {
			return err
		}
	}
}

// zeekFields sets ev's fields from one data line. The line is converted to
// a string once; the values are substrings of it.
func zeekFields(ev *event.Event, h *zeekHeader, line []byte, cells []string) []string {
	cells = stringSplit(string(line), string(h.sep), cells)
	switch {
	case len(h.fields) == 0:
		ev.Flag(event.FlagParseError, "data line before a #fields header")
	case len(cells) != len(h.fields):
		ev.Flag(event.FlagParseError, "line has "+strconv.Itoa(len(cells))+" fields, the #fields header "+strconv.Itoa(len(h.fields)))
	}
	for i, v := range cells {
		if v == h.unset {
			continue
		}
		if v == h.empty {
			v = ""
		}
		v = text(zeekUnescape(v), ev)
		if i < len(h.ids) && h.ids[i] != 0 {
			ev.Set(h.ids[i], v)
		} else if i < len(h.fields) {
			ev.Add(h.fields[i], v)
		} else {
			ev.Add("column_"+strconv.Itoa(i+1), v)
		}
		if i == h.ts {
			if ns, ok := intake.ParseTime(v); ok {
				ev.Time = ns
			}
		}
	}
	return cells
}

// stringSplit is strings.Split into a reused slice.
func stringSplit(s, sep string, buf []string) []string {
	buf = buf[:0]
	for {
		i := strings.Index(s, sep)
		if i < 0 || sep == "" {
			return append(buf, s)
		}
		buf = append(buf, s[:i])
		s = s[i+len(sep):]
	}
}

// zeekUnescape undoes Zeek's escapes: "\\" is a backslash and "\xNN" a
// byte. A \xNN that stands for a control character (other than tab and line
// ends) or for a byte that is not part of valid UTF-8 is kept as written, as
// Zeek's JSON writer keeps it, so values stay text.
func zeekUnescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '\\' {
			b.WriteByte('\\')
			i += 2
			continue
		}
		// A run of \xNN escapes decodes together: a multi-byte UTF-8
		// character is escaped one byte at a time.
		var run []byte
		j := i
		for j+3 < len(s) && s[j] == '\\' && s[j+1] == 'x' && hex(s[j+2]) >= 0 && hex(s[j+3]) >= 0 {
			run = append(run, byte(hex(s[j+2])<<4|hex(s[j+3])))
			j += 4
		}
		if len(run) == 0 {
			b.WriteByte(c)
			i++
			continue
		}
		for k := 0; k < len(run); {
			r, n := utf8.DecodeRune(run[k:])
			if r == utf8.RuneError && n <= 1 || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
				b.WriteString(s[i+4*k : i+4*k+4]) // keep \xNN as written
				k++
				continue
			}
			b.WriteString(string(run[k : k+n]))
			k += n
		}
		i = j
	}
	return b.String()
}

func hex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// zeekLogs are Zeek's usual log names, to find one in a file name such as
// "NASHUA_conn.log" or "conn.00:00:00-01:00:00.log.gz".
var zeekLogs = []string{
	"conn", "dns", "http", "ssl", "x509", "files", "smtp", "ssh", "ftp", "rdp", "dhcp", "ntp", "snmp",
	"smb_files", "smb_mapping", "dce_rpc", "kerberos", "ntlm", "notice", "weird", "dpd", "pe", "software",
	"known_hosts", "known_services", "known_certs", "tunnel", "sip", "irc", "mysql", "radius", "socks",
	"modbus", "dnp3", "rfb", "ocsp", "analyzer", "capture_loss", "stats", "reporter", "loaded_scripts",
	"packet_filter", "ldap", "ldap_search", "quic", "intel", "signatures", "traceroute", "syslog",
}

// zeekServiceFromName guesses a Zeek log's path from its file name, for
// logs that do not say it.
func zeekServiceFromName(path string) string {
	name := filepath.Base(path)
	stem, _, _ := strings.Cut(name, ".")
	best := ""
	for _, l := range zeekLogs {
		if (stem == l || strings.HasSuffix(stem, "_"+l) || strings.HasSuffix(stem, "-"+l)) && len(l) > len(best) {
			best = l
		}
	}
	if best == "" {
		return stem
	}
	return best
}
