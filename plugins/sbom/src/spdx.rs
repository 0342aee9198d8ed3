//! SPDX 2.2 and 2.3 documents (JSON, or tag-value converted to the same JSON shape):
//! schema validation plus the rules the schema does not express.

use std::collections::HashMap;

use arca_plugin_sdk::Violation;
use serde_json::Value;

use crate::facts::{
    Component, License, Summary, hash, no_license, str_at, string_at, tool_from_creator,
};
use crate::report::{Analysis, schema_violations};
use crate::schemas::{self, SPDX_VERSIONS};
use crate::util::{Settings, is_spdx_timestamp, quoted_list, short};

/// How violations point into the document: a JSON pointer turned into a path.
pub type PathFn<'a> = &'a dyn Fn(&str) -> String;

/// Fields SPDX 2.2 requires that 2.3 made optional: (array, field, tag-value tag).
const REQUIRED_IN_2_2: &[(&str, &str, &str)] = &[
    ("packages", "licenseConcluded", "PackageLicenseConcluded"),
    ("packages", "licenseDeclared", "PackageLicenseDeclared"),
    ("packages", "copyrightText", "PackageCopyrightText"),
    ("files", "licenseConcluded", "LicenseConcluded"),
    ("files", "licenseInfoInFiles", "LicenseInfoInFile"),
    ("files", "copyrightText", "FileCopyrightText"),
    ("snippets", "licenseConcluded", "SnippetLicenseConcluded"),
    ("snippets", "copyrightText", "SnippetCopyrightText"),
];

/// Package fields new in SPDX 2.3.
const NEW_IN_2_3_PACKAGE: &[&str] = &[
    "primaryPackagePurpose",
    "builtDate",
    "releaseDate",
    "validUntilDate",
];
/// Relationship types new in SPDX 2.3.
const NEW_IN_2_3_RELATIONSHIPS: &[&str] = &["REQUIREMENT_DESCRIPTION_FOR", "SPECIFICATION_FOR"];
/// Checksum algorithms new in SPDX 2.3.
const NEW_IN_2_3_ALGORITHMS: &[&str] = &[
    "SHA3-256",
    "SHA3-384",
    "SHA3-512",
    "BLAKE2b-256",
    "BLAKE2b-384",
    "BLAKE2b-512",
    "BLAKE3",
    "ADLER32",
];

fn array<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    doc.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Whether `s` has the form `SPDX-M.N`.
fn version_form(s: &str) -> bool {
    s.strip_prefix("SPDX-")
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(m, n)| {
            !m.is_empty()
                && !n.is_empty()
                && m.bytes().all(|b| b.is_ascii_digit())
                && n.bytes().all(|b| b.is_ascii_digit())
        })
}

/// An element id: `SPDXRef-` and then letters, digits, `.` and `-`.
fn id_form(s: &str) -> bool {
    s.strip_prefix("SPDXRef-").is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    })
}

/// With `check` (validate): every violation of an SPDX document. Without (index): what it
/// says, or why it cannot be read (limits). `tag_value` says it was converted from tag-value, whose
/// parser has already reported missing fields (so the schema's `required` errors are not
/// repeated).
pub fn analyze(
    doc: &Value,
    path: PathFn<'_>,
    tag_value: bool,
    settings: &Settings,
    check: bool,
) -> Analysis {
    let mut a = Analysis::default();
    let err = |a: &mut Analysis, p: &str, m: String| a.errors.push(Violation::new(path(p), m));
    if !doc.is_object() {
        err(&mut a, "", "an SPDX document must be a JSON object".into());
        return a;
    }
    let version = str_at(doc, "spdxVersion").unwrap_or_default();
    let index = schemas::spdx_index(version);
    if check && index.is_none() {
        let m = if doc.get("spdxVersion").is_none() {
            "spdxVersion is required".to_string()
        } else if !version_form(version) {
            format!(
                "spdxVersion must have the form SPDX-M.N, got {}",
                short(&doc["spdxVersion"].to_string(), 40)
            )
        } else {
            format!(
                "unsupported SPDX version {version:?} (supported: {})",
                quoted_list(&SPDX_VERSIONS)
            )
        };
        err(&mut a, "/spdxVersion", m);
    }
    let elements = ["packages", "files", "snippets"]
        .iter()
        .map(|k| doc.get(*k).and_then(Value::as_array).map_or(0, Vec::len))
        .sum::<usize>();
    if elements > settings.max_components {
        err(
            &mut a,
            "/packages",
            format!(
                "{elements} packages, files and snippets, over max_components ({})",
                settings.max_components
            ),
        );
        return a;
    }
    if check {
        if let Some(i) = index {
            match schemas::spdx(i) {
                Ok(v) => schema_violations(
                    v,
                    doc,
                    path,
                    |k| tag_value && k == "required",
                    &mut a.errors,
                ),
                Err(e) => err(&mut a, "", e.clone()),
            }
        }
        rules(doc, path, &mut a);
        if version == "SPDX-2.2" {
            check_2_2(doc, path, &mut a);
        }
    }
    if !check {
        a.summary = Some(summary(doc, if tag_value { "tag-value" } else { "json" }));
    }
    a
}

