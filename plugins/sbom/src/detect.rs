//! Finding the SBOMs in a manifest, wherever tools put them, and reading them under the
//! configured limits.

use std::collections::BTreeSet;

use arca_plugin_sdk::{Context, Descriptor, Manifest, Violation, essence};
use base64::Engine as _;
use serde_json::Value;

use crate::util::{Loc, Settings, parse_json, strip_bom};

pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
pub const CYCLONEDX_XML: &str = "application/vnd.cyclonedx+xml";
pub const SPDX_JSON: &str = "application/spdx+json";
pub const SPDX_JSON_COSIGN: &str = "text/spdx+json";
pub const SPDX_TAG_VALUE: &str = "text/spdx";
pub const COSIGN_SBOM: &str = "application/vnd.dev.cosign.artifact.sbom.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Where tools note an attestation's predicate type: BuildKit on the layer, cosign's legacy
/// `.att` images on the layer, cosign's and GitHub's sigstore bundles on the manifest.
const PREDICATE_TYPE_ANNOTATIONS: &[&str] = &["in-toto.io/predicate-type", "predicateType"];
const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// Every media type the plugin declares.
pub const HANDLES: &[&str] = &[
    CYCLONEDX_JSON,
    CYCLONEDX_XML,
    SPDX_JSON,
    SPDX_JSON_COSIGN,
    SPDX_TAG_VALUE,
    COSIGN_SBOM,
    IN_TOTO,
    DSSE,
    SIGSTORE_BUNDLE_V03,
    SIGSTORE_BUNDLE,
];

/// An SBOM encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CycloneDxJson,
    CycloneDxXml,
    SpdxJson,
    SpdxTagValue,
}

/// What a media type says about a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An SBOM in this format.
    Sbom(Format),
    /// An SBOM whose format its content tells (cosign's SBOM type).
    Sniff,
    /// An in-toto statement, DSSE envelope or sigstore bundle, which may carry an SBOM.
    Attestation,
}

fn kind_of(media_type: &str) -> Option<Kind> {
    match essence(media_type) {
        CYCLONEDX_JSON => Some(Kind::Sbom(Format::CycloneDxJson)),
        CYCLONEDX_XML => Some(Kind::Sbom(Format::CycloneDxXml)),
        SPDX_JSON | SPDX_JSON_COSIGN => Some(Kind::Sbom(Format::SpdxJson)),
        SPDX_TAG_VALUE => Some(Kind::Sbom(Format::SpdxTagValue)),
        COSIGN_SBOM => Some(Kind::Sniff),
        IN_TOTO | DSSE | SIGSTORE_BUNDLE_V03 | SIGSTORE_BUNDLE => Some(Kind::Attestation),
        _ => None,
    }
}

/// Whether an in-toto `predicateType` is a CycloneDX BOM.
pub fn cyclonedx_predicate(t: &str) -> bool {
    t.starts_with("https://cyclonedx.org/bom")
}

/// Whether an in-toto `predicateType` is an SPDX document.
pub fn spdx_predicate(t: &str) -> bool {
    t.starts_with("https://spdx.dev/Document")
}

/// An SBOM's content, read.
#[derive(Debug)]
pub enum Body {
    Json(Format, Value),
    Text(Format, String),
}

/// One SBOM found in the manifest.
#[derive(Debug)]
pub struct Found {
    /// `layers/0` or `config`.
    pub blob: String,
    pub digest: String,
    pub media_type: String,
    /// `layer`, `config`, `in-toto` or `dsse`.
    pub via: &'static str,
    pub predicate_type: Option<String>,
    pub loc: Loc,
    pub body: Body,
}

/// What looking through a manifest found.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// Problems reading or recognising blobs meant to be SBOMs.
    pub errors: Vec<Violation>,
    /// `sha256:…` digests of the subjects of in-toto statements that carry SBOMs.
    pub statement_subjects: BTreeSet<String>,
}

/// Read a blob meant to be an SBOM, refusing one over `max_bytes` by its descriptor size
/// before reading.
fn read(cx: &Context, d: &Descriptor, blob: &str, s: &Settings) -> Result<Vec<u8>, Violation> {
    if d.size > s.max_bytes {
        return Err(Violation::new(
            blob,
            format!(
                "the SBOM is {} bytes, over max_bytes ({})",
                d.size, s.max_bytes
            ),
        ));
    }
    cx.read_all(&d.digest, s.max_bytes)
        .map_err(|e| Violation::new(blob, e))
}

fn text(bytes: Vec<u8>, loc: &Loc) -> Result<String, Violation> {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| loc.v("", format!("not UTF-8 text: {e}")))
}

fn json(bytes: &[u8], loc: &Loc, max_depth: usize) -> Result<Value, Violation> {
    parse_json(bytes, max_depth).map_err(|(line, m)| match line {
        Some(l) if m.contains("max_depth") => Violation::new(loc.line(l), m),
        _ => loc.v("", m),
    })
}

