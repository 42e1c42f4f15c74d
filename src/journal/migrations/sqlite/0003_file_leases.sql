-- File leases: a file of a directory or SFTP source is taken by one daemon
-- instance at a time. Keyed by source, file name, size and modification
-- time; held by an owner (instance id) until it expires.
CREATE TABLE file_leases (
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime BIGINT NOT NULL,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (source, name, size, mtime)
);
CREATE INDEX file_leases_owner ON file_leases (owner);
