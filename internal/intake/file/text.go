// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/koban-csirt/koban/internal/event"
)

// validHead reports whether head is UTF-8, allowing a rune cut at its end.
func validHead(head []byte) bool {
	for i := 0; i < utf8.UTFMax && len(head) > 0; i++ {
		if utf8.Valid(head) {
			return true
		}
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}

// isShiftJIS reports whether head, which is not UTF-8, reads as Shift_JIS
// (code page 932) text: it decodes without a replacement character (a
// character cut at the end aside) and holds no control characters but
// white space.
func isShiftJIS(head []byte) bool {
	if validHead(head) || bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), head)
	if err != nil {
		return false
	}
	s := strings.TrimSuffix(string(out), "\uFFFD")
	if strings.ContainsRune(s, utf8.RuneError) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' {
			return false
		}
	}
	return true
}

// textReader returns br, or a reader that converts it from Shift_JIS when
// head says the file is in Shift_JIS.
func textReader(br *bufio.Reader, head []byte) (*bufio.Reader, bool) {
	if !isShiftJIS(head) {
		return br, false
	}
	return bufio.NewReaderSize(transform.NewReader(br, japanese.ShiftJIS.NewDecoder()), 64<<10), true
}

// text returns s as valid UTF-8, flagging ev when it had to repair it.
func text(s string, ev *event.Event) string {
	if utf8.ValidString(s) {
		return s
	}
	ev.Flag(event.FlagInvalidText, "not valid UTF-8: invalid bytes replaced")
	return strings.ToValidUTF8(s, "\uFFFD")
}

// setRaw keeps a copy of line as the event's raw bytes, flagging it cut when
// cut is set.
func setRaw(ev *event.Event, line []byte, cut bool, max int) {
	ev.Raw = append([]byte(nil), line...)
	if cut {
		flagCut(ev, max)
	}
}

// flagCut flags an event whose line was longer than max bytes.
func flagCut(ev *event.Event, max int) {
	ev.Flag(event.FlagTruncated, "line longer than "+strconv.Itoa(max)+" bytes: cut")
}

// trimBOM removes a UTF-8 byte order mark.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, utf8BOM) }
