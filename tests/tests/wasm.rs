//! WebAssembly artifacts with real clients against arca and its `wasm` plugin:
//! `wkg oci push/pull` (wasm-pkg-tools 0.16.1, the CNCF Wasm OCI layout), `wkg build`,
//! `wkg publish` and `wkg get` of a WIT package through the
//! `/.well-known/wasm-pkg/registry.json` namespace mapping, and oras-py
//! (`oras==0.2.43`) for core modules in both layouts and for malformed binaries, which the
//! plugin refuses with `400 MANIFEST_INVALID`. Search by the plugin's facets, its documents
//! and its `wit` view are checked over plain HTTP.
//!
//! The test binaries are built from `tests/wasm-fixtures` (once per test process, with
//! `tests/wasm-fixtures/build.sh`; rustup targets wasm32-wasip2, wasm32-wasip1 and
//! wasm32-unknown-unknown). wkg is required, never optional: install it with
//! `tests/tools/install-wkg.sh` (tests/run does).
//!
//! The plugin is the `arca` binary's built-in `wasm` when it has one; otherwise this test
//! builds `plugins/wasm` for wasm32-wasip2 and loads it with `plugins.files`
//! (`ARCA_WASM_PLUGIN_WASM` names a prebuilt one instead).

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use arca_e2e::serde_json::Value;
use arca_e2e::{
    Registry, Server, percent_encode, py_scenario, python, run, run_output, sha256_digest,
    target_dir, tempfile, tools_dir, workspace_root,
};

const CONFIG_V0: &str = "application/vnd.wasm.config.v0+json";
const LAYER_WASM: &str = "application/wasm";
const WKG_VERSION: &str = "0.16.1";

/// What the registry serves at `/.well-known/wasm-pkg/registry.json`: packages live under
/// `wasm/<namespace>/<name>` in this registry, over OCI. `{host}` is the request's `Host`.
const REGISTRY_JSON: &str =
    r#"{"preferredProtocol":"oci","oci":{"registry":"{host}","namespacePrefix":"wasm/"}}"#;

/// The fixture binaries, built once per test process.
struct Fixtures {
    /// wasip2 component exporting `wasi:http/incoming-handler@0.2.x`.
    hello_http: PathBuf,
    /// wasip2 component exporting `arca:hello/greet@0.1.0`.
    greet: PathBuf,
    /// Core module, a wasip1 command.
    hello_wasip1: PathBuf,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let out = target_dir().join("wasm-fixtures").join("out");
        let script = workspace_root().join("tests/wasm-fixtures/build.sh");
        let output = run_output(
            Command::new("bash").arg(&script).arg(&out).env(
                "WASM_FIXTURES_TARGET_DIR",
                target_dir().join("wasm-fixtures"),
            ),
            Duration::from_secs(1200),
        );
        assert!(
            output.status.success(),
            "building the Wasm fixtures with {} failed (it needs the rustup targets \
             wasm32-wasip2, wasm32-wasip1 and wasm32-unknown-unknown)\nstdout:\n{}\nstderr:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Fixtures {
            hello_http: out.join("hello-http.wasm"),
            greet: out.join("greet.wasm"),
            hello_wasip1: out.join("hello-wasip1.wasm"),
        }
    })
}

/// The wkg binary: `ARCA_WKG`, else `<tools dir>/wkg/bin/wkg` (where
/// `tests/tools/install-wkg.sh` puts it), else `wkg` on `PATH`. Panics when there is none.
fn wkg_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let candidates = std::env::var_os("ARCA_WKG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .chain([tools_dir().join("wkg").join("bin").join("wkg")])
            .chain(std::env::var_os("PATH").into_iter().flat_map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("wkg"))
                    .collect::<Vec<_>>()
            }));
        let bin = candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
            panic!(
                "required tool `wkg {WKG_VERSION}` is missing: run `tests/tools/install-wkg.sh` \
                 (tests/run does; it installs into {}/wkg) or set ARCA_WKG",
                tools_dir().display()
            )
        });
        let version = run(Command::new(&bin).arg("--version"));
        assert_eq!(
            version.trim(),
            format!("wkg {WKG_VERSION}"),
            "{} is not wkg {WKG_VERSION}: run `tests/tools/install-wkg.sh`",
            bin.display()
        );
        bin
    })
    .clone()
}

