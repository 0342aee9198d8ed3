//! The registry's operations behind the HTTP routes: one [`App`] holding configuration,
//! the blob store and the metadata store, plus the background work that keeps them tidy.

pub mod indexing;
pub mod install;
pub mod manifest;
pub mod policy;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::metadata::{MetadataStore, SqliteStore, now};
use crate::plugins::PluginHost;
use crate::storage::{BlobStore, FsBlobStore};

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    blobs: Arc<dyn BlobStore>,
    meta: Arc<dyn MetadataStore>,
    plugins: Arc<PluginHost>,
    policies: policy::Policies,
}

impl App {
    /// Open the stores named by `config` (creating them on first use) and tidy what a
    /// previous crash may have left behind.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let fsync = config.storage.fsync.unwrap_or(true);
        let blobs = FsBlobStore::open(config.storage_path(), fsync)?;
        let meta = SqliteStore::open(
            config.metadata_path(),
            config.metadata.read_connections.unwrap_or(8),
        )?;
        let plugins = PluginHost::load(&config)?;
        let policies = policy::Policies::new(&config.policy)?;
        let app = App {
            inner: Arc::new(Inner {
                config,
                blobs: Arc::new(blobs),
                meta: Arc::new(meta),
                plugins: Arc::new(plugins),
                policies,
            }),
        };
        app.reconcile_uploads().await?;
        app.sync_installed_plugins().await?;
        app.refresh_plugin_switches().await?;
        Ok(app)
    }

    /// The plugin host, shared (for work on the blocking pool).
    fn inner_plugins(&self) -> Arc<PluginHost> {
        self.inner.plugins.clone()
    }

    /// The policy rules in force.
    pub fn policies(&self) -> &policy::Policies {
        &self.inner.policies
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The blob store.
    pub fn blobs(&self) -> &dyn BlobStore {
        self.inner.blobs.as_ref()
    }

    /// The metadata store.
    pub fn meta(&self) -> &dyn MetadataStore {
        self.inner.meta.as_ref()
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &PluginHost {
        self.inner.plugins.as_ref()
    }

    /// Read the run-time plugin switches (another replica may have changed them).
    pub async fn refresh_plugin_switches(&self) -> anyhow::Result<()> {
        let switches = self.meta().plugin_switches().await?;
        self.plugins().apply_switches(&switches);
        Ok(())
    }

    /// Switch a plugin on or off for every replica; `None` returns it to its configuration.
    pub async fn switch_plugin(&self, name: &str, enabled: Option<bool>) -> anyhow::Result<()> {
        self.meta().set_plugin_switch(name, enabled).await?;
        self.refresh_plugin_switches().await
    }

    /// Drop upload data that no session record owns (a crash between the two writes
    /// that create a session), and expire idle sessions.
    async fn reconcile_uploads(&self) -> anyhow::Result<()> {
        for id in self.blobs().list_uploads().await? {
            if self.meta().get_upload(&id).await?.is_none() {
                self.blobs().delete_upload(&id).await?;
            }
        }
        self.expire_uploads().await
    }

    /// Remove upload sessions idle for longer than the configured TTL.
    pub async fn expire_uploads(&self) -> anyhow::Result<()> {
        let ttl = self.config().limits.upload_session_ttl_secs as i64;
        for id in self.meta().stale_uploads(now() - ttl).await? {
            self.blobs().delete_upload(&id).await?;
            self.meta().delete_upload(&id).await?;
            tracing::info!(session = %id, "expired idle upload session");
        }
        Ok(())
    }

    /// Start periodic maintenance on the current runtime: upload expiry every ten
    /// minutes; plugin switches and retries of failed indexing every thirty seconds.
    pub fn spawn_maintenance(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            let mut rounds: u64 = 0;
            loop {
                tick.tick().await;
                if rounds.is_multiple_of(20)
                    && let Err(e) = app.expire_uploads().await
                {
                    tracing::warn!(error = %e, "upload expiry failed");
                }
                if let Err(e) = app.sync_installed_plugins().await {
                    tracing::warn!(error = %e, "reading installed plugins failed");
                }
                if let Err(e) = app.refresh_plugin_switches().await {
                    tracing::warn!(error = %e, "reading plugin switches failed");
                }
                if let Err(e) = app.retry_failed_indexing().await {
                    tracing::warn!(error = %e, "index retry failed");
                }
                rounds += 1;
            }
        });
    }
}
