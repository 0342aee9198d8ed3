-- Plugin switches set at run time (`arca plugin enable/disable`), shared by every replica;
-- they override the configuration's `enabled`.
CREATE TABLE plugin_state (
    name       TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
