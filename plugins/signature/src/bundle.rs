//! Sigstore bundles (v0.1–v0.3) attached to an image as an OCI 1.1 referrer, as
//! `@sigstore/oci` and cosign's bundle format push them:
//!
//! ```text
//! artifactType  application/vnd.dev.sigstore.bundle.v0.3+json (or …bundle+json;version=0.x)
//! layers[0]     the bundle JSON: verificationMaterial (certificate chain or public-key hint,
//!               transparency-log entries) + messageSignature or dsseEnvelope
//! subject       the signed manifest
//! ```
//!
//! A `messageSignature` signs the manifest's bytes (its digest must be the subject's); a
//! `dsseEnvelope` signs an in-toto statement whose subject must name the manifest.

use arca_plugin_sdk::prelude::*;
use serde_json::Value;

use crate::encoding::{b64_any, hex, parse_digest, rfc3339};
use crate::keys::{Hash, PublicKey};
use crate::rekor::{self, Entry, Signed};
use crate::trust::Trust;
use crate::x509::{Cert, verify_chain};
use crate::{Check, MAX_BLOB};

/// What `info` declares: every bundle media type, whatever its version spelling.
pub const BUNDLE_TYPE_PATTERN: &str = "application/vnd.dev.sigstore.bundle*";
const BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Whether a media type (essence) is a Sigstore bundle's.
pub fn is_bundle_type(essence: &str) -> bool {
    essence.starts_with(BUNDLE_PREFIX)
}

/// The bundle version a media type names (`0.3` from `…bundle.v0.3+json`, `0.2` from
/// `…bundle+json;version=0.2`).
fn version_of(media_type: &str) -> Option<String> {
    if let Some(rest) = media_type.strip_prefix("application/vnd.dev.sigstore.bundle.v") {
        return rest.strip_suffix("+json").map(str::to_string);
    }
    media_type
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("version="))
        .map(|v| v.trim_matches('"').to_string())
}

pub enum Material {
    /// Leaf first.
    Chain(Vec<Cert>),
    Key {
        hint: Option<String>,
    },
}

pub enum Content {
    Message {
        hash: Hash,
        digest: Vec<u8>,
        signature: Vec<u8>,
    },
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        signatures: Vec<Vec<u8>>,
    },
}

/// A structurally valid bundle referrer.
pub struct Parsed {
    pub signed: String,
    pub media_type: String,
    pub material: Material,
    pub content: Content,
    pub entries: Vec<Entry>,
    pub has_rfc3161: bool,
    pub warnings: Vec<Violation>,
}

type Found<T> = Result<T, Violation>;

fn get_b64(v: &Value, path: &str) -> Found<Vec<u8>> {
    v.as_str()
        .ok_or_else(|| Violation::new(path, "is required (base64)"))
        .and_then(|s| b64_any(s).map_err(|e| Violation::new(path, e)))
}

pub fn parse(m: &Manifest, cx: &Context) -> Result<Parsed, Vec<Violation>> {
    let Some(subject) = &m.subject else {
        return Err(vec![Violation::new(
            "/subject",
            "a Sigstore bundle referrer must name the signed manifest in `subject`",
        )]);
    };
    let layers: Vec<(usize, &Descriptor)> = m
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| is_bundle_type(l.essence()) || m.layers.len() == 1)
        .collect();
    let [(i, layer)] = layers.as_slice() else {
        return Err(vec![Violation::new(
            "/layers",
            format!(
                "a Sigstore bundle referrer holds exactly one bundle layer, found {}",
                layers.len()
            ),
        )]);
    };
    let blob = format!("layers/{i}:");
    let bytes = cx
        .read_all(&layer.digest, MAX_BLOB)
        .map_err(|e| vec![Violation::new(format!("/layers/{i}"), e)])?;
    let b: Value = serde_json::from_slice(&bytes).map_err(|e| {
        vec![Violation::new(
            &blob,
            format!("the bundle is not JSON: {e}"),
        )]
    })?;
    parse_bundle(&b, &blob, subject, m, layer).map_err(|v| vec![v])
}

