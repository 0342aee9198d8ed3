//! The SQLite metadata store: one writer connection (SQLite serialises writers anyway)
//! and a small pool of readers, in WAL mode with `synchronous = FULL` so an acknowledged
//! write survives a crash. Reads run on the blocking thread pool.
//!
//! Writes go to one writer thread that commits them in groups: it takes every write that
//! is waiting, runs each in its own savepoint (a failing one rolls back alone), commits the
//! group with a single fsync, and only then answers each caller. Under concurrent pushes
//! this turns N fsyncs into one without acknowledging anything that is not durable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    DocumentRow, FacetMatch, FacetScope, IndexResult, InstalledPlugin, ManifestRecord, ManifestRef,
    MetaError, MetaResult, MetadataStore, NewManifest, Page, PutOutcome, Reference, Referrer,
    SearchHit, SearchQuery, UploadRecord, ViewDocument, now,
};
use rusqlite::types::Value as Sql;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_plugins.sql"),
    include_str!("../../migrations/0003_plugin_state.sql"),
    include_str!("../../migrations/0004_validation_warnings.sql"),
    include_str!("../../migrations/0005_installed_plugins.sql"),
    include_str!("../../migrations/0006_facets_by_name.sql"),
];

impl From<rusqlite::Error> for MetaError {
    fn from(e: rusqlite::Error) -> Self {
        MetaError(e.to_string())
    }
}

/// Most writes committed together.
const MAX_GROUP: usize = 128;

/// Runs one write on the writer connection inside its savepoint, and returns what to do
/// once the group's commit is known (`Err` when the commit failed).
type WriteJob =
    Box<dyn FnOnce(&mut Connection) -> Box<dyn FnOnce(Result<(), String>) + Send> + Send>;

struct Inner {
    path: PathBuf,
    writes: Mutex<mpsc::Sender<WriteJob>>,
    readers: Mutex<Vec<Connection>>,
    max_readers: usize,
}

/// The writer thread: group commit, one savepoint per write.
fn writer_loop(mut conn: Connection, jobs: mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Run each alone, in autocommit mode: its savepoint is then its transaction.
            tracing::warn!(error = %e, "starting a write group failed; writing one by one");
            for job in group {
                let done = job(&mut conn);
                done(Ok(()));
            }
            continue;
        }
        let done: Vec<_> = group.into_iter().map(|job| job(&mut conn)).collect();
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            format!("commit failed: {e}")
        });
        for d in done {
            d(committed.clone());
        }
    }
}

/// Metadata in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Open (creating and migrating) the database at `path`.
    pub fn open(path: impl Into<PathBuf>, max_readers: usize) -> MetaResult<Self> {
        let path = path.into();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| MetaError(e.to_string()))?;
        }
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("arca-sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| MetaError(e.to_string()))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writes: Mutex::new(tx),
                readers: Mutex::new(Vec::new()),
                max_readers: max_readers.max(1),
            }),
        })
    }

    async fn read<T, F>(&self, f: F) -> MetaResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path)?,
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < inner.max_readers {
                pool.push(conn);
            }
            Ok(out?)
        })
        .await
        .map_err(|e| MetaError(e.to_string()))?
    }

    async fn write<T, F>(&self, f: F) -> MetaResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<MetaResult<T>>();
        let job: WriteJob = Box::new(move |conn: &mut Connection| {
            let result = run_in_savepoint(conn, f);
            Box::new(move |committed: Result<(), String>| {
                let out = match (result, committed) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(MetaError(e)),
                };
                let _ = answer.send(out);
            })
        });
        self.inner
            .writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| MetaError("the metadata writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| MetaError("the metadata writer dropped a write".into()))?
    }
}

/// Run one write in a savepoint of the group's transaction: kept if it succeeds, rolled
/// back alone if it fails or panics.
fn run_in_savepoint<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> MetaResult<T> {
    conn.execute_batch("SAVEPOINT arca_write")?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    match result {
        Ok(Ok(v)) => {
            conn.execute_batch("RELEASE arca_write")?;
            Ok(v)
        }
        Ok(Err(e)) => {
            let _ = conn.execute_batch("ROLLBACK TO arca_write; RELEASE arca_write");
            Err(e.into())
        }
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK TO arca_write; RELEASE arca_write");
            Err(MetaError("a metadata write panicked".into()))
        }
    }
}

