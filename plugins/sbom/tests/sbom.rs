//! The sbom plugin against realistic SBOMs and manifests, through the SDK's harness.

use arca_plugin_sbom::Sbom;
use arca_plugin_sdk::prelude::*;
use arca_plugin_sdk::testing::Harness;
use base64::Engine as _;
use serde_json::{Value, json};

const CDX_JSON: &str = "application/vnd.cyclonedx+json";
const CDX_XML: &str = "application/vnd.cyclonedx+xml";
const SPDX_JSON: &str = "application/spdx+json";
const SPDX_TV: &str = "text/spdx";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// A manifest as `oras attach --artifact-type T` pushes it: empty config, given layers.
fn artifact(h: &mut Harness, artifact_type: Option<&str>, layers: &[(&str, Vec<u8>)]) -> Manifest {
    let config = h.blob(EMPTY, "{}");
    let layers = layers.iter().map(|(t, b)| h.blob(t, b.clone())).collect();
    h.manifest(artifact_type, config, layers)
}

fn one(media_type: &str, bytes: Vec<u8>) -> (Harness, Manifest) {
    one_with(json!({}), media_type, bytes)
}

fn one_with(config: Value, media_type: &str, bytes: Vec<u8>) -> (Harness, Manifest) {
    let mut h = Harness::new().with_config(config);
    let m = artifact(&mut h, Some(media_type), &[(media_type, bytes)]);
    (h, m)
}

fn rejected(v: Verdict) -> Vec<Violation> {
    match v {
        Verdict::Reject(v) => v,
        Verdict::Accept(w) => panic!("expected a rejection, got accept with {w:#?}"),
    }
}

fn accepted(v: Verdict) -> Vec<Violation> {
    match v {
        Verdict::Accept(w) => w,
        Verdict::Reject(v) => panic!("expected accept, got reject with {v:#?}"),
    }
}

/// The violations of a one-SBOM manifest.
fn violations_of(media_type: &str, bytes: Vec<u8>) -> Vec<Violation> {
    let (h, m) = one(media_type, bytes);
    rejected(h.validate::<Sbom>(&m))
}

fn has(v: &[Violation], path: &str, message_part: &str) -> bool {
    v.iter()
        .any(|x| x.path == path && x.message.contains(message_part))
}

#[track_caller]
fn assert_has(v: &[Violation], path: &str, message_part: &str) {
    assert!(
        has(v, path, message_part),
        "no violation at {path:?} containing {message_part:?} in {v:#?}"
    );
}

fn values(facets: &[Facet], name: &str) -> Vec<String> {
    facets
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.value.clone())
        .collect()
}

fn index(h: &Harness, m: &Manifest) -> Document {
    h.index::<Sbom>(m).unwrap().expect("a document")
}

/// Validates cleanly (no violations, no warnings) and indexes.
fn valid(media_type: &str, name: &str) -> Document {
    let (h, m) = one(media_type, fixture(name));
    let w = accepted(h.validate::<Sbom>(&m));
    assert!(w.is_empty(), "{name}: warnings {w:#?}");
    index(&h, &m)
}

// ---- valid documents ----

#[test]
fn cyclonedx_json_1_2_to_1_7_validate_and_index() {
    let cases = [
        ("cyclonedx-1.2-npm.json", "1.2", "Node.js module", 3),
        ("cyclonedx-1.3-trivy.json", "1.3", "trivy", 6),
        ("cyclonedx-1.4-cyclonedx-py.json", "1.4", "cyclonedx-bom", 7),
        ("cyclonedx-1.5-syft.json", "1.5", "syft", 5),
        ("cyclonedx-1.6-cyclonedx-py.json", "1.6", "cyclonedx-py", 4),
        ("cyclonedx-1.7-cdxgen.json", "1.7", "cdxgen", 4),
    ];
    for (name, version, tool, components) in cases {
        let doc = valid(CDX_JSON, name);
        let f = &doc.facets;
        assert_eq!(values(f, "sbom.format"), ["cyclonedx"], "{name}");
        assert_eq!(values(f, "sbom.specVersion"), [version], "{name}");
        assert!(
            values(f, "sbom.tool").contains(&tool.to_string()),
            "{name}: {f:?}"
        );
        assert_eq!(
            values(f, "sbom.components"),
            [components.to_string()],
            "{name}"
        );
        assert_eq!(values(f, "sbom.created").len(), 1, "{name}");
        let sbom = &doc.json["sboms"][0];
        assert_eq!(sbom["format"], "cyclonedx");
        assert_eq!(sbom["encoding"], "json");
        assert_eq!(sbom["componentCount"], components, "{name}");
    }
}

#[test]
fn cyclonedx_nested_components_and_license_kinds_are_indexed() {
    let doc = valid(CDX_JSON, "cyclonedx-1.4-cyclonedx-py.json");
    let f = &doc.facets;
    // nested (vendored) component
    assert!(values(f, "sbom.purl").contains(&"pkg:pypi/rich@13.4.2".into()));
    // license name (not an SPDX id) as written, and not split into "ids"
    assert!(values(f, "sbom.license").contains(&"BSD License".into()));
    assert!(!values(f, "sbom.license").contains(&"License".into()));
    assert!(values(f, "sbom.hash").contains(
        &"sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f".into()
    ));
    let doc = valid(CDX_JSON, "cyclonedx-1.6-cyclonedx-py.json");
    let licenses = values(&doc.facets, "sbom.license");
    for l in ["Apache-2.0 OR BSD-3-Clause", "Apache-2.0", "BSD-3-Clause"] {
        assert!(licenses.contains(&l.to_string()), "{l} in {licenses:?}");
    }
    // the described root component is not a component
    assert!(!values(&doc.facets, "sbom.name").contains(&"billing-service".into()));
    assert_eq!(doc.json["sboms"][0]["name"], "billing-service");
}

