//! Many clients racing on the same content: the same blob, the same manifest under the
//! same tag, and different manifests under one tag. No request fails and exactly one
//! consistent result remains.

use std::sync::{Arc, Barrier};
use std::thread;

use arca_e2e::serde_json::{self, json};
use arca_e2e::{Registry, Reply, Server, media, random_bytes, sha256_digest};

const CLIENTS: usize = 10;

/// Runs `f(i)` on CLIENTS threads released at the same instant; returns the results.
fn race<T: Send + 'static>(f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (barrier, f) = (barrier.clone(), f.clone());
            thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("client thread panicked"))
        .collect()
}

fn manifest(config: &(String, usize), layer: &(String, usize), note: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": config.0, "size": config.1},
        "layers": [{"mediaType": media::OCI_LAYER_GZIP, "digest": layer.0, "size": layer.1}],
        "annotations": {"note": note},
    }))
    .expect("serialise")
}

fn put_manifest(reg: &Registry, repo: &str, reference: &str, bytes: &[u8]) -> Reply {
    reg.send(
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", media::OCI_MANIFEST)],
        Some(bytes.to_vec()),
    )
}

#[test]
fn parallel_pushes_of_same_blob_all_succeed_with_one_intact_copy() {
    let server = Server::start();
    for round in 0..3 {
        let data = Arc::new(random_bytes(2 * 1024 * 1024 + round));
        let digest = sha256_digest(&data);
        let base = server.url();
        let repo = format!("race/blob{round}");
        let results = {
            let (data, repo) = (data.clone(), repo.clone());
            race(move |i| {
                let reg = Registry::new(&base);
                // Mix monolithic and chunked uploads of the very same bytes.
                if i % 2 == 0 {
                    reg.push_blob(&repo, &data)
                } else {
                    reg.push_blob_chunked(&repo, &data, 256 * 1024 + i)
                }
            })
        };
        assert!(results.iter().all(|d| *d == digest), "digests: {results:?}");
        let reg = server.registry();
        reg.assert_blob(&repo, &data);

        // The same blob into CLIENTS different repositories at once.
        let base = server.url();
        let shared = data.clone();
        let per_repo =
            race(move |i| Registry::new(&base).push_blob(&format!("race/own{round}-{i}"), &shared));
        assert!(per_repo.iter().all(|d| *d == digest));
        for i in 0..CLIENTS {
            reg.assert_blob(&format!("race/own{round}-{i}"), &data);
        }
    }
}

#[test]
fn parallel_pushes_to_same_tag_leave_one_consistent_manifest() {
    let server = Server::start();
    let reg = server.registry();
    let repo = "race/tags";
    let config_bytes = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer_bytes = random_bytes(100_000);
    let config = (reg.push_blob(repo, &config_bytes), config_bytes.len());
    let layer = (reg.push_blob(repo, &layer_bytes), layer_bytes.len());

    // 1. The same manifest under the same tag from every client.
    let same = Arc::new(manifest(&config, &layer, "same"));
    let base = server.url();
    let replies = {
        let same = same.clone();
        race(move |_| put_manifest(&Registry::new(&base), repo, "latest", &same))
    };
    for r in &replies {
        assert_eq!(
            r.status,
            201,
            "PUT same manifest: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(
            r.header("docker-content-digest"),
            Some(sha256_digest(&same))
        );
    }
    reg.assert_manifest(repo, "latest", &same);

    // 2. A different manifest per client under one tag: all succeed, one wins, and the
    //    tag serves exactly one of them, byte for byte.
    for round in 0..3 {
        let tag = format!("contended{round}");
        let candidates: Arc<Vec<Vec<u8>>> = Arc::new(
            (0..CLIENTS)
                .map(|i| manifest(&config, &layer, &format!("round {round} client {i}")))
                .collect(),
        );
        let base = server.url();
        let replies = {
            let (candidates, tag) = (candidates.clone(), tag.clone());
            race(move |i| put_manifest(&Registry::new(&base), repo, &tag, &candidates[i]))
        };
        for (i, r) in replies.iter().enumerate() {
            assert_eq!(r.status, 201, "client {i}: {} {}", r.status, r.text());
        }
        let got = reg
            .get_manifest(repo, &tag)
            .expect_status(200, "GET contended tag");
        let winner = candidates
            .iter()
            .find(|c| **c == got.body)
            .unwrap_or_else(|| panic!("{tag} serves none of the pushed manifests: {}", got.text()));
        assert_eq!(
            got.header("docker-content-digest"),
            Some(sha256_digest(winner))
        );
        // HEAD agrees with GET (containerd trusts HEAD's Content-Length).
        let head = reg.head(
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Accept", media::OCI_MANIFEST)],
        );
        assert_eq!(head.status, 200);
        assert_eq!(
            head.header("content-length"),
            Some(winner.len().to_string())
        );
        assert_eq!(
            head.header("docker-content-digest"),
            Some(sha256_digest(winner))
        );
        // Every loser is still there by digest.
        for c in candidates.iter() {
            reg.assert_manifest(repo, &sha256_digest(c), c);
        }
    }

    // 3. Tag listing is consistent after the races.
    let tags = reg
        .get(&format!("/v2/{repo}/tags/list"), &[])
        .expect_status(200, "tags/list")
        .json();
    assert_eq!(
        tags["tags"],
        json!(["contended0", "contended1", "contended2", "latest"])
    );
}
