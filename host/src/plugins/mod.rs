//! Plugins: loading, selecting and calling the WebAssembly components that know artifact
//! types. The rest of the host sees typed calls only — "validate / index / render this
//! manifest" — never wasmtime.
//!
//! Selection: a plugin handles a manifest when one of its patterns matches the manifest's
//! `artifactType`, its config media type, a layer media type or its own media type
//! (parameters ignored). Calls run on the blocking pool behind a semaphore sized to the
//! instance pool, each in a fresh instance with its plugin's deadline and memory cap.

mod sandbox;

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use globset::GlobMatcher;
use serde::Serialize;

use crate::config::{Config, OnError, PluginConfig};
use crate::digest::Algorithm;

use sandbox::{ArtifactPluginPre, CallScope, HostState, Sandbox, WarmPool, wit};

/// Where the plugin logic reads blobs from (the registry, or files for `arca plugin check`).
pub trait BlobSource: Send + Sync + 'static {
    /// Open a blob: its size and a reader over its bytes.
    fn open(&self, digest: &str) -> Result<(u64, Box<dyn Read + Send>), String>;
}

/// Why a plugin call failed (as opposed to the plugin rejecting something).
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The call ran past its deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The instance hit its memory cap.
    #[error("exceeded its memory cap of {} MiB", .0 / (1024 * 1024))]
    Memory(u64),
    /// The guest trapped (a panic is a trap).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin returned an error.
    #[error("failed: {0}")]
    Plugin(String),
    /// The result was larger than allowed.
    #[error("returned {0} bytes, over the output limit of {1}")]
    Output(u64, u64),
}

/// A descriptor as plugins see it.
#[derive(Debug, Clone, Default)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: String,
    /// Size.
    pub size: u64,
    /// Artifact type.
    pub artifact_type: Option<String>,
    /// Annotations.
    pub annotations: Vec<(String, String)>,
}

/// A manifest as plugins see it.
#[derive(Debug, Clone, Default)]
pub struct ManifestInput {
    /// Repository.
    pub repository: String,
    /// Tag, if pushed by tag.
    pub tag: Option<String>,
    /// Digest.
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// Config descriptor.
    pub config: Option<Descriptor>,
    /// Layers or index entries.
    pub layers: Vec<Descriptor>,
    /// Subject.
    pub subject: Option<Descriptor>,
    /// Annotations.
    pub annotations: Vec<(String, String)>,
    /// Exact bytes.
    pub raw: Vec<u8>,
}

impl ManifestInput {
    fn media_types(&self) -> impl Iterator<Item = &str> {
        self.artifact_type
            .iter()
            .map(String::as_str)
            .chain(self.config.iter().map(|c| c.media_type.as_str()))
            .chain(self.layers.iter().map(|l| l.media_type.as_str()))
            .chain(std::iter::once(self.media_type.as_str()))
            .map(essence)
    }

    fn referenced(&self) -> HashSet<String> {
        self.config
            .iter()
            .chain(self.layers.iter())
            .chain(self.subject.iter())
            .map(|d| d.digest.clone())
            .collect()
    }
}

use crate::registry::manifest::media_type_essence as essence;

/// A violation reported by a plugin.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer or file path.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A plugin's verdict on a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the plugin refuses the manifest.
    pub rejected: bool,
    /// Violations (or, when accepted, warnings), at most `plugins.max_violations` of them.
    pub violations: Vec<Violation>,
    /// How many the plugin reported in all.
    pub total: usize,
}

/// A searchable pair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Facet {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// What a plugin's `index` returned.
#[derive(Debug, Clone)]
pub struct Document {
    /// A JSON object (validated to be JSON by the host).
    pub json: String,
    /// Facets about the manifest.
    pub facets: Vec<Facet>,
    /// Facets about its subject.
    pub subject_facets: Vec<Facet>,
    /// The subject named by the plugin.
    pub subject: Option<String>,
}

/// A rendered view.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Media type.
    pub media_type: String,
    /// Bytes.
    pub body: Vec<u8>,
}

