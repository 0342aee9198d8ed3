//! A valid CycloneDX 1.5 JSON document of a given number of components.

use serde_json::{Value, json};

pub(crate) const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
pub(crate) const EMPTY: &str = "application/vnd.oci.empty.v1+json";

const LICENSES: &[&str] = &["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0"];
const ECOSYSTEMS: &[&str] = &["npm", "pypi", "cargo", "golang", "maven"];

fn component(serial: usize, i: usize) -> Value {
    let eco = ECOSYSTEMS[i % ECOSYSTEMS.len()];
    let name = format!("package-{i:05}");
    let version = format!("{}.{}.{}", 1 + i % 4, i % 17, (i * 7 + serial) % 23);
    let mut h = [0u8; 32];
    crate::body::fill((serial as u64) << 32 | i as u64, 0, &mut h);
    json!({
        "type": "library",
        "bom-ref": format!("c{i}"),
        "name": name,
        "version": version,
        "purl": format!("pkg:{eco}/{name}@{version}"),
        "licenses": [{"license": {"id": LICENSES[i % LICENSES.len()]}}],
        "hashes": [{"alg": "SHA-256", "content": hex::encode(h)}]
    })
}

/// A CycloneDX 1.5 SBOM with `components` components (unique `bom-ref`s, purls and
/// licenses) and their dependency graph; `serial` makes documents distinct.
pub(crate) fn cyclonedx(serial: usize, components: usize) -> Vec<u8> {
    let comps: Vec<Value> = (0..components).map(|i| component(serial, i)).collect();
    let deps: Vec<Value> = comps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let on: Vec<&Value> = if i + 1 < comps.len() {
                vec![&comps[i + 1]["bom-ref"]]
            } else {
                vec![]
            };
            json!({"ref": c["bom-ref"], "dependsOn": on})
        })
        .collect();
    serde_json::to_vec(&json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:3e671687-395b-41f5-a30f-{serial:012}"),
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "tools": {"components": [{"type": "application", "name": "arca-bench", "version": "0.1.0"}]},
            "component": {"type": "application", "name": format!("bench-app-{serial}"), "bom-ref": "root"}
        },
        "components": comps,
        "dependencies": deps
    }))
    .expect("json")
}

/// The same document made invalid (a component without its required `name`).
pub(crate) fn invalid_cyclonedx() -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&cyclonedx(999_999, 3)).expect("json");
    v["components"][1]
        .as_object_mut()
        .expect("object")
        .remove("name");
    serde_json::to_vec(&v).expect("json")
}

/// The manifest of an SBOM artifact: empty config, one CycloneDX layer.
pub(crate) fn manifest(empty_digest: &str, layer_digest: &str, layer_size: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": crate::http::OCI_MANIFEST,
        "artifactType": CYCLONEDX,
        "config": {"mediaType": EMPTY, "digest": empty_digest, "size": 2, "data": "e30="},
        "layers": [{"mediaType": CYCLONEDX, "digest": layer_digest, "size": layer_size}]
    }))
    .expect("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_mib_for_3300_components() {
        let doc = cyclonedx(1, 3300);
        let mib = doc.len() as f64 / (1 << 20) as f64;
        assert!((0.9..1.15).contains(&mib), "{mib:.3} MiB");
        let v: Value = serde_json::from_slice(&doc).unwrap();
        let refs: std::collections::HashSet<&str> = v["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs.len(), 3300);
    }
}