#[test]
fn cyclonedx_xml_validates_and_indexes() {
    let doc = valid(CDX_XML, "cyclonedx-1.5-maven.xml");
    let f = &doc.facets;
    assert_eq!(values(f, "sbom.format"), ["cyclonedx"]);
    assert_eq!(values(f, "sbom.specVersion"), ["1.5"]);
    assert_eq!(values(f, "sbom.tool"), ["CycloneDX Maven plugin"]);
    assert_eq!(values(f, "sbom.components"), ["3"]);
    assert_eq!(values(f, "sbom.created"), ["2024-01-10T08:11:03Z"]);
    assert!(
        values(f, "sbom.package")
            .contains(&"pkg:maven/com.fasterxml.jackson.core/jackson-annotations".into())
    );
    assert!(
        values(f, "sbom.hash").contains(&"sha1:7cf2726fdcfbc8610f9a71fb3ed639871f315340".into())
    );
    assert!(values(f, "sbom.hash").contains(&"md5:45630e54b0f0ac2b3c80462515ad8fda".into()));
    assert_eq!(doc.json["sboms"][0]["encoding"], "xml");
}

#[test]
fn spdx_json_2_2_and_2_3_validate_and_index() {
    let doc = valid(SPDX_JSON, "spdx-2.3-syft.json");
    let f = &doc.facets;
    assert_eq!(values(f, "sbom.format"), ["spdx"]);
    assert_eq!(values(f, "sbom.specVersion"), ["2.3"]);
    assert_eq!(values(f, "sbom.tool"), ["syft"]);
    assert_eq!(values(f, "sbom.components"), ["5"]);
    assert_eq!(values(f, "sbom.created"), ["2024-03-05T14:11:40Z"]);
    assert!(values(f, "sbom.purl").contains(&"pkg:pypi/requests@2.31.0".into()));
    assert!(values(f, "sbom.package").contains(&"pkg:deb/debian/libc6".into()));
    // licenseDeclared expression and its ids; NOASSERTION skipped
    let licenses = values(f, "sbom.license");
    for l in [
        "GPL-2.0-only AND LGPL-2.1-only",
        "GPL-2.0-only",
        "LGPL-2.1-only",
        "Apache-2.0",
        "MIT",
    ] {
        assert!(licenses.contains(&l.to_string()), "{l} in {licenses:?}");
    }
    assert!(!licenses.contains(&"NOASSERTION".to_string()));
    assert_eq!(
        doc.json["sboms"][0]["tools"],
        json!([{"name": "syft", "version": "1.0.1"}])
    );

    let doc = valid(SPDX_JSON, "spdx-2.2-trivy.json");
    assert_eq!(values(&doc.facets, "sbom.specVersion"), ["2.2"]);
    assert_eq!(values(&doc.facets, "sbom.tool"), ["trivy"]);
    assert!(values(&doc.facets, "sbom.package").contains(&"pkg:apk/alpine/busybox".into()));
    // cosign writes SPDX JSON as text/spdx+json
    valid("text/spdx+json", "spdx-2.3-syft.json");
}

#[test]
fn spdx_tag_value_2_2_and_2_3_validate_and_index() {
    let doc = valid(SPDX_TV, "spdx-2.3-spdx-tools.spdx");
    let f = &doc.facets;
    assert_eq!(values(f, "sbom.specVersion"), ["2.3"]);
    assert_eq!(values(f, "sbom.tool"), ["spdx-tools"]);
    assert_eq!(values(f, "sbom.components"), ["1"]);
    assert_eq!(values(f, "sbom.name"), ["zlib"]);
    assert_eq!(values(f, "sbom.license"), ["Zlib"]);
    assert_eq!(
        values(f, "sbom.purl"),
        ["pkg:generic/zlib@1.3.1?download_url=https://zlib.net/zlib-1.3.1.tar.gz"]
    );
    assert_eq!(values(f, "sbom.package"), ["pkg:generic/zlib"]);
    assert_eq!(
        values(f, "sbom.hash"),
        [
            "sha1:f535367b1a11e2f9ac3bec723fb007fbc0d189e5",
            "sha256:9a93b2b7dfdac77ceba5a558a580e74667dd6fede4585b91eefb60f03b72df23"
        ]
    );
    assert_eq!(doc.json["sboms"][0]["encoding"], "tag-value");

    let doc = valid(SPDX_TV, "spdx-2.2-spdx-tools.spdx");
    assert_eq!(values(&doc.facets, "sbom.specVersion"), ["2.2"]);
    assert_eq!(values(&doc.facets, "sbom.tool"), ["spdx-sbom-generator"]);
    assert_eq!(
        values(&doc.facets, "sbom.package"),
        [
            "pkg:golang/github.com/example/hello-go",
            "pkg:golang/github.com/google/uuid"
        ]
    );
}

#[test]
fn real_generator_output_validates_and_indexes() {
    let doc = valid(CDX_JSON, "cyclonedx-py-7.5.0-env-1.6.json");
    assert_eq!(values(&doc.facets, "sbom.components"), ["48"]);
    assert_eq!(
        values(&doc.facets, "sbom.tool"),
        ["cyclonedx-py", "cyclonedx-python-lib"]
    );
    assert!(values(&doc.facets, "sbom.purl").contains(&"pkg:pypi/requests@2.31.0".into()));
    let doc = valid(CDX_XML, "cyclonedx-py-7.5.0-env-1.3.xml");
    assert_eq!(values(&doc.facets, "sbom.specVersion"), ["1.3"]);
    assert_eq!(values(&doc.facets, "sbom.components"), ["48"]);
    assert!(values(&doc.facets, "sbom.package").contains(&"pkg:pypi/requests".into()));
    let doc = valid(SPDX_JSON, "spdx-tools-0.8.5-2.3.spdx.json");
    assert_eq!(
        values(&doc.facets, "sbom.purl"),
        [
            "pkg:pypi/idna@3.4",
            "pkg:pypi/requests@2.31.0",
            "pkg:pypi/urllib3@2.0.4"
        ]
    );
    let doc = valid(SPDX_TV, "spdx-tools-0.8.5-2.2.spdx");
    assert_eq!(
        values(&doc.facets, "sbom.license"),
        ["Apache-2.0", "BSD-3-Clause", "MIT"]
    );
}

