//! The configuration of an app: the reference's `GlobusAppConfig`, in Rust.

use crate::login::{CommandLineLoginFlow, LocalServerLoginFlow, LoginFlow};
use crate::system::{Clock, SystemClock};
use crate::transcript::TranscriptRecorder;
use globus_app_core::app::{OnValidationError, RequestRetry, RetryPolicy};
use globus_app_storage::TokenStorage;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where an app keeps its tokens.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum TokenStorageChoice {
    /// A JSON file at the default location,
    /// `~/.globus/app/{client_id}/{app name slug}/{env-}tokens.json` (the default).
    #[default]
    Json,
    /// A SQLite database at the default location (`…/tokens.db`).
    Sqlite,
    /// In memory only: every run starts logged out.
    Memory,
    /// A JSON file at this path.
    JsonFile(PathBuf),
    /// A SQLite database at this path.
    SqliteFile(PathBuf),
    /// A Redis server (`redis://…`, `rediss://…`, `redis+unix://…`, with an optional
    /// `?prefix=` for the keys), shared by every process and host that reaches it;
    /// renewals take its lease. Needs the `redis` feature.
    Redis(String),
    /// A PostgreSQL database (`postgres://…`, with an optional `?schema=` for the
    /// tables and `sslmode=require` for TLS), shared by every process and host that
    /// reaches it; renewals take its lease. Needs the `postgres` feature.
    Postgres(String),
    /// A storage you created. The app uses it but does not close it, so it can be
    /// shared by several apps.
    Custom(Arc<dyn TokenStorage>),
}

/// How a user app runs an interactive login.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum LoginFlowChoice {
    /// Print the URL and a prompt on standard error and read the code from
    /// standard input (the default).
    #[default]
    CommandLine,
    /// Print the URL and the notice of the wait on standard error, open the system
    /// browser, and receive the redirect on a loopback port (waiting up to an hour).
    LocalServer,
    /// A flow you wrote, or one of this crate's flows set up otherwise: a
    /// [`LocalServerLoginFlow`] with another timeout, either flow with its messages
    /// sent to a sink of yours (`feedback`).
    Custom(Arc<dyn LoginFlow>),
}

impl LoginFlowChoice {
    /// Returns the flow this choice stands for.
    pub fn into_flow(self) -> Arc<dyn LoginFlow> {
        match self {
            LoginFlowChoice::CommandLine => Arc::new(CommandLineLoginFlow::new()),
            LoginFlowChoice::LocalServer => Arc::new(LocalServerLoginFlow::new()),
            LoginFlowChoice::Custom(flow) => flow,
        }
    }
}

/// How an app behaves. Immutable once the app is built; the defaults are the
/// reference's.
///
/// ```
/// use globus_app_shell::config::{AppConfig, LoginFlowChoice, TokenStorageChoice};
/// let config = AppConfig::default()
///     .login_flow(LoginFlowChoice::LocalServer)
///     .token_storage(TokenStorageChoice::Sqlite)
///     .request_refresh_tokens(true);
/// assert!(config.refresh_tokens_requested());
/// ```
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub(crate) login_flow: Option<LoginFlowChoice>,
    pub(crate) login_redirect_uri: Option<String>,
    pub(crate) token_storage: TokenStorageChoice,
    pub(crate) request_refresh_tokens: bool,
    pub(crate) on_validation_error: OnValidationError,
    pub(crate) environment: Option<String>,
    pub(crate) auth_url: Option<String>,
    pub(crate) namespace: String,
    pub(crate) renew_lead: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) http_timeout: Duration,
    pub(crate) storage_lock_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) auto_redrive_gares: bool,
    pub(crate) request_retry: RequestRetry,
    pub(crate) service_urls: BTreeMap<String, String>,
    pub(crate) id_token_issuer: Option<String>,
    pub(crate) lease_ttl: Option<Duration>,
    pub(crate) recorder: Option<TranscriptRecorder>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            login_flow: None,
            login_redirect_uri: None,
            token_storage: TokenStorageChoice::Json,
            request_refresh_tokens: false,
            on_validation_error: OnValidationError::Login,
            environment: None,
            auth_url: None,
            namespace: globus_app_storage::DEFAULT_NAMESPACE.to_owned(),
            renew_lead: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            http_timeout: Duration::from_secs(30),
            storage_lock_timeout: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            auto_redrive_gares: false,
            request_retry: RequestRetry::default(),
            service_urls: BTreeMap::new(),
            id_token_issuer: None,
            lease_ttl: None,
            recorder: None,
        }
    }
}

