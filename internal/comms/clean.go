// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/fault"
)

// Bounds on what people write, in characters. Longer text is refused, not
// cut.
const (
	maxLineLen  = 200   // names, organisations, subjects, parties, references
	maxEmailLen = 254   // an e-mail address (RFC 5321's path limit)
	maxPhoneLen = 64    // a telephone number as people write it
	maxNoteLen  = 4000  // notes about a contact or a send
	maxBodyLen  = 50000 // a message's body; a report field
)

// scrub makes text safe to store and show: valid UTF-8 in NFC, line ends
// as \n, no control characters (tab and, when multiline, \n excepted) and
// no bidirectional overrides. HTML is kept as written: escaping is the
// web's job. Surrounding space is trimmed.
func scrub(s string, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			if multiline && r != '\r' {
				b.WriteRune(r)
			} else if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(norm.NFC.String(b.String()))
}

// checker collects the problems of a form, field by field.
type checker struct{ errs fault.List }

func (c *checker) add(field, msg string, args ...any) {
	c.errs = append(c.errs, fault.InvalidField(field, msg, args...))
}

// text cleans a field and checks its length and presence.
func (c *checker) text(field, s string, max int, multiline, required bool) string {
	s = scrub(s, multiline)
	switch {
	case required && s == "":
		c.add(field, "comms.required")
	case utf8.RuneCountInString(s) > max:
		c.add(field, "comms.too_long", "max", max)
	}
	return s
}
