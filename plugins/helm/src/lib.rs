//! The `helm` plugin: Helm charts as `helm push` stores them, and a classic Helm chart
//! repository (`index.yaml`) over them.
//!
//! `helm push` writes an image manifest with no `mediaType` and no `artifactType`: its
//! config (`application/vnd.cncf.helm.config.v1+json`) is the chart's `Chart.yaml` as JSON,
//! its first layer the packaged chart (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`,
//! or `application/tar+gzip` from old Helm versions), and an optional second layer the
//! provenance file (`application/vnd.cncf.helm.chart.provenance.v1.prov`). The tag is the
//! chart version with `+` written as `_`.
//!
//! `validate` checks the metadata, opens the chart archive with its own limits (no
//! absolute paths, `..`, links, devices, bombs), checks it is one chart whose `Chart.yaml`
//! matches the config, that `values.yaml` and `values.schema.json` parse and agree, and that
//! a provenance file records the chart's digest. `index` makes a document of the chart
//! (metadata, README, values, schema) with `chart.*` facets; `render` serves `index.yaml`.

use std::io::Read;

use arca_plugin_sdk::archive::{self, Limits};
use arca_plugin_sdk::prelude::*;
use serde_json::{Map, Value, json};

mod index;
mod metadata;
mod prov;
mod time;
mod yaml;

/// The config `helm push` writes: `Chart.yaml` as JSON.
pub const CONFIG_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// The packaged chart.
pub const CHART_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The chart layer type of Helm before 3.7; accepted only next to the Helm config.
pub const LEGACY_CHART_TYPE: &str = "application/tar+gzip";
/// The provenance file.
pub const PROV_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The view this plugin renders.
pub const INDEX_VIEW: &str = "index.yaml";

const MIB: u64 = 1024 * 1024;
/// Largest config blob read.
const MAX_CONFIG: u64 = 4 * MIB;
/// Largest provenance file read.
const MAX_PROV: u64 = MIB;
/// README text kept in the document.
const MAX_README: usize = 64 * 1024;
/// `values.yaml` text kept in the document (the whole file is still validated).
const MAX_VALUES_TEXT: usize = 256 * 1024;
/// Largest `values.schema.json` kept in the document.
const MAX_SCHEMA_DOC: usize = 256 * 1024;
/// Schema violations listed before the rest are summed up.
const MAX_SCHEMA_ERRORS: usize = 20;

/// README file names Helm shows (`helm show readme`), in order of preference.
const README_NAMES: &[&str] = &["readme.md", "readme.txt", "readme"];

/// The plugin.
pub struct Helm;

/// Settings (`[plugin.helm.settings]`), with Helm's own loader limits as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Largest chart layer (compressed), judged by its descriptor before reading.
    pub max_chart_bytes: u64,
    /// Most archive entries.
    pub max_entries: u64,
    /// Most bytes the archive may expand to.
    pub max_unpacked_bytes: u64,
    /// Largest single file in the archive.
    pub max_file_bytes: u64,
    /// A chart pushed by tag must be tagged with its version (`+` as `_`).
    pub require_version_tag: bool,
    /// Values that break `values.schema.json` refuse the push (otherwise: warnings).
    pub enforce_values_schema: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_chart_bytes: 20 * MIB,
            max_entries: 10_000,
            max_unpacked_bytes: 100 * MIB,
            max_file_bytes: 5 * MIB,
            require_version_tag: true,
            enforce_values_schema: true,
        }
    }
}

impl Settings {
    /// The settings for this call; a setting of the wrong type is logged and defaulted.
    pub fn from(cx: &Context) -> Settings {
        let d = Settings::default();
        let num = |key: &str, default: u64| {
            match cx.config().get(key) {
            None | Some(Value::Null) => default,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                cx.log(
                    Level::Warn,
                    &format!("setting {key} must be a whole number of at least 0, got {v}; using {default}"),
                );
                default
            }),
        }
        };
        let flag = |key: &str, default: bool| match cx.config().get(key) {
            None | Some(Value::Null) => default,
            Some(v) => v.as_bool().unwrap_or_else(|| {
                cx.log(
                    Level::Warn,
                    &format!("setting {key} must be true or false, got {v}; using {default}"),
                );
                default
            }),
        };
        Settings {
            max_chart_bytes: num("max_chart_bytes", d.max_chart_bytes),
            max_entries: num("max_entries", d.max_entries),
            max_unpacked_bytes: num("max_unpacked_bytes", d.max_unpacked_bytes),
            max_file_bytes: num("max_file_bytes", d.max_file_bytes),
            require_version_tag: flag("require_version_tag", d.require_version_tag),
            enforce_values_schema: flag("enforce_values_schema", d.enforce_values_schema),
        }
    }
}

