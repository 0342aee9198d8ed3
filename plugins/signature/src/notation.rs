//! Notation (Notary Project) signatures: a referrer with `artifactType` (older: config
//! media type) `application/vnd.cncf.notary.signature`, one envelope layer — JWS JSON
//! (flattened, `application/jose+json`) or COSE_Sign1 (`application/cose`) — signing
//! `{"targetArtifact": <descriptor of the subject>}` with the first certificate of an X.509
//! chain, and the chain's SHA-256 thumbprints in the manifest annotation
//! `io.cncf.notary.x509chain.thumbprint#S256`.

use arca_plugin_sdk::prelude::*;
use ciborium::Value as Cbor;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::encoding::{b64, b64url, hex, parse_rfc3339, rfc3339};
use crate::keys::{Hash, PublicKey, Scheme};
use crate::trust::Trust;
use crate::x509::{Cert, verify_chain};
use crate::{Check, MAX_BLOB, pointer};

pub const ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
pub const JWS: &str = "application/jose+json";
pub const COSE: &str = "application/cose";
pub const THUMBPRINTS: &str = "io.cncf.notary.x509chain.thumbprint#S256";
pub const PAYLOAD_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
const AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
const EXPIRY: &str = "io.cncf.notary.expiry";
const TIMESTAMP: &str = "io.cncf.notary.timestampSignature";
const SIGNING_AGENT: &str = "io.cncf.notary.signingAgent";
/// Critical headers this verifier understands.
const KNOWN_CRITICAL: &[&str] = &[
    SIGNING_SCHEME,
    AUTHENTIC_SIGNING_TIME,
    EXPIRY,
    "io.cncf.notary.verificationPlugin",
    "io.cncf.notary.verificationPluginMinVersion",
];

/// Signature algorithms Notation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
}

impl Alg {
    fn from_jws(s: &str) -> Option<Alg> {
        Some(match s {
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "ES512" => Alg::Es512,
            _ => return None,
        })
    }

    fn from_cose(i: i128) -> Option<Alg> {
        Some(match i {
            -37 => Alg::Ps256,
            -38 => Alg::Ps384,
            -39 => Alg::Ps512,
            -7 => Alg::Es256,
            -35 => Alg::Es384,
            -36 => Alg::Es512,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
        }
    }

    fn scheme(self) -> Scheme {
        match self {
            Alg::Ps256 => Scheme::RsaPss(Hash::Sha256),
            Alg::Ps384 => Scheme::RsaPss(Hash::Sha384),
            Alg::Ps512 => Scheme::RsaPss(Hash::Sha512),
            Alg::Es256 => Scheme::EcdsaRaw(Hash::Sha256),
            Alg::Es384 => Scheme::EcdsaRaw(Hash::Sha384),
            Alg::Es512 => Scheme::EcdsaRaw(Hash::Sha512),
        }
    }

    /// Whether `key` is the kind of key this algorithm signs with.
    fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (Alg::Ps256 | Alg::Ps384 | Alg::Ps512, PublicKey::Rsa(_))
                | (Alg::Es256, PublicKey::P256(_))
                | (Alg::Es384, PublicKey::P384(_))
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    Jws,
    Cose,
}

/// A structurally valid Notation signature.
pub struct Parsed {
    pub envelope: Envelope,
    pub signed: String,
    pub alg: Alg,
    /// The bytes the signature is over (JWS signing input / COSE Sig_structure).
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
    /// Leaf first.
    pub chain: Vec<Cert>,
    pub signing_scheme: String,
    pub signing_time: Option<i64>,
    pub authentic_signing_time: Option<i64>,
    pub expiry: Option<i64>,
    pub timestamp: bool,
    pub signing_agent: Option<String>,
}

impl Parsed {
    pub fn format(&self) -> &'static str {
        match self.envelope {
            Envelope::Jws => "notation-jws",
            Envelope::Cose => "notation-cose",
        }
    }
}

/// The headers both envelopes carry, before checking.
#[derive(Default)]
struct Headers {
    alg: Option<Alg>,
    alg_text: String,
    cty: Option<String>,
    crit: Option<Vec<String>>,
    scheme: Option<String>,
    signing_time: Option<Result<i64, String>>,
    authentic_signing_time: Option<Result<i64, String>>,
    expiry: Option<Result<i64, String>>,
    /// Every protected header name (for `crit`).
    present: Vec<String>,
}

