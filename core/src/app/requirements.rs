//! Scope requirements: which scopes the app needs, by resource server.

use crate::scopes::{self, Scope, ScopeParseError};
use std::collections::BTreeMap;

/// The resource server of Globus Auth itself.
pub const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

/// The scopes an app needs, by resource server. Adding merges and dedupes.
///
/// An app always requires `openid` from `auth.globus.org`: the user's identity
/// comes from the id_token, and the auth token is what looks up consents.
///
/// ```
/// use globus_app_core::app::ScopeRequirements;
/// let mut reqs = ScopeRequirements::new();
/// reqs.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
/// reqs.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/C/data_access]")?;
/// let reqs = reqs.with_openid();
/// assert_eq!(
///     reqs.scope_string(),
///     "openid urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/C/data_access]"
/// );
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeRequirements {
    by_resource_server: BTreeMap<String, Vec<Scope>>,
}

impl ScopeRequirements {
    /// No requirements.
    pub fn new() -> Self {
        ScopeRequirements::default()
    }

    /// Adds scopes for a resource server, merging them with those it has.
    ///
    /// # Errors
    /// When merging creates a dependency cycle.
    pub fn add(
        &mut self,
        resource_server: impl Into<String>,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<(), ScopeParseError> {
        let entry = self
            .by_resource_server
            .entry(resource_server.into())
            .or_default();
        let merged = scopes::merge(entry.iter().cloned().chain(scopes))?;
        *entry = merged;
        Ok(())
    }

    /// Parses a scope string and adds its scopes for a resource server.
    ///
    /// # Errors
    /// A scope string that does not parse, or a cycle after merging.
    pub fn add_str(
        &mut self,
        resource_server: impl Into<String>,
        scopes: &str,
    ) -> Result<(), ScopeParseError> {
        self.add(resource_server, scopes::parse(scopes)?)
    }

    /// Returns a copy with `openid` required from `auth.globus.org`.
    pub fn with_openid(mut self) -> Self {
        let present = self
            .by_resource_server
            .get(AUTH_RESOURCE_SERVER)
            .is_some_and(|s| s.iter().any(|s| s.name() == scopes::auth::OPENID.name()));
        if !present {
            let entry = self
                .by_resource_server
                .entry(AUTH_RESOURCE_SERVER.to_owned())
                .or_default();
            entry.insert(0, scopes::auth::OPENID);
        }
        self
    }

    /// Returns the scopes required from one resource server.
    pub fn get(&self, resource_server: &str) -> Option<&[Scope]> {
        self.by_resource_server
            .get(resource_server)
            .map(Vec::as_slice)
    }

    /// Returns the resource servers with requirements, in order.
    pub fn resource_servers(&self) -> impl Iterator<Item = &str> {
        self.by_resource_server.keys().map(String::as_str)
    }

    /// Returns `(resource server, scopes)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Scope])> {
        self.by_resource_server
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Returns true if nothing is required.
    pub fn is_empty(&self) -> bool {
        self.by_resource_server.values().all(Vec::is_empty)
    }

    /// Returns every required scope, merged into one list (auth scopes first).
    pub fn all_scopes(&self) -> Vec<Scope> {
        let auth = self
            .by_resource_server
            .get(AUTH_RESOURCE_SERVER)
            .into_iter()
            .flatten();
        let others = self
            .by_resource_server
            .iter()
            .filter(|(rs, _)| rs.as_str() != AUTH_RESOURCE_SERVER)
            .flat_map(|(_, s)| s);
        // Each list merged cleanly on its own; across resource servers names differ,
        // so the merge only fails on a cross-server cycle, which leaves them unmerged.
        let all: Vec<Scope> = auth.chain(others).cloned().collect();
        scopes::merge(all.clone()).unwrap_or(all)
    }

    /// Returns the space-separated string of every required scope.
    pub fn scope_string(&self) -> String {
        scopes::serialize(self.all_scopes())
    }
}
