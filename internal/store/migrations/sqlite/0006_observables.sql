-- SPDX-License-Identifier: Apache-2.0
-- Incidents' observables and the alerts incidents were made from. Times are
-- BIGINT microseconds (ADR 0003).
--
-- An incident keeps an observable once per kind and value. value_hash is
-- the hex SHA-256 of the value: values reach 4096 bytes, too long for a
-- PostgreSQL B-tree key, so uniqueness and the lookup of incidents sharing
-- an observable go through the hash.
--
-- incident_alerts keeps a snapshot of each alert (title, level, host, first
-- detection) as it was when taken in; alert ids are not foreign keys, so
-- that alert retention never touches incidents.

-- +goose Up
CREATE TABLE incident_observables (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    value_hash  TEXT    NOT NULL,
    ioc         BOOLEAN NOT NULL DEFAULT FALSE,
    source      TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    added_by_id BIGINT  NOT NULL DEFAULT 0,
    added_by    TEXT    NOT NULL,
    added_at    BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (incident_id, kind, value_hash)
);
-- Incidents sharing an observable.
CREATE INDEX incident_observables_value ON incident_observables (kind, value_hash, incident_id);

CREATE TABLE incident_alerts (
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    alert_id    BIGINT NOT NULL,
    title       TEXT   NOT NULL,
    level       TEXT   NOT NULL,
    host        TEXT   NOT NULL,
    first_seen  BIGINT NOT NULL,
    added_at    BIGINT NOT NULL,
    added_by_id BIGINT NOT NULL DEFAULT 0,
    added_by    TEXT   NOT NULL,
    PRIMARY KEY (incident_id, alert_id)
);
CREATE INDEX incident_alerts_alert ON incident_alerts (alert_id);

-- +goose Down
DROP TABLE incident_alerts;
DROP TABLE incident_observables;
