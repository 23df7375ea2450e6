//! The runtime-independent half of an app, written once for every adapter.
//!
//! An adapter's `UserApp`/`ClientApp` is an [`AppCore`] (the core state behind a
//! read-write lock, the ready tokens published for lock-free reads, the storage and
//! login flow, the clock) plus three things of its
//! own: an HTTP client, a single-flight lock from its runtime, and a driver loop.
//! The loop is the same in every runtime but for `.await`:
//!
//! ```text
//! let operation = make(core.ticket());           // before waiting for the turn
//! let turn = lock.lock().await;                  // one operation at a time (async
//!                                                // adapters wait for the one in front
//!                                                // to end, then take
//!                                                // `core.settled(&operation)` if any)
//! let mut run = core.start(operation, turn);
//! let mut input = Input::Start;
//! loop {
//!     input = match run.next(input) {            // the core decides (write lock, no I/O)
//!         Action::Send(request) => http.send(request).await,
//!         Action::Sleep(duration) => { sleep(duration).await; Input::Woke }
//!         Action::Local(action) if action.is_quick() => run.perform(action),
//!         Action::Local(action) => run.restore(unblock(run.offload(action)).await),
//!         Action::Done(result) => return result,
//!     };
//! }
//! ```
//!
//! The app types and their public methods around that loop are written once too,
//! by a macro (`define_app!`) that every adapter invokes for its two app types.

use crate::assemble::{IoParts, assemble};
use crate::config::AppConfig;
use crate::io::{Action, LocalAction, LocalIo};
use crate::login::{CancelOnDrop, CancelToken};
use crate::system::Clock;
use arc_swap::ArcSwap;
use globus_app_core::OAuthClient;
use globus_app_core::app::{
    AppKind, AppState, Authorization, AuthorizedRequest, Error, Input, Notice, Operation,
    OperationOutput, ReadySnapshot, ScopeRequirements, Ticket,
};
use globus_app_core::scopes::Scope;
use globus_app_storage::TokenStorage;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// The state and local I/O of one app, shared by its clones, whatever the runtime.
///
/// The core state sits behind a `std::sync::RwLock` that is only ever held while
/// the core decides (never during I/O, never across an `.await`): the hot path,
/// [`cached_authorization`](Self::cached_authorization), takes its read side and
/// so never waits for a refresh. Dropping the last `AppCore` closes a storage the
/// app created.
///
/// After [`close`](Self::close), every operation fails with [`Error::Closed`]:
/// [`check_open`](Self::check_open) says so before the hot path, and a run that is
/// under way stops at its next step.
#[derive(Debug)]
pub struct AppCore {
    state: RwLock<AppState>,
    /// Set by `close`, for every clone.
    closed: AtomicBool,
    /// The ready tokens, republished after every change of the state: the hot path
    /// reads them without a lock.
    ready: ArcSwap<ReadySnapshot>,
    io: Arc<IoParts>,
    clock: Arc<dyn Clock>,
    http_timeout: Duration,
    service_urls: BTreeMap<&'static str, String>,
    /// Numbers the operations, for logs.
    operations: AtomicU64,
    recorder: Option<crate::transcript::TranscriptRecorder>,
}

