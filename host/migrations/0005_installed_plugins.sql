-- Plugins installed at run time from OCI references (`arca plugin install`), shared by
-- every replica. The component itself is a blob in the blob store, under `component`.
CREATE TABLE installed_plugins (
    name         TEXT PRIMARY KEY,
    reference    TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    component    TEXT NOT NULL,
    installed_at INTEGER NOT NULL
) WITHOUT ROWID;
