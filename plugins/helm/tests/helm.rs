//! The helm plugin against charts shaped like `helm package` output and manifests shaped
//! like `helm push` writes them, through the SDK's harness.

use arca_plugin_helm::{CHART_TYPE, CONFIG_TYPE, Helm, LEGACY_CHART_TYPE, PROV_TYPE};
use arca_plugin_sdk::prelude::*;
use arca_plugin_sdk::testing::Harness;
use serde_json::{Value, json};
use tar::EntryType;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// One tar entry, written with raw header fields so unsafe entries can be made too.
struct Entry {
    name: Vec<u8>,
    kind: EntryType,
    data: Vec<u8>,
    link: Vec<u8>,
}

fn file(name: &str, data: impl Into<Vec<u8>>) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        kind: EntryType::Regular,
        data: data.into(),
        link: Vec::new(),
    }
}

fn special(name: &str, kind: EntryType, link: &str) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        kind,
        data: Vec::new(),
        link: link.as_bytes().to_vec(),
    }
}

/// A `.tgz` as `helm package` writes it: gzip with Helm's header extra and comment, a
/// USTAR archive of regular files (mode 0644, no directory entries).
fn tgz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::GzBuilder::new()
        .extra(&b"+aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo="[..])
        .comment("Helm")
        .write(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_ustar();
        {
            let u = h.as_ustar_mut().unwrap();
            u.name[..e.name.len()].copy_from_slice(&e.name);
            u.linkname[..e.link.len()].copy_from_slice(&e.link);
        }
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, &e.data[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

const VALUES: &str = "\
# Default values for mychart.
replicaCount: 1
image:
  repository: nginx
  pullPolicy: IfNotPresent
  tag: \"\"
service:
  type: ClusterIP
  port: 80
ingress:
  enabled: no
";

const SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["replicaCount", "image"],
  "properties": {
    "replicaCount": {"type": "integer", "minimum": 0},
    "image": {"type": "object", "properties": {"repository": {"type": "string"}}},
    "ingress": {"type": "object", "properties": {"enabled": {"type": "boolean"}}}
  }
}"#;

const README: &str = "# mychart\n\nA Helm chart for Kubernetes.\n";

fn chart_yaml(name: &str, version: &str) -> String {
    format!(
        "apiVersion: v2\nappVersion: 1.16.0\ndependencies:\n- name: redis\n  repository: oci://registry-1.docker.io/bitnamicharts\n  version: 18.x.x\n\
         description: A Helm chart for Kubernetes\nhome: https://example.com/{name}\nkeywords:\n- web\n- proxy\n\
         kubeVersion: '>=1.25.0-0'\nmaintainers:\n- email: ops@example.com\n  name: ops\nname: {name}\ntype: application\nversion: {version}\n\
         annotations:\n  category: Infrastructure\n"
    )
}

/// The files of a chart as `helm create` + `helm package` leave them, under `<top>/`.
fn chart_entries(top: &str, chart_yaml: &str) -> Vec<Entry> {
    vec![
        file(&format!("{top}/Chart.yaml"), chart_yaml),
        file(&format!("{top}/values.yaml"), VALUES),
        file(&format!("{top}/values.schema.json"), SCHEMA),
        file(&format!("{top}/.helmignore"), ".DS_Store\n.git/\n"),
        file(
            &format!("{top}/templates/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"mychart.fullname\" . }}\n",
        ),
        file(
            &format!("{top}/templates/_helpers.tpl"),
            "{{- define \"mychart.fullname\" -}}{{ .Release.Name }}{{- end }}\n",
        ),
        file(&format!("{top}/README.md"), README),
    ]
}

/// The config `helm push` writes: `json.Marshal` of Helm's `chart.Metadata`.
fn config_for(name: &str, version: &str) -> Value {
    json!({
        "name": name,
        "home": format!("https://example.com/{name}"),
        "version": version,
        "description": "A Helm chart for Kubernetes",
        "keywords": ["web", "proxy"],
        "maintainers": [{"name": "ops", "email": "ops@example.com"}],
        "apiVersion": "v2",
        "appVersion": "1.16.0",
        "annotations": {"category": "Infrastructure"},
        "kubeVersion": ">=1.25.0-0",
        "dependencies": [{"name": "redis", "version": "18.x.x",
                          "repository": "oci://registry-1.docker.io/bitnamicharts"}],
        "type": "application"
    })
}

const CREATED: &str = "org.opencontainers.image.created";

/// Push like `helm push`: config, chart layer, optional provenance layer, tagged with the
/// version, annotated with its creation time; no `mediaType`, no `artifactType`.
fn push_with(
    h: &mut Harness,
    repository: &str,
    config: &Value,
    chart: Vec<u8>,
    chart_type: &str,
    prov: Option<String>,
    created: &str,
) -> Manifest {
    let c = h.blob(CONFIG_TYPE, config.to_string());
    let mut layers = vec![h.blob(chart_type, chart)];
    if let Some(p) = prov {
        layers.push(h.blob(PROV_TYPE, p));
    }
    let mut m = h.manifest(None, c, layers);
    let version = config["version"].as_str().unwrap_or("");
    m.repository = repository.into();
    m.tag = Some(version.replace('+', "_"));
    m.annotations = vec![
        (CREATED.into(), created.into()),
        ("org.opencontainers.image.title".into(), "mychart".into()),
    ];
    let mut raw: Value = serde_json::from_slice(&m.raw).unwrap();
    raw.as_object_mut().unwrap().remove("mediaType");
    raw["annotations"] = json!({ CREATED: created });
    m.raw = serde_json::to_vec(&raw).unwrap();
    m
}

fn push(h: &mut Harness, config: &Value, chart: Vec<u8>) -> Manifest {
    push_with(
        h,
        "charts/mychart",
        config,
        chart,
        CHART_TYPE,
        None,
        "2024-05-01T10:00:00Z",
    )
}

/// A valid chart, with `edit` applied to its entries first.
fn chart_with(edit: impl FnOnce(&mut Vec<Entry>)) -> Vec<u8> {
    let mut entries = chart_entries("mychart", &chart_yaml("mychart", "0.1.0"));
    edit(&mut entries);
    tgz(&entries)
}

fn valid() -> (Harness, Manifest) {
    let mut h = Harness::new();
    let m = push(&mut h, &config_for("mychart", "0.1.0"), chart_with(|_| {}));
    (h, m)
}

fn rejection(h: &Harness, m: &Manifest) -> Vec<Violation> {
    match h.validate::<Helm>(m) {
        Verdict::Reject(v) => v,
        Verdict::Accept(w) => panic!("accepted, warnings: {w:?}"),
    }
}

/// The rejection names `path` with a message containing `words`.
#[track_caller]
fn assert_rejects(h: &Harness, m: &Manifest, path: &str, words: &str) {
    let v = rejection(h, m);
    assert!(
        v.iter()
            .any(|v| v.path == path && v.message.contains(words)),
        "no violation at {path:?} mentioning {words:?} in {v:#?}"
    );
}

fn reject_config(edit: impl FnOnce(&mut Value)) -> (Harness, Manifest) {
    let mut h = Harness::new();
    let mut config = config_for("mychart", "0.1.0");
    edit(&mut config);
    let m = push(&mut h, &config, chart_with(|_| {}));
    (h, m)
}

fn with_settings(settings: Value, edit: impl FnOnce(&mut Vec<Entry>)) -> (Harness, Manifest) {
    let mut h = Harness::new().with_config(settings);
    let m = push(&mut h, &config_for("mychart", "0.1.0"), chart_with(edit));
    (h, m)
}

fn facet_values(doc: &Document, name: &str) -> Vec<String> {
    doc.facets
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.value.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Recognition
// ---------------------------------------------------------------------------------------

#[test]
fn the_plugin_declares_the_helm_types_but_not_plain_tar_gzip() {
    let info = Helm::info();
    assert_eq!(info.name, "helm");
    assert_eq!(info.handles, [CONFIG_TYPE, CHART_TYPE]);
    assert!(!info.handles.iter().any(|h| h == LEGACY_CHART_TYPE));
    assert!(info.validate && info.index && info.render);
    assert_eq!(info.views, ["index.yaml"]);
}

#[test]
fn a_valid_chart_is_accepted_without_warnings() {
    let (h, m) = valid();
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
}

#[test]
fn the_legacy_layer_type_is_a_chart_next_to_the_helm_config() {
    let mut h = Harness::new();
    let m = push_with(
        &mut h,
        "charts/mychart",
        &config_for("mychart", "0.1.0"),
        chart_with(|_| {}),
        LEGACY_CHART_TYPE,
        None,
        "2024-05-01T10:00:00Z",
    );
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
    assert!(h.index::<Helm>(&m).unwrap().is_some());
}

#[test]
fn a_chart_layer_under_another_config_is_only_warned_about_and_not_indexed() {
    let mut h = Harness::new();
    let c = h.blob("application/vnd.oci.image.config.v1+json", "{}");
    let l = h.blob(CHART_TYPE, chart_with(|_| {}));
    let m = h.manifest(None, c, vec![l]);
    match h.validate::<Helm>(&m) {
        Verdict::Accept(w) => assert_eq!(w[0].path, "/config/mediaType"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.index::<Helm>(&m).unwrap(), None);
    // And plain tar+gzip under some other config is none of the plugin's business.
    let c = h.blob("application/vnd.oci.image.config.v1+json", "{}");
    let l = h.blob(LEGACY_CHART_TYPE, b"whatever".to_vec());
    let m = h.manifest(None, c, vec![l]);
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
}

// ---------------------------------------------------------------------------------------
// Indexing
// ---------------------------------------------------------------------------------------

#[test]
fn a_valid_chart_is_indexed_with_the_contract_facets() {
    let (h, m) = valid();
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    let one = |n: &str| facet_values(&doc, n);
    assert_eq!(one("chart.name"), ["mychart"]);
    assert_eq!(one("chart.version"), ["0.1.0"]);
    assert_eq!(one("chart.appVersion"), ["1.16.0"]);
    assert_eq!(one("chart.apiVersion"), ["v2"]);
    assert_eq!(one("chart.type"), ["application"]);
    assert_eq!(one("chart.keyword"), ["web", "proxy"]);
    assert_eq!(one("chart.kubeVersion"), [">=1.25.0-0"]);
    assert_eq!(one("chart.deprecated"), ["false"]);
    assert_eq!(one("chart.dependency"), ["redis"]);
    assert_eq!(one("chart.maintainer"), ["ops"]);
    assert_eq!(one("chart.home"), ["https://example.com/mychart"]);
    assert_eq!(one("chart.annotation"), ["category=Infrastructure"]);
    assert!(doc.facets.iter().all(|f| f.name.starts_with("chart.")));

    let j = &doc.json;
    assert_eq!(j["kind"], "chart");
    assert_eq!(j["name"], "mychart");
    assert_eq!(j["description"], "A Helm chart for Kubernetes");
    assert_eq!(j["maintainers"][0]["email"], "ops@example.com");
    assert_eq!(j["dependencies"][0]["version"], "18.x.x");
    assert_eq!(j["readme"], README);
    assert_eq!(j["readmeTruncated"], false);
    assert_eq!(j["values"], VALUES);
    assert_eq!(
        j["valuesSchema"]["required"],
        json!(["replicaCount", "image"])
    );
    assert_eq!(j["chartLayer"]["digest"], m.layers[0].digest.as_str());
    assert_eq!(j["chartLayer"]["size"], m.layers[0].size);
    assert_eq!(j["created"], "2024-05-01T10:00:00Z");
    assert_eq!(j["provenanceLayer"], Value::Null);
}

#[test]
fn deprecated_library_charts_and_a_missing_type_are_faceted_as_helm_sees_them() {
    let mut h = Harness::new();
    let mut config = config_for("mychart", "0.1.0");
    config["deprecated"] = json!(true);
    config["type"] = json!("library");
    let m = push(&mut h, &config, chart_with(|_| {}));
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    assert_eq!(facet_values(&doc, "chart.deprecated"), ["true"]);
    assert_eq!(facet_values(&doc, "chart.type"), ["library"]);

    let mut config = config_for("mychart", "0.1.0");
    config.as_object_mut().unwrap().remove("type");
    let m = push(&mut h, &config, chart_with(|_| {}));
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    assert_eq!(facet_values(&doc, "chart.type"), ["application"]);
    assert_eq!(doc.json.get("type"), None);
}

#[test]
fn a_long_readme_is_truncated_and_found_in_any_case() {
    let long = "x".repeat(100 * 1024);
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e.retain(|e| !e.name.ends_with(b"README.md"));
            e.push(file("mychart/readme.MD", long.clone()));
        }),
    );
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    assert_eq!(doc.json["readme"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(doc.json["readmeTruncated"], true);
}

#[test]
fn an_invalid_chart_is_not_indexed() {
    let (h, m) = reject_config(|c| c["apiVersion"] = json!("v9"));
    assert_eq!(h.index::<Helm>(&m).unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// Config violations
// ---------------------------------------------------------------------------------------

#[test]
fn a_bad_api_version_is_refused() {
    let (h, m) = reject_config(|c| c["apiVersion"] = json!("v3"));
    assert_rejects(&h, &m, "config:/apiVersion", "v1 or v2");
    let (h, m) = reject_config(|c| {
        c.as_object_mut().unwrap().remove("apiVersion");
    });
    assert_rejects(&h, &m, "config:/apiVersion", "required");
}

#[test]
fn a_version_that_is_not_semver_2_is_refused() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &json!({"apiVersion": "v2", "name": "mychart", "version": "1.0"}),
        tgz(&chart_entries(
            "mychart",
            "apiVersion: v2\nname: mychart\nversion: \"1.0\"\n",
        )),
    );
    assert_rejects(&h, &m, "config:/version", "SemVer 2");
}

#[test]
fn a_bad_type_is_refused() {
    let (h, m) = reject_config(|c| c["type"] = json!("service"));
    assert_rejects(&h, &m, "config:/type", "application or library");
}

#[test]
fn a_bad_or_missing_name_is_refused() {
    let (h, m) = reject_config(|c| c["name"] = json!("../evil"));
    assert_rejects(&h, &m, "config:/name", "not a usable chart name");
    let (h, m) = reject_config(|c| c["name"] = json!(7));
    assert_rejects(&h, &m, "config:/name", "must be a string");
}

#[test]
fn malformed_dependencies_are_refused() {
    let (h, m) = reject_config(|c| {
        c["dependencies"] = json!([
            {"version": "1.0.0", "repository": "https://charts.example.com"},
            {"name": "redis", "version": 18, "repository": ["x"]},
            {"name": "pg", "alias": "bad alias", "tags": "x"},
            "redis",
            {"name": "redis", "version": "1.x"}
        ])
    });
    let v = rejection(&h, &m);
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    for want in [
        "config:/dependencies/0/name",
        "config:/dependencies/1/version",
        "config:/dependencies/1/repository",
        "config:/dependencies/2/alias",
        "config:/dependencies/2/tags",
        "config:/dependencies/3",
        "config:/dependencies/4",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
    let (h, m) = reject_config(|c| c["dependencies"] = json!({"redis": "1.0"}));
    assert_rejects(&h, &m, "config:/dependencies", "list of dependencies");
}

#[test]
fn wrongly_typed_fields_are_refused_with_their_pointer() {
    let (h, m) = reject_config(|c| {
        c["appVersion"] = json!(1.16);
        c["keywords"] = json!(["ok", 3]);
        c["maintainers"] = json!([{"name": "ops", "email": 5}]);
        c["annotations"] = json!({"a/b": true});
        c["deprecated"] = json!("yes");
    });
    let v = rejection(&h, &m);
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    for want in [
        "config:/appVersion",
        "config:/keywords/1",
        "config:/maintainers/0/email",
        "config:/annotations/a~1b",
        "config:/deprecated",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
}

#[test]
fn a_config_that_is_not_json_is_refused() {
    let mut h = Harness::new();
    let c = h.blob(CONFIG_TYPE, "name: mychart");
    let l = h.blob(CHART_TYPE, chart_with(|_| {}));
    let m = h.manifest(None, c, vec![l]);
    assert_rejects(&h, &m, "config:", "not readable JSON");
}

#[test]
fn a_manifest_without_a_chart_layer_is_refused() {
    let mut h = Harness::new();
    let c = h.blob(CONFIG_TYPE, config_for("mychart", "0.1.0").to_string());
    let m = h.manifest(None, c, vec![]);
    assert_rejects(&h, &m, "/layers", "needs a layer");
}

// ---------------------------------------------------------------------------------------
// Chart content violations
// ---------------------------------------------------------------------------------------

#[test]
fn chart_yaml_must_match_the_config() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        tgz(&chart_entries("mychart", &chart_yaml("other", "0.2.0"))),
    );
    let v = rejection(&h, &m);
    assert!(
        v.iter()
            .any(|v| v.path == "mychart/Chart.yaml" && v.message.contains("name is \"other\""))
    );
    assert!(
        v.iter()
            .any(|v| v.path == "mychart/Chart.yaml" && v.message.contains("version is \"0.2.0\""))
    );
}

#[test]
fn the_tag_must_be_the_version() {
    let (h, mut m) = valid();
    m.tag = Some("latest".into());
    assert_rejects(&h, &m, "config:/version", "tagged \"0.1.0\"");
    // Build metadata: `+` is written `_` in the tag.
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "1.0.0+build.7"),
        tgz(&chart_entries(
            "mychart",
            &chart_yaml("mychart", "1.0.0+build.7"),
        )),
    );
    assert_eq!(m.tag.as_deref(), Some("1.0.0_build.7"));
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
    // Pushed by digest: no tag to check.
    let (h, mut m) = valid();
    m.tag = None;
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
    // The check can be turned off.
    let (h, mut m) = with_settings(json!({"require_version_tag": false}), |_| {});
    m.tag = Some("latest".into());
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
}

#[test]
fn values_yaml_must_be_yaml() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e[1] = file("mychart/values.yaml", "image: [nginx\nreplicas: 1\n")),
    );
    assert_rejects(&h, &m, "mychart/values.yaml", "not valid YAML: line");
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e[1] = file("mychart/values.yaml", "- a\n- b\n")),
    );
    assert_rejects(&h, &m, "mychart/values.yaml", "mapping of values");
}

