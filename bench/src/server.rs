//! Starting and stopping the registries under test, and reading their CPU time and memory
//! from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::http::Http;

/// Which registry a target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Arca,
    Distribution,
    Url,
}

/// How to start (or reach) one target.
#[derive(Clone, Debug)]
pub(crate) struct TargetSpec {
    pub(crate) kind: Kind,
    pub(crate) label: String,
    pub(crate) arca_bin: PathBuf,
    pub(crate) arca_config: Option<PathBuf>,
    /// The configuration for the `sbom` workload (with the SBOM plugin), if not built in.
    pub(crate) sbom_config: Option<PathBuf>,
    pub(crate) arca_env: Vec<(String, String)>,
    pub(crate) distribution_bin: PathBuf,
    pub(crate) url: Option<String>,
    pub(crate) url_pid: Option<u32>,
    /// Record a `perf` CPU profile of each measured phase into this directory.
    pub(crate) perf_dir: Option<PathBuf>,
    /// Parent of the per-run temporary directories.
    pub(crate) work_dir: PathBuf,
    /// Shared, persistent across runs: arca's compiled-plugin cache (so that start-up does
    /// not recompile the built-in plugins on every fresh data directory).
    pub(crate) plugin_cache: PathBuf,
}

/// A running registry (or a reference to an external one).
pub(crate) struct Server {
    pub(crate) http: Http,
    pub(crate) pid: Option<u32>,
    pub(crate) startup: Duration,
    pub(crate) label: String,
    pub(crate) perf_dir: Option<PathBuf>,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn distribution_config(dir: &Path, port: u16) -> String {
    format!(
        "version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {}
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: arca-bench-not-secret
",
        dir.join("data").display()
    )
}

impl Server {
    /// Start (or reach) the target; `sbom`: with the SBOM plugin configuration, if any.
    pub(crate) async fn start(spec: &TargetSpec, sbom: bool) -> Result<Server> {
        let t0 = Instant::now();
        match spec.kind {
            Kind::Url => {
                let url = spec.url.clone().context("--url is required")?;
                let http = Http::new(&url);
                wait_ready(&http, Duration::from_secs(10)).await?;
                Ok(Server {
                    http,
                    pid: spec.url_pid,
                    label: spec.label.clone(),
                    perf_dir: spec.perf_dir.clone(),
                    startup: Duration::ZERO,
                    child: None,
                    dir: None,
                })
            }
            Kind::Arca => {
                let dir = tempfile::Builder::new()
                    .prefix("arca-bench-arca-")
                    .tempdir_in(&spec.work_dir)?;
                let log = std::fs::File::create(dir.path().join("server.log"))?;
                let mut cmd = Command::new(&spec.arca_bin);
                cmd.arg("serve");
                let config = match (&spec.sbom_config, sbom) {
                    (Some(c), true) => Some(c),
                    _ => spec.arca_config.as_ref(),
                };
                if let Some(cfg) = config {
                    cmd.arg("--config").arg(cfg);
                }
                cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
                    .arg(dir.path().join("data"))
                    .env_remove("RUST_LOG")
                    .env("ARCA_LOG__FILTER", "error")
                    .env("ARCA_PLUGINS__CACHE_DIR", &spec.plugin_cache)
                    .envs(spec.arca_env.iter().map(|(k, v)| (k, v)))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(log)
                    .kill_on_drop(true);
                let mut child = cmd
                    .spawn()
                    .with_context(|| format!("starting {}", spec.arca_bin.display()))?;
                let stdout = child.stdout.take().context("arca stdout")?;
                let mut lines = BufReader::new(stdout).lines();
                let addr = tokio::time::timeout(Duration::from_secs(600), async {
                    while let Some(line) = lines.next_line().await? {
                        if let Some(a) = line.strip_prefix("arca listening on ") {
                            return Ok::<_, anyhow::Error>(a.trim().to_string());
                        }
                    }
                    bail!("arca exited before listening")
                })
                .await
                .context("arca did not start within 600 s")?
                .with_context(|| log_tail(dir.path()))?;
                // Keep draining stdout so the server never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                let http = Http::new(&addr);
                wait_ready(&http, Duration::from_secs(30)).await?;
                Ok(Server {
                    http,
                    pid: child.id(),
                    label: spec.label.clone(),
                    perf_dir: spec.perf_dir.clone(),
                    startup: t0.elapsed(),
                    child: Some(child),
                    dir: Some(dir),
                })
            }
            Kind::Distribution => {
                let dir = tempfile::Builder::new()
                    .prefix("arca-bench-distribution-")
                    .tempdir_in(&spec.work_dir)?;
                let port = free_port()?;
                let cfg = dir.path().join("config.yml");
                std::fs::write(&cfg, distribution_config(dir.path(), port))?;
                let log = std::fs::File::create(dir.path().join("server.log"))?;
                let child = Command::new(&spec.distribution_bin)
                    .arg("serve")
                    .arg(&cfg)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log)
                    .kill_on_drop(true)
                    .spawn()
                    .with_context(|| format!("starting {}", spec.distribution_bin.display()))?;
                let http = Http::new(&format!("http://127.0.0.1:{port}"));
                wait_ready(&http, Duration::from_secs(30))
                    .await
                    .with_context(|| log_tail(dir.path()))?;
                Ok(Server {
                    http,
                    pid: child.id(),
                    label: spec.label.clone(),
                    perf_dir: spec.perf_dir.clone(),
                    startup: t0.elapsed(),
                    child: Some(child),
                    dir: Some(dir),
                })
            }
        }
    }

    /// Stop the process (SIGKILL: its storage is thrown away anyway) and remove its data.
    pub(crate) async fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }

    /// The server's data directory, if we started it.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let tail: String = log
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    format!("server log:\n{tail}")
}

async fn wait_ready(http: &Http, within: Duration) -> Result<()> {
    let t0 = Instant::now();
    loop {
        match http.get("/v2/").await {
            Ok(a) if a.status.as_u16() == 200 => return Ok(()),
            r => {
                if t0.elapsed() > within {
                    bail!(
                        "{} not ready after {within:?}: {}",
                        http.base,
                        match r {
                            Ok(a) => format!("status {}", a.status),
                            Err(e) => format!("{e:#}"),
                        }
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn clock_ticks() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process (all its threads), in seconds.
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// A `Vm*:` line of `/proc/<pid>/status`, in KiB.
pub(crate) fn status_kib(pid: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Reset the peak resident set size (`VmHWM`) to the current RSS (Linux ≥ 4.0).
pub(crate) fn reset_peak_rss(pid: &str) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}
