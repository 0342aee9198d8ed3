//! The plugin against signatures made by independent implementations: the `openssl` CLI
//! (cosign format), Python `cryptography` / `jwcrypto` / `cbor2` (Notation JWS and COSE,
//! Rekor entries) and sigstore-js with @sigstore/mock (Sigstore bundles). They live in
//! `tests/fixtures/`, made by `tests/py/signature_fixtures.py unit` (see its README).

use std::path::{Path, PathBuf};

use arca_plugin_sdk::prelude::*;
use arca_plugin_sdk::testing::Harness;
use arca_plugin_signature::Signature;
use serde_json::{Value, json};

const IDENTITY: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const OIDC_ISSUER: &str = "https://token.actions.example.com";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = fixtures().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

fn verify_at() -> u64 {
    let t: Value = serde_json::from_slice(&read("times.json")).unwrap();
    t["verifyAt"].as_u64().unwrap()
}

/// Every piece of trust material the fixtures were made with, but the "other" key and the
/// rogue CA.
fn settings() -> Value {
    json!({
        "keys": [
            {"name": "release-key", "pem": text("trust/cosign-release.pub.pem")},
            {"name": "rsa-key", "pem": text("trust/cosign-rsa.pub.pem")},
            {"name": "ed-key", "pem": text("trust/cosign-ed25519.pub.pem")},
            {"name": "p384-key", "pem": text("trust/cosign-p384.pub.pem")},
        ],
        "notation": {"trust_stores": [
            {"name": "acme-ca", "certificates_pem": text("trust/notation-acme-root.pem")},
        ]},
        "sigstore": {
            "fulcio_roots": [
                {"name": "fulcio-test", "pem": text("trust/fulcio-py.pem")},
                {"name": "sigstore-mock", "pem": text("trust/sigstore-mock-fulcio-root.pem")},
            ],
            "rekor_keys": [
                {"name": "rekor-test", "pem": text("trust/rekor-py.pub.pem")},
                {"name": "rekor-mock", "pem": text("trust/sigstore-mock-rekor.pub.pem")},
            ],
            "identities": [{"name": "release-ci", "issuer": OIDC_ISSUER, "subject": IDENTITY}],
        },
    })
}

fn descriptor(v: &Value) -> Descriptor {
    let mut annotations: Vec<(String, String)> = v["annotations"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    annotations.sort();
    Descriptor {
        media_type: v["mediaType"].as_str().unwrap().to_string(),
        digest: v["digest"].as_str().unwrap().to_string(),
        size: v["size"].as_u64().unwrap(),
        artifact_type: v["artifactType"].as_str().map(str::to_string),
        annotations,
    }
}

/// A fixture case as the host would hand it to the plugin, with `settings`.
fn case_with(name: &str, settings: Value) -> (Harness, Manifest) {
    let dir = fixtures().join(name);
    let raw = std::fs::read(dir.join("manifest.json")).unwrap();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let mut h = Harness::new().with_config(settings).with_now(verify_at());
    for entry in std::fs::read_dir(dir.join("blobs")).unwrap() {
        h.blob(
            "application/octet-stream",
            std::fs::read(entry.unwrap().path()).unwrap(),
        );
    }
    // The subject is readable too (the host serves it to referrers).
    h.blob("application/octet-stream", read("subject.json"));
    let m = Manifest {
        repository: "acme/app".into(),
        tag: meta["tag"].as_str().map(str::to_string),
        digest: meta["digest"].as_str().unwrap().to_string(),
        media_type: v["mediaType"].as_str().unwrap().to_string(),
        artifact_type: v["artifactType"].as_str().map(str::to_string),
        config: Some(descriptor(&v["config"])),
        layers: v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(descriptor)
            .collect(),
        subject: v.get("subject").map(descriptor),
        annotations: descriptor(&json!({"mediaType": "", "digest": "", "size": 0,
            "annotations": v["annotations"]}))
        .annotations,
        raw,
    };
    (h, m)
}

fn case(name: &str) -> (Harness, Manifest) {
    case_with(name, settings())
}

fn subject_digest(name: &str) -> String {
    let meta: Value = serde_json::from_slice(&read(format!("{name}/meta.json"))).unwrap();
    meta["subject"].as_str().unwrap().to_string()
}

fn facet(facets: &[Facet], name: &str) -> Vec<String> {
    facets
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.value.clone())
        .collect()
}