#[test]
fn the_schema_must_be_json_and_a_schema() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e[2] = file("mychart/values.schema.json", "type: object\n")),
    );
    assert_rejects(&h, &m, "mychart/values.schema.json", "not JSON");
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e[2] = file("mychart/values.schema.json", r#"{"type": "thing"}"#)),
    );
    assert_rejects(
        &h,
        &m,
        "mychart/values.schema.json",
        "not a valid JSON Schema",
    );
}

#[test]
fn values_must_satisfy_the_schema() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e[1] = file(
                "mychart/values.yaml",
                VALUES.replace("replicaCount: 1", "replicaCount: many"),
            )
        }),
    );
    assert_rejects(
        &h,
        &m,
        "mychart/values.yaml:/replicaCount",
        "does not satisfy values.schema.json",
    );
    // As warnings when the setting says so.
    let (h, m) = with_settings(json!({"enforce_values_schema": false}), |e| {
        e[1] = file(
            "mychart/values.yaml",
            VALUES.replace("replicaCount: 1", "replicaCount: many"),
        )
    });
    match h.validate::<Helm>(&m) {
        Verdict::Accept(w) => assert_eq!(w[0].path, "mychart/values.yaml:/replicaCount"),
        other => panic!("{other:?}"),
    }
    // No values.yaml: Helm checks `{}`, which lacks the required keys.
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e.remove(1);
        }),
    );
    assert_rejects(&h, &m, "mychart/values.yaml", "required");
}

