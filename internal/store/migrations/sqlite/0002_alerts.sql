-- SPDX-License-Identifier: Apache-2.0
-- Alerts: detections grouped by tenant, rule, host and user; the events each
-- links; its triage history; and rule exclusions ("suppress similar", rule
-- tuning) with hit counters. Times are BIGINT microseconds (ADR 0003); tags,
-- key fields and conditions are JSON text; search_text is the lower-cased
-- text the queue's free-text filter looks in.

-- +goose Up
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    rule_id      TEXT    NOT NULL,
    rule_title   TEXT    NOT NULL,
    level        TEXT    NOT NULL,
    tags         TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    search_text  TEXT    NOT NULL,
    first_seen   BIGINT  NOT NULL,
    last_seen    BIGINT  NOT NULL,
    detections   BIGINT  NOT NULL,
    event_refs   INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    state_reason TEXT    NOT NULL DEFAULT '',
    assignee_id  BIGINT  NOT NULL DEFAULT 0,
    version      BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
-- Grouping looks up the open alert of a group by its latest detection.
CREATE INDEX alerts_group ON alerts (tenant, rule_id, host, user_name, last_seen);
-- The queue lists newest first (id) under its filters.
CREATE INDEX alerts_state ON alerts (tenant, state, id);
CREATE INDEX alerts_level ON alerts (tenant, level, id);
CREATE INDEX alerts_rule ON alerts (rule_id, id);
CREATE INDEX alerts_host ON alerts (host, id);
CREATE INDEX alerts_user ON alerts (user_name, id);
CREATE INDEX alerts_assignee ON alerts (assignee_id, id);
CREATE INDEX alerts_last_seen ON alerts (last_seen);

CREATE TABLE alert_events (
    alert_id BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    event_id TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (alert_id, event_id)
);

CREATE TABLE alert_history (
    id         INTEGER PRIMARY KEY,
    alert_id   BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    actor_id   BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    from_value TEXT   NOT NULL,
    to_value   TEXT   NOT NULL,
    reason     TEXT   NOT NULL
);
CREATE INDEX alert_history_alert_id ON alert_history (alert_id, id);

CREATE TABLE rule_exclusions (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT   NOT NULL,
    rule_id    TEXT   NOT NULL,
    conditions TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    author     TEXT   NOT NULL,
    alert_id   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL DEFAULT 0,
    hits       BIGINT NOT NULL DEFAULT 0,
    last_hit   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX rule_exclusions_rule_id ON rule_exclusions (rule_id);

-- +goose Down
DROP TABLE rule_exclusions;
DROP TABLE alert_history;
DROP TABLE alert_events;
DROP TABLE alerts;
