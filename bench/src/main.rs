//! `arca-bench`: drives the raw OCI distribution HTTP API against registries and compares
//! them side by side. See `docs/performance.md`.
//!
//! Each (round, workload, target) gets a freshly started server on fresh storage; runs are
//! interleaved A B A B so that the noise of a shared machine falls on both alike. Per phase
//! it records wall time, latencies, the server's CPU time (utime + stime from
//! `/proc/<pid>/stat`, sampled before and after) and its peak RSS (`VmHWM` from
//! `/proc/<pid>/status`, reset through `/proc/<pid>/clear_refs` at the start of the phase,
//! plus the lifetime peak and a 10 ms `VmRSS` sampling).

mod body;
mod http;
mod meter;
mod report;
mod sbom;
mod server;
mod workloads;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use serde_json::json;

use crate::meter::Sample;
use crate::report::Failure;
use crate::server::{Kind, Server, TargetSpec};
use crate::workloads::{Ctx, Params, Skipped, WORKLOADS};

/// A size: a number with an optional binary suffix (K, M, G; `KiB`, `MiB`, `GiB` too).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s:?} (use K, M or G)")),
    };
    Ok(n * mult)
}

#[derive(Parser, Debug)]
#[command(
    name = "arca-bench",
    about = "Side-by-side benchmark of OCI registries over the raw distribution API",
    after_help = "Workloads (--workloads): run with --list. Sizes take K/M/G suffixes (binary).\n\
                  Example: arca-bench --rounds 3 --json bench.json"
)]
struct Args {
    /// Registries to compare, in order A,B: `arca`, `distribution`, `url`
    /// [default: arca,distribution; `url` alone when --url is given]
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    /// An already-running registry (`http://host:port`): target `url`, not started by us.
    #[arg(long)]
    url: Option<String>,
    /// The pid of the --url server, to read its CPU time and RSS (same machine only).
    #[arg(long)]
    url_pid: Option<u32>,
    /// The arca binary.
    #[arg(long, default_value = "target/release/arca")]
    arca_bin: PathBuf,
    /// The CNCF Distribution binary.
    #[arg(long, default_value = "/usr/bin/docker-registry")]
    distribution_bin: PathBuf,
    /// A TOML configuration for arca (`arca serve --config`).
    #[arg(long)]
    arca_config: Option<PathBuf>,
    /// A plugin component for arca to load (repeatable; writes a config with plugins.files).
    #[arg(long)]
    arca_plugin: Vec<PathBuf>,
    /// The SBOM plugin component, loaded by arca for the `sbom` workload only (not needed
    /// once arca embeds it).
    #[arg(long)]
    sbom_plugin: Option<PathBuf>,
    /// An environment variable for arca, KEY=VALUE (repeatable), e.g. ARCA_STORAGE__FSYNC=false.
    #[arg(long)]
    arca_env: Vec<String>,
    /// Rounds: each runs every workload on every target, interleaved.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Comma-separated workload names, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    workloads: Vec<String>,
    /// List the workloads and exit.
    #[arg(long)]
    list: bool,
    /// The large blob of blob-mono-large, blob-chunked and blob-download.
    #[arg(long, default_value = "512M", value_parser = parse_size)]
    blob_size: u64,
    /// How many blobs blob-mono-small pushes.
    #[arg(long, default_value_t = 64)]
    small_blobs: usize,
    /// The size of each of them.
    #[arg(long, default_value = "4M", value_parser = parse_size)]
    small_blob_size: u64,
    /// The chunk size of blob-chunked.
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    chunk_size: u64,
    /// Manifests PUT at each concurrency level by manifest-put.
    #[arg(long, default_value_t = 1000)]
    manifests: usize,
    /// Concurrency levels of manifest-put.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    put_concurrency: Vec<usize>,
    /// GETs (and as many HEADs) of manifest-get.
    #[arg(long, default_value_t = 20000)]
    gets: usize,
    /// Concurrency of manifest-get.
    #[arg(long, default_value_t = 32)]
    get_concurrency: usize,
    /// Tags in the tags workload.
    #[arg(long, default_value_t = 10000)]
    tags: usize,
    /// Page size (`n`) of paged listings.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Repositories in the catalog workload.
    #[arg(long, default_value_t = 2000)]
    repos: usize,
    /// Repetitions of each listing (first/last page: 5 × this).
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Stop repeating a listing after this many seconds (once it ran 3 times).
    #[arg(long, default_value_t = 20.0)]
    phase_budget: f64,
    /// Concurrency of unmeasured setup (tags, repositories).
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Components in each SBOM of the sbom workload (3,300 ≈ 1 MiB).
    #[arg(long, default_value_t = 3300)]
    sbom_components: usize,
    /// SBOM PUTs (and as many plain manifest PUTs) in the sbom workload.
    #[arg(long, default_value_t = 30)]
    sbom_puts: usize,
    /// Write every sample, the medians and the targets as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the Markdown report to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Record a `perf record -e cpu-clock --call-graph dwarf` profile of every measured
    /// phase of arca (not of Distribution) into this directory.
    #[arg(long)]
    perf: Option<PathBuf>,
    /// Where the servers' temporary data directories go [default: the system temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if s.is_empty() {
                s = String::from_utf8_lossy(&o.stderr).trim().to_string();
            }
            s
        })
}

fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string());
    let flags = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .map(|v| v.trim().to_string());
    json!({
        "cpu": model,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "sha_ni": flags.split_whitespace().any(|f| f == "sha_ni"),
        "memory": mem,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        "loadavg": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("arca-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if args.list {
        for (name, what) in WORKLOADS {
            println!("{name:16} {what}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let targets: Vec<String> = match &args.targets {
        Some(t) => t.clone(),
        None if args.url.is_some() => vec!["url".into()],
        None => vec!["arca".into(), "distribution".into()],
    };
    let selected: Vec<String> = if args.workloads.iter().any(|w| w == "all") {
        WORKLOADS.iter().map(|w| w.0.to_string()).collect()
    } else {
        for w in &args.workloads {
            if !WORKLOADS.iter().any(|x| x.0 == w) {
                bail!("unknown workload {w:?} (--list shows them)");
            }
        }
        // Run in the canonical order.
        WORKLOADS
            .iter()
            .map(|w| w.0.to_string())
            .filter(|w| args.workloads.contains(w))
            .collect()
    };
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let work_dir = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_dir)?;
    let scratch = tempfile::Builder::new()
        .prefix("arca-bench-")
        .tempdir_in(&work_dir)?;
    let write_config = |name: &str, plugins: &[PathBuf]| -> Result<PathBuf> {
        let files: Vec<String> = plugins
            .iter()
            .map(|p| {
                std::path::absolute(p)
                    .map(|p| format!("{:?}", p.display().to_string()))
                    .context("plugin path")
            })
            .collect::<Result<_>>()?;
        let cfg = scratch.path().join(name);
        std::fs::write(&cfg, format!("[plugins]\nfiles = [{}]\n", files.join(", ")))?;
        Ok(cfg)
    };
    let mut arca_config = args.arca_config.clone();
    let mut sbom_config = None;
    if !args.arca_plugin.is_empty() || args.sbom_plugin.is_some() {
        if arca_config.is_some() {
            bail!(
                "--arca-plugin/--sbom-plugin and --arca-config together: list the plugins in the config"
            );
        }
        if !args.arca_plugin.is_empty() {
            arca_config = Some(write_config("arca.toml", &args.arca_plugin)?);
        }
        if let Some(p) = &args.sbom_plugin {
            let mut all = args.arca_plugin.clone();
            all.push(p.clone());
            sbom_config = Some(write_config("arca-sbom.toml", &all)?);
        }
    }
    let arca_env: Vec<(String, String)> = args
        .arca_env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--arca-env {kv:?}: expected KEY=VALUE"))
        })
        .collect::<Result<_>>()?;
    let plugin_cache = scratch.path().join("plugin-cache");
    if let Some(p) = &args.perf {
        std::fs::create_dir_all(p)?;
    }
    let mut specs = Vec::new();
    for t in &targets {
        let kind = match t.as_str() {
            "arca" => Kind::Arca,
            "distribution" => Kind::Distribution,
            "url" => Kind::Url,
            other => bail!("unknown target {other:?}: arca, distribution or url"),
        };
        if kind == Kind::Url && args.url.is_none() {
            bail!("target url needs --url");
        }
        if specs.iter().any(|s: &TargetSpec| &s.label == t) {
            bail!("target {t} given twice");
        }
        specs.push(TargetSpec {
            kind,
            label: t.clone(),
            arca_bin: args.arca_bin.clone(),
            arca_config: arca_config.clone(),
            sbom_config: sbom_config.clone(),
            arca_env: arca_env.clone(),
            distribution_bin: args.distribution_bin.clone(),
            url: args.url.clone(),
            url_pid: args.url_pid,
            work_dir: work_dir.clone(),
            plugin_cache: plugin_cache.clone(),
            perf_dir: args.perf.clone().filter(|_| kind != Kind::Distribution),
        });
    }
    let params = Params {
        blob_size: args.blob_size,
        small_blobs: args.small_blobs,
        small_blob_size: args.small_blob_size,
        chunk_size: args.chunk_size,
        manifests: args.manifests,
        put_concurrency: args.put_concurrency.clone(),
        gets: args.gets,
        get_concurrency: args.get_concurrency,
        tags: args.tags,
        page_size: args.page_size,
        repos: args.repos,
        repeats: args.repeats.max(1),
        phase_budget: std::time::Duration::from_secs_f64(args.phase_budget.max(0.0)),
        setup_concurrency: args.setup_concurrency.max(1),
        sbom_components: args.sbom_components,
        sbom_puts: args.sbom_puts.max(1),
    };
    let prefix = format!("bench{:x}", now() & 0xff_ffff);
    let cx = Ctx::new(params.clone(), prefix);
    let machine_before = machine();
    // At the start: the tree may move while a long run goes on.
    let versions = json!({
        "arca": sh(&args.arca_bin.display().to_string(), &["--version"]),
        "arca_git": sh("git", &["rev-parse", "--short", "HEAD"]),
        "arca_git_dirty": sh("git", &["status", "--porcelain"]).map(|s| !s.is_empty()),
        "distribution": sh(&args.distribution_bin.display().to_string(), &["--version"]),
    });
    let started = now();

    // arca compiles its plugins on the first start and caches them: do that once, unmeasured,
    // so that no round pays for it (every later start loads the cached code).
    for spec in specs.iter().filter(|s| s.kind == Kind::Arca) {
        let mut variants = vec![false];
        if spec.sbom_config.is_some() && selected.iter().any(|w| w == "sbom") {
            variants.push(true);
        }
        for sbom in variants {
            eprintln!(
                "warming up {}{} (plugin compilation cache) …",
                spec.label,
                if sbom { " with the SBOM plugin" } else { "" }
            );
            let s = Server::start(spec, sbom)
                .await
                .with_context(|| format!("starting {}", spec.label))?;
            eprintln!("  first start took {:.1} s", s.startup.as_secs_f64());
            s.stop().await;
        }
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    let mut skip: HashSet<(String, String)> = HashSet::new();
    let mut startups: Vec<serde_json::Value> = Vec::new();
    for round in 1..=args.rounds {
        for w in &selected {
            for spec in &specs {
                let id = (w.clone(), spec.label.clone());
                if skip.contains(&id) {
                    continue;
                }
                if w == "sbom" && spec.kind == Kind::Distribution {
                    failures.push(Failure {
                        round,
                        workload: w.clone(),
                        target: spec.label.clone(),
                        error:
                            "Distribution validates no artifact: the SBOM workload is arca's only"
                                .into(),
                        skipped: true,
                    });
                    skip.insert(id);
                    continue;
                }
                eprintln!("[round {round}/{}] {w} on {} …", args.rounds, spec.label);
                let server = match Server::start(spec, w == "sbom").await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("  could not start {}: {e:#}", spec.label);
                        failures.push(Failure {
                            round,
                            workload: w.clone(),
                            target: spec.label.clone(),
                            error: format!("start: {e:#}"),
                            skipped: false,
                        });
                        continue;
                    }
                };
                startups.push(json!({"round": round, "workload": w, "target": spec.label,
                    "startup_s": server.startup.as_secs_f64()}));
                let result = workloads::run(w, &cx, &server).await;
                let kept = match (&result, server.dir()) {
                    (Err(e), Some(d)) if e.downcast_ref::<Skipped>().is_none() => {
                        let log = std::fs::read_to_string(d.join("server.log")).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(10).collect();
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    }
                    _ => String::new(),
                };
                server.stop().await;
                match result {
                    Ok(mut v) => {
                        for s in &mut v {
                            s.target = spec.label.clone();
                            s.round = round;
                            eprintln!(
                                "  {:<10} {:<60.60} {:>10}  CPU {:>6} s  RSS {:>6} MiB",
                                s.key,
                                s.measurement,
                                match s.kind {
                                    meter::Kind::Latency => format!("{:.2} ms", s.primary()),
                                    _ => format!("{:.3} s", s.primary()),
                                },
                                s.server_cpu_s.map_or("–".into(), |c| format!("{c:.2}")),
                                s.peak_rss_kib
                                    .map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
                            );
                        }
                        samples.extend(v);
                    }
                    Err(e) => {
                        let skipped = e.downcast_ref::<Skipped>().is_some();
                        eprintln!("  {}: {e:#}", if skipped { "skipped" } else { "FAILED" });
                        if !kept.is_empty() {
                            eprintln!("  server log tail:\n{kept}");
                        }
                        if skipped {
                            skip.insert(id);
                        }
                        failures.push(Failure {
                            round,
                            workload: w.clone(),
                            target: spec.label.clone(),
                            error: format!("{e:#}"),
                            skipped,
                        });
                    }
                }
            }
        }
    }

    let arca_label = specs
        .iter()
        .find(|s| s.kind == Kind::Arca)
        .or(specs.first())
        .map(|s| s.label.clone())
        .unwrap_or_default();
    let dist_label = specs
        .iter()
        .find(|s| s.kind == Kind::Distribution)
        .map(|s| s.label.clone());
    let checks = report::checks(&samples, &arca_label, dist_label.as_deref(), params.repos);
    let (summary_md, summary_js) = report::summary(&samples, &targets);
    let mut md = String::new();
    md.push_str(&format!(
        "A = {}, B = {}. B/A = B's time (or latency) ÷ A's, per round; > 1 means A is faster. \
         Every figure is a median over {} round(s).\n\n",
        targets.first().map_or("–", String::as_str),
        targets.get(1).map_or("–", String::as_str),
        args.rounds
    ));
    md.push_str("### Summary\n\n");
    md.push_str(&summary_md);
    md.push_str("\n### Targets\n\n");
    md.push_str(&report::checks_md(&checks));
    md.push_str("\n### Per round\n\n");
    md.push_str(&report::tables(&samples, &targets));
    if !failures.is_empty() {
        md.push_str("### Not run\n\n");
        for f in &failures {
            md.push_str(&format!(
                "- round {} `{}` on {}: {}{}\n",
                f.round,
                f.workload,
                f.target,
                if f.skipped {
                    "skipped — "
                } else {
                    "FAILED — "
                },
                f.error
            ));
        }
    }
    println!("{md}");
    if let Some(p) = &args.markdown {
        std::fs::write(p, &md).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        let doc = json!({
            "tool": "arca-bench",
            "started_unix": started,
            "finished_unix": now(),
            "command": std::env::args().collect::<Vec<_>>(),
            "machine": machine_before,
            "loadavg_end": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
            "versions": versions,
            "targets": targets,
            "rounds": args.rounds,
            "params": format!("{params:?}"),
            "units": {"throughput": "MB/s = 10^6 bytes/s, or req/s", "cpu_per_gb": "server CPU-s per 10^9 bytes",
                      "rss": "KiB; peak_rss = VmHWM over the phase (reset via clear_refs at its start); lifetime = VmHWM since the server started"},
            "summary": summary_js,
            "checks": report::checks_json(&checks),
            "samples": samples.iter().map(Sample::to_json).collect::<Vec<_>>(),
            "failures": report::failures_json(&failures),
            "startups": startups,
        });
        std::fs::write(p, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("writing {}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    let failed = failures.iter().any(|f| !f.skipped);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
