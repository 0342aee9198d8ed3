//! Manifests: pull (`GET`/`HEAD`), the push pipeline (`PUT`), and delete.
//!
//! The push path, top to bottom: read the body within the size limit → parse and check
//! its structure → check it against the reference it is pushed under → let every matching
//! plugin validate it (in parallel, sandboxed) → let every matching plugin index it → commit
//! manifest, tag, referrer edge, warnings and index documents in one metadata transaction,
//! after checking (inside that same transaction) that every blob and manifest it references
//! is in the repository. Search is consistent once the push is acknowledged.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, Limited};

use super::blobs::path_digest;
use super::headers::{CONTENT_DIGEST, OCI_SUBJECT};
use super::{content_length, empty, header_str};
use crate::digest::{Algorithm, Digest};
use crate::error::{Code, Error, Result};
use crate::metadata::{IndexResult, NewManifest, PluginWarnings, PutOutcome, Reference};
use crate::plugins::{Outcome, Verdict, Violation};
use crate::reference::is_valid_tag;
use crate::registry::App;
use crate::registry::indexing::plugin_input;
use crate::registry::manifest;
use crate::registry::policy::PolicyAction;

/// A manifest reference from a URL: a digest or a tag, each checked against its grammar.
enum Target {
    Digest(Digest),
    Tag(String),
}

fn target(reference: &str) -> Result<Target> {
    if Digest::looks_like_digest(reference) {
        return Ok(Target::Digest(path_digest(reference)?));
    }
    if is_valid_tag(reference) {
        return Ok(Target::Tag(reference.to_string()));
    }
    Err(Error::new(
        Code::ManifestInvalid,
        format!("reference {reference:?} is neither a digest nor a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}})"),
    )
    .with_detail(serde_json::json!({ "reference": reference })))
}