/// What a loaded plugin declares, as `GET /_arca/v1/plugins` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginDescription {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Media type patterns.
    pub handles: Vec<String>,
    /// Capabilities: `validate`, `index`, `render`.
    pub capabilities: Vec<&'static str>,
    /// Views.
    pub views: Vec<String>,
    /// `sha256:` of the component.
    pub digest: String,
    /// `builtin` or the file it came from.
    pub source: String,
    /// Whether it runs (it may still be turned off per repository): the run-time switch
    /// if one is set, else the configuration.
    pub enabled: bool,
    /// Whether `enabled` comes from a run-time switch (`arca plugin enable/disable`).
    pub switched: bool,
    /// What a failed validation means.
    pub on_error: &'static str,
    /// Deadline in milliseconds.
    pub deadline_ms: u64,
    /// Memory cap in MiB.
    pub memory_mib: u64,
    /// Calls an instance serves before it is replaced (1: a fresh instance per call).
    pub warm_calls: u32,
}

struct Loaded {
    desc: PluginDescription,
    patterns: Vec<String>,
    validate: bool,
    index: bool,
    render: bool,
    pre: ArtifactPluginPre<HostState>,
    settings: serde_json::Map<String, serde_json::Value>,
    overrides: Vec<(
        GlobMatcher,
        Option<bool>,
        serde_json::Map<String, serde_json::Value>,
    )>,
    deadline: Duration,
    memory: u64,
    max_output: u64,
    on_error: OnError,
    name: Arc<str>,
    /// The run-time switch, shared by every replica through the metadata store.
    switch: std::sync::RwLock<Option<bool>>,
    /// Warm instances, when `warm_calls` is set.
    warm: Option<WarmPool>,
}

impl Loaded {
    /// Installed at run time from an OCI reference (not built in, not a configured file).
    fn installed(&self) -> bool {
        self.desc.source.starts_with(INSTALLED_PREFIX)
    }

    fn enabled(&self) -> bool {
        self.switch
            .read()
            .map_or(None, |s| *s)
            .unwrap_or(self.desc.enabled)
    }

    fn handles(&self, m: &ManifestInput) -> bool {
        m.media_types().any(|t| {
            self.patterns.iter().any(|p| {
                p == "*"
                    || p.strip_suffix('*')
                        .map_or(p == t, |prefix| t.starts_with(prefix))
            })
        })
    }

    /// Settings for `repository`: the plugin's own, with every matching override merged in
    /// order; `None` when turned off there.
    fn settings_for(&self, repository: &str) -> Option<serde_json::Value> {
        let mut enabled = self.enabled();
        let mut settings = serde_json::Value::Object(self.settings.clone());
        for (glob, on, over) in &self.overrides {
            if glob.is_match(repository) {
                if let Some(on) = on {
                    enabled = *on;
                }
                merge(&mut settings, &serde_json::Value::Object(over.clone()));
            }
        }
        enabled.then_some(settings)
    }
}

fn merge(base: &mut serde_json::Value, over: &serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Compile a repository glob of arca's one dialect: `*` within a segment, `**` across.
pub fn repository_glob(pattern: &str) -> anyhow::Result<GlobMatcher> {
    Ok(globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| anyhow::anyhow!("bad repository pattern {pattern:?}: {e}"))?
        .compile_matcher())
}

/// One plugin's result for one call.
pub struct Outcome<T> {
    /// The plugin's name.
    pub plugin: String,
    /// What it returned, or why the call failed.
    pub result: Result<T, CallError>,
    /// Whether a failure should refuse a push.
    pub fail_closed: bool,
}

/// The source label of plugins installed at run time: `oci:<reference>@<digest>`.
pub const INSTALLED_PREFIX: &str = "oci:";

/// A built-in plugin: compiled from `plugins/` by the build script and embedded.
struct Builtin {
    name: &'static str,
    wasm: &'static [u8],
    /// Default `warm_calls`: plugins that compile schemas once and reuse them need warm
    /// instances to be fast; configuration still decides.
    warm_calls: Option<u32>,
    /// Default `deadline_ms`, for plugins whose honest work (unpacking a 100 MiB chart)
    /// takes longer than the global default.
    deadline_ms: Option<u64>,
    /// Default `memory_mib`, for plugins that parse big documents (an SBOM takes about ten
    /// times its size once parsed).
    memory_mib: Option<u64>,
}

