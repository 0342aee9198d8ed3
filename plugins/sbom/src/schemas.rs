//! The embedded JSON schemas and their compiled validators.
//!
//! Compiling a schema costs far more than validating a typical SBOM with it, and the host
//! may reuse a warm instance for many calls (`warm_calls`), so each validator is compiled
//! on first use and kept in a static for the life of the instance.

use std::sync::OnceLock;

use jsonschema::{Registry, ValidationError, Validator};
use serde_json::Value;

/// CycloneDX versions with a JSON schema (JSON exists since 1.2), oldest first.
pub const CYCLONEDX_VERSIONS: [&str; 6] = ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

const CYCLONEDX_SCHEMAS: [&str; 6] = [
    include_str!("../schemas/cyclonedx/bom-1.2.schema.json"),
    include_str!("../schemas/cyclonedx/bom-1.3.schema.json"),
    include_str!("../schemas/cyclonedx/bom-1.4.schema.json"),
    include_str!("../schemas/cyclonedx/bom-1.5.schema.json"),
    include_str!("../schemas/cyclonedx/bom-1.6.schema.json"),
    include_str!("../schemas/cyclonedx/bom-1.7.schema.json"),
];

/// Schemas the CycloneDX ones reference, by the URI their `$ref`s resolve to.
const CYCLONEDX_REFERENCED: [(&str, &str); 3] = [
    (
        "http://cyclonedx.org/schema/spdx.schema.json",
        include_str!("../schemas/cyclonedx/spdx.schema.json"),
    ),
    (
        "http://cyclonedx.org/schema/jsf-0.82.schema.json",
        include_str!("../schemas/cyclonedx/jsf-0.82.schema.json"),
    ),
    (
        "http://cyclonedx.org/schema/cryptography-defs.schema.json",
        include_str!("../schemas/cyclonedx/cryptography-defs.schema.json"),
    ),
];

const SPDX_2_3: &str = include_str!("../schemas/spdx/spdx-2.3.schema.json");

/// SPDX versions validated, oldest first.
pub const SPDX_VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];

type Compiled = Result<Validator, String>;

static CYCLONEDX: [OnceLock<Compiled>; 6] = [const { OnceLock::new() }; 6];
static SPDX: [OnceLock<Compiled>; 2] = [const { OnceLock::new() }; 2];
static COMPONENT_TYPES: [OnceLock<Vec<String>>; 6] = [const { OnceLock::new() }; 6];

fn parse(text: &str) -> Value {
    // The files are written by schemas/fetch.py and checked by the tests.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn describe(e: &ValidationError<'_>) -> String {
    format!("cannot compile the embedded schema: {e}")
}

/// Index into [`CYCLONEDX_VERSIONS`].
pub fn cyclonedx_index(version: &str) -> Option<usize> {
    CYCLONEDX_VERSIONS.iter().position(|v| *v == version)
}

/// The validator for CycloneDX `version` (an index into [`CYCLONEDX_VERSIONS`]).
pub fn cyclonedx(index: usize) -> &'static Compiled {
    CYCLONEDX[index].get_or_init(|| compile_cyclonedx(index))
}

/// Compile the CycloneDX schema `CYCLONEDX_VERSIONS[index]` (uncached).
pub fn compile_cyclonedx(index: usize) -> Compiled {
    let mut registry = Registry::new();
    for (uri, text) in CYCLONEDX_REFERENCED {
        registry = registry
            .add(uri, parse(text))
            .map_err(|e| format!("cannot register {uri}: {e}"))?;
    }
    let registry = registry
        .prepare()
        .map_err(|e| format!("cannot prepare the schema registry: {e}"))?;
    jsonschema::options()
        .with_registry(&registry)
        .build(&parse(CYCLONEDX_SCHEMAS[index]))
        .map_err(|e| describe(&e))
}

/// The `type` values a component may have in CycloneDX `version` (for XML, which is not
/// schema-validated), taken from the JSON schema of the same version.
pub fn component_types(index: usize) -> &'static [String] {
    COMPONENT_TYPES[index].get_or_init(|| {
        parse(CYCLONEDX_SCHEMAS[index])
            .pointer("/definitions/component/properties/type/enum")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Index into [`SPDX_VERSIONS`].
pub fn spdx_index(version: &str) -> Option<usize> {
    SPDX_VERSIONS.iter().position(|v| *v == version)
}

/// The validator for SPDX `SPDX_VERSIONS[index]`. No package ships the SPDX 2.2 JSON
/// schema, so 2.2 uses the 2.3 schema relaxed where 2.3 is stricter (a snippet's `name`
/// became mandatory in 2.3); what 2.2 requires beyond 2.3 is checked in code
/// (`spdx::check_2_2`).
pub fn spdx(index: usize) -> &'static Compiled {
    SPDX[index].get_or_init(|| compile_spdx(index))
}

/// Compile the schema for `SPDX_VERSIONS[index]` (uncached).
pub fn compile_spdx(index: usize) -> Compiled {
    let mut schema = parse(SPDX_2_3);
    if SPDX_VERSIONS[index] == "SPDX-2.2"
        && let Some(Value::Array(required)) =
            schema.pointer_mut("/properties/snippets/items/required")
    {
        required.retain(|r| r != "name");
    }
    jsonschema::validator_for(&schema).map_err(|e| describe(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Also prints what compiling each costs (CPU time of this thread, averaged over a few
    /// compiles in release builds; `--nocapture`).
    #[test]
    fn every_embedded_schema_compiles() {
        let reps = if cfg!(debug_assertions) { 1 } else { 10 };
        let mut report = Vec::new();
        for (i, v) in CYCLONEDX_VERSIONS.iter().enumerate() {
            let t = crate::perf::cpu();
            for _ in 0..reps {
                if let Err(e) = compile_cyclonedx(i) {
                    panic!("CycloneDX {v}: {e}");
                }
            }
            report.push(format!("CycloneDX {v} {}", crate::perf::per(t, reps)));
            assert!(cyclonedx(i).is_ok());
            assert!(component_types(i).contains(&"library".to_string()));
        }
        for (i, v) in SPDX_VERSIONS.iter().enumerate() {
            let t = crate::perf::cpu();
            for _ in 0..reps {
                if let Err(e) = compile_spdx(i) {
                    panic!("{v}: {e}");
                }
            }
            report.push(format!("{v} {}", crate::perf::per(t, reps)));
            assert!(spdx(i).is_ok());
        }
        println!("schema compile times: {}", report.join(", "));
    }
}
