//! One pass over a WebAssembly binary, streamed from the registry: full validation with
//! `wasmparser`'s [`Validator`] and, at the same time, what the index needs (kind, imports,
//! exports, producers, custom sections).
//!
//! A core module is never held in memory whole: only the section being parsed (or, in the
//! code section, one function body) is buffered. A component is kept, because decoding its
//! world (`wit_parser::decoding`) needs every byte.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use wasmparser::{
    Chunk, CompositeInnerType, Encoding, ExternalKind, FuncType, FuncValidatorAllocations,
    KnownCustom, Parser, Payload, TypeRef, ValidPayload, Validator, WasmFeatures,
};

/// How much is read from the blob at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Most entries listed per field (imports, exports, producers, custom sections); the rest
/// is counted, not kept, so a module with a million exports cannot flood the index.
pub const MAX_LISTED: usize = 1000;

/// A core module or a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A core WebAssembly module (`\0asm` version 1).
    Module,
    /// A component (component-model layer).
    Component,
}

impl Kind {
    /// `module` or `component`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Component => "component",
        }
    }
}

/// Which WebAssembly features the validator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Features {
    /// Every proposal `wasmparser` knows, finished or not (the registry does not judge which
    /// runtime will run the binary, only that it is well-formed and valid).
    All,
    /// `wasmparser`'s default set: the finished proposals and the component model.
    Standard,
}

impl Features {
    fn wasm_features(self) -> WasmFeatures {
        match self {
            Features::All => WasmFeatures::all(),
            Features::Standard => WasmFeatures::default(),
        }
    }
}

/// A core-module import or export, with a readable description of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreItem {
    /// The import's module (empty for exports).
    pub module: String,
    /// The item's name.
    pub name: String,
    /// E.g. `func(i32, i32) -> i32`, `memory 17`, `global mut i32`.
    pub desc: String,
}

/// `(name, version)` entries of one producers field.
pub type ProducerValues = BTreeSet<(String, String)>;

/// What one pass over a binary found.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Module or component, from the header.
    pub kind: Kind,
    /// Bytes read.
    pub size: u64,
    /// Top-level imports of a module (`module/name`) or a component (its import names).
    pub imports: Vec<String>,
    /// Top-level export names.
    pub exports: Vec<String>,
    /// A top-level core module's imports with their types (for the `wit` view).
    pub core_imports: Vec<CoreItem>,
    /// A top-level core module's exports with their types.
    pub core_exports: Vec<CoreItem>,
    /// Producers sections of every module and component inside, merged:
    /// field (`language`, `processed-by`, `sdk`) → values.
    pub producers: BTreeMap<String, ProducerValues>,
    /// Names of every custom section, at any depth.
    pub custom_sections: BTreeSet<String>,
    /// Core modules and components nested inside a component.
    pub nested_modules: usize,
    /// Components nested inside a component.
    pub nested_components: usize,
    /// The content of an `io.kubewarden.metadata` custom section, if any.
    pub kubewarden_metadata: Option<Vec<u8>>,
    /// Entries left out of the lists above because of [`MAX_LISTED`].
    pub truncated: usize,
    /// The whole binary, kept for components (`None` for modules).
    pub bytes: Option<Vec<u8>>,
}

/// Why a binary was refused or could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The bytes are not a valid WebAssembly module or component.
    Invalid {
        /// Byte offset in the binary.
        offset: u64,
        /// What `wasmparser` said.
        message: String,
    },
    /// The blob could not be read from the registry.
    Read(String),
    /// More bytes than the limit.
    TooLarge(u64),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Invalid { offset, message } => write!(
                f,
                "not a valid WebAssembly binary: {message} (at byte offset {offset})"
            ),
            Failure::Read(e) => write!(f, "cannot read the blob: {e}"),
            Failure::TooLarge(limit) => write!(f, "more than the limit of {limit} bytes"),
        }
    }
}

