-- SPDX-License-Identifier: Apache-2.0
-- Rule settings: a rule turned off (or back on) by a person in the web UI,
-- with who, when and why. Rules are files, not rows: a setting names a rule
-- by its Sigma id and outlives the rule's file, so a pack imported again
-- keeps its tuning. updated_at is BIGINT microseconds (ADR 0003).

-- +goose Up
CREATE TABLE rule_settings (
    rule_id    TEXT    NOT NULL PRIMARY KEY,
    enabled    BOOLEAN NOT NULL,
    reason     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    actor_id   BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE rule_settings;
