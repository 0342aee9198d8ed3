//! Plugins installed at run time from OCI references (`arca plugin install`): from a
//! repository of this registry, or from another registry. The artifact is pinned by the
//! digest of its manifest, its one layer is the component, and the component is kept in
//! the blob store so every replica (and every restart) loads the same bytes.

use std::io::Read;

use bytes::Bytes;

use super::App;
use super::policy::PolicyAction;
use crate::digest::{Algorithm, Digest};
use crate::error::{Code, Error, Result};
use crate::metadata::{InstalledPlugin, Reference, now};
use crate::plugins::{INSTALLED_PREFIX, PluginDescription};
use crate::reference::{is_valid_name, is_valid_tag};

/// Media types asked for when fetching a plugin's manifest from another registry.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.docker.distribution.manifest.v2+json";

/// A parsed `[registry/]repository(:tag|@digest)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    /// Another registry's `host[:port]`, or `None` for this one.
    pub registry: Option<String>,
    /// Repository name.
    pub repository: String,
    /// Tag, when not pinned by digest.
    pub tag: Option<String>,
    /// Digest, when pinned.
    pub digest: Option<Digest>,
}

fn bad_reference(reference: &str, why: &str) -> Error {
    Error::new(
        Code::NameInvalid,
        format!("plugin reference {reference:?}: {why}"),
    )
    .with_status(axum::http::StatusCode::BAD_REQUEST)
}

impl PluginRef {
    /// Parse a reference. The first path segment names another registry when it contains
    /// a `.` or a `:` or is `localhost`, as in every OCI client.
    pub fn parse(reference: &str) -> Result<Self> {
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (
                r,
                Some(
                    d.parse::<Digest>()
                        .map_err(|e| bad_reference(reference, &e.to_string()))?,
                ),
            ),
            None => (reference, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path)
            }
            _ => (None, rest),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (path.to_string(), None),
        };
        if !is_valid_name(&repository) {
            return Err(bad_reference(reference, "the repository name is not valid"));
        }
        if let Some(t) = &tag
            && !is_valid_tag(t)
        {
            return Err(bad_reference(reference, "the tag is not valid"));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad_reference(
                reference,
                "give a tag (resolved and pinned to its digest now) or @digest",
            ));
        }
        Ok(PluginRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// How an installed plugin's source is shown: `oci:[registry/]repository@<manifest>`,
    /// pinned to the manifest it was installed from.
    fn source_label(&self, manifest: &str) -> String {
        let registry = self
            .registry
            .as_ref()
            .map(|h| format!("{h}/"))
            .unwrap_or_default();
        format!("{INSTALLED_PREFIX}{registry}{}@{manifest}", self.repository)
    }

    fn manifest_reference(&self) -> String {
        match &self.digest {
            Some(d) => d.to_string(),
            None => self.tag.clone().unwrap_or_default(),
        }
    }
}

fn install_error(message: impl Into<String>) -> Error {
    Error::new(Code::ManifestInvalid, message).with_status(axum::http::StatusCode::BAD_REQUEST)
}

/// The one layer of a plugin artifact's manifest: `(digest, size)`.
fn component_layer(manifest: &[u8], content_type: Option<&str>) -> Result<(Digest, u64)> {
    let parsed = super::manifest::parse(manifest, content_type)
        .map_err(|e| install_error(format!("the plugin's manifest: {}", e.message)))?;
    if parsed.is_index() {
        return Err(install_error(
            "the reference names an index; a plugin is an artifact with one layer, the component",
        ));
    }
    match parsed.layers.as_slice() {
        [one] => Ok((one.digest.clone(), one.size)),
        layers => Err(install_error(format!(
            "a plugin artifact has exactly one layer (the component); this one has {}",
            layers.len()
        ))),
    }
}

