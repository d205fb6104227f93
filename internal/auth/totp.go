// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

const totpPeriod = 30

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkTOTP reports whether code is valid for secret at now, allowing one
// step of clock skew either way, and returns its time step. A step at or
// before lastStep is refused, so a code works only once.
func checkTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur, cur - 1, cur + 1} {
		if step <= lastStep {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// TOTPEnrolment is what a user needs to add koban to an authenticator app.
type TOTPEnrolment struct {
	Secret string // base32, for typing in
	URL    string // otpauth:// URL
	QRPNG  []byte // the URL as a QR code
}

// enrolment builds the otpauth URL and QR code for a secret.
func enrolment(name, secret string) (TOTPEnrolment, error) {
	q := url.Values{"secret": {secret}, "issuer": {"koban"}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/koban:" + name, RawQuery: q.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("auth: totp key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("auth: totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("auth: totp qr: %w", err)
	}
	return TOTPEnrolment{Secret: secret, URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// BeginTOTP creates a new TOTP secret for the user, kept pending until
// ConfirmTOTP proves the user's app has it.
func (s *Service) BeginTOTP(ctx context.Context, a audit.Actor, userID int64) (TOTPEnrolment, error) {
	raw := make([]byte, 20)
	_, _ = rand.Read(raw) // never fails (Go 1.24+)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	// The secret itself never enters the audit trail: the views leave it out.
	u, err := s.update(ctx, a, userID, "user.totp_begin", func(_ context.Context, u *User) error {
		u.TOTPPending = secret
		return nil
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return enrolment(u.Name, secret)
}

// PendingTOTP returns the enrolment in progress for the user, if any.
func (s *Service) PendingTOTP(ctx context.Context, userID int64) (TOTPEnrolment, bool, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, false, fmt.Errorf("auth: pending totp: %w", err)
	}
	if u.TOTPPending == "" {
		return TOTPEnrolment{}, false, nil
	}
	e, err := enrolment(u.Name, u.TOTPPending)
	return e, err == nil, err
}

// ConfirmTOTP turns TOTP on for the user once code matches the pending
// secret.
func (s *Service) ConfirmTOTP(ctx context.Context, a audit.Actor, userID int64, code string) error {
	return s.store.Tx(ctx, func(ctx context.Context) error {
		u, err := s.store.User(ctx, userID)
		if err != nil {
			return err
		}
		if u.TOTPPending == "" {
			return fault.New(fault.Invalid, "totp.not_started")
		}
		step, ok := checkTOTP(u.TOTPPending, code, s.nowUTC(), 0)
		if !ok {
			return fault.InvalidField("code", "totp.wrong_code")
		}
		before := u.view()
		u.TOTPSecret, u.TOTPPending, u.TOTPLastStep = u.TOTPPending, "", step
		u.UpdatedAt = s.nowUTC()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, a, "user.totp_enable", audit.Object("user", u.ID), before, u.view())
	})
}

// DisableTOTP turns TOTP off for the user. When password is not nil, it must
// be the user's current password (self-service); an administrator resetting
// another user's TOTP passes nil.
func (s *Service) DisableTOTP(ctx context.Context, a audit.Actor, userID int64, password *string) error {
	if password != nil {
		u, err := s.store.User(ctx, userID)
		if err != nil {
			return fmt.Errorf("auth: disable totp: %w", err)
		}
		if err := s.checkCurrentPassword(ctx, a, u, *password); err != nil {
			return err
		}
	}
	_, err := s.update(ctx, a, userID, "user.totp_disable", func(_ context.Context, u *User) error {
		u.TOTPSecret, u.TOTPPending, u.TOTPLastStep = "", "", 0
		return nil
	})
	return err
}
