-- Canonical and priced JSON stored LZ4-compressed (block format, the
-- uncompressed length first as a little-endian u32): about 8 times
-- smaller, which is most of what a commit writes. Rows written before
-- this migration keep their text columns; readers take either.
ALTER TABLE messages ADD COLUMN canonical_z BLOB;
ALTER TABLE messages ADD COLUMN priced_z BLOB;