impl AppCore {
    /// Builds an app from its name, client, requirements and configuration (see
    /// [`assemble`]).
    ///
    /// # Errors
    /// As [`assemble`]: misuse ([`Error::Config`]) or a storage that cannot be opened.
    pub fn new(
        kind: AppKind,
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<AppCore, Error> {
        let parts = assemble(kind, app_name, client, requirements, config)?;
        Ok(AppCore {
            closed: AtomicBool::new(false),
            ready: ArcSwap::from_pointee(parts.state.ready_snapshot()),
            state: RwLock::new(parts.state),
            io: parts.io,
            clock: parts.clock,
            http_timeout: parts.http_timeout,
            service_urls: parts.service_urls,
            operations: AtomicU64::new(0),
            recorder: parts.recorder,
        })
    }

    /// Returns the base URL of a Globus service by its short name (`transfer`,
    /// `groups`, …): the configured one, else `GLOBUS_SDK_SERVICE_URL_<NAME>`, else
    /// the environment's.
    pub fn service_url(&self, service: &str) -> Option<&str> {
        self.service_urls.get(service).map(String::as_str)
    }

    /// Starts an authorized request (see [`AuthorizedRequest`]).
    ///
    /// # Errors
    /// [`Error::Destination`] if the token may not go to the request's URL;
    /// [`Error::Closed`].
    pub fn authorized_request(
        &self,
        resource_server: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<AuthorizedRequest, Error> {
        self.check_open()?;
        let seed = crate::system::login_random()
            .map(|bytes| bytes[..8].iter().fold(0u64, |n, b| n << 8 | u64::from(*b)))
            .unwrap_or_default();
        AuthorizedRequest::new(&self.read(), resource_server, request, seed)
    }

    /// Lets `resource_server`'s token go to the origin of `base_url` too.
    ///
    /// # Errors
    /// [`Error::Destination`] for a URL no token may go to.
    pub fn bind_token_destination(
        &self,
        resource_server: &str,
        base_url: &str,
    ) -> Result<(), Error> {
        self.check_open()?;
        self.write()
            .bind_token_destination(resource_server, base_url)
            .map_err(Error::from)
    }

    /// Checks that `resource_server`'s token may be sent to `url`.
    ///
    /// # Errors
    /// [`Error::Destination`] if it may not; [`Error::Closed`].
    pub fn check_token_destination(&self, resource_server: &str, url: &str) -> Result<(), Error> {
        self.check_open()?;
        let parsed = url::Url::parse(url).map_err(|e| {
            globus_app_core::destinations::DestinationError::InvalidUrl {
                url: url.split(['?', '#']).next().unwrap_or_default().to_owned(),
                reason: e.to_string(),
            }
        })?;
        self.read()
            .token_destinations()
            .check(resource_server, &parsed)
            .map_err(Error::from)
    }

    /// Logs a notice of an authorized request, as notices of operations are.
    pub fn notice(&self, notice: &Notice) {
        crate::log::notice(notice);
    }

    /// Returns the timeout the adapter's HTTP client puts on each request.
    pub fn http_timeout(&self) -> Duration {
        self.http_timeout
    }

    fn read(&self) -> RwLockReadGuard<'_, AppState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, AppState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails with [`Error::Closed`] once the app was closed (by any clone). Every
    /// public method of an app calls it first, before the hot path.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub fn check_open(&self) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The hot path: a validated token of this resource server that is not due for
    /// renewal, with no I/O and no wait for a running operation.
    pub fn cached_authorization(&self, resource_server: &str) -> Option<Authorization> {
        self.ready.load().get(resource_server, self.clock.now())
    }

    /// Republishes the ready tokens if the state changed them. Called with the write
    /// lock held, so publications happen in the order of the changes.
    fn publish(&self, state: &AppState) {
        if state.ready_version() != self.ready.load().version() {
            self.ready.store(Arc::new(state.ready_snapshot()));
        }
    }

    /// Returns the result `operation` can take without running, because the
    /// operation it waited behind settled it (see [`Operation::settled`]).
    pub fn settled<T: OperationOutput>(
        &self,
        operation: &Operation<T>,
    ) -> Option<Result<T, Error>> {
        if self.check_open().is_err() {
            return Some(Err(Error::Closed));
        }
        operation.settled(&self.read(), self.clock.now())
    }

    /// Returns a ticket, to take **before** waiting for the single-flight lock: an
    /// operation that finishes in the meantime then shares its result.
    pub fn ticket(&self) -> Ticket {
        self.read().ticket()
    }

    /// Starts running an operation. `turn` is the adapter's guard of its
    /// single-flight lock; the run keeps it (and sends it along with a storage write
    /// that is moved to another thread, see [`Run::offload`]).
    pub fn start<T: OperationOutput, G>(&self, operation: Operation<T>, turn: G) -> Run<'_, T, G> {
        let op = self.operations.fetch_add(1, Ordering::Relaxed) + 1;
        let span = tracing::debug_span!(target: "globus_app", "operation", op, goal = %operation.describe());
        Run {
            core: self,
            operation,
            io: Some(self.io.local_io()),
            turn: Some(turn),
            cancel_wait: None,
            span,
            attempts: crate::log::Attempts::default(),
            pending: None,
        }
    }

    /// Adds scope requirements for a resource server (see
    /// [`AppState::add_scope_requirements`]).
    ///
    /// # Errors
    /// [`Error::Config`] if merging creates a dependency cycle.
    pub fn add_scope_requirements(
        &self,
        resource_server: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<(), Error> {
        self.check_open()?;
        let mut state = self.write();
        let result = state
            .add_scope_requirements(resource_server, scopes)
            .map_err(|e| Error::Config(e.into()));
        self.publish(&state);
        result
    }

    /// Returns a copy of the scope requirements.
    pub fn scope_requirements(&self) -> ScopeRequirements {
        self.read().requirements().clone()
    }

    /// Returns the identity id of the stored tokens, once known.
    pub fn identity_id(&self) -> Option<String> {
        self.read().identity().map(str::to_owned)
    }

    /// Returns the token storage.
    pub fn token_storage(&self) -> &Arc<dyn TokenStorage> {
        self.io.storage()
    }

    /// Closes the app, for every clone: from now on every operation fails with
    /// [`Error::Closed`]. Closes the storage if the app created it (a storage
    /// passed in stays open). Closing again does no harm.
    ///
    /// # Errors
    /// The storage's error.
    pub fn close(&self) -> Result<(), Error> {
        self.closed.store(true, Ordering::Release);
        self.io.close()
    }
}

impl Drop for AppCore {
    fn drop(&mut self) {
        // The last clone closes a storage the app created; errors have no one to
        // report to here (call `close` to see them).
        let _ = self.io.close();
    }
}

/// One operation being driven: the core's state machine, the local I/O that
/// performs its storage and login steps, and the adapter's single-flight guard `G`.
///
/// An async driver's future holds its `Run`, so dropping the future drops the run;
/// a login waiting for the user on another thread is then cancelled (see
/// [`Run::offload`]).
#[derive(Debug)]
pub struct Run<'a, T, G> {
    core: &'a AppCore,
    operation: Operation<T>,
    /// Away while a step runs on another thread.
    io: Option<LocalIo>,
    /// Away while a storage write runs on another thread.
    turn: Option<G>,
    /// While a wait for the user runs on another thread: cancels it if this run is
    /// dropped (its caller's future was) before the wait's result is restored.
    cancel_wait: Option<CancelOnDrop>,
    /// The operation's span, entered while the core decides.
    span: tracing::Span,
    attempts: crate::log::Attempts,
    /// The request or storage step under way, logged when its result comes back.
    pending: Option<crate::log::Pending>,
}

impl<T: OperationOutput, G> Run<'_, T, G> {
    /// Passes the result of the previous step (or [`Input::Start`]) to the core and
    /// returns the next step, sorted by who performs it. The state's write lock is
    /// held only inside this call.
    ///
    /// Each input and step is logged at `TRACE` level (target `globus_app::step`),
    /// with the operation's state: none of them shows a secret.
    pub fn next(&mut self, input: Input) -> Action<T> {
        let span = self.span.clone();
        let _entered = span.enter();
        if let Some(pending) = self.pending.take() {
            pending.finish(&input);
        }
        tracing::trace!(target: "globus_app::step", ?input, "input");
        if let Err(closed) = self.core.check_open() {
            // Closed meanwhile: stop between steps (a write in progress has ended).
            return Action::Done(Err(closed));
        }
        let now = self.core.clock.now();
        if let Some(recorder) = &self.core.recorder {
            recorder.given(&self.operation, &input);
        }
        let mut state = self.core.write();
        let step = self.operation.resume(&mut state, input, now);
        self.core.publish(&state);
        drop(state);
        if let Some(recorder) = &self.core.recorder {
            recorder.asked(now, &step);
        }
        let action = Action::from_step(step);
        tracing::trace!(target: "globus_app::step", ?action, operation = ?self.operation, "step");
        match &action {
            Action::Send(request) => self.pending = Some(self.attempts.request(request)),
            Action::Local(local) => {
                if let Some(step) = local.storage_step() {
                    self.pending = Some(crate::log::Pending::Storage {
                        step,
                        started: std::time::Instant::now(),
                    });
                }
            }
            Action::Done(result) => {
                let [requests, request_ceiling, steps, step_ceiling] = self.operation.budget_used();
                let outcome = match result {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                };
                tracing::debug!(
                    target: "globus_app",
                    %outcome,
                    requests = format_args!("{requests}/{request_ceiling}"),
                    storage_steps = format_args!("{steps}/{step_ceiling}"),
                    "operation done"
                );
            }
            _ => {}
        }
        action
    }
}

