//! The `image` plugin: what every registry holds most — container images (OCI and Docker
//! v2) and image indexes (multi-platform images).
//!
//! Validates what the image spec requires of a config (`architecture` and `os`) and of an
//! index entry's `platform`, and indexes platforms, labels, annotations, layer count, total
//! size and base-image annotations, so search is useful for plain images.

use std::collections::BTreeMap;

use arca_plugin_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

/// The image config media types this plugin reads.
const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];
/// Index media types.
const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// Largest config blob read.
const MAX_CONFIG: u64 = 8 * 1024 * 1024;

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// The plugin.
pub struct Image;

#[derive(Debug, Default, Deserialize)]
struct ImageConfig {
    architecture: Option<Value>,
    os: Option<Value>,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
    created: Option<String>,
    author: Option<String>,
    config: Option<RunConfig>,
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    labels: Option<BTreeMap<String, String>>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    user: Option<String>,
    exposed_ports: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

fn is_image(m: &Manifest) -> bool {
    m.config
        .as_ref()
        .is_some_and(|c| CONFIG_TYPES.contains(&c.essence()))
}

fn is_index(m: &Manifest) -> bool {
    INDEX_TYPES.contains(&arca_plugin_sdk::essence(&m.media_type))
}

fn read_config(m: &Manifest, cx: &Context) -> Result<ImageConfig, Violation> {
    let Some(config) = m.config.as_ref() else {
        return Err(Violation::new(
            "/config",
            "an image manifest needs a config",
        ));
    };
    let bytes = cx
        .read_all(&config.digest, MAX_CONFIG)
        .map_err(|e| Violation::new("/config", e))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Violation::new("config:", format!("the image config is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Violation::new(
            "config:",
            "the image config must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        Violation::new(
            "config:",
            format!("the image config has a field of the wrong type: {e}"),
        )
    })
}

/// A required string field: the wrong type is an error; absence only a warning, because
/// many tools push placeholder configs that clients still pull happily. An empty string is
/// an error where clients choose by it (index platforms) and a warning in image configs,
/// where cosign's signature and SBOM artifacts carry `"architecture": "", "os": ""`.
fn check_string(
    v: &Option<Value>,
    path: &str,
    empty_is_error: bool,
    errors: &mut Vec<Violation>,
    warnings: &mut Vec<Violation>,
) {
    match v {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::String(_)) if empty_is_error => {
            errors.push(Violation::new(path, "must not be empty"))
        }
        Some(Value::String(_)) => warnings.push(Violation::new(
            path,
            "is empty; the image spec requires a value",
        )),
        Some(other) => errors.push(Violation::new(
            path,
            format!("must be a string, got {other}"),
        )),
        None => warnings.push(Violation::new(path, "is required by the image spec")),
    }
}

fn platform_string(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    }
}

fn str_of(v: &Option<Value>) -> &str {
    v.as_ref().and_then(Value::as_str).unwrap_or("")
}

