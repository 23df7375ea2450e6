//! # globus-app-blocking
//!
//! Globus Auth for blocking Rust code: scripts and command-line tools.
//!
//! [`UserApp`] acts as a person (interactive login on the command line or through
//! the browser); [`ClientApp`] acts as a service account (client credentials). Both
//! keep tokens in a [`TokenStorage`] (a JSON file by default, shared with the Python
//! globus-sdk), renew them before they expire, and are cheap to clone and safe to
//! share between threads.
//!
//! Every protocol decision is made by the Sans-IO core (`globus-app-core`); this
//! crate sends its HTTP requests with [ureq] and runs the storage and login steps
//! that `globus-app-shell` shares with the async adapters.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod middleware;
/// The ureq glue, shared with the async-std adapter (which runs it on a blocking
/// pool); not part of this crate's API.
#[doc(hidden)]
pub mod transport;

pub use app::{AnyApp, ClientApp, ServiceClient, UserApp};
pub use middleware::{GlobusAuthMiddleware, MAX_REPLAYABLE_BODY};
pub use ureq;
// The same configuration, errors, login flows and storage types in every adapter.
pub use globus_app_shell::adapter_api::*;
