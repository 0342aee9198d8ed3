//! arca's own API under `/_arca/v1/`, the same for every artifact type: plugins, search
//! over facets, a manifest's documents, views rendered by plugins, and the admin calls
//! the CLI's online commands use.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::parse_query;
use crate::digest::Digest;
use crate::error::{Code, Error, Result};
use crate::metadata::{FacetMatch, ManifestRef, SearchQuery};
use crate::plugins::CallError;
use crate::reference::is_valid_name;
use crate::registry::App;

fn json_ok(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn bad_request(message: impl Into<String>) -> Error {
    Error::new(Code::Unsupported, message).with_status(StatusCode::BAD_REQUEST)
}

fn not_found(message: impl Into<String>) -> Error {
    Error::new(Code::NameUnknown, message).with_status(StatusCode::NOT_FOUND)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal("extension API", e)
}

fn plugin_failed(plugin: &str, e: CallError) -> Error {
    Error::new(Code::Unsupported, format!("plugin {plugin} {e}"))
        .with_status(StatusCode::BAD_GATEWAY)
}

/// `GET /_arca/v1/plugins`
pub(super) async fn plugins(State(app): State<App>) -> Response {
    json_ok(json!({ "plugins": app.plugins().describe() }))
}

/// `GET /_arca/v1/search?facet=NAME:VALUE&facet=NAME:PREFIX*&repository=&artifactType=&n=&last=`
pub(super) async fn search(State(app): State<App>, req: Request) -> Response {
    let query = req.uri().query().map(str::to_string);
    run_search(&app, query)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn run_search(app: &App, query: Option<String>) -> Result<Response> {
    let pairs: Vec<(String, String)> = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut q = SearchQuery {
        n: 100,
        ..SearchQuery::default()
    };
    for (k, v) in &pairs {
        match k.as_str() {
            "facet" => {
                let (name, value) = v.split_once(':').ok_or_else(|| {
                    bad_request(format!("facet={v:?}: expected NAME:VALUE or NAME:PREFIX*"))
                })?;
                let m = match value.strip_suffix('*') {
                    Some(prefix) => FacetMatch::Prefix(prefix.to_string()),
                    None => FacetMatch::Exact(value.to_string()),
                };
                q.facets.push((name.to_string(), m));
            }
            "repository" => q.repository = Some(v.trim_end_matches('/').to_string()),
            "artifactType" => q.artifact_type = Some(v.clone()),
            "n" => {
                q.n = v
                    .parse::<u32>()
                    .map_err(|_| bad_request(format!("n={v:?} is not a non-negative integer")))?
                    .min(app.config().limits.max_page_size)
            }
            "last" => {
                let (r, d) = v.rsplit_once('@').ok_or_else(|| {
                    bad_request(format!("last={v:?}: expected REPOSITORY@DIGEST"))
                })?;
                q.last = Some((r.to_string(), d.to_string()));
            }
            other => return Err(bad_request(format!("unknown search parameter {other:?}"))),
        }
    }
    if q.facets.len() > 16 {
        return Err(bad_request("at most 16 facet filters"));
    }
    let (hits, more) = app.meta().search(&q).await.map_err(internal)?;
    let mut resp = json_ok(json!({ "results": hits }));
    if more && let Some(last) = hits.last() {
        let mut next: Vec<(String, String)> =
            pairs.into_iter().filter(|(k, _)| k != "last").collect();
        next.push((
            "last".into(),
            format!("{}@{}", last.repository, last.digest),
        ));
        let qs: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        if let Ok(v) = HeaderValue::from_str(&format!("</_arca/v1/search?{qs}>; rel=\"next\"")) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `GET /_arca/v1/repositories/<name>/manifests/<digest>/documents` and
/// `GET /_arca/v1/repositories/<name>/manifests/<digest>/views/<plugin>/<view>`
pub(super) async fn repository(State(app): State<App>, req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .trim_start_matches("/_arca/v1/repositories/")
        .to_string();
    let head = req.method() == axum::http::Method::HEAD;
    repository_route(&app, &path, req.headers(), head)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// A download file name: one path segment of `[A-Za-z0-9._+-]`, not starting with a dot.
fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

async fn repository_route(
    app: &App,
    path: &str,
    headers: &axum::http::HeaderMap,
    head: bool,
) -> Result<Response> {
    let segs: Vec<&str> = path.split('/').collect();
    let n = segs.len();
    if n >= 4 && segs[n - 3] == "blobs" {
        // `<name>/blobs/<digest>/<file name>`: the blob route, under a name to save it as
        // (plugins' views link here so that a download gets a meaningful file name).
        let (name, digest, file) = (segs[..n - 3].join("/"), segs[n - 2], segs[n - 1]);
        if !is_valid_name(&name) {
            return Err(Error::name_invalid(&name));
        }
        if !is_file_name(file) {
            return Err(bad_request(format!(
                "file name {file:?} must be [A-Za-z0-9._+-]{{1,255}}, not starting with a dot"
            )));
        }
        let mut resp = super::blobs::get(app, &name, digest, headers, head).await?;
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return Ok(resp);
    }
    let (name, digest, rest) = if n >= 4 && segs[n - 3] == "manifests" && segs[n - 1] == "documents"
    {
        (segs[..n - 3].join("/"), segs[n - 2], None)
    } else if n >= 6 && segs[n - 5] == "manifests" && segs[n - 3] == "views" {
        (
            segs[..n - 5].join("/"),
            segs[n - 4],
            Some((segs[n - 2], segs[n - 1])),
        )
    } else {
        return Err(not_found(format!("no route /_arca/v1/repositories/{path}")));
    };
    if !is_valid_name(&name) {
        return Err(Error::name_invalid(&name));
    }
    let digest: Digest = digest.parse()?;
    let m = ManifestRef {
        repository: name.clone(),
        digest: digest.to_string(),
    };
    match rest {
        None => {
            let docs = app
                .meta()
                .documents(&m)
                .await
                .map_err(internal)?
                .ok_or_else(|| Error::manifest_unknown(digest.as_str()))?;
            Ok(json_ok(
                json!({ "repository": name, "digest": digest, "documents": docs }),
            ))
        }
        Some((plugin, view)) => {
            let input = app
                .stored_input(&m)
                .await
                .map_err(internal)?
                .ok_or_else(|| Error::manifest_unknown(digest.as_str()))?;
            let source = app.blob_source(&name);
            let r = app
                .plugins()
                .render(plugin, view, &name, Some((&input, source)), Vec::new())
                .await
                .ok_or_else(|| not_found(format!("plugin {plugin:?} has no view {view:?} here")))?
                .map_err(|e| plugin_failed(plugin, e))?;
            Ok(rendered(r))
        }
    }
}

fn rendered(r: crate::plugins::Rendered) -> Response {
    let mut resp = Response::new(axum::body::Body::from(r.body));
    if let Ok(v) = HeaderValue::from_str(&r.media_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// `GET /_arca/v1/views/<plugin>/<repository prefix>/<view>`
pub(super) async fn view(State(app): State<App>, req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .trim_start_matches("/_arca/v1/views/")
        .to_string();
    view_route(&app, &path)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn view_route(app: &App, path: &str) -> Result<Response> {
    let segs: Vec<&str> = path.split('/').collect();
    if segs.len() < 2 || segs.iter().any(|s| s.is_empty()) {
        return Err(not_found(format!(
            "no route /_arca/v1/views/{path}: expected <plugin>/<prefix>/<view>"
        )));
    }
    let (plugin, view) = (segs[0], segs[segs.len() - 1]);
    let prefix = segs[1..segs.len() - 1].join("/");
    if !prefix.is_empty() && !is_valid_name(&prefix) {
        return Err(Error::name_invalid(&prefix));
    }
    let docs = app
        .meta()
        .plugin_documents(plugin, &prefix)
        .await
        .map_err(internal)?;
    let docs: Vec<String> = docs
        .into_iter()
        .map(|d| {
            let document: serde_json::Value = serde_json::from_str(&d.json).unwrap_or_default();
            json!({ "repository": d.repository, "digest": d.digest, "tags": d.tags, "document": document })
                .to_string()
        })
        .collect();
    let r = app
        .plugins()
        .render(plugin, view, &prefix, None, docs)
        .await
        .ok_or_else(|| not_found(format!("plugin {plugin:?} has no view {view:?}")))?
        .map_err(|e| plugin_failed(plugin, e))?;
    Ok(rendered(r))
}

/// `POST /_arca/v1/admin/reindex[?repository=<prefix>]`
pub(super) async fn reindex(State(app): State<App>, req: Request) -> Response {
    let q = parse_query(&req);
    let prefix = q
        .get("repository")
        .map(|p| p.trim_end_matches('/').to_string());
    match app.reindex(prefix.as_deref()).await {
        Ok(summary) => json_ok(json!(summary)),
        Err(e) => internal(e).into_response(),
    }
}

/// `PUT /_arca/v1/admin/plugins/<name>` with `{"enabled": true|false|null}`: switch a
/// plugin for every replica (`null` returns it to its configuration).
pub(super) async fn switch_plugin(
    State(app): State<App>,
    axum::extract::Path(name): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let run = async {
        if app.plugins().get(&name).is_none() {
            return Err(not_found(format!("no plugin named {name:?} is loaded")));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| bad_request(format!("body must be JSON: {e}")))?;
        let enabled = match v.get("enabled") {
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(serde_json::Value::Null) => None,
            _ => {
                return Err(bad_request(
                    "body must be {\"enabled\": true | false | null}",
                ));
            }
        };
        app.switch_plugin(&name, enabled).await.map_err(internal)?;
        Ok(json_ok(json!(app.plugins().get(&name))))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /_arca/v1/admin/plugins` with `{"reference": "<[registry/]repository(:tag|@digest)>"}`:
/// install a plugin from an OCI artifact, pinned by digest; active at once.
pub(super) async fn install_plugin(State(app): State<App>, body: axum::body::Bytes) -> Response {
    let run = async {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| bad_request(format!("body must be JSON: {e}")))?;
        let reference = v["reference"].as_str().ok_or_else(|| {
            bad_request("body must be {\"reference\": \"[registry/]repository(:tag|@digest)\"}")
        })?;
        let desc = app.install_plugin(reference).await?;
        Ok::<_, Error>((StatusCode::CREATED, json_ok(json!(desc))).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /_arca/v1/admin/plugins/<name>`: remove an installed plugin.
pub(super) async fn remove_plugin(
    State(app): State<App>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    match app.remove_plugin(&name).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(format!("no installed plugin named {name:?}")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /.well-known/<path>`: a document from the `[[well_known]]` configuration.
pub(super) async fn well_known(State(app): State<App>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches("/.well-known/");
    let Some(doc) = app.config().well_known.iter().find(|w| w.path == path) else {
        return not_found(format!("no document /.well-known/{path} is configured")).into_response();
    };
    // The Host header as the client sent it, if it is a plausible host[:port].
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let body = doc.body.replace("{host}", host);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, doc.content_type.clone())],
        body,
    )
        .into_response()
}
