//! What a whole validation and indexing cost through the plugin's entry points: the
//! one-time schema compile, a warm validation of a 1 MiB CycloneDX SBOM, and the memory it
//! takes. Times are CPU time of the test thread (a busy machine does not distort them).
//! Numbers are printed: `cargo test --release --test perf -- --nocapture`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// CPU time of this thread (Linux), else wall-clock time.
fn cpu_now() -> (Option<u64>, Instant) {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok());
    (ns, Instant::now())
}

fn cpu_elapsed(start: (Option<u64>, Instant)) -> Duration {
    match (start.0, cpu_now().0) {
        (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
        _ => start.1.elapsed(),
    }
}

use arca_plugin_sbom::Sbom;
use arca_plugin_sdk::prelude::*;
use arca_plugin_sdk::testing::Harness;
use serde_json::{Value, json};

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests take turns, so one's allocations do not count in the other's peak.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A syft-like CycloneDX 1.5 BOM of about `bytes` bytes.
fn bom(bytes: usize) -> Vec<u8> {
    let mut components = Vec::new();
    let mut deps = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < bytes {
        let purl = format!("pkg:npm/package-{i}@1.{}.{}", i % 17, i % 5);
        let c = json!({
            "bom-ref": purl, "type": "library", "name": format!("package-{i}"),
            "version": format!("1.{}.{}", i % 17, i % 5),
            "description": "A package with a description of moderate length, as registries return them.",
            "licenses": [{"license": {"id": if i % 3 == 0 { "MIT" } else { "Apache-2.0" }}}],
            "hashes": [{"alg": "SHA-512", "content": format!("{:0128x}", i)}],
            "purl": purl,
            "externalReferences": [{"type": "distribution", "url": format!("https://registry.npmjs.org/package-{i}/-/package-{i}-1.0.0.tgz")}],
            "properties": [{"name": "syft:package:foundBy", "value": "javascript-lock-cataloger"},
                           {"name": "syft:location:0:path", "value": "/app/package-lock.json"}],
        });
        size += c.to_string().len();
        if i > 0 {
            deps.push(json!({"ref": purl, "dependsOn": [format!("pkg:npm/package-{}@1.{}.{}", i - 1, (i - 1) % 17, (i - 1) % 5)]}));
        }
        components.push(c);
        i += 1;
    }
    let v = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "serialNumber": "urn:uuid:5f3c1e0a-8f2e-4d0b-b1b8-7f6a7a0c2d41", "version": 1,
        "metadata": {"timestamp": "2024-03-05T14:10:51Z",
                     "tools": {"components": [{"type": "application", "name": "syft", "version": "1.0.1"}]}},
        "components": components,
        "dependencies": deps,
    });
    serde_json::to_vec(&v).unwrap()
}

fn setup(bytes: usize) -> (Harness, Manifest, usize) {
    let mut h = Harness::new();
    let b = bom(bytes);
    let n = b.len();
    let config = h.blob("application/vnd.oci.empty.v1+json", "{}");
    let layer = h.blob("application/vnd.cyclonedx+json", b);
    let m = h.manifest(Some("application/vnd.cyclonedx+json"), config, vec![layer]);
    (h, m, n)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[test]
fn compile_once_then_validate_a_1_mib_sbom_fast() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (h, m, size) = setup(1 << 20);
    let small = {
        let mut h2 = Harness::new();
        let config = h2.blob("application/vnd.oci.empty.v1+json", "{}");
        let layer = h2.blob(
            "application/vnd.cyclonedx+json",
            json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}).to_string(),
        );
        let m2 = h2.manifest(None, config, vec![layer]);
        (h2, m2)
    };

    // First call: compiles the CycloneDX 1.5 schema (a tiny BOM, so this is compile time).
    let t = cpu_now();
    assert!(!small.0.validate::<Sbom>(&small.1).is_reject());
    let compile = cpu_elapsed(t);
    let t = cpu_now();
    assert!(!small.0.validate::<Sbom>(&small.1).is_reject());
    let tiny_warm = cpu_elapsed(t);

    // Warm: validate the 1 MiB BOM several times.
    let runs = 10;
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let t = cpu_now();
        let v = h.validate::<Sbom>(&m);
        let d = cpu_elapsed(t);
        assert_eq!(v, Verdict::accept());
        best = best.min(d);
        total += d;
    }
    let t = cpu_now();
    let doc = h.index::<Sbom>(&m).unwrap().unwrap();
    let index = cpu_elapsed(t);
    let components = doc.json["sboms"][0]["componentCount"].as_u64().unwrap();

    // Parsing alone, for comparison.
    let bytes = bom(1 << 20);
    let t = cpu_now();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let parse = cpu_elapsed(t);
    drop(v);

    println!(
        "sbom perf ({}): schema compile (first call, CycloneDX 1.5) {}; tiny BOM warm {}; \
         1 MiB BOM ({size} bytes, {components} components): warm validate best {} / mean {}, \
         of which JSON parse ~{}; index {}",
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        },
        ms(compile),
        ms(tiny_warm),
        ms(best),
        ms(total / runs),
        ms(parse),
        ms(index),
    );
    // Figures only, no timed assertion: the benchmarks (host/benches/sbom.rs,
    // arca-bench) are where speed is judged.
}

#[test]
fn memory_of_a_validation() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // 16 MiB takes long unoptimised; only release builds measure it.
    let sizes: &[usize] = if cfg!(debug_assertions) {
        &[1]
    } else {
        &[1, 16]
    };
    for &mib in sizes {
        let (h, m, size) = setup(mib << 20);
        // warm the schema first so the peak is the document's
        h.validate::<Sbom>(&m);
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = cpu_now();
        assert_eq!(h.validate::<Sbom>(&m), Verdict::accept());
        let took = cpu_elapsed(t);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let base = LIVE.load(Ordering::Relaxed);
        h.index::<Sbom>(&m).unwrap();
        let peak_index = PEAK.load(Ordering::Relaxed) - base;
        println!(
            "sbom memory: {size}-byte CycloneDX BOM: validate peak {:.1} MiB over the blob ({}), index peak {:.1} MiB",
            peak as f64 / (1 << 20) as f64,
            ms(took),
            peak_index as f64 / (1 << 20) as f64,
        );
    }
}
