// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

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

// limit is a throttle key and the failures it tolerates.
type limit struct {
	key string
	max int
}

func (s *Service) limits(name, ip string) []limit {
	return []limit{{userKey(name), s.cfg.Throttle.MaxFailuresPerUser}, {ipKey(ip), s.cfg.Throttle.MaxFailuresPerIP}}
}

// attempted is the name to record for a failed attempt: the typed name when
// it could be a user name, else a placeholder, because people sometimes type
// their password into the name field.
func attempted(name string) string {
	if CheckName(name) != nil {
		return "(not a user name)"
	}
	return name
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SignIn checks a name and password. On success it starts a session (pending
// its TOTP code when the user has TOTP) and returns the session secret. A
// wrong name, wrong password and disabled account all give the same
// Unauthenticated fault; a locked account or address gives TooMany.
//
// Each attempt is counted against the account and the address before the
// password is checked, so that attempts sent in parallel cannot slip past
// the limit; a successful one is refunded.
func (s *Service) SignIn(ctx context.Context, name, password string, c Client) (SignInResult, error) {
	name = NormalizeName(truncate(name, 256))
	name = truncate(name, 64)
	now := s.nowUTC()
	actor := audit.Actor{Name: attempted(name), Via: audit.ViaWeb, IP: c.IP}
	if err := s.reserve(ctx, now, actor, "", s.limits(name, c.IP)...); err != nil {
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
	if !known || !ok || u.Disabled {
		reason := "wrong password"
		switch {
		case !known:
			reason = "unknown user"
		case ok:
			reason = "account disabled"
		}
		return SignInResult{}, s.signInFailed(ctx, actor, u, reason)
	}
	var res SignInResult
	denied := ""
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		// What changed while the password was checked wins.
		cur, err := s.store.User(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.Disabled || cur.PasswordHash != u.PasswordHash {
			denied = "account changed during sign-in"
			return nil
		}
		if err := s.succeeded(ctx, name, c.IP); err != nil {
			return err
		}
		sess, secret := s.newSession(cur.ID, now, c, cur.TOTPEnabled())
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		action := "auth.signin"
		if sess.MFAPending {
			action = "auth.password_accepted"
		}
		res = SignInResult{Secret: secret, Session: sess, User: cur}
		return s.record(ctx, audit.Actor{UserID: cur.ID, Name: cur.Name, Via: audit.ViaWeb, IP: c.IP}, action, audit.Object("user", cur.ID), nil, nil)
	})
	if err != nil {
		return SignInResult{}, fmt.Errorf("auth: sign in: %w", err)
	}
	if denied != "" {
		return SignInResult{}, s.signInFailed(ctx, actor, u, denied)
	}
	return res, nil
}

// signInFailed audits a failed attempt (already counted by reserve) and
// returns the fault to show.
func (s *Service) signInFailed(ctx context.Context, a audit.Actor, u User, reason string) error {
	object := ""
	if u.ID != 0 {
		a.UserID, object = u.ID, audit.Object("user", u.ID)
	}
	if err := s.record(ctx, a, "auth.signin_failed", object, nil, failView{Name: a.Name, Reason: reason}); err != nil {
		return fmt.Errorf("auth: record failed sign-in: %w", err)
	}
	return fault.New(fault.Unauthenticated, "signin.failed")
}

func (s *Service) newSession(userID int64, now time.Time, c Client, mfaPending bool) (Session, string) {
	secret := newSecret()
	exp := now.Add(s.cfg.AbsoluteTimeout)
	if mfaPending {
		exp = now.Add(mfaWindow)
	}
	return Session{ID: hashSecret(secret), UserID: userID, MFAPending: mfaPending, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: exp, IP: c.IP, UserAgent: truncate(c.UserAgent, 256)}, secret
}

// RetryAfter is the cause of a TooMany fault: how long to wait.
type RetryAfter time.Duration

func (r RetryAfter) Error() string { return fmt.Sprintf("retry after %s", time.Duration(r)) }

// lockedFault returns TooMany when any of the limits is locked at now, in
// the caller's transaction.
func (s *Service) lockedFault(ctx context.Context, now time.Time, ls ...limit) error {
	var until time.Time
	for _, l := range ls {
		t, err := s.store.Throttle(ctx, l.key)
		if err != nil {
			return err
		}
		if now.Before(t.LockedUntil) && t.LockedUntil.After(until) {
			until = t.LockedUntil
		}
	}
	if until.IsZero() {
		return nil
	}
	if s.Throttled != nil {
		s.Throttled()
	}
	mins := int(math.Ceil(until.Sub(now).Minutes()))
	return &fault.Error{Kind: fault.TooMany, Msg: "signin.locked", Args: []any{"count", mins}, Err: RetryAfter(until.Sub(now))}
}

// count records one failure against each limit, in the caller's
// transaction, and audits any lock it starts.
func (s *Service) count(ctx context.Context, now time.Time, a audit.Actor, object string, ls ...limit) error {
	for _, l := range ls {
		t, err := s.store.Throttle(ctx, l.key)
		if err != nil {
			return err
		}
		locked := t.fail(now, l.max, s.cfg.Throttle)
		if err := s.store.SaveThrottle(ctx, t); err != nil {
			return err
		}
		if locked {
			view := map[string]any{"key": t.Key, "failures": t.Failures, "until": t.LockedUntil.Format(time.RFC3339)}
			if err := s.record(ctx, a, "auth.locked", object, nil, view); err != nil {
				return err
			}
		}
	}
	return nil
}

// reserve refuses an attempt while any limit is locked, and otherwise counts
// it as a failure before the (slow) check runs: attempts in flight count,
// so parallel requests cannot exceed the limit. succeeded refunds it.
func (s *Service) reserve(ctx context.Context, now time.Time, a audit.Actor, object string, ls ...limit) error {
	refused := false
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.lockedFault(ctx, now, ls...); err != nil {
			refused = true
			return err
		}
		return s.count(ctx, now, a, object, ls...)
	})
	if err != nil && !refused {
		return fmt.Errorf("auth: throttle: %w", err)
	}
	return err
}

