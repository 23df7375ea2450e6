//! # globus-app
//!
//! Globus Auth for Rust scripts, command-line tools and async services: a
//! re-implementation of the Python globus-sdk's `GlobusApp`.
//!
//! - [`UserApp`](blocking::UserApp) acts as a person: tokens come from an interactive
//!   login (on the command line, or through the browser and a loopback server).
//! - [`ClientApp`](blocking::ClientApp) acts as a service account: tokens come from the
//!   client-credentials grant.
//!
//! Both keep tokens in a storage ([`storage`]: a JSON file by default, SQLite, memory
//! or your own), file-compatible with the Python SDK, renew them before they expire,
//! and are cheap to clone and safe to share between threads.
//!
//! ## Runtimes (cargo features)
//! | feature | module | HTTP client |
//! |---|---|---|
//! | `blocking` (default) | [`blocking`] | ureq |
//! | `tokio` | `tokio` | reqwest (rustls, ring) |
//! | `async-std` | `async_std` | ureq on smol's blocking pool (runs under async-std and smol) |
//!
//! `sqlite` (default) adds SQLite token storage; `redis` and `postgres` add stores
//! that processes on several hosts share, with one renewal per token between them.
//!
//! ## The shape of the library
//!
//! ```text
//!   your code ── app.get_authorizer(rs) / app.request(rs, req) / ServiceClient / middleware
//!        │
//!        ▼
//!   UserApp · ClientApp  (globus_app::{blocking, tokio, async_std}: one API, three runtimes)
//!        │  the hot path: a valid cached token, no lock, no I/O
//!        ▼
//!   driver loop (written once; the runtime adds only .await)
//!        │  op.resume(state, Input, now)                 ┌──────────── core (no I/O) ────────────┐
//!        ├──────────────────────────────────────────────▶│ Operation: load, validate, renew,     │
//!        │◀────────────────────────────────────────────── │ log in, lease, retry, budget          │
//!        │  Step: Send | Load | Store | Lease | Sleep …   └───────────────────────────────────────┘
//!        ▼
//!   adapter performs the step ──▶ HTTP (ureq | reqwest) · storage · login flow
//!        │                                                 │
//!        └──────────── its result, as the next Input ◀─────┘
//!
//!   storages: JSON file · SQLite · memory · Redis · PostgreSQL · yours (TokenStorage)
//! ```
//!
//! Every decision is in the core ([`core::app::Operation`], [`core::app::AuthorizedRequest`]):
//! it says what it needs next as a [`Step`](core::app::Step) and takes the result back
//! as an [`Input`](core::app::Input), so it is tested without a network, a clock or a
//! disk. The examples show each piece: `quickstart` (the whole story offline),
//! `login` and `client_app` (blocking), `tokio_service`, `async_std_app`, `cli` (every
//! operation and `request` from the command line), `transfer_ls` (a service client),
//! `custom_storage` and `custom_login_flow` (your own parts); see the repository's
//! `examples/` and README. Coming from Python: [`from_python`]. Logging: `tracing`
//! events under the `globus_app` target (see `globus_app_shell::log` for what is
//! logged at which level).
//!
//! ## Example
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! use globus_app::blocking::UserApp;
//! use globus_app::{AppConfig, OAuthClient, ScopeRequirements};
//!
//! let mut requirements = ScopeRequirements::new();
//! requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
//! let app = UserApp::new(
//!     "My Script",
//!     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
//!     requirements,
//!     AppConfig::default(),
//! )?;
//! println!("{}", app.authorization_header("transfer.api.globus.org")?);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The Sans-IO protocol core: scopes, environments, OAuth2 requests and responses,
/// and the app's token decisions.
pub use globus_app_core as core;
/// Token storages: memory, JSON file and SQLite.
pub use globus_app_storage as storage;

pub use globus_app_core::app::{
    Authorization, ConfigError, Error, LogoutReport, OnValidationError, Repeatable, RequestRetry,
    RetryPolicy, ScopeRequirements, TokenValidationError, ValidationDecision,
    ValidationErrorContext, ValidationErrorHandler, parse_authorization_requirements,
};
pub use globus_app_core::oauth::AuthorizationParameters;
pub use globus_app_core::scopes;
pub use globus_app_core::{GlobusApiError, OAuthClient};
pub use globus_app_shell::login;
pub use globus_app_shell::service::{ResourceServer, ServiceResponse};
pub use globus_app_shell::system::{Clock, ManualClock, SystemClock};
pub use globus_app_shell::transcript::TranscriptRecorder;
pub use globus_app_shell::{AppConfig, LoginFlowChoice, TokenStorageChoice};
pub use globus_app_storage::TokenStorage;
/// The `http` crate's request and response types, which `request` takes and returns.
pub use http;

/// `UserApp` and `ClientApp` for blocking code (ureq).
#[cfg(feature = "blocking")]
pub mod blocking {
    pub use globus_app_blocking::{
        AnyApp, ClientApp, GlobusAuthMiddleware, ServiceClient, UserApp,
    };
}

/// Async `UserApp` and `ClientApp` for tokio (reqwest on rustls): the same
/// operations as [`blocking`](crate#runtimes-cargo-features), as `async fn`s.
///
/// Dropping a login's future cancels the login at once (the loopback listener
/// closes; standard input is no longer read), so a login raced against Ctrl-C lets
/// the program exit.
///
/// ```no_run
/// use globus_app::tokio::ClientApp;
/// use globus_app::{AppConfig, OAuthClient, ScopeRequirements};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let mut requirements = ScopeRequirements::new();
/// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
/// let app = ClientApp::new(
///     "My Service",
///     OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
///     requirements,
///     AppConfig::default(),
/// )?;
/// let header = app.authorization_header("transfer.api.globus.org").await?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub mod tokio {
    pub use globus_app_tokio::{AnyApp, ClientApp, GlobusAuthMiddleware, ServiceClient, UserApp};
}

/// Async `UserApp` and `ClientApp` for async-std and smol (built on the smol family:
/// ureq on the `blocking` pool, `async-io` timers), the same operations as
/// [`blocking`](crate#runtimes-cargo-features), as `async fn`s.
///
/// async-std is discontinued upstream; its maintainers point to smol. These apps
/// depend on neither and run under both. A dropped future does not cancel a
/// request already sent: it ends on its pool thread, bounded by
/// [`AppConfig::http_timeout`](crate::AppConfig::http_timeout). A dropped login's
/// future does cancel the login at once (the loopback listener closes; standard
/// input is no longer read).
///
/// ```no_run
/// use globus_app::async_std::ClientApp;
/// use globus_app::{AppConfig, OAuthClient, ScopeRequirements};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let mut requirements = ScopeRequirements::new();
/// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
/// let app = ClientApp::new(
///     "My Service",
///     OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
///     requirements,
///     AppConfig::default(),
/// )?;
/// let header = app.authorization_header("transfer.api.globus.org").await?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "async-std")]
pub mod async_std {
    pub use globus_app_async_std::{AnyApp, ClientApp, ServiceClient, UserApp};
}

#[doc = include_str!("from_python.md")]
pub mod from_python {}
