//! # globus-app-shell
//!
//! The I/O that every runtime adapter of globus-app shares, written once: login flows
//! (the terminal, the system browser and a loopback listener), the app
//! configuration, the storage and login steps of an operation, and the process's
//! clock, randomness and environment; and the runtime-independent half of an app
//! ([`AppCore`]: the state lock, the hot path, the operation runs, and the apps'
//! public methods, see [`app`]).
//!
//! Everything here is blocking; the async adapters run it on their runtime's
//! blocking-task pool. Only sending HTTP requests, sleeping, the single-flight lock
//! and the driver loop are left to each adapter.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod assemble;
pub mod config;
pub mod io;
pub mod log;
pub mod login;
pub mod service;
pub mod system;
pub mod transcript;
pub mod unreadable;

pub use app::AppCore;
pub use assemble::{AppParts, IoParts, assemble};
pub use config::{AppConfig, LoginFlowChoice, TokenStorageChoice};
pub use io::{Action, LocalAction, LocalIo};

/// The public API every runtime adapter re-exports next to its `UserApp` and
/// `ClientApp` (`pub use globus_app_shell::adapter_api::*;`), listed once so that
/// the adapters cannot drift apart.
#[doc(hidden)]
pub mod adapter_api {
    pub use crate::login::{self, CommandLineLoginFlow, LocalServerLoginFlow, LoginFlow};
    pub use crate::service::{ResourceServer, ServiceResponse};
    pub use crate::system::{Clock, ManualClock, SystemClock};
    pub use crate::{AppConfig, LoginFlowChoice, TokenStorageChoice};
    pub use globus_app_core::GlobusApiError;
    pub use globus_app_core::OAuthClient;
    pub use globus_app_core::app::{
        Authorization, ConfigError, Error, LogoutReport, OnValidationError, Repeatable,
        RequestRetry, RetryPolicy, ScopeRequirements, TokenValidationError, ValidationDecision,
        ValidationErrorContext, ValidationErrorHandler, parse_authorization_requirements,
    };
    pub use globus_app_core::oauth::AuthorizationParameters;
    pub use globus_app_core::scopes;
    pub use globus_app_storage::TokenStorage;
    pub use http;
}