// succeeded forgets the account's failures and refunds the address the
// attempt that reserve counted, in the caller's transaction: people signing
// in behind one NAT do not lock it.
func (s *Service) succeeded(ctx context.Context, name, ip string) error {
	if err := s.store.DeleteThrottle(ctx, userKey(name)); err != nil {
		return err
	}
	t, err := s.store.Throttle(ctx, ipKey(ip))
	if err != nil || t.Failures == 0 {
		return err
	}
	t.Failures--
	if t.Failures < s.cfg.Throttle.MaxFailuresPerIP {
		// Only this attempt's reservation can have set a lock: a locked
		// address refuses attempts before they are counted.
		t.LockedUntil = time.Time{}
	}
	return s.store.SaveThrottle(ctx, t)
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
// secret is returned (the session id rotates at every sign-in step). The
// check, the replay guard and the counting of failures happen in one
// transaction, so a code works once even when sent twice at once.
func (s *Service) CompleteTOTP(ctx context.Context, secret, code string, c Client) (SignInResult, error) {
	p, err := s.Authenticate(ctx, secret)
	if err != nil {
		return SignInResult{}, err
	}
	if !p.MFAPending {
		return SignInResult{}, fault.New(fault.Invalid, "signin.no_code_due")
	}
	now := s.nowUTC()
	ls := s.limits(p.User.Name, c.IP)
	var res SignInResult
	denied := false
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.lockedFault(ctx, now, ls...); err != nil {
			return err
		}
		u, err := s.store.User(ctx, p.User.ID)
		if err != nil {
			return err
		}
		a := audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: c.IP}
		step, ok := checkTOTP(u.TOTPSecret, code, now, u.TOTPLastStep)
		if !ok || u.Disabled {
			denied = true
			reason := "wrong TOTP code"
			if u.Disabled {
				reason = "account disabled"
			}
			if err := s.count(ctx, now, a, audit.Object("user", u.ID), ls...); err != nil {
				return err
			}
			return s.record(ctx, a, "auth.signin_failed", audit.Object("user", u.ID), nil, failView{Name: u.Name, Reason: reason})
		}
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
		return s.record(ctx, a, "auth.signin", audit.Object("user", u.ID), nil, map[string]bool{"totp": true})
	})
	if fault.Is(err, fault.TooMany) {
		return SignInResult{}, err
	}
	if err != nil {
		return SignInResult{}, fmt.Errorf("auth: complete sign-in: %w", err)
	}
	if denied {
		return SignInResult{}, fault.New(fault.Unauthenticated, "signin.failed")
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
