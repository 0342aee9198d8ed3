//! A plugin for arca's own tests: its settings (`{"mode": …}`) choose how it misbehaves
//! in `validate` and `index`. It handles `application/vnd.arca.test.*`.
//!
//! Modes: `ok` (accept, index one facet), `reject` (two violations), `loop` (never
//! returns), `alloc` (allocates without bound), `panic`, `flood` (a million violations),
//! `read` (reads every layer and reports the byte count), `sneak` (opens a blob the
//! manifest does not reference).

use arca_plugin_sdk::prelude::*;
use std::io::Read;

/// The plugin.
pub struct Misbehave;

static INDEX_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn mode(cx: &Context) -> String {
    cx.setting::<String>("mode").unwrap_or_else(|| "ok".into())
}

fn misbehave(mode: &str, m: &Manifest, cx: &Context) -> Result<Vec<Violation>, String> {
    match mode {
        "loop" => {
            let mut x: u64 = 1;
            loop {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                if x == 42 {
                    return Ok(vec![]);
                }
            }
        }
        "alloc" => {
            let mut keep: Vec<Vec<u8>> = Vec::new();
            loop {
                keep.push(vec![7u8; 1 << 20]);
                if keep.len() == usize::MAX {
                    return Ok(vec![]);
                }
            }
        }
        "panic" => panic!("misbehave plugin panics on purpose"),
        "flood" => Ok((0..1_000_000)
            .map(|i| Violation::new(format!("/flood/{i}"), "x".repeat(64)))
            .collect()),
        "reject" => Ok(vec![
            Violation::new("/annotations/first", "first problem"),
            Violation::new("/annotations/second", "second problem"),
        ]),
        "read" => {
            let mut total = 0u64;
            for l in &m.layers {
                let mut b = cx.open(&l.digest)?;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = b.read(&mut buf).map_err(|e| e.to_string())?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
            }
            cx.log(Level::Info, &format!("read {total} bytes"));
            Err(format!("read:{total}"))
        }
        "sneak" => {
            cx.open("sha256:0000000000000000000000000000000000000000000000000000000000000000")?;
            Ok(vec![])
        }
        _ => Ok(vec![]),
    }
}

impl Plugin for Misbehave {
    fn info() -> Info {
        Info::new("test-misbehave", "0.1.0")
            .handles(["application/vnd.arca.test.*"])
            .validates()
            .indexes()
            .renders(["echo"])
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        match misbehave(&mode(cx), m, cx) {
            Ok(v) if v.is_empty() => Verdict::accept(),
            Ok(v) => Verdict::reject(v),
            Err(e) if e.starts_with("read:") => Verdict::Accept(vec![Violation::new("/", e)]),
            Err(e) => Verdict::reject([Violation::new("/", e)]),
        }
    }

    fn index(m: &Manifest, cx: &Context) -> Result<Option<Document>, String> {
        let mode = mode(cx);
        if mode != "ok" && mode != "reject" {
            misbehave(&mode, m, cx)?;
        }
        // Counts index calls made in this instance: shows whether instances are reused.
        let calls = INDEX_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let mut doc =
            Document::new(serde_json::json!({ "mode": mode, "tag": m.tag, "calls": calls }));
        doc.facet("test.mode", mode);
        doc.facet("test.calls", calls.to_string());
        doc.subject_facets
            .push(Facet::new("test.about-subject", "yes"));
        Ok(Some(doc))
    }

    fn render(
        view: &str,
        prefix: &str,
        target: Option<&Manifest>,
        documents: &[serde_json::Value],
        _cx: &Context,
    ) -> Result<Rendered, String> {
        if view != "echo" {
            return Err(format!("no view {view}"));
        }
        let body = serde_json::json!({
            "prefix": prefix,
            "target": target.map(|m| m.digest.clone()),
            "documents": documents,
        });
        Ok(Rendered {
            media_type: "application/json".into(),
            body: body.to_string().into_bytes(),
        })
    }
}

export_plugin!(Misbehave);
