//! Unit tests over real binaries: the checked-in fixtures in `tests/wasm-fixtures/prebuilt`
//! (built from the crates beside them by `tests/wasm-fixtures/build.sh --update-prebuilt`)
//! and a few hand-assembled modules.

use super::*;
use arca_plugin_sdk::testing::Harness;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/wasm-fixtures/prebuilt")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The config `wkg oci push` writes for `wasm` (imports/exports as `oci-wasm` computes them,
/// which is what `wit::decode_world` mirrors; the tests below also pin them independently).
fn cncf_config(wasm: &[u8], digest: &str) -> Value {
    let kind = analyze::kind_of_header(wasm).expect("a wasm header");
    let mut config = json!({
        "created": "2026-11-28T00:00:00Z",
        "architecture": "wasm",
        "os": if kind == Kind::Component { "wasip2" } else { "wasip1" },
        "layerDigests": [digest],
    });
    if kind == Kind::Component {
        let w = wit::decode_world(wasm).expect("decode the fixture's world");
        config["component"] = json!({"exports": w.exports, "imports": w.imports, "target": null});
    }
    config
}

/// A CNCF artifact around `wasm`; `edit` changes the config before it is stored.
fn cncf(wasm: Vec<u8>, edit: impl FnOnce(&mut Value)) -> (Harness, Manifest) {
    cncf_with(Harness::new(), wasm, edit)
}

fn cncf_with(mut h: Harness, wasm: Vec<u8>, edit: impl FnOnce(&mut Value)) -> (Harness, Manifest) {
    let digest = format!("sha256:{}", sha256_hex(&wasm));
    let mut config = cncf_config(&wasm, &digest);
    edit(&mut config);
    let layer = h.blob(LAYER_WASM, wasm);
    assert_eq!(layer.digest, digest);
    let c = h.blob(CONFIG_V0, config.to_string());
    let m = h.manifest(None, c, vec![layer]);
    (h, m)
}

fn sha256_hex(bytes: &[u8]) -> String {
    // The harness computes digests; reuse it through a throwaway blob.
    let mut h = Harness::new();
    h.blob("x", bytes.to_vec())
        .digest
        .trim_start_matches("sha256:")
        .to_string()
}

fn facets(doc: &Document, name: &str) -> Vec<String> {
    doc.facets
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.value.clone())
        .collect()
}

fn rejected(v: Verdict) -> Vec<Violation> {
    match v {
        Verdict::Reject(v) => v,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn accepted(v: Verdict) -> Vec<Violation> {
    match v {
        Verdict::Accept(w) => w,
        other => panic!("expected acceptance, got {other:?}"),
    }
}

/// A module whose only function claims to return an i32 but leaves an i64: well-formed,
/// invalid.
const BAD_BODY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x01, 0x0b, // code: i64.const 1; end
];

/// Appends a custom section to a core module.
fn with_custom_section(mut module: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    module.push(0);
    leb(body.len(), &mut module);
    module.extend_from_slice(&body);
    module
}

#[test]
fn info_declares_the_wasm_media_types_and_the_wit_view() {
    let info = Wasm::info();
    assert_eq!(info.name, "wasm");
    for t in [CONFIG_V0, CONFIG_V1, LAYER_WASM, LAYER_V1] {
        assert!(info.handles.iter().any(|h| h == t), "{t}");
    }
    assert!(info.validate && info.index && info.render);
    assert_eq!(info.views, vec!["wit"]);
}

#[test]
fn an_http_component_is_accepted_and_indexed_per_the_facet_contract() {
    let (h, m) = cncf(fixture("hello-http.wasm"), |_| {});
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    let doc = h.index::<Wasm>(&m).unwrap().expect("a document");
    assert_eq!(facets(&doc, "wasm.kind"), vec!["component"]);
    assert_eq!(facets(&doc, "wasm.os"), vec!["wasip2"]);
    assert_eq!(facets(&doc, "wasm.layout"), vec!["cncf"]);
    let exports = facets(&doc, "wasm.export");
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert!(
        exports[0].starts_with("wasi:http/incoming-handler@0.2."),
        "{exports:?}"
    );
    let imports = facets(&doc, "wasm.import");
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/types@0.2.")),
        "{imports:?}"
    );
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:io/streams@0.2.")),
        "{imports:?}"
    );
    // Rust, and C11 for the wasi-libc pieces linked in.
    let languages = facets(&doc, "wasm.language");
    assert!(languages.contains(&"Rust".to_string()), "{languages:?}");
    let processed = facets(&doc, "wasm.processed-by");
    assert!(
        processed.iter().any(|p| p.starts_with("rustc@")),
        "{processed:?}"
    );
    assert!(
        processed.iter().any(|p| p.starts_with("wit-component@")),
        "{processed:?}"
    );
    assert!(
        processed.iter().any(|p| p.starts_with("wit-bindgen-rust@")),
        "{processed:?}"
    );
    let sections = facets(&doc, "wasm.custom-section");
    assert!(sections.contains(&"producers".to_string()), "{sections:?}");
    assert!(
        sections.contains(&"component-name".to_string()),
        "{sections:?}"
    );
    // The document: all of the above plus sizes.
    let len = fixture("hello-http.wasm").len();
    assert_eq!(doc.json["kind"], "component");
    assert_eq!(doc.json["size"], len);
    assert_eq!(doc.json["layers"][0]["size"], len);
    assert!(doc.json["totalSize"].as_u64().unwrap() > len as u64);
    assert!(
        doc.json["producers"]["language"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "Rust")
    );
    assert!(doc.json["layers"][0]["nestedModules"].as_u64().unwrap() >= 1);
}

