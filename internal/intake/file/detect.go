// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
)

var (
	evtxMagic = []byte("ElfFile\x00")
	utf8BOM   = []byte("\xef\xbb\xbf")
)

// Detect guesses a file's format from its name and its first bytes (after
// gzip is undone; 64 KiB are plenty): the EVTX magic "ElfFile"; a Zeek
// "#separator" or "#fields" header; JSON lines with "event_type" (Suricata
// EVE), "_path", "@stream" (json-streaming-logs) or "uid" with
// "id.orig_h" (Zeek JSON), or any
// other object (JSON lines); a JSON array or a JSON value that spans lines
// (JSON); a header line with commas, semicolons or tabs that does not look
// like a log line (CSV); other text (syslog). It returns "" for binary
// data, which none of the formats reads. The name decides only when the
// content does not: a ".evtx" file without the magic is EVTX (its reader
// then says what is wrong), and a header line in a ".csv" or ".tsv" file is
// taken as one.
func Detect(name string, head []byte) Format {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(name, ".gz")))
	if bytes.HasPrefix(head, evtxMagic) {
		return FormatEVTX
	}
	if ext == ".evtx" {
		return FormatEVTX
	}
	if isBinary(head) {
		return ""
	}
	head = bytes.TrimPrefix(head, utf8BOM)
	lines := firstLines(head, 20)
	if len(lines) == 0 {
		return FormatSyslog // empty: no events whichever way it is read
	}
	first := lines[0]
	if bytes.HasPrefix(first, []byte("#separator")) || bytes.HasPrefix(first, []byte("#fields\t")) {
		return FormatZeek
	}
	if f := detectJSON(head, lines); f != "" {
		return f
	}
	if sep := csvHeader(lines, ext == ".csv" || ext == ".tsv"); sep != 0 {
		return FormatCSV
	}
	return FormatSyslog
}

// isBinary reports whether head holds data that is not text: NUL bytes
// (which also catches UTF-16), or more than 1 in 20 control characters.
func isBinary(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b {
			ctl++
		}
	}
	return ctl*20 > len(head)
}

// describe says what binary data looks like, for an error message.
func describe(head []byte) string {
	switch {
	case len(head) == 0:
		return "the file is empty"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a zip archive; unpack it and import its files"
	case bytes.HasPrefix(head, gzipMagic):
		return "gzip inside gzip"
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return "UTF-16 text; convert it to UTF-8 (or give --format)"
	}
	return "binary data, not text (give --format to read it as text anyway)"
}

// firstLines returns up to n non-blank lines of head, without their ends;
// the last line is left out when head cuts it.
func firstLines(head []byte, n int) [][]byte {
	var out [][]byte
	for len(head) > 0 && len(out) < n {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			if len(head) < headBytes { // the file ends here
				if !blank(head) {
					out = append(out, trimEOL(head))
				}
			}
			break
		}
		if l := trimEOL(head[:i]); !blank(l) {
			out = append(out, l)
		}
		head = head[i+1:]
	}
	return out
}

// detectJSON recognises JSON lines (and which kind) and JSON documents.
func detectJSON(head []byte, lines [][]byte) Format {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return ""
	}
	if t[0] == '[' {
		// An array of objects; log lines that start with "[notice]" or
		// "[2024-01-01 …]" are not JSON.
		if u := bytes.TrimLeft(t[1:], " \t\r\n"); len(u) > 0 && (u[0] == '{' || u[0] == '[') || json.Valid(lines[0]) {
			return FormatJSON
		}
		return ""
	}
	if t[0] != '{' {
		// Logs whose first line is damaged: most lines are objects.
		if objectLines(lines)*2 <= len(lines) {
			return ""
		}
	}
	var obj []byte
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] == '{' && json.Valid(l) {
			obj = l
			break
		}
	}
	if obj == nil {
		if t[0] == '{' {
			return FormatJSON // a value that spans lines: pretty-printed
		}
		return ""
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(obj, &keys) != nil {
		return FormatJSONL
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("event_type") && (has("timestamp") || has("flow_id") || has("src_ip")):
		return FormatSuricata
	case has("_path"), has("@stream"), has("uid") && (has("id.orig_h") || has("id_orig_h")):
		return FormatZeekJSON
	}
	return FormatJSONL
}

func objectLines(lines [][]byte) int {
	n := 0
	for _, l := range lines {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] == '{' {
			n++
		}
	}
	return n
}
