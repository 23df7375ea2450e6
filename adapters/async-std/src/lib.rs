//! # globus-app-async-std
//!
//! Globus Auth for async-std and smol programs: async [`UserApp`] and [`ClientApp`],
//! the same operations, configuration and errors as the blocking adapter
//! (`get_authorizer(rs).await`, `login(..).await`, …).
//!
//! **async-std is discontinued upstream**; its maintainers point to
//! [smol](https://docs.rs/smol). This crate depends on neither: it is built on the
//! smol family that async-std itself runs on (`blocking`, `async-io`,
//! `async-lock`), so it works unchanged under async-std today and under smol after
//! a move (the same futures, the same thread pool).
//!
//! ```no_run
//! use globus_app_async_std::{AppConfig, ClientApp, OAuthClient, ScopeRequirements};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut requirements = ScopeRequirements::new();
//!     requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
//!     let app = ClientApp::new(
//!         "My Service",
//!         OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
//!         requirements,
//!         AppConfig::default(),
//!     )?;
//!     // `async_std::task::block_on` works the same way.
//!     let header = smol::block_on(app.authorization_header("transfer.api.globus.org"))?;
//!     println!("{header}");
//!     Ok(())
//! }
//! ```
//!
//! ## How it runs
//! Every protocol decision is made by the Sans-IO core (`globus-app-core`); the
//! storage and login steps, and the public methods, are `globus-app-shell`'s,
//! shared with the other adapters. This crate adds only:
//! - the HTTP client: the blocking adapter's ureq client (rustls with *ring*,
//!   Mozilla's roots, no redirects, every status and header returned), each request
//!   run on the blocking pool with `blocking::unblock`. Auth traffic is a few small
//!   requests, so a pooled thread per request in flight costs nothing, and there is
//!   no second HTTP or TLS stack and no tokio runtime started behind your back;
//! - the single-flight lock: an `async_lock::Mutex`, held for a whole refresh or
//!   login so that concurrent callers share its result (the core state itself sits
//!   behind a `std::sync::RwLock` that is never held across an `.await`, so a valid
//!   cached token is served without waiting and without I/O);
//! - the driver loop: backoff with `async_io::Timer`, storage and login I/O with
//!   `blocking::unblock`.
//!
//! ## Cancellation
//! Dropping a future (a timeout, a cancelled task) is safe: the single-flight lock
//! is released, so the next caller proceeds. **A request already sent is not
//! cancelled**: it runs on its pool thread until it ends (its answer is then
//! discarded), bounded by [`AppConfig::http_timeout`] (30 s by default; lower it if
//! callers are often cancelled). The next caller sends its own request meanwhile. A
//! storage write that already started runs to completion, and the next operation
//! waits for it; writes are atomic (JSON: a temporary file renamed over the old
//! one; SQLite: a transaction), so storage is never left half-written.
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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;

pub use app::{AnyApp, ClientApp, ServiceClient, UserApp};
// The same configuration, errors, login flows and storage types in every adapter.
pub use globus_app_shell::adapter_api::*;