#[test]
fn a_custom_interface_component_exports_it_with_its_version() {
    let wasm = fixture("greet.wasm");
    let world = wit::decode_world(&wasm).unwrap();
    assert_eq!(world.exports, vec!["arca:hello/greet@0.1.0"]);
    let (h, m) = cncf(wasm, |_| {});
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.export"), vec!["arca:hello/greet@0.1.0"]);
}

#[test]
fn a_wasip1_module_is_accepted_and_indexed_with_its_core_imports() {
    let (h, m) = cncf(fixture("hello-wasip1.wasm"), |_| {});
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.kind"), vec!["module"]);
    assert_eq!(facets(&doc, "wasm.os"), vec!["wasip1"]);
    let imports = facets(&doc, "wasm.import");
    assert!(
        imports.contains(&"wasi_snapshot_preview1/fd_write".to_string()),
        "{imports:?}"
    );
    let exports = facets(&doc, "wasm.export");
    assert!(exports.contains(&"_start".to_string()), "{exports:?}");
    assert!(exports.contains(&"memory".to_string()), "{exports:?}");
    assert!(facets(&doc, "wasm.language").contains(&"Rust".to_string()));
    assert!(facets(&doc, "wasm.world").is_empty());
}

#[test]
fn producers_sdk_entries_are_facets_with_their_versions() {
    // A producers section: 1 field "sdk" with 1 value ("TinyGo", "0.30.0").
    let mut producers = vec![1, 3];
    producers.extend_from_slice(b"sdk");
    producers.push(1);
    producers.push(6);
    producers.extend_from_slice(b"TinyGo");
    producers.push(6);
    producers.extend_from_slice(b"0.30.0");
    let wasm = with_custom_section(fixture("add.wasm"), "producers", &producers);
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, wasm);
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.sdk"), vec!["TinyGo@0.30.0"]);
    assert!(facets(&doc, "wasm.language").contains(&"Rust".to_string()));
}

#[test]
fn a_truncated_binary_is_refused() {
    let mut wasm = fixture("hello-wasip1.wasm");
    wasm.truncate(wasm.len() / 2);
    let (h, m) = cncf(wasm, |_| {});
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "layers/0:", "{v:?}");
    assert!(
        v[0].message.contains("not a valid WebAssembly binary"),
        "{v:?}"
    );
}

#[test]
fn a_truncated_component_is_refused() {
    let mut wasm = fixture("greet.wasm");
    wasm.truncate(wasm.len() - 10);
    let mut h = Harness::new();
    let layer = h.blob(LAYER_WASM, wasm);
    let config = json!({"architecture": "wasm", "os": "wasip2", "layerDigests": [layer.digest],
        "component": {"imports": [], "exports": []}});
    let c = h.blob(CONFIG_V0, config.to_string());
    let m = h.manifest(None, c, vec![layer]);
    let v = rejected(h.validate::<Wasm>(&m));
    assert!(v.iter().any(|v| v.path == "layers/0:"), "{v:?}");
}

#[test]
fn a_bad_magic_number_is_refused() {
    let mut wasm = fixture("add.wasm");
    wasm[1] = b'X';
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, wasm);
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "layers/0:");
    assert!(v[0].message.contains("magic"), "{v:?}");
    assert!(!v[0].message.contains('\n'), "one line: {v:?}");
}

#[test]
fn an_invalid_function_body_is_refused() {
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, BAD_BODY.to_vec());
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "layers/0:");
    assert!(v[0].message.contains("type mismatch"), "{v:?}");
    // Were it stored anyway (the plugin off at the time), it gets no document.
    assert_eq!(h.index::<Wasm>(&m).unwrap(), None);
}