/// What the plugin found in a chart.
#[derive(Default)]
struct Findings {
    errors: Vec<Violation>,
    warnings: Vec<Violation>,
}

impl Findings {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Violation::new(path, message));
    }
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Violation::new(path, message));
    }
}

/// A chart, as far as it could be read.
#[derive(Default)]
struct Chart {
    config: Map<String, Value>,
    layer: Option<Descriptor>,
    prov: Option<Descriptor>,
    readme: Option<(String, bool)>,
    values_text: Option<(String, bool)>,
    schema: Option<Value>,
}

fn is_chart(m: &Manifest) -> bool {
    m.config
        .as_ref()
        .is_some_and(|c| c.essence() == CONFIG_TYPE)
}

fn str_field<'a>(md: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    md.get(key).and_then(Value::as_str)
}

/// The tag `helm push` gives a chart version.
pub fn tag_for(version: &str) -> String {
    version.replace('+', "_")
}

/// Read and check everything; `validating` adds the checks that concern the push itself.
fn analyse(m: &Manifest, cx: &Context, s: &Settings, validating: bool) -> (Findings, Chart) {
    let mut f = Findings::default();
    let mut chart = Chart::default();

    let Some(config) = m.config.as_ref() else {
        return (f, chart);
    };
    match cx
        .read_all(&config.digest, MAX_CONFIG)
        .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
    {
        Err(e) => f.error(
            "config:",
            format!("the Helm chart config is not readable JSON: {e}"),
        ),
        Ok(v) => {
            let mut check = metadata::Check {
                prefix: "config:",
                errors: &mut f.errors,
                warnings: &mut f.warnings,
            };
            if let Some(md) = metadata::check(&v, &mut check) {
                chart.config = md.clone();
            }
        }
    }
    let name = str_field(&chart.config, "name").map(str::to_string);
    let version = str_field(&chart.config, "version").map(str::to_string);

    // Layers: exactly one chart, at most one provenance file.
    let mut charts = Vec::new();
    let mut provs = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        match l.essence() {
            CHART_TYPE | LEGACY_CHART_TYPE => charts.push(i),
            PROV_TYPE => provs.push(i),
            other => f.warn(
                format!("/layers/{i}/mediaType"),
                format!("{other:?} is not a layer type helm push writes; it is ignored"),
            ),
        }
    }
    match charts.as_slice() {
        [] => f.error(
            "/layers",
            format!("a Helm chart needs a layer of type {CHART_TYPE} holding the packaged chart"),
        ),
        [_] => {}
        [_, more @ ..] => {
            for i in more {
                f.error(
                    format!("/layers/{i}"),
                    "a Helm chart has exactly one chart layer; this is another",
                );
            }
        }
    }
    if let [_, more @ ..] = provs.as_slice() {
        for i in more {
            f.error(
                format!("/layers/{i}"),
                "a Helm chart has at most one provenance layer; this is another",
            );
        }
    }

    if validating
        && s.require_version_tag
        && let (Some(tag), Some(v)) = (&m.tag, &version)
        && *tag != tag_for(v)
    {
        f.error(
            "config:/version",
            format!(
                "the chart is pushed under the tag {tag:?}, but version {v:?} must be tagged {:?} \
                 (helm push tags a chart with its version, '+' written as '_')",
                tag_for(v)
            ),
        );
    }

    if let Some(&i) = charts.first() {
        let layer = &m.layers[i];
        chart.layer = Some(layer.clone());
        if layer.size > s.max_chart_bytes {
            f.error(
                format!("/layers/{i}/size"),
                format!(
                    "the chart layer is {} bytes, over the limit of {} (setting max_chart_bytes)",
                    layer.size, s.max_chart_bytes
                ),
            );
        } else {
            read_chart(
                cx,
                s,
                i,
                layer,
                name.as_deref(),
                version.as_deref(),
                &mut f,
                &mut chart,
            );
        }
    }

    if let Some(&i) = provs.first() {
        let layer = &m.layers[i];
        chart.prov = Some(layer.clone());
        check_provenance(cx, i, layer, chart.layer.as_ref(), &name, &version, &mut f);
    }
    (f, chart)
}

