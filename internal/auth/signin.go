// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// mfaWindow is how long a password-accepted session waits for its TOTP code.
const mfaWindow = 5 * time.Minute

// touchEvery limits how often a session's last-seen time is written.
const touchEvery = time.Minute

// SignInResult is a new session and the secret for its cookie.
type SignInResult struct {
	Secret  string
	Session Session
	User    User
}

type failView struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// SignIn checks a name and password. On success it starts a session (pending
// its TOTP code when the user has TOTP) and returns the session secret. A
// wrong name, wrong password and disabled account all give the same
// Unauthenticated fault; a locked account or address gives TooMany.
func (s *Service) SignIn(ctx context.Context, name, password string, c Client) (SignInResult, error) {
	name = NormalizeName(name)
	if len(name) > 64 {
		name = name[:64]
	}
	now := s.nowUTC()
	if err := s.checkLocks(ctx, now, userKey(name), ipKey(c.IP)); err != nil {
		return SignInResult{}, err
	}
	u, err := s.store.UserByName(ctx, name)
	known := err == nil
	if err != nil && !fault.Is(err, fault.NotFound) {
		return SignInResult{}, fmt.Errorf("auth: sign in: %w", err)
	}
	hash := s.dummyHash
	if known {
		hash = u.PasswordHash
	}
	ok, err := s.hasher.verify(ctx, hash, password)
	if err != nil && !errors.Is(err, errBadHash) {
		return SignInResult{}, fmt.Errorf("auth: sign in: %w", err)
	}
	reason := ""
	switch {
	case !known:
		reason = "unknown user"
	case !ok:
		reason = "wrong password"
	case u.Disabled:
		reason = "account disabled"
	}
	if reason != "" {
		return SignInResult{}, s.failed(ctx, now, c, u, name, reason)
	}
	var res SignInResult
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteThrottle(ctx, userKey(name)); err != nil {
			return err
		}
		sess, secret := s.newSession(u.ID, now, c, u.TOTPEnabled())
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		action := "auth.signin"
		if sess.MFAPending {
			action = "auth.password_accepted"
		}
		res = SignInResult{Secret: secret, Session: sess, User: u}
		return s.record(ctx, audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: c.IP}, action, audit.Object("user", u.ID), nil, nil)
	})
	if err != nil {
		return SignInResult{}, fmt.Errorf("auth: sign in: %w", err)
	}
	return res, nil
}

func (s *Service) newSession(userID int64, now time.Time, c Client, mfaPending bool) (Session, string) {
	secret := newSecret()
	exp := now.Add(s.cfg.AbsoluteTimeout)
	if mfaPending {
		exp = now.Add(mfaWindow)
	}
	ua := c.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return Session{ID: hashSecret(secret), UserID: userID, MFAPending: mfaPending, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: exp, IP: c.IP, UserAgent: ua}, secret
}

// checkLocks returns TooMany when any key is locked at now.
func (s *Service) checkLocks(ctx context.Context, now time.Time, keys ...string) error {
	for _, k := range keys {
		t, err := s.store.Throttle(ctx, k)
		if err != nil {
			return fmt.Errorf("auth: throttle: %w", err)
		}
		if now.Before(t.LockedUntil) {
			if s.Throttled != nil {
				s.Throttled()
			}
			mins := int(math.Ceil(t.LockedUntil.Sub(now).Minutes()))
			return &fault.Error{Kind: fault.TooMany, Msg: "signin.locked", Args: []any{"count", mins},
				Err: RetryAfter(t.LockedUntil.Sub(now))}
		}
	}
	return nil
}

// RetryAfter is the cause of a TooMany fault: how long to wait.
type RetryAfter time.Duration

func (r RetryAfter) Error() string { return fmt.Sprintf("retry after %s", time.Duration(r)) }

