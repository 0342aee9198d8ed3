//! Crash safety: many clients push blobs (monolithic, POST+PUT, chunked) and tagged
//! manifests while the server is killed with SIGKILL; after a restart on the same data
//! directory everything acknowledged is intact and nothing partial is visible. An upload
//! session opened before the crash can be resumed after it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use arca_e2e::serde_json::{self, json};
use arca_e2e::{Registry, Server, fresh_seed, media, random_bytes_seeded, sha256_digest};

const WORKERS: usize = 10;

#[derive(Clone, Debug)]
enum Kind {
    Blob,
    /// A manifest pushed under its own unique `tag`.
    Manifest {
        tag: String,
    },
}

#[derive(Clone)]
struct Item {
    repo: String,
    kind: Kind,
    bytes: Arc<Vec<u8>>,
    digest: String,
    acked: bool,
}

/// A `latest` tag push: which manifest, and whether the server acknowledged it.
#[derive(Clone)]
struct LatestPush {
    repo: String,
    digest: String,
    acked: bool,
}

#[derive(Default)]
struct Ledger {
    items: Vec<Item>,
    latest: Vec<Vec<LatestPush>>,
    /// Failures seen before the kill began: those are server bugs, not crash effects.
    errors: Vec<String>,
}

/// Strips scheme and authority from a `Location`, so it can be replayed on a new port.
fn path_of(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_else(|| "/".into()),
        None => location.to_string(),
    }
}

fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// A reader that hands out 64 KiB at a time with a short pause, so a streamed upload
/// takes long enough to be in flight when the server is killed.
struct SlowReader {
    data: Vec<u8>,
    pos: usize,
}

impl std::io::Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.data.len() {
            return Ok(0);
        }
        thread::sleep(Duration::from_millis(1));
        let n = buf.len().min(64 * 1024).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One blob upload in the given style; `Ok(true)` only on 201 with the right digest.
fn upload(reg: &Registry, repo: &str, data: &[u8], style: usize) -> Result<(), String> {
    let digest = sha256_digest(data);
    let len = data.len().to_string();
    let octets = ("Content-Type", "application/octet-stream");
    let created = |r: arca_e2e::Reply| {
        if r.status == 201 && r.header("docker-content-digest").as_deref() == Some(&digest) {
            Ok(())
        } else {
            Err(format!(
                "style {style}: {} {:?} {}",
                r.status,
                r.header("docker-content-digest"),
                r.text()
            ))
        }
    };
    let e = |e: arca_e2e::reqwest::Error| e.to_string();
    match style {
        // Monolithic POST ?digest=
        0 => {
            let r = reg
                .try_send(
                    "POST",
                    &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                    &[octets, ("Content-Length", &len)],
                    Some(data.to_vec()),
                )
                .map_err(e)?;
            if r.status == 202 {
                let loc = r.header("location").ok_or("202 without Location")?;
                let r = reg
                    .try_send(
                        "PUT",
                        &with_digest(&loc, &digest),
                        &[octets, ("Content-Length", &len)],
                        Some(data.to_vec()),
                    )
                    .map_err(e)?;
                return created(r);
            }
            created(r)
        }
        // POST, then PUT with the whole body.
        1 => {
            let r = reg
                .try_send(
                    "POST",
                    &format!("/v2/{repo}/blobs/uploads/"),
                    &[("Content-Length", "0")],
                    None,
                )
                .map_err(e)?;
            if r.status != 202 {
                return Err(format!("POST upload: {} {}", r.status, r.text()));
            }
            let loc = r.header("location").ok_or("202 without Location")?;
            let r = reg
                .try_send(
                    "PUT",
                    &with_digest(&loc, &digest),
                    &[octets, ("Content-Length", &len)],
                    Some(data.to_vec()),
                )
                .map_err(e)?;
            created(r)
        }
        // POST, then PUT streaming the body with chunked transfer encoding and no
        // Content-Length (as containerd does), slowly enough to be cut by the kill.
        3 => {
            let r = reg
                .try_send(
                    "POST",
                    &format!("/v2/{repo}/blobs/uploads/"),
                    &[("Content-Length", "0")],
                    None,
                )
                .map_err(e)?;
            if r.status != 202 {
                return Err(format!("POST upload: {} {}", r.status, r.text()));
            }
            let loc = r.header("location").ok_or("202 without Location")?;
            let body = arca_e2e::reqwest::blocking::Body::new(SlowReader {
                data: data.to_vec(),
                pos: 0,
            });
            let resp = reg
                .client()
                .put(reg.url(&with_digest(&loc, &digest)))
                .header("Content-Type", "application/octet-stream")
                .body(body)
                .send()
                .map_err(e)?;
            let status = resp.status().as_u16();
            let returned = resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if status == 201 && returned.as_deref() == Some(digest.as_str()) {
                Ok(())
            } else {
                Err(format!("streamed PUT: {status} {returned:?}"))
            }
        }
        // POST, PATCH chunks with Content-Range, PUT with no body.
        _ => {
            let r = reg
                .try_send(
                    "POST",
                    &format!("/v2/{repo}/blobs/uploads/"),
                    &[("Content-Length", "0")],
                    None,
                )
                .map_err(e)?;
            if r.status != 202 {
                return Err(format!("POST upload: {} {}", r.status, r.text()));
            }
            let mut loc = r.header("location").ok_or("202 without Location")?;
            let mut offset = 0;
            for piece in data.chunks(256 * 1024) {
                let range = format!("{}-{}", offset, offset + piece.len() - 1);
                let plen = piece.len().to_string();
                let r = reg
                    .try_send(
                        "PATCH",
                        &loc,
                        &[octets, ("Content-Range", &range), ("Content-Length", &plen)],
                        Some(piece.to_vec()),
                    )
                    .map_err(e)?;
                if r.status != 202 {
                    return Err(format!("PATCH {range}: {} {}", r.status, r.text()));
                }
                loc = r.header("location").ok_or("PATCH 202 without Location")?;
                offset += piece.len();
            }
            let r = reg
                .try_send(
                    "PUT",
                    &with_digest(&loc, &digest),
                    &[("Content-Length", "0")],
                    Some(Vec::new()),
                )
                .map_err(e)?;
            created(r)
        }
    }
}