type Errors = Vec<Violation>;

pub fn parse(m: &Manifest, cx: &Context) -> Result<Parsed, Vec<Violation>> {
    let Some(subject) = &m.subject else {
        return Err(vec![Violation::new(
            "/subject",
            "a Notation signature must name the signed manifest in `subject`",
        )]);
    };
    let envelopes: Vec<(usize, &Descriptor)> = m
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l.essence(), JWS | COSE))
        .collect();
    let ([(i, layer)], 1) = (envelopes.as_slice(), m.layers.len()) else {
        return Err(vec![Violation::new(
            "/layers",
            format!("a Notation signature has exactly one layer, its envelope ({JWS} or {COSE})"),
        )]);
    };
    let mut errors = Vec::new();
    let thumbprints = thumbprints(m, &mut errors);
    let bytes = cx
        .read_all(&layer.digest, MAX_BLOB)
        .map_err(|e| vec![Violation::new(format!("/layers/{i}"), e)])?;
    let blob = format!("layers/{i}:");
    let envelope = if layer.essence() == JWS {
        Envelope::Jws
    } else {
        Envelope::Cose
    };
    let parts = match envelope {
        Envelope::Jws => parse_jws(&bytes, &blob, &mut errors),
        Envelope::Cose => parse_cose(&bytes, &blob, &mut errors),
    };
    let Some((headers, payload, signing_input, signature, chain_der, timestamp, agent)) = parts
    else {
        return Err(errors);
    };
    let header_path = format!("{blob}/protected");
    let checked = check_headers(&headers, &header_path, &mut errors);

    // The payload: a descriptor of exactly the subject.
    let payload_path = format!("{blob}/payload");
    match serde_json::from_slice::<Value>(&payload) {
        Ok(p) => {
            let t = &p["targetArtifact"];
            if !t.is_object() {
                errors.push(Violation::new(
                    format!("{payload_path}/targetArtifact"),
                    "is required: the descriptor of the signed manifest",
                ));
            } else {
                if t["digest"].as_str() != Some(subject.digest.as_str()) {
                    errors.push(Violation::new(
                        format!("{payload_path}/targetArtifact/digest"),
                        format!(
                            "signs {}, but the manifest's subject is {}",
                            t["digest"], subject.digest
                        ),
                    ));
                }
                if t["size"].as_u64() != Some(subject.size) {
                    errors.push(Violation::new(
                        format!("{payload_path}/targetArtifact/size"),
                        format!(
                            "is {}, but the subject's size is {}",
                            t["size"], subject.size
                        ),
                    ));
                }
                if t["mediaType"].as_str() != Some(subject.media_type.as_str()) {
                    errors.push(Violation::new(
                        format!("{payload_path}/targetArtifact/mediaType"),
                        format!(
                            "is {}, but the subject's media type is {:?}",
                            t["mediaType"], subject.media_type
                        ),
                    ));
                }
            }
        }
        Err(e) => errors.push(Violation::new(
            payload_path,
            format!("the payload is not JSON: {e}"),
        )),
    }

    // The certificate chain and its thumbprints.
    let chain_path = match envelope {
        Envelope::Jws => format!("{blob}/header/x5c"),
        Envelope::Cose => format!("{blob}/unprotected/33"),
    };
    let mut chain = Vec::new();
    for (j, der) in chain_der.iter().enumerate() {
        match Cert::from_der(der) {
            Ok(c) => chain.push(c),
            Err(e) => errors.push(Violation::new(format!("{chain_path}/{j}"), e)),
        }
    }
    if chain_der.is_empty() {
        errors.push(Violation::new(
            chain_path.clone(),
            "must hold the signing certificate and its chain",
        ));
    }
    if let Some(list) = thumbprints {
        let actual: Vec<String> = chain_der.iter().map(|d| hex(&Sha256::digest(d))).collect();
        let stated: Vec<String> = list.iter().map(|s| s.to_ascii_lowercase()).collect();
        if actual != stated {
            errors.push(Violation::new(
                format!("/annotations/{}", pointer(THUMBPRINTS)),
                format!(
                    "lists {} thumbprint(s) that do not match the envelope's {} certificate(s) (SHA-256 {})",
                    stated.len(),
                    actual.len(),
                    actual.join(", ")
                ),
            ));
        }
    }
    if let (Some(alg), Some(Ok(key))) = (headers.alg, chain.first().map(|c| &c.key))
        && !alg.fits(key)
    {
        errors.push(Violation::new(
            format!("{header_path}/alg"),
            format!(
                "{} does not match the signing certificate's {} key",
                alg.name(),
                key.describe()
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some((alg, scheme_name, signing_time, authentic, expiry)) = checked else {
        return Err(vec![Violation::new(header_path, "invalid headers")]);
    };
    Ok(Parsed {
        envelope,
        signed: subject.digest.clone(),
        alg,
        signing_input,
        signature,
        chain,
        signing_scheme: scheme_name,
        signing_time,
        authentic_signing_time: authentic,
        expiry,
        timestamp,
        signing_agent: agent,
    })
}

fn thumbprints(m: &Manifest, errors: &mut Errors) -> Option<Vec<String>> {
    let path = format!("/annotations/{}", pointer(THUMBPRINTS));
    let Some(text) = m.annotation(THUMBPRINTS) else {
        errors.push(Violation::new(
            path,
            "is required: the SHA-256 thumbprints of the signing certificate chain",
        ));
        return None;
    };
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(list)
            if !list.is_empty()
                && list
                    .iter()
                    .all(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())) =>
        {
            Some(list)
        }
        _ => {
            errors.push(Violation::new(
                path,
                "must be a JSON list of hex SHA-256 thumbprints",
            ));
            None
        }
    }
}

type CheckedHeaders = (Alg, String, Option<i64>, Option<i64>, Option<i64>);

fn check_headers(h: &Headers, path: &str, errors: &mut Errors) -> Option<CheckedHeaders> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut bad = |p: &str, m: String| found.push((p.to_string(), m));
    if h.alg.is_none() {
        bad(
            "alg",
            format!(
                "{:?} is not a Notation algorithm (PS256, PS384, PS512, ES256, ES384, ES512)",
                h.alg_text
            ),
        );
    }
    if h.cty.as_deref() != Some(PAYLOAD_TYPE) {
        bad(
            "cty",
            format!(
                "must be {PAYLOAD_TYPE:?}, got {:?}",
                h.cty.as_deref().unwrap_or("nothing")
            ),
        );
    }
    match &h.crit {
        None => bad(
            "crit",
            format!("is required and must list {SIGNING_SCHEME}"),
        ),
        Some(crit) => {
            if !crit.iter().any(|c| c == SIGNING_SCHEME) {
                bad("crit", format!("must list {SIGNING_SCHEME}"));
            }
            for c in crit {
                if !KNOWN_CRITICAL.contains(&c.as_str()) {
                    bad(
                        "crit",
                        format!("lists {c:?}, a header this verifier does not understand"),
                    );
                } else if !h.present.iter().any(|p| p == c) {
                    bad(
                        "crit",
                        format!("lists {c:?}, which is not in the protected header"),
                    );
                }
            }
            for required in [AUTHENTIC_SIGNING_TIME, EXPIRY] {
                if h.present.iter().any(|p| p == required) && !crit.iter().any(|c| c == required) {
                    bad("crit", format!("must list {required}, which is present"));
                }
            }
        }
    }
    let scheme = h.scheme.clone().unwrap_or_default();
    let time = |name: &str,
                v: &Option<Result<i64, String>>,
                required: bool,
                bad: &mut dyn FnMut(&str, String)|
     -> Option<i64> {
        match v {
            Some(Ok(t)) => Some(*t),
            Some(Err(e)) => {
                bad(&pointer(name), e.clone());
                None
            }
            None if required => {
                bad(
                    &pointer(name),
                    format!("is required by signing scheme {scheme:?}"),
                );
                None
            }
            None => None,
        }
    };
    let (signing_time, authentic) = match scheme.as_str() {
        "notary.x509" => (time(SIGNING_TIME, &h.signing_time, true, &mut bad), None),
        "notary.x509.signingAuthority" => (
            None,
            time(
                AUTHENTIC_SIGNING_TIME,
                &h.authentic_signing_time,
                true,
                &mut bad,
            ),
        ),
        other => {
            bad(
                &pointer(SIGNING_SCHEME),
                format!(
                    "{other:?} is not a Notation signing scheme (notary.x509, notary.x509.signingAuthority)"
                ),
            );
            (None, None)
        }
    };
    let expiry = time(EXPIRY, &h.expiry, false, &mut bad);
    if !found.is_empty() {
        errors.extend(
            found
                .into_iter()
                .map(|(p, m)| Violation::new(format!("{path}/{p}"), m)),
        );
        return None;
    }
    Some((h.alg?, scheme, signing_time, authentic, expiry))
}

