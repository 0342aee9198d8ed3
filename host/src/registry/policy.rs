//! Policies: rules over plugin facets that the core enforces without knowing what the facets
//! mean. A rule names repositories (globs), the actions it guards (pulling a manifest,
//! pointing a tag at one) and the facets a manifest must carry; a plugin (signatures, for
//! one) supplies the facets. `docs/policy.md` describes them for users.

use globset::GlobMatcher;
use serde::{Deserialize, Serialize};

use super::App;
use crate::error::{Code, Error, Result};
use crate::metadata::{FacetMatch, FacetScope};
use crate::plugins::repository_glob;

/// What a rule guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyAction {
    /// `GET`/`HEAD` of a manifest, by tag or digest.
    Pull,
    /// `PUT` of a manifest by tag: the tag may only point at a manifest that complies.
    Tag,
    /// `arca plugin install` from a repository of this registry.
    Install,
}

impl PolicyAction {
    fn verb(self) -> &'static str {
        match self {
            PolicyAction::Pull => "pull",
            PolicyAction::Tag => "tag",
            PolicyAction::Install => "install",
        }
    }
}

/// A facet a manifest must (or, in `unless`, may) carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacetCondition {
    /// Facet name, e.g. `signature.verified-by`.
    pub facet: String,
    /// Value: exact, or ending in `*` for a prefix (`*` alone: any value).
    pub value: String,
    /// `manifest` (default: its own facets, including what its referrers said about it) or
    /// `referrer` (the facets of a manifest whose `subject` it is).
    #[serde(default)]
    pub on: FacetScope,
}

impl FacetCondition {
    fn matcher(&self) -> FacetMatch {
        match self.value.strip_suffix('*') {
            Some(p) => FacetMatch::Prefix(p.to_string()),
            None => FacetMatch::Exact(self.value.clone()),
        }
    }
}

impl std::fmt::Display for FacetCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.facet, self.value)?;
        if self.on == FacetScope::Referrer {
            write!(f, " on a referrer")?;
        }
        Ok(())
    }
}

/// One rule, as configured under `[[policy]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Name, quoted in refusals.
    pub name: String,
    /// Repository globs it applies to (`prod/**`).
    pub repositories: Vec<String>,
    /// What it guards. Default: pull and tag.
    #[serde(default = "all_actions")]
    pub actions: Vec<PolicyAction>,
    /// Every one must hold.
    #[serde(default)]
    pub require: Vec<FacetCondition>,
    /// At least one must hold (when any are given).
    #[serde(default)]
    pub require_any: Vec<FacetCondition>,
    /// Manifests carrying any of these are exempt (e.g. the signatures themselves).
    #[serde(default)]
    pub unless: Vec<FacetCondition>,
}

fn all_actions() -> Vec<PolicyAction> {
    vec![PolicyAction::Pull, PolicyAction::Tag]
}

/// The configured rules, with their globs compiled.
pub struct Policies {
    rules: Vec<(Vec<GlobMatcher>, PolicyRule)>,
}

impl Policies {
    /// Check and compile the rules.
    pub fn new(rules: &[PolicyRule]) -> anyhow::Result<Self> {
        let mut out = Vec::new();
        for r in rules {
            if r.name.trim().is_empty() {
                anyhow::bail!("a [[policy]] rule needs a name");
            }
            if r.repositories.is_empty() {
                anyhow::bail!("policy {:?}: `repositories` is empty", r.name);
            }
            if r.require.is_empty() && r.require_any.is_empty() {
                anyhow::bail!(
                    "policy {:?}: give `require` or `require_any`: a rule with neither \
                     requires nothing",
                    r.name
                );
            }
            let globs = r
                .repositories
                .iter()
                .map(|p| repository_glob(p))
                .collect::<anyhow::Result<Vec<_>>>()
                .map_err(|e| anyhow::anyhow!("policy {:?}: {e}", r.name))?;
            out.push((globs, r.clone()));
        }
        Ok(Policies { rules: out })
    }