/// What the schema cannot say.
fn rules(doc: &Value, path: PathFn<'_>, a: &mut Analysis) {
    let mut err = |p: &str, m: String| a.errors.push(Violation::new(path(p), m));
    if let Some(d) = doc.get("dataLicense")
        && d.as_str() != Some("CC0-1.0")
    {
        err(
            "/dataLicense",
            format!(
                "dataLicense must be \"CC0-1.0\", got {}",
                short(&d.to_string(), 80)
            ),
        );
    }
    if let Some(id) = doc.get("SPDXID")
        && id.as_str() != Some("SPDXRef-DOCUMENT")
    {
        err(
            "/SPDXID",
            format!(
                "the document's SPDXID must be \"SPDXRef-DOCUMENT\", got {}",
                short(&id.to_string(), 80)
            ),
        );
    }
    if let Some(c) = doc.pointer("/creationInfo/created")
        && !c.as_str().is_some_and(is_spdx_timestamp)
    {
        err(
            "/creationInfo/created",
            format!(
                "creationInfo.created must be a UTC time of the form YYYY-MM-DDThh:mm:ssZ, got {}",
                short(&c.to_string(), 80)
            ),
        );
    }

    // Element ids: well-formed and unique.
    let mut ids: HashMap<&str, String> = HashMap::new();
    if let Some(id) = str_at(doc, "SPDXID") {
        ids.insert(id, "/SPDXID".into());
    }
    for key in ["packages", "files", "snippets"] {
        for (i, e) in array(doc, key) {
            let Some(id) = str_at(e, "SPDXID") else {
                continue;
            };
            let p = format!("/{key}/{i}/SPDXID");
            if !id_form(id) {
                err(
                    &p,
                    format!(
                        "SPDXID {:?} must be \"SPDXRef-\" followed by letters, digits, \".\" or \"-\"",
                        short(id, 120)
                    ),
                );
            }
            if let Some(first) = ids.get(id) {
                err(
                    &p,
                    format!(
                        "SPDXID {:?} is not unique: already used at {}",
                        short(id, 120),
                        path(first)
                    ),
                );
            } else {
                ids.insert(id, p);
            }
        }
    }

    // References name an element of this document, an external document's element, or
    // NONE / NOASSERTION.
    let known = |r: &str| {
        ids.contains_key(r)
            || r == "NONE"
            || r == "NOASSERTION"
            || (r.starts_with("DocumentRef-") && r.contains(':'))
    };
    let mut dangling = |p: String, what: &str, r: &str| {
        if !known(r) {
            err(
                &p,
                format!(
                    "{what} {:?} names no element of this document (nor NONE, NOASSERTION or DocumentRef-…:)",
                    short(r, 120)
                ),
            );
        }
    };
    for (i, r) in array(doc, "relationships") {
        for key in ["spdxElementId", "relatedSpdxElement"] {
            if let Some(id) = str_at(r, key) {
                dangling(
                    format!("/relationships/{i}/{key}"),
                    &format!("relationship {key}"),
                    id,
                );
            }
        }
    }
    for (i, d) in array(doc, "documentDescribes") {
        if let Some(id) = d.as_str() {
            dangling(
                format!("/documentDescribes/{i}"),
                "documentDescribes entry",
                id,
            );
        }
    }
    for (i, p) in array(doc, "packages") {
        for (j, f) in array(p, "hasFiles") {
            if let Some(id) = f.as_str() {
                dangling(format!("/packages/{i}/hasFiles/{j}"), "hasFiles entry", id);
            }
        }
    }
    for (i, s) in array(doc, "snippets") {
        if let Some(id) = str_at(s, "snippetFromFile") {
            dangling(
                format!("/snippets/{i}/snippetFromFile"),
                "snippetFromFile",
                id,
            );
        }
    }
}

