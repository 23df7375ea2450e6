//! The Globus Auth endpoints: each request checked as strictly as Globus Auth would,
//! mistakes answered with Globus-shaped JSON errors.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::faults::{Endpoint, api_error, consents_identity};
use crate::jwt;
use crate::log::AuthScheme;
use crate::model::{AuthorizeBehavior, ClientConfig, IssuedCode};
use crate::scopes::{self, AUTH_RESOURCE_SERVER, ScopeNode};
use crate::state::{CODE_LIFETIME, CodeGrant, State, TokenKind, identity_set_json};
use crate::wire::{Request, Response};

/// The scope that lets a token list every consent of an identity (`all=true`).
const VIEW_CONSENTS: &str = "urn:globus:auth:scope:auth.globus.org:view_consents";

/// The `Authorization` header, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    None,
    Basic { id: String, secret: String },
    Bearer(String),
    Other(String),
}

impl Credentials {
    pub(crate) fn from_request(request: &Request) -> Credentials {
        let Some(value) = request.header("authorization") else {
            return Credentials::None;
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            match decoded.as_deref().and_then(|s| s.split_once(':')) {
                Some((id, secret)) if !id.is_empty() => Credentials::Basic {
                    id: id.to_owned(),
                    secret: secret.to_owned(),
                },
                _ => Credentials::Other("malformed Basic".to_owned()),
            }
        } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            Credentials::Bearer(rest.to_owned())
        } else {
            Credentials::Other(scheme.to_owned())
        }
    }

    pub(crate) fn scheme(&self) -> AuthScheme {
        match self {
            Credentials::None => AuthScheme::None,
            Credentials::Basic { id, .. } => AuthScheme::Basic(id.clone()),
            Credentials::Bearer(token) => AuthScheme::Bearer(token.clone()),
            Credentials::Other(scheme) => AuthScheme::Other(scheme.clone()),
        }
    }
}

/// Whether the request carries a form body.
fn is_form(request: &Request) -> bool {
    request
        .header("content-type")
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The decoded form body (empty unless the body is form-encoded).
pub(crate) fn form_of(request: &Request) -> Vec<(String, String)> {
    if is_form(request) {
        url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect()
    } else {
        Vec::new()
    }
}

/// An OAuth error (`{"error", "error_description"}`).
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let mut response = Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    );
    if status == 401 {
        response.set_header("WWW-Authenticate", "Basic realm=\"globus\"");
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response.set_header("Cache-Control", "no-store");
    response.set_header("Pragma", "no-cache");
    response
}

fn bearer_error(status: u16, code: &str, detail: &str) -> Response {
    let mut response = api_error(status, code, detail);
    if status == 401 {
        response.set_header("WWW-Authenticate", "Bearer realm=\"globus\"");
    }
    response
}

/// The single value of a parameter; a parameter given twice is an error (RFC 6749 3.1).
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, Response> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(oauth_error(
            400,
            "invalid_request",
            &format!("The '{name}' parameter was given more than once"),
        ));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

fn required<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, Response> {
    single(pairs, name)?.ok_or_else(|| {
        oauth_error(
            400,
            "invalid_request",
            &format!("Missing required parameter '{name}'"),
        )
    })
}

/// Routes and answers one request.
pub(crate) fn handle(state: &mut State, request: &Request, endpoint: Endpoint) -> Response {
    let method = request.method.as_str();
    let allowed: &[&str] = match endpoint {
        Endpoint::Token | Endpoint::Revoke | Endpoint::Introspect => &["POST"],
        Endpoint::Userinfo => &["GET", "POST"],
        Endpoint::Unknown | Endpoint::Any | Endpoint::ResourceServer => {
            return not_found(request);
        }
        _ => &["GET"],
    };
    if !allowed.contains(&method) {
        let mut response = api_error(
            405,
            "METHOD_NOT_ALLOWED",
            &format!("{method} is not allowed on {}", request.path),
        );
        response.set_header("Allow", &allowed.join(", "));
        return response;
    }
    let result = match endpoint {
        Endpoint::Authorize => authorize(state, request),
        Endpoint::Token => token(state, request),
        Endpoint::Revoke => revoke(state, request),
        Endpoint::Introspect => introspect(state, request),
        Endpoint::Userinfo => userinfo(state, request),
        Endpoint::OpenidConfiguration => Ok(Response::json(200, &openid_configuration(state))),
        Endpoint::Jwks => Ok(Response::json(200, &jwt::jwks())),
        Endpoint::Consents => consents(state, request),
        Endpoint::AuthCodePage => Ok(auth_code_page(request)),
        Endpoint::Unknown | Endpoint::Any | Endpoint::ResourceServer => Err(not_found(request)),
    };
    result.unwrap_or_else(|response| response)
}