fn parse_bundle(
    b: &Value,
    blob: &str,
    subject: &Descriptor,
    m: &Manifest,
    layer: &Descriptor,
) -> Found<Parsed> {
    let p = |s: &str| format!("{blob}/{s}");
    let media_type = b["mediaType"]
        .as_str()
        .filter(|t| is_bundle_type(t))
        .ok_or_else(|| Violation::new(p("mediaType"), "must be a Sigstore bundle media type"))?
        .to_string();
    let version = version_of(&media_type)
        .filter(|v| ["0.1", "0.2", "0.3"].contains(&v.as_str()))
        .ok_or_else(|| {
            Violation::new(
                p("mediaType"),
                format!("{media_type:?}: bundle versions 0.1, 0.2 and 0.3 are supported"),
            )
        })?;
    let mut warnings = Vec::new();
    for (path, declared) in [
        ("/artifactType", m.artifact_type.as_deref()),
        (
            "/layers/0/mediaType",
            Some(layer.media_type.as_str()).filter(|t| is_bundle_type(arca_plugin_sdk::essence(t))),
        ),
    ] {
        if let Some(d) = declared
            && version_of(d).is_some_and(|v| v != version)
        {
            warnings.push(Violation::new(
                path,
                format!("{d:?} names another bundle version than the bundle's own {media_type:?}"),
            ));
        }
    }

    let vm = &b["verificationMaterial"];
    let material = if let Some(c) = vm.get("certificate") {
        let der = get_b64(
            &c["rawBytes"],
            &p("verificationMaterial/certificate/rawBytes"),
        )?;
        let cert = Cert::from_der(&der)
            .map_err(|e| Violation::new(p("verificationMaterial/certificate/rawBytes"), e))?;
        Material::Chain(vec![cert])
    } else if let Some(chain) = vm.get("x509CertificateChain") {
        let list = chain["certificates"]
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Violation::new(
                    p("verificationMaterial/x509CertificateChain/certificates"),
                    "must be a non-empty list",
                )
            })?;
        let mut certs = Vec::new();
        for (j, c) in list.iter().enumerate() {
            let path = p(&format!(
                "verificationMaterial/x509CertificateChain/certificates/{j}/rawBytes"
            ));
            let der = get_b64(&c["rawBytes"], &path)?;
            certs.push(Cert::from_der(&der).map_err(|e| Violation::new(path, e))?);
        }
        Material::Chain(certs)
    } else if let Some(k) = vm.get("publicKey") {
        Material::Key {
            hint: k["hint"].as_str().map(str::to_string),
        }
    } else {
        return Err(Violation::new(
            p("verificationMaterial"),
            "needs a certificate, a certificate chain or a public key",
        ));
    };
    let mut entries = Vec::new();
    for (j, e) in vm["tlogEntries"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        entries.push(
            rekor::parse_bundle_entry(e, &p(&format!("verificationMaterial/tlogEntries/{j}")))
                .map_err(|(path, msg)| Violation::new(path, msg))?,
        );
    }
    let has_rfc3161 = vm["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .is_some_and(|t| !t.is_empty());

    let (subject_alg, subject_hex) =
        parse_digest(&subject.digest).map_err(|e| Violation::new("/subject/digest", e))?;
    let content = match (b.get("messageSignature"), b.get("dsseEnvelope")) {
        (Some(ms), None) => {
            let md = &ms["messageDigest"];
            let (hash, alg) = match md["algorithm"].as_str() {
                Some("SHA2_256") => (Hash::Sha256, "sha256"),
                Some("SHA2_384") => (Hash::Sha384, "sha384"),
                Some("SHA2_512") => (Hash::Sha512, "sha512"),
                _ => {
                    return Err(Violation::new(
                        p("messageSignature/messageDigest/algorithm"),
                        "must be SHA2_256, SHA2_384 or SHA2_512",
                    ));
                }
            };
            let digest = get_b64(&md["digest"], &p("messageSignature/messageDigest/digest"))?;
            if alg != subject_alg || hex(&digest) != subject_hex {
                return Err(Violation::new(
                    p("messageSignature/messageDigest/digest"),
                    format!(
                        "signs {alg}:{}, but the manifest's subject is {}",
                        hex(&digest),
                        subject.digest
                    ),
                ));
            }
            let signature = get_b64(&ms["signature"], &p("messageSignature/signature"))?;
            Content::Message {
                hash,
                digest,
                signature,
            }
        }
        (None, Some(env)) => {
            let payload_type = env["payloadType"]
                .as_str()
                .ok_or_else(|| Violation::new(p("dsseEnvelope/payloadType"), "is required"))?
                .to_string();
            let payload = get_b64(&env["payload"], &p("dsseEnvelope/payload"))?;
            let mut signatures = Vec::new();
            for (j, s) in env["signatures"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                signatures.push(get_b64(
                    &s["sig"],
                    &p(&format!("dsseEnvelope/signatures/{j}/sig")),
                )?);
            }
            if signatures.is_empty() {
                return Err(Violation::new(
                    p("dsseEnvelope/signatures"),
                    "must hold at least one signature",
                ));
            }
            if payload_type != IN_TOTO {
                return Err(Violation::new(
                    p("dsseEnvelope/payloadType"),
                    format!(
                        "{payload_type:?}: only in-toto statements ({IN_TOTO}) can name the signed manifest"
                    ),
                ));
            }
            check_statement(
                &payload,
                &p("dsseEnvelope/payload"),
                subject_alg,
                subject_hex,
            )?;
            Content::Dsse {
                payload_type,
                payload,
                signatures,
            }
        }
        _ => {
            return Err(Violation::new(
                blob,
                "a bundle holds exactly one of messageSignature and dsseEnvelope",
            ));
        }
    };
    Ok(Parsed {
        signed: subject.digest.clone(),
        media_type,
        material,
        content,
        entries,
        has_rfc3161,
        warnings,
    })
}