impl App {
    /// Install (or upgrade, by name) a plugin from an OCI reference; active at once.
    pub async fn install_plugin(&self, reference: &str) -> Result<PluginDescription> {
        let r = PluginRef::parse(reference)?;
        let max = self.config().plugins.max_component_bytes;
        let (manifest_digest, component, wasm) = match &r.registry {
            None => self.local_component(&r, max).await?,
            Some(host) => {
                let (host, r2) = (host.clone(), r.clone());
                let insecure = self.config().plugins.insecure_registries.clone();
                let (md, cd, wasm) =
                    tokio::task::spawn_blocking(move || fetch_remote(&host, &r2, max, &insecure))
                        .await
                        .map_err(|e| Error::internal("plugin fetch", e))??;
                self.keep_component(&cd, wasm.clone()).await?;
                (md, cd, wasm)
            }
        };
        let source = r.source_label(manifest_digest.as_str());
        let plugins = self.inner_plugins();
        let desc = tokio::task::spawn_blocking(move || plugins.install(source, &wasm))
            .await
            .map_err(|e| Error::internal("plugin load", e))?
            .map_err(|e| install_error(format!("{e:#}")))?;
        self.meta()
            .put_installed_plugin(InstalledPlugin {
                name: desc.name.clone(),
                reference: reference.to_string(),
                manifest: manifest_digest.to_string(),
                component: component.to_string(),
                installed_at: now(),
            })
            .await
            .map_err(|e| Error::internal("plugin record", e))?;
        tracing::info!(plugin = %desc.name, source = %desc.source, "plugin installed");
        Ok(desc)
    }

    /// Remove a plugin installed with `install_plugin`; `false` when none has that name.
    pub async fn remove_plugin(&self, name: &str) -> Result<bool> {
        let unloaded = self.plugins().uninstall(name).map_err(|e| {
            Error::new(Code::Unsupported, format!("{e:#}"))
                .with_status(axum::http::StatusCode::BAD_REQUEST)
        })?;
        let forgotten = self
            .meta()
            .delete_installed_plugin(name)
            .await
            .map_err(|e| Error::internal("plugin record", e))?;
        Ok(unloaded || forgotten)
    }

