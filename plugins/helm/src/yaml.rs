//! YAML read the way Helm reads it.
//!
//! Helm parses `Chart.yaml` and `values.yaml` with `sigs.k8s.io/yaml`: go-yaml v2 (YAML 1.1
//! scalar resolution) into generic values, then converted to JSON. That decides what a
//! values file *means* — `enabled: yes` is the boolean `true`, `mode: 0755` the integer 493,
//! a key `on:` the string `"true"` — and so whether it satisfies `values.schema.json`. A
//! YAML 1.2 reader would see strings there and refuse charts that Helm installs.
//!
//! So this module takes the syntax from `saphyr-parser` (a maintained, pure-Rust YAML
//! parser whose event API keeps each scalar's style) and resolves plain scalars itself with
//! go-yaml v2's rules. Aliases are expanded under a node budget (no "billion laughs"), and
//! nesting is bounded, so hostile input cannot exhaust the plugin's memory or stack.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted (serde_json, jsonschema and `Drop` all recurse).
const MAX_DEPTH: usize = 128;
/// Nodes allowed beyond one per input byte, for alias expansion.
const EXTRA_NODES: usize = 100_000;

/// A value with the number of nodes it holds (for the alias budget).
struct Node {
    value: Value,
    nodes: usize,
}

enum Key {
    /// `<<`: the value is merged into the enclosing mapping.
    Merge,
    Name(String),
}

enum Frame {
    Seq {
        items: Vec<Value>,
        nodes: usize,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        nodes: usize,
        anchor: usize,
        key: Option<Key>,
    },
}

/// Parse the first YAML document of `text` into the JSON value Helm would see.
/// An empty document is `null`.
pub fn to_json(text: &str) -> Result<Value, String> {
    let budget = text.len().saturating_add(EXTRA_NODES);
    let mut used = 0usize;
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut parser = Parser::new_from_str(text);
    let mut started = false;

    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| {
            format!(
                "line {} column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            )
        })?;
        let at = |msg: &str| {
            format!(
                "line {} column {}: {msg}",
                span.start.line(),
                span.start.col() + 1
            )
        };
        // (node, anchor, whether it is a plain `<<`: a merge key in key position)
        let done: Option<(Node, usize, bool)> = match ev {
            Event::StreamStart | Event::Nothing => None,
            Event::DocumentStart(_) => {
                if started {
                    // go-yaml's Unmarshal reads the first document only.
                    break;
                }
                started = true;
                None
            }
            Event::DocumentEnd | Event::StreamEnd => None,
            Event::Alias(id) => {
                let v = anchors
                    .get(&id)
                    .ok_or_else(|| at("alias to an unknown anchor"))?;
                let nodes = count(v);
                Some((
                    Node {
                        value: v.clone(),
                        nodes,
                    },
                    0,
                    false,
                ))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                let value = scalar(&text, style, tag.as_deref()).map_err(|m| at(&m))?;
                Some((Node { value, nodes: 1 }, anchor, is_merge))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(&format!("nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    nodes: 1,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(&format!("nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(Frame::Map {
                    map: Map::new(),
                    nodes: 1,
                    anchor,
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    nodes,
                    anchor,
                }) => Some((
                    Node {
                        value: Value::Array(items),
                        nodes,
                    },
                    anchor,
                    false,
                )),
                _ => return Err(at("unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    map, nodes, anchor, ..
                }) => Some((
                    Node {
                        value: Value::Object(map),
                        nodes,
                    },
                    anchor,
                    false,
                )),
                _ => return Err(at("unbalanced mapping")),
            },
        };
        let Some((node, anchor, is_merge)) = done else {
            continue;
        };
        used = used.saturating_add(node.nodes);
        if used > budget {
            return Err(at(
                "the document expands to too many values (aliases repeated too often?)",
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.value.clone());
        }
        // Hand the finished node to its parent.
        match stack.last_mut() {
            None => {
                root = Some(node.value);
            }
            Some(Frame::Seq { items, nodes, .. }) => {
                *nodes += node.nodes;
                items.push(node.value);
            }
            Some(Frame::Map {
                map, nodes, key, ..
            }) => {
                *nodes += node.nodes;
                match key.take() {
                    None if is_merge => *key = Some(Key::Merge),
                    None => *key = Some(map_key(node.value).map_err(|m| at(&m))?),
                    Some(Key::Name(k)) => {
                        map.insert(k, node.value);
                    }
                    Some(Key::Merge) => merge(map, node.value).map_err(|m| at(&m))?,
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

/// The JSON key a YAML key becomes (sigs.k8s.io/yaml stringifies scalar keys).
fn map_key(v: Value) -> Result<Key, String> {
    match v {
        Value::String(s) => Ok(Key::Name(s)),
        Value::Bool(b) => Ok(Key::Name(b.to_string())),
        Value::Number(n) => Ok(Key::Name(n.to_string())),
        Value::Null => Err("a mapping key is null, which Helm cannot read".into()),
        Value::Array(_) | Value::Object(_) => {
            Err("a mapping key is a sequence or mapping, which Helm cannot read".into())
        }
    }
}

/// A `<<` merge: keys the mapping already has win (so do explicit keys written after the
/// merge); among merged mappings, the first one listed wins.
fn merge(map: &mut Map<String, Value>, v: Value) -> Result<(), String> {
    let sources = match v {
        Value::Object(m) => vec![m],
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::Object(m) => out.push(m),
                    _ => return Err("a << merge list must hold only mappings".into()),
                }
            }
            out
        }
        _ => return Err("a << merge needs a mapping or a list of mappings".into()),
    };
    for m in sources {
        for (k, v) in m {
            map.entry(k).or_insert(v);
        }
    }
    Ok(())
}

fn count(v: &Value) -> usize {
    // Iterative, so a deep value cannot overflow the stack here.
    let mut n = 0;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        n += 1;
        match v {
            Value::Array(a) => todo.extend(a.iter()),
            Value::Object(m) => todo.extend(m.values()),
            _ => {}
        }
    }
    n
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let core = tag.is_yaml_core_schema();
        match (core, tag.suffix.as_str()) {
            (true, "str" | "binary" | "timestamp") => return Ok(Value::String(text.into())),
            (true, "null") => return Ok(Value::Null),
            (true, "bool" | "int" | "float") => {
                return match resolve_plain(text)? {
                    v @ (Value::Bool(_) | Value::Number(_)) => Ok(v),
                    _ => Err(format!("{text:?} is not a valid !!{}", tag.suffix)),
                };
            }
            // `!` alone forces a string; unknown tags keep the value as written.
            _ if tag.handle == "!" && tag.suffix.is_empty() => {
                return Ok(Value::String(text.into()));
            }
            _ => {}
        }
    }
    match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Ok(Value::String(text.into())),
    }
}

/// go-yaml v2's resolution of a plain scalar.
fn resolve_plain(s: &str) -> Result<Value, String> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false));
        }
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => {
            return Err(format!(
                "{s} is not a number JSON can hold, so Helm cannot read this file"
            ));
        }
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => {
            if is_yaml_float(s)
                && let Ok(f) = s.parse::<f64>()
            {
                return float(f, s);
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(v) = go_parse_int(&plain) {
                return Ok(v);
            }
            if is_yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return float(f, s);
            }
        }
        _ => {}
    }
    Ok(Value::String(s.into()))
}