#[test]
fn values_are_typed_as_helm_reads_them() {
    // `enabled: no` is a boolean for Helm (YAML 1.1), so it satisfies the schema; quoted,
    // it is a string and does not.
    let (h, m) = valid();
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e[1] = file(
                "mychart/values.yaml",
                VALUES.replace("enabled: no", "enabled: \"no\""),
            )
        }),
    );
    assert_rejects(&h, &m, "mychart/values.yaml:/ingress/enabled", "boolean");
}

#[test]
fn a_schema_referring_to_a_remote_document_is_a_warning() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e[2] = file(
                "mychart/values.schema.json",
                r#"{"properties": {"resources": {"$ref": "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json#/definitions/io.k8s.api.core.v1.ResourceRequirements"}}}"#,
            )
        }),
    );
    match h.validate::<Helm>(&m) {
        Verdict::Accept(w) => {
            assert_eq!(w[0].path, "mychart/values.schema.json");
            assert!(w[0].message.contains("cannot fetch"), "{w:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chart_yaml_must_be_present() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| {
            e.remove(0);
        }),
    );
    assert_rejects(&h, &m, "mychart/Chart.yaml", "is missing");
}

#[test]
fn every_file_must_be_under_one_top_directory() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e.push(file("other/values.yaml", "a: 1\n"))),
    );
    assert_rejects(
        &h,
        &m,
        "layers/0:",
        "more than one top directory (mychart/, other/)",
    );
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e.push(file("stray.txt", "x"))),
    );
    assert_rejects(&h, &m, "stray.txt", "inside its top directory");
}