/// wkg with its own config file, cache and (empty) Docker credentials.
struct Wkg {
    dir: tempfile::TempDir,
}

impl Wkg {
    fn new() -> Wkg {
        let dir = tempfile::Builder::new()
            .prefix("arca-wkg-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("docker")).expect("docker config dir");
        std::fs::write(dir.path().join("config.toml"), "").expect("wkg config");
        Wkg { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes wkg's `config.toml`.
    fn configure(&self, toml: &str) {
        std::fs::write(self.path("config.toml"), toml).expect("write wkg config");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(wkg_bin());
        cmd.args(args)
            .env("WKG_CONFIG_FILE", self.path("config.toml"))
            .env("WKG_CACHE_DIR", self.path("cache"))
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path());
        cmd
    }

    fn try_run(&self, args: &[&str]) -> Output {
        run_output(&mut self.command(args), Duration::from_secs(300))
    }

    /// Runs wkg, panicking with its output unless it succeeds; returns stdout + stderr.
    fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "`wkg {}` failed ({}):\n{text}",
            args.join(" "),
            out.status
        );
        text
    }
}

/// Whether the `arca` binary has a built-in plugin named `wasm` (asked once).
fn builtin_wasm() -> bool {
    static BUILTIN: OnceLock<bool> = OnceLock::new();
    *BUILTIN.get_or_init(|| {
        let server = Server::start();
        let plugins = server
            .registry()
            .get("/_arca/v1/plugins", &[])
            .expect_status(200, "GET /_arca/v1/plugins")
            .json();
        plugins["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .any(|p| p["name"] == "wasm")
    })
}

/// The plugin component to load when the binary has no built-in `wasm`.
fn wasm_plugin_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        if let Some(f) = std::env::var_os("ARCA_WASM_PLUGIN_WASM").filter(|f| !f.is_empty()) {
            return PathBuf::from(f);
        }
        let target = target_dir().join("wasm-plugins");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run_plain(
            Command::new(cargo)
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                    "--manifest-path",
                ])
                .arg(workspace_root().join("plugins/wasm/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_BUILD_TARGET"),
        );
        target.join("wasm32-wasip2/release/arca_plugin_wasm.wasm")
    })
    .clone()
}

fn run_plain(cmd: &mut Command) {
    let out = run_output(cmd, Duration::from_secs(1800));
    assert!(
        out.status.success(),
        "`{}` failed\n{}",
        arca_e2e::describe(cmd),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server with the `wasm` plugin and `extra` configuration (TOML).
struct WasmServer {
    server: Server,
    _config: tempfile::TempDir,
}

impl Deref for WasmServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

fn wasm_server(extra: &str) -> WasmServer {
    let mut toml = String::new();
    if !builtin_wasm() {
        let file = wasm_plugin_file();
        toml.push_str(&format!(
            "[plugins]\nfiles = [{:?}]\n\n",
            file.display().to_string()
        ));
    }
    toml.push_str(extra);
    let dir = tempfile::Builder::new()
        .prefix("arca-wasm-config-")
        .tempdir()
        .expect("tempdir");
    let path = dir.path().join("arca.toml");
    std::fs::write(&path, &toml).expect("write arca.toml");
    let server = Server::start_with_args(&["--config", path.to_str().expect("utf-8 path")]);
    WasmServer {
        server,
        _config: dir,
    }
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| s(x).to_string())
        .collect()
}

/// `(repository, digest)` of every search hit.
fn search(reg: &Registry, facet: &str) -> Vec<(String, String)> {
    let res = reg
        .get(
            &format!("/_arca/v1/search?facet={}", percent_encode(facet)),
            &[],
        )
        .expect_status(200, &format!("search {facet}"))
        .json();
    res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (s(&r["repository"]).to_string(), s(&r["digest"]).to_string()))
        .collect()
}