fn put_manifest(reg: &Registry, repo: &str, tag: &str, bytes: &[u8]) -> Result<(), String> {
    let r = reg
        .try_send(
            "PUT",
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Content-Type", media::OCI_MANIFEST)],
            Some(bytes.to_vec()),
        )
        .map_err(|e| e.to_string())?;
    if r.status == 201 {
        Ok(())
    } else {
        Err(format!(
            "PUT manifest {repo}:{tag}: {} {}",
            r.status,
            r.text()
        ))
    }
}

/// Whether an operation succeeded; a failure while the server was not yet being killed
/// is recorded as an error.
fn outcome(result: Result<(), String>, killing: &AtomicBool, ledger: &Mutex<Ledger>) -> bool {
    match result {
        Ok(()) => true,
        Err(err) => {
            if !killing.load(Ordering::SeqCst) {
                ledger.lock().unwrap().errors.push(err);
            }
            false
        }
    }
}

fn worker(
    id: usize,
    base: String,
    killing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let reg = Registry::new(&base);
    let repo = format!("crash/w{id}");
    let mut seed = fresh_seed();
    let mut acked_blobs: Vec<(String, usize)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut k = 0usize;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        k += 1;
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let size = match (seed >> 33) % 5 {
            0 => (seed >> 40) as usize % 4096,
            1 => 64 * 1024 + 7,
            2 => 300_000,
            3 => 1_200_000,
            _ => 3 * 1024 * 1024 + 11,
        };
        let data = Arc::new(random_bytes_seeded(size, seed));
        let digest = sha256_digest(&data);
        let style = (id + k) % 4;
        let ok = outcome(upload(&reg, &repo, &data, style), &killing, &ledger);
        ledger.lock().unwrap().items.push(Item {
            repo: repo.clone(),
            kind: Kind::Blob,
            bytes: data.clone(),
            digest: digest.clone(),
            acked: ok,
        });
        if !ok {
            continue;
        }
        acked.fetch_add(1, Ordering::SeqCst);
        acked_blobs.push((digest, size));

        if k.is_multiple_of(2) && acked_blobs.len() >= 2 {
            // A manifest over acknowledged blobs (the config is a layer blob too: arca must
            // only check existence), under a unique tag, then under `latest`.
            let n = acked_blobs.len();
            let (cfg, cfg_size) = &acked_blobs[n - 2];
            let (layer, layer_size) = &acked_blobs[n - 1];
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.arca.test.config.v1+json",
                           "digest": cfg, "size": cfg_size},
                "layers": [{"mediaType": "application/vnd.arca.test.layer.v1",
                            "digest": layer, "size": layer_size}],
                "annotations": {"seq": format!("{id}-{k}")},
            }))
            .expect("serialise");
            let mdigest = sha256_digest(&manifest);
            let tag = format!("t{k}");
            let ok = outcome(
                put_manifest(&reg, &repo, &tag, &manifest),
                &killing,
                &ledger,
            );
            ledger.lock().unwrap().items.push(Item {
                repo: repo.clone(),
                kind: Kind::Manifest { tag },
                bytes: Arc::new(manifest.clone()),
                digest: mdigest.clone(),
                acked: ok,
            });
            if !ok {
                continue;
            }
            acked.fetch_add(1, Ordering::SeqCst);
            let ok = outcome(
                put_manifest(&reg, &repo, "latest", &manifest),
                &killing,
                &ledger,
            );
            ledger.lock().unwrap().latest[id].push(LatestPush {
                repo: repo.clone(),
                digest: mdigest,
                acked: ok,
            });
        }
    }
}

