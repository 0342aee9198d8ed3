//! SPDX tag-value, parsed strictly into the SPDX JSON shape (so one set of rules and the
//! JSON schema check both encodings), remembering the line of every field.
//!
//! Strict means: every non-blank, non-comment line is `Tag: value`; a `<text>` value must
//! be closed; tags are known (unknown ones are warned about and ignored); every tag is
//! where it belongs (`PackageVersion` only after a `PackageName`); single-valued tags
//! appear once; and the mandatory fields of the document and of each package, file,
//! snippet, extracted license and annotation are present — so a truncated file does not
//! "parse" as an empty document.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Where each field came from: JSON pointer → line.
#[derive(Debug, Default, Clone)]
pub struct LineMap(HashMap<String, u32>);

impl LineMap {
    /// The line of `pointer`, or of its nearest ancestor that has one; line 1 otherwise.
    pub fn line(&self, pointer: &str) -> u32 {
        let mut p = pointer;
        loop {
            if let Some(l) = self.0.get(p) {
                return *l;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 1,
            }
        }
    }

    fn set(&mut self, pointer: String, line: u32) {
        self.0.entry(pointer).or_insert(line);
    }
}

/// The outcome of parsing.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The document in SPDX JSON shape.
    pub doc: Value,
    pub lines: LineMap,
    /// (line, message)
    pub errors: Vec<(u32, String)>,
    pub warnings: Vec<(u32, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Document,
    Package(usize),
    File(usize),
    Snippet(usize),
    License(usize),
}

/// An element being built, with the line it started on.
struct Element {
    obj: Map<String, Value>,
    line: u32,
}

#[derive(Default)]
struct Builder {
    doc: Map<String, Value>,
    creation: Map<String, Value>,
    packages: Vec<Element>,
    files: Vec<Element>,
    snippets: Vec<Element>,
    licenses: Vec<Element>,
    relationships: Vec<Element>,
    annotations: Vec<Element>,
    reviews: Vec<Element>,
    external_refs: Vec<Value>,
    lines: LineMap,
    errors: Vec<(u32, String)>,
    warnings: Vec<(u32, String)>,
    /// Line of each single-valued field already set, by pointer.
    seen: HashMap<String, u32>,
    section: Option<Section>,
    /// Whether the last relationship / external ref / annotation / review is the one
    /// continuation tags (`RelationshipComment`, …) attach to.
    last_relationship: Option<usize>,
}

/// Tags that the 2.x specifications define and this parser ignores (deprecated, with no
/// SPDX JSON counterpart).
const IGNORED: &[&str] = &[
    "ArtifactOfProjectName",
    "ArtifactOfProjectHomePage",
    "ArtifactOfProjectURI",
];

/// Parse tag-value text.
pub fn parse(text: &str) -> Parsed {
    let mut b = Builder {
        section: Some(Section::Document),
        ..Builder::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0usize;
    let mut last_line = 0u32;
    while i < lines.len() {
        let line_no = (i + 1) as u32;
        let raw = lines[i];
        i += 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        last_line = line_no;
        let Some((tag, rest)) = line.split_once(':') else {
            b.errors.push((
                line_no,
                format!(
                    "expected \"Tag: value\", got {:?}",
                    crate::util::short(line, 80)
                ),
            ));
            continue;
        };
        let tag = tag.trim();
        if tag.is_empty() || !tag.bytes().all(|c| c.is_ascii_alphanumeric()) {
            b.errors.push((
                line_no,
                format!(
                    "expected \"Tag: value\", got {:?}",
                    crate::util::short(line, 80)
                ),
            ));
            continue;
        }
        let rest = rest.trim_start();
        let value = if let Some(after) = rest.strip_prefix("<text>") {
            // A text value, possibly over several lines, up to </text>.
            if let Some(end) = after.find("</text>") {
                after[..end].to_string()
            } else {
                let mut value = after.to_string();
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    if let Some(end) = l.find("</text>") {
                        value.push('\n');
                        value.push_str(&l[..end]);
                        closed = true;
                        break;
                    }
                    value.push('\n');
                    value.push_str(l);
                }
                if !closed {
                    b.errors.push((
                        line_no,
                        format!("the <text> value of {tag} opened here is never closed with </text> (is the file truncated?)"),
                    ));
                    break;
                }
                last_line = i as u32;
                value
            }
        } else {
            rest.trim_end().to_string()
        };
        if value.trim().is_empty() && !rest.starts_with("<text>") {
            b.errors.push((line_no, format!("{tag} has no value")));
            continue;
        }
        b.tag(tag, value, line_no);
    }
    b.finish(last_line.max(1))
}

