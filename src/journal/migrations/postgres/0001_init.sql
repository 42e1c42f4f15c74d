-- Comptoir journal, PostgreSQL. Times are Unix epoch milliseconds.
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT,
    partner TEXT,
    format TEXT,
    document_type TEXT,
    business_keys TEXT,
    sender TEXT,
    interchange_ref TEXT,
    content_hash TEXT NOT NULL,
    raw BYTEA NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    canonical_json TEXT,
    priced_json TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    duplicate_of BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_pending ON messages (next_attempt_at, id)
    WHERE state IN ('received', 'parsed', 'mapped', 'priced', 'failed');
CREATE INDEX messages_state ON messages (state, id);
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX events_message ON events (message_id, id);
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL,
    sink TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX deliveries_message ON deliveries (message_id, id);
CREATE TABLE dedup_keys (
    key TEXT PRIMARY KEY,
    message_id BIGINT NOT NULL
);
