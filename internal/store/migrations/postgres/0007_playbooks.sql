-- SPDX-License-Identifier: Apache-2.0
-- Custom playbooks: copies of playbooks that admins edited, kept as the YAML
-- text they wrote (comments included), which validated when it was saved.
-- A custom playbook with a built-in playbook's id replaces it while enabled
-- (incident/playbook_custom.go). version counts changes, for optimistic
-- locking. Times are BIGINT microseconds (ADR 0003).

-- +goose Up
CREATE TABLE custom_playbooks (
    id            TEXT    NOT NULL PRIMARY KEY,
    source        TEXT    NOT NULL,
    copied_from   TEXT    NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    version       BIGINT  NOT NULL,
    created_by    TEXT    NOT NULL,
    created_by_id BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_by    TEXT    NOT NULL,
    updated_by_id BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE custom_playbooks;
