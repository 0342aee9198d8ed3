//! Chart metadata: the fields of `Chart.yaml`, which `helm push` also writes as the config
//! blob (JSON). Checked as Helm's `chart.Metadata` reads and validates them: a field of the
//! wrong type is an error (Go's decoder would refuse the whole chart), lint-level advice
//! is a warning.

use arca_plugin_sdk::Violation;
use serde_json::{Map, Value};

/// The `Chart.yaml` fields a chart repository index may carry (Helm's `chart.Metadata`).
pub const STRING_FIELDS: &[&str] = &[
    "apiVersion",
    "name",
    "version",
    "appVersion",
    "description",
    "type",
    "home",
    "icon",
    "kubeVersion",
    "condition",
    "tags",
];
/// Lists of strings.
pub const LIST_FIELDS: &[&str] = &["keywords", "sources"];

/// Findings, with paths under a prefix (`config:` for the config blob).
pub struct Check<'a> {
    pub prefix: &'a str,
    pub errors: &'a mut Vec<Violation>,
    pub warnings: &'a mut Vec<Violation>,
}

impl Check<'_> {
    fn error(&mut self, pointer: &str, message: impl Into<String>) {
        self.errors
            .push(Violation::new(format!("{}{pointer}", self.prefix), message));
    }
    fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings
            .push(Violation::new(format!("{}{pointer}", self.prefix), message));
    }
}

/// A short description of a JSON value's type, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether a chart name is one Helm and OCI references can carry: letters, digits, `.`,
/// `_` and `-`, starting and ending with a letter or digit, at most 250 characters, and no
/// path separators (Helm's `name == filepath.Base(name)`).
pub fn sane_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 250
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && !name.contains("..")
}

/// Check chart metadata (`v` is the config JSON or `Chart.yaml` as JSON). Returns the
/// object when it is one.
pub fn check<'v>(v: &'v Value, cx: &mut Check<'_>) -> Option<&'v Map<String, Value>> {
    let Some(md) = v.as_object() else {
        cx.error(
            "",
            format!(
                "the chart metadata must be a JSON object of Chart.yaml fields, got {}",
                kind(v)
            ),
        );
        return None;
    };

    match md.get("apiVersion") {
        None | Some(Value::Null) => cx.error("/apiVersion", "is required: v1 or v2"),
        Some(Value::String(s)) if s == "v1" || s == "v2" => {}
        Some(Value::String(s)) => cx.error("/apiVersion", format!("must be v1 or v2, got {s:?}")),
        Some(other) => cx.error(
            "/apiVersion",
            format!("must be the string v1 or v2, got {}", kind(other)),
        ),
    }

    match md.get("name") {
        None | Some(Value::Null) => cx.error("/name", "is required"),
        Some(Value::String(s)) if s.is_empty() => cx.error("/name", "must not be empty"),
        Some(Value::String(s)) if !sane_name(s) => cx.error(
            "/name",
            format!(
                "{s:?} is not a usable chart name: use letters, digits, '.', '_' and '-', \
                 starting and ending with a letter or digit (at most 250 characters)"
            ),
        ),
        Some(Value::String(_)) => {}
        Some(other) => cx.error("/name", format!("must be a string, got {}", kind(other))),
    }

    match md.get("version") {
        None | Some(Value::Null) => cx.error("/version", "is required"),
        Some(Value::String(s)) => {
            if let Err(e) = semver::Version::parse(s) {
                cx.error(
                    "/version",
                    format!(
                        "{s:?} is not a SemVer 2 version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]): {e}"
                    ),
                );
            }
        }
        Some(other) => cx.error("/version", format!("must be a string, got {}", kind(other))),
    }

    for &field in STRING_FIELDS {
        if matches!(field, "apiVersion" | "name" | "version") {
            continue;
        }
        match md.get(field) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => cx.error(
                &format!("/{field}"),
                format!("must be a string, got {}", kind(other)),
            ),
        }
    }
    if let Some(Value::String(t)) = md.get("type")
        && !matches!(t.as_str(), "" | "application" | "library")
    {
        cx.error(
            "/type",
            format!("must be application or library, got {t:?}"),
        );
    }
    if let Some(Value::String(k)) = md.get("kubeVersion")
        && !k.trim().is_empty()
        && !valid_constraint(k)
    {
        cx.warn(
            "/kubeVersion",
            format!("{k:?} is not a version constraint Helm can check (e.g. \">= 1.25.0-0\")"),
        );
    }

    for &field in LIST_FIELDS {
        check_string_list(md.get(field), &format!("/{field}"), cx);
    }

    match md.get("deprecated") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(other) => cx.error(
            "/deprecated",
            format!("must be true or false, got {}", kind(other)),
        ),
    }

    match md.get("annotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(a)) => {
            for (k, v) in a {
                if !v.is_string() {
                    cx.error(
                        &format!("/annotations/{}", escape(k)),
                        format!("annotation values must be strings, got {}", kind(v)),
                    );
                }
            }
        }
        Some(other) => cx.error(
            "/annotations",
            format!("must be an object of strings, got {}", kind(other)),
        ),
    }

    match md.get("maintainers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, m) in list.iter().enumerate() {
                let at = format!("/maintainers/{i}");
                let Some(m) = m.as_object() else {
                    cx.error(
                        &at,
                        format!(
                            "a maintainer must be an object with name, email and url, got {}",
                            kind(m)
                        ),
                    );
                    continue;
                };
                for f in ["name", "email", "url"] {
                    match m.get(f) {
                        None | Some(Value::Null | Value::String(_)) => {}
                        Some(other) => cx.error(
                            &format!("{at}/{f}"),
                            format!("must be a string, got {}", kind(other)),
                        ),
                    }
                }
                if m.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    cx.warn(&format!("{at}/name"), "each maintainer should have a name");
                }
            }
        }
        Some(other) => cx.error(
            "/maintainers",
            format!("must be a list of maintainers, got {}", kind(other)),
        ),
    }

    match md.get("dependencies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            let mut seen: Vec<String> = Vec::new();
            for (i, d) in list.iter().enumerate() {
                if let Some(key) = check_dependency(d, &format!("/dependencies/{i}"), cx) {
                    if seen.contains(&key) {
                        cx.error(
                            &format!("/dependencies/{i}"),
                            format!(
                                "more than one dependency with name or alias {key:?}: give them distinct aliases"
                            ),
                        );
                    }
                    seen.push(key);
                }
            }
        }
        Some(other) => cx.error(
            "/dependencies",
            format!("must be a list of dependencies, got {}", kind(other)),
        ),
    }
    Some(md)
}

