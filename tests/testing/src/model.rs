//! The things a test configures: registered clients, the simulated user, and how the
//! authorize endpoint behaves.

use std::fmt;

/// Client id of the native client every server registers unless told not to
/// ([`crate::FakeAuthBuilder::without_default_clients`]).
pub const NATIVE_CLIENT_ID: &str = "6a9b2d7e-0c4f-4f3a-9b1e-3d5c7a9e1f20";
/// Client id of the default confidential client.
pub const CONFIDENTIAL_CLIENT_ID: &str = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6";
/// Secret of the default confidential client.
pub const CONFIDENTIAL_CLIENT_SECRET: &str = "fake-auth-confidential-secret";
/// Redirect URI registered for the default confidential client.
pub const CONFIDENTIAL_REDIRECT_URI: &str = "https://app.example.org/callback";

/// The loopback redirect URIs every native client gets (any port matches, RFC 8252 7.3).
pub(crate) const LOOPBACK_REDIRECT_URIS: [&str; 3] =
    ["http://localhost/", "http://127.0.0.1/", "http://[::1]/"];

/// A client registered with the fake server: native (public, PKCE) or confidential
/// (with a secret, HTTP Basic).
///
/// A native client is registered with `{base_url}v2/web/auth-code` (the command-line
/// flow's redirect) and the loopback URIs `http://localhost/`, `http://127.0.0.1/` and
/// `http://[::1]/`, which match any port; add more with [`ClientConfig::redirect_uri`]
/// or drop the defaults with [`ClientConfig::no_default_redirect_uris`].
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) default_redirect_uris: bool,
}

impl ClientConfig {
    /// A native (public) client: no secret, PKCE required.
    pub fn native(id: impl Into<String>) -> Self {
        ClientConfig {
            id: id.into(),
            secret: None,
            redirect_uris: Vec::new(),
            default_redirect_uris: true,
        }
    }

    /// A confidential client authenticating with HTTP Basic and this secret. It has no
    /// redirect URI until one is added.
    pub fn confidential(id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientConfig {
            id: id.into(),
            secret: Some(secret.into()),
            redirect_uris: Vec::new(),
            default_redirect_uris: false,
        }
    }

    /// Registers one more redirect URI (compared exactly, except that a loopback
    /// `http://localhost|127.0.0.1|[::1]` URI matches any port).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers only the URIs given with [`ClientConfig::redirect_uri`], without the
    /// native defaults.
    pub fn no_default_redirect_uris(mut self) -> Self {
        self.default_redirect_uris = false;
        self
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this is a confidential client (has a secret).
    pub fn is_confidential(&self) -> bool {
        self.secret.is_some()
    }

    /// The registered redirect URIs, the defaults included once `base_url` is known.
    pub(crate) fn effective_redirect_uris(&self, base_url: &str) -> Vec<String> {
        let mut uris = self.redirect_uris.clone();
        if self.default_redirect_uris && self.secret.is_none() {
            uris.push(format!("{base_url}v2/web/auth-code"));
            uris.extend(LOOPBACK_REDIRECT_URIS.iter().map(|u| (*u).to_owned()));
        }
        uris
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("redirect_uris", &self.redirect_uris)
            .field("default_redirect_uris", &self.default_redirect_uris)
            .finish()
    }
}

/// The simulated user who "logs in" at the authorize endpoint.
///
/// Tokens remember the user they were issued for, so switching the user
/// ([`crate::FakeAuth::set_user`]) between two logins gives a second grant with another
/// identity: what an identity-mismatch test needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identity id (a UUID): the id_token's `sub`.
    pub id: String,
    /// `preferred_username`, e.g. `alice@example.org`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address, if the identity has one.
    pub email: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Identity provider id (a UUID).
    pub identity_provider: String,
    /// Identity provider display name.
    pub identity_provider_display_name: String,
    /// Other identities linked to this one (reported in `identity_set`).
    pub linked_identities: Vec<User>,
}

