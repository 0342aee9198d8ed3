//! The HTTP API: the OCI Distribution routes under `/v2/`. Every route is listed in
//! [`router`] and [`Route::parse`]; every failure is an [`Error`] with an OCI body.

mod blobs;
mod extensions;
mod listing;
mod manifests;
pub mod ranges;
mod uploads;

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tracing::Instrument;

use crate::error::{Code, Error, Result};
use crate::reference::is_valid_name;
use crate::registry::App;

/// Header names the spec and clients use.
pub(crate) mod headers {
    pub(crate) const API_VERSION: &str = "docker-distribution-api-version";
    pub(crate) const CONTENT_DIGEST: &str = "docker-content-digest";
    pub(crate) const UPLOAD_UUID: &str = "docker-upload-uuid";
    pub(crate) const OCI_SUBJECT: &str = "oci-subject";
    pub(crate) const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";
}

/// The whole API as an axum router.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/v2", get(base))
        .route("/v2/", get(base))
        .route("/v2/_catalog", get(listing::catalog))
        .route("/v2/{*path}", any(dispatch))
        .route("/_arca/v1/plugins", get(extensions::plugins))
        .route("/_arca/v1/search", get(extensions::search))
        .route(
            "/_arca/v1/repositories/{*path}",
            get(extensions::repository),
        )
        .route("/_arca/v1/views/{*path}", get(extensions::view))
        .route("/.well-known/{*path}", get(extensions::well_known))
        .route("/_arca/v1/admin/reindex", post(extensions::reindex))
        .route("/_arca/v1/admin/plugins", post(extensions::install_plugin))
        .route(
            "/_arca/v1/admin/plugins/{name}",
            axum::routing::put(extensions::switch_plugin).delete(extensions::remove_plugin),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(observe))
        .with_state(app)
}

async fn base() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response()
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Error {
    Error::new(
        Code::NameUnknown,
        format!("no route for {method} {}", uri.path()),
    )
    .with_status(StatusCode::NOT_FOUND)
}

/// Request span (method, route, repository, status, duration) and the API version header.
async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        route = tracing::field::Empty,
        repository = tracing::field::Empty,
    );
    let mut resp = next.run(req).instrument(span.clone()).await;
    resp.headers_mut().insert(
        headers::API_VERSION,
        HeaderValue::from_static("registry/2.0"),
    );
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, duration_ms = ms, "request failed");
        } else {
            tracing::info!(status, duration_ms = ms, "request");
        }
    });
    resp
}

/// One OCI route, parsed from a path below `/v2/`. Repository names contain slashes,
/// so the path is read from its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `<name>/tags/list`
    Tags(String),
    /// `<name>/manifests/<reference>`
    Manifest(String, String),
    /// `<name>/referrers/<digest>`
    Referrers(String, String),
    /// `<name>/blobs/<digest>`
    Blob(String, String),
    /// `<name>/blobs/uploads/`
    UploadStart(String),
    /// `<name>/blobs/uploads/<id>`
    Upload(String, String),
}

impl Route {
    /// Parse the part of the path after `/v2/`.
    pub fn parse(path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.split('/').collect();
        let n = segs.len();
        let name = |k: usize| segs[..n - k].join("/");
        if n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list" {
            return Some(Route::Tags(name(2)));
        }
        if n >= 3 && segs[n - 2] == "manifests" {
            return Some(Route::Manifest(name(2), segs[n - 1].to_string()));
        }
        if n >= 3 && segs[n - 2] == "referrers" {
            return Some(Route::Referrers(name(2), segs[n - 1].to_string()));
        }
        if n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads" {
            return Some(if segs[n - 1].is_empty() {
                Route::UploadStart(name(3))
            } else {
                Route::Upload(name(3), segs[n - 1].to_string())
            });
        }
        if n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads" {
            return Some(Route::UploadStart(name(2)));
        }
        if n >= 3 && segs[n - 2] == "blobs" {
            return Some(Route::Blob(name(2), segs[n - 1].to_string()));
        }
        None
    }

    fn name(&self) -> &str {
        match self {
            Route::Tags(n)
            | Route::Manifest(n, _)
            | Route::Referrers(n, _)
            | Route::Blob(n, _)
            | Route::UploadStart(n)
            | Route::Upload(n, _) => n,
        }
    }

    fn label(&self, method: &Method) -> &'static str {
        match (self, method.as_str()) {
            (Route::Tags(_), _) => "tags.list",
            (Route::Manifest(..), "PUT") => "manifest.put",
            (Route::Manifest(..), "DELETE") => "manifest.delete",
            (Route::Manifest(..), _) => "manifest.get",
            (Route::Referrers(..), _) => "referrers.get",
            (Route::Blob(..), "DELETE") => "blob.delete",
            (Route::Blob(..), _) => "blob.get",
            (Route::UploadStart(_), _) => "upload.start",
            (Route::Upload(..), "PATCH") => "upload.patch",
            (Route::Upload(..), "PUT") => "upload.put",
            (Route::Upload(..), "DELETE") => "upload.cancel",
            (Route::Upload(..), _) => "upload.status",
        }
    }
}

