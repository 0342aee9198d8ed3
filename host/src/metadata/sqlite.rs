//! The SQLite metadata store: one writer connection (SQLite serialises writers anyway)
//! and a small pool of readers, in WAL mode with `synchronous = FULL` so an acknowledged
//! write survives a crash. Every call runs on the blocking thread pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    ManifestRecord, MetaError, MetaResult, MetadataStore, NewManifest, Page, PutOutcome, Reference,
    Referrer, UploadRecord, now,
};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_init.sql")];

impl From<rusqlite::Error> for MetaError {
    fn from(e: rusqlite::Error) -> Self {
        MetaError(e.to_string())
    }
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    max_readers: usize,
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
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
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
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            Ok(f(&mut conn)?)
        })
        .await
        .map_err(|e| MetaError(e.to_string()))?
    }
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
            let tx = c.transaction()?;
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
            let tx = c.transaction()?;
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
        let last = last.map(str::to_string);
        self.read(move |c| {
            let Some(repo) = repository_id(c, &name)? else {
                return Ok(None);
            };
            let mut stmt = c.prepare_cached(
                "SELECT name FROM tags WHERE repository_id = ?1 AND (?2 IS NULL OR name > ?2)
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
        let last = last.map(str::to_string);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT name FROM repositories WHERE (?1 IS NULL OR name > ?1) ORDER BY name LIMIT ?2",
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
}