fn not_found(request: &Request) -> Response {
    api_error(
        404,
        "NOT_FOUND",
        &format!("No such endpoint: {}", request.path),
    )
}

fn openid_configuration(state: &State) -> Value {
    let base = &state.base_url;
    json!({
        "issuer": state.issuer,
        "authorization_endpoint": format!("{base}v2/oauth2/authorize"),
        "token_endpoint": format!("{base}v2/oauth2/token"),
        "revocation_endpoint": format!("{base}v2/oauth2/token/revoke"),
        "introspection_endpoint": format!("{base}v2/oauth2/token/introspect"),
        "userinfo_endpoint": format!("{base}v2/oauth2/userinfo"),
        "jwks_uri": format!("{base}jwk.json"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "claims_supported": [
            "aud", "email", "exp", "iat", "identity_provider",
            "identity_provider_display_name", "identity_set", "iss", "last_authentication",
            "name", "organization", "preferred_username", "sub"
        ],
    })
}

// ---------------------------------------------------------------- redirect URIs

fn is_loopback(url: &url::Url) -> bool {
    url.scheme() == "http" && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Whether `requested` matches the `registered` URI: exactly, or (native clients) a
/// loopback URI with any port (RFC 8252 7.3).
pub(crate) fn redirect_uri_matches(registered: &str, requested: &str, native: bool) -> bool {
    if registered == requested {
        return true;
    }
    if !native {
        return false;
    }
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    is_loopback(&r)
        && is_loopback(&q)
        && r.host_str() == q.host_str()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
        && q.username().is_empty()
        && q.password().is_none()
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params {
                    pairs.append_pair(k, v);
                }
            }
            Response::redirect(url.as_str())
        }
        Err(_) => oauth_error(400, "invalid_request", "The redirect_uri is not a URL"),
    }
}

// ---------------------------------------------------------------- authorize