impl Builder {
    fn pointer_of(&self, section: Section) -> String {
        match section {
            Section::Document => String::new(),
            Section::Package(i) => format!("/packages/{i}"),
            Section::File(i) => format!("/files/{i}"),
            Section::Snippet(i) => format!("/snippets/{i}"),
            Section::License(i) => format!("/hasExtractedLicensingInfos/{i}"),
        }
    }

    fn obj(&mut self, section: Section) -> &mut Map<String, Value> {
        match section {
            Section::Document => &mut self.doc,
            Section::Package(i) => &mut self.packages[i].obj,
            Section::File(i) => &mut self.files[i].obj,
            Section::Snippet(i) => &mut self.snippets[i].obj,
            Section::License(i) => &mut self.licenses[i].obj,
        }
    }

    /// Set a single-valued field of `section`.
    fn set(&mut self, section: Section, tag: &str, key: &str, value: Value, line: u32) {
        let pointer = format!("{}/{key}", self.pointer_of(section));
        if let Some(first) = self.seen.get(&pointer) {
            self.errors.push((
                line,
                format!("{tag} given twice for the same element (first on line {first})"),
            ));
            return;
        }
        self.seen.insert(pointer.clone(), line);
        self.lines.set(pointer, line);
        self.obj(section).insert(key.to_string(), value);
    }

    /// Append to a list field of `section`.
    fn push(&mut self, section: Section, key: &str, value: Value, line: u32) {
        let base = self.pointer_of(section);
        let list = self
            .obj(section)
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = list {
            a.push(value);
            let n = a.len() - 1;
            self.lines.set(format!("{base}/{key}/{n}"), line);
            self.lines.set(format!("{base}/{key}"), line);
        }
    }

    /// The current section if it is of the kind `want` names, else an error.
    fn in_section(&mut self, tag: &str, want: &str, line: u32) -> Option<Section> {
        let s = self.section?;
        let ok = matches!(
            (s, want),
            (Section::Package(_), "package")
                | (Section::File(_), "file")
                | (Section::Snippet(_), "snippet")
                | (Section::License(_), "license")
        );
        if ok {
            Some(s)
        } else {
            let starter = match want {
                "package" => "PackageName",
                "file" => "FileName",
                "snippet" => "SnippetSPDXID",
                _ => "LicenseID",
            };
            self.errors.push((
                line,
                format!(
                    "{tag} belongs to a {want}, but no {want} is open here ({starter} starts one)"
                ),
            ));
            None
        }
    }

    fn checksum(&mut self, value: &str, line: u32) -> Option<Value> {
        match value.split_once(':') {
            Some((alg, v)) if !alg.trim().is_empty() && !v.trim().is_empty() => {
                Some(json!({"algorithm": alg.trim(), "checksumValue": v.trim()}))
            }
            _ => {
                self.errors.push((
                    line,
                    format!("a checksum must be \"ALGORITHM: value\", got {value:?}"),
                ));
                None
            }
        }
    }

