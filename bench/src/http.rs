//! A thin HTTP/1.1 client over hyper, and the distribution-spec requests the workloads use.

use std::convert::Infallible;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::body::{PrngBody, sha256};

pub(crate) type ReqBody = BoxBody<Bytes, Infallible>;

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

pub(crate) fn empty() -> ReqBody {
    Empty::new().boxed()
}

pub(crate) fn full(b: impl Into<Bytes>) -> ReqBody {
    Full::new(b.into()).boxed()
}

pub(crate) fn prng(seed: u64, start: u64, end: u64) -> ReqBody {
    PrngBody::new(seed, start, end).boxed()
}

/// An answer whose body was read to the end.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Fail unless the status is `want`, quoting the body.
    pub(crate) fn expect(self, want: u16, what: &str) -> Result<Self> {
        if self.status.as_u16() != want {
            bail!(
                "{what}: expected {want}, got {} {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(400)])
            );
        }
        Ok(self)
    }

    /// The `rel="next"` target of a `Link` header.
    pub(crate) fn next_link(&self) -> Option<String> {
        let link = self.header("link")?;
        if !link.contains("rel=\"next\"") && !link.contains("rel=next") {
            return None;
        }
        let start = link.find('<')? + 1;
        let end = link[start..].find('>')? + start;
        Some(link[start..end].to_string())
    }
}

/// A pooled client bound to one registry's base URL (`http://host:port`).
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpConnector, ReqBody>,
    pub(crate) base: String,
}

impl Http {
    pub(crate) fn new(base: &str) -> Self {
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        conn.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(Duration::from_secs(60))
            .build(conn);
        Http {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `path` may be absolute (`http://…`) or start with `/`.
    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// Send and return the response with its body unread.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: ReqBody,
    ) -> Result<Response<Incoming>> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, HeaderValue::from_str(v)?);
        }
        let req = req.body(body)?;
        self.client
            .request(req)
            .await
            .with_context(|| format!("{method} {path}"))
    }

    /// Send and read the whole answer.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: ReqBody,
    ) -> Result<Answer> {
        let resp = self.send(method.clone(), path, headers, body).await?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .with_context(|| format!("{method} {path}: reading the body"))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Answer> {
        self.call(Method::GET, path, &[], empty()).await
    }

    /// `POST /v2/<repo>/blobs/uploads/` → the session's location.
    pub(crate) async fn start_upload(&self, repo: &str) -> Result<String> {
        let a = self
            .call(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[("content-length", "0")],
                empty(),
            )
            .await?
            .expect(202, "POST upload")?;
        a.header("location")
            .map(str::to_string)
            .ok_or_else(|| anyhow!("POST upload: no Location"))
    }

    /// `PUT <location>?digest=<d>` with `body` (`len` bytes) → 201.
    pub(crate) async fn finish_upload(
        &self,
        location: &str,
        digest: &str,
        body: ReqBody,
        len: u64,
    ) -> Result<()> {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let len = len.to_string();
        self.call(
            Method::PUT,
            &url,
            &[
                ("content-type", "application/octet-stream"),
                ("content-length", &len),
            ],
            body,
        )
        .await?
        .expect(201, "PUT upload")?;
        Ok(())
    }

    /// A monolithic upload: `POST` then one `PUT` with the whole body and its digest.
    pub(crate) async fn push_blob(
        &self,
        repo: &str,
        digest: &str,
        body: ReqBody,
        len: u64,
    ) -> Result<()> {
        let loc = self.start_upload(repo).await?;
        self.finish_upload(&loc, digest, body, len).await
    }

    /// Push a small in-memory blob; returns its digest.
    pub(crate) async fn push_bytes(&self, repo: &str, data: Bytes) -> Result<String> {
        let digest = sha256(&data);
        let len = data.len() as u64;
        self.push_blob(repo, &digest, full(data), len).await?;
        Ok(digest)
    }

    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        manifest: Bytes,
    ) -> Result<Answer> {
        let len = manifest.len().to_string();
        self.call(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type), ("content-length", &len)],
            full(manifest),
        )
        .await
    }
}

/// What an image needs besides its manifest: a config and one layer, pushed to `repo`.
pub(crate) struct ImageBlobs {
    pub(crate) config: String,
    pub(crate) config_size: usize,
    pub(crate) layer: String,
    pub(crate) layer_size: usize,
}

/// The bytes of a small image config (valid for arca's image plugin) and of its layer.
pub(crate) fn image_blob_bytes(tag: &str) -> (Bytes, Bytes) {
    let mut layer = vec![0u8; 1024];
    crate::body::fill(0x1a7e_5eed, 0, &mut layer);
    layer[..tag.len().min(64)].copy_from_slice(&tag.as_bytes()[..tag.len().min(64)]);
    let diff_id = sha256(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/app"], "Labels": {"bench": tag}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "arca-bench"}]
    }))
    .expect("json");
    (Bytes::from(config), Bytes::from(layer))
}

pub(crate) async fn push_image_blobs(http: &Http, repo: &str) -> Result<ImageBlobs> {
    let (config, layer) = image_blob_bytes(repo);
    let (config_size, layer_size) = (config.len(), layer.len());
    let config = http.push_bytes(repo, config).await?;
    let layer = http.push_bytes(repo, layer).await?;
    Ok(ImageBlobs {
        config,
        config_size,
        layer,
        layer_size,
    })
}

/// An OCI image manifest over `blobs`; `note` makes it distinct.
pub(crate) fn image_manifest(blobs: &ImageBlobs, note: &str) -> Bytes {
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": blobs.config, "size": blobs.config_size},
        "layers": [{"mediaType": OCI_LAYER, "digest": blobs.layer, "size": blobs.layer_size}]
    });
    if !note.is_empty() {
        m["annotations"] = json!({ "org.example.bench": note });
    }
    Bytes::from(serde_json::to_vec(&m).expect("json"))
}

/// Count the entries of a listing page (`tags` or `repositories`).
pub(crate) fn listing_len(a: &Answer, key: &str) -> Result<usize> {
    let v: Value = serde_json::from_slice(&a.body).context("listing is not JSON")?;
    Ok(v[key].as_array().map_or(0, Vec::len))
}
