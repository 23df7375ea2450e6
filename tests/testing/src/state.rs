//! The server's memory: clients, codes, tokens, consents, faults and the log, and the
//! grant logic that changes them. Everything here runs under one mutex.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::faults::QueuedFault;
use crate::jwt;
use crate::log::LoggedRequest;
use crate::model::{AuthorizeBehavior, ClientConfig, IssuedCode, User};
use crate::resource_server::ResourceServerConfig;
use crate::scopes::{self, AUTH_RESOURCE_SERVER, ScopeNode};

/// Default access-token lifetime, like Globus Auth's (48 hours).
pub(crate) const DEFAULT_TOKEN_LIFETIME: u64 = 172_800;
/// How long an authorization code stays valid.
pub(crate) const CODE_LIFETIME: u64 = 600;

/// A pending authorization code.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) scopes: Vec<ScopeNode>,
    pub(crate) offline: bool,
    pub(crate) user: User,
    pub(crate) state: Option<String>,
    pub(crate) expires_at: u64,
    pub(crate) used: bool,
    /// Token families issued from this code (revoked if the code is replayed).
    pub(crate) families: Vec<u64>,
    /// The authorize request's `session_required_*` parameters: the session the login
    /// established, which the tokens carry (see [`TokenRecord::session`]).
    pub(crate) session: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub(crate) kind: TokenKind,
    pub(crate) client_id: String,
    pub(crate) resource_server: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) user: User,
    pub(crate) issued_at: u64,
    /// Access tokens only; refresh tokens do not expire here.
    pub(crate) expires_at: Option<u64>,
    pub(crate) revoked: bool,
    /// A grant for one resource server: its refresh token and every access token issued
    /// with it share a family.
    pub(crate) family: u64,
    /// The `session_required_*` parameters of the login that started this grant (empty
    /// for client credentials); refreshed tokens keep them. The stand-in resource
    /// servers check their session requirements against these.
    pub(crate) session: Vec<(String, String)>,
}

impl TokenRecord {
    pub(crate) fn is_active_access(&self, now: u64) -> bool {
        self.kind == TokenKind::Access
            && !self.revoked
            && self.expires_at.is_some_and(|exp| now < exp)
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// One consent: a client allowed to use a scope for an identity, under a parent consent.
#[derive(Debug, Clone)]
pub(crate) struct ConsentRecord {
    pub(crate) id: u64,
    /// The client holding the consent (the app for a root, the parent scope's resource
    /// server for a dependent scope).
    pub(crate) client: String,
    /// The client at the root of this consent's tree.
    pub(crate) root_client: String,
    pub(crate) scope_name: String,
    pub(crate) identity: String,
    pub(crate) dependency_path: Vec<u64>,
    pub(crate) created: u64,
    pub(crate) updated: u64,
    pub(crate) last_used: u64,
    pub(crate) allows_refresh: bool,
}

impl ConsentRecord {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "client": self.client,
            "scope": jwt::stable_uuid(&format!("scope:{}", self.scope_name)),
            "scope_name": self.scope_name,
            "effective_identity": self.identity,
            "dependency_path": self.dependency_path,
            "created": jwt::iso8601(self.created),
            "updated": jwt::iso8601(self.updated),
            "last_used": jwt::iso8601(self.last_used),
            "status": "approved",
            "allows_refresh": self.allows_refresh,
            "auto_approved": false,
            "atomically_revocable": self.dependency_path.len() > 1,
        })
    }
}

/// The client id a resource server acts as when it holds a dependent consent. For
/// `https://auth.globus.org/scopes/{id}/…` scopes the resource server *is* the client
/// `{id}`; for named resource servers the fake invents a stable one.
pub(crate) fn resource_server_client(resource_server: &str) -> String {
    if resource_server.len() == 36 && resource_server.bytes().filter(|b| *b == b'-').count() == 4 {
        resource_server.to_owned()
    } else {
        jwt::stable_uuid(&format!("client:{resource_server}"))
    }
}

/// Everything the server remembers.
pub(crate) struct State {
    pub(crate) base_url: String,
    pub(crate) issuer: String,
    pub(crate) now: u64,
    pub(crate) token_lifetime: u64,
    pub(crate) user: User,
    pub(crate) clients: HashMap<String, ClientConfig>,
    pub(crate) behavior: AuthorizeBehavior,
    pub(crate) codes: HashMap<String, CodeGrant>,
    pub(crate) held_codes: VecDeque<IssuedCode>,
    pub(crate) last_code: Option<IssuedCode>,
    pub(crate) tokens: HashMap<String, TokenRecord>,
    pub(crate) consents: Vec<ConsentRecord>,
    pub(crate) faults: Vec<QueuedFault>,
    pub(crate) log: Vec<LoggedRequest>,
    /// What each stand-in resource server requires (absent: nothing beyond a valid
    /// token for it).
    pub(crate) resource_servers: HashMap<String, ResourceServerConfig>,
    counter: u64,
    request_counter: u64,
    next_consent_id: u64,
}