    fn range(&mut self, value: &str, key: &str, line: u32) -> Option<Value> {
        let parsed = value.split_once(':').and_then(|(a, b)| {
            Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((start, end)) => Some(json!({
                "startPointer": {key: start},
                "endPointer": {key: end},
            })),
            None => {
                self.errors.push((
                    line,
                    format!("a range must be \"start:end\" with two numbers, got {value:?}"),
                ));
                None
            }
        }
    }

    fn start(&mut self, kind: &str, key: &str, value: String, line: u32) {
        let mut obj = Map::new();
        obj.insert(key.to_string(), Value::String(value));
        let element = Element { obj, line };
        let (section, base) = match kind {
            "package" => {
                self.packages.push(element);
                let i = self.packages.len() - 1;
                (Section::Package(i), format!("/packages/{i}"))
            }
            "file" => {
                self.files.push(element);
                let i = self.files.len() - 1;
                (Section::File(i), format!("/files/{i}"))
            }
            "snippet" => {
                self.snippets.push(element);
                let i = self.snippets.len() - 1;
                (Section::Snippet(i), format!("/snippets/{i}"))
            }
            _ => {
                self.licenses.push(element);
                let i = self.licenses.len() - 1;
                (
                    Section::License(i),
                    format!("/hasExtractedLicensingInfos/{i}"),
                )
            }
        };
        self.seen.insert(format!("{base}/{key}"), line);
        self.lines.set(format!("{base}/{key}"), line);
        self.lines.set(base, line);
        self.section = Some(section);
    }

    #[allow(clippy::too_many_lines)] // one arm per tag
    fn tag(&mut self, tag: &str, value: String, line: u32) {
        let s = |v: &String| Value::String(v.clone());
        match tag {
            // Document creation information.
            "SPDXVersion" => self.set(Section::Document, tag, "spdxVersion", s(&value), line),
            "DataLicense" => self.set(Section::Document, tag, "dataLicense", s(&value), line),
            "DocumentName" => self.set(Section::Document, tag, "name", s(&value), line),
            "DocumentNamespace" => {
                self.set(Section::Document, tag, "documentNamespace", s(&value), line)
            }
            "DocumentComment" => self.set(Section::Document, tag, "comment", s(&value), line),
            "ExternalDocumentRef" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let checksum = if parts.len() >= 3 {
                    self.checksum(&parts[2..].join(" "), line)
                } else {
                    None
                };
                match (parts.len() >= 3, checksum) {
                    (true, Some(checksum)) => {
                        self.external_refs.push(json!({
                            "externalDocumentId": parts[0],
                            "spdxDocument": parts[1],
                            "checksum": checksum,
                        }));
                        let n = self.external_refs.len() - 1;
                        self.lines.set(format!("/externalDocumentRefs/{n}"), line);
                    }
                    (false, _) => self.errors.push((
                        line,
                        "ExternalDocumentRef must be \"DocumentRef-id URI ALGORITHM: checksum\""
                            .into(),
                    )),
                    _ => {}
                }
            }
            "LicenseListVersion" | "Creator" | "Created" | "CreatorComment" => {
                let key = match tag {
                    "LicenseListVersion" => "licenseListVersion",
                    "Creator" => "creators",
                    "Created" => "created",
                    _ => "comment",
                };
                self.lines.set("/creationInfo".into(), line);
                let pointer = format!("/creationInfo/{key}");
                if key == "creators" {
                    let list = self
                        .creation
                        .entry("creators")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(a) = list {
                        a.push(s(&value));
                        self.lines.set(format!("{pointer}/{}", a.len() - 1), line);
                    }
                    self.lines.set(pointer, line);
                } else if let Some(first) = self.seen.get(&pointer) {
                    self.errors
                        .push((line, format!("{tag} given twice (first on line {first})")));
                } else {
                    self.seen.insert(pointer.clone(), line);
                    self.lines.set(pointer, line);
                    self.creation.insert(key.into(), s(&value));
                }
            }
            "SPDXID" => match self.section {
                Some(Section::License(_)) | None => {
                    self.errors.push((
                        line,
                        "SPDXID does not belong to an extracted license".into(),
                    ));
                }
                Some(sec) => self.set(sec, tag, "SPDXID", s(&value), line),
            },

            // Packages.
            "PackageName" => self.start("package", "name", value, line),
            "PackageVersion"
            | "PackageFileName"
            | "PackageSupplier"
            | "PackageOriginator"
            | "PackageDownloadLocation"
            | "PackageHomePage"
            | "PackageSourceInfo"
            | "PackageLicenseConcluded"
            | "PackageLicenseDeclared"
            | "PackageLicenseComments"
            | "PackageCopyrightText"
            | "PackageSummary"
            | "PackageDescription"
            | "PackageComment"
            | "PrimaryPackagePurpose"
            | "ReleaseDate"
            | "BuiltDate"
            | "ValidUntilDate" => {
                let key = match tag {
                    "PackageVersion" => "versionInfo",
                    "PackageFileName" => "packageFileName",
                    "PackageSupplier" => "supplier",
                    "PackageOriginator" => "originator",
                    "PackageDownloadLocation" => "downloadLocation",
                    "PackageHomePage" => "homepage",
                    "PackageSourceInfo" => "sourceInfo",
                    "PackageLicenseConcluded" => "licenseConcluded",
                    "PackageLicenseDeclared" => "licenseDeclared",
                    "PackageLicenseComments" => "licenseComments",
                    "PackageCopyrightText" => "copyrightText",
                    "PackageSummary" => "summary",
                    "PackageDescription" => "description",
                    "PackageComment" => "comment",
                    "PrimaryPackagePurpose" => "primaryPackagePurpose",
                    "ReleaseDate" => "releaseDate",
                    "BuiltDate" => "builtDate",
                    _ => "validUntilDate",
                };
                if let Some(sec) = self.in_section(tag, "package", line) {
                    self.set(sec, tag, key, s(&value), line);
                }
            }
            "FilesAnalyzed" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    match value.to_ascii_lowercase().as_str() {
                        "true" => self.set(sec, tag, "filesAnalyzed", Value::Bool(true), line),
                        "false" => self.set(sec, tag, "filesAnalyzed", Value::Bool(false), line),
                        _ => self.errors.push((
                            line,
                            format!("FilesAnalyzed must be true or false, got {value:?}"),
                        )),
                    }
                }
            }
            "PackageVerificationCode" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    let (code, excludes) = match value.split_once('(') {
                        Some((code, rest)) => {
                            let inner = rest.trim_end().trim_end_matches(')');
                            let files = inner.split_once(':').map_or(inner, |(_, f)| f);
                            let files: Vec<Value> = files
                                .split(',')
                                .map(str::trim)
                                .filter(|f| !f.is_empty())
                                .map(|f| Value::String(f.to_string()))
                                .collect();
                            (code.trim().to_string(), files)
                        }
                        None => (value.trim().to_string(), Vec::new()),
                    };
                    let mut v = json!({"packageVerificationCodeValue": code});
                    if !excludes.is_empty() {
                        v["packageVerificationCodeExcludedFiles"] = Value::Array(excludes);
                    }
                    self.set(sec, tag, "packageVerificationCode", v, line);
                }
            }
            "PackageChecksum" => {
                if let Some(sec) = self.in_section(tag, "package", line)
                    && let Some(c) = self.checksum(&value, line)
                {
                    self.push(sec, "checksums", c, line);
                }
            }
            "PackageLicenseInfoFromFiles" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    self.push(sec, "licenseInfoFromFiles", s(&value), line);
                }
            }
            "PackageAttributionText" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    self.push(sec, "attributionTexts", s(&value), line);
                }
            }
            "ExternalRef" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    if parts.len() == 3 {
                        self.push(
                            sec,
                            "externalRefs",
                            json!({"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}),
                            line,
                        );
                    } else {
                        self.errors.push((
                            line,
                            format!(
                                "ExternalRef must be \"CATEGORY TYPE LOCATOR\", got {:?}",
                                crate::util::short(&value, 120)
                            ),
                        ));
                    }
                }
            }
            "ExternalRefComment" => {
                if let Some(sec) = self.in_section(tag, "package", line) {
                    let last = self
                        .obj(sec)
                        .get_mut("externalRefs")
                        .and_then(Value::as_array_mut)
                        .and_then(|a| a.last_mut());
                    match last {
                        Some(r) => r["comment"] = Value::String(value),
                        None => self.errors.push((
                            line,
                            "ExternalRefComment without an ExternalRef before it".into(),
                        )),
                    }
                }
            }

            // Files.
            "FileName" => self.start("file", "fileName", value, line),
            "LicenseConcluded" | "LicenseComments" | "FileCopyrightText" | "FileComment"
            | "FileNotice" => {
                let key = match tag {
                    "LicenseConcluded" => "licenseConcluded",
                    "LicenseComments" => "licenseComments",
                    "FileCopyrightText" => "copyrightText",
                    "FileComment" => "comment",
                    _ => "noticeText",
                };
                if let Some(sec) = self.in_section(tag, "file", line) {
                    self.set(sec, tag, key, s(&value), line);
                }
            }
            "FileType"
            | "FileChecksum"
            | "LicenseInfoInFile"
            | "FileContributor"
            | "FileAttributionText"
            | "FileDependency" => {
                if let Some(sec) = self.in_section(tag, "file", line) {
                    let (key, v) = match tag {
                        "FileType" => ("fileTypes", Some(s(&value))),
                        "FileChecksum" => ("checksums", self.checksum(&value, line)),
                        "LicenseInfoInFile" => ("licenseInfoInFiles", Some(s(&value))),
                        "FileContributor" => ("fileContributors", Some(s(&value))),
                        "FileAttributionText" => ("attributionTexts", Some(s(&value))),
                        _ => ("fileDependencies", Some(s(&value))),
                    };
                    if let Some(v) = v {
                        self.push(sec, key, v, line);
                    }
                }
            }
            t if IGNORED.contains(&t) => {
                self.in_section(tag, "file", line);
            }

            // Snippets.
            "SnippetSPDXID" => self.start("snippet", "SPDXID", value, line),
            "SnippetFromFileSPDXID"
            | "SnippetLicenseConcluded"
            | "SnippetLicenseComments"
            | "SnippetCopyrightText"
            | "SnippetComment"
            | "SnippetName" => {
                let key = match tag {
                    "SnippetFromFileSPDXID" => "snippetFromFile",
                    "SnippetLicenseConcluded" => "licenseConcluded",
                    "SnippetLicenseComments" => "licenseComments",
                    "SnippetCopyrightText" => "copyrightText",
                    "SnippetComment" => "comment",
                    _ => "name",
                };
                if let Some(sec) = self.in_section(tag, "snippet", line) {
                    self.set(sec, tag, key, s(&value), line);
                }
            }
            "SnippetByteRange" | "SnippetLineRange" => {
                if let Some(sec) = self.in_section(tag, "snippet", line) {
                    let key = if tag == "SnippetByteRange" {
                        "offset"
                    } else {
                        "lineNumber"
                    };
                    if let Some(r) = self.range(&value, key, line) {
                        self.push(sec, "ranges", r, line);
                    }
                }
            }
            "LicenseInfoInSnippet" | "SnippetAttributionText" => {
                if let Some(sec) = self.in_section(tag, "snippet", line) {
                    let key = if tag == "LicenseInfoInSnippet" {
                        "licenseInfoInSnippets"
                    } else {
                        "attributionTexts"
                    };
                    self.push(sec, key, s(&value), line);
                }
            }

            // Other licensing information.
            "LicenseID" => self.start("license", "licenseId", value, line),
            "ExtractedText" | "LicenseName" | "LicenseComment" => {
                let key = match tag {
                    "ExtractedText" => "extractedText",
                    "LicenseName" => "name",
                    _ => "comment",
                };
                if let Some(sec) = self.in_section(tag, "license", line) {
                    self.set(sec, tag, key, s(&value), line);
                }
            }
            "LicenseCrossReference" => {
                if let Some(sec) = self.in_section(tag, "license", line) {
                    self.push(sec, "seeAlsos", s(&value), line);
                }
            }

            // Relationships.
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if parts.len() == 3 {
                    let mut obj = Map::new();
                    obj.insert("spdxElementId".into(), parts[0].into());
                    obj.insert("relationshipType".into(), parts[1].into());
                    obj.insert("relatedSpdxElement".into(), parts[2].into());
                    self.relationships.push(Element { obj, line });
                    self.last_relationship = Some(self.relationships.len() - 1);
                    self.lines.set(
                        format!("/relationships/{}", self.relationships.len() - 1),
                        line,
                    );
                } else {
                    self.errors.push((
                        line,
                        format!(
                            "Relationship must be \"SPDXRef-A TYPE SPDXRef-B\", got {:?}",
                            crate::util::short(&value, 120)
                        ),
                    ));
                }
            }
            "RelationshipComment" => match self.last_relationship {
                Some(i) => {
                    self.relationships[i]
                        .obj
                        .insert("comment".into(), s(&value));
                }
                None => self.errors.push((
                    line,
                    "RelationshipComment without a Relationship before it".into(),
                )),
            },

            // Annotations and (deprecated) reviews.
            "Annotator" => {
                let mut obj = Map::new();
                obj.insert("annotator".into(), s(&value));
                self.annotations.push(Element { obj, line });
            }
            "AnnotationDate" | "AnnotationType" | "SPDXREF" | "AnnotationComment" => {
                let key = match tag {
                    "AnnotationDate" => "annotationDate",
                    "AnnotationType" => "annotationType",
                    "SPDXREF" => "spdxref",
                    _ => "comment",
                };
                match self.annotations.last_mut() {
                    Some(a) if !a.obj.contains_key(key) => {
                        a.obj.insert(key.into(), s(&value));
                    }
                    Some(_) => self
                        .errors
                        .push((line, format!("{tag} given twice for one annotation"))),
                    None => self
                        .errors
                        .push((line, format!("{tag} without an Annotator before it"))),
                }
            }
            "Reviewer" => {
                let mut obj = Map::new();
                obj.insert("reviewer".into(), s(&value));
                self.reviews.push(Element { obj, line });
            }
            "ReviewDate" | "ReviewComment" => {
                let key = if tag == "ReviewDate" {
                    "reviewDate"
                } else {
                    "comment"
                };
                match self.reviews.last_mut() {
                    Some(r) => {
                        r.obj.insert(key.into(), s(&value));
                    }
                    None => self
                        .errors
                        .push((line, format!("{tag} without a Reviewer before it"))),
                }
            }
            _ => self
                .warnings
                .push((line, format!("unknown tag {tag:?} ignored"))),
        }
    }

    fn finish(mut self, last_line: u32) -> Parsed {
        // The document's mandatory fields.
        for (key, tag) in [
            ("spdxVersion", "SPDXVersion"),
            ("dataLicense", "DataLicense"),
            ("SPDXID", "SPDXID"),
            ("name", "DocumentName"),
            ("documentNamespace", "DocumentNamespace"),
        ] {
            if !self.doc.contains_key(key) {
                self.errors.push((
                    last_line,
                    format!("the document has no {tag} (mandatory; is the file truncated?)"),
                ));
            }
        }
        for (key, tag) in [("creators", "Creator"), ("created", "Created")] {
            if !self.creation.contains_key(key) {
                self.errors.push((
                    last_line,
                    format!("the document has no {tag} (mandatory; is the file truncated?)"),
                ));
            }
        }
        let is_2_3 = self.doc.get("spdxVersion").and_then(Value::as_str) == Some("SPDX-2.3");
        let missing = |list: &[Element], what: &str, required: &[(&str, &str)]| {
            let mut out = Vec::new();
            for e in list {
                for (key, tag) in required {
                    if !e.obj.contains_key(*key) {
                        let name = e
                            .obj
                            .get("name")
                            .or_else(|| e.obj.get("fileName"))
                            .or_else(|| e.obj.get("licenseId"))
                            .and_then(Value::as_str)
                            .map(|n| format!(" {:?}", crate::util::short(n, 80)))
                            .unwrap_or_default();
                        out.push((e.line, format!("{what}{name} has no {tag} (mandatory)")));
                    }
                }
            }
            out
        };
        let mut errs = Vec::new();
        errs.extend(missing(
            &self.packages,
            "the package",
            &[
                ("SPDXID", "SPDXID"),
                ("downloadLocation", "PackageDownloadLocation"),
            ],
        ));
        errs.extend(missing(
            &self.files,
            "the file",
            &[("SPDXID", "SPDXID"), ("checksums", "FileChecksum")],
        ));
        let snippet_required: &[(&str, &str)] = if is_2_3 {
            &[
                ("snippetFromFile", "SnippetFromFileSPDXID"),
                ("ranges", "SnippetByteRange"),
                ("name", "SnippetName"),
            ]
        } else {
            &[
                ("snippetFromFile", "SnippetFromFileSPDXID"),
                ("ranges", "SnippetByteRange"),
            ]
        };
        errs.extend(missing(&self.snippets, "the snippet", snippet_required));
        errs.extend(missing(
            &self.licenses,
            "the extracted license",
            &[("extractedText", "ExtractedText")],
        ));
        errs.extend(missing(
            &self.annotations,
            "the annotation",
            &[
                ("annotationDate", "AnnotationDate"),
                ("annotationType", "AnnotationType"),
                ("spdxref", "SPDXREF"),
                ("comment", "AnnotationComment"),
            ],
        ));
        errs.extend(missing(
            &self.reviews,
            "the review",
            &[("reviewDate", "ReviewDate")],
        ));
        self.errors.extend(errs);

        // Snippet ranges point into the snippet's file.
        for sn in &mut self.snippets {
            if let Some(file) = sn.obj.get("snippetFromFile").cloned()
                && let Some(Value::Array(ranges)) = sn.obj.get_mut("ranges")
            {
                for r in ranges {
                    for end in ["startPointer", "endPointer"] {
                        r[end]["reference"] = file.clone();
                    }
                }
            }
        }

        // Annotations go on the element they name.
        let doc_id = self
            .doc
            .get("SPDXID")
            .and_then(Value::as_str)
            .map(str::to_string);
        for mut ann in std::mem::take(&mut self.annotations) {
            let Some(Value::String(target)) = ann.obj.remove("spdxref") else {
                continue;
            };
            let position = |list: &[Element]| {
                list.iter().position(|e| {
                    e.obj.get("SPDXID").and_then(Value::as_str) == Some(target.as_str())
                })
            };
            let found = if doc_id.as_deref() == Some(target.as_str()) {
                Some((String::new(), &mut self.doc))
            } else if let Some(i) = position(&self.packages) {
                Some((format!("/packages/{i}"), &mut self.packages[i].obj))
            } else if let Some(i) = position(&self.files) {
                Some((format!("/files/{i}"), &mut self.files[i].obj))
            } else {
                position(&self.snippets)
                    .map(|i| (format!("/snippets/{i}"), &mut self.snippets[i].obj))
            };
            match found {
                Some((base, obj)) => {
                    let list = obj
                        .entry("annotations")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(a) = list {
                        a.push(Value::Object(ann.obj));
                        self.lines
                            .set(format!("{base}/annotations/{}", a.len() - 1), ann.line);
                    }
                }
                None => self.errors.push((
                    ann.line,
                    format!(
                        "the annotation's SPDXREF {target:?} names no element of this document"
                    ),
                )),
            }
        }

        let mut doc = std::mem::take(&mut self.doc);
        if !self.creation.is_empty() {
            doc.insert(
                "creationInfo".into(),
                Value::Object(std::mem::take(&mut self.creation)),
            );
        }
        if !self.external_refs.is_empty() {
            doc.insert(
                "externalDocumentRefs".into(),
                Value::Array(std::mem::take(&mut self.external_refs)),
            );
        }
        let take = |list: Vec<Element>| {
            Value::Array(list.into_iter().map(|e| Value::Object(e.obj)).collect())
        };
        for (key, list) in [
            ("packages", std::mem::take(&mut self.packages)),
            ("files", std::mem::take(&mut self.files)),
            ("snippets", std::mem::take(&mut self.snippets)),
            (
                "hasExtractedLicensingInfos",
                std::mem::take(&mut self.licenses),
            ),
            ("relationships", std::mem::take(&mut self.relationships)),
            ("revieweds", std::mem::take(&mut self.reviews)),
        ] {
            if !list.is_empty() {
                doc.insert(key.into(), take(list));
            }
        }
        self.errors.sort_by_key(|(l, _)| *l);
        Parsed {
            doc: Value::Object(doc),
            lines: self.lines,
            errors: self.errors,
            warnings: self.warnings,
        }
    }
}
