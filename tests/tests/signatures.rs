//! Signatures against a running arca with the `signature` plugin and trust material made in
//! the test: Sigstore bundles signed by sigstore-js (against @sigstore/mock's Fulcio and
//! Rekor) and attached with @sigstore/oci; cosign legacy `.sig` images signed with the
//! `openssl` CLI; Notation JWS and COSE envelopes from a CA made with Python
//! `cryptography` (`tests/py/signature_fixtures.py`, `tests/js/sigstore.js`).
//!
//! Every tool is required (`tests/tools/install-signature-tools.sh` installs them): a
//! missing one fails the test. The plugin is built in (`signature`) and configured with a
//! TOML file; before it is built in, `ARCA_SIGNATURE_PLUGIN_WASM=<.wasm>` loads it from a
//! file instead.
//!
//! `policy_*` tests configure a `[[policy]]` and need the host's policy mechanism.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arca_e2e::serde_json::{self, Value, json};
use arca_e2e::{
    Registry, Server, media, percent_encode, python_with, random_bytes, random_name, require_tool,
    run_output, sha256_digest, tempfile, workspace_root,
};

const IDENTITY: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const OIDC_ISSUER: &str = "https://token.actions.example.com";

/// The policy of the enforcement tests, exactly as an operator writes it.
const POLICY: &str = r#"
[[policy]]
name = "prod-signed"
repositories = ["prod/**"]
actions = ["pull", "tag"]          # pull: GET/HEAD of a manifest; tag: PUT of a manifest by tag
require = [{ facet = "signature.verified-by", value = "release-key" }]
"#;

/// The tools, checked once per test: a missing one fails it.
struct Tools {
    python: PathBuf,
    node: PathBuf,
}

fn tools() -> Tools {
    require_tool("openssl");
    let node = require_tool("node");
    let js = workspace_root().join("tests/js");
    for package in [
        "sigstore",
        "@sigstore/mock",
        "@sigstore/oci",
        "promise-retry",
    ] {
        assert!(
            js.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file(),
            "required node package `{package}` is missing from tests/js/node_modules: run \
             tests/tools/install-signature-tools.sh (tests/run does)"
        );
    }
    Tools {
        python: python_with(&["cryptography", "jwcrypto", "cbor2"]),
        node,
    }
}

fn fixtures_script() -> PathBuf {
    workspace_root().join("tests/py/signature_fixtures.py")
}

fn sigstore_script() -> PathBuf {
    workspace_root().join("tests/js/sigstore.js")
}

