-- What plugins said about manifests: display documents, searchable facets, and the
-- state of each (manifest, plugin) indexing job.
CREATE TABLE documents (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    plugin      TEXT NOT NULL,
    json        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, plugin)
) WITHOUT ROWID;

-- A facet describes the manifest `digest` in `repository_id` (the indexed manifest
-- itself, or its subject); `source_id` is the manifest whose indexing said so.
CREATE TABLE facets (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT NOT NULL,
    source_id     INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    plugin        TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL
);
CREATE INDEX facets_name_value ON facets(name, value);
CREATE INDEX facets_target ON facets(repository_id, digest);
CREATE INDEX facets_source ON facets(source_id, plugin);

CREATE TABLE index_jobs (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    plugin      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('done', 'failed')),
    error       TEXT,
    attempts    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, plugin)
) WITHOUT ROWID;
CREATE INDEX index_jobs_failed ON index_jobs(state, updated_at) WHERE state = 'failed';
