-- SPDX-License-Identifier: Apache-2.0
-- Contacts, the communication log and report drafts (internal/comms).
-- Times are BIGINT microseconds (ADR 0003), 0 for "none". A message's or a
-- send's contact_id is 0 when the other party is not in the directory.
-- A report draft's fields are JSON text: [{key, value, prefill, suggested}].

-- +goose Up
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    organisation TEXT   NOT NULL DEFAULT '',
    kind         TEXT   NOT NULL,
    email        TEXT   NOT NULL DEFAULT '',
    phone        TEXT   NOT NULL DEFAULT '',
    notes        TEXT   NOT NULL DEFAULT '',
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant, organisation, name);

-- A tenant's directory is seeded with the public bodies once.
CREATE TABLE contact_seeds (
    tenant    TEXT   PRIMARY KEY,
    seeded_at BIGINT NOT NULL
);

CREATE TABLE incident_contacts (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    contact_id  BIGINT NOT NULL REFERENCES contacts (id),
    role        TEXT   NOT NULL DEFAULT '',
    added_at    BIGINT NOT NULL,
    added_by_id BIGINT NOT NULL DEFAULT 0,
    added_by    TEXT   NOT NULL,
    PRIMARY KEY (incident_id, contact_id)
);

CREATE TABLE comms_messages (
    id             INTEGER PRIMARY KEY,
    incident_id    BIGINT NOT NULL REFERENCES incidents (id),
    direction      TEXT   NOT NULL,
    channel        TEXT   NOT NULL,
    contact_id     BIGINT NOT NULL DEFAULT 0,
    party          TEXT   NOT NULL DEFAULT '',
    subject        TEXT   NOT NULL,
    body           TEXT   NOT NULL DEFAULT '',
    template       TEXT   NOT NULL DEFAULT '',
    lang           TEXT   NOT NULL DEFAULT '',
    status         TEXT   NOT NULL,
    at             BIGINT NOT NULL DEFAULT 0,
    author_id      BIGINT NOT NULL DEFAULT 0,
    author         TEXT   NOT NULL,
    submitted_at   BIGINT NOT NULL DEFAULT 0,
    approved_at    BIGINT NOT NULL DEFAULT 0,
    approved_by_id BIGINT NOT NULL DEFAULT 0,
    approved_by    TEXT   NOT NULL DEFAULT '',
    return_reason  TEXT   NOT NULL DEFAULT '',
    released_at    BIGINT NOT NULL DEFAULT 0,
    released_by_id BIGINT NOT NULL DEFAULT 0,
    released_by    TEXT   NOT NULL DEFAULT '',
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX comms_messages_incident ON comms_messages (incident_id, id);

CREATE TABLE report_drafts (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    kind        TEXT   NOT NULL,
    stage       TEXT   NOT NULL DEFAULT '',
    lang        TEXT   NOT NULL,
    fields      TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT   NOT NULL
);
CREATE INDEX report_drafts_incident ON report_drafts (incident_id, id);

-- The sent log is append-only: what went to a regulator stays recorded.
CREATE TABLE report_sends (
    id          INTEGER PRIMARY KEY,
    report_id   BIGINT NOT NULL REFERENCES report_drafts (id),
    contact_id  BIGINT NOT NULL DEFAULT 0,
    to_party    TEXT   NOT NULL,
    channel     TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    reference   TEXT   NOT NULL DEFAULT '',
    note        TEXT   NOT NULL DEFAULT '',
    by_id       BIGINT NOT NULL DEFAULT 0,
    by_name     TEXT   NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX report_sends_report ON report_sends (report_id, id);

-- +goose StatementBegin
CREATE TRIGGER report_sends_no_update BEFORE UPDATE ON report_sends
BEGIN
    SELECT RAISE(ABORT, 'report_sends is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER report_sends_no_delete BEFORE DELETE ON report_sends
BEGIN
    SELECT RAISE(ABORT, 'report_sends is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER report_sends_no_delete;
DROP TRIGGER report_sends_no_update;
DROP TABLE report_sends;
DROP TABLE report_drafts;
DROP TABLE comms_messages;
DROP TABLE incident_contacts;
DROP TABLE contact_seeds;
DROP TABLE contacts;