const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "image",
        wasm: include_bytes!(env!("ARCA_PLUGIN_IMAGE_WASM")),
        warm_calls: None,
        deadline_ms: None,
        memory_mib: None,
    },
    Builtin {
        name: "helm",
        wasm: include_bytes!(env!("ARCA_PLUGIN_HELM_WASM")),
        warm_calls: None,
        deadline_ms: Some(10_000),
        memory_mib: None,
    },
    Builtin {
        name: "wasm",
        wasm: include_bytes!(env!("ARCA_PLUGIN_WASM_WASM")),
        warm_calls: None,
        deadline_ms: Some(10_000),
        memory_mib: None,
    },
    Builtin {
        name: "sbom",
        wasm: include_bytes!(env!("ARCA_PLUGIN_SBOM_WASM")),
        warm_calls: Some(100),
        deadline_ms: Some(10_000),
        memory_mib: Some(256),
    },
    Builtin {
        name: "signature",
        wasm: include_bytes!(env!("ARCA_PLUGIN_SIGNATURE_WASM")),
        warm_calls: None,
        deadline_ms: None,
        memory_mib: None,
    },
];

/// All loaded plugins and the sandbox they run in.
pub struct PluginHost {
    sandbox: Arc<Sandbox>,
    /// Replaced whole when a plugin is installed or removed at run time; calls work on a
    /// snapshot, so one in flight finishes with the plugin it started with.
    plugins: std::sync::RwLock<Arc<Vec<Arc<Loaded>>>>,
    max_violations: usize,
    /// The configuration plugins installed at run time are set up with.
    config: Config,
}

