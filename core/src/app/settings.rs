//! What an app is: its kind, client, service and policies.

use super::retry::{RequestRetry, RetryPolicy};
use crate::{AuthService, OAuthClient};

/// The kind of app: acting as a person, or as a service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// A `UserApp`: tokens come from a person's interactive login.
    User,
    /// A `ClientApp`: tokens come from the client-credentials grant.
    Client,
}

/// What to do when stored tokens cannot serve a request (missing, expired without
/// a refresh token, lacking a scope, refresh token revoked): the reference's
/// `token_validation_error_handler`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnValidationError {
    /// Run a new login and try again once: the reference's default. Never done for
    /// an identity mismatch.
    #[default]
    Login,
    /// Return the error to the caller (the reference's `None` handler).
    Fail,
    /// Ask the user's handler, once per call, and carry out its decision (see
    /// [`ValidationErrorHandler`](super::ValidationErrorHandler)).
    Handler(super::ValidationErrorHandler),
}

/// The immutable description of an app, checked when the app is built.
///
/// ```
/// use globus_app_core::app::{AppSettings, AppKind, ConfigError};
/// use globus_app_core::{AuthService, OAuthClient};
/// let settings = AppSettings::new(
///     AppKind::User,
///     "My App",
///     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
///     AuthService::production(),
/// );
/// assert_eq!(settings.namespace, "DEFAULT");
/// assert_eq!(settings.renew_lead_seconds, 60);
/// settings.check().unwrap();
///
/// let typo = AppSettings::new(AppKind::User, "My App", OAuthClient::native("my-app"), AuthService::production());
/// assert_eq!(typo.check(), Err(ConfigError::InvalidClientId("my-app".into())));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AppSettings {
    /// User or client app.
    pub kind: AppKind,
    /// The app's name, shown on the consent page and used in storage paths.
    pub app_name: String,
    /// The client the app authenticates as.
    pub client: OAuthClient,
    /// The Globus Auth service.
    pub service: AuthService,
    /// The token storage namespace (default `DEFAULT`).
    pub namespace: String,
    /// Whether a user app asks for refresh tokens (`access_type=offline`).
    pub request_refresh_tokens: bool,
    /// The redirect URI for logins; required for a confidential user app.
    pub redirect_uri: Option<String>,
    /// Renew access tokens this many seconds before they expire (default 60). A
    /// token just obtained is served by its operation even inside this lead, and a
    /// resource server is renewed at most once per operation, so a lead as long as
    /// the tokens' lifetime costs one request per call (see the `budget` module).
    pub renew_lead_seconds: i64,
    /// What to do when stored tokens cannot serve a request.
    pub on_validation_error: OnValidationError,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// The label for the grant on the consent page of a native client, usually
    /// `"{app_name} on {hostname}"`.
    pub prefill_named_grant: Option<String>,
    /// Whether an authorized request answered by a Globus Auth Requirements Error
    /// (HTTP 403) logs in with its parameters and is sent again, once (default
    /// false, as the reference's `auto_redrive_gares`). A client app does so only
    /// when the error asks for scopes alone (it has no person to satisfy a session
    /// requirement).
    pub auto_redrive_gares: bool,
    /// Retries of authorized requests to services.
    pub request_retry: RequestRetry,
    /// The storage's lease, when it keeps them: taken before every renewal and
    /// client-credentials login, and for every write (see [`LeaseSettings`]).
    pub lease: Option<LeaseSettings>,
}

/// How an app uses its storage's lease (one renewal per namespace across the
/// processes and hosts that share the storage).
///
/// ```
/// use globus_app_core::app::LeaseSettings;
/// use std::time::Duration;
/// let lease = LeaseSettings::new("5f1c…", Duration::from_secs(30));
/// assert_eq!(lease.ttl, Duration::from_secs(40));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseSettings {
    /// This app's owner id (random, from the adapter).
    pub owner: String,
    /// How long a lease lives on the storage's clock: longer than one attempt of a
    /// request can take. The holder extends it before each retry.
    pub ttl: std::time::Duration,
    /// The longest pause between two attempts to take a busy lease (they start at
    /// 50 ms and double).
    pub poll: std::time::Duration,
    /// How long an operation waits for another holder in all, before it serves a
    /// still-valid token or fails with [`Error::LeaseTimeout`](super::Error::LeaseTimeout).
    pub max_wait: std::time::Duration,
}

impl LeaseSettings {
    /// Leases for an app whose requests time out after `http_timeout`: a time to
    /// live of `http_timeout` + 10 s, polls at most every 500 ms, waits up to two
    /// times to live.
    pub fn new(owner: impl Into<String>, http_timeout: std::time::Duration) -> LeaseSettings {
        let ttl = http_timeout + std::time::Duration::from_secs(10);
        LeaseSettings {
            owner: owner.into(),
            ttl,
            poll: std::time::Duration::from_millis(500),
            max_wait: ttl * 2,
        }
    }

