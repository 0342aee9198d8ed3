//! Harness for arca's end-to-end tests.
//!
//! Every test starts the real `arca` binary on an ephemeral port with its own data
//! directory ([`Server`]) and drives it with real third-party clients (skopeo, umoci,
//! containerd's `ctr`, oras-py, the `oci-client` crate) or with plain HTTP ([`Registry`]).
//! External tools are required, never optional: a missing one fails the test with a
//! message that says how to install it ([`require_tool`]).

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsStr;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub use reqwest;
pub use serde_json;
pub use tempfile;

/// How long a freshly started server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The root of the cargo workspace (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("tests crate lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory, honouring `CARGO_TARGET_DIR` (relative to the workspace root).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The `arca` binary under test: `ARCA_BIN`, else `<target>/debug/arca`, built with
/// `cargo build -p arca` (once per test process) when it does not exist yet.
pub fn arca_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("ARCA_BIN").filter(|b| !b.is_empty()) {
            let bin = PathBuf::from(bin);
            assert!(bin.is_file(), "ARCA_BIN={} does not exist", bin.display());
            return bin;
        }
        let bin = target_dir().join("debug").join("arca");
        if !bin.is_file() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "arca", "--bin", "arca"])
                .current_dir(workspace_root())
                .stdin(Stdio::null())
                .status()
                .expect("run `cargo build -p arca`");
            assert!(status.success(), "`cargo build -p arca` failed: {status}");
            assert!(
                bin.is_file(),
                "`cargo build -p arca` succeeded but {} is missing",
                bin.display()
            );
        }
        bin
    })
    .clone()
}

/// A running `arca serve` on `127.0.0.1:<ephemeral port>` with its own data directory.
///
/// Dropping it kills the process (SIGKILL) and removes the data directory. When the
/// test is panicking, the tail of the server's log is printed to help diagnose it.
pub struct Server {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    log_dir: tempfile::TempDir,
    extra_args: Vec<String>,
    host_port: String,
    starts: u32,
}

impl Server {
    /// Starts a server with a fresh, empty data directory.
    pub fn start() -> Server {
        Server::start_with_args(&[])
    }

