//! One app operation as a state machine: it says what it needs next ([`Step`]) and
//! takes the result back ([`Input`]).

use super::error::{Error, RequestKind, SharedError, TransportError};
use super::requirements::AUTH_RESOURCE_SERVER;
use super::settings::{AppKind, OnValidationError};
use super::state::{AppState, Authorization, Evaluation, Skip, Ticket};
use super::validation::{Label, TokenValidationError};
use crate::oauth::{
    AccessType, AuthorizationCodeGrant, AuthorizationParameters, AuthorizeRequest,
    ClientCredentialsGrant, ConsentsLookup, Exchange, GrantedTokens, LoginAttempt, RefreshGrant,
    Revocation,
};
use crate::redirect::RedirectParams;
use crate::scopes;
use crate::{HttpRequest, HttpResponse, ResponseError, TokenData, UnixTime};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;
use url::Url;

/// What an operation needs the driver to do next.
///
/// Perform it and pass the matching [`Input`] to
/// [`Operation::resume`]; repeat until [`Step::Done`].
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "a step must be performed and its result passed back"]
pub enum Step<T> {
    /// Send this request, once, following no redirects; answer with
    /// [`Input::Response`] (any status) or [`Input::TransportFailed`].
    Send(HttpRequest),
    /// Read every token of the app's namespace; answer with [`Input::Loaded`] or
    /// [`Input::StorageFailed`].
    Load,
    /// Store these tokens in the namespace (an upsert by resource server); answer
    /// with [`Input::Stored`] or [`Input::StorageFailed`].
    Store(Vec<TokenData>),
    /// Remove this resource server's tokens from the namespace; answer with
    /// [`Input::Removed`] or [`Input::StorageFailed`].
    Remove(String),
    /// Get ready for a login (a local server binds its port); answer with
    /// [`Input::LoginPrepared`] (the redirect URI and 48 random bytes) or
    /// [`Input::LoginFailed`].
    PrepareLogin,
    /// Show the user this URL and wait for the redirect that carries `state`;
    /// answer with [`Input::Redirect`] or [`Input::LoginFailed`].
    Authorize {
        /// The authorize URL.
        url: Url,
        /// The `state` the redirect must carry.
        state: String,
    },
    /// Wait this long (a retry's backoff); answer with [`Input::Woke`].
    Sleep(Duration),
    /// Log this; answer with [`Input::Continue`].
    Notice(Notice),
    /// The operation is over.
    Done(Result<T, Error>),
}

/// The result of a [`Step`], passed to [`Operation::resume`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Input {
    /// The first call: nothing has happened yet.
    Start,
    /// The response to [`Step::Send`], whatever its status.
    Response(HttpResponse),
    /// [`Step::Send`] got no response.
    TransportFailed(TransportError),
    /// The namespace's tokens, by resource server, for [`Step::Load`].
    Loaded(BTreeMap<String, TokenData>),
    /// [`Step::Store`] succeeded.
    Stored,
    /// [`Step::Remove`] succeeded.
    Removed,
    /// A storage step failed.
    StorageFailed(SharedError),
    /// [`Step::PrepareLogin`] succeeded.
    LoginPrepared {
        /// The redirect URI the login uses.
        redirect_uri: String,
        /// Fresh random bytes for the PKCE verifier and the `state`.
        random: [u8; 48],
    },
    /// What came back from [`Step::Authorize`].
    Redirect(RedirectParams),
    /// The login flow failed.
    LoginFailed(SharedError),
    /// [`Step::Sleep`] is over.
    Woke,
    /// [`Step::Notice`] was logged.
    Continue,
}

/// Something worth logging that does not stop the operation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Notice {
    /// Renewing a still-valid access token failed; the valid token is used.
    EarlyRenewalFailed {
        /// The resource server.
        resource_server: String,
        /// Why it failed.
        error: Error,
    },
    /// A request failed and will be tried again after a wait.
    Retrying {
        /// Which request.
        request: RequestKind,
        /// The failed attempt's number (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// Stored tokens could not serve a request, so a login starts.
    LoginStarting {
        /// Why.
        reason: TokenValidationError,
    },
    /// Revoking a token failed during logout; the local tokens are removed anyway.
    RevocationFailed {
        /// The resource server.
        resource_server: String,
        /// Why it failed.
        error: Error,
    },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::EarlyRenewalFailed {
                resource_server,
                error,
            } => write!(
                f,
                "renewing the access token for {resource_server} before it expires failed ({error}); using the still-valid token"
            ),
            Notice::Retrying {
                request,
                attempt,
                delay,
            } => {
                write!(
                    f,
                    "{request}: attempt {attempt} failed, retrying in {delay:?}"
                )
            }
            Notice::LoginStarting { reason } => {
                write!(f, "starting a login ({}): {reason}", Label(reason))
            }
            Notice::RevocationFailed {
                resource_server,
                error,
            } => write!(
                f,
                "revoking a token for {resource_server} failed ({error}); the local tokens are removed anyway"
            ),
        }
    }
}

