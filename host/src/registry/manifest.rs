//! Parsing and structural checks of pushed manifests: the image-spec and Docker v2
//! rules every manifest must meet before anything else looks at it. Nothing here is
//! about a particular artifact type; that is what plugins are for.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::error::Error;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest media types arca stores.
pub const SUPPORTED: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// A content descriptor as it appears in a manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Digest of the referenced content.
    #[serde(default)]
    pub digest: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<serde_json::Value>,
    /// Artifact type, if any.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// URLs for non-distributable content.
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    /// Annotations.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// A checked descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDescriptor {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: Digest,
    /// Size.
    pub size: u64,
    /// Artifact type.
    pub artifact_type: Option<String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Whether the content need not be in the registry (non-distributable layers).
    pub foreign: bool,
}

/// A manifest that passed the structural checks.
#[derive(Debug, Clone)]
pub struct ParsedManifest {
    /// The effective media type.
    pub media_type: String,
    /// `artifactType` as written.
    pub artifact_type: Option<String>,
    /// Config descriptor (image manifests).
    pub config: Option<CheckedDescriptor>,
    /// Layers (image manifests).
    pub layers: Vec<CheckedDescriptor>,
    /// Entries (indexes).
    pub manifests: Vec<CheckedDescriptor>,
    /// The subject, if any.
    pub subject: Option<CheckedDescriptor>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

impl ParsedManifest {
    /// Whether this is an index (entries are manifests) rather than an image manifest.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// The artifact type the referrers API reports: `artifactType`, else the config media type.
    pub fn effective_artifact_type(&self) -> Option<String> {
        self.artifact_type
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(|| self.config.as_ref().map(|c| c.media_type.clone()))
    }

