//! Run a plugin natively against files or bytes, without a registry: the harness plays
//! the host (blobs by digest, settings, log) and calls the plugin's functions directly.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::{
    Blob, Context, Descriptor, Document, Host, Level, Manifest, Plugin, Rendered, Verdict,
};

/// A pretend registry for one plugin: add blobs, build a manifest, call the plugin.
#[derive(Default, Clone)]
pub struct Harness {
    blobs: HashMap<String, Arc<Vec<u8>>>,
    config: serde_json::Value,
    now: Option<u64>,
    /// Messages the plugin logged.
    pub logs: Arc<Mutex<Vec<(Level, String)>>>,
}

struct HarnessHost {
    blobs: HashMap<String, Arc<Vec<u8>>>,
    config: String,
    now: u64,
    logs: Arc<Mutex<Vec<(Level, String)>>>,
}

impl Host for HarnessHost {
    fn open(&self, digest: &str) -> Result<Blob, String> {
        let b = self
            .blobs
            .get(digest)
            .ok_or_else(|| format!("blob {digest} is not referenced by this manifest"))?;
        Ok(Blob::new(
            b.len() as u64,
            Box::new(Cursor::new(b.as_ref().clone())),
        ))
    }
    fn config(&self) -> String {
        self.config.clone()
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn log(&self, level: Level, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_string()));
    }
}

impl Harness {
    /// An empty harness with `{}` settings.
    pub fn new() -> Self {
        Harness {
            config: serde_json::json!({}),
            ..Harness::default()
        }
    }

    /// Pretend the host's clock reads `unix_seconds` (by default it is the real time).
    pub fn with_now(mut self, unix_seconds: u64) -> Self {
        self.now = Some(unix_seconds);
        self
    }

    /// Use these settings.
    pub fn with_config(mut self, config: serde_json::Value) -> Self {
        self.config = config;
        self
    }

    /// Store bytes and return a descriptor of them with `media_type`.
    pub fn blob(&mut self, media_type: &str, bytes: impl Into<Vec<u8>>) -> Descriptor {
        let bytes = bytes.into();
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        let size = bytes.len() as u64;
        self.blobs.insert(digest.clone(), Arc::new(bytes));
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            ..Descriptor::default()
        }
    }

    /// Store a file's bytes (see [`Harness::blob`]).
    pub fn file(
        &mut self,
        media_type: &str,
        path: impl AsRef<std::path::Path>,
    ) -> std::io::Result<Descriptor> {
        Ok(self.blob(media_type, std::fs::read(path)?))
    }

    /// An OCI image manifest over `config` and `layers`, as a client would push it.
    pub fn manifest(
        &self,
        artifact_type: Option<&str>,
        config: Descriptor,
        layers: Vec<Descriptor>,
    ) -> Manifest {
        let desc = |d: &Descriptor| {
            let mut v = serde_json::json!({ "mediaType": d.media_type, "digest": d.digest, "size": d.size });
            if !d.annotations.is_empty() {
                v["annotations"] = d
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            v
        };
        let mut raw = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": desc(&config),
            "layers": layers.iter().map(desc).collect::<Vec<_>>(),
        });
        if let Some(at) = artifact_type {
            raw["artifactType"] = at.into();
        }
        let raw = serde_json::to_vec(&raw).unwrap_or_default();
        Manifest {
            repository: "test/repo".into(),
            tag: Some("latest".into()),
            digest: format!("sha256:{}", sha256_hex(&raw)),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: artifact_type.map(str::to_string),
            config: Some(config),
            layers,
            subject: None,
            annotations: Vec::new(),
            raw,
        }
    }

    fn cx(&self) -> Context {
        Context::new(Box::new(HarnessHost {
            blobs: self.blobs.clone(),
            config: self.config.to_string(),
            now: self.now.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            logs: self.logs.clone(),
        }))
    }

    /// Call `validate`.
    pub fn validate<P: Plugin>(&self, m: &Manifest) -> Verdict {
        P::validate(m, &self.cx())
    }

    /// Call `index`.
    pub fn index<P: Plugin>(&self, m: &Manifest) -> Result<Option<Document>, String> {
        P::index(m, &self.cx())
    }

    /// Call `render` over documents.
    pub fn render<P: Plugin>(
        &self,
        view: &str,
        prefix: &str,
        target: Option<&Manifest>,
        documents: &[serde_json::Value],
    ) -> Result<Rendered, String> {
        P::render(view, prefix, target, documents, &self.cx())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
