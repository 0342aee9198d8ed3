//! The only module that knows wasmtime: the engine, the generated bindings of
//! `wit/arca-plugin.wit`, the per-call store (WASI with no authority, blob access limited
//! to what the manifest references, a memory cap, an epoch deadline), and the on-disk
//! cache of precompiled components.
//!
//! Every call gets a fresh instance from a pre-instantiated component: nothing leaks from
//! one call into the next, and a trapped instance is simply dropped.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::{BlobSource, CallError};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "artifact-plugin",
        with: { "arca:plugin/blobs.blob": super::OpenBlob },
        imports: { default: trappable },
    });
}

pub(super) use bindings::ArtifactPlugin as Bindings;
pub(super) use bindings::ArtifactPluginPre;
pub(super) use bindings::arca::plugin::types as wit;

/// How often the epoch advances; deadlines are counted in these ticks.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// A blob opened by a plugin.
#[allow(unreachable_pub)] // named by the generated bindings
pub struct OpenBlob {
    size: u64,
    reader: Box<dyn Read + Send>,
}

/// What one call may reach.
pub(super) struct CallScope {
    pub(super) plugin: Arc<str>,
    pub(super) allowed: HashSet<String>,
    pub(super) source: Option<Arc<dyn BlobSource>>,
    pub(super) config: String,
}

/// Memory cap that remembers it was hit, so the error can say so.
struct Limits {
    max_memory: usize,
    hit: bool,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// What a guest may write to stderr (a Rust panic message lands there); kept to explain traps.
const STDERR_CAPACITY: usize = 1 << 20;

/// Store data of one call.
pub(super) struct HostState {
    wasi: WasiCtx,
    stderr: MemoryOutputPipe,
    table: ResourceTable,
    limits: Limits,
    scope: CallScope,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::arca::plugin::types::Host for HostState {}

impl bindings::arca::plugin::blobs::Host for HostState {
    fn open(&mut self, digest: String) -> wasmtime::Result<Result<Resource<OpenBlob>, String>> {
        if !self.scope.allowed.contains(&digest) {
            return Ok(Err(format!(
                "blob {digest} is not referenced by the manifest being processed"
            )));
        }
        let Some(source) = self.scope.source.clone() else {
            return Ok(Err("no blobs are readable in this call".into()));
        };
        match source.open(&digest) {
            Ok((size, reader)) => Ok(Ok(self.table.push(OpenBlob { size, reader })?)),
            Err(e) => Ok(Err(e)),
        }
    }
}

impl bindings::arca::plugin::blobs::HostBlob for HostState {
    fn size(&mut self, blob: Resource<OpenBlob>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&blob)?.size)
    }

    fn read(
        &mut self,
        blob: Resource<OpenBlob>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let b = self.table.get_mut(&blob)?;
        let mut buf = vec![0u8; (max as usize).min(1 << 20)];
        let mut filled = 0;
        while filled < buf.len() {
            match b.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Ok(Err(format!("reading blob: {e}"))),
            }
        }
        buf.truncate(filled);
        Ok(Ok(buf))
    }

    fn drop(&mut self, blob: Resource<OpenBlob>) -> wasmtime::Result<()> {
        self.table.delete(blob)?;
        Ok(())
    }
}

impl bindings::arca::plugin::config::Host for HostState {
    fn get(&mut self) -> wasmtime::Result<String> {
        Ok(self.scope.config.clone())
    }

    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(crate::metadata::now().max(0) as u64)
    }
}

