-- Indexes for the admin API's keyset pagination and filters, and a table
-- of business keys (order / invoice numbers) for exact look-ups.
CREATE INDEX messages_received ON messages (received_at, id);
CREATE INDEX messages_partner_received ON messages (partner, received_at, id);
CREATE INDEX messages_state_received ON messages (state, received_at, id);
CREATE INDEX messages_interchange_ref ON messages (interchange_ref);
CREATE TABLE message_keys (
    key TEXT NOT NULL,
    message_id BIGINT NOT NULL
);
CREATE INDEX message_keys_key ON message_keys (key, message_id);
CREATE INDEX message_keys_message ON message_keys (message_id);
INSERT INTO message_keys (key, message_id)
WITH RECURSIVE split(id, key, rest) AS (
    SELECT id, '', business_keys || ',' FROM messages WHERE business_keys IS NOT NULL
    UNION ALL
    SELECT id, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1)
    FROM split WHERE rest <> ''
)
SELECT key, id FROM split WHERE key <> '';
