//! Token revocation.

use super::{Exchange, NativeClientId, form_post};
use crate::{AuthService, HttpRequest, HttpResponse, OAuthClient, ResponseError, UnixTime};

/// Revokes one token (access or refresh) at `v2/oauth2/token/revoke`.
///
/// Form `token` (plus `client_id` for a native client); Basic authentication for a
/// confidential client.
#[derive(Clone, Debug)]
pub struct Revocation {
    service: AuthService,
    client: OAuthClient,
    token: crate::secret::RevocableToken,
    kind: TokenKind,
}

/// Which token of a resource server a [`Revocation`] revokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// The access token.
    Access,
    /// The refresh token.
    Refresh,
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenKind::Access => "access token",
            TokenKind::Refresh => "refresh token",
        })
    }
}

impl Revocation {
    /// Revokes an access token.
    pub fn access_token(
        service: AuthService,
        client: OAuthClient,
        token: &crate::AccessToken,
    ) -> Self {
        Revocation {
            service,
            client,
            token: crate::secret::RevocableToken::new(token.secret()),
            kind: TokenKind::Access,
        }
    }

    /// Revokes a refresh token.
    pub fn refresh_token(
        service: AuthService,
        client: OAuthClient,
        token: &crate::RefreshToken,
    ) -> Self {
        Revocation {
            service,
            client,
            token: crate::secret::RevocableToken::new(token.secret()),
            kind: TokenKind::Refresh,
        }
    }

    /// Which token this revokes.
    pub fn token_kind(&self) -> TokenKind {
        self.kind
    }
}

impl Exchange for Revocation {
    type Output = ();

    fn request(&self) -> HttpRequest {
        form_post(
            self.service.revoke_url(),
            &self.client,
            &[("token", self.token.secret())],
            NativeClientId::Last,
        )
    }

    fn handle_response(
        &self,
        response: &HttpResponse,
        _now: UnixTime,
    ) -> Result<(), ResponseError> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(crate::error::error_from_response(response))
        }
    }
}