impl State {
    pub(crate) fn new(base_url: String, now: u64) -> Self {
        let issuer = base_url.trim_end_matches('/').to_owned();
        State {
            base_url,
            issuer,
            now,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            user: User::default(),
            clients: HashMap::new(),
            behavior: AuthorizeBehavior::Consent,
            codes: HashMap::new(),
            held_codes: VecDeque::new(),
            last_code: None,
            tokens: HashMap::new(),
            consents: Vec::new(),
            faults: Vec::new(),
            log: Vec::new(),
            resource_servers: HashMap::new(),
            counter: 0,
            request_counter: 0,
            next_consent_id: 100_000,
        }
    }

    /// A new opaque string: a kind prefix, the client's first 8 characters, a counter,
    /// and hex that makes it differ between server instances.
    pub(crate) fn mint(&mut self, kind: &str, client_id: &str) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!(
            "{}|{kind}|{}|{client_id}",
            self.base_url, self.counter
        ));
        let hex: String = digest.as_slice()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let prefix: String = client_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        format!("fa{kind}_{prefix}_{:05}_{hex}", self.counter)
    }

    /// A new `request_id` for a stand-in resource server's answer.
    pub(crate) fn next_request_id(&mut self) -> String {
        self.request_counter += 1;
        format!("fakeRS{:06}", self.request_counter)
    }

    fn next_family(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Records the consents a grant of `scopes` gives `client_id` for `identity`,
    /// merging with consents already given.
    pub(crate) fn record_consents(
        &mut self,
        identity: &str,
        client_id: &str,
        scopes: &[ScopeNode],
        offline: bool,
    ) {
        for node in scopes {
            self.record_consent(identity, client_id, client_id, node, &[], offline);
        }
    }

    fn record_consent(
        &mut self,
        identity: &str,
        root_client: &str,
        client: &str,
        node: &ScopeNode,
        parent_path: &[u64],
        offline: bool,
    ) {
        let now = self.now;
        let existing = self.consents.iter_mut().find(|c| {
            c.identity == identity
                && c.root_client == root_client
                && c.client == client
                && c.scope_name == node.name
                && c.dependency_path.len() == parent_path.len() + 1
                && c.dependency_path.starts_with(parent_path)
        });
        let path = match existing {
            Some(consent) => {
                consent.updated = now;
                consent.last_used = now;
                consent.allows_refresh |= offline;
                consent.dependency_path.clone()
            }
            None => {
                self.next_consent_id += 1;
                let id = self.next_consent_id;
                let mut path = parent_path.to_vec();
                path.push(id);
                self.consents.push(ConsentRecord {
                    id,
                    client: client.to_owned(),
                    root_client: root_client.to_owned(),
                    scope_name: node.name.clone(),
                    identity: identity.to_owned(),
                    dependency_path: path.clone(),
                    created: now,
                    updated: now,
                    last_used: now,
                    allows_refresh: offline,
                });
                path
            }
        };
        if node.dependencies.is_empty() {
            return;
        }
        let rs = scopes::resource_server(&node.name).unwrap_or_default();
        let dependent_client = resource_server_client(&rs);
        for dep in &node.dependencies {
            self.record_consent(
                identity,
                root_client,
                &dependent_client,
                dep,
                &path,
                offline,
            );
        }
    }

    /// Issues one token per resource server for the root scopes of `scopes` and returns
    /// the Globus-shaped token response, the token families created, and the claims of
    /// the id_token to add (signing is slow in debug builds, so the caller signs them
    /// after releasing the state lock: see [`crate::wire::Response::id_token_claims`]).
    pub(crate) fn issue_tokens(
        &mut self,
        client_id: &str,
        user: &User,
        scopes: &[ScopeNode],
        offline: bool,
        state: Option<&str>,
        session: &[(String, String)],
    ) -> (Value, Vec<u64>, Option<Value>) {
        // Group root scopes by resource server, auth.globus.org first (it carries the
        // id_token), the others in request order.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for node in scopes {
            let rs = scopes::resource_server(&node.name).unwrap_or_default();
            match groups.iter_mut().find(|(r, _)| *r == rs) {
                Some((_, names)) => {
                    if !names.contains(&node.name) {
                        names.push(node.name.clone());
                    }
                }
                None => groups.push((rs, vec![node.name.clone()])),
            }
        }
        if let Some(i) = groups.iter().position(|(rs, _)| rs == AUTH_RESOURCE_SERVER) {
            let auth = groups.remove(i);
            groups.insert(0, auth);
        }

        let now = self.now;
        let mut families = Vec::new();
        let mut tokens: Vec<Value> = Vec::new();
        let mut id_token = None;
        for (rs, names) in groups {
            let family = self.next_family();
            families.push(family);
            let access_token = self.mint("AT", client_id);
            self.tokens.insert(
                access_token.clone(),
                TokenRecord {
                    kind: TokenKind::Access,
                    client_id: client_id.to_owned(),
                    resource_server: rs.clone(),
                    scopes: names.clone(),
                    user: user.clone(),
                    issued_at: now,
                    expires_at: Some(now.saturating_add(self.token_lifetime)),
                    revoked: false,
                    family,
                    session: session.to_vec(),
                },
            );
            let mut token = json!({
                "access_token": access_token,
                "scope": names.join(" "),
                "resource_server": rs,
                "expires_in": self.token_lifetime,
                "token_type": "Bearer",
            });
            if offline {
                let refresh_token = self.mint("RT", client_id);
                self.tokens.insert(
                    refresh_token.clone(),
                    TokenRecord {
                        kind: TokenKind::Refresh,
                        client_id: client_id.to_owned(),
                        resource_server: rs.clone(),
                        scopes: names.clone(),
                        user: user.clone(),
                        issued_at: now,
                        expires_at: None,
                        revoked: false,
                        family,
                        session: session.to_vec(),
                    },
                );
                token["refresh_token"] = json!(refresh_token);
            }
            if rs == AUTH_RESOURCE_SERVER && names.iter().any(|n| n == "openid") {
                id_token = Some(self.id_token_claims(client_id, user, &names));
            }
            tokens.push(token);
        }

        let mut iter = tokens.into_iter();
        let mut top = iter.next().unwrap_or_else(|| json!({}));
        if let Some(state) = state {
            top["state"] = json!(state);
        }
        top["other_tokens"] = Value::Array(iter.collect());
        (top, families, id_token)
    }

    /// A new access token for the refresh token's grant; the refresh token stays the
    /// same (Globus Auth refresh tokens are not rotated).
    pub(crate) fn refresh(&mut self, refresh_token: &str) -> Value {
        let Some(record) = self.tokens.get(refresh_token).cloned() else {
            return json!({});
        };
        let now = self.now;
        let access_token = self.mint("AT", &record.client_id);
        self.tokens.insert(
            access_token.clone(),
            TokenRecord {
                kind: TokenKind::Access,
                issued_at: now,
                expires_at: Some(now.saturating_add(self.token_lifetime)),
                revoked: false,
                ..record.clone()
            },
        );
        json!({
            "access_token": access_token,
            "scope": record.scopes.join(" "),
            "resource_server": record.resource_server,
            "expires_in": self.token_lifetime,
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "other_tokens": [],
        })
    }

    /// Revokes every token of these families.
    pub(crate) fn revoke_families(&mut self, families: &[u64]) {
        for record in self.tokens.values_mut() {
            if families.contains(&record.family) {
                record.revoked = true;
            }
        }
    }

    /// The id_token claims for a grant of the auth.globus.org `scopes`.
    ///
    /// No `at_hash` (optional for the code flow): without it, logins that repeat on an
    /// unmoved clock have identical claims, and the signature cache makes them cheap.
    fn id_token_claims(&self, client_id: &str, user: &User, scopes: &[String]) -> Value {
        let now = self.now;
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let mut claims = json!({
            "iss": self.issuer,
            "sub": user.id,
            "aud": client_id,
            "iat": now,
            "exp": now.saturating_add(self.token_lifetime),
            "last_authentication": now,
            "identity_provider": user.identity_provider,
            "identity_provider_display_name": user.identity_provider_display_name,
        });
        if has("profile") {
            claims["preferred_username"] = json!(user.username);
            claims["name"] = json!(user.name);
            if let Some(org) = &user.organization {
                claims["organization"] = json!(org);
            }
        }
        if let Some(email) = user.email.as_ref().filter(|_| has("email")) {
            claims["email"] = json!(email);
        }
        if has("urn:globus:auth:scope:auth.globus.org:view_identity_set") {
            claims["identity_set"] = identity_set_json(user);
        }
        claims
    }
}

/// The `identity_set` claim: one object per identity.
pub(crate) fn identity_set_json(user: &User) -> Value {
    Value::Array(
        user.identity_set()
            .into_iter()
            .map(|u| {
                json!({
                    "sub": u.id,
                    "username": u.username,
                    "name": u.name,
                    "email": u.email,
                    "identity_provider": u.identity_provider,
                    "identity_provider_display_name": u.identity_provider_display_name,
                    "organization": u.organization,
                    "last_authentication": Value::Null,
                })
            })
            .collect(),
    )
}