#[test]
fn a_top_directory_not_named_after_the_chart_is_a_warning() {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        tgz(&chart_entries("src", &chart_yaml("mychart", "0.1.0"))),
    );
    match h.validate::<Helm>(&m) {
        Verdict::Accept(w) => assert_eq!(w[0].path, "src/"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_layer_that_is_not_gzip_is_refused() {
    let mut h = Harness::new();
    let plain_tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut hd = tar::Header::new_ustar();
        hd.set_path("mychart/Chart.yaml").unwrap();
        hd.set_size(0);
        hd.set_cksum();
        b.append(&hd, &[][..]).unwrap();
        b.into_inner().unwrap()
    };
    let m = push(&mut h, &config_for("mychart", "0.1.0"), plain_tar);
    assert_rejects(&h, &m, "layers/0:", "not gzip-compressed");
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        vec![0x1f, 0x8b, 1, 2, 3],
    );
    assert_rejects(&h, &m, "layers/0:", "corrupt");
}

// ---------------------------------------------------------------------------------------
// Archive safety
// ---------------------------------------------------------------------------------------

fn unsafe_entry(entry: Entry) -> (Harness, Manifest) {
    let mut h = Harness::new();
    let m = push(
        &mut h,
        &config_for("mychart", "0.1.0"),
        chart_with(|e| e.push(entry)),
    );
    (h, m)
}

