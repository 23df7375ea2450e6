//! # globus-app-tokio
//!
//! Globus Auth for tokio services: async [`UserApp`] and [`ClientApp`], the same
//! operations, configuration and errors as the blocking adapter
//! (`get_authorizer(rs).await`, `login(..).await`, …).
//!
//! ```no_run
//! use globus_app_tokio::{AppConfig, ClientApp, OAuthClient, ScopeRequirements};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut requirements = ScopeRequirements::new();
//!     requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
//!     let app = ClientApp::new(
//!         "My Service",
//!         OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
//!         requirements,
//!         AppConfig::default(),
//!     )?;
//!     // Clones share tokens; a thousand tasks needing a renewal cause one request.
//!     let tasks: Vec<_> = (0..4)
//!         .map(|_| {
//!             let app = app.clone();
//!             tokio::spawn(async move { app.authorization_header("transfer.api.globus.org").await })
//!         })
//!         .collect();
//!     for task in tasks {
//!         println!("{}", task.await??);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## How it runs
//! Every protocol decision is made by the Sans-IO core (`globus-app-core`); the
//! storage and login steps, and the public methods, are `globus-app-shell`'s,
//! shared with the other adapters. This crate adds only:
//! - the HTTP client: [reqwest] on rustls with the *ring* provider and Mozilla's
//!   root certificates (`webpki-roots`, as ureq), no redirects, every status and
//!   header returned to the core, each request bounded by
//!   [`AppConfig::http_timeout`];
//! - the single-flight lock: a `tokio::sync::Mutex`, held for a whole refresh or
//!   login so that concurrent callers share its result (the core state itself sits
//!   behind a `std::sync::RwLock` that is never held across an `.await`, so a valid
//!   cached token is served without waiting and without I/O);
//! - the driver loop: HTTP on the runtime, backoff with `tokio::time::sleep`,
//!   storage and login I/O in `tokio::task::spawn_blocking`.
//!
//! The runtime must have its time driver enabled (`#[tokio::main]` and
//! `#[tokio::test]` do; a hand-built runtime needs `enable_all()`).
//!
//! ## Cancellation
//! Dropping a future (a timeout, an aborted task, a `select!`) is safe: the
//! single-flight lock is released, so the next caller proceeds (and does the
//! refresh itself, as the dropped caller's request was cancelled with it). A storage
//! write that already started on the blocking pool runs to completion, and the next
//! operation waits for it; writes are atomic (JSON: a temporary file renamed over
//! the old one; SQLite: a transaction), so storage is never left half-written.
//!
//! Dropping an interactive login cancels it. Its wait for the browser's redirect
//! or a pasted code runs on the blocking pool, and the dropped future stops it: the
//! local-server flow closes its loopback listener before the drop returns (the
//! port refuses connections at once), and the command-line flow stops reading
//! standard input. On Unix the terminal is polled and read only once a line is
//! ready, so a line typed after the cancel reaches your program, not the abandoned
//! login; elsewhere (and for the input given to `CommandLineLoginFlow::with_io`) a
//! read that has begun still takes its line. A flow of your own stops early if it
//! implements `PendingLogin::wait_for_redirect_with_cancel`.
//!
//! So a login raced against Ctrl-C (`tokio::select!` in `#[tokio::main]`) lets the
//! program exit at once: tokio's runtime waits for its blocking tasks when it shuts
//! down, and the cancelled login's task ends within 50 ms.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod middleware;
mod transport;

pub use app::{AnyApp, ClientApp, ServiceClient, UserApp};
pub use middleware::GlobusAuthMiddleware;
pub use reqwest_middleware;
// The same configuration, errors, login flows and storage types in every adapter.
pub use globus_app_shell::adapter_api::*;
