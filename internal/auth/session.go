// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is a signed-in browser. The store keeps only the SHA-256 of the
// session token, so a copy of the database signs nobody in.
type Session struct {
	ID         string // hex SHA-256 of the token
	UserID     int64
	MFAPending bool // password accepted, TOTP code still due
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	IP         string
	UserAgent  string
}

// newSecret returns a random 256-bit token, URL-safe.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret returns the hex SHA-256 of a session or API token. Tokens have
// 256 bits of entropy, so a fast hash is enough (no password stretching).
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