    /// Starts a server with extra command-line arguments after `serve`.
    pub fn start_with_args(extra_args: &[&str]) -> Server {
        let data_dir = tempfile::Builder::new()
            .prefix("arca-data-")
            .tempdir()
            .expect("create data dir");
        let log_dir = tempfile::Builder::new()
            .prefix("arca-log-")
            .tempdir()
            .expect("create log dir");
        let mut server = Server {
            child: None,
            data_dir,
            log_dir,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            host_port: String::new(),
            starts: 0,
        };
        server.spawn();
        server
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.log_dir.path().join(format!("arca-{start}.log"))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = fs::File::create(&log_path).expect("create server log");
        let mut child = Command::new(arca_bin())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(&self.extra_args)
            .env("NO_COLOR", "1")
            // Compiled plugins are shared by every server the tests start (the cache is
            // keyed by component digest and engine, written atomically).
            .env(
                "ARCA_PLUGINS__CACHE_DIR",
                target_dir().join("e2e-plugin-cache"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", arca_bin().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        // Keep draining stdout for the life of the process so the server never blocks on it.
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(sender) = tx.take()
                    && sender.send(line.clone()).is_err()
                {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let line = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!(
                            "arca exited ({status}) before it was ready; log:\n{}",
                            tail(&log_path, 80)
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "arca printed no ready line within {START_TIMEOUT:?}; log:\n{}",
                            tail(&log_path, 80)
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    panic!(
                        "arca closed stdout before printing its ready line (exit: {status:?}); log:\n{}",
                        tail(&log_path, 80)
                    );
                }
            }
        };
        let Some(url) = line.strip_prefix("arca listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected first stdout line from arca: {line:?}");
        };
        let host_port = url.trim().trim_end_matches('/').to_string();
        assert!(
            host_port.starts_with("127.0.0.1:") && !host_port.ends_with(":0"),
            "arca announced a strange address: {line:?}"
        );
        self.host_port = host_port;
        self.child = Some(child);
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.host_port)
    }

    /// `127.0.0.1:PORT`, as registry clients want it in references.
    pub fn host_port(&self) -> &str {
        &self.host_port
    }

    /// The data directory (kept across [`Server::restart`]).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// A plain HTTP client for this server.
    pub fn registry(&self) -> Registry {
        Registry::new(&self.url())
    }

    /// Kills the server with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL arca");
            child.wait().expect("reap arca");
        }
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server if it is running (SIGKILL) and starts it again on the same
    /// data directory. The port may change: use [`Server::url`] afterwards.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The last `lines` lines of the current server log (its stderr).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(self.starts), lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if thread::panicking() {
            eprintln!(
                "---- arca log (last 60 lines, start #{}) ----\n{}",
                self.starts,
                self.log_tail(60)
            );
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Finds `tool` on `PATH`, or panics saying how to install it. Tests never skip.
pub fn require_tool(tool: &str) -> PathBuf {
    find_on_path(tool).unwrap_or_else(|| {
        panic!(
            "required tool `{tool}` is not on PATH: run `tests/run` (it installs skopeo, umoci, \
             containerd and the oras-py venv) or install `{tool}` yourself"
        )
    })
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Where `tests/run` keeps installed tools: `ARCA_TOOLS_DIR`, else `~/.cache/arca-tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ARCA_TOOLS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("arca-tools")
}

/// The Python interpreter of the tools venv (oras-py, helm-python-sdk, cyclonedx-bom,
/// spdx-tools, PyYAML, as `tests/run` pins them): `ARCA_PYTHON`, else
/// `<tools dir>/venv/bin/python`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("ARCA_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("venv").join("bin").join("python"));
    assert!(
        python.is_file(),
        "required tool `python with oras==0.2.43` is missing ({}): run `tests/run` to install it \
         (or set ARCA_PYTHON to a python that has `oras==0.2.43`)",
        python.display()
    );
    python
}

/// [`python`], after checking that it imports every module of `modules` (e.g.
/// `helm_python`): a missing package fails the test with a pointer to `tests/run`.
pub fn python_with(modules: &[&str]) -> PathBuf {
    let python = python();
    let code = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = run_output(
        Command::new(&python).args(["-c", &code]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "required Python packages are missing from {}: `{code}` failed: run `tests/run` to \
         install them into the venv (or set ARCA_PYTHON to a python that has them)\n{}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    python
}

/// Runs `python tests/py/<script> <scenario> <host:port> <extra args…>` and returns the JSON
/// of the `RESULT {json}` line it prints, failing with its output when it fails.
pub fn py_scenario(
    python: &Path,
    script: &str,
    scenario: &str,
    server: &Server,
    extra: &[&Path],
    timeout: Duration,
) -> serde_json::Value {
    let mut cmd = Command::new(python);
    cmd.arg(py_dir().join(script))
        .arg(scenario)
        .arg(server.host_port())
        .args(extra)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_output(&mut cmd, timeout);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} scenario `{scenario}` failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line from `{scenario}`:\n{stdout}\n{stderr}"));
    serde_json::from_str(line).expect("RESULT is JSON")
}

/// `s` percent-encoded for a URL query (`application/x-www-form-urlencoded`).
pub fn percent_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The directory holding the Python client scripts (`tests/py`).
pub fn py_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py")
}

/// Runs a command to completion with a timeout, capturing stdout and stderr. Never panics
/// on a non-zero exit (see [`run`]); panics if it cannot start or times out.
pub fn run_output(cmd: &mut Command, timeout: Duration) -> Output {
    let dir = tempfile::tempdir().expect("tempdir for command output");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let described = describe(cmd);
    let mut child = cmd
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("stdout file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{described}`: {e}"));
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("wait for command") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{described}` timed out after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()),
                String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()),
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: fs::read(&out_path).unwrap_or_default(),
        stderr: fs::read(&err_path).unwrap_or_default(),
    }
}

/// Runs a command (5 minute timeout), panics with its output unless it succeeds, and
/// returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let described = describe(cmd);
    let out = run_output(cmd, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "`{described}` failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A printable form of a command line.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A seed that differs between calls and between processes.
pub fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = DefaultHasher::new();
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        .hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    thread::current().id().hash(&mut hasher);
    hasher.finish() | 1
}

/// Deterministic pseudo-random bytes (xorshift64*), good enough for incompressible test data.
pub fn random_bytes_seeded(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Fresh pseudo-random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    random_bytes_seeded(len, fresh_seed())
}

/// A short random lowercase name suffix, for repositories and tags.
pub fn random_name(prefix: &str) -> String {
    format!("{prefix}{:012x}", fresh_seed() & 0xffff_ffff_ffff)
}

/// OCI media types used by the tests.
pub mod media {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI empty descriptor (`{}`).
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// Docker v2 schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Every manifest type, as one `Accept` value.
    pub const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, \
        application/vnd.oci.image.index.v1+json, \
        application/vnd.docker.distribution.manifest.v2+json, \
        application/vnd.docker.distribution.manifest.list.v2+json";
}

/// A plain-HTTP client for the registry API, for set-up and for checking what clients did.
#[derive(Clone)]
pub struct Registry {
    base: String,
    client: reqwest::blocking::Client,
}

/// A response reduced to what the tests look at.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (lowercase names).
    pub headers: reqwest::header::HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header as a string, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Panics (showing the exchange) unless the status is `expected`.
    pub fn expect_status(self, expected: u16, what: &str) -> Reply {
        assert_eq!(
            self.status,
            expected,
            "{what}: expected HTTP {expected}, got {}; headers {:?}; body {}",
            self.status,
            self.headers,
            self.text()
        );
        self
    }
}

/// Installs rustls' ring provider as the process default (idempotent). reqwest (through
/// `oci-client`) is built with rustls but without a provider of its own; every client
/// constructor in these tests calls this first. All traffic here is plain HTTP anyway.
pub fn install_crypto_provider() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The client shared by every [`Registry`]: connection pooling, no proxy, bounded timeouts.
pub fn http_client() -> reqwest::blocking::Client {
    install_crypto_provider();
    reqwest::blocking::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build HTTP client")
}

impl Registry {
    /// A client for the registry at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Registry {
        static CLIENT: Mutex<Option<reqwest::blocking::Client>> = Mutex::new(None);
        let client = CLIENT
            .lock()
            .unwrap()
            .get_or_insert_with(http_client)
            .clone();
        Registry {
            base: base.trim_end_matches('/').to_string(),
            client,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The underlying client.
    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// Turns a path (`/v2/...`), an absolute URL or a relative `Location` into a URL.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else if path_or_url.starts_with('/') {
            format!("{}{}", self.base, path_or_url)
        } else {
            format!("{}/{}", self.base, path_or_url)
        }
    }

    /// Sends a request and collects the reply; `Err` only on transport errors.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self.client.request(method, self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes()?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Like [`Registry::try_send`] but panics on transport errors.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `GET` with headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, None)
    }

    /// `HEAD` with headers.
    pub fn head(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("HEAD", path, headers, None)
    }

    /// Pushes a blob with a single `POST ...?digest=` (monolithic), asserting 201.
    pub fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256_digest(data);
        let path = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
        let len = data.len().to_string();
        let reply = self.send(
            "POST",
            &path,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", &len),
            ],
            Some(data.to_vec()),
        );
        if reply.status == 202 {
            // A registry may decline the single-POST form and open a session instead.
            let location = reply.header("location").expect("202 without Location");
            self.put_session(&location, &digest, data.to_vec())
                .expect_status(201, "PUT blob after declined monolithic POST");
        } else {
            reply.expect_status(201, &format!("monolithic blob push to {repo}"));
        }
        digest
    }

    /// `PUT <location>?digest=` with a body, appending the query correctly.
    pub fn put_session(&self, location: &str, digest: &str, data: Vec<u8>) -> Reply {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let len = data.len().to_string();
        self.send(
            "PUT",
            &url,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", &len),
            ],
            Some(data),
        )
    }

    /// Pushes a blob as `POST` + `PATCH`es (with `Content-Range`) + `PUT`, asserting each step.
    pub fn push_blob_chunked(&self, repo: &str, data: &[u8], chunk: usize) -> String {
        let digest = sha256_digest(data);
        let reply = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/"),
                &[("Content-Length", "0")],
                None,
            )
            .expect_status(202, "open upload session");
        let mut location = reply.header("location").expect("202 without Location");
        let mut offset = 0;
        for piece in data.chunks(chunk.max(1)) {
            let range = format!("{}-{}", offset, offset + piece.len() - 1);
            let len = piece.len().to_string();
            let reply = self
                .send(
                    "PATCH",
                    &location,
                    &[
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Range", &range),
                        ("Content-Length", &len),
                    ],
                    Some(piece.to_vec()),
                )
                .expect_status(202, &format!("PATCH chunk {range}"));
            location = reply
                .header("location")
                .expect("PATCH 202 without Location");
            offset += piece.len();
        }
        self.put_session(&location, &digest, Vec::new())
            .expect_status(201, "PUT to close chunked upload");
        digest
    }

    /// Pushes a manifest under `reference` (tag or digest), asserting 201; returns its digest.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let reply = self
            .send(
                "PUT",
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("Content-Type", media_type)],
                Some(bytes.to_vec()),
            )
            .expect_status(201, &format!("PUT manifest {repo}:{reference}"));
        let digest = sha256_digest(bytes);
        if let Some(returned) = reply.header("docker-content-digest") {
            assert_eq!(returned, digest, "Docker-Content-Digest of pushed manifest");
        }
        digest
    }

    /// Asserts that `GET` and `HEAD` of a blob give exactly `data`.
    pub fn assert_blob(&self, repo: &str, data: &[u8]) {
        let digest = sha256_digest(data);
        let path = format!("/v2/{repo}/blobs/{digest}");
        let got = self
            .get(&path, &[])
            .expect_status(200, &format!("GET {path}"));
        assert!(
            got.body == data,
            "GET {path}: {} bytes differ from the {} pushed",
            got.body.len(),
            data.len()
        );
        let head = self
            .head(&path, &[])
            .expect_status(200, &format!("HEAD {path}"));
        assert_eq!(
            head.header("content-length").as_deref(),
            Some(data.len().to_string().as_str()),
            "HEAD {path} Content-Length"
        );
    }

    /// Fetches a manifest (any type) and returns the reply.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Reply {
        self.get(
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Accept", media::ACCEPT_ALL)],
        )
    }

    /// Asserts that a manifest is served byte-identical, by digest and by `reference`.
    pub fn assert_manifest(&self, repo: &str, reference: &str, bytes: &[u8]) {
        let digest = sha256_digest(bytes);
        for r in [reference, digest.as_str()] {
            let got = self
                .get_manifest(repo, r)
                .expect_status(200, &format!("GET manifest {repo}:{r}"));
            assert!(
                got.body == bytes,
                "manifest {repo}:{r} differs from what was pushed:\n got: {}\nwant: {}",
                got.text(),
                String::from_utf8_lossy(bytes)
            );
            assert_eq!(
                got.header("docker-content-digest").as_deref(),
                Some(digest.as_str()),
                "Docker-Content-Digest of {repo}:{r}"
            );
        }
    }
}

/// The bytes of every file under `dir`, keyed by relative path (sorted).
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.is_file() {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                let bytes = fs::read(&path).expect("read file");
                out.push((rel, bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// OCI image layouts built locally with umoci (input for skopeo `oci:` copies).
pub mod layout {
    use std::fs;
    use std::path::PathBuf;
    use std::process::Command;

    use serde_json::{Value, json};

    use crate::{require_tool, run, sha256_digest};

    /// Runs `umoci` with `args`, panicking on failure; returns stdout.
    pub fn umoci(args: &[&str]) -> String {
        run(Command::new(require_tool("umoci")).args(args))
    }

    /// The files of one layer: (path inside the rootfs, contents).
    pub type LayerFiles = Vec<(String, Vec<u8>)>;

    fn is_root() -> bool {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
            })
            .unwrap_or(false)
    }

    /// An OCI image layout on disk, filled by umoci.
    pub struct Layout {
        _tmp: crate::tempfile::TempDir,
        /// The layout directory (`oci-layout`, `index.json`, `blobs/`).
        pub dir: PathBuf,
        bundles: PathBuf,
    }

    impl Layout {
        /// An empty layout in a fresh temporary directory.
        pub fn new() -> Layout {
            let tmp = crate::tempfile::Builder::new()
                .prefix("arca-skopeo-")
                .tempdir()
                .expect("tempdir");
            let dir = tmp.path().join("layout");
            let bundles = tmp.path().join("bundles");
            fs::create_dir_all(&bundles).expect("bundles dir");
            umoci(&["init", "--layout", dir.to_str().expect("utf-8 path")]);
            Layout {
                _tmp: tmp,
                dir,
                bundles,
            }
        }

        /// `<layout>:<tag>` for umoci.
        pub fn image(&self, tag: &str) -> String {
            format!("{}:{tag}", self.dir.display())
        }

        /// `oci:<layout>:<tag>` for skopeo.
        pub fn oci_ref(&self, tag: &str) -> String {
            format!("oci:{}", self.image(tag))
        }

        /// Adds one layer per entry of `layers` (each a list of (path, bytes) files) on top
        /// of the image `tag` (which must exist), then sets a config for `arch`.
        pub fn add_layers(&self, tag: &str, layers: &[LayerFiles], arch: &str) {
            let bundle = self.bundles.join(crate::random_name("b"));
            let bundle_s = bundle.to_str().expect("utf-8 path");
            let image = self.image(tag);
            if is_root() {
                umoci(&["unpack", "--image", &image, bundle_s]);
            } else {
                umoci(&["unpack", "--rootless", "--image", &image, bundle_s]);
            }
            for files in layers {
                for (path, data) in files {
                    let file = bundle.join("rootfs").join(path);
                    fs::create_dir_all(file.parent().expect("parent")).expect("mkdir in rootfs");
                    fs::write(&file, data).expect("write rootfs file");
                }
                umoci(&["repack", "--refresh-bundle", "--image", &image, bundle_s]);
            }
            umoci(&[
                "config",
                "--image",
                &image,
                "--os",
                "linux",
                "--architecture",
                arch,
                "--config.cmd",
                "/bin/true",
            ]);
        }

        /// A new image `tag` with one layer per entry of `layers`.
        pub fn build(&self, tag: &str, layers: &[LayerFiles], arch: &str) {
            umoci(&["new", "--image", &self.image(tag)]);
            self.add_layers(tag, layers, arch);
        }

        /// The layout's `index.json`.
        pub fn index(&self) -> Value {
            serde_json::from_slice(&fs::read(self.dir.join("index.json")).expect("index.json"))
                .expect("index.json is JSON")
        }

        /// The descriptor that `index.json` has for `tag`.
        pub fn descriptor(&self, tag: &str) -> Value {
            self.index()["manifests"]
                .as_array()
                .expect("manifests")
                .iter()
                .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
                .cloned()
                .unwrap_or_else(|| panic!("no {tag} in layout"))
        }

        /// The bytes of a blob in the layout.
        pub fn blob(&self, digest: &str) -> Vec<u8> {
            let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
            fs::read(self.dir.join("blobs/sha256").join(hex)).expect("layout blob")
        }

        /// (digest, bytes) of the manifest tagged `tag`.
        pub fn manifest(&self, tag: &str) -> (String, Vec<u8>) {
            let desc = self.descriptor(tag);
            let digest = desc["digest"].as_str().expect("digest").to_string();
            let bytes = self.blob(&digest);
            assert_eq!(sha256_digest(&bytes), digest);
            (digest, bytes)
        }

        /// Writes `bytes` as a blob and tags it in `index.json`.
        pub fn add_index_entry(&self, tag: &str, media_type: &str, bytes: &[u8]) -> String {
            let digest = sha256_digest(bytes);
            let hex = digest.strip_prefix("sha256:").expect("sha256");
            fs::write(self.dir.join("blobs/sha256").join(hex), bytes).expect("write blob");
            let mut index = self.index();
            index["manifests"]
                .as_array_mut()
                .expect("manifests")
                .push(json!({
                    "mediaType": media_type,
                    "digest": digest,
                    "size": bytes.len(),
                    "annotations": {"org.opencontainers.image.ref.name": tag},
                }));
            fs::write(
                self.dir.join("index.json"),
                serde_json::to_vec(&index).expect("serialise"),
            )
            .expect("write index.json");
            digest
        }
    }

    /// The digests of every blob an image manifest references (config first).
    pub fn referenced_blobs(manifest: &[u8]) -> Vec<String> {
        let m: Value = serde_json::from_slice(manifest).expect("manifest JSON");
        std::iter::once(&m["config"])
            .chain(m["layers"].as_array().expect("layers"))
            .map(|d| d["digest"].as_str().expect("digest").to_string())
            .collect()
    }

    /// Files of random bytes named `<prefix>/file<i>.bin`, one per size.
    pub fn random_files(sizes: &[usize], prefix: &str) -> LayerFiles {
        sizes
            .iter()
            .enumerate()
            .map(|(i, size)| (format!("{prefix}/file{i}.bin"), crate::random_bytes(*size)))
            .collect()
    }

    impl Default for Layout {
        fn default() -> Layout {
            Layout::new()
        }
    }
}
