//! The consents lookup and the consent forest it returns.
//!
//! A dependent scope requirement such as `transfer:all[<collection>:data_access]`
//! cannot be read from a token's `scope` string: it lives in the user's consents.
//! Each consent names a scope and its `dependency_path` (the ids of its ancestors,
//! ending with its own id), so the consents form a forest; a requirement is met when
//! some tree's root matches the root scope and, recursively, each dependency is met
//! by a child.

use super::{Exchange, build, json_body};
use crate::scopes::Scope;
use crate::{AccessToken, AuthService, HttpRequest, HttpResponse, ResponseError, UnixTime};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Looks up a user's consents for this client:
/// `GET v2/api/identities/{identity_id}/consents?all=False` with an auth token.
#[derive(Clone, Debug)]
pub struct ConsentsLookup {
    service: AuthService,
    identity_id: String,
    auth_token: AccessToken,
}

impl ConsentsLookup {
    /// Builds the lookup; `auth_token` is any valid access token for
    /// `auth.globus.org` belonging to the user.
    pub fn new(
        service: AuthService,
        identity_id: impl Into<String>,
        auth_token: AccessToken,
    ) -> Self {
        ConsentsLookup {
            service,
            identity_id: identity_id.into(),
            auth_token,
        }
    }
}

impl Exchange for ConsentsLookup {
    type Output = ConsentForest;

    fn request(&self) -> HttpRequest {
        let mut url = self.service.consents_url(&self.identity_id);
        // The reference sends Python's spelling of the boolean.
        url.query_pairs_mut().append_pair("all", "False");
        build(
            http::Method::GET,
            &url,
            vec![(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.auth_token.secret()),
            )],
            Vec::new(),
        )
    }

    fn handle_response(
        &self,
        response: &HttpResponse,
        _now: UnixTime,
    ) -> Result<ConsentForest, ResponseError> {
        #[derive(Deserialize)]
        struct Body {
            consents: Vec<Consent>,
        }
        let body: Body = json_body(response)?;
        ConsentForest::new(body.consents)
            .map_err(|detail| ResponseError::unexpected(response, detail))
    }
}

/// One consent: the user allowed a client to use a scope, on a dependency path.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Consent {
    /// The consent's id.
    pub id: u64,
    /// The scope string consented to.
    pub scope_name: String,
    /// Ids from the root consent down to this one (this one's id last).
    pub dependency_path: Vec<u64>,
    /// Every other field Globus Auth sends (client, scope id, status, dates, …).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Consent {
    /// A consent with only the fields the forest uses (tests and fixtures).
    pub fn new(id: u64, scope_name: impl Into<String>, dependency_path: Vec<u64>) -> Consent {
        Consent {
            id,
            scope_name: scope_name.into(),
            dependency_path,
            other: BTreeMap::new(),
        }
    }
}

/// A user's consents arranged as trees, to check dependent scope requirements.
///
/// ```
/// use globus_app_core::oauth::{Consent, ConsentForest};
/// use globus_app_core::scopes::Scope;
/// let forest = ConsentForest::new(vec![
///     Consent::new(1, "urn:globus:auth:scope:transfer.api.globus.org:all", vec![1]),
///     Consent::new(2, "https://auth.globus.org/scopes/C1/data_access", vec![1, 2]),
/// ]).unwrap();
/// let met: Scope = "urn:globus:auth:scope:transfer.api.globus.org:all[https://auth.globus.org/scopes/C1/data_access]".parse().unwrap();
/// let unmet: Scope = "urn:globus:auth:scope:transfer.api.globus.org:all[https://auth.globus.org/scopes/C2/data_access]".parse().unwrap();
/// assert!(forest.meets_scope_requirements([&met]));
/// assert!(!forest.meets_scope_requirements([&unmet]));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsentForest {
    consents: BTreeMap<u64, Consent>,
    children: BTreeMap<u64, BTreeSet<u64>>,
    roots: Vec<u64>,
}

impl ConsentForest {
    /// Arranges consents into trees.
    ///
    /// # Errors
    /// A description of the problem when a consent's path is empty, does not end
    /// with its own id, or names a parent that is not in the list.
    pub fn new(consents: Vec<Consent>) -> Result<ConsentForest, String> {
        let mut forest = ConsentForest::default();
        for consent in consents {
            forest.children.entry(consent.id).or_default();
            forest.consents.insert(consent.id, consent);
        }
        for consent in forest.consents.values() {
            match consent.dependency_path.as_slice() {
                [] => {
                    return Err(format!(
                        "consent {} has an empty dependency_path",
                        consent.id
                    ));
                }
                [.., last] if *last != consent.id => {
                    return Err(format!(
                        "consent {}'s dependency_path does not end with its own id",
                        consent.id
                    ));
                }
                [_] => forest.roots.push(consent.id),
                [.., parent, _] => match forest.children.get_mut(parent) {
                    Some(children) => {
                        children.insert(consent.id);
                    }
                    None => {
                        return Err(format!(
                            "consent {} depends on consent {parent}, which is missing",
                            consent.id
                        ));
                    }
                },
            }
        }
        Ok(forest)
    }

