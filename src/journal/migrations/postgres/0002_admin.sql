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
SELECT k, id FROM messages, unnest(string_to_array(business_keys, ',')) AS k
WHERE business_keys IS NOT NULL AND k <> '';