/// The `wasm` plugin's document for a manifest (state `done`).
fn wasm_document(reg: &Registry, repo: &str, digest: &str) -> Value {
    let docs = reg
        .get(
            &format!("/_arca/v1/repositories/{repo}/manifests/{digest}/documents"),
            &[],
        )
        .expect_status(200, "GET documents")
        .json();
    let entry = docs["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["plugin"] == "wasm")
        .unwrap_or_else(|| panic!("no wasm document for {repo}@{digest}: {docs}"))
        .clone();
    assert_eq!(entry["state"], "done", "{entry}");
    entry["document"].clone()
}

/// The `wit` view of a manifest.
fn wit_view(reg: &Registry, repo: &str, digest: &str) -> String {
    let r = reg
        .get(
            &format!("/_arca/v1/repositories/{repo}/manifests/{digest}/views/wasm/wit"),
            &[],
        )
        .expect_status(200, "GET the wit view");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    r.text()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn wkg_oci_push_and_pull_roundtrip_components_that_are_indexed_and_searchable() {
    let f = fixtures();
    let server = wasm_server("");
    let reg = server.registry();
    let host = server.host_port();
    let wkg = Wkg::new();

    let reference = format!("{host}/wasm/hello:0.1.0");
    let hello_http = f.hello_http.to_str().expect("utf-8 path");
    wkg.run(&["oci", "push", "--insecure", host, &reference, hello_http]);
    let out = wkg.path("pulled.wasm");
    wkg.run(&[
        "oci",
        "pull",
        "--insecure",
        host,
        &reference,
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        read(&out) == read(&f.hello_http),
        "wkg oci pull gave bytes that differ from what wkg oci push sent"
    );

    // What wkg wrote: the CNCF layout, which the plugin checked against the binary.
    let m = reg
        .get_manifest("wasm/hello", "0.1.0")
        .expect_status(200, "GET wasm/hello:0.1.0");
    let digest = sha256_digest(&m.body);
    let manifest = m.json();
    assert_eq!(manifest["config"]["mediaType"], CONFIG_V0, "{manifest}");
    assert_eq!(manifest["layers"][0]["mediaType"], LAYER_WASM, "{manifest}");
    let config = reg
        .get(
            &format!("/v2/wasm/hello/blobs/{}", s(&manifest["config"]["digest"])),
            &[],
        )
        .expect_status(200, "GET the config")
        .json();
    assert_eq!(config["os"], "wasip2", "{config}");
    assert_eq!(
        config["layerDigests"][0], manifest["layers"][0]["digest"],
        "{config}"
    );

    // Found by what it exports.
    let hits = search(&reg, "wasm.export:wasi:http/incoming-handler*");
    assert_eq!(hits, vec![("wasm/hello".to_string(), digest.clone())]);
    assert_eq!(
        search(&reg, "wasm.kind:component"),
        vec![("wasm/hello".to_string(), digest.clone())]
    );

    // The document agrees with what wkg computed for the config.
    let doc = wasm_document(&reg, "wasm/hello", &digest);
    assert_eq!(doc["kind"], "component", "{doc}");
    assert_eq!(doc["layout"], "cncf", "{doc}");
    assert_eq!(doc["os"], "wasip2", "{doc}");
    assert_eq!(
        strings(&doc["exports"]),
        strings(&config["component"]["exports"])
    );
    assert_eq!(
        strings(&doc["imports"]),
        strings(&config["component"]["imports"])
    );
    assert_eq!(doc["size"], read(&f.hello_http).len(), "{doc}");

    // The wit view shows the exported interface.
    let wit = wit_view(&reg, "wasm/hello", &digest);
    assert!(
        wit.contains("export wasi:http/incoming-handler@0.2."),
        "{wit}"
    );
    assert!(wit.contains("interface incoming-handler"), "{wit}");

    // A component with a custom interface, found by its exact export.
    let reference = format!("{host}/wasm/greet:0.1.0");
    wkg.run(&[
        "oci",
        "push",
        "--insecure",
        host,
        &reference,
        f.greet.to_str().expect("utf-8 path"),
    ]);
    let greet = sha256_digest(
        &reg.get_manifest("wasm/greet", "0.1.0")
            .expect_status(200, "GET wasm/greet:0.1.0")
            .body,
    );
    assert_eq!(
        search(&reg, "wasm.export:arca:hello/greet@0.1.0"),
        vec![("wasm/greet".to_string(), greet.clone())]
    );
    let wit = wit_view(&reg, "wasm/greet", &greet);
    assert!(wit.contains("export arca:hello/greet@0.1.0;"), "{wit}");
    assert!(
        wit.contains("hello: func(name: string) -> string;"),
        "{wit}"
    );
}

/// Runs one scenario of `wasm_e2e.py`; returns its RESULT JSON.
fn oras_scenario(server: &Server, scenario: &str, files: &[&Path]) -> Value {
    py_scenario(
        &python(),
        "wasm_e2e.py",
        scenario,
        server,
        files,
        Duration::from_secs(300),
    )
}

#[test]
fn core_modules_pushed_with_oras_are_indexed_in_both_layouts_and_pulled_by_wkg() {
    let f = fixtures();
    let server = wasm_server("");
    let reg = server.registry();
    let result = oras_scenario(&server, "module", &[&f.hello_wasip1]);
    let repo = s(&result["repo"]);

    let cncf = wasm_document(&reg, repo, s(&result["cncf"]));
    assert_eq!(cncf["layout"], "cncf", "{cncf}");
    assert_eq!(cncf["kind"], "module", "{cncf}");
    assert_eq!(cncf["os"], "wasip1", "{cncf}");
    let legacy = wasm_document(&reg, repo, s(&result["legacy"]));
    assert_eq!(legacy["layout"], "wasm-to-oci", "{legacy}");
    assert_eq!(legacy["os"], "wasip1", "{legacy}");
    assert_eq!(legacy["osSource"], "binary", "{legacy}");

    let mut hits = search(&reg, "wasm.import:wasi_snapshot_preview1/fd_write");
    hits.sort();
    let mut want = vec![
        (repo.to_string(), s(&result["cncf"]).to_string()),
        (repo.to_string(), s(&result["legacy"]).to_string()),
    ];
    want.sort();
    assert_eq!(hits, want);

    let wit = wit_view(&reg, repo, s(&result["cncf"]));
    assert!(wit.contains("not a component"), "{wit}");
    assert!(wit.contains("\"fd_write\""), "{wit}");

    // wkg pulls the CNCF-layout module oras-py pushed, byte for byte.
    let wkg = Wkg::new();
    let out = wkg.path("module.wasm");
    let host = server.host_port();
    wkg.run(&[
        "oci",
        "pull",
        "--insecure",
        host,
        &format!("{host}/{repo}:cncf"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        read(&out) == read(&f.hello_wasip1),
        "wkg pulled different bytes"
    );
}

#[test]
fn malformed_binaries_pushed_with_oras_are_refused_with_manifest_invalid() {
    let f = fixtures();
    let server = wasm_server("");
    let result = oras_scenario(&server, "malformed", &[&f.hello_wasip1, &f.hello_http]);
    let refused = result["refused"].as_object().expect("refused");
    assert_eq!(refused.len(), 6, "{result}");
    for (case, r) in refused {
        assert_eq!(r["status"], 400, "{case}: {r}");
        assert_eq!(r["code"], "MANIFEST_INVALID", "{case}: {r}");
        assert!(s(&r["message"]).starts_with("wasm: "), "{case}: {r}");
    }
    let message = |case: &str| s(&refused[case]["message"]).to_string();
    assert!(
        message("truncated").contains("not a valid WebAssembly binary"),
        "{}",
        message("truncated")
    );
    assert!(
        message("bad-magic").contains("magic"),
        "{}",
        message("bad-magic")
    );
    assert!(
        message("invalid-body").contains("type mismatch"),
        "{}",
        message("invalid-body")
    );
    assert!(
        message("os-wasip2-for-a-module").contains("config:/os"),
        "{}",
        message("os-wasip2-for-a-module")
    );
    assert!(
        message("layer-digests-mismatch").contains("config:/layerDigests"),
        "{}",
        message("layer-digests-mismatch")
    );
    assert!(
        message("declared-export-missing").contains("wasi:http/incoming-handler@0.2.0"),
        "{}",
        message("declared-export-missing")
    );
    // Nothing refused is visible.
    let tags = server
        .registry()
        .get(&format!("/v2/{}/tags/list", s(&result["repo"])), &[]);
    assert!(
        tags.status == 404 || tags.json()["tags"].as_array().is_none_or(Vec::is_empty),
        "refused pushes left tags: {} {}",
        tags.status,
        tags.text()
    );
}

#[test]
fn wkg_publish_and_get_through_the_well_known_namespace_mapping() {
    let server = wasm_server(&format!(
        "[[well_known]]\npath = \"wasm-pkg/registry.json\"\ncontent_type = \"application/json\"\nbody = '{REGISTRY_JSON}'\n"
    ));
    let reg = server.registry();
    let host = server.host_port();

    // The document wkg asks for first, with this registry's address filled in.
    let meta = reg
        .get("/.well-known/wasm-pkg/registry.json", &[])
        .expect_status(200, "GET /.well-known/wasm-pkg/registry.json")
        .json();
    assert_eq!(meta["preferredProtocol"], "oci", "{meta}");
    assert_eq!(meta["oci"]["registry"], host, "{meta}");
    assert_eq!(meta["oci"]["namespacePrefix"], "wasm/", "{meta}");

    // wkg maps the namespace `arca` to this registry; the registry's metadata maps the
    // package to an OCI repository; plain HTTP because it is on loopback.
    let wkg = Wkg::new();
    wkg.configure(&format!(
        "[namespace_registries]\narca = \"{host}\"\n\n[registry.\"{host}\".oci]\nprotocol = \"http\"\n"
    ));
    // `wkg publish` takes the package and version from the binary: a WIT package
    // (`package arca:hello@0.1.0;`), built by wkg from the greet fixture's WIT.
    let wit_dir = wkg.path("wit");
    std::fs::create_dir_all(&wit_dir).expect("wit dir");
    std::fs::copy(
        workspace_root().join("tests/wasm-fixtures/greet/wit/greet.wit"),
        wit_dir.join("greet.wit"),
    )
    .expect("copy greet.wit");
    let package = wkg.path("hello-wit.wasm");
    let package_s = package.to_str().expect("utf-8 path");
    wkg.run(&[
        "build",
        "-d",
        wit_dir.to_str().expect("utf-8 path"),
        "-o",
        package_s,
    ]);
    let published = wkg.run(&["publish", package_s]);
    assert!(
        published.contains("Published arca:hello@0.1.0"),
        "{published}"
    );

    let m = reg
        .get_manifest("wasm/arca/hello", "0.1.0")
        .expect_status(200, "GET wasm/arca/hello:0.1.0 (where wkg publish put it)");
    let digest = sha256_digest(&m.body);
    let manifest = m.json();
    assert_eq!(manifest["config"]["mediaType"], CONFIG_V0, "{manifest}");
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"], "0.1.0",
        "{manifest}"
    );
    let hit = vec![("wasm/arca/hello".to_string(), digest.clone())];
    assert_eq!(search(&reg, "wasm.package:arca:hello@0.1.0"), hit);
    assert_eq!(search(&reg, "wasm.export:arca:hello/greet@0.1.0"), hit);
    let doc = wasm_document(&reg, "wasm/arca/hello", &digest);
    assert_eq!(doc["witPackage"], true, "{doc}");
    let wit = wit_view(&reg, "wasm/arca/hello", &digest);
    assert!(wit.contains("package arca:hello@0.1.0;"), "{wit}");
    assert!(wit.contains("interface greet"), "{wit}");
    assert!(wit.contains("world hello"), "{wit}");

    // wkg get finds the version by listing tags, then fetches the same bytes.
    let out = wkg.path("got.wasm");
    wkg.run(&["get", "arca:hello", "-o", out.to_str().expect("utf-8 path")]);
    assert!(
        read(&out) == read(&package),
        "wkg get gave bytes that differ from what wkg publish sent"
    );
    let out = wkg.path("got-0.1.0.wasm");
    wkg.run(&[
        "get",
        "arca:hello@0.1.0",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(read(&out) == read(&package), "wkg get @0.1.0 differs");

    // A component pushed with `wkg oci push` where the mapping puts package arca:greet is
    // a package too: `wkg get` finds and fetches it.
    let f = fixtures();
    wkg.run(&[
        "oci",
        "push",
        "--insecure",
        host,
        &format!("{host}/wasm/arca/greet:0.2.0"),
        f.greet.to_str().expect("utf-8 path"),
    ]);
    let out = wkg.path("greet.wasm");
    wkg.run(&["get", "arca:greet", "-o", out.to_str().expect("utf-8 path")]);
    assert!(read(&out) == read(&f.greet), "wkg get arca:greet differs");

    // A second publish of the same version is refused by wkg itself (it lists the tags).
    let again = wkg.try_run(&["publish", package_s]);
    assert!(!again.status.success(), "a duplicate publish succeeded");
}

/// The self-hosting loop of docs/plugins.md with real clients: the example plugin is pushed
/// with `wkg oci push`, installed with `arca plugin install` (the CLI), refuses the next
/// push made by wkg, and is removed with `arca plugin remove`.
#[test]
fn a_plugin_pushed_with_wkg_is_installed_with_the_cli_and_checks_the_next_push() {
    let f = fixtures();
    // Built by host/build.rs beside the built-in plugins, like any `cargo build` of a plugin.
    let plugin = target_dir().join("wasm-plugins/wasm32-wasip2/release/required_annotations.wasm");
    assert!(
        plugin.is_file(),
        "{} is missing: `cargo build -p arca` builds it",
        plugin.display()
    );
    let server =
        wasm_server("[plugin.required-annotations.settings]\nrequired = [\"org.example.owner\"]\n");
    let host = server.host_port();
    let wkg = Wkg::new();
    wkg.run(&[
        "oci",
        "push",
        "--insecure",
        host,
        &format!("{host}/plugins/required-annotations:0.1.0"),
        plugin.to_str().expect("utf-8 path"),
    ]);

    let arca = |args: &[&str]| {
        let mut cmd = Command::new(arca_e2e::arca_bin());
        cmd.args(args).args(["--url", &server.url()]);
        run_output(&mut cmd, Duration::from_secs(120))
    };
    let out = arca(&["plugin", "install", "plugins/required-annotations:0.1.0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "arca plugin install failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = server
        .registry()
        .get_manifest("plugins/required-annotations", "0.1.0")
        .expect_status(200, "GET the plugin artifact");
    let pinned = format!(
        "oci:plugins/required-annotations@{}",
        sha256_digest(&m.body)
    );
    assert!(stdout.contains(&pinned), "{stdout}");
    let list = arca(&["plugin", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(&pinned),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );

    // Active at once: the next push (by wkg, without the annotation) is refused.
    let hello = f.hello_http.to_str().expect("utf-8 path");
    let refused = wkg.try_run(&[
        "oci",
        "push",
        "--insecure",
        host,
        &format!("{host}/wasm/checked:0.1.0"),
        hello,
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!refused.status.success(), "the push was accepted: {text}");
    assert!(
        text.contains("org.example.owner")
            || text.contains("MANIFEST_INVALID")
            || text.contains("400"),
        "wkg did not report the refusal: {text}"
    );

    // Removed: the same push goes through.
    let out = arca(&["plugin", "remove", "required-annotations"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wkg.run(&[
        "oci",
        "push",
        "--insecure",
        host,
        &format!("{host}/wasm/checked:0.1.0"),
        hello,
    ]);
}
