//! The HTTP exchanges an operation makes, and the checks on what they return.

use super::error::{Error, RequestKind, TransportErrorKind};
use super::settings::AppKind;
use super::state::AppState;
use super::validation::TokenValidationError;
use crate::oauth::{
    AuthorizationCodeGrant, AuthorizationParameters, ClientCredentialsGrant, ConsentsLookup,
    Exchange, GrantedTokens, RefreshGrant, Revocation,
};
use crate::scopes;
use crate::{HttpRequest, TokenData};

/// An HTTP exchange in flight, kept whole so it can be sent again.
#[derive(Debug)]
pub(super) enum Call {
    Renew {
        resource_server: String,
        still_valid: bool,
        grant: RenewGrant,
    },
    Consents(ConsentsLookup),
    CodeExchange(AuthorizationCodeGrant),
    ClientLogin(ClientCredentialsGrant),
    Revoke {
        resource_server: String,
        revocation: Revocation,
    },
}

#[derive(Debug)]
pub(super) enum RenewGrant {
    Refresh(RefreshGrant),
    ClientCredentials(ClientCredentialsGrant),
}

impl Call {
    pub(super) fn request(&self) -> HttpRequest {
        match self {
            Call::Renew {
                grant: RenewGrant::Refresh(g),
                ..
            } => g.request(),
            Call::Renew {
                grant: RenewGrant::ClientCredentials(g),
                ..
            } => g.request(),
            Call::Consents(c) => c.request(),
            Call::CodeExchange(c) => c.request(),
            Call::ClientLogin(c) => c.request(),
            Call::Revoke { revocation, .. } => revocation.request(),
        }
    }

    /// Whether the request may be sent again after this transport failure. A code
    /// exchange is sent again only when nothing reached the server: the code is
    /// single-use, and a server that received it may have spent it.
    pub(super) fn may_retry_transport(&self, kind: TransportErrorKind) -> bool {
        match self {
            Call::CodeExchange(_) => kind == TransportErrorKind::Connect,
            _ => kind.is_retryable(),
        }
    }

    /// Whether the request may be sent again after this answer. A code exchange
    /// only when the server refused before doing any work: 429, or 503 with
    /// `Retry-After`.
    pub(super) fn may_retry_status(&self, status: u16, retry_after: Option<u64>) -> bool {
        match self {
            Call::CodeExchange(_) => status == 429 || (status == 503 && retry_after.is_some()),
            _ => crate::error::is_retryable_status(status),
        }
    }

    pub(super) fn kind(&self) -> RequestKind {
        match self {
            Call::Renew {
                resource_server,
                grant: RenewGrant::Refresh(_),
                ..
            } => RequestKind::Refresh(resource_server.clone()),
            Call::Renew {
                grant: RenewGrant::ClientCredentials(_),
                ..
            }
            | Call::ClientLogin(_) => RequestKind::ClientCredentials,
            Call::Consents(_) => RequestKind::Consents,
            Call::CodeExchange(_) => RequestKind::CodeExchange,
            Call::Revoke {
                resource_server,
                revocation,
            } => RequestKind::Revoke {
                resource_server: resource_server.clone(),
                token: revocation.token_kind(),
            },
        }
    }
}

/// The grant that renews a resource server's access token.
pub(super) fn renew_grant(state: &AppState, rs: &str) -> Option<RenewGrant> {
    let settings = &state.settings;
    match settings.kind {
        AppKind::Client => {
            let scope = scopes::serialize(state.requirements.get(rs).unwrap_or(&[]));
            let scope = if scope.is_empty() {
                state.tokens.get(rs)?.scope.clone()
            } else {
                scope
            };
            ClientCredentialsGrant::new(settings.service.clone(), settings.client.clone(), scope)
                .map(RenewGrant::ClientCredentials)
        }
        AppKind::User => {
            let refresh = state.tokens.get(rs)?.refresh_token.clone()?;
            Some(RenewGrant::Refresh(RefreshGrant::new(
                settings.service.clone(),
                settings.client.clone(),
                refresh,
            )))
        }
    }
}

/// Tokens from a renewal keep the stored identity and, when the response has none,
/// the stored refresh token.
pub(super) fn renewed_tokens(state: &AppState, granted: GrantedTokens) -> Vec<TokenData> {
    let mut tokens = granted.tokens;
    for token in &mut tokens {
        if token.identity_id.is_none() {
            token.identity_id.clone_from(&state.identity);
        }
        if token.refresh_token.is_none()
            && let Some(old) = state.tokens.get(&token.resource_server)
        {
            token.refresh_token.clone_from(&old.refresh_token);
        }
    }
    tokens
}

/// The scope string a login asks for: every requirement plus the extra scopes.
pub(super) fn login_scope(
    state: &AppState,
    params: &AuthorizationParameters,
) -> Result<String, Error> {
    let mut all = state.requirements.all_scopes();
    for extra in &params.required_scopes {
        match scopes::parse(extra) {
            Ok(parsed) => all.extend(parsed),
            Err(error) => {
                return Err(Error::InvalidScope {
                    scope: extra.clone(),
                    error: Box::new(error),
                });
            }
        }
    }
    let merged = scopes::merge(all.clone()).unwrap_or(all);
    Ok(scopes::serialize(&merged))
}

/// The checks on a user login's tokens before they are stored.
pub(super) fn check_login_grant(
    state: &AppState,
    granted: &GrantedTokens,
) -> Result<(), TokenValidationError> {
    let Some(new) = granted.identity_id() else {
        return Err(TokenValidationError::MissingIdentity);
    };
    if let Some(stored) = &state.identity
        && stored != new
    {
        return Err(TokenValidationError::IdentityMismatch {
            stored: stored.clone(),
            new: new.to_owned(),
        });
    }
    check_root_scopes(state, &granted.tokens)
}

/// Each granted token must carry the root scopes required of its resource server.
pub(super) fn check_root_scopes(
    state: &AppState,
    tokens: &[TokenData],
) -> Result<(), TokenValidationError> {
    for token in tokens {
        let Some(required) = state.requirements.get(&token.resource_server) else {
            continue;
        };
        let missing: Vec<String> = required
            .iter()
            .filter(|s| !token.scopes().any(|g| g == s.name()))
            .map(|s| s.name().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(TokenValidationError::UnmetScopeRequirements {
                resource_server: token.resource_server.clone(),
                missing,
            });
        }
    }
    Ok(())
}
