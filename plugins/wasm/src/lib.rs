//! The `wasm` plugin: WebAssembly modules and components stored as OCI artifacts.
//!
//! Recognises the CNCF TAG Runtime layout (config `application/vnd.wasm.config.v0+json`,
//! layer `application/wasm`: what `wkg oci push` and `wkg publish` write), the older
//! wasm-to-oci layout (config `application/vnd.wasm.config.v1+json`, layer
//! `application/vnd.wasm.content.layer.v1+wasm`) and Kubewarden policies (the wasm-to-oci
//! layout with an `io.kubewarden.metadata` custom section in the binary).
//!
//! Validates every Wasm layer fully (streamed through `wasmparser`'s validator), and checks
//! the CNCF config against the binary: `os` against module/component, `layerDigests`
//! against the layers, `component.imports`/`exports` against the component's world.
//! Indexes kind, OS, world, imports, exports, producers and custom sections, and renders a
//! component's WIT (`wit` view).

pub mod analyze;
pub mod kubewarden;
pub mod wit;

use std::collections::{BTreeMap, BTreeSet};

use arca_plugin_sdk::prelude::*;
use serde_json::{Map, Value, json};

use analyze::{Analysis, Failure, Features, Kind, analyze};

/// The CNCF TAG Runtime Wasm artifact config.
pub const CONFIG_V0: &str = "application/vnd.wasm.config.v0+json";
/// The wasm-to-oci (and Kubewarden) config.
pub const CONFIG_V1: &str = "application/vnd.wasm.config.v1+json";
/// The CNCF layer: one module or component.
pub const LAYER_WASM: &str = "application/wasm";
/// The wasm-to-oci (and Kubewarden) layer.
pub const LAYER_V1: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// The same, as older wasmCloud tooling labels it.
pub const LAYER_MODULE_V1: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// Layer media types holding a Wasm binary.
pub const WASM_LAYERS: &[&str] = &[LAYER_WASM, LAYER_V1, LAYER_MODULE_V1];

/// Largest binary accepted unless the `max_bytes` setting says otherwise (64 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest config blob read.
const MAX_CONFIG: u64 = 1024 * 1024;
/// The view.
pub const VIEW_WIT: &str = "wit";

/// The plugin.
pub struct Wasm;

/// Which layout a manifest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// CNCF TAG Runtime: config v0 + `application/wasm`.
    Cncf,
    /// wasm-to-oci: config v1 + `...content.layer.v1+wasm`.
    WasmToOci,
    /// Any other config with Wasm layers (a Spin application, say): binaries only.
    Other,
}

impl Layout {
    fn of(m: &Manifest) -> Layout {
        match m.config.as_ref().map(Descriptor::essence) {
            Some(CONFIG_V0) => Layout::Cncf,
            Some(CONFIG_V1) => Layout::WasmToOci,
            _ => Layout::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Layout::Cncf => "cncf",
            Layout::WasmToOci => "wasm-to-oci",
            Layout::Other => "other",
        }
    }
}

/// The plugin's settings for a repository.
#[derive(Debug, Clone, Copy)]
struct Settings {
    max_bytes: u64,
    features: Features,
}

impl Settings {
    fn of(cx: &Context) -> Settings {
        let features = match cx.setting::<String>("features").as_deref() {
            Some("standard") => Features::Standard,
            Some("all") | None => Features::All,
            Some(other) => {
                cx.log(
                    Level::Warn,
                    &format!("unknown features setting {other:?}: using \"all\""),
                );
                Features::All
            }
        };
        let max_bytes = match cx.config().get("max_bytes") {
            None => DEFAULT_MAX_BYTES,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                cx.log(
                    Level::Warn,
                    &format!("max_bytes must be a number of bytes, got {v}: using the default"),
                );
                DEFAULT_MAX_BYTES
            }),
        };
        Settings {
            max_bytes,
            features,
        }
    }
}

/// One Wasm layer, analysed.
#[derive(Debug)]
struct LayerReport {
    index: usize,
    desc: Descriptor,
    analysis: Analysis,
    /// For components: the decoded world (or why it could not be decoded).
    world: Option<Result<wit::World, String>>,
    kubewarden: Option<kubewarden::Metadata>,
}

