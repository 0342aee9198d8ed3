//! CycloneDX: JSON (schema-validated) and XML (checked for structure), plus what the
//! schemas cannot say: unique `bom-ref`s and dependency refs that name one.

use std::collections::HashMap;
use std::fmt::Write as _;

use arca_plugin_sdk::Violation;
use roxmltree::{Document, Node, ParsingOptions};
use serde_json::Value;

use crate::facts::{Component, License, Summary, Tool, hash, str_at, string_at};
use crate::report::{Analysis, schema_violations};
use crate::schemas::{self, CYCLONEDX_VERSIONS};
use crate::util::{Loc, Settings, push_seg, quoted_list, short};

const XML_NS_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

fn supported() -> String {
    quoted_list(&CYCLONEDX_VERSIONS)
}

/// With `check` (validate): every violation of a CycloneDX JSON BOM. Without (index): what
/// it says, or why it cannot be read (limits).
pub fn analyze_json(doc: &Value, loc: &Loc, settings: &Settings, check: bool) -> Analysis {
    let mut a = Analysis::default();
    if !doc.is_object() {
        a.errors
            .push(loc.v("", "a CycloneDX BOM must be a JSON object"));
        return a;
    }
    let version = doc.get("specVersion");
    let index = version
        .and_then(Value::as_str)
        .and_then(schemas::cyclonedx_index);
    if check {
        match (version, index) {
            (_, Some(_)) => {}
            (None, _) => a.errors.push(loc.v(
                "/specVersion",
                format!("specVersion is required (one of {})", supported()),
            )),
            (Some(Value::String(v)), None) => a.errors.push(loc.v(
                "/specVersion",
                format!(
                    "unsupported CycloneDX specVersion {:?} (supported: {})",
                    short(v, 40),
                    supported()
                ),
            )),
            (Some(other), None) => a.errors.push(loc.v(
                "/specVersion",
                format!(
                    "specVersion must be a string like \"1.6\", got {}",
                    short(&other.to_string(), 40)
                ),
            )),
        }
    }
    let count = count_components(doc);
    if count > settings.max_components {
        a.errors.push(loc.v(
            "/components",
            format!(
                "{count} components, over max_components ({})",
                settings.max_components
            ),
        ));
        return a;
    }
    if check && let Some(i) = index {
        match schemas::cyclonedx(i) {
            Ok(validator) => {
                schema_violations(validator, doc, |p| loc.at(p), |_| false, &mut a.errors)
            }
            Err(e) => a.errors.push(loc.v("", e.clone())),
        }
    }
    if check {
        check_refs_json(doc, loc, &mut a);
    }
    if !check {
        a.summary = Some(summary_json(doc));
    }
    a
}

fn count_components(doc: &Value) -> usize {
    fn walk(list: Option<&Value>) -> usize {
        list.and_then(Value::as_array)
            .map(|a| a.iter().map(|c| 1 + walk(c.get("components"))).sum())
            .unwrap_or(0)
    }
    walk(doc.get("components"))
}

/// Every `bom-ref` unique; every dependency `ref`, `dependsOn` and `provides` entry names one.
fn check_refs_json(doc: &Value, loc: &Loc, a: &mut Analysis) {
    // The common case (all unique) allocates nothing per node: count first, and only walk
    // again with JSON pointers when there is a duplicate to report.
    let mut refs: HashMap<&str, u32> = HashMap::new();
    collect_bom_refs(doc, &mut |r| *refs.entry(r).or_insert(0) += 1);
    if refs.values().any(|n| *n > 1) {
        let mut first: HashMap<&str, String> = HashMap::new();
        let mut pointer = String::new();
        report_duplicates(doc, &mut pointer, &mut first, loc, a);
    }
    let Some(deps) = doc.get("dependencies").and_then(Value::as_array) else {
        return;
    };
    for (i, d) in deps.iter().enumerate() {
        if let Some(r) = str_at(d, "ref")
            && !refs.contains_key(r)
        {
            a.errors.push(loc.v(
                &format!("/dependencies/{i}/ref"),
                format!(
                    "dependency ref {:?} is not the bom-ref of anything in this BOM",
                    short(r, 200)
                ),
            ));
        }
        for key in ["dependsOn", "provides"] {
            for (j, r) in d
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(r) = r.as_str()
                    && !refs.contains_key(r)
                {
                    a.errors.push(loc.v(
                        &format!("/dependencies/{i}/{key}/{j}"),
                        format!(
                            "{key} ref {:?} is not the bom-ref of anything in this BOM",
                            short(r, 200)
                        ),
                    ));
                }
            }
        }
    }
}

/// Every string `bom-ref` anywhere in the document.
fn collect_bom_refs<'a>(v: &'a Value, found: &mut impl FnMut(&'a str)) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("bom-ref") {
                found(r);
            }
            for child in map.values() {
                if child.is_object() || child.is_array() {
                    collect_bom_refs(child, found);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                if child.is_object() || child.is_array() {
                    collect_bom_refs(child, found);
                }
            }
        }
        _ => {}
    }
}