/// Validate (must accept) and index.
fn indexed(h: &Harness, m: &Manifest) -> Document {
    match h.validate::<Signature>(m) {
        Verdict::Accept(_) => {}
        Verdict::Reject(v) => panic!("refused: {v:?}"),
    }
    h.index::<Signature>(m).unwrap().expect("a document")
}

fn assert_verified(name: &str, by: &str, tool: &str, format: &str) -> Document {
    assert_verified_with(name, settings(), by, tool, format)
}

fn assert_verified_with(
    name: &str,
    settings: Value,
    by: &str,
    tool: &str,
    format: &str,
) -> Document {
    let (h, m) = case_with(name, settings);
    let doc = indexed(&h, &m);
    assert_eq!(doc.json["verified"], true, "{name}: {:#}", doc.json);
    assert_eq!(facet(&doc.facets, "signature.verified"), ["true"], "{name}");
    assert_eq!(facet(&doc.facets, "signature.verified-by"), [by], "{name}");
    assert_eq!(facet(&doc.facets, "signature.format"), [format], "{name}");
    assert_eq!(
        facet(&doc.facets, "signature.signed"),
        [subject_digest(name)],
        "{name}"
    );
    assert_eq!(facet(&doc.subject_facets, "signature.present"), ["true"]);
    assert_eq!(facet(&doc.subject_facets, "signature.verified"), ["true"]);
    assert_eq!(facet(&doc.subject_facets, "signature.verified-by"), [by]);
    assert_eq!(facet(&doc.subject_facets, "signature.tool"), [tool]);
    doc
}

fn assert_unverified(name: &str, reason: &str) -> Document {
    assert_unverified_with(name, settings(), reason)
}

fn assert_unverified_with(name: &str, settings: Value, reason: &str) -> Document {
    let (h, m) = case_with(name, settings);
    let doc = indexed(&h, &m);
    assert_eq!(doc.json["verified"], false, "{name}: {:#}", doc.json);
    let why = doc.json["reason"].as_str().unwrap_or_default();
    assert!(
        why.contains(reason),
        "{name}: reason {why:?} lacks {reason:?}"
    );
    assert_eq!(facet(&doc.facets, "signature.verified"), ["false"]);
    assert!(facet(&doc.facets, "signature.verified-by").is_empty());
    // Still a signature of its subject, just not a verified one.
    assert_eq!(facet(&doc.subject_facets, "signature.present"), ["true"]);
    assert!(facet(&doc.subject_facets, "signature.verified").is_empty());
    assert!(facet(&doc.subject_facets, "signature.verified-by").is_empty());
    doc
}

fn assert_refused(name: &str, path: &str, message: &str) {
    let (h, m) = case(name);
    match h.validate::<Signature>(&m) {
        Verdict::Reject(v) => assert!(
            v.iter()
                .any(|v| v.path == path && v.message.contains(message)),
            "{name}: no violation at {path:?} saying {message:?}: {v:#?}"
        ),
        Verdict::Accept(w) => panic!("{name}: accepted (warnings {w:?})"),
    }
    // Indexed anyway (e.g. pushed while the plugin was off), it claims nothing.
    let doc = h.index::<Signature>(&m).unwrap().unwrap();
    assert_eq!(doc.json["valid"], false);
    assert!(doc.subject_facets.is_empty());
}

fn checked(doc: &Document) -> String {
    doc.json["signatures"].to_string()
}

// ---- cosign legacy ------------------------------------------------------------------

#[test]
fn cosign_p256_signature_made_with_openssl_is_verified_and_lands_on_the_tagged_digest() {
    let doc = assert_verified(
        "cosign-p256",
        "release-key",
        "cosign",
        "cosign-simplesigning",
    );
    // The `.sig` manifest has no subject: the document names it from the tag.
    assert_eq!(
        doc.subject.as_deref(),
        Some(subject_digest("cosign-p256").as_str())
    );
    assert!(facet(&doc.subject_facets, "signature.identity").is_empty());
}