fn check_string_list(v: Option<&Value>, at: &str, cx: &mut Check<'_>) {
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_string() {
                    cx.error(
                        &format!("{at}/{i}"),
                        format!("must be a string, got {}", kind(item)),
                    );
                }
            }
        }
        Some(other) => cx.error(
            at,
            format!("must be a list of strings, got {}", kind(other)),
        ),
    }
}

/// Check one dependency; returns the key it is known by (alias, else name) when it has one.
fn check_dependency(d: &Value, at: &str, cx: &mut Check<'_>) -> Option<String> {
    let Some(d) = d.as_object() else {
        cx.error(
            at,
            format!(
                "a dependency must be an object with name, version and repository, got {}",
                kind(d)
            ),
        );
        return None;
    };
    let name = match d.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        None | Some(Value::Null) => {
            cx.error(&format!("{at}/name"), "a dependency needs a name");
            None
        }
        Some(Value::String(_)) => {
            cx.error(&format!("{at}/name"), "must not be empty");
            None
        }
        Some(other) => {
            cx.error(
                &format!("{at}/name"),
                format!("must be a string, got {}", kind(other)),
            );
            None
        }
    };
    match d.get("version") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) => {
            if !v.trim().is_empty() && !valid_constraint(v) {
                cx.warn(
                    &format!("{at}/version"),
                    format!("{v:?} is not a version constraint Helm understands (e.g. \"^1.2.0\", \">=1.0.0 <2.0.0\")"),
                );
            }
        }
        Some(other) => cx.error(
            &format!("{at}/version"),
            format!(
                "must be a version constraint string (e.g. \"^1.2.0\"), got {}",
                kind(other)
            ),
        ),
    }
    for f in ["repository", "condition"] {
        match d.get(f) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => cx.error(
                &format!("{at}/{f}"),
                format!("must be a string, got {}", kind(other)),
            ),
        }
    }
    check_string_list(d.get("tags"), &format!("{at}/tags"), cx);
    match d.get("enabled") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(other) => cx.error(
            &format!("{at}/enabled"),
            format!("must be true or false, got {}", kind(other)),
        ),
    }
    match d.get("import-values") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !(item.is_string() || item.is_object()) {
                    cx.error(
                        &format!("{at}/import-values/{i}"),
                        format!(
                            "must be a string or a {{child, parent}} object, got {}",
                            kind(item)
                        ),
                    );
                }
            }
        }
        Some(other) => cx.error(
            &format!("{at}/import-values"),
            format!("must be a list, got {}", kind(other)),
        ),
    }
    let alias = match d.get("alias") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) if a.is_empty() => None,
        Some(Value::String(a)) => {
            if !a
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            {
                cx.error(
                    &format!("{at}/alias"),
                    format!("{a:?} may hold only letters, digits, '_' and '-'"),
                );
            }
            Some(a.clone())
        }
        Some(other) => {
            cx.error(
                &format!("{at}/alias"),
                format!("must be a string, got {}", kind(other)),
            );
            None
        }
    };
    alias.or(name)
}

/// A JSON pointer token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Whether `s` is a version constraint as Helm's semver library (Masterminds) reads it:
/// `||`-separated groups of comma- or space-separated `[op]version` terms, or hyphen
/// ranges `A - B`; versions may use `x`, `X` or `*` wildcards and a `v` prefix.
pub fn valid_constraint(s: &str) -> bool {
    s.split("||").all(|group| {
        let tokens: Vec<&str> = group
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        if tokens.is_empty() {
            return false;
        }
        let mut i = 0;
        while i < tokens.len() {
            let mut t = tokens[i].to_string();
            // An operator written apart from its version: `>= 1.2`.
            if is_operator(&t) {
                i += 1;
                let Some(next) = tokens.get(i) else {
                    return false;
                };
                t.push_str(next);
            }
            // A hyphen range: `1.2 - 1.4.5`.
            if tokens.get(i + 1) == Some(&"-") {
                let Some(end) = tokens.get(i + 2) else {
                    return false;
                };
                if !is_constraint_version(&t) || !is_constraint_version(end) {
                    return false;
                }
                i += 3;
                continue;
            }
            let rest = strip_operator(&t);
            if !is_constraint_version(rest) {
                return false;
            }
            i += 1;
        }
        true
    })
}

const OPERATORS: &[&str] = &[">=", "=>", "<=", "=<", "!=", "~>", ">", "<", "=", "~", "^"];

fn is_operator(t: &str) -> bool {
    OPERATORS.contains(&t)
}

fn strip_operator(t: &str) -> &str {
    for op in OPERATORS {
        if let Some(rest) = t.strip_prefix(op) {
            return rest;
        }
    }
    t
}

/// `v?(N|x|X|*)(.(N|x|X|*)){0,2}(-prerelease)?(+build)?`
fn is_constraint_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (v, build) = match v.split_once('+') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match v.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let ident_ok = |s: &str| {
        s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    };
    if pre.is_some_and(|p| !ident_ok(p)) || build.is_some_and(|b| !ident_ok(b)) {
        return false;
    }
    let parts: Vec<&str> = core.split('.').collect();
    (1..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            matches!(*p, "x" | "X" | "*")
                || (!p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_as_helm_reads_them() {
        for ok in [
            "1.2.3",
            "^1.2.0",
            "~1.2",
            ">=1.0.0 <2.0.0",
            ">= 1.0, < 2",
            "1.2 - 1.4.5",
            "1.x",
            "*",
            "~> 2.1",
            ">=1.25.0-0",
            "^1.0.0 || ^2.0.0",
            "v1.2.3",
            "=1.0.0-rc.1+build.5",
        ] {
            assert!(valid_constraint(ok), "{ok}");
        }
        for bad in ["", "latest", ">=", "1.2.3.4", "^one", "1.0 ||", "1.0 -"] {
            assert!(!valid_constraint(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        for ok in ["nginx", "my-chart", "a", "chart_1.x", "Foo"] {
            assert!(sane_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "x-",
            "a/b",
            "..",
            "a..b",
            "a b",
            "ümlaut",
            &"x".repeat(251),
        ] {
            assert!(!sane_name(bad), "{bad}");
        }
    }
}
