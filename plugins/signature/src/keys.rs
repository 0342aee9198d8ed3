//! Public keys and signature schemes: ECDSA P-256/P-384 (DER or raw `r‖s` signatures),
//! RSA PKCS#1 v1.5 and PSS (2048 bits and more), Ed25519.

use der::{Decode as _, Encode as _};
use ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

/// The smallest RSA modulus accepted.
const MIN_RSA_BITS: usize = 2048;

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
}

/// How a signature is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// ECDSA, signature DER-encoded (X.509, cosign, Sigstore).
    EcdsaDer(Hash),
    /// ECDSA, signature as fixed-size `r‖s` (JWS ES256/ES384, COSE).
    EcdsaRaw(Hash),
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(Hash),
    /// RSASSA-PSS, MGF1 with the same hash, salt as long as the hash.
    RsaPss(Hash),
    /// Ed25519 (pure: over the message, never a digest).
    Ed25519,
}

/// A public key that can verify signatures.
#[derive(Debug, Clone)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// A key from a DER `SubjectPublicKeyInfo`.
    pub fn from_spki(der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
        let alg = spki.algorithm.oid.to_string();
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the public key has unused bits")?;
        match alg.as_str() {
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(PublicKey::P256)
                        .map_err(|e| format!("bad P-256 key: {e}")),
                    OID_P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(PublicKey::P384)
                        .map_err(|e| format!("bad P-384 key: {e}")),
                    other => Err(format!(
                        "unsupported elliptic curve {other:?} (P-256 and P-384 are supported)"
                    )),
                }
            }
            OID_RSA => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                use rsa::traits::PublicKeyParts as _;
                let key = rsa::RsaPublicKey::from_pkcs1_der(bits)
                    .map_err(|e| format!("bad RSA key: {e}"))?;
                if key.size() * 8 < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA key of {} bits is too small (at least {MIN_RSA_BITS})",
                        key.size() * 8
                    ));
                }
                Ok(PublicKey::Rsa(key))
            }
            OID_ED25519 => {
                let raw: [u8; 32] = bits.try_into().map_err(|_| "bad Ed25519 key length")?;
                ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| format!("bad Ed25519 key: {e}"))
            }
            other => Err(format!("unsupported public key algorithm {other}")),
        }
    }

    /// A key from PEM text: the first `PUBLIC KEY` block.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let blocks = crate::encoding::pem_blocks(text)?;
        let der = blocks
            .iter()
            .find(|(label, _)| label == "PUBLIC KEY")
            .map(|(_, der)| der)
            .ok_or("no PUBLIC KEY block")?;
        Self::from_spki(der)
    }

    /// The DER `SubjectPublicKeyInfo` (what Rekor log IDs hash).
    pub fn spki_der(&self) -> Vec<u8> {
        use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
        use spki::EncodePublicKey as _;
        let encode = |alg: &str, curve: Option<&str>, bits: &[u8]| -> Vec<u8> {
            let curve = curve.map(ObjectIdentifier::new_unwrap);
            let params = curve.as_ref().map(AnyRef::from);
            let Ok(subject_public_key) = BitStringRef::from_bytes(bits) else {
                return Vec::new();
            };
            spki::SubjectPublicKeyInfoRef {
                algorithm: spki::AlgorithmIdentifierRef {
                    oid: ObjectIdentifier::new_unwrap(alg),
                    parameters: params,
                },
                subject_public_key,
            }
            .to_der()
            .unwrap_or_default()
        };
        match self {
            PublicKey::P256(k) => {
                encode(OID_EC, Some(OID_P256), k.to_encoded_point(false).as_bytes())
            }
            PublicKey::P384(k) => {
                encode(OID_EC, Some(OID_P384), k.to_encoded_point(false).as_bytes())
            }
            PublicKey::Rsa(k) => k
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            PublicKey::Ed25519(k) => encode(OID_ED25519, None, k.as_bytes()),
        }
    }

    /// What kind of key this is, for people.
    pub fn describe(&self) -> String {
        match self {
            PublicKey::P256(_) => "ECDSA P-256".into(),
            PublicKey::P384(_) => "ECDSA P-384".into(),
            PublicKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts as _;
                format!("RSA {}", k.size() * 8)
            }
            PublicKey::Ed25519(_) => "Ed25519".into(),
        }
    }

    /// The scheme cosign and Sigstore sign with for this kind of key (DER ECDSA with the
    /// curve's hash, PKCS#1 v1.5 SHA-256 for RSA, pure Ed25519).
    pub fn sigstore_scheme(&self) -> Scheme {
        match self {
            PublicKey::P256(_) => Scheme::EcdsaDer(Hash::Sha256),
            PublicKey::P384(_) => Scheme::EcdsaDer(Hash::Sha384),
            PublicKey::Rsa(_) => Scheme::RsaPkcs1(Hash::Sha256),
            PublicKey::Ed25519(_) => Scheme::Ed25519,
        }
    }

    /// Verify `signature` over `message`.
    pub fn verify(&self, scheme: Scheme, message: &[u8], signature: &[u8]) -> Result<(), String> {
        match scheme {
            Scheme::Ed25519 => match self {
                PublicKey::Ed25519(k) => {
                    let sig = ed25519_dalek::Signature::from_slice(signature)
                        .map_err(|e| format!("malformed Ed25519 signature: {e}"))?;
                    k.verify_strict(message, &sig)
                        .map_err(|_| "the Ed25519 signature does not verify".into())
                }
                _ => Err(format!(
                    "an Ed25519 signature cannot come from an {} key",
                    self.describe()
                )),
            },
            Scheme::EcdsaDer(h) | Scheme::EcdsaRaw(h) | Scheme::RsaPkcs1(h) | Scheme::RsaPss(h) => {
                self.verify_prehash(scheme, &h.digest(message), signature)
            }
        }
    }

    /// Verify `signature` over a message whose digest (by the scheme's hash) is `digest`.
    pub fn verify_prehash(
        &self,
        scheme: Scheme,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let fail = |what: &str| format!("the {what} signature does not verify");
        match (self, scheme) {
            (PublicKey::P256(k), Scheme::EcdsaDer(_) | Scheme::EcdsaRaw(_)) => {
                let sig = if matches!(scheme, Scheme::EcdsaDer(_)) {
                    p256::ecdsa::Signature::from_der(signature)
                } else {
                    p256::ecdsa::Signature::from_slice(signature)
                }
                .map_err(|e| format!("malformed ECDSA P-256 signature: {e}"))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| fail("ECDSA P-256"))
            }
            (PublicKey::P384(k), Scheme::EcdsaDer(_) | Scheme::EcdsaRaw(_)) => {
                let sig = if matches!(scheme, Scheme::EcdsaDer(_)) {
                    p384::ecdsa::Signature::from_der(signature)
                } else {
                    p384::ecdsa::Signature::from_slice(signature)
                }
                .map_err(|e| format!("malformed ECDSA P-384 signature: {e}"))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| fail("ECDSA P-384"))
            }
            (PublicKey::Rsa(k), Scheme::RsaPkcs1(h)) => {
                let padding = match h {
                    Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                k.verify(padding, digest, signature)
                    .map_err(|_| fail("RSA PKCS#1 v1.5"))
            }
            (PublicKey::Rsa(k), Scheme::RsaPss(h)) => {
                let padding = match h {
                    Hash::Sha256 => rsa::Pss::new::<Sha256>(),
                    Hash::Sha384 => rsa::Pss::new::<Sha384>(),
                    Hash::Sha512 => rsa::Pss::new::<Sha512>(),
                };
                k.verify(padding, digest, signature)
                    .map_err(|_| fail("RSA-PSS"))
            }
            (_, Scheme::Ed25519) => Err("Ed25519 signs messages, not digests".into()),
            (key, scheme) => Err(format!(
                "a {scheme:?} signature cannot come from an {} key",
                key.describe()
            )),
        }
    }
}

/// SHA-256 of a key's SubjectPublicKeyInfo: the Rekor log ID / checkpoint key hint.
pub fn key_id(key: &PublicKey) -> Vec<u8> {
    Sha256::digest(key.spki_der()).to_vec()
}