#[test]
fn os_wasip2_with_a_core_module_is_refused() {
    let (h, m) = cncf(fixture("hello-wasip1.wasm"), |c| c["os"] = "wasip2".into());
    let v = rejected(h.validate::<Wasm>(&m));
    assert!(
        v.iter()
            .any(|v| v.path == "config:/os" && v.message.contains("core module")),
        "{v:?}"
    );
}

#[test]
fn os_wasip1_with_a_component_is_refused() {
    let (h, m) = cncf(fixture("greet.wasm"), |c| c["os"] = "wasip1".into());
    let v = rejected(h.validate::<Wasm>(&m));
    assert!(v.iter().any(|v| v.path == "config:/os"), "{v:?}");
}

#[test]
fn a_component_block_on_a_core_module_is_refused() {
    let (h, m) = cncf(fixture("hello-wasip1.wasm"), |c| {
        c["component"] = json!({"imports": [], "exports": ["_start"]});
    });
    let v = rejected(h.validate::<Wasm>(&m));
    assert!(v.iter().any(|v| v.path == "config:/component"), "{v:?}");
}

#[test]
fn a_component_without_a_component_block_is_refused() {
    let (h, m) = cncf(fixture("greet.wasm"), |c| {
        c.as_object_mut().unwrap().remove("component");
    });
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "config:/component", "{v:?}");
}

#[test]
fn layer_digests_that_do_not_match_the_layers_are_refused() {
    let (h, m) = cncf(fixture("greet.wasm"), |c| {
        c["layerDigests"] = json!([format!("sha256:{}", "0".repeat(64))]);
    });
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "config:/layerDigests", "{v:?}");
    let (h, m) = cncf(fixture("greet.wasm"), |c| {
        c.as_object_mut().unwrap().remove("layerDigests");
    });
    assert_eq!(
        rejected(h.validate::<Wasm>(&m))[0].path,
        "config:/layerDigests"
    );
}

#[test]
fn a_declared_export_the_binary_lacks_is_refused() {
    let (h, m) = cncf(fixture("greet.wasm"), |c| {
        c["component"]["exports"]
            .as_array_mut()
            .unwrap()
            .push("wasi:http/incoming-handler@0.2.0".into());
    });
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "config:/component/exports");
    assert!(
        v[0].message.contains("wasi:http/incoming-handler@0.2.0"),
        "{v:?}"
    );
}

#[test]
fn an_undeclared_import_is_refused() {
    let (h, m) = cncf(fixture("hello-http.wasm"), |c| {
        c["component"]["imports"].as_array_mut().unwrap().pop();
    });
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "config:/component/imports", "{v:?}");
    assert!(v[0].message.contains("does not declare"), "{v:?}");
}

#[test]
fn a_config_that_is_not_a_wasm_config_is_refused() {
    let (h, m) = cncf(fixture("add.wasm"), |c| {
        c["architecture"] = "amd64".into();
        c["os"] = 7.into();
    });
    let v = rejected(h.validate::<Wasm>(&m));
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    assert!(paths.contains(&"config:/architecture"), "{v:?}");
    assert!(paths.contains(&"config:/os"), "{v:?}");

    let mut h = Harness::new();
    let layer = h.blob(LAYER_WASM, fixture("add.wasm"));
    let c = h.blob(CONFIG_V0, "not json");
    let m = h.manifest(None, c, vec![layer]);
    assert_eq!(rejected(h.validate::<Wasm>(&m))[0].path, "config:");
}

#[test]
fn a_cncf_artifact_without_a_wasm_layer_is_refused() {
    let mut h = Harness::new();
    let layer = h.blob("application/octet-stream", vec![1, 2, 3]);
    let config = json!({"architecture": "wasm", "os": "wasip1", "layerDigests": [layer.digest]});
    let c = h.blob(CONFIG_V0, config.to_string());
    let m = h.manifest(None, c, vec![layer]);
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "/layers", "{v:?}");
}

#[test]
fn a_binary_over_max_bytes_is_refused_by_its_descriptor_before_reading() {
    let h = Harness::new().with_config(json!({"max_bytes": 1000}));
    let (h, m) = cncf_with(h, fixture("greet.wasm"), |_| {});
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "/layers/0/size", "{v:?}");
    assert!(v[0].message.contains("max_bytes"), "{v:?}");
    // A descriptor that understates the size does not get past the limit either.
    let (h, mut m) = cncf_with(
        Harness::new().with_config(json!({"max_bytes": 1000})),
        fixture("greet.wasm"),
        |_| {},
    );
    m.layers[0].size = 10;
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "/layers/0/size", "{v:?}");
    // The default limit is 64 MiB.
    let (h, mut m) = cncf(fixture("add.wasm"), |_| {});
    m.layers[0].size = DEFAULT_MAX_BYTES + 1;
    assert_eq!(rejected(h.validate::<Wasm>(&m))[0].path, "/layers/0/size");
}

