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
        }
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