fn invalid(e: wasmparser::BinaryReaderError) -> Failure {
    Failure::Invalid {
        offset: e.offset(),
        // Some messages are multi-line (the bad magic number's bytes): keep them on one.
        message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Per-level state while walking nested modules and components.
struct Level {
    parser: Parser,
    /// Top level (depth 0)?
    top: bool,
}

/// Core types of the top-level module, enough to describe its imports and exports.
#[derive(Default)]
struct CoreTypes {
    /// Signature per type index (`None` for non-function types).
    types: Vec<Option<String>>,
    /// Type index per function index (imports first).
    funcs: Vec<u32>,
    /// Descriptions per table, memory, global and tag index.
    tables: Vec<String>,
    memories: Vec<String>,
    globals: Vec<String>,
    tags: Vec<String>,
}

fn func_sig(f: &FuncType) -> String {
    let list = |v: &[wasmparser::ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match f.results() {
        [] => format!("func({})", list(f.params())),
        [one] => format!("func({}) -> {one}", list(f.params())),
        many => format!("func({}) -> ({})", list(f.params()), list(many)),
    }
}

impl CoreTypes {
    fn func(&self, type_index: u32) -> String {
        self.types
            .get(type_index as usize)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("func (type {type_index})"))
    }

    fn describe_import(&mut self, ty: &TypeRef) -> String {
        match ty {
            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                self.funcs.push(*t);
                self.func(*t)
            }
            TypeRef::Table(t) => {
                let d = format!("table {} {}", t.element_type, limits(t.initial, t.maximum));
                self.tables.push(d.clone());
                d
            }
            TypeRef::Memory(m) => {
                let d = format!(
                    "memory{} {}",
                    if m.memory64 { " i64" } else { "" },
                    limits(m.initial, m.maximum)
                );
                self.memories.push(d.clone());
                d
            }
            TypeRef::Global(g) => {
                let d = format!(
                    "global {}{}",
                    if g.mutable { "mut " } else { "" },
                    g.content_type
                );
                self.globals.push(d.clone());
                d
            }
            TypeRef::Tag(t) => {
                let d = format!("tag {}", self.func(t.func_type_idx));
                self.tags.push(d.clone());
                d
            }
        }
    }

    fn describe_export(&self, kind: ExternalKind, index: u32) -> String {
        let i = index as usize;
        let pick = |v: &Vec<String>, what: &str| {
            v.get(i)
                .cloned()
                .unwrap_or_else(|| format!("{what} {index}"))
        };
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => self
                .funcs
                .get(i)
                .map(|t| self.func(*t))
                .unwrap_or_else(|| format!("func {index}")),
            ExternalKind::Table => pick(&self.tables, "table"),
            ExternalKind::Memory => pick(&self.memories, "memory"),
            ExternalKind::Global => pick(&self.globals, "global"),
            ExternalKind::Tag => pick(&self.tags, "tag"),
        }
    }
}

fn limits(initial: u64, maximum: Option<u64>) -> String {
    match maximum {
        Some(max) => format!("{initial}..{max}"),
        None => format!("{initial}.."),
    }
}

/// Pushes `item` unless the list is full (then counts it as truncated).
fn push_capped<T>(list: &mut Vec<T>, item: T, truncated: &mut usize) {
    if list.len() < MAX_LISTED {
        list.push(item);
    } else {
        *truncated += 1;
    }
}