    /// Whether no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl App {
    /// Refuse `action` on the manifest `digest` in `repository` with `403 DENIED` when a
    /// policy rule applies and the manifest (or an index in the repository that lists it)
    /// does not carry the facets the rule requires.
    pub async fn enforce_policies(
        &self,
        action: PolicyAction,
        repository: &str,
        digest: &str,
    ) -> Result<()> {
        self.enforce_policies_pending(action, repository, digest, &[])
            .await
    }

    /// [`Self::enforce_policies`] for a manifest being pushed: `pending` are the facets its
    /// indexers gave it, about to be committed with it (a signature pushed by tag exempts
    /// itself through its own facets).
    pub async fn enforce_policies_pending(
        &self,
        action: PolicyAction,
        repository: &str,
        digest: &str,
        pending: &[(String, String)],
    ) -> Result<()> {
        for (globs, rule) in &self.policies().rules {
            if !rule.actions.contains(&action) || !globs.iter().any(|g| g.is_match(repository)) {
                continue;
            }
            if self.complies(rule, repository, digest, pending).await? {
                continue;
            }
            let mut needs: Vec<String> = rule.require.iter().map(|c| c.to_string()).collect();
            if !rule.require_any.is_empty() {
                let any: Vec<String> = rule.require_any.iter().map(|c| c.to_string()).collect();
                needs.push(format!("one of ({})", any.join(", ")));
            }
            return Err(Error::new(
                Code::Denied,
                format!(
                    "policy {:?} refuses to {} {repository}@{digest}: it requires {} on the \
                     manifest or on an index in {repository} that lists it",
                    rule.name,
                    action.verb(),
                    needs.join(" and ")
                ),
            )
            .with_status(axum::http::StatusCode::FORBIDDEN)
            .with_detail(serde_json::json!({
                "policy": rule.name,
                "action": action.verb(),
                "repository": repository,
                "digest": digest,
            })));
        }
        Ok(())
    }

    async fn complies(
        &self,
        rule: &PolicyRule,
        repository: &str,
        digest: &str,
        pending: &[(String, String)],
    ) -> Result<bool> {
        if self
            .any_holds(&rule.unless, repository, digest, pending)
            .await?
        {
            return Ok(true);
        }
        if self
            .conditions_hold(rule, repository, digest, pending)
            .await?
        {
            return Ok(true);
        }
        // A platform image pulled by digest is covered by the signed index that lists it.
        let parents = self
            .meta()
            .parent_indexes(repository, digest)
            .await
            .map_err(|e| Error::internal("policy check", e))?;
        for parent in parents {
            if self.conditions_hold(rule, repository, &parent, &[]).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn conditions_hold(
        &self,
        rule: &PolicyRule,
        repository: &str,
        digest: &str,
        pending: &[(String, String)],
    ) -> Result<bool> {
        for c in &rule.require {
            if !self.holds(c, repository, digest, pending).await? {
                return Ok(false);
            }
        }
        Ok(rule.require_any.is_empty()
            || self
                .any_holds(&rule.require_any, repository, digest, pending)
                .await?)
    }

    async fn any_holds(
        &self,
        cs: &[FacetCondition],
        repository: &str,
        digest: &str,
        pending: &[(String, String)],
    ) -> Result<bool> {
        for c in cs {
            if self.holds(c, repository, digest, pending).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `c` holds for `digest`: among `pending` (its own facets, not yet committed)
    /// or in the metadata store.
    async fn holds(
        &self,
        c: &FacetCondition,
        repository: &str,
        digest: &str,
        pending: &[(String, String)],
    ) -> Result<bool> {
        if c.on == FacetScope::Manifest {
            let m = c.matcher();
            let hit = pending.iter().any(|(name, value)| {
                *name == c.facet
                    && match &m {
                        FacetMatch::Exact(v) => value == v,
                        FacetMatch::Prefix(p) => value.starts_with(p.as_str()),
                    }
            });
            if hit {
                return Ok(true);
            }
        }
        self.meta()
            .facet_holds(repository, digest, &c.facet, &c.matcher(), c.on)
            .await
            .map_err(|e| Error::internal("policy check", e))
    }
}