type Parts = (
    Headers,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<Vec<u8>>,
    bool,
    Option<String>,
);

fn parse_jws(bytes: &[u8], blob: &str, errors: &mut Errors) -> Option<Parts> {
    let mut fail = |p: &str, m: String| {
        errors.push(Violation::new(format!("{blob}{p}"), m));
        None
    };
    let env: Value = match serde_json::from_slice(bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return fail("", "the JWS envelope must be a JSON object".into()),
        Err(e) => return fail("", format!("the JWS envelope is not JSON: {e}")),
    };
    if env.get("signatures").is_some() {
        return fail(
            "/signatures",
            "Notation JWS envelopes use the flattened JSON serialization (one signature)".into(),
        );
    }
    for k in env.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["payload", "protected", "header", "signature"].contains(&k.as_str()) {
            return fail(
                &format!("/{}", pointer(k)),
                "is not a JWS envelope field".into(),
            );
        }
    }
    let field = |k: &str| env[k].as_str();
    let (Some(payload_b64), Some(protected_b64), Some(signature_b64)) =
        (field("payload"), field("protected"), field("signature"))
    else {
        return fail(
            "",
            "the JWS envelope needs string `payload`, `protected` and `signature`".into(),
        );
    };
    let payload = match b64url(payload_b64) {
        Ok(p) => p,
        Err(e) => return fail("/payload", e),
    };
    let signature = match b64url(signature_b64) {
        Ok(s) => s,
        Err(e) => return fail("/signature", e),
    };
    let protected: Value = match b64url(protected_b64).map(|p| serde_json::from_slice::<Value>(&p))
    {
        Ok(Ok(v @ Value::Object(_))) => v,
        Ok(_) => return fail("/protected", "must be a base64url JSON object".into()),
        Err(e) => return fail("/protected", e),
    };
    let header = &env["header"];
    if !header.is_object() {
        return fail(
            "/header",
            "is required: the unprotected header with x5c".into(),
        );
    }
    let mut chain = Vec::new();
    match header["x5c"].as_array() {
        Some(list) => {
            for (j, c) in list.iter().enumerate() {
                match c.as_str().map(b64) {
                    Some(Ok(der)) => chain.push(der),
                    Some(Err(e)) => return fail(&format!("/header/x5c/{j}"), e),
                    None => return fail(&format!("/header/x5c/{j}"), "must be a string".into()),
                }
            }
        }
        None => return fail("/header/x5c", "is required: the certificate chain".into()),
    }
    let time = |k: &str| {
        protected.get(k).map(|v| {
            v.as_str()
                .ok_or_else(|| "must be an RFC 3339 string".to_string())
                .and_then(parse_rfc3339)
        })
    };
    let alg_text = protected["alg"].as_str().unwrap_or("").to_string();
    let headers = Headers {
        alg: Alg::from_jws(&alg_text),
        alg_text,
        cty: protected["cty"].as_str().map(str::to_string),
        crit: protected["crit"].as_array().map(|a| {
            a.iter()
                .map(|c| c.as_str().unwrap_or("").to_string())
                .collect()
        }),
        scheme: protected[SIGNING_SCHEME].as_str().map(str::to_string),
        signing_time: time(SIGNING_TIME),
        authentic_signing_time: time(AUTHENTIC_SIGNING_TIME),
        expiry: time(EXPIRY),
        present: protected
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
    };
    let signing_input = format!("{protected_b64}.{payload_b64}").into_bytes();
    Some((
        headers,
        payload,
        signing_input,
        signature,
        chain,
        header.get(TIMESTAMP).is_some() || header.get("io.cncf.notary.timestamp").is_some(),
        header[SIGNING_AGENT].as_str().map(str::to_string),
    ))
}