#[test]
fn the_legacy_wasm_to_oci_layout_is_indexed() {
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, fixture("add.wasm"));
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.layout"), vec!["wasm-to-oci"]);
    assert_eq!(facets(&doc, "wasm.kind"), vec!["module"]);
    let exports = facets(&doc, "wasm.export");
    assert_eq!(exports[..2], ["memory", "add"], "{exports:?}");
    assert!(facets(&doc, "wasm.import").is_empty());
    // No WASI imports, no config: nothing says which OS.
    assert!(facets(&doc, "wasm.os").is_empty());
    assert_eq!(doc.json["layout"], "wasm-to-oci");

    // The wasip1 module in the legacy layout: its OS comes from its imports.
    let mut h = Harness::new();
    let layer = h.blob(LAYER_MODULE_V1, fixture("hello-wasip1.wasm"));
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.os"), vec!["wasip1"]);
    assert_eq!(doc.json["osSource"], "binary");
}

#[test]
fn a_kubewarden_policy_is_indexed_with_what_its_metadata_declares() {
    let metadata = json!({
        "protocolVersion": "v1",
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                   "operations": ["CREATE", "UPDATE"]},
                  {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                   "operations": ["CREATE"]}],
        "mutating": true,
        "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
        "executionMode": "kubewarden-wapc",
        "annotations": {"io.kubewarden.policy.title": "pod-privileged"},
    });
    let wasm = with_custom_section(
        fixture("add.wasm"),
        kubewarden::CUSTOM_SECTION,
        metadata.to_string().as_bytes(),
    );
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, wasm);
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    let doc = h.index::<Wasm>(&m).unwrap().unwrap();
    assert_eq!(facets(&doc, "wasm.layout"), vec!["kubewarden"]);
    assert_eq!(facets(&doc, "wasm.kubewarden.mutating"), vec!["true"]);
    assert_eq!(facets(&doc, "wasm.kubewarden.context-aware"), vec!["true"]);
    assert_eq!(
        facets(&doc, "wasm.kubewarden.resource"),
        vec!["v1/pods", "apps/v1/deployments"]
    );
    assert_eq!(
        facets(&doc, "wasm.kubewarden.operation"),
        vec!["CREATE", "UPDATE"]
    );
    assert_eq!(
        facets(&doc, "wasm.kubewarden.execution-mode"),
        vec!["kubewarden-wapc"]
    );
    assert_eq!(
        facets(&doc, "wasm.kubewarden.title"),
        vec!["pod-privileged"]
    );
    assert!(facets(&doc, "wasm.custom-section").contains(&kubewarden::CUSTOM_SECTION.to_string()));
    assert_eq!(
        doc.json["kubewarden"]["rules"][1]["resources"][0],
        "deployments"
    );
}

#[test]
fn kubewarden_metadata_that_is_not_json_is_refused() {
    let wasm = with_custom_section(fixture("add.wasm"), kubewarden::CUSTOM_SECTION, b"{nope");
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, wasm);
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let v = rejected(h.validate::<Wasm>(&m));
    assert_eq!(v[0].path, "layers/0:io.kubewarden.metadata", "{v:?}");
}

#[test]
fn the_wit_view_shows_the_exported_interface() {
    let (h, m) = cncf(fixture("greet.wasm"), |_| {});
    let r = h.render::<Wasm>("wit", "", Some(&m), &[]).unwrap();
    assert_eq!(r.media_type, "text/plain; charset=utf-8");
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("export arca:hello/greet@0.1.0;"), "{text}");
    assert!(text.contains("interface greet"), "{text}");
    assert!(
        text.contains("hello: func(name: string) -> string;"),
        "{text}"
    );

    let (h, m) = cncf(fixture("hello-http.wasm"), |_| {});
    let text = String::from_utf8(h.render::<Wasm>("wit", "", Some(&m), &[]).unwrap().body).unwrap();
    assert!(
        text.contains("export wasi:http/incoming-handler@0.2."),
        "{text}"
    );
    assert!(text.contains("interface incoming-handler"), "{text}");
}