    /// Blobs that must be readable in the repository for this manifest to be stored.
    pub fn required_blobs(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .config
            .iter()
            .chain(self.layers.iter())
            .filter(|d| !d.foreign)
            .map(|d| d.digest.to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Manifests that must exist in the repository for this index to be stored.
    pub fn required_manifests(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .manifests
            .iter()
            .map(|d| d.digest.to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A media type without its parameters (`a/b; x=y` → `a/b`).
pub fn media_type_essence(ct: &str) -> &str {
    ct.split(';').next().unwrap_or("").trim()
}

/// Layers whose bytes may legitimately live outside the registry.
fn is_non_distributable(media_type: &str) -> bool {
    media_type.contains(".nondistributable.") || media_type.contains(".foreign.")
}

fn check_descriptor(d: &Descriptor, path: &str) -> Result<CheckedDescriptor, Error> {
    let media_type = match &d.media_type {
        Some(m) if !m.trim().is_empty() => m.clone(),
        _ => {
            return Err(Error::manifest_invalid(format!(
                "{path}/mediaType: required and must be a non-empty string"
            )));
        }
    };
    let digest_text = d
        .digest
        .as_deref()
        .ok_or_else(|| Error::manifest_invalid(format!("{path}/digest: required")))?;
    let digest: Digest = digest_text
        .parse()
        .map_err(|e| Error::manifest_invalid(format!("{path}/digest: {e}")))?;
    let size = match &d.size {
        Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| {
            Error::manifest_invalid(format!(
                "{path}/size: must be a non-negative integer, got {n}"
            ))
        })?,
        Some(other) => {
            return Err(Error::manifest_invalid(format!(
                "{path}/size: must be a non-negative integer, got {other}"
            )));
        }
        None => return Err(Error::manifest_invalid(format!("{path}/size: required"))),
    };
    let foreign = is_non_distributable(&media_type);
    Ok(CheckedDescriptor {
        media_type,
        digest,
        size,
        artifact_type: d.artifact_type.clone(),
        annotations: d.annotations.clone().unwrap_or_default(),
        foreign,
    })
}

fn check_list(list: &[Descriptor], path: &str) -> Result<Vec<CheckedDescriptor>, Error> {
    list.iter()
        .enumerate()
        .map(|(i, d)| check_descriptor(d, &format!("{path}/{i}")))
        .collect()
}

/// Parse `bytes` pushed with `content_type` and check its structure.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedManifest, Error> {
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| {
        Error::manifest_invalid(format!(
            "manifest is not valid JSON of the expected shape: {e}"
        ))
    })?;
    let content_type = content_type
        .map(media_type_essence)
        .filter(|c| !c.is_empty());

    let media_type = match (&raw.media_type, content_type) {
        (Some(m), Some(ct)) if m != ct => {
            return Err(Error::manifest_invalid(format!(
                "/mediaType: {m:?} does not match the Content-Type header {ct:?}"
            )));
        }
        (Some(m), _) => m.clone(),
        (None, Some(ct)) if SUPPORTED.contains(&ct) => ct.to_string(),
        // No mediaType and no telling Content-Type: go by shape.
        (None, _) if raw.manifests.is_some() => OCI_INDEX.to_string(),
        (None, _) if raw.config.is_some() => OCI_MANIFEST.to_string(),
        (None, ct) => {
            return Err(Error::manifest_invalid(format!(
                "manifest has no mediaType and its Content-Type {:?} is not a supported manifest type ({})",
                ct.unwrap_or(""),
                SUPPORTED.join(", ")
            )));
        }
    };
    if !SUPPORTED.contains(&media_type.as_str()) {
        return Err(Error::manifest_invalid(format!(
            "/mediaType: {media_type:?} is not a supported manifest type ({})",
            SUPPORTED.join(", ")
        )));
    }
    match &raw.schema_version {
        Some(v) if v.as_i64() == Some(2) => {}
        Some(v) => {
            return Err(Error::manifest_invalid(format!(
                "/schemaVersion: must be 2, got {v}"
            )));
        }
        None => return Err(Error::manifest_invalid("/schemaVersion: required (2)")),
    }

    let subject = raw
        .subject
        .as_ref()
        .map(|s| check_descriptor(s, "/subject"))
        .transpose()?;
    let annotations = raw.annotations.clone().unwrap_or_default();
    let mut parsed = ParsedManifest {
        media_type: media_type.clone(),
        artifact_type: raw.artifact_type.clone(),
        config: None,
        layers: Vec::new(),
        manifests: Vec::new(),
        subject,
        annotations,
    };
    if parsed.is_index() {
        if raw.config.is_some() || raw.layers.is_some() {
            return Err(Error::manifest_invalid(format!(
                "an index ({media_type}) must not have config or layers"
            )));
        }
        let entries = raw
            .manifests
            .as_ref()
            .ok_or_else(|| Error::manifest_invalid("/manifests: required for an index"))?;
        parsed.manifests = check_list(entries, "/manifests")?;
    } else {
        if raw.manifests.is_some() {
            return Err(Error::manifest_invalid(format!(
                "an image manifest ({media_type}) must not have manifests"
            )));
        }
        let config = raw
            .config
            .as_ref()
            .ok_or_else(|| Error::manifest_invalid("/config: required for an image manifest"))?;
        parsed.config = Some(check_descriptor(config, "/config")?);
        let layers = raw
            .layers
            .as_ref()
            .ok_or_else(|| Error::manifest_invalid("/layers: required for an image manifest"))?;
        parsed.layers = check_list(layers, "/layers")?;
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn image_manifest_by_content_type() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/x-cfg","digest":"{D}","size":0}},"layers":[]}}"#
        );
        let p = parse(m.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(
            p.effective_artifact_type().as_deref(),
            Some("application/x-cfg")
        );
        assert_eq!(p.required_blobs(), vec![D.to_string()]);
    }

    #[test]
    fn mismatched_content_type_is_refused() {
        let m = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        let e = parse(m.as_bytes(), Some(OCI_MANIFEST)).unwrap_err();
        assert!(e.message.contains("does not match"), "{}", e.message);
    }

    #[test]
    fn bad_descriptor_names_its_path() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"a","digest":"{D}","size":0}},"layers":[{{"mediaType":"b","digest":"sha256:zz","size":1}}]}}"#
        );
        let e = parse(m.as_bytes(), None).unwrap_err();
        assert!(e.message.starts_with("/layers/0/digest"), "{}", e.message);
    }

    #[test]
    fn foreign_layers_are_not_required() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"a","digest":"{D}","size":0}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha512:{}","size":1}}]}}"#,
            "a".repeat(128)
        );
        let p = parse(m.as_bytes(), Some(DOCKER_MANIFEST)).unwrap();
        assert_eq!(p.required_blobs(), vec![D.to_string()]);
    }
}