/// Runs a command; panics with its output unless it succeeds; returns stdout.
fn check(cmd: &mut Command, what: &str) -> String {
    let out = run_output(cmd, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn toml_string(s: &str) -> String {
    // A JSON string is a valid TOML basic string for this ASCII text (PEM, names, URLs).
    serde_json::to_string(s).unwrap()
}

/// A server with the signature plugin configured to trust what `Env::new` made.
struct Env {
    tools: Tools,
    dir: tempfile::TempDir,
    server: Server,
}

impl Env {
    fn new(policy: bool) -> Env {
        let tools = tools();
        let dir = tempfile::Builder::new()
            .prefix("arca-signatures-")
            .tempdir()
            .unwrap();
        check(
            Command::new(&tools.python)
                .arg(fixtures_script())
                .arg("e2e-trust")
                .arg(dir.path().join("trust")),
            "signature_fixtures.py e2e-trust",
        );
        check(
            Command::new(&tools.node)
                .arg(sigstore_script())
                .arg("trust")
                .arg(dir.path().join("sigstore")),
            "sigstore.js trust",
        );
        let pem = |p: &str| toml_string(&std::fs::read_to_string(dir.path().join(p)).unwrap());
        let mut config = String::new();
        if let Some(wasm) = std::env::var_os("ARCA_SIGNATURE_PLUGIN_WASM").filter(|w| !w.is_empty())
        {
            config.push_str(&format!(
                "[plugins]\nfiles = [{}]\n\n",
                toml_string(&PathBuf::from(wasm).display().to_string())
            ));
        }
        config.push_str(&format!(
            r#"[plugin.signature]
on_error = "reject"

[plugin.signature.settings]
keys = [{{ name = "release-key", pem = {release} }}]

[plugin.signature.settings.notation]
trust_stores = [{{ name = "acme-ca", certificates_pem = {acme} }}]

[plugin.signature.settings.sigstore]
fulcio_roots = [{{ name = "sigstore-mock", pem = {fulcio} }}]
rekor_keys = [{{ name = "rekor-mock", pem = {rekor} }}]
identities = [{{ name = "release-ci", issuer = {issuer}, subject = {subject} }}]
"#,
            release = pem("trust/release.pub.pem"),
            acme = pem("trust/acme-root.pem"),
            fulcio = pem("sigstore/fulcio-root.pem"),
            rekor = pem("sigstore/rekor.pub.pem"),
            issuer = toml_string(OIDC_ISSUER),
            subject = toml_string(IDENTITY),
        ));
        if policy {
            config.push_str(POLICY);
        }
        let path = dir.path().join("arca.toml");
        std::fs::write(&path, config).unwrap();
        let server = Server::start_with_args(&["--config", path.to_str().unwrap()]);
        Env { tools, dir, server }
    }

    fn reg(&self) -> Registry {
        self.server.registry()
    }

    /// Pushes a small linux/amd64 image; returns (digest, manifest bytes).
    fn push_image(&self, repo: &str, reference: Option<&str>) -> (String, Vec<u8>) {
        let reg = self.reg();
        let config = json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []}})
        .to_string()
        .into_bytes();
        let layer = random_bytes(512);
        reg.push_blob(repo, &config);
        reg.push_blob(repo, &layer);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": sha256_digest(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha256_digest(&layer), "size": layer.len()}],
        }))
        .unwrap();
        let digest = sha256_digest(&manifest);
        reg.push_manifest(
            repo,
            reference.unwrap_or(&digest),
            media::OCI_MANIFEST,
            &manifest,
        );
        (digest, manifest)
    }

    fn subject(digest: &str, manifest: &[u8]) -> String {
        json!({"mediaType": media::OCI_MANIFEST, "digest": digest, "size": manifest.len()})
            .to_string()
    }

    /// A cosign `.sig` image for `subject`, made by the fixture script (openssl).
    fn cosign(&self, repo: &str, subject: &str, extra: &[&str]) -> PathBuf {
        let trust = self.dir.path().join("trust");
        let out = self.dir.path().join(random_name("sig-"));
        let mut cmd = Command::new(&self.tools.python);
        cmd.arg(fixtures_script())
            .args([
                "cosign",
                trust.to_str().unwrap(),
                repo,
                subject,
                out.to_str().unwrap(),
            ])
            .args(extra);
        check(&mut cmd, "signature_fixtures.py cosign");
        out
    }

    /// A Notation signature manifest for the subject descriptor `subject` (JSON).
    fn notation(&self, subject: &str, extra: &[&str]) -> PathBuf {
        let trust = self.dir.path().join("trust");
        let out = self.dir.path().join(random_name("sig-"));
        let mut cmd = Command::new(&self.tools.python);
        cmd.arg(fixtures_script())
            .args([
                "notation",
                trust.to_str().unwrap(),
                subject,
                out.to_str().unwrap(),
            ])
            .args(extra);
        check(&mut cmd, "signature_fixtures.py notation");
        out
    }

    /// Signs `digest` in `repo` with sigstore-js and attaches the bundle with @sigstore/oci.
    fn sigstore_attach(&self, kind: &str, repo: &str, digest: &str) -> Value {
        let out = check(
            Command::new(&self.tools.node)
                .arg(sigstore_script())
                .arg("attach")
                .arg(self.dir.path().join("sigstore"))
                .args([kind, IDENTITY])
                .arg(format!("{}/{repo}", self.server.host_port()))
                .arg(digest),
            "sigstore.js attach",
        );
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap_or_else(|| panic!("no RESULT from sigstore.js attach:\n{out}"));
        serde_json::from_str(line).unwrap()
    }

    /// Pushes an artifact made by the fixture script (blobs, then the manifest under its
    /// tag or by digest); returns the manifest PUT's reply and the manifest digest.
    fn push_artifact(&self, repo: &str, dir: &Path) -> (arca_e2e::Reply, String) {
        let reg = self.reg();
        for entry in std::fs::read_dir(dir.join("blobs")).unwrap() {
            reg.push_blob(repo, &std::fs::read(entry.unwrap().path()).unwrap());
        }
        let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
        let meta: Value =
            serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
        let digest = sha256_digest(&manifest);
        let reference = meta["tag"].as_str().unwrap_or(&digest).to_string();
        let reply = reg.send(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media::OCI_MANIFEST)],
            Some(manifest),
        );
        (reply, digest)
    }

    fn push_signature(&self, repo: &str, dir: &Path) -> String {
        let (reply, digest) = self.push_artifact(repo, dir);
        reply.expect_status(201, "push signature");
        digest
    }

    /// `(repository, digest)` of every search hit for `facet` (`NAME:VALUE`).
    fn search(&self, facet: &str) -> Vec<(String, String)> {
        let reply = self
            .reg()
            .get(
                &format!("/_arca/v1/search?facet={}", percent_encode(facet)),
                &[],
            )
            .expect_status(200, "search");
        reply.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["repository"].as_str().unwrap().to_string(),
                    r["digest"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The signature plugin's document about a manifest.
    fn document(&self, repo: &str, digest: &str) -> Value {
        let reply = self
            .reg()
            .get(
                &format!("/_arca/v1/repositories/{repo}/manifests/{digest}/documents"),
                &[],
            )
            .expect_status(200, "documents");
        let docs = reply.json();
        let d = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["plugin"] == "signature")
            .unwrap_or_else(|| panic!("no signature document for {repo}@{digest}: {docs:#}"))
            .clone();
        assert_eq!(d["state"], "done", "{d:#}");
        d["document"].clone()
    }
}

