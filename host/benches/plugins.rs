//! The plugin call path and its cost on a manifest PUT.
//!
//! - `plugin_call/validate`: a fresh instance from the pre-instantiated component plus a
//!   trivial `validate`, through the same path a push takes (semaphore, blocking pool).
//! - `manifest_put/{no_plugin,trivial_plugin}`: a manifest PUT through the router with no
//!   plugin selected, and with a trivial validating + indexing plugin selected.
//!
//! Run: `cargo bench -p arca --bench plugins`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt;

use arca::config::{Config, PluginConfig};
use arca::plugins::{BlobSource, ManifestInput, PluginHost};

const TEST_TYPE: &str = "application/vnd.arca.test.bench";

struct NoBlobs;
impl BlobSource for NoBlobs {
    fn open(&self, digest: &str) -> Result<(u64, Box<dyn std::io::Read + Send>), String> {
        Err(format!("no blob {digest}"))
    }
}

fn config(dir: &std::path::Path, with_plugin: bool) -> Config {
    let mut c = Config::with_data_dir(dir);
    c.plugins.builtin = false;
    c.log.filter = "error".into();
    if with_plugin {
        c.plugins
            .files
            .push(env!("ARCA_TEST_PLUGIN_MISBEHAVE_WASM").into());
        let mut pc = PluginConfig::default();
        pc.settings.insert("mode".into(), serde_json::json!("ok"));
        c.plugin.insert("test-misbehave".into(), pc);
    }
    c
}

fn plugin_call(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = PluginHost::load(&config(dir.path(), true)).unwrap();
    let input = Arc::new(ManifestInput {
        repository: "bench/repo".into(),
        digest: format!("sha256:{}", "0".repeat(64)),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: Some(TEST_TYPE.into()),
        raw: b"{}".to_vec(),
        ..ManifestInput::default()
    });
    let source: Arc<dyn BlobSource> = Arc::new(NoBlobs);
    c.bench_function("plugin_call/validate", |b| {
        b.to_async(&rt).iter(|| async {
            let out = host.validate(&input, source.clone()).await;
            assert!(out[0].result.is_ok());
        })
    });
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn manifest_put(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (label, with_plugin) in [("no_plugin", false), ("trivial_plugin", true)] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), with_plugin);
        cfg.storage.fsync = Some(false);
        let router = rt.block_on(async {
            let app = arca::App::open(cfg).await.unwrap();
            arca::api::router(app)
        });
        let config_blob = b"{}".to_vec();
        let cd = sha256(&config_blob);
        rt.block_on(async {
            let req = Request::post(format!("/v2/bench/repo/blobs/uploads/?digest={cd}"))
                .body(Body::from(config_blob.clone()))
                .unwrap();
            assert_eq!(router.clone().oneshot(req).await.unwrap().status(), 201);
        });
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": TEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd, "size": 2},
            "layers": []
        })
        .to_string();
        c.bench_function(&format!("manifest_put/{label}"), |b| {
            b.to_async(&rt).iter(|| async {
                let req = Request::put("/v2/bench/repo/manifests/latest")
                    .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                    .body(Body::from(manifest.clone()))
                    .unwrap();
                let resp = router.clone().oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 201);
            })
        });
    }
}

criterion_group!(benches, plugin_call, manifest_put);
criterion_main!(benches);
