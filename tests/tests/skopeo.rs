//! skopeo (with images built locally by umoci) against arca: multi-layer images,
//! multi-arch indexes, Docker v2s2, cross-repository mounts, inspect, list-tags, delete.

use std::fs;
use std::path::Path;
use std::process::Command;

use arca_e2e::layout::{Layout, random_files, referenced_blobs, umoci};
use arca_e2e::serde_json::{self, Value, json};
use arca_e2e::{Registry, Server, media, require_tool, run, sha256_digest};

/// `skopeo --insecure-policy` (the tests copy between local layouts and 127.0.0.1).
fn skopeo() -> Command {
    let mut cmd = Command::new(require_tool("skopeo"));
    cmd.arg("--insecure-policy");
    cmd
}

/// Checks over plain HTTP that `repo:tag` is exactly the layout's image `tag`.
fn assert_registry_has_image(reg: &Registry, repo: &str, tag: &str, layout: &Layout) {
    let (_, manifest) = layout.manifest(tag);
    reg.assert_manifest(repo, tag, &manifest);
    for digest in referenced_blobs(&manifest) {
        reg.assert_blob(repo, &layout.blob(&digest));
    }
}

/// Every blob skopeo wrote into a `dir:` destination is byte-identical to the source.
fn assert_dir_copy_matches(dir: &Path, manifest: &[u8], blob: impl Fn(&str) -> Vec<u8>) {
    let pulled = fs::read(dir.join("manifest.json")).expect("dir: manifest.json");
    assert!(
        pulled == manifest,
        "pulled manifest differs:\n got: {}\nwant: {}",
        String::from_utf8_lossy(&pulled),
        String::from_utf8_lossy(manifest)
    );
    for digest in referenced_blobs(manifest) {
        let hex = digest.strip_prefix("sha256:").expect("sha256");
        let got = fs::read(dir.join(hex)).unwrap_or_else(|e| panic!("pulled blob {digest}: {e}"));
        assert!(got == blob(&digest), "pulled blob {digest} differs");
    }
}

#[test]
fn skopeo_pushes_and_pulls_multi_layer_image_byte_identical() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build(
        "v1",
        &[
            random_files(&[300_000, 20_000], "opt/a"),
            random_files(&[1_500_000], "opt/b"),
            random_files(&[70_000, 1, 0], "etc/c"),
        ],
        "amd64",
    );
    let (digest, manifest) = layout.manifest("v1");
    assert_eq!(referenced_blobs(&manifest).len(), 4, "config + 3 layers");

    let dest = format!("docker://{}/skopeo/multi:v1", server.host_port());
    run(skopeo()
        .args(["copy", "--dest-tls-verify=false", "--preserve-digests"])
        .arg(layout.oci_ref("v1"))
        .arg(&dest));
    assert_registry_has_image(&server.registry(), "skopeo/multi", "v1", &layout);

    let out = arca_e2e::tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("pulled");
    run(skopeo()
        .args(["copy", "--src-tls-verify=false"])
        .arg(&dest)
        .arg(format!("dir:{}", dir.display())));
    assert_dir_copy_matches(&dir, &manifest, |d| layout.blob(d));

    // And by digest, into another OCI layout.
    let oci_out = out.path().join("oci");
    run(skopeo()
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!(
            "docker://{}/skopeo/multi@{digest}",
            server.host_port()
        ))
        .arg(format!("oci:{}:pulled", oci_out.display())));
    for digest in referenced_blobs(&manifest)
        .into_iter()
        .chain([digest.clone()])
    {
        let hex = digest.strip_prefix("sha256:").expect("sha256");
        let got = fs::read(oci_out.join("blobs/sha256").join(hex)).expect("pulled oci blob");
        assert!(
            got == layout.blob(&digest),
            "oci-pulled blob {digest} differs"
        );
    }
}

