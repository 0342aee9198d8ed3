-- What validating plugins warned about when they accepted a manifest (lenient modes),
-- written in the same transaction as the manifest; the latest push's verdict counts.
CREATE TABLE validation_warnings (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    plugin      TEXT NOT NULL,
    warnings    TEXT NOT NULL,
    total       INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, plugin)
) WITHOUT ROWID;
