//! What an SBOM says, in one shape for every format: the indexed document and the facets.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A tool that produced the SBOM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: Option<String>,
}

/// A license as written: an SPDX id or expression (whose ids are facets too), or a free-form
/// name (CycloneDX `license.name`), which is not split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub text: String,
    pub expression: bool,
}

impl License {
    /// An SPDX license id or expression.
    pub fn spdx(text: impl Into<String>) -> Self {
        License {
            text: text.into(),
            expression: true,
        }
    }

    /// A license name that is not an SPDX expression.
    pub fn name(text: impl Into<String>) -> Self {
        License {
            text: text.into(),
            expression: false,
        }
    }
}

/// One component (CycloneDX) or package (SPDX).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub version: Option<String>,
    /// Package URLs as written (SPDX packages may carry several).
    pub purls: Vec<String>,
    pub kind: Option<String>,
    /// License ids, names or expressions as written.
    pub licenses: Vec<License>,
    /// `alg:value`, lowercase.
    pub hashes: Vec<String>,
}

/// What one SBOM says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `cyclonedx` or `spdx`.
    pub format: &'static str,
    /// `json`, `xml` or `tag-value`.
    pub encoding: &'static str,
    /// `1.5`, `2.3`.
    pub spec_version: String,
    /// SPDX document name, or the CycloneDX `metadata.component` name.
    pub name: Option<String>,
    /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
    pub id: Option<String>,
    pub created: Option<String>,
    pub tools: Vec<Tool>,
    /// CycloneDX `metadata.component` purl (what the BOM describes).
    pub describes: Option<String>,
    pub components: Vec<Component>,
}

impl Summary {
    /// The document JSON for this SBOM, listing at most `max_components` components.
    pub fn to_json(&self, max_components: usize) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("format".into(), self.format.into());
        o.insert("encoding".into(), self.encoding.into());
        o.insert("specVersion".into(), self.spec_version.clone().into());
        o.insert("name".into(), json!(self.name));
        o.insert("id".into(), json!(self.id));
        o.insert("created".into(), json!(self.created));
        o.insert(
            "tools".into(),
            self.tools
                .iter()
                .map(|t| json!({"name": t.name, "version": t.version}))
                .collect(),
        );
        if let Some(d) = &self.describes {
            o.insert("describes".into(), d.clone().into());
        }
        o.insert("componentCount".into(), self.components.len().into());
        o.insert(
            "components".into(),
            self.components
                .iter()
                .take(max_components)
                .map(|c| {
                    let mut v = json!({
                        "name": c.name,
                        "version": c.version,
                        "purl": c.purls.first(),
                        "type": c.kind,
                        "licenses": c.licenses.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
                        "hashes": c.hashes,
                    });
                    if c.purls.len() > 1 {
                        v["purls"] = json!(c.purls);
                    }
                    v
                })
                .collect(),
        );
        if self.components.len() > max_components {
            o.insert("componentsTruncated".into(), true.into());
        }
        o
    }

    /// Facets about the SBOM manifest (`own`) and about its subject (`subject`).
    pub fn facets(
        &self,
        own: &mut BTreeSet<(String, String)>,
        subject: &mut BTreeSet<(String, String)>,
    ) {
        let add = |set: &mut BTreeSet<(String, String)>, name: &str, value: &str| {
            if !value.is_empty() {
                set.insert((name.to_string(), value.to_string()));
            }
        };
        add(own, "sbom.format", self.format);
        add(own, "sbom.specVersion", &self.spec_version);
        if let Some(c) = &self.created {
            add(own, "sbom.created", c);
        }
        for t in &self.tools {
            add(own, "sbom.tool", &t.name);
        }
        add(own, "sbom.components", &self.components.len().to_string());
        for c in &self.components {
            for p in &c.purls {
                let package = purl_package(p);
                for set in [&mut *own, &mut *subject] {
                    add(set, "sbom.purl", p);
                    add(set, "sbom.package", package);
                }
            }
            for set in [&mut *own, &mut *subject] {
                add(set, "sbom.name", &c.name);
            }
            for l in &c.licenses {
                for set in [&mut *own, &mut *subject] {
                    add(set, "sbom.license", &l.text);
                    if l.expression {
                        for id in license_ids(&l.text) {
                            add(set, "sbom.license", id);
                        }
                    }
                }
            }
            for h in &c.hashes {
                add(own, "sbom.hash", h);
            }
        }
    }
}

/// A purl without version, qualifiers and subpath: `pkg:pypi/requests@2.31.0?x=y#sub` →
/// `pkg:pypi/requests`. An `@` right after a `/` starts a (not percent-encoded) npm scope,
/// not a version.
pub fn purl_package(purl: &str) -> &str {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    let p = &purl[..end];
    let bytes = p.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'@' && i > 0 && bytes[i - 1] != b'/' {
            return &p[..i];
        }
    }
    p
}