fn pkce_value_ok(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Parses a scope string and checks that Globus Auth would know every scope in it.
fn parse_scopes(scope: &str) -> Result<Vec<ScopeNode>, Response> {
    let nodes = scopes::parse(scope)
        .map_err(|e| oauth_error(400, "invalid_scope", &format!("Invalid scope string: {e}")))?;
    if nodes.is_empty() {
        return Err(oauth_error(
            400,
            "invalid_scope",
            "No scopes were requested",
        ));
    }
    fn check(nodes: &[ScopeNode]) -> Result<(), Response> {
        for node in nodes {
            if scopes::resource_server(&node.name).is_none() {
                return Err(oauth_error(
                    400,
                    "invalid_scope",
                    &format!("Unknown scope '{}'", node.name),
                ));
            }
            check(&node.dependencies)?;
        }
        Ok(())
    }
    check(&nodes)?;
    Ok(nodes)
}

fn authorize(state: &mut State, request: &Request) -> Result<Response, Response> {
    let q = &request.query;
    let client_id = required(q, "client_id")?;
    let client = state.clients.get(client_id).cloned().ok_or_else(|| {
        oauth_error(
            400,
            "invalid_client",
            &format!("Unknown client_id '{client_id}'"),
        )
    })?;
    let native = !client.is_confidential();
    let redirect_uri = required(q, "redirect_uri")?;
    let registered = client.effective_redirect_uris(&state.base_url);
    if !registered
        .iter()
        .any(|r| redirect_uri_matches(r, redirect_uri, native))
    {
        return Err(oauth_error(
            400,
            "invalid_request",
            &format!("redirect_uri '{redirect_uri}' is not registered for client {client_id}"),
        ));
    }
    // From here on the redirect URI is trusted, but like Globus Auth the fake shows
    // parameter errors to the user (here: the test) instead of redirecting them.
    match single(q, "response_type")? {
        Some("code") => {}
        Some(other) => {
            return Err(oauth_error(
                400,
                "unsupported_response_type",
                &format!("response_type '{other}' is not supported; use 'code'"),
            ));
        }
        None => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "Missing required parameter 'response_type'",
            ));
        }
    }
    let scope = single(q, "scope")?
        .ok_or_else(|| oauth_error(400, "invalid_scope", "Missing required parameter 'scope'"))?;
    let scopes = parse_scopes(scope)?;

    let challenge = single(q, "code_challenge")?;
    let method = single(q, "code_challenge_method")?;
    match (challenge, method) {
        (None, None) if native => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "Native clients must use PKCE: code_challenge and code_challenge_method=S256",
            ));
        }
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "code_challenge and code_challenge_method must be given together",
            ));
        }
        (Some(challenge), Some(method)) => {
            if method != "S256" {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    &format!("code_challenge_method '{method}' is not supported; use S256"),
                ));
            }
            if challenge.len() != 43 || !pkce_value_ok(challenge) {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    "code_challenge must be 43 base64url characters (S256)",
                ));
            }
        }
    }
    let offline = match single(q, "access_type")? {
        None | Some("online") => false,
        Some("offline") => true,
        Some(other) => {
            return Err(oauth_error(
                400,
                "invalid_request",
                &format!("access_type must be 'online' or 'offline', not '{other}'"),
            ));
        }
    };
    let request_state = single(q, "state")?.map(str::to_owned);
    for name in [
        "session_required_identities",
        "session_required_single_domain",
        "session_required_policies",
        "session_required_mfa",
        "session_message",
        "prompt",
        "prefill_named_grant",
    ] {
        single(q, name)?;
    }

    let behavior = state.behavior.clone();
    let mut params: Vec<(&str, &str)> = Vec::new();
    match &behavior {
        AuthorizeBehavior::Deny(description) => {
            params.push(("error", "access_denied"));
            params.push(("error_description", description));
            if let Some(s) = &request_state {
                params.push(("state", s));
            }
            return Ok(redirect_with(redirect_uri, &params));
        }
        AuthorizeBehavior::RequireSession(requirement) if !requirement.is_met(q) => {
            let description = format!(
                "This login requires a session with {}",
                requirement.describe()
            );
            params.push(("error", "login_required"));
            params.push(("error_description", &description));
            if let Some(s) = &request_state {
                params.push(("state", s));
            }
            return Ok(redirect_with(redirect_uri, &params));
        }
        _ => {}
    }

    let session: Vec<(String, String)> = q
        .iter()
        .filter(|(k, v)| k.starts_with("session_required_") && !v.is_empty())
        .cloned()
        .collect();
    let user = state.user.clone();
    state.record_consents(&user.id, client_id, &scopes, offline);
    let code = state.mint("CD", client_id);
    state.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.map(str::to_owned),
            scopes,
            offline,
            user,
            state: request_state.clone(),
            expires_at: state.now.saturating_add(CODE_LIFETIME),
            used: false,
            families: Vec::new(),
            session,
        },
    );
    let issued = IssuedCode {
        code: code.clone(),
        state: request_state.clone(),
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
    };
    state.last_code = Some(issued.clone());
    if behavior == AuthorizeBehavior::HoldCode {
        state.held_codes.push_back(issued);
        return Ok(code_page(&code));
    }
    params.push(("code", &code));
    if let Some(s) = &request_state {
        params.push(("state", s));
    }
    Ok(redirect_with(redirect_uri, &params))
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn code_page(code: &str) -> Response {
    Response::html(
        200,
        format!(
            "<!DOCTYPE html>\n<html><head><title>Globus Auth (fake): authorization code</title></head>\n\
             <body><h1>Native App Authorization Code</h1>\n\
             <p>Copy this code and paste it into the application:</p>\n\
             <pre id=\"auth-code\">{}</pre></body></html>\n",
            escape_html(code)
        ),
    )
}

fn auth_code_page(request: &Request) -> Response {
    let get = |name: &str| {
        request
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or("");
        return Response::html(
            200,
            format!(
                "<!DOCTYPE html>\n<html><head><title>Globus Auth (fake): login failed</title></head>\n\
                 <body><h1>Login failed</h1>\n<p id=\"error\">{}</p>\n<p id=\"error-description\">{}</p>\
                 </body></html>\n",
                escape_html(error),
                escape_html(description)
            ),
        );
    }
    match get("code") {
        Some(code) if !code.is_empty() => code_page(code),
        _ => Response::html(
            400,
            "<!DOCTYPE html>\n<html><body><h1>Missing authorization code</h1></body></html>\n",
        ),
    }
}

// ---------------------------------------------------------------- token endpoint

