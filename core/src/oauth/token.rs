//! Token grants (authorization code, refresh, client credentials) and the token
//! response they share.

use super::{Exchange, NativeClientId, form_post, json_body};
use crate::jwt::IdTokenClaims;
use crate::{
    AuthService, AuthorizationCode, CodeVerifier, HttpRequest, HttpResponse, IdToken, OAuthClient,
    RefreshToken, ResponseError, TokenData, UnixTime,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a token grant returned: one [`TokenData`] per resource server, and the
/// checked id_token claims when `openid` was granted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GrantedTokens {
    /// The tokens, the top-level one first, then `other_tokens` in order.
    pub tokens: Vec<TokenData>,
    /// The id_token's claims, checked against the client id and issuer.
    pub id_token: Option<IdTokenClaims>,
}

impl GrantedTokens {
    /// Returns the identity the tokens act as (the id_token's `sub`), if known.
    pub fn identity_id(&self) -> Option<&str> {
        self.id_token.as_ref().map(|c| c.sub.as_str())
    }

    /// Returns the tokens of one resource server.
    pub fn get(&self, resource_server: &str) -> Option<&TokenData> {
        self.tokens
            .iter()
            .find(|t| t.resource_server == resource_server)
    }
}

#[derive(Deserialize)]
struct RawToken {
    access_token: crate::AccessToken,
    scope: String,
    resource_server: String,
    expires_in: i64,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    id_token: Option<IdToken>,
}

#[derive(Deserialize)]
struct RawTokenResponse {
    #[serde(flatten)]
    top: RawToken,
    #[serde(default)]
    other_tokens: Vec<RawToken>,
}

/// Parses a token endpoint response into per-resource-server [`TokenData`].
///
/// `expires_at_seconds` is `now + expires_in`. When the response carries an
/// id_token its claims are decoded and checked (audience `client_id`, the
/// service's issuer, expiry with 300 s leeway) and its `sub` becomes every
/// token's `identity_id`.
///
/// # Errors
/// A Globus error answer, a body of the wrong shape, duplicate resource servers,
/// or an unacceptable id_token.
pub fn parse_token_response(
    response: &HttpResponse,
    client_id: &str,
    service: &AuthService,
    now: UnixTime,
) -> Result<GrantedTokens, ResponseError> {
    let raw: RawTokenResponse = json_body(response)?;
    let id_token = match &raw.top.id_token {
        Some(token) => {
            let claims = IdTokenClaims::decode(token)?;
            claims.validate(client_id, &service.accepted_issuers(), now)?;
            Some(claims)
        }
        None => None,
    };
    let identity = id_token.as_ref().map(|c| c.sub.clone());
    let mut tokens = Vec::with_capacity(1 + raw.other_tokens.len());
    for token in std::iter::once(raw.top).chain(raw.other_tokens) {
        let printable = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
        if !printable(token.access_token.secret())
            || token
                .refresh_token
                .as_ref()
                .is_some_and(|t| !printable(t.secret()))
        {
            return Err(ResponseError::unexpected(
                response,
                format!(
                    "the token for {} is empty or has characters a token cannot have",
                    token.resource_server
                ),
            ));
        }
        if token.resource_server.is_empty() {
            return Err(ResponseError::unexpected(
                response,
                "a token has an empty resource_server",
            ));
        }
        if tokens
            .iter()
            .any(|t: &TokenData| t.resource_server == token.resource_server)
        {
            return Err(ResponseError::unexpected(
                response,
                format!("two tokens for resource server {}", token.resource_server),
            ));
        }
        tokens.push(TokenData {
            resource_server: token.resource_server,
            identity_id: identity.clone(),
            scope: token.scope,
            access_token: token.access_token,
            refresh_token: token.refresh_token,
            expires_at_seconds: now.0.saturating_add(token.expires_in.max(0)),
            token_type: token.token_type,
            extra: BTreeMap::new(),
        });
    }
    Ok(GrantedTokens { tokens, id_token })
}

/// The token endpoint as one client sees it: every grant posts a form there and
/// reads the same token response back.
#[derive(Clone, Debug)]
struct TokenEndpoint {
    service: AuthService,
    client: OAuthClient,
}