/// Parse bytes as `format`.
fn body(format: Format, bytes: Vec<u8>, loc: &Loc, s: &Settings) -> Result<Body, Violation> {
    match format {
        Format::CycloneDxJson | Format::SpdxJson => {
            Ok(Body::Json(format, json(&bytes, loc, s.max_depth)?))
        }
        Format::CycloneDxXml | Format::SpdxTagValue => Ok(Body::Text(format, text(bytes, loc)?)),
    }
}

/// What content looks like.
enum Sniffed {
    Sbom(Body),
    Statement(Value),
    Other,
}

fn sniff(bytes: Vec<u8>, loc: &Loc, s: &Settings) -> Result<Sniffed, Violation> {
    let start = strip_bom(&bytes)
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| strip_bom(&bytes).get(i).copied());
    match start {
        Some(b'{') => {
            let v = json(&bytes, loc, s.max_depth + 1)?;
            Ok(if v.get("bomFormat").is_some() {
                Sniffed::Sbom(Body::Json(Format::CycloneDxJson, v))
            } else if v.get("spdxVersion").is_some() {
                Sniffed::Sbom(Body::Json(Format::SpdxJson, v))
            } else if is_statement(&v) {
                Sniffed::Statement(v)
            } else {
                Sniffed::Other
            })
        }
        Some(b'<') => {
            let t = text(bytes, loc)?;
            Ok(if t.contains("<bom") || t.contains(":bom") {
                Sniffed::Sbom(Body::Text(Format::CycloneDxXml, t))
            } else {
                Sniffed::Other
            })
        }
        Some(_) if looks_like_tag_value(&bytes) => Ok(Sniffed::Sbom(Body::Text(
            Format::SpdxTagValue,
            text(bytes, loc)?,
        ))),
        _ => Ok(Sniffed::Other),
    }
}

fn looks_like_tag_value(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)])
        .lines()
        .any(|l| l.trim_start().starts_with("SPDXVersion:"))
}

fn is_statement(v: &Value) -> bool {
    v.get("predicateType").is_some()
        || v.get("_type").is_some()
        || (v.get("payloadType").is_some() && v.get("payload").is_some())
        || v.get("dsseEnvelope").is_some()
}

/// Look through a manifest for SBOMs.
pub fn scan(m: &Manifest, cx: &Context, s: &Settings) -> Scan {
    let mut scan = Scan::default();
    if m.is_index() {
        return scan;
    }
    let declared = m
        .artifact_type
        .as_deref()
        .and_then(kind_of)
        .map(|k| {
            (
                k,
                "/artifactType",
                m.artifact_type.clone().unwrap_or_default(),
            )
        })
        .or_else(|| {
            let c = m.config.as_ref()?;
            Some((
                kind_of(&c.media_type)?,
                "/config/mediaType",
                c.media_type.clone(),
            ))
        });

    // The config: an SBOM only if its content is one (trivy pushes an empty image config
    // with the SBOM's media type and the SBOM as the layer).
    if let Some(c) = &m.config
        && let Some(kind) = kind_of(&c.media_type)
    {
        let loc = Loc {
            blob: "config".into(),
            base: String::new(),
        };
        match read(cx, c, "config", s).and_then(|b| sniff(b, &loc, s)) {
            Ok(Sniffed::Sbom(body)) if kind != Kind::Attestation => {
                scan.found.push(Found {
                    blob: "config".into(),
                    digest: c.digest.clone(),
                    media_type: c.media_type.clone(),
                    via: "config",
                    predicate_type: None,
                    loc,
                    body,
                });
            }
            Ok(Sniffed::Statement(v)) => statement(v, "config", c, false, s, &mut scan),
            Ok(_) => {}
            Err(e) => scan.errors.push(e),
        }
    }

    for (i, l) in m.layers.iter().enumerate() {
        if essence(&l.media_type) == OCI_EMPTY {
            continue;
        }
        let blob = format!("layers/{i}");
        let loc = Loc {
            blob: blob.clone(),
            base: String::new(),
        };
        let (kind, explicit) = match (kind_of(&l.media_type), &declared) {
            (Some(k), _) => (k, true),
            (None, Some((k, _, _))) => (*k, false),
            (None, None) => continue,
        };
        let found = |body, via| Found {
            blob: blob.clone(),
            digest: l.digest.clone(),
            media_type: l.media_type.clone(),
            via,
            predicate_type: None,
            loc: loc.clone(),
            body,
        };
        match kind {
            Kind::Sbom(format) => match read(cx, l, &blob, s).and_then(|b| body(format, b, &loc, s)) {
                Ok(b) => scan.found.push(found(b, "layer")),
                Err(e) => scan.errors.push(e),
            },
            Kind::Sniff => match read(cx, l, &blob, s).and_then(|b| sniff(b, &loc, s)) {
                Ok(Sniffed::Sbom(b)) => scan.found.push(found(b, "layer")),
                Ok(Sniffed::Statement(v)) => statement(v, &blob, l, false, s, &mut scan),
                Ok(Sniffed::Other) if explicit => scan.errors.push(loc.v(
                    "",
                    format!(
                        "a layer of type {COSIGN_SBOM} must hold a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) document; this one is neither"
                    ),
                )),
                Ok(Sniffed::Other) => {}
                Err(e) if explicit => scan.errors.push(e),
                Err(_) => {}
            },
            Kind::Attestation => {
                // BuildKit and cosign annotate the predicate type: skip other predicates
                // (provenance, signatures, …) without reading them.
                let annotated = PREDICATE_TYPE_ANNOTATIONS
                    .iter()
                    .find_map(|k| l.annotation(k))
                    .or_else(|| m.annotation(BUNDLE_PREDICATE_TYPE_ANNOTATION));
                if let Some(t) = annotated
                    && !cyclonedx_predicate(t)
                    && !spdx_predicate(t)
                {
                    continue;
                }
                let required = annotated.is_some();
                let parsed = read(cx, l, &blob, s).and_then(|b| json(&b, &loc, s.max_depth + 1));
                match parsed {
                    Ok(v) => statement(v, &blob, l, required, s, &mut scan),
                    Err(e) if required => scan.errors.push(e),
                    Err(_) => {}
                }
            }
        }
    }

    if let Some((Kind::Sbom(_), pointer, media_type)) = declared
        && scan.found.is_empty()
        && scan.errors.is_empty()
    {
        scan.errors.push(Violation::new(
            pointer,
            format!("the manifest is typed as an SBOM ({media_type}) but neither its config nor any layer holds one"),
        ));
    }
    scan
}