impl<T: OperationOutput, G> Run<'_, T, G> {
    fn take_io(&mut self) -> LocalIo {
        // The I/O is always back unless a blocking task died; a fresh one then
        // only lacks a prepared login, which the core reports as a failed login.
        self.io.take().unwrap_or_else(|| self.core.io.local_io())
    }

    /// Performs a local step on this thread (the blocking adapter; or a quick step,
    /// see [`LocalAction::is_quick`]).
    pub fn perform(&mut self, action: LocalAction) -> Input {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut io = self.take_io();
        let input = io.perform(action);
        self.io = Some(io);
        input
    }
}

impl<T: OperationOutput, G: Send + 'static> Run<'_, T, G> {
    /// Packs a local step to run on a blocking thread (`spawn_blocking`,
    /// `blocking::unblock`): call [`Offload::run`] there and give its result to
    /// [`restore`](Self::restore).
    ///
    /// A storage write takes the single-flight guard along, so that if the caller is
    /// dropped meanwhile, the next operation still starts only after the write
    /// ended (a write is never interleaved with the next operation's load). Other
    /// steps (a load, a login waiting for the user) leave it here, so a dropped
    /// caller frees the app at once.
    ///
    /// A login's wait for the user is cancelled if this run is dropped before
    /// [`restore`](Self::restore): the local-server flow closes its listener during
    /// the drop, and the command-line flow stops reading standard input, so an
    /// abandoned login neither holds the program (a runtime waits for its blocking
    /// tasks when it shuts down) nor takes the next line typed.
    pub fn offload(&mut self, action: LocalAction) -> Offload<G> {
        let turn = if action.writes_storage() {
            self.turn.take()
        } else {
            None
        };
        let cancel = action.waits_for_user().then(CancelToken::new);
        if let Some(previous) = self.cancel_wait.take() {
            previous.disarm();
        }
        self.cancel_wait = cancel.as_ref().map(CancelToken::cancel_on_drop);
        Offload {
            io: self.take_io(),
            action,
            turn,
            cancel,
        }
    }