#[test]
fn skopeo_copy_all_pushes_and_pulls_multi_arch_index_byte_identical() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build("amd64", &[random_files(&[200_000], "usr/share")], "amd64");
    umoci(&[
        "config",
        "--image",
        &layout.image("amd64"),
        "--architecture",
        "arm64",
        "--tag",
        "arm64",
    ]);
    layout.add_layers("arm64", &[random_files(&[120_000], "usr/arm")], "arm64");
    layout.add_layers("amd64", &[random_files(&[90_000], "usr/amd")], "amd64");

    let child = |tag: &str, arch: &str| {
        let (digest, bytes) = layout.manifest(tag);
        json!({
            "mediaType": media::OCI_MANIFEST,
            "digest": digest,
            "size": bytes.len(),
            "platform": {"architecture": arch, "os": "linux"},
        })
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [child("amd64", "amd64"), child("arm64", "arm64")],
        "annotations": {"org.opencontainers.image.description": "arca e2e multi-arch"},
    }))
    .expect("serialise index");
    let index_digest = layout.add_index_entry("multi", media::OCI_INDEX, &index);

    let dest = format!("docker://{}/skopeo/multiarch:latest", server.host_port());
    run(skopeo()
        .args([
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--preserve-digests",
        ])
        .arg(layout.oci_ref("multi"))
        .arg(&dest));

    let reg = server.registry();
    let got = reg
        .get_manifest("skopeo/multiarch", "latest")
        .expect_status(200, "GET index");
    assert_eq!(
        got.header("content-type").as_deref(),
        Some(media::OCI_INDEX)
    );
    reg.assert_manifest("skopeo/multiarch", "latest", &index);
    for tag in ["amd64", "arm64"] {
        let (digest, manifest) = layout.manifest(tag);
        reg.assert_manifest("skopeo/multiarch", &digest, &manifest);
        for blob in referenced_blobs(&manifest) {
            reg.assert_blob("skopeo/multiarch", &layout.blob(&blob));
        }
    }

    let out = arca_e2e::tempfile::tempdir().expect("tempdir");
    let pulled = out.path().join("oci");
    run(skopeo()
        .args(["copy", "--all", "--src-tls-verify=false"])
        .arg(&dest)
        .arg(format!("oci:{}:multi", pulled.display())));
    let pulled_index: Value =
        serde_json::from_slice(&fs::read(pulled.join("index.json")).expect("index.json"))
            .expect("JSON");
    assert_eq!(
        pulled_index["manifests"][0]["digest"],
        index_digest.as_str()
    );
    let files = arca_e2e::read_tree(&pulled.join("blobs/sha256"));
    // index + 2 manifests + 2 configs + shared layer + one own layer each.
    assert_eq!(
        files.len(),
        8,
        "pulled blobs: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in files {
        let digest = format!("sha256:{}", name.display());
        assert!(
            bytes == layout.blob(&digest),
            "pulled {digest} differs from the source"
        );
    }
}

#[test]
fn skopeo_pushes_docker_v2s2_and_pulls_it_back_identical() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build(
        "v1",
        &[random_files(&[400_000], "a"), random_files(&[30_000], "b")],
        "amd64",
    );
    let dest = format!("docker://{}/skopeo/docker:v1", server.host_port());
    run(skopeo()
        .args(["copy", "--dest-tls-verify=false", "--format", "v2s2"])
        .arg(layout.oci_ref("v1"))
        .arg(&dest));

    let reg = server.registry();
    let got = reg
        .get(
            "/v2/skopeo/docker/manifests/v1",
            &[("Accept", media::DOCKER_MANIFEST)],
        )
        .expect_status(200, "GET docker manifest");
    assert_eq!(
        got.header("content-type").as_deref(),
        Some(media::DOCKER_MANIFEST)
    );
    let manifest = got.body.clone();
    let parsed: Value = serde_json::from_slice(&manifest).expect("JSON");
    assert_eq!(parsed["mediaType"], media::DOCKER_MANIFEST);
    assert_eq!(parsed["schemaVersion"], 2);
    reg.assert_manifest("skopeo/docker", "v1", &manifest);

    // The layers are the umoci layers, unchanged; the config is whatever skopeo pushed.
    let (_, oci_manifest) = layout.manifest("v1");
    let oci_layers = &referenced_blobs(&oci_manifest)[1..];
    let docker_blobs = referenced_blobs(&manifest);
    assert_eq!(&docker_blobs[1..], oci_layers);
    for layer in oci_layers {
        reg.assert_blob("skopeo/docker", &layout.blob(layer));
    }
    let config = reg
        .get(&format!("/v2/skopeo/docker/blobs/{}", docker_blobs[0]), &[])
        .expect_status(200, "GET docker config")
        .body;
    assert_eq!(sha256_digest(&config), docker_blobs[0]);

    let raw = run(skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(&dest));
    assert_eq!(raw.as_bytes(), manifest.as_slice(), "skopeo inspect --raw");

    let out = arca_e2e::tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("pulled");
    run(skopeo()
        .args(["copy", "--src-tls-verify=false"])
        .arg(&dest)
        .arg(format!("dir:{}", dir.display())));
    assert_dir_copy_matches(&dir, &manifest, |d| {
        if d == docker_blobs[0] {
            config.clone()
        } else {
            layout.blob(d)
        }
    });
}