#[allow(clippy::too_many_arguments)]
fn read_chart(
    cx: &Context,
    s: &Settings,
    i: usize,
    layer: &Descriptor,
    name: Option<&str>,
    version: Option<&str>,
    f: &mut Findings,
    chart: &mut Chart,
) {
    let blob_path = format!("layers/{i}:");
    let mut blob = match cx.open(&layer.digest) {
        Ok(b) => b,
        Err(e) => {
            f.error(
                format!("/layers/{i}"),
                format!("cannot read the chart layer: {e}"),
            );
            return;
        }
    };
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match blob.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                f.error(&blob_path, format!("cannot read the chart layer: {e}"));
                return;
            }
        }
    }
    if got < 2 || magic != [0x1f, 0x8b] {
        f.error(
            &blob_path,
            "the chart layer is not gzip-compressed: it must be a .tgz made by helm package",
        );
        return;
    }
    let reader = (&magic[..])
        .chain(blob)
        .take(s.max_chart_bytes.saturating_add(1));
    let limits = Limits {
        max_entries: usize::try_from(s.max_entries).unwrap_or(usize::MAX),
        max_total_bytes: s.max_unpacked_bytes,
        // One byte over, so a file at the limit is not mistaken for a truncated one.
        max_file_bytes: s.max_file_bytes.saturating_add(1),
    };
    let mut listing: Vec<(String, u64)> = Vec::new();
    let files = archive::read_tar_gz_sized(reader, limits, |path, size| {
        listing.push((path.to_string(), size));
        match path.split_once('/') {
            Some((_, rest)) => {
                let lower = rest.to_ascii_lowercase();
                matches!(rest, "Chart.yaml" | "values.yaml" | "values.schema.json")
                    || README_NAMES.contains(&lower.as_str())
            }
            None => false,
        }
    });
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            let hint = if e.message.starts_with("more than") {
                " (setting max_entries)"
            } else if e.message.contains("expands to more than") {
                " (setting max_unpacked_bytes)"
            } else {
                ""
            };
            let path = if e.path.is_empty() {
                blob_path.clone()
            } else {
                e.path
            };
            f.error(path, format!("{}{hint}", e.message));
            return;
        }
    };

    if listing.is_empty() {
        f.error(&blob_path, "the chart archive holds no files");
        return;
    }
    let mut tops: Vec<&str> = Vec::new();
    for (path, size) in &listing {
        match path.split_once('/') {
            Some((top, rest)) if !top.is_empty() && !rest.is_empty() => {
                if !tops.contains(&top) {
                    tops.push(top);
                }
            }
            _ => f.error(
                path.clone(),
                "every file of a chart must be inside its top directory (<chart name>/…)",
            ),
        }
        if *size > s.max_file_bytes {
            f.error(
                path.clone(),
                format!(
                    "is {size} bytes, over the limit of {} for one file (setting max_file_bytes)",
                    s.max_file_bytes
                ),
            );
        }
    }
    let top = match tops.as_slice() {
        [top] => top.to_string(),
        [] => return,
        many => {
            f.error(
                &blob_path,
                format!(
                    "the archive holds more than one top directory ({}): a chart keeps every file under one, <chart name>/",
                    many.iter().map(|t| format!("{t}/")).collect::<Vec<_>>().join(", ")
                ),
            );
            return;
        }
    };
    if let Some(name) = name
        && top != name
    {
        f.warn(
            format!("{top}/"),
            format!("helm package names the top directory after the chart ({name}/)"),
        );
    }
    let file = |rel: &str| {
        files
            .iter()
            .find(|x| x.path.split_once('/').map(|(_, r)| r) == Some(rel))
    };

    // Chart.yaml: present, YAML, and the same chart as the config.
    let chart_path = format!("{top}/Chart.yaml");
    match file("Chart.yaml") {
        None => f.error(
            &chart_path,
            "is missing: a chart's top directory must hold its Chart.yaml",
        ),
        Some(x) => match yaml::to_json(&String::from_utf8_lossy(&x.data)) {
            Err(e) => f.error(&chart_path, format!("is not valid YAML: {e}")),
            Ok(Value::Object(md)) => {
                for (field, want) in [("name", name), ("version", version)] {
                    let Some(want) = want else { continue };
                    // Helm's YAML reader turns a number or boolean into the string a
                    // string field wants.
                    let got = match md.get(field) {
                        Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                            Some(Value::String(v.to_string()))
                        }
                        other => other.cloned(),
                    };
                    match got {
                        Some(Value::String(got)) if got == want => {}
                        Some(Value::String(got)) => f.error(
                            &chart_path,
                            format!(
                                "{field} is {got:?}, but the chart config says {want:?}: the config must be this Chart.yaml"
                            ),
                        ),
                        Some(other) => f.error(
                            &chart_path,
                            format!("{field} must be a string, got {}", metadata::kind(&other)),
                        ),
                        None => f.error(&chart_path, format!("has no {field}")),
                    }
                }
            }
            Ok(other) => f.error(
                &chart_path,
                format!(
                    "must be a mapping of chart fields, got {}",
                    metadata::kind(&other)
                ),
            ),
        },
    }

    // values.yaml: YAML, a mapping.
    // What Helm checks against the schema: the values, `{}` when there are none.
    let values_path = format!("{top}/values.yaml");
    let mut values: Option<Value> = Some(json!({}));
    if let Some(x) = file("values.yaml") {
        values = None;
        let text = String::from_utf8_lossy(&x.data);
        match yaml::to_json(&text) {
            Err(e) => f.error(&values_path, format!("is not valid YAML: {e}")),
            Ok(Value::Null) => values = Some(json!({})),
            Ok(v @ Value::Object(_)) => values = Some(v),
            Ok(other) => f.error(
                &values_path,
                format!(
                    "must be a mapping of values, got {}",
                    metadata::kind(&other)
                ),
            ),
        }
        chart.values_text = Some(truncate(&text, MAX_VALUES_TEXT));
    }

    // values.schema.json: JSON, a usable schema, and the values satisfy it.
    let schema_path = format!("{top}/values.schema.json");
    if let Some(x) = file("values.schema.json") {
        match serde_json::from_slice::<Value>(&x.data) {
            Err(e) => f.error(&schema_path, format!("is not JSON: {e}")),
            Ok(schema) => {
                check_schema(&schema, values.as_ref(), &values_path, &schema_path, s, f);
                if x.data.len() <= MAX_SCHEMA_DOC {
                    chart.schema = Some(schema);
                }
            }
        }
    }

    // README, as `helm show readme` finds it.
    for want in README_NAMES {
        if let Some(x) = files.iter().find(|x| {
            x.path
                .split_once('/')
                .is_some_and(|(t, r)| t == top && r.eq_ignore_ascii_case(want))
        }) {
            let (text, cut) = truncate(&String::from_utf8_lossy(&x.data), MAX_README);
            chart.readme = Some((text, cut || x.truncated));
            break;
        }
    }
}