/// Reads a binary from `reader` (at most `limit` bytes), validating it fully and collecting
/// what [`Analysis`] describes.
pub fn analyze(mut reader: impl Read, limit: u64, features: Features) -> Result<Analysis, Failure> {
    let mut validator = Validator::new_with_features(features.wasm_features());
    let mut allocs = FuncValidatorAllocations::default();
    let mut stack: Vec<Level> = Vec::new();
    let mut cur = Level {
        parser: Parser::new(0),
        top: true,
    };
    let mut core = CoreTypes::default();

    // Bytes read and not yet dropped; the parser is at `buf[start..]`. For a component
    // (`keep_all`) nothing is dropped, so `buf` ends up holding the whole binary.
    let mut buf: Vec<u8> = Vec::new();
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut start = 0usize;
    let mut eof = false;
    let mut total: u64 = 0;
    let mut keep_all = false;

    let mut out = Analysis {
        kind: Kind::Module,
        size: 0,
        imports: Vec::new(),
        exports: Vec::new(),
        core_imports: Vec::new(),
        core_exports: Vec::new(),
        producers: BTreeMap::new(),
        custom_sections: BTreeSet::new(),
        nested_modules: 0,
        nested_components: 0,
        kubewarden_metadata: None,
        truncated: 0,
        bytes: None,
    };
    let mut header_seen = false;

    loop {
        let chunk = cur.parser.parse(&buf[start..], eof).map_err(invalid)?;
        let (payload, consumed) = match chunk {
            Chunk::NeedMoreData(_hint) => {
                if eof {
                    // wasmparser reports truncation itself; this is a safety net.
                    return Err(Failure::Invalid {
                        offset: total,
                        message: "unexpected end of the binary".into(),
                    });
                }
                // A module's consumed bytes are dropped (now and then, so draining stays
                // cheap); a component's are kept for decoding its world.
                if !keep_all && start >= READ_CHUNK {
                    buf.drain(..start);
                    start = 0;
                }
                // The blob is read in chunks whatever the parser asks for (`_hint`).
                let n = read_some(&mut reader, &mut scratch)?;
                if n == 0 {
                    eof = true;
                } else {
                    total += n as u64;
                    if total > limit {
                        return Err(Failure::TooLarge(limit));
                    }
                    buf.extend_from_slice(&scratch[..n]);
                }
                continue;
            }
            Chunk::Parsed { consumed, payload } => (payload, consumed),
        };

        let mut done = false;
        match validator.payload(&payload).map_err(invalid)? {
            ValidPayload::Ok | ValidPayload::Parser(_) => {}
            ValidPayload::Func(func, body) => {
                let mut v = func.into_validator(std::mem::take(&mut allocs));
                v.validate(&body).map_err(invalid)?;
                allocs = v.into_allocations();
            }
            ValidPayload::End(_) => {}
        }

        match &payload {
            Payload::Version { encoding, .. } if !header_seen => {
                header_seen = true;
                if *encoding == Encoding::Component {
                    out.kind = Kind::Component;
                    // Nothing was dropped yet: the header is the first payload.
                    keep_all = true;
                }
            }
            Payload::TypeSection(s) if cur.top && out.kind == Kind::Module => {
                for group in s.clone() {
                    for sub in group.map_err(invalid)?.into_types() {
                        core.types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(func_sig(f)),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(s) if cur.top && out.kind == Kind::Module => {
                for import in s.clone().into_imports() {
                    let import = import.map_err(invalid)?;
                    let desc = core.describe_import(&import.ty);
                    push_capped(
                        &mut out.imports,
                        format!("{}/{}", import.module, import.name),
                        &mut out.truncated,
                    );
                    push_capped(
                        &mut out.core_imports,
                        CoreItem {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            desc,
                        },
                        &mut out.truncated,
                    );
                }
            }
            Payload::FunctionSection(s) if cur.top && out.kind == Kind::Module => {
                for t in s.clone() {
                    core.funcs.push(t.map_err(invalid)?);
                }
            }
            Payload::TableSection(s) if cur.top && out.kind == Kind::Module => {
                for t in s.clone() {
                    let t = t.map_err(invalid)?.ty;
                    core.tables.push(format!(
                        "table {} {}",
                        t.element_type,
                        limits(t.initial, t.maximum)
                    ));
                }
            }
            Payload::MemorySection(s) if cur.top && out.kind == Kind::Module => {
                for m in s.clone() {
                    let m = m.map_err(invalid)?;
                    core.memories.push(format!(
                        "memory{} {}",
                        if m.memory64 { " i64" } else { "" },
                        limits(m.initial, m.maximum)
                    ));
                }
            }
            Payload::GlobalSection(s) if cur.top && out.kind == Kind::Module => {
                for g in s.clone() {
                    let g = g.map_err(invalid)?.ty;
                    core.globals.push(format!(
                        "global {}{}",
                        if g.mutable { "mut " } else { "" },
                        g.content_type
                    ));
                }
            }
            Payload::TagSection(s) if cur.top && out.kind == Kind::Module => {
                for t in s.clone() {
                    let t = t.map_err(invalid)?;
                    let d = format!("tag {}", core.func(t.func_type_idx));
                    core.tags.push(d);
                }
            }
            Payload::ExportSection(s) if cur.top && out.kind == Kind::Module => {
                for e in s.clone() {
                    let e = e.map_err(invalid)?;
                    push_capped(&mut out.exports, e.name.to_string(), &mut out.truncated);
                    push_capped(
                        &mut out.core_exports,
                        CoreItem {
                            module: String::new(),
                            name: e.name.to_string(),
                            desc: core.describe_export(e.kind, e.index),
                        },
                        &mut out.truncated,
                    );
                }
            }
            Payload::ComponentImportSection(s) if cur.top => {
                for i in s.clone() {
                    let i = i.map_err(invalid)?;
                    push_capped(
                        &mut out.imports,
                        i.name.full_name().into_owned(),
                        &mut out.truncated,
                    );
                }
            }
            Payload::ComponentExportSection(s) if cur.top => {
                for e in s.clone() {
                    let e = e.map_err(invalid)?;
                    push_capped(
                        &mut out.exports,
                        e.name.full_name().into_owned(),
                        &mut out.truncated,
                    );
                }
            }
            Payload::ModuleSection { parser, .. } => {
                out.nested_modules += 1;
                let parent = std::mem::replace(
                    &mut cur,
                    Level {
                        parser: parser.clone(),
                        top: false,
                    },
                );
                stack.push(parent);
            }
            Payload::ComponentSection { parser, .. } => {
                out.nested_components += 1;
                let parent = std::mem::replace(
                    &mut cur,
                    Level {
                        parser: parser.clone(),
                        top: false,
                    },
                );
                stack.push(parent);
            }
            Payload::CustomSection(c) => {
                if out.custom_sections.len() < MAX_LISTED {
                    out.custom_sections.insert(c.name().to_string());
                } else if !out.custom_sections.contains(c.name()) {
                    out.truncated += 1;
                }
                if c.name() == crate::kubewarden::CUSTOM_SECTION
                    && out.kubewarden_metadata.is_none()
                {
                    out.kubewarden_metadata = Some(c.data().to_vec());
                }
                if let KnownCustom::Producers(reader) = c.as_known() {
                    // A malformed producers section is not a reason to refuse a binary
                    // (engines ignore custom sections): read what parses.
                    for field in reader.into_iter().flatten() {
                        let values = out.producers.entry(field.name.to_string()).or_default();
                        for v in field.values.into_iter().flatten() {
                            if values.len() < MAX_LISTED {
                                values.insert((v.name.to_string(), v.version.to_string()));
                            } else {
                                out.truncated += 1;
                            }
                        }
                    }
                }
            }
            Payload::End(_) => match stack.pop() {
                Some(parent) => cur = parent,
                None => done = true,
            },
            _ => {}
        }
        start += consumed;
        if done {
            break;
        }
    }

    out.size = total;
    out.bytes = keep_all.then_some(buf);
    Ok(out)
}

/// `read` that retries on interruption and turns errors into [`Failure::Read`].
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, Failure> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Read(e.to_string())),
        }
    }
}

/// Module or component, judged from the first 8 bytes (`None` when they are no Wasm header).
pub fn kind_of_header(bytes: &[u8]) -> Option<Kind> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return None;
    }
    match bytes[6..8] {
        [0, 0] => Some(Kind::Module),
        [1, 0] => Some(Kind::Component),
        _ => None,
    }
}
