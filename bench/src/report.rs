//! Tables (Markdown), the targets, and the JSON document.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::meter::{Kind, Sample};

/// A run that failed or did not apply.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) round: usize,
    pub(crate) workload: String,
    pub(crate) target: String,
    pub(crate) error: String,
    pub(crate) skipped: bool,
}

/// One of the targets, judged on the medians.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) threshold: String,
    pub(crate) met: Option<bool>,
}

pub(crate) fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The measurements in order of first appearance: (workload, key).
fn measurements(samples: &[Sample]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in samples {
        let id = (s.workload.clone(), s.key.clone());
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn of<'a>(samples: &'a [Sample], w: &str, k: &str, target: &str) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.workload == w && s.key == k && s.target == target)
        .collect()
}

fn med_of(v: &[&Sample], f: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
    median(&v.iter().filter_map(|s| f(s)).collect::<Vec<_>>())
}

/// B/A of the primary figure, per round where both ran.
fn round_ratios(samples: &[Sample], w: &str, k: &str, a: &str, b: &str) -> Vec<(usize, f64)> {
    let sa = of(samples, w, k, a);
    let sb = of(samples, w, k, b);
    sa.iter()
        .filter_map(|x| {
            sb.iter()
                .find(|y| y.round == x.round)
                .map(|y| (x.round, y.primary() / x.primary()))
        })
        .collect()
}

fn f(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "–".into(),
    }
}

fn mib(kib: Option<u64>) -> String {
    f(kib.map(|k| k as f64 / 1024.0), 1)
}

fn primary_str(kind: Kind, v: Option<f64>) -> String {
    match kind {
        Kind::Latency => format!("{} ms", f(v, 2)),
        _ => format!("{} s", f(v, 3)),
    }
}

fn kind_of(samples: &[Sample], w: &str, k: &str) -> Kind {
    samples
        .iter()
        .find(|s| s.workload == w && s.key == k)
        .map_or(Kind::Requests, |s| s.kind)
}