fn truncate(s: &str, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s.to_string(), false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (s[..end].to_string(), true)
}

fn check_schema(
    schema: &Value,
    values: Option<&Value>,
    values_path: &str,
    schema_path: &str,
    s: &Settings,
    f: &mut Findings,
) {
    if !(schema.is_object() || schema.is_boolean()) {
        f.error(
            schema_path,
            format!(
                "must be a JSON Schema object, got {}",
                metadata::kind(schema)
            ),
        );
        return;
    }
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            if matches!(
                e.kind(),
                jsonschema::error::ValidationErrorKind::Referencing(_)
            ) {
                f.warn(
                    schema_path,
                    format!("values were not checked against this schema: it refers to a document the plugin cannot fetch ({e})"),
                );
            } else {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() {
                    String::new()
                } else {
                    format!(" (at {at})")
                };
                f.error(schema_path, format!("is not a valid JSON Schema: {e}{at}"));
            }
            return;
        }
    };
    // `None`: values.yaml is unreadable, which is reported already.
    if let Some(values) = values {
        report_schema_errors(&validator, values, values_path, s, f);
    }
}

fn report_schema_errors(
    validator: &jsonschema::Validator,
    values: &Value,
    values_path: &str,
    s: &Settings,
    f: &mut Findings,
) {
    let mut n = 0;
    for e in validator.iter_errors(values) {
        n += 1;
        if n > MAX_SCHEMA_ERRORS {
            continue;
        }
        let pointer = e.instance_path().to_string();
        let path = if pointer.is_empty() {
            values_path.to_string()
        } else {
            format!("{values_path}:{pointer}")
        };
        let message = format!(
            "does not satisfy values.schema.json: {e} (schema at {})",
            e.schema_path()
        );
        if s.enforce_values_schema {
            f.error(path, message);
        } else {
            f.warn(path, message);
        }
    }
    if n > MAX_SCHEMA_ERRORS {
        let message = format!(
            "{} more values do not satisfy values.schema.json",
            n - MAX_SCHEMA_ERRORS
        );
        if s.enforce_values_schema {
            f.error(values_path, message);
        } else {
            f.warn(values_path, message);
        }
    }
}