    /// Bring the loaded set in line with the installed plugins recorded in the metadata
    /// store (at start-up, and periodically so replicas follow each other).
    pub async fn sync_installed_plugins(&self) -> anyhow::Result<()> {
        let recorded = self.meta().installed_plugins().await?;
        let loaded = self.plugins().describe();
        for p in &recorded {
            let label_end = format!("@{}", p.manifest);
            let current = loaded.iter().any(|l| {
                l.name == p.name
                    && l.source.starts_with(INSTALLED_PREFIX)
                    && l.source.ends_with(&label_end)
            });
            if current {
                continue;
            }
            let result = async {
                let d: Digest = p.component.parse()?;
                let size = self
                    .blobs()
                    .stat(&d)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("its component blob {d} is not stored"))?;
                let mut bytes = Vec::with_capacity(size as usize);
                let mut reader = self.blobs().read(&d, 0, size).await?;
                tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes).await?;
                let r =
                    PluginRef::parse(&p.reference).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                let source = r.source_label(&p.manifest);
                let plugins = self.inner_plugins();
                tokio::task::spawn_blocking(move || plugins.install(source, &bytes)).await??;
                anyhow::Ok(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(plugin = %p.name, reference = %p.reference, error = %format!("{e:#}"), "cannot load an installed plugin");
            }
        }
        for l in loaded
            .iter()
            .filter(|l| l.source.starts_with(INSTALLED_PREFIX))
        {
            if !recorded.iter().any(|p| p.name == l.name) {
                let _ = self.plugins().uninstall(&l.name);
            }
        }
        Ok(())
    }

    /// The component of a plugin artifact in this registry, after the policies for
    /// pulling and installing from its repository.
    async fn local_component(&self, r: &PluginRef, max: u64) -> Result<(Digest, Digest, Vec<u8>)> {
        let reference = r.manifest_reference();
        let by = match &r.digest {
            Some(d) => Reference::Digest(d.as_str()),
            None => Reference::Tag(&reference),
        };
        let rec = self
            .meta()
            .get_manifest(&r.repository, by, true)
            .await
            .map_err(|e| Error::internal("plugin lookup", e))?
            .ok_or_else(|| Error::manifest_unknown(&format!("{}:{reference}", r.repository)))?;
        for action in [PolicyAction::Pull, PolicyAction::Install] {
            self.enforce_policies(action, &r.repository, &rec.digest)
                .await?;
        }
        let content = rec.content.unwrap_or_default();
        let (layer, size) = component_layer(&content, Some(&rec.media_type))?;
        if size > max {
            return Err(too_big(size, max));
        }
        let stored = self
            .meta()
            .blob_in_repository(&r.repository, layer.as_str())
            .await
            .map_err(|e| Error::internal("plugin lookup", e))?
            .ok_or_else(|| Error::blob_unknown(layer.as_str()))?;
        let mut bytes = Vec::with_capacity(stored as usize);
        let mut reader = self
            .blobs()
            .read(&layer, 0, stored)
            .await
            .map_err(|e| Error::internal("plugin read", e))?;
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
            .await
            .map_err(|e| Error::internal("plugin read", e))?;
        let digest: Digest = rec
            .digest
            .parse()
            .map_err(|e| Error::internal("plugin lookup", e))?;
        Ok((digest, layer, bytes))
    }

    /// Keep a fetched component in the blob store (where restarts load it from).
    async fn keep_component(&self, digest: &Digest, wasm: Vec<u8>) -> Result<()> {
        let internal = |e: &dyn std::fmt::Display| Error::internal("plugin store", e);
        let id = format!("plugin-{}", uuid::Uuid::new_v4());
        self.blobs()
            .create_upload(&id)
            .await
            .map_err(|e| internal(&e))?;
        let stream: crate::storage::ByteStream =
            Box::pin(futures_util::stream::once(
                async move { Ok(Bytes::from(wasm)) },
            ));
        let stored = async {
            self.blobs()
                .append(&id, Some(0), stream)
                .await
                .map_err(|e| internal(&e))?;
            self.blobs()
                .commit(&id, digest)
                .await
                .map_err(|e| internal(&e))
        }
        .await;
        if stored.is_err() {
            let _ = self.blobs().delete_upload(&id).await;
        }
        stored.map(|_| ())
    }
}

fn too_big(size: u64, max: u64) -> Error {
    install_error(format!(
        "the component is {size} bytes, over plugins.max_component_bytes ({max})"
    ))
}

/// Whether to speak plain HTTP to `host`: loopback, or listed as insecure.
fn plain_http(host: &str, insecure: &[String]) -> bool {
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || insecure.iter().any(|i| i == host)
}

/// GET with the anonymous token dance every OCI registry expects: on a 401 with a
/// `Bearer` challenge, fetch a token from the realm and try again.
fn get(
    url: &str,
    accept: &str,
    token: &mut Option<String>,
) -> Result<ureq::http::Response<ureq::Body>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let fetch_err = |e: ureq::Error| install_error(format!("GET {url}: {e}"));
    for _ in 0..2 {
        let mut req = agent.get(url).header("accept", accept);
        if let Some(t) = token.as_ref() {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        let resp = req.call().map_err(fetch_err)?;
        if resp.status() != 401 || token.is_some() {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        *token =
            Some(anonymous_token(&agent, &challenge).map_err(|e| {
                install_error(format!("GET {url}: 401, and no anonymous token: {e}"))
            })?);
    }
    Err(install_error(format!("GET {url}: unauthorized")))
}

fn anonymous_token(agent: &ureq::Agent, challenge: &str) -> std::result::Result<String, String> {
    let params = challenge
        .strip_prefix("Bearer ")
        .ok_or_else(|| format!("challenge {challenge:?} is not Bearer"))?;
    let mut realm = None;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for part in params.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            let v = v.trim_matches('"');
            match k {
                "realm" => realm = Some(v.to_string()),
                "service" | "scope" => {
                    query.append_pair(k, v);
                }
                _ => {}
            }
        }
    }
    let realm = realm.ok_or("no realm in the challenge")?;
    let mut resp = agent
        .get(&format!("{realm}?{}", query.finish()))
        .call()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value =
        serde_json::from_reader(resp.body_mut().as_reader()).map_err(|e| e.to_string())?;
    v["token"]
        .as_str()
        .or(v["access_token"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "the token response has no token".into())
}

