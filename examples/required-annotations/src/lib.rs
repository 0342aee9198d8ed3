//! Example arca plugin: a configurable "required annotations" linter.
//!
//! Settings (per repository, merged by arca from `[plugin.required-annotations]` and its
//! `repositories` overrides):
//!
//! ```toml
//! [plugin.required-annotations.settings]
//! required = ["org.opencontainers.image.source"]   # annotation keys every manifest needs
//! media_types = ["application/vnd.oci.image.config.v1+json"]  # only these (default: all)
//! ```

use arca_plugin_sdk::prelude::*;
use serde::Deserialize;

/// The plugin.
pub struct RequiredAnnotations;

#[derive(Debug, Default, Deserialize)]
struct Settings {
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    media_types: Vec<String>,
}

fn applies(m: &Manifest, patterns: &[String]) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let types = m
        .artifact_type
        .iter()
        .chain(m.config.as_ref().map(|c| &c.media_type))
        .chain(std::iter::once(&m.media_type));
    types.map(|t| arca_plugin_sdk::essence(t)).any(|t| {
        patterns
            .iter()
            .any(|p| p.strip_suffix('*').map_or(p == t, |pre| t.starts_with(pre)))
    })
}

impl Plugin for RequiredAnnotations {
    fn info() -> Info {
        Info::new("required-annotations", env!("CARGO_PKG_VERSION"))
            .handles(["*"])
            .validates()
    }

    fn validate(m: &Manifest, cx: &Context) -> Verdict {
        let settings: Settings = serde_json::from_value(cx.config().clone()).unwrap_or_default();
        if !applies(m, &settings.media_types) {
            return Verdict::accept();
        }
        let missing = settings
            .required
            .iter()
            .filter(|k| m.annotation(k).is_none_or(|v| v.trim().is_empty()))
            .map(|k| {
                let pointer = format!("/annotations/{}", k.replace('~', "~0").replace('/', "~1"));
                Violation::new(
                    pointer,
                    format!("annotation {k:?} is required in {}", m.repository),
                )
            })
            .collect();
        Verdict::from_findings(missing, Vec::new())
    }
}

export_plugin!(RequiredAnnotations);

#[cfg(test)]
mod tests {
    use super::*;
    use arca_plugin_sdk::testing::Harness;
    use serde_json::json;

    #[test]
    fn missing_annotation_is_reported_with_its_pointer() {
        let mut h =
            Harness::new().with_config(json!({"required": ["org.opencontainers.image.source"]}));
        let c = h.blob("application/vnd.oci.image.config.v1+json", "{}");
        let m = h.manifest(None, c, vec![]);
        match h.validate::<RequiredAnnotations>(&m) {
            Verdict::Reject(v) => {
                assert_eq!(v[0].path, "/annotations/org.opencontainers.image.source")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn present_annotation_or_other_media_type_passes() {
        let mut h = Harness::new()
            .with_config(json!({"required": ["a"], "media_types": ["application/x-only"]}));
        let c = h.blob("application/vnd.oci.image.config.v1+json", "{}");
        let m = h.manifest(None, c, vec![]);
        assert_eq!(h.validate::<RequiredAnnotations>(&m), Verdict::accept());
        let h = Harness::new().with_config(json!({"required": ["a"]}));
        let mut m2 = m.clone();
        m2.annotations = vec![("a".into(), "yes".into())];
        assert_eq!(h.validate::<RequiredAnnotations>(&m2), Verdict::accept());
    }
}
