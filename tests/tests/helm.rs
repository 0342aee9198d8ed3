//! Helm charts with the real Helm 4 client (PyPI `helm-python-sdk`, Helm's Go SDK) against
//! arca and its `helm` plugin: OCI push/pull/show, search facets and documents, the classic
//! chart repository view, and refusal of malformed charts.
//!
//! The scenarios live in `tests/py/helm_e2e.py`; each checks what it can itself and prints a
//! `RESULT {json}` line that these tests re-check over plain HTTP.

use std::time::Duration;

use arca_e2e::serde_json::Value;
use arca_e2e::{Registry, Server, py_scenario, python_with, sha256_digest};

const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Runs one scenario of `helm_e2e.py` against `server`; returns its RESULT JSON.
fn helm_scenario(server: &Server, scenario: &str) -> Value {
    let python = python_with(&["helm_python", "yaml", "requests"]);
    py_scenario(
        &python,
        "helm_e2e.py",
        scenario,
        server,
        &[],
        Duration::from_secs(180),
    )
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string in RESULT, got {v}"))
}

/// Every chart in `result["charts"]` is served as Helm pushed it: by tag and by digest,
/// Helm's config and layer media types, the layer byte-identical to the packaged archive.
fn assert_charts_served(reg: &Registry, result: &Value) {
    let charts = result["charts"].as_object().expect("charts in RESULT");
    assert_eq!(charts.len(), 3, "charts pushed: {result}");
    for (key, c) in charts {
        let (repo, tag, digest) = (s(&c["repo"]), s(&c["tag"]), s(&c["digest"]));
        let by_tag = reg
            .get_manifest(repo, tag)
            .expect_status(200, &format!("GET {repo}:{tag}"));
        assert_eq!(sha256_digest(&by_tag.body), digest, "{key}: {repo}:{tag}");
        let m = by_tag.json();
        assert_eq!(m["config"]["mediaType"], HELM_CONFIG, "{key}: {m}");
        let layer = &m["layers"][0];
        assert_eq!(layer["mediaType"], HELM_LAYER, "{key}: {m}");
        assert_eq!(
            layer["digest"],
            format!("sha256:{}", s(&c["sha256"])),
            "{key}: the chart layer is not the packaged archive"
        );
        let blob = reg
            .get(&format!("/v2/{repo}/blobs/{}", s(&layer["digest"])), &[])
            .expect_status(200, "GET chart layer");
        assert_eq!(sha256_digest(&blob.body), s(&layer["digest"]));
        reg.get_manifest(repo, digest)
            .expect_status(200, &format!("GET {repo}@{digest}"));
    }
    let beta = reg
        .get("/v2/charts/beta/tags/list", &[])
        .expect_status(200, "beta tags")
        .json();
    assert_eq!(
        beta["tags"],
        arca_e2e::serde_json::json!(["1.0.0_build.1"]),
        "Helm tags SemVer build metadata with '_'"
    );
}

#[test]
fn helm_packages_pushes_pulls_and_shows_charts_over_oci() {
    let server = Server::start();
    let result = helm_scenario(&server, "oci");
    assert_charts_served(&server.registry(), &result);
}

#[test]
fn helm_charts_are_found_by_chart_facets_and_have_documents() {
    let server = Server::start();
    let result = helm_scenario(&server, "search");
    let reg = server.registry();
    assert_charts_served(&reg, &result);
    // Re-checked over plain HTTP: the two alpha versions and nothing else.
    let res = reg
        .get("/_arca/v1/search?facet=chart.name:alpha", &[])
        .expect_status(200, "search chart.name:alpha")
        .json();
    let mut got: Vec<&str> = res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| s(&r["digest"]))
        .collect();
    got.sort();
    let charts = &result["charts"];
    let mut want = vec![
        s(&charts["alpha@0.1.0"]["digest"]),
        s(&charts["alpha@0.2.0"]["digest"]),
    ];
    want.sort();
    assert_eq!(got, want, "search chart.name:alpha: {res}");
}

#[test]
fn helm_classic_repository_view_serves_the_real_helm_client() {
    let server = Server::start();
    let result = helm_scenario(&server, "classic");
    let reg = server.registry();
    assert_charts_served(&reg, &result);
    let index = reg
        .get("/_arca/v1/views/helm/charts/index.yaml", &[])
        .expect_status(200, "GET classic index.yaml")
        .text();
    for c in result["charts"].as_object().expect("charts").values() {
        assert!(
            index.contains(s(&c["sha256"])),
            "index.yaml does not name the digest of {c}:\n{index}"
        );
    }
    eprintln!(
        "helm pull from the classic repository wrote {:?}; helm dependency update wrote charts/{:?}",
        result["pulled_file_name"], result["dependency_file_name"]
    );
}

#[test]
fn helm_malformed_charts_are_refused_with_violations() {
    let server = Server::start();
    let result = helm_scenario(&server, "malformed");
    let reg = server.registry();
    let refused = result["refused"].as_object().expect("refused");
    assert_eq!(refused.len(), 7, "malformed cases: {result}");
    for (case, r) in refused {
        assert!(
            s(&r["message"]).starts_with("helm: "),
            "`{case}`: the message names the plugin first: {r}"
        );
    }
    // Nothing refused is left behind: the broken charts' repository has no tags.
    let tags = reg.get("/v2/charts/broken/tags/list", &[]);
    assert!(
        tags.status == 404 || tags.json()["tags"].as_array().is_none_or(Vec::is_empty),
        "refused charts left tags: {} {}",
        tags.status,
        tags.text()
    );
    // The valid chart pushed afterwards by the real client is served.
    let valid = &result["valid"];
    let m = reg
        .get_manifest(s(&valid["repo"]), s(&valid["tag"]))
        .expect_status(200, "GET the valid chart pushed after the refusals");
    assert_eq!(sha256_digest(&m.body), s(&valid["digest"]));
    assert_eq!(
        m.json()["layers"][0]["digest"],
        format!("sha256:{}", s(&valid["sha256"]))
    );
}
