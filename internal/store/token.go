// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
)

const tokenColumns = `api_tokens.id, api_tokens.name, api_tokens.hint, api_tokens.hash, api_tokens.role,
	api_tokens.user_id, api_tokens.created_at, api_tokens.expires_at, api_tokens.last_used_at,
	api_tokens.last_used_ip, api_tokens.last_audited_at, api_tokens.revoked_at`

type tokenRow struct {
	t                                        auth.Token
	created, expires, used, audited, revoked int64
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.ID, &r.t.Name, &r.t.Hint, &r.t.Hash, &r.t.Role, &r.t.UserID, &r.created,
		&r.expires, &r.used, &r.t.LastUsedIP, &r.audited, &r.revoked}
}

func (r *tokenRow) token() auth.Token {
	t := r.t
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMicros(r.created), fromMicros(r.expires), fromMicros(r.used), fromMicros(r.revoked)
	t.LastAuditedAt = fromMicros(r.audited)
	return t
}

const createTokenSQL = `INSERT INTO api_tokens (name, hint, hash, role, user_id, created_at, expires_at,
	last_used_at, last_used_ip, last_audited_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateToken stores a new token and returns it with its id.
func (db *DB) CreateToken(ctx context.Context, t auth.Token) (auth.Token, error) {
	err := db.queryRow(ctx, createTokenSQL, t.Name, t.Hint, t.Hash, t.Role, t.UserID, micros(t.CreatedAt),
		micros(t.ExpiresAt), micros(t.LastUsedAt), t.LastUsedIP, micros(t.LastAuditedAt), micros(t.RevokedAt)).Scan(&t.ID)
	if err != nil {
		return auth.Token{}, fmt.Errorf("store: create token: %w", mapErr(err))
	}
	return t, nil
}

const tokenSQL = `SELECT ` + tokenColumns + `, users.name FROM api_tokens JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.id = ?`

// Token returns the token with id, or NotFound.
func (db *DB) Token(ctx context.Context, id int64) (auth.Token, error) {
	var r tokenRow
	if err := db.queryRow(ctx, tokenSQL, id).Scan(append(r.dest(), &r.t.OwnerName)...); err != nil {
		return auth.Token{}, fmt.Errorf("store: token %d: %w", id, mapErr(err))
	}
	return r.token(), nil
}

const tokenByHashSQL = `SELECT ` + userColumns + `, ` + tokenColumns + `
	FROM api_tokens JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.hash = ?`

// TokenByHash returns a token and its owner by the token's hash, or NotFound.
func (db *DB) TokenByHash(ctx context.Context, hash string) (auth.Token, auth.User, error) {
	var r tokenRow
	u, err := scanUser(db.queryRow(ctx, tokenByHashSQL, hash), r.dest()...)
	if err != nil {
		return auth.Token{}, auth.User{}, fmt.Errorf("store: token: %w", err)
	}
	t := r.token()
	t.OwnerName = u.Name
	return t, u, nil
}

const tokensSQL = `SELECT ` + tokenColumns + `, users.name FROM api_tokens JOIN users ON users.id = api_tokens.user_id
	ORDER BY api_tokens.created_at DESC, api_tokens.id DESC`

// Tokens returns every token, newest first.
func (db *DB) Tokens(ctx context.Context) ([]auth.Token, error) {
	rows, err := db.query(ctx, tokensSQL)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		var r tokenRow
		if err := rows.Scan(append(r.dest(), &r.t.OwnerName)...); err != nil {
			return nil, fmt.Errorf("store: tokens: %w", mapErr(err))
		}
		out = append(out, r.token())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", mapErr(err))
	}
	return out, nil
}

const updateTokenSQL = `UPDATE api_tokens SET name = ?, role = ?, expires_at = ?, last_used_at = ?,
	last_used_ip = ?, last_audited_at = ?, revoked_at = ? WHERE id = ?`

// UpdateToken stores the mutable fields of t. A missing token is NotFound.
func (db *DB) UpdateToken(ctx context.Context, t auth.Token) error {
	r, err := db.exec(ctx, updateTokenSQL, t.Name, t.Role, micros(t.ExpiresAt), micros(t.LastUsedAt),
		t.LastUsedIP, micros(t.LastAuditedAt), micros(t.RevokedAt), t.ID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update token %d: %w", t.ID, err)
	}
	return nil
}

const touchTokenSQL = `UPDATE api_tokens SET last_used_at = ?, last_used_ip = ?, last_audited_at = ?
	WHERE id = ? AND revoked_at = 0`

// TouchToken records a use of token id. It writes only the usage columns, so
// it can never undo a revocation made meanwhile, and returns NotFound when
// the token is (now) revoked.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time, ip string, audited time.Time) error {
	r, err := db.exec(ctx, touchTokenSQL, micros(at), ip, micros(audited), id)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: touch token %d: %w", id, err)
	}
	return nil
}