/// An in-toto statement, possibly in a DSSE envelope, possibly in a sigstore bundle: the
/// SBOM is its predicate when its `predicateType` says so; other predicates are none of
/// this plugin's business.
fn statement(
    mut v: Value,
    blob: &str,
    d: &Descriptor,
    required: bool,
    s: &Settings,
    scan: &mut Scan,
) {
    let mut blob = blob.to_string();
    let mut via = "in-toto";
    if let Some(envelope) = v.get_mut("dsseEnvelope").map(Value::take) {
        v = envelope;
    }
    if v.get("payloadType").is_some() && v.get("payload").is_some() {
        if v["payloadType"].as_str() != Some(IN_TOTO) {
            return;
        }
        via = "dsse";
        let payload = v["payload"].as_str().unwrap_or_default();
        let decoded = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ]
        .iter()
        .find_map(|e| e.decode(payload.trim()).ok());
        let loc = Loc {
            blob: format!("{blob}:payload"),
            base: String::new(),
        };
        let Some(bytes) = decoded else {
            if required {
                scan.errors.push(Violation::new(
                    format!("{blob}:/payload"),
                    "the DSSE envelope's payload is not base64",
                ));
            }
            return;
        };
        match json(&bytes, &loc, s.max_depth + 1) {
            Ok(inner) => v = inner,
            Err(e) => {
                if required {
                    scan.errors.push(e);
                }
                return;
            }
        }
        blob = loc.blob;
    }
    let Some(predicate_type) = v
        .get("predicateType")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        if required {
            scan.errors.push(Violation::new(
                format!("{blob}:/predicateType"),
                "the in-toto statement has no predicateType",
            ));
        }
        return;
    };
    let format = if cyclonedx_predicate(&predicate_type) {
        Format::CycloneDxJson
    } else if spdx_predicate(&predicate_type) {
        Format::SpdxJson
    } else {
        return;
    };
    for subject in v
        .get("subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(hex) = subject.pointer("/digest/sha256").and_then(Value::as_str) {
            scan.statement_subjects.insert(format!("sha256:{hex}"));
        }
    }
    let loc = Loc {
        blob: blob.clone(),
        base: "/predicate".into(),
    };
    let body = match v.get_mut("predicate").map(Value::take) {
        Some(p @ Value::Object(_)) => Body::Json(format, p),
        // cosign attests tag-value (and other text) SBOMs as a JSON string.
        Some(Value::String(t)) => match sniff(t.into_bytes(), &loc, s) {
            Ok(Sniffed::Sbom(b)) => b,
            Ok(_) => {
                scan.errors.push(loc.v("", format!("the {predicate_type} predicate is text but not a CycloneDX or SPDX document")));
                return;
            }
            Err(e) => {
                scan.errors.push(e);
                return;
            }
        },
        _ => {
            scan.errors.push(loc.v(
                "",
                format!("the {predicate_type} predicate must be the SBOM (a JSON object)"),
            ));
            return;
        }
    };
    scan.found.push(Found {
        blob,
        digest: d.digest.clone(),
        media_type: d.media_type.clone(),
        via,
        predicate_type: Some(predicate_type),
        loc,
        body,
    });
}