#[test]
fn the_wit_view_of_a_module_lists_its_core_imports_and_exports() {
    let (h, m) = cncf(fixture("hello-wasip1.wasm"), |_| {});
    let text = String::from_utf8(h.render::<Wasm>("wit", "", Some(&m), &[]).unwrap().body).unwrap();
    assert!(text.contains("not a component"), "{text}");
    assert!(
        text.contains(
            "import \"wasi_snapshot_preview1\" \"fd_write\": func(i32, i32, i32, i32) -> i32;"
        ),
        "{text}"
    );
    assert!(text.contains("export \"_start\": func();"), "{text}");
    assert!(text.contains("export \"memory\": memory"), "{text}");
}

#[test]
fn the_wit_view_refuses_what_it_cannot_show() {
    let (h, m) = cncf(fixture("greet.wasm"), |_| {});
    assert!(h.render::<Wasm>("index.yaml", "", Some(&m), &[]).is_err());
    assert!(h.render::<Wasm>("wit", "", None, &[]).is_err());
    let mut h = Harness::new();
    let layer = h.blob(LAYER_V1, BAD_BODY.to_vec());
    let c = h.blob(CONFIG_V1, "{}");
    let m = h.manifest(None, c, vec![layer]);
    let e = h.render::<Wasm>("wit", "", Some(&m), &[]).unwrap_err();
    assert!(e.contains("not valid"), "{e}");
}

#[test]
fn manifests_without_wasm_are_left_alone() {
    let mut h = Harness::new();
    let c = h.blob("application/vnd.oci.image.config.v1+json", "{}");
    let l = h.blob("application/vnd.oci.image.layer.v1.tar+gzip", vec![1, 2]);
    let m = h.manifest(None, c, vec![l]);
    assert_eq!(h.validate::<Wasm>(&m), Verdict::accept());
    assert_eq!(h.index::<Wasm>(&m).unwrap(), None);
    let index = Manifest {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        raw: b"{\"schemaVersion\":2,\"manifests\":[]}".to_vec(),
        ..Manifest::default()
    };
    assert_eq!(h.validate::<Wasm>(&index), Verdict::accept());
}

#[test]
fn standard_features_still_accept_the_fixtures() {
    for name in [
        "hello-http.wasm",
        "greet.wasm",
        "hello-wasip1.wasm",
        "add.wasm",
    ] {
        let wasm = fixture(name);
        let a = analyze::analyze(&wasm[..], DEFAULT_MAX_BYTES, Features::Standard)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.size, wasm.len() as u64);
        assert_eq!(Some(a.kind), analyze::kind_of_header(&wasm));
        assert_eq!(a.bytes.is_some(), a.kind == Kind::Component, "{name}");
    }
}

/// A reader that hands out a few bytes at a time, like a slow registry stream.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn streaming_in_small_pieces_gives_the_same_analysis() {
    for name in ["hello-http.wasm", "hello-wasip1.wasm"] {
        let wasm = fixture(name);
        let whole = analyze::analyze(&wasm[..], DEFAULT_MAX_BYTES, Features::All).unwrap();
        let trickled =
            analyze::analyze(Trickle(&wasm, 7), DEFAULT_MAX_BYTES, Features::All).unwrap();
        assert_eq!(whole.imports, trickled.imports, "{name}");
        assert_eq!(whole.exports, trickled.exports, "{name}");
        assert_eq!(whole.custom_sections, trickled.custom_sections, "{name}");
        assert_eq!(whole.bytes, trickled.bytes, "{name}");
    }
}

#[test]
fn a_blob_that_cannot_be_read_fails_indexing_so_it_is_retried() {
    let mut h = Harness::new();
    let c = h.blob(CONFIG_V1, "{}");
    let missing = Descriptor {
        media_type: LAYER_V1.into(),
        digest: format!("sha256:{}", "ab".repeat(32)),
        size: 10,
        ..Descriptor::default()
    };
    let m = h.manifest(None, c, vec![missing]);
    let e = h.index::<Wasm>(&m).unwrap_err();
    assert!(e.starts_with("/layers/0:"), "{e}");
    assert!(h.validate::<Wasm>(&m).is_reject());
}

#[test]
fn a_max_bytes_setting_of_the_wrong_type_falls_back_to_the_default() {
    let h = Harness::new().with_config(json!({"max_bytes": "small"}));
    let (h, m) = cncf_with(h, fixture("add.wasm"), |_| {});
    assert_eq!(accepted(h.validate::<Wasm>(&m)), vec![]);
    assert!(
        h.logs
            .lock()
            .unwrap()
            .iter()
            .any(|(_, msg)| msg.contains("max_bytes"))
    );
}
