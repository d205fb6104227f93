// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"strings"
	"time"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one.
const TokenPrefix = "koban_"

// Token is an API token: shown once at creation, stored hashed, scoped to a
// role, revocable.
type Token struct {
	ID         int64
	Name       string
	Hint       string // the first characters, shown in lists
	Hash       string // hex SHA-256 of the token
	Role       Role
	UserID     int64 // the user who created it; a disabled owner disables it
	OwnerName  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time
	LastUsedIP string
	// LastAuditedAt is when a use was last written to the audit trail.
	LastAuditedAt time.Time
	RevokedAt     time.Time // zero: active
}

// Active reports whether the token may be used at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

type tokenView struct {
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	ExpiresAt string `json:"expires_at,omitempty"`
	Revoked   bool   `json:"revoked"`
}

func (t Token) view() tokenView {
	v := tokenView{Name: t.Name, Role: t.Role, Revoked: !t.RevokedAt.IsZero()}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return v
}

// looksLikeToken reports whether s has the shape of a koban API token.
func looksLikeToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && len(s) == len(TokenPrefix)+43
}
