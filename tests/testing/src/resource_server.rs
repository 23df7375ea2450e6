//! The stand-in resource servers: each checks the bearer token of every request the way
//! a Globus service does and answers `401`, `403` with a Globus Auth Requirements Error,
//! or `200` with an echo of the request.

use serde_json::{Value, json};

use crate::endpoints::Credentials;
use crate::model::SessionRequirement;
use crate::scopes::{self, ScopeNode};
use crate::state::{State, TokenKind, TokenRecord, resource_server_client};
use crate::wire::Response;

/// What a stand-in resource server requires of a token beyond being an active access
/// token issued for it (see [`crate::FakeAuth::configure_resource_server`]).
///
/// ```
/// use globus_app_testing::{ResourceServerConfig, SessionRequirement};
///
/// let config = ResourceServerConfig::new()
///     .require_scope("urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/C/data_access]")
///     .require_session(SessionRequirement::SingleDomain("uchicago.edu".to_owned()));
/// assert_eq!(config.required_scopes().len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceServerConfig {
    required_scopes: Vec<String>,
    required_sessions: Vec<SessionRequirement>,
}

impl ResourceServerConfig {
    /// No requirement: any active access token issued for the resource server is
    /// accepted.
    pub fn new() -> Self {
        ResourceServerConfig::default()
    }

    /// A token must carry this scope. The string is a scope as the authorize endpoint
    /// reads it: each root scope must be one of the token's scopes, and each dependent
    /// scope (`root[dependent]`, optional or not) must have been consented to by the
    /// token's identity for the token's client (as a login asking for `root[dependent]`
    /// records; [`crate::FakeAuth::clear_consents`] takes it away again). A string that
    /// does not parse is never satisfied.
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.required_scopes.push(scope.into());
        self
    }

    /// A token must come from a login whose authorize request carried this session
    /// parameter (e.g. `session_required_single_domain=uchicago.edu`, or
    /// `session_required_mfa=true`). Refreshed tokens keep their login's session; client
    /// credentials tokens have none.
    pub fn require_session(mut self, requirement: SessionRequirement) -> Self {
        self.required_sessions.push(requirement);
        self
    }

    /// The scopes a token must carry.
    pub fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }

    /// The session requirements a token must meet.
    pub fn required_sessions(&self) -> &[SessionRequirement] {
        &self.required_sessions
    }
}

/// Answers one request to the stand-in resource server `name`.
pub(crate) fn handle(state: &mut State, request: &crate::wire::Request, name: &str) -> Response {
    let request_id = state.next_request_id();
    let record = match active_token(state, request, name) {
        Ok(record) => record,
        Err(message) => {
            let mut response = error(401, "AuthenticationFailed", &message, request, &request_id);
            response.set_header("WWW-Authenticate", "Bearer realm=\"globus\"");
            return response;
        }
    };
    let config = state
        .resource_servers
        .get(name)
        .cloned()
        .unwrap_or_default();
    let missing_scopes: Vec<&String> = config
        .required_scopes
        .iter()
        .filter(|scope| !scope_satisfied(state, &record, scope))
        .collect();
    let missing_sessions: Vec<&SessionRequirement> = config
        .required_sessions
        .iter()
        .filter(|requirement| !requirement.is_met(&record.session))
        .collect();
    if !missing_scopes.is_empty() || !missing_sessions.is_empty() {
        return authorization_required(
            name,
            &missing_scopes,
            &missing_sessions,
            request,
            &request_id,
        );
    }
    let query: Vec<Value> = request.query.iter().map(|(k, v)| json!([k, v])).collect();
    Response::json(
        200,
        &json!({
            "method": request.method,
            "path": request.path,
            "query": query,
            "body_length": request.body.len(),
            "resource_server": name,
            "identity": record.user.id,
            "username": record.user.username,
            "client_id": record.client_id,
            "scopes": record.scopes,
            "request_id": request_id,
        }),
    )
}