fn check_provenance(
    cx: &Context,
    i: usize,
    layer: &Descriptor,
    chart_layer: Option<&Descriptor>,
    name: &Option<String>,
    version: &Option<String>,
    f: &mut Findings,
) {
    let at = format!("layers/{i}:");
    let text = match cx.read_all(&layer.digest, MAX_PROV) {
        Ok(b) => b,
        Err(e) => {
            f.error(
                format!("/layers/{i}"),
                format!("cannot read the provenance file: {e}"),
            );
            return;
        }
    };
    let p = match prov::parse(&String::from_utf8_lossy(&text)) {
        Ok(p) => p,
        Err(e) => {
            f.error(at, format!("not a Helm provenance file: {e}"));
            return;
        }
    };
    for (field, want) in [("name", name), ("version", version)] {
        if let Some(want) = want
            && p.chart.get(field).and_then(Value::as_str) != Some(want.as_str())
        {
            f.error(
                &at,
                format!(
                    "the provenance file signs {field} {}, but the chart's is {want:?}",
                    p.chart.get(field).unwrap_or(&Value::Null)
                ),
            );
        }
    }
    let (Some(name), Some(version), Some(chart_layer)) = (name, version, chart_layer) else {
        return;
    };
    let file = format!("{name}-{version}.tgz");
    match p.files.iter().find(|(n, _)| *n == file) {
        None => f.error(
            at,
            format!(
                "the provenance file records no checksum for {file} (it lists {})",
                if p.files.is_empty() {
                    "nothing".to_string()
                } else {
                    p.files
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ),
        Some((_, sum)) if *sum == chart_layer.digest => {}
        Some((_, sum)) => f.error(
            at,
            format!(
                "the provenance file records {sum} for {file}, but the chart layer is {}",
                chart_layer.digest
            ),
        ),
    }
}

/// The document of a chart.
fn document(m: &Manifest, chart: &Chart) -> Document {
    let md = &chart.config;
    let mut json = Map::new();
    json.insert("kind".into(), "chart".into());
    for &k in metadata::STRING_FIELDS.iter().chain(metadata::LIST_FIELDS) {
        if let Some(v) = md.get(k).filter(|v| !v.is_null()) {
            json.insert(k.into(), v.clone());
        }
    }
    for k in ["maintainers", "deprecated", "annotations", "dependencies"] {
        if let Some(v) = md.get(k).filter(|v| !v.is_null()) {
            json.insert(k.into(), v.clone());
        }
    }
    let layer = chart.layer.as_ref();
    json.insert(
        "chartLayer".into(),
        layer.map_or(
            Value::Null,
            |l| json!({"digest": l.digest, "size": l.size, "mediaType": l.media_type}),
        ),
    );
    json.insert(
        "provenanceLayer".into(),
        chart.prov.as_ref().map_or(
            Value::Null,
            |l| json!({"digest": l.digest, "size": l.size, "mediaType": l.media_type}),
        ),
    );
    let created = m
        .annotation("org.opencontainers.image.created")
        .and_then(time::parse)
        .map(|t| t.text);
    json.insert("created".into(), created.into());
    json.insert(
        "readme".into(),
        chart.readme.as_ref().map(|(t, _)| t.clone()).into(),
    );
    json.insert(
        "readmeTruncated".into(),
        chart.readme.as_ref().is_some_and(|(_, c)| *c).into(),
    );
    json.insert(
        "values".into(),
        chart.values_text.as_ref().map(|(t, _)| t.clone()).into(),
    );
    json.insert(
        "valuesTruncated".into(),
        chart.values_text.as_ref().is_some_and(|(_, c)| *c).into(),
    );
    json.insert(
        "valuesSchema".into(),
        chart.schema.clone().unwrap_or(Value::Null),
    );

    let mut doc = Document::new(Value::Object(json));
    let s = |k: &str| str_field(md, k).unwrap_or("").to_string();
    doc.facet("chart.name", s("name"));
    doc.facet("chart.version", s("version"));
    doc.facet("chart.appVersion", s("appVersion"));
    doc.facet("chart.apiVersion", s("apiVersion"));
    // Helm treats a chart without a type as an application.
    let kind = s("type");
    doc.facet(
        "chart.type",
        if kind.is_empty() {
            "application".to_string()
        } else {
            kind
        },
    );
    for k in md
        .get("keywords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(k) = k.as_str() {
            doc.facet("chart.keyword", k);
        }
    }
    doc.facet("chart.kubeVersion", s("kubeVersion"));
    let deprecated = md
        .get("deprecated")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    doc.facet("chart.deprecated", deprecated.to_string());
    for d in md
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = d.get("name").and_then(Value::as_str) {
            doc.facet("chart.dependency", n);
        }
    }
    for mt in md
        .get("maintainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = mt.get("name").and_then(Value::as_str) {
            doc.facet("chart.maintainer", n);
        }
    }
    doc.facet("chart.home", s("home"));
    for (k, v) in md
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(v) = v.as_str() {
            doc.facet("chart.annotation", format!("{k}={v}"));
        }
    }
    doc
}

