//! cosign's legacy signature format: an image tagged `sha256-<hex>.sig` whose layers are
//! simple-signing payloads, each with its signature in an annotation.
//!
//! ```text
//! layer  application/vnd.dev.cosign.simplesigning.v1+json
//!   bytes        {"critical":{"identity":{"docker-reference":…},
//!                 "image":{"docker-manifest-digest":"sha256:…"},
//!                 "type":"cosign container image signature"},"optional":…}
//!   annotations  dev.cosignproject.cosign/signature  base64(signature over the bytes)
//!                dev.sigstore.cosign/certificate     PEM (keyless / certificate signing)
//!                dev.sigstore.cosign/chain           PEM intermediates and root
//!                dev.sigstore.cosign/bundle          Rekor entry with its SET
//! ```

use arca_plugin_sdk::prelude::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::encoding::{b64, parse_digest, rfc3339};
use crate::rekor::{self, Entry, Signed};
use crate::trust::Trust;
use crate::x509::{Cert, verify_chain};
use crate::{Check, MAX_BLOB, pointer};

pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
pub const ANN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
pub const ANN_CHAIN: &str = "dev.sigstore.cosign/chain";
pub const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";

/// One signature layer.
pub struct Layer {
    pub index: usize,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    pub cert: Option<Cert>,
    pub chain: Vec<Cert>,
    pub bundle: Option<Entry>,
    pub docker_reference: Option<String>,
}

/// A structurally valid cosign signature image.
pub struct Parsed {
    /// The digest every payload signs.
    pub signed: String,
    pub layers: Vec<Layer>,
}

/// The digest a `sha256-<hex>.sig` tag names.
pub fn tag_digest(tag: &str) -> Option<String> {
    let stem = tag.strip_suffix(".sig")?;
    let (alg, hex) = stem.split_once('-')?;
    let d = format!("{alg}:{hex}");
    parse_digest(&d).ok()?;
    Some(d)
}

