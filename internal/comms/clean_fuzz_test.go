// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzScrub checks the cleaning of everything people write here (contact
// details, messages, report fields): valid UTF-8, no control or direction
// characters but line ends and tabs where allowed, and stable.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{"", "山田 太郎", "a\r\nb\rc", "\x00\x1b[31mred", "evil\u202Eexe.txt", "\xff\xfe",
		"<script>alert(1)</script>", " 　全角スペース　 ", "e\u0301"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, multiline bool) {
		out := scrub(in, multiline)
		if !utf8.ValidString(out) {
			t.Fatalf("scrub(%q) = %q: not UTF-8", in, out)
		}
		for _, r := range out {
			if (unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t'))) || (r >= 0x202A && r <= 0x202E) {
				t.Fatalf("scrub(%q, %v) = %q keeps %U", in, multiline, out, r)
			}
		}
		if again := scrub(out, multiline); again != out {
			t.Fatalf("scrub not stable: %q → %q → %q", in, out, again)
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("scrub(%q) = %q: not trimmed", in, out)
		}
	})
}