fn form_request(request: &Request) -> Result<Vec<(String, String)>, Response> {
    if !is_form(request) {
        return Err(oauth_error(
            400,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(form_of(request))
}

/// Authenticates the calling client: HTTP Basic for a confidential client, `client_id`
/// in the form for a native one.
fn authenticate(
    state: &State,
    request: &Request,
    form: &[(String, String)],
) -> Result<ClientConfig, Response> {
    let form_client_id = single(form, "client_id")?;
    if single(form, "client_secret")?.is_some() {
        return Err(oauth_error(
            401,
            "invalid_client",
            "client_secret in the body is not accepted; authenticate with HTTP Basic",
        ));
    }
    match Credentials::from_request(request) {
        Credentials::Basic { id, secret } => {
            let client = state.clients.get(&id).ok_or_else(|| {
                oauth_error(401, "invalid_client", &format!("Unknown client '{id}'"))
            })?;
            match &client.secret {
                None => Err(oauth_error(
                    401,
                    "invalid_client",
                    "A native client has no secret; send client_id in the body instead",
                )),
                Some(expected) if *expected != secret => Err(oauth_error(
                    401,
                    "invalid_client",
                    "Invalid client credentials",
                )),
                Some(_) => {
                    if form_client_id.is_some_and(|f| f != id) {
                        return Err(oauth_error(
                            401,
                            "invalid_client",
                            "client_id in the body does not match the HTTP Basic client",
                        ));
                    }
                    Ok(client.clone())
                }
            }
        }
        Credentials::None => {
            let id = form_client_id.ok_or_else(|| {
                oauth_error(401, "invalid_client", "Client authentication is required")
            })?;
            let client = state.clients.get(id).ok_or_else(|| {
                oauth_error(401, "invalid_client", &format!("Unknown client '{id}'"))
            })?;
            if client.is_confidential() {
                return Err(oauth_error(
                    401,
                    "invalid_client",
                    "A confidential client must authenticate with HTTP Basic",
                ));
            }
            Ok(client.clone())
        }
        Credentials::Bearer(_) | Credentials::Other(_) => Err(oauth_error(
            401,
            "invalid_client",
            "Unsupported Authorization header; use HTTP Basic",
        )),
    }
}

fn token(state: &mut State, request: &Request) -> Result<Response, Response> {
    let form = form_request(request)?;
    let client = authenticate(state, request, &form)?;
    let grant_type = required(&form, "grant_type")?;
    match grant_type {
        "authorization_code" => authorization_code_grant(state, &client, &form),
        "refresh_token" => refresh_token_grant(state, &client, &form),
        "client_credentials" => client_credentials_grant(state, &client, &form),
        other => Err(oauth_error(
            400,
            "unsupported_grant_type",
            &format!("grant_type '{other}' is not supported"),
        )),
    }
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(400, "invalid_grant", description)
}

fn authorization_code_grant(
    state: &mut State,
    client: &ClientConfig,
    form: &[(String, String)],
) -> Result<Response, Response> {
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = single(form, "code_verifier")?;
    let Some(grant) = state.codes.get(code).cloned() else {
        return Err(invalid_grant("Invalid authorization code"));
    };
    if grant.used {
        // RFC 6749 4.1.2: a replayed code revokes what it issued.
        state.revoke_families(&grant.families);
        return Err(invalid_grant("Authorization code has already been used"));
    }
    if state.now >= grant.expires_at {
        return Err(invalid_grant("Authorization code has expired"));
    }
    if grant.client_id != client.id {
        return Err(invalid_grant(
            "Authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the one used at authorization",
        ));
    }
    match (&grant.code_challenge, verifier) {
        (Some(_), None) => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "Missing required parameter 'code_verifier'",
            ));
        }
        (Some(challenge), Some(verifier)) => {
            if !pkce_value_ok(verifier) {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]",
                ));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != *challenge {
                return Err(invalid_grant("code_verifier does not match code_challenge"));
            }
        }
        (None, Some(_)) => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "code_verifier given, but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let (body, families, claims) = state.issue_tokens(
        &client.id,
        &grant.user,
        &grant.scopes,
        grant.offline,
        grant.state.as_deref(),
        &grant.session,
    );
    if let Some(stored) = state.codes.get_mut(code) {
        stored.used = true;
        stored.families = families;
    }
    let mut response = no_store(Response::json(200, &body));
    response.id_token_claims = claims;
    Ok(response)
}