fn float(f: f64, s: &str) -> Result<Value, String> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("{s} is not a number JSON can hold"))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: sign, then `0x`, `0o`,
/// `0b` or a leading `0` (octal) prefix.
fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::Number(Number::from(
                (magnitude as i128).wrapping_neg() as i64,
            )));
        }
        return None;
    }
    if magnitude <= i64::MAX as u64 {
        Some(Value::Number(Number::from(magnitude as i64)))
    } else if s.starts_with('+') {
        // ParseUint takes no sign.
        None
    } else {
        Some(Value::Number(Number::from(magnitude)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_as_in_go_yaml_v2() {
        let v = to_json(
            "a: yes\nb: off\nc: 0755\nd: 0x1F\ne: 1_000\nf: 1.5\ng: 1e3\nh: ~\ni: '1'\nj: \"yes\"\n\
             k: 08\nl: 2024-01-02\nm: -12\nn: .5\no: 1.0.0\np: +3\nq: !!str 12\non: x\nr: 18446744073709551615\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": 493, "d": 31, "e": 1000, "f": 1.5, "g": 1000.0,
                   "h": null, "i": "1", "j": "yes", "k": 8.0, "l": "2024-01-02", "m": -12,
                   "false": 0.5, "o": "1.0.0", "p": 3, "q": "12", "true": "x",
                   "r": 18446744073709551615u64})
        );
    }

    #[test]
    fn anchors_aliases_and_merges() {
        let v = to_json(
            "base: &b {x: 1, z: 2}\nother:\n  <<: *b\n  z: 3\nlist: [*b, *b]\nq: {\"<<\": 1}\ny: n\n",
        )
        .unwrap();
        assert_eq!(v["other"], json!({"x": 1, "z": 3}));
        assert_eq!(v["list"], json!([{"x": 1, "z": 2}, {"x": 1, "z": 2}]));
        assert_eq!(v["q"], json!({"<<": 1}));
        // go-yaml v2: `y` and `n` are booleans, as keys too.
        assert_eq!(v["true"], json!(false));
    }

    #[test]
    fn billion_laughs_and_deep_nesting_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = to_json(&doc).unwrap_err();
        assert!(e.contains("too many values"), "{e}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        let e = to_json(&deep).unwrap_err();
        assert!(e.contains("nested deeper"), "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let e = to_json("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.starts_with("line "), "{e}");
        assert_eq!(to_json("").unwrap(), Value::Null);
        assert_eq!(to_json("# only a comment\n").unwrap(), Value::Null);
        assert!(to_json("a: .nan\n").is_err());
        assert!(to_json("? [1]\n: x\n").is_err());
    }

    #[test]
    fn boms_line_ends_documents_blocks_and_tags() {
        assert_eq!(
            to_json("\u{feff}a: 1\r\nb: x\r\n").unwrap(),
            json!({"a": 1, "b": "x"})
        );
        assert_eq!(to_json("---\na: 1\n---\nb: 2\n").unwrap(), json!({"a": 1}));
        assert_eq!(
            to_json("a: &x 1\nb: *x\n").unwrap(),
            json!({"a": 1, "b": 1})
        );
        assert_eq!(
            to_json("a: |\n  text\n  more\n").unwrap(),
            json!({"a": "text\nmore\n"})
        );
        assert_eq!(to_json("a: !!int \"12\"\n").unwrap(), json!({"a": 12}));
        assert_eq!(to_json("a: 1.0\n").unwrap(), json!({"a": 1.0}));
        assert_eq!(
            to_json("a: -9223372036854775808\n").unwrap(),
            json!({"a": i64::MIN})
        );
    }
}