/// Opens a session and sends its first chunk; returns (Location path, bytes sent).
fn start_resumable(reg: &Registry, data: &[u8], first: usize) -> String {
    let r = reg
        .send(
            "POST",
            "/v2/crash/resume/blobs/uploads/",
            &[("Content-Length", "0")],
            None,
        )
        .expect_status(202, "open session to resume later");
    let loc = r.header("location").expect("Location");
    let range = format!("0-{}", first - 1);
    let len = first.to_string();
    let r = reg
        .send(
            "PATCH",
            &loc,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", &range),
                ("Content-Length", &len),
            ],
            Some(data[..first].to_vec()),
        )
        .expect_status(202, "first PATCH");
    assert_eq!(r.header("range").as_deref(), Some(range.as_str()));
    path_of(&r.header("location").expect("PATCH Location"))
}

/// Everything acknowledged is intact; anything unacknowledged is absent or complete;
/// each worker's `latest` is its last acknowledged push or a later one.
fn verify_after_crash(reg: &Registry, ledger: &Ledger) {
    for item in &ledger.items {
        let Item {
            repo,
            kind,
            bytes,
            digest,
            acked,
        } = item;
        match kind {
            Kind::Blob => {
                let path = format!("/v2/{repo}/blobs/{digest}");
                if *acked {
                    reg.assert_blob(repo, bytes);
                } else {
                    let got = reg.get(&path, &[]);
                    assert!(
                        got.status == 404 || (got.status == 200 && got.body == **bytes),
                        "unacknowledged blob {path} is visible but not intact: {} ({} of {} bytes)",
                        got.status,
                        got.body.len(),
                        bytes.len()
                    );
                    let head = reg.head(&path, &[]);
                    assert!(
                        head.status == 404
                            || (head.status == 200
                                && head.header("content-length") == Some(bytes.len().to_string())),
                        "HEAD of unacknowledged blob {path}: {} {:?}",
                        head.status,
                        head.header("content-length")
                    );
                }
            }
            Kind::Manifest { tag } => {
                if *acked {
                    reg.assert_manifest(repo, tag, bytes);
                } else {
                    for r in [tag.as_str(), digest.as_str()] {
                        let got = reg.get_manifest(repo, r);
                        assert!(
                            got.status == 404 || (got.status == 200 && got.body == **bytes),
                            "unacknowledged manifest {repo}:{r} visible but wrong: {} {}",
                            got.status,
                            got.text()
                        );
                    }
                }
            }
        }
    }

    // `latest` names the last acknowledged push of it, or a later (unacknowledged) one.
    for pushes in &ledger.latest {
        let Some(last_acked) = pushes.iter().rposition(|p| p.acked) else {
            continue;
        };
        let repo = &pushes[last_acked].repo;
        let got = reg
            .get_manifest(repo, "latest")
            .expect_status(200, &format!("{repo}:latest after restart"));
        let digest = sha256_digest(&got.body);
        assert!(
            pushes[last_acked..].iter().any(|p| p.digest == digest),
            "{repo}:latest is {digest}, older than its last acknowledged push {}",
            pushes[last_acked].digest
        );
    }
}

