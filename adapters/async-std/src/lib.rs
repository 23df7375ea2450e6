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
//! An interactive login cannot be taken back from the user: if its caller is
//! dropped while the login waits for the browser's redirect or a pasted code, the
//! wait goes on in the background until it ends or times out (the local-server
//! flow's timeout), and its result is discarded. The app is free meanwhile; a
//! command-line login left waiting still reads the next line of standard input,
//! so cancel one only when the program is about to exit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;

pub use app::{ClientApp, UserApp};
// The same configuration, errors, login flows and storage types in every adapter.
pub use globus_app_shell::adapter_api::*;
