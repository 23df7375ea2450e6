//! The app: every token decision of `UserApp` and `ClientApp`, with no I/O.
//!
//! An adapter keeps an [`AppState`] behind a lock and runs each app method as an
//! [`Operation`]: a state machine that returns a [`Step`] (send this request, load or
//! store tokens, show this login URL, wait, done) and takes the result back as an
//! [`Input`]. The driver loop is the same for every operation and every runtime:
//!
//! ```
//! use globus_app_core::app::{AppState, Input, Operation, OperationOutput, Step, Error};
//! use globus_app_core::UnixTime;
//!
//! fn drive<T: OperationOutput>(
//!     state: &mut AppState,
//!     mut op: Operation<T>,
//!     now: impl Fn() -> UnixTime,
//!     mut perform: impl FnMut(Step<T>) -> Result<Input, Result<T, Error>>,
//! ) -> Result<T, Error> {
//!     let mut input = Input::Start;
//!     loop {
//!         match perform(op.resume(state, input, now())) {
//!             Ok(next) => input = next,
//!             Err(done) => return done,
//!         }
//!     }
//! }
//! ```
//!
//! (A real adapter releases the state lock while it performs a step, so that the
//! hot path, [`AppState::cached_authorization`], never waits for I/O.)
//!
//! ## Decisions made here
//! - Which grant: authorization code with PKCE (user, native), with a secret
//!   (user, confidential), client credentials (client app), refresh.
//! - Whether a stored token serves: present, carries every required root scope,
//!   has a refresh token if the app asks for them, not expired (access-token mode)
//!   or renewed when within [`AppSettings::renew_lead_seconds`] of expiry (refresh
//!   and client modes); dependent scopes are checked against the user's consents
//!   (cached, fetched again on a miss).
//! - What a failure means: `invalid_grant` on refresh asks for a login; a failed
//!   early renewal of a still-valid token uses that token; 429, 5xx and timeouts
//!   are retried with backoff ([`RetryPolicy`]); a login for another identity is
//!   refused and nothing is stored.
//! - What a logout revokes and removes.
//! - How much an operation may do: each resource server is renewed at most once
//!   per operation, a token just obtained is served even inside the renewal lead,
//!   and every operation has a ceiling on its requests and storage steps
//!   ([`budget`]), so no answer can make it loop.

pub mod budget;
mod engine;
mod error;
mod gare;
mod grants;
mod handler;
mod operation;
mod request;
mod requirements;
mod retry;
mod settings;
mod state;
mod step;
mod validation;

pub use budget::BudgetItem;
pub use error::{Error, RequestKind, SharedError, TransportError, TransportErrorKind};
pub use gare::parse_authorization_requirements;
pub use handler::{ValidationDecision, ValidationErrorContext, ValidationErrorHandler};
#[doc(hidden)]
pub use operation::Outcome;
pub use operation::{Operation, OperationOutput};
pub use request::{AuthorizedRequest, Repeatable, RequestInput, RequestStep};
pub use requirements::{AUTH_RESOURCE_SERVER, ScopeRequirements};
pub use retry::{RequestRetry, RetryPolicy};
pub use settings::{AppKind, AppSettings, ConfigError, LeaseSettings, OnValidationError};
pub use state::{AppState, Authorization, ReadySnapshot, Ticket};
pub use step::{Input, LogoutReport, Notice, Step};
pub use validation::TokenValidationError;