/// What a logout did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LogoutReport {
    /// Resource servers whose tokens were removed from storage.
    pub removed: Vec<String>,
    /// Revocations that failed (the tokens were removed locally all the same).
    pub revocation_failures: Vec<(String, Error)>,
}

/// The output types operations produce.
pub trait OperationOutput: Sized + sealed::Sealed {
    #[doc(hidden)]
    fn from_outcome(outcome: Outcome) -> Option<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Authorization {}
    impl Sealed for bool {}
    impl Sealed for () {}
    impl Sealed for super::LogoutReport {}
}

#[doc(hidden)]
#[derive(Debug)]
pub enum Outcome {
    Authorization(Authorization),
    LoginRequired(bool),
    LoggedIn,
    LoggedOut(LogoutReport),
}

impl OperationOutput for Authorization {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::Authorization(a) => Some(a),
            _ => None,
        }
    }
}
impl OperationOutput for bool {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoginRequired(b) => Some(b),
            _ => None,
        }
    }
}
impl OperationOutput for () {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoggedIn => Some(()),
            _ => None,
        }
    }
}
impl OperationOutput for LogoutReport {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoggedOut(r) => Some(r),
            _ => None,
        }
    }
}

/// One app operation: getting an authorization, logging in, checking whether a
/// login is required, or logging out.
///
/// # The contract
/// Call [`resume`](Self::resume) with [`Input::Start`], perform the returned
/// [`Step`], pass its result back as the matching [`Input`], and repeat until
/// [`Step::Done`]. Only one operation of an app runs at a time (its adapter holds a
/// lock for the whole operation), but the [`AppState`] lock need only be held
/// during each `resume`, so the hot path
/// ([`AppState::cached_authorization`]) never waits for I/O.
///
/// ```
/// use globus_app_core::app::{AppKind, AppSettings, AppState, Input, Operation, ScopeRequirements, Step};
/// use globus_app_core::{AuthService, OAuthClient, UnixTime};
/// use std::collections::BTreeMap;
///
/// let settings = AppSettings::new(AppKind::User, "app", OAuthClient::native("CLIENT"), AuthService::production());
/// let mut state = AppState::new(settings, ScopeRequirements::new()).unwrap();
/// let mut op = Operation::login_required();
/// let now = UnixTime(1_700_000_000);
/// assert!(matches!(op.resume(&mut state, Input::Start, now), Step::Load));
/// // Nothing is stored: a login is required.
/// let step = op.resume(&mut state, Input::Loaded(BTreeMap::new()), now);
/// assert!(matches!(step, Step::Done(Ok(true))));
/// ```
#[derive(Debug)]
pub struct Operation<T> {
    engine: Engine,
    _output: PhantomData<fn() -> T>,
}

impl Operation<Authorization> {
    /// Gets a valid authorization for a resource server: loads, validates, renews,
    /// checks consents, and logs in as the settings say. `ticket` is taken from
    /// [`AppState::ticket`] before waiting for the operation lock.
    pub fn get_authorization(resource_server: impl Into<String>, ticket: Ticket) -> Self {
        Operation::new(Goal::Authorize {
            resource_server: resource_server.into(),
            ticket,
        })
    }
}

impl Operation<bool> {
    /// Checks whether a login is needed for any required resource server (renewing
    /// tokens where it can, never logging in).
    pub fn login_required() -> Self {
        Operation::new(Goal::Check {
            queue: None,
            then_login: None,
        })
    }
}

impl Operation<()> {
    /// Logs in: always with `params` or `force`, else only if a login is required.
    pub fn login(params: Option<AuthorizationParameters>, force: bool) -> Self {
        if force || params.as_ref().is_some_and(|p| !p.is_empty()) {
            Operation::new(Goal::Login {
                params: params.unwrap_or_default(),
            })
        } else {
            Operation::new(Goal::Check {
                queue: None,
                then_login: Some(params.unwrap_or_default()),
            })
        }
    }
}

impl Operation<LogoutReport> {
    /// Revokes and removes the tokens of the required resource servers (every
    /// resource server of the namespace with `sweep`).
    pub fn logout(sweep: bool) -> Self {
        Operation::new(Goal::Logout {
            sweep,
            queue: None,
            current: None,
            report: LogoutReport::default(),
        })
    }
}

