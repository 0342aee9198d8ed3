//! oras-py (`oras==0.2.43`) against arca: typed artifacts, referrers, chunked uploads.
//!
//! The scenarios live in `tests/py/oras_e2e.py`; each checks its own pulls byte for byte
//! and prints a `RESULT {json}` line that these tests re-check over plain HTTP.

use std::time::Duration;

use arca_e2e::serde_json::Value;
use arca_e2e::{Server, media, py_scenario, python};

/// Runs one scenario of `oras_e2e.py` against `server`; returns its RESULT JSON.
fn oras_scenario(server: &Server, scenario: &str) -> Value {
    py_scenario(
        &python(),
        "oras_e2e.py",
        scenario,
        server,
        &[],
        Duration::from_secs(300),
    )
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string in RESULT")
}

#[test]
fn oras_py_pushes_and_pulls_typed_artifacts_byte_identical() {
    let server = Server::start();
    let result = oras_scenario(&server, "artifact");
    let reg = server.registry();
    let repo = s(&result["repo"]);
    for (tag, digest) in result["manifests"].as_object().expect("manifests") {
        let by_tag = reg
            .get_manifest(repo, tag)
            .expect_status(200, "GET artifact manifest by tag");
        assert_eq!(arca_e2e::sha256_digest(&by_tag.body), s(digest));
        let by_digest = reg
            .get_manifest(repo, s(digest))
            .expect_status(200, "GET artifact manifest by digest");
        assert_eq!(by_tag.body, by_digest.body);
        assert_eq!(
            by_tag.header("content-type").as_deref(),
            Some(media::OCI_MANIFEST)
        );
    }
    for digest in result["blobs"].as_object().expect("blobs").values() {
        let blob = reg
            .get(&format!("/v2/{repo}/blobs/{}", s(digest)), &[])
            .expect_status(200, "GET artifact blob");
        assert_eq!(arca_e2e::sha256_digest(&blob.body), s(digest));
    }
}

#[test]
fn oras_py_referrers_are_listed_and_filtered_by_artifact_type() {
    let server = Server::start();
    let result = oras_scenario(&server, "referrers");
    let reg = server.registry();
    let repo = s(&result["repo"]);
    let subject = s(&result["subject"]);
    let referrers = result["referrers"].as_object().expect("referrers");

    let all = reg
        .get(&format!("/v2/{repo}/referrers/{subject}"), &[])
        .expect_status(200, "GET referrers");
    assert!(
        all.header("content-type")
            .unwrap_or_default()
            .starts_with(media::OCI_INDEX),
        "referrers Content-Type: {:?}",
        all.header("content-type")
    );
    let index = all.json();
    let mut listed: Vec<(String, String)> = index["manifests"]
        .as_array()
        .expect("manifests array")
        .iter()
        .map(|m| {
            (
                s(&m["artifactType"]).to_string(),
                s(&m["digest"]).to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut want: Vec<(String, String)> = referrers
        .iter()
        .map(|(t, d)| (t.clone(), s(d).to_string()))
        .collect();
    want.sort();
    assert_eq!(listed, want, "referrers index: {index}");

    for (artifact_type, digest) in referrers {
        let filtered = reg
            .get(
                &format!("/v2/{repo}/referrers/{subject}?artifactType={artifact_type}"),
                &[],
            )
            .expect_status(200, "GET referrers?artifactType=");
        let index = filtered.json();
        let digests: Vec<&str> = index["manifests"]
            .as_array()
            .expect("manifests array")
            .iter()
            .map(|m| s(&m["digest"]))
            .collect();
        assert_eq!(digests, vec![s(digest)], "filtered by {artifact_type}");
        assert_eq!(
            filtered.header("oci-filters-applied").as_deref(),
            Some("artifactType")
        );
    }

    // A subject nobody refers to has an empty list, not a 404.
    let unknown = arca_e2e::sha256_digest(b"nobody refers to this");
    let empty = reg
        .get(&format!("/v2/{repo}/referrers/{unknown}"), &[])
        .expect_status(200, "GET referrers of an unknown subject");
    assert_eq!(empty.json()["manifests"], Value::Array(vec![]));
}

#[test]
fn oras_py_chunked_upload_roundtrips_byte_identical() {
    let server = Server::start();
    let result = oras_scenario(&server, "chunked");
    let reg = server.registry();
    let repo = s(&result["repo"]);
    for digest in result["blobs"].as_array().expect("blobs") {
        let path = format!("/v2/{repo}/blobs/{}", s(digest));
        let blob = reg.get(&path, &[]).expect_status(200, "GET chunked blob");
        assert_eq!(arca_e2e::sha256_digest(&blob.body), s(digest));
        let head = reg.head(&path, &[]).expect_status(200, "HEAD chunked blob");
        assert_eq!(
            head.header("content-length"),
            Some(blob.body.len().to_string())
        );
    }
}
