//! The `signature` plugin: cosign, Sigstore bundle and Notation signatures stored in the
//! registry.
//!
//! - **Recognises** cosign's legacy `sha256-<hex>.sig` images (simple-signing layers),
//!   Sigstore bundles attached as OCI 1.1 referrers, and Notation signatures (JWS and COSE
//!   envelopes).
//! - **Validates** their structure and consistency at push: the payload parses, the digest
//!   it signs is the manifest's `subject` (or the `.sig` tag's digest), the envelope is
//!   well-formed. A malformed signature is refused; a well-formed one by an unknown key is
//!   accepted.
//! - **Verifies** them against the trust material in its settings (see [`trust`]): cosign
//!   public keys, Notation trust stores, Fulcio roots + Rekor keys + identities, including
//!   transparency-log proofs, certificate chains and validity at the proven signing time.
//! - **Indexes** the outcome: `signature.*` facets on the signed manifest and on the
//!   signature itself, and a document saying what was checked and why verification failed.

use arca_plugin_sdk::prelude::*;
use serde_json::{Map, Value, json};

pub mod bundle;
pub mod cosign;
pub mod encoding;
pub mod keys;
pub mod notation;
pub mod rekor;
pub mod trust;
pub mod x509;

use trust::Trust;

/// Largest signature blob read (payloads, bundles and envelopes are a few KiB).
pub const MAX_BLOB: u64 = 4 * 1024 * 1024;

/// The plugin.
pub struct Signature;

/// What kind of signature a manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cosign,
    Bundle,
    Notation,
}

/// Which kind of signature `m` is, if any.
pub fn recognise(m: &Manifest) -> Option<Kind> {
    if m.is_index() {
        return None;
    }
    let artifact_type = m.artifact_type.as_deref().map(arca_plugin_sdk::essence);
    let config = m.config.as_ref().map(Descriptor::essence);
    if artifact_type == Some(notation::ARTIFACT_TYPE) || config == Some(notation::ARTIFACT_TYPE) {
        return Some(Kind::Notation);
    }
    if artifact_type.is_some_and(bundle::is_bundle_type)
        || m.layers.iter().any(|l| bundle::is_bundle_type(l.essence()))
    {
        return Some(Kind::Bundle);
    }
    if m.layers
        .iter()
        .any(|l| l.essence() == cosign::SIMPLESIGNING)
    {
        return Some(Kind::Cosign);
    }
    None
}

/// The result of verifying one signature.
#[derive(Debug, Default, Clone)]
pub struct Check {
    /// The configured key / trust store / identity that verified it.
    pub verified_by: Option<String>,
    /// The certificate identity (SAN email or URI, else subject) when a certificate verified.
    pub identity: Option<String>,
    /// What was checked and held.
    pub checked: Vec<String>,
    /// Why it is not verified.
    pub failures: Vec<String>,
    /// Facts for display (certificate subject, signing time, …).
    pub details: Map<String, Value>,
}

impl Check {
    pub fn verified(&self) -> bool {
        self.verified_by.is_some() && self.failures.is_empty()
    }

    fn fail(&mut self, why: impl Into<String>) {
        self.failures.push(why.into());
    }

    fn to_json(&self) -> Value {
        let mut v = self.details.clone();
        v.insert("verified".into(), self.verified().into());
        if self.verified() {
            v.insert("verifiedBy".into(), self.verified_by.clone().into());
            if let Some(id) = &self.identity {
                v.insert("identity".into(), id.clone().into());
            }
        }
        v.insert("checked".into(), json!(self.checked));
        if !self.failures.is_empty() {
            v.insert("failures".into(), json!(self.failures));
        }
        Value::Object(v)
    }
}

/// A signature that passed the structural checks, ready to verify.
pub enum Parsed {
    Cosign(cosign::Parsed),
    Bundle(Box<bundle::Parsed>),
    Notation(Box<notation::Parsed>),
}

impl Parsed {
    /// `signature.format`.
    pub fn format(&self) -> &'static str {
        match self {
            Parsed::Cosign(_) => "cosign-simplesigning",
            Parsed::Bundle(_) => "sigstore-bundle",
            Parsed::Notation(n) => n.format(),
        }
    }

    /// `signature.tool`.
    pub fn tool(&self) -> &'static str {
        match self {
            Parsed::Cosign(_) => "cosign",
            Parsed::Bundle(_) => "sigstore",
            Parsed::Notation(_) => "notation",
        }
    }

    /// The digest of the signed manifest.
    pub fn signed(&self) -> &str {
        match self {
            Parsed::Cosign(c) => &c.signed,
            Parsed::Bundle(b) => &b.signed,
            Parsed::Notation(n) => &n.signed,
        }
    }

    fn warnings(&self) -> Vec<Violation> {
        match self {
            Parsed::Cosign(_) | Parsed::Notation(_) => Vec::new(),
            Parsed::Bundle(b) => b.warnings.clone(),
        }
    }

    fn verify(&self, m: &Manifest, trust: &Trust, now: i64, cx: &Context) -> Vec<Check> {
        match self {
            Parsed::Cosign(c) => c.verify(trust, now),
            Parsed::Bundle(b) => vec![b.verify(m, trust, now, cx)],
            Parsed::Notation(n) => vec![n.verify(trust, now)],
        }
    }
}

