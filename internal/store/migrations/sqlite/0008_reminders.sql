-- SPDX-License-Identifier: Apache-2.0
-- E-mail reminders of incident clocks (deadlines), one row per reminder and
-- recipient: the incident, the clock's kind and due time, how long before
-- the due time the reminder goes out (lead_us, 0 at the due time) and the
-- user. A node claims a row before sending (claimed_at) and marks it sent
-- after the mail server accepted it (sent_at); a failed send deletes the
-- unsent row, so the next run tries again. The primary key makes each
-- reminder go out once, across restarts and nodes. Times and the lead are
-- BIGINT microseconds (ADR 0003), 0 for "not yet".

-- +goose Up
CREATE TABLE incident_reminders (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    kind        TEXT   NOT NULL,
    due_at      BIGINT NOT NULL,
    lead_us     BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (incident_id, kind, due_at, lead_us, user_id)
);

-- +goose Down
DROP TABLE incident_reminders;
