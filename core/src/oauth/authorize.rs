//! The authorize step of a login: the URL the user visits, and the check of what
//! comes back.

use super::AuthorizationCodeGrant;
use crate::redirect::{RedirectError, RedirectParams};
use crate::{AuthService, OAuthClient, Pkce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

/// Whether a login asks for refresh tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AccessType {
    /// Access tokens only (`access_type=online`), the reference's default.
    #[default]
    Online,
    /// Access and refresh tokens (`access_type=offline`).
    Offline,
}

impl AccessType {
    fn as_str(self) -> &'static str {
        match self {
            AccessType::Online => "online",
            AccessType::Offline => "offline",
        }
    }
}

/// Extra requirements on the user's session for one login, as a Globus Auth
/// Requirements Error states them.
///
/// ```
/// use globus_app_core::oauth::AuthorizationParameters;
/// let params = AuthorizationParameters {
///     session_required_single_domain: vec!["example.edu".into()],
///     prompt: Some("login".into()),
///     ..Default::default()
/// };
/// assert!(!params.is_empty());
/// ```
///
/// Build it with `..Default::default()` so that new fields do not break your code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationParameters {
    /// Scopes the login must obtain in addition to the app's requirements.
    pub required_scopes: Vec<String>,
    /// A message Globus Auth shows the user.
    pub session_message: Option<String>,
    /// Identities that must be in the session.
    pub session_required_identities: Vec<String>,
    /// Domains of which an identity must be in the session.
    pub session_required_single_domain: Vec<String>,
    /// Policies the session must satisfy.
    pub session_required_policies: Vec<String>,
    /// Whether the session requires multi-factor authentication.
    pub session_required_mfa: Option<bool>,
    /// The OpenID Connect `prompt` (Globus supports `login`).
    pub prompt: Option<String>,
}

impl AuthorizationParameters {
    /// Returns true if no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == AuthorizationParameters::default()
    }
}

/// Everything needed to start a login: who asks, for what, and where the user
/// comes back to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// The Globus Auth service.
    pub service: AuthService,
    /// The client logging in.
    pub client: OAuthClient,
    /// Where Globus Auth sends the user back.
    pub redirect_uri: String,
    /// The space-separated scopes to ask for.
    pub scope: String,
    /// Whether to ask for refresh tokens.
    pub access_type: AccessType,
    /// The label for the grant on the consent page (native clients only), e.g.
    /// `"{app name} on {hostname}"`.
    pub prefill_named_grant: Option<String>,
    /// Session requirements.
    pub parameters: AuthorizationParameters,
}

impl AuthorizeRequest {
    /// Starts a request with the given essentials and no extras.
    pub fn new(
        service: AuthService,
        client: OAuthClient,
        redirect_uri: impl Into<String>,
        scope: impl Into<String>,
    ) -> AuthorizeRequest {
        AuthorizeRequest {
            service,
            client,
            redirect_uri: redirect_uri.into(),
            scope: scope.into(),
            access_type: AccessType::Online,
            prefill_named_grant: None,
            parameters: AuthorizationParameters::default(),
        }
    }

    /// Starts the login: makes the PKCE verifier (native clients) from
    /// `random[..32]` and the `state` from `random[32..]`, and builds the URL.
    ///
    /// The caller supplies the randomness (an adapter reads the OS generator; a
    /// test passes constants), so the URL is reproducible byte for byte.
    ///
    /// ```
    /// use globus_app_core::oauth::AuthorizeRequest;
    /// use globus_app_core::{AuthService, OAuthClient};
    /// let attempt = AuthorizeRequest::new(
    ///     AuthService::production(),
    ///     OAuthClient::native("CLIENT"),
    ///     "https://auth.globus.org/v2/web/auth-code",
    ///     "openid",
    /// )
    /// .start(&[0; 48]);
    /// let url = attempt.authorize_url().as_str();
    /// assert!(url.starts_with("https://auth.globus.org/v2/oauth2/authorize?client_id=CLIENT&"));
    /// assert!(url.contains("&code_challenge_method=S256"));
    /// ```
    pub fn start(self, random: &[u8; 48]) -> LoginAttempt {
        let mut verifier_bytes = [0u8; 32];
        verifier_bytes.copy_from_slice(&random[..32]);
        let pkce = self
            .client
            .is_native()
            .then(|| Pkce::from_random_bytes(&verifier_bytes));
        let state = URL_SAFE_NO_PAD.encode(&random[32..]);
        let url = self.url(&state, pkce.as_ref());
        LoginAttempt {
            request: self,
            state,
            pkce,
            url,
        }
    }

    fn url(&self, state: &str, pkce: Option<&Pkce>) -> Url {
        let mut url = self.service.authorize_url();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", self.client.client_id())
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scope)
                .append_pair("state", state)
                .append_pair("response_type", "code")
                .append_pair("access_type", self.access_type.as_str());
            if let Some(pkce) = pkce {
                q.append_pair("code_challenge", pkce.challenge())
                    .append_pair("code_challenge_method", "S256");
                if let Some(label) = &self.prefill_named_grant {
                    q.append_pair("prefill_named_grant", label);
                }
            }
            let p = &self.parameters;
            if let Some(mfa) = p.session_required_mfa {
                // The reference sends Python's spelling of booleans.
                q.append_pair("session_required_mfa", if mfa { "True" } else { "False" });
            }
            if let Some(message) = &p.session_message {
                q.append_pair("session_message", message);
            }
            if let Some(prompt) = &p.prompt {
                q.append_pair("prompt", prompt);
            }
            for (key, values) in [
                (
                    "session_required_identities",
                    &p.session_required_identities,
                ),
                (
                    "session_required_single_domain",
                    &p.session_required_single_domain,
                ),
                ("session_required_policies", &p.session_required_policies),
            ] {
                if !values.is_empty() {
                    q.append_pair(key, &values.join(","));
                }
            }
        }
        url
    }
}

/// A login in progress: the URL to send the user to, and the secrets needed to
/// finish it (the PKCE verifier and the expected `state`).
#[derive(Clone, Debug)]
pub struct LoginAttempt {
    request: AuthorizeRequest,
    state: String,
    pkce: Option<Pkce>,
    url: Url,
}

impl LoginAttempt {
    /// Returns the URL the user must open.
    pub fn authorize_url(&self) -> &Url {
        &self.url
    }

    /// Returns the `state` this attempt expects back.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Returns the redirect URI of this attempt.
    pub fn redirect_uri(&self) -> &str {
        &self.request.redirect_uri
    }

    /// Returns the request this attempt was started from.
    pub fn request(&self) -> &AuthorizeRequest {
        &self.request
    }

    /// Checks what came back from the authorize step and, if it carries a code,
    /// returns the code exchange.
    ///
    /// # Errors
    /// [`RedirectError::Denied`] when Globus Auth redirected with an `error`;
    /// [`RedirectError::StateMismatch`] when the `state` is absent or differs
    /// (a bare pasted code carries no state and is accepted);
    /// [`RedirectError::MissingCode`] when there is neither code nor error.
    pub fn complete(
        &self,
        params: RedirectParams,
    ) -> Result<AuthorizationCodeGrant, RedirectError> {
        let code = params.into_code(&self.state)?;
        Ok(AuthorizationCodeGrant::new(
            self.request.service.clone(),
            self.request.client.clone(),
            code,
            self.pkce.as_ref().map(|p| p.verifier().clone()),
            self.request.redirect_uri.clone(),
        ))
    }
}