impl AppConfig {
    /// Sets the login flow (user apps only; a client app refuses one).
    #[must_use]
    pub fn login_flow(mut self, flow: LoginFlowChoice) -> Self {
        self.login_flow = Some(flow);
        self
    }

    /// Sets the redirect URI of logins (required for a confidential user app; the
    /// local-server flow refuses one).
    #[must_use]
    pub fn login_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.login_redirect_uri = Some(uri.into());
        self
    }

    /// Sets where tokens are kept.
    #[must_use]
    pub fn token_storage(mut self, storage: TokenStorageChoice) -> Self {
        self.token_storage = storage;
        self
    }

    /// Asks for refresh tokens, so access tokens are renewed without the user.
    #[must_use]
    pub fn request_refresh_tokens(mut self, yes: bool) -> Self {
        self.request_refresh_tokens = yes;
        self
    }

    /// Returns whether refresh tokens are requested.
    pub fn refresh_tokens_requested(&self) -> bool {
        self.request_refresh_tokens
    }

    /// Sets what happens when stored tokens cannot serve a request (default: log in).
    #[must_use]
    pub fn on_validation_error(mut self, policy: OnValidationError) -> Self {
        self.on_validation_error = policy;
        self
    }

    /// Sets the Globus environment by name; by default `GLOBUS_SDK_ENVIRONMENT`, else
    /// `production`.
    #[must_use]
    pub fn environment(mut self, name: impl Into<String>) -> Self {
        self.environment = Some(name.into());
        self
    }

    /// Sets the issuer the id_tokens of logins must name (`iss`). By default an
    /// id_token may name the environment's issuer (`https://auth.globus.org`) or the
    /// auth URL's, so `GLOBUS_SDK_SERVICE_URL_AUTH` pointing at a proxy of Globus
    /// Auth works as is; set this when the tokens name yet another issuer, and only
    /// that one is accepted.
    ///
    /// ```
    /// use globus_app_shell::config::AppConfig;
    /// let config = AppConfig::default()
    ///     .auth_url("https://auth-proxy.example.org/")
    ///     .id_token_issuer("https://auth.globus.org");
    /// ```
    #[must_use]
    pub fn id_token_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.id_token_issuer = Some(issuer.into());
        self
    }

    /// Sets the Globus Auth base URL outright; by default
    /// `GLOBUS_SDK_SERVICE_URL_AUTH`, else the environment's.
    #[must_use]
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// Sets the token namespace (default `DEFAULT`).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Renews access tokens this long before they expire (default 60 s, as the
    /// reference).
    ///
    /// A cached token is served without I/O until `expires_at - lead`; from then on
    /// the next call renews it (a refresh, or client credentials for a
    /// `ClientApp`) with one request. Where the reference never had to decide:
    /// - A token just obtained is served to the call that obtained it, and to the
    ///   calls that were waiting for it, even when it already falls inside the lead
    ///   (Globus Auth issued a token living 30 s, or the lead is 48 h or more): the
    ///   next call renews it again, so a lead as long as the token's lifetime costs
    ///   one request per call, never a loop.
    /// - Within one call a resource server is renewed at most once; a token that
    ///   arrives already expired (a zero lifetime, or a clock far ahead) ends the
    ///   call with `TokenValidationError::IssuedExpired` instead of another grant.
    /// - A token is valid only while `now < expires_at`; at its expiry second it is
    ///   no longer sent.
    /// - If renewing a still-valid token fails (after retries), the valid token is
    ///   served and renewal is tried again 10 s later.
    #[must_use]
    pub fn renew_lead(mut self, lead: Duration) -> Self {
        self.renew_lead = lead;
        self
    }

    /// Sets the retry policy for failed requests.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the timeout of each HTTP request (default 30 s).
    #[must_use]
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Returns the timeout of each HTTP request.
    pub fn http_timeout_value(&self) -> Duration {
        self.http_timeout
    }

    /// Sets how long a storage the app creates (a JSON file or a SQLite database)
    /// waits for another process's lock on its file before the operation fails with
    /// a storage error naming the file (default 30 s). A storage you pass in keeps
    /// its own setting.
    ///
    /// ```
    /// use globus_app_shell::config::AppConfig;
    /// use std::time::Duration;
    /// let config = AppConfig::default().storage_lock_timeout(Duration::from_secs(5));
    /// assert_eq!(config.storage_lock_timeout_value(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn storage_lock_timeout(mut self, timeout: Duration) -> Self {
        self.storage_lock_timeout = timeout;
        self
    }

    /// Returns how long a storage the app creates waits for another process's lock.
    pub fn storage_lock_timeout_value(&self) -> Duration {
        self.storage_lock_timeout
    }

    /// Answers a Globus Auth Requirements Error (a 403 from a service that says
    /// which login would let the request through) by logging in with its
    /// parameters and sending the request again, once (default false, as the
    /// reference's `auto_redrive_gares`). A `UserApp` then opens a login; a
    /// `ClientApp` gets tokens with its credentials, and only when the error asks
    /// for scopes alone. Off, or when the redrive fails too, the request ends with
    /// `Error::AuthorizationRequired`, which carries the parsed error.
    #[must_use]
    pub fn auto_redrive_gares(mut self, yes: bool) -> Self {
        self.auto_redrive_gares = yes;
        self
    }

    /// Sets the retries of authorized requests to services (default: 5, waits up
    /// to 10 s, as the reference's transport; see the table in
    /// [`AuthorizedRequest`](globus_app_core::app::AuthorizedRequest)).
    #[must_use]
    pub fn request_retry(mut self, retry: RequestRetry) -> Self {
        self.request_retry = retry;
        self
    }

    /// Sets the base URL of a Globus service by the reference's short name
    /// (`transfer`, `groups`, `search`, `flows`, `timer`, `compute`; `auth` is
    /// [`auth_url`](Self::auth_url)), instead of `GLOBUS_SDK_SERVICE_URL_<NAME>` or
    /// the environment's. Its resource server's token is then sent to that host,
    /// and no longer to the default one.
    ///
    /// ```
    /// use globus_app_shell::config::AppConfig;
    /// let config = AppConfig::default().service_url("transfer", "http://127.0.0.1:8080/");
    /// ```
    #[must_use]
    pub fn service_url(mut self, service: &str, base_url: impl Into<String>) -> Self {
        if service == "auth" {
            self.auth_url = Some(base_url.into());
        } else {
            self.service_urls
                .insert(service.to_owned(), base_url.into());
        }
        self
    }

    /// Sets how long the storage's lease lives (storages that keep leases): by
    /// default `http_timeout` + 10 s, so that one attempt of a renewal ends before
    /// it expires (the holder extends it before each retry). Another process waits
    /// up to two times this for a holder, and a holder that died frees the lease
    /// after it.
    #[must_use]
    pub fn lease_time_to_live(mut self, ttl: Duration) -> Self {
        self.lease_ttl = Some(ttl);
        self
    }

    /// Sets the clock the app reads (tests move a
    /// [`ManualClock`](crate::system::ManualClock) to expire tokens without waiting).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Records every operation the app runs (storage, HTTP, login steps and their
    /// results, with the time and random bytes given) into `recorder`, as a
    /// transcript of the core that a test can redact, commit and replay
    /// ([`globus_app_core::transcript`]). Off by default.
    #[must_use]
    pub fn record_transcript(mut self, recorder: TranscriptRecorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}