fn hit(repo: &str, digest: &str) -> (String, String) {
    (repo.to_string(), digest.to_string())
}

// ---- recognising, verifying, indexing ------------------------------------------------------

#[test]
fn sigstore_js_bundles_attached_with_sigstore_oci_are_verified_and_searchable() {
    let env = Env::new(false);
    let repo = "acme/app";
    let (image, _) = env.push_image(repo, Some("1.0"));

    // cosign's bundle format: a DSSE envelope over an in-toto statement naming the image.
    let dsse = env.sigstore_attach("dsse", repo, &image);
    assert_eq!(
        dsse["subjectDigest"],
        image.as_str(),
        "arca answers OCI-Subject"
    );
    let referrer = dsse["referrer"].as_str().unwrap();
    let referrers = env
        .reg()
        .get(&format!("/v2/{repo}/referrers/{image}"), &[])
        .expect_status(200, "referrers")
        .json();
    assert_eq!(referrers["manifests"][0]["digest"], referrer);
    assert!(
        referrers["manifests"][0]["artifactType"]
            .as_str()
            .unwrap()
            .starts_with("application/vnd.dev.sigstore.bundle"),
        "{referrers:#}"
    );

    // Searchable right after the push, on the image.
    assert!(
        env.search("signature.verified-by:release-ci")
            .contains(&hit(repo, &image))
    );
    assert!(
        env.search(&format!("signature.identity:{IDENTITY}"))
            .contains(&hit(repo, &image))
    );
    assert!(
        env.search("signature.tool:sigstore")
            .contains(&hit(repo, &image))
    );
    let doc = env.document(repo, referrer);
    assert_eq!(doc["verified"], true, "{doc:#}");
    assert_eq!(doc["format"], "sigstore-bundle");
    assert_eq!(doc["signed"], image.as_str());
    let checked = doc["signatures"][0]["checked"].to_string();
    assert!(checked.contains("inclusion proof verified"), "{checked}");
    assert!(
        checked.contains("signed entry timestamp verified"),
        "{checked}"
    );
    // The referrer itself says what it is.
    assert!(
        env.search("signature.format:sigstore-bundle")
            .contains(&hit(repo, referrer))
    );

    // A message signature over the manifest's bytes (sigstore-js `sign`).
    let (image2, _) = env.push_image(repo, Some("2.0"));
    let message = env.sigstore_attach("message", repo, &image2);
    let doc = env.document(repo, message["referrer"].as_str().unwrap());
    assert_eq!(doc["verified"], true, "{doc:#}");
    assert!(
        env.search("signature.verified-by:release-ci")
            .contains(&hit(repo, &image2))
    );
}

