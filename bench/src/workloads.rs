//! The workloads. Each runs against a freshly started server: an unmeasured setup, then one
//! or more measured phases (each its own `Sample`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result, bail, ensure};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;

use crate::body::digest_of;
use crate::http::{
    Http, ImageBlobs, OCI_MANIFEST, empty, image_manifest, listing_len, prng, push_image_blobs,
};
use crate::meter::{Kind, Meter, Sample};
use crate::sbom;
use crate::server::Server;

/// Every workload: name, what it does.
pub(crate) const WORKLOADS: &[(&str, &str)] = &[
    (
        "blob-mono-large",
        "one large blob (--blob-size), monolithic: POST, then one PUT ?digest= with the whole body",
    ),
    (
        "blob-mono-small",
        "--small-blobs blobs of --small-blob-size, one after the other, each POST + monolithic PUT",
    ),
    (
        "blob-chunked",
        "one large blob (--blob-size) in --chunk-size chunks: POST, PATCH with Content-Range per chunk, PUT ?digest=",
    ),
    (
        "blob-download",
        "GET of a pushed large blob (--blob-size), sha256 computed while streaming and checked",
    ),
    (
        "manifest-put",
        "--manifests distinct image manifests (one pushed config + layer) PUT by tag at each --put-concurrency",
    ),
    (
        "manifest-get",
        "--gets GETs then --gets HEADs of one manifest by tag at --get-concurrency",
    ),
    (
        "tags",
        "--tags tags on one manifest: the whole list, a walk of n=--page-size pages following Link, first and last page",
    ),
    (
        "catalog",
        "--repos repositories: the whole /v2/_catalog (following Link if the server pages anyway), a walk of n=--page-size pages, first and last page",
    ),
    (
        "sbom",
        "arca with an SBOM plugin only: plugin-validated PUTs of CycloneDX 1.5 SBOM artifacts vs plain image manifest PUTs",
    ),
];

/// Sizes and counts, from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub(crate) blob_size: u64,
    pub(crate) small_blobs: usize,
    pub(crate) small_blob_size: u64,
    pub(crate) chunk_size: u64,
    pub(crate) manifests: usize,
    pub(crate) put_concurrency: Vec<usize>,
    pub(crate) gets: usize,
    pub(crate) get_concurrency: usize,
    pub(crate) tags: usize,
    pub(crate) page_size: usize,
    pub(crate) repos: usize,
    pub(crate) repeats: usize,
    /// Stop repeating a listing once this much time went by (after 3 repetitions at least).
    pub(crate) phase_budget: std::time::Duration,
    pub(crate) setup_concurrency: usize,
    pub(crate) sbom_components: usize,
    pub(crate) sbom_puts: usize,
}

/// A workload that does not apply to a target.
#[derive(Debug)]
pub(crate) struct Skipped(pub(crate) String);

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skipped {}

/// State shared by every run.
pub(crate) struct Ctx {
    pub(crate) p: Params,
    /// Repository name prefix, unique per invocation (matters only with `--url`).
    pub(crate) prefix: String,
    digests: Mutex<HashMap<(u64, u64), String>>,
}

const SEED_LARGE: u64 = 0xB10B_0001;
const SEED_SMALL: u64 = 0xB10B_1000;
const SEED_CHUNKED: u64 = 0xB10B_0002;
const SEED_DOWNLOAD: u64 = 0xB10B_0003;

impl Ctx {
    pub(crate) fn new(p: Params, prefix: String) -> Self {
        Ctx {
            p,
            prefix,
            digests: Mutex::new(HashMap::new()),
        }
    }

    fn repo(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// The digest of a PRNG blob, computed once per invocation (never inside a phase).
    async fn digest(&self, seed: u64, size: u64) -> Result<String> {
        let mut map = self.digests.lock().await;
        if let Some(d) = map.get(&(seed, size)) {
            return Ok(d.clone());
        }
        let d = tokio::task::spawn_blocking(move || digest_of(seed, size)).await?;
        map.insert((seed, size), d.clone());
        Ok(d)
    }
}

/// Run `n` calls of `f` with `c` in flight; the latency of each call in ms.
async fn concurrent<F, Fut>(n: usize, c: usize, f: F) -> Result<Vec<f64>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..c.clamp(1, n.max(1)) {
        let (f, next) = (f.clone(), next.clone());
        set.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(lat);
                }
                let t = Instant::now();
                f(i).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    Ok(all)
}

