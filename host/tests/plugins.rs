//! The plugin platform, end to end through the HTTP API (axum `oneshot`, no sockets):
//! the sandbox stops misbehaving plugins, the push pipeline validates and indexes,
//! search / documents / views / reindex / delete work for every type alike, plugins are
//! selected by each kind of media-type match and configured per repository, the built-in
//! `image` plugin works, and the core names no specific artifact type.
//!
//! Misbehaviour comes from `plugins/test-misbehave`, whose settings (`{"mode": …}`) choose
//! what it does in `validate` and `index`; it handles `application/vnd.arca.test.*`.

use std::path::Path;
use std::time::{Duration, Instant};

use arca::config::{Config, OnError, PluginConfig, RepositoryOverride};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt;

const TEST_PLUGIN_WASM: &str = env!("ARCA_TEST_PLUGIN_MISBEHAVE_WASM");
const TEST_PLUGIN: &str = "test-misbehave";

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Media types the test plugin handles (`application/vnd.arca.test.*`).
const TEST_TYPE: &str = "application/vnd.arca.test.thing";
const TEST_CONFIG: &str = "application/vnd.arca.test.config+json";
const TEST_LAYER: &str = "application/vnd.arca.test.layer";
/// Media types no plugin handles.
const OTHER_TYPE: &str = "application/vnd.example.other";
const OTHER_CONFIG: &str = "application/vnd.example.other.config+json";
const OTHER_LAYER: &str = "application/vnd.example.other.layer";

/// The deadline every sandbox test runs under.
const DEADLINE_MS: u64 = 300;
/// The violation cap every test runs under.
const MAX_VIOLATIONS: usize = 10;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Percent-encodes a query value.
fn q(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn settings(mode: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("mode".into(), json!(mode));
    m
}

fn over(pattern: &str, enabled: Option<bool>, mode: Option<&str>) -> RepositoryOverride {
    RepositoryOverride {
        pattern: pattern.into(),
        enabled,
        settings: mode.map(settings).unwrap_or_default(),
    }
}

/// The test plugin in `mode` everywhere, except under `fine/**` where it behaves, so a
/// test can show the registry still works after the misbehaviour.
fn plugin(mode: &str) -> PluginConfig {
    let mut pc = configured(mode);
    pc.repositories.push(over("fine/**", None, Some("ok")));
    pc
}

/// The test plugin in `mode`, with no overrides.
fn configured(mode: &str) -> PluginConfig {
    PluginConfig {
        settings: settings(mode),
        ..PluginConfig::default()
    }
}

/// The test plugin beside the built-in ones. The compiled-plugin cache is shared by every
/// test (keyed by digest and engine), so each component compiles once per engine shape.
fn config(dir: &Path, pc: PluginConfig) -> Config {
    let mut config = Config::with_data_dir(dir);
    config.plugins.cache_dir = Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"));
    config.plugins.files.push(TEST_PLUGIN_WASM.into());
    config.plugins.deadline_ms = DEADLINE_MS;
    config.plugins.max_violations = MAX_VIOLATIONS;
    config.plugin.insert(TEST_PLUGIN.into(), pc);
    config
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    what: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn dump(&self) -> String {
        let body = if self.body.len() > 1500 {
            format!(
                "{}… ({} bytes)",
                String::from_utf8_lossy(&self.body[..1500]),
                self.body.len()
            )
        } else {
            self.text()
        };
        format!("{} → {} {body}", self.what, self.status)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.dump()))
    }

    #[track_caller]
    fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.dump());
        self
    }

    /// Asserts an OCI error with `code` and returns its entry.
    #[track_caller]
    fn error(&self, status: u16, code: &str) -> Value {
        self.expect(status);
        let v = self.json();
        let e = v["errors"][0].clone();
        assert_eq!(e["code"], code, "{}", self.dump());
        e
    }

    fn message(&self) -> String {
        self.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Clone)]
struct Reg {
    router: Router,
}

/// A manifest to push: built as OCI image manifest JSON by [`Reg::push`].
#[derive(Clone, Default)]
struct Art {
    artifact_type: Option<String>,
    config_type: Option<String>,
    config: Option<Vec<u8>>,
    layers: Vec<(String, Vec<u8>)>,
    subject: Option<(String, usize)>,
    note: String,
}

impl Art {
    /// An artifact with `artifactType` set to the test type and an empty config.
    fn test(note: &str) -> Art {
        Art {
            artifact_type: Some(TEST_TYPE.into()),
            config_type: Some(OCI_EMPTY.into()),
            config: Some(b"{}".to_vec()),
            layers: vec![(OTHER_LAYER.into(), note.as_bytes().to_vec())],
            note: note.into(),
            ..Art::default()
        }
    }

    /// An artifact that no plugin handles.
    fn other(note: &str) -> Art {
        Art {
            artifact_type: Some(OTHER_TYPE.into()),
            config_type: Some(OCI_EMPTY.into()),
            config: Some(b"{}".to_vec()),
            layers: vec![(OTHER_LAYER.into(), note.as_bytes().to_vec())],
            note: note.into(),
            ..Art::default()
        }
    }

    fn artifact_type(mut self, t: Option<&str>) -> Art {
        self.artifact_type = t.map(str::to_string);
        self
    }

    fn config(mut self, media_type: &str, content: &[u8]) -> Art {
        self.config_type = Some(media_type.into());
        self.config = Some(content.to_vec());
        self
    }

    fn layer(mut self, media_type: &str, content: &[u8]) -> Art {
        self.layers = vec![(media_type.into(), content.to_vec())];
        self
    }

    fn subject(mut self, digest: &str, size: usize) -> Art {
        self.subject = Some((digest.into(), size));
        self
    }
}

/// A pushed manifest.
struct Pushed {
    resp: Resp,
    digest: String,
    size: usize,
    layer_sizes: Vec<usize>,
}

impl Reg {
    async fn open(config: Config) -> Reg {
        let app = arca::App::open(config).await.unwrap();
        Reg {
            router: arca::api::router(app),
        }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("host", "registry.test");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        if !body.is_empty() || method == Method::PUT || method == Method::POST {
            b = b.header("content-length", body.len().to_string());
        }
        let resp = self
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body,
            what: format!("{method} {uri}"),
        }
    }

    async fn get(&self, uri: &str) -> Resp {
        self.send(Method::GET, uri, None, Vec::new()).await
    }

    async fn post(&self, uri: &str) -> Resp {
        self.send(Method::POST, uri, None, Vec::new()).await
    }

    async fn delete(&self, uri: &str) -> Resp {
        self.send(Method::DELETE, uri, None, Vec::new()).await
    }

    async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = sha256(data);
        self.send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
            Some("application/octet-stream"),
            data.to_vec(),
        )
        .await
        .expect(201);
        d
    }

    async fn put_manifest(&self, repo: &str, reference: &str, manifest: &Value) -> Resp {
        let ct = manifest["mediaType"].as_str().unwrap_or(OCI_MANIFEST);
        self.send(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            Some(ct),
            serde_json::to_vec(manifest).unwrap(),
        )
        .await
    }

    /// Pushes the blobs of `art`, then its manifest under `tag` (or by digest).
    async fn push(&self, repo: &str, tag: Option<&str>, art: &Art) -> Pushed {
        let mut m = json!({ "schemaVersion": 2, "mediaType": OCI_MANIFEST });
        if let Some(t) = &art.artifact_type {
            m["artifactType"] = json!(t);
        }
        if let (Some(ct), Some(c)) = (&art.config_type, &art.config) {
            let d = self.push_blob(repo, c).await;
            m["config"] = json!({ "mediaType": ct, "digest": d, "size": c.len() });
        }
        let mut layers = Vec::new();
        let mut layer_sizes = Vec::new();
        for (mt, data) in &art.layers {
            let d = self.push_blob(repo, data).await;
            layers.push(json!({ "mediaType": mt, "digest": d, "size": data.len() }));
            layer_sizes.push(data.len());
        }
        m["layers"] = json!(layers);
        if let Some((d, size)) = &art.subject {
            m["subject"] = json!({ "mediaType": OCI_MANIFEST, "digest": d, "size": size });
        }
        if !art.note.is_empty() {
            m["annotations"] = json!({ "org.example.note": art.note });
        }
        let bytes = serde_json::to_vec(&m).unwrap();
        let digest = sha256(&bytes);
        let reference = tag.unwrap_or(&digest).to_string();
        let resp = self.put_manifest(repo, &reference, &m).await;
        Pushed {
            resp,
            digest,
            size: bytes.len(),
            layer_sizes,
        }
    }

    async fn search(&self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/_arca/v1/search?{query}")).await;
        r.expect(200);
        r.json()["results"].as_array().cloned().unwrap_or_default()
    }

    async fn documents(&self, repo: &str, digest: &str) -> Resp {
        self.get(&format!(
            "/_arca/v1/repositories/{repo}/manifests/{digest}/documents"
        ))
        .await
    }

    /// The test plugin's row in a manifest's documents, if any.
    async fn test_document(&self, repo: &str, digest: &str) -> Option<Value> {
        let r = self.documents(repo, digest).await;
        r.expect(200);
        r.json()["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["plugin"] == TEST_PLUGIN)
            .cloned()
    }

    /// The registry still answers and still accepts pushes the plugin is happy with.
    async fn assert_still_serving(&self) {
        self.get("/v2/").await.expect(200);
        let p = self
            .push("fine/after", Some("v1"), &Art::test("after"))
            .await;
        p.resp.expect(201);
        self.get(&format!("/v2/fine/after/manifests/{}", p.digest))
            .await
            .expect(200);
    }
}

fn digests(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["digest"].as_str().unwrap().to_string())
        .collect()
}

fn repos(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["repository"].as_str().unwrap().to_string())
        .collect()
}

async fn registry(mode: &str) -> (tempfile::TempDir, Reg) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Reg::open(config(dir.path(), plugin(mode))).await;
    (dir, reg)
}