/// Pushes `bundle` as a referrer of `subject` (digest, manifest bytes) the way
/// @sigstore/oci does; returns the PUT's reply and the referrer's digest.
fn attach_bundle(
    env: &Env,
    repo: &str,
    bundle: &Value,
    subject: (&str, &[u8]),
) -> (arca_e2e::Reply, String) {
    let reg = env.reg();
    let bytes = serde_json::to_vec(bundle).unwrap();
    reg.push_blob(repo, &bytes);
    reg.push_blob(repo, b"{}");
    let media_type = bundle["mediaType"].as_str().unwrap();
    let referrer = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "artifactType": media_type,
        "config": {"mediaType": media::OCI_EMPTY, "digest": sha256_digest(b"{}"), "size": 2},
        "layers": [{"mediaType": media_type, "digest": sha256_digest(&bytes), "size": bytes.len()}],
        "subject": {"mediaType": media::OCI_MANIFEST, "digest": subject.0, "size": subject.1.len()},
    }))
    .unwrap();
    let digest = sha256_digest(&referrer);
    let reply = reg.send(
        "PUT",
        &format!("/v2/{repo}/manifests/{digest}"),
        &[("Content-Type", media::OCI_MANIFEST)],
        Some(referrer),
    );
    (reply, digest)
}

#[test]
fn sigstore_bundle_changed_after_signing_is_stored_but_unverified() {
    let env = Env::new(false);
    let repo = "acme/tampered";
    let (image, manifest) = env.push_image(repo, Some("1.0"));
    let attached = env.sigstore_attach("dsse", repo, &image);

    // The genuine bundle with its log time moved: the SET no longer covers the entry.
    let mut bundle = attached["bundle"].clone();
    let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
    let t: i64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
    entry["integratedTime"] = (t - 3600).to_string().into();
    let (reply, digest) = attach_bundle(&env, repo, &bundle, (&image, &manifest));
    reply.expect_status(201, "push a tampered bundle");
    let doc = env.document(repo, &digest);
    assert_eq!(doc["verified"], false, "{doc:#}");
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("signed entry timestamp does not verify"),
        "{doc:#}"
    );

    // The genuine bundle attached to another image than the one it signs: refused.
    let (image2, manifest2) = env.push_image(repo, Some("2.0"));
    let (reply, _) = attach_bundle(&env, repo, &attached["bundle"], (&image2, &manifest2));
    assert_eq!(reply.status, 400, "{}", reply.text());
    let err = reply.json();
    assert_eq!(err["errors"][0]["code"], "MANIFEST_INVALID");
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("signature") && message.contains("subject"),
        "{message}"
    );
    assert!(
        !env.search("signature.present:true")
            .contains(&hit(repo, &image2))
    );
}