pub(crate) async fn run(name: &str, cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    match name {
        "blob-mono-large" => blob_mono_large(cx, srv).await,
        "blob-mono-small" => blob_mono_small(cx, srv).await,
        "blob-chunked" => blob_chunked(cx, srv).await,
        "blob-download" => blob_download(cx, srv).await,
        "manifest-put" => manifest_put(cx, srv).await,
        "manifest-get" => manifest_get(cx, srv).await,
        "tags" => tags(cx, srv).await,
        "catalog" => catalog(cx, srv).await,
        "sbom" => sbom_put(cx, srv).await,
        other => bail!("unknown workload {other:?}"),
    }
}

fn mib(b: u64) -> String {
    if b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else if b.is_multiple_of(1 << 10) {
        format!("{} KiB", b >> 10)
    } else {
        format!("{b} B")
    }
}

async fn blob_mono_large(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let (repo, size) = (cx.repo("blob-large"), cx.p.blob_size);
    let digest = cx.digest(SEED_LARGE, size).await?;
    let m = Meter::start(srv).await;
    let t = Instant::now();
    srv.http
        .push_blob(&repo, &digest, prng(SEED_LARGE, 0, size), size)
        .await?;
    let lat = vec![t.elapsed().as_secs_f64() * 1e3];
    let name = format!("upload 1 × {}, POST + monolithic PUT", mib(size));
    Ok(vec![
        m.finish(
            "blob-mono-large",
            "upload",
            &name,
            Kind::Bytes,
            size,
            2,
            lat,
        )
        .await,
    ])
}

async fn blob_mono_small(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let (repo, n, size) = (
        cx.repo("blob-small"),
        cx.p.small_blobs,
        cx.p.small_blob_size,
    );
    let mut digests = Vec::with_capacity(n);
    for i in 0..n {
        digests.push(cx.digest(SEED_SMALL + i as u64, size).await?);
    }
    let m = Meter::start(srv).await;
    let mut lat = Vec::with_capacity(n);
    for (i, d) in digests.iter().enumerate() {
        let t = Instant::now();
        let seed = SEED_SMALL + i as u64;
        srv.http
            .push_blob(&repo, d, prng(seed, 0, size), size)
            .await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let name = format!("upload {n} × {}, POST + monolithic PUT each", mib(size));
    let total = size * n as u64;
    Ok(vec![
        m.finish(
            "blob-mono-small",
            "upload",
            &name,
            Kind::Bytes,
            total,
            2 * n as u64,
            lat,
        )
        .await,
    ])
}

async fn blob_chunked(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let (repo, size, chunk) = (cx.repo("blob-chunked"), cx.p.blob_size, cx.p.chunk_size);
    ensure!(
        chunk > 0 && chunk.is_multiple_of(8),
        "--chunk-size must be a positive multiple of 8"
    );
    let digest = cx.digest(SEED_CHUNKED, size).await?;
    let http = &srv.http;
    let m = Meter::start(srv).await;
    let mut loc = http.start_upload(&repo).await?;
    let mut lat = Vec::new();
    let mut off = 0;
    while off < size {
        let end = (off + chunk).min(size);
        let range = format!("{off}-{}", end - 1);
        let len = (end - off).to_string();
        let t = Instant::now();
        let a = http
            .call(
                Method::PATCH,
                &loc,
                &[
                    ("content-type", "application/octet-stream"),
                    ("content-range", &range),
                    ("content-length", &len),
                ],
                prng(SEED_CHUNKED, off, end),
            )
            .await?
            .expect(202, "PATCH chunk")?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(l) = a.header("location") {
            loc = l.to_string();
        }
        off = end;
    }
    http.finish_upload(&loc, &digest, empty(), 0).await?;
    let chunks = lat.len() as u64;
    let name = format!(
        "upload 1 × {} in {} chunks (PATCH + Content-Range), PUT ?digest=",
        mib(size),
        mib(chunk)
    );
    Ok(vec![
        m.finish(
            "blob-chunked",
            "upload",
            &name,
            Kind::Bytes,
            size,
            chunks + 2,
            lat,
        )
        .await,
    ])
}

async fn blob_download(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let (repo, size) = (cx.repo("blob-download"), cx.p.blob_size);
    let digest = cx.digest(SEED_DOWNLOAD, size).await?;
    let http = &srv.http;
    http.push_blob(&repo, &digest, prng(SEED_DOWNLOAD, 0, size), size)
        .await?;
    let m = Meter::start(srv).await;
    let resp = http
        .send(
            Method::GET,
            &format!("/v2/{repo}/blobs/{digest}"),
            &[],
            empty(),
        )
        .await?;
    ensure!(resp.status() == 200, "GET blob: {}", resp.status());
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = resp.into_body();
    let mut h = Sha256::new();
    let mut got = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            h.update(&data);
            got += data.len() as u64;
        }
    }
    let computed = format!("sha256:{}", hex::encode(h.finalize()));
    let mut s = m
        .finish(
            "blob-download",
            "download",
            &format!("download 1 × {}, sha256 checked while streaming", mib(size)),
            Kind::Bytes,
            got,
            1,
            vec![],
        )
        .await;
    ensure!(got == size, "downloaded {got} bytes, expected {size}");
    ensure!(
        computed == digest,
        "downloaded content hashes to {computed}, expected {digest}"
    );
    if let Some(d) = header_digest
        && d != digest
    {
        s.notes.push(format!("Docker-Content-Digest was {d}"));
    }
    Ok(vec![s])
}