impl LayerReport {
    /// Imports as the artifact config names them: the WIT world's names for a component
    /// (falling back to the binary's top-level names), `module/name` for a module.
    fn imports(&self) -> &[String] {
        match &self.world {
            Some(Ok(w)) => &w.imports,
            _ => &self.analysis.imports,
        }
    }

    fn exports(&self) -> &[String] {
        match &self.world {
            Some(Ok(w)) => &w.exports,
            _ => &self.analysis.exports,
        }
    }

    fn decoded(&self) -> Option<&wit::World> {
        self.world.as_ref().and_then(|w| w.as_ref().ok())
    }
}

/// Everything validate, index and render need to know about a manifest.
#[derive(Debug)]
struct Inspection {
    layout: Layout,
    /// The CNCF config, when it parsed.
    config: Option<Map<String, Value>>,
    layers: Vec<LayerReport>,
    errors: Vec<Violation>,
    warnings: Vec<Violation>,
    /// A blob could not be read (as opposed to being wrong): worth retrying.
    read_error: Option<String>,
}

impl Inspection {
    /// Records a blob that could not be read.
    fn unreadable(&mut self, path: String, message: String) {
        if self.read_error.is_none() {
            self.read_error = Some(format!("{path}: {message}"));
        }
        self.errors.push(Violation::new(path, message));
    }

    fn os_of_config(&self) -> Option<&str> {
        self.config.as_ref()?.get("os")?.as_str()
    }

    fn config_component(&self) -> Option<&Map<String, Value>> {
        self.config.as_ref()?.get("component")?.as_object()
    }
}

/// The Wasm layers of `m`, with their positions.
fn wasm_layers(m: &Manifest) -> Vec<(usize, &Descriptor)> {
    m.layers
        .iter()
        .enumerate()
        .filter(|(_, l)| WASM_LAYERS.contains(&l.essence()))
        .collect()
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Reads and checks the CNCF config on its own (types, architecture, os, layerDigests,
/// the component block's shape).
fn check_config(m: &Manifest, cx: &Context, insp: &mut Inspection) {
    let Some(config) = m.config.as_ref() else {
        return;
    };
    if config.size > MAX_CONFIG {
        insp.errors.push(Violation::new(
            "/config/size",
            format!(
                "the Wasm config is {} bytes, over the limit of {MAX_CONFIG}",
                config.size
            ),
        ));
        return;
    }
    let bytes = match cx.read_all(&config.digest, MAX_CONFIG) {
        Ok(b) => b,
        Err(e) => {
            insp.unreadable("/config".into(), e);
            return;
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            insp.errors.push(Violation::new(
                "config:",
                format!("the Wasm config is not JSON: {e}"),
            ));
            return;
        }
    };
    let Value::Object(obj) = value else {
        insp.errors.push(Violation::new(
            "config:",
            "the Wasm config must be a JSON object",
        ));
        return;
    };
    match obj.get("architecture") {
        Some(Value::String(a)) if a == "wasm" => {}
        Some(other) => insp.errors.push(Violation::new(
            "config:/architecture",
            format!("must be \"wasm\", got {other}"),
        )),
        None => insp.errors.push(Violation::new(
            "config:/architecture",
            "is required (\"wasm\")",
        )),
    }
    match obj.get("os") {
        Some(Value::String(os)) if os == "wasip1" || os == "wasip2" => {}
        Some(Value::String(os)) if os.starts_with("wasip") && !os.is_empty() => {
            insp.warnings.push(Violation::new(
                "config:/os",
                format!("{os:?} is not one of the known values wasip1 and wasip2"),
            ))
        }
        Some(other) => insp.errors.push(Violation::new(
            "config:/os",
            format!("must be \"wasip1\" (a core module) or \"wasip2\" (a component), got {other}"),
        )),
        None => insp.errors.push(Violation::new(
            "config:/os",
            "is required (\"wasip1\" or \"wasip2\")",
        )),
    }
    match obj.get("layerDigests") {
        None => insp.errors.push(Violation::new(
            "config:/layerDigests",
            "is required: the digests of the manifest's layers, in order",
        )),
        Some(v) => match strings(v) {
            None => insp.errors.push(Violation::new(
                "config:/layerDigests",
                "must be an array of digests",
            )),
            Some(listed) => {
                let actual: Vec<String> = m.layers.iter().map(|l| l.digest.clone()).collect();
                if listed != actual {
                    insp.errors.push(Violation::new(
                        "config:/layerDigests",
                        format!("lists {listed:?}, but the manifest's layers are {actual:?}"),
                    ));
                }
            }
        },
    }
    match obj.get("component") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            for key in ["imports", "exports"] {
                match c.get(key) {
                    Some(v) if strings(v).is_some() => {}
                    None => insp.errors.push(Violation::new(
                        format!("config:/component/{key}"),
                        "is required: an array of interface names",
                    )),
                    Some(other) => insp.errors.push(Violation::new(
                        format!("config:/component/{key}"),
                        format!("must be an array of strings, got {other}"),
                    )),
                }
            }
            match c.get("target") {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(other) => insp.errors.push(Violation::new(
                    "config:/component/target",
                    format!("must be a string (a world), got {other}"),
                )),
            }
        }
        Some(other) => insp.errors.push(Violation::new(
            "config:/component",
            format!("must be an object, got {other}"),
        )),
    }
    insp.config = Some(obj);
}