/// The license ids in an SPDX license expression (`(MIT OR Apache-2.0) AND BSD-3-Clause
/// WITH x` → `MIT`, `Apache-2.0`, `BSD-3-Clause`): operators, parentheses and exception
/// ids after `WITH` are left out, and so are `NONE`/`NOASSERTION`. A single id yields itself.
pub fn license_ids(expression: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut after_with = false;
    for token in expression
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
    {
        match token.to_ascii_uppercase().as_str() {
            "AND" | "OR" => after_with = false,
            "WITH" => after_with = true,
            "NONE" | "NOASSERTION" => {}
            _ if after_with => after_with = false,
            _ => out.push(token),
        }
    }
    out
}

/// Whether a license value says nothing (`NOASSERTION`, `NONE`, empty).
pub fn no_license(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s == "NOASSERTION" || s == "NONE"
}

/// `SHA-256` / `SHA256` / `sha-1` → `sha256` / `sha1`; `SHA3-256` → `sha3-256`;
/// `BLAKE2b-256` → `blake2b-256`; `MD5` → `md5`.
pub fn hash_alg(alg: &str) -> String {
    let a = alg.trim().to_ascii_lowercase();
    match a.strip_prefix("sha-") {
        Some(bits) if bits.bytes().all(|b| b.is_ascii_digit()) => format!("sha{bits}"),
        _ => a,
    }
}

/// `alg:value` for a facet.
pub fn hash(alg: &str, value: &str) -> Option<String> {
    let (alg, value) = (hash_alg(alg), value.trim().to_ascii_lowercase());
    (!alg.is_empty() && !value.is_empty()).then(|| format!("{alg}:{value}"))
}

/// A tool from an SPDX creator (`Tool: syft-0.90.0`) or a free-form `name version` string.
pub fn tool_from_creator(s: &str) -> Tool {
    let s = s.trim();
    let bytes = s.as_bytes();
    // `name-1.2.3` or `name-v1.2.3`: the first `-` followed by a version.
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'-' && i > 0 {
            let rest = &s[i + 1..];
            let r = rest.strip_prefix('v').unwrap_or(rest);
            if r.starts_with(|c: char| c.is_ascii_digit()) {
                return Tool {
                    name: s[..i].to_string(),
                    version: Some(rest.to_string()),
                };
            }
        }
    }
    if let Some((name, version)) = s.rsplit_once(' ') {
        let v = version.strip_prefix('v').unwrap_or(version);
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            return Tool {
                name: name.trim().to_string(),
                version: Some(version.to_string()),
            };
        }
    }
    Tool {
        name: s.to_string(),
        version: None,
    }
}

/// A string field of a JSON object.
pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A non-empty string field of a JSON object, owned.
pub fn string_at(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_packages() {
        assert_eq!(
            purl_package("pkg:pypi/requests@2.31.0"),
            "pkg:pypi/requests"
        );
        assert_eq!(
            purl_package("pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12"),
            "pkg:deb/debian/libc6"
        );
        assert_eq!(
            purl_package("pkg:npm/%40angular/core@16.0.0"),
            "pkg:npm/%40angular/core"
        );
        assert_eq!(
            purl_package("pkg:npm/@angular/core@16.0.0"),
            "pkg:npm/@angular/core"
        );
        assert_eq!(
            purl_package("pkg:golang/github.com/a/b#sub/dir"),
            "pkg:golang/github.com/a/b"
        );
        assert_eq!(purl_package("pkg:generic/x"), "pkg:generic/x");
    }

    #[test]
    fn license_expressions() {
        assert_eq!(license_ids("MIT"), vec!["MIT"]);
        assert_eq!(
            license_ids("(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0"),
            vec!["MIT", "Apache-2.0", "GPL-2.0-only"]
        );
        assert_eq!(license_ids("NOASSERTION"), Vec::<&str>::new());
        assert_eq!(
            license_ids("LicenseRef-x or MIT"),
            vec!["LicenseRef-x", "MIT"]
        );
    }

    #[test]
    fn hashes_and_tools() {
        assert_eq!(hash("SHA-256", "ABC").as_deref(), Some("sha256:abc"));
        assert_eq!(hash("SHA1", "ab").as_deref(), Some("sha1:ab"));
        assert_eq!(hash("SHA3-512", "ab").as_deref(), Some("sha3-512:ab"));
        assert_eq!(hash("BLAKE2b-256", "ab").as_deref(), Some("blake2b-256:ab"));
        assert_eq!(hash("MD5", "ab").as_deref(), Some("md5:ab"));
        let t = tool_from_creator("syft-v0.42.0-bogus");
        assert_eq!(
            (t.name.as_str(), t.version.as_deref()),
            ("syft", Some("v0.42.0-bogus"))
        );
        let t = tool_from_creator("spdx-tools-0.8.0");
        assert_eq!(
            (t.name.as_str(), t.version.as_deref()),
            ("spdx-tools", Some("0.8.0"))
        );
        let t = tool_from_creator("GitHub.com-Dependency-Graph");
        assert_eq!(
            (t.name.as_str(), t.version),
            ("GitHub.com-Dependency-Graph", None)
        );
        let t = tool_from_creator("cdxgen 10.2.1");
        assert_eq!(
            (t.name.as_str(), t.version.as_deref()),
            ("cdxgen", Some("10.2.1"))
        );
    }
}