#[test]
fn absolute_paths_are_refused() {
    let (h, m) = unsafe_entry(file("/etc/passwd", "root"));
    assert_rejects(&h, &m, "/etc/passwd", "absolute");
}

#[test]
fn dot_dot_is_refused() {
    let (h, m) = unsafe_entry(file("mychart/../../evil", "x"));
    assert_rejects(&h, &m, "mychart/../../evil", "..");
}

#[test]
fn symlinks_are_refused() {
    let (h, m) = unsafe_entry(special("mychart/link", EntryType::Symlink, "/etc/passwd"));
    assert_rejects(&h, &m, "mychart/link", "symbolic links");
}

#[test]
fn hard_links_are_refused() {
    let (h, m) = unsafe_entry(special(
        "mychart/hard",
        EntryType::Link,
        "mychart/Chart.yaml",
    ));
    assert_rejects(&h, &m, "mychart/hard", "hard links");
}

#[test]
fn devices_and_fifos_are_refused() {
    for kind in [EntryType::Char, EntryType::Block, EntryType::Fifo] {
        let (h, m) = unsafe_entry(special("mychart/dev", kind, ""));
        assert_rejects(&h, &m, "mychart/dev", "device files and FIFOs");
    }
}

#[test]
fn too_many_entries_are_refused_per_the_setting() {
    let (h, m) = with_settings(json!({"max_entries": 5}), |_| {});
    assert_rejects(
        &h,
        &m,
        "layers/0:",
        "more than 5 entries (setting max_entries)",
    );
    let (h, m) = with_settings(json!({"max_entries": 7}), |_| {});
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
}

