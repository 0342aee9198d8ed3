//! Settings: embedded defaults, overridden by a TOML file, overridden by `ARCA_*`
//! environment variables (`__` separates nesting: `ARCA_LIMITS__MAX_MANIFEST_BYTES`),
//! overridden by command-line flags. `docs/configuration.md` documents every key.

use std::collections::BTreeMap;
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
    /// The plugin runtime.
    pub plugins: PluginsConfig,
    /// Per-plugin settings, by plugin name.
    pub plugin: BTreeMap<String, PluginConfig>,
    /// Policy rules over plugin facets (`[[policy]]`), enforced on pull and tag.
    pub policy: Vec<crate::registry::policy::PolicyRule>,
    /// Documents served under `/.well-known/` (`[[well_known]]`), e.g. discovery files
    /// that clients of one artifact type look for on the registry host.
    pub well_known: Vec<WellKnown>,
}

/// A document served at `/.well-known/<path>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WellKnown {
    /// Path under `/.well-known/`, e.g. `wasm-pkg/registry.json`.
    pub path: String,
    /// Its media type. Default `application/json`.
    #[serde(default = "json_type")]
    pub content_type: String,
    /// The body; `{host}` is replaced by the request's `Host` header (the registry as the
    /// client reached it).
    pub body: String,
}

fn json_type() -> String {
    "application/json".into()
}

/// Settings of the plugin runtime as a whole; each limit can be overridden per plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Load the built-in plugins embedded in the binary. Default true.
    pub builtin: bool,
    /// More plugins: paths of `.wasm` components.
    pub files: Vec<PathBuf>,
    /// Wall-clock deadline of one plugin call, in milliseconds. Default 2000.
    pub deadline_ms: u64,
    /// Memory cap of one plugin instance, in MiB. Default 128.
    pub memory_mib: u64,
    /// Most bytes a call may return (documents, rendered views). Default 16 MiB.
    pub max_output_bytes: u64,
    /// Most violations reported in a rejection's `detail`. Default 100.
    pub max_violations: usize,
    /// Plugin instances running at once. Default: twice the CPU count.
    pub concurrency: Option<usize>,
    /// Where precompiled plugins are cached. Default `<data_dir>/plugin-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Largest component `arca plugin install` accepts, in bytes. Default 64 MiB.
    pub max_component_bytes: u64,
    /// Registries (`host:port`) that `arca plugin install` reaches over plain HTTP;
    /// loopback addresses always are.
    pub insecure_registries: Vec<String>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            builtin: true,
            files: Vec::new(),
            deadline_ms: 2000,
            memory_mib: 128,
            max_output_bytes: 16 * 1024 * 1024,
            max_violations: 100,
            concurrency: None,
            cache_dir: None,
            max_component_bytes: 64 * 1024 * 1024,
            insecure_registries: Vec::new(),
        }
    }
}

/// One plugin's settings, under `[plugin.<name>]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginConfig {
    /// Whether the plugin runs at all. Default true.
    pub enabled: bool,
    /// What a failing validator (trap, timeout, memory cap) means: `reject` (default) or `accept`.
    pub on_error: OnError,
    /// Deadline override, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Memory cap override, in MiB.
    pub memory_mib: Option<u64>,
    /// Output cap override, in bytes.
    pub max_output_bytes: Option<u64>,
    /// Reuse an instance for up to this many calls instead of a fresh one per call, for
    /// plugins with heavy start-up. Unset or 1: a fresh instance per call.
    pub warm_calls: Option<u32>,
    /// Settings handed to the plugin as JSON (its `config.get`).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Per-repository overrides, applied in order to repositories matching `pattern`
    /// (`*` within a path segment, `**` across segments).
    pub repositories: Vec<RepositoryOverride>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enabled: true,
            on_error: OnError::Reject,
            deadline_ms: None,
            memory_mib: None,
            max_output_bytes: None,
            warm_calls: None,
            settings: serde_json::Map::new(),
            repositories: Vec::new(),
        }
    }
}

/// Settings for the repositories matching a glob.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepositoryOverride {
    /// Repository glob, e.g. `team-a/**` or `charts/*`.
    pub pattern: String,
    /// Turn the plugin on or off for these repositories.
    pub enabled: Option<bool>,
    /// Settings merged over the plugin's own (objects merge key by key).
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// What a failed validator call means for the push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Refuse the push (fail closed).
    Reject,
    /// Accept the push and log the failure (fail open).
    Accept,
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
            plugins: PluginsConfig::default(),
            plugin: BTreeMap::new(),
            policy: Vec::new(),
            well_known: Vec::new(),
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

/// The top-level configuration keys, as `ARCA_<KEY>` variables may name them.
const CONFIG_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "storage",
    "metadata",
    "limits",
    "log",
    "plugins",
    "plugin",
    "policy",
    "well_known",
];

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
            // Only variables naming a configuration key: other ARCA_* variables (ARCA_URL for
            // the CLI, test settings) must not make `deny_unknown_fields` refuse to start.
            Env::prefixed("ARCA_")
                .filter(|k| {
                    let top = k
                        .as_str()
                        .split("__")
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    CONFIG_KEYS.contains(&top.as_str())
                })
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

    /// The precompiled-plugin cache directory.
    pub fn plugin_cache_path(&self) -> PathBuf {
        self.plugins
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("plugin-cache"))
    }

    /// The SQLite file.
    pub fn metadata_path(&self) -> PathBuf {
        self.metadata
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("arca.db"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail returns its own large error type
    fn arca_variables_that_name_no_setting_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ARCA_URL", "http://elsewhere");
            jail.set_env("ARCA_TEST_THREADS", "4");
            jail.set_env("ARCA_LIMITS__MAX_PAGE_SIZE", "7");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.limits.max_page_size, 7);
            Ok(())
        });
    }
}