impl<T: OperationOutput> Operation<T> {
    fn new(goal: Goal) -> Self {
        Operation {
            engine: Engine {
                goal,
                phase: Phase::Ready,
                skip: BTreeMap::new(),
                logged_in: false,
                notices: VecDeque::new(),
                stashed: None,
                started: false,
                fresh_load: false,
            },
            _output: PhantomData,
        }
    }

    /// Advances the operation with the result of the previous step.
    pub fn resume(&mut self, state: &mut AppState, input: Input, now: UnixTime) -> Step<T> {
        match self.engine.resume(state, input, now) {
            Step::Done(Ok(outcome)) => Step::Done(T::from_outcome(outcome).ok_or_else(|| {
                Error::Internal("an operation produced the wrong kind of result".into())
            })),
            Step::Done(Err(e)) => Step::Done(Err(e)),
            Step::Send(r) => Step::Send(r),
            Step::Load => Step::Load,
            Step::Store(t) => Step::Store(t),
            Step::Remove(rs) => Step::Remove(rs),
            Step::PrepareLogin => Step::PrepareLogin,
            Step::Authorize { url, state } => Step::Authorize { url, state },
            Step::Sleep(d) => Step::Sleep(d),
            Step::Notice(n) => Step::Notice(n),
        }
    }
}

#[derive(Debug)]
enum Goal {
    Authorize {
        resource_server: String,
        ticket: Ticket,
    },
    Check {
        queue: Option<VecDeque<String>>,
        then_login: Option<AuthorizationParameters>,
    },
    Login {
        params: AuthorizationParameters,
    },
    Logout {
        sweep: bool,
        queue: Option<VecDeque<TokenData>>,
        current: Option<(TokenData, bool)>,
        report: LogoutReport,
    },
}

/// An HTTP exchange in flight, kept whole so it can be sent again.
#[derive(Debug)]
enum Call {
    Renew {
        resource_server: String,
        still_valid: bool,
        grant: RenewGrant,
    },
    Consents(ConsentsLookup),
    CodeExchange(AuthorizationCodeGrant),
    ClientLogin(ClientCredentialsGrant),
    Revoke {
        resource_server: String,
        revocation: Revocation,
    },
}

#[derive(Debug)]
enum RenewGrant {
    Refresh(RefreshGrant),
    ClientCredentials(ClientCredentialsGrant),
}

impl Call {
    fn request(&self) -> HttpRequest {
        match self {
            Call::Renew {
                grant: RenewGrant::Refresh(g),
                ..
            } => g.request(),
            Call::Renew {
                grant: RenewGrant::ClientCredentials(g),
                ..
            } => g.request(),
            Call::Consents(c) => c.request(),
            Call::CodeExchange(c) => c.request(),
            Call::ClientLogin(c) => c.request(),
            Call::Revoke { revocation, .. } => revocation.request(),
        }
    }

    fn kind(&self) -> RequestKind {
        match self {
            Call::Renew {
                resource_server,
                grant: RenewGrant::Refresh(_),
                ..
            } => RequestKind::Refresh(resource_server.clone()),
            Call::Renew {
                grant: RenewGrant::ClientCredentials(_),
                ..
            }
            | Call::ClientLogin(_) => RequestKind::ClientCredentials,
            Call::Consents(_) => RequestKind::Consents,
            Call::CodeExchange(_) => RequestKind::CodeExchange,
            Call::Revoke {
                resource_server, ..
            } => RequestKind::Revoke(resource_server.clone()),
        }
    }
}

#[derive(Debug)]
enum Phase {
    Ready,
    Loading,
    Http {
        call: Call,
        attempt: u32,
    },
    Sleeping {
        call: Call,
        attempt: u32,
    },
    Storing {
        tokens: Vec<TokenData>,
        after_login: bool,
    },
    Removing {
        resource_server: String,
    },
    PreparingLogin {
        params: AuthorizationParameters,
    },
    Authorizing {
        attempt: Box<LoginAttempt>,
    },
    Done,
}

#[derive(Debug)]
struct Engine {
    goal: Goal,
    phase: Phase,
    skip: BTreeMap<String, Skip>,
    logged_in: bool,
    notices: VecDeque<Notice>,
    stashed: Option<Step<Outcome>>,
    started: bool,
    /// Storage was read during this operation (each operation reads it once, so it
    /// sees what other processes stored).
    fresh_load: bool,
}

type Next = Step<Outcome>;