// ---- the facet contract ----

#[test]
fn facets_follow_the_contract_exactly() {
    let bom = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"timestamp": "2024-05-01T12:00:00Z",
                     "tools": {"components": [{"type": "application", "name": "syft", "version": "1.4.1"}]}},
        "components": [
            {"type": "library", "name": "requests", "version": "2.31.0",
             "purl": "pkg:pypi/requests@2.31.0",
             "licenses": [{"license": {"id": "Apache-2.0"}}],
             "hashes": [{"alg": "SHA-256", "content": "58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"}]},
            {"type": "library", "name": "urllib3", "version": "2.0.4",
             "purl": "pkg:pypi/urllib3@2.0.4?extra=socks#src",
             "licenses": [{"expression": "MIT OR Apache-2.0"}]},
            {"type": "library", "name": "requests", "version": "2.31.0",
             "purl": "pkg:pypi/requests@2.31.0"}
        ]
    });
    let mut h = Harness::new();
    let image = "sha256:".to_string() + &"b".repeat(64);
    let mut m = artifact(
        &mut h,
        Some(CDX_JSON),
        &[(CDX_JSON, bom.to_string().into_bytes())],
    );
    m.subject = Some(Descriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: image.clone(),
        size: 500,
        ..Descriptor::default()
    });
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    let doc = index(&h, &m);
    let own: Vec<(String, String)> = doc
        .facets
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("sbom.components", "3"),
        ("sbom.created", "2024-05-01T12:00:00Z"),
        ("sbom.format", "cyclonedx"),
        (
            "sbom.hash",
            "sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f",
        ),
        ("sbom.license", "Apache-2.0"),
        ("sbom.license", "MIT"),
        ("sbom.license", "MIT OR Apache-2.0"),
        ("sbom.name", "requests"),
        ("sbom.name", "urllib3"),
        ("sbom.package", "pkg:pypi/requests"),
        ("sbom.package", "pkg:pypi/urllib3"),
        ("sbom.purl", "pkg:pypi/requests@2.31.0"),
        ("sbom.purl", "pkg:pypi/urllib3@2.0.4?extra=socks#src"),
        ("sbom.specVersion", "1.5"),
        ("sbom.tool", "syft"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(own, expected);
    let about: Vec<(String, String)> = doc
        .subject_facets
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    let expected_subject: Vec<(String, String)> = expected
        .iter()
        .filter(|(n, _)| {
            ["sbom.purl", "sbom.package", "sbom.name", "sbom.license"].contains(&n.as_str())
        })
        .cloned()
        .collect();
    assert_eq!(about, expected_subject);
    // The manifest's own subject counts; nothing derived.
    assert_eq!(doc.subject, None);
    assert_eq!(doc.json["subject"], image);
    assert_eq!(doc.json["subjectSource"], "manifest");
    let sbom = &doc.json["sboms"][0];
    assert_eq!(
        sbom["components"][1]["licenses"],
        json!(["MIT OR Apache-2.0"])
    );
    assert_eq!(
        sbom["components"][0]["hashes"],
        json!(["sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"])
    );
    assert_eq!(sbom["tools"], json!([{"name": "syft", "version": "1.4.1"}]));
}

#[test]
fn without_a_subject_there_are_no_subject_facets() {
    let doc = valid(CDX_JSON, "cyclonedx-1.5-syft.json");
    assert!(doc.subject_facets.is_empty());
    assert_eq!(doc.subject, None);
    assert_eq!(doc.json["subject"], Value::Null);
}

#[test]
fn several_sbom_layers_are_all_indexed() {
    let mut h = Harness::new();
    let m = artifact(
        &mut h,
        None,
        &[
            (CDX_JSON, fixture("cyclonedx-1.4-cyclonedx-py.json")),
            (SPDX_JSON, fixture("spdx-2.3-syft.json")),
            (SPDX_TV, fixture("spdx-2.2-spdx-tools.spdx")),
        ],
    );
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    let doc = index(&h, &m);
    assert_eq!(doc.json["sboms"].as_array().unwrap().len(), 3);
    assert_eq!(values(&doc.facets, "sbom.format"), ["cyclonedx", "spdx"]);
    assert_eq!(
        values(&doc.facets, "sbom.specVersion"),
        ["1.4", "2.2", "2.3"]
    );
    let purls = values(&doc.facets, "sbom.purl");
    assert!(purls.contains(&"pkg:pypi/idna@3.4".into()));
    assert!(purls.contains(&"pkg:pypi/urllib3@2.2.1".into()));
    assert!(purls.contains(&"pkg:golang/github.com/google/uuid@v1.3.0".into()));
    assert_eq!(doc.json["sboms"][2]["blob"], "layers/2");
}

// ---- violations ----

fn cdx_with(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = fixture_json("cyclonedx-1.3-trivy.json");
    f(&mut v);
    v.to_string().into_bytes()
}

fn spdx_with(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = fixture_json("spdx-2.3-syft.json");
    f(&mut v);
    v.to_string().into_bytes()
}

#[test]
fn a_schema_error_names_its_pointer_and_the_rule() {
    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| v["components"][3]["type"] = json!("lib")),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].path, "layers/0:/components/3/type");
    assert!(
        v[0].message
            .starts_with(r#""lib" is not one of "application", "framework""#),
        "{}",
        v[0].message
    );
    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| {
            v["components"][0].as_object_mut().unwrap().remove("name");
            v["serialNumber"] = json!("not-a-urn");
        }),
    );
    assert_has(
        &v,
        "layers/0:/components/0",
        r#""name" is a required property"#,
    );
    assert_has(&v, "layers/0:/serialNumber", "does not match");
    // A whole object is not dumped into the message.
    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| v["components"][1]["licenses"] = json!([{"license": {}}])),
    );
    assert!(v.iter().all(|x| x.message.len() < 400), "{v:#?}");
    assert!(
        v.iter()
            .all(|x| x.path.starts_with("layers/0:/components/1/licenses")),
        "{v:#?}"
    );
}