#[test]
fn cosign_rsa_ed25519_and_p384_keys_verify() {
    assert_verified("cosign-rsa", "rsa-key", "cosign", "cosign-simplesigning");
    assert_verified("cosign-ed25519", "ed-key", "cosign", "cosign-simplesigning");
    assert_verified("cosign-p384", "p384-key", "cosign", "cosign-simplesigning");
}

#[test]
fn cosign_signature_by_an_unknown_key_is_accepted_but_unverified() {
    assert_unverified(
        "cosign-wrong-key",
        "no configured key verifies this signature",
    );
    assert_unverified_with("cosign-p256", json!({}), "no public key is configured");
}

#[test]
fn cosign_payload_changed_after_signing_is_unverified() {
    assert_unverified("cosign-tampered-payload", "no configured key verifies");
}

#[test]
fn cosign_payload_naming_another_digest_than_its_tag_is_refused() {
    assert_refused(
        "cosign-other-digest",
        "layers/0:/critical/image/docker-manifest-digest",
        "but the tag",
    );
}

#[test]
fn cosign_signature_that_is_not_base64_is_refused() {
    assert_refused(
        "cosign-bad-base64",
        "/layers/0/annotations/dev.cosignproject.cosign~1signature",
        "base64",
    );
}

#[test]
fn cosign_rekor_bundle_set_is_verified_when_a_rekor_key_is_configured() {
    let doc = assert_verified(
        "cosign-p256-rekor",
        "release-key",
        "cosign",
        "cosign-simplesigning",
    );
    assert!(
        checked(&doc).contains("signed entry timestamp verified with Rekor key \\\"rekor-test\\\"")
    );
    assert!(checked(&doc).contains("records this signature and signer"));
    // Without a Rekor key the key still verifies; the bundle is reported unchecked.
    let mut s = settings();
    s["sigstore"]["rekor_keys"] = json!([]);
    let doc = assert_verified_with(
        "cosign-p256-rekor",
        s,
        "release-key",
        "cosign",
        "cosign-simplesigning",
    );
    assert!(checked(&doc).contains("not checked"));
}

#[test]
fn cosign_rekor_bundle_from_an_unknown_log_fails_verification() {
    assert_unverified(
        "cosign-p256-rekor-bad-set",
        "none of the configured Rekor keys",
    );
}

#[test]
fn cosign_keyless_signature_verifies_at_the_logged_time_with_its_identity() {
    let doc = assert_verified(
        "cosign-keyless",
        "release-ci",
        "cosign",
        "cosign-simplesigning",
    );
    assert_eq!(facet(&doc.subject_facets, "signature.identity"), [IDENTITY]);
    assert_eq!(facet(&doc.facets, "signature.identity"), [IDENTITY]);
    assert!(checked(&doc).contains("at signing time"));
}

#[test]
fn cosign_keyless_certificate_expired_when_logged_is_unverified() {
    assert_unverified("cosign-keyless-expired", "expired at signing time");
}

#[test]
fn cosign_keyless_signature_of_an_unconfigured_identity_is_unverified() {
    let mut s = settings();
    s["sigstore"]["identities"] = json!([{"name": "other", "issuer": OIDC_ISSUER,
        "subject": "https://github.com/acme/other/*"}]);
    assert_unverified_with(
        "cosign-keyless",
        s,
        "no configured Sigstore identity matches",
    );
    let mut s = settings();
    s["sigstore"]["identities"] = json!([{"issuer": OIDC_ISSUER,
        "subject": "https://github.com/acme/app/*"}]);
    // A prefix pattern, and the name defaults to the pattern.
    assert_verified_with(
        "cosign-keyless",
        s,
        "https://github.com/acme/app/*",
        "cosign",
        "cosign-simplesigning",
    );
}

// ---- Notation -------------------------------------------------------------------------

#[test]
fn notation_jws_es256_with_a_test_ca_is_verified_by_the_trust_store() {
    let doc = assert_verified("notation-jws-es256", "acme-ca", "notation", "notation-jws");
    assert_eq!(
        facet(&doc.subject_facets, "signature.identity"),
        ["release@acme.example"]
    );
    assert_eq!(doc.subject, None, "a referrer's subject counts");
    assert!(checked(&doc).contains("ES256 signature verified"));
}

