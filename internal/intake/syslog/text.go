// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"

	"github.com/koban-csirt/koban/internal/event"
)

// Reasons given for text that was not valid UTF-8.
const (
	reasonShiftJIS  = "decoded as Shift_JIS"
	reasonEUCJP     = "decoded as EUC-JP"
	reasonCutRune   = "incomplete UTF-8 character at the end replaced with U+FFFD"
	reasonInvalidUT = "invalid UTF-8 replaced with U+FFFD"
)

// repairText turns s, which is not valid UTF-8, into valid text and flags
// ev. A message cut inside a character (truncation) only has its tail
// replaced; otherwise the whole line is tried as Shift_JIS and EUC-JP, the
// encodings Japanese devices still send, and used when it decodes cleanly;
// failing that, each invalid byte sequence becomes U+FFFD.
func repairText(s string, ev *event.Event) string {
	if k := cutRune(s); k > 0 && utf8.ValidString(s[:len(s)-k]) {
		ev.Flag(event.FlagInvalidText, reasonCutRune)
		return s[:len(s)-k] + "\uFFFD"
	}
	sj, sjOK := decodeClean(japanese.ShiftJIS, s)
	eu, euOK := decodeClean(japanese.EUCJP, s)
	// EUC-JP text often also decodes as Shift_JIS, into half-width katakana
	// (single bytes 0xA1–0xDF); real Shift_JIS text rarely uses them.
	if euOK && (!sjOK || halfWidthKana(eu) < halfWidthKana(sj)) {
		ev.Flag(event.FlagInvalidText, reasonEUCJP)
		return eu
	}
	if sjOK {
		ev.Flag(event.FlagInvalidText, reasonShiftJIS)
		return sj
	}
	ev.Flag(event.FlagInvalidText, reasonInvalidUT)
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cutRune returns how many bytes at the end of s are the start of a UTF-8
// character that is not complete (0 if none).
func cutRune(s string) int {
	for k := 1; k <= 3 && k <= len(s); k++ {
		c := s[len(s)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a lead byte
			if !utf8.FullRuneInString(s[len(s)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// decodeClean decodes s and reports whether every byte decoded to a
// character and none of them is a control character other than tab:
// binary data must not pass for Japanese text.
func decodeClean(enc encoding.Encoding, s string) (string, bool) {
	d, err := enc.NewDecoder().String(s)
	if err != nil {
		return "", false
	}
	for _, r := range d {
		if r == utf8.RuneError || (r < 0x20 && r != '\t') || (r >= 0x7F && r < 0xA0) {
			return "", false
		}
	}
	return d, true
}

func halfWidthKana(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0xFF61 && r <= 0xFF9F {
			n++
		}
	}
	return n
}
