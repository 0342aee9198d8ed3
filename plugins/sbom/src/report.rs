//! Findings of one SBOM, and schema errors as violations a person can read.

use arca_plugin_sdk::Violation;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::facts::Summary;
use crate::util::short;

/// Most violations reported for one SBOM; the rest are counted in a last one.
pub const MAX_VIOLATIONS: usize = 10_000;

/// What checking (and reading) one SBOM found.
#[derive(Debug, Default)]
pub struct Analysis {
    pub errors: Vec<Violation>,
    pub warnings: Vec<Violation>,
    /// What it says, when it could be read at all.
    pub summary: Option<Summary>,
}

impl Analysis {
    /// Only an error.
    pub fn failed(v: Violation) -> Self {
        Analysis {
            errors: vec![v],
            ..Analysis::default()
        }
    }

    /// Cap the number of errors, counting what was left out in a last violation.
    pub fn cap(&mut self) {
        if self.errors.len() > MAX_VIOLATIONS {
            let more = self.errors.len() - MAX_VIOLATIONS;
            let path = self.errors[MAX_VIOLATIONS].path.clone();
            self.errors.truncate(MAX_VIOLATIONS);
            self.errors.push(Violation::new(
                path,
                format!("… and {more} more violations in this SBOM, not listed"),
            ));
        }
    }
}

/// The message of a schema error: as jsonschema formats it, but without dumping a whole
/// object or array (or a very long string) into it.
pub fn schema_message(e: &ValidationError<'_>) -> String {
    let message = match e.instance().as_ref() {
        Value::Object(_) => e.masked_with("this object").to_string(),
        Value::Array(_) => e.masked_with("this array").to_string(),
        _ => e.to_string(),
    };
    short(&message, 400)
}

/// Validate `doc` with `validator`, turning each error into a violation whose path is
/// made by `path` from the error's instance pointer. `skip` drops errors by keyword.
pub fn schema_violations(
    validator: &Validator,
    doc: &Value,
    path: impl Fn(&str) -> String,
    skip: impl Fn(&str) -> bool,
    out: &mut Vec<Violation>,
) {
    if validator.is_valid(doc) {
        return;
    }
    for e in validator.iter_errors(doc) {
        if skip(e.kind().keyword()) {
            continue;
        }
        out.push(Violation::new(
            path(e.instance_path().as_str()),
            schema_message(&e),
        ));
        if out.len() > MAX_VIOLATIONS {
            break;
        }
    }
}
