// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
)

// Store is what auth needs from the state store. Every method returns fault
// kinds: NotFound for a missing row, Conflict for a duplicate name or key,
// anything else Internal.
type Store interface {
	// Tx runs fn in one transaction: every store call made with the ctx
	// passed to fn commits or rolls back together, and transactions are
	// serialised, so a check made inside fn still holds at commit.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error
	AppendAudit(ctx context.Context, e audit.Entry) error

	CreateUser(ctx context.Context, u User) (User, error)
	User(ctx context.Context, id int64) (User, error)
	UserByName(ctx context.Context, name string) (User, error)
	Users(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User) error
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, s Session) error
	SessionUser(ctx context.Context, id string) (Session, User, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions removes every session of the user except keep.
	DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error)
	// DeleteExpiredSessions removes sessions past their absolute end or idle
	// since before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
	Sessions(ctx context.Context, userID int64) ([]Session, error)

	CreateToken(ctx context.Context, t Token) (Token, error)
	Token(ctx context.Context, id int64) (Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, User, error)
	Tokens(ctx context.Context) ([]Token, error)
	UpdateToken(ctx context.Context, t Token) error
	// TouchToken records a use; NotFound when the token is revoked.
	TouchToken(ctx context.Context, id int64, at time.Time, ip string, audited time.Time) error

	// Throttle returns the throttle for key, or a zero Throttle with the
	// key set when there is none.
	Throttle(ctx context.Context, key string) (Throttle, error)
	SaveThrottle(ctx context.Context, t Throttle) error
	DeleteThrottle(ctx context.Context, key string) error
	DeleteStaleThrottles(ctx context.Context, before time.Time) (int64, error)
}

// Config is the auth section of koban's configuration.
type Config struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Throttle        ThrottlePolicy
	// HashLimit bounds concurrent password hashes; 0 means the number of CPUs.
	HashLimit int
}

// Service runs sign-in, sessions, users and tokens.
type Service struct {
	store  Store
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	hasher *hasher
	// dummyHash is checked against when a name is unknown, so that a
	// wrong name takes as long as a wrong password. It matches no password.
	dummyHash string
	// Throttled counts sign-in attempts refused because of a lock; it is a
	// hook for metrics and may be nil.
	Throttled func()
}

// New returns a Service. now may be nil for time.Now; log may be nil.
func New(store Store, cfg Config, now func() time.Time, log *slog.Logger) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.HashLimit == 0 {
		cfg.HashLimit = runtime.NumCPU()
	}
	return &Service{store: store, cfg: cfg, now: now, log: log, hasher: newHasher(cfg.HashLimit), dummyHash: dummyHash()}, nil
}

// Principal is who a request acts as: a signed-in user, or a user's API
// token with its own role.
type Principal struct {
	User      User
	Role      Role // the effective role: the user's, or the token's
	SessionID string
	TokenID   int64
	TokenName string
	// MFAPending is set for a session whose TOTP code is still due: such a
	// principal may only complete or abandon sign-in.
	MFAPending bool
}

// Can reports whether the principal holds permission p.
func (p Principal) Can(perm Permission) bool { return !p.MFAPending && Can(p.Role, perm) }

// Actor returns the audit actor for the principal acting from ip.
func (p Principal) Actor(ip string) audit.Actor {
	a := audit.Actor{UserID: p.User.ID, Name: p.User.Name, Via: audit.ViaWeb, IP: ip}
	if p.TokenID != 0 {
		a.Via, a.TokenID = audit.ViaAPI, p.TokenID
	}
	return a
}

// Client describes where a sign-in comes from.
type Client struct {
	IP        string
	UserAgent string
}

func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// record appends an audit entry stamped now.
func (s *Service) record(ctx context.Context, a audit.Actor, action, object string, before, after any) error {
	e := audit.New(a, action, object, before, after)
	e.Time = s.nowUTC()
	return s.store.AppendAudit(ctx, e)
}