#[test]
fn too_large_an_expansion_is_refused_per_the_setting() {
    // A small archive that expands a lot: a bomb in miniature.
    let (h, m) = with_settings(json!({"max_unpacked_bytes": 1_000_000}), |e| {
        e.push(file("mychart/files/zeros.bin", vec![0u8; 2_000_000]))
    });
    assert!(m.layers[0].size < 100_000);
    assert_rejects(
        &h,
        &m,
        "mychart/files/zeros.bin",
        "more than 1000000 bytes (setting max_unpacked_bytes)",
    );
    // The default per-file limit (5 MiB, as Helm's loader).
    let (h, m) = with_settings(json!({}), |e| {
        e.push(file("mychart/files/zeros.bin", vec![0u8; 6 * 1024 * 1024]))
    });
    assert_rejects(&h, &m, "mychart/files/zeros.bin", "setting max_file_bytes");
}

#[test]
fn too_large_a_chart_layer_is_refused_before_reading() {
    let (h, mut m) = with_settings(json!({"max_chart_bytes": 100}), |_| {});
    assert_rejects(&h, &m, "/layers/0/size", "setting max_chart_bytes");
    // Judged by the descriptor: a lying size is refused without opening the blob.
    m.layers[0].digest = "sha256:0000".into();
    m.layers[0].size = 10 * 1024 * 1024 * 1024;
    let v = rejection(&h, &m);
    assert_eq!(v.len(), 1, "{v:?}");
}