async fn manifest_put(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let repo = cx.repo("manifests");
    let http = &srv.http;
    let blobs = push_image_blobs(http, &repo).await?;
    let mut out = Vec::new();
    for &c in &cx.p.put_concurrency {
        let n = cx.p.manifests;
        let manifests: Arc<Vec<Bytes>> = Arc::new(
            (0..n)
                .map(|i| image_manifest(&blobs, &format!("c{c}-{i}")))
                .collect(),
        );
        let m = Meter::start(srv).await;
        let (h, r) = (http.clone(), repo.clone());
        let lat = concurrent(n, c, move |i| {
            let (h, r, ms) = (h.clone(), r.clone(), manifests.clone());
            async move {
                h.put_manifest(&r, &format!("c{c}-{i}"), OCI_MANIFEST, ms[i].clone())
                    .await?
                    .expect(201, "PUT manifest")?;
                Ok(())
            }
        })
        .await?;
        let name = format!("PUT {n} distinct manifests by tag, concurrency {c}");
        out.push(
            m.finish(
                "manifest-put",
                &format!("put-c{c}"),
                &name,
                Kind::Requests,
                0,
                n as u64,
                lat,
            )
            .await,
        );
    }
    Ok(out)
}

async fn manifest_get(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let repo = cx.repo("manifests");
    let http = &srv.http;
    let blobs = push_image_blobs(http, &repo).await?;
    let manifest = image_manifest(&blobs, "get");
    let len = manifest.len();
    http.put_manifest(&repo, "latest", OCI_MANIFEST, manifest)
        .await?
        .expect(201, "PUT manifest")?;
    let (n, c) = (cx.p.gets, cx.p.get_concurrency);
    let mut out = Vec::new();
    for method in [Method::GET, Method::HEAD] {
        let m = Meter::start(srv).await;
        let (h, path, meth) = (
            http.clone(),
            format!("/v2/{repo}/manifests/latest"),
            method.clone(),
        );
        let lat = concurrent(n, c, move |_| {
            let (h, path, meth) = (h.clone(), path.clone(), meth.clone());
            async move {
                let a = h
                    .call(meth.clone(), &path, &[("accept", OCI_MANIFEST)], empty())
                    .await?
                    .expect(200, "manifest GET/HEAD")?;
                let cl = a.header("content-length").and_then(|v| v.parse().ok());
                ensure!(
                    cl == Some(len),
                    "{meth}: Content-Length {cl:?}, expected {len}"
                );
                if meth == Method::GET {
                    ensure!(a.body.len() == len, "GET: body of {} bytes", a.body.len());
                }
                Ok(())
            }
        })
        .await?;
        let name = format!("{method} manifest by tag ×{n}, concurrency {c}");
        out.push(
            m.finish(
                "manifest-get",
                &method.as_str().to_lowercase(),
                &name,
                Kind::Requests,
                0,
                n as u64,
                lat,
            )
            .await,
        );
    }
    Ok(out)
}

/// Follow `Link: rel="next"` from `path`; (entries, requests, last URL requested).
async fn list_all(http: &Http, path: &str, key: &str) -> Result<(usize, usize, String)> {
    let (mut url, mut entries, mut requests) = (path.to_string(), 0, 0);
    loop {
        let a = http.get(&url).await?.expect(200, "listing")?;
        requests += 1;
        entries += listing_len(&a, key)?;
        match a.next_link() {
            Some(next) => url = next,
            None => return Ok((entries, requests, url)),
        }
        ensure!(requests < 1_000_000, "listing does not end");
    }
}

