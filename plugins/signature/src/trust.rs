//! The plugin's settings: the trust material signatures are verified against.
//!
//! ```toml
//! [plugin.signature.settings]
//! keys = [{ name = "release-key", pem = "-----BEGIN PUBLIC KEY-----…" }]
//!
//! [plugin.signature.settings.notation]
//! trust_stores = [{ name = "acme-ca", certificates_pem = "-----BEGIN CERTIFICATE-----…" }]
//!
//! [plugin.signature.settings.sigstore]
//! fulcio_roots = [{ name = "fulcio", pem = "-----BEGIN CERTIFICATE-----…" }]
//! rekor_keys = [{ name = "rekor", pem = "-----BEGIN PUBLIC KEY-----…" }]
//! identities = [{ name = "release-ci", issuer = "https://token.actions.githubusercontent.com",
//!                 subject = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main" }]
//! ```
//!
//! Material that does not parse is skipped and reported (in the log and in every document),
//! never trusted.

use serde::Deserialize;

use crate::keys::PublicKey;
use crate::rekor::RekorKey;
use crate::x509::Cert;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    keys: Vec<NamedPem>,
    #[serde(default)]
    notation: NotationSettings,
    #[serde(default)]
    sigstore: SigstoreSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedPem {
    name: String,
    pem: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotationSettings {
    #[serde(default)]
    trust_stores: Vec<TrustStoreSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustStoreSettings {
    name: String,
    certificates_pem: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigstoreSettings {
    #[serde(default)]
    fulcio_roots: Vec<NamedPem>,
    #[serde(default)]
    rekor_keys: Vec<NamedPem>,
    #[serde(default)]
    identities: Vec<Identity>,
}

/// A Sigstore (Fulcio certificate) identity that is trusted: the OIDC issuer and the
/// certificate's subject (SAN email or URI). Either may end in `*` to match a prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The name results are indexed under (defaults to `subject`).
    #[serde(default)]
    pub name: Option<String>,
    pub issuer: String,
    pub subject: String,
}

impl Identity {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.subject)
    }

    pub fn matches(&self, issuer: &str, subject: &str) -> bool {
        pattern(&self.issuer, issuer) && pattern(&self.subject, subject)
    }
}

fn pattern(p: &str, value: &str) -> bool {
    match p.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => p == value,
    }
}

/// A named set of trusted certificates.
#[derive(Debug, Clone)]
pub struct Store {
    pub name: String,
    pub certs: Vec<Cert>,
}

/// Everything configured, parsed.
#[derive(Debug, Default, Clone)]
pub struct Trust {
    /// cosign / Sigstore public keys.
    pub keys: Vec<(String, PublicKey)>,
    /// Notation trust stores (root or intermediate CA certificates).
    pub notation: Vec<Store>,
    /// Fulcio roots (and intermediates), each named.
    pub fulcio: Vec<Store>,
    pub rekor: Vec<RekorKey>,
    pub identities: Vec<Identity>,
    /// What could not be used, for people.
    pub problems: Vec<String>,
}

impl Trust {
    /// The trust material in `config` (the plugin's settings JSON).
    pub fn from_config(config: &serde_json::Value) -> Trust {
        let settings: Settings = if config.is_null() {
            Settings::default()
        } else {
            match serde_json::from_value(config.clone()) {
                Ok(s) => s,
                Err(e) => {
                    return Trust {
                        problems: vec![format!(
                            "the plugin settings are invalid ({e}); no trust material is used"
                        )],
                        ..Trust::default()
                    };
                }
            }
        };
        let mut t = Trust::default();
        for k in &settings.keys {
            match PublicKey::from_pem(&k.pem) {
                Ok(key) => t.keys.push((k.name.clone(), key)),
                Err(e) => t.problems.push(format!("keys: {:?}: {e}", k.name)),
            }
        }
        for s in &settings.notation.trust_stores {
            match Cert::from_pem_all(&s.certificates_pem) {
                Ok(certs) => t.notation.push(Store {
                    name: s.name.clone(),
                    certs,
                }),
                Err(e) => t
                    .problems
                    .push(format!("notation.trust_stores: {:?}: {e}", s.name)),
            }
        }
        for r in &settings.sigstore.fulcio_roots {
            match Cert::from_pem_all(&r.pem) {
                Ok(certs) => t.fulcio.push(Store {
                    name: r.name.clone(),
                    certs,
                }),
                Err(e) => t
                    .problems
                    .push(format!("sigstore.fulcio_roots: {:?}: {e}", r.name)),
            }
        }
        for r in &settings.sigstore.rekor_keys {
            match PublicKey::from_pem(&r.pem) {
                Ok(key) => t.rekor.push(RekorKey::new(&r.name, key)),
                Err(e) => t
                    .problems
                    .push(format!("sigstore.rekor_keys: {:?}: {e}", r.name)),
            }
        }
        t.identities = settings.sigstore.identities;
        t
    }

    /// The first configured identity that `cert` (a Fulcio certificate) proves.
    pub fn identity_of(&self, cert: &Cert) -> Result<(&Identity, String), String> {
        let issuer = cert.fulcio_issuer().unwrap_or_default();
        let sans = cert.san_identities();
        if self.identities.is_empty() {
            return Err(format!(
                "no Sigstore identity is configured (the certificate is for {:?}, issuer {:?})",
                sans.first().map(String::as_str).unwrap_or(""),
                issuer
            ));
        }
        for id in &self.identities {
            if let Some(san) = sans.iter().find(|s| id.matches(&issuer, s)) {
                return Ok((id, san.clone()));
            }
        }
        Err(format!(
            "no configured Sigstore identity matches the certificate's {:?} (issuer {:?})",
            sans.join(", "),
            issuer
        ))
    }
}