impl Engine {
    fn resume(&mut self, state: &mut AppState, input: Input, now: UnixTime) -> Next {
        if matches!(input, Input::Continue) && self.stashed.is_some() {
            return self.emit(None);
        }
        let step = self.handle(state, input, now);
        self.emit(Some(step))
    }

    /// Returns pending notices first, then the step.
    fn emit(&mut self, step: Option<Next>) -> Next {
        if let Some(step) = step {
            if self.notices.is_empty() {
                return step;
            }
            self.stashed = Some(step);
        }
        match self.notices.pop_front() {
            Some(notice) => Step::Notice(notice),
            None => self
                .stashed
                .take()
                .unwrap_or_else(|| Step::Done(Err(Error::Internal("no step to resume".into())))),
        }
    }

    fn handle(&mut self, state: &mut AppState, input: Input, now: UnixTime) -> Next {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match (phase, input) {
            (Phase::Ready, Input::Start) if !self.started => {
                self.started = true;
                if let Goal::Authorize {
                    resource_server,
                    ticket,
                } = &self.goal
                {
                    if let Some(error) = state.failure_since(resource_server, *ticket) {
                        // The operation this caller waited behind failed: share its error.
                        self.phase = Phase::Done;
                        return Step::Done(Err(error));
                    }
                    if let Some(a) = state.cached_authorization(resource_server, now) {
                        return Step::Done(Ok(Outcome::Authorization(a)));
                    }
                }
                self.advance(state, now)
            }
            (Phase::Loading, Input::Loaded(tokens)) => {
                state.absorb_loaded(tokens);
                self.fresh_load = true;
                self.advance(state, now)
            }
            (Phase::Http { call, attempt }, Input::Response(response)) => {
                if crate::error::is_retryable_status(response.status().as_u16())
                    && let Some(delay) = state
                        .settings
                        .retry
                        .delay(attempt, crate::error::retry_after(&response))
                {
                    return self.sleep(call, attempt, delay);
                }
                self.on_response(state, call, &response, now)
            }
            (Phase::Http { call, attempt }, Input::TransportFailed(error)) => {
                if error.kind.is_retryable()
                    && let Some(delay) = state.settings.retry.delay(attempt, None)
                {
                    return self.sleep(call, attempt, delay);
                }
                let request = call.kind();
                self.on_call_failed(state, call, Error::Transport { request, error }, now)
            }
            (Phase::Sleeping { call, attempt }, Input::Woke) => self.send(call, attempt + 1),
            (
                Phase::Storing {
                    tokens,
                    after_login,
                },
                Input::Stored,
            ) => {
                state.absorb_stored(tokens);
                if after_login {
                    state.after_login();
                    self.logged_in = true;
                    self.skip.clear();
                    if matches!(self.goal, Goal::Login { .. })
                        || matches!(
                            self.goal,
                            Goal::Check {
                                then_login: Some(_),
                                ..
                            }
                        )
                    {
                        return self.done(state, Ok(Outcome::LoggedIn));
                    }
                }
                self.advance(state, now)
            }
            (Phase::Removing { resource_server }, Input::Removed) => {
                state.absorb_removed(&resource_server);
                if let Goal::Logout { report, .. } = &mut self.goal {
                    report.removed.push(resource_server);
                }
                self.advance(state, now)
            }
            (
                Phase::PreparingLogin { params },
                Input::LoginPrepared {
                    redirect_uri,
                    random,
                },
            ) => self.authorize(state, params, redirect_uri, &random),
            (Phase::Authorizing { attempt }, Input::Redirect(params)) => {
                match attempt.complete(params) {
                    Ok(exchange) => self.send(Call::CodeExchange(exchange), 1),
                    Err(e) => self.done(state, Err(Error::Redirect(e))),
                }
            }
            (
                Phase::Loading | Phase::Storing { .. } | Phase::Removing { .. },
                Input::StorageFailed(e),
            ) => self.done(state, Err(Error::Storage(e))),
            (Phase::PreparingLogin { .. } | Phase::Authorizing { .. }, Input::LoginFailed(e)) => {
                self.done(state, Err(Error::Login(e)))
            }
            (phase, input) => {
                let detail = format!(
                    "unexpected input {} while {}",
                    input_name(&input),
                    phase_name(&phase)
                );
                self.phase = phase;
                Step::Done(Err(Error::Internal(detail)))
            }
        }
    }

    fn send(&mut self, call: Call, attempt: u32) -> Next {
        let request = call.request();
        self.phase = Phase::Http { call, attempt };
        Step::Send(request)
    }

    fn sleep(&mut self, call: Call, attempt: u32, delay: Duration) -> Next {
        self.notices.push_back(Notice::Retrying {
            request: call.kind(),
            attempt,
            delay,
        });
        self.phase = Phase::Sleeping { call, attempt };
        Step::Sleep(delay)
    }