fn refresh_token_grant(
    state: &mut State,
    client: &ClientConfig,
    form: &[(String, String)],
) -> Result<Response, Response> {
    let refresh_token = required(form, "refresh_token")?;
    let valid = state.tokens.get(refresh_token).is_some_and(|record| {
        record.kind == TokenKind::Refresh && !record.revoked && record.client_id == client.id
    });
    if !valid {
        return Err(invalid_grant("Invalid refresh token"));
    }
    let body = state.refresh(refresh_token);
    Ok(no_store(Response::json(200, &body)))
}

fn client_credentials_grant(
    state: &mut State,
    client: &ClientConfig,
    form: &[(String, String)],
) -> Result<Response, Response> {
    if !client.is_confidential() {
        return Err(oauth_error(
            400,
            "unauthorized_client",
            "Only a confidential client (HTTP Basic) may use client_credentials",
        ));
    }
    let scope = single(form, "scope")?
        .ok_or_else(|| oauth_error(400, "invalid_scope", "Missing required parameter 'scope'"))?;
    let scopes = parse_scopes(scope)?;
    let identity = crate::model::User::for_client(&client.id);
    state.record_consents(&identity.id, &client.id, &scopes, false);
    let (body, _, claims) = state.issue_tokens(&client.id, &identity, &scopes, false, None, &[]);
    let mut response = no_store(Response::json(200, &body));
    response.id_token_claims = claims;
    Ok(response)
}

// ---------------------------------------------------------------- revoke, introspect

fn revoke(state: &mut State, request: &Request) -> Result<Response, Response> {
    let form = form_request(request)?;
    let client = authenticate(state, request, &form)?;
    let token = required(&form, "token")?;
    // RFC 7009: an unknown token, or another client's, is answered like a success.
    let family = state
        .tokens
        .get(token)
        .filter(|record| record.client_id == client.id)
        .map(|record| (record.kind, record.family));
    match family {
        Some((TokenKind::Refresh, family)) => state.revoke_families(&[family]),
        Some((TokenKind::Access, _)) => {
            if let Some(record) = state.tokens.get_mut(token) {
                record.revoked = true;
            }
        }
        None => {}
    }
    Ok(no_store(Response::json(200, &json!({"active": false}))))
}

fn introspect(state: &mut State, request: &Request) -> Result<Response, Response> {
    let form = form_request(request)?;
    let client = authenticate(state, request, &form)?;
    if !client.is_confidential() {
        return Err(oauth_error(
            401,
            "invalid_client",
            "Token introspection requires a confidential client (HTTP Basic)",
        ));
    }
    let token = required(&form, "token")?;
    let include = single(&form, "include")?.unwrap_or("");
    let now = state.now;
    let Some(record) = state.tokens.get(token).filter(|r| {
        r.is_active_access(now) && (r.client_id == client.id || r.resource_server == client.id)
    }) else {
        return Ok(no_store(Response::json(200, &json!({"active": false}))));
    };
    let user = &record.user;
    let mut body = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": record.scopes.join(" "),
        "client_id": record.client_id,
        "sub": user.id,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "exp": record.expires_at,
        "iat": record.issued_at,
        "nbf": record.issued_at,
        "aud": [record.resource_server, record.client_id],
        "iss": state.issuer,
    });
    if include.split(',').any(|i| i.trim() == "identity_set") {
        body["identity_set"] = json!(
            user.identity_set()
                .iter()
                .map(|u| u.id.clone())
                .collect::<Vec<_>>()
        );
    }
    Ok(no_store(Response::json(200, &body)))
}

// ---------------------------------------------------------------- bearer endpoints

/// The active auth.globus.org access token a bearer request carries.
fn bearer_token(state: &State, request: &Request) -> Result<crate::state::TokenRecord, Response> {
    let Credentials::Bearer(token) = Credentials::from_request(request) else {
        return Err(bearer_error(
            401,
            "UNAUTHORIZED",
            "Call must be authenticated",
        ));
    };
    let record = state
        .tokens
        .get(&token)
        .filter(|r| r.is_active_access(state.now))
        .ok_or_else(|| {
            bearer_error(
                401,
                "UNAUTHORIZED",
                "The bearer token is invalid, expired or revoked",
            )
        })?;
    if record.resource_server != AUTH_RESOURCE_SERVER {
        return Err(bearer_error(
            403,
            "FORBIDDEN",
            &format!(
                "A token for {} cannot be used with Globus Auth; use an auth.globus.org token",
                record.resource_server
            ),
        ));
    }
    Ok(record.clone())
}

