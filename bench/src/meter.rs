//! One measured phase: wall time, the server's CPU time and peak RSS, the client's CPU time,
//! and request latencies.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Server, cpu_seconds, reset_peak_rss, status_kib};

/// What the primary figure of a measurement is (always "lower is better").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Moving `bytes`: primary = seconds; throughput MB/s; CPU-s per GB.
    Bytes,
    /// `requests` requests: primary = seconds; throughput req/s.
    Requests,
    /// Repeated single requests: primary = median latency in ms.
    Latency,
}

/// One measurement of one target in one round.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) workload: String,
    /// Short, stable name of the measurement within its workload (`put-c32`, `last`, …).
    pub(crate) key: String,
    pub(crate) measurement: String,
    pub(crate) kind: Kind,
    pub(crate) target: String,
    pub(crate) round: usize,
    pub(crate) elapsed_s: f64,
    pub(crate) bytes: u64,
    pub(crate) requests: u64,
    pub(crate) server_cpu_s: Option<f64>,
    pub(crate) client_cpu_s: Option<f64>,
    /// `VmHWM` over this phase only (reset through `clear_refs` at its start).
    pub(crate) peak_rss_kib: Option<u64>,
    /// Highest `VmRSS` seen by sampling every 10 ms during the phase.
    pub(crate) sampled_rss_kib: Option<u64>,
    /// `VmHWM` over the server's life up to the end of the phase (start-up and setup too).
    pub(crate) lifetime_rss_kib: Option<u64>,
    pub(crate) latencies_ms: Vec<f64>,
    pub(crate) notes: Vec<String>,
}

impl Sample {
    /// The figure compared between targets (lower is better).
    pub(crate) fn primary(&self) -> f64 {
        match self.kind {
            Kind::Latency => percentile(&self.latencies_ms, 50.0).unwrap_or(f64::NAN),
            _ => self.elapsed_s,
        }
    }

    pub(crate) fn throughput(&self) -> Option<f64> {
        match self.kind {
            Kind::Bytes => Some(self.bytes as f64 / 1e6 / self.elapsed_s),
            Kind::Requests | Kind::Latency => Some(self.requests as f64 / self.elapsed_s),
        }
    }

    pub(crate) fn cpu_per_gb(&self) -> Option<f64> {
        match self.kind {
            Kind::Bytes if self.bytes > 0 => {
                self.server_cpu_s.map(|c| c / (self.bytes as f64 / 1e9))
            }
            _ => None,
        }
    }

    pub(crate) fn p(&self, q: f64) -> Option<f64> {
        percentile(&self.latencies_ms, q)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "workload": self.workload,
            "key": self.key,
            "measurement": self.measurement,
            "kind": format!("{:?}", self.kind).to_lowercase(),
            "target": self.target,
            "round": self.round,
            "elapsed_s": self.elapsed_s,
            "primary": self.primary(),
            "bytes": self.bytes,
            "requests": self.requests,
            "throughput": self.throughput(),
            "throughput_unit": if self.kind == Kind::Bytes { "MB/s" } else { "req/s" },
            "server_cpu_s": self.server_cpu_s,
            "server_cpu_s_per_gb": self.cpu_per_gb(),
            "client_cpu_s": self.client_cpu_s,
            "peak_rss_kib": self.peak_rss_kib,
            "sampled_rss_kib": self.sampled_rss_kib,
            "lifetime_peak_rss_kib": self.lifetime_rss_kib,
            "latency_p50_ms": self.p(50.0),
            "latency_p99_ms": self.p(99.0),
            "latency_max_ms": self.p(100.0),
            "notes": self.notes,
        })
    }
}

