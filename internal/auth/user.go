// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
)

// User is a person who signs in to koban.
type User struct {
	ID                 int64
	Name               string // sign-in name: lower-case, unique
	DisplayName        string
	Email              string
	Role               Role
	PasswordHash       string // argon2id PHC string; never leaves this package's callers' stores
	MustChangePassword bool
	TOTPSecret         string // base32; empty when TOTP is off
	TOTPPending        string // secret being enrolled, until confirmed
	TOTPLastStep       int64  // last accepted TOTP time step, against replay
	Lang               string // "en", "ja" or "" for the browser's choice
	TimeZone           string // IANA name or "" for the language default
	Disabled           bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	PasswordChangedAt  time.Time
}

// TOTPEnabled reports whether the user signs in with a second factor.
func (u User) TOTPEnabled() bool { return u.TOTPSecret != "" }

// Label is the name to show: the display name, else the sign-in name.
func (u User) Label() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Name
}

// userView is what the audit trail records of a user: never the password hash
// or TOTP secret.
type userView struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        Role   `json:"role"`
	Disabled    bool   `json:"disabled"`
	TOTP        bool   `json:"totp"`
	MustChange  bool   `json:"must_change_password,omitempty"`
	Lang        string `json:"lang,omitempty"`
	TimeZone    string `json:"time_zone,omitempty"`
}

func (u User) view() userView {
	return userView{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, Role: u.Role,
		Disabled: u.Disabled, TOTP: u.TOTPEnabled(), MustChange: u.MustChangePassword, Lang: u.Lang, TimeZone: u.TimeZone}
}

// NormalizeName returns the canonical form of a sign-in name.
func NormalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// CheckName returns an Invalid fault unless name (already normalised) is a
// usable sign-in name: 1 to 64 of a-z, 0-9, '.', '_', '-', '@'.
func CheckName(name string) error {
	if name == "" {
		return fault.InvalidField("name", "user.name_required")
	}
	if len(name) > 64 {
		return fault.InvalidField("name", "user.name_too_long", "max", 64)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return fault.InvalidField("name", "user.name_chars")
		}
	}
	return nil
}

func checkProfile(displayName, email string) error {
	var l fault.List
	if utf8.RuneCountInString(displayName) > 100 || !utf8.ValidString(displayName) {
		l = append(l, fault.InvalidField("display_name", "user.display_name_too_long", "max", 100))
	}
	if email != "" {
		at := strings.IndexByte(email, '@')
		if len(email) > 254 || at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>\"") {
			l = append(l, fault.InvalidField("email", "user.email_invalid"))
		}
	}
	return l.Err()
}