/// Reads, validates and analyses every Wasm layer of `m`. `None` when `m` is not a Wasm
/// artifact at all (an index, or no Wasm config and no Wasm layer).
fn inspect(m: &Manifest, cx: &Context, keep_bytes: bool) -> Option<Inspection> {
    if m.is_index() {
        return None;
    }
    let layout = Layout::of(m);
    let layers = wasm_layers(m);
    if layers.is_empty() && layout == Layout::Other {
        return None;
    }
    let settings = Settings::of(cx);
    let mut insp = Inspection {
        layout,
        config: None,
        layers: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        read_error: None,
    };
    if layers.is_empty() {
        let wanted = match layout {
            Layout::Cncf => LAYER_WASM,
            _ => LAYER_V1,
        };
        insp.errors.push(Violation::new(
            "/layers",
            format!("a Wasm artifact needs a layer of type {wanted}, and this one has none"),
        ));
    }
    if layout == Layout::Cncf {
        check_config(m, cx, &mut insp);
        for (i, l) in m.layers.iter().enumerate() {
            if l.essence() != LAYER_WASM {
                insp.warnings.push(Violation::new(
                    format!("/layers/{i}/mediaType"),
                    format!(
                        "{:?} in a Wasm artifact: its layers should all be {LAYER_WASM}",
                        l.media_type
                    ),
                ));
            }
        }
    }

    for (index, desc) in layers {
        if desc.size > settings.max_bytes {
            insp.errors.push(Violation::new(
                format!("/layers/{index}/size"),
                format!(
                    "the Wasm binary is {} bytes, over the limit of {} (setting max_bytes)",
                    desc.size, settings.max_bytes
                ),
            ));
            continue;
        }
        let reader = match cx.open(&desc.digest) {
            Ok(r) => r,
            Err(e) => {
                insp.unreadable(format!("/layers/{index}"), e);
                continue;
            }
        };
        let mut analysis = match analyze(reader, settings.max_bytes, settings.features) {
            Ok(a) => a,
            Err(Failure::TooLarge(limit)) => {
                insp.errors.push(Violation::new(
                    format!("/layers/{index}/size"),
                    format!(
                        "the Wasm binary is over the limit of {limit} bytes (setting max_bytes)"
                    ),
                ));
                continue;
            }
            Err(e @ Failure::Read(_)) => {
                insp.unreadable(format!("layers/{index}:"), e.to_string());
                continue;
            }
            Err(e) => {
                insp.errors
                    .push(Violation::new(format!("layers/{index}:"), e.to_string()));
                continue;
            }
        };
        let world = analysis.bytes.as_deref().map(wit::decode_world);
        if let Some(Err(e)) = &world {
            insp.warnings.push(Violation::new(
                format!("layers/{index}:"),
                format!(
                    "the component's WIT cannot be decoded ({e}); its top-level import and \
                     export names are used instead"
                ),
            ));
        }
        if !keep_bytes {
            analysis.bytes = None;
        }
        let kubewarden = match analysis.kubewarden_metadata.as_deref() {
            None => None,
            Some(raw) => match kubewarden::Metadata::parse(raw) {
                Ok(meta) => Some(meta),
                Err(e) => {
                    insp.errors.push(Violation::new(
                        format!("layers/{index}:{}", kubewarden::CUSTOM_SECTION),
                        e,
                    ));
                    None
                }
            },
        };
        insp.layers.push(LayerReport {
            index,
            desc: desc.clone(),
            analysis,
            world,
            kubewarden,
        });
    }

    if layout == Layout::Cncf {
        check_consistency(&mut insp);
    }
    Some(insp)
}

