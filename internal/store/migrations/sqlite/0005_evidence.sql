-- SPDX-License-Identifier: Apache-2.0
-- The evidence locker: files attached to incidents, stored by SHA-256 in the
-- content store (<data_dir>/evidence), and each item's chain of custody.
-- Times are BIGINT microseconds (ADR 0003), 0 for "none".
--
-- An item's facts (incident, name, type, size, digests, description, who
-- collected it, from where, when, who uploaded it) never change: a trigger
-- refuses any UPDATE that names them, and rows are never deleted. Only its
-- state changes: custodian, legal hold, retention date, disposal. Custody
-- entries are append-only, like the audit trail.
--
-- An incident with evidence cannot be deleted: the key has no cascade, and
-- evidence rows refuse deletion anyway.

-- +goose Up
CREATE TABLE evidence (
    id             INTEGER PRIMARY KEY,
    incident_id    BIGINT  NOT NULL REFERENCES incidents (id),
    name           TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    size           BIGINT  NOT NULL,
    sha256         TEXT    NOT NULL,
    sha1           TEXT    NOT NULL,
    md5            TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    collected_by   TEXT    NOT NULL,
    collected_from TEXT    NOT NULL,
    collected_at   BIGINT  NOT NULL,
    uploaded_by    TEXT    NOT NULL,
    uploaded_by_id BIGINT  NOT NULL DEFAULT 0,
    uploaded_at    BIGINT  NOT NULL,
    custodian      TEXT    NOT NULL,
    hold           BOOLEAN NOT NULL DEFAULT FALSE,
    hold_by        TEXT    NOT NULL DEFAULT '',
    hold_by_id     BIGINT  NOT NULL DEFAULT 0,
    hold_at        BIGINT  NOT NULL DEFAULT 0,
    hold_reason    TEXT    NOT NULL DEFAULT '',
    retain_until   BIGINT  NOT NULL,
    disposed_at    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX evidence_incident ON evidence (incident_id, id);
-- Disposal and failed uploads ask whether other kept items share content.
CREATE INDEX evidence_sha256 ON evidence (sha256, disposed_at);

CREATE TABLE evidence_custody (
    id          INTEGER PRIMARY KEY,
    evidence_id BIGINT  NOT NULL REFERENCES evidence (id),
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    actor_id    BIGINT  NOT NULL DEFAULT 0,
    action      TEXT    NOT NULL,
    from_party  TEXT    NOT NULL DEFAULT '',
    to_party    TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX evidence_custody_evidence ON evidence_custody (evidence_id, id);

-- +goose StatementBegin
CREATE TRIGGER evidence_facts_fixed BEFORE UPDATE OF id, incident_id, name, content_type, size, sha256, sha1, md5,
    description, collected_by, collected_from, collected_at, uploaded_by, uploaded_by_id, uploaded_at ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence facts never change');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is never deleted');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER evidence_custody_no_update BEFORE UPDATE ON evidence_custody
BEGIN
    SELECT RAISE(ABORT, 'evidence_custody is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER evidence_custody_no_delete BEFORE DELETE ON evidence_custody
BEGIN
    SELECT RAISE(ABORT, 'evidence_custody is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER evidence_custody_no_delete;
DROP TRIGGER evidence_custody_no_update;
DROP TRIGGER evidence_no_delete;
DROP TRIGGER evidence_facts_fixed;
DROP TABLE evidence_custody;
DROP TABLE evidence;