impl TokenEndpoint {
    fn post(&self, fields: &[(&str, &str)], client_id: NativeClientId) -> HttpRequest {
        form_post(self.service.token_url(), &self.client, fields, client_id)
    }

    fn parse(
        &self,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Result<GrantedTokens, ResponseError> {
        parse_token_response(response, self.client.client_id(), &self.service, now)
    }
}

/// Exchanges an authorization code for tokens: the second step of a login.
///
/// Native clients send `client_id` and the PKCE `code_verifier`; confidential
/// clients authenticate with HTTP Basic. Usually made by
/// [`LoginAttempt::complete`](super::LoginAttempt::complete).
#[derive(Clone, Debug)]
pub struct AuthorizationCodeGrant {
    endpoint: TokenEndpoint,
    code: AuthorizationCode,
    verifier: Option<CodeVerifier>,
    redirect_uri: String,
}

impl AuthorizationCodeGrant {
    /// Builds the exchange directly (for a code obtained outside [`LoginAttempt`](super::LoginAttempt)).
    pub fn new(
        service: AuthService,
        client: OAuthClient,
        code: AuthorizationCode,
        verifier: Option<CodeVerifier>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        AuthorizationCodeGrant {
            endpoint: TokenEndpoint { service, client },
            code,
            verifier,
            redirect_uri: redirect_uri.into(),
        }
    }
}

impl Exchange for AuthorizationCodeGrant {
    type Output = GrantedTokens;

    fn request(&self) -> HttpRequest {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", self.code.secret()),
        ];
        if let Some(verifier) = &self.verifier {
            fields.push(("code_verifier", verifier.secret()));
        }
        fields.push(("redirect_uri", &self.redirect_uri));
        self.endpoint.post(&fields, NativeClientId::First)
    }

    fn handle_response(
        &self,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Result<GrantedTokens, ResponseError> {
        self.endpoint.parse(response, now)
    }
}

/// Renews an access token with a refresh token.
///
/// Form `refresh_token, grant_type=refresh_token` (plus `client_id` for a native
/// client); Basic authentication for a confidential one.
#[derive(Clone, Debug)]
pub struct RefreshGrant {
    endpoint: TokenEndpoint,
    refresh_token: RefreshToken,
}

impl RefreshGrant {
    /// Builds a refresh of `refresh_token`.
    pub fn new(service: AuthService, client: OAuthClient, refresh_token: RefreshToken) -> Self {
        RefreshGrant {
            endpoint: TokenEndpoint { service, client },
            refresh_token,
        }
    }
}

impl Exchange for RefreshGrant {
    type Output = GrantedTokens;

    fn request(&self) -> HttpRequest {
        let fields = [
            ("refresh_token", self.refresh_token.secret()),
            ("grant_type", "refresh_token"),
        ];
        self.endpoint.post(&fields, NativeClientId::Last)
    }

    fn handle_response(
        &self,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Result<GrantedTokens, ResponseError> {
        self.endpoint.parse(response, now)
    }
}

/// Gets tokens for a confidential client acting as itself.
///
/// HTTP Basic plus form `grant_type=client_credentials, scope`.
#[derive(Clone, Debug)]
pub struct ClientCredentialsGrant {
    endpoint: TokenEndpoint,
    scope: String,
}

impl ClientCredentialsGrant {
    /// Builds a client-credentials grant for a space-separated scope string.
    ///
    /// Returns `None` for a native client, which has no credentials to present.
    pub fn new(
        service: AuthService,
        client: OAuthClient,
        scope: impl Into<String>,
    ) -> Option<Self> {
        if client.is_native() {
            return None;
        }
        Some(ClientCredentialsGrant {
            endpoint: TokenEndpoint { service, client },
            scope: scope.into(),
        })
    }
}

impl Exchange for ClientCredentialsGrant {
    type Output = GrantedTokens;

    fn request(&self) -> HttpRequest {
        let fields = [
            ("grant_type", "client_credentials"),
            ("scope", self.scope.as_str()),
        ];
        self.endpoint.post(&fields, NativeClientId::Last)
    }

    fn handle_response(
        &self,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Result<GrantedTokens, ResponseError> {
        self.endpoint.parse(response, now)
    }
}
