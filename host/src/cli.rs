//! The command line's plugin and admin commands: `plugin list`, `plugin check` (offline,
//! runs a component on files), and `reindex` (online, calls the admin API).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::digest::{Algorithm, Digest};
use crate::plugins::{Descriptor, FileBlobs, ManifestInput, PluginHost, Verdict};

/// The empty config descriptor's media type and bytes (image-spec's "empty" descriptor).
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";

fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let mut resp = ureq::get(url)
        .call()
        .map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    Ok(serde_json::from_reader(resp.body_mut().as_reader())?)
}

/// `arca plugin list`: what the running server has loaded.
pub fn plugin_list(server: &str) -> anyhow::Result<()> {
    let v = get_json(&format!(
        "{}/_arca/v1/plugins",
        server.trim_end_matches('/')
    ))?;
    println!(
        "{:<24} {:<10} {:<24} {:<8} SOURCE / HANDLES",
        "NAME", "VERSION", "CAPABILITIES", "ENABLED"
    );
    for p in v["plugins"].as_array().into_iter().flatten() {
        let caps: Vec<&str> = p["capabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .collect();
        let handles: Vec<&str> = p["handles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .collect();
        println!(
            "{:<24} {:<10} {:<24} {:<8} {}  {}",
            p["name"].as_str().unwrap_or(""),
            p["version"].as_str().unwrap_or(""),
            caps.join(","),
            p["enabled"],
            p["source"].as_str().unwrap_or(""),
            handles.join(" ")
        );
    }
    Ok(())
}

/// `arca plugin enable|disable|reset NAME`: switch a plugin on the running server, for
/// every replica.
pub fn plugin_switch(server: &str, name: &str, enabled: Option<bool>) -> anyhow::Result<()> {
    let url = format!(
        "{}/_arca/v1/admin/plugins/{name}",
        server.trim_end_matches('/')
    );
    let body = serde_json::json!({ "enabled": enabled }).to_string();
    let mut resp = ureq::put(&url)
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .map_err(|e| anyhow::anyhow!("PUT {url}: {e}"))?;
    let v: serde_json::Value = serde_json::from_reader(resp.body_mut().as_reader())?;
    println!(
        "{} is {}{}",
        name,
        if v["enabled"].as_bool() == Some(true) {
            "enabled"
        } else {
            "disabled"
        },
        if v["switched"].as_bool() == Some(true) {
            ""
        } else {
            " (as configured)"
        }
    );
    Ok(())
}

/// The OCI error message of a failed admin call, or the status.
fn admin_error(what: &str, mut resp: ureq::http::Response<ureq::Body>) -> anyhow::Error {
    let status = resp.status();
    let body: serde_json::Value =
        serde_json::from_reader(resp.body_mut().as_reader()).unwrap_or(serde_json::Value::Null);
    match body["errors"][0]["message"].as_str() {
        Some(m) => anyhow::anyhow!("{what}: {m}"),
        None => anyhow::anyhow!("{what}: {status}"),
    }
}

fn admin_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// `arca plugin install REFERENCE`: install a plugin from an OCI artifact on the server.
pub fn plugin_install(server: &str, reference: &str) -> anyhow::Result<()> {
    let url = format!("{}/_arca/v1/admin/plugins", server.trim_end_matches('/'));
    let body = serde_json::json!({ "reference": reference }).to_string();
    let mut resp = admin_agent()
        .post(&url)
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .map_err(|e| anyhow::anyhow!("POST {url}: {e}"))?;
    if resp.status() != 201 {
        return Err(admin_error(&format!("installing {reference}"), resp));
    }
    let v: serde_json::Value = serde_json::from_reader(resp.body_mut().as_reader())?;
    println!(
        "installed {} {} from {} (component {})",
        v["name"].as_str().unwrap_or(""),
        v["version"].as_str().unwrap_or(""),
        v["source"].as_str().unwrap_or(""),
        v["digest"].as_str().unwrap_or("")
    );
    Ok(())
}

/// `arca plugin remove NAME`: remove an installed plugin from the server.
pub fn plugin_remove(server: &str, name: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/_arca/v1/admin/plugins/{name}",
        server.trim_end_matches('/')
    );
    let resp = admin_agent()
        .delete(&url)
        .call()
        .map_err(|e| anyhow::anyhow!("DELETE {url}: {e}"))?;
    if resp.status() != 204 {
        return Err(admin_error(&format!("removing {name}"), resp));
    }
    println!("removed {name}");
    Ok(())
}

/// `arca reindex`: rerun every indexer on the running server.
pub fn reindex(server: &str, repository: Option<&str>) -> anyhow::Result<()> {
    let mut url = format!("{}/_arca/v1/admin/reindex", server.trim_end_matches('/'));
    if let Some(r) = repository {
        url += &format!(
            "?repository={}",
            form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        );
    }
    eprintln!(
        "reindexing{} …",
        repository.map(|r| format!(" {r}")).unwrap_or_default()
    );
    let mut resp = ureq::post(&url)
        .send_empty()
        .map_err(|e| anyhow::anyhow!("POST {url}: {e}"))?;
    let v: serde_json::Value = serde_json::from_reader(resp.body_mut().as_reader())?;
    println!(
        "{} manifests, {} documents indexed, {} failures",
        v["manifests"], v["indexed"], v["failed"]
    );
    Ok(())
}

fn file_digest(path: &Path) -> anyhow::Result<(Digest, u64)> {
    let mut f =
        std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut h = Algorithm::Sha256.hasher();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((h.finish(), size))
}

/// `PATH[:MEDIA_TYPE]`
fn split_spec(spec: &str, default_type: &str) -> (PathBuf, String) {
    match spec.split_once(':') {
        Some((p, t)) if !t.is_empty() => (PathBuf::from(p), t.to_string()),
        _ => (PathBuf::from(spec), default_type.to_string()),
    }
}

/// What `arca plugin check` runs on.
pub struct CheckArgs {
    /// The component.
    pub wasm: PathBuf,
    /// Layers, as `PATH[:MEDIA_TYPE]`.
    pub layers: Vec<String>,
    /// Config, as `PATH[:MEDIA_TYPE]`.
    pub config: Option<String>,
    /// `artifactType` of the manifest.
    pub artifact_type: Option<String>,
    /// Repository to pretend the push goes to (per-repository settings apply).
    pub repository: String,
    /// Tag to pretend.
    pub tag: Option<String>,
    /// Plugin settings (JSON object).
    pub settings: Option<String>,
}

/// `arca plugin check`: load a component, print what it declares, and run `validate` and
/// `index` on a manifest made of the given files. Exit status 1 when it rejects.
pub async fn plugin_check(args: CheckArgs, mut config: Config) -> anyhow::Result<bool> {
    let wasm =
        std::fs::read(&args.wasm).map_err(|e| anyhow::anyhow!("{}: {e}", args.wasm.display()))?;
    let tmp = std::env::temp_dir().join(format!("arca-plugin-check-{}", std::process::id()));
    config.plugins.cache_dir = Some(tmp.clone());
    let probe = PluginHost::from_sources(
        &config,
        vec![(args.wasm.display().to_string(), wasm.clone())],
    )?;
    let info = probe.describe().remove(0);
    if let Some(s) = &args.settings {
        let v: serde_json::Value =
            serde_json::from_str(s).map_err(|e| anyhow::anyhow!("--settings: {e}"))?;
        let obj = v
            .as_object()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("--settings must be a JSON object"))?;
        config.plugin.entry(info.name.clone()).or_default().settings = obj;
    }
    let host = PluginHost::from_sources(&config, vec![(args.wasm.display().to_string(), wasm)])?;
    println!("plugin       {} {}", info.name, info.version);
    println!("digest       {}", info.digest);
    println!("handles      {}", info.handles.join(" "));
    println!("capabilities {}", info.capabilities.join(", "));
    if !info.views.is_empty() {
        println!("views        {}", info.views.join(", "));
    }

    let mut files = BTreeMap::new();
    let mut describe = |spec: &str, default_type: &str| -> anyhow::Result<Descriptor> {
        let (path, media_type) = split_spec(spec, default_type);
        let (digest, size) = file_digest(&path)?;
        files.insert(digest.to_string(), path);
        Ok(Descriptor {
            media_type,
            digest: digest.to_string(),
            size,
            ..Descriptor::default()
        })
    };
    let config_desc = match &args.config {
        Some(spec) => describe(spec, EMPTY_TYPE)?,
        None => {
            let p = tmp.join("empty.json");
            std::fs::create_dir_all(&tmp)?;
            std::fs::write(&p, b"{}")?;
            describe(&p.display().to_string(), EMPTY_TYPE)?
        }
    };
    let layers = args
        .layers
        .iter()
        .map(|l| describe(l, "application/octet-stream"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let desc_json = |d: &Descriptor| serde_json::json!({ "mediaType": d.media_type, "digest": d.digest, "size": d.size });
    let mut raw = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc_json(&config_desc),
        "layers": layers.iter().map(desc_json).collect::<Vec<_>>(),
    });
    if let Some(at) = &args.artifact_type {
        raw["artifactType"] = at.clone().into();
    }
    let raw = serde_json::to_vec(&raw)?;
    let input = Arc::new(ManifestInput {
        repository: args.repository.clone(),
        tag: args.tag.clone(),
        digest: Algorithm::Sha256.digest(&raw).to_string(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: args.artifact_type.clone(),
        config: Some(config_desc),
        layers,
        subject: None,
        annotations: Vec::new(),
        raw,
    });
    let source: Arc<dyn crate::plugins::BlobSource> = Arc::new(FileBlobs(files));
    if host.selected(&input, true).is_empty() && host.selected(&input, false).is_empty() {
        println!(
            "\nthe plugin does not handle this manifest (no media type matches {})",
            info.handles.join(" ")
        );
        return Ok(true);
    }
    let mut accepted = true;
    for o in host.validate(&input, source.clone()).await {
        match o.result {
            Ok(Verdict {
                rejected: false,
                violations,
                total,
            }) => {
                println!("\nvalidate: accepted ({total} warnings)");
                for v in violations {
                    println!("  warning {}: {}", v.path, v.message);
                }
            }
            Ok(Verdict {
                violations, total, ..
            }) => {
                accepted = false;
                println!("\nvalidate: REJECTED ({total} violations)");
                for v in violations {
                    println!("  {}: {}", v.path, v.message);
                }
            }
            Err(e) => {
                accepted = false;
                println!("\nvalidate: the plugin {e}");
            }
        }
    }
    for o in host.index(&input, source).await {
        match o.result {
            Ok(None) => println!("\nindex: nothing to say"),
            Ok(Some(d)) => {
                let pretty = serde_json::from_str::<serde_json::Value>(&d.json)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or(d.json);
                println!("\nindex: document\n{pretty}\nfacets");
                for f in d.facets {
                    println!("  {}={}", f.name, f.value);
                }
                for f in d.subject_facets {
                    println!("  (subject) {}={}", f.name, f.value);
                }
            }
            Err(e) => println!("\nindex: the plugin {e}"),
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    Ok(accepted)
}