#[test]
fn unknown_or_missing_spec_versions_are_rejected() {
    let v = violations_of(CDX_JSON, cdx_with(|v| v["specVersion"] = json!("1.1")));
    assert_has(
        &v,
        "layers/0:/specVersion",
        r#"unsupported CycloneDX specVersion "1.1" (supported: "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")"#,
    );
    let v = violations_of(CDX_JSON, cdx_with(|v| v["specVersion"] = json!(1.4)));
    assert_has(&v, "layers/0:/specVersion", "must be a string");
    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| {
            v.as_object_mut().unwrap().remove("specVersion");
        }),
    );
    assert_has(&v, "layers/0:/specVersion", "specVersion is required");
    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| v["spdxVersion"] = json!("SPDX-2.1")),
    );
    assert_has(
        &v,
        "layers/0:/spdxVersion",
        r#"unsupported SPDX version "SPDX-2.1""#,
    );
    let v = violations_of(SPDX_JSON, spdx_with(|v| v["spdxVersion"] = json!("2.3")));
    assert_has(&v, "layers/0:/spdxVersion", "must have the form SPDX-M.N");
}

#[test]
fn duplicate_bom_refs_and_dangling_dependencies_are_rejected() {
    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| {
            let r = v["components"][0]["bom-ref"].clone();
            v["components"][2]["bom-ref"] = r;
        }),
    );
    assert_has(
        &v,
        "layers/0:/components/2/bom-ref",
        "is not unique: already used at layers/0:/components/0/bom-ref",
    );
    // the dependency on the old ref of component 2 now dangles
    assert_has(
        &v,
        "layers/0:/dependencies/0/dependsOn/2",
        "is not the bom-ref of anything in this BOM",
    );

    let v = violations_of(
        CDX_JSON,
        cdx_with(|v| v["dependencies"][1]["ref"] = json!("pkg:apk/alpine/gone@1")),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:/dependencies/1/ref",
        r#"dependency ref "pkg:apk/alpine/gone@1" is not the bom-ref"#,
    );

    // bom-refs count across nested components and services too
    let v = violations_of(CDX_JSON, {
        let mut b = fixture_json("cyclonedx-1.4-cyclonedx-py.json");
        b["services"] = json!([{"bom-ref": "pip==23.2.1/vendored/rich==13.4.2", "name": "svc"}]);
        b.to_string().into_bytes()
    });
    assert_has(
        &v,
        "layers/0:/services/0/bom-ref",
        "already used at layers/0:/components/5/components/0/bom-ref",
    );
}

#[test]
fn spdx_rules_beyond_the_schema() {
    let v = violations_of(SPDX_JSON, spdx_with(|v| v["dataLicense"] = json!("MIT")));
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:/dataLicense",
        r#"dataLicense must be "CC0-1.0", got "MIT""#,
    );

    let v = violations_of(SPDX_JSON, spdx_with(|v| v["SPDXID"] = json!("SPDXRef-DOC")));
    assert_has(&v, "layers/0:/SPDXID", r#"must be "SPDXRef-DOCUMENT""#);

    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| v["packages"][0]["SPDXID"] = json!("Package_1")),
    );
    assert_has(
        &v,
        "layers/0:/packages/0/SPDXID",
        r#"SPDXID "Package_1" must be "SPDXRef-" followed by"#,
    );

    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| {
            let id = v["packages"][1]["SPDXID"].clone();
            v["packages"][3]["SPDXID"] = id;
        }),
    );
    assert_has(
        &v,
        "layers/0:/packages/3/SPDXID",
        "is not unique: already used at layers/0:/packages/1/SPDXID",
    );

    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| v["relationships"][1]["relatedSpdxElement"] = json!("SPDXRef-Package-gone")),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:/relationships/1/relatedSpdxElement",
        r#""SPDXRef-Package-gone" names no element of this document"#,
    );

    // NONE, NOASSERTION and external document refs are fine
    let (h, m) = one(
        SPDX_JSON,
        spdx_with(|v| {
            v["relationships"][0]["relatedSpdxElement"] = json!("NOASSERTION");
            v["relationships"][1]["relatedSpdxElement"] = json!("NONE");
            v["relationships"][2]["relatedSpdxElement"] =
                json!("DocumentRef-other:SPDXRef-Package-x");
        }),
    );
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());

    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| v["creationInfo"]["created"] = json!("2024-03-05 14:11:40")),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(&v, "layers/0:/creationInfo/created", "YYYY-MM-DDThh:mm:ssZ");

    let v = violations_of(
        SPDX_JSON,
        spdx_with(|v| v["packages"][0]["downloadLocation"] = json!(5)),
    );
    assert_has(
        &v,
        "layers/0:/packages/0/downloadLocation",
        r#"5 is not of type "string""#,
    );
}

