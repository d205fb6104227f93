// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// tokenAuditEvery is how often the use of one API token is written to the
// audit trail; every use updates its last-used time and address.
const tokenAuditEvery = time.Hour

// tokenTouchEvery limits how often last-used is written for busy tokens.
const tokenTouchEvery = time.Minute

// CreateToken makes an API token for the actor with a name and role, valid
// for ttl (0: until revoked). The secret is returned once and never stored.
func (s *Service) CreateToken(ctx context.Context, a audit.Actor, name string, role Role, ttl time.Duration) (Token, string, error) {
	name = strings.TrimSpace(name)
	var errs fault.List
	if name == "" || utf8.RuneCountInString(name) > 100 {
		errs = append(errs, fault.InvalidField("name", "tokens.name_invalid", "max", 100))
	}
	if !role.Valid() {
		errs = append(errs, fault.InvalidField("role", "user.role_invalid"))
	}
	if ttl < 0 {
		errs = append(errs, fault.InvalidField("ttl", "tokens.ttl_invalid"))
	}
	if err := errs.Err(); err != nil {
		return Token{}, "", err
	}
	secret := TokenPrefix + newSecret()
	now := s.nowUTC()
	t := Token{Name: name, Hint: secret[:len(TokenPrefix)+4], Hash: hashSecret(secret), Role: role,
		UserID: a.UserID, CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.store.CreateToken(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, a, "token.create", audit.Object("token", t.ID), nil, t.view())
	})
	if err != nil {
		return Token{}, "", fmt.Errorf("auth: create token: %w", err)
	}
	return t, secret, nil
}

// RevokeToken stops a token from working.
func (s *Service) RevokeToken(ctx context.Context, a audit.Actor, id int64) error {
	return s.store.Tx(ctx, func(ctx context.Context) error {
		t, err := s.store.Token(ctx, id)
		if err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		before := t.view()
		t.RevokedAt = s.nowUTC()
		if err := s.store.UpdateToken(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, a, "token.revoke", audit.Object("token", t.ID), before, t.view())
	})
}

// Tokens returns every token, newest first.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) { return s.store.Tokens(ctx) }

// AuthenticateToken returns the principal of an API token used from ip.
// The principal's role is the lower of the token's and its owner's current
// role, so demoting a user also demotes their tokens. Unknown, revoked and
// expired tokens, and tokens of disabled users, give Unauthenticated;
// repeated failures from one address lock it against further guesses (a
// valid token still works from a locked address).
func (s *Service) AuthenticateToken(ctx context.Context, secret, ip string) (Principal, error) {
	now := s.nowUTC()
	var t Token
	var u User
	var err error = fault.New(fault.NotFound, "tokens.unknown")
	if looksLikeToken(secret) {
		t, u, err = s.store.TokenByHash(ctx, hashSecret(secret))
	}
	if err != nil && !fault.Is(err, fault.NotFound) {
		return Principal{}, fmt.Errorf("auth: token: %w", err)
	}
	valid := err == nil && t.Active(now) && !u.Disabled
	if valid && (now.Sub(t.LastUsedAt) >= tokenTouchEvery || t.LastUsedIP != ip) {
		err := s.store.Tx(ctx, func(ctx context.Context) error {
			audited := t.LastAuditedAt
			if now.Sub(t.LastAuditedAt) >= tokenAuditEvery || t.LastUsedIP != ip {
				audited = now
			}
			// Only the usage columns: a revocation made meanwhile stands,
			// and shows as NotFound.
			if err := s.store.TouchToken(ctx, t.ID, now, ip, audited); err != nil {
				return err
			}
			if audited != now {
				return nil
			}
			a := audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaAPI, TokenID: t.ID, IP: ip}
			return s.record(ctx, a, "token.use", audit.Object("token", t.ID), nil, nil)
		})
		if fault.Is(err, fault.NotFound) {
			valid = false
		} else if err != nil {
			return Principal{}, fmt.Errorf("auth: token use: %w", err)
		}
	}
	if !valid {
		return Principal{}, s.tokenFailed(ctx, now, ip)
	}
	return Principal{User: u, Role: Lower(t.Role, u.Role), TokenID: t.ID, TokenName: t.Name}, nil
}

// tokenFailed counts and audits a rejected token against the address, and
// returns the fault to answer with.
func (s *Service) tokenFailed(ctx context.Context, now time.Time, ip string) error {
	l := limit{ipKey(ip), s.cfg.Throttle.MaxFailuresPerIP}
	a := audit.Actor{Name: "anonymous", Via: audit.ViaAPI, IP: ip}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.lockedFault(ctx, now, l); err != nil {
			return err // locked: refused without another audit entry
		}
		if err := s.count(ctx, now, a, "", l); err != nil {
			return err
		}
		return s.record(ctx, a, "auth.token_rejected", "", nil, nil)
	})
	if fault.Is(err, fault.TooMany) {
		return err
	}
	if err != nil {
		return fmt.Errorf("auth: record token failure: %w", err)
	}
	return fault.New(fault.Unauthenticated, "tokens.invalid")
}