#[test]
fn cosign_legacy_signatures_built_with_openssl_land_on_the_tagged_image() {
    let env = Env::new(false);
    let repo = "acme/cosign";
    let (image, _) = env.push_image(repo, Some("1.0"));
    let sig = env.cosign(repo, &image, &[]);
    let sig_digest = env.push_signature(repo, &sig);
    let tag = format!("{}.sig", image.replace(':', "-"));
    env.reg()
        .get_manifest(repo, &tag)
        .expect_status(200, "GET the .sig tag");

    assert!(
        env.search("signature.verified-by:release-key")
            .contains(&hit(repo, &image))
    );
    assert!(
        env.search("signature.tool:cosign")
            .contains(&hit(repo, &image))
    );
    let doc = env.document(repo, &sig_digest);
    assert_eq!(doc["verified"], true, "{doc:#}");
    assert_eq!(doc["format"], "cosign-simplesigning");
    assert_eq!(doc["signed"], image.as_str());
    assert_eq!(doc["subjectFromTag"], true);

    // Signed by a key nobody configured: stored, indexed as present but unverified.
    let (image2, _) = env.push_image(repo, Some("2.0"));
    let other = env.cosign(repo, &image2, &["--key", "other"]);
    let other_digest = env.push_signature(repo, &other);
    let doc = env.document(repo, &other_digest);
    assert_eq!(doc["verified"], false);
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("no configured key verifies")
    );
    assert!(
        env.search("signature.present:true")
            .contains(&hit(repo, &image2))
    );
    assert!(
        !env.search("signature.verified-by:release-key")
            .contains(&hit(repo, &image2))
    );

    // The payload changed after signing: unverified.
    let (image3, _) = env.push_image(repo, Some("3.0"));
    let tampered = env.cosign(repo, &image3, &["--tamper"]);
    let tampered_digest = env.push_signature(repo, &tampered);
    assert_eq!(env.document(repo, &tampered_digest)["verified"], false);
    assert!(
        !env.search("signature.verified-by:release-key")
            .contains(&hit(repo, &image3))
    );

    // A payload naming another image than its tag: refused, the plugin named.
    let (image4, _) = env.push_image(repo, Some("4.0"));
    let lying = env.cosign(repo, &image4, &["--payload-digest", &image]);
    let (reply, _) = env.push_artifact(repo, &lying);
    assert_eq!(reply.status, 400, "{}", reply.text());
    let err = reply.json();
    assert_eq!(err["errors"][0]["code"], "MANIFEST_INVALID");
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("signature") && message.contains("docker-manifest-digest"),
        "{message}"
    );
}

#[test]
fn notation_signatures_from_a_test_ca_are_verified_by_the_trust_store() {
    let env = Env::new(false);
    let repo = "acme/notation";
    let (image, manifest) = env.push_image(repo, Some("1.0"));
    let subject = Env::subject(&image, &manifest);

    let jws = env.notation(&subject, &[]);
    let jws_digest = env.push_signature(repo, &jws);
    let doc = env.document(repo, &jws_digest);
    assert_eq!(doc["verified"], true, "{doc:#}");
    assert_eq!(doc["format"], "notation-jws");
    assert!(
        env.search("signature.verified-by:acme-ca")
            .contains(&hit(repo, &image))
    );
    assert!(
        env.search("signature.identity:release@acme.example")
            .contains(&hit(repo, &image))
    );
    let referrers = env
        .reg()
        .get(
            &format!(
                "/v2/{repo}/referrers/{image}?artifactType=application/vnd.cncf.notary.signature"
            ),
            &[],
        )
        .expect_status(200, "referrers")
        .json();
    assert_eq!(referrers["manifests"][0]["digest"], jws_digest.as_str());

    let (image2, manifest2) = env.push_image(repo, Some("2.0"));
    let cose = env.notation(&Env::subject(&image2, &manifest2), &["--envelope", "cose"]);
    let cose_digest = env.push_signature(repo, &cose);
    assert_eq!(env.document(repo, &cose_digest)["format"], "notation-cose");
    assert!(
        env.search("signature.verified-by:acme-ca")
            .contains(&hit(repo, &image2))
    );

    // A CA nobody trusts, and a certificate expired before it signed: stored, unverified.
    let (image3, manifest3) = env.push_image(repo, Some("3.0"));
    let rogue = env.notation(&Env::subject(&image3, &manifest3), &["--ca", "rogue"]);
    let rogue_digest = env.push_signature(repo, &rogue);
    let doc = env.document(repo, &rogue_digest);
    assert_eq!(doc["verified"], false);
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("not a configured trusted root"),
        "{doc:#}"
    );
    let expired = env.notation(&Env::subject(&image3, &manifest3), &["--expired"]);
    let expired_digest = env.push_signature(repo, &expired);
    let doc = env.document(repo, &expired_digest);
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("expired at signing time"),
        "{doc:#}"
    );
    assert!(
        !env.search("signature.verified-by:acme-ca")
            .contains(&hit(repo, &image3))
    );

    // Thumbprints that do not match the chain: refused.
    let bad = env.notation(&Env::subject(&image3, &manifest3), &["--bad-thumbprint"]);
    let (reply, _) = env.push_artifact(repo, &bad);
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("thumbprint"), "{}", reply.text());
}