#[test]
fn spdx_2_2_requires_more_and_knows_nothing_of_2_3() {
    let mut doc = fixture_json("spdx-2.2-trivy.json");
    doc["packages"][2]
        .as_object_mut()
        .unwrap()
        .remove("licenseConcluded");
    doc["packages"][3]
        .as_object_mut()
        .unwrap()
        .remove("copyrightText");
    doc["packages"][4]["primaryPackagePurpose"] = json!("LIBRARY");
    doc["relationships"][1]["relationshipType"] = json!("SPECIFICATION_FOR");
    doc["files"] = json!([{"fileName": "./a", "SPDXID": "SPDXRef-File-a",
        "checksums": [{"algorithm": "BLAKE3", "checksumValue": "aa"}],
        "licenseConcluded": "MIT", "copyrightText": "NONE"}]);
    // a 2.2 snippet needs no name (2.3 made it mandatory)
    doc["snippets"] = json!([{"SPDXID": "SPDXRef-Snippet-1", "snippetFromFile": "SPDXRef-File-a",
        "ranges": [{"startPointer": {"offset": 1, "reference": "SPDXRef-File-a"}, "endPointer": {"offset": 2, "reference": "SPDXRef-File-a"}}],
        "licenseConcluded": "MIT", "copyrightText": "NONE"}]);
    let v = violations_of(SPDX_JSON, doc.to_string().into_bytes());
    assert_has(
        &v,
        "layers/0:/packages/2",
        r#"SPDX 2.2 requires "licenseConcluded" (PackageLicenseConcluded) in every package"#,
    );
    assert_has(
        &v,
        "layers/0:/packages/3",
        r#"requires "copyrightText" (PackageCopyrightText)"#,
    );
    assert_has(
        &v,
        "layers/0:/packages/4/primaryPackagePurpose",
        "new in SPDX 2.3",
    );
    assert_has(
        &v,
        "layers/0:/relationships/1/relationshipType",
        "new in SPDX 2.3",
    );
    assert_has(
        &v,
        "layers/0:/files/0/checksums/0/algorithm",
        "new in SPDX 2.3",
    );
    assert_has(
        &v,
        "layers/0:/files/0",
        r#"requires "licenseInfoInFiles" (LicenseInfoInFile)"#,
    );
    assert!(
        !v.iter().any(|x| x.path.starts_with("layers/0:/snippets")),
        "{v:#?}"
    );
    assert_eq!(v.len(), 6, "{v:#?}");
}

#[test]
fn cyclonedx_xml_is_checked_for_structure() {
    let xml = String::from_utf8(fixture("cyclonedx-1.5-maven.xml")).unwrap();

    let v = violations_of(CDX_XML, xml.replace("bom/1.5", "bom/1.1").into_bytes());
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:line 2",
        "the root element must be <bom> in the namespace http://cyclonedx.org/schema/bom/<version>",
    );
    assert!(
        v[0].message
            .contains(r#"found <bom> in "http://cyclonedx.org/schema/bom/1.1""#),
        "{}",
        v[0].message
    );

    let v = violations_of(CDX_XML, xml.replace("</components>", "").into_bytes());
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(v[0].path.starts_with("layers/0:line "), "{v:#?}");
    assert!(v[0].message.starts_with("not well-formed XML"), "{v:#?}");

    let broken = xml
        .replacen(
            r#"<component type="library" bom-ref="pkg:maven/org.slf4j"#,
            r#"<component type="lib" bom-ref="pkg:maven/org.slf4j"#,
            1,
        )
        .replacen("<name>jackson-databind</name>", "", 1)
        .replacen(
            "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.15.2?type=jar\">",
            "pkg:maven/org.slf4j/slf4j-api@2.0.9?type=jar\">",
            1,
        );
    let v = violations_of(CDX_XML, broken.into_bytes());
    assert_has(
        &v,
        "layers/0:line 20",
        r#"component type "lib" is not one of "application", "framework", "library""#,
    );
    assert_has(&v, "layers/0:line 43", "<component> has no <name>");
    assert_has(
        &v,
        "layers/0:line 58",
        r#"bom-ref "pkg:maven/org.slf4j/slf4j-api@2.0.9?type=jar" is not unique: already used on line 20"#,
    );
    assert_has(
        &v,
        "layers/0:line 77",
        "is not the bom-ref of anything in this BOM",
    );
}

#[test]
fn a_truncated_tag_value_file_is_rejected() {
    let full = String::from_utf8(fixture("spdx-2.3-spdx-tools.spdx")).unwrap();
    // cut in the document header
    let head: String = full.lines().take(5).collect::<Vec<_>>().join("\n");
    let v = violations_of(SPDX_TV, head.into_bytes());
    assert_has(
        &v,
        "layers/0:line 5",
        "the document has no DocumentNamespace (mandatory; is the file truncated?)",
    );
    assert_has(&v, "layers/0:line 5", "the document has no Creator");
    assert_has(&v, "layers/0:line 5", "the document has no Created");
    // cut inside a <text> value
    let cut = &full[..full.find("lossless data-compression").unwrap()];
    let v = violations_of(SPDX_TV, cut.as_bytes().to_vec());
    assert_has(
        &v,
        "layers/0:line 35",
        "the <text> value of PackageDescription opened here is never closed with </text>",
    );
    // an empty file is not an empty document
    let v = violations_of(SPDX_TV, Vec::new());
    assert_has(&v, "layers/0:line 1", "the document has no SPDXVersion");
}

#[test]
fn tag_value_is_parsed_strictly() {
    let full = String::from_utf8(fixture("spdx-2.2-spdx-tools.spdx")).unwrap();
    let v = violations_of(
        SPDX_TV,
        full.replace(
            "PackageDownloadLocation: https://proxy",
            "PackageDownloadLocatio https://proxy",
        )
        .into_bytes(),
    );
    assert_has(&v, "layers/0:line 29", r#"expected "Tag: value""#);
    assert_has(
        &v,
        "layers/0:line 25",
        r#"the package "github.com/google/uuid" has no PackageDownloadLocation (mandatory)"#,
    );

    let v = violations_of(
        SPDX_TV,
        full.replace("PackageName: hello-go\n", "").into_bytes(),
    );
    assert_has(&v, "layers/0:line 12", "SPDXID given twice");
    assert_has(
        &v,
        "layers/0:line 13",
        "PackageVersion belongs to a package, but no package is open here (PackageName starts one)",
    );

    let v = violations_of(
        SPDX_TV,
        full.replace(
            "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-hello-go",
            "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-nope",
        )
        .into_bytes(),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:line 37",
        r#""SPDXRef-Package-nope" names no element"#,
    );

    // SPDX 2.2 mandatory package fields, by line
    let v = violations_of(
        SPDX_TV,
        full.replace("PackageLicenseDeclared: BSD-3-Clause\n", "")
            .into_bytes(),
    );
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:line 25",
        r#"SPDX 2.2 requires "licenseDeclared" (PackageLicenseDeclared)"#,
    );

    // a schema error mapped to its line
    let v = violations_of(SPDX_TV, full.replace("DEPENDS_ON", "USES").into_bytes());
    assert_has(&v, "layers/0:line 38", r#""USES" is not one of"#);

    // unknown tags are warnings
    let (h, m) = one(
        SPDX_TV,
        full.replace(
            "FilesAnalyzed: false\nPackageLicenseConcluded: Apache-2.0",
            "FilesAnalyzed: false\nPackageColour: blue\nPackageLicenseConcluded: Apache-2.0",
        )
        .into_bytes(),
    );
    let w = accepted(h.validate::<Sbom>(&m));
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_has(
        &w,
        "layers/0:line 18",
        r#"unknown tag "PackageColour" ignored"#,
    );
}

// ---- limits ----

#[test]
fn too_large_is_refused_by_its_descriptor_size() {
    let (h, m) = one_with(
        json!({"max_bytes": 1000}),
        CDX_JSON,
        fixture("cyclonedx-1.3-trivy.json"),
    );
    let v = rejected(h.validate::<Sbom>(&m));
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0",
        "the SBOM is 6603 bytes, over max_bytes (1000)",
    );
}

