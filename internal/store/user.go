// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"

	"github.com/koban-csirt/koban/internal/auth"
)

const userColumns = `users.id, users.name, users.display_name, users.email, users.role, users.password_hash,
	users.must_change_password, users.totp_secret, users.totp_pending, users.totp_last_step, users.lang,
	users.time_zone, users.disabled, users.created_at, users.updated_at, users.password_changed_at`

func scanUser(s scanner, extra ...any) (auth.User, error) {
	var u auth.User
	var created, updated, pwChanged int64
	dest := append([]any{&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.PasswordHash,
		&u.MustChangePassword, &u.TOTPSecret, &u.TOTPPending, &u.TOTPLastStep, &u.Lang,
		&u.TimeZone, &u.Disabled, &created, &updated, &pwChanged}, extra...)
	if err := s.Scan(dest...); err != nil {
		return auth.User{}, mapErr(err)
	}
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = fromMicros(created), fromMicros(updated), fromMicros(pwChanged)
	return u, nil
}

const createUserSQL = `INSERT INTO users (name, display_name, email, role, password_hash, must_change_password,
	totp_secret, totp_pending, totp_last_step, lang, time_zone, disabled, created_at, updated_at, password_changed_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateUser inserts u and returns it with its id. A taken name is Conflict.
func (db *DB) CreateUser(ctx context.Context, u auth.User) (auth.User, error) {
	err := db.queryRow(ctx, createUserSQL, u.Name, u.DisplayName, u.Email, u.Role, u.PasswordHash,
		u.MustChangePassword, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, u.Lang, u.TimeZone, u.Disabled,
		micros(u.CreatedAt), micros(u.UpdatedAt), micros(u.PasswordChangedAt)).Scan(&u.ID)
	if err != nil {
		return auth.User{}, fmt.Errorf("store: create user: %w", mapErr(err))
	}
	return u, nil
}

const userSQL = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

// User returns the user with id, or NotFound.
func (db *DB) User(ctx context.Context, id int64) (auth.User, error) {
	u, err := scanUser(db.queryRow(ctx, userSQL, id))
	if err != nil {
		return auth.User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

const userByNameSQL = `SELECT ` + userColumns + ` FROM users WHERE name = ?`

// UserByName returns the user called name, or NotFound.
func (db *DB) UserByName(ctx context.Context, name string) (auth.User, error) {
	u, err := scanUser(db.queryRow(ctx, userByNameSQL, name))
	if err != nil {
		return auth.User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

const usersSQL = `SELECT ` + userColumns + ` FROM users ORDER BY name`

// Users returns every user ordered by name.
func (db *DB) Users(ctx context.Context) ([]auth.User, error) {
	rows, err := db.query(ctx, usersSQL)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", mapErr(err))
	}
	return out, nil
}

const updateUserSQL = `UPDATE users SET name = ?, display_name = ?, email = ?, role = ?, password_hash = ?,
	must_change_password = ?, totp_secret = ?, totp_pending = ?, totp_last_step = ?, lang = ?, time_zone = ?,
	disabled = ?, updated_at = ?, password_changed_at = ? WHERE id = ?`

// UpdateUser stores every field of u. A missing user is NotFound.
func (db *DB) UpdateUser(ctx context.Context, u auth.User) error {
	r, err := db.exec(ctx, updateUserSQL, u.Name, u.DisplayName, u.Email, u.Role, u.PasswordHash,
		u.MustChangePassword, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, u.Lang, u.TimeZone,
		u.Disabled, micros(u.UpdatedAt), micros(u.PasswordChangedAt), u.ID)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	return nil
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", mapErr(err))
	}
	return n, nil
}