pub fn parse(m: &Manifest, cx: &Context) -> Result<Parsed, Vec<Violation>> {
    let mut errors = Vec::new();
    let tag = m.tag.as_deref().and_then(tag_digest);
    let mut layers = Vec::new();
    let mut signed: Option<String> = None;
    for (i, l) in m.layers.iter().enumerate() {
        if l.essence() != SIMPLESIGNING {
            continue;
        }
        let ann = |k: &str| format!("/layers/{i}/annotations/{}", pointer(k));
        let mut bad = |path: String, msg: String| errors.push(Violation::new(path, msg));
        let signature = match l.annotation(ANN_SIGNATURE) {
            None => {
                bad(
                    ann(ANN_SIGNATURE),
                    "is required: the base64 signature over the layer".into(),
                );
                None
            }
            Some(s) => match b64(s) {
                Ok(sig) if !sig.is_empty() => Some(sig),
                Ok(_) => {
                    bad(ann(ANN_SIGNATURE), "is empty".into());
                    None
                }
                Err(e) => {
                    bad(ann(ANN_SIGNATURE), e);
                    None
                }
            },
        };
        let cert = match l.annotation(ANN_CERTIFICATE) {
            None => None,
            Some(pem) => match Cert::from_pem_all(pem) {
                Ok(mut c) => Some(c.remove(0)),
                Err(e) => {
                    bad(ann(ANN_CERTIFICATE), e);
                    None
                }
            },
        };
        let chain = match l.annotation(ANN_CHAIN) {
            None => Vec::new(),
            Some(pem) => Cert::from_pem_all(pem).unwrap_or_else(|e| {
                bad(ann(ANN_CHAIN), e);
                Vec::new()
            }),
        };
        let bundle = match l.annotation(ANN_BUNDLE) {
            None => None,
            Some(text) => match rekor::parse_cosign_bundle(text) {
                Ok(b) => Some(b),
                Err(e) => {
                    bad(ann(ANN_BUNDLE), e);
                    None
                }
            },
        };
        let blob = format!("layers/{i}:");
        let payload = match cx.read_all(&l.digest, MAX_BLOB) {
            Ok(p) => p,
            Err(e) => {
                bad(format!("/layers/{i}"), e);
                continue;
            }
        };
        let json: Value = match serde_json::from_slice(&payload) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                bad(
                    blob,
                    "the simple-signing payload must be a JSON object".into(),
                );
                continue;
            }
            Err(e) => {
                bad(blob, format!("the simple-signing payload is not JSON: {e}"));
                continue;
            }
        };
        let digest = match json.pointer("/critical/image/docker-manifest-digest") {
            Some(Value::String(d)) => match parse_digest(d) {
                Ok(_) => d.clone(),
                Err(e) => {
                    bad(format!("{blob}/critical/image/docker-manifest-digest"), e);
                    continue;
                }
            },
            _ => {
                bad(
                    format!("{blob}/critical/image/docker-manifest-digest"),
                    "is required: the digest of the signed manifest".into(),
                );
                continue;
            }
        };
        if let Some(t) = &tag
            && *t != digest
        {
            bad(
                format!("{blob}/critical/image/docker-manifest-digest"),
                format!(
                    "signs {digest}, but the tag {:?} names {t}",
                    m.tag.as_deref().unwrap_or("")
                ),
            );
        }
        if let Some(s) = &m.subject
            && s.digest != digest
        {
            bad(
                format!("{blob}/critical/image/docker-manifest-digest"),
                format!("signs {digest}, but the manifest's subject is {}", s.digest),
            );
        }
        if let Some(first) = &signed
            && *first != digest
        {
            bad(
                format!("{blob}/critical/image/docker-manifest-digest"),
                format!("signs {digest}, but another layer signs {first}"),
            );
        }
        signed.get_or_insert(digest);
        if let Some(signature) = signature {
            layers.push(Layer {
                index: i,
                docker_reference: json
                    .pointer("/critical/identity/docker-reference")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                payload,
                signature,
                cert,
                chain,
                bundle,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(signed) = signed else {
        return Err(vec![Violation::new(
            "/layers",
            format!("a cosign signature needs at least one {SIMPLESIGNING} layer"),
        )]);
    };
    Ok(Parsed { signed, layers })
}

impl Parsed {
    pub fn verify(&self, trust: &Trust, now: i64) -> Vec<Check> {
        self.layers
            .iter()
            .map(|l| verify_layer(l, trust, now))
            .collect()
    }
}

fn verify_layer(l: &Layer, trust: &Trust, now: i64) -> Check {
    let mut c = Check::default();
    c.details.insert("layer".into(), l.index.into());
    if let Some(r) = &l.docker_reference {
        c.details.insert("dockerReference".into(), r.clone().into());
    }
    let sha = Sha256::digest(&l.payload).to_vec();
    let signed = Signed::Message {
        sha256: &sha,
        signature: &l.signature,
    };
    match &l.cert {
        Some(cert) => verify_with_certificate(&mut c, l, cert, signed, trust, now),
        None => verify_with_keys(&mut c, l, signed, trust),
    }
    c
}

fn verify_with_keys(c: &mut Check, l: &Layer, signed: Signed<'_>, trust: &Trust) {
    c.details.insert("method".into(), "public key".into());
    let Some((name, key)) = trust.keys.iter().find(|(_, k)| {
        k.verify(k.sigstore_scheme(), &l.payload, &l.signature)
            .is_ok()
    }) else {
        c.fail(if trust.keys.is_empty() {
            "no public key is configured (settings `keys`)"
        } else {
            "no configured key verifies this signature"
        });
        return;
    };
    c.checked.push(format!(
        "signature verified with configured key {name:?} ({})",
        key.describe()
    ));
    if let Some(entry) = &l.bundle {
        if trust.rekor.is_empty() {
            c.checked.push(
                "transparency-log bundle present but not checked: no Rekor key is configured"
                    .into(),
            );
        } else if let Err(e) = check_entry(c, entry, signed, &key.spki_der(), trust) {
            c.fail(e);
            return;
        }
    }
    c.verified_by = Some(name.clone());
}

fn check_entry(
    c: &mut Check,
    entry: &Entry,
    signed: Signed<'_>,
    signer: &[u8],
    trust: &Trust,
) -> Result<Option<i64>, String> {
    let outcome = rekor::verify(entry, &trust.rekor)?;
    let kind = rekor::check_body(entry, signed, signer)?;
    c.checked.extend(outcome.checked);
    c.checked.push(format!(
        "the log entry ({kind}) records this signature and signer"
    ));
    if let Some(t) = outcome.integrated_time {
        c.details.insert("integratedTime".into(), rfc3339(t).into());
    }
    Ok(outcome.integrated_time)
}

fn verify_with_certificate(
    c: &mut Check,
    l: &Layer,
    cert: &Cert,
    signed: Signed<'_>,
    trust: &Trust,
    now: i64,
) {
    c.details.insert("method".into(), "certificate".into());
    c.details
        .insert("certificateSubject".into(), cert.subject().into());
    c.details
        .insert("certificateIdentity".into(), cert.identity().into());
    if let Some(i) = cert.fulcio_issuer() {
        c.details.insert("certificateIssuer".into(), i.into());
    }
    let key = match &cert.key {
        Ok(k) => k,
        Err(e) => return c.fail(format!("the certificate's key cannot be used: {e}")),
    };
    if let Err(e) = key.verify(key.sigstore_scheme(), &l.payload, &l.signature) {
        return c.fail(format!(
            "the signature does not verify with the certificate's key: {e}"
        ));
    }
    c.checked
        .push("signature verified with the certificate's key".into());
    let mut signing_time = None;
    if let Some(entry) = &l.bundle {
        match check_entry(c, entry, signed, &cert.der, trust) {
            Ok(t) => signing_time = t,
            Err(e) => return c.fail(e),
        }
    }
    let (at, when) = match signing_time {
        Some(t) => (t, "signing time"),
        None => (now, "verification time"),
    };
    let mut chain = vec![cert.clone()];
    chain.extend(l.chain.iter().cloned());
    if let Err(e) = cert.may_sign_code() {
        return c.fail(e);
    }
    let mut last = "no Fulcio root is configured (settings `sigstore.fulcio_roots`)".to_string();
    let root = trust.fulcio.iter().find_map(|store| {
        verify_chain(&chain, &store.certs, at, when)
            .map_err(|e| last = e)
            .ok()
            .map(|_| store.name.clone())
    });
    let Some(root) = root else {
        return c.fail(last);
    };
    c.checked.push(format!(
        "certificate chain verified to Fulcio root {root:?} at {when} {}",
        rfc3339(at)
    ));
    match trust.identity_of(cert) {
        Ok((id, san)) => {
            c.checked.push(format!(
                "certificate identity {san:?} matches {:?}",
                id.name()
            ));
            c.verified_by = Some(id.name().to_string());
            c.identity = Some(san);
        }
        Err(e) => c.fail(e),
    }
}