/// What SPDX 2.2 (its JSON schema, spdx-spec `schemas/2.2.2/spdx-schema.json`, and the
/// 2.2 specification's cardinalities) requires beyond 2.3, and what 2.3 added.
fn check_2_2(doc: &Value, path: PathFn<'_>, a: &mut Analysis) {
    let mut err = |p: &str, m: String| a.errors.push(Violation::new(path(p), m));
    let singular = |k: &str| k.trim_end_matches('s').to_string();
    for (key, field, tag) in REQUIRED_IN_2_2 {
        for (i, e) in array(doc, key) {
            let missing = match e.get(*field) {
                None => true,
                Some(Value::Array(list)) => list.is_empty(),
                Some(_) => false,
            };
            if missing {
                err(
                    &format!("/{key}/{i}"),
                    format!(
                        "SPDX 2.2 requires {field:?} ({tag}) in every {}; it is optional only since SPDX 2.3",
                        singular(key)
                    ),
                );
            }
        }
    }
    for (i, p) in array(doc, "packages") {
        for field in NEW_IN_2_3_PACKAGE {
            if p.get(*field).is_some() {
                err(
                    &format!("/packages/{i}/{field}"),
                    format!("{field:?} is new in SPDX 2.3 and not allowed in an SPDX-2.2 document"),
                );
            }
        }
    }
    for (i, r) in array(doc, "relationships") {
        if let Some(t) = str_at(r, "relationshipType")
            && NEW_IN_2_3_RELATIONSHIPS.contains(&t)
        {
            err(
                &format!("/relationships/{i}/relationshipType"),
                format!(
                    "relationship type {t:?} is new in SPDX 2.3 and not allowed in an SPDX-2.2 document"
                ),
            );
        }
    }
    for key in ["packages", "files"] {
        for (i, e) in array(doc, key) {
            for (j, c) in array(e, "checksums") {
                if let Some(alg) = str_at(c, "algorithm")
                    && NEW_IN_2_3_ALGORITHMS.contains(&alg)
                {
                    err(
                        &format!("/{key}/{i}/checksums/{j}/algorithm"),
                        format!(
                            "checksum algorithm {alg:?} is new in SPDX 2.3 and not allowed in an SPDX-2.2 document"
                        ),
                    );
                }
            }
        }
    }
}

fn summary(doc: &Value, encoding: &'static str) -> Summary {
    let creation = doc.get("creationInfo").unwrap_or(&Value::Null);
    let tools = array(creation, "creators")
        .filter_map(|(_, c)| {
            c.as_str()?
                .trim()
                .strip_prefix("Tool:")
                .map(tool_from_creator)
        })
        .filter(|t| !t.name.is_empty())
        .collect();
    let components = array(doc, "packages")
        .map(|(_, p)| {
            let mut licenses: Vec<License> = ["licenseConcluded", "licenseDeclared"]
                .iter()
                .filter_map(|k| str_at(p, k))
                .filter(|l| !no_license(l))
                .map(|l| License::spdx(l.trim()))
                .collect();
            licenses.dedup();
            Component {
                name: string_at(p, "name").unwrap_or_default(),
                version: string_at(p, "versionInfo"),
                purls: array(p, "externalRefs")
                    .filter(|(_, r)| str_at(r, "referenceType") == Some("purl"))
                    .filter_map(|(_, r)| string_at(r, "referenceLocator"))
                    .collect(),
                kind: string_at(p, "primaryPackagePurpose"),
                licenses,
                hashes: array(p, "checksums")
                    .filter_map(|(_, c)| hash(str_at(c, "algorithm")?, str_at(c, "checksumValue")?))
                    .collect(),
            }
        })
        .collect();
    let version = str_at(doc, "spdxVersion").unwrap_or_default();
    Summary {
        format: "spdx",
        encoding,
        spec_version: version.strip_prefix("SPDX-").unwrap_or(version).to_string(),
        name: string_at(doc, "name"),
        id: string_at(doc, "documentNamespace"),
        created: string_at(creation, "created"),
        tools,
        describes: None,
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(version_form("SPDX-2.3"));
        assert!(version_form("SPDX-10.12"));
        assert!(!version_form("SPDX-2"));
        assert!(!version_form("2.3"));
        assert!(!version_form("SPDX-2.3.1"));
        assert!(id_form("SPDXRef-Package-npm-a.b-1"));
        assert!(!id_form("SPDXRef-"));
        assert!(!id_form("SPDXRef-a_b"));
        assert!(!id_form("Package-1"));
    }
}
