//! The SBOM plugin at scale, through the router with the built-in plugins.
//!
//! - Setup: `ARCA_BENCH_SBOMS` (default 10 000) CycloneDX SBOMs of 100 components each are
//!   pushed as referrers into 100 repositories and indexed (validated too), as a push does.
//!   Their purls come from a pool of 5 000 packages × 3 versions.
//! - `sbom/search_purl`: a search for one exact purl (the first page of its hits).
//! - `sbom/search_package`: a search for any version of a package.
//! - `sbom/put_1mib`: the PUT of a manifest whose layer is a 1 MiB CycloneDX SBOM, acknowledged
//!   after validation against the JSON schema, the commit and indexing.
//!
//! Run: `cargo bench -p arca --bench sbom` (the setup takes minutes at the default size;
//! `ARCA_BENCH_SBOMS=1000` for a quick look).

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt;

use arca::config::Config;

const SBOM_TYPE: &str = "application/vnd.cyclonedx+json";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const LICENSES: &[&str] = &["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0"];
const ECOSYSTEMS: &[&str] = &["npm", "pypi", "cargo", "golang", "maven"];

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn component(i: usize) -> Value {
    let pkg = i % 5000;
    let version = format!("1.{}.{}", i % 3, pkg % 7);
    let eco = ECOSYSTEMS[pkg % ECOSYSTEMS.len()];
    let name = format!("package-{pkg}");
    json!({
        "type": "library",
        "bom-ref": format!("ref-{i}"),
        "name": name,
        "version": version,
        "purl": format!("pkg:{eco}/{name}@{version}"),
        "licenses": [{"license": {"id": LICENSES[pkg % LICENSES.len()]}}],
        "hashes": [{"alg": "SHA-256", "content": hex::encode(Sha256::digest(name.as_bytes()))}]
    })
}

/// A CycloneDX 1.5 document with the components `ids`.
fn bom(serial: usize, ids: impl Iterator<Item = usize>) -> Vec<u8> {
    let components: Vec<Value> = ids.map(component).collect();
    let refs: Vec<Value> = components
        .iter()
        .map(|c| json!({"ref": c["bom-ref"], "dependsOn": []}))
        .collect();
    serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:00000000-0000-4000-8000-{serial:012}"),
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "tools": {"components": [{"type": "application", "name": "arca-bench", "version": "1"}]},
            "component": {"type": "application", "name": format!("app-{serial}"), "bom-ref": "root"}
        },
        "components": components,
        "dependencies": refs
    }))
    .unwrap()
}

async fn send(router: &Router, req: Request<Body>) -> u16 {
    let what = format!("{} {}", req.method(), req.uri());
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    if status >= 400 {
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        eprintln!("{what} → {status} {}", String::from_utf8_lossy(&body));
    }
    status
}

async fn push_blob(router: &Router, repo: &str, data: Vec<u8>) -> String {
    let d = sha256(&data);
    let req = Request::post(format!("/v2/{repo}/blobs/uploads/?digest={d}"))
        .body(Body::from(data))
        .unwrap();
    assert_eq!(send(router, req).await, 201);
    d
}

/// The manifest of an SBOM referrer whose layer is `sbom`.
async fn sbom_manifest(router: &Router, repo: &str, sbom: Vec<u8>, subject: &str) -> Vec<u8> {
    let size = sbom.len();
    let config = push_blob(router, repo, b"{}".to_vec()).await;
    let layer = push_blob(router, repo, sbom).await;
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": SBOM_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": config, "size": 2},
        "layers": [{"mediaType": SBOM_TYPE, "digest": layer, "size": size}],
        "subject": {"mediaType": MANIFEST_TYPE, "digest": subject, "size": 100}
    }))
    .unwrap()
}

async fn put(router: &Router, repo: &str, reference: &str, manifest: Vec<u8>) -> u16 {
    let req = Request::put(format!("/v2/{repo}/manifests/{reference}"))
        .header("content-type", MANIFEST_TYPE)
        .body(Body::from(manifest))
        .unwrap();
    send(router, req).await
}

fn sbom(c: &mut Criterion) {
    let n: usize = std::env::var("ARCA_BENCH_SBOMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.log.filter = "error".into();
    let router = rt.block_on(async { arca::api::router(arca::App::open(cfg).await.unwrap()) });

    let started = Instant::now();
    rt.block_on(async {
        for s in 0..n {
            let repo = format!("team-{}/app", s % 100);
            let subject = sha256(format!("image-{s}").as_bytes());
            let doc = bom(s, (0..100).map(|k| (s * 37 + k * 101) % 15_000));
            let m = sbom_manifest(&router, &repo, doc, &subject).await;
            assert_eq!(put(&router, &repo, &sha256(&m), m).await, 201);
        }
    });
    eprintln!(
        "indexed {n} SBOMs x 100 components in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let search = |query: String| {
        let router = router.clone();
        async move {
            let req = Request::get(format!("/_arca/v1/search?{query}"))
                .body(Body::empty())
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert!(!v["results"].as_array().unwrap().is_empty(), "{v}");
        }
    };
    let purl = component(101)["purl"].as_str().unwrap().to_string();
    c.bench_function("sbom/search_purl", |b| {
        b.to_async(&rt)
            .iter(|| search(format!("facet=sbom.purl:{purl}")))
    });
    c.bench_function("sbom/search_package", |b| {
        b.to_async(&rt)
            .iter(|| search("facet=sbom.package:pkg:pypi/package-101".to_string()))
    });

    // About 1 MiB: 3 300 components.
    let big = bom(n + 1, 0..3300);
    eprintln!("big SBOM: {} bytes", big.len());
    let m = rt.block_on(sbom_manifest(&router, "big/app", big, &sha256(b"big")));
    c.bench_function("sbom/put_1mib", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(put(&router, "big/app", "latest", m.clone()).await, 201) })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = sbom
}
criterion_main!(benches);