impl Plugin for Helm {
    fn info() -> Info {
        // Not `application/tar+gzip`: that would select unrelated artifacts. It is read as a
        // chart layer only next to the Helm config, which these patterns already select.
        Info::new("helm", env!("CARGO_PKG_VERSION"))
            .handles([CONFIG_TYPE, CHART_TYPE])
            .validates()
            .indexes()
            .renders([INDEX_VIEW])
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        if !is_chart(m) {
            // A chart layer under some other config: not what helm push writes, and not
            // something Helm can pull. Say so, but it is not ours to refuse.
            if m.layer_of(&[CHART_TYPE]).is_some() {
                return Verdict::Accept(vec![Violation::new(
                    "/config/mediaType",
                    format!(
                        "this manifest holds a Helm chart layer, but its config is not {CONFIG_TYPE}: Helm cannot pull it and it is not indexed as a chart"
                    ),
                )]);
            }
            return Verdict::accept();
        }
        let (f, _) = analyse(m, cx, &Settings::from(cx), true);
        Verdict::from_findings(f.errors, f.warnings)
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        if !is_chart(m) {
            return Ok(None);
        }
        let (f, chart) = analyse(m, cx, &Settings::from(cx), false);
        if let Some(v) = f.errors.first() {
            cx.log(
                Level::Warn,
                &format!(
                    "{}@{} is not indexed as a chart: {}: {} ({} problems)",
                    m.repository,
                    m.digest,
                    v.path,
                    v.message,
                    f.errors.len()
                ),
            );
            return Ok(None);
        }
        Ok(Some(document(m, &chart)))
    }

    fn render(
        view: &str,
        _prefix: &str,
        target: Option<&Manifest>,
        documents: &[Value],
        _cx: &Context,
    ) -> Result<Rendered, String> {
        if view != INDEX_VIEW {
            return Err(format!("the helm plugin has no view {view:?}"));
        }
        if target.is_some() {
            return Err(format!(
                "{INDEX_VIEW} is a view over a repository prefix, not over one manifest"
            ));
        }
        Ok(index::render(documents))
    }
}

export_plugin!(Helm);
