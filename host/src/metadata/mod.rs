//! The metadata store: repositories, which blobs each may read, manifests (with their
//! bytes), tags, referrer edges and upload sessions. SQLite is the default; the trait is
//! the seam for PostgreSQL.

mod sqlite;

use async_trait::async_trait;
use bytes::Bytes;

pub use sqlite::SqliteStore;

/// A metadata failure (always a server-side fault: callers map it to a 500).
#[derive(Debug, thiserror::Error)]
#[error("metadata store: {0}")]
pub struct MetaError(pub String);

/// Result alias for metadata operations.
pub type MetaResult<T> = Result<T, MetaError>;

/// How a manifest is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    /// By tag.
    Tag(&'a str),
    /// By digest.
    Digest(&'a str),
}

/// A stored manifest.
#[derive(Debug, Clone)]
pub struct ManifestRecord {
    /// Its digest.
    pub digest: String,
    /// Its media type (what `Content-Type` it is served with).
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its exact bytes (absent when only the head was asked for).
    pub content: Option<Bytes>,
}

/// A manifest to store, with everything the push already worked out about it.
#[derive(Debug, Clone)]
pub struct NewManifest {
    /// Repository name.
    pub repository: String,
    /// Digest of `content`.
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// `artifactType`, or the config media type for image manifests.
    pub artifact_type: Option<String>,
    /// Digest of the `subject`, if any.
    pub subject: Option<String>,
    /// The `annotations` object as JSON text, if any.
    pub annotations: Option<String>,
    /// Exact bytes.
    pub content: Bytes,
    /// Blobs that must be readable in the repository (config and distributable layers).
    pub blobs: Vec<String>,
    /// Manifests that must exist in the repository (index entries).
    pub manifests: Vec<String>,
    /// Tag to point at it, if pushed by tag.
    pub tag: Option<String>,
}

/// What putting a manifest found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored (or already there) and tagged.
    Stored,
    /// A referenced blob is not in the repository; nothing was written.
    MissingBlob(String),
    /// A referenced manifest is not in the repository; nothing was written.
    MissingManifest(String),
}

/// A manifest that names another as its subject.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// Digest of the referrer.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub size: u64,
    /// Its artifact type (or config media type).
    pub artifact_type: Option<String>,
    /// Its annotations as JSON text.
    pub annotations: Option<String>,
}

/// An upload session's owner record.
#[derive(Debug, Clone)]
pub struct UploadRecord {
    /// Session id.
    pub id: String,
    /// The repository it uploads into.
    pub repository: String,
    /// Unix seconds of the last activity.
    pub updated_at: i64,
}

/// One page of names (tags or repositories).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The names, sorted.
    pub names: Vec<String>,
    /// Whether more follow the last one.
    pub more: bool,
}

/// The metadata store.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Whether the repository exists.
    async fn repository_exists(&self, repository: &str) -> MetaResult<bool>;

    /// Record a committed blob and make it readable in `repository`.
    async fn link_blob(&self, repository: &str, digest: &str, size: u64) -> MetaResult<()>;

    /// The size of a blob readable in `repository`.
    async fn blob_in_repository(&self, repository: &str, digest: &str) -> MetaResult<Option<u64>>;

    /// Make a blob unreadable in `repository`; false if it was not readable there.
    async fn unlink_blob(&self, repository: &str, digest: &str) -> MetaResult<bool>;

    /// Store a manifest and its tag in one transaction, after checking that what it
    /// references is there.
    async fn put_manifest(&self, m: NewManifest) -> MetaResult<PutOutcome>;

    /// A manifest by tag or digest, with or without its bytes.
    async fn get_manifest(
        &self,
        repository: &str,
        reference: Reference<'_>,
        with_content: bool,
    ) -> MetaResult<Option<ManifestRecord>>;

    /// Delete a manifest (and every tag pointing at it); false if it was not there.
    async fn delete_manifest(&self, repository: &str, digest: &str) -> MetaResult<bool>;

    /// Remove a tag (the manifest stays); false if it was not there.
    async fn delete_tag(&self, repository: &str, tag: &str) -> MetaResult<bool>;

    /// Manifests in `repository` whose subject is `subject`, optionally of one artifact type.
    async fn referrers(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> MetaResult<Vec<Referrer>>;

    /// Tags of a repository after `last`, at most `n`; `None` if the repository does not exist.
    async fn tags(&self, repository: &str, last: Option<&str>, n: u32) -> MetaResult<Option<Page>>;

    /// Repository names after `last`, at most `n`.
    async fn repositories(&self, last: Option<&str>, n: u32) -> MetaResult<Page>;

    /// Record a new upload session.
    async fn create_upload(&self, id: &str, repository: &str) -> MetaResult<()>;

    /// An upload session.
    async fn get_upload(&self, id: &str) -> MetaResult<Option<UploadRecord>>;

    /// Note activity on a session.
    async fn touch_upload(&self, id: &str) -> MetaResult<()>;

    /// Forget a session.
    async fn delete_upload(&self, id: &str) -> MetaResult<()>;

    /// Sessions idle since before `before` (Unix seconds).
    async fn stale_uploads(&self, before: i64) -> MetaResult<Vec<String>>;
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