/// Replace what `plugin` said about the manifest `id` (`digest` in repository `repo`).
fn write_index(
    tx: &Connection,
    id: i64,
    repo: i64,
    digest: &str,
    manifest_subject: Option<String>,
    plugin: &str,
    result: IndexResult,
) -> rusqlite::Result<()> {
    let t = now();
    tx.execute(
        "DELETE FROM documents WHERE manifest_id = ?1 AND plugin = ?2",
        params![id, plugin],
    )?;
    tx.execute(
        "DELETE FROM facets WHERE source_id = ?1 AND plugin = ?2",
        params![id, plugin],
    )?;
    let (state, error) = match result {
        IndexResult::Failed(e) => ("failed", Some(e)),
        IndexResult::Done(None) => ("done", None),
        IndexResult::Done(Some(doc)) => {
            tx.execute(
                "INSERT INTO documents (manifest_id, plugin, json, updated_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, plugin, doc.json, t],
            )?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO facets (repository_id, digest, source_id, plugin, name, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (name, value) in &doc.facets {
                ins.execute(params![repo, digest, id, plugin, name, value])?;
            }
            if let Some(subject) = doc.subject.or(manifest_subject) {
                for (name, value) in &doc.subject_facets {
                    ins.execute(params![repo, subject, id, plugin, name, value])?;
                }
            }
            ("done", None)
        }
    };
    tx.execute(
        "INSERT INTO index_jobs (manifest_id, plugin, state, error, attempts, updated_at)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)
         ON CONFLICT (manifest_id, plugin) DO UPDATE SET state = excluded.state,
           error = excluded.error, attempts = index_jobs.attempts + 1, updated_at = excluded.updated_at",
        params![id, plugin, state, error, t],
    )?;
    Ok(())
}

fn repository_id(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT id FROM repositories WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
}

fn ensure_repository(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO repositories (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now()],
    )?;
    conn.query_row("SELECT id FROM repositories WHERE name = ?1", [name], |r| {
        r.get(0)
    })
}

/// SQL true when `name` (a column) lies under the path prefix `?N` (empty matches all).
fn under_prefix(column: &str, param: usize) -> String {
    format!(
        "(?{param} = '' OR {column} = ?{param} OR substr({column}, 1, length(?{param}) + 1) = ?{param} || '/')"
    )
}

fn manifest_id(c: &Connection, m: &ManifestRef) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT m.id FROM manifests m JOIN repositories r ON r.id = m.repository_id
         WHERE r.name = ?1 AND m.digest = ?2",
        params![m.repository, m.digest],
        |r| r.get(0),
    )
    .optional()
}

fn tags_of(c: &Connection, manifest_id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        c.prepare_cached("SELECT name FROM tags WHERE manifest_id = ?1 ORDER BY name")?;
    let rows = stmt.query_map([manifest_id], |r| r.get(0))?;
    rows.collect()
}