fn cbor_key(v: &Cbor) -> String {
    match v {
        Cbor::Integer(i) => i128::from(*i).to_string(),
        Cbor::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

fn cbor_get<'a>(map: &'a [(Cbor, Cbor)], key: &str) -> Option<&'a Cbor> {
    map.iter().find(|(k, _)| cbor_key(k) == key).map(|(_, v)| v)
}

fn cbor_time(v: &Cbor) -> Result<i64, String> {
    let inner = match v {
        Cbor::Tag(1, inner) => inner.as_ref(),
        other => other,
    };
    match inner {
        Cbor::Integer(i) => i64::try_from(i128::from(*i)).map_err(|e| e.to_string()),
        Cbor::Float(f) => Ok(*f as i64),
        _ => Err("must be an epoch-based date/time (tag 1)".into()),
    }
}

fn parse_cose(bytes: &[u8], blob: &str, errors: &mut Errors) -> Option<Parts> {
    let mut fail = |p: &str, m: String| {
        errors.push(Violation::new(format!("{blob}{p}"), m));
        None
    };
    let value: Cbor = match ciborium::from_reader(bytes) {
        Ok(v) => v,
        Err(e) => return fail("", format!("the COSE envelope is not CBOR: {e}")),
    };
    let Cbor::Tag(18, inner) = value else {
        return fail(
            "",
            "the COSE envelope must be a tagged COSE_Sign1 (tag 18)".into(),
        );
    };
    let Cbor::Array(items) = *inner else {
        return fail("", "COSE_Sign1 must be an array".into());
    };
    let [
        Cbor::Bytes(protected_bytes),
        Cbor::Map(unprotected),
        payload,
        Cbor::Bytes(signature),
    ] = items.as_slice()
    else {
        return fail(
            "",
            "COSE_Sign1 must be [protected bstr, unprotected map, payload, signature bstr]".into(),
        );
    };
    let Cbor::Bytes(payload) = payload else {
        return fail("/payload", "detached payloads are not supported".into());
    };
    let protected: Vec<(Cbor, Cbor)> = match ciborium::from_reader::<Cbor, _>(&protected_bytes[..])
    {
        Ok(Cbor::Map(m)) => m,
        _ => return fail("/protected", "must be a CBOR map".into()),
    };
    let chain_value = cbor_get(unprotected, "33").or_else(|| cbor_get(&protected, "33"));
    let chain = match chain_value {
        Some(Cbor::Array(list)) => {
            let mut out = Vec::new();
            for (j, c) in list.iter().enumerate() {
                match c {
                    Cbor::Bytes(b) => out.push(b.clone()),
                    _ => {
                        return fail(
                            &format!("/unprotected/33/{j}"),
                            "must be a byte string".into(),
                        );
                    }
                }
            }
            out
        }
        Some(Cbor::Bytes(b)) => vec![b.clone()],
        _ => {
            return fail(
                "/unprotected/33",
                "is required: the x5chain certificate list".into(),
            );
        }
    };
    let alg_value = cbor_get(&protected, "1");
    let alg = match alg_value {
        Some(Cbor::Integer(i)) => Alg::from_cose(i128::from(*i)),
        _ => None,
    };
    let time = |k: &str| cbor_get(&protected, k).map(cbor_time);
    let headers = Headers {
        alg,
        alg_text: alg_value.map(cbor_key).unwrap_or_default(),
        cty: match cbor_get(&protected, "3") {
            Some(Cbor::Text(t)) => Some(t.clone()),
            _ => None,
        },
        crit: match cbor_get(&protected, "2") {
            Some(Cbor::Array(a)) => Some(a.iter().map(cbor_key).collect()),
            _ => None,
        },
        scheme: match cbor_get(&protected, SIGNING_SCHEME) {
            Some(Cbor::Text(t)) => Some(t.clone()),
            _ => None,
        },
        signing_time: time(SIGNING_TIME),
        authentic_signing_time: time(AUTHENTIC_SIGNING_TIME),
        expiry: time(EXPIRY),
        present: protected.iter().map(|(k, _)| cbor_key(k)).collect(),
    };
    let sig_structure = Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        Cbor::Bytes(protected_bytes.clone()),
        Cbor::Bytes(Vec::new()),
        Cbor::Bytes(payload.clone()),
    ]);
    let mut signing_input = Vec::new();
    if let Err(e) = ciborium::into_writer(&sig_structure, &mut signing_input) {
        return fail("", format!("cannot encode the Sig_structure: {e}"));
    }
    let agent = match cbor_get(unprotected, SIGNING_AGENT) {
        Some(Cbor::Text(t)) => Some(t.clone()),
        _ => None,
    };
    Some((
        headers,
        payload.clone(),
        signing_input,
        signature.clone(),
        chain,
        cbor_get(unprotected, TIMESTAMP).is_some(),
        agent,
    ))
}