impl PluginHost {
    /// Load the built-in plugins (unless turned off) and every configured file.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
        if config.plugins.builtin {
            for b in BUILTIN {
                sources.push((format!("builtin:{}", b.name), b.wasm.to_vec()));
            }
        }
        for path in &config.plugins.files {
            let wasm = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read plugin {}: {e}", path.display()))?;
            sources.push((path.display().to_string(), wasm));
        }
        Self::from_sources(config, sources)
    }

    /// Load exactly these components (`(source label, wasm bytes)`).
    pub fn from_sources(config: &Config, sources: Vec<(String, Vec<u8>)>) -> anyhow::Result<Self> {
        let p = &config.plugins;
        let concurrency = p
            .concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) * 2);
        // Instance-pool slots fit the largest memory cap any plugin may get, built-in
        // defaults included.
        let builtin_mem = BUILTIN
            .iter()
            .filter(|b| {
                p.builtin
                    && config
                        .plugin
                        .get(b.name)
                        .is_none_or(|c| c.memory_mib.is_none())
            })
            .filter_map(|b| b.memory_mib);
        let max_mem_mib = config
            .plugin
            .values()
            .filter_map(|c| c.memory_mib)
            .chain(builtin_mem)
            .chain(std::iter::once(p.memory_mib))
            .max()
            .unwrap_or(p.memory_mib);
        let sandbox = Sandbox::shared(
            concurrency as u32 + 2 + sandbox::WARM_POOL_SLOTS,
            max_mem_mib * 1024 * 1024,
        )?;
        let cache_dir = config.plugin_cache_path();
        let mut plugins = Vec::new();
        let mut names = HashSet::new();
        for (source, wasm) in sources {
            let digest = Algorithm::Sha256.digest(&wasm);
            let pre = sandbox
                .prepare(&wasm, digest.hex(), &cache_dir)
                .map_err(|e| anyhow::anyhow!("plugin {source}: cannot load component: {e:#}"))?;
            let info = Self::info_of(&sandbox, &pre, &source, p.deadline_ms)?;
            if !names.insert(info.name.clone()) {
                anyhow::bail!(
                    "plugin {source}: another plugin is already named {:?}",
                    info.name
                );
            }
            let mut pc = config.plugin.get(&info.name).cloned().unwrap_or_default();
            if let Some(b) = BUILTIN
                .iter()
                .find(|b| source.strip_prefix("builtin:") == Some(b.name))
            {
                pc.warm_calls = pc.warm_calls.or(b.warm_calls);
                pc.deadline_ms = pc.deadline_ms.or(b.deadline_ms);
                pc.memory_mib = pc.memory_mib.or(b.memory_mib);
            }
            plugins.push(Arc::new(Self::loaded(
                info,
                pc,
                pre,
                digest.to_string(),
                source,
                p,
            )?));
        }
        for name in config.plugin.keys() {
            if !names.contains(name) {
                tracing::warn!(plugin = %name, "settings given for a plugin that is not loaded");
            }
        }
        Ok(PluginHost {
            sandbox,
            plugins: std::sync::RwLock::new(Arc::new(plugins)),
            max_violations: p.max_violations,
            config: config.clone(),
        })
    }

    /// The plugins loaded now.
    fn list(&self) -> Arc<Vec<Arc<Loaded>>> {
        self.plugins
            .read()
            .map_or_else(|e| e.into_inner().clone(), |l| l.clone())
    }

    /// Load a component at run time (`arca plugin install`), labelled `source`. Replaces a
    /// plugin of the same name that was itself installed; refuses to shadow a built-in or
    /// configured one.
    pub fn install(&self, source: String, wasm: &[u8]) -> anyhow::Result<PluginDescription> {
        let p = &self.config.plugins;
        let digest = Algorithm::Sha256.digest(wasm);
        let pre = self
            .sandbox
            .prepare(wasm, digest.hex(), &self.config.plugin_cache_path())
            .map_err(|e| anyhow::anyhow!("{source} is not a loadable plugin component: {e:#}"))?;
        let info = Self::info_of(&self.sandbox, &pre, &source, p.deadline_ms)?;
        let pc = self
            .config
            .plugin
            .get(&info.name)
            .cloned()
            .unwrap_or_default();
        let loaded = Arc::new(Self::loaded(info, pc, pre, digest.to_string(), source, p)?);
        let mut guard = self.plugins.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Vec<Arc<Loaded>> = guard.as_ref().clone();
        if let Some(i) = next.iter().position(|l| l.desc.name == loaded.desc.name) {
            if !next[i].installed() {
                anyhow::bail!(
                    "a plugin named {:?} is already loaded from {}; an installed plugin cannot replace it",
                    loaded.desc.name,
                    next[i].desc.source
                );
            }
            next[i] = loaded.clone();
        } else {
            next.push(loaded.clone());
        }
        *guard = Arc::new(next);
        Ok(Self::description(&loaded))
    }

    /// Unload a plugin installed at run time. `Ok(false)`: no plugin of that name.
    pub fn uninstall(&self, name: &str) -> anyhow::Result<bool> {
        let mut guard = self.plugins.write().unwrap_or_else(|e| e.into_inner());
        let Some(i) = guard.iter().position(|l| l.desc.name == name) else {
            return Ok(false);
        };
        if !guard[i].installed() {
            anyhow::bail!(
                "plugin {name:?} comes from {}, not from `arca plugin install`: turn it off with `arca plugin disable {name}` instead",
                guard[i].desc.source
            );
        }
        let mut next: Vec<Arc<Loaded>> = guard.as_ref().clone();
        next.remove(i);
        *guard = Arc::new(next);
        Ok(true)
    }

    fn info_of(
        sandbox: &Sandbox,
        pre: &ArtifactPluginPre<HostState>,
        source: &str,
        deadline_ms: u64,
    ) -> anyhow::Result<wit::PluginInfo> {
        let scope = CallScope {
            plugin: Arc::from(source),
            allowed: HashSet::new(),
            source: None,
            config: "{}".into(),
        };
        let info = sandbox
            .call(
                pre,
                None,
                scope,
                Duration::from_millis(deadline_ms),
                64 << 20,
                |p, s| p.arca_plugin_plugin().call_info(s),
            )
            .map_err(|e| anyhow::anyhow!("plugin {source}: info() {e}"))?;
        let name_ok = !info.name.is_empty()
            && info.name.len() <= 64
            && info
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            anyhow::bail!(
                "plugin {source}: name {:?} must match [a-z0-9-]{{1,64}}",
                info.name
            );
        }
        Ok(info)
    }

    fn loaded(
        info: wit::PluginInfo,
        pc: PluginConfig,
        pre: ArtifactPluginPre<HostState>,
        digest: String,
        source: String,
        p: &crate::config::PluginsConfig,
    ) -> anyhow::Result<Loaded> {
        let caps = info.capabilities;
        let (validate, index, render) = (
            caps.contains(wit::Capabilities::VALIDATE),
            caps.contains(wit::Capabilities::INDEX),
            caps.contains(wit::Capabilities::RENDER),
        );
        let mut capabilities = Vec::new();
        for (on, name) in [(validate, "validate"), (index, "index"), (render, "render")] {
            if on {
                capabilities.push(name);
            }
        }
        let deadline_ms = pc.deadline_ms.unwrap_or(p.deadline_ms);
        let memory_mib = pc.memory_mib.unwrap_or(p.memory_mib);
        let overrides = pc
            .repositories
            .iter()
            .map(|o| Ok((repository_glob(&o.pattern)?, o.enabled, o.settings.clone())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let source = source
            .strip_prefix("builtin:")
            .map_or(source.clone(), |_| "builtin".into());
        Ok(Loaded {
            name: Arc::from(info.name.as_str()),
            patterns: info
                .handles
                .iter()
                .map(|h| essence(h).to_string())
                .collect(),
            desc: PluginDescription {
                name: info.name,
                version: info.version,
                handles: info.handles,
                capabilities,
                views: info.views,
                digest,
                source,
                enabled: pc.enabled,
                switched: false,
                on_error: match pc.on_error {
                    OnError::Reject => "reject",
                    OnError::Accept => "accept",
                },
                deadline_ms,
                memory_mib,
                warm_calls: pc.warm_calls.unwrap_or(1).max(1),
            },
            validate,
            index,
            render,
            pre,
            settings: pc.settings,
            overrides,
            deadline: Duration::from_millis(deadline_ms),
            memory: memory_mib * 1024 * 1024,
            max_output: pc.max_output_bytes.unwrap_or(p.max_output_bytes),
            on_error: pc.on_error,
            switch: std::sync::RwLock::new(None),
            warm: pc.warm_calls.filter(|n| *n > 1).map(WarmPool::new),
        })
    }

    /// Apply the run-time switches read from the metadata store.
    pub fn apply_switches(&self, switches: &[(String, bool)]) {
        for p in self.list().iter() {
            let on = switches
                .iter()
                .find(|(n, _)| *n == p.desc.name)
                .map(|(_, on)| *on);
            if let Ok(mut s) = p.switch.write() {
                *s = on;
            }
        }
    }

    /// What is loaded.
    pub fn describe(&self) -> Vec<PluginDescription> {
        self.list().iter().map(|p| Self::description(p)).collect()
    }

    fn description(p: &Loaded) -> PluginDescription {
        let mut d = p.desc.clone();
        d.switched = p.switch.read().map_or(None, |s| *s).is_some();
        d.enabled = p.enabled();
        d
    }

    /// Whether a plugin of this name is loaded.
    pub fn get(&self, name: &str) -> Option<PluginDescription> {
        self.find(name).map(|p| Self::description(&p))
    }

    fn find(&self, name: &str) -> Option<Arc<Loaded>> {
        self.list().iter().find(|p| p.desc.name == name).cloned()
    }

    /// How many violations a rejection lists.
    pub fn max_violations(&self) -> usize {
        self.max_violations
    }

    /// Names of the plugins that would validate (`true`) or index (`false`) `m`.
    pub fn selected(&self, m: &ManifestInput, validate: bool) -> Vec<String> {
        self.select(m, validate)
            .into_iter()
            .map(|(p, _)| p.desc.name.clone())
            .collect()
    }

    fn select(&self, m: &ManifestInput, validate: bool) -> Vec<(Arc<Loaded>, serde_json::Value)> {
        self.list()
            .iter()
            .filter(|p| if validate { p.validate } else { p.index })
            .filter(|p| p.handles(m))
            .filter_map(|p| p.settings_for(&m.repository).map(|s| (p.clone(), s)))
            .collect()
    }

    async fn run<T: Send + 'static>(
        &self,
        plugin: Arc<Loaded>,
        scope: CallScope,
        f: impl FnOnce(
            &sandbox::Bindings,
            &mut wasmtime::Store<HostState>,
        ) -> wasmtime::Result<Result<T, String>>
        + Send
        + 'static,
    ) -> Result<T, CallError> {
        let permit = self.sandbox.permits.clone().acquire_owned().await;
        let sandbox = self.sandbox.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            sandbox.call(
                &plugin.pre,
                plugin.warm.as_ref(),
                scope,
                plugin.deadline,
                plugin.memory,
                f,
            )
        })
        .await;
        match joined {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(msg))) => Err(CallError::Plugin(msg.chars().take(4096).collect())),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(CallError::Trap(format!("host task failed: {e}"))),
        }
    }

    fn scope(
        p: &Loaded,
        m: Option<&ManifestInput>,
        source: Option<Arc<dyn BlobSource>>,
        settings: &serde_json::Value,
    ) -> CallScope {
        CallScope {
            plugin: p.name.clone(),
            allowed: m.map(ManifestInput::referenced).unwrap_or_default(),
            source,
            config: settings.to_string(),
        }
    }

    /// Run every matching validator, in parallel.
    pub async fn validate(
        &self,
        m: &Arc<ManifestInput>,
        source: Arc<dyn BlobSource>,
    ) -> Vec<Outcome<Verdict>> {
        let max_violations = self.max_violations;
        let calls = self.select(m, true).into_iter().map(|(p, settings)| {
            let max_out = p.max_output;
            let scope = Self::scope(&p, Some(m), Some(source.clone()), &settings);
            let input = to_wit(m);
            let (name, fail_closed) = (p.desc.name.clone(), p.on_error == OnError::Reject);
            async move {
                let result = self
                    .run(p, scope, move |b, s| {
                        let v = b.arca_plugin_plugin().call_validate(s, &input)?;
                        Ok(Ok(v))
                    })
                    .await
                    .map(|v| from_wit_verdict(v, max_violations, max_out));
                Outcome {
                    plugin: name,
                    result,
                    fail_closed,
                }
            }
        });
        futures_util::future::join_all(calls).await
    }

    /// Run every matching indexer, in parallel.
    pub async fn index(
        &self,
        m: &Arc<ManifestInput>,
        source: Arc<dyn BlobSource>,
    ) -> Vec<Outcome<Option<Document>>> {
        let calls = self.select(m, false).into_iter().map(|(p, settings)| {
            let max_out = p.max_output;
            let scope = Self::scope(&p, Some(m), Some(source.clone()), &settings);
            let input = to_wit(m);
            let name = p.desc.name.clone();
            async move {
                let result = self
                    .run(p, scope, move |b, s| {
                        b.arca_plugin_plugin().call_index(s, &input)
                    })
                    .await
                    .and_then(|d| d.map(|d| from_wit_document(d, max_out)).transpose());
                Outcome {
                    plugin: name,
                    result,
                    fail_closed: false,
                }
            }
        });
        futures_util::future::join_all(calls).await
    }

    /// Run one indexer by name (for reindexing and retries).
    pub async fn index_one(
        &self,
        plugin: &str,
        m: &Arc<ManifestInput>,
        source: Arc<dyn BlobSource>,
    ) -> Option<Result<Option<Document>, CallError>> {
        let (p, settings) = self
            .select(m, false)
            .into_iter()
            .find(|(p, _)| p.desc.name == plugin)?;
        let scope = Self::scope(&p, Some(m), Some(source), &settings);
        let input = to_wit(m);
        let max_out = p.max_output;
        Some(
            self.run(p, scope, move |b, s| {
                b.arca_plugin_plugin().call_index(s, &input)
            })
            .await
            .and_then(|d| d.map(|d| from_wit_document(d, max_out)).transpose()),
        )
    }

    /// Render `view` of `plugin`, over one manifest or over documents.
    pub async fn render(
        &self,
        plugin: &str,
        view: &str,
        prefix: &str,
        target: Option<(&Arc<ManifestInput>, Arc<dyn BlobSource>)>,
        documents: Vec<String>,
    ) -> Option<Result<Rendered, CallError>> {
        let p = self.find(plugin)?;
        if !p.render || !p.desc.views.iter().any(|v| v == view) {
            return None;
        }
        let repository = target
            .as_ref()
            .map_or(prefix.to_string(), |(m, _)| m.repository.clone());
        let settings = p.settings_for(&repository)?;
        let input = target.as_ref().map(|(m, _)| to_wit(m));
        let (m, source) = match target {
            Some((m, s)) => (Some(m.as_ref()), Some(s)),
            None => (None, None),
        };
        let scope = Self::scope(&p, m, source, &settings);
        let (view, prefix) = (view.to_string(), prefix.to_string());
        let max_out = p.max_output;
        let r = self
            .run(p, scope, move |b, s| {
                b.arca_plugin_plugin()
                    .call_render(s, &view, &prefix, input.as_ref(), &documents)
            })
            .await
            .and_then(|r| {
                if r.body.len() as u64 > max_out {
                    return Err(CallError::Output(r.body.len() as u64, max_out));
                }
                Ok(Rendered {
                    media_type: r.media_type,
                    body: r.body,
                })
            });
        Some(r)
    }
}