#[test]
fn skopeo_copy_between_repositories_uses_cross_repo_mount() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build(
        "v1",
        &[random_files(&[250_000], "x"), random_files(&[60_000], "y")],
        "amd64",
    );
    let hp = server.host_port();
    run(skopeo()
        .args(["copy", "--dest-tls-verify=false", "--preserve-digests"])
        .arg(layout.oci_ref("v1"))
        .arg(format!("docker://{hp}/skopeo/mount-src:v1")));

    let out = arca_e2e::run_output(
        skopeo()
            .args([
                "--debug",
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg(format!("docker://{hp}/skopeo/mount-src:v1"))
            .arg(format!("docker://{hp}/skopeo/mount-dst:v1")),
        std::time::Duration::from_secs(300),
    );
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "repo-to-repo copy failed:\n{log}");
    assert_registry_has_image(&server.registry(), "skopeo/mount-dst", "v1", &layout);

    // skopeo mounted every layer it knew was in mount-src, and uploaded none of them
    // (containers/image never tries to reuse the config blob: that one it uploads).
    let (_, manifest) = layout.manifest("v1");
    for layer in &referenced_blobs(&manifest)[1..] {
        let hex = layer.strip_prefix("sha256:").expect("sha256");
        let mounted = log
            .lines()
            .any(|l| l.contains("POST ") && l.contains("mount=sha256%3A") && l.contains(hex));
        assert!(
            mounted,
            "skopeo never tried to mount layer {layer}; its debug log:\n{log}"
        );
        let uploaded: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("PUT ") && l.contains("/blobs/uploads/") && l.contains(hex))
            .collect();
        assert!(
            uploaded.is_empty(),
            "layer {layer} was uploaded although it could be mounted:\n{}\nfull log:\n{log}",
            uploaded.join("\n")
        );
    }

    // The mount endpoint itself, as the spec says: 201 + Location + Docker-Content-Digest.
    let layer = referenced_blobs(&manifest)[1].clone();
    let reply = server
        .registry()
        .send(
            "POST",
            &format!("/v2/skopeo/mount-third/blobs/uploads/?mount={layer}&from=skopeo/mount-src"),
            &[("Content-Length", "0")],
            None,
        )
        .expect_status(201, "POST ?mount=&from=");
    assert_eq!(
        reply.header("docker-content-digest").as_deref(),
        Some(layer.as_str())
    );
    assert!(
        reply.header("location").is_some(),
        "mount 201 without Location"
    );
    server
        .registry()
        .assert_blob("skopeo/mount-third", &layout.blob(&layer));
}

#[test]
fn skopeo_inspect_list_tags_and_delete() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build("one", &[random_files(&[50_000], "one")], "amd64");
    layout.build("two", &[random_files(&[40_000], "two")], "amd64");
    let hp = server.host_port();
    let repo = format!("docker://{hp}/skopeo/tags");
    for (src, tag) in [("one", "v1"), ("one", "v2"), ("two", "v3")] {
        run(skopeo()
            .args(["copy", "--dest-tls-verify=false", "--preserve-digests"])
            .arg(layout.oci_ref(src))
            .arg(format!("{repo}:{tag}")));
    }
    let (one_digest, one) = layout.manifest("one");
    let (two_digest, _) = layout.manifest("two");

    let inspect: Value = serde_json::from_str(&run(skopeo()
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("{repo}:v1"))))
    .expect("inspect JSON");
    assert_eq!(inspect["Digest"], one_digest.as_str());
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    let layers: Vec<String> = referenced_blobs(&one)[1..].to_vec();
    assert_eq!(inspect["Layers"], json!(layers));
    let mut repo_tags: Vec<String> = inspect["RepoTags"]
        .as_array()
        .expect("RepoTags")
        .iter()
        .map(|t| t.as_str().expect("tag").to_string())
        .collect();
    repo_tags.sort();
    assert_eq!(repo_tags, ["v1", "v2", "v3"]);
    let raw = run(skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("{repo}:v2")));
    assert_eq!(raw.as_bytes(), one.as_slice());
    let config = run(skopeo()
        .args(["inspect", "--config", "--raw", "--tls-verify=false"])
        .arg(format!("{repo}:v1")));
    assert_eq!(
        config.as_bytes(),
        layout.blob(&referenced_blobs(&one)[0]).as_slice()
    );

    let list_tags = |expect: &[&str]| {
        let listed: Value = serde_json::from_str(&run(skopeo()
            .args(["list-tags", "--tls-verify=false"])
            .arg(&repo)))
        .expect("list-tags JSON");
        let mut tags: Vec<String> = listed["Tags"]
            .as_array()
            .expect("Tags")
            .iter()
            .map(|t| t.as_str().expect("tag").to_string())
            .collect();
        tags.sort();
        assert_eq!(tags, expect, "skopeo list-tags: {listed}");
    };
    list_tags(&["v1", "v2", "v3"]);

    run(skopeo()
        .args(["delete", "--tls-verify=false"])
        .arg(format!("{repo}:v3")));
    let reg = server.registry();
    reg.get_manifest("skopeo/tags", "v3")
        .expect_status(404, "GET deleted tag");
    reg.get_manifest("skopeo/tags", &two_digest)
        .expect_status(404, "GET deleted manifest by digest");
    reg.assert_manifest("skopeo/tags", "v1", &one);
    list_tags(&["v1", "v2"]);
    let gone = arca_e2e::run_output(
        skopeo()
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("{repo}:v3")),
        std::time::Duration::from_secs(120),
    );
    assert!(!gone.status.success(), "inspect of a deleted tag succeeded");
    // skopeo reads the OCI error body: a MANIFEST_UNKNOWN code reads "manifest unknown".
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        stderr.contains("manifest unknown"),
        "skopeo did not see MANIFEST_UNKNOWN for a deleted tag: {stderr}"
    );
}
