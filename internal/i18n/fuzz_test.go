// SPDX-License-Identifier: Apache-2.0

package i18n

import "testing"

// FuzzMatch feeds arbitrary Accept-Language headers, which any client sends.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"ja-JP,ja;q=0.9", "en", "", "*;q=0", "x-klingon;q=2.5, ja;q=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := Match(h); !l.Valid() {
			t.Fatalf("Match(%q) = %q, not a supported language", h, l)
		}
	})
}