    /// Takes back what [`Offload::run`] returned, and returns the step's result.
    pub fn restore(&mut self, done: Offloaded<G>) -> Input {
        if let Some(wait) = self.cancel_wait.take() {
            wait.disarm();
        }
        self.io = Some(done.io);
        if done.turn.is_some() {
            self.turn = done.turn;
        }
        done.input
    }
}

/// A local step packed to run on a blocking thread (see [`Run::offload`]).
#[derive(Debug)]
#[must_use = "an offloaded step must be run and restored"]
pub struct Offload<G> {
    io: LocalIo,
    action: LocalAction,
    turn: Option<G>,
    /// For a wait for the user: cancelled when the run that offloaded it is dropped.
    cancel: Option<CancelToken>,
}

impl<G> Offload<G> {
    /// Performs the step (blocking). A wait for the user returns early, as a failed
    /// login, once the [`Run`] that offloaded it was dropped.
    pub fn run(self) -> Offloaded<G> {
        let Offload {
            mut io,
            action,
            turn,
            cancel,
        } = self;
        let input = io.perform_with_cancel(action, cancel.as_ref());
        Offloaded { io, input, turn }
    }
}

/// The result of an [`Offload`], to give back to [`Run::restore`].
#[derive(Debug)]
pub struct Offloaded<G> {
    io: LocalIo,
    input: Input,
    turn: Option<G>,
}

/// The largest response body an adapter's HTTP client reads (Globus Auth's answers
/// are a few KiB); a longer body is a transport failure.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The largest answer of a service to an authorized request an adapter's HTTP
/// client reads (a long directory listing or search result); a longer body is a
/// transport failure.
pub const MAX_SERVICE_RESPONSE_BODY: usize = 64 * 1024 * 1024;

/// Returns true if `error` or one of its causes is an `E`, looking inside the
/// `io::Error`s that HTTP stacks wrap their causes in (an `io::Error`'s `source`
/// skips the error it wraps). For sorting a client's errors into the core's kinds,
/// e.g. `caused_by::<rustls::Error>(&e)` for a TLS failure.
pub fn caused_by<E: std::error::Error + 'static>(
    error: &(dyn std::error::Error + 'static),
) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<E>() {
            return true;
        }
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if let Some(inner) = wrapped
            && caused_by::<E>(inner)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// The error of a driver that met an [`Action`] it does not know (a newer shell).
pub fn unknown_action() -> Error {
    Error::Internal("an action this adapter does not know".into())
}

/// The error of a driver whose blocking task died (it panicked).
pub fn blocking_task_failed() -> Error {
    Error::Internal("a blocking task of the app panicked".into())
}

