//! The OAuth2 client an app authenticates as.

use crate::ClientSecret;
use base64::Engine as _;

/// A Globus Auth client registration: its id and, for a confidential client, its secret.
///
/// A *native* client (no secret) proves itself with PKCE and sends its `client_id` in
/// form bodies; a *confidential* client authenticates with HTTP Basic.
///
/// ```
/// use globus_app_core::OAuthClient;
/// let native = OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2");
/// assert!(native.is_native());
/// let service = OAuthClient::confidential("id", "secret");
/// assert!(!format!("{service:?}").contains("secret\""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    client_id: String,
    client_secret: Option<ClientSecret>,
}

impl OAuthClient {
    /// A native (public) client, which has no secret.
    pub fn native(client_id: impl Into<String>) -> OAuthClient {
        OAuthClient {
            client_id: client_id.into(),
            client_secret: None,
        }
    }

    /// A confidential client with its secret.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> OAuthClient {
        OAuthClient {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
        }
    }

    /// Returns the client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Returns the secret of a confidential client.
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// Returns true for a native client (no secret).
    pub fn is_native(&self) -> bool {
        self.client_secret.is_none()
    }

    /// Returns the `Authorization` header value of a confidential client.
    pub(crate) fn basic_authorization(&self) -> Option<String> {
        let secret = self.client_secret.as_ref()?;
        let credentials = format!("{}:{}", self.client_id, secret.secret());
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
    }
}
