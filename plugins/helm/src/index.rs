//! `index.yaml`: a classic Helm chart repository index over the indexed charts.
//!
//! Written as JSON, which is YAML: Helm reads `index.yaml` with `encoding/json` when it is
//! valid JSON (Helm ≥ 3.15 and 4) and otherwise with `sigs.k8s.io/yaml`'s strict decoder,
//! which reads JSON too. JSON leaves no scalar to be re-typed by a YAML 1.1 reader (a
//! `version: 1.10` or an annotation `"yes"`), needs no YAML emitter, and only the fields of
//! Helm's `ChartVersion` are written, because older Helm versions refuse an index with an
//! unknown field.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use arca_plugin_sdk::Rendered;
use serde_json::{Map, Value, json};

use crate::time::{self, Timestamp};

/// Media type of the view.
pub const MEDIA_TYPE: &str = "application/x-yaml";

struct Candidate {
    name: String,
    version_text: String,
    version: semver::Version,
    created: Option<Timestamp>,
    tagged: bool,
    repository: String,
    digest: String,
    entry: Map<String, Value>,
}

impl Candidate {
    /// Which of two manifests of one chart version the index lists: a tagged one, then the
    /// newest, then the first by repository and digest.
    fn preferred_over(&self, other: &Candidate) -> bool {
        (self.tagged, &self.created.as_ref().map(|c| c.instant))
            .cmp(&(other.tagged, &other.created.as_ref().map(|c| c.instant)))
            .then_with(|| (&other.repository, &other.digest).cmp(&(&self.repository, &self.digest)))
            == Ordering::Greater
    }
}

fn strings(v: &Value) -> Vec<Value> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|s| s.as_str().is_some_and(|s| !s.is_empty()))
        .cloned()
        .collect()
}

fn string_map(v: &Value, keys: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for &k in keys {
        if let Some(s) = v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            out.insert(k.into(), s.into());
        }
    }
    out
}