impl User {
    /// A user with this identity id and username; the name and email are derived from
    /// the username.
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        let username = username.into();
        let local = username.split('@').next().unwrap_or("").to_owned();
        let mut name = local.clone();
        if let Some(first) = name.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        User {
            id: id.into(),
            email: Some(username.clone()),
            username,
            name,
            organization: Some("Example University".to_owned()),
            identity_provider: "2d4f6a8c-1e3b-4c5d-9e7f-0a1b2c3d4e5f".to_owned(),
            identity_provider_display_name: "Example University".to_owned(),
            linked_identities: Vec::new(),
        }
    }

    /// Links another identity to this one (it then appears in `identity_set`).
    pub fn with_linked_identity(mut self, other: User) -> Self {
        self.linked_identities.push(other);
        self
    }

    /// The identity of a client acting as itself (client credentials): Globus gives a
    /// client an identity whose id is the client id.
    pub(crate) fn for_client(client_id: &str) -> Self {
        User {
            id: client_id.to_owned(),
            username: format!("{client_id}@clients.auth.globus.org"),
            name: format!("client {client_id}"),
            email: None,
            organization: None,
            identity_provider: "00000000-0000-0000-0000-000000000000".to_owned(),
            identity_provider_display_name: "Globus Auth clients".to_owned(),
            linked_identities: Vec::new(),
        }
    }

    /// This identity followed by its linked identities.
    pub(crate) fn identity_set(&self) -> Vec<&User> {
        std::iter::once(self)
            .chain(self.linked_identities.iter())
            .collect()
    }
}

impl Default for User {
    /// Alice, `alice@example.org`, identity `7f3e1a52-9c4b-4d8e-a1f6-2b3c4d5e6f70`.
    fn default() -> Self {
        User::new("7f3e1a52-9c4b-4d8e-a1f6-2b3c4d5e6f70", "alice@example.org")
    }
}

/// What the simulated user does at `GET /v2/oauth2/authorize` once the request is valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuthorizeBehavior {
    /// Consent at once: `302` to the redirect URI with `code` and `state`. The default.
    #[default]
    Consent,
    /// Issue the code but do not redirect: answer `200` with a page showing it, and keep
    /// it for the test to take with [`crate::FakeAuth::take_held_code`] (the command-line
    /// flow, where a person pastes the code).
    HoldCode,
    /// Refuse consent: `302` to the redirect URI with `error=access_denied`, this
    /// `error_description`, and `state`.
    Deny(String),
    /// Consent only when the request carries this session parameter; otherwise `302`
    /// with `error=login_required` and a description naming the parameter.
    RequireSession(SessionRequirement),
}

/// A session parameter the authorize request must carry (see
/// [`AuthorizeBehavior::RequireSession`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRequirement {
    /// `session_required_identities` (comma-separated) must contain this identity id.
    Identity(String),
    /// `session_required_single_domain` must contain this domain.
    SingleDomain(String),
    /// `session_required_policies` must contain this policy id.
    Policy(String),
    /// `session_required_mfa=true`.
    Mfa,
}

impl SessionRequirement {
    /// Whether the authorize query satisfies the requirement.
    pub(crate) fn is_met(&self, query: &[(String, String)]) -> bool {
        let list_contains = |param: &str, wanted: &str| {
            query
                .iter()
                .filter(|(k, _)| k == param)
                .flat_map(|(_, v)| v.split(','))
                .any(|v| v.trim() == wanted)
        };
        match self {
            SessionRequirement::Identity(id) => list_contains("session_required_identities", id),
            SessionRequirement::SingleDomain(d) => {
                list_contains("session_required_single_domain", d)
            }
            SessionRequirement::Policy(p) => list_contains("session_required_policies", p),
            SessionRequirement::Mfa => query
                .iter()
                .any(|(k, v)| k == "session_required_mfa" && v.eq_ignore_ascii_case("true")),
        }
    }

    /// The parameter and value the request lacked, for the error description.
    pub(crate) fn describe(&self) -> String {
        match self {
            SessionRequirement::Identity(id) => format!("session_required_identities={id}"),
            SessionRequirement::SingleDomain(d) => format!("session_required_single_domain={d}"),
            SessionRequirement::Policy(p) => format!("session_required_policies={p}"),
            SessionRequirement::Mfa => "session_required_mfa=true".to_owned(),
        }
    }
}

/// An authorization code the server issued, as a test can take it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code to exchange at the token endpoint.
    pub code: String,
    /// The `state` the authorize request carried, if any.
    pub state: Option<String>,
    /// The client the code is bound to.
    pub client_id: String,
    /// The redirect URI the code is bound to.
    pub redirect_uri: String,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("code", &"<redacted>")
            .field("state", &self.state)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}