impl bindings::arca::plugin::log::Host for HostState {
    fn log(
        &mut self,
        level: bindings::arca::plugin::log::Level,
        message: String,
    ) -> wasmtime::Result<()> {
        use bindings::arca::plugin::log::Level;
        let plugin = &*self.scope.plugin;
        let message: String = message.chars().take(4096).collect();
        match level {
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

/// The engine and linker shared by all plugins.
pub(super) struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    /// Components compiled in this process, by digest: one compilation per process even
    /// when several registries run in it (tests), on top of the on-disk cache.
    compiled: Mutex<HashMap<String, Component>>,
    /// Back-pressure in front of the instance pool: calls wait here rather than fail
    /// for want of a pool slot. Shared by every registry using this engine.
    pub(super) permits: Arc<tokio::sync::Semaphore>,
}

/// One sandbox per engine shape per process: engines reserve the instance pool and run a
/// ticker thread, so they are shared rather than made per registry.
/// (instance pool size, memory cap) → sandbox.
type SandboxKey = (u32, u64);
static SANDBOXES: Mutex<Vec<(SandboxKey, Arc<Sandbox>)>> = Mutex::new(Vec::new());

fn engine_config(pooling: Option<(u32, u64)>) -> wasmtime::Config {
    let mut c = wasmtime::Config::new();
    c.wasm_component_model(true);
    // Deadlines: the ticker thread advances the epoch; a call past its deadline traps.
    c.epoch_interruption(true);
    // Plugins are compiled once and cached; optimise them well.
    c.cranelift_opt_level(wasmtime::OptLevel::Speed);
    if let Some((instances, max_memory)) = pooling {
        let mut p = wasmtime::PoolingAllocationConfig::default();
        p.total_component_instances(instances);
        p.total_core_instances(instances * 4);
        p.total_memories(instances * 4);
        p.total_tables(instances * 4);
        p.max_memory_size(max_memory as usize);
        p.max_memories_per_component(4);
        p.max_core_instances_per_component(16);
        p.max_tables_per_component(8);
        c.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(p));
    }
    c
}

impl Sandbox {
    /// An engine with a pool of `instances` slots whose memories may grow to `max_memory`
    /// bytes (falling back to on-demand allocation where the pool cannot be reserved).
    pub(super) fn shared(instances: u32, max_memory: u64) -> anyhow::Result<Arc<Self>> {
        let mut all = SANDBOXES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, s)) = all.iter().find(|(k, _)| *k == (instances, max_memory)) {
            return Ok(s.clone());
        }
        let s = Arc::new(Self::new(instances, max_memory)?);
        all.push(((instances, max_memory), s.clone()));
        Ok(s)
    }

    fn new(instances: u32, max_memory: u64) -> anyhow::Result<Self> {
        let engine = match Engine::new(&engine_config(Some((instances, max_memory)))) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating plugin instances on demand");
                Engine::new(&engine_config(None))?
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::ArtifactPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let e = engine.clone();
        std::thread::Builder::new()
            .name("arca-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    e.increment_epoch();
                }
            })?;
        Ok(Sandbox {
            engine,
            linker,
            compiled: Mutex::new(HashMap::new()),
            // Two pool slots stay free for `info` calls made while loading plugins.
            permits: Arc::new(tokio::sync::Semaphore::new(
                instances.saturating_sub(2).max(1) as usize,
            )),
        })
    }

    /// Compile (or load from the cache in `cache_dir`) a component and pre-instantiate it.
    pub(super) fn prepare(
        &self,
        wasm: &[u8],
        digest_hex: &str,
        cache_dir: &Path,
    ) -> anyhow::Result<ArtifactPluginPre<HostState>> {
        let component = self.load_cached(wasm, digest_hex, cache_dir)?;
        let pre = self.linker.instantiate_pre(&component)?;
        Ok(ArtifactPluginPre::new(pre)?)
    }

    fn cache_path(&self, digest_hex: &str, cache_dir: &Path) -> PathBuf {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        cache_dir.join(format!("{digest_hex}-{:016x}.cwasm", h.finish()))
    }

    fn load_cached(
        &self,
        wasm: &[u8],
        digest_hex: &str,
        cache_dir: &Path,
    ) -> anyhow::Result<Component> {
        if let Some(c) = self
            .compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest_hex)
        {
            return Ok(c.clone());
        }
        let c = self.load_from_disk(wasm, digest_hex, cache_dir)?;
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest_hex.to_string(), c.clone());
        Ok(c)
    }

    fn load_from_disk(
        &self,
        wasm: &[u8],
        digest_hex: &str,
        cache_dir: &Path,
    ) -> anyhow::Result<Component> {
        let path = self.cache_path(digest_hex, cache_dir);
        if path.exists() {
            match deserialize(&self.engine, &path) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unusable precompiled plugin")
                }
            }
        }
        let component = Component::new(&self.engine, wasm)?;
        // The cache only saves time: failing to write it is worth a warning, not an error.
        let written = (|| -> anyhow::Result<()> {
            std::fs::create_dir_all(cache_dir)?;
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, component.serialize()?)?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })();
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache the precompiled plugin");
        }
        Ok(component)
    }

    /// Run `f` under `deadline` and `max_memory`: on a warm instance from `warm` when one
    /// is given and has calls left (see [`WarmPool`]), else on a fresh instance.
    pub(super) fn call<R>(
        &self,
        pre: &ArtifactPluginPre<HostState>,
        warm: Option<&WarmPool>,
        scope: CallScope,
        deadline: Duration,
        max_memory: u64,
        f: impl FnOnce(&bindings::ArtifactPlugin, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let reused = warm.and_then(WarmPool::take);
        let (mut store, instance, calls) = match reused {
            Some(w) => (w.store, Some(w.instance), w.calls),
            None => (self.new_store(max_memory), None, 0),
        };
        let data = store.data_mut();
        data.scope = scope;
        data.limits.hit = false;
        data.table = ResourceTable::new();
        let stderr_before = data.stderr.contents().len();
        let ticks = (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let instance = match instance {
            Some(i) => Ok(i),
            None => pre.instantiate(&mut store),
        };
        let result = instance.and_then(|instance| {
            let r = f(&instance, &mut store)?;
            Ok((r, instance))
        });
        match result {
            Ok((r, instance)) => {
                if let Some(pool) = warm {
                    pool.give_back(WarmInstance {
                        store,
                        instance,
                        calls: calls + 1,
                    });
                }
                Ok(r)
            }
            // A trapped or interrupted instance is dropped with its store, never reused.
            Err(e) => Err(self.explain(&e, &store, stderr_before, deadline, max_memory)),
        }
    }

    fn new_store(&self, max_memory: u64) -> Store<HostState> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let state = HostState {
            // No preopens, no environment, no arguments, no network: nothing ambient.
            // Stderr is captured only to explain a trap (it is where a panic message goes).
            wasi: WasiCtx::builder().stderr(stderr.clone()).build(),
            stderr,
            table: ResourceTable::new(),
            limits: Limits {
                max_memory: max_memory as usize,
                hit: false,
            },
            scope: CallScope {
                plugin: Arc::from(""),
                allowed: HashSet::new(),
                source: None,
                config: String::new(),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }

    fn explain(
        &self,
        e: &wasmtime::Error,
        store: &Store<HostState>,
        stderr_before: usize,
        deadline: Duration,
        max_memory: u64,
    ) -> CallError {
        if store.data().limits.hit {
            return CallError::Memory(max_memory);
        }
        let stderr = store.data().stderr.contents();
        let said = panic_message(stderr.get(stderr_before..).unwrap_or_default());
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Timeout(deadline),
            Some(trap) => CallError::Trap(match said {
                Some(p) => format!("{p} ({trap})"),
                None => trap.to_string(),
            }),
            None => CallError::Trap(said.unwrap_or_else(|| root_message(e))),
        }
    }
}

/// Idle warm instances kept per plugin. Idle instances hold slots of the instance pool,
/// which reserves [`WARM_POOL_SLOTS`] extra slots for them.
pub(super) const WARM_IDLE_PER_PLUGIN: usize = 2;
/// Extra instance-pool slots for idle warm instances (16 plugins with `warm_calls`).
pub(super) const WARM_POOL_SLOTS: u32 = 32;

/// An instance kept between calls.
pub(super) struct WarmInstance {
    store: Store<HostState>,
    instance: bindings::ArtifactPlugin,
    calls: u32,
}

/// Warm instances of one plugin, for plugins with heavy start-up (e.g. compiling schemas):
/// each is reused for at most `max_calls` calls, and thrown away after any trap, timeout or
/// memory-cap hit. Per-call state (blob scope, settings, resource table, deadline) is reset
/// before every call; what the guest keeps in its own memory is the point of reuse.
pub(super) struct WarmPool {
    max_calls: u32,
    idle: Mutex<Vec<WarmInstance>>,
}

impl WarmPool {
    pub(super) fn new(max_calls: u32) -> Self {
        WarmPool {
            max_calls,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Option<WarmInstance> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give_back(&self, w: WarmInstance) {
        if w.calls < self.max_calls {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < WARM_IDLE_PER_PLUGIN {
                idle.push(w);
            }
        }
    }
}

/// The first line of an error (no wasm backtrace), bounded.
fn root_message(e: &wasmtime::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// What a Rust guest's panic said: the line after `panicked at <location>:`, else the last
/// non-empty line of stderr, bounded.
fn panic_message(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let said = match lines.iter().position(|l| l.contains("panicked at")) {
        Some(i) => match lines.get(i + 1) {
            Some(next) if !next.starts_with("note:") => format!("panicked: {next}"),
            _ => lines[i].to_string(),
        },
        None => lines.last()?.to_string(),
    };
    Some(said.chars().take(300).collect())
}

/// Load a precompiled component from the cache directory, which only arca writes.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: the file was produced by `Component::serialize` of this same wasmtime version
    // with an engine of the same compatibility hash (both are part of its name), and it lives
    // in a directory only arca writes. wasmtime still checks the header and version.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}