/// Report each `bom-ref` used before, with where it was first used.
fn report_duplicates<'a>(
    v: &'a Value,
    pointer: &mut String,
    first: &mut HashMap<&'a str, String>,
    loc: &Loc,
    a: &mut Analysis,
) {
    let len = pointer.len();
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("bom-ref") {
                let here = format!("{pointer}/bom-ref");
                if let Some(at) = first.get(r.as_str()) {
                    a.errors.push(loc.v(
                        &here,
                        format!(
                            "bom-ref {:?} is not unique: already used at {}",
                            short(r, 200),
                            loc.at(at)
                        ),
                    ));
                } else {
                    first.insert(r, here);
                }
            }
            for (k, child) in map {
                if child.is_object() || child.is_array() {
                    pointer.push('/');
                    push_seg(pointer, k);
                    report_duplicates(child, pointer, first, loc, a);
                    pointer.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    let _ = write!(pointer, "/{i}");
                    report_duplicates(child, pointer, first, loc, a);
                    pointer.truncate(len);
                }
            }
        }
        _ => {}
    }
}

fn summary_json(doc: &Value) -> Summary {
    let metadata = doc.get("metadata").unwrap_or(&Value::Null);
    let mut tools = Vec::new();
    let tool = |t: &Value| Tool {
        name: string_at(t, "name").unwrap_or_default(),
        version: string_at(t, "version"),
    };
    match metadata.get("tools") {
        Some(Value::Array(list)) => tools.extend(list.iter().map(tool)),
        Some(Value::Object(o)) => {
            for key in ["components", "services"] {
                if let Some(Value::Array(list)) = o.get(key) {
                    tools.extend(list.iter().map(tool));
                }
            }
        }
        _ => {}
    }
    tools.retain(|t| !t.name.is_empty());
    let mut components = Vec::new();
    collect_components_json(doc.get("components"), &mut components);
    let root = metadata.get("component");
    Summary {
        format: "cyclonedx",
        encoding: "json",
        spec_version: str_at(doc, "specVersion").unwrap_or_default().to_string(),
        name: root.and_then(|c| string_at(c, "name")),
        id: string_at(doc, "serialNumber"),
        created: string_at(metadata, "timestamp"),
        tools,
        describes: root.and_then(|c| string_at(c, "purl")),
        components,
    }
}

fn collect_components_json(list: Option<&Value>, out: &mut Vec<Component>) {
    for c in list.and_then(Value::as_array).into_iter().flatten() {
        let mut licenses = Vec::new();
        for l in c
            .get("licenses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(e) = string_at(l, "expression") {
                licenses.push(License::spdx(e));
            }
            if let Some(lic) = l.get("license") {
                if let Some(id) = string_at(lic, "id") {
                    licenses.push(License::spdx(id));
                } else if let Some(name) = string_at(lic, "name") {
                    licenses.push(License::name(name));
                }
            }
        }
        licenses.dedup();
        let hashes = c
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| hash(str_at(h, "alg")?, str_at(h, "content")?))
            .collect();
        out.push(Component {
            name: string_at(c, "name").unwrap_or_default(),
            version: string_at(c, "version"),
            purls: string_at(c, "purl").into_iter().collect(),
            kind: string_at(c, "type"),
            licenses,
            hashes,
        });
        collect_components_json(c.get("components"), out);
    }
}

// ---- XML ----

