//! containerd's `ctr` against arca, each test with PRIVATE containerd daemons (own root,
//! state and socket in a temp dir): import an image built by umoci, push it with
//! `ctr images push --plain-http`, pull it into a second daemon and compare every byte.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use arca_e2e::layout::{Layout, random_files, referenced_blobs, umoci};
use arca_e2e::serde_json::{self, json};
use arca_e2e::{Server, media, require_tool, run, run_output, sha256_digest};

/// A private containerd daemon; killed and cleaned up on drop.
struct Containerd {
    child: Child,
    dir: arca_e2e::tempfile::TempDir,
    socket: PathBuf,
}

impl Containerd {
    fn start() -> Containerd {
        let containerd = require_tool("containerd");
        require_tool("ctr");
        let dir = arca_e2e::tempfile::Builder::new()
            .prefix("arca-ctd-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        let socket = root.join("c.sock");
        let config = format!(
            r#"version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
"#,
            root = root.display(),
            sock = socket.display(),
        );
        let config_path = root.join("config.toml");
        fs::write(&config_path, config).expect("write containerd config");
        let log = fs::File::create(root.join("containerd.log")).expect("log file");
        let child = Command::new(containerd)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let mut daemon = Containerd { child, dir, socket };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if daemon.socket.exists() {
                let out = run_output(daemon.ctr().arg("version"), Duration::from_secs(30));
                if out.status.success() {
                    break;
                }
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("containerd exited ({status}):\n{}", daemon.log());
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come up in 60 s:\n{}",
                daemon.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr -a <socket> -n arca-e2e`, with the native snapshotter (works on any filesystem).
    fn ctr(&self) -> Command {
        let mut cmd = Command::new(require_tool("ctr"));
        cmd.arg("-a")
            .arg(&self.socket)
            .args(["-n", "arca-e2e"])
            .env("CONTAINERD_SNAPSHOTTER", "native");
        cmd
    }

    /// `ctr content get <digest>`: the bytes the daemon stored.
    fn content(&self, digest: &str) -> Vec<u8> {
        let out = run_output(
            self.ctr().args(["content", "get", digest]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "ctr content get {digest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The digest `ctr images ls` shows for `reference`.
    fn image_digest(&self, reference: &str) -> String {
        let listing = run(self.ctr().args(["images", "ls"]));
        listing
            .lines()
            .find_map(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                (cols.first() == Some(&reference)).then(|| cols[2].to_string())
            })
            .unwrap_or_else(|| panic!("{reference} not in `ctr images ls`:\n{listing}"))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "---- containerd log (last 40 lines) ----\n{}",
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

/// Writes the layout's image `tag` as an oci-archive whose ref name is `tag`.
fn oci_archive(layout: &Layout, tag: &str, all: bool) -> (arca_e2e::tempfile::TempDir, PathBuf) {
    let dir = arca_e2e::tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("image.tar");
    let mut cmd = Command::new(require_tool("skopeo"));
    cmd.args(["--insecure-policy", "copy"]);
    if all {
        cmd.arg("--all");
    }
    run(cmd
        .arg(layout.oci_ref(tag))
        .arg(format!("oci-archive:{}:{tag}", archive.display())));
    (dir, archive)
}

#[test]
fn ctr_pushes_image_and_pulls_it_back_byte_identical() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build(
        "v1",
        &[
            random_files(&[400_000, 3_000], "srv/a"),
            random_files(&[900_000], "srv/b"),
        ],
        "amd64",
    );
    let (manifest_digest, manifest) = layout.manifest("v1");
    let (_tmp, archive) = oci_archive(&layout, "v1", false);
    let reference = format!("{}/ctr/app:v1", server.host_port());

    let pusher = Containerd::start();
    run(pusher
        .ctr()
        .args(["images", "import", "--no-unpack", "--base-name"])
        .arg(format!("{}/ctr/app", server.host_port()))
        .arg(&archive));
    assert_eq!(pusher.image_digest(&reference), manifest_digest);
    run(pusher
        .ctr()
        .args(["images", "push", "--plain-http"])
        .arg(&reference));

    let reg = server.registry();
    reg.assert_manifest("ctr/app", "v1", &manifest);
    for blob in referenced_blobs(&manifest) {
        reg.assert_blob("ctr/app", &layout.blob(&blob));
    }

    let puller = Containerd::start();
    run(puller
        .ctr()
        .args(["images", "pull", "--plain-http"])
        .arg(&reference));
    assert_eq!(puller.image_digest(&reference), manifest_digest);
    assert!(
        puller.content(&manifest_digest) == manifest,
        "pulled manifest differs"
    );
    for blob in referenced_blobs(&manifest) {
        assert!(
            puller.content(&blob) == layout.blob(&blob),
            "pulled blob {blob} differs"
        );
    }

    // Pulling by digest works too (HEAD then GET by digest).
    let by_digest = format!("{}/ctr/app@{manifest_digest}", server.host_port());
    let third = Containerd::start();
    run(third
        .ctr()
        .args(["images", "pull", "--plain-http"])
        .arg(&by_digest));
    assert!(third.content(&manifest_digest) == manifest);
}

#[test]
fn ctr_pushes_multi_platform_index_and_pulls_all_platforms_byte_identical() {
    let server = Server::start();
    let layout = Layout::new();
    layout.build("amd64", &[random_files(&[150_000], "base")], "amd64");
    umoci(&[
        "config",
        "--image",
        &layout.image("amd64"),
        "--architecture",
        "arm64",
        "--tag",
        "arm64",
    ]);
    layout.add_layers("arm64", &[random_files(&[80_000], "arm")], "arm64");
    let child = |tag: &str, arch: &str| {
        let (digest, bytes) = layout.manifest(tag);
        json!({
            "mediaType": media::OCI_MANIFEST, "digest": digest, "size": bytes.len(),
            "platform": {"architecture": arch, "os": "linux"},
        })
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [child("amd64", "amd64"), child("arm64", "arm64")],
    }))
    .expect("serialise");
    let index_digest = layout.add_index_entry("multi", media::OCI_INDEX, &index);
    let (_tmp, archive) = oci_archive(&layout, "multi", true);
    let reference = format!("{}/ctr/multi:multi", server.host_port());

    let pusher = Containerd::start();
    run(pusher
        .ctr()
        .args([
            "images",
            "import",
            "--no-unpack",
            "--all-platforms",
            "--base-name",
        ])
        .arg(format!("{}/ctr/multi", server.host_port()))
        .arg(&archive));
    assert_eq!(pusher.image_digest(&reference), index_digest);
    run(pusher
        .ctr()
        .args(["images", "push", "--plain-http"])
        .arg(&reference));

    let reg = server.registry();
    reg.assert_manifest("ctr/multi", "multi", &index);
    let mut all_blobs = vec![index_digest.clone()];
    for tag in ["amd64", "arm64"] {
        let (digest, manifest) = layout.manifest(tag);
        reg.assert_manifest("ctr/multi", &digest, &manifest);
        all_blobs.push(digest);
        for blob in referenced_blobs(&manifest) {
            reg.assert_blob("ctr/multi", &layout.blob(&blob));
            all_blobs.push(blob);
        }
    }

    let puller = Containerd::start();
    run(puller
        .ctr()
        .args(["images", "pull", "--plain-http", "--all-platforms"])
        .arg(&reference));
    assert_eq!(puller.image_digest(&reference), index_digest);
    for digest in all_blobs {
        let got = puller.content(&digest);
        assert_eq!(sha256_digest(&got), digest);
        assert!(got == layout.blob(&digest), "pulled {digest} differs");
    }
}
