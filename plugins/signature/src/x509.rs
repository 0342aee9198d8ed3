//! X.509 certificates: what signatures need of them (key, validity, identity, Fulcio's
//! issuer extension) and chain building from a leaf to a configured trust anchor.

use der::asn1::{AnyRef, Ia5String, ObjectIdentifier, Utf8StringRef};
use der::{Decode as _, Encode as _, Reader as _};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::encoding::{pem_blocks, rfc3339};
use crate::keys::{Hash, PublicKey, Scheme};

const EXT_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const EXT_KEY_USAGE: &str = "2.5.29.15";
const EXT_EXT_KEY_USAGE: &str = "2.5.29.37";
const EXT_SAN: &str = "2.5.29.17";
/// Extensions this code understands; a critical one outside this list fails the chain.
const UNDERSTOOD: &[&str] = &[
    EXT_BASIC_CONSTRAINTS,
    EXT_KEY_USAGE,
    EXT_EXT_KEY_USAGE,
    EXT_SAN,
    "2.5.29.14", // subject key identifier
    "2.5.29.35", // authority key identifier
];
const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const EKU_ANY: &str = "2.5.29.37.0";
/// Fulcio: the OIDC issuer, as a DER UTF8String (v2) or raw bytes (v1, deprecated).
const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const FULCIO_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";

/// Longest chain followed.
const MAX_DEPTH: usize = 8;

/// A parsed certificate with its exact DER.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    tbs_der: Vec<u8>,
    cert: Certificate,
    pub key: Result<PublicKey, String>,
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let cert =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        // The signed bytes exactly as written: the first element of the outer SEQUENCE.
        let outer = AnyRef::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let mut reader = der::SliceReader::new(outer.value()).map_err(|e| e.to_string())?;
        let tbs: AnyRef<'_> = reader.decode().map_err(|e| e.to_string())?;
        let tbs_der = tbs.to_der().map_err(|e| e.to_string())?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        Ok(Cert {
            der: der.to_vec(),
            tbs_der,
            key: PublicKey::from_spki(&spki),
            cert,
        })
    }

    /// Every certificate of a PEM text (other blocks are ignored).
    pub fn from_pem_all(text: &str) -> Result<Vec<Cert>, String> {
        let certs: Vec<Cert> = pem_blocks(text)?
            .into_iter()
            .filter(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| Cert::from_der(&der))
            .collect::<Result<_, _>>()?;
        if certs.is_empty() {
            return Err("no CERTIFICATE block".into());
        }
        Ok(certs)
    }

    /// The subject as an RFC 4514 string.
    pub fn subject(&self) -> String {
        let s = self.cert.tbs_certificate.subject.to_string();
        if s.is_empty() {
            "(empty subject)".into()
        } else {
            s
        }
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    fn subject_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .subject
            .to_der()
            .unwrap_or_default()
    }

    fn issuer_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .issuer
            .to_der()
            .unwrap_or_default()
    }

    /// `notBefore`, `notAfter` in Unix seconds.
    pub fn validity(&self) -> (i64, i64) {
        let v = &self.cert.tbs_certificate.validity;
        (
            v.not_before.to_unix_duration().as_secs() as i64,
            v.not_after.to_unix_duration().as_secs() as i64,
        )
    }

    /// Why the certificate is not valid at `at` (described as `when`), if it is not.
    pub fn check_validity(&self, at: i64, when: &str) -> Result<(), String> {
        let (nb, na) = self.validity();
        if at > na {
            return Err(format!(
                "certificate {:?} expired at {when} {} (valid until {})",
                self.subject(),
                rfc3339(at),
                rfc3339(na)
            ));
        }
        if at < nb {
            return Err(format!(
                "certificate {:?} is not yet valid at {when} {} (valid from {})",
                self.subject(),
                rfc3339(at),
                rfc3339(nb)
            ));
        }
        Ok(())
    }

    fn extension(&self, oid: &str) -> Option<(bool, &[u8])> {
        self.cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| (e.critical, e.extn_value.as_bytes()))
    }

    fn unknown_critical(&self) -> Option<String> {
        self.cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter(|e| e.critical)
            .map(|e| e.extn_id.to_string())
            .find(|oid| !UNDERSTOOD.contains(&oid.as_str()))
    }

    /// Whether basicConstraints says this is a CA.
    pub fn is_ca(&self) -> bool {
        self.extension(EXT_BASIC_CONSTRAINTS)
            .and_then(|(_, v)| BasicConstraints::from_der(v).ok())
            .is_some_and(|b| b.ca)
    }

    fn key_usage(&self) -> Option<KeyUsage> {
        self.extension(EXT_KEY_USAGE)
            .and_then(|(_, v)| KeyUsage::from_der(v).ok())
    }

    /// Whether the certificate may sign code (no EKU, or EKU with codeSigning / any).
    pub fn may_sign_code(&self) -> Result<(), String> {
        if let Some(ku) = self.key_usage()
            && !ku.digital_signature()
        {
            return Err(format!(
                "certificate {:?} lacks the digitalSignature key usage",
                self.subject()
            ));
        }
        if let Some((_, v)) = self.extension(EXT_EXT_KEY_USAGE) {
            let eku = ExtendedKeyUsage::from_der(v).map_err(|e| {
                format!(
                    "certificate {:?}: bad extended key usage: {e}",
                    self.subject()
                )
            })?;
            let oids: Vec<String> = eku.0.iter().map(ObjectIdentifier::to_string).collect();
            if !oids.iter().any(|o| o == EKU_CODE_SIGNING || o == EKU_ANY) {
                return Err(format!(
                    "certificate {:?} is not for code signing (extended key usage {})",
                    self.subject(),
                    oids.join(", ")
                ));
            }
        }
        if self.is_ca() {
            return Err(format!(
                "certificate {:?} is a CA certificate, not a signing certificate",
                self.subject()
            ));
        }
        Ok(())
    }

    /// Email addresses and URIs of the subjectAltName, in order.
    pub fn san_identities(&self) -> Vec<String> {
        let Some((_, v)) = self.extension(EXT_SAN) else {
            return Vec::new();
        };
        let Ok(san) = SubjectAltName::from_der(v) else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                    Some(ia5(s))
                }
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer Fulcio recorded.
    pub fn fulcio_issuer(&self) -> Option<String> {
        if let Some((_, v)) = self.extension(FULCIO_ISSUER_V2)
            && let Ok(s) = Utf8StringRef::from_der(v)
        {
            return Some(s.as_str().to_string());
        }
        self.extension(FULCIO_ISSUER_V1)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::to_string)
    }

    /// The identity to show for this certificate: the first SAN email/URI, else the subject.
    pub fn identity(&self) -> String {
        self.san_identities()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.subject())
    }

    /// Verify that `issuer`'s key signed this certificate.
    pub fn verify_issued_by(&self, issuer: &Cert) -> Result<(), String> {
        if self.issuer_der() != issuer.subject_der() {
            return Err(format!(
                "certificate {:?} names issuer {:?}, not {:?}",
                self.subject(),
                self.issuer(),
                issuer.subject()
            ));
        }
        let key = issuer
            .key
            .as_ref()
            .map_err(|e| format!("certificate {:?}: {e}", issuer.subject()))?;
        let oid = self.cert.signature_algorithm.oid.to_string();
        let scheme = match oid.as_str() {
            "1.2.840.10045.4.3.2" => Scheme::EcdsaDer(Hash::Sha256),
            "1.2.840.10045.4.3.3" => Scheme::EcdsaDer(Hash::Sha384),
            "1.2.840.10045.4.3.4" => Scheme::EcdsaDer(Hash::Sha512),
            "1.2.840.113549.1.1.11" => Scheme::RsaPkcs1(Hash::Sha256),
            "1.2.840.113549.1.1.12" => Scheme::RsaPkcs1(Hash::Sha384),
            "1.2.840.113549.1.1.13" => Scheme::RsaPkcs1(Hash::Sha512),
            "1.3.101.112" => Scheme::Ed25519,
            other => {
                return Err(format!(
                    "certificate {:?} is signed with an unsupported algorithm {other}",
                    self.subject()
                ));
            }
        };
        let sig = self
            .cert
            .signature
            .as_bytes()
            .ok_or("certificate signature has unused bits")?;
        key.verify(scheme, &self.tbs_der, sig).map_err(|e| {
            format!(
                "certificate {:?} is not signed by {:?}: {e}",
                self.subject(),
                issuer.subject()
            )
        })
    }
}