#[test]
fn notation_jws_ps256_and_a_chain_without_its_root_verify() {
    let doc = assert_verified("notation-jws-ps256", "acme-ca", "notation", "notation-jws");
    // No SAN: the subject is the identity.
    assert_eq!(
        facet(&doc.subject_facets, "signature.identity"),
        ["CN=Acme RSA Signing,O=Acme"]
    );
    assert_verified(
        "notation-jws-without-root",
        "acme-ca",
        "notation",
        "notation-jws",
    );
}

#[test]
fn notation_cose_envelopes_are_verified() {
    assert_verified(
        "notation-cose-es256",
        "acme-ca",
        "notation",
        "notation-cose",
    );
    assert_verified(
        "notation-cose-ps256",
        "acme-ca",
        "notation",
        "notation-cose",
    );
}

#[test]
fn notation_chain_that_reaches_no_configured_root_is_unverified() {
    assert_unverified("notation-jws-untrusted", "not a configured trusted root");
    // The same chain trusted through the store that holds its root.
    let mut s = settings();
    s["notation"]["trust_stores"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "rogue", "certificates_pem": text("trust/notation-rogue-root.pem")}));
    assert_verified_with(
        "notation-jws-untrusted",
        s,
        "rogue",
        "notation",
        "notation-jws",
    );
    assert_unverified_with(
        "notation-jws-es256",
        json!({}),
        "no Notation trust store is configured",
    );
}

#[test]
fn notation_certificate_expired_at_signing_time_is_unverified() {
    assert_unverified("notation-jws-expired", "expired at signing time");
}

#[test]
fn notation_signature_past_its_expiry_is_unverified() {
    assert_unverified("notation-jws-expired-signature", "the signature expired at");
}

#[test]
fn notation_envelopes_with_a_changed_signature_are_unverified() {
    assert_unverified("notation-jws-tampered", "does not verify");
    assert_unverified("notation-cose-tampered", "does not verify");
}

#[test]
fn notation_thumbprints_that_do_not_match_the_chain_are_refused() {
    assert_refused(
        "notation-jws-bad-thumbprint",
        "/annotations/io.cncf.notary.x509chain.thumbprint#S256",
        "do not match",
    );
}

#[test]
fn notation_payload_naming_another_artifact_than_the_subject_is_refused() {
    assert_refused(
        "notation-jws-other-target",
        "layers/0:/payload/targetArtifact/digest",
        "but the manifest's subject is",
    );
}

#[test]
fn notation_jws_without_required_headers_is_refused() {
    assert_refused(
        "notation-jws-no-crit",
        "layers/0:/protected/crit",
        "is required",
    );
    assert_refused(
        "notation-jws-no-signing-time",
        "layers/0:/protected/io.cncf.notary.signingTime",
        "is required",
    );
}

// ---- Sigstore bundles -----------------------------------------------------------------

#[test]
fn sigstore_js_message_signature_bundle_is_verified_with_its_log_proofs() {
    let doc = assert_verified(
        "sigstore-message",
        "release-ci",
        "sigstore",
        "sigstore-bundle",
    );
    assert_eq!(facet(&doc.subject_facets, "signature.identity"), [IDENTITY]);
    let c = checked(&doc);
    assert!(
        c.contains("signed entry timestamp verified with Rekor key \\\"rekor-mock\\\""),
        "{c}"
    );
    assert!(c.contains("inclusion proof verified"), "{c}");
    assert!(c.contains("hashedrekord/0.0.1"), "{c}");
    assert!(c.contains("at signing time"), "{c}");
}

#[test]
fn sigstore_js_dsse_bundles_are_verified() {
    let doc = assert_verified("sigstore-dsse", "release-ci", "sigstore", "sigstore-bundle");
    assert!(checked(&doc).contains("dsse/0.0.1"));
    let doc = assert_verified(
        "sigstore-dsse-intoto",
        "release-ci",
        "sigstore",
        "sigstore-bundle",
    );
    assert!(checked(&doc).contains("intoto/0.0.2"));
}

