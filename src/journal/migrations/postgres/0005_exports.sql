-- Documents read from the ERP and sent to partners (see src/exports).
-- One row per (export, key): the key names the ERP record and what was
-- made of it, so each record is sent once. The bytes are kept so a resend
-- after a crash is the same interchange.
CREATE TABLE exports (
    id BIGSERIAL PRIMARY KEY,
    export TEXT NOT NULL,
    key TEXT NOT NULL,
    partner TEXT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    file_name TEXT,
    bytes BYTEA,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (export, key)
);
CREATE INDEX exports_state ON exports (state, id);
-- Per export and document kind: the ERP time (naive UTC, Odoo's
-- `write_date` format) from which the next pass reads changed records.
CREATE TABLE export_watermarks (
    export TEXT NOT NULL,
    kind TEXT NOT NULL,
    since TEXT NOT NULL,
    PRIMARY KEY (export, kind)
);