fn to_wit_desc(d: &Descriptor) -> wit::Descriptor {
    wit::Descriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
        artifact_type: d.artifact_type.clone(),
        annotations: d.annotations.clone(),
    }
}

fn to_wit(m: &ManifestInput) -> wit::Manifest {
    wit::Manifest {
        repository: m.repository.clone(),
        tag: m.tag.clone(),
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        artifact_type: m.artifact_type.clone(),
        config: m.config.as_ref().map(to_wit_desc),
        layers: m.layers.iter().map(to_wit_desc).collect(),
        subject: m.subject.as_ref().map(to_wit_desc),
        annotations: m.annotations.clone(),
        raw: m.raw.clone(),
    }
}

fn violations(v: Vec<wit::Violation>) -> Vec<Violation> {
    v.into_iter()
        .map(|v| Violation {
            path: v.path.chars().take(1024).collect(),
            message: v.message.chars().take(4096).collect(),
        })
        .collect()
}

/// Keep at most `max` violations and `max_out` bytes of them; the total is always counted.
fn from_wit_verdict(v: wit::Verdict, max: usize, max_out: u64) -> Verdict {
    let (rejected, list) = match v {
        wit::Verdict::Accept(w) => (false, w),
        wit::Verdict::Reject(r) => (true, r),
    };
    let total = list.len();
    let mut used = 0u64;
    let kept = list
        .into_iter()
        .take(max)
        .take_while(|v| {
            used += (v.path.len() + v.message.len()) as u64;
            used <= max_out
        })
        .collect();
    Verdict {
        rejected,
        violations: violations(kept),
        total,
    }
}