/// What the public-methods macro needs, under paths that work in every adapter.
#[doc(hidden)]
pub mod __support {
    pub use globus_app_core::app::ConfigError;
    pub use globus_app_core::app::{
        AppKind, Authorization, Error, LogoutReport, Operation, RequestInput, RequestStep,
        ScopeRequirements,
    };
    pub use globus_app_core::destinations::GlobusService;
    pub use globus_app_core::oauth::AuthorizationParameters;
    pub use globus_app_core::scopes::Scope;
    pub use globus_app_core::{HttpRequest, HttpResponse, OAuthClient};
    pub use globus_app_storage::TokenStorage;
    pub use http;
    pub use serde;
    pub use std::sync::Arc;
}

/// Defines an adapter's `UserApp` or `ClientApp` (a cheap-to-clone handle on the
/// adapter's `Shared`) with all its public methods, once for every runtime:
///
/// ```text
/// globus_app_shell::define_app! {
///     /// Docs of the type, with an example for this runtime.
///     pub struct UserApp: async;      // `blocking` in the blocking adapter
/// }
/// ```
///
/// The adapter provides a type `Shared` with a field `core: AppCore`, a constructor
/// `fn new(core: AppCore) -> Result<Shared, Error>`, and its driver loop
/// `fn run<T: OperationOutput>(&self, make: impl FnOnce(Ticket) -> Operation<T>) ->
/// Result<T, Error>` (an `async fn` in an async adapter).
#[doc(hidden)]
#[macro_export]
macro_rules! define_app {
    ($(#[$attr:meta])* pub struct $name:ident: async;) => {
        $crate::define_app!(@$name {async}, {.await}, async, $(#[$attr])*);
    };
    ($(#[$attr:meta])* pub struct $name:ident: blocking;) => {
        $crate::define_app!(@$name {}, {}, blocking, $(#[$attr])*);
    };
    (@UserApp {$($async:tt)*}, {$($await:tt)*}, $kind:ident, $(#[$attr:meta])*) => {
        $(#[$attr])*
        #[derive(Clone, Debug)]
        pub struct UserApp {
            shared: $crate::app::__support::Arc<Shared>,
        }

        impl UserApp {
            /// Builds a user app. A native client uses PKCE; a confidential client
            /// needs [`AppConfig::login_redirect_uri`](globus_app_shell::AppConfig::login_redirect_uri).
            ///
            /// # Errors
            /// [`Error::Config`](globus_app_core::app::Error::Config) for misuse (see
            /// [`ConfigError`](globus_app_core::app::ConfigError));
            /// [`Error::Storage`](globus_app_core::app::Error::Storage) if the
            /// configured storage cannot be opened.
            pub fn new(
                app_name: &str,
                client: $crate::app::__support::OAuthClient,
                requirements: $crate::app::__support::ScopeRequirements,
                config: $crate::AppConfig,
            ) -> ::std::result::Result<UserApp, $crate::app::__support::Error> {
                let core = $crate::app::AppCore::new(
                    $crate::app::__support::AppKind::User,
                    app_name,
                    client,
                    requirements,
                    config,
                )?;
                Ok(UserApp {
                    shared: $crate::app::__support::Arc::new(Shared::new(core)?),
                })
            }

            /// Logs in if needed: always with `params` (for instance from
            /// [`parse_authorization_requirements`](globus_app_core::app::parse_authorization_requirements))
            /// or `force`, else only if [`login_required`](Self::login_required).
            ///
            /// # Errors
            /// Login flow, request and storage failures; an identity mismatch
            /// (nothing is stored then);
            /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
            /// [`close`](Self::close).
            pub $($async)* fn login(
                &self,
                params: ::std::option::Option<$crate::app::__support::AuthorizationParameters>,
                force: bool,
            ) -> ::std::result::Result<(), $crate::app::__support::Error> {
                self.shared.core.check_open()?;
                self.shared
                    .run(|_| $crate::app::__support::Operation::login(params, force))
                    $($await)*
            }

            /// Returns the identity id of the stored tokens, once known.
            pub fn identity_id(&self) -> ::std::option::Option<String> {
                self.shared.core.identity_id()
            }

            $crate::define_app!(@common {$($async)*}, {$($await)*}, $kind);
        }
    };
    (@ClientApp {$($async:tt)*}, {$($await:tt)*}, $kind:ident, $(#[$attr:meta])*) => {
        $(#[$attr])*
        #[derive(Clone, Debug)]
        pub struct ClientApp {
            shared: $crate::app::__support::Arc<Shared>,
        }

        impl ClientApp {
            /// Builds a client app. It may start without scope requirements and be
            /// given them later (`add_scope_requirements`); until it has some, a call
            /// that needs a login fails with a configuration error.
            ///
            /// # Errors
            /// [`Error::Config`](globus_app_core::app::Error::Config) without a
            /// secret, with a login flow, or with a client id that is not a UUID;
            /// [`Error::Storage`](globus_app_core::app::Error::Storage) if the storage
            /// cannot be opened.
            pub fn new(
                app_name: &str,
                client: $crate::app::__support::OAuthClient,
                requirements: $crate::app::__support::ScopeRequirements,
                config: $crate::AppConfig,
            ) -> ::std::result::Result<ClientApp, $crate::app::__support::Error> {
                let core = $crate::app::AppCore::new(
                    $crate::app::__support::AppKind::Client,
                    app_name,
                    client,
                    requirements,
                    config,
                )?;
                Ok(ClientApp {
                    shared: $crate::app::__support::Arc::new(Shared::new(core)?),
                })
            }

            /// Gets tokens with the client credentials if needed (always with `force`).
            ///
            /// # Errors
            /// Request and storage failures;
            /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
            /// [`close`](Self::close).
            pub $($async)* fn login(
                &self,
                force: bool,
            ) -> ::std::result::Result<(), $crate::app::__support::Error> {
                self.shared.core.check_open()?;
                self.shared
                    .run(|_| $crate::app::__support::Operation::login(None, force))
                    $($await)*
            }

            $crate::define_app!(@common {$($async)*}, {$($await)*}, $kind);
        }
    };
    (@request_via async) => {
        /// [`request`](Self::request) with the sends done by `send` (the
        /// middleware of an HTTP client sends through the client's own stack).
        #[doc(hidden)]
        pub async fn __request_via<F, Fut>(
            &self,
            resource_server: &str,
            request: $crate::app::__support::http::Request<Vec<u8>>,
            mut send: F,
        ) -> ::std::result::Result<
            $crate::app::__support::HttpResponse,
            $crate::app::__support::Error,
        >
        where
            F: FnMut($crate::app::__support::HttpRequest) -> Fut,
            Fut: ::std::future::Future<Output = $crate::app::__support::RequestInput>,
        {
            $crate::define_app!(@request_loop self, resource_server, request, send, {.await})
        }
    };
    (@request_via blocking) => {
        /// [`request`](Self::request) with the sends done by `send` (the
        /// middleware of an HTTP client sends through the client's own stack).
        #[doc(hidden)]
        pub fn __request_via<F>(
            &self,
            resource_server: &str,
            request: $crate::app::__support::http::Request<Vec<u8>>,
            mut send: F,
        ) -> ::std::result::Result<
            $crate::app::__support::HttpResponse,
            $crate::app::__support::Error,
        >
        where
            F: FnMut($crate::app::__support::HttpRequest) -> $crate::app::__support::RequestInput,
        {
            $crate::define_app!(@request_loop self, resource_server, request, send, {})
        }
    };
    // The driver of an authorized request: app operations under the single flight,
    // sends by `$send` outside it.
    (@request_loop $self:ident, $rs:ident, $request:ident, $send:ident, {$($await:tt)*}) => {{
        use $crate::app::__support::{Operation, RequestInput, RequestStep};
        let mut op = $self.shared.core.authorized_request($rs, $request)?;
        let mut attempts = $crate::log::Attempts::default();
        let mut input = RequestInput::Start;
        loop {
            input = match op.resume(input) {
                RequestStep::Authorize => {
                    RequestInput::Authorized($self.get_authorizer($rs)$($await)*)
                }
                RequestStep::Reauthorize(rejected) => RequestInput::Authorized(
                    $self
                        .shared
                        .run(|ticket| Operation::reauthorize($rs, rejected, ticket))
                        $($await)*,
                ),
                RequestStep::Login(params) => RequestInput::LoggedIn(
                    $self.shared.run(|_| Operation::login(Some(params), true))$($await)*,
                ),
                RequestStep::Send(request) => {
                    let pending = attempts.request(&request);
                    let input = $send(request)$($await)*;
                    pending.finish_service(&input);
                    input
                }
                RequestStep::Sleep(duration) => {
                    $self.shared.pause(duration)$($await)*;
                    RequestInput::Woke
                }
                RequestStep::Notice(notice) => {
                    $self.shared.core.notice(&notice);
                    RequestInput::Continue
                }
                RequestStep::Done(result) => return result,
                _ => return Err($crate::app::unknown_action()),
            };
        }
    }};
    (@common {$($async:tt)*}, {$($await:tt)*}, $kind:ident) => {
        $crate::define_app!(@request_via $kind);

        /// Returns a valid authorization for a resource server, logging in or
        /// renewing tokens as needed.
        ///
        /// A valid cached token is served without I/O or waiting. Otherwise the
        /// tokens are read from storage, checked (expiry, scopes, dependent scopes)
        /// and renewed, or a login runs, as the configuration says. Many callers
        /// needing the same renewal cause one request, and all get its result.
        ///
        /// # Errors
        /// [`Error::TokenValidation`](globus_app_core::app::Error::TokenValidation)
        /// when a login is needed and the configuration says not to run one (or for
        /// an identity mismatch); request, storage and login failures;
        /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
        /// [`close`](Self::close), even for a cached token.
        pub $($async)* fn get_authorizer(
            &self,
            resource_server: &str,
        ) -> ::std::result::Result<
            $crate::app::__support::Authorization,
            $crate::app::__support::Error,
        > {
            self.shared.core.check_open()?;
            if let Some(cached) = self.shared.core.cached_authorization(resource_server) {
                return Ok(cached);
            }
            self.shared
                .run(|ticket| {
                    $crate::app::__support::Operation::get_authorization(resource_server, ticket)
                })
                $($await)*
        }

        /// Sends a request to a service with `resource_server`'s token, and returns
        /// its answer, whatever the status, but for the cases below.
        ///
        /// The token goes only to the hosts bound to the resource server (the
        /// Globus services of the app's environment, and what
        /// [`bind_token_destination`](Self::bind_token_destination) added); any other
        /// URL is refused before anything is sent
        /// ([`Error::Destination`](globus_app_core::app::Error::Destination)).
        /// Redirects are not followed. A 401 renews the token once and sends the
        /// request again (without a way to renew:
        /// [`Error::LoginRequired`](globus_app_core::app::Error::LoginRequired); a
        /// request never starts a login for a 401); a Globus Auth Requirements Error
        /// is [`Error::AuthorizationRequired`](globus_app_core::app::Error::AuthorizationRequired),
        /// or a login and one more send with `AppConfig::auto_redrive_gares`; 429,
        /// 5xx and transport failures are retried as the table in
        /// [`AuthorizedRequest`](globus_app_core::app::AuthorizedRequest) says. Getting the first
        /// token works as [`get_authorizer`](Self::get_authorizer) (it may log in).
        ///
        /// # Errors
        /// The above, and those of [`get_authorizer`](Self::get_authorizer);
        /// [`Error::Transport`](globus_app_core::app::Error::Transport) when the
        /// service could not be reached.
        pub $($async)* fn request(
            &self,
            resource_server: &str,
            request: $crate::app::__support::http::Request<Vec<u8>>,
        ) -> ::std::result::Result<
            $crate::app::__support::HttpResponse,
            $crate::app::__support::Error,
        > {
            self.__request_via(resource_server, request, |request| {
                self.shared.send_request(request)
            })
            $($await)*
        }

        /// Sends a request with the app's own HTTP client, once (a middleware's
        /// resends).
        #[doc(hidden)]
        pub $($async)* fn __send_request(
            &self,
            request: $crate::app::__support::HttpRequest,
        ) -> $crate::app::__support::RequestInput {
            self.shared.send_request(request)$($await)*
        }

        /// Lets `resource_server`'s token go to the origin (scheme, host, port) of
        /// `base_url` too: a Globus Connect Server collection's resource server (its
        /// endpoint id) with its own host, or an API of your own. Plain `http` is
        /// allowed only to loopback IP literals, and a URL with user info is refused.
        ///
        /// # Errors
        /// [`Error::Destination`](globus_app_core::app::Error::Destination) for such
        /// a URL; [`Error::Closed`](globus_app_core::app::Error::Closed).
        pub fn bind_token_destination(
            &self,
            resource_server: &str,
            base_url: &str,
        ) -> ::std::result::Result<(), $crate::app::__support::Error> {
            self.shared.core.bind_token_destination(resource_server, base_url)
        }

        /// Checks that `resource_server`'s token may be sent to `url` (its origin is
        /// one bound to the resource server, see
        /// [`bind_token_destination`](Self::bind_token_destination)).
        ///
        /// # Errors
        /// [`Error::Destination`](globus_app_core::app::Error::Destination) if it may
        /// not; [`Error::Closed`](globus_app_core::app::Error::Closed).
        pub fn check_token_destination(
            &self,
            resource_server: &str,
            url: &str,
        ) -> ::std::result::Result<(), $crate::app::__support::Error> {
            self.shared.core.check_token_destination(resource_server, url)
        }

        /// Returns the base URL of a Globus service by its short name (`transfer`,
        /// `groups`, `search`, `flows`, `timer`, `compute`, `auth`): from
        /// `AppConfig::service_url`, else `GLOBUS_SDK_SERVICE_URL_<NAME>`, else the
        /// environment's.
        pub fn service_url(&self, service: &str) -> ::std::option::Option<&str> {
            self.shared.core.service_url(service)
        }

        /// Returns the `Authorization` header value (`Bearer …`) for a resource server.
        ///
        /// # Errors
        /// As [`get_authorizer`](Self::get_authorizer).
        pub $($async)* fn authorization_header(
            &self,
            resource_server: &str,
        ) -> ::std::result::Result<String, $crate::app::__support::Error> {
            Ok(self
                .get_authorizer(resource_server)
                $($await)*?
                .header_value()
                .to_owned())
        }

        /// Returns true if a login is needed for some required resource server
        /// (tokens missing, expired without a refresh token, lacking scopes, or a
        /// refresh token refused). Renews tokens where it can; never logs in.
        ///
        /// # Errors
        /// Request and storage failures;
        /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
        /// [`close`](Self::close).
        pub $($async)* fn login_required(
            &self,
        ) -> ::std::result::Result<bool, $crate::app::__support::Error> {
            self.shared.core.check_open()?;
            self.shared
                .run(|_| $crate::app::__support::Operation::login_required())
                $($await)*
        }

        /// Revokes and removes the tokens of the required resource servers (with
        /// `sweep`, every resource server in the app's namespace). Local tokens are
        /// removed even when a revocation fails; the report lists the failures.
        /// Entries the storage holds but cannot read are removed too (they cannot
        /// be revoked), and listed among the removed.
        ///
        /// # Errors
        /// Storage failures;
        /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
        /// [`close`](Self::close).
        pub $($async)* fn logout(
            &self,
            sweep: bool,
        ) -> ::std::result::Result<
            $crate::app::__support::LogoutReport,
            $crate::app::__support::Error,
        > {
            self.shared.core.check_open()?;
            self.shared
                .run(|_| $crate::app::__support::Operation::logout(sweep))
                $($await)*
        }

        /// Adds scope requirements for a resource server, merged with the existing
        /// ones; cached tokens of that resource server are checked again on next use.
        ///
        /// # Errors
        /// [`Error::Config`](globus_app_core::app::Error::Config) if merging creates
        /// a dependency cycle;
        /// [`Error::Closed`](globus_app_core::app::Error::Closed) after
        /// [`close`](Self::close).
        pub fn add_scope_requirements(
            &self,
            resource_server: &str,
            scopes: impl IntoIterator<Item = $crate::app::__support::Scope>,
        ) -> ::std::result::Result<(), $crate::app::__support::Error> {
            self.shared.core.add_scope_requirements(resource_server, scopes)
        }

        /// Returns a copy of the scope requirements (`openid` from `auth.globus.org`
        /// is always among them).
        pub fn scope_requirements(&self) -> $crate::app::__support::ScopeRequirements {
            self.shared.core.scope_requirements()
        }

        /// Returns the token storage.
        pub fn token_storage(
            &self,
        ) -> &$crate::app::__support::Arc<dyn $crate::app::__support::TokenStorage> {
            self.shared.core.token_storage()
        }

        /// Closes the app, and every clone of it: from now on every method that can
        /// fail returns [`Error::Closed`](globus_app_core::app::Error::Closed) (an
        /// operation under way stops at its next step). Closes the token storage if
        /// the app created it from its configuration (a storage you passed in stays
        /// open, so other apps can keep using it). Closing again does no harm. The
        /// last clone of an app closes its storage when dropped; `close` reports
        /// errors.
        ///
        /// # Errors
        /// The storage's error.
        pub fn close(&self) -> ::std::result::Result<(), $crate::app::__support::Error> {
            self.shared.core.close()
        }
    };
}