/// Nearest-rank percentile of unsorted values.
pub(crate) fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// A phase in progress.
pub(crate) struct Meter {
    pid: Option<String>,
    lifetime_before: Option<u64>,
    reset: bool,
    cpu0: Option<f64>,
    client0: Option<f64>,
    t0: Instant,
    stop: Arc<AtomicBool>,
    sampled: Arc<AtomicU64>,
    sampler: Option<tokio::task::JoinHandle<()>>,
    perf: Option<(tokio::process::Child, PathBuf, PathBuf, String)>,
}

/// Start `perf record` on `pid` into a temporary file of `dir`.
async fn start_perf(
    dir: &Path,
    pid: &str,
    label: &str,
) -> Option<(tokio::process::Child, PathBuf, PathBuf, String)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".phase-{n}.data"));
    let child = tokio::process::Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-p",
            pid,
            "-o",
        ])
        .arg(&tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    // perf needs a moment to attach to every thread.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Some((child, tmp, dir.to_path_buf(), label.to_string()))
}

impl Meter {
    pub(crate) async fn start(server: &Server) -> Meter {
        let pid = server.pid.map(|p| p.to_string());
        let perf = match (&server.perf_dir, &pid) {
            (Some(dir), Some(pid)) => start_perf(dir, pid, &server.label).await,
            _ => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let sampled = Arc::new(AtomicU64::new(0));
        let (mut lifetime_before, mut reset, mut cpu0, mut sampler) = (None, false, None, None);
        if let Some(pid) = &pid {
            lifetime_before = status_kib(pid, "VmHWM");
            reset = reset_peak_rss(pid);
            cpu0 = cpu_seconds(pid);
            let (pid, stop, sampled) = (pid.clone(), stop.clone(), sampled.clone());
            sampler = Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if let Some(rss) = status_kib(&pid, "VmRSS") {
                        sampled.fetch_max(rss, Ordering::Relaxed);
                    }
                }
            }));
        }
        Meter {
            pid,
            lifetime_before,
            reset,
            cpu0,
            client0: cpu_seconds("self"),
            t0: Instant::now(),
            stop,
            sampled,
            sampler,
            perf,
        }
    }

    /// End the phase.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish(
        self,
        workload: &str,
        key: &str,
        measurement: &str,
        kind: Kind,
        bytes: u64,
        requests: u64,
        latencies_ms: Vec<f64>,
    ) -> Sample {
        let elapsed_s = self.t0.elapsed().as_secs_f64();
        let client1 = cpu_seconds("self");
        let (mut cpu, mut peak, mut lifetime) = (None, None, None);
        if let Some(pid) = &self.pid {
            cpu = cpu_seconds(pid).zip(self.cpu0).map(|(b, a)| b - a);
            let hwm = status_kib(pid, "VmHWM");
            peak = if self.reset { hwm } else { None };
            lifetime = match (hwm, self.lifetime_before) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        if let Some((mut child, tmp, dir, label)) = self.perf {
            if let Some(id) = child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-INT", &id.to_string()])
                    .status()
                    .await;
            }
            let _ = child.wait().await;
            let name = format!("{label}-{workload}-{key}-{}.data", std::process::id());
            let dest = dir.join(name.replace('/', "_"));
            let _ = std::fs::rename(&tmp, &dest);
            eprintln!("  perf profile: {}", dest.display());
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.sampler {
            let _ = s.await;
        }
        let sampled = match self.sampled.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v),
        };
        let mut notes = Vec::new();
        if self.pid.is_some() && !self.reset {
            notes.push("could not reset VmHWM (clear_refs): peak RSS is sampled only".into());
        }
        Sample {
            workload: workload.to_string(),
            key: key.to_string(),
            measurement: measurement.to_string(),
            kind,
            target: String::new(),
            round: 0,
            elapsed_s,
            bytes,
            requests,
            server_cpu_s: cpu,
            client_cpu_s: client1.zip(self.client0).map(|(b, a)| b - a),
            peak_rss_kib: peak.or(sampled),
            sampled_rss_kib: sampled,
            lifetime_rss_kib: lifetime,
            latencies_ms,
            notes,
        }
    }
}
