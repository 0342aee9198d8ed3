//! The `sbom` plugin: software bills of materials — CycloneDX (JSON 1.2–1.7, XML) and SPDX
//! (2.2 and 2.3, JSON and tag-value) — wherever tools put them in a manifest: as the
//! artifact type, the config or a layer, as cosign's SBOM attachments and legacy
//! `sha256-<hex>.sbom` tags, and as in-toto statements (plain, in DSSE envelopes or in
//! sigstore bundles, as BuildKit `--sbom` and `cosign attest` write them) whose predicate is
//! an SBOM.
//!
//! `validate` checks each SBOM against the official JSON schema of its version (compiled
//! once per instance and cached) and the rules the schemas do not express; `index` records
//! the format, version, creation time, tools and components (purl, name, licenses, hashes)
//! as facets on the SBOM and on the image it describes. See `docs/sbom.md`.

mod cyclonedx;
mod detect;
mod facts;
#[cfg(test)]
mod perf;
mod report;
mod schemas;
mod spdx;
mod tagvalue;
mod util;

use std::collections::BTreeSet;

use arca_plugin_sdk::prelude::*;
use serde_json::{Map, Value, json};

use detect::{Body, Format, Found};
use report::Analysis;
use util::Settings;

/// The plugin.
pub struct Sbom;

// Parsing and validating a large SBOM allocates a lot; in WebAssembly talc does that about
// twice as fast as the default (wasi-libc's dlmalloc). Single-threaded wasm only.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Check one SBOM (`check`, for validate) or read what it says (for index).
fn analyze(f: &Found, s: &Settings, check: bool) -> Analysis {
    let mut a = match &f.body {
        Body::Json(Format::CycloneDxJson, v) => cyclonedx::analyze_json(v, &f.loc, s, check),
        Body::Text(Format::CycloneDxXml, t) => cyclonedx::analyze_xml(t, &f.loc, s, check),
        Body::Json(_, v) => spdx::analyze(v, &|p| f.loc.at(p), false, s, check),
        Body::Text(_, t) => {
            let parsed = tagvalue::parse(t);
            let path = |p: &str| f.loc.line(parsed.lines.line(p));
            let mut a = spdx::analyze(&parsed.doc, &path, true, s, check);
            let mut errors: Vec<Violation> = parsed
                .errors
                .iter()
                .map(|(l, m)| Violation::new(f.loc.line(*l), m.clone()))
                .collect();
            errors.append(&mut a.errors);
            a.errors = errors;
            a.warnings.extend(
                parsed
                    .warnings
                    .iter()
                    .map(|(l, m)| Violation::new(f.loc.line(*l), m.clone())),
            );
            a
        }
    };
    a.cap();
    a
}

/// `sha256-<hex>.sbom` / `.att` (cosign's legacy tags) → `sha256:<hex>`.
fn subject_from_tag(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("sha256-")?;
    let hex = rest
        .strip_suffix(".sbom")
        .or_else(|| rest.strip_suffix(".att"))?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

impl Plugin for Sbom {
    fn info() -> Info {
        Info::new("sbom", env!("CARGO_PKG_VERSION"))
            .handles(detect::HANDLES.iter().copied())
            .validates()
            .indexes()
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        let s = Settings::from_context(cx);
        let scan = detect::scan(m, cx, &s);
        let mut errors = scan.errors;
        let mut warnings = Vec::new();
        for f in &scan.found {
            let mut a = analyze(f, &s, true);
            errors.append(&mut a.errors);
            warnings.append(&mut a.warnings);
        }
        if s.strict {
            Verdict::from_findings(errors, warnings)
        } else {
            errors.append(&mut warnings);
            Verdict::Accept(errors)
        }
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        let s = Settings::from_context(cx);
        let scan = detect::scan(m, cx, &s);
        if scan.found.is_empty() && scan.errors.is_empty() {
            return Ok(None);
        }

        // What the SBOMs describe: the manifest's subject, else the digest in a cosign
        // legacy tag, else the one subject of the in-toto statements carrying them.
        let (subject, source, derived) = if let Some(sub) = &m.subject {
            (Some(sub.digest.clone()), "manifest", None)
        } else if let Some(d) = m.tag.as_deref().and_then(subject_from_tag) {
            (Some(d.clone()), "tag", Some(d))
        } else if scan.statement_subjects.len() == 1 {
            let d = scan.statement_subjects.first().cloned();
            (d.clone(), "in-toto", d)
        } else {
            (None, "", None)
        };

        let mut own = BTreeSet::new();
        let mut about_subject = BTreeSet::new();
        let mut sboms = Vec::new();
        let mut errors: Vec<Value> = scan
            .errors
            .iter()
            .map(|v| json!({"path": v.path, "message": v.message}))
            .collect();
        for f in &scan.found {
            let a = analyze(f, &s, false);
            let mut entry = Map::new();
            entry.insert("blob".into(), f.blob.clone().into());
            entry.insert("digest".into(), f.digest.clone().into());
            entry.insert("mediaType".into(), f.media_type.clone().into());
            entry.insert("via".into(), f.via.into());
            if let Some(t) = &f.predicate_type {
                entry.insert("predicateType".into(), t.clone().into());
            }
            match &a.summary {
                Some(summary) => {
                    entry.extend(summary.to_json(s.max_document_components));
                    entry.insert("subject".into(), json!(subject));
                    summary.facets(&mut own, &mut about_subject);
                    sboms.push(Value::Object(entry));
                }
                None => errors.extend(
                    a.errors
                        .iter()
                        .map(|v| json!({"path": v.path, "message": v.message})),
                ),
            }
        }

        let mut doc = Document::new(json!({
            "sboms": sboms,
            "subject": subject,
            "subjectSource": (!source.is_empty()).then_some(source),
            "errors": errors,
        }));
        doc.facets = own.into_iter().map(|(n, v)| Facet::new(n, v)).collect();
        if subject.is_some() {
            doc.subject_facets = about_subject
                .into_iter()
                .map(|(n, v)| Facet::new(n, v))
                .collect();
        }
        doc.subject = derived;
        Ok(Some(doc))
    }
}

export_plugin!(Sbom);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_tags_name_their_subject() {
        let hex = "a".repeat(64);
        assert_eq!(
            subject_from_tag(&format!("sha256-{hex}.sbom")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            subject_from_tag(&format!("sha256-{hex}.att")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(subject_from_tag(&format!("sha256-{hex}.sig")), None);
        assert_eq!(subject_from_tag("sha256-abc.sbom"), None);
        assert_eq!(subject_from_tag("latest"), None);
    }
}