impl Plugin for Image {
    fn info() -> Info {
        Info::new("image", env!("CARGO_PKG_VERSION"))
            .handles(CONFIG_TYPES.iter().chain(INDEX_TYPES).copied())
            .validates()
            .indexes()
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        if is_index(m) {
            let raw = m.json();
            for (i, entry) in raw["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(p) = entry.get("platform") else {
                    continue;
                };
                if !p.is_object() {
                    errors.push(Violation::new(
                        format!("/manifests/{i}/platform"),
                        "must be an object",
                    ));
                    continue;
                }
                let arch = p.get("architecture").cloned();
                check_string(
                    &arch,
                    &format!("/manifests/{i}/platform/architecture"),
                    true,
                    &mut errors,
                    &mut warnings,
                );
                let os = p.get("os").cloned();
                check_string(
                    &os,
                    &format!("/manifests/{i}/platform/os"),
                    true,
                    &mut errors,
                    &mut warnings,
                );
            }
        } else if is_image(m) {
            match read_config(m, cx) {
                Err(v) => errors.push(v),
                Ok(cfg) => {
                    check_string(
                        &cfg.architecture,
                        "config:/architecture",
                        false,
                        &mut errors,
                        &mut warnings,
                    );
                    check_string(&cfg.os, "config:/os", false, &mut errors, &mut warnings);
                    if let Some(rootfs) = &cfg.rootfs {
                        let layers = m
                            .layers
                            .iter()
                            .filter(|l| !l.essence().contains("nondistributable"))
                            .count();
                        if !rootfs.diff_ids.is_empty()
                            && rootfs.diff_ids.len() != m.layers.len()
                            && rootfs.diff_ids.len() != layers
                        {
                            warnings.push(Violation::new(
                                "config:/rootfs/diff_ids",
                                format!(
                                    "{} diff_ids for {} layers",
                                    rootfs.diff_ids.len(),
                                    m.layers.len()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Verdict::from_findings(errors, warnings)
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        let annotations: BTreeMap<&str, &str> = m
            .annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if is_index(m) {
            let raw = m.json();
            let mut platforms = Vec::new();
            for entry in raw["manifests"].as_array().into_iter().flatten() {
                if let Some(p) = entry.get("platform") {
                    let os = p["os"].as_str().unwrap_or("");
                    let arch = p["architecture"].as_str().unwrap_or("");
                    if !os.is_empty() && !arch.is_empty() && os != "unknown" {
                        platforms.push(platform_string(os, arch, p["variant"].as_str()));
                    }
                }
            }
            let mut doc = Document::new(json!({
                "kind": "index",
                "manifests": m.layers.len(),
                "platforms": platforms,
                "annotations": annotations,
            }));
            doc.facet("image.kind", "index");
            for p in &platforms {
                doc.facet("image.platform", p.clone());
            }
            for (k, v) in &annotations {
                doc.facet("image.annotation", format!("{k}={v}"));
            }
            return Ok(Some(doc));
        }
        if !is_image(m) {
            return Ok(None);
        }
        let cfg = read_config(m, cx).map_err(|v| format!("{}: {}", v.path, v.message))?;
        let run = cfg.config.unwrap_or_default();
        let labels = run.labels.unwrap_or_default();
        let (os, arch) = (
            str_of(&cfg.os).to_string(),
            str_of(&cfg.architecture).to_string(),
        );
        let platform = platform_string(&os, &arch, cfg.variant.as_deref());
        let size: u64 = m
            .config
            .iter()
            .chain(m.layers.iter())
            .map(|d| d.size)
            .sum::<u64>()
            + m.raw.len() as u64;
        let base = json!({
            "name": annotations.get(BASE_NAME),
            "digest": annotations.get(BASE_DIGEST),
        });
        let mut doc = Document::new(json!({
            "kind": "image",
            "platform": platform,
            "os": os,
            "architecture": arch,
            "variant": cfg.variant,
            "osVersion": cfg.os_version,
            "created": cfg.created,
            "author": cfg.author,
            "labels": labels,
            "entrypoint": run.entrypoint,
            "cmd": run.cmd,
            "user": run.user,
            "exposedPorts": run.exposed_ports.map(|p| p.into_keys().collect::<Vec<_>>()),
            "layers": m.layers.len(),
            "size": size,
            "history": cfg.history.len(),
            "annotations": annotations,
            "base": base,
        }));
        doc.facet("image.kind", "image");
        doc.facet("image.os", os.clone());
        doc.facet("image.architecture", arch.clone());
        doc.facet("image.platform", platform);
        doc.facet("image.layers", m.layers.len().to_string());
        if let Some(c) = &cfg.created {
            doc.facet("image.created", c.clone());
        }
        for (k, v) in &labels {
            doc.facet("image.label", format!("{k}={v}"));
        }
        for (k, v) in &annotations {
            doc.facet("image.annotation", format!("{k}={v}"));
        }
        if let Some(b) = annotations.get(BASE_NAME) {
            doc.facet("image.base.name", b.to_string());
        }
        if let Some(b) = annotations.get(BASE_DIGEST) {
            doc.facet("image.base.digest", b.to_string());
        }
        Ok(Some(doc))
    }
}

export_plugin!(Image);

#[cfg(test)]
mod tests {
    use super::*;
    use arca_plugin_sdk::testing::Harness;

    const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    fn image(config: Value) -> (Harness, Manifest) {
        let mut h = Harness::new();
        let c = h.blob(CONFIG_TYPES[0], config.to_string());
        let l = h.blob(LAYER, vec![1, 2, 3]);
        let mut m = h.manifest(None, c, vec![l]);
        m.annotations = vec![(BASE_NAME.into(), "docker.io/library/debian:12".into())];
        (h, m)
    }

    #[test]
    fn cosign_placeholder_configs_are_accepted_with_warnings() {
        // What cosign writes as the config of its .sig/.sbom/.att artifacts.
        let (h, m) = image(json!({
            "architecture": "", "os": "", "created": "0001-01-01T00:00:00Z",
            "config": {}, "history": [{"created": "0001-01-01T00:00:00Z"}],
            "rootfs": {"type": "layers", "diff_ids": ["sha256:00"]}
        }));
        match h.validate::<Image>(&m) {
            Verdict::Accept(w) => {
                let paths: Vec<&str> = w.iter().map(|v| v.path.as_str()).collect();
                assert_eq!(paths, ["config:/architecture", "config:/os"], "{w:?}");
            }
            other => panic!("refused: {other:?}"),
        }
    }

    #[test]
    fn a_plain_image_is_indexed_with_platform_labels_and_base() {
        let (h, m) = image(json!({
            "architecture": "arm64", "os": "linux", "variant": "v8",
            "config": {"Labels": {"maintainer": "me"}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:00"]}
        }));
        assert_eq!(h.validate::<Image>(&m), Verdict::accept());
        let doc = h.index::<Image>(&m).unwrap().unwrap();
        assert_eq!(doc.json["platform"], "linux/arm64/v8");
        assert!(
            doc.facets
                .contains(&Facet::new("image.label", "maintainer=me"))
        );
        assert!(doc.facets.contains(&Facet::new(
            "image.base.name",
            "docker.io/library/debian:12"
        )));
        assert!(doc.facets.contains(&Facet::new("image.layers", "1")));
    }

    #[test]
    fn a_config_with_a_bad_os_is_refused_with_its_path_and_a_missing_one_warned() {
        let (h, m) = image(json!({"architecture": "amd64", "os": 5}));
        match h.validate::<Image>(&m) {
            Verdict::Reject(v) => assert_eq!(v[0].path, "config:/os"),
            other => panic!("{other:?}"),
        }
        let (h, m) = image(json!({"architecture": "amd64"}));
        match h.validate::<Image>(&m) {
            Verdict::Accept(w) => assert_eq!(w[0].path, "config:/os"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_config_that_is_not_json_is_refused() {
        let mut h = Harness::new();
        let c = h.blob(CONFIG_TYPES[0], "not json");
        let m = h.manifest(None, c, vec![]);
        assert!(h.validate::<Image>(&m).is_reject());
    }

    #[test]
    fn index_platforms_are_facets_and_must_be_complete() {
        let h = Harness::new();
        let raw = json!({"schemaVersion": 2, "mediaType": INDEX_TYPES[0], "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aa", "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:bb", "size": 1,
             "platform": {"architecture": "arm64", "os": ""}}
        ]});
        let m = Manifest {
            media_type: INDEX_TYPES[0].into(),
            raw: serde_json::to_vec(&raw).unwrap(),
            ..Manifest::default()
        };
        match h.validate::<Image>(&m) {
            Verdict::Reject(v) => assert_eq!(v[0].path, "/manifests/1/platform/os"),
            other => panic!("{other:?}"),
        }
        let doc = h.index::<Image>(&m).unwrap().unwrap();
        assert_eq!(doc.json["platforms"], json!(["linux/amd64"]));
    }
}