fn ia5(s: &Ia5String) -> String {
    s.to_string()
}

/// A verified path: the index of the trust anchor in `anchors` that issued the chain.
#[derive(Debug, Clone)]
pub struct Path {
    pub anchor: usize,
}

/// Build and verify a path from `chain[0]` (the signing certificate) through the other
/// certificates of `chain` (in order; the last may be the anchor itself) to one of
/// `anchors`, every certificate valid at `at` (described as `when`, e.g. "signing time").
pub fn verify_chain(chain: &[Cert], anchors: &[Cert], at: i64, when: &str) -> Result<Path, String> {
    let leaf = chain.first().ok_or("no certificate")?;
    if anchors.is_empty() {
        return Err("no trusted root certificate is configured".into());
    }
    let mut current = leaf;
    let mut next = 1;
    for depth in 0..MAX_DEPTH {
        if let Some(oid) = current.unknown_critical() {
            return Err(format!(
                "certificate {:?} has an unsupported critical extension {oid}",
                current.subject()
            ));
        }
        current.check_validity(at, when)?;
        if depth > 0 {
            if let Some(i) = anchors.iter().position(|a| a.der == current.der) {
                return Ok(Path { anchor: i });
            }
            if !current.is_ca() {
                return Err(format!(
                    "certificate {:?} issues others but is not a CA",
                    current.subject()
                ));
            }
        }
        // Issued by a trust anchor?
        let mut last_err = None;
        for (i, anchor) in anchors.iter().enumerate() {
            if anchor.subject_der() != current.issuer_der() {
                continue;
            }
            match current.verify_issued_by(anchor) {
                Ok(()) => {
                    anchor.check_validity(at, when)?;
                    if !anchor.is_ca() && anchor.der != current.der {
                        return Err(format!(
                            "trusted certificate {:?} is not a CA",
                            anchor.subject()
                        ));
                    }
                    return Ok(Path { anchor: i });
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some(parent) = chain.get(next) else {
            return Err(last_err.unwrap_or_else(|| {
                format!(
                    "the chain ends at {:?}, issued by {:?}, which is not a configured trusted root",
                    current.subject(),
                    current.issuer()
                )
            }));
        };
        current.verify_issued_by(parent)?;
        current = parent;
        next += 1;
    }
    Err(format!("certificate chain longer than {MAX_DEPTH}"))
}