// ---- enforcement (needs the host's [[policy]] mechanism) ------------------------------------

fn assert_denied(reply: arca_e2e::Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.text());
    if !reply.body.is_empty() {
        let err = reply.json();
        assert_eq!(err["errors"][0]["code"], "DENIED", "{what}: {err}");
        assert!(
            err["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("prod-signed"),
            "{what}: the message names the rule: {err}"
        );
    }
}

#[test]
fn policy_requires_a_verified_signature_to_pull_and_tag_in_prod() {
    let env = Env::new(true);
    let reg = env.reg();
    let repo = "prod/app";
    // Pushed by digest (not a tag): allowed; nothing signs it yet.
    let (image, manifest) = env.push_image(repo, None);
    assert_denied(
        reg.get_manifest(repo, &image),
        "GET an unsigned prod manifest",
    );
    assert_denied(
        reg.head(
            &format!("/v2/{repo}/manifests/{image}"),
            &[("Accept", media::ACCEPT_ALL)],
        ),
        "HEAD an unsigned prod manifest",
    );
    assert_denied(
        reg.send(
            "PUT",
            &format!("/v2/{repo}/manifests/1.0"),
            &[("Content-Type", media::OCI_MANIFEST)],
            Some(manifest.clone()),
        ),
        "tag an unsigned prod manifest",
    );

    // A `.sig` by another key is itself a tag of something release-key did not sign.
    let other = env.cosign(repo, &image, &["--key", "other"]);
    let (reply, _) = env.push_artifact(repo, &other);
    assert_denied(reply, "tag a .sig made with an unknown key");
    // A referrer (pushed by digest) from a CA nobody trusts is stored, and changes nothing.
    let rogue = env.notation(&Env::subject(&image, &manifest), &["--ca", "rogue"]);
    env.push_signature(repo, &rogue);
    assert_denied(
        reg.get_manifest(repo, &image),
        "GET a prod manifest signed by an unknown CA",
    );

    // Signed with release-key (cosign's `.sig` tag carries `signature.verified-by` itself):
    // the very next pull sees it.
    let sig = env.cosign(repo, &image, &[]);
    env.push_signature(repo, &sig);
    let pulled = reg
        .get_manifest(repo, &image)
        .expect_status(200, "GET a signed prod manifest right after signing");
    assert_eq!(pulled.body, manifest);
    reg.push_manifest(repo, "1.0", media::OCI_MANIFEST, &manifest);
    reg.get_manifest(repo, "1.0")
        .expect_status(200, "GET the signed prod manifest by tag");

    // Outside prod/** nothing is required.
    let (dev, _) = env.push_image("dev/app", Some("1.0"));
    reg.get_manifest("dev/app", &dev)
        .expect_status(200, "GET an unsigned dev manifest");
}

#[test]
fn policy_lets_a_signed_index_vouch_for_the_manifests_it_lists() {
    let env = Env::new(true);
    let reg = env.reg();
    let repo = "prod/multi";
    let (amd64, amd64_bytes) = env.push_image(repo, None);
    let (arm64, arm64_bytes) = env.push_image(repo, None);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [
            {"mediaType": media::OCI_MANIFEST, "digest": amd64, "size": amd64_bytes.len(),
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": media::OCI_MANIFEST, "digest": arm64, "size": arm64_bytes.len(),
             "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }))
    .unwrap();
    let index_digest = reg.push_manifest(repo, &sha256_digest(&index), media::OCI_INDEX, &index);
    assert_denied(
        reg.get_manifest(repo, &arm64),
        "GET a child of an unsigned index",
    );

    let sig = env.cosign(repo, &index_digest, &[]);
    env.push_signature(repo, &sig);
    reg.get_manifest(repo, &index_digest)
        .expect_status(200, "GET the signed index");
    for child in [&amd64, &arm64] {
        reg.get_manifest(repo, child)
            .expect_status(200, "GET a manifest listed by a signed index");
    }
}