/// The CNCF config against the binaries: os, component block, imports and exports.
fn check_consistency(insp: &mut Inspection) {
    let mut errors = Vec::new();
    let os = insp.os_of_config().map(str::to_string);
    let component = insp.config_component().cloned();
    for l in &insp.layers {
        let kind = l.analysis.kind;
        match (os.as_deref(), kind) {
            (Some("wasip1"), Kind::Component) => errors.push(Violation::new(
                "config:/os",
                format!(
                    "is \"wasip1\", which is for core modules, but layers/{} is a component \
                     (use \"wasip2\")",
                    l.index
                ),
            )),
            (Some(os), Kind::Module) if os.starts_with("wasip") && os != "wasip1" => {
                errors.push(Violation::new(
                    "config:/os",
                    format!(
                        "is {os:?}, which is for components, but layers/{} is a core module \
                         (use \"wasip1\")",
                        l.index
                    ),
                ))
            }
            _ => {}
        }
        if component.is_some() && kind == Kind::Module {
            errors.push(Violation::new(
                "config:/component",
                format!(
                    "describes a component, but layers/{} is a core module",
                    l.index
                ),
            ));
        }
    }
    let components: Vec<&LayerReport> = insp
        .layers
        .iter()
        .filter(|l| l.analysis.kind == Kind::Component)
        .collect();
    match &component {
        None => {
            if !components.is_empty() && os.as_deref() != Some("wasip1") {
                errors.push(Violation::new(
                    "config:/component",
                    format!(
                        "is required for a component (layers/{}): its imports and exports",
                        components[0].index
                    ),
                ));
            }
        }
        Some(c) if !components.is_empty() => {
            // Exports first: what a component offers is what its users look for.
            for (key, actual) in [
                (
                    "exports",
                    components
                        .iter()
                        .flat_map(|l| l.exports().iter().cloned())
                        .collect::<BTreeSet<_>>(),
                ),
                (
                    "imports",
                    components
                        .iter()
                        .flat_map(|l| l.imports().iter().cloned())
                        .collect::<BTreeSet<_>>(),
                ),
            ] {
                let Some(declared) = c.get(key).and_then(strings) else {
                    continue;
                };
                let declared: BTreeSet<String> = declared.into_iter().collect();
                let what = &key[..key.len() - 1];
                let missing: Vec<&String> = declared.difference(&actual).collect();
                let undeclared: Vec<&String> = actual.difference(&declared).collect();
                if !missing.is_empty() {
                    errors.push(Violation::new(
                        format!("config:/component/{key}"),
                        format!(
                            "declares {what} {} that the component does not have",
                            list(&missing)
                        ),
                    ));
                }
                if !undeclared.is_empty() {
                    errors.push(Violation::new(
                        format!("config:/component/{key}"),
                        format!(
                            "does not declare the component's {what} {}",
                            list(&undeclared)
                        ),
                    ));
                }
            }
        }
        Some(_) => {}
    }
    insp.errors.extend(errors);
}

fn list(items: &[&String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" (and {} more)", items.len() - SHOWN));
    }
    s
}

/// `name@version`, or `name` when there is no version.
fn name_at(name: &str, version: &str) -> String {
    if version.is_empty() {
        name.to_string()
    } else {
        format!("{name}@{version}")
    }
}

/// The OS the binary itself suggests, when the config does not say.
fn inferred_os(l: &LayerReport) -> Option<&'static str> {
    match l.analysis.kind {
        Kind::Module => l
            .analysis
            .imports
            .iter()
            .any(|i| i.starts_with("wasi_snapshot_preview1/") || i.starts_with("wasi_unstable/"))
            .then_some("wasip1"),
        Kind::Component => l
            .imports()
            .iter()
            .chain(l.exports())
            .filter(|n| n.starts_with("wasi:"))
            .find_map(|n| {
                let version = n.rsplit_once('@')?.1;
                if version.starts_with("0.2.") {
                    Some("wasip2")
                } else if version.starts_with("0.3.") {
                    Some("wasip3")
                } else {
                    None
                }
            }),
    }
}

/// Keeps the first occurrence of each item.
fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