// ---------------------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_at_the_deadline_and_refuses_the_push() {
    let (_dir, reg) = registry("loop").await;
    let started = Instant::now();
    let p = reg.push("spin/loop", Some("v1"), &Art::test("loop")).await;
    let took = started.elapsed();
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(TEST_PLUGIN), "{message}");
    assert!(message.contains("timed out"), "{message}");
    assert!(
        took < Duration::from_millis(5 * DEADLINE_MS),
        "a looping validator with a {DEADLINE_MS} ms deadline held the push for {took:?}"
    );
    assert!(
        took >= Duration::from_millis(DEADLINE_MS / 2),
        "the push came back after {took:?}: did the loop run at all?"
    );
    reg.get(&format!("/v2/spin/loop/manifests/{}", p.digest))
        .await
        .error(404, "MANIFEST_UNKNOWN");
    reg.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_is_stopped_at_the_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("alloc");
    pc.memory_mib = Some(32);
    // A long deadline: the memory cap, not the deadline, must stop it.
    pc.deadline_ms = Some(5000);
    let reg = Reg::open(config(dir.path(), pc)).await;
    let started = Instant::now();
    let p = reg.push("hog/alloc", Some("v1"), &Art::test("alloc")).await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("memory cap"), "{message}");
    assert!(message.contains("32 MiB"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5), "{message}");
    reg.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_validator_refuses_the_push_with_a_trap_message() {
    let (_dir, reg) = registry("panic").await;
    let p = reg
        .push("oops/panic", Some("v1"), &Art::test("panic"))
        .await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(TEST_PLUGIN), "{message}");
    assert!(message.contains("trapped"), "{message}");
    assert_eq!(e["detail"]["violations"][0]["plugin"], TEST_PLUGIN);
    reg.get(&format!("/v2/oops/panic/manifests/{}", p.digest))
        .await
        .error(404, "MANIFEST_UNKNOWN");
    reg.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_is_reported_in_one_short_line() {
    // Clients (skopeo, oras, Helm) print only `message`: a trap should read as one clear
    // line, not a wasm backtrace.
    let (_dir, reg) = registry("panic").await;
    let p = reg
        .push("oops/trace", Some("v1"), &Art::test("trace"))
        .await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let message = e["message"].as_str().unwrap();
    assert!(
        !message.contains('\n') && message.len() <= 300,
        "{} byte message: {message:?}",
        message.len()
    );
}

