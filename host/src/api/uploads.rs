//! Blob uploads: monolithic (`POST ?digest=`), POST then PUT, chunked `PATCH` with
//! `Content-Range`, streamed `PATCH`/`PUT` without a length, status, cancel, and
//! cross-repository mounts.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::blobs::path_digest;
use super::headers::{CONTENT_DIGEST, UPLOAD_UUID};
use super::ranges::{parse_content_range, upload_range};
use super::{Query, body_stream, content_length, empty, header_str};
use crate::digest::Digest;
use crate::error::{Code, Error, Result};
use crate::reference::is_valid_name;
use crate::registry::App;
use crate::storage::StorageError;

fn session_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn blob_location(name: &str, digest: &Digest) -> String {
    format!("/v2/{name}/blobs/{digest}")
}

fn session_response(status: StatusCode, name: &str, id: &str, size: u64) -> Response {
    empty(
        status,
        &[
            ("location", &session_location(name, id)),
            ("range", &upload_range(size)),
            (UPLOAD_UUID, id),
        ],
    )
}

fn created(name: &str, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            ("location", &blob_location(name, digest)),
            (CONTENT_DIGEST, digest.as_str()),
        ],
    )
}

fn storage_error(e: StorageError, name: &str, id: &str) -> Error {
    match e {
        StorageError::UnknownSession => Error::upload_unknown(id),
        StorageError::OffsetMismatch { offset, current } => Error::new(
            Code::BlobUploadInvalid,
            format!("chunk starts at byte {offset}, but the upload holds {current} bytes: send the chunk that starts at {current}"),
        )
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
        .with_header(header::RANGE, &upload_range(current))
        .with_header(header::LOCATION, &session_location(name, id))
        .with_header(header::HeaderName::from_static(UPLOAD_UUID), id),
        StorageError::DigestMismatch { expected, computed } => Error::digest_invalid(format!(
            "uploaded content hashes to {computed}, not to the digest {expected} given"
        ))
        .with_detail(serde_json::json!({ "expected": expected, "computed": computed })),
        StorageError::Body(e) => Error::new(Code::BlobUploadInvalid, format!("reading the request body failed: {e}")),
        StorageError::Io(e) => Error::internal("blob storage", e),
    }
}

fn meta_err(e: crate::metadata::MetaError) -> Error {
    Error::internal("metadata", e)
}

/// A new session, recorded before its data exists so a crash never leaves data no one owns.
async fn new_session(app: &App, name: &str) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    app.meta()
        .create_upload(&id, name)
        .await
        .map_err(meta_err)?;
    app.blobs()
        .create_upload(&id)
        .await
        .map_err(|e| Error::internal("create upload", e))?;
    Ok(id)
}

/// Verify and commit a session's data as `digest`, readable in `name`.
async fn finish(app: &App, name: &str, id: &str, digest: &Digest) -> Result<Response> {
    let committed = app.blobs().commit(id, digest).await;
    // The session is consumed either way (committed, or dropped on a digest mismatch).
    if !matches!(committed, Err(StorageError::Io(_))) {
        app.meta().delete_upload(id).await.map_err(meta_err)?;
    }
    let size = committed.map_err(|e| storage_error(e, name, id))?;
    app.meta()
        .link_blob(name, digest.as_str(), size)
        .await
        .map_err(meta_err)?;
    Ok(created(name, digest))
}

/// The session named in the URL, checked to belong to `name`.
async fn session(app: &App, name: &str, id: &str) -> Result<u64> {
    let rec = app.meta().get_upload(id).await.map_err(meta_err)?;
    match rec {
        Some(r) if r.repository == name => {}
        _ => return Err(Error::upload_unknown(id)),
    }
    app.blobs()
        .upload_size(id)
        .await
        .map_err(|e| Error::internal("upload status", e))?
        .ok_or_else(|| Error::upload_unknown(id))
}