#[test]
fn too_deep_is_refused_before_parsing() {
    let mut deep = fixture_json("cyclonedx-1.6-cyclonedx-py.json");
    let mut nest = json!("x");
    for _ in 0..200 {
        nest = json!([nest]);
    }
    deep["components"][0]["properties"] = json!([{"name": "n", "value": nest}]);
    let v = violations_of(CDX_JSON, deep.to_string().into_bytes());
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:line 1",
        "JSON nested deeper than max_depth (64)",
    );

    let (h, m) = one_with(
        json!({"max_depth": 4}),
        CDX_JSON,
        fixture("cyclonedx-1.6-cyclonedx-py.json"),
    );
    let v = rejected(h.validate::<Sbom>(&m));
    assert!(v[0].message.contains("max_depth (4)"), "{v:#?}");

    let xml = format!(
        r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.5">{}{}</bom>"#,
        "<x>".repeat(100_000),
        "</x>".repeat(100_000)
    );
    let v = violations_of(CDX_XML, xml.into_bytes());
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:line 1",
        "XML nested deeper than max_depth (64)",
    );
}

#[test]
fn too_many_components_are_refused() {
    let cfg = json!({"max_components": 5});
    let (h, m) = one_with(
        cfg.clone(),
        CDX_JSON,
        fixture("cyclonedx-1.4-cyclonedx-py.json"),
    );
    let v = rejected(h.validate::<Sbom>(&m));
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_has(
        &v,
        "layers/0:/components",
        "7 components, over max_components (5)",
    );
    let (h, m) = one_with(cfg.clone(), SPDX_JSON, fixture("spdx-2.3-syft.json"));
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0:/packages",
        "6 packages, files and snippets, over max_components (5)",
    );
    let (h, m) = one_with(
        json!({"max_components": 2}),
        CDX_XML,
        fixture("cyclonedx-1.5-maven.xml"),
    );
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0:line 2",
        "3 components, over max_components (2)",
    );
}

// ---- modes ----

#[test]
fn lenient_mode_accepts_with_the_violations_as_warnings() {
    let bytes = cdx_with(|v| v["components"][3]["type"] = json!("lib"));
    let (h, m) = one_with(json!({"mode": "lenient"}), CDX_JSON, bytes.clone());
    let w = accepted(h.validate::<Sbom>(&m));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "layers/0:/components/3/type");
    // still indexed
    let doc = index(&h, &m);
    assert_eq!(values(&doc.facets, "sbom.components"), ["6"]);
    // strict is the default, and can be said
    let (h, m) = one_with(json!({"mode": "strict"}), CDX_JSON, bytes);
    assert!(h.validate::<Sbom>(&m).is_reject());
    // lenient even past limits; the index then says what it could not read
    let (h, m) = one_with(
        json!({"mode": "lenient", "max_bytes": 10}),
        CDX_JSON,
        fixture("cyclonedx-1.2-npm.json"),
    );
    assert_eq!(accepted(h.validate::<Sbom>(&m)).len(), 1);
    let doc = index(&h, &m);
    assert!(doc.facets.is_empty());
    assert!(
        doc.json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("over max_bytes")
    );
}

// ---- where tools put SBOMs ----

#[test]
fn trivy_layout_empty_config_typed_as_the_sbom_and_the_sbom_in_the_layer() {
    for config_bytes in [
        "{}".to_string(),
        r#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:8d3ac3489996423f53d6087c81180006263b79f206d3fdec9e66f0e27ceb8759"]},"config":{}}"#.to_string(),
    ] {
        let mut h = Harness::new();
        let config = h.blob(CDX_JSON, config_bytes);
        let layer = h.blob(CDX_JSON, fixture("cyclonedx-1.3-trivy.json"));
        let m = h.manifest(None, config, vec![layer]);
        assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
        let doc = index(&h, &m);
        assert_eq!(doc.json["sboms"].as_array().unwrap().len(), 1);
        assert_eq!(doc.json["sboms"][0]["blob"], "layers/0");
    }
    // a config that is the SBOM is validated as one
    let mut h = Harness::new();
    let config = h.blob(SPDX_JSON, spdx_with(|v| v["dataLicense"] = json!("MIT")));
    let m = h.manifest(None, config, vec![]);
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "config:/dataLicense",
        "CC0-1.0",
    );
    // typed as an SBOM, but none anywhere
    let mut h = Harness::new();
    let config = h.blob(CDX_JSON, "{}");
    let m = h.manifest(None, config, vec![]);
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "/config/mediaType",
        "neither its config nor any layer holds one",
    );
}

