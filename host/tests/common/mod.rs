//! Shared helpers for the spec conformance tests.
//!
//! Everything here talks to the registry through `arca::api::router` with
//! `tower::ServiceExt::oneshot`; no sockets are opened. The helpers behave like
//! an ordinary HTTP client: they send `Host` and `Content-Length` the way hyper
//! would for a body of known length, follow `Location` headers whether they are
//! absolute or relative, and keep whatever query the registry put on them.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256, Sha512};
use tower::ServiceExt;

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub(crate) const OCI_LAYER_NONDIST: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub(crate) const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(crate) const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub(crate) const DOCKER_FOREIGN_LAYER: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// The digest of `{}`, the OCI empty descriptor's content.
pub(crate) const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// Error codes listed in the spec's "Error Codes" table.
pub(crate) const SPEC_ERROR_CODES: &[&str] = &[
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
];

pub(crate) const HOST: &str = "registry.test";

pub(crate) fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

pub(crate) fn sha512(data: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(data)))
}

/// Percent-encodes a query value as `application/x-www-form-urlencoded`, the way Go's
/// `url.Values.Encode` does (what the official conformance suite and most clients send).
pub(crate) fn qenc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Turns a `Location`/`Link` target into the origin-form the router needs:
/// an absolute URL loses its scheme and authority; a relative one is kept.
pub(crate) fn origin_form(loc: &str) -> String {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = loc.strip_prefix(scheme) {
            return match rest.find('/') {
                Some(i) => rest[i..].to_string(),
                None => "/".to_string(),
            };
        }
    }
    assert!(
        loc.starts_with('/'),
        "location {loc:?} is neither absolute nor an absolute path"
    );
    loc.to_string()
}

/// Whether `s` contains a UUID in its 8-4-4-4-12 hex form.
pub(crate) fn contains_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(35)).any(|i| {
        b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
    })
}

/// Appends `key=value` (value already encoded) to a URL that may or may not
/// already carry a query.
pub(crate) fn add_query(url: &str, kv: &str) -> String {
    if url.contains('?') {
        format!("{url}&{kv}")
    } else {
        format!("{url}?{kv}")
    }
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// "METHOD uri" of the request, for assertion messages.
    pub(crate) what: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("header is not visible ASCII").to_string())
    }

    pub(crate) fn must_header(&self, name: &str) -> String {
        self.header(name).unwrap_or_else(|| {
            panic!(
                "{}: response has no {name} header: {}",
                self.what,
                self.dump()
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn dump(&self) -> String {
        let mut hs: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("<binary>")))
            .collect();
        hs.sort();
        let body = if self.body.len() > 600 {
            format!(
                "{}... ({} bytes)",
                String::from_utf8_lossy(&self.body[..600]),
                self.body.len()
            )
        } else {
            self.text()
        };
        format!("status {} [{}] body {body:?}", self.status, hs.join("; "))
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {}", self.what, self.dump()))
    }

    #[track_caller]
    pub(crate) fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: expected {status}, got {}",
            self.what,
            self.dump()
        );
        self
    }

    #[track_caller]
    pub(crate) fn expect_one_of(&self, statuses: &[u16]) -> &Self {
        assert!(
            statuses.contains(&self.status.as_u16()),
            "{}: expected one of {statuses:?}, got {}",
            self.what,
            self.dump()
        );
        self
    }

    /// The `Location` header in origin-form.
    pub(crate) fn location(&self) -> String {
        let loc = self.must_header("location");
        assert!(!loc.is_empty(), "{}: empty Location", self.what);
        origin_form(&loc)
    }

    /// Checks the body follows the spec's error format and returns the codes.
    #[track_caller]
    pub(crate) fn error_codes(&self) -> Vec<String> {
        let v = self.json();
        let errors = v
            .get("errors")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{}: no \"errors\" array: {}", self.what, self.dump()));
        assert!(!errors.is_empty(), "{}: empty errors array", self.what);
        errors
            .iter()
            .map(|e| {
                let code = e
                    .get("code")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{}: error without string code: {e}", self.what));
                assert!(
                    !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                    "{}: code {code:?} is not uppercase letters and underscores",
                    self.what
                );
                if let Some(m) = e.get("message") {
                    assert!(m.is_string(), "{}: message is not a string: {e}", self.what);
                }
                code.to_string()
            })
            .collect()
    }

    /// Asserts the status and that one of the errors has `code`.
    #[track_caller]
    pub(crate) fn expect_error(&self, status: u16, code: &str) {
        self.expect(status);
        let codes = self.error_codes();
        assert!(
            codes.iter().any(|c| c == code),
            "{}: expected error code {code}, got {codes:?}: {}",
            self.what,
            self.dump()
        );
    }

    /// Asserts a status among `statuses` and an error document (except for
    /// HEAD, which has no body) with one code among `codes`.
    #[track_caller]
    pub(crate) fn expect_error_among(&self, statuses: &[u16], codes: &[&str]) {
        self.expect_one_of(statuses);
        if self.what.starts_with("HEAD ") {
            return;
        }
        let got = self.error_codes();
        assert!(
            got.iter().any(|c| codes.contains(&c.as_str())),
            "{}: expected one of {codes:?}, got {got:?}",
            self.what
        );
    }

    /// The `Range` header of an upload response, parsed as `0-<end>`.
    #[track_caller]
    pub(crate) fn upload_range_end(&self) -> u64 {
        let r = self.must_header("range");
        let (start, end) = r
            .split_once('-')
            .unwrap_or_else(|| panic!("{}: malformed Range {r:?}", self.what));
        assert_eq!(start, "0", "{}: Range {r:?} must start at 0", self.what);
        end.parse()
            .unwrap_or_else(|_| panic!("{}: malformed Range {r:?}", self.what))
    }

    /// The URL in a `Link: <url>; rel="next"` header, in origin-form.
    pub(crate) fn next_link(&self) -> Option<String> {
        let link = self.header("link")?;
        assert!(
            link.contains("rel=\"next\"") || link.contains("rel=next"),
            "{}: Link header without rel=\"next\": {link:?}",
            self.what
        );
        let start = link.find('<').expect("Link without <");
        let end = link.find('>').expect("Link without >");
        Some(origin_form(&link[start + 1..end]))
    }
}

