//! Listings: tags, the catalog, and the referrers API. Pages cost what they hold:
//! each is one indexed range scan of `n + 1` rows.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::blobs::path_digest;
use super::headers::OCI_FILTERS_APPLIED;
use super::{Query, parse_query};
use crate::error::{Code, Error, Result};
use crate::metadata::Page;
use crate::registry::App;
use crate::registry::manifest::OCI_INDEX;

/// `n` and `last` from the query: `None` for `n` means "everything".
fn paging(app: &App, q: &Query) -> Result<(Option<u32>, Option<String>)> {
    let n = match q.get("n") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            Error::new(
                Code::Unsupported,
                format!("n={v:?} is not a non-negative integer"),
            )
            .with_status(StatusCode::BAD_REQUEST)
        })?),
    };
    let n = n.map(|n| n.min(app.config().limits.max_page_size));
    Ok((n, q.get("last").cloned()))
}

fn json_response(body: serde_json::Value, link: Option<String>) -> Response {
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(link) = link
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

fn next_link(path: &str, n: Option<u32>, page: &Page) -> Option<String> {
    let (Some(n), true, Some(last)) = (n, page.more, page.names.last()) else {
        return None;
    };
    let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
    Some(format!("<{path}?n={n}&last={last}>; rel=\"next\""))
}

pub(super) async fn tags(app: &App, name: &str, q: &Query) -> Result<Response> {
    let (n, last) = paging(app, q)?;
    let page = app
        .meta()
        .tags(name, last.as_deref(), n.unwrap_or(u32::MAX - 1))
        .await
        .map_err(|e| Error::internal("tag list", e))?
        .ok_or_else(|| Error::name_unknown(name))?;
    let link = next_link(&format!("/v2/{name}/tags/list"), n, &page);
    Ok(json_response(
        json!({ "name": name, "tags": page.names }),
        link,
    ))
}

pub(super) async fn catalog(State(app): State<App>, req: Request) -> Response {
    let q = parse_query(&req);
    let run = async {
        let (n, last) = paging(&app, &q)?;
        let page = app
            .meta()
            .repositories(last.as_deref(), n.unwrap_or(u32::MAX - 1))
            .await
            .map_err(|e| Error::internal("catalog", e))?;
        let link = next_link("/v2/_catalog", n, &page);
        Ok::<_, Error>(json_response(json!({ "repositories": page.names }), link))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn referrers(app: &App, name: &str, digest: &str, q: &Query) -> Result<Response> {
    let subject = path_digest(digest)?;
    let filter = q.get("artifactType").filter(|s| !s.is_empty());
    let rows = app
        .meta()
        .referrers(name, subject.as_str(), filter.map(String::as_str))
        .await
        .map_err(|e| Error::internal("referrers", e))?;
    let manifests: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            let mut d = json!({ "mediaType": r.media_type, "digest": r.digest, "size": r.size });
            if let Some(at) = r.artifact_type {
                d["artifactType"] = json!(at);
            }
            if let Some(a) = r
                .annotations
                .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
            {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    let body = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, OCI_INDEX)],
        body.to_string(),
    )
        .into_response();
    if filter.is_some() {
        resp.headers_mut().insert(
            OCI_FILTERS_APPLIED,
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