fn userinfo(state: &mut State, request: &Request) -> Result<Response, Response> {
    let record = bearer_token(state, request)?;
    if !record.has_scope("openid") {
        return Err(bearer_error(
            403,
            "FORBIDDEN",
            "userinfo requires a token with the openid scope",
        ));
    }
    let user = &record.user;
    let mut body = json!({
        "sub": user.id,
        "identity_provider": user.identity_provider,
        "identity_provider_display_name": user.identity_provider_display_name,
        "last_authentication": record.issued_at,
    });
    if record.has_scope("profile") {
        body["preferred_username"] = json!(user.username);
        body["name"] = json!(user.name);
        body["organization"] = json!(user.organization);
    }
    if record.has_scope("email") {
        body["email"] = json!(user.email);
    }
    if record.has_scope("urn:globus:auth:scope:auth.globus.org:view_identity_set") {
        body["identity_set"] = identity_set_json(user);
    }
    Ok(Response::json(200, &body))
}

fn consents(state: &mut State, request: &Request) -> Result<Response, Response> {
    let record = bearer_token(state, request)?;
    let identity = consents_identity(&request.path).unwrap_or("");
    let all = match single(&request.query, "all").map_err(|_| {
        api_error(
            400,
            "INVALID_PARAMETERS",
            "The 'all' parameter was given more than once",
        )
    })? {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
        Some(v) => {
            return Err(api_error(
                400,
                "INVALID_PARAMETERS",
                &format!("'all' must be true or false, not '{v}'"),
            ));
        }
    };
    if !record.user.identity_set().iter().any(|u| u.id == identity) {
        return Err(api_error(
            403,
            "FORBIDDEN",
            "The token's identity may not view this identity's consents",
        ));
    }
    if all && !record.has_scope(VIEW_CONSENTS) {
        return Err(api_error(
            403,
            "FORBIDDEN",
            &format!("all=true requires the {VIEW_CONSENTS} scope"),
        ));
    }
    let consents: Vec<Value> = state
        .consents
        .iter()
        .filter(|c| c.identity == identity && (all || c.root_client == record.client_id))
        .map(|c| c.to_json())
        .collect();
    Ok(Response::json(200, &json!({"consents": consents})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port() {
        assert!(redirect_uri_matches(
            "http://localhost/",
            "http://localhost:5000",
            true
        ));
        assert!(redirect_uri_matches(
            "http://127.0.0.1/",
            "http://127.0.0.1:5000/",
            true
        ));
        assert!(redirect_uri_matches(
            "http://[::1]/",
            "http://[::1]:5000/",
            true
        ));
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:1/cb",
            true
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:1/other",
            true
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/",
            "http://localhost:1/",
            true
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/",
            "https://127.0.0.1:1/",
            true
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/",
            "http://127.0.0.1:1/#f",
            true
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/",
            "http://127.0.0.1:1/",
            false
        ));
        assert!(!redirect_uri_matches(
            "https://a.org/cb",
            "https://a.org/cb/",
            false
        ));
        assert!(redirect_uri_matches(
            "https://a.org/cb",
            "https://a.org/cb",
            false
        ));
    }

    #[test]
    fn parses_authorization_headers() {
        let request = |value: &str| Request {
            method: "POST".to_owned(),
            path: "/".to_owned(),
            query: Vec::new(),
            headers: vec![("authorization".to_owned(), value.to_owned())],
            body: Vec::new(),
            keep_alive: true,
        };
        assert_eq!(
            Credentials::from_request(&request(&format!(
                "Basic {}",
                STANDARD.encode("id:se:cret")
            ))),
            Credentials::Basic {
                id: "id".to_owned(),
                secret: "se:cret".to_owned()
            }
        );
        assert_eq!(
            Credentials::from_request(&request("bearer tok")),
            Credentials::Bearer("tok".to_owned())
        );
        assert!(matches!(
            Credentials::from_request(&request("Basic !!!")),
            Credentials::Other(_)
        ));
        assert!(matches!(
            Credentials::from_request(&request("Bearer")),
            Credentials::Other(_)
        ));
        assert!(matches!(
            Credentials::from_request(&request("Digest x")),
            Credentials::Other(_)
        ));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
