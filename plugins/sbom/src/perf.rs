//! What the pieces of a validation cost, measured in CPU time of the calling thread (so a
//! busy machine distorts it less), averaged over several runs (the kernel may account CPU
//! time in ticks of a few milliseconds). `cargo test --release perf -- --nocapture` prints
//! the numbers.

use std::time::{Duration, Instant};

/// CPU time of this thread so far (Linux `/proc/thread-self/schedstat`), or wall-clock
/// time where that is not available.
#[derive(Clone, Copy)]
pub enum Mark {
    Cpu(u64),
    Wall(Instant),
}

pub fn cpu() -> Mark {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or_else(|| Mark::Wall(Instant::now()), Mark::Cpu)
}

pub fn elapsed(m: Mark) -> Duration {
    match (m, cpu()) {
        (Mark::Cpu(a), Mark::Cpu(b)) => Duration::from_nanos(b.saturating_sub(a)),
        (Mark::Wall(a), _) | (_, Mark::Wall(a)) => a.elapsed(),
    }
}

/// Time since `m`, divided by `n` runs, for printing.
pub fn per(m: Mark, n: u32) -> String {
    format!("{:.2} ms", elapsed(m).as_secs_f64() * 1000.0 / f64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cyclonedx;
    use crate::report::schema_violations;
    use crate::schemas;
    use crate::util::{Loc, Settings, parse_json};
    use serde_json::json;

    /// A syft-like CycloneDX 1.5 BOM of at least `bytes` bytes.
    pub fn bom(bytes: usize) -> Vec<u8> {
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
        serde_json::to_vec(&json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "serialNumber": "urn:uuid:5f3c1e0a-8f2e-4d0b-b1b8-7f6a7a0c2d41", "version": 1,
            "metadata": {"timestamp": "2024-03-05T14:10:51Z",
                         "tools": {"components": [{"type": "application", "name": "syft", "version": "1.0.1"}]}},
            "components": components,
            "dependencies": deps,
        }))
        .unwrap_or_default()
    }

    #[test]
    fn perf_of_the_parts_of_a_1_mib_validation() {
        let bytes = bom(1 << 20);
        let s = Settings::default();
        let loc = Loc {
            blob: "layers/0".into(),
            base: String::new(),
        };
        let i = schemas::cyclonedx_index("1.5").unwrap_or_default();
        let runs: u32 = if cfg!(debug_assertions) { 1 } else { 20 };
        let t = cpu();
        for _ in 0..runs {
            assert!(schemas::compile_cyclonedx(i).is_ok());
        }
        let compile = per(t, runs);
        let validator = schemas::compile_cyclonedx(i).expect("compiles");
        let docs: Vec<_> = (0..runs)
            .map(|_| parse_json(&bytes, s.max_depth).expect("parses"))
            .collect();
        let t = cpu();
        for _ in 0..runs {
            assert!(parse_json(&bytes, s.max_depth).is_ok());
        }
        let parse = per(t, runs);
        let t = cpu();
        for doc in &docs {
            let mut out = Vec::new();
            schema_violations(&validator, doc, |p| loc.at(p), |_| false, &mut out);
            assert!(out.is_empty(), "{out:?}");
        }
        let schema = per(t, runs);
        assert!(schemas::cyclonedx(i).is_ok());
        let t = cpu();
        for _ in 0..runs {
            let doc = parse_json(&bytes, s.max_depth).expect("parses");
            let a = cyclonedx::analyze_json(&doc, &loc, &s, true);
            assert!(a.errors.is_empty(), "{:?}", a.errors);
        }
        let whole = per(t, runs);
        println!(
            "perf ({} build, native, CPU time, mean of {runs}): compile CycloneDX 1.5 schema {compile}; \
             {} byte BOM: depth scan + parse {parse}, schema validation {schema}, \
             whole check (parse, schema, rules) {whole}",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            bytes.len(),
        );
    }
}
