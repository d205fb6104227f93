// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DB is the state store.
type DB struct {
	db      *sql.DB
	dialect Dialect
	path    string // the SQLite file; empty for PostgreSQL
}

// Options says which database to open.
type Options struct {
	// DSN is a postgres:// URL, or empty for SQLite at SQLitePath.
	DSN        string
	SQLitePath string
}

// Open connects to the database and checks it answers. It does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	var (
		db  *sql.DB
		d   Dialect
		err error
	)
	if o.DSN != "" {
		d = Postgres
		db, err = sql.Open("pgx", o.DSN)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		d = SQLite
		if o.SQLitePath == "" {
			return nil, fmt.Errorf("store: open: no database given")
		}
		if err := os.MkdirAll(filepath.Dir(o.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// The database holds password hashes and TOTP secrets: only koban's
		// user may read it, whatever the directory allows. SQLite gives its
		// -wal and -shm files the database file's mode.
		f, err := os.OpenFile(o.SQLitePath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		f.Close()
		if err := os.Chmod(o.SQLitePath, 0o600); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db, err = sql.Open("sqlite", sqliteDSN(o.SQLitePath))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// One connection per core is plenty: SQLite has one writer, and
		// readers in WAL mode do not block it.
		db.SetMaxOpenConns(4)
		db.SetConnMaxIdleTime(10 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error is the one to report
		return nil, fmt.Errorf("store: connect %s: %w", d, redact(err, o.DSN))
	}
	return &DB{db: db, dialect: d, path: o.SQLitePath}, nil
}

// redact removes a DSN (which may hold a password) from an error's text.
func redact(err error, dsn string) error {
	if dsn == "" || !strings.Contains(err.Error(), dsn) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), dsn, "<db>"))
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// Dialect returns the store's SQL flavour.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks the database answers; /healthz uses it.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// SQL returns the underlying handle, for tests and the conformance suite.
func (db *DB) SQL() *sql.DB { return db.db }

type txKey struct{}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) q(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return db.db
}

// Tx runs fn in a transaction. Store calls made with the ctx given to fn
// join it; a nested Tx joins the outer one. fn's error rolls everything back.
//
// Transactions are serialised with one another, as SQLite's single writer
// does by itself: on PostgreSQL each first locks the audit head, the row
// every audited change ends up writing. So a check made inside fn (the last
// administrator, a throttle count, a TOTP step) still holds at commit, and
// transactions never deadlock by locking rows in different orders. Changes
// people make are few; bulk machine writes (events, alerts) use their own
// paths.
func (db *DB) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE`); err != nil {
			_ = tx.Rollback() // the lock error is the one that matters
			return fmt.Errorf("store: begin: %w", mapErr(err))
		}
	}
	if err := fn(context.WithValue(ctx, txKey{}, tx)); err != nil {
		_ = tx.Rollback() // fn's error is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	return nil
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := db.q(ctx).ExecContext(ctx, db.dialect.rebind(query), args...)
	return r, mapErr(err)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := db.q(ctx).QueryContext(ctx, db.dialect.rebind(query), args...)
	return rows, mapErr(err)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.q(ctx).QueryRowContext(ctx, db.dialect.rebind(query), args...)
}

// affected returns NotFound when an update or delete touched no row.
func affected(r sql.Result) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return mapErr(sql.ErrNoRows)
	}
	return nil
}

// micros stores a time as microseconds since the epoch; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros, in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }
