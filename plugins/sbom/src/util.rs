//! Small shared pieces: settings, where a violation points, JSON reading under limits.

use arca_plugin_sdk::{Context, Level, Violation};
use serde_json::Value;

/// The deepest nesting `serde_json` parses (its own recursion limit).
pub const JSON_PARSER_DEPTH: usize = 128;

/// The plugin's settings for the repository at hand (the host has merged overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `mode = "strict"` (reject on violations) or `"lenient"` (accept, violations as warnings).
    pub strict: bool,
    /// Largest SBOM blob read, by its descriptor size, before reading.
    pub max_bytes: u64,
    /// Deepest JSON/XML nesting accepted.
    pub max_depth: usize,
    /// Most components (CycloneDX components, SPDX packages + files + snippets) in one SBOM.
    pub max_components: usize,
    /// Most components listed per SBOM in the indexed document JSON (facets cover all).
    pub max_document_components: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strict: true,
            max_bytes: 16 * 1024 * 1024,
            max_depth: 64,
            max_components: 100_000,
            max_document_components: 10_000,
        }
    }
}

impl Settings {
    /// Read from the context; a setting of the wrong shape keeps its default and is logged.
    pub fn from_context(cx: &Context) -> Settings {
        let mut s = Settings::default();
        let config = cx.config();
        let bad = |key: &str, v: &Value| {
            cx.log(
                Level::Warn,
                &format!("sbom: ignoring setting {key} = {v}: wrong type or value"),
            );
        };
        if let Some(v) = config.get("mode") {
            match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("strict") => s.strict = true,
                Some("lenient") => s.strict = false,
                _ => bad("mode", v),
            }
        }
        let number = |key: &str, min: u64| -> Option<u64> {
            let v = config.get(key)?;
            match v.as_u64() {
                Some(n) if n >= min => Some(n),
                _ => {
                    bad(key, v);
                    None
                }
            }
        };
        if let Some(n) = number("max_bytes", 1) {
            s.max_bytes = n;
        }
        if let Some(n) = number("max_depth", 2) {
            // One level is kept for the in-toto statement around a predicate.
            s.max_depth = (n as usize).min(JSON_PARSER_DEPTH - 1);
        }
        if let Some(n) = number("max_components", 0) {
            s.max_components = n as usize;
        }
        if let Some(n) = number("max_document_components", 0) {
            s.max_document_components = n as usize;
        }
        s
    }
}

/// Where in which blob a finding is: `layers/0:/components/3/type`, `layers/0:line 12`.
#[derive(Debug, Clone, Default)]
pub struct Loc {
    /// The blob (`layers/0`, `config`), with `:payload` for the payload of a DSSE envelope.
    pub blob: String,
    /// JSON pointer of the SBOM inside that blob (`/predicate` in an in-toto statement).
    pub base: String,
}

impl Loc {
    /// A location inside the blob at `pointer` (relative to the SBOM); the blob itself
    /// (`layers/0`) for the empty pointer.
    pub fn at(&self, pointer: &str) -> String {
        if pointer.is_empty() && self.base.is_empty() {
            self.blob.clone()
        } else {
            format!("{}:{}{}", self.blob, self.base, pointer)
        }
    }

    /// A line of a text SBOM (XML, tag-value).
    pub fn line(&self, line: u32) -> String {
        if self.base.is_empty() {
            format!("{}:line {line}", self.blob)
        } else {
            format!("{}:{}:line {line}", self.blob, self.base)
        }
    }

    /// A violation at `pointer`.
    pub fn v(&self, pointer: &str, message: impl Into<String>) -> Violation {
        Violation::new(self.at(pointer), message)
    }
}

/// Append one JSON pointer segment, escaped.
pub fn push_seg(pointer: &mut String, s: &str) {
    if s.contains(['~', '/']) {
        pointer.push_str(&s.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(s);
    }
}

/// Scan JSON text (cheaply, without parsing) for nesting deeper than `max`; returns the
/// 1-based line where it first goes too deep. Strings are skipped with `memchr`.
pub fn json_too_deep(bytes: &[u8], max: usize) -> Option<u32> {
    let mut depth = 0usize;
    let mut line = 1u32;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // To the closing quote, past escapes.
                i += 1;
                loop {
                    if i >= bytes.len() {
                        return None;
                    }
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(k) if bytes[i + k] == b'\\' => i += k + 2,
                        Some(k) => {
                            i += k;
                            break;
                        }
                        None => return None,
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parse JSON after checking its nesting. Errors are messages for a person.
pub fn parse_json(bytes: &[u8], max_depth: usize) -> Result<Value, (Option<u32>, String)> {
    let bytes = strip_bom(bytes);
    if let Some(line) = json_too_deep(bytes, max_depth) {
        return Err((
            Some(line),
            format!("JSON nested deeper than max_depth ({max_depth})"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let line = u32::try_from(e.line()).ok().filter(|l| *l > 0);
        (line, format!("not valid JSON: {e}"))
    })
}

/// Without a leading UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A string for messages, shortened.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// `"a", "b", "c"`.
pub fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A UTC timestamp of exactly the form `YYYY-MM-DDThh:mm:ssZ` with plausible fields.
pub fn is_spdx_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        std::str::from_utf8(&b[r])
            .ok()
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or(99)
    };
    digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z'
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) <= 23
        && num(14..16) <= 59
        && num(17..19) <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_brackets_in_strings_and_counts_lines() {
        assert_eq!(json_too_deep(br#"{"a": "[[[[[[", "b": [1]}"#, 2), None);
        assert_eq!(json_too_deep(b"{\n\"a\":\n[[1]]}", 2), Some(3));
        assert_eq!(json_too_deep(br#"{"a": "\"[[[["}"#, 1), None);
        assert_eq!(json_too_deep(br#"{"a": "x\\"}"#, 1), None);
        assert_eq!(json_too_deep(br#"{"a": "x\"#, 1), None);
        assert_eq!(json_too_deep(br#"{"a": ["x\\", [1]]}"#, 2), Some(1));
    }

    #[test]
    fn spdx_timestamps() {
        assert!(is_spdx_timestamp("2023-09-01T12:00:00Z"));
        assert!(!is_spdx_timestamp("2023-09-01T12:00:00.123Z"));
        assert!(!is_spdx_timestamp("2023-09-01 12:00:00Z"));
        assert!(!is_spdx_timestamp("2023-13-01T12:00:00Z"));
        assert!(!is_spdx_timestamp("2023-09-01T12:00:00+02:00"));
    }
}
