-- SPDX-License-Identifier: Apache-2.0
-- Users, sessions, API tokens, sign-in throttling and the hash-chained audit
-- trail. Times are BIGINT microseconds since the Unix epoch, UTC (ADR 0003).

-- +goose Up
CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL DEFAULT '',
    email                TEXT    NOT NULL DEFAULT '',
    role                 TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret          TEXT    NOT NULL DEFAULT '',
    totp_pending         TEXT    NOT NULL DEFAULT '',
    totp_last_step       BIGINT  NOT NULL DEFAULT 0,
    lang                 TEXT    NOT NULL DEFAULT '',
    time_zone            TEXT    NOT NULL DEFAULT '',
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    password_changed_at  BIGINT  NOT NULL
);

CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mfa_pending  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT   NOT NULL,
    hint         TEXT   NOT NULL,
    hash         TEXT   NOT NULL UNIQUE,
    role         TEXT   NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    last_used_ip TEXT   NOT NULL DEFAULT '',
    last_audited_at BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE signin_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT  NOT NULL,
    locked_until BIGINT  NOT NULL
);

CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    via          TEXT   NOT NULL,
    token_id     BIGINT NOT NULL,
    ip           TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    object       TEXT   NOT NULL,
    before_state TEXT   NOT NULL,
    after_state  TEXT   NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object);
CREATE INDEX audit_log_actor_id ON audit_log (actor_id);

-- The chain's head: the last sequence number and hash, updated with every
-- append (the row lock also serialises appenders on PostgreSQL).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- The audit trail is append-only for koban; editing it needs dropping these
-- first, and `koban audit verify` notices the edit anyway.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE signin_throttle;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