    /// Returns the consents, by id.
    pub fn consents(&self) -> impl Iterator<Item = &Consent> {
        self.consents.values()
    }

    /// Returns true if every scope (with its dependencies, to any depth) is met by
    /// some tree of the forest.
    pub fn meets_scope_requirements<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a Scope>,
    ) -> bool {
        scopes.into_iter().all(|scope| {
            self.roots
                .iter()
                .any(|&root| self.node_meets(root, scope, 0))
        })
    }

    fn node_meets(&self, id: u64, scope: &Scope, depth: usize) -> bool {
        // Paths are finite and acyclic by construction; the depth bound guards
        // against hostile input all the same.
        if depth > 64 {
            return false;
        }
        let Some(consent) = self.consents.get(&id) else {
            return false;
        };
        if consent.scope_name != scope.name() {
            return false;
        }
        let children = self.children.get(&id);
        scope.dependencies().iter().all(|dependency| {
            children.is_some_and(|c| {
                c.iter()
                    .any(|&child| self.node_meets(child, dependency, depth + 1))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

    fn scope(s: &str) -> Scope {
        s.parse().unwrap()
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn nested_requirements() {
        let forest = ConsentForest::new(vec![
            Consent::new(1, TRANSFER, vec![1]),
            Consent::new(2, "c1", vec![1, 2]),
            Consent::new(3, "deep", vec![1, 2, 3]),
            Consent::new(4, "c2", vec![4]),
        ])
        .unwrap();
        assert!(forest.meets_scope_requirements([&scope(TRANSFER)]));
        assert!(forest.meets_scope_requirements([&scope(&format!("{TRANSFER}[c1[deep]]"))]));
        assert!(!forest.meets_scope_requirements([&scope(&format!("{TRANSFER}[c1[other]]"))]));
        // c2 is consented, but as a root, not under transfer.
        assert!(!forest.meets_scope_requirements([&scope(&format!("{TRANSFER}[c2]"))]));
        assert!(forest.meets_scope_requirements([&scope("c2"), &scope(TRANSFER)]));
        assert!(!forest.meets_scope_requirements([&scope("nothing")]));
        assert!(forest.meets_scope_requirements([]));
    }

    #[test]
    fn malformed_forests() {
        assert!(ConsentForest::new(vec![Consent::new(1, "a", vec![])]).is_err());
        assert!(ConsentForest::new(vec![Consent::new(1, "a", vec![2])]).is_err());
        assert!(ConsentForest::new(vec![Consent::new(2, "a", vec![9, 2])]).is_err());
    }

    #[test]
    fn parses_the_consents_response() {
        let lookup = ConsentsLookup::new(AuthService::production(), "u", AccessToken::new("t"));
        let body = r#"{"consents": [
            {"id": 7, "scope_name": "urn:globus:auth:scope:transfer.api.globus.org:all",
             "dependency_path": [7], "client": "c", "scope": "s", "effective_identity": "u",
             "status": "approved", "allows_refresh": true, "auto_approved": false,
             "atomically_revocable": false, "created": "2024-01-01T00:00:00+00:00",
             "updated": "2024-01-01T00:00:00+00:00", "last_used": "2024-01-01T00:00:00+00:00"}]}"#;
        let forest = lookup
            .handle_response(&response(200, body), UnixTime(0))
            .unwrap();
        assert_eq!(forest.consents().count(), 1);
        assert_eq!(
            forest.consents().next().unwrap().other["status"],
            "approved"
        );
        assert!(
            lookup
                .handle_response(&response(200, r#"{"consents": [{"id": 1}]}"#), UnixTime(0))
                .is_err()
        );
        let dangling = r#"{"consents": [{"id": 2, "scope_name": "x", "dependency_path": [1, 2]}]}"#;
        let err = lookup
            .handle_response(&response(200, dangling), UnixTime(0))
            .unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        let denied = lookup
            .handle_response(
                &response(403, r#"{"errors":[{"code":"FORBIDDEN","detail":"no"}]}"#),
                UnixTime(0),
            )
            .unwrap_err();
        assert_eq!(denied.status(), Some(403));
    }
}
