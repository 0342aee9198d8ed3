//! The bridge between generated bindings and the [`Plugin`] trait (wasm32 only).

use std::io::Read;

use crate::{Blob, Context, Host, Level, Manifest, Plugin};

#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "artifact-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_artifact_plugin",
        default_bindings_module: "arca_plugin_sdk::guest::bindings",
        generate_all,
    });
}

pub use bindings::__export_artifact_plugin as export;
pub use bindings::exports::arca::plugin::plugin::Guest;

/// The generated contract types.
pub mod wit {
    pub use super::bindings::arca::plugin::types::*;
}

use bindings::arca::plugin::{blobs, config, log};

struct WitHost;

struct WitReader {
    blob: blobs::Blob,
}

impl Read for WitReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(64 * 1024) as u32;
        let chunk = self.blob.read(want).map_err(std::io::Error::other)?;
        buf[..chunk.len()].copy_from_slice(&chunk);
        Ok(chunk.len())
    }
}

impl Host for WitHost {
    fn open(&self, digest: &str) -> Result<Blob, String> {
        let blob = blobs::open(digest)?;
        let size = blob.size();
        Ok(Blob::new(size, Box::new(WitReader { blob })))
    }

    fn config(&self) -> String {
        config::get()
    }

    fn now(&self) -> u64 {
        config::now()
    }

    fn log(&self, level: Level, message: &str) {
        let l = match level {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error => log::Level::Error,
        };
        log::log(l, message);
    }
}

fn cx() -> Context {
    Context::new(Box::new(WitHost))
}

fn descriptor(d: wit::Descriptor) -> crate::Descriptor {
    crate::Descriptor {
        media_type: d.media_type,
        digest: d.digest,
        size: d.size,
        artifact_type: d.artifact_type,
        annotations: d.annotations,
    }
}

fn manifest(m: wit::Manifest) -> Manifest {
    Manifest {
        repository: m.repository,
        tag: m.tag,
        digest: m.digest,
        media_type: m.media_type,
        artifact_type: m.artifact_type,
        config: m.config.map(descriptor),
        layers: m.layers.into_iter().map(descriptor).collect(),
        subject: m.subject.map(descriptor),
        annotations: m.annotations,
        raw: m.raw,
    }
}

fn violations(v: Vec<crate::Violation>) -> Vec<wit::Violation> {
    v.into_iter()
        .map(|v| wit::Violation {
            path: v.path,
            message: v.message,
        })
        .collect()
}

fn facets(f: Vec<crate::Facet>) -> Vec<wit::Facet> {
    f.into_iter()
        .map(|f| wit::Facet {
            name: f.name,
            value: f.value,
        })
        .collect()
}

#[doc(hidden)]
pub fn info<P: Plugin>() -> wit::PluginInfo {
    let i = P::info();
    let mut caps = wit::Capabilities::empty();
    if i.validate {
        caps |= wit::Capabilities::VALIDATE;
    }
    if i.index {
        caps |= wit::Capabilities::INDEX;
    }
    if i.render {
        caps |= wit::Capabilities::RENDER;
    }
    wit::PluginInfo {
        name: i.name,
        version: i.version,
        handles: i.handles,
        capabilities: caps,
        views: i.views,
    }
}

#[doc(hidden)]
pub fn validate<P: Plugin>(m: wit::Manifest) -> wit::Verdict {
    match P::validate(&manifest(m), &cx()) {
        crate::Verdict::Accept(w) => wit::Verdict::Accept(violations(w)),
        crate::Verdict::Reject(v) => wit::Verdict::Reject(violations(v)),
    }
}

#[doc(hidden)]
pub fn index<P: Plugin>(m: wit::Manifest) -> Result<Option<wit::Document>, String> {
    Ok(P::index(&manifest(m), &cx())?.map(|d| wit::Document {
        json: d.json.to_string(),
        facets: facets(d.facets),
        subject_facets: facets(d.subject_facets),
        subject: d.subject,
    }))
}

#[doc(hidden)]
pub fn render<P: Plugin>(
    view: String,
    prefix: String,
    target: Option<wit::Manifest>,
    documents: Vec<String>,
) -> Result<wit::Rendered, String> {
    let docs: Vec<serde_json::Value> = documents
        .iter()
        .map(|d| serde_json::from_str(d).unwrap_or(serde_json::Value::Null))
        .collect();
    let target = target.map(manifest);
    let r = P::render(&view, &prefix, target.as_ref(), &docs, &cx())?;
    Ok(wit::Rendered {
        media_type: r.media_type,
        body: r.body,
    })
}