/// The active access token for `name` the request carries, or why there is none.
fn active_token(
    state: &State,
    request: &crate::wire::Request,
    name: &str,
) -> Result<TokenRecord, String> {
    let token = match Credentials::from_request(request) {
        Credentials::Bearer(token) => token,
        Credentials::None => return Err("No Authorization header".to_owned()),
        Credentials::Basic { .. } | Credentials::Other(_) => {
            return Err("The Authorization header must carry a Bearer token".to_owned());
        }
    };
    let Some(record) = state.tokens.get(&token) else {
        return Err("Token is not active: unknown token".to_owned());
    };
    if record.kind != TokenKind::Access {
        return Err("Token is not active: a refresh token is not an access token".to_owned());
    }
    if record.revoked {
        return Err("Token is not active: it has been revoked".to_owned());
    }
    if !record.is_active_access(state.now) {
        return Err("Token is not active: it has expired".to_owned());
    }
    if record.resource_server != name {
        return Err(format!(
            "Token is not valid for {name}: it was issued for {}",
            record.resource_server
        ));
    }
    Ok(record.clone())
}

/// Whether the token meets a required scope string.
fn scope_satisfied(state: &State, record: &TokenRecord, scope: &str) -> bool {
    let Ok(nodes) = scopes::parse(scope) else {
        return false;
    };
    !nodes.is_empty()
        && nodes
            .iter()
            .all(|node| record.has_scope(&node.name) && dependencies_consented(state, record, node))
}

/// Whether the token's identity consented, for the token's client, to every scope that
/// `parent` depends on (recursively).
fn dependencies_consented(state: &State, record: &TokenRecord, parent: &ScopeNode) -> bool {
    if parent.dependencies.is_empty() {
        return true;
    }
    let holder = resource_server_client(&scopes::resource_server(&parent.name).unwrap_or_default());
    parent.dependencies.iter().all(|dependency| {
        state.consents.iter().any(|c| {
            c.identity == record.user.id
                && c.root_client == record.client_id
                && c.client == holder
                && c.scope_name == dependency.name
        }) && dependencies_consented(state, record, dependency)
    })
}

/// A Globus-service error body: `{"code", "message", "request_id", "resource",
/// "http_status"}`.
fn error(
    status: u16,
    code: &str,
    message: &str,
    request: &crate::wire::Request,
    request_id: &str,
) -> Response {
    Response::json(
        status,
        &json!({
            "code": code,
            "message": message,
            "request_id": request_id,
            "resource": request.path,
            "http_status": status,
        }),
    )
}

/// `403` with a Globus Auth Requirements Error naming what the token lacks.
fn authorization_required(
    name: &str,
    missing_scopes: &[&String],
    missing_sessions: &[&SessionRequirement],
    request: &crate::wire::Request,
    request_id: &str,
) -> Response {
    let mut needs: Vec<String> = missing_scopes
        .iter()
        .map(|scope| format!("consent to {scope}"))
        .collect();
    needs.extend(missing_sessions.iter().map(|r| r.describe()));
    let message = format!("{name} requires a login with {}", needs.join(", "));
    let mut parameters = json!({ "session_message": message });
    if !missing_scopes.is_empty() {
        parameters["required_scopes"] = json!(missing_scopes);
    }
    for requirement in missing_sessions {
        let (key, value) = match requirement {
            SessionRequirement::Identity(id) => ("session_required_identities", id),
            SessionRequirement::SingleDomain(domain) => ("session_required_single_domain", domain),
            SessionRequirement::Policy(policy) => ("session_required_policies", policy),
            SessionRequirement::Mfa => {
                parameters["session_required_mfa"] = json!(true);
                continue;
            }
        };
        match parameters.get_mut(key).and_then(Value::as_array_mut) {
            Some(list) => list.push(json!(value)),
            None => parameters[key] = json!([value]),
        }
    }
    Response::json(
        403,
        &json!({
            "code": "AuthorizationRequired",
            "message": message,
            "authorization_parameters": parameters,
            "request_id": request_id,
            "resource": request.path,
            "http_status": 403,
        }),
    )
}
