//! The plugin-side types: the same shapes as the WIT contract, as plain Rust values with
//! helpers, so plugin code never touches generated bindings and runs natively in tests.

use std::io::Read;

use serde::de::DeserializeOwned;

/// An OCI content descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type (parameters included as written).
    pub media_type: String,
    /// Digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// `artifactType`, if any.
    pub artifact_type: Option<String>,
    /// Annotations, in key order.
    pub annotations: Vec<(String, String)>,
}

impl Descriptor {
    /// The media type without parameters.
    pub fn essence(&self) -> &str {
        essence(&self.media_type)
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.annotations, key)
    }
}

/// A manifest being validated or indexed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Repository, e.g. `charts/nginx`.
    pub repository: String,
    /// Tag it is pushed under, if any.
    pub tag: Option<String>,
    /// Its digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// `artifactType`, if any.
    pub artifact_type: Option<String>,
    /// Config descriptor (image manifests).
    pub config: Option<Descriptor>,
    /// Layers (image manifests) or entries (indexes).
    pub layers: Vec<Descriptor>,
    /// Subject, if any.
    pub subject: Option<Descriptor>,
    /// Annotations, in key order.
    pub annotations: Vec<(String, String)>,
    /// The exact pushed bytes.
    pub raw: Vec<u8>,
}

impl Manifest {
    /// A manifest annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.annotations, key)
    }

    /// The pushed bytes as JSON (they were checked to be JSON by the host).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw).unwrap_or(serde_json::Value::Null)
    }

    /// Whether this is an index (its `layers` are manifest entries).
    pub fn is_index(&self) -> bool {
        self.config.is_none()
    }

    /// The first layer whose media type (without parameters) is one of `types`, with its position.
    pub fn layer_of(&self, types: &[&str]) -> Option<(usize, &Descriptor)> {
        self.layers
            .iter()
            .enumerate()
            .find(|(_, l)| types.contains(&l.essence()))
    }
}

/// The media type without parameters, trimmed.
pub fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

fn lookup<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// One thing wrong with an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer or file path.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The outcome of `validate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accept, with warnings.
    Accept(Vec<Violation>),
    /// Refuse, with every violation found.
    Reject(Vec<Violation>),
}

impl Verdict {
    /// Accept without warnings.
    pub fn accept() -> Self {
        Verdict::Accept(Vec::new())
    }

    /// Refuse with these violations.
    pub fn reject(v: impl IntoIterator<Item = Violation>) -> Self {
        Verdict::Reject(v.into_iter().collect())
    }

    /// Reject if `errors` is non-empty, else accept with `warnings`.
    pub fn from_findings(errors: Vec<Violation>, warnings: Vec<Violation>) -> Self {
        if errors.is_empty() {
            Verdict::Accept(warnings)
        } else {
            Verdict::Reject(errors)
        }
    }

    /// Whether this refuses the push.
    pub fn is_reject(&self) -> bool {
        matches!(self, Verdict::Reject(_))
    }
}

/// A searchable `(name, value)` pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Facet {
    /// Name, e.g. `purl`.
    pub name: String,
    /// Value.
    pub value: String,
}

impl Facet {
    /// A facet.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Facet {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// What `index` says about a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// A JSON object for display.
    pub json: serde_json::Value,
    /// Facets about this manifest.
    pub facets: Vec<Facet>,
    /// Facets about its subject.
    pub subject_facets: Vec<Facet>,
    /// The subject when only a tag names it.
    pub subject: Option<String>,
}

impl Document {
    /// A document with no facets.
    pub fn new(json: serde_json::Value) -> Self {
        Document {
            json,
            facets: Vec::new(),
            subject_facets: Vec::new(),
            subject: None,
        }
    }

    /// Add a facet about this manifest (empty values are skipped).
    pub fn facet(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.is_empty() {
            self.facets.push(Facet::new(name, value));
        }
        self
    }
}