/// Check a chunk's `Content-Range` against its `Content-Length`; returns where it starts.
fn chunk_start(req: &Request) -> Result<Option<u64>> {
    let Some(value) = header_str(req.headers(), header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let (start, end) = parse_content_range(value).ok_or_else(|| {
        Error::new(
            Code::BlobUploadInvalid,
            format!("Content-Range {value:?} is not of the form <start>-<end>"),
        )
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
    })?;
    if let Some(len) = content_length(req.headers())
        && len != end - start + 1
    {
        return Err(Error::new(
            Code::SizeInvalid,
            format!(
                "Content-Range {value:?} covers {} bytes but Content-Length is {len}",
                end - start + 1
            ),
        )
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE));
    }
    Ok(Some(start))
}

/// `POST /v2/<name>/blobs/uploads/` — mount, monolithic upload, or a new session.
pub(super) async fn start(app: &App, name: &str, q: &Query, req: Request) -> Result<Response> {
    if let Some(mount) = q.get("mount") {
        if let Some(resp) = try_mount(app, name, mount, q.get("from")).await? {
            return Ok(resp);
        }
    } else if let Some(d) = q.get("digest") {
        let digest = path_digest(d)?;
        let id = new_session(app, name).await?;
        let body = body_stream(req.into_body());
        if let Err(e) = app.blobs().append(&id, Some(0), body).await {
            app.blobs().delete_upload(&id).await.ok();
            app.meta().delete_upload(&id).await.ok();
            return Err(storage_error(e, name, &id));
        }
        return finish(app, name, &id, &digest).await;
    }
    let id = new_session(app, name).await?;
    Ok(session_response(StatusCode::ACCEPTED, name, &id, 0))
}

async fn try_mount(
    app: &App,
    name: &str,
    mount: &str,
    from: Option<&String>,
) -> Result<Option<Response>> {
    let Ok(digest) = mount.parse::<Digest>() else {
        return Ok(None);
    };
    let Some(from) = from.filter(|f| is_valid_name(f)) else {
        return Ok(None);
    };
    let Some(size) = app
        .meta()
        .blob_in_repository(from, digest.as_str())
        .await
        .map_err(meta_err)?
    else {
        return Ok(None);
    };
    app.meta()
        .link_blob(name, digest.as_str(), size)
        .await
        .map_err(meta_err)?;
    Ok(Some(created(name, &digest)))
}

/// `GET` on a session: how much it holds.
pub(super) async fn status(app: &App, name: &str, id: &str) -> Result<Response> {
    let size = session(app, name, id).await?;
    Ok(session_response(StatusCode::NO_CONTENT, name, id, size))
}

/// `PATCH`: append a chunk (with `Content-Range`) or a stream (without).
pub(super) async fn patch(app: &App, name: &str, id: &str, req: Request) -> Result<Response> {
    session(app, name, id).await?;
    let start = chunk_start(&req)?;
    let size = app
        .blobs()
        .append(id, start, body_stream(req.into_body()))
        .await
        .map_err(|e| storage_error(e, name, id))?;
    app.meta().touch_upload(id).await.map_err(meta_err)?;
    Ok(session_response(StatusCode::ACCEPTED, name, id, size))
}

/// `PUT ?digest=`: append the last chunk, if any, then verify and commit.
pub(super) async fn put(
    app: &App,
    name: &str,
    id: &str,
    q: &Query,
    req: Request,
) -> Result<Response> {
    let digest = q
        .get("digest")
        .ok_or_else(|| {
            Error::digest_invalid("the digest query parameter is required to finish an upload")
        })
        .and_then(|d| path_digest(d))?;
    session(app, name, id).await?;
    let start = chunk_start(&req)?;
    let has_body = content_length(req.headers()) != Some(0);
    if has_body {
        app.blobs()
            .append(id, start, body_stream(req.into_body()))
            .await
            .map_err(|e| storage_error(e, name, id))?;
    }
    finish(app, name, id, &digest).await
}

/// `DELETE`: cancel a session.
pub(super) async fn cancel(app: &App, name: &str, id: &str) -> Result<Response> {
    session(app, name, id).await?;
    app.blobs()
        .delete_upload(id)
        .await
        .map_err(|e| Error::internal("cancel upload", e))?;
    app.meta().delete_upload(id).await.map_err(meta_err)?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}
