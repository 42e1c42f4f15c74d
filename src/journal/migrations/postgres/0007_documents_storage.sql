-- The packed documents are LZ4-compressed already: stored out of line
-- without PostgreSQL trying to compress them again (`pglz` on
-- incompressible bytes cost 8 % of the server's CPU time in the daemon
-- bench). Applies to rows written from now on; nothing is rewritten.
ALTER TABLE messages
    ALTER COLUMN canonical_z SET STORAGE EXTERNAL,
    ALTER COLUMN priced_z SET STORAGE EXTERNAL;