/// Check `m`'s structure (the validate step).
pub fn parse(kind: Kind, m: &Manifest, cx: &Context) -> Result<Parsed, Vec<Violation>> {
    match kind {
        Kind::Cosign => cosign::parse(m, cx).map(Parsed::Cosign),
        Kind::Bundle => bundle::parse(m, cx).map(|b| Parsed::Bundle(Box::new(b))),
        Kind::Notation => notation::parse(m, cx).map(|n| Parsed::Notation(Box::new(n))),
    }
}

/// A JSON pointer segment (`/` → `~1`, `~` → `~0`).
pub fn pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Verify a parsed signature and describe it (the index step).
pub fn describe(parsed: &Parsed, m: &Manifest, cx: &Context) -> Document {
    let trust = Trust::from_config(cx.config());
    for p in &trust.problems {
        cx.log(Level::Warn, p);
    }
    let now = cx.now() as i64;
    let checks = parsed.verify(m, &trust, now, cx);
    let verified: Vec<&Check> = checks.iter().filter(|c| c.verified()).collect();
    let by = distinct(verified.iter().filter_map(|c| c.verified_by.clone()));
    let identities = distinct(verified.iter().filter_map(|c| c.identity.clone()));
    let is_verified = !verified.is_empty();

    let mut json = json!({
        "format": parsed.format(),
        "tool": parsed.tool(),
        "signed": parsed.signed(),
        "verified": is_verified,
        "verifiedAt": encoding::rfc3339(now),
        "signatures": checks.iter().map(Check::to_json).collect::<Vec<_>>(),
    });
    if is_verified {
        json["verifiedBy"] = json!(by);
        json["identities"] = json!(identities);
    } else {
        let reasons: Vec<&str> = checks
            .iter()
            .flat_map(|c| c.failures.first())
            .map(String::as_str)
            .collect();
        json["reason"] = reasons.join("; ").into();
    }
    if m.subject.is_none() {
        json["subjectFromTag"] = true.into();
    }
    if !trust.problems.is_empty() {
        json["trustProblems"] = json!(trust.problems);
    }

    let mut doc = Document::new(json);
    doc.facet("signature.format", parsed.format());
    doc.facet("signature.signed", parsed.signed());
    doc.facet("signature.verified", is_verified.to_string());
    for b in &by {
        doc.facet("signature.verified-by", b.clone());
    }
    for i in &identities {
        doc.facet("signature.identity", i.clone());
    }
    let mut on_subject = vec![
        Facet::new("signature.present", "true"),
        Facet::new("signature.tool", parsed.tool()),
    ];
    if is_verified {
        on_subject.push(Facet::new("signature.verified", "true"));
        on_subject.extend(
            by.iter()
                .map(|b| Facet::new("signature.verified-by", b.clone())),
        );
        on_subject.extend(
            identities
                .iter()
                .map(|i| Facet::new("signature.identity", i.clone())),
        );
    }
    doc.subject_facets = on_subject;
    if m.subject.is_none() {
        doc.subject = Some(parsed.signed().to_string());
    }
    doc
}

impl Plugin for Signature {
    fn info() -> Info {
        Info::new("signature", env!("CARGO_PKG_VERSION"))
            .handles([
                cosign::SIMPLESIGNING,
                bundle::BUNDLE_TYPE_PATTERN,
                notation::ARTIFACT_TYPE,
            ])
            .validates()
            .indexes()
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        let Some(kind) = recognise(m) else {
            return Verdict::accept();
        };
        match parse(kind, m, cx) {
            Ok(p) => Verdict::Accept(p.warnings()),
            Err(v) => Verdict::Reject(v),
        }
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        let Some(kind) = recognise(m) else {
            return Ok(None);
        };
        match parse(kind, m, cx) {
            Ok(p) => Ok(Some(describe(&p, m, cx))),
            // Refused at push unless the plugin was off then: say so, claim nothing.
            Err(violations) => {
                let mut doc = Document::new(json!({
                    "valid": false,
                    "verified": false,
                    "violations": violations.iter()
                        .map(|v| json!({"path": v.path, "message": v.message}))
                        .collect::<Vec<_>>(),
                }));
                doc.facet("signature.verified", "false");
                Ok(Some(doc))
            }
        }
    }
}

export_plugin!(Signature);