// failed records a failed attempt against the account and the address,
// audits it, and returns the fault to show.
func (s *Service) failed(ctx context.Context, now time.Time, c Client, u User, name, reason string) error {
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		actor := audit.Actor{UserID: u.ID, Name: name, Via: audit.ViaWeb, IP: c.IP}
		object := ""
		if u.ID != 0 {
			object = audit.Object("user", u.ID)
		}
		if err := s.record(ctx, actor, "auth.signin_failed", object, nil, failView{Name: name, Reason: reason}); err != nil {
			return err
		}
		for _, k := range []struct {
			key string
			max int
		}{{userKey(name), s.cfg.Throttle.MaxFailuresPerUser}, {ipKey(c.IP), s.cfg.Throttle.MaxFailuresPerIP}} {
			t, err := s.store.Throttle(ctx, k.key)
			if err != nil {
				return err
			}
			locked := t.fail(now, k.max, s.cfg.Throttle)
			if err := s.store.SaveThrottle(ctx, t); err != nil {
				return err
			}
			if locked {
				view := map[string]any{"key": t.Key, "failures": t.Failures, "until": t.LockedUntil.Format(time.RFC3339)}
				if err := s.record(ctx, actor, "auth.locked", object, nil, view); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: record failed sign-in: %w", err)
	}
	return fault.New(fault.Unauthenticated, "signin.failed")
}

// Authenticate returns the principal of a session secret. An unknown,
// expired or idle session, or a disabled user, gives Unauthenticated; the
// session is then removed.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if secret == "" || len(secret) > 128 {
		return Principal{}, fault.New(fault.Unauthenticated, "session.none")
	}
	id := hashSecret(secret)
	sess, u, err := s.store.SessionUser(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return Principal{}, fault.New(fault.Unauthenticated, "session.expired")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: session: %w", err)
	}
	now := s.nowUTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.IdleTimeout || u.Disabled {
		if err := s.store.DeleteSession(ctx, id); err != nil {
			return Principal{}, fmt.Errorf("auth: end session: %w", err)
		}
		return Principal{}, fault.New(fault.Unauthenticated, "session.expired")
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, id, now); err != nil {
			return Principal{}, fmt.Errorf("auth: touch session: %w", err)
		}
	}
	return Principal{User: u, Role: u.Role, SessionID: id, MFAPending: sess.MFAPending}, nil
}

// CompleteTOTP checks the TOTP code for a session whose password step
// passed. On success the pending session is replaced by a full one, whose
// secret is returned (the session id rotates at every sign-in step).
func (s *Service) CompleteTOTP(ctx context.Context, secret, code string, c Client) (SignInResult, error) {
	p, err := s.Authenticate(ctx, secret)
	if err != nil {
		return SignInResult{}, err
	}
	if !p.MFAPending {
		return SignInResult{}, fault.New(fault.Invalid, "signin.no_code_due")
	}
	u := p.User
	now := s.nowUTC()
	if err := s.checkLocks(ctx, now, userKey(u.Name), ipKey(c.IP)); err != nil {
		return SignInResult{}, err
	}
	step, ok := checkTOTP(u.TOTPSecret, code, now, u.TOTPLastStep)
	if !ok {
		return SignInResult{}, s.failed(ctx, now, c, u, u.Name, "wrong TOTP code")
	}
	var res SignInResult
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, p.SessionID); err != nil {
			return err
		}
		u.TOTPLastStep = step
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := s.store.DeleteThrottle(ctx, userKey(u.Name)); err != nil {
			return err
		}
		sess, sec := s.newSession(u.ID, now, c, false)
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		res = SignInResult{Secret: sec, Session: sess, User: u}
		return s.record(ctx, audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: c.IP}, "auth.signin", audit.Object("user", u.ID), nil, map[string]bool{"totp": true})
	})
	if err != nil {
		return SignInResult{}, fmt.Errorf("auth: complete sign-in: %w", err)
	}
	return res, nil
}

// SignOut ends the session with the given secret.
func (s *Service) SignOut(ctx context.Context, secret string, a audit.Actor) error {
	if secret == "" {
		return nil
	}
	return s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, hashSecret(secret)); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
		return s.record(ctx, a, "auth.signout", audit.Object("user", a.UserID), nil, nil)
	})
}

// Sweep removes expired sessions and throttles that no longer matter. The
// app runs it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.nowUTC()
	if _, err := s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.IdleTimeout)); err != nil {
		return fmt.Errorf("auth: sweep sessions: %w", err)
	}
	stale := now.Add(-s.cfg.Throttle.Window - s.cfg.Throttle.MaxLockout)
	if _, err := s.store.DeleteStaleThrottles(ctx, stale); err != nil {
		return fmt.Errorf("auth: sweep throttles: %w", err)
	}
	return nil
}
