//! Settings: embedded defaults, overridden by a TOML file, overridden by `ARCA_*`
//! environment variables (`__` separates nesting: `ARCA_LIMITS__MAX_MANIFEST_BYTES`),
//! overridden by command-line flags. `docs/configuration.md` documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:5000`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where everything is stored unless `storage.path` / `metadata.path` say otherwise.
    pub data_dir: PathBuf,
    /// Blob storage.
    pub storage: StorageConfig,
    /// Metadata store.
    pub metadata: MetadataConfig,
    /// Size and time limits.
    pub limits: Limits,
    /// Logging.
    pub log: LogConfig,
}

/// Blob storage settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory of the filesystem blob store (default `<data_dir>/storage`).
    pub path: Option<PathBuf>,
    /// `fsync` blobs and directories before acknowledging them (default true).
    pub fsync: Option<bool>,
}

/// Metadata store settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataConfig {
    /// SQLite database file (default `<data_dir>/arca.db`).
    pub path: Option<PathBuf>,
    /// Read connections in the pool (default 8).
    pub read_connections: Option<usize>,
}

/// Limits, each enforced with an OCI error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest manifest accepted, in bytes (413 above it). Default 4 MiB.
    pub max_manifest_bytes: u64,
    /// Upload sessions untouched for this many seconds are expired. Default 24 h.
    pub upload_session_ttl_secs: u64,
    /// Largest `n` honoured on tag and catalog pages. Default 10,000.
    pub max_page_size: u32,
    /// Seconds in-flight requests get to finish after SIGTERM. Default 30.
    pub shutdown_grace_secs: u64,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter, e.g. `info` or `arca=debug,tower=warn` (`RUST_LOG` wins if set).
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("./data"),
            storage: StorageConfig::default(),
            metadata: MetadataConfig::default(),
            limits: Limits::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 4 * 1024 * 1024,
            upload_session_ttl_secs: 24 * 3600,
            max_page_size: 10_000,
            shutdown_grace_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Defaults with everything stored under `dir` (handy for tests).
    pub fn with_data_dir(dir: impl AsRef<Path>) -> Self {
        Config {
            data_dir: dir.as_ref().to_path_buf(),
            ..Config::default()
        }
    }

    /// Defaults, then the TOML file (if any), then `ARCA_*` environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                anyhow::bail!("config file {} does not exist", file.display());
            }
            fig = fig.merge(Toml::file(file));
        }
        fig = fig.merge(
            Env::prefixed("ARCA_")
                .ignore(&["CONFIG", "BIN", "PYTHON", "TOOLS_DIR"])
                .split("__"),
        );
        Ok(fig.extract()?)
    }

    /// The blob store directory.
    pub fn storage_path(&self) -> PathBuf {
        self.storage
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("storage"))
    }

    /// The SQLite file.
    pub fn metadata_path(&self) -> PathBuf {
        self.metadata
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("arca.db"))
    }
}