/// A CycloneDX XML BOM, as [`analyze_json`]. XML is not schema-validated (no XSD validator runs
/// inside the plugin); its structure is checked: well-formed, the `bom` root in the
/// namespace of a supported version, components with a `name` and an allowed `type`,
/// unique `bom-ref`s and dependency refs that name one.
pub fn analyze_xml(text: &str, loc: &Loc, settings: &Settings, check: bool) -> Analysis {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let doc = match Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(e) => {
            return Analysis::failed(Violation::new(
                loc.line(e.pos().row),
                format!("not well-formed XML: {e}"),
            ));
        }
    };
    let line = |n: Node| doc.text_pos_at(n.range().start).row;
    let mut a = Analysis::default();

    // Nesting, without recursion (the parser itself does not recurse): nodes come in
    // document order, so a parent's depth is known before its children's.
    let mut depths = vec![0usize; doc.descendants().count() + 1];
    for n in doc.descendants().filter(|n| n.is_element()) {
        let depth = n.parent().map_or(0, |p| depths[p.id().get_usize()]) + 1;
        depths[n.id().get_usize()] = depth;
        if depth > settings.max_depth {
            a.errors.push(Violation::new(
                loc.line(line(n)),
                format!("XML nested deeper than max_depth ({})", settings.max_depth),
            ));
            return a;
        }
    }

    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    let version = ns.strip_prefix(XML_NS_PREFIX).unwrap_or("");
    let index = schemas::cyclonedx_index(version);
    if root.tag_name().name() != "bom" || index.is_none() {
        a.errors.push(Violation::new(
            loc.line(line(root)),
            format!(
                "the root element must be <bom> in the namespace {XML_NS_PREFIX}<version> of a supported version ({}), found <{}> in {}",
                supported(),
                root.tag_name().name(),
                if ns.is_empty() { "no namespace".to_string() } else { format!("{ns:?}") }
            ),
        ));
        return a;
    }
    let index = index.unwrap_or_default();
    let el = |n: &Node, name: &str| is_el(n, ns, name);

    // Components at any depth: <component> children of a <components> element, except
    // those of metadata/tools (tool descriptions, 1.5+).
    let components: Vec<Node> = root
        .descendants()
        .filter(|n| el(n, "component"))
        .filter(|n| n.parent().is_some_and(|p| el(&p, "components")))
        .filter(|n| !n.ancestors().any(|x| el(&x, "tools") || el(&x, "metadata")))
        .collect();
    if components.len() > settings.max_components {
        a.errors.push(Violation::new(
            loc.line(line(root)),
            format!(
                "{} components, over max_components ({})",
                components.len(),
                settings.max_components
            ),
        ));
        return a;
    }

    if check {
        let types = schemas::component_types(index);
        for c in &components {
            match c.attribute("type") {
                None => a.errors.push(Violation::new(
                    loc.line(line(*c)),
                    "<component> has no type attribute (required)",
                )),
                Some(t) if !types.iter().any(|x| x == t) => a.errors.push(Violation::new(
                    loc.line(line(*c)),
                    format!(
                        "component type {:?} is not one of {}",
                        short(t, 80),
                        quoted_list(types)
                    ),
                )),
                Some(_) => {}
            }
            if child_text(*c, ns, "name").is_none() {
                a.errors.push(Violation::new(
                    loc.line(line(*c)),
                    "<component> has no <name> (required)",
                ));
            }
        }
        let mut refs: HashMap<&str, u32> = HashMap::new();
        for n in root.descendants().filter(|n| n.is_element()) {
            if let Some(r) = n.attribute("bom-ref") {
                if let Some(first) = refs.get(r) {
                    a.errors.push(Violation::new(
                        loc.line(line(n)),
                        format!(
                            "bom-ref {:?} is not unique: already used on line {first}",
                            short(r, 200)
                        ),
                    ));
                } else {
                    refs.insert(r, line(n));
                }
            }
        }
        for d in root.descendants().filter(|n| el(n, "dependency")) {
            match d.attribute("ref") {
                Some(r) if !refs.contains_key(r) => a.errors.push(Violation::new(
                    loc.line(line(d)),
                    format!(
                        "dependency ref {:?} is not the bom-ref of anything in this BOM",
                        short(r, 200)
                    ),
                )),
                Some(_) => {}
                None => a.errors.push(Violation::new(
                    loc.line(line(d)),
                    "<dependency> has no ref attribute (required)",
                )),
            }
        }
    }

    if check {
        return a;
    }
    // What it says.
    let metadata = child_el(root, ns, "metadata");
    let mut tools = Vec::new();
    if let Some(t) = metadata.and_then(|m| child_el(m, ns, "tools")) {
        for n in t
            .descendants()
            .filter(|n| el(n, "tool") || el(n, "component") || el(n, "service"))
        {
            if let Some(name) = child_text(n, ns, "name") {
                tools.push(Tool {
                    name,
                    version: child_text(n, ns, "version"),
                });
            }
        }
    }
    let root_component = metadata.and_then(|m| child_el(m, ns, "component"));
    let summary_components = components
        .iter()
        .map(|c| {
            let mut licenses = Vec::new();
            if let Some(ls) = child_el(*c, ns, "licenses") {
                for l in ls.children().filter(|n| n.is_element()) {
                    if el(&l, "expression") {
                        if let Some(t) = l.text().map(str::trim).filter(|t| !t.is_empty()) {
                            licenses.push(License::spdx(t));
                        }
                    } else if el(&l, "license") {
                        if let Some(id) = child_text(l, ns, "id") {
                            licenses.push(License::spdx(id));
                        } else if let Some(name) = child_text(l, ns, "name") {
                            licenses.push(License::name(name));
                        }
                    }
                }
            }
            let hashes = child_el(*c, ns, "hashes")
                .into_iter()
                .flat_map(|h| h.children().filter(|n| el(n, "hash")))
                .filter_map(|h| hash(h.attribute("alg")?, h.text()?))
                .collect();
            Component {
                name: child_text(*c, ns, "name").unwrap_or_default(),
                version: child_text(*c, ns, "version"),
                purls: child_text(*c, ns, "purl").into_iter().collect(),
                kind: c.attribute("type").map(str::to_string),
                licenses,
                hashes,
            }
        })
        .collect();
    a.summary = Some(Summary {
        format: "cyclonedx",
        encoding: "xml",
        spec_version: version.to_string(),
        name: root_component.and_then(|c| child_text(c, ns, "name")),
        id: root.attribute("serialNumber").map(str::to_string),
        created: metadata.and_then(|m| child_text(m, ns, "timestamp")),
        tools,
        describes: root_component.and_then(|c| child_text(c, ns, "purl")),
        components: summary_components,
    });
    a
}

fn is_el(n: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
}

fn child_el<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| is_el(c, ns, name))
}

fn child_text(n: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    child_el(n, ns, name)
        .and_then(|c| c.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}