// ---------------------------------------------------------------------------------------
// Provenance
// ---------------------------------------------------------------------------------------

fn prov_for(name: &str, version: &str, sum: &str) -> String {
    format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{}\n...\nfiles:\n  {name}-{version}.tgz: {sum}\n\
         -----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJcon2ICRCEO7+YH8GHYgAASEAIAHD4Rad+LF47qNydI+k7x3aC\n=YgnR\n-----END PGP SIGNATURE-----",
        chart_yaml(name, version)
            .lines()
            .map(|l| if l.starts_with('-') {
                format!("- {l}")
            } else {
                l.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    )
}

fn sha256(bytes: &[u8]) -> String {
    // The harness names blobs by sha256: reuse it.
    let mut h = Harness::new();
    h.blob("x", bytes.to_vec()).digest
}

#[test]
fn a_provenance_file_recording_the_chart_digest_is_accepted() {
    let chart = chart_with(|_| {});
    let prov = prov_for("mychart", "0.1.0", &sha256(&chart));
    let mut h = Harness::new();
    let m = push_with(
        &mut h,
        "charts/mychart",
        &config_for("mychart", "0.1.0"),
        chart,
        CHART_TYPE,
        Some(prov),
        "2024-05-01T10:00:00Z",
    );
    assert_eq!(h.validate::<Helm>(&m), Verdict::accept());
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    assert_eq!(
        doc.json["provenanceLayer"]["digest"],
        m.layers[1].digest.as_str()
    );
}

#[test]
fn a_provenance_file_recording_another_digest_is_refused() {
    let chart = chart_with(|_| {});
    let other = sha256(b"another chart");
    let mut h = Harness::new();
    let m = push_with(
        &mut h,
        "charts/mychart",
        &config_for("mychart", "0.1.0"),
        chart,
        CHART_TYPE,
        Some(prov_for("mychart", "0.1.0", &other)),
        "2024-05-01T10:00:00Z",
    );
    assert_rejects(
        &h,
        &m,
        "layers/1:",
        &format!("records {other} for mychart-0.1.0.tgz"),
    );
    let m = push_with(
        &mut h,
        "charts/mychart",
        &config_for("mychart", "0.1.0"),
        chart_with(|_| {}),
        CHART_TYPE,
        Some("not signed".into()),
        "2024-05-01T10:00:00Z",
    );
    assert_rejects(&h, &m, "layers/1:", "not a Helm provenance file");
}

// ---------------------------------------------------------------------------------------
// index.yaml
// ---------------------------------------------------------------------------------------

/// Index a chart and wrap its document as the host hands it to `render`.
fn indexed(
    h: &mut Harness,
    repository: &str,
    name: &str,
    version: &str,
    created: &str,
    tags: Value,
) -> (Value, Manifest) {
    let m = push_with(
        h,
        repository,
        &config_for(name, version),
        tgz(&chart_entries(name, &chart_yaml(name, version))),
        CHART_TYPE,
        None,
        created,
    );
    assert_eq!(
        h.validate::<Helm>(&m),
        Verdict::accept(),
        "{name} {version}"
    );
    let doc = h.index::<Helm>(&m).unwrap().unwrap();
    let wrapped =
        json!({"repository": repository, "digest": m.digest, "tags": tags, "document": doc.json});
    (wrapped, m)
}

#[test]
fn index_yaml_lists_every_chart_version_newest_first() {
    let mut h = Harness::new();
    let mut docs = Vec::new();
    let mut layer_of = std::collections::HashMap::new();
    for (repo, name, version, created) in [
        ("charts/alpha", "alpha", "0.9.0", "2024-01-01T00:00:00Z"),
        ("charts/alpha", "alpha", "0.10.0", "2024-02-01T00:00:00Z"),
        ("charts/beta", "beta", "1.0.0-rc.1", "2024-04-01T00:00:00Z"),
        ("charts/beta", "beta", "1.0.0", "2024-03-01T00:00:00+01:00"),
    ] {
        let (d, m) = indexed(&mut h, repo, name, version, created, json!([version]));
        layer_of.insert(version, (repo, m.layers[0].digest.clone()));
        docs.push(d);
    }
    // Noise the view must skip: another plugin's kind of document, and garbage.
    docs.push(json!({"repository": "charts/x", "digest": "sha256:00", "tags": [], "document": {"kind": "other"}}));
    docs.push(
        json!({"repository": "charts/y", "digest": "sha256:01", "tags": [], "document": null}),
    );

    let r = h
        .render::<Helm>("index.yaml", "charts", None, &docs)
        .unwrap();
    assert_eq!(r.media_type, "application/x-yaml");
    let index: Value = serde_json::from_slice(&r.body).expect("index.yaml is JSON-compatible YAML");
    assert_eq!(index["apiVersion"], "v1");
    assert_eq!(index["generated"], "2024-04-01T00:00:00Z");
    let entries = index["entries"].as_object().unwrap();
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
    let versions = |n: &str| {
        entries[n]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(versions("alpha"), ["0.10.0", "0.9.0"]);
    assert_eq!(versions("beta"), ["1.0.0", "1.0.0-rc.1"]);

    for e in entries.values().flat_map(|l| l.as_array().unwrap()) {
        let version = e["version"].as_str().unwrap();
        let (repo, layer) = &layer_of[version];
        // Helm's digest: the sha256 of the .tgz, hex, no algorithm prefix.
        assert_eq!(e["digest"], layer.strip_prefix("sha256:").unwrap());
        let name = e["name"].as_str().unwrap();
        assert_eq!(
            e["urls"],
            json!([format!(
                "/_arca/v1/repositories/{repo}/blobs/{layer}/{name}-{version}.tgz"
            )])
        );
        assert_eq!(e["apiVersion"], "v2");
        assert_eq!(e["appVersion"], "1.16.0");
        assert_eq!(
            e["maintainers"],
            json!([{"name": "ops", "email": "ops@example.com"}])
        );
        assert_eq!(e["dependencies"][0]["name"], "redis");
        assert_eq!(e["annotations"]["category"], "Infrastructure");
        assert_eq!(e["keywords"], json!(["web", "proxy"]));
        // Only the fields of Helm's ChartVersion: older Helm refuses an index with others.
        for k in e.as_object().unwrap().keys() {
            assert!(
                [
                    "apiVersion",
                    "name",
                    "version",
                    "appVersion",
                    "description",
                    "type",
                    "keywords",
                    "home",
                    "sources",
                    "maintainers",
                    "icon",
                    "kubeVersion",
                    "deprecated",
                    "annotations",
                    "dependencies",
                    "condition",
                    "tags",
                    "urls",
                    "created",
                    "digest"
                ]
                .contains(&k.as_str()),
                "unexpected field {k}"
            );
        }
    }
    let beta = &entries["beta"][0];
    assert_eq!(beta["created"], "2024-03-01T00:00:00+01:00");
}

#[test]
fn a_chart_version_pushed_twice_appears_once() {
    let mut h = Harness::new();
    // The same version in two manifests: an old, now untagged push and the tagged one.
    let (old, _) = indexed(
        &mut h,
        "charts/gamma",
        "gamma",
        "1.0.0",
        "2024-01-01T00:00:00Z",
        json!([]),
    );
    let (new, m) = indexed(
        &mut h,
        "charts/gamma",
        "gamma",
        "1.0.0",
        "2023-01-01T00:00:00Z",
        json!(["1.0.0", "stable"]),
    );
    let r = h
        .render::<Helm>("index.yaml", "", None, &[old, new])
        .unwrap();
    let index: Value = serde_json::from_slice(&r.body).unwrap();
    let list = index["entries"]["gamma"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["urls"][0],
        format!(
            "/_arca/v1/repositories/charts/gamma/blobs/{}/gamma-{}.tgz",
            m.layers[0].digest,
            list[0]["version"].as_str().unwrap()
        )
    );
}

#[test]
fn an_empty_repository_has_an_empty_index_and_other_views_fail() {
    let h = Harness::new();
    let r = h
        .render::<Helm>("index.yaml", "nothing", None, &[])
        .unwrap();
    let index: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(index, json!({"apiVersion": "v1", "entries": {}}));
    assert!(h.render::<Helm>("other.yaml", "", None, &[]).is_err());
    let (h, m) = valid();
    assert!(h.render::<Helm>("index.yaml", "", Some(&m), &[]).is_err());
}
