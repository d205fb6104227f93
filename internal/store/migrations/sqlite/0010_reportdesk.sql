-- SPDX-License-Identifier: Apache-2.0
-- The employee report desk (報告窓口): reports employees send, their per-year
-- reference counter, and their attachments, whose content lives in the
-- evidence content store by SHA-256. Times are BIGINT microseconds
-- (ADR 0003), 0 for "not yet". reporter_id and handler_id are 0 for "none"
-- (an anonymous report; nobody took it yet). token_hash is the SHA-256 of an
-- anonymous report's status token, '' for the others. An attachment's
-- evidence_id is the evidence item it became when an incident was opened.

-- +goose Up
CREATE TABLE desk_report_counters (
    tenant      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    last_number BIGINT  NOT NULL,
    PRIMARY KEY (tenant, year)
);

CREATE TABLE desk_reports (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT   NOT NULL,
    ref          TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    what         TEXT   NOT NULL,
    when_text    TEXT   NOT NULL DEFAULT '',
    where_text   TEXT   NOT NULL DEFAULT '',
    contact      TEXT   NOT NULL DEFAULT '',
    reporter_id  BIGINT NOT NULL DEFAULT 0,
    reporter     TEXT   NOT NULL DEFAULT '',
    token_hash   TEXT   NOT NULL DEFAULT '',
    status       TEXT   NOT NULL,
    handler_id   BIGINT NOT NULL DEFAULT 0,
    handler      TEXT   NOT NULL DEFAULT '',
    note         TEXT   NOT NULL DEFAULT '',
    incident_id  BIGINT REFERENCES incidents (id),
    incident_ref TEXT   NOT NULL DEFAULT '',
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    decided_at   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant, ref)
);
CREATE UNIQUE INDEX desk_reports_token ON desk_reports (token_hash) WHERE token_hash <> '';
CREATE INDEX desk_reports_reporter ON desk_reports (tenant, reporter_id, id);
CREATE INDEX desk_reports_status ON desk_reports (tenant, status, id);

CREATE TABLE desk_report_attachments (
    id          INTEGER PRIMARY KEY,
    report_id   BIGINT NOT NULL REFERENCES desk_reports (id),
    name        TEXT   NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT   NOT NULL,
    sha1        TEXT   NOT NULL,
    md5         TEXT   NOT NULL,
    evidence_id BIGINT REFERENCES evidence (id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX desk_report_attachments_report ON desk_report_attachments (report_id, id);
-- Removing content asks whether a report still holds it.
CREATE INDEX desk_report_attachments_sha256 ON desk_report_attachments (sha256);

-- +goose Down
DROP TABLE desk_report_attachments;
DROP TABLE desk_reports;
DROP TABLE desk_report_counters;
