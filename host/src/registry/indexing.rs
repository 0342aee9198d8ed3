//! Plugins in the registry's life: the manifest as plugins see it, blob access scoped to a
//! repository, indexing after a push, background retries of failed indexing, and reindexing.

use std::io::{Cursor, Read};
use std::sync::Arc;

use serde::Serialize;
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use super::App;
use super::manifest::{CheckedDescriptor, ParsedManifest};
use crate::digest::Digest;
use crate::metadata::{IndexResult, ManifestRef, Reference, StoredDocument, now};
use crate::plugins::{BlobSource, Descriptor, Document, ManifestInput};

/// Failed indexing is retried this many times in the background.
const MAX_INDEX_ATTEMPTS: i64 = 5;

fn descriptor(d: &CheckedDescriptor) -> Descriptor {
    Descriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.to_string(),
        size: d.size,
        artifact_type: d.artifact_type.clone(),
        annotations: d
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The manifest as plugins see it.
pub fn plugin_input(
    repository: &str,
    tag: Option<&str>,
    digest: &Digest,
    parsed: &ParsedManifest,
    raw: &[u8],
) -> ManifestInput {
    ManifestInput {
        repository: repository.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.to_string(),
        media_type: parsed.media_type.clone(),
        artifact_type: parsed.artifact_type.clone().filter(|t| !t.is_empty()),
        config: parsed.config.as_ref().map(descriptor),
        layers: parsed
            .layers
            .iter()
            .chain(parsed.manifests.iter())
            .map(descriptor)
            .collect(),
        subject: parsed.subject.as_ref().map(descriptor),
        annotations: parsed
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        raw: raw.to_vec(),
    }
}

/// Blobs (and manifests) readable in one repository, for plugin calls on the blocking pool.
struct RepoBlobs {
    app: App,
    repository: String,
    handle: Handle,
}

impl BlobSource for RepoBlobs {
    fn open(&self, digest: &str) -> Result<(u64, Box<dyn Read + Send>), String> {
        let d: Digest = digest.parse().map_err(|e| format!("{e}"))?;
        let app = self.app.clone();
        let repo = self.repository.clone();
        let handle = self.handle.clone();
        self.handle.block_on(async move {
            if let Some(size) = app
                .meta()
                .blob_in_repository(&repo, d.as_str())
                .await
                .map_err(|e| e.to_string())?
            {
                let reader = app
                    .blobs()
                    .read(&d, 0, size)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok((
                    size,
                    Box::new(SyncIoBridge::new_with_handle(reader, handle)) as Box<dyn Read + Send>,
                ));
            }
            let m = app
                .meta()
                .get_manifest(&repo, Reference::Digest(d.as_str()), true)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{d} is not in repository {repo}"))?;
            let bytes = m.content.unwrap_or_default();
            Ok((
                bytes.len() as u64,
                Box::new(Cursor::new(bytes)) as Box<dyn Read + Send>,
            ))
        })
    }
}

fn stored(d: Document) -> StoredDocument {
    let pairs = |f: Vec<crate::plugins::Facet>| f.into_iter().map(|f| (f.name, f.value)).collect();
    StoredDocument {
        json: d.json,
        facets: pairs(d.facets),
        subject_facets: pairs(d.subject_facets),
        subject: d.subject,
    }
}

/// What a reindex did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReindexSummary {
    /// Manifests visited.
    pub manifests: u64,
    /// Indexer calls that stored a result.
    pub indexed: u64,
    /// Indexer calls that failed (kept as failed jobs, retried in the background).
    pub failed: u64,
}

impl App {
    /// Blob access for plugin calls on manifests of `repository`.
    pub fn blob_source(&self, repository: &str) -> Arc<dyn BlobSource> {
        Arc::new(RepoBlobs {
            app: self.clone(),
            repository: repository.to_string(),
            handle: Handle::current(),
        })
    }

    /// Run every matching indexer on a manifest (its blobs must be readable) and return
    /// what each said, failures included (stored as failed jobs, retried later).
    pub async fn index_results(&self, input: &Arc<ManifestInput>) -> Vec<(String, IndexResult)> {
        self.plugins()
            .index(input, self.blob_source(&input.repository))
            .await
            .into_iter()
            .map(|o| {
                let result = match o.result {
                    Ok(doc) => IndexResult::Done(doc.map(stored)),
                    Err(e) => {
                        tracing::warn!(plugin = %o.plugin, digest = %input.digest, error = %e, "indexing failed; will retry");
                        IndexResult::Failed(e.to_string())
                    }
                };
                (o.plugin, result)
            })
            .collect()
    }

    /// Run every matching indexer on a committed manifest and store what they say.
    /// Returns how many calls failed.
    pub async fn index_manifest(&self, input: &Arc<ManifestInput>) -> u64 {
        let at = ManifestRef {
            repository: input.repository.clone(),
            digest: input.digest.clone(),
        };
        let mut failed = 0;
        for (plugin, result) in self.index_results(input).await {
            if matches!(result, IndexResult::Failed(_)) {
                failed += 1;
            }
            if let Err(e) = self.meta().store_index(&at, &plugin, result).await {
                tracing::error!(plugin = %plugin, error = %e, "storing an index result failed");
            }
        }
        failed
    }

    /// The manifest as plugins see it, rebuilt from what is stored.
    pub async fn stored_input(
        &self,
        m: &ManifestRef,
    ) -> anyhow::Result<Option<Arc<ManifestInput>>> {
        let Some(rec) = self
            .meta()
            .get_manifest(&m.repository, Reference::Digest(&m.digest), true)
            .await?
        else {
            return Ok(None);
        };
        let raw = rec.content.unwrap_or_default();
        let parsed = super::manifest::parse(&raw, Some(&rec.media_type))
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let digest: Digest = m.digest.parse()?;
        let tags = self.meta().manifest_tags(m).await?;
        Ok(Some(Arc::new(plugin_input(
            &m.repository,
            tags.first().map(String::as_str),
            &digest,
            &parsed,
            &raw,
        ))))
    }

    /// Run every indexer again over every manifest under `prefix` (all when `None`).
    pub async fn reindex(&self, prefix: Option<&str>) -> anyhow::Result<ReindexSummary> {
        let mut summary = ReindexSummary::default();
        let mut after: Option<ManifestRef> = None;
        loop {
            let page = self
                .meta()
                .manifests_page(prefix, after.as_ref(), 200)
                .await?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            for m in &page {
                if let Some(input) = self.stored_input(m).await? {
                    let selected = self.plugins().selected(&input, false);
                    self.meta().prune_index(m, &selected).await?;
                    let n = selected.len() as u64;
                    let failed = self.index_manifest(&input).await;
                    summary.indexed += n - failed;
                    summary.failed += failed;
                }
                summary.manifests += 1;
            }
            after = Some(last);
        }
        Ok(summary)
    }

    /// Retry failed indexing jobs that have waited at least a minute.
    pub async fn retry_failed_indexing(&self) -> anyhow::Result<()> {
        let jobs = self
            .meta()
            .failed_index_jobs(MAX_INDEX_ATTEMPTS, now() - 60, 100)
            .await?;
        for (m, plugin) in jobs {
            let Some(input) = self.stored_input(&m).await? else {
                continue;
            };
            let result = match self
                .plugins()
                .index_one(&plugin, &input, self.blob_source(&m.repository))
                .await
            {
                None => continue,
                Some(Ok(doc)) => IndexResult::Done(doc.map(stored)),
                Some(Err(e)) => IndexResult::Failed(e.to_string()),
            };
            self.meta().store_index(&m, &plugin, result).await?;
        }
        Ok(())
    }
}