/// The result of `render`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Media type.
    pub media_type: String,
    /// Bytes.
    pub body: Vec<u8>,
}

/// What a plugin declares about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// Name (`[a-z0-9-]+`).
    pub name: String,
    /// Version.
    pub version: String,
    /// Media type patterns handled.
    pub handles: Vec<String>,
    /// Implements `validate`.
    pub validate: bool,
    /// Implements `index`.
    pub index: bool,
    /// Implements `render`.
    pub render: bool,
    /// Views `render` produces.
    pub views: Vec<String>,
}

impl Info {
    /// A plugin named `name` at `version`, handling nothing yet.
    pub fn new(name: &str, version: &str) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            ..Info::default()
        }
    }

    /// Media type patterns (exact, `prefix*`, or `*`).
    pub fn handles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.handles.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Declares `validate`.
    pub fn validates(mut self) -> Self {
        self.validate = true;
        self
    }

    /// Declares `index`.
    pub fn indexes(mut self) -> Self {
        self.index = true;
        self
    }

    /// Declares `render` with these views.
    pub fn renders<I: IntoIterator<Item = S>, S: Into<String>>(mut self, views: I) -> Self {
        self.render = true;
        self.views.extend(views.into_iter().map(Into::into));
        self
    }
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warn,
    /// Error.
    Error,
}

/// Where a [`Context`] gets blobs, configuration and logging from: the host's imports
/// inside the sandbox, or files and memory under the test harness.
pub trait Host {
    /// Open a blob the manifest references.
    fn open(&self, digest: &str) -> Result<Blob, String>;
    /// The plugin's settings as JSON text.
    fn config(&self) -> String;
    /// The host's time of this call, in Unix seconds.
    fn now(&self) -> u64;
    /// Log a message.
    fn log(&self, level: Level, message: &str);
}

/// An open blob: its size and a reader.
pub struct Blob {
    size: u64,
    reader: Box<dyn Read>,
}

impl Blob {
    /// A blob of `size` bytes read from `reader`.
    pub fn new(size: u64, reader: Box<dyn Read>) -> Self {
        Blob { size, reader }
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for Blob {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

/// What a plugin function can reach: blobs of the manifest at hand, its settings, the log.
pub struct Context {
    host: Box<dyn Host>,
    config: serde_json::Value,
}

impl Context {
    /// A context over `host`.
    pub fn new(host: Box<dyn Host>) -> Self {
        let config = serde_json::from_str(&host.config()).unwrap_or(serde_json::Value::Null);
        Context { host, config }
    }

    /// Open a blob the manifest references, as a `std::io::Read`.
    pub fn open(&self, digest: &str) -> Result<Blob, String> {
        self.host.open(digest)
    }

    /// Read a whole blob, refusing one larger than `limit` bytes.
    pub fn read_all(&self, digest: &str, limit: u64) -> Result<Vec<u8>, String> {
        let blob = self.open(digest)?;
        if blob.size() > limit {
            return Err(format!(
                "blob {digest} is {} bytes, over the limit of {limit}",
                blob.size()
            ));
        }
        let mut out = Vec::with_capacity(blob.size() as usize);
        blob.take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("reading blob {digest}: {e}"))?;
        Ok(out)
    }

    /// Read a blob as JSON into `T`, refusing one larger than `limit` bytes.
    pub fn read_json<T: DeserializeOwned>(&self, digest: &str, limit: u64) -> Result<T, String> {
        let bytes = self.read_all(digest, limit)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("blob {digest} is not the JSON expected: {e}"))
    }

    /// The plugin's settings for this repository (`{}`/null when none).
    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }

    /// A setting, deserialised; `None` when absent or of the wrong shape.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.config
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The time of this call in Unix seconds, as the host judges it (plugins have no
    /// clock of their own).
    pub fn now(&self) -> u64 {
        self.host.now()
    }

    /// Log into the host's log.
    pub fn log(&self, level: Level, message: &str) {
        self.host.log(level, message);
    }
}
