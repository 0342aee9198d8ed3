//! Blob downloads (`GET`/`HEAD` with `Range`) and deletes.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio_util::io::ReaderStream;

use super::headers::CONTENT_DIGEST;
use super::ranges::{RangeRequest, parse_range};
use super::{empty, header_str};
use crate::digest::Digest;
use crate::error::{Code, Error, Result};
use crate::metadata::Reference;
use crate::registry::App;

const READ_CHUNK: usize = 256 * 1024;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Parse a digest from a URL; a malformed one is `DIGEST_INVALID`.
pub(super) fn path_digest(s: &str) -> Result<Digest> {
    s.parse::<Digest>().map_err(|e| {
        Error::new(Code::DigestInvalid, e.to_string())
            .with_detail(serde_json::json!({ "digest": s }))
    })
}

pub(super) async fn get(
    app: &App,
    name: &str,
    digest: &str,
    req: &HeaderMap,
    head: bool,
) -> Result<Response> {
    let digest = path_digest(digest)?;
    let size = match app
        .meta()
        .blob_in_repository(name, digest.as_str())
        .await
        .map_err(|e| Error::internal("blob lookup", e))?
    {
        Some(size) => size,
        None => return manifest_as_blob(app, name, &digest, head).await,
    };
    let range = match header_str(req, header::RANGE) {
        Some(v) => parse_range(v, size),
        None => RangeRequest::Full,
    };
    let (status, start, len) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, size),
        RangeRequest::Partial { start, end } => {
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeRequest::Unsatisfiable => {
            return Err(Error::new(
                Code::BlobUnknown,
                format!(
                    "range {:?} cannot be satisfied by a blob of {size} bytes",
                    header_str(req, header::RANGE).unwrap_or("")
                ),
            )
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            .with_header(header::CONTENT_RANGE, &format!("bytes */{size}")));
        }
    };
    let body = if head {
        Body::empty()
    } else {
        match app.blobs().read(&digest, start, len).await {
            Ok(reader) => Body::from_stream(ReaderStream::with_capacity(reader, READ_CHUNK)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::error!(%digest, "blob is recorded but missing from storage");
                return Err(Error::blob_unknown(digest.as_str()));
            }
            Err(e) => return Err(Error::internal("blob read", e)),
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(v) = HeaderValue::from_str(digest.as_str()) {
        h.insert(CONTENT_DIGEST, v.clone());
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", start, start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

/// Manifests are content too: a client may fetch one through the blobs endpoint.
async fn manifest_as_blob(app: &App, name: &str, digest: &Digest, head: bool) -> Result<Response> {
    let rec = app
        .meta()
        .get_manifest(name, Reference::Digest(digest.as_str()), !head)
        .await
        .map_err(|e| Error::internal("manifest lookup", e))?
        .ok_or_else(|| Error::blob_unknown(digest.as_str()))?;
    let mut resp = Response::new(rec.content.map(Body::from).unwrap_or_default());
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(rec.size));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(v) = HeaderValue::from_str(digest.as_str()) {
        h.insert(CONTENT_DIGEST, v);
    }
    Ok(resp)
}

pub(super) async fn delete(app: &App, name: &str, digest: &str) -> Result<Response> {
    let digest = path_digest(digest)?;
    let removed = app
        .meta()
        .unlink_blob(name, digest.as_str())
        .await
        .map_err(|e| Error::internal("blob delete", e))?;
    if !removed {
        return Err(Error::blob_unknown(digest.as_str()));
    }
    Ok(empty(
        StatusCode::ACCEPTED,
        &[(CONTENT_DIGEST, digest.as_str())],
    ))
}