fn document(m: &Manifest, insp: &Inspection) -> Document {
    let kubewarden = insp.layers.iter().find_map(|l| l.kubewarden.as_ref());
    let layout = if kubewarden.is_some() {
        "kubewarden"
    } else {
        insp.layout.as_str()
    };
    let kinds = dedup(
        insp.layers
            .iter()
            .map(|l| l.analysis.kind.as_str().to_string()),
    );
    let (os, os_source) = match insp.os_of_config() {
        Some(os) => (Some(os.to_string()), "config"),
        None => (
            insp.layers.iter().find_map(inferred_os).map(str::to_string),
            "binary",
        ),
    };
    let config_target = insp
        .config_component()
        .and_then(|c| c.get("target"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let world = config_target.clone().or_else(|| {
        insp.layers
            .iter()
            .find_map(|l| l.decoded().and_then(|w| w.world.clone()))
    });
    let package = insp
        .layers
        .iter()
        .find_map(|l| l.decoded().and_then(|w| w.package.clone()));
    let wit_package = insp
        .layers
        .iter()
        .any(|l| l.decoded().is_some_and(|w| w.wit_package));
    let imports = dedup(insp.layers.iter().flat_map(|l| l.imports().iter().cloned()));
    let exports = dedup(insp.layers.iter().flat_map(|l| l.exports().iter().cloned()));
    let mut producers: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for l in &insp.layers {
        for (field, values) in &l.analysis.producers {
            producers
                .entry(field.clone())
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    let custom_sections: BTreeSet<String> = insp
        .layers
        .iter()
        .flat_map(|l| l.analysis.custom_sections.iter().cloned())
        .collect();
    let wasm_size: u64 = insp.layers.iter().map(|l| l.analysis.size).sum();
    let config_size = m.config.as_ref().map_or(0, |c| c.size);
    let total_size =
        config_size + m.layers.iter().map(|l| l.size).sum::<u64>() + m.raw.len() as u64;
    let annotations: BTreeMap<&str, &str> = m
        .annotations
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let layers_json: Vec<Value> = insp
        .layers
        .iter()
        .map(|l| {
            json!({
                "index": l.index,
                "digest": l.desc.digest,
                "mediaType": l.desc.media_type,
                "size": l.analysis.size,
                "kind": l.analysis.kind.as_str(),
                "imports": l.imports(),
                "exports": l.exports(),
                "nestedModules": l.analysis.nested_modules,
                "nestedComponents": l.analysis.nested_components,
                "customSections": l.analysis.custom_sections,
                "truncated": l.analysis.truncated,
            })
        })
        .collect();
    let producers_json: Map<String, Value> = producers
        .iter()
        .map(|(field, values)| {
            (
                field.clone(),
                values
                    .iter()
                    .map(|(n, v)| json!({"name": n, "version": v}))
                    .collect::<Vec<_>>()
                    .into(),
            )
        })
        .collect();
    let config_json = insp.config.as_ref().map(|c| {
        json!({
            "architecture": c.get("architecture"),
            "os": c.get("os"),
            "created": c.get("created"),
            "author": c.get("author"),
            "target": config_target,
        })
    });

    let mut doc = Document::new(json!({
        "layout": layout,
        "kind": kinds.first(),
        "kinds": kinds,
        "os": os,
        "osSource": os.as_ref().map(|_| os_source),
        "world": world,
        "package": package,
        "witPackage": wit_package,
        "imports": imports,
        "exports": exports,
        "producers": producers_json,
        "customSections": custom_sections,
        "size": wasm_size,
        "configSize": config_size,
        "manifestSize": m.raw.len(),
        "totalSize": total_size,
        "layers": layers_json,
        "config": config_json,
        "annotations": annotations,
        "kubewarden": kubewarden.map(kubewarden::Metadata::json),
    }));
    doc.facet("wasm.layout", layout);
    for k in &kinds {
        doc.facet("wasm.kind", k.clone());
    }
    if let Some(os) = &os {
        doc.facet("wasm.os", os.clone());
    }
    if let Some(w) = &world {
        doc.facet("wasm.world", w.clone());
    }
    if let Some(p) = &package {
        doc.facet("wasm.package", p.clone());
    }
    for i in &imports {
        doc.facet("wasm.import", i.clone());
    }
    for e in &exports {
        doc.facet("wasm.export", e.clone());
    }
    for (field, facet, with_version) in [
        ("language", "wasm.language", false),
        ("sdk", "wasm.sdk", true),
        ("processed-by", "wasm.processed-by", true),
    ] {
        let values = producers.get(field).into_iter().flatten();
        for v in dedup(values.map(|(n, v)| {
            if with_version {
                name_at(n, v)
            } else {
                n.clone()
            }
        })) {
            doc.facet(facet, v);
        }
    }
    for s in &custom_sections {
        doc.facet("wasm.custom-section", s.clone());
    }
    if let Some(k) = kubewarden {
        doc.facet("wasm.kubewarden.mutating", k.mutating.to_string());
        doc.facet(
            "wasm.kubewarden.context-aware",
            k.is_context_aware().to_string(),
        );
        if let Some(mode) = &k.execution_mode {
            doc.facet("wasm.kubewarden.execution-mode", mode.clone());
        }
        for r in k.resources() {
            doc.facet("wasm.kubewarden.resource", r);
        }
        for o in k.operations() {
            doc.facet("wasm.kubewarden.operation", o);
        }
        if let Some(t) = k.title() {
            doc.facet("wasm.kubewarden.title", t.to_string());
        }
    }
    doc
}

fn render_wit(m: &Manifest, cx: &Context) -> Result<Rendered, String> {
    let insp = inspect(m, cx, true).ok_or_else(|| {
        format!(
            "{} is not a Wasm artifact (no Wasm config and no Wasm layer)",
            m.digest
        )
    })?;
    if let Some(e) = insp.errors.first() {
        return Err(format!(
            "the artifact is not valid: {}: {}",
            e.path, e.message
        ));
    }
    let many = insp.layers.len() > 1;
    let mut out = String::new();
    for l in &insp.layers {
        if many {
            out.push_str(&format!(
                "// layers/{} {} ({})\n",
                l.index,
                l.desc.digest,
                l.analysis.kind.as_str()
            ));
        }
        match l.analysis.kind {
            Kind::Component => {
                let bytes = l
                    .analysis
                    .bytes
                    .as_deref()
                    .ok_or("the component's bytes were not kept")?;
                out.push_str(&wit::render_wit(bytes)?);
            }
            Kind::Module => out.push_str(&wit::render_module(
                &l.analysis.core_imports,
                &l.analysis.core_exports,
                l.analysis.truncated,
            )),
        }
        if many {
            out.push('\n');
        }
    }
    Ok(Rendered {
        media_type: "text/plain; charset=utf-8".into(),
        body: out.into_bytes(),
    })
}

impl Plugin for Wasm {
    fn info() -> Info {
        Info::new("wasm", env!("CARGO_PKG_VERSION"))
            .handles(
                [CONFIG_V0, CONFIG_V1]
                    .into_iter()
                    .chain(WASM_LAYERS.iter().copied()),
            )
            .validates()
            .indexes()
            .renders([VIEW_WIT])
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        match inspect(m, cx, false) {
            None => Verdict::accept(),
            Some(insp) => Verdict::from_findings(insp.errors, insp.warnings),
        }
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        let Some(insp) = inspect(m, cx, false) else {
            return Ok(None);
        };
        // A blob that could not be read: fail, so the host retries.
        if let Some(e) = insp.read_error {
            return Err(e);
        }
        // What validate would refuse (pushed while the plugin was off, say) gets no
        // document.
        if let Some(e) = insp.errors.first() {
            cx.log(
                Level::Warn,
                &format!(
                    "not indexed: the artifact is not valid ({}: {})",
                    e.path, e.message
                ),
            );
            return Ok(None);
        }
        if insp.layers.is_empty() {
            return Ok(None);
        }
        Ok(Some(document(m, &insp)))
    }

    fn render(
        view: &str,
        _prefix: &str,
        target: Option<&Manifest>,
        _documents: &[Value],
        cx: &Context,
    ) -> Result<Rendered, String> {
        if view != VIEW_WIT {
            return Err(format!(
                "the wasm plugin has no view {view:?} (it has \"wit\")"
            ));
        }
        let m = target.ok_or(
            "the wit view is per manifest: \
             GET /_arca/v1/repositories/<name>/manifests/<digest>/views/wasm/wit",
        )?;
        render_wit(m, cx)
    }
}

export_plugin!(Wasm);

#[cfg(test)]
mod tests;