#[test]
fn sigstore_bundles_that_were_tampered_with_are_unverified() {
    assert_unverified("sigstore-tampered-signature", "does not verify");
    assert_unverified(
        "sigstore-tampered-tlog",
        "signed entry timestamp does not verify",
    );
    assert_unverified("sigstore-tampered-proof", "inclusion proof");
}

#[test]
fn sigstore_bundles_need_the_log_key_root_and_identity() {
    let mut s = settings();
    s["sigstore"]["rekor_keys"] = json!([]);
    assert_unverified_with("sigstore-dsse", s, "no Rekor key is configured");
    let mut s = settings();
    s["sigstore"]["fulcio_roots"] = json!([]);
    assert_unverified_with("sigstore-dsse", s, "no Fulcio root is configured");
    let mut s = settings();
    s["sigstore"]["identities"] = json!([]);
    assert_unverified_with("sigstore-dsse", s, "no Sigstore identity is configured");
}

#[test]
fn sigstore_bundle_for_another_manifest_than_its_subject_is_refused() {
    assert_refused(
        "sigstore-other-subject",
        "layers/0:/messageSignature/messageDigest/digest",
        "but the manifest's subject is",
    );
    assert_refused(
        "sigstore-dsse-other-subject",
        "layers/0:/dsseEnvelope/payload/subject",
        "not the manifest's subject",
    );
}

#[test]
fn cosign_image_with_several_signatures_is_verified_when_one_verifies() {
    let (h, good) = case("cosign-p256");
    let (_, other) = case("cosign-wrong-key");
    let mut m = good.clone();
    m.layers = vec![other.layers[0].clone(), good.layers[0].clone()];
    // Both payloads are the same bytes, so one harness serves both layers.
    let doc = indexed(&h, &m);
    assert_eq!(doc.json["verified"], true, "{:#}", doc.json);
    assert_eq!(
        facet(&doc.subject_facets, "signature.verified-by"),
        ["release-key"]
    );
    assert_eq!(doc.json["signatures"][0]["verified"], false);
    assert_eq!(doc.json["signatures"][1]["verified"], true);
}

#[test]
fn cosign_signature_pushed_without_its_tag_names_its_subject_from_the_payload() {
    let (h, mut m) = case("cosign-p256");
    m.tag = None;
    let doc = indexed(&h, &m);
    assert_eq!(
        doc.subject.as_deref(),
        Some(subject_digest("cosign-p256").as_str())
    );
}

#[test]
fn referrer_signatures_without_a_subject_are_refused() {
    for name in ["sigstore-dsse", "notation-jws-es256"] {
        let (h, mut m) = case(name);
        m.subject = None;
        match h.validate::<Signature>(&m) {
            Verdict::Reject(v) => assert_eq!(v[0].path, "/subject", "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

// ---- everything else --------------------------------------------------------------------

#[test]
fn manifests_that_are_not_signatures_are_left_alone() {
    let mut h = Harness::new();
    let config = h.blob("application/vnd.oci.image.config.v1+json", "{}");
    let m = h.manifest(None, config, vec![]);
    assert_eq!(h.validate::<Signature>(&m), Verdict::accept());
    assert_eq!(h.index::<Signature>(&m).unwrap(), None);
}

#[test]
fn invalid_settings_trust_nothing_and_say_why() {
    let doc = assert_unverified_with(
        "cosign-p256",
        json!({"keys": [{"name": "k", "pem": text("trust/cosign-release.pub.pem")}], "typo": 1}),
        "no public key is configured",
    );
    assert!(doc.json["trustProblems"].to_string().contains("invalid"));
    let doc = assert_unverified_with(
        "cosign-p256",
        json!({"keys": [{"name": "broken", "pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}),
        "no public key is configured",
    );
    assert!(doc.json["trustProblems"].to_string().contains("broken"));
}

#[test]
fn info_declares_the_signature_media_types() {
    let info = <Signature as Plugin>::info();
    assert_eq!(info.name, "signature");
    assert!(info.validate && info.index && !info.render);
    for t in [
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.dev.sigstore.bundle*",
        "application/vnd.cncf.notary.signature",
    ] {
        assert!(info.handles.iter().any(|h| h == t), "{t}");
    }
}