fn from_wit_document(d: wit::Document, max_out: u64) -> Result<Document, CallError> {
    let facets = |f: Vec<wit::Facet>| -> Vec<Facet> {
        let mut v: Vec<Facet> = f
            .into_iter()
            .filter(|f| !f.name.is_empty() && f.name.len() <= 256 && f.value.len() <= 4096)
            .map(|f| Facet {
                name: f.name,
                value: f.value,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let size = d.json.len()
        + d.facets
            .iter()
            .chain(d.subject_facets.iter())
            .map(|f| f.name.len() + f.value.len())
            .sum::<usize>();
    if size as u64 > max_out {
        return Err(CallError::Output(size as u64, max_out));
    }
    if serde_json::from_str::<serde_json::Value>(&d.json).is_err() {
        return Err(CallError::Plugin(
            "index returned a document that is not JSON".into(),
        ));
    }
    Ok(Document {
        json: d.json,
        facets: facets(d.facets),
        subject_facets: facets(d.subject_facets),
        subject: d.subject,
    })
}

/// Files as blobs, for `arca plugin check`.
pub struct FileBlobs(pub BTreeMap<String, PathBuf>);

impl BlobSource for FileBlobs {
    fn open(&self, digest: &str) -> Result<(u64, Box<dyn Read + Send>), String> {
        let path = self
            .0
            .get(digest)
            .ok_or_else(|| format!("no file for {digest}"))?;
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let size = f.metadata().map_err(|e| e.to_string())?.len();
        Ok((size, Box::new(f)))
    }
}
