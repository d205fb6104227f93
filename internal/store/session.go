// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
)

const sessionColumns = `sessions.id, sessions.user_id, sessions.mfa_pending, sessions.created_at,
	sessions.last_seen_at, sessions.expires_at, sessions.ip, sessions.user_agent`

func sessionDest(s *auth.Session, created, seen, expires *int64) []any {
	return []any{&s.ID, &s.UserID, &s.MFAPending, created, seen, expires, &s.IP, &s.UserAgent}
}

func fillSessionTimes(s *auth.Session, created, seen, expires int64) {
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
}

const createSessionSQL = `INSERT INTO sessions (id, user_id, mfa_pending, created_at, last_seen_at, expires_at, ip, user_agent)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s auth.Session) error {
	_, err := db.exec(ctx, createSessionSQL, s.ID, s.UserID, s.MFAPending, micros(s.CreatedAt),
		micros(s.LastSeenAt), micros(s.ExpiresAt), s.IP, s.UserAgent)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

const sessionUserSQL = `SELECT ` + userColumns + `, ` + sessionColumns + `
	FROM sessions JOIN users ON users.id = sessions.user_id WHERE sessions.id = ?`

// SessionUser returns a session and its user in one query, or NotFound.
func (db *DB) SessionUser(ctx context.Context, id string) (auth.Session, auth.User, error) {
	var s auth.Session
	var created, seen, expires int64
	u, err := scanUser(db.queryRow(ctx, sessionUserSQL, id), sessionDest(&s, &created, &seen, &expires)...)
	if err != nil {
		return auth.Session{}, auth.User{}, fmt.Errorf("store: session: %w", err)
	}
	fillSessionTimes(&s, created, seen, expires)
	return s, u, nil
}

// TouchSession records that a session was used at at.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession removes a session; a missing one is not an error.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of userID except keep.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	r, err := db.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	return r.RowsAffected()
}

// DeleteExpiredSessions removes sessions past their end at now or last seen
// before idleBefore.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	r, err := db.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`, micros(now), micros(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return r.RowsAffected()
}

const sessionsSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? ORDER BY created_at DESC`

// Sessions returns the sessions of userID, newest first.
func (db *DB) Sessions(ctx context.Context, userID int64) ([]auth.Session, error) {
	rows, err := db.query(ctx, sessionsSQL, userID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	defer rows.Close()
	var out []auth.Session
	for rows.Next() {
		var s auth.Session
		var created, seen, expires int64
		if err := rows.Scan(sessionDest(&s, &created, &seen, &expires)...); err != nil {
			return nil, fmt.Errorf("store: sessions: %w", mapErr(err))
		}
		fillSessionTimes(&s, created, seen, expires)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sessions: %w", mapErr(err))
	}
	return out, nil
}