    fn load(&mut self) -> Next {
        self.phase = Phase::Loading;
        Step::Load
    }

    /// Finishes, recording the outcome of an authorization for callers queued
    /// behind this one.
    fn done(&mut self, state: &mut AppState, result: Result<Outcome, Error>) -> Next {
        self.phase = Phase::Done;
        if let Goal::Authorize {
            resource_server, ..
        } = &self.goal
        {
            state.finish(
                resource_server,
                result.as_ref().map(|_| ()).map_err(Clone::clone),
            );
        }
        Step::Done(result)
    }

    /// Decides the next step from the goal and the state.
    fn advance(&mut self, state: &mut AppState, now: UnixTime) -> Next {
        if !self.fresh_load || !state.loaded {
            return self.load();
        }
        match &mut self.goal {
            Goal::Authorize {
                resource_server, ..
            } => {
                let rs = resource_server.clone();
                match self.decide(state, &rs, now) {
                    Decision::Step(step) => step,
                    Decision::Ready(a) => self.done(state, Ok(Outcome::Authorization(a))),
                    Decision::Login(reason) => self.on_login_needed(state, reason),
                }
            }
            Goal::Check { .. } => loop {
                let next = match &mut self.goal {
                    Goal::Check { queue, .. } => queue
                        .get_or_insert_with(|| {
                            state
                                .requirements
                                .resource_servers()
                                .map(str::to_owned)
                                .collect()
                        })
                        .front()
                        .cloned(),
                    _ => None,
                };
                let Some(rs) = next else {
                    let outcome = match &self.goal {
                        Goal::Check {
                            then_login: Some(_),
                            ..
                        } => Outcome::LoggedIn,
                        _ => Outcome::LoginRequired(false),
                    };
                    return self.done(state, Ok(outcome));
                };
                match self.decide(state, &rs, now) {
                    Decision::Step(step) => return step,
                    Decision::Ready(_) => {
                        if let Goal::Check {
                            queue: Some(queue), ..
                        } = &mut self.goal
                        {
                            queue.pop_front();
                        }
                    }
                    Decision::Login(reason) => return self.on_login_needed(state, reason),
                }
            },
            Goal::Login { params } => {
                if self.logged_in {
                    return self.done(state, Ok(Outcome::LoggedIn));
                }
                let params = params.clone();
                self.start_login(state, params)
            }
            Goal::Logout { .. } => self.advance_logout(state),
        }
    }

    /// The token decision for one resource server, turned into a step or a verdict.
    fn decide(&mut self, state: &mut AppState, rs: &str, now: UnixTime) -> Decision {
        let skip = self.skip.get(rs).copied().unwrap_or_default();
        match state.evaluate(rs, now, &skip) {
            Evaluation::Ready {
                authorization,
                serve_until,
            } => {
                state.mark_ready(rs, authorization.clone(), serve_until);
                Decision::Ready(authorization)
            }
            Evaluation::Renew { still_valid } => match renew_grant(state, rs) {
                Some(grant) => Decision::Step(self.send(
                    Call::Renew {
                        resource_server: rs.to_owned(),
                        still_valid,
                        grant,
                    },
                    1,
                )),
                None => Decision::Login(TokenValidationError::MissingRefreshToken {
                    resource_server: rs.to_owned(),
                }),
            },
            Evaluation::NeedConsents => {
                let identity = state.identity.clone().unwrap_or_default();
                match state.auth_token_for_consents(now) {
                    Some(auth) => {
                        let lookup = ConsentsLookup::new(
                            state.settings.service.clone(),
                            identity,
                            auth.access_token.clone(),
                        );
                        Decision::Step(self.send(Call::Consents(lookup), 1))
                    }
                    None if rs != AUTH_RESOURCE_SERVER
                        && state.settings.renews_tokens()
                        && !self
                            .skip
                            .get(AUTH_RESOURCE_SERVER)
                            .is_some_and(|s| s.renewal_failed) =>
                    {
                        // Renew the auth token first; the lookup follows.
                        match renew_grant(state, AUTH_RESOURCE_SERVER) {
                            Some(grant) => Decision::Step(self.send(
                                Call::Renew {
                                    resource_server: AUTH_RESOURCE_SERVER.to_owned(),
                                    still_valid: false,
                                    grant,
                                },
                                1,
                            )),
                            None => self.consents_unavailable(rs),
                        }
                    }
                    None => self.consents_unavailable(rs),
                }
            }
            Evaluation::Login(reason) => Decision::Login(reason),
        }
    }