    /// The most times an operation asks for a busy lease: the waits back off from
    /// 50 ms to `poll` (a few short ones), then cover `max_wait` at `poll`.
    pub fn max_polls(&self) -> u32 {
        let poll = self.poll.as_millis().max(1);
        u32::try_from(self.max_wait.as_millis() / poll + 1 + 8).unwrap_or(u32::MAX / 8)
    }
}

impl AppSettings {
    /// Settings with the reference's defaults.
    pub fn new(
        kind: AppKind,
        app_name: impl Into<String>,
        client: OAuthClient,
        service: AuthService,
    ) -> Self {
        AppSettings {
            kind,
            app_name: app_name.into(),
            client,
            service,
            namespace: "DEFAULT".to_owned(),
            request_refresh_tokens: false,
            redirect_uri: None,
            renew_lead_seconds: 60,
            on_validation_error: OnValidationError::Login,
            retry: RetryPolicy::default(),
            prefill_named_grant: None,
            auto_redrive_gares: false,
            request_retry: RequestRetry::default(),
            lease: None,
        }
    }

    /// Checks the settings for misuse.
    ///
    /// # Errors
    /// A client id that is not a UUID; a client app without a secret; a
    /// confidential user app without a redirect URI; an empty app name or
    /// namespace; a negative renewal lead.
    pub fn check(&self) -> Result<(), ConfigError> {
        if crate::scopes::name_uuid(self.client.client_id()).is_err() {
            return Err(ConfigError::InvalidClientId(
                self.client.client_id().to_owned(),
            ));
        }
        if self.app_name.trim().is_empty() {
            return Err(ConfigError::EmptyAppName);
        }
        if self.namespace.is_empty() {
            return Err(ConfigError::EmptyNamespace);
        }
        if self.renew_lead_seconds < 0 {
            return Err(ConfigError::NegativeRenewLead);
        }
        match self.kind {
            AppKind::Client if self.client.is_native() => Err(ConfigError::ClientAppWithoutSecret),
            AppKind::User if !self.client.is_native() && self.redirect_uri.is_none() => {
                Err(ConfigError::ConfidentialWithoutRedirect)
            }
            _ => Ok(()),
        }
    }

    /// Returns true if access tokens are renewed without the user: a client app,
    /// or a user app with refresh tokens.
    pub fn renews_tokens(&self) -> bool {
        self.kind == AppKind::Client || self.request_refresh_tokens
    }
}

/// A misconfigured app, reported when it is built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The client id is not a UUID.
    #[error(
        "the client id {0:?} is not a UUID: use the Client UUID of the app's registration with Globus Auth (e.g. from GLOBUS_CLIENT_ID)"
    )]
    InvalidClientId(String),
    /// A `ClientApp` needs a client secret.
    #[error(
        "a ClientApp needs a client secret: pass the confidential client's secret (e.g. from GLOBUS_CLIENT_SECRET), or use a UserApp for a native client"
    )]
    ClientAppWithoutSecret,
    /// A confidential user app needs a redirect URI registered for its client.
    #[error(
        "a UserApp with a client secret (a confidential client) needs an explicit login redirect URI registered for that client"
    )]
    ConfidentialWithoutRedirect,
    /// A `ClientApp` must have something to ask for.
    #[error(
        "a ClientApp needs at least one scope requirement: add the scopes it should get tokens for"
    )]
    NoScopeRequirements,
    /// The app name is empty.
    #[error("the app name is empty: give the app a name (it labels the grant and the token file)")]
    EmptyAppName,
    /// The namespace is empty.
    #[error("the token namespace is empty: leave it at DEFAULT or give it a name")]
    EmptyNamespace,
    /// The renewal lead is negative.
    #[error("the token renewal lead time must not be negative")]
    NegativeRenewLead,
    /// A login flow was given to a `ClientApp`.
    #[error(
        "a ClientApp logs in with its client credentials and takes no login flow; remove the login flow setting"
    )]
    LoginFlowOnClientApp,
    /// The login flow cannot serve this app.
    #[error("the login flow cannot be used here: {0}")]
    LoginFlow(String),
    /// SQLite storage was asked for, but the crate was built without it.
    #[error(
        "SQLite token storage needs the `sqlite` feature of globus-app; enable it or choose JSON storage"
    )]
    SqliteUnavailable,
    /// A token storage was asked for whose cargo feature is off.
    #[error(
        "this token storage needs the `{0}` feature of globus-app; enable it or choose another storage"
    )]
    StorageUnavailable(&'static str),
    /// A scope requirement does not parse.
    #[error("invalid scope requirement: {0}")]
    Scope(#[from] crate::scopes::ScopeParseError),
    /// The environment or auth URL is invalid.
    #[error(transparent)]
    Environment(#[from] crate::EnvironmentError),
    /// A service base URL was given for a name that is not a Globus service.
    #[error(
        "no Globus service is named {0:?} (known: auth, transfer, groups, search, flows, timer, compute)"
    )]
    UnknownService(String),
    /// A service base URL (from the config or a `GLOBUS_SDK_SERVICE_URL_*`
    /// variable) is not one a token may go to.
    #[error("invalid service URL: {0}")]
    ServiceUrl(String),
}