/// One `ChartVersion`: the chart's metadata as Helm's `chart.Metadata` has it, `urls`,
/// `created` and `digest`. Empty fields are left out, as Helm's `omitempty` does.
fn entry(
    doc: &Value,
    url: String,
    created: Option<&Timestamp>,
    digest: &str,
) -> Map<String, Value> {
    let mut e = string_map(
        doc,
        &[
            "apiVersion",
            "name",
            "version",
            "appVersion",
            "description",
            "type",
            "home",
            "icon",
            "kubeVersion",
            "condition",
            "tags",
        ],
    );
    for k in ["keywords", "sources"] {
        let list = strings(&doc[k]);
        if !list.is_empty() {
            e.insert(k.into(), list.into());
        }
    }
    let maintainers: Vec<Value> = doc["maintainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m.is_object())
        .map(|m| Value::Object(string_map(m, &["name", "email", "url"])))
        .collect();
    if !maintainers.is_empty() {
        e.insert("maintainers".into(), maintainers.into());
    }
    if doc["deprecated"].as_bool() == Some(true) {
        e.insert("deprecated".into(), true.into());
    }
    let annotations: Map<String, Value> = doc["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.is_string())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !annotations.is_empty() {
        e.insert("annotations".into(), annotations.into());
    }
    let dependencies: Vec<Value> = doc["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d.is_object())
        .map(|d| {
            let mut out = string_map(d, &["name", "version", "repository", "condition", "alias"]);
            let tags = strings(&d["tags"]);
            if !tags.is_empty() {
                out.insert("tags".into(), tags.into());
            }
            if d["enabled"].as_bool() == Some(true) {
                out.insert("enabled".into(), true.into());
            }
            if let Some(iv) = d["import-values"].as_array().filter(|a| !a.is_empty()) {
                out.insert("import-values".into(), iv.clone().into());
            }
            Value::Object(out)
        })
        .collect();
    if !dependencies.is_empty() {
        e.insert("dependencies".into(), dependencies.into());
    }
    e.insert("urls".into(), json!([url]));
    if let Some(c) = created {
        e.insert("created".into(), c.text.clone().into());
    }
    // Helm records the sha256 of the .tgz in hex, without the algorithm.
    if let Some(hex) = digest.strip_prefix("sha256:") {
        e.insert("digest".into(), hex.into());
    }
    e
}

/// Where Helm downloads a chart from: the registry's blob route of the chart layer, which
/// serves the `.tgz` itself. Relative to the host: Helm resolves it against the repository
/// URL (`ResolveReferenceURL`), keeping scheme and host.
///
/// Helm saves a download under the URL's last path segment, here `sha256:<hex>`; the host's
/// `/_arca/v1/repositories/<repository>/blobs/<digest>/<name>-<version>.tgz` would give it
/// the usual file name.
/// The chart layer through arca's blob route under a file name (`/_arca/v1/repositories/
/// <repository>/blobs/<digest>/<name>-<version>.tgz`): Helm saves a download under the
/// last segment of its URL, so the plain `/v2/…/blobs/<digest>` would give `sha256:…`.
fn chart_url(repository: &str, layer_digest: &str, name: &str, version: &str) -> String {
    let file: String = format!("{name}-{version}.tgz")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/_arca/v1/repositories/{repository}/blobs/{layer_digest}/{file}")
}

fn candidate(d: &Value) -> Option<Candidate> {
    let doc = d.get("document")?;
    if doc.get("kind").and_then(Value::as_str) != Some("chart") {
        return None;
    }
    let name = doc.get("name")?.as_str()?.to_string();
    let version_text = doc.get("version")?.as_str()?.to_string();
    let version = semver::Version::parse(&version_text).ok()?;
    let layer = doc.get("chartLayer")?.get("digest")?.as_str()?;
    let repository = d.get("repository")?.as_str()?.to_string();
    let digest = d
        .get("digest")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let tagged = d
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let created = doc
        .get("created")
        .and_then(Value::as_str)
        .and_then(time::parse);
    let url = chart_url(&repository, layer, &name, &version_text);
    let entry = entry(doc, url, created.as_ref(), layer);
    Some(Candidate {
        name,
        version_text,
        version,
        created,
        tagged,
        repository,
        digest,
        entry,
    })
}

/// Render `index.yaml` over `documents` (`{"repository","digest","tags","document"}`).
pub fn render(documents: &[Value]) -> Rendered {
    // One entry per chart name and version.
    let mut chosen: BTreeMap<(String, String), Candidate> = BTreeMap::new();
    for c in documents.iter().filter_map(candidate) {
        let key = (c.name.clone(), c.version_text.clone());
        match chosen.get(&key) {
            Some(old) if !c.preferred_over(old) => {}
            _ => {
                chosen.insert(key, c);
            }
        }
    }
    let mut by_name: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for (_, c) in chosen {
        by_name.entry(c.name.clone()).or_default().push(c);
    }
    let mut generated: Option<Timestamp> = None;
    let mut entries = Map::new();
    for (name, mut list) in by_name {
        // Newest version first (SemVer precedence), then newest push.
        list.sort_by(|a, b| {
            b.version
                .cmp_precedence(&a.version)
                .then_with(|| {
                    b.created
                        .as_ref()
                        .map(|c| c.instant)
                        .cmp(&a.created.as_ref().map(|c| c.instant))
                })
                .then_with(|| b.version_text.cmp(&a.version_text))
        });
        for c in &list {
            if let Some(t) = &c.created
                && generated.as_ref().is_none_or(|g| t.instant > g.instant)
            {
                generated = Some(t.clone());
            }
        }
        let list: Vec<Value> = list.into_iter().map(|c| Value::Object(c.entry)).collect();
        entries.insert(name, list.into());
    }
    let mut index = Map::new();
    index.insert("apiVersion".into(), "v1".into());
    index.insert("entries".into(), entries.into());
    if let Some(g) = generated {
        index.insert("generated".into(), g.text.into());
    }
    let mut body = serde_json::to_vec_pretty(&Value::Object(index)).unwrap_or_default();
    body.push(b'\n');
    Rendered {
        media_type: MEDIA_TYPE.into(),
        body,
    }
}