/// Pushes to a registry whose test plugin returns a million violations.
async fn flood() -> (tempfile::TempDir, Reg, Resp) {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("flood");
    // Building a million violations takes the guest a few seconds and ~150 MiB (under the
    // default 128 MiB cap it is stopped at the cap): give it room, so what is tested is
    // the host's handling of the flood, not the deadline or the cap.
    pc.deadline_ms = Some(20_000);
    let mut config = config(dir.path(), pc);
    config.plugins.memory_mib = 512;
    let reg = Reg::open(config).await;
    let p = reg.push("flood/x", Some("v1"), &Art::test("flood")).await;
    (dir, reg, p.resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_violations_is_truncated_to_max_violations_in_a_small_response() {
    let (_dir, reg, resp) = flood().await;
    let e = resp.error(400, "MANIFEST_INVALID");
    assert!(
        resp.body.len() < 64 * 1024,
        "a flood produced a {} byte response",
        resp.body.len()
    );
    let violations = e["detail"]["violations"].as_array().unwrap();
    assert_eq!(violations.len(), MAX_VIOLATIONS, "{e}");
    for (i, v) in violations.iter().enumerate() {
        assert_eq!(v["path"], format!("/flood/{i}"), "{e}");
        assert_eq!(v["plugin"], TEST_PLUGIN, "{e}");
        assert_eq!(v["message"], "x".repeat(64), "{e}");
    }
    let message = e["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "{TEST_PLUGIN}: /flood/0: {} (and ",
            "x".repeat(64)
        )),
        "{message}"
    );
    reg.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_violations_is_counted_in_full() {
    let (_dir, _reg, resp) = flood().await;
    let e = resp.error(400, "MANIFEST_INVALID");
    assert_eq!(
        e["detail"]["total"], 1_000_000,
        "detail.total should count every violation the plugin returned; message: {}",
        e["message"]
    );
    assert_eq!(
        e["message"],
        format!(
            "{TEST_PLUGIN}: /flood/0: {} (and 999999 more violations)",
            "x".repeat(64)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_open_a_blob_the_manifest_does_not_reference() {
    let (_dir, reg) = registry("sneak").await;
    let p = reg.push("spy/sneak", Some("v1"), &Art::test("sneak")).await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("not referenced"), "{message}");
    assert!(
        message.contains("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_reads_referenced_layers_through_the_host() {
    let (_dir, reg) = registry("read").await;
    // Bigger than one 64 KiB read, so the plugin reads in chunks.
    let layer: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let art = Art::test("read").layer(TEST_LAYER, &layer);
    let p = reg.push("reader/read", Some("v1"), &art).await;
    // `validate` reads every layer and accepts with a warning.
    p.resp.expect(201);
    assert_eq!(p.layer_sizes, vec![200_000]);
    // `index` reads them too and reports the count as its failure: the bytes went
    // through the host's blob import.
    let doc = reg.test_document("reader/read", &p.digest).await.unwrap();
    assert_eq!(doc["state"], "failed", "{doc}");
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("read:200000"), "{doc}");
    // The warning `validate` accepted with is kept with the manifest and shown beside the
    // document.
    assert_eq!(doc["warnings_total"], 1, "{doc}");
    assert_eq!(doc["warnings"][0]["path"], "/", "{doc}");
    assert!(
        doc["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("read:200000"),
        "{doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_registry_keeps_serving_while_plugins_loop() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("loop");
    pc.deadline_ms = Some(1000);
    let mut config = config(dir.path(), pc);
    // Three plugin calls at a time (its own instance pool, apart from other tests'), and
    // more looping pushes than that, so some wait for a slot.
    config.plugins.concurrency = Some(3);
    let reg = Reg::open(config).await;
    let blob = b"served while plugins spin".to_vec();
    let blob_digest = reg.push_blob("calm/blobs", &blob).await;

    let started = Instant::now();
    let mut spinning = Vec::new();
    for i in 0..5 {
        let reg = reg.clone();
        spinning.push(tokio::spawn(async move {
            let p = reg
                .push(
                    &format!("spin/{i}"),
                    Some("v1"),
                    &Art::test(&format!("s{i}")),
                )
                .await;
            (p.resp, Instant::now())
        }));
    }
    // Let the loops start.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut served = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        reg.get("/v2/").await.expect(200);
        let r = reg
            .get(&format!("/v2/calm/blobs/blobs/{blob_digest}"))
            .await;
        r.expect(200);
        assert_eq!(r.body.as_ref(), blob.as_slice());
        reg.get("/v2/calm/blobs/tags/list").await;
        // A push no plugin handles needs no plugin slot.
        reg.push(&format!("calm/other{i}"), Some("v1"), &Art::other("calm"))
            .await
            .resp
            .expect(201);
        served.push((t.elapsed(), Instant::now()));
    }
    // Every round was served while looping pushes were still running: ordering, not
    // timing, so a loaded machine cannot make this flaky.
    let (first_served, last_served) = (served[0].1, served.last().unwrap().1);
    let mut finishes = Vec::new();
    for h in spinning {
        let (resp, finished) = h.await.unwrap();
        let e = resp.error(400, "MANIFEST_INVALID");
        assert!(e["message"].as_str().unwrap().contains("timed out"), "{e}");
        finishes.push(finished);
    }
    assert!(
        finishes.iter().all(|f| *f > first_served),
        "a looping push finished before other requests were served ({:?} after the start)",
        finishes.iter().min().map(|f| *f - started)
    );
    assert!(
        finishes.iter().any(|f| *f > last_served),
        "requests were served only after every looping push finished"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_accept_lets_a_looping_validator_fail_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("loop");
    pc.on_error = OnError::Accept;
    let reg = Reg::open(config(dir.path(), pc)).await;
    let started = Instant::now();
    let p = reg.push("open/loop", Some("v1"), &Art::test("open")).await;
    p.resp.expect(201);
    // Validate and index each get one deadline.
    assert!(
        started.elapsed() < Duration::from_millis(10 * DEADLINE_MS),
        "{:?}",
        started.elapsed()
    );
    reg.get("/v2/open/loop/manifests/v1").await.expect(200);
    let plugins = reg.get("/_arca/v1/plugins").await.json();
    let me = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == TEST_PLUGIN)
        .unwrap()
        .clone();
    assert_eq!(me["on_error"], "accept", "{me}");
    // Failing open is about failures only: a rejection still refuses.
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("reject");
    pc.on_error = OnError::Accept;
    let reg = Reg::open(config(dir.path(), pc)).await;
    let p = reg.push("open/reject", Some("v1"), &Art::test("r")).await;
    p.resp.error(400, "MANIFEST_INVALID");
}

// ---------------------------------------------------------------------------------------
// Pipeline: rejections
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_names_the_first_violation_and_lists_every_one_with_its_plugin() {
    let (_dir, reg) = registry("reject").await;
    let p = reg
        .push("no/thanks", Some("v1"), &Art::test("reject"))
        .await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    assert_eq!(
        e["message"], "test-misbehave: /annotations/first: first problem (and 1 more violation)",
        "{e}"
    );
    assert_eq!(
        e["detail"]["violations"],
        json!([
            { "plugin": TEST_PLUGIN, "path": "/annotations/first", "message": "first problem" },
            { "plugin": TEST_PLUGIN, "path": "/annotations/second", "message": "second problem" },
        ]),
        "{e}"
    );
    assert_eq!(e["detail"]["total"], 2, "{e}");
    assert_eq!(
        p.resp.header("content-type").as_deref(),
        Some("application/json")
    );
    // Nothing of a refused push is visible.
    reg.get("/v2/no/thanks/manifests/v1")
        .await
        .error(404, "MANIFEST_UNKNOWN");
    reg.documents("no/thanks", &p.digest)
        .await
        .error(404, "MANIFEST_UNKNOWN");
    assert!(reg.search("facet=test.mode:reject").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_from_several_plugins_are_all_listed() {
    let (_dir, reg) = registry("reject").await;
    // The test plugin (by artifactType) and `image` (by config type) both refuse this.
    let art = Art::test("both").config(
        OCI_CONFIG,
        json!({ "architecture": "amd64", "os": 5 })
            .to_string()
            .as_bytes(),
    );
    let p = reg.push("two/plugins", Some("v1"), &art).await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    assert_eq!(e["detail"]["total"], 3, "{e}");
    let mut got: Vec<(String, String)> = e["detail"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["plugin"].as_str().unwrap().to_string(),
                v["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("image".to_string(), "config:/os".to_string()),
            (TEST_PLUGIN.to_string(), "/annotations/first".to_string()),
            (TEST_PLUGIN.to_string(), "/annotations/second".to_string()),
        ],
        "{e}"
    );
    let message = e["message"].as_str().unwrap();
    assert!(message.ends_with(" (and 2 more violations)"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Pipeline: indexing and search
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_manifest_is_searchable_as_soon_as_the_push_is_acknowledged() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("found/it", Some("v1"), &Art::test("found")).await;
    p.resp.expect(201);
    let hits = reg.search("facet=test.mode:ok").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let h = &hits[0];
    assert_eq!(h["repository"], "found/it");
    assert_eq!(h["digest"], p.digest.as_str());
    assert_eq!(h["tags"], json!(["v1"]));
    assert_eq!(h["artifactType"], TEST_TYPE);
    assert_eq!(h["mediaType"], OCI_MANIFEST);
    assert_eq!(
        h["facets"],
        json!([{ "name": "test.mode", "value": "ok", "plugin": TEST_PLUGIN }])
    );
    // An exact facet matches only its value.
    assert!(reg.search("facet=test.mode:o").await.is_empty());
    assert!(reg.search("facet=test.mode:reject").await.is_empty());
    assert!(reg.search("facet=test.nothing:ok").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facet_value_ending_in_a_star_matches_by_prefix() {
    let (_dir, reg) = registry("ok").await;
    let a = reg.push("plain/a", Some("v1"), &Art::test("a")).await;
    a.resp.expect(201);
    let all = reg.search(&format!("facet={}", q("test.mode:*"))).await;
    assert_eq!(digests(&all), vec![a.digest.clone()]);
    let o = reg.search(&format!("facet={}", q("test.mode:o*"))).await;
    assert_eq!(digests(&o), vec![a.digest.clone()]);
    let ok = reg.search(&format!("facet={}", q("test.mode:ok*"))).await;
    assert_eq!(digests(&ok), vec![a.digest.clone()]);
    assert!(
        reg.search(&format!("facet={}", q("test.mode:x*")))
            .await
            .is_empty()
    );
    assert!(
        reg.search(&format!("facet={}", q("test.mode:oka*")))
            .await
            .is_empty()
    );
    // A star is only special at the end of the value, and a literal `%`/`_` is no
    // wildcard either.
    assert!(
        reg.search(&format!("facet={}", q("test.mode:%")))
            .await
            .is_empty()
    );
    assert!(
        reg.search(&format!("facet={}", q("test.mode:_k*")))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_facets_must_all_match() {
    let (_dir, reg) = registry("ok").await;
    let image_config = |team: &str| {
        json!({
            "architecture": "amd64", "os": "linux",
            "config": { "Labels": { "team": team } },
            "rootfs": { "type": "layers", "diff_ids": [] }
        })
        .to_string()
    };
    // Both plugins see these: the test plugin by artifactType, `image` by config type.
    let blue = Art::test("blue").config(OCI_CONFIG, image_config("blue").as_bytes());
    let red = Art::test("red").config(OCI_CONFIG, image_config("red").as_bytes());
    let b = reg.push("teams/blue", Some("v1"), &blue).await;
    b.resp.expect(201);
    let r = reg.push("teams/red", Some("v1"), &red).await;
    r.resp.expect(201);

    let both = reg.search("facet=test.mode:ok").await;
    assert_eq!(both.len(), 2, "{both:?}");
    let blue_hits = reg
        .search(&format!(
            "facet={}&facet={}",
            q("test.mode:ok"),
            q("image.label:team=blue")
        ))
        .await;
    assert_eq!(digests(&blue_hits), vec![b.digest.clone()]);
    // The hit carries the facets the query asked about, from each plugin.
    let facets = &blue_hits[0]["facets"];
    assert!(
        facets
            .as_array()
            .unwrap()
            .contains(&json!({"name": "image.label", "value": "team=blue", "plugin": "image"})),
        "{facets}"
    );
    assert!(
        facets
            .as_array()
            .unwrap()
            .contains(&json!({"name": "test.mode", "value": "ok", "plugin": TEST_PLUGIN})),
        "{facets}"
    );
    let none = reg
        .search(&format!(
            "facet={}&facet={}",
            q("test.mode:reject"),
            q("image.label:team=blue")
        ))
        .await;
    assert!(none.is_empty(), "{none:?}");
    let prefixed = reg
        .search(&format!(
            "facet={}&facet={}",
            q("image.label:team=r*"),
            q("test.mode:o*")
        ))
        .await;
    assert_eq!(digests(&prefixed), vec![r.digest.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_by_repository_prefix_along_path_segments() {
    let (_dir, reg) = registry("ok").await;
    for repo in [
        "acme/one",
        "acme/two/deep",
        "acme",
        "acmex/three",
        "other/acme",
    ] {
        reg.push(repo, Some("v1"), &Art::test(repo))
            .await
            .resp
            .expect(201);
    }
    let hits = reg.search("facet=test.mode:ok&repository=acme").await;
    let mut got = repos(&hits);
    got.sort();
    assert_eq!(got, vec!["acme", "acme/one", "acme/two/deep"]);
    let hits = reg.search("facet=test.mode:ok&repository=acme/").await;
    let mut got = repos(&hits);
    got.sort();
    assert_eq!(got, vec!["acme", "acme/one", "acme/two/deep"]);
    let hits = reg.search("facet=test.mode:ok&repository=acme/two").await;
    assert_eq!(repos(&hits), vec!["acme/two/deep"]);
    // Without facets, repository alone filters all manifests.
    let hits = reg.search("repository=acmex").await;
    assert_eq!(repos(&hits), vec!["acmex/three"]);
    assert!(reg.search("repository=nowhere").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_by_artifact_type() {
    let (_dir, reg) = registry("ok").await;
    let a = reg
        .push(
            "types/a",
            Some("v1"),
            &Art::test("a").artifact_type(Some("application/vnd.arca.test.a")),
        )
        .await;
    a.resp.expect(201);
    let b = reg
        .push(
            "types/b",
            Some("v1"),
            &Art::test("b").artifact_type(Some("application/vnd.arca.test.b")),
        )
        .await;
    b.resp.expect(201);
    let hits = reg
        .search(&format!(
            "facet=test.mode:ok&artifactType={}",
            q("application/vnd.arca.test.a")
        ))
        .await;
    assert_eq!(digests(&hits), vec![a.digest.clone()]);
    assert_eq!(hits[0]["artifactType"], "application/vnd.arca.test.a");
    let hits = reg
        .search(&format!(
            "artifactType={}",
            q("application/vnd.arca.test.b")
        ))
        .await;
    assert_eq!(digests(&hits), vec![b.digest.clone()]);
    assert!(
        reg.search(&format!(
            "artifactType={}",
            q("application/vnd.arca.test.c")
        ))
        .await
        .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_with_n_and_last_and_a_link_to_the_next_page() {
    let (_dir, reg) = registry("ok").await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let repo = format!("paged/r{i}");
        let p = reg.push(&repo, Some("v1"), &Art::test(&repo)).await;
        p.resp.expect(201);
        expected.push((repo, p.digest));
    }
    expected.sort();

    let mut seen = Vec::new();
    let mut url = "/_arca/v1/search?facet=test.mode%3Aok&n=2".to_string();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 5, "search paging does not end");
        let r = reg.get(&url).await;
        r.expect(200);
        let hits = r.json()["results"].as_array().cloned().unwrap();
        assert!(hits.len() <= 2, "{}", r.dump());
        for h in &hits {
            seen.push((
                h["repository"].as_str().unwrap().to_string(),
                h["digest"].as_str().unwrap().to_string(),
            ));
        }
        match r.header("link") {
            Some(link) => {
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                let target = link
                    .strip_prefix('<')
                    .and_then(|l| l.split_once('>'))
                    .map(|(t, _)| t.to_string())
                    .unwrap_or_else(|| panic!("bad Link {link}"));
                assert!(target.starts_with("/_arca/v1/search?"), "{link}");
                assert!(target.contains("n=2"), "{link}");
                assert!(target.contains("last="), "{link}");
                url = target;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3, "5 results in pages of 2");
    assert_eq!(seen, expected);

    // `last` by hand: after the second result.
    let (r1, d1) = &expected[1];
    let hits = reg
        .search(&format!(
            "facet=test.mode:ok&n=10&last={}",
            q(&format!("{r1}@{d1}"))
        ))
        .await;
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["repository"], expected[2].0.as_str());
    // A full last page has no Link.
    let r = reg.get("/_arca/v1/search?facet=test.mode%3Aok&n=5").await;
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 5);
    assert_eq!(r.header("link"), None, "{}", r.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_parameters_are_400() {
    let (_dir, reg) = registry("ok").await;
    for query in ["facet=nocolon", "n=minus", "last=nodigest", "bogus=1"] {
        let r = reg.get(&format!("/_arca/v1/search?{query}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.dump());
        assert!(!r.message().is_empty(), "{}", r.dump());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_list_each_plugins_document_and_job_state() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("docs/one", Some("v1"), &Art::test("docs")).await;
    p.resp.expect(201);
    let r = reg.documents("docs/one", &p.digest).await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["repository"], "docs/one");
    assert_eq!(v["digest"], p.digest.as_str());
    let docs = v["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "only the test plugin handles it: {v}");
    let d = &docs[0];
    assert_eq!(d["plugin"], TEST_PLUGIN);
    assert_eq!(d["state"], "done");
    assert_eq!(
        d["document"],
        json!({ "mode": "ok", "tag": "v1", "calls": 1 })
    );
    assert!(d["error"].is_null(), "{d}");
    assert_eq!(d["attempts"], 1);

    // A manifest no plugin handles has no documents, but exists.
    let o = reg
        .push("docs/other", Some("v1"), &Art::other("other"))
        .await;
    o.resp.expect(201);
    let r = reg.documents("docs/other", &o.digest).await;
    r.expect(200);
    assert_eq!(r.json()["documents"], json!([]));

    // Unknown manifests and bad digests.
    let missing = sha256(b"missing");
    reg.documents("docs/one", &missing)
        .await
        .error(404, "MANIFEST_UNKNOWN");
    reg.documents("docs/nowhere", &p.digest)
        .await
        .error(404, "MANIFEST_UNKNOWN");
    let r = reg.documents("docs/one", "sha256:nothex").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_facets_make_the_subject_findable() {
    let (_dir, reg) = registry("ok").await;
    // The subject is something no plugin handles: all it is found by is what its
    // referrer's plugin says about it.
    let s = reg
        .push("signed/app", Some("v1"), &Art::other("subject"))
        .await;
    s.resp.expect(201);
    let referrer = Art::test("referrer").subject(&s.digest, s.size);
    let r = reg.push("signed/app", None, &referrer).await;
    r.resp.expect(201);
    assert_eq!(
        r.resp.header("oci-subject").as_deref(),
        Some(s.digest.as_str())
    );

    let hits = reg.search("facet=test.about-subject:yes").await;
    assert_eq!(digests(&hits), vec![s.digest.clone()], "{hits:?}");
    assert_eq!(hits[0]["repository"], "signed/app");
    assert_eq!(hits[0]["tags"], json!(["v1"]));
    assert_eq!(
        hits[0]["facets"],
        json!([{ "name": "test.about-subject", "value": "yes", "plugin": TEST_PLUGIN }])
    );
    // The referrer is found by its own facets, and names its subject.
    let hits = reg.search("facet=test.mode:ok").await;
    assert_eq!(digests(&hits), vec![r.digest.clone()]);
    assert_eq!(hits[0]["subject"], s.digest.as_str());
    // A subject that is not in the repository (yet) is not a hit.
    let dangling = reg
        .push(
            "signed/other",
            None,
            &Art::test("dangling").subject(&sha256(b"not pushed"), 10),
        )
        .await;
    dangling.resp.expect(201);
    let hits = reg.search("facet=test.about-subject:yes").await;
    assert_eq!(digests(&hits), vec![s.digest.clone()]);
}

// ---------------------------------------------------------------------------------------
// Pipeline: views
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_over_a_prefix_renders_the_documents_under_it() {
    let (_dir, reg) = registry("ok").await;
    let a = reg.push("team/a", Some("v1"), &Art::test("a")).await;
    a.resp.expect(201);
    let b = reg.push("team/b/deep", Some("v2"), &Art::test("b")).await;
    b.resp.expect(201);
    reg.push("teamster/c", Some("v1"), &Art::test("c"))
        .await
        .resp
        .expect(201);
    reg.push("elsewhere/d", Some("v1"), &Art::test("d"))
        .await
        .resp
        .expect(201);
    reg.push("team/e", Some("v1"), &Art::other("e"))
        .await
        .resp
        .expect(201);

    let r = reg.get("/_arca/v1/views/test-misbehave/team/echo").await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let v = r.json();
    assert_eq!(v["prefix"], "team");
    assert!(v["target"].is_null(), "{v}");
    let docs = v["documents"].as_array().unwrap();
    let mut got: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            (
                d["repository"].as_str().unwrap().to_string(),
                d["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("team/a".to_string(), a.digest.clone()),
            ("team/b/deep".to_string(), b.digest.clone())
        ],
        "{v}"
    );
    let deep = docs
        .iter()
        .find(|d| d["repository"] == "team/b/deep")
        .unwrap();
    assert_eq!(deep["tags"], json!(["v2"]));
    assert_eq!(
        deep["document"],
        json!({ "mode": "ok", "tag": "v2", "calls": 1 })
    );

    // A deeper prefix narrows.
    let v = reg
        .get("/_arca/v1/views/test-misbehave/team/b/echo")
        .await
        .json();
    assert_eq!(v["prefix"], "team/b");
    assert_eq!(v["documents"].as_array().unwrap().len(), 1, "{v}");
    // No prefix: every repository.
    let r = reg.get("/_arca/v1/views/test-misbehave/echo").await;
    r.expect(200);
    assert_eq!(r.json()["documents"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_one_manifest_renders_that_manifest() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("one/view", Some("v1"), &Art::test("one")).await;
    p.resp.expect(201);
    let r = reg
        .get(&format!(
            "/_arca/v1/repositories/one/view/manifests/{}/views/test-misbehave/echo",
            p.digest
        ))
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let v = r.json();
    assert_eq!(v["target"], p.digest.as_str(), "{v}");
    assert_eq!(v["prefix"], "one/view", "{v}");
    reg.get(&format!(
        "/_arca/v1/repositories/one/view/manifests/{}/views/test-misbehave/echo",
        sha256(b"absent")
    ))
    .await
    .error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_plugins_and_views_are_404() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("nf/x", Some("v1"), &Art::test("x")).await;
    p.resp.expect(201);
    for uri in [
        "/_arca/v1/views/no-such-plugin/nf/echo".to_string(),
        "/_arca/v1/views/test-misbehave/nf/no-such-view".to_string(),
        // `image` renders nothing.
        "/_arca/v1/views/image/nf/echo".to_string(),
        format!(
            "/_arca/v1/repositories/nf/x/manifests/{}/views/no-such-plugin/echo",
            p.digest
        ),
        format!(
            "/_arca/v1/repositories/nf/x/manifests/{}/views/test-misbehave/nope",
            p.digest
        ),
    ] {
        let r = reg.get(&uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.dump());
        assert!(r.json()["errors"][0]["code"].is_string(), "{}", r.dump());
    }
}

// ---------------------------------------------------------------------------------------
// Pipeline: reindex, failing indexers, delete
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_recreates_documents_with_the_current_settings() {
    let dir = tempfile::tempdir().unwrap();
    let first = Reg::open(config(dir.path(), plugin("ok"))).await;
    let a = first.push("re/a", Some("v1"), &Art::test("a")).await;
    a.resp.expect(201);
    let b = first.push("re/b", Some("v1"), &Art::test("b")).await;
    b.resp.expect(201);
    let o = first.push("other/c", Some("v1"), &Art::test("c")).await;
    o.resp.expect(201);
    assert_eq!(first.search("facet=test.mode:ok").await.len(), 3);
    drop(first);

    // Same data, new settings: "reject" only changes what `index` says (validation of
    // stored manifests does not run again).
    let reg = Reg::open(config(dir.path(), plugin("reject"))).await;
    assert_eq!(
        reg.search("facet=test.mode:ok").await.len(),
        3,
        "documents survive a restart"
    );
    let r = reg.post("/_arca/v1/admin/reindex?repository=re").await;
    r.expect(200);
    let summary = r.json();
    assert_eq!(summary["manifests"], 2, "{summary}");
    assert_eq!(summary["indexed"], 2, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    let mut got = repos(&reg.search("facet=test.mode:reject").await);
    got.sort();
    assert_eq!(got, vec!["re/a", "re/b"]);
    assert_eq!(
        repos(&reg.search("facet=test.mode:ok").await),
        vec!["other/c"]
    );
    let doc = reg.test_document("re/a", &a.digest).await.unwrap();
    assert_eq!(doc["document"]["mode"], "reject", "{doc}");
    assert_eq!(doc["attempts"], 2, "{doc}");

    let r = reg.post("/_arca/v1/admin/reindex").await;
    r.expect(200);
    let summary = r.json();
    assert_eq!(summary["manifests"], 3, "{summary}");
    assert_eq!(summary["indexed"], 3, "{summary}");
    assert!(reg.search("facet=test.mode:ok").await.is_empty());
    assert_eq!(reg.search("facet=test.mode:reject").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_drops_documents_of_a_plugin_that_no_longer_applies() {
    let dir = tempfile::tempdir().unwrap();
    let first = Reg::open(config(dir.path(), plugin("ok"))).await;
    let a = first.push("stale/a", Some("v1"), &Art::test("a")).await;
    a.resp.expect(201);
    drop(first);
    // Now the plugin is turned off for this repository: after a reindex, what it said
    // before should no longer be searchable.
    let mut pc = plugin("ok");
    pc.repositories.push(over("stale/**", Some(false), None));
    let reg = Reg::open(config(dir.path(), pc)).await;
    reg.post("/_arca/v1/admin/reindex").await.expect(200);
    let hits = reg.search("facet=test.mode:ok").await;
    assert!(
        hits.is_empty(),
        "after a reindex, a plugin that is off for the repository still has facets: {hits:?}"
    );
    let doc = reg.test_document("stale/a", &a.digest).await;
    assert_eq!(doc, None, "stale document after reindex");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_records_indexers_that_fail() {
    let dir = tempfile::tempdir().unwrap();
    let first = Reg::open(config(dir.path(), plugin("ok"))).await;
    let a = first.push("later/a", Some("v1"), &Art::test("a")).await;
    a.resp.expect(201);
    drop(first);
    let reg = Reg::open(config(dir.path(), plugin("panic"))).await;
    let r = reg.post("/_arca/v1/admin/reindex").await;
    r.expect(200);
    let summary = r.json();
    assert_eq!(summary["manifests"], 1, "{summary}");
    assert_eq!(summary["indexed"], 0, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    let doc = reg.test_document("later/a", &a.digest).await.unwrap();
    assert_eq!(doc["state"], "failed", "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("trapped"), "{doc}");
    // The manifest is still there.
    reg.get("/v2/later/a/manifests/v1").await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_indexer_never_loses_the_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("loop");
    // Let the looping validator fail open, so the looping indexer is reached.
    pc.on_error = OnError::Accept;
    let reg = Reg::open(config(dir.path(), pc)).await;
    let p = reg.push("keep/me", Some("v1"), &Art::test("keep")).await;
    p.resp.expect(201);
    assert_eq!(
        p.resp.header("docker-content-digest").as_deref(),
        Some(p.digest.as_str())
    );
    let m = reg.get("/v2/keep/me/manifests/v1").await;
    m.expect(200);
    assert_eq!(sha256(&m.body), p.digest);
    let doc = reg.test_document("keep/me", &p.digest).await.unwrap();
    assert_eq!(doc["state"], "failed", "{doc}");
    assert!(doc["document"].is_null(), "{doc}");
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{doc}");
    assert_eq!(doc["attempts"], 1, "{doc}");
    assert!(reg.search("facet=test.mode:loop").await.is_empty());
    // It is still listed by an unfiltered search for its repository.
    assert_eq!(
        digests(&reg.search("repository=keep/me").await),
        vec![p.digest.clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_repairs_a_failed_index_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("loop");
    pc.on_error = OnError::Accept;
    let first = Reg::open(config(dir.path(), pc)).await;
    let p = first.push("mend/a", Some("v1"), &Art::test("a")).await;
    p.resp.expect(201);
    let doc = first.test_document("mend/a", &p.digest).await.unwrap();
    assert_eq!(doc["state"], "failed", "{doc}");
    drop(first);

    let reg = Reg::open(config(dir.path(), plugin("ok"))).await;
    let r = reg.post("/_arca/v1/admin/reindex").await;
    r.expect(200);
    assert_eq!(r.json()["failed"], 0, "{}", r.dump());
    let doc = reg.test_document("mend/a", &p.digest).await.unwrap();
    assert_eq!(doc["state"], "done", "{doc}");
    assert!(doc["error"].is_null(), "{doc}");
    assert_eq!(doc["document"]["mode"], "ok", "{doc}");
    assert_eq!(
        digests(&reg.search("facet=test.mode:ok").await),
        vec![p.digest.clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_manifest_removes_its_documents_and_search_hits() {
    let (_dir, reg) = registry("ok").await;
    let s = reg
        .push("gone/app", Some("v1"), &Art::other("subject"))
        .await;
    s.resp.expect(201);
    let r = reg
        .push(
            "gone/app",
            Some("sig"),
            &Art::test("referrer").subject(&s.digest, s.size),
        )
        .await;
    r.resp.expect(201);
    let keep = reg.push("gone/kept", Some("v1"), &Art::test("kept")).await;
    keep.resp.expect(201);
    assert_eq!(reg.search("facet=test.mode:ok").await.len(), 2);
    assert_eq!(reg.search("facet=test.about-subject:yes").await.len(), 1);

    reg.delete(&format!("/v2/gone/app/manifests/{}", r.digest))
        .await
        .expect(202);
    assert_eq!(
        digests(&reg.search("facet=test.mode:ok").await),
        vec![keep.digest.clone()]
    );
    // What the deleted referrer said about its subject is gone too.
    assert!(reg.search("facet=test.about-subject:yes").await.is_empty());
    reg.documents("gone/app", &r.digest)
        .await
        .error(404, "MANIFEST_UNKNOWN");
    let v = reg
        .get("/_arca/v1/views/test-misbehave/gone/echo")
        .await
        .json();
    assert_eq!(repos(v["documents"].as_array().unwrap()), vec!["gone/kept"]);

    // Pushing it again indexes it again.
    let again = reg
        .push(
            "gone/app",
            Some("sig"),
            &Art::test("referrer").subject(&s.digest, s.size),
        )
        .await;
    again.resp.expect(201);
    assert_eq!(again.digest, r.digest);
    assert_eq!(reg.search("facet=test.mode:ok").await.len(), 2);
    assert_eq!(reg.search("facet=test.about-subject:yes").await.len(), 1);
    let doc = reg.test_document("gone/app", &r.digest).await.unwrap();
    assert_eq!(doc["attempts"], 1, "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_tag_keeps_the_documents() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("tagged/x", Some("v1"), &Art::test("x")).await;
    p.resp.expect(201);
    reg.delete("/v2/tagged/x/manifests/v1").await.expect(202);
    let hits = reg.search("facet=test.mode:ok").await;
    assert_eq!(digests(&hits), vec![p.digest.clone()]);
    assert_eq!(hits[0]["tags"], json!([]));
}

// ---------------------------------------------------------------------------------------
// The plugin list
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_listed_with_capabilities_digest_and_handles() {
    let (_dir, reg) = registry("ok").await;
    let r = reg.get("/_arca/v1/plugins").await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let v = r.json();
    let list = v["plugins"].as_array().unwrap();
    let find = |name: &str| {
        list.iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("plugin {name} is not listed: {v}"))
            .clone()
    };
    let image = find("image");
    assert_eq!(image["source"], "builtin", "{image}");
    assert_eq!(
        image["capabilities"],
        json!(["validate", "index"]),
        "{image}"
    );
    let handles: Vec<&str> = image["handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(handles.contains(&OCI_CONFIG), "{image}");
    assert!(
        handles.contains(&"application/vnd.oci.image.index.v1+json"),
        "{image}"
    );
    assert!(
        image["digest"].as_str().unwrap().starts_with("sha256:")
            && image["digest"].as_str().unwrap().len() == 71,
        "{image}"
    );
    assert!(!image["version"].as_str().unwrap().is_empty(), "{image}");
    assert_eq!(image["enabled"], true);

    let t = find(TEST_PLUGIN);
    let wasm = std::fs::read(TEST_PLUGIN_WASM).unwrap();
    assert_eq!(t["digest"], sha256(&wasm), "{t}");
    assert_eq!(t["version"], "0.1.0", "{t}");
    assert_eq!(
        t["capabilities"],
        json!(["validate", "index", "render"]),
        "{t}"
    );
    assert_eq!(t["handles"], json!(["application/vnd.arca.test.*"]), "{t}");
    assert_eq!(t["views"], json!(["echo"]), "{t}");
    assert_eq!(t["on_error"], "reject", "{t}");
    assert_eq!(t["deadline_ms"], DEADLINE_MS, "{t}");
    assert_eq!(t["memory_mib"], 128, "{t}");
    assert_eq!(t["enabled"], true, "{t}");
    assert_eq!(t["source"], TEST_PLUGIN_WASM, "{t}");
}

// ---------------------------------------------------------------------------------------
// Selection by media type
// ---------------------------------------------------------------------------------------

/// In mode "reject" the test plugin refuses every manifest it sees: a 400 proves it was
/// selected, a 201 that it was not.
async fn seen_by_the_test_plugin(reg: &Reg, repo: &str, art: &Art) -> bool {
    let p = reg.push(repo, Some("v1"), art).await;
    match p.resp.status.as_u16() {
        201 => false,
        400 => {
            let e = p.resp.error(400, "MANIFEST_INVALID");
            assert_eq!(e["detail"]["violations"][0]["plugin"], TEST_PLUGIN, "{e}");
            true
        }
        _ => panic!("{}", p.resp.dump()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_selected_by_artifact_type() {
    let (_dir, reg) = registry("reject").await;
    let art = Art::other("at").artifact_type(Some(TEST_TYPE));
    assert!(seen_by_the_test_plugin(&reg, "sel/at", &art).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_selected_by_config_media_type() {
    let (_dir, reg) = registry("reject").await;
    // No artifactType: the config media type says what it is.
    let art = Art::other("cfg")
        .artifact_type(None)
        .config(TEST_CONFIG, b"{}");
    assert!(seen_by_the_test_plugin(&reg, "sel/config", &art).await);
    // Also when an unrelated artifactType is set.
    let art = Art::other("cfg2").config(TEST_CONFIG, b"{}");
    assert!(seen_by_the_test_plugin(&reg, "sel/config2", &art).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_selected_by_a_layer_media_type() {
    let (_dir, reg) = registry("reject").await;
    // No artifactType, an empty config: only a layer says what it is.
    let art = Art::other("layer")
        .artifact_type(None)
        .layer(TEST_LAYER, b"payload");
    assert!(seen_by_the_test_plugin(&reg, "sel/layer", &art).await);
    // Among other layers.
    let mut art = Art::other("layers").artifact_type(None);
    art.layers = vec![
        (OTHER_LAYER.into(), b"one".to_vec()),
        (format!("{TEST_LAYER}.v1.tar+gzip"), b"two".to_vec()),
    ];
    assert!(seen_by_the_test_plugin(&reg, "sel/layers", &art).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_type_parameters_are_ignored_in_selection() {
    let (_dir, reg) = registry("reject").await;
    let art = Art::other("params").artifact_type(Some("application/vnd.arca.test.x;version=2"));
    assert!(seen_by_the_test_plugin(&reg, "sel/params-at", &art).await);
    let art = Art::other("params-config")
        .artifact_type(None)
        .config(&format!("{TEST_CONFIG}; charset=utf-8"), b"{}");
    assert!(seen_by_the_test_plugin(&reg, "sel/params-config", &art).await);
    let art = Art::other("params-layer")
        .artifact_type(None)
        .layer(&format!("{TEST_LAYER};version=2"), b"payload");
    assert!(seen_by_the_test_plugin(&reg, "sel/params-layer", &art).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_of_other_types_is_not_seen_by_the_plugin() {
    let (_dir, reg) = registry("reject").await;
    let art = Art::other("unseen").config(OTHER_CONFIG, b"{}");
    assert!(!seen_by_the_test_plugin(&reg, "sel/other", &art).await);
    // A near miss: the prefix without its dot, and the type in an annotation only.
    let mut art = Art::other("near")
        .artifact_type(Some("application/vnd.arca.testing"))
        .layer("application/vnd.arca.tes", b"x");
    art.note = TEST_TYPE.into();
    assert!(!seen_by_the_test_plugin(&reg, "sel/near", &art).await);
    let p = reg
        .push("sel/other2", Some("v2"), &Art::other("unseen2"))
        .await;
    p.resp.expect(201);
    assert_eq!(reg.test_document("sel/other2", &p.digest).await, None);
}

// ---------------------------------------------------------------------------------------
// Per-plugin configuration
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_settings_reach_the_plugin() {
    let (_dir, reg) = registry("ok").await;
    let p = reg.push("set/ok", Some("v1"), &Art::test("ok")).await;
    p.resp.expect(201);
    let doc = reg.test_document("set/ok", &p.digest).await.unwrap();
    assert_eq!(doc["document"]["mode"], "ok");

    // No settings at all: the plugin's default ("ok").
    let dir = tempfile::tempdir().unwrap();
    let reg = Reg::open(config(dir.path(), PluginConfig::default())).await;
    let p = reg.push("set/none", Some("v1"), &Art::test("none")).await;
    p.resp.expect(201);
    let doc = reg.test_document("set/none", &p.digest).await.unwrap();
    assert_eq!(doc["document"]["mode"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_star_override_applies_within_one_path_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("ok");
    pc.repositories.push(over("team/*", None, Some("reject")));
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert!(seen_by_the_test_plugin(&reg, "team/a", &Art::test("a")).await);
    let deep = reg.push("team/a/b", Some("v1"), &Art::test("deep")).await;
    deep.resp.expect(201);
    let doc = reg.test_document("team/a/b", &deep.digest).await.unwrap();
    assert_eq!(doc["document"]["mode"], "ok");
    reg.push("team", Some("v1"), &Art::test("team"))
        .await
        .resp
        .expect(201);
    reg.push("teams/a", Some("v1"), &Art::test("teams"))
        .await
        .resp
        .expect(201);
    reg.push("other/team/a", Some("v1"), &Art::test("other"))
        .await
        .resp
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_star_override_spans_path_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("ok");
    pc.repositories.push(over("team/**", None, Some("reject")));
    pc.repositories
        .push(over("**/strict", None, Some("reject")));
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert!(seen_by_the_test_plugin(&reg, "team/a", &Art::test("a")).await);
    assert!(seen_by_the_test_plugin(&reg, "team/a/b/c", &Art::test("abc")).await);
    assert!(seen_by_the_test_plugin(&reg, "x/y/strict", &Art::test("strict")).await);
    reg.push("teams/a", Some("v1"), &Art::test("teams"))
        .await
        .resp
        .expect(201);
    reg.push("x/strictly", Some("v1"), &Art::test("strictly"))
        .await
        .resp
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_overrides_merge_over_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("reject");
    pc.repositories.push(over("lab/**", None, Some("ok")));
    pc.repositories
        .push(over("lab/strict/*", None, Some("reject")));
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert!(seen_by_the_test_plugin(&reg, "prod/a", &Art::test("p")).await);
    reg.push("lab/a", Some("v1"), &Art::test("lab"))
        .await
        .resp
        .expect(201);
    assert!(seen_by_the_test_plugin(&reg, "lab/strict/a", &Art::test("s")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_can_turn_the_plugin_off_for_matching_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("reject");
    pc.repositories.push(over("sandbox/**", Some(false), None));
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert!(seen_by_the_test_plugin(&reg, "prod/app", &Art::test("prod")).await);
    let p = reg.push("sandbox/a/b", Some("v1"), &Art::test("off")).await;
    p.resp.expect(201);
    // Off means off for indexing too.
    assert_eq!(reg.test_document("sandbox/a/b", &p.digest).await, None);
    let r = reg.get("/_arca/v1/views/test-misbehave/sandbox/echo").await;
    assert!(
        r.status == StatusCode::NOT_FOUND
            || r.json()["documents"].as_array().is_some_and(Vec::is_empty),
        "{}",
        r.dump()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_can_turn_a_disabled_plugin_on_for_matching_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("reject");
    pc.enabled = false;
    pc.repositories.push(over("strict/**", Some(true), None));
    let reg = Reg::open(config(dir.path(), pc)).await;
    let p = reg.push("lax/app", Some("v1"), &Art::test("lax")).await;
    p.resp.expect(201);
    assert_eq!(reg.test_document("lax/app", &p.digest).await, None);
    assert!(seen_by_the_test_plugin(&reg, "strict/app", &Art::test("strict")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_plugin_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = configured("reject");
    pc.enabled = false;
    let reg = Reg::open(config(dir.path(), pc)).await;
    let p = reg.push("off/app", Some("v1"), &Art::test("off")).await;
    p.resp.expect(201);
    assert_eq!(reg.test_document("off/app", &p.digest).await, None);
    let v = reg.get("/_arca/v1/plugins").await.json();
    let t = v["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == TEST_PLUGIN)
        .cloned()
        .unwrap();
    assert_eq!(t["enabled"], false, "{t}");
}

// ---------------------------------------------------------------------------------------
// The built-in image plugin
// ---------------------------------------------------------------------------------------

fn image(config: &Value, layer: &[u8]) -> Art {
    Art {
        artifact_type: None,
        config_type: Some(OCI_CONFIG.into()),
        config: Some(config.to_string().into_bytes()),
        layers: vec![(OCI_LAYER.into(), layer.to_vec())],
        subject: None,
        note: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_plugin_indexes_platform_and_labels() {
    let (_dir, reg) = registry("ok").await;
    let cfg = json!({
        "architecture": "arm64", "os": "linux", "variant": "v8",
        "created": "2026-01-02T03:04:05Z",
        "config": { "Labels": { "org.opencontainers.image.vendor": "Example", "tier": "web" } },
        "rootfs": { "type": "layers", "diff_ids": [sha256(b"layer-uncompressed")] },
        "history": [{ "created_by": "test" }]
    });
    let p = reg
        .push("images/web", Some("1.0"), &image(&cfg, b"layer bytes"))
        .await;
    p.resp.expect(201);
    let hits = reg
        .search(&format!("facet={}", q("image.platform:linux/arm64/v8")))
        .await;
    assert_eq!(digests(&hits), vec![p.digest.clone()]);
    assert_eq!(hits[0]["tags"], json!(["1.0"]));
    assert_eq!(hits[0]["artifactType"], OCI_CONFIG);
    let hits = reg
        .search(&format!("facet={}", q("image.label:tier=web")))
        .await;
    assert_eq!(digests(&hits), vec![p.digest.clone()]);
    let hits = reg
        .search(&format!(
            "facet={}&facet={}",
            q("image.label:org.opencontainers.image.vendor=Example"),
            q("image.platform:linux/*")
        ))
        .await;
    assert_eq!(digests(&hits), vec![p.digest.clone()]);
    assert!(
        reg.search(&format!("facet={}", q("image.platform:linux/amd64")))
            .await
            .is_empty()
    );
    let docs = reg.documents("images/web", &p.digest).await.json();
    let d = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["plugin"] == "image")
        .cloned()
        .unwrap();
    assert_eq!(d["state"], "done", "{d}");
    assert_eq!(d["document"]["platform"], "linux/arm64/v8", "{d}");
    assert_eq!(d["document"]["layers"], 1, "{d}");
    assert_eq!(d["document"]["labels"]["tier"], "web", "{d}");
    // The test plugin does not handle plain images.
    assert_eq!(reg.test_document("images/web", &p.digest).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_plugin_indexes_the_platforms_of_an_image_index() {
    let (_dir, reg) = registry("ok").await;
    let mut entries = Vec::new();
    for (arch, variant) in [("amd64", None), ("arm64", Some("v8"))] {
        let mut cfg = json!({ "architecture": arch, "os": "linux" });
        if let Some(v) = variant {
            cfg["variant"] = json!(v);
        }
        let p = reg
            .push("multi/app", None, &image(&cfg, arch.as_bytes()))
            .await;
        p.resp.expect(201);
        let mut platform = json!({ "architecture": arch, "os": "linux" });
        if let Some(v) = variant {
            platform["variant"] = json!(v);
        }
        entries.push(json!({
            "mediaType": OCI_MANIFEST, "digest": p.digest, "size": p.size, "platform": platform
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    let r = reg.put_manifest("multi/app", "latest", &index).await;
    r.expect(201);
    let index_digest = r.header("docker-content-digest").unwrap();
    let hits = reg
        .search(&format!(
            "facet={}&facet={}",
            q("image.kind:index"),
            q("image.platform:linux/arm64/v8")
        ))
        .await;
    assert_eq!(digests(&hits), vec![index_digest.clone()]);
    assert_eq!(hits[0]["tags"], json!(["latest"]));
    // The arm64 image itself and the index both run on linux/arm64/v8.
    let hits = reg
        .search(&format!("facet={}", q("image.platform:linux/arm64/v8")))
        .await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    // An index entry whose platform has an os that is not a string is refused.
    let mut bad = index.clone();
    bad["manifests"][0]["platform"]["os"] = json!(7);
    let r = reg.put_manifest("multi/app", "bad", &bad).await;
    let e = r.error(400, "MANIFEST_INVALID");
    assert_eq!(
        e["detail"]["violations"][0]["path"], "/manifests/0/platform/os",
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_plugin_refuses_a_config_whose_os_is_not_a_string() {
    let (_dir, reg) = registry("ok").await;
    let cfg = json!({ "architecture": "amd64", "os": 5 });
    let p = reg
        .push("images/bad", Some("1.0"), &image(&cfg, b"x"))
        .await;
    let e = p.resp.error(400, "MANIFEST_INVALID");
    let v = &e["detail"]["violations"][0];
    assert_eq!(v["plugin"], "image", "{e}");
    assert_eq!(v["path"], "config:/os", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.starts_with("image: config:/os: "), "{message}");
    reg.get("/v2/images/bad/manifests/1.0")
        .await
        .error(404, "MANIFEST_UNKNOWN");
    // The same image with a string `os` is fine.
    let cfg = json!({ "architecture": "amd64", "os": "linux" });
    reg.push("images/bad", Some("1.0"), &image(&cfg, b"x"))
        .await
        .resp
        .expect(201);
}

// ---------------------------------------------------------------------------------------
// The core stays generic
// ---------------------------------------------------------------------------------------

/// The literal alternatives of the regex
/// `vnd\.cncf\.helm|cyclonedx|spdx|vnd\.dev\.cosign|dev\.sigstore|notary|application/wasm|vnd\.wasm`.
const TYPE_SPECIFIC: &[&str] = &[
    "vnd.cncf.helm",
    "cyclonedx",
    "spdx",
    "vnd.dev.cosign",
    "dev.sigstore",
    "notary",
    "application/wasm",
    "vnd.wasm",
];

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_core_names_no_specific_artifact_type() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    files_under(&src, &mut files);
    assert!(
        files.len() >= 10,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    let mut found = Vec::new();
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        for (n, line) in text.lines().enumerate() {
            for needle in TYPE_SPECIFIC {
                if line.contains(needle) {
                    found.push(format!("{}:{}: {needle}: {line}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "host/src names specific artifact types; that belongs in a plugin:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_generic_check_would_catch_a_type_specific_name() {
    for sample in [
        "application/vnd.cncf.helm.config.v1+json",
        "application/vnd.cyclonedx+json",
        "application/spdx+json",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.cncf.notary.signature",
        "application/wasm",
        "application/vnd.wasm.config.v0+json",
    ] {
        assert!(TYPE_SPECIFIC.iter().any(|n| sample.contains(n)), "{sample}");
    }
    // Case-sensitive, like the regex.
    assert!(!TYPE_SPECIFIC.iter().any(|n| "CycloneDX".contains(n)));
}

// ---------------------------------------------------------------------------------------
// Run-time switches
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_switched_off_at_run_time_is_off_for_every_replica_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Reg::open(config(dir.path(), plugin("reject"))).await;
    // A second registry on the same metadata: another replica.
    let replica = Reg::open(config(dir.path(), plugin("reject"))).await;
    reg.push("sw/a", Some("v1"), &Art::test("before"))
        .await
        .resp
        .error(400, "MANIFEST_INVALID");

    let off = reg
        .send(
            Method::PUT,
            &format!("/_arca/v1/admin/plugins/{TEST_PLUGIN}"),
            Some("application/json"),
            br#"{"enabled": false}"#.to_vec(),
        )
        .await;
    off.expect(200);
    assert_eq!(off.json()["enabled"], false, "{}", off.dump());
    assert_eq!(off.json()["switched"], true, "{}", off.dump());
    reg.push("sw/a", Some("v2"), &Art::test("off"))
        .await
        .resp
        .expect(201);

    // The replica picks the switch up on its next refresh (every 30 s; forced here).
    let listed = replica.get("/_arca/v1/plugins").await;
    let before_refresh = listed.json()["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == TEST_PLUGIN)
        .unwrap()["enabled"]
        .clone();
    assert_eq!(before_refresh, true, "the replica has not refreshed yet");
    let replica2 = Reg::open(config(dir.path(), plugin("reject"))).await;
    replica2
        .push("sw/b", Some("v1"), &Art::test("replica"))
        .await
        .resp
        .expect(201);

    reg.send(
        Method::PUT,
        &format!("/_arca/v1/admin/plugins/{TEST_PLUGIN}"),
        Some("application/json"),
        br#"{"enabled": null}"#.to_vec(),
    )
    .await
    .expect(200);
    reg.push("sw/a", Some("v3"), &Art::test("reset"))
        .await
        .resp
        .error(400, "MANIFEST_INVALID");
    reg.send(
        Method::PUT,
        "/_arca/v1/admin/plugins/no-such-plugin",
        Some("application/json"),
        br#"{"enabled": false}"#.to_vec(),
    )
    .await
    .error(404, "NAME_UNKNOWN");
}

// ---------------------------------------------------------------------------------------
// Warm instances
// ---------------------------------------------------------------------------------------

/// The `test.calls` facet counts index calls made in the instance that served the call.
async fn calls_seen(reg: &Reg, repo: &str, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for i in 0..n {
        let p = reg
            .push(
                repo,
                Some(&format!("v{i}")),
                &Art::test(&format!("warm{i}")),
            )
            .await;
        p.resp.expect(201);
        let doc = reg
            .test_document(repo, &p.digest)
            .await
            .expect("a test document");
        seen.push(doc["document"]["calls"].to_string());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_instance_serves_every_call_by_default() {
    let (_dir, reg) = registry("ok").await;
    assert_eq!(calls_seen(&reg, "warm/fresh", 3).await, ["1", "1", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_instances_are_reused_for_at_most_warm_calls_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("ok");
    // Each push makes two calls (validate, then index): an instance serves two pushes' worth
    // of index calls before it is replaced.
    pc.warm_calls = Some(4);
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert_eq!(
        calls_seen(&reg, "warm/reused", 4).await,
        ["1", "2", "1", "2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_instance_that_traps_is_thrown_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("ok");
    pc.warm_calls = Some(100);
    pc.repositories.push(over("boom/**", None, Some("panic")));
    let reg = Reg::open(config(dir.path(), pc)).await;
    assert_eq!(calls_seen(&reg, "warm/a", 2).await, ["1", "2"]);
    reg.push("boom/x", Some("v1"), &Art::test("boom"))
        .await
        .resp
        .error(400, "MANIFEST_INVALID");
    // The instance that panicked is gone; the next call starts from a fresh one.
    assert_eq!(calls_seen(&reg, "warm/b", 1).await, ["1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_over_the_plugins_output_cap_is_a_failed_index_job_not_a_lost_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut pc = plugin("ok");
    pc.max_output_bytes = Some(16);
    let reg = Reg::open(config(dir.path(), pc)).await;
    let p = reg.push("cap/out", Some("v1"), &Art::test("big")).await;
    p.resp.expect(201);
    let doc = reg
        .test_document("cap/out", &p.digest)
        .await
        .expect("a job entry");
    assert_eq!(doc["state"], "failed", "{doc}");
    let error = doc["error"].as_str().unwrap_or("");
    assert!(error.contains("output limit of 16"), "{doc}");
    reg.get(&format!("/v2/cap/out/manifests/{}", p.digest))
        .await
        .expect(200);
}

// ---------------------------------------------------------------------------------------
// Downloads under a file name
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_blob_downloads_under_a_file_name_for_views_to_link_to() {
    let (_dir, reg) = registry("ok").await;
    let data = b"chart bytes, or any blob".to_vec();
    let d = reg.push_blob("files/app", &data).await;
    let r = reg
        .get(&format!(
            "/_arca/v1/repositories/files/app/blobs/{d}/app-1.0.0.tgz"
        ))
        .await;
    r.expect(200);
    assert_eq!(&r.body[..], &data[..]);
    assert_eq!(
        r.header("content-disposition").as_deref(),
        Some("attachment; filename=\"app-1.0.0.tgz\"")
    );
    assert_eq!(
        r.header("docker-content-digest").as_deref(),
        Some(d.as_str())
    );
    // The name cannot smuggle anything into the header or the path.
    reg.get(&format!(
        "/_arca/v1/repositories/files/app/blobs/{d}/.hidden"
    ))
    .await
    .error(400, "UNSUPPORTED");
    reg.get(&format!("/_arca/v1/repositories/files/app/blobs/{d}/a%22b"))
        .await
        .error(400, "UNSUPPORTED");
    // Only blobs of that repository.
    reg.get(&format!(
        "/_arca/v1/repositories/other/app/blobs/{d}/app.tgz"
    ))
    .await
    .error(404, "BLOB_UNKNOWN");
    reg.get("/_arca/v1/repositories/files/app/blobs/sha256:nothex/app.tgz")
        .await
        .error(400, "DIGEST_INVALID");
}

// ---------------------------------------------------------------------------------------
// Policies over facets
// ---------------------------------------------------------------------------------------

/// A registry where, under `prod/**`, a manifest may be pulled or tagged only when a
/// referrer said `test.about-subject=yes` about it (the test plugin's stand-in for "signed");
/// the test artifacts themselves (facet `test.mode`) are exempt, like signatures would be.
async fn policed(rule: Value) -> (tempfile::TempDir, Reg) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), plugin("ok"));
    cfg.policy
        .push(serde_json::from_value(rule).expect("policy rule parses"));
    (dir, Reg::open(cfg).await)
}

fn signed_rule() -> Value {
    json!({
        "name": "prod-signed",
        "repositories": ["prod/**"],
        "require": [{ "facet": "test.about-subject", "value": "yes" }],
        "unless": [{ "facet": "test.mode", "value": "*" }]
    })
}

#[tokio::test]
async fn a_policy_refuses_pull_and_tag_until_a_referrer_supplies_the_facet() {
    let (_dir, reg) = policed(signed_rule()).await;
    let image = reg.push("prod/app", None, &Art::other("image")).await;
    image.resp.expect(201);
    let by_digest = format!("/v2/prod/app/manifests/{}", image.digest);

    let e = reg.get(&by_digest).await.error(403, "DENIED");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("\"prod-signed\""), "{e}");
    assert!(msg.contains("test.about-subject=yes"), "{e}");
    assert_eq!(e["detail"]["action"], "pull");
    reg.send(Method::HEAD, &by_digest, None, Vec::new())
        .await
        .expect(403);
    // Tagging it is refused too, and the tag is not created.
    let e = reg
        .push("prod/app", Some("1.0"), &Art::other("image"))
        .await
        .resp
        .error(403, "DENIED");
    assert_eq!(e["detail"]["action"], "tag");
    reg.get("/v2/prod/app/tags/list").await.expect(200);
    assert!(
        reg.get("/v2/prod/app/tags/list").await.json()["tags"]
            .as_array()
            .is_none_or(|t| t.is_empty())
    );

    // Outside prod/** nothing changes.
    let elsewhere = reg.push("dev/app", Some("1.0"), &Art::other("image")).await;
    elsewhere.resp.expect(201);
    reg.get("/v2/dev/app/manifests/1.0").await.expect(200);

    // The "signature" arrives: exempt itself, and it makes the image comply at once.
    let sig = reg
        .push(
            "prod/app",
            None,
            &Art::test("signature").subject(&image.digest, image.size),
        )
        .await;
    sig.resp.expect(201);
    reg.get(&format!("/v2/prod/app/manifests/{}", sig.digest))
        .await
        .expect(200);
    // Exempt by the facets its own indexing gives it, even pushed by tag (as cosign pushes
    // its `sha256-<hex>.sig` tags): judged before the commit, with the pending facets.
    reg.push(
        "prod/app",
        Some("sha256-abc.sig"),
        &Art::test("tagged signature").subject(&sha256(b"another image"), 100),
    )
    .await
    .resp
    .expect(201);
    reg.get(&by_digest).await.expect(200);
    reg.push("prod/app", Some("1.0"), &Art::other("image"))
        .await
        .resp
        .expect(201);
    reg.get("/v2/prod/app/manifests/1.0").await.expect(200);

    // Deleting the signature takes the compliance away again.
    reg.delete(&format!("/v2/prod/app/manifests/{}", sig.digest))
        .await
        .expect(202);
    reg.get("/v2/prod/app/manifests/1.0")
        .await
        .error(403, "DENIED");
}

#[tokio::test]
async fn a_platform_manifest_complies_through_the_index_that_lists_it() {
    let (_dir, reg) = policed(signed_rule()).await;
    let child = reg.push("prod/multi", None, &Art::other("amd64")).await;
    child.resp.expect(201);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{ "mediaType": OCI_MANIFEST, "digest": child.digest, "size": child.size,
                        "platform": { "os": "linux", "architecture": "amd64" } }]
    });
    let index_digest = sha256(&serde_json::to_vec(&index).unwrap());
    reg.put_manifest("prod/multi", &index_digest, &index)
        .await
        .expect(201);
    let child_uri = format!("/v2/prod/multi/manifests/{}", child.digest);
    reg.get(&child_uri).await.error(403, "DENIED");
    // Sign the index, not the platform manifest: pulling the child by digest is allowed.
    let index_size = serde_json::to_vec(&index).unwrap().len();
    reg.push(
        "prod/multi",
        None,
        &Art::test("signature").subject(&index_digest, index_size),
    )
    .await
    .resp
    .expect(201);
    reg.get(&format!("/v2/prod/multi/manifests/{index_digest}"))
        .await
        .expect(200);
    reg.get(&child_uri).await.expect(200);
}

#[tokio::test]
async fn a_policy_can_look_at_the_referrers_own_facets_and_guard_only_tags() {
    let (_dir, reg) = policed(json!({
        "name": "tagged-needs-referrer",
        "repositories": ["rel/*"],
        "actions": ["tag"],
        "require_any": [
            { "facet": "test.mode", "value": "ok", "on": "referrer" },
            { "facet": "no.such", "value": "x" }
        ]
    }))
    .await;
    let image = reg.push("rel/app", None, &Art::other("image")).await;
    image.resp.expect(201);
    // Pulls are not guarded by this rule.
    reg.get(&format!("/v2/rel/app/manifests/{}", image.digest))
        .await
        .expect(200);
    let e = reg
        .push("rel/app", Some("v1"), &Art::other("image"))
        .await
        .resp
        .error(403, "DENIED");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("one of (test.mode=ok on a referrer, no.such=x)"),
        "{e}"
    );
    reg.push(
        "rel/app",
        None,
        &Art::test("attestation").subject(&image.digest, image.size),
    )
    .await
    .resp
    .expect(201);
    reg.push("rel/app", Some("v1"), &Art::other("image"))
        .await
        .resp
        .expect(201);
}

#[test]
fn a_policy_without_requirements_or_with_a_bad_glob_is_refused_at_start() {
    let rule =
        |v: Value| -> arca::registry::policy::PolicyRule { serde_json::from_value(v).unwrap() };
    let err = arca::registry::policy::Policies::new(&[rule(json!({
        "name": "empty", "repositories": ["a/**"]
    }))])
    .err()
    .unwrap();
    assert!(err.to_string().contains("requires nothing"), "{err}");
    let err = arca::registry::policy::Policies::new(&[rule(json!({
        "name": "glob", "repositories": ["a/[**"], "require": [{"facet": "x", "value": "y"}]
    }))])
    .err()
    .unwrap();
    assert!(err.to_string().contains("bad repository pattern"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Well-known documents
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn configured_well_known_documents_are_served_with_the_host_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.plugins.builtin = false;
    cfg.well_known.push(
        serde_json::from_value(json!({
            "path": "example/registry.json",
            "body": "{\"registry\":\"{host}\",\"prefix\":\"pkgs/\"}"
        }))
        .unwrap(),
    );
    let reg = Reg::open(cfg).await;
    let r = reg.get("/.well-known/example/registry.json").await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    // `Reg::send` sends `host: registry.test`.
    assert_eq!(
        r.json(),
        json!({"registry": "registry.test", "prefix": "pkgs/"})
    );
    reg.get("/.well-known/other.json")
        .await
        .error(404, "NAME_UNKNOWN");
}

// ---------------------------------------------------------------------------------------
// Plugins installed from OCI artifacts
// ---------------------------------------------------------------------------------------

const EXAMPLE_WASM: &str = env!("ARCA_EXAMPLE_REQUIRED_ANNOTATIONS_WASM");
const PLUGIN_LAYER: &str = "application/vnd.example.plugin.component";

/// A registry with no plugin loaded, where `required-annotations` (once installed) wants
/// `org.example.owner` on every manifest.
fn install_config(dir: &Path) -> Config {
    let mut cfg = Config::with_data_dir(dir);
    cfg.plugins.builtin = false;
    let mut pc = PluginConfig::default();
    pc.settings
        .insert("required".into(), json!(["org.example.owner"]));
    cfg.plugin.insert("required-annotations".into(), pc);
    cfg
}

/// Push the example plugin as an artifact whose one layer is the component.
async fn push_plugin(reg: &Reg, repo: &str, tag: &str) -> Pushed {
    let wasm = std::fs::read(EXAMPLE_WASM).unwrap();
    let p = reg
        .push(
            repo,
            Some(tag),
            &Art::other("plugin").layer(PLUGIN_LAYER, &wasm),
        )
        .await;
    p.resp.expect(201);
    p
}

async fn install(reg: &Reg, reference: &str) -> Resp {
    reg.send(
        Method::POST,
        "/_arca/v1/admin/plugins",
        Some("application/json"),
        json!({ "reference": reference }).to_string().into_bytes(),
    )
    .await
}

async fn loaded_names(reg: &Reg) -> Vec<(String, String)> {
    let r = reg.get("/_arca/v1/plugins").await;
    r.expect(200);
    r.json()["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["source"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_plugin_installed_from_this_registry_is_active_at_once_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pushed = {
        let reg = Reg::open(install_config(dir.path())).await;
        let pushed = push_plugin(&reg, "plugins/required", "1.0").await;
        // Before: anything goes.
        reg.push("apps/one", Some("a"), &Art::other("before"))
            .await
            .resp
            .expect(201);

        let r = install(&reg, "plugins/required:1.0").await;
        r.expect(201);
        let desc = r.json();
        assert_eq!(desc["name"], "required-annotations", "{desc}");
        // Pinned: the source names the manifest digest, not the tag.
        assert_eq!(
            desc["source"],
            format!("oci:plugins/required@{}", pushed.digest)
        );
        assert_eq!(
            desc["digest"],
            sha256(&std::fs::read(EXAMPLE_WASM).unwrap())
        );

        // The next push is checked by it, without a restart.
        let e = reg
            .push("apps/one", Some("b"), &Art::other("after"))
            .await
            .resp
            .error(400, "MANIFEST_INVALID");
        assert!(
            e["message"].as_str().unwrap().contains("org.example.owner"),
            "{e}"
        );
        pushed
    };

    // A restart loads it again, from the blob store.
    let reg = Reg::open(install_config(dir.path())).await;
    assert_eq!(
        loaded_names(&reg).await,
        vec![(
            "required-annotations".to_string(),
            format!("oci:plugins/required@{}", pushed.digest)
        )]
    );
    reg.push("apps/one", Some("c"), &Art::other("restarted"))
        .await
        .resp
        .error(400, "MANIFEST_INVALID");

    // Removed: gone at once, and after a restart.
    reg.delete("/_arca/v1/admin/plugins/required-annotations")
        .await
        .expect(204);
    reg.push("apps/one", Some("d"), &Art::other("removed"))
        .await
        .resp
        .expect(201);
    reg.delete("/_arca/v1/admin/plugins/required-annotations")
        .await
        .error(404, "NAME_UNKNOWN");
    drop(reg);
    let reg = Reg::open(install_config(dir.path())).await;
    assert!(loaded_names(&reg).await.is_empty());
}

#[tokio::test]
async fn installing_refuses_what_is_not_a_plugin_artifact_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Reg::open(install_config(dir.path())).await;
    reg.push(
        "plugins/junk",
        Some("1"),
        &Art::other("junk").layer(PLUGIN_LAYER, b"\0asm not really"),
    )
    .await
    .resp
    .expect(201);
    let e = install(&reg, "plugins/junk:1")
        .await
        .error(400, "MANIFEST_INVALID");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a loadable plugin component"),
        "{e}"
    );
    install(&reg, "plugins/missing:1")
        .await
        .error(404, "MANIFEST_UNKNOWN");
    install(&reg, "plugins/junk")
        .await
        .error(400, "NAME_INVALID");
    // Two layers: which one would be the component?
    let wasm = std::fs::read(EXAMPLE_WASM).unwrap();
    let mut art = Art::other("two").layer(PLUGIN_LAYER, &wasm);
    art.layers.push((PLUGIN_LAYER.into(), b"second".to_vec()));
    reg.push("plugins/two", Some("1"), &art)
        .await
        .resp
        .expect(201);
    let e = install(&reg, "plugins/two:1")
        .await
        .error(400, "MANIFEST_INVALID");
    assert!(
        e["message"].as_str().unwrap().contains("exactly one layer"),
        "{e}"
    );
    // A configured plugin is not removable, only switchable.
    let dir2 = tempfile::tempdir().unwrap();
    let reg2 = Reg::open(config(dir2.path(), plugin("ok"))).await;
    let e = reg2
        .delete(&format!("/_arca/v1/admin/plugins/{TEST_PLUGIN}"))
        .await
        .error(400, "UNSUPPORTED");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("arca plugin disable"),
        "{e}"
    );
}

#[tokio::test]
async fn installing_from_a_repository_obeys_the_install_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = install_config(dir.path());
    cfg.policy.push(
        serde_json::from_value(json!({
            "name": "plugins-reviewed",
            "repositories": ["plugins/**"],
            "actions": ["install"],
            "require": [{ "facet": "review.approved", "value": "true" }]
        }))
        .unwrap(),
    );
    let reg = Reg::open(cfg).await;
    push_plugin(&reg, "plugins/required", "1.0").await;
    let e = install(&reg, "plugins/required:1.0")
        .await
        .error(403, "DENIED");
    assert!(
        e["message"].as_str().unwrap().contains("plugins-reviewed"),
        "{e}"
    );
    assert!(loaded_names(&reg).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_installs_from_another_registry_pinned_and_verified() {
    // The other registry, on a real loopback port.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Reg::open(install_config(other_dir.path())).await;
    let pushed = push_plugin(&other, "acme/required", "2.0").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = other.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile::tempdir().unwrap();
    let reg = Reg::open(install_config(dir.path())).await;
    // A pin that does not match what the registry serves is refused.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let e = install(&reg, &format!("{addr}/acme/required@{wrong}"))
        .await
        .error(400, "MANIFEST_INVALID");
    assert!(e["message"].as_str().unwrap().contains("404"), "{e}");

    let r = install(&reg, &format!("{addr}/acme/required:2.0")).await;
    r.expect(201);
    assert_eq!(
        r.json()["source"],
        format!("oci:{addr}/acme/required@{}", pushed.digest)
    );
    reg.push("apps/x", Some("1"), &Art::other("x"))
        .await
        .resp
        .error(400, "MANIFEST_INVALID");
    // Kept locally: a restart does not need the other registry.
    drop(reg);
    let reg = Reg::open(install_config(dir.path())).await;
    assert_eq!(loaded_names(&reg).await.len(), 1);
}

#[tokio::test]
async fn a_manifest_described_by_several_referrers_is_one_search_hit() {
    let (_dir, reg) = registry("ok").await;
    let image = reg.push("dedup/app", Some("1"), &Art::other("image")).await;
    image.resp.expect(201);
    for note in ["first sbom", "second sbom", "third sbom"] {
        reg.push(
            "dedup/app",
            None,
            &Art::test(note).subject(&image.digest, image.size),
        )
        .await
        .resp
        .expect(201);
    }
    let hits = reg.search("facet=test.about-subject:yes").await;
    assert_eq!(digests(&hits), vec![image.digest.clone()], "{hits:?}");
}