/// Fetch the manifest and its one layer from another registry, verifying both digests.
fn fetch_remote(
    host: &str,
    r: &PluginRef,
    max: u64,
    insecure: &[String],
) -> Result<(Digest, Digest, Vec<u8>)> {
    let scheme = if plain_http(host, insecure) {
        "http"
    } else {
        "https"
    };
    let base = format!("{scheme}://{host}/v2/{}", r.repository);
    let mut token = None;
    let url = format!("{base}/manifests/{}", r.manifest_reference());
    let mut resp = get(&url, ACCEPT, &mut token)?;
    if resp.status() != 200 {
        return Err(install_error(format!("GET {url}: {}", resp.status())));
    }
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut manifest = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(4 << 20)
        .read_to_end(&mut manifest)
        .map_err(|e| install_error(format!("GET {url}: {e}")))?;
    let alg = r
        .digest
        .as_ref()
        .map_or(Algorithm::Sha256, Digest::algorithm);
    let manifest_digest = alg.digest(&manifest);
    if let Some(pin) = &r.digest
        && *pin != manifest_digest
    {
        return Err(install_error(format!(
            "the manifest from {url} hashes to {manifest_digest}, not to the pinned {pin}"
        )));
    }
    let (layer, size) = component_layer(&manifest, content_type.as_deref())?;
    if size > max {
        return Err(too_big(size, max));
    }
    let url = format!("{base}/blobs/{layer}");
    let mut resp = get(&url, "*/*", &mut token)?;
    if resp.status() != 200 {
        return Err(install_error(format!("GET {url}: {}", resp.status())));
    }
    let mut wasm = Vec::new();
    resp.body_mut()
        .with_config()
        .limit(max + 1)
        .reader()
        .take(max + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| install_error(format!("GET {url}: {e}")))?;
    if wasm.len() as u64 > max {
        return Err(too_big(wasm.len() as u64, max));
    }
    let got = layer.algorithm().digest(&wasm);
    if got != layer {
        return Err(install_error(format!(
            "the component from {url} hashes to {got}, not to {layer}"
        )));
    }
    Ok((manifest_digest, layer, wasm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_like_oci_clients_read_them() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = PluginRef::parse(&format!("plugins/lint@{d}")).unwrap();
        assert_eq!(r.registry, None);
        assert_eq!(r.repository, "plugins/lint");
        assert_eq!(r.digest.unwrap().as_str(), d);
        let r = PluginRef::parse("127.0.0.1:5000/plugins/lint:1.0").unwrap();
        assert_eq!(r.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.repository, "plugins/lint");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        let r = PluginRef::parse("ghcr.io/acme/lint:2").unwrap();
        assert_eq!(r.registry.as_deref(), Some("ghcr.io"));
        assert!(
            PluginRef::parse("plugins/lint").is_err(),
            "neither tag nor digest"
        );
        assert!(PluginRef::parse("Plugins/Lint:1").is_err());
        assert!(PluginRef::parse("plugins/lint@sha256:zz").is_err());
    }

    #[test]
    fn loopback_and_listed_registries_speak_plain_http() {
        assert!(plain_http("127.0.0.1:5000", &[]));
        assert!(plain_http("localhost", &[]));
        assert!(!plain_http("ghcr.io", &[]));
        assert!(plain_http(
            "reg.internal:5000",
            &["reg.internal:5000".into()]
        ));
    }
}