/// The per-measurement tables.
pub(crate) fn tables(samples: &[Sample], targets: &[String]) -> String {
    let mut out = String::new();
    let (a, b) = (targets.first(), targets.get(1));
    for (w, k) in measurements(samples) {
        let kind = kind_of(samples, &w, &k);
        let title = samples
            .iter()
            .find(|s| s.workload == w && s.key == k)
            .map(|s| s.measurement.clone())
            .unwrap_or_default();
        let _ = writeln!(out, "#### `{w}` / `{k}` — {title}\n");
        let (pname, tname) = match kind {
            Kind::Bytes => ("time", "MB/s"),
            Kind::Requests => ("time", "req/s"),
            Kind::Latency => ("median latency", "req/s"),
        };
        let mut header =
            format!("| round | target | {pname} | {tname} | p50 ms | p99 ms | server CPU-s |");
        let mut sep = String::from("|---|---|--:|--:|--:|--:|--:|");
        if kind == Kind::Bytes {
            header.push_str(" CPU-s/GB |");
            sep.push_str("--:|");
        }
        header.push_str(" client CPU-s | peak RSS MiB (phase) | peak RSS MiB (lifetime) |");
        sep.push_str("--:|--:|--:|");
        if b.is_some() {
            header.push_str(" B/A |");
            sep.push_str("--:|");
        }
        let _ = writeln!(out, "{header}\n{sep}");
        let row = |round: String, t: &str, v: &[&Sample], ratio: Option<f64>| {
            let m = |g: &dyn Fn(&Sample) -> Option<f64>| med_of(v, g);
            let mut r = format!(
                "| {round} | {t} | {} | {} | {} | {} | {} |",
                primary_str(kind, m(&|s| Some(s.primary()))),
                f(m(&|s| s.throughput()), 1),
                f(m(&|s| s.p(50.0)), 2),
                f(m(&|s| s.p(99.0)), 2),
                f(m(&|s| s.server_cpu_s), 2),
            );
            if kind == Kind::Bytes {
                let _ = write!(r, " {} |", f(m(&|s| s.cpu_per_gb()), 3));
            }
            let _ = write!(
                r,
                " {} | {} | {} |",
                f(m(&|s| s.client_cpu_s), 2),
                mib(m(&|s| s.peak_rss_kib.map(|x| x as f64)).map(|x| x as u64)),
                mib(m(&|s| s.lifetime_rss_kib.map(|x| x as f64)).map(|x| x as u64)),
            );
            if b.is_some() {
                let _ = write!(r, " {} |", ratio.map_or(String::new(), |x| f(Some(x), 2)));
            }
            r
        };
        let rounds: Vec<usize> = {
            let mut r: Vec<usize> = samples
                .iter()
                .filter(|s| s.workload == w && s.key == k)
                .map(|s| s.round)
                .collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let ratios = match (a, b) {
            (Some(a), Some(b)) => round_ratios(samples, &w, &k, a, b),
            _ => vec![],
        };
        for &r in &rounds {
            for (i, t) in targets.iter().enumerate() {
                let v: Vec<&Sample> = of(samples, &w, &k, t)
                    .into_iter()
                    .filter(|s| s.round == r)
                    .collect();
                if v.is_empty() {
                    continue;
                }
                let ratio = if i == 1 {
                    ratios.iter().find(|x| x.0 == r).map(|x| x.1)
                } else {
                    None
                };
                let _ = writeln!(out, "{}", row(r.to_string(), t, &v, ratio));
            }
        }
        for (i, t) in targets.iter().enumerate() {
            let v = of(samples, &w, &k, t);
            if v.is_empty() {
                continue;
            }
            let ratio = if i == 1 {
                median(&ratios.iter().map(|x| x.1).collect::<Vec<_>>())
            } else {
                None
            };
            let _ = writeln!(out, "{}", row("**median**".into(), t, &v, ratio));
        }
        let notes: Vec<String> = {
            let mut n: Vec<String> = samples
                .iter()
                .filter(|s| s.workload == w && s.key == k)
                .flat_map(|s| s.notes.iter().map(move |x| format!("{}: {x}", s.target)))
                .collect();
            n.sort();
            n.dedup();
            n
        };
        for n in notes {
            let _ = writeln!(out, "\n- {n}");
        }
        out.push('\n');
    }
    out
}

/// One line per measurement: medians of both targets and the median per-round ratio.
pub(crate) fn summary(samples: &[Sample], targets: &[String]) -> (String, Vec<Value>) {
    let mut md = String::new();
    let mut js = Vec::new();
    let (a, b) = (targets.first(), targets.get(1));
    let mut header = String::from("| workload | measurement |");
    let mut sep = String::from("|---|---|");
    for t in targets {
        let _ = write!(header, " {t} | {t} thr. | {t} CPU-s | {t} peak RSS MiB |");
        sep.push_str("--:|--:|--:|--:|");
    }
    if b.is_some() {
        header.push_str(" B/A |");
        sep.push_str("--:|");
    }
    let _ = writeln!(md, "{header}\n{sep}");
    for (w, k) in measurements(samples) {
        let kind = kind_of(samples, &w, &k);
        let mut line = format!("| {w} | {k} |");
        let mut per_target = serde_json::Map::new();
        for t in targets {
            let v = of(samples, &w, &k, t);
            let p = med_of(&v, |s| Some(s.primary()));
            let thr = med_of(&v, |s| s.throughput());
            let cpu = med_of(&v, |s| s.server_cpu_s);
            let rss = med_of(&v, |s| s.lifetime_rss_kib.map(|x| x as f64));
            let unit = if kind == Kind::Bytes { "MB/s" } else { "req/s" };
            let _ = write!(
                line,
                " {} | {} {unit} | {} | {} |",
                if v.is_empty() {
                    "–".into()
                } else {
                    primary_str(kind, p)
                },
                f(thr, 1),
                f(cpu, 2),
                mib(rss.map(|x| x as u64)),
            );
            per_target.insert(
                t.clone(),
                json!({
                    "primary": p, "throughput": thr, "server_cpu_s": cpu,
                    "server_cpu_s_per_gb": med_of(&v, |s| s.cpu_per_gb()),
                    "peak_rss_kib_phase": med_of(&v, |s| s.peak_rss_kib.map(|x| x as f64)),
                    "peak_rss_kib_lifetime": rss,
                    "latency_p50_ms": med_of(&v, |s| s.p(50.0)),
                    "latency_p99_ms": med_of(&v, |s| s.p(99.0)),
                }),
            );
        }
        let ratio = match (a, b) {
            (Some(a), Some(b)) => median(
                &round_ratios(samples, &w, &k, a, b)
                    .iter()
                    .map(|x| x.1)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        if b.is_some() {
            let _ = write!(line, " {} |", f(ratio, 2));
        }
        let _ = writeln!(md, "{line}");
        js.push(
            json!({"workload": w, "key": k, "kind": format!("{kind:?}").to_lowercase(),
            "medians": per_target, "b_over_a_median": ratio}),
        );
    }
    (md, js)
}

/// The targets, for arca (against Distribution where the target is relative).
pub(crate) fn checks(
    samples: &[Sample],
    arca: &str,
    dist: Option<&str>,
    repos: usize,
) -> Vec<Check> {
    let mut out = Vec::new();
    let cpu_gb = |w: &str, k: &str| med_of(&of(samples, w, k, arca), |s| s.cpu_per_gb());
    let verdict = |v: Option<f64>, ok: &dyn Fn(f64) -> bool| v.map(ok);

    for (w, what) in [
        ("blob-mono-large", "upload, one large blob monolithic"),
        ("blob-mono-small", "upload, many small blobs monolithic"),
        ("blob-chunked", "upload, chunked"),
    ] {
        let v = cpu_gb(w, "upload");
        if of(samples, w, "upload", arca).is_empty() {
            continue;
        }
        out.push(Check {
            name: format!("{what} ({w}): server CPU-s per GB"),
            value: f(v, 3),
            threshold: "≤ 0.8".into(),
            met: verdict(v, &|x| x <= 0.8),
        });
    }
    if !of(samples, "blob-download", "download", arca).is_empty() {
        let v = cpu_gb("blob-download", "download");
        out.push(Check {
            name: "download (blob-download): server CPU-s per GB".into(),
            value: f(v, 3),
            threshold: "≤ 0.3".into(),
            met: verdict(v, &|x| x <= 0.3),
        });
    }
    if let Some(d) = dist {
        for (w, k, what, min) in [
            (
                "manifest-get",
                "get",
                "manifest GET at concurrency 32",
                10.0,
            ),
            (
                "manifest-get",
                "head",
                "manifest HEAD at concurrency 32",
                10.0,
            ),
            (
                "manifest-put",
                "put-c32",
                "manifest PUT at concurrency 32",
                3.0,
            ),
        ] {
            let r: Vec<f64> = round_ratios(samples, w, k, arca, d)
                .iter()
                .map(|x| x.1)
                .collect();
            if r.is_empty() {
                continue;
            }
            let v = median(&r);
            out.push(Check {
                name: format!(
                    "{what}: arca throughput ÷ Distribution's (median of per-round ratios)"
                ),
                value: format!("{}×", f(v, 2)),
                threshold: format!("≥ {min}×"),
                met: verdict(v, &|x| x >= min),
            });
        }
    }
    let cat = of(samples, "catalog", "whole", arca);
    if !cat.is_empty() {
        let v = med_of(&cat, |s| Some(s.primary()));
        out.push(Check {
            name: format!("GET /v2/_catalog of {repos} repositories, whole (median latency)"),
            value: format!("{} ms", f(v, 2)),
            threshold: if repos == 2000 {
                "≤ 20 ms".into()
            } else {
                "≤ 20 ms (the target is for 2,000 repositories)".into()
            },
            met: verdict(v, &|x| x <= 20.0),
        });
    }
    let first = med_of(&of(samples, "tags", "first", arca), |s| Some(s.primary()));
    let last = med_of(&of(samples, "tags", "last", arca), |s| Some(s.primary()));
    if let (Some(fi), Some(la)) = (first, last) {
        let v = la / fi;
        out.push(Check {
            name: "tag pages cost O(page size): last page ÷ first page median latency".into(),
            value: format!(
                "{} ({} ms vs {} ms)",
                f(Some(v), 2),
                f(Some(la), 2),
                f(Some(fi), 2)
            ),
            threshold: "≤ 2 (flat)".into(),
            met: Some(v <= 2.0),
        });
    }
    let sbom = of(samples, "sbom", "sbom", arca);
    let base = of(samples, "sbom", "plain", arca);
    if !sbom.is_empty() {
        out.push(Check {
            name: "plugin-validated SBOM PUT latency, p50 / p99 (plain manifest PUT in brackets)"
                .into(),
            value: format!(
                "{} / {} ms ({} / {} ms)",
                f(med_of(&sbom, |s| s.p(50.0)), 1),
                f(med_of(&sbom, |s| s.p(99.0)), 1),
                f(med_of(&base, |s| s.p(50.0)), 1),
                f(med_of(&base, |s| s.p(99.0)), 1),
            ),
            threshold: "(no target)".into(),
            met: None,
        });
        let extra = median(
            &sbom
                .iter()
                .filter_map(|s| {
                    let b = base.iter().find(|b| b.round == s.round)?;
                    Some(s.peak_rss_kib? as f64 - b.peak_rss_kib? as f64)
                })
                .collect::<Vec<_>>(),
        );
        out.push(Check {
            name: "SBOM PUT: extra peak RSS over plain manifest PUTs (phase VmHWM)".into(),
            value: format!("{} MiB", f(extra.map(|k| k / 1024.0), 1)),
            threshold: "(no target)".into(),
            met: None,
        });
    }
    let plain: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.target == arca && s.workload != "sbom")
        .collect();
    if !plain.is_empty() {
        let peak = plain
            .iter()
            .filter_map(|s| s.lifetime_rss_kib.or(s.peak_rss_kib))
            .max();
        let worst = plain
            .iter()
            .max_by_key(|s| s.lifetime_rss_kib.or(s.peak_rss_kib).unwrap_or(0))
            .map(|s| format!(" in {}", s.workload))
            .unwrap_or_default();
        out.push(Check {
            name: "server peak RSS over the plain image workloads (VmHWM, start-up included)"
                .into(),
            value: format!("{} MiB{worst}", mib(peak)),
            threshold: "≤ 64 MiB".into(),
            met: peak.map(|p| p <= 64 * 1024),
        });
    }
    out
}

pub(crate) fn checks_md(checks: &[Check]) -> String {
    let mut md = String::from("| target | measured | threshold | met |\n|---|--:|--:|:-:|\n");
    for c in checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            c.name,
            c.value,
            c.threshold,
            match c.met {
                Some(true) => "**met**",
                Some(false) => "**not met**",
                None => "–",
            }
        );
    }
    md
}

pub(crate) fn checks_json(checks: &[Check]) -> Value {
    Value::Array(
        checks
            .iter()
            .map(|c| json!({"target": c.name, "measured": c.value, "threshold": c.threshold, "met": c.met}))
            .collect(),
    )
}

pub(crate) fn failures_json(f: &[Failure]) -> Value {
    Value::Array(
        f.iter()
            .map(|x| json!({"round": x.round, "workload": x.workload, "target": x.target, "error": x.error, "skipped": x.skipped}))
            .collect(),
    )
}
