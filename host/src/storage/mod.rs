//! Content-addressed blob storage: the bytes of layers and configs, and the upload
//! sessions that produce them. The filesystem store is the default; the trait is the
//! seam for an S3-compatible store.
//!
//! Invariants every implementation keeps:
//! - a blob becomes visible only after its digest has been verified, atomically and durably;
//! - upload data is streamed, never held whole in memory;
//! - an upload session survives a restart of the process.

mod fs;

use std::io;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use tokio::io::AsyncRead;

use crate::digest::Digest;

pub use fs::FsBlobStore;

/// A request body as a stream of chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A readable blob (or part of one).
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The upload session does not exist.
    #[error("upload session not found")]
    UnknownSession,
    /// A chunk did not start where the session's data ends.
    #[error("chunk starts at {offset} but the session holds {current} bytes")]
    OffsetMismatch {
        /// Where the client said the chunk starts.
        offset: u64,
        /// How many bytes the session holds.
        current: u64,
    },
    /// The content does not hash to the expected digest.
    #[error("content hashes to {computed}, not {expected}")]
    DigestMismatch {
        /// What the client claimed.
        expected: Digest,
        /// What the bytes hash to.
        computed: Digest,
    },
    /// The request body failed while being read (client went away, bad framing).
    #[error("reading the request body failed: {0}")]
    Body(io::Error),
    /// Disk or backend failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The blob store.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The size of a committed blob, if it is stored.
    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>>;

    /// Read `len` bytes from `offset` of a committed blob.
    async fn read(&self, digest: &Digest, offset: u64, len: u64) -> io::Result<BlobReader>;

    /// Remove a committed blob (garbage collection only: the metadata decides reachability).
    async fn delete(&self, digest: &Digest) -> io::Result<()>;

    /// Start an empty upload session.
    async fn create_upload(&self, id: &str) -> io::Result<()>;

    /// How many bytes an upload session holds, or `None` if it does not exist.
    async fn upload_size(&self, id: &str) -> io::Result<Option<u64>>;

    /// Append a body to a session. `offset`, when given, must equal the current size.
    /// Returns the new size.
    async fn append(
        &self,
        id: &str,
        offset: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, StorageError>;

    /// Verify the session's content against `digest` and make it the committed blob
    /// with that digest (a no-op for the bytes if it is already stored). The session is
    /// consumed when this succeeds and removed when the digest does not match. Returns the size.
    async fn commit(&self, id: &str, digest: &Digest) -> Result<u64, StorageError>;

    /// Throw a session away.
    async fn delete_upload(&self, id: &str) -> io::Result<()>;

    /// Ids of all sessions present in storage (for expiry and fsck).
    async fn list_uploads(&self) -> io::Result<Vec<String>>;
}