#[test]
fn artifact_type_makes_untyped_layers_sboms() {
    // `oras push --artifact-type application/spdx+json ref sbom.json` types the layer as a tar
    let mut h = Harness::new();
    let m = artifact(
        &mut h,
        Some(SPDX_JSON),
        &[(
            "application/vnd.oci.image.layer.v1.tar",
            fixture("spdx-2.3-syft.json"),
        )],
    );
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    assert_eq!(values(&index(&h, &m).facets, "sbom.format"), ["spdx"]);
    let mut h = Harness::new();
    let m = artifact(
        &mut h,
        Some(SPDX_JSON),
        &[("application/octet-stream", b"hello".to_vec())],
    );
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0",
        "not valid JSON",
    );
}

#[test]
fn cosign_sbom_layers_are_sniffed_and_legacy_tags_name_the_subject() {
    let hex = "c".repeat(64);
    for (bytes, format) in [
        (fixture("cyclonedx-1.5-syft.json"), "cyclonedx"),
        (fixture("spdx-2.3-syft.json"), "spdx"),
        (fixture("spdx-2.3-spdx-tools.spdx"), "spdx"),
        (fixture("cyclonedx-1.5-maven.xml"), "cyclonedx"),
    ] {
        let mut h = Harness::new();
        let config = h.blob(IMAGE_CONFIG, "{}");
        let layer = h.blob("application/vnd.dev.cosign.artifact.sbom.v1+json", bytes);
        let mut m = h.manifest(None, config, vec![layer]);
        m.tag = Some(format!("sha256-{hex}.sbom"));
        assert!(accepted(h.validate::<Sbom>(&m)).is_empty(), "{format}");
        let doc = index(&h, &m);
        assert_eq!(values(&doc.facets, "sbom.format"), [format]);
        assert_eq!(
            doc.subject.as_deref(),
            Some(format!("sha256:{hex}").as_str())
        );
        assert_eq!(doc.json["subjectSource"], "tag");
        assert!(!values(&doc.subject_facets, "sbom.purl").is_empty());
        assert!(values(&doc.subject_facets, "sbom.hash").is_empty());
    }
    // cosign's legacy `attach sbom` keeps the SBOM's own type on the layer
    let mut h = Harness::new();
    let config = h.blob(IMAGE_CONFIG, "{}");
    let layer = h.blob("text/spdx+json", fixture("spdx-2.3-syft.json"));
    let mut m = h.manifest(None, config, vec![layer]);
    m.tag = Some(format!("sha256-{hex}.sbom"));
    let doc = index(&h, &m);
    assert_eq!(
        doc.subject.as_deref(),
        Some(format!("sha256:{hex}").as_str())
    );
    assert!(values(&doc.subject_facets, "sbom.package").contains(&"pkg:pypi/requests".into()));
    // something else in a cosign SBOM layer
    let mut h = Harness::new();
    let config = h.blob(IMAGE_CONFIG, "{}");
    let layer = h.blob(
        "application/vnd.dev.cosign.artifact.sbom.v1+json",
        r#"{"artifacts": []}"#,
    );
    let m = h.manifest(None, config, vec![layer]);
    assert_has(&rejected(h.validate::<Sbom>(&m)), "layers/0", "neither");
}

fn statement(predicate_type: &str, predicate: Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": "pkg:docker/example/app@1.0?platform=linux%2Famd64",
                     "digest": {"sha256": "d".repeat(64)}}],
        "predicate": predicate,
    })
}

fn in_toto_layer(h: &mut Harness, body: Value, predicate_type: Option<&str>) -> Descriptor {
    let mut d = h.blob(IN_TOTO, body.to_string());
    if let Some(t) = predicate_type {
        d.annotations = vec![("in-toto.io/predicate-type".into(), t.into())];
    }
    d
}

#[test]
fn buildkit_in_toto_attestations_with_sbom_predicates() {
    // BuildKit's attestation manifest: image config, in-toto layers annotated with their
    // predicate type (an SPDX SBOM and SLSA provenance).
    let mut h = Harness::new();
    let config = h.blob(IMAGE_CONFIG, r#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#);
    let sbom = in_toto_layer(
        &mut h,
        statement(
            "https://spdx.dev/Document",
            fixture_json("spdx-2.3-syft.json"),
        ),
        Some("https://spdx.dev/Document"),
    );
    let provenance = in_toto_layer(
        &mut h,
        statement(
            "https://slsa.dev/provenance/v0.2",
            json!({"builder": {"id": ""}}),
        ),
        Some("https://slsa.dev/provenance/v0.2"),
    );
    let m = h.manifest(None, config, vec![sbom, provenance]);
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    let doc = index(&h, &m);
    assert_eq!(doc.json["sboms"].as_array().unwrap().len(), 1);
    assert_eq!(doc.json["sboms"][0]["via"], "in-toto");
    assert_eq!(
        doc.json["sboms"][0]["predicateType"],
        "https://spdx.dev/Document"
    );
    assert_eq!(values(&doc.facets, "sbom.format"), ["spdx"]);
    // the statement's subject is what the SBOM describes
    assert_eq!(
        doc.subject.as_deref(),
        Some(format!("sha256:{}", "d".repeat(64)).as_str())
    );
    assert!(values(&doc.subject_facets, "sbom.purl").contains(&"pkg:pypi/requests@2.31.0".into()));

    // errors point into the predicate
    let mut h = Harness::new();
    let config = h.blob(IMAGE_CONFIG, "{}");
    let mut bad = fixture_json("cyclonedx-1.6-cyclonedx-py.json");
    bad["components"][1]["type"] = json!("lib");
    let l = in_toto_layer(
        &mut h,
        statement("https://cyclonedx.org/bom/v1.6", bad),
        None,
    );
    let m = h.manifest(None, config, vec![l]);
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0:/predicate/components/1/type",
        r#""lib" is not one of"#,
    );
}