pub(super) async fn get(app: &App, name: &str, reference: &str, head: bool) -> Result<Response> {
    let t = target(reference).map_err(|_| Error::manifest_unknown(reference))?;
    let by = match &t {
        Target::Digest(d) => Reference::Digest(d.as_str()),
        Target::Tag(tag) => Reference::Tag(tag),
    };
    let rec = app
        .meta()
        .get_manifest(name, by, !head)
        .await
        .map_err(|e| Error::internal("manifest lookup", e))?
        .ok_or_else(|| Error::manifest_unknown(reference))?;
    if !app.policies().is_empty() {
        app.enforce_policies(PolicyAction::Pull, name, &rec.digest)
            .await?;
    }
    let mut resp = Response::new(rec.content.map(Body::from).unwrap_or_default());
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rec.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(rec.size));
    if let Ok(v) = HeaderValue::from_str(&rec.digest) {
        h.insert(CONTENT_DIGEST, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", rec.digest)) {
        h.insert(header::ETAG, v);
    }
    let cache = match t {
        Target::Digest(_) => "public, max-age=31536000, immutable",
        Target::Tag(_) => "no-cache",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(resp)
}

pub(super) async fn put(app: &App, name: &str, reference: &str, req: Request) -> Result<Response> {
    let t = target(reference)?;
    let limit = app.config().limits.max_manifest_bytes;
    let too_big = || {
        Error::new(
            Code::SizeInvalid,
            format!(
                "manifest is larger than the limit of {limit} bytes (limits.max_manifest_bytes)"
            ),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    if content_length(req.headers()).is_some_and(|l| l > limit) {
        return Err(too_big());
    }
    let content_type = header_str(req.headers(), header::CONTENT_TYPE).map(str::to_string);
    let body = Limited::new(req.into_body(), limit as usize)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                too_big()
            } else {
                Error::new(
                    Code::ManifestInvalid,
                    format!("reading the manifest body failed: {e}"),
                )
            }
        })?
        .to_bytes();

    // 1. Structure.
    let parsed = manifest::parse(&body, content_type.as_deref())?;

    // 2. The reference it is pushed under.
    let (digest, tag): (Digest, Option<String>) = match t {
        Target::Digest(d) => {
            let computed = d.algorithm().digest(&body);
            if computed != d {
                return Err(Error::digest_invalid(format!(
                    "manifest content hashes to {computed}, not to the digest {d} it is pushed under"
                ))
                .with_detail(serde_json::json!({ "expected": d, "computed": computed })));
            }
            (d, None)
        }
        Target::Tag(tag) => (Algorithm::Sha256.digest(&body), Some(tag)),
    };

    // 3. Plugins validate. The blobs they read must be there, so check references first.
    let input = Arc::new(plugin_input(name, tag.as_deref(), &digest, &parsed, &body));
    let (validators, indexers) = (
        !app.plugins().selected(&input, true).is_empty(),
        !app.plugins().selected(&input, false).is_empty(),
    );
    if validators || indexers {
        check_references(app, name, &parsed).await?;
    }
    let mut warnings = Vec::new();
    if validators {
        let outcomes = app.plugins().validate(&input, app.blob_source(name)).await;
        warnings = refuse_if_rejected(outcomes, app.plugins().max_violations())?;
    }

    // 4. Index, so that what plugins say commits with the manifest: search is consistent
    //    once the push is acknowledged, at the cost of no extra write. A failure is kept as
    //    a failed job and retried; it never loses the push.
    let index = if indexers {
        app.index_results(&input).await
    } else {
        Vec::new()
    };

    // 5. A tag may only point at a manifest that complies with the policies, judged with
    //    the facets its indexers just gave it as well as those already stored.
    if tag.is_some() && !app.policies().is_empty() {
        let pending: Vec<(String, String)> = index
            .iter()
            .filter_map(|(_, r)| match r {
                IndexResult::Done(Some(doc)) => Some(doc.facets.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        app.enforce_policies_pending(PolicyAction::Tag, name, digest.as_str(), &pending)
            .await?;
    }

    // 6. Commit, with the reference checks inside the transaction.
    let new = NewManifest {
        repository: name.to_string(),
        digest: digest.to_string(),
        media_type: parsed.media_type.clone(),
        artifact_type: parsed.effective_artifact_type(),
        subject: parsed.subject.as_ref().map(|s| s.digest.to_string()),
        annotations: (!parsed.annotations.is_empty())
            .then(|| serde_json::to_string(&parsed.annotations).unwrap_or_default()),
        content: body,
        blobs: parsed.required_blobs(),
        manifests: if parsed.is_index() {
            parsed.required_manifests()
        } else {
            Vec::new()
        },
        tag: tag.clone(),
        warnings,
        index,
    };
    match app
        .meta()
        .put_manifest(new)
        .await
        .map_err(|e| Error::internal("manifest commit", e))?
    {
        PutOutcome::Stored => {}
        PutOutcome::MissingBlob(d) => {
            return Err(Error::new(
                Code::ManifestBlobUnknown,
                format!(
                    "manifest references blob {d}, which is not in repository {name}: push it first"
                ),
            )
            .with_detail(serde_json::json!({ "digest": d })));
        }
        PutOutcome::MissingManifest(d) => {
            return Err(Error::new(
                Code::ManifestBlobUnknown,
                format!("index references manifest {d}, which is not in repository {name}: push it first"),
            )
            .with_detail(serde_json::json!({ "digest": d })));
        }
    }

    let location = format!("/v2/{name}/manifests/{digest}");
    let mut hdrs = vec![
        ("location", location.as_str()),
        (CONTENT_DIGEST, digest.as_str()),
    ];
    let subject = parsed.subject.as_ref().map(|s| s.digest.to_string());
    if let Some(s) = &subject {
        hdrs.push((OCI_SUBJECT, s.as_str()));
    }
    Ok(empty(StatusCode::CREATED, &hdrs))
}

fn missing_blob(name: &str, d: &str) -> Error {
    Error::new(
        Code::ManifestBlobUnknown,
        format!("manifest references blob {d}, which is not in repository {name}: push it first"),
    )
    .with_detail(serde_json::json!({ "digest": d }))
}

fn missing_manifest(name: &str, d: &str) -> Error {
    Error::new(
        Code::ManifestBlobUnknown,
        format!("index references manifest {d}, which is not in repository {name}: push it first"),
    )
    .with_detail(serde_json::json!({ "digest": d }))
}

/// Everything the manifest references is in the repository (checked again, atomically, at commit).
async fn check_references(app: &App, name: &str, parsed: &manifest::ParsedManifest) -> Result<()> {
    let internal = |e| Error::internal("reference check", e);
    for d in parsed.required_blobs() {
        if app
            .meta()
            .blob_in_repository(name, &d)
            .await
            .map_err(internal)?
            .is_none()
        {
            return Err(missing_blob(name, &d));
        }
    }
    if parsed.is_index() {
        for d in parsed.required_manifests() {
            let found = app
                .meta()
                .get_manifest(name, Reference::Digest(&d), false)
                .await
                .map_err(internal)?;
            if found.is_none() {
                return Err(missing_manifest(name, &d));
            }
        }
    }
    Ok(())
}

/// Turn plugin verdicts into a `MANIFEST_INVALID` listing every violation (up to `max`),
/// whose message names the first one and the count: many clients print only `message`.
/// Accepted, returns the warnings of plugins that accepted with some, to keep with the manifest.
fn refuse_if_rejected(outcomes: Vec<Outcome<Verdict>>, max: usize) -> Result<Vec<PluginWarnings>> {
    let mut found: Vec<serde_json::Value> = Vec::new();
    let mut total = 0usize;
    let mut first: Option<String> = None;
    let mut warnings = Vec::new();
    for o in outcomes {
        let (violations, count) = match o.result {
            Ok(v) if !v.rejected => {
                if !v.violations.is_empty() {
                    let list: Vec<serde_json::Value> = v
                        .violations
                        .iter()
                        .map(|w| serde_json::json!({ "path": w.path, "message": w.message }))
                        .collect();
                    warnings.push(PluginWarnings {
                        plugin: o.plugin.clone(),
                        warnings: serde_json::Value::Array(list).to_string(),
                        total: v.total.max(v.violations.len()),
                    });
                }
                continue;
            }
            Ok(v) if v.violations.is_empty() => (
                vec![Violation {
                    path: String::new(),
                    message: "rejected without saying why".into(),
                }],
                1,
            ),
            Ok(v) => (v.violations, v.total),
            Err(e) if o.fail_closed => (
                vec![Violation {
                    path: String::new(),
                    message: format!(
                        "the validator {e}, so the push is refused (on_error = \"reject\")"
                    ),
                }],
                1,
            ),
            Err(e) => {
                tracing::warn!(plugin = %o.plugin, error = %e, "validator failed; accepting (on_error = \"accept\")");
                continue;
            }
        };
        total += count.max(violations.len());
        for v in violations {
            if first.is_none() {
                first = Some(if v.path.is_empty() {
                    format!("{}: {}", o.plugin, v.message)
                } else {
                    format!("{}: {}: {}", o.plugin, v.path, v.message)
                });
            }
            if found.len() < max {
                found.push(
                    serde_json::json!({ "plugin": o.plugin, "path": v.path, "message": v.message }),
                );
            }
        }
    }
    let Some(first) = first else {
        return Ok(warnings);
    };
    let message = if total > 1 {
        format!(
            "{first} (and {} more violation{})",
            total - 1,
            if total == 2 { "" } else { "s" }
        )
    } else {
        first
    };
    Err(Error::manifest_invalid(message)
        .with_detail(serde_json::json!({ "violations": found, "total": total })))
}

pub(super) async fn delete(app: &App, name: &str, reference: &str) -> Result<Response> {
    let removed = match target(reference)? {
        Target::Digest(d) => app.meta().delete_manifest(name, d.as_str()).await,
        Target::Tag(tag) => app.meta().delete_tag(name, &tag).await,
    }
    .map_err(|e| Error::internal("manifest delete", e))?;
    if !removed {
        return Err(Error::manifest_unknown(reference));
    }
    Ok(empty(StatusCode::ACCEPTED, &[]))
}
