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
    /// Warnings from plugins that accepted it; they replace those of an earlier push.
    pub warnings: Vec<PluginWarnings>,
    /// What indexing plugins said about it, by plugin: stored in the same transaction.
    pub index: Vec<(String, IndexResult)>,
}

/// What one plugin warned about when it accepted a manifest.
#[derive(Debug, Clone)]
pub struct PluginWarnings {
    /// Plugin name.
    pub plugin: String,
    /// The warnings kept (`[{"path", "message"}]`), as JSON text.
    pub warnings: String,
    /// How many there were in all.
    pub total: usize,
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

/// What a plugin's `index` produced, to store.
#[derive(Debug, Clone)]
pub enum IndexResult {
    /// Indexed: a document, or nothing to say.
    Done(Option<StoredDocument>),
    /// The call failed; retried later.
    Failed(String),
}

/// A plugin document with its facets.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    /// JSON text.
    pub json: String,
    /// Facets about the manifest.
    pub facets: Vec<(String, String)>,
    /// Facets about its subject.
    pub subject_facets: Vec<(String, String)>,
    /// The subject named by the plugin (else the manifest's own `subject`).
    pub subject: Option<String>,
}

/// A document and its job state, as the documents API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentRow {
    /// Plugin.
    pub plugin: String,
    /// `done` or `failed`.
    pub state: String,
    /// The document (when done and the plugin had something to say).
    pub document: Option<serde_json::Value>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// How many times indexing ran.
    pub attempts: i64,
    /// Unix seconds of the last attempt.
    pub updated_at: i64,
    /// What the plugin warned about when it accepted the manifest (`[{path, message}]`).
    pub warnings: Vec<serde_json::Value>,
    /// How many warnings there were in all (`warnings` keeps at most `plugins.max_violations`).
    pub warnings_total: i64,
}

/// A manifest by repository and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRef {
    /// Repository.
    pub repository: String,
    /// Digest.
    pub digest: String,
}

/// How a facet's value is matched.
#[derive(Debug, Clone)]
pub enum FacetMatch {
    /// Equal.
    Exact(String),
    /// Starts with.
    Prefix(String),
}

/// A plugin installed at run time from an OCI reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstalledPlugin {
    /// The name the plugin declares.
    pub name: String,
    /// The reference it was installed from, as given.
    pub reference: String,
    /// Digest of the manifest it was installed from (the pin).
    pub manifest: String,
    /// Digest of the component blob.
    pub component: String,
    /// Unix seconds.
    pub installed_at: i64,
}

/// Whose facets a policy condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FacetScope {
    /// The manifest's own facets, including those its referrers said about it.
    #[default]
    Manifest,
    /// The facets of any manifest whose `subject` it is.
    Referrer,
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Facets that must all match.
    pub facets: Vec<(String, FacetMatch)>,
    /// Repository path prefix (`a/b` matches `a/b` and `a/b/c`).
    pub repository: Option<String>,
    /// Artifact type (or config media type) to match exactly.
    pub artifact_type: Option<String>,
    /// Continue after this `(repository, digest)`.
    pub last: Option<(String, String)>,
    /// Page size.
    pub n: u32,
}

/// One manifest found by a search.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchHit {
    /// Repository.
    pub repository: String,
    /// Digest.
    pub digest: String,
    /// Media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Artifact type.
    #[serde(rename = "artifactType")]
    pub artifact_type: Option<String>,
    /// Subject, for referrers.
    pub subject: Option<String>,
    /// Tags pointing at it.
    pub tags: Vec<String>,
    /// The facets of it whose names the query asked about.
    pub facets: Vec<serde_json::Value>,
}

/// A document for a view over a repository prefix.
#[derive(Debug, Clone)]
pub struct ViewDocument {
    /// Repository.
    pub repository: String,
    /// Digest.
    pub digest: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Document JSON.
    pub json: String,
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

    /// Replace what `plugin` said about a manifest (document, facets, job state) in one
    /// transaction. A manifest deleted meanwhile is ignored.
    async fn store_index(
        &self,
        m: &ManifestRef,
        plugin: &str,
        result: IndexResult,
    ) -> MetaResult<()>;

    /// Plugins switched on or off at run time, by name.
    async fn plugin_switches(&self) -> MetaResult<Vec<(String, bool)>>;

    /// Switch a plugin on or off for every replica (`None` returns it to its configuration).
    async fn set_plugin_switch(&self, name: &str, enabled: Option<bool>) -> MetaResult<()>;

    /// Forget what plugins other than `keep` said about a manifest (after a plugin was
    /// removed, turned off or narrowed its media types).
    async fn prune_index(&self, m: &ManifestRef, keep: &[String]) -> MetaResult<()>;

    /// Documents and job states of a manifest; `None` if the manifest does not exist.
    async fn documents(&self, m: &ManifestRef) -> MetaResult<Option<Vec<DocumentRow>>>;

    /// Failed jobs with fewer than `max_attempts` attempts, last tried before `before`.
    async fn failed_index_jobs(
        &self,
        max_attempts: i64,
        before: i64,
        limit: u32,
    ) -> MetaResult<Vec<(ManifestRef, String)>>;

    /// Manifests in repositories under `prefix`, after `after`, at most `limit`, in order.
    async fn manifests_page(
        &self,
        prefix: Option<&str>,
        after: Option<&ManifestRef>,
        limit: u32,
    ) -> MetaResult<Vec<ManifestRef>>;

    /// Tags pointing at a manifest, sorted.
    async fn manifest_tags(&self, m: &ManifestRef) -> MetaResult<Vec<String>>;

    /// Search by facets; returns a page and whether more follow.
    async fn search(&self, q: &SearchQuery) -> MetaResult<(Vec<SearchHit>, bool)>;

    /// Plugins installed at run time, by name.
    async fn installed_plugins(&self) -> MetaResult<Vec<InstalledPlugin>>;

    /// Record (or replace, by name) an installed plugin.
    async fn put_installed_plugin(&self, p: InstalledPlugin) -> MetaResult<()>;

    /// Forget an installed plugin; whether there was one.
    async fn delete_installed_plugin(&self, name: &str) -> MetaResult<bool>;

    /// Whether a facet `name` matching `value` describes `digest` in `repository` (or one
    /// of its referrers there, by `scope`).
    async fn facet_holds(
        &self,
        repository: &str,
        digest: &str,
        name: &str,
        value: &FacetMatch,
        scope: FacetScope,
    ) -> MetaResult<bool>;

    /// Digests of the indexes in `repository` that list the manifest `digest`.
    async fn parent_indexes(&self, repository: &str, digest: &str) -> MetaResult<Vec<String>>;

    /// Every document of `plugin` in repositories under `prefix` (path prefix; empty = all).
    async fn plugin_documents(&self, plugin: &str, prefix: &str) -> MetaResult<Vec<ViewDocument>>;
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