    /// Without a usable auth token the dependent scopes cannot be checked; a login
    /// gets a fresh one.
    fn consents_unavailable(&mut self, rs: &str) -> Decision {
        self.skip.entry(rs.to_owned()).or_default().consents_fetched = true;
        Decision::Login(TokenValidationError::MissingToken {
            resource_server: AUTH_RESOURCE_SERVER.to_owned(),
        })
    }

    fn start_login(&mut self, state: &mut AppState, params: AuthorizationParameters) -> Next {
        match state.settings.kind {
            AppKind::User => {
                self.phase = Phase::PreparingLogin { params };
                Step::PrepareLogin
            }
            AppKind::Client => {
                let scope = login_scope(state, &params);
                match ClientCredentialsGrant::new(
                    state.settings.service.clone(),
                    state.settings.client.clone(),
                    scope,
                ) {
                    Some(grant) => self.send(Call::ClientLogin(grant), 1),
                    None => self.done(
                        state,
                        Err(Error::Config(super::ConfigError::ClientAppWithoutSecret)),
                    ),
                }
            }
        }
    }

    fn authorize(
        &mut self,
        state: &mut AppState,
        params: AuthorizationParameters,
        redirect_uri: String,
        random: &[u8; 48],
    ) -> Next {
        let settings = &state.settings;
        let mut request = AuthorizeRequest::new(
            settings.service.clone(),
            settings.client.clone(),
            redirect_uri,
            login_scope(state, &params),
        );
        request.access_type = if settings.request_refresh_tokens {
            AccessType::Offline
        } else {
            AccessType::Online
        };
        request
            .prefill_named_grant
            .clone_from(&settings.prefill_named_grant);
        request.parameters = AuthorizationParameters {
            required_scopes: Vec::new(),
            ..params
        };
        let attempt = request.start(random);
        let url = attempt.authorize_url().clone();
        let expected = attempt.state().to_owned();
        self.phase = Phase::Authorizing {
            attempt: Box::new(attempt),
        };
        Step::Authorize {
            url,
            state: expected,
        }
    }