impl Parsed {
    pub fn verify(&self, trust: &Trust, now: i64) -> Check {
        let mut c = Check::default();
        let leaf = &self.chain[0];
        c.details.insert("method".into(), "certificate".into());
        c.details.insert("algorithm".into(), self.alg.name().into());
        c.details
            .insert("signingScheme".into(), self.signing_scheme.clone().into());
        c.details
            .insert("certificateSubject".into(), leaf.subject().into());
        c.details
            .insert("certificateIdentity".into(), leaf.identity().into());
        if let Some(t) = self.signing_time {
            c.details.insert("signingTime".into(), rfc3339(t).into());
        }
        if let Some(t) = self.authentic_signing_time {
            c.details
                .insert("authenticSigningTime".into(), rfc3339(t).into());
        }
        if let Some(t) = self.expiry {
            c.details.insert("expiry".into(), rfc3339(t).into());
        }
        if let Some(a) = &self.signing_agent {
            c.details.insert("signingAgent".into(), a.clone().into());
        }
        let key = match &leaf.key {
            Ok(k) => k,
            Err(e) => {
                return fail(
                    c,
                    format!("the signing certificate's key cannot be used: {e}"),
                );
            }
        };
        if let Err(e) = key.verify(self.alg.scheme(), &self.signing_input, &self.signature) {
            return fail(
                c,
                format!(
                    "the envelope signature does not verify with the signing certificate's key: {e}"
                ),
            );
        }
        c.checked.push(format!(
            "{} signature verified with the signing certificate's {} key",
            self.alg.name(),
            key.describe()
        ));
        if let Some(expiry) = self.expiry
            && now > expiry
        {
            return fail(c, format!("the signature expired at {}", rfc3339(expiry)));
        }
        if let Err(e) = leaf.may_sign_code() {
            return fail(c, e);
        }
        // The signing time a signer states must fall within its certificate's validity.
        if let Some(t) = self.signing_time
            && let Err(e) = leaf.check_validity(t, "signing time")
        {
            return fail(c, e);
        }
        let (at, when) = match self.authentic_signing_time {
            Some(t) => (t, "signing time"),
            None => {
                c.checked.push(if self.timestamp {
                    "an RFC 3161 timestamp countersignature is present but not verified (not supported): certificates are judged at the time of verification".into()
                } else {
                    "no timestamp countersignature: certificates are judged at the time of verification".into()
                });
                (now, "verification time")
            }
        };
        if trust.notation.is_empty() {
            return fail(
                c,
                "no Notation trust store is configured (settings `notation.trust_stores`)".into(),
            );
        }
        let mut last = String::new();
        for store in &trust.notation {
            match verify_chain(&self.chain, &store.certs, at, when) {
                Ok(_) => {
                    c.checked.push(format!(
                        "certificate chain verified to trust store {:?} at {when} {}",
                        store.name,
                        rfc3339(at)
                    ));
                    c.verified_by = Some(store.name.clone());
                    c.identity = Some(leaf.identity());
                    return c;
                }
                Err(e) => last = e,
            }
        }
        fail(c, last)
    }
}

fn fail(mut c: Check, why: String) -> Check {
    c.failures.push(why);
    c
}
