-- SPDX-License-Identifier: Apache-2.0
-- Incidents: the case record, its per-year reference counter, its
-- assignees (rows, for the list's filter), tasks, timeline, links between
-- incidents, the post-incident review and its prevention actions. Times are
-- BIGINT microseconds (ADR 0003), 0 for "not yet". Lists (affected assets
-- and users, techniques, tags, flags, assignees, checklists, whys) and the
-- severity assessment are JSON text; custom fields are [name, value] pairs;
-- search_text is the lower-cased text the list's free-text filter looks in.

-- +goose Up
CREATE TABLE incident_counters (
    tenant      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    last_number BIGINT  NOT NULL,
    PRIMARY KEY (tenant, year)
);

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    tenant            TEXT   NOT NULL,
    ref               TEXT   NOT NULL,
    title             TEXT   NOT NULL,
    description       TEXT   NOT NULL,
    type              TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    status_reason     TEXT   NOT NULL DEFAULT '',
    phase             TEXT   NOT NULL,
    resolution        TEXT   NOT NULL DEFAULT '',
    summary           TEXT   NOT NULL DEFAULT '',
    severity          TEXT   NOT NULL DEFAULT '',
    assessment        TEXT   NOT NULL DEFAULT '',
    override_severity TEXT   NOT NULL DEFAULT '',
    override_reason   TEXT   NOT NULL DEFAULT '',
    override_by_id    BIGINT NOT NULL DEFAULT 0,
    override_by       TEXT   NOT NULL DEFAULT '',
    override_at       BIGINT NOT NULL DEFAULT 0,
    assignees         TEXT   NOT NULL,
    affected_assets   TEXT   NOT NULL,
    affected_users    TEXT   NOT NULL,
    techniques        TEXT   NOT NULL,
    fields            TEXT   NOT NULL,
    tags              TEXT   NOT NULL,
    flags             TEXT   NOT NULL,
    detected_at       BIGINT NOT NULL,
    aware_at          BIGINT NOT NULL,
    acknowledged_at   BIGINT NOT NULL DEFAULT 0,
    contained_at      BIGINT NOT NULL DEFAULT 0,
    resolved_at       BIGINT NOT NULL DEFAULT 0,
    closed_at         BIGINT NOT NULL DEFAULT 0,
    created_by_id     BIGINT NOT NULL DEFAULT 0,
    created_by        TEXT   NOT NULL,
    search_text       TEXT   NOT NULL,
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (tenant, ref)
);
-- The list shows newest first (id) under its filters.
CREATE INDEX incidents_status ON incidents (tenant, status, id);
CREATE INDEX incidents_phase ON incidents (tenant, phase, id);
CREATE INDEX incidents_type ON incidents (tenant, type, id);
CREATE INDEX incidents_severity ON incidents (tenant, severity, id);

CREATE TABLE incident_assignees (
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_assignees_user ON incident_assignees (user_id, incident_id);

CREATE TABLE incident_tasks (
    id            INTEGER PRIMARY KEY,
    incident_id   BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    why           TEXT    NOT NULL,
    phase         TEXT    NOT NULL,
    owner_id      BIGINT  NOT NULL DEFAULT 0,
    owner_role    TEXT    NOT NULL DEFAULT '',
    due_at        BIGINT  NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    status_reason TEXT    NOT NULL DEFAULT '',
    checklist     TEXT    NOT NULL,
    required      BOOLEAN NOT NULL,
    playbook_id   TEXT    NOT NULL DEFAULT '',
    playbook_task TEXT    NOT NULL DEFAULT '',
    version       BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    done_at       BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX incident_tasks_incident ON incident_tasks (incident_id, id);
-- Overdue tasks across incidents: open ones by due time.
CREATE INDEX incident_tasks_due ON incident_tasks (status, due_at);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    recorded_at BIGINT  NOT NULL,
    author_id   BIGINT  NOT NULL DEFAULT 0,
    author      TEXT    NOT NULL,
    manual      BOOLEAN NOT NULL,
    msg         TEXT    NOT NULL DEFAULT '',
    args        TEXT    NOT NULL DEFAULT '[]',
    text        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, id);

CREATE TABLE incident_links (
    from_id    BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    to_id      BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    author_id  BIGINT NOT NULL DEFAULT 0,
    author     TEXT   NOT NULL,
    PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX incident_links_to ON incident_links (to_id);

CREATE TABLE incident_reviews (
    incident_id  BIGINT NOT NULL PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    cause        TEXT   NOT NULL,
    cause_text   TEXT   NOT NULL,
    whys         TEXT   NOT NULL,
    went_well    TEXT   NOT NULL,
    went_badly   TEXT   NOT NULL,
    completed_at BIGINT NOT NULL DEFAULT 0,
    completed_by TEXT   NOT NULL DEFAULT '',
    version      BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT   NOT NULL
);

CREATE TABLE incident_actions (
    id            INTEGER PRIMARY KEY,
    incident_id   BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title         TEXT   NOT NULL,
    owner_id      BIGINT NOT NULL DEFAULT 0,
    owner_role    TEXT   NOT NULL DEFAULT '',
    due_at        BIGINT NOT NULL DEFAULT 0,
    status        TEXT   NOT NULL,
    status_reason TEXT   NOT NULL DEFAULT '',
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    done_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incident_actions_incident ON incident_actions (incident_id, id);
-- Open prevention actions across incidents, by due time.
CREATE INDEX incident_actions_due ON incident_actions (status, due_at);

-- +goose Down
DROP TABLE incident_actions;
DROP TABLE incident_reviews;
DROP TABLE incident_links;
DROP TABLE incident_timeline;
DROP TABLE incident_tasks;
DROP TABLE incident_assignees;
DROP TABLE incidents;
DROP TABLE incident_counters;