fn page(names: Vec<String>, n: u32) -> Page {
    let mut names = names;
    let more = names.len() > n as usize;
    names.truncate(n as usize);
    Page { names, more }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn repository_exists(&self, repository: &str) -> MetaResult<bool> {
        let name = repository.to_string();
        self.read(move |c| Ok(repository_id(c, &name)?.is_some()))
            .await
    }

    async fn link_blob(&self, repository: &str, digest: &str, size: u64) -> MetaResult<()> {
        let (name, digest) = (repository.to_string(), digest.to_string());
        self.write(move |c| {
            let tx = c.savepoint()?;
            let repo = ensure_repository(&tx, &name)?;
            let t = now();
            tx.execute(
                "INSERT INTO blobs (digest, size, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (digest) DO NOTHING",
                params![digest, size as i64, t],
            )?;
            tx.execute(
                "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![repo, digest, t],
            )?;
            tx.commit()
        })
        .await
    }

    async fn blob_in_repository(&self, repository: &str, digest: &str) -> MetaResult<Option<u64>> {
        let (name, digest) = (repository.to_string(), digest.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT b.size FROM repositories r
                 JOIN repository_blobs rb ON rb.repository_id = r.id
                 JOIN blobs b ON b.digest = rb.digest
                 WHERE r.name = ?1 AND rb.digest = ?2",
                params![name, digest],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|o| o.map(|s| s as u64))
        })
        .await
    }

    async fn unlink_blob(&self, repository: &str, digest: &str) -> MetaResult<bool> {
        let (name, digest) = (repository.to_string(), digest.to_string());
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM repository_blobs WHERE digest = ?2
                 AND repository_id = (SELECT id FROM repositories WHERE name = ?1)",
                params![name, digest],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_manifest(&self, m: NewManifest) -> MetaResult<PutOutcome> {
        self.write(move |c| {
            let tx = c.savepoint()?;
            let repo = ensure_repository(&tx, &m.repository)?;
            {
                let mut blob_q = tx.prepare_cached(
                    "SELECT 1 FROM repository_blobs WHERE repository_id = ?1 AND digest = ?2",
                )?;
                for d in &m.blobs {
                    if !blob_q.exists(params![repo, d])? {
                        return Ok(PutOutcome::MissingBlob(d.clone()));
                    }
                }
                let mut man_q = tx
                    .prepare_cached("SELECT 1 FROM manifests WHERE repository_id = ?1 AND digest = ?2")?;
                for d in &m.manifests {
                    if !man_q.exists(params![repo, d])? {
                        return Ok(PutOutcome::MissingManifest(d.clone()));
                    }
                }
            }
            let inserted = tx.execute(
                "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject,
                                        annotations, size, content, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (repository_id, digest) DO NOTHING",
                params![
                    repo,
                    m.digest,
                    m.media_type,
                    m.artifact_type,
                    m.subject,
                    m.annotations,
                    m.content.len() as i64,
                    &m.content[..],
                    now()
                ],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM manifests WHERE repository_id = ?1 AND digest = ?2",
                params![repo, m.digest],
                |r| r.get(0),
            )?;
            if inserted > 0 {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO manifest_references (manifest_id, digest, kind) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?;
                for d in &m.blobs {
                    ins.execute(params![id, d, "blob"])?;
                }
                for d in &m.manifests {
                    ins.execute(params![id, d, "manifest"])?;
                }
            }
            if !m.warnings.is_empty() || inserted == 0 {
                tx.execute("DELETE FROM validation_warnings WHERE manifest_id = ?1", [id])?;
            }
            for w in &m.warnings {
                tx.execute(
                    "INSERT INTO validation_warnings (manifest_id, plugin, warnings, total) VALUES (?1, ?2, ?3, ?4)",
                    params![id, w.plugin, w.warnings, w.total as i64],
                )?;
            }
            for (plugin, result) in m.index {
                write_index(&tx, id, repo, &m.digest, m.subject.clone(), &plugin, result)?;
            }
            if let Some(tag) = &m.tag {
                tx.execute(
                    "INSERT INTO tags (repository_id, name, manifest_id, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (repository_id, name)
                     DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at",
                    params![repo, tag, id, now()],
                )?;
            }
            tx.commit()?;
            Ok(PutOutcome::Stored)
        })
        .await
    }

    async fn get_manifest(
        &self,
        repository: &str,
        reference: Reference<'_>,
        with_content: bool,
    ) -> MetaResult<Option<ManifestRecord>> {
        let name = repository.to_string();
        let (by_tag, key) = match reference {
            Reference::Tag(t) => (true, t.to_string()),
            Reference::Digest(d) => (false, d.to_string()),
        };
        self.read(move |c| {
            let content_col = if with_content { "m.content" } else { "NULL" };
            let sql = if by_tag {
                format!(
                    "SELECT m.digest, m.media_type, m.size, {content_col} FROM repositories r
                     JOIN tags t ON t.repository_id = r.id
                     JOIN manifests m ON m.id = t.manifest_id
                     WHERE r.name = ?1 AND t.name = ?2"
                )
            } else {
                format!(
                    "SELECT m.digest, m.media_type, m.size, {content_col} FROM repositories r
                     JOIN manifests m ON m.repository_id = r.id
                     WHERE r.name = ?1 AND m.digest = ?2"
                )
            };
            let mut stmt = c.prepare_cached(&sql)?;
            stmt.query_row(params![name, key], |r| {
                Ok(ManifestRecord {
                    digest: r.get(0)?,
                    media_type: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    content: r.get::<_, Option<Vec<u8>>>(3)?.map(Bytes::from),
                })
            })
            .optional()
        })
        .await
    }

    async fn delete_manifest(&self, repository: &str, digest: &str) -> MetaResult<bool> {
        let (name, digest) = (repository.to_string(), digest.to_string());
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM manifests WHERE digest = ?2
                 AND repository_id = (SELECT id FROM repositories WHERE name = ?1)",
                params![name, digest],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_tag(&self, repository: &str, tag: &str) -> MetaResult<bool> {
        let (name, tag) = (repository.to_string(), tag.to_string());
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM tags WHERE name = ?2
                 AND repository_id = (SELECT id FROM repositories WHERE name = ?1)",
                params![name, tag],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn referrers(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> MetaResult<Vec<Referrer>> {
        let (name, subject) = (repository.to_string(), subject.to_string());
        let artifact_type = artifact_type.map(str::to_string);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
                 FROM repositories r JOIN manifests m ON m.repository_id = r.id
                 WHERE r.name = ?1 AND m.subject = ?2
                   AND (?3 IS NULL OR m.artifact_type = ?3)
                 ORDER BY m.created_at, m.digest",
            )?;
            let rows = stmt.query_map(params![name, subject, artifact_type], |r| {
                Ok(Referrer {
                    digest: r.get(0)?,
                    media_type: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    artifact_type: r.get(3)?,
                    annotations: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn tags(&self, repository: &str, last: Option<&str>, n: u32) -> MetaResult<Option<Page>> {
        let name = repository.to_string();
        // Every tag sorts after "": a plain `name > ?` lets SQLite seek the primary key, so
        // a page costs its size, not its position (an `OR ?2 IS NULL` scanned from the start).
        let last = last.unwrap_or("").to_string();
        self.read(move |c| {
            let Some(repo) = repository_id(c, &name)? else {
                return Ok(None);
            };
            let mut stmt = c.prepare_cached(
                "SELECT name FROM tags WHERE repository_id = ?1 AND name > ?2
                 ORDER BY name LIMIT ?3",
            )?;
            let names = stmt
                .query_map(params![repo, last, n as i64 + 1], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some(page(names, n)))
        })
        .await
    }

    async fn repositories(&self, last: Option<&str>, n: u32) -> MetaResult<Page> {
        let last = last.unwrap_or("").to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT name FROM repositories WHERE name > ?1 ORDER BY name LIMIT ?2",
            )?;
            let names = stmt
                .query_map(params![last, n as i64 + 1], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(page(names, n))
        })
        .await
    }

    async fn create_upload(&self, id: &str, repository: &str) -> MetaResult<()> {
        let (id, name) = (id.to_string(), repository.to_string());
        self.write(move |c| {
            let t = now();
            c.execute(
                "INSERT INTO upload_sessions (id, repository, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                params![id, name, t],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_upload(&self, id: &str) -> MetaResult<Option<UploadRecord>> {
        let id = id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT id, repository, updated_at FROM upload_sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok(UploadRecord {
                        id: r.get(0)?,
                        repository: r.get(1)?,
                        updated_at: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn touch_upload(&self, id: &str) -> MetaResult<()> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute(
                "UPDATE upload_sessions SET updated_at = ?2 WHERE id = ?1",
                params![id, now()],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_upload(&self, id: &str) -> MetaResult<()> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM upload_sessions WHERE id = ?1", [id])?;
            Ok(())
        })
        .await
    }

    async fn stale_uploads(&self, before: i64) -> MetaResult<Vec<String>> {
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT id FROM upload_sessions WHERE updated_at < ?1")?;
            let rows = stmt.query_map([before], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn store_index(
        &self,
        m: &ManifestRef,
        plugin: &str,
        result: IndexResult,
    ) -> MetaResult<()> {
        let (m, plugin) = (m.clone(), plugin.to_string());
        self.write(move |c| {
            let tx = c.savepoint()?;
            let row: Option<(i64, i64, Option<String>)> = tx
                .query_row(
                    "SELECT m.id, m.repository_id, m.subject FROM manifests m
                     JOIN repositories r ON r.id = m.repository_id WHERE r.name = ?1 AND m.digest = ?2",
                    params![m.repository, m.digest],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, repo, manifest_subject)) = row else {
                return Ok(());
            };
            write_index(&tx, id, repo, &m.digest, manifest_subject, &plugin, result)?;
            tx.commit()
        })
        .await
    }

    async fn plugin_switches(&self) -> MetaResult<Vec<(String, bool)>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT name, enabled FROM plugin_state ORDER BY name")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)))?;
            rows.collect()
        })
        .await
    }

    async fn set_plugin_switch(&self, name: &str, enabled: Option<bool>) -> MetaResult<()> {
        let name = name.to_string();
        self.write(move |c| {
            match enabled {
                Some(on) => c.execute(
                    "INSERT INTO plugin_state (name, enabled, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                    params![name, on as i64, now()],
                )?,
                None => c.execute("DELETE FROM plugin_state WHERE name = ?1", [name])?,
            };
            Ok(())
        })
        .await
    }

    async fn prune_index(&self, m: &ManifestRef, keep: &[String]) -> MetaResult<()> {
        let (m, keep) = (m.clone(), keep.to_vec());
        self.write(move |c| {
            let tx = c.savepoint()?;
            let Some(id) = manifest_id(&tx, &m)? else {
                return Ok(());
            };
            let present: Vec<String> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT plugin FROM index_jobs WHERE manifest_id = ?1
                     UNION SELECT plugin FROM facets WHERE source_id = ?1",
                )?;
                stmt.query_map([id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for plugin in present.iter().filter(|p| !keep.contains(p)) {
                for table in ["documents", "index_jobs"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE manifest_id = ?1 AND plugin = ?2"),
                        params![id, plugin],
                    )?;
                }
                tx.execute(
                    "DELETE FROM facets WHERE source_id = ?1 AND plugin = ?2",
                    params![id, plugin],
                )?;
            }
            tx.commit()
        })
        .await
    }

    async fn documents(&self, m: &ManifestRef) -> MetaResult<Option<Vec<DocumentRow>>> {
        let m = m.clone();
        self.read(move |c| {
            let Some(id) = manifest_id(c, &m)? else { return Ok(None) };
            let mut stmt = c.prepare_cached(
                "SELECT j.plugin, j.state, d.json, j.error, j.attempts, j.updated_at
                 FROM index_jobs j LEFT JOIN documents d ON d.manifest_id = j.manifest_id AND d.plugin = j.plugin
                 WHERE j.manifest_id = ?1 ORDER BY j.plugin",
            )?;
            let rows = stmt.query_map([id], |r| {
                let json: Option<String> = r.get(2)?;
                Ok(DocumentRow {
                    plugin: r.get(0)?,
                    state: r.get(1)?,
                    document: json.and_then(|j| serde_json::from_str(&j).ok()),
                    error: r.get(3)?,
                    attempts: r.get(4)?,
                    updated_at: r.get(5)?,
                    warnings: Vec::new(),
                    warnings_total: 0,
                })
            })?;
            let mut docs = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT plugin, warnings, total FROM validation_warnings WHERE manifest_id = ?1 ORDER BY plugin",
            )?;
            let warned = stmt.query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            for w in warned {
                let (plugin, json, total) = w?;
                let list: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap_or_default();
                let row = match docs.iter_mut().position(|d| d.plugin == plugin) {
                    Some(i) => &mut docs[i],
                    None => {
                        docs.push(DocumentRow {
                            plugin,
                            state: "validated".into(),
                            document: None,
                            error: None,
                            attempts: 0,
                            updated_at: 0,
                            warnings: Vec::new(),
                            warnings_total: 0,
                        });
                        docs.last_mut().expect("just pushed")
                    }
                };
                row.warnings = list;
                row.warnings_total = total;
            }
            docs.sort_by(|a, b| a.plugin.cmp(&b.plugin));
            Ok(Some(docs))
        })
        .await
    }

    async fn failed_index_jobs(
        &self,
        max_attempts: i64,
        before: i64,
        limit: u32,
    ) -> MetaResult<Vec<(ManifestRef, String)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT r.name, m.digest, j.plugin FROM index_jobs j
                 JOIN manifests m ON m.id = j.manifest_id JOIN repositories r ON r.id = m.repository_id
                 WHERE j.state = 'failed' AND j.attempts < ?1 AND j.updated_at < ?2
                 ORDER BY j.updated_at LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![max_attempts, before, limit], |r| {
                Ok((
                    ManifestRef {
                        repository: r.get(0)?,
                        digest: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            })?;
            rows.collect()
        })
        .await
    }

    async fn manifests_page(
        &self,
        prefix: Option<&str>,
        after: Option<&ManifestRef>,
        limit: u32,
    ) -> MetaResult<Vec<ManifestRef>> {
        let prefix = prefix.unwrap_or("").to_string();
        let (ar, ad) = after.map_or((String::new(), String::new()), |a| {
            (a.repository.clone(), a.digest.clone())
        });
        self.read(move |c| {
            let sql = format!(
                "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id
                 WHERE {} AND (r.name, m.digest) > (?2, ?3) ORDER BY r.name, m.digest LIMIT ?4",
                under_prefix("r.name", 1)
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![prefix, ar, ad, limit], |r| {
                Ok(ManifestRef {
                    repository: r.get(0)?,
                    digest: r.get(1)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn manifest_tags(&self, m: &ManifestRef) -> MetaResult<Vec<String>> {
        let m = m.clone();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT t.name FROM tags t JOIN manifests m ON m.id = t.manifest_id
                 JOIN repositories r ON r.id = m.repository_id
                 WHERE r.name = ?1 AND m.digest = ?2 ORDER BY t.name",
            )?;
            let rows = stmt.query_map(params![m.repository, m.digest], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn search(&self, q: &SearchQuery) -> MetaResult<(Vec<SearchHit>, bool)> {
        let q = q.clone();
        self.read(move |c| {
            let mut args: Vec<Sql> = Vec::new();
            let arg = |v: Sql, args: &mut Vec<Sql>| {
                args.push(v);
                format!("?{}", args.len())
            };
            let mut hits = Vec::new();
            for (name, m) in &q.facets {
                let n = arg(Sql::Text(name.clone()), &mut args);
                let cond = match m {
                    FacetMatch::Exact(v) => format!("value = {}", arg(Sql::Text(v.clone()), &mut args)),
                    FacetMatch::Prefix(p) => {
                        let lo = arg(Sql::Text(p.clone()), &mut args);
                        let hi = arg(Sql::Text(format!("{p}\u{10FFFF}")), &mut args);
                        format!("value >= {lo} AND value < {hi}")
                    }
                };
                // DISTINCT: several SBOMs (say) give the same image the same facet.
                hits.push(format!(
                    "SELECT DISTINCT repository_id, digest FROM facets WHERE name = {n} AND {cond}"
                ));
            }
            let source = if hits.is_empty() {
                "SELECT repository_id, digest FROM manifests".to_string()
            } else {
                hits.join(" INTERSECT ")
            };
            let prefix = arg(Sql::Text(q.repository.clone().unwrap_or_default()), &mut args);
            let prefix_n: usize = prefix[1..].parse().unwrap_or(0);
            let mut sql = format!(
                "WITH hits(repository_id, digest) AS ({source})
                 SELECT r.name, m.digest, m.media_type, m.artifact_type, m.subject, m.id, m.repository_id
                 FROM hits h JOIN manifests m ON m.repository_id = h.repository_id AND m.digest = h.digest
                 JOIN repositories r ON r.id = m.repository_id
                 WHERE {}",
                under_prefix("r.name", prefix_n)
            );
            if let Some(at) = &q.artifact_type {
                sql += &format!(" AND m.artifact_type = {}", arg(Sql::Text(at.clone()), &mut args));
            }
            if let Some((lr, ld)) = &q.last {
                let a = arg(Sql::Text(lr.clone()), &mut args);
                let b = arg(Sql::Text(ld.clone()), &mut args);
                sql += &format!(" AND (r.name, m.digest) > ({a}, {b})");
            }
            sql += &format!(" ORDER BY r.name, m.digest LIMIT {}", arg(Sql::Integer(q.n as i64 + 1), &mut args));
            let mut stmt = c.prepare(&sql)?;
            let mut rows: Vec<(SearchHit, i64, i64)> = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    Ok((
                        SearchHit {
                            repository: r.get(0)?,
                            digest: r.get(1)?,
                            media_type: r.get(2)?,
                            artifact_type: r.get(3)?,
                            subject: r.get(4)?,
                            tags: Vec::new(),
                            facets: Vec::new(),
                        },
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let more = rows.len() > q.n as usize;
            rows.truncate(q.n as usize);
            let names: Vec<&String> = q.facets.iter().map(|(n, _)| n).collect();
            let mut fstmt = c.prepare_cached(
                "SELECT DISTINCT value, plugin FROM facets
                 WHERE repository_id = ?1 AND digest = ?2 AND name = ?3 ORDER BY value, plugin",
            )?;
            let mut names: Vec<&String> = names;
            names.sort();
            names.dedup();
            let mut out = Vec::with_capacity(rows.len());
            for (mut hit, id, repo) in rows {
                hit.tags = tags_of(c, id)?;
                for name in &names {
                    let facets = fstmt.query_map(params![repo, hit.digest, name], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?;
                    for f in facets {
                        let (value, plugin) = f?;
                        hit.facets.push(serde_json::json!({ "name": name, "value": value, "plugin": plugin }));
                    }
                }
                out.push(hit);
            }
            Ok((out, more))
        })
        .await
    }

    async fn installed_plugins(&self) -> MetaResult<Vec<InstalledPlugin>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT name, reference, manifest, component, installed_at FROM installed_plugins ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(InstalledPlugin {
                    name: r.get(0)?,
                    reference: r.get(1)?,
                    manifest: r.get(2)?,
                    component: r.get(3)?,
                    installed_at: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn put_installed_plugin(&self, p: InstalledPlugin) -> MetaResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO installed_plugins (name, reference, manifest, component, installed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET reference = excluded.reference,
                   manifest = excluded.manifest, component = excluded.component,
                   installed_at = excluded.installed_at",
                params![p.name, p.reference, p.manifest, p.component, p.installed_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_installed_plugin(&self, name: &str) -> MetaResult<bool> {
        let name = name.to_string();
        self.write(move |c| {
            Ok(c.execute("DELETE FROM installed_plugins WHERE name = ?1", [name])? > 0)
        })
        .await
    }

    async fn facet_holds(
        &self,
        repository: &str,
        digest: &str,
        name: &str,
        value: &FacetMatch,
        scope: FacetScope,
    ) -> MetaResult<bool> {
        let (repository, digest, name) =
            (repository.to_string(), digest.to_string(), name.to_string());
        let (cmp, v) = match value {
            FacetMatch::Exact(v) => ("f.value = ?4", v.clone()),
            FacetMatch::Prefix(p) => ("substr(f.value, 1, length(?4)) = ?4", p.clone()),
        };
        let sql = match scope {
            FacetScope::Manifest => format!(
                "SELECT EXISTS (SELECT 1 FROM facets f JOIN repositories r ON r.id = f.repository_id
                 WHERE r.name = ?1 AND f.digest = ?2 AND f.name = ?3 AND {cmp})"
            ),
            FacetScope::Referrer => format!(
                "SELECT EXISTS (SELECT 1 FROM repositories r
                 JOIN manifests m ON m.repository_id = r.id AND m.subject = ?2
                 JOIN facets f ON f.repository_id = r.id AND f.digest = m.digest AND f.source_id = m.id
                 WHERE r.name = ?1 AND f.name = ?3 AND {cmp})"
            ),
        };
        self.read(move |c| {
            c.prepare_cached(&sql)?
                .query_row(params![repository, digest, name, v], |r| r.get(0))
        })
        .await
    }

    async fn parent_indexes(&self, repository: &str, digest: &str) -> MetaResult<Vec<String>> {
        let (repository, digest) = (repository.to_string(), digest.to_string());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.digest FROM manifest_references mr
                 JOIN manifests m ON m.id = mr.manifest_id
                 JOIN repositories r ON r.id = m.repository_id
                 WHERE mr.digest = ?2 AND mr.kind = 'manifest' AND r.name = ?1
                 ORDER BY m.digest LIMIT 100",
            )?;
            let rows = stmt.query_map(params![repository, digest], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn plugin_documents(&self, plugin: &str, prefix: &str) -> MetaResult<Vec<ViewDocument>> {
        let (plugin, prefix) = (plugin.to_string(), prefix.to_string());
        self.read(move |c| {
            let sql = format!(
                "SELECT r.name, m.digest, d.json, m.id FROM documents d
                 JOIN manifests m ON m.id = d.manifest_id JOIN repositories r ON r.id = m.repository_id
                 WHERE d.plugin = ?1 AND {} ORDER BY r.name, m.digest",
                under_prefix("r.name", 2)
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows: Vec<(String, String, String, i64)> = stmt
                .query_map(params![plugin, prefix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(repository, digest, json, id)| {
                    Ok(ViewDocument {
                        repository,
                        digest,
                        tags: tags_of(c, id)?,
                        json,
                    })
                })
                .collect()
        })
        .await
    }
}