/// A registry under test, with its data directory.
pub(crate) struct Reg {
    pub(crate) router: Router,
    _dir: tempfile::TempDir,
}

pub(crate) enum B {
    Empty,
    /// Sent with an exact `Content-Length` header, as hyper would.
    Bytes(Vec<u8>),
    /// Sent as a stream of chunks with no `Content-Length` (chunked transfer).
    Stream(Vec<Vec<u8>>),
}

/// The embedded defaults (built-in plugins included, as a user runs arca), with the
/// compiled-plugin cache shared by every test instead of one per data directory.
fn config(dir: &std::path::Path) -> arca::config::Config {
    let mut config = arca::config::Config::with_data_dir(dir);
    config.plugins.cache_dir =
        Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"));
    config
}

impl Reg {
    pub(crate) async fn new() -> Reg {
        Reg::with_config(|_| {}).await
    }

    pub(crate) async fn with_config(f: impl FnOnce(&mut arca::config::Config)) -> Reg {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        f(&mut config);
        let app = arca::App::open(config).await.unwrap();
        let router: Router = arca::api::router(app);
        Reg { router, _dir: dir }
    }

    /// Drops the router and opens a new `App` on the same data directory,
    /// as a registry restart would.
    pub(crate) async fn reopen(self) -> Reg {
        let Reg { router, _dir: dir } = self;
        drop(router);
        let app = arca::App::open(config(dir.path())).await.unwrap();
        Reg {
            router: arca::api::router(app),
            _dir: dir,
        }
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: B,
    ) -> Resp {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("host", HOST);
        let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            B::Empty => {
                if !has("content-length")
                    && matches!(method, Method::PUT | Method::POST | Method::PATCH)
                {
                    req = req.header("content-length", "0");
                }
                Body::empty()
            }
            B::Bytes(v) => {
                if !has("content-length") {
                    req = req.header("content-length", v.len().to_string());
                }
                Body::from(v)
            }
            B::Stream(chunks) => {
                let items: Vec<Result<Bytes, std::io::Error>> =
                    chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
                req = req.header("transfer-encoding", "chunked");
                Body::from_stream(futures_util::stream::iter(items))
            }
        };
        let req = req.body(body).unwrap();
        let what = format!("{} {}", req.method(), req.uri());
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.as_u16() < 500,
            "{what}: server error {status}: {:?}",
            String::from_utf8_lossy(&body)
        );
        Resp {
            status,
            headers,
            body,
            what,
        }
    }

    pub(crate) async fn get(&self, uri: &str) -> Resp {
        self.send("GET", uri, &[], B::Empty).await
    }

    pub(crate) async fn get_h(&self, uri: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", uri, headers, B::Empty).await
    }

    pub(crate) async fn head(&self, uri: &str) -> Resp {
        self.send("HEAD", uri, &[], B::Empty).await
    }

    pub(crate) async fn delete(&self, uri: &str) -> Resp {
        self.send("DELETE", uri, &[], B::Empty).await
    }

    /// `POST /v2/<name>/blobs/uploads/` with `Content-Length: 0`; asserts 202.
    pub(crate) async fn start_upload(&self, name: &str) -> Resp {
        let r = self
            .send("POST", &format!("/v2/{name}/blobs/uploads/"), &[], B::Empty)
            .await;
        r.expect(202);
        r
    }

    /// Pushes a blob with POST then PUT (the spec's basic monolithic flow),
    /// asserts 201 and returns its digest.
    pub(crate) async fn push_blob(&self, name: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let loc = self.start_upload(name).await.location();
        let r = self
            .send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(&digest))),
                &[("content-type", "application/octet-stream")],
                B::Bytes(data.to_vec()),
            )
            .await;
        r.expect(201);
        digest
    }

    pub(crate) async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        content_type: &str,
        body: &[u8],
    ) -> Resp {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("content-type", content_type)]
        };
        self.send(
            "PUT",
            &format!("/v2/{name}/manifests/{reference}"),
            &headers,
            B::Bytes(body.to_vec()),
        )
        .await
    }

    /// Puts a manifest and asserts 201; returns its sha256 digest.
    pub(crate) async fn put_manifest_ok(
        &self,
        name: &str,
        reference: &str,
        content_type: &str,
        body: &[u8],
    ) -> String {
        self.put_manifest(name, reference, content_type, body)
            .await
            .expect(201);
        sha256(body)
    }

    /// Pushes a config blob (unique per `seed`) and one layer, then an OCI
    /// image manifest to `reference`. Returns the manifest.
    pub(crate) async fn push_image(&self, name: &str, reference: &str, seed: &str) -> Pushed {
        let (body, _) = self.image_blobs(name, seed).await;
        let digest = self
            .put_manifest_ok(name, reference, OCI_MANIFEST, &body)
            .await;
        Pushed {
            digest,
            size: body.len() as u64,
            body,
        }
    }

    /// Pushes a config and a layer for `seed` and returns an OCI image
    /// manifest body referencing them (not pushed) and the config descriptor.
    pub(crate) async fn image_blobs(&self, name: &str, seed: &str) -> (Vec<u8>, Value) {
        let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"{seed}\"}}");
        let layer = format!("layer bytes for {seed}").into_bytes();
        let cd = self.push_blob(name, config.as_bytes()).await;
        let ld = self.push_blob(name, &layer).await;
        let config_desc = desc(OCI_CONFIG, &cd, config.len());
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc,
            "layers": [desc(OCI_LAYER, &ld, layer.len())],
        });
        (serde_json::to_vec(&m).unwrap(), config_desc)
    }

    /// Pushes the `{}` blob used by artifacts with an empty config.
    pub(crate) async fn push_empty_json(&self, name: &str) -> Value {
        let d = self.push_blob(name, b"{}").await;
        assert_eq!(d, EMPTY_JSON_DIGEST);
        desc(OCI_EMPTY, &d, 2)
    }
}

pub(crate) struct Pushed {
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn desc(media_type: &str, digest: &str, size: usize) -> Value {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}