    fn on_response(
        &mut self,
        state: &mut AppState,
        call: Call,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Next {
        match call {
            Call::Renew {
                resource_server,
                still_valid,
                grant,
            } => {
                let result = match &grant {
                    RenewGrant::Refresh(g) => g.handle_response(response, now),
                    RenewGrant::ClientCredentials(g) => g.handle_response(response, now),
                };
                match result {
                    Ok(granted) => {
                        let tokens = renewed_tokens(state, granted);
                        self.store(tokens, false)
                    }
                    Err(error) => {
                        let call = Call::Renew {
                            resource_server,
                            still_valid,
                            grant,
                        };
                        let request = call.kind();
                        self.on_call_failed(
                            state,
                            call,
                            Error::Response {
                                request,
                                error: Box::new(error),
                            },
                            now,
                        )
                    }
                }
            }
            Call::Consents(lookup) => match lookup.handle_response(response, now) {
                Ok(forest) => {
                    state.consents = Some(forest);
                    self.mark_consents_fetched(state);
                    self.advance(state, now)
                }
                Err(error) => self.done(
                    state,
                    Err(Error::Response {
                        request: RequestKind::Consents,
                        error: Box::new(error),
                    }),
                ),
            },
            Call::CodeExchange(exchange) => match exchange.handle_response(response, now) {
                Ok(granted) => match check_login_grant(state, &granted) {
                    Ok(()) => self.store(granted.tokens, true),
                    Err(e) => self.done(state, Err(Error::TokenValidation(e))),
                },
                Err(error) => self.done(
                    state,
                    Err(Error::Response {
                        request: RequestKind::CodeExchange,
                        error: Box::new(error),
                    }),
                ),
            },
            Call::ClientLogin(grant) => match grant.handle_response(response, now) {
                Ok(granted) => match check_root_scopes(state, &granted.tokens) {
                    Ok(()) => self.store(granted.tokens, true),
                    Err(e) => self.done(state, Err(Error::TokenValidation(e))),
                },
                Err(error) => self.done(
                    state,
                    Err(Error::Response {
                        request: RequestKind::ClientCredentials,
                        error: Box::new(error),
                    }),
                ),
            },
            Call::Revoke {
                resource_server,
                revocation,
            } => match revocation.handle_response(response, now) {
                Ok(()) => self.advance_logout(state),
                Err(error) => {
                    let call = Call::Revoke {
                        resource_server,
                        revocation,
                    };
                    let request = call.kind();
                    self.on_call_failed(
                        state,
                        call,
                        Error::Response {
                            request,
                            error: Box::new(error),
                        },
                        now,
                    )
                }
            },
        }
    }

    /// A call failed for good (after retries).
    fn on_call_failed(
        &mut self,
        state: &mut AppState,
        call: Call,
        error: Error,
        now: UnixTime,
    ) -> Next {
        match call {
            Call::Renew {
                resource_server,
                still_valid,
                grant,
            } => {
                if let RenewGrant::Refresh(_) = grant
                    && let Error::Response { error: answer, .. } = &error
                    && let ResponseError::Api(api) = answer.as_ref()
                    && api.is_invalid_grant()
                {
                    let reason = TokenValidationError::RefreshTokenRejected {
                        resource_server: resource_server.clone(),
                        error: Box::new(api.clone()),
                    };
                    return self.on_login_needed(state, reason);
                }
                if still_valid {
                    self.skip
                        .entry(resource_server.clone())
                        .or_default()
                        .renewal_failed = true;
                    self.notices.push_back(Notice::EarlyRenewalFailed {
                        resource_server,
                        error,
                    });
                    return self.advance(state, now);
                }
                self.done(state, Err(error))
            }
            Call::Revoke {
                resource_server, ..
            } => {
                self.notices.push_back(Notice::RevocationFailed {
                    resource_server: resource_server.clone(),
                    error: error.clone(),
                });
                if let Goal::Logout { report, .. } = &mut self.goal {
                    report.revocation_failures.push((resource_server, error));
                }
                self.advance_logout(state)
            }
            Call::Consents(_) | Call::CodeExchange(_) | Call::ClientLogin(_) => {
                self.done(state, Err(error))
            }
        }
    }

    /// A refresh token was refused mid-operation.
    fn on_login_needed(&mut self, state: &mut AppState, reason: TokenValidationError) -> Next {
        let may_login = state.settings.on_validation_error == OnValidationError::Login
            && reason.is_resolved_by_login()
            && !self.logged_in;
        match &self.goal {
            Goal::Authorize { .. } if may_login => {
                self.notices.push_back(Notice::LoginStarting { reason });
                self.start_login(state, AuthorizationParameters::default())
            }
            Goal::Check {
                then_login: Some(params),
                ..
            } if !self.logged_in && reason.is_resolved_by_login() => {
                let params = params.clone();
                self.notices.push_back(Notice::LoginStarting { reason });
                self.start_login(state, params)
            }
            Goal::Check {
                then_login: None, ..
            } => self.done(state, Ok(Outcome::LoginRequired(true))),
            _ => self.done(state, Err(Error::TokenValidation(reason))),
        }
    }

    fn mark_consents_fetched(&mut self, state: &AppState) {
        // Every resource server with dependent requirements now has fresh consents.
        for (rs, scopes) in state.requirements.iter() {
            if scopes.iter().any(|s| !s.dependencies().is_empty()) {
                self.skip.entry(rs.to_owned()).or_default().consents_fetched = true;
            }
        }
    }

    fn store(&mut self, tokens: Vec<TokenData>, after_login: bool) -> Next {
        self.phase = Phase::Storing {
            tokens: tokens.clone(),
            after_login,
        };
        Step::Store(tokens)
    }

    fn advance_logout(&mut self, state: &mut AppState) -> Next {
        let Goal::Logout {
            sweep,
            queue,
            current,
            report,
        } = &mut self.goal
        else {
            return Step::Done(Err(Error::Internal("not a logout".into())));
        };
        let queue = queue.get_or_insert_with(|| {
            state
                .tokens
                .values()
                .filter(|t| *sweep || state.requirements.get(&t.resource_server).is_some())
                .cloned()
                .collect()
        });
        loop {
            match current.take() {
                // Revoke the access token, then the refresh token, then remove.
                None => {
                    let Some(token) = queue.pop_front() else {
                        let report = std::mem::take(report);
                        self.phase = Phase::Done;
                        return Step::Done(Ok(Outcome::LoggedOut(report)));
                    };
                    let revocation = Revocation::access_token(
                        state.settings.service.clone(),
                        state.settings.client.clone(),
                        &token.access_token,
                    );
                    let rs = token.resource_server.clone();
                    *current = Some((token, false));
                    return self.send(
                        Call::Revoke {
                            resource_server: rs,
                            revocation,
                        },
                        1,
                    );
                }
                Some((token, false)) => {
                    let rs = token.resource_server.clone();
                    if let Some(refresh) = &token.refresh_token {
                        let revocation = Revocation::refresh_token(
                            state.settings.service.clone(),
                            state.settings.client.clone(),
                            refresh,
                        );
                        *current = Some((token, true));
                        return self.send(
                            Call::Revoke {
                                resource_server: rs,
                                revocation,
                            },
                            1,
                        );
                    }
                    *current = Some((token, true));
                }
                Some((token, true)) => {
                    let rs = token.resource_server;
                    self.phase = Phase::Removing {
                        resource_server: rs.clone(),
                    };
                    return Step::Remove(rs);
                }
            }
        }
    }
}

enum Decision {
    Step(Next),
    Ready(Authorization),
    Login(TokenValidationError),
}

/// The grant that renews a resource server's access token.
fn renew_grant(state: &AppState, rs: &str) -> Option<RenewGrant> {
    let settings = &state.settings;
    match settings.kind {
        AppKind::Client => {
            let scope = scopes::serialize(state.requirements.get(rs).unwrap_or(&[]));
            let scope = if scope.is_empty() {
                state.tokens.get(rs)?.scope.clone()
            } else {
                scope
            };
            ClientCredentialsGrant::new(settings.service.clone(), settings.client.clone(), scope)
                .map(RenewGrant::ClientCredentials)
        }
        AppKind::User => {
            let refresh = state.tokens.get(rs)?.refresh_token.clone()?;
            Some(RenewGrant::Refresh(RefreshGrant::new(
                settings.service.clone(),
                settings.client.clone(),
                refresh,
            )))
        }
    }
}

/// Tokens from a renewal keep the stored identity and, when the response has none,
/// the stored refresh token.
fn renewed_tokens(state: &AppState, granted: GrantedTokens) -> Vec<TokenData> {
    let mut tokens = granted.tokens;
    for token in &mut tokens {
        if token.identity_id.is_none() {
            token.identity_id.clone_from(&state.identity);
        }
        if token.refresh_token.is_none()
            && let Some(old) = state.tokens.get(&token.resource_server)
        {
            token.refresh_token.clone_from(&old.refresh_token);
        }
    }
    tokens
}

/// The scope string a login asks for: every requirement plus the extra scopes.
fn login_scope(state: &AppState, params: &AuthorizationParameters) -> String {
    let mut all = state.requirements.all_scopes();
    for extra in &params.required_scopes {
        if let Ok(parsed) = scopes::parse(extra) {
            all.extend(parsed);
        }
    }
    let merged = scopes::merge(all.clone()).unwrap_or(all);
    scopes::serialize(&merged)
}

/// The checks on a user login's tokens before they are stored.
fn check_login_grant(
    state: &AppState,
    granted: &GrantedTokens,
) -> Result<(), TokenValidationError> {
    let Some(new) = granted.identity_id() else {
        return Err(TokenValidationError::MissingIdentity);
    };
    if let Some(stored) = &state.identity
        && stored != new
    {
        return Err(TokenValidationError::IdentityMismatch {
            stored: stored.clone(),
            new: new.to_owned(),
        });
    }
    check_root_scopes(state, &granted.tokens)
}

/// Each granted token must carry the root scopes required of its resource server.
fn check_root_scopes(state: &AppState, tokens: &[TokenData]) -> Result<(), TokenValidationError> {
    for token in tokens {
        let Some(required) = state.requirements.get(&token.resource_server) else {
            continue;
        };
        let missing: Vec<String> = required
            .iter()
            .filter(|s| !token.scopes().any(|g| g == s.name()))
            .map(|s| s.name().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(TokenValidationError::UnmetScopeRequirements {
                resource_server: token.resource_server.clone(),
                missing,
            });
        }
    }
    Ok(())
}

fn input_name(input: &Input) -> &'static str {
    match input {
        Input::Start => "Start",
        Input::Response(_) => "Response",
        Input::TransportFailed(_) => "TransportFailed",
        Input::Loaded(_) => "Loaded",
        Input::Stored => "Stored",
        Input::Removed => "Removed",
        Input::StorageFailed(_) => "StorageFailed",
        Input::LoginPrepared { .. } => "LoginPrepared",
        Input::Redirect(_) => "Redirect",
        Input::LoginFailed(_) => "LoginFailed",
        Input::Woke => "Woke",
        Input::Continue => "Continue",
    }
}

fn phase_name(phase: &Phase) -> &'static str {
    match phase {
        Phase::Ready => "starting",
        Phase::Loading => "loading",
        Phase::Http { .. } => "waiting for a response",
        Phase::Sleeping { .. } => "sleeping",
        Phase::Storing { .. } => "storing",
        Phase::Removing { .. } => "removing",
        Phase::PreparingLogin { .. } => "preparing a login",
        Phase::Authorizing { .. } => "waiting for the login redirect",
        Phase::Done => "done",
    }
}
