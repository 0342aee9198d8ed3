//! The filesystem blob store.
//!
//! Layout under the root:
//! - `blobs/<algorithm>/<first two hex>/<hex>`: committed blobs, written once, never changed;
//! - `uploads/<session id>`: the data of an upload session, appended to in place.
//!
//! A commit verifies the digest, `fsync`s the data, renames it into `blobs/` and `fsync`s
//! the directory, so a crash leaves either no blob or the whole blob. The running hash of
//! each session is kept in memory; after a restart the data is hashed again at commit.

use std::collections::HashMap;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{BlobReader, BlobStore, ByteStream, StorageError};
use crate::digest::{Algorithm, Digest, Hasher};

const WRITE_BUFFER: usize = 1 << 20;
const HASH_BUFFER: usize = 1 << 20;

/// Running hash of the bytes a session holds, valid while `len` equals the data size.
struct HashState {
    len: u64,
    hasher: Hasher,
}

type SessionLock = Arc<tokio::sync::Mutex<Option<HashState>>>;

/// Blobs and upload sessions in a directory.
pub struct FsBlobStore {
    root: PathBuf,
    fsync: bool,
    sessions: Mutex<HashMap<String, SessionLock>>,
}

impl FsBlobStore {
    /// Open (and create) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>, fsync: bool) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(FsBlobStore {
            root,
            fsync,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &str) -> io::Result<PathBuf> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "invalid session id",
            ));
        }
        Ok(self.root.join("uploads").join(id))
    }

    fn session_lock(&self, id: &str) -> SessionLock {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    fn forget_session(&self, id: &str) {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

async fn sync_dir(path: &Path) -> io::Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(path)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

async fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<Digest> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut h = algorithm.hasher();
        let mut buf = vec![0u8; HASH_BUFFER];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h.finish())
    })
    .await
    .map_err(io::Error::other)?
}

fn not_found_is_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>> {
        Ok(not_found_is_none(tokio::fs::metadata(self.blob_path(digest)).await)?.map(|m| m.len()))
    }

    async fn read(&self, digest: &Digest, offset: u64, len: u64) -> io::Result<BlobReader> {
        let mut f = tokio::fs::File::open(self.blob_path(digest)).await?;
        if offset > 0 {
            f.seek(SeekFrom::Start(offset)).await?;
        }
        Ok(Box::pin(f.take(len)))
    }

    async fn delete(&self, digest: &Digest) -> io::Result<()> {
        not_found_is_none(tokio::fs::remove_file(self.blob_path(digest)).await).map(|_| ())
    }

    async fn create_upload(&self, id: &str) -> io::Result<()> {
        let path = self.upload_path(id)?;
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        let lock = self.session_lock(id);
        *lock.lock().await = Some(HashState {
            len: 0,
            hasher: Algorithm::Sha256.hasher(),
        });
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> io::Result<Option<u64>> {
        let Ok(path) = self.upload_path(id) else {
            return Ok(None);
        };
        Ok(not_found_is_none(tokio::fs::metadata(path).await)?.map(|m| m.len()))
    }

    async fn append(
        &self,
        id: &str,
        offset: Option<u64>,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
        let path = self
            .upload_path(id)
            .map_err(|_| StorageError::UnknownSession)?;
        let lock = self.session_lock(id);
        let mut state = lock.lock().await;
        let file = match tokio::fs::OpenOptions::new().write(true).open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                drop(state);
                self.forget_session(id);
                return Err(StorageError::UnknownSession);
            }
            Err(e) => return Err(e.into()),
        };
        let current = file.metadata().await?.len();
        if let Some(offset) = offset
            && offset != current
        {
            return Err(StorageError::OffsetMismatch { offset, current });
        }
        // Keep hashing incrementally only while the hash covers exactly the data on disk.
        let mut hasher = match state.take() {
            Some(s) if s.len == current => Some(s.hasher),
            None if current == 0 => Some(Algorithm::Sha256.hasher()),
            _ => None,
        };
        let mut file = file;
        file.seek(SeekFrom::Start(current)).await?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut written = current;
        let mut body_err = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    out.write_all(&bytes).await?;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&bytes);
                    }
                    written += bytes.len() as u64;
                }
                Err(e) => {
                    body_err = Some(e);
                    break;
                }
            }
        }
        out.flush().await?;
        *state = hasher.map(|hasher| HashState {
            len: written,
            hasher,
        });
        match body_err {
            Some(e) => Err(StorageError::Body(e)),
            None => Ok(written),
        }
    }

    async fn commit(&self, id: &str, digest: &Digest) -> Result<u64, StorageError> {
        let path = self
            .upload_path(id)
            .map_err(|_| StorageError::UnknownSession)?;
        let lock = self.session_lock(id);
        let mut state = lock.lock().await;
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                drop(state);
                self.forget_session(id);
                return Err(StorageError::UnknownSession);
            }
            Err(e) => return Err(e.into()),
        };
        let size = meta.len();
        let computed = match state.take() {
            Some(s) if s.len == size && s.hasher.algorithm() == digest.algorithm() => {
                s.hasher.finish()
            }
            _ => hash_file(&path, digest.algorithm()).await?,
        };
        if &computed != digest {
            drop(state);
            tokio::fs::remove_file(&path).await.ok();
            self.forget_session(id);
            return Err(StorageError::DigestMismatch {
                expected: digest.clone(),
                computed,
            });
        }
        let target = self.blob_path(digest);
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        if tokio::fs::metadata(&target).await.is_ok() {
            // Already stored: identical bytes by construction.
            tokio::fs::remove_file(&path).await?;
        } else {
            if self.fsync {
                let p = path.clone();
                tokio::task::spawn_blocking(move || std::fs::File::open(p)?.sync_all())
                    .await
                    .map_err(io::Error::other)??;
            }
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::rename(&path, &target).await?;
            if self.fsync {
                sync_dir(&dir).await?;
            }
        }
        drop(state);
        self.forget_session(id);
        Ok(size)
    }

    async fn delete_upload(&self, id: &str) -> io::Result<()> {
        let Ok(path) = self.upload_path(id) else {
            return Ok(());
        };
        let lock = self.session_lock(id);
        let guard = lock.lock().await;
        let r = not_found_is_none(tokio::fs::remove_file(path).await).map(|_| ());
        drop(guard);
        self.forget_session(id);
        r
    }

    async fn list_uploads(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut rd = tokio::fs::read_dir(self.root.join("uploads")).await?;
        while let Some(e) = rd.next_entry().await? {
            if let Some(name) = e.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }
}