#[test]
fn cosign_attest_dsse_envelopes_with_sbom_predicates() {
    let payload = statement(
        "https://cyclonedx.org/bom",
        fixture_json("cyclonedx-1.4-cyclonedx-py.json"),
    );
    let envelope = json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64::engine::general_purpose::STANDARD.encode(payload.to_string()),
        "signatures": [{"keyid": "", "sig": "MEUCIQD..."}],
    });
    for media_type in [IN_TOTO, "application/vnd.dsse.envelope.v1+json"] {
        let mut h = Harness::new();
        let config = h.blob(IMAGE_CONFIG, "{}");
        let mut l = h.blob(media_type, envelope.to_string());
        l.annotations = vec![("predicateType".into(), "https://cyclonedx.org/bom".into())];
        let m = h.manifest(None, config, vec![l]);
        assert!(accepted(h.validate::<Sbom>(&m)).is_empty(), "{media_type}");
        let doc = index(&h, &m);
        assert_eq!(doc.json["sboms"][0]["via"], "dsse");
        assert_eq!(values(&doc.facets, "sbom.specVersion"), ["1.4"]);
    }
    // cosign v3 / GitHub attestations: a sigstore bundle holding the envelope, the predicate
    // type on the manifest
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": "MIIC..."}, "tlogEntries": []},
        "dsseEnvelope": envelope,
    });
    let bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
    let mut h = Harness::new();
    let mut m = artifact(
        &mut h,
        Some(bundle_type),
        &[(bundle_type, bundle.to_string().into_bytes())],
    );
    m.annotations = vec![
        ("dev.sigstore.bundle.content".into(), "dsse-envelope".into()),
        (
            "dev.sigstore.bundle.predicateType".into(),
            "https://cyclonedx.org/bom".into(),
        ),
    ];
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    assert_eq!(values(&index(&h, &m).facets, "sbom.format"), ["cyclonedx"]);
    // … and a signature bundle is left alone without being read
    m.annotations[1].1 = "https://sigstore.dev/cosign/sign/v1".into();
    let mut h2 = Harness::new();
    let config = h2.blob(EMPTY, "{}");
    let mut l = h2.blob(bundle_type, "not even JSON");
    l.annotations = vec![];
    let mut m2 = h2.manifest(Some(bundle_type), config, vec![l]);
    m2.annotations = m.annotations.clone();
    assert!(accepted(h2.validate::<Sbom>(&m2)).is_empty());
    assert_eq!(h2.index::<Sbom>(&m2).unwrap(), None);

    // errors point into the decoded payload
    let mut bad = fixture_json("cyclonedx-1.4-cyclonedx-py.json");
    bad["dependencies"][0]["dependsOn"][0] = json!("nope");
    let envelope = json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64::engine::general_purpose::STANDARD.encode(statement("https://cyclonedx.org/bom/v1.4", bad).to_string()),
        "signatures": [],
    });
    let mut h = Harness::new();
    let m = artifact(
        &mut h,
        None,
        &[(IN_TOTO, envelope.to_string().into_bytes())],
    );
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0:payload:/predicate/dependencies/0/dependsOn/0",
        "is not the bom-ref",
    );
    // cosign attests tag-value SPDX as a string predicate
    let mut h = Harness::new();
    let st = statement(
        "https://spdx.dev/Document",
        Value::String(String::from_utf8(fixture("spdx-2.2-spdx-tools.spdx")).unwrap()),
    );
    let m = artifact(
        &mut h,
        Some(IN_TOTO),
        &[(IN_TOTO, st.to_string().into_bytes())],
    );
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    assert_eq!(index(&h, &m).json["sboms"][0]["encoding"], "tag-value");
}

#[test]
fn in_toto_statements_with_other_predicates_are_ignored() {
    let mut h = Harness::new();
    let st = statement(
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {}}),
    );
    let m = artifact(
        &mut h,
        Some(IN_TOTO),
        &[(IN_TOTO, st.to_string().into_bytes())],
    );
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    assert_eq!(h.index::<Sbom>(&m).unwrap(), None);
    // cosign's legacy .att layers name their predicate type in an annotation
    let mut h = Harness::new();
    let config = h.blob(IMAGE_CONFIG, "{}");
    let mut l = h.blob("application/vnd.dsse.envelope.v1+json", "unread");
    l.annotations = vec![(
        "predicateType".into(),
        "https://slsa.dev/provenance/v0.2".into(),
    )];
    let m = h.manifest(None, config, vec![l]);
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    // an unreadable attestation not declared as an SBOM is none of this plugin's business
    let mut h = Harness::new();
    let m = artifact(&mut h, None, &[(IN_TOTO, b"not json".to_vec())]);
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    // … but one annotated as an SBOM must be one
    let mut h = Harness::new();
    let config = h.blob(EMPTY, "{}");
    let mut l = h.blob(IN_TOTO, "not json");
    l.annotations = vec![(
        "in-toto.io/predicate-type".into(),
        "https://spdx.dev/Document".into(),
    )];
    let m = h.manifest(None, config, vec![l]);
    assert_has(
        &rejected(h.validate::<Sbom>(&m)),
        "layers/0",
        "not valid JSON",
    );
}

#[test]
fn media_type_parameters_are_ignored_and_other_manifests_left_alone() {
    let doc = valid(
        "application/vnd.cyclonedx+json;version=1.5",
        "cyclonedx-1.5-syft.json",
    );
    assert_eq!(values(&doc.facets, "sbom.specVersion"), ["1.5"]);
    // an image index is not looked into
    let h = Harness::new();
    let m = Manifest {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        artifact_type: Some(CDX_JSON.into()),
        raw: br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
        ..Manifest::default()
    };
    assert!(accepted(h.validate::<Sbom>(&m)).is_empty());
    assert_eq!(h.index::<Sbom>(&m).unwrap(), None);
}

#[test]
fn info_declares_what_it_handles() {
    let i = Sbom::info();
    assert_eq!(i.name, "sbom");
    assert!(i.validate && i.index && !i.render);
    for t in [
        CDX_JSON,
        CDX_XML,
        SPDX_JSON,
        "text/spdx+json",
        SPDX_TV,
        "application/vnd.dev.cosign.artifact.sbom.v1+json",
        IN_TOTO,
        "application/vnd.dsse.envelope.v1+json",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    ] {
        assert!(i.handles.iter().any(|h| h == t), "{t}");
    }
}
