// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/koban-csirt/koban/internal/fault"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane), which keeps a sign-in near 30 ms on a small server and the memory of
// concurrent sign-ins bounded. They are stored with each hash, so raising
// them later only affects new hashes.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// maxArgonMemory (KiB) is the most a stored hash may ask for: 256 MiB.
	maxArgonMemory = 256 * 1024
)

// Password limits. NIST SP 800-63B asks for length, not composition rules.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// hasher hashes and checks passwords with argon2id, running at most limit
// hashes at once so that a burst of sign-ins cannot exhaust memory.
type hasher struct {
	sem chan struct{}
}

func newHasher(limit int) *hasher {
	if limit < 1 {
		limit = 1
	}
	return &hasher{sem: make(chan struct{}, limit)}
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC string of password with a fresh salt.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	h.release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: malformed password hash")

// dummyHash returns a well-formed hash with the current parameters and
// random salt and key: verifying against it costs what a real check costs
// and matches nothing, without spending a hash at start-up.
func dummyHash() string {
	salt, key := make([]byte, argonSaltLen), make([]byte, argonKeyLen)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	_, _ = rand.Read(key)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// verify reports whether password matches the PHC string encoded.
func (h *hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil ||
		mem == 0 || iter == 0 || threads == 0 || mem > maxArgonMemory || iter > 16 || threads > 16 {
		// Bounds keep a corrupted or planted hash from asking for
		// terabytes of memory or hours of work.
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 || len(salt) > 64 {
		return false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CheckPassword returns an Invalid fault when password is unacceptable for
// the user called name.
func CheckPassword(name, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return fault.InvalidField("password", "password.too_short", "min", MinPasswordLen)
	case n > MaxPasswordLen:
		return fault.InvalidField("password", "password.too_long", "max", MaxPasswordLen)
	case len(name) >= 3 && strings.Contains(strings.ToLower(password), strings.ToLower(name)):
		return fault.InvalidField("password", "password.contains_name")
	case strings.Count(password, password[:1]) == len(password):
		return fault.InvalidField("password", "password.one_character")
	}
	return nil
}

// passwordAlphabet leaves out characters people confuse (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of 20 characters (about 117
// bits), in groups of five for reading aloud.
func GeneratePassword() string {
	return randomString(passwordAlphabet, 20, 5)
}

func randomString(alphabet string, n, group int) string {
	var b strings.Builder
	buf := make([]byte, 1)
	for i := 0; i < n; {
		_, _ = rand.Read(buf) // never fails: crypto/rand crashes the program instead (Go 1.24+)
		// Rejection sampling keeps the choice uniform.
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue
		}
		if group > 0 && i > 0 && i%group == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
		i++
	}
	return b.String()
}
