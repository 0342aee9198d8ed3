//! Kubewarden policies: Wasm modules pushed with the wasm-to-oci layout (config
//! `application/vnd.wasm.config.v1+json` holding `{}`, one layer
//! `application/vnd.wasm.content.layer.v1+wasm`) whose binary carries the policy's metadata
//! in a custom section named `io.kubewarden.metadata` (written by `kwctl annotate`): the
//! admission rules, whether it mutates, whether it is context aware, its execution mode and
//! its annotations.

use serde::Deserialize;
use serde_json::{Value, json};

/// The custom section `kwctl annotate` writes.
pub const CUSTOM_SECTION: &str = "io.kubewarden.metadata";

/// One admission rule.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

/// A resource a context-aware policy may read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

/// The metadata, as far as the index cares.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Metadata {
    pub protocol_version: Option<String>,
    pub rules: Vec<Rule>,
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    pub mutating: bool,
    pub background_audit: Option<bool>,
    pub context_aware: bool,
    pub context_aware_resources: Vec<ContextAwareResource>,
    pub execution_mode: Option<String>,
    pub policy_type: Option<String>,
    pub minimum_kubewarden_version: Option<String>,
}

impl Metadata {
    /// Parses the custom section's content.
    pub fn parse(bytes: &[u8]) -> Result<Metadata, String> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("the {CUSTOM_SECTION} custom section is not JSON: {e}"))?;
        if !value.is_object() {
            return Err(format!(
                "the {CUSTOM_SECTION} custom section must be a JSON object"
            ));
        }
        serde_json::from_value(value).map_err(|e| {
            format!("the {CUSTOM_SECTION} custom section has a field of the wrong type: {e}")
        })
    }

    /// Context aware: the old boolean or a list of resources.
    pub fn is_context_aware(&self) -> bool {
        self.context_aware || !self.context_aware_resources.is_empty()
    }

    /// `io.kubewarden.policy.title`, if annotated.
    pub fn title(&self) -> Option<&str> {
        self.annotations
            .as_ref()?
            .get("io.kubewarden.policy.title")
            .map(String::as_str)
    }

    /// Resources the rules match, each as `group/version/resource` (`v1/pods` for the
    /// core group), deduplicated in order.
    pub fn resources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            for g in or_star(&r.api_groups) {
                for v in or_star(&r.api_versions) {
                    for res in &r.resources {
                        let s = if g.is_empty() {
                            format!("{v}/{res}")
                        } else {
                            format!("{g}/{v}/{res}")
                        };
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        out
    }

    /// Operations the rules match, deduplicated.
    pub fn operations(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for op in self.rules.iter().flat_map(|r| &r.operations) {
            if !out.contains(op) {
                out.push(op.clone());
            }
        }
        out
    }

    /// The document part.
    pub fn json(&self) -> Value {
        json!({
            "protocolVersion": self.protocol_version,
            "mutating": self.mutating,
            "contextAware": self.is_context_aware(),
            "contextAwareResources": self.context_aware_resources.iter()
                .map(|r| json!({"apiVersion": r.api_version, "kind": r.kind}))
                .collect::<Vec<_>>(),
            "backgroundAudit": self.background_audit,
            "executionMode": self.execution_mode,
            "policyType": self.policy_type,
            "minimumKubewardenVersion": self.minimum_kubewarden_version,
            "rules": self.rules.iter().map(|r| json!({
                "apiGroups": r.api_groups, "apiVersions": r.api_versions,
                "resources": r.resources, "operations": r.operations,
            })).collect::<Vec<_>>(),
            "resources": self.resources(),
            "operations": self.operations(),
            "annotations": self.annotations,
        })
    }
}

fn or_star(v: &[String]) -> Vec<&str> {
    if v.is_empty() {
        vec!["*"]
    } else {
        v.iter().map(String::as_str).collect()
    }
}