/// The decoded query string.
pub(crate) type Query = HashMap<String, String>;

fn parse_query(req: &Request) -> Query {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

async fn dispatch(State(app): State<App>, req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .strip_prefix("/v2/")
        .unwrap_or("")
        .to_string();
    let Some(route) = Route::parse(&path) else {
        return not_found(req.method().clone(), req.uri().clone())
            .await
            .into_response();
    };
    let span = tracing::Span::current();
    span.record("route", route.label(req.method()));
    span.record("repository", route.name());
    if !is_valid_name(route.name()) {
        return Error::name_invalid(route.name()).into_response();
    }
    let query = parse_query(&req);
    let method = req.method().clone();
    let result: Result<Response> = match (route, method) {
        (Route::Tags(name), Method::GET) => listing::tags(&app, &name, &query).await,
        (Route::Referrers(name, d), Method::GET) => {
            listing::referrers(&app, &name, &d, &query).await
        }
        (Route::Manifest(name, r), Method::GET) => manifests::get(&app, &name, &r, false).await,
        (Route::Manifest(name, r), Method::HEAD) => manifests::get(&app, &name, &r, true).await,
        (Route::Manifest(name, r), Method::PUT) => manifests::put(&app, &name, &r, req).await,
        (Route::Manifest(name, r), Method::DELETE) => manifests::delete(&app, &name, &r).await,
        (Route::Blob(name, d), Method::GET) => {
            blobs::get(&app, &name, &d, req.headers(), false).await
        }
        (Route::Blob(name, d), Method::HEAD) => {
            blobs::get(&app, &name, &d, req.headers(), true).await
        }
        (Route::Blob(name, d), Method::DELETE) => blobs::delete(&app, &name, &d).await,
        (Route::UploadStart(name), Method::POST) => uploads::start(&app, &name, &query, req).await,
        (Route::Upload(name, id), Method::GET) => uploads::status(&app, &name, &id).await,
        (Route::Upload(name, id), Method::PATCH) => uploads::patch(&app, &name, &id, req).await,
        (Route::Upload(name, id), Method::PUT) => uploads::put(&app, &name, &id, &query, req).await,
        (Route::Upload(name, id), Method::DELETE) => uploads::cancel(&app, &name, &id).await,
        (_, m) => Err(Error::new(
            Code::Unsupported,
            format!("{m} is not supported on {path}"),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A request body as the storage layer's byte stream.
pub(crate) fn body_stream(body: Body) -> crate::storage::ByteStream {
    use futures_util::TryStreamExt;
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

/// The `Content-Length` header, if present and valid.
pub(crate) fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A header as text.
pub(crate) fn header_str(h: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    h.get(name)?.to_str().ok()
}

/// Build a response from status and header pairs with an empty body.
pub(crate) fn empty(status: StatusCode, hdrs: &[(&str, &str)]) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    for (k, v) in hdrs {
        if let (Ok(k), Ok(v)) = (header::HeaderName::try_from(*k), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn routes_read_from_the_end() {
        assert_eq!(
            Route::parse("a/b/tags/list"),
            Some(Route::Tags("a/b".into()))
        );
        assert_eq!(
            Route::parse("a/manifests/manifests/x"),
            Some(Route::Manifest("a/manifests".into(), "x".into()))
        );
        assert_eq!(
            Route::parse("a/blobs/uploads/"),
            Some(Route::UploadStart("a".into()))
        );
        assert_eq!(
            Route::parse("a/blobs/uploads/u1"),
            Some(Route::Upload("a".into(), "u1".into()))
        );
        assert_eq!(
            Route::parse("a/blobs/sha256:x"),
            Some(Route::Blob("a".into(), "sha256:x".into()))
        );
        assert_eq!(
            Route::parse("a/referrers/sha256:x"),
            Some(Route::Referrers("a".into(), "sha256:x".into()))
        );
        assert_eq!(Route::parse("a"), None);
        assert_eq!(Route::parse("tags/list"), None);
    }
}