#[test]
fn kill9_mid_push_keeps_acknowledged_content_and_hides_partial_writes() {
    let mut server = Server::start();
    let ledger = Arc::new(Mutex::new(Ledger {
        items: Vec::new(),
        latest: vec![Vec::new(); WORKERS],
        errors: Vec::new(),
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let killing = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));

    let resume_data = random_bytes_seeded(3 * 1024 * 1024 + 5, fresh_seed());
    let first = 1024 * 1024;
    let resume_loc = start_resumable(&server.registry(), &resume_data, first);

    let handles: Vec<_> = (0..WORKERS)
        .map(|id| {
            let (base, killing, stop, acked, ledger) = (
                server.url(),
                killing.clone(),
                stop.clone(),
                acked.clone(),
                ledger.clone(),
            );
            thread::spawn(move || worker(id, base, killing, stop, acked, ledger))
        })
        .collect();

    // Let a good amount of work be acknowledged, then pull the plug mid-flight.
    let started = Instant::now();
    while acked.load(Ordering::SeqCst) < 150 && started.elapsed() < Duration::from_secs(20) {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(150));
    let alive = server.is_running();
    killing.store(true, Ordering::SeqCst);
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for h in handles {
        h.join().expect("worker panicked");
    }
    assert!(alive, "arca died under load:\n{}", server.log_tail(50));
    let ledger = ledger.lock().unwrap();
    assert!(
        ledger.errors.is_empty(),
        "requests failed before the kill:\n{}",
        ledger.errors.join("\n")
    );
    let n_acked = ledger.items.iter().filter(|i| i.acked).count();
    let n_unacked = ledger.items.len() - n_acked;
    assert!(
        n_acked >= 20,
        "too little work acknowledged before the kill: {n_acked}"
    );
    eprintln!("crash test: {n_acked} acknowledged, {n_unacked} unacknowledged pushes");
    assert!(
        n_unacked > 0,
        "no push was cut by the kill: the test did not crash the server mid-flight"
    );

    server.restart();
    let reg = server.registry();

    verify_after_crash(&reg, &ledger);

    // Every repository is still listed and takes new pushes.
    let catalog = reg
        .get("/v2/_catalog", &[])
        .expect_status(200, "catalog")
        .json();
    let repos: Vec<&str> = catalog["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    for item in ledger.items.iter().filter(|i| i.acked) {
        assert!(
            repos.contains(&item.repo.as_str()),
            "{} missing from catalog",
            item.repo
        );
    }
    for id in 0..WORKERS {
        reg.push_blob(&format!("crash/w{id}"), b"after the crash");
    }

    // The session opened before the crash resumes where the last acknowledged chunk ended.
    let status = reg
        .get(&resume_loc, &[])
        .expect_status(204, "GET upload session after restart");
    assert_eq!(
        status.header("range").as_deref(),
        Some(format!("0-{}", first - 1).as_str()),
        "upload progress after restart"
    );
    let loc = path_of(
        &status
            .header("location")
            .expect("204 upload status without Location"),
    );
    let second = 2 * 1024 * 1024;
    let range = format!("{first}-{}", second - 1);
    let len = (second - first).to_string();
    let r = reg
        .send(
            "PATCH",
            &loc,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", &range),
                ("Content-Length", &len),
            ],
            Some(resume_data[first..second].to_vec()),
        )
        .expect_status(202, "PATCH after restart");
    assert_eq!(
        r.header("range").as_deref(),
        Some(format!("0-{}", second - 1).as_str())
    );
    let loc = path_of(&r.header("location").expect("Location"));
    let digest = sha256_digest(&resume_data);
    reg.put_session(&loc, &digest, resume_data[second..].to_vec())
        .expect_status(201, "PUT to finish resumed upload");
    reg.assert_blob("crash/resume", &resume_data);

    // Recovery itself must not lose anything: crash the idle server again and re-check.
    server.restart();
    let reg = server.registry();
    verify_after_crash(&reg, &ledger);
    reg.assert_blob("crash/resume", &resume_data);
}