/// The in-toto statement must list the manifest among its subjects.
fn check_statement(payload: &[u8], path: &str, alg: &str, hex: &str) -> Found<()> {
    let st: Value = serde_json::from_slice(payload)
        .map_err(|e| Violation::new(path, format!("the in-toto statement is not JSON: {e}")))?;
    let t = st["_type"].as_str().unwrap_or("");
    if !t.starts_with("https://in-toto.io/Statement/") {
        return Err(Violation::new(
            format!("{path}/_type"),
            format!("{t:?} is not an in-toto statement type"),
        ));
    }
    let subjects = st["subject"]
        .as_array()
        .ok_or_else(|| Violation::new(format!("{path}/subject"), "must be a list"))?;
    if subjects
        .iter()
        .any(|s| s["digest"][alg].as_str() == Some(hex))
    {
        return Ok(());
    }
    let named: Vec<String> = subjects
        .iter()
        .filter_map(|s| s["digest"].as_object())
        .flat_map(|d| {
            d.iter()
                .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("?")))
        })
        .collect();
    Err(Violation::new(
        format!("{path}/subject"),
        format!(
            "the statement signs {}, not the manifest's subject {alg}:{hex}",
            if named.is_empty() {
                "nothing".into()
            } else {
                named.join(", ")
            }
        ),
    ))
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Parsed {
    /// Check the signature with `key`; on success, which signature (for the log check).
    fn signature_by<'a>(
        &'a self,
        key: &PublicKey,
        m: &Manifest,
        cx: &Context,
    ) -> Result<Signed<'a>, String> {
        let scheme = key.sigstore_scheme();
        match &self.content {
            Content::Message {
                hash,
                digest,
                signature,
            } => {
                let natural = match scheme {
                    crate::keys::Scheme::EcdsaDer(h) | crate::keys::Scheme::RsaPkcs1(h) => Some(h),
                    _ => None,
                };
                if natural == Some(*hash) {
                    key.verify_prehash(scheme, digest, signature)?;
                } else {
                    // The key signs with another hash (or signs messages): verify over the
                    // manifest's bytes.
                    let subject = m.subject.as_ref().ok_or("no subject")?;
                    let bytes = cx.read_all(&subject.digest, crate::MAX_BLOB)?;
                    if hash.digest(&bytes) != *digest {
                        return Err("the subject's bytes do not match the message digest".into());
                    }
                    key.verify(scheme, &bytes, signature)?;
                }
                if *hash != Hash::Sha256 {
                    return Err(
                        "only SHA-256 message digests can be matched with a log entry".into(),
                    );
                }
                Ok(Signed::Message {
                    sha256: digest,
                    signature,
                })
            }
            Content::Dsse {
                payload_type,
                payload,
                signatures,
            } => {
                let pae = pae(payload_type, payload);
                let mut last = String::new();
                for sig in signatures {
                    match key.verify(scheme, &pae, sig) {
                        Ok(()) => {
                            return Ok(Signed::Dsse {
                                payload_type,
                                payload,
                                signature: sig,
                            });
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    pub fn verify(&self, m: &Manifest, trust: &Trust, now: i64, cx: &Context) -> Check {
        let mut c = Check::default();
        c.details
            .insert("bundleMediaType".into(), self.media_type.clone().into());
        c.details.insert(
            "content".into(),
            match self.content {
                Content::Message { .. } => "messageSignature",
                Content::Dsse { .. } => "dsseEnvelope",
            }
            .into(),
        );
        if self.has_rfc3161 {
            c.checked.push(
                "RFC 3161 timestamps are present but not verified (not supported); the transparency-log time is used".into(),
            );
        }
        match &self.material {
            Material::Chain(chain) => self.verify_certificate(&mut c, chain, m, trust, now, cx),
            Material::Key { hint } => self.verify_key(&mut c, hint.as_deref(), m, trust, cx),
        }
        c
    }

    /// Every entry must verify (log key, SET and/or inclusion proof) and record this
    /// signature; returns the earliest integrated time a SET proves.
    fn check_entries(
        &self,
        c: &mut Check,
        signed: Signed<'_>,
        signer: &[u8],
        trust: &Trust,
    ) -> Result<Option<i64>, String> {
        let mut time: Option<i64> = None;
        for (i, entry) in self.entries.iter().enumerate() {
            let outcome = rekor::verify(entry, &trust.rekor)
                .map_err(|e| format!("transparency-log entry {i}: {e}"))?;
            let kind = rekor::check_body(entry, signed, signer)
                .map_err(|e| format!("transparency-log entry {i}: {e}"))?;
            c.checked.extend(outcome.checked);
            c.checked.push(format!(
                "transparency-log entry {i} ({kind}) records this signature and signer"
            ));
            if let Some(t) = outcome.integrated_time {
                time = Some(time.map_or(t, |x| x.min(t)));
            }
        }
        if let Some(t) = time {
            c.details.insert("integratedTime".into(), rfc3339(t).into());
        }
        Ok(time)
    }

    fn verify_certificate(
        &self,
        c: &mut Check,
        chain: &[Cert],
        m: &Manifest,
        trust: &Trust,
        now: i64,
        cx: &Context,
    ) {
        let leaf = &chain[0];
        c.details.insert("method".into(), "certificate".into());
        c.details
            .insert("certificateSubject".into(), leaf.subject().into());
        c.details
            .insert("certificateIdentity".into(), leaf.identity().into());
        if let Some(i) = leaf.fulcio_issuer() {
            c.details.insert("certificateIssuer".into(), i.into());
        }
        let key = match &leaf.key {
            Ok(k) => k,
            Err(e) => return c.fail(format!("the certificate's key cannot be used: {e}")),
        };
        let signed = match self.signature_by(key, m, cx) {
            Ok(s) => s,
            Err(e) => {
                return c.fail(format!(
                    "the signature does not verify with the certificate's key: {e}"
                ));
            }
        };
        c.checked
            .push("signature verified with the certificate's key".into());
        if self.entries.is_empty() {
            return c.fail(
                "the bundle has no transparency-log entry, so nothing proves when its certificate was used",
            );
        }
        let signing_time = match self.check_entries(c, signed, &leaf.der, trust) {
            Ok(t) => t,
            Err(e) => return c.fail(e),
        };
        let (at, when) = match signing_time {
            Some(t) => (t, "signing time"),
            None => (now, "verification time"),
        };
        if let Err(e) = leaf.may_sign_code() {
            return c.fail(e);
        }
        let mut last =
            "no Fulcio root is configured (settings `sigstore.fulcio_roots`)".to_string();
        let root = trust.fulcio.iter().find_map(|store| {
            verify_chain(chain, &store.certs, at, when)
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
        match trust.identity_of(leaf) {
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

    fn verify_key(
        &self,
        c: &mut Check,
        hint: Option<&str>,
        m: &Manifest,
        trust: &Trust,
        cx: &Context,
    ) {
        c.details.insert("method".into(), "public key".into());
        if let Some(h) = hint {
            c.details.insert("keyHint".into(), h.into());
        }
        let found = trust
            .keys
            .iter()
            .find_map(|(name, key)| self.signature_by(key, m, cx).ok().map(|s| (name, key, s)));
        let Some((name, key, signed)) = found else {
            return c.fail(if trust.keys.is_empty() {
                "no public key is configured (settings `keys`)"
            } else {
                "no configured key verifies this signature"
            });
        };
        c.checked.push(format!(
            "signature verified with configured key {name:?} ({})",
            key.describe()
        ));
        if !self.entries.is_empty() {
            if trust.rekor.is_empty() {
                c.checked.push(
                    "transparency-log entries present but not checked: no Rekor key is configured"
                        .into(),
                );
            } else if let Err(e) = self.check_entries(c, signed, &key.spki_der(), trust) {
                return c.fail(e);
            }
        }
        c.verified_by = Some(name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_versions_are_read_from_both_spellings() {
        assert_eq!(
            version_of("application/vnd.dev.sigstore.bundle.v0.3+json").as_deref(),
            Some("0.3")
        );
        assert_eq!(
            version_of("application/vnd.dev.sigstore.bundle+json;version=0.2").as_deref(),
            Some("0.2")
        );
        assert_eq!(version_of("application/vnd.dev.sigstore.bundle+json"), None);
    }

    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        assert_eq!(pae("t", b"ab"), b"DSSEv1 1 t 2 ab".to_vec());
    }
}
