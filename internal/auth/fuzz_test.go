// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"testing"
	"time"
)

// FuzzVerifyHash feeds arbitrary stored hashes to the verifier: it must
// never panic and must refuse anything it did not make.
func FuzzVerifyHash(f *testing.F) {
	h := newHasher(1)
	good, err := h.hash(context.Background(), "correct horse battery")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "$argon2id$", "$argon2id$v=19$m=4294967295,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=8,t=1,p=1$$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		ok, err := h.verify(context.Background(), enc, "correct horse battery")
		if ok && enc != good {
			// Another valid encoding of the same key is fine; a
			// malformed one that verifies is not.
			if err != nil {
				t.Errorf("verify(%q) = true with error %v", enc, err)
			}
		}
	})
}

// FuzzCheckTOTP feeds arbitrary codes: never a panic, never a match for
// something that is not six digits.
func FuzzCheckTOTP(f *testing.F) {
	for _, s := range []string{"123456", "", "12345678", "abc def", "\x00\x00\x00\x00\x00\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, code string) {
		if _, ok := checkTOTP("JBSWY3DPEHPK3PXP", code, now, 0); ok {
			digits := 0
			for _, c := range code {
				if c >= '0' && c <= '9' {
					digits++
				} else if c != ' ' {
					t.Fatalf("checkTOTP accepted %q", code)
				}
			}
			if digits != 6 {
				t.Fatalf("checkTOTP accepted %q", code)
			}
		}
	})
}