/// Repeat a listing `k` times: a Latency sample of its wall time per listing.
#[allow(clippy::too_many_arguments)]
async fn timed_listing(
    srv: &Server,
    workload: &str,
    key: &str,
    name: &str,
    path: &str,
    field: &str,
    k: usize,
    budget: std::time::Duration,
    expect_entries: Option<usize>,
) -> Result<(Sample, usize, String)> {
    let m = Meter::start(srv).await;
    let mut lat = Vec::with_capacity(k);
    let (mut requests, mut pages, mut last) = (0, 0, String::new());
    let t0 = Instant::now();
    for i in 0..k {
        if i >= 3 && t0.elapsed() > budget {
            break;
        }
        let t = Instant::now();
        let (entries, req, l) = list_all(&srv.http, path, field).await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(e) = expect_entries {
            ensure!(
                entries >= e,
                "{name}: {entries} entries listed, expected {e}"
            );
        }
        requests += req;
        pages = req;
        last = l;
    }
    let mut s = m
        .finish(workload, key, name, Kind::Latency, 0, requests as u64, lat)
        .await;
    s.notes.push(format!("{pages} request(s) per listing"));
    Ok((s, pages, last))
}

/// Repeat one GET `k` times: a Latency sample.
async fn timed_get(
    srv: &Server,
    workload: &str,
    key: &str,
    name: &str,
    path: &str,
    k: usize,
    budget: std::time::Duration,
) -> Result<Sample> {
    let m = Meter::start(srv).await;
    let mut lat = Vec::with_capacity(k);
    let t0 = Instant::now();
    for i in 0..k {
        if i >= 3 && t0.elapsed() > budget {
            break;
        }
        let t = Instant::now();
        srv.http.get(path).await?.expect(200, name)?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(
        m.finish(workload, key, name, Kind::Latency, 0, k as u64, lat)
            .await,
    )
}

async fn tags(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let repo = cx.repo("tags");
    let http = &srv.http;
    let (n, page, k) = (cx.p.tags, cx.p.page_size, cx.p.repeats);
    let blobs = push_image_blobs(http, &repo).await?;
    let manifest = image_manifest(&blobs, "tags");
    {
        let (h, r) = (http.clone(), repo.clone());
        concurrent(n, cx.p.setup_concurrency, move |i| {
            let (h, r, m) = (h.clone(), r.clone(), manifest.clone());
            async move {
                h.put_manifest(&r, &format!("t{i:06}"), OCI_MANIFEST, m)
                    .await?
                    .expect(201, "PUT tag")?;
                Ok(())
            }
        })
        .await?;
    }
    let list = format!("/v2/{repo}/tags/list");
    let (whole, _, _) = timed_listing(
        srv,
        "tags",
        "whole",
        &format!("list all {n} tags (no n; Link followed if paged anyway)"),
        &list,
        "tags",
        k,
        cx.p.phase_budget,
        Some(n),
    )
    .await?;
    let first_url = format!("{list}?n={page}");
    let (walk, pages, last_url) = timed_listing(
        srv,
        "tags",
        "walk",
        &format!("walk all pages, n={page}, following Link"),
        &first_url,
        "tags",
        k,
        cx.p.phase_budget,
        Some(n),
    )
    .await?;
    let mut first = timed_get(
        srv,
        "tags",
        "first",
        &format!("first page (n={page})"),
        &first_url,
        k * 5,
        cx.p.phase_budget,
    )
    .await?;
    let mut last = timed_get(
        srv,
        "tags",
        "last",
        &format!("last page (n={page})"),
        &last_url,
        k * 5,
        cx.p.phase_budget,
    )
    .await?;
    if pages == 1 {
        let note = format!("the server ignored n={page}: one page holds all {n} tags");
        first.notes.push(note.clone());
        last.notes.push(note);
    }
    Ok(vec![whole, walk, first, last])
}

async fn catalog(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let http = &srv.http;
    let (n, page, k) = (cx.p.repos, cx.p.page_size, cx.p.repeats);
    {
        let (h, prefix) = (http.clone(), cx.repo("catalog"));
        concurrent(n, cx.p.setup_concurrency, move |i| {
            let (h, repo) = (h.clone(), format!("{prefix}/r{i:05}"));
            async move {
                let blobs: ImageBlobs = push_image_blobs(&h, &repo).await?;
                h.put_manifest(&repo, "latest", OCI_MANIFEST, image_manifest(&blobs, ""))
                    .await?
                    .expect(201, "PUT manifest")?;
                Ok(())
            }
        })
        .await?;
    }
    let (whole, _, _) = timed_listing(
        srv,
        "catalog",
        "whole",
        &format!("GET /v2/_catalog, {n} repositories (no n; Link followed if paged anyway)"),
        "/v2/_catalog",
        "repositories",
        k,
        cx.p.phase_budget,
        Some(n),
    )
    .await?;
    let first_url = format!("/v2/_catalog?n={page}");
    let (walk, _, last_url) = timed_listing(
        srv,
        "catalog",
        "walk",
        &format!("walk all pages, n={page}, following Link"),
        &first_url,
        "repositories",
        k,
        cx.p.phase_budget,
        Some(n),
    )
    .await?;
    let first = timed_get(
        srv,
        "catalog",
        "first",
        &format!("first page (n={page})"),
        &first_url,
        k * 5,
        cx.p.phase_budget,
    )
    .await?;
    let last = timed_get(
        srv,
        "catalog",
        "last",
        &format!("last page (n={page})"),
        &last_url,
        k * 5,
        cx.p.phase_budget,
    )
    .await?;
    Ok(vec![whole, walk, first, last])
}

/// Whether the server runs a plugin for CycloneDX SBOMs.
async fn has_sbom_plugin(http: &Http) -> Result<bool> {
    let a = http.get("/_arca/v1/plugins").await?;
    if a.status != 200 {
        return Ok(false);
    }
    let v: Value = serde_json::from_slice(&a.body)?;
    Ok(v["plugins"].as_array().into_iter().flatten().any(|p| {
        p["enabled"].as_bool().unwrap_or(true)
            && (p["name"] == "sbom" || p["handles"].to_string().contains("cyclonedx"))
    }))
}

async fn sbom_put(cx: &Ctx, srv: &Server) -> Result<Vec<Sample>> {
    let http = &srv.http;
    if !has_sbom_plugin(http).await? {
        return Err(Skipped(
            "no SBOM plugin loaded (Distribution validates nothing; for arca pass --sbom-plugin FILE.wasm unless it is built in)".into(),
        )
        .into());
    }
    let repo = cx.repo("sbom");
    let n = cx.p.sbom_puts;
    let empty_digest = http.push_bytes(&repo, Bytes::from_static(b"{}")).await?;
    // Setup: the layers, and proof that the plugin does refuse an invalid SBOM.
    let bad = Bytes::from(sbom::invalid_cyclonedx());
    let bad_len = bad.len();
    let bad_digest = http.push_bytes(&repo, bad).await?;
    let a = http
        .put_manifest(
            &repo,
            "invalid",
            OCI_MANIFEST,
            sbom::manifest(&empty_digest, &bad_digest, bad_len).into(),
        )
        .await?;
    ensure!(
        a.status == 400,
        "an invalid CycloneDX SBOM was answered {} (expected 400): the plugin does not validate it",
        a.status
    );
    let mut sboms = Vec::with_capacity(n);
    let mut doc_size = 0;
    for i in 0..n {
        let doc = Bytes::from(sbom::cyclonedx(i, cx.p.sbom_components));
        doc_size = doc.len();
        let d = http.push_bytes(&repo, doc).await?;
        sboms.push(Bytes::from(sbom::manifest(&empty_digest, &d, doc_size)));
    }
    let blobs = push_image_blobs(http, &repo).await?;
    let plain: Vec<Bytes> = (0..n)
        .map(|i| image_manifest(&blobs, &format!("plain-{i}")))
        .collect();

    let mut out = Vec::new();
    for (what, manifests) in [("plain", plain), ("sbom", sboms)] {
        let m = Meter::start(srv).await;
        let mut lat = Vec::with_capacity(n);
        for (i, body) in manifests.into_iter().enumerate() {
            let t = Instant::now();
            http.put_manifest(&repo, &format!("{what}-{i}"), OCI_MANIFEST, body)
                .await?
                .expect(201, "PUT manifest")
                .with_context(|| format!("{what} manifest {i}"))?;
            lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let name = if what == "plain" {
            format!("PUT {n} plain image manifests, one at a time (baseline)")
        } else {
            format!(
                "PUT {n} CycloneDX 1.5 SBOM artifacts ({} components, {:.2} MiB), one at a time",
                cx.p.sbom_components,
                doc_size as f64 / (1 << 20) as f64
            )
        };
        out.push(
            m.finish("sbom", what, &name, Kind::Requests, 0, n as u64, lat)
                .await,
        );
    }
    let extra = out[1]
        .peak_rss_kib
        .zip(out[0].peak_rss_kib)
        .map(|(s, p)| s as i64 - p as i64);
    if let Some(e) = extra {
        out[1].notes.push(format!(
            "peak RSS {:+.1} MiB over the plain-manifest phase",
            e as f64 / 1024.0
        ));
    }
    Ok(out)
}
