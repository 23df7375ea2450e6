//! The engine behind every [`Operation`](super::Operation): phases, decisions and
//! the handling of each input.

mod logout;
#[cfg(test)]
mod tests;

use super::budget::{Budget, BudgetItem};
use super::error::{Error, RequestKind, TransportErrorKind};
use super::grants::{
    Call, RenewGrant, check_login_grant, check_root_scopes, login_scope, renew_grant,
    renewed_tokens,
};
use super::handler::{ValidationDecision, ValidationErrorContext};
use super::operation::{Goal, Outcome};
use super::requirements::AUTH_RESOURCE_SERVER;
use super::settings::{AppKind, OnValidationError};
use super::state::{AppState, Authorization, Evaluation, Skip};
use super::step::{Input, Notice, Step};
use super::validation::TokenValidationError;
use crate::oauth::{
    AccessType, AuthorizationParameters, AuthorizeRequest, ClientCredentialsGrant, ConsentsLookup,
    Exchange, LoginAttempt,
};
use crate::{HttpResponse, ResponseError, TokenData, UnixTime};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

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
        /// The scope string the login asks for.
        scope: String,
    },
    Authorizing {
        attempt: Box<LoginAttempt>,
    },
    /// Waiting for the lease, to read storage again and then renew (or log in).
    Leasing,
    /// The lease was busy: waiting before asking again.
    LeaseWaiting,
    /// Extending the lease before a retry of `call`.
    Extending {
        call: Call,
        attempt: u32,
    },
    /// Waiting for the lease before writing these tokens.
    LeasingToStore {
        tokens: Vec<TokenData>,
        after_login: bool,
    },
    /// Giving the lease up, then going on (or ending with `pending`).
    Releasing,
    Done,
}

#[derive(Debug)]
pub(super) struct Engine {
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
    /// The ceiling on what this operation may emit.
    budget: Budget,
    /// What it has emitted so far.
    used: Budget,
    /// The resource servers whose stored entry could not be read at the load: they
    /// count as missing, and a logout removes those it covers.
    unreadable: Vec<String>,
    /// Early renewals that failed, by resource server: the error to return if the
    /// token expires before the operation ends (it is not renewed twice).
    failed_renewals: BTreeMap<String, Error>,
    /// The user's validation error handler was asked (once per operation).
    handler_asked: bool,
    /// The storage keeps leases (from the settings, at the first resume).
    leases_on: bool,
    /// The fence of the lease this operation holds.
    lease: Option<u64>,
    /// What a lease wait goes back to when it wakes.
    stashed_lease_phase: Option<Phase>,
    /// How many times the lease was found busy.
    lease_waits: u32,
    /// The attempts a request had used when its lease was lost at an extension: the
    /// same request after reading storage again goes on counting from there (its
    /// retries are not granted twice).
    lost_lease_attempts: Option<(std::mem::Discriminant<Call>, u32)>,
    /// The operation's result, while the lease is released before it is returned.
    pending: Option<Result<Outcome, Error>>,
    /// After a handler's `Logout`: the resource server whose authorization was asked
    /// for, and the error the operation returns once the logout is over.
    after_logout: Option<(String, Error)>,
    /// Off only in tests that show what the budget stops: a resource server is
    /// renewed at most once per operation.
    #[cfg(test)]
    renew_once: bool,
}

type Next = Step<Outcome>;

impl Engine {
    pub(super) fn new(goal: Goal) -> Engine {
        Engine {
            goal,
            phase: Phase::Ready,
            skip: BTreeMap::new(),
            logged_in: false,
            notices: VecDeque::new(),
            stashed: None,
            started: false,
            fresh_load: false,
            budget: Budget::BEFORE_LOAD,
            used: Budget {
                requests: 0,
                storage_steps: 0,
            },
            failed_renewals: BTreeMap::new(),
            unreadable: Vec::new(),
            handler_asked: false,
            leases_on: false,
            lease: None,
            stashed_lease_phase: None,
            lease_waits: 0,
            lost_lease_attempts: None,
            pending: None,
            after_logout: None,
            #[cfg(test)]
            renew_once: true,
        }
    }

    /// The result this operation can take without running, if another operation
    /// settled it meanwhile (see [`Operation::settled`](crate::app::Operation::settled)).
    pub(super) fn settled(
        &self,
        state: &AppState,
        now: UnixTime,
    ) -> Option<Result<Outcome, Error>> {
        let Goal::Authorize {
            resource_server,
            ticket,
            rejected,
        } = &self.goal
        else {
            return None;
        };
        let usable = |a: &Authorization| rejected.as_ref() != Some(a);
        if let Some(authorization) = state.cached_authorization(resource_server, now)
            && usable(&authorization)
        {
            return Some(Ok(Outcome::Authorization(authorization)));
        }
        match state.settled_since(resource_server, *ticket, now)? {
            Ok(a) if !usable(&a) => None,
            result => Some(result.map(Outcome::Authorization)),
        }
    }

    /// What the operation does, for logs.
    pub(super) fn describe(&self) -> String {
        self.goal.describe()
    }

    /// The requests and storage steps used so far, and their ceilings.
    pub(super) fn budget_used(&self) -> [u32; 4] {
        [
            self.used.requests,
            self.budget.requests,
            self.used.storage_steps,
            self.budget.storage_steps,
        ]
    }

    pub(super) fn resume(&mut self, state: &mut AppState, input: Input, now: UnixTime) -> Next {
        if matches!(input, Input::Continue) && self.stashed.is_some() {
            return match self.emit(None) {
                // Time passed while the notices were logged, and the token it was
                // to return expired: decide again at this `now`.
                Step::Done(Ok(Outcome::Authorization(a))) if a.expires_at() <= now => {
                    let step = self.advance(state, now);
                    let step = self.charge(state, step);
                    self.emit(Some(step))
                }
                step => step,
            };
        }
        let step = self.handle(state, input, now);
        let step = self.charge(state, step);
        self.emit(Some(step))
    }

    /// Counts a request or storage step against the budget; past it, the operation
    /// ends instead.
    fn charge(&mut self, state: &mut AppState, step: Next) -> Next {
        let (used, ceiling, item) = match &step {
            Step::Send(_) => (
                &mut self.used.requests,
                self.budget.requests,
                BudgetItem::Requests,
            ),
            Step::Load
            | Step::Store(_)
            | Step::StoreFenced { .. }
            | Step::Remove(_)
            | Step::Lease
            | Step::Release => (
                &mut self.used.storage_steps,
                self.budget.storage_steps,
                BudgetItem::StorageSteps,
            ),
            _ => return step,
        };
        *used += 1;
        if *used <= ceiling {
            return step;
        }
        let error = Error::BudgetExceeded {
            goal: self.goal.describe(),
            item,
            count: *used,
        };
        self.done(state, Err(error))
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
                self.leases_on = state.settings.lease.is_some();
                if let Some(settled) = self.settled(state, now) {
                    // A valid cached token, or the operation this caller waited
                    // behind settled it: share its error, or the token it just
                    // obtained.
                    self.phase = Phase::Done;
                    return Step::Done(settled);
                }
                if let Goal::Authorize {
                    resource_server,
                    rejected: Some(rejected),
                    ..
                } = &self.goal
                {
                    // Before the load: a copy of the refused token in storage is
                    // not served either.
                    state.reject(resource_server, rejected);
                }
                self.advance(state, now)
            }
            (Phase::Loading, Input::Loaded(tokens)) => {
                self.on_loaded(state, tokens, Vec::new(), now)
            }
            (Phase::Loading, Input::LoadedPartly { tokens, unreadable }) => {
                self.on_loaded(state, tokens, unreadable, now)
            }
            (Phase::Http { call, attempt }, Input::Response(response)) => {
                let retry_after = crate::error::retry_after(&response);
                if call.may_retry_status(response.status().as_u16(), retry_after)
                    && let Some(delay) = state.settings.retry.delay(attempt, retry_after)
                {
                    return self.sleep(call, attempt, delay);
                }
                self.on_response(state, call, &response, now)
            }
            (Phase::Http { call, attempt }, Input::TransportFailed(error)) => {
                if call.may_retry_transport(error.kind)
                    && let Some(delay) = state.settings.retry.delay(attempt, None)
                {
                    return self.sleep(call, attempt, delay);
                }
                let request = call.kind();
                self.on_call_failed(state, call, Error::Transport { request, error }, now)
            }
            (Phase::Sleeping { call, attempt }, Input::Woke) if self.lease.is_some() => {
                // Extend the lease before the next attempt.
                self.phase = Phase::Extending { call, attempt };
                Step::Lease
            }
            (Phase::Sleeping { call, attempt }, Input::Woke) => self.send(call, attempt + 1),
            (
                Phase::Storing {
                    tokens,
                    after_login,
                },
                Input::Stored,
            ) => {
                self.mark_obtained(&tokens);
                state.absorb_stored(tokens);
                if self.lease.is_some() && !after_login {
                    // A renewal under the lease is done: let others go on.
                    return self.release();
                }
                if after_login && self.after_login(state) {
                    return self.done(state, Ok(Outcome::LoggedIn));
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
                Phase::PreparingLogin { params, scope },
                Input::LoginPrepared {
                    redirect_uri,
                    random,
                },
            ) => self.authorize(state, params, scope, redirect_uri, &random),
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
            (Phase::Leasing, Input::LeaseAcquired { fence }) => {
                // Another process may have renewed meanwhile: read storage again, then
                // decide with the lease held.
                self.lease = Some(fence);
                self.fresh_load = false;
                self.advance(state, now)
            }
            (
                Phase::LeasingToStore {
                    tokens,
                    after_login,
                },
                Input::LeaseAcquired { fence },
            ) => {
                self.lease = Some(fence);
                self.store(tokens, after_login)
            }
            (Phase::Extending { call, attempt }, Input::LeaseAcquired { fence }) => {
                self.lease = Some(fence);
                self.send(call, attempt + 1)
            }
            (Phase::Leasing, Input::LeaseBusy { remaining }) => {
                self.on_lease_busy(state, remaining, now, Phase::Leasing)
            }
            (
                Phase::LeasingToStore {
                    tokens,
                    after_login,
                },
                Input::LeaseBusy { remaining },
            ) => {
                let waiting = Phase::LeasingToStore {
                    tokens,
                    after_login,
                };
                self.on_lease_busy(state, remaining, now, waiting)
            }
            (Phase::Extending { call, attempt }, Input::LeaseBusy { .. }) => {
                // The lease expired during the wait and another process took it: it
                // renews; this operation reads its result.
                self.lost_lease_attempts = Some((std::mem::discriminant(&call), attempt));
                self.lease = None;
                self.fresh_load = false;
                self.advance(state, now)
            }
            (Phase::LeaseWaiting, Input::Woke) => match self.stashed_lease_phase.take() {
                Some(phase) => {
                    self.phase = phase;
                    Step::Lease
                }
                None => Step::Done(Err(Error::Internal("a lease wait without a lease".into()))),
            },
            (
                Phase::Storing {
                    tokens,
                    after_login,
                },
                Input::Fenced,
            ) => {
                // A newer write came first (this lease had expired while the grant
                // was under way): the newer tokens are kept and adopted. Storage is
                // read again; what was just obtained is not renewed again, and a
                // login is not repeated.
                self.mark_obtained(&tokens);
                if after_login && self.after_login(state) {
                    return self.done(state, Ok(Outcome::LoggedIn));
                }
                self.fresh_load = false;
                self.release()
            }
            (Phase::Releasing, Input::Released | Input::StorageFailed(_)) => {
                // A failed release ends by itself when the lease expires.
                self.lease = None;
                match self.pending.take() {
                    // Time passed while the lease was given up, and the token it was
                    // to return expired: decide again at this `now`.
                    Some(Ok(Outcome::Authorization(a))) if a.expires_at() <= now => {
                        self.advance(state, now)
                    }
                    Some(result) => self.done(state, result),
                    None => self.advance(state, now),
                }
            }
            (
                Phase::Leasing | Phase::LeasingToStore { .. } | Phase::Extending { .. },
                Input::StorageFailed(e),
            ) => self.done(state, Err(Error::Storage(e))),
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

    /// Storage was read: the tokens replace the cache, and the budget is set.
    fn on_loaded(
        &mut self,
        state: &mut AppState,
        tokens: BTreeMap<String, TokenData>,
        unreadable: Vec<String>,
        now: UnixTime,
    ) -> Next {
        state.absorb_loaded(tokens);
        self.fresh_load = true;
        self.unreadable = unreadable;
        self.budget = Budget::for_goal(&self.goal, state, &self.unreadable);
        if !matches!(self.goal, Goal::Logout { .. })
            && let Some(mixed) = state.mixed_identities()
        {
            // Only a logout can clear them.
            return self.done(state, Err(Error::TokenValidation(mixed)));
        }
        self.advance(state, now)
    }

    fn send(&mut self, call: Call, mut attempt: u32) -> Next {
        if let Some((kind, used)) = self.lost_lease_attempts.take()
            && attempt == 1
            && kind == std::mem::discriminant(&call)
        {
            attempt = used + 1;
        }
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
        if self.lease.is_some() {
            // Give the lease up first (the result waits).
            self.pending = Some(result);
            return self.release();
        }
        self.phase = Phase::Done;
        if let Some((resource_server, error)) = self.after_logout.take() {
            // The logout a handler asked for ended: the authorization fails, with
            // the handler's error, or the logout's own failure.
            let error = match result {
                Err(failure) => failure,
                Ok(_) => error,
            };
            state.finish(&resource_server, Err(error.clone()));
            return Step::Done(Err(error));
        }
        if let Goal::Authorize {
            resource_server, ..
        } = &self.goal
        {
            let shared = match &result {
                Ok(Outcome::Authorization(a)) => Ok(a.clone()),
                Ok(_) => Err(Error::Internal("an authorization ended without one".into())),
                Err(e) => Err(e.clone()),
            };
            state.finish(resource_server, shared);
        }
        Step::Done(result)
    }

    /// A resource server is renewed at most once per operation; only the tests of
    /// the budget switch that off, to show what the budget stops.
    fn renews_once(&self) -> bool {
        #[cfg(test)]
        return self.renew_once;
        #[cfg(not(test))]
        true
    }

    /// Decides the next step from the goal and the state.
    fn advance(&mut self, state: &mut AppState, now: UnixTime) -> Next {
        if !self.fresh_load {
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
                    Decision::Fail(error) => self.done(state, Err(error)),
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
                    Decision::Fail(error) => return self.done(state, Err(error)),
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
        let mut skip = self.skip.get(rs).copied().unwrap_or_default();
        skip.obtained &= self.renews_once();
        match state.evaluate(rs, now, &skip) {
            Evaluation::Ready {
                authorization,
                serve_until,
            } => {
                state.mark_ready(rs, authorization.clone(), serve_until);
                Decision::Ready(authorization)
            }
            Evaluation::Renew { .. } if self.failed_renewals.contains_key(rs) => {
                // Renewal failed earlier in this operation and the token expired
                // since: not renewed twice.
                let error = self.failed_renewals[rs].clone();
                Decision::Fail(error)
            }
            Evaluation::Renew { .. } if self.needs_lease() => Decision::Step(self.take_lease()),
            Evaluation::Renew { still_valid } => match renew_grant(state, rs) {
                Some(grant) => Decision::Step({
                    self.notices.push_back(Notice::Renewing {
                        resource_server: rs.to_owned(),
                        expired: !still_valid,
                    });
                    self.send(
                        Call::Renew {
                            resource_server: rs.to_owned(),
                            still_valid,
                            grant,
                        },
                        1,
                    )
                }),
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
                            .is_some_and(|s| s.renewal_failed || s.obtained) =>
                    {
                        // Renew the auth token first; the lookup follows.
                        if self.needs_lease() {
                            return Decision::Step(self.take_lease());
                        }
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
        let scope = match login_scope(state, &params) {
            Ok(scope) => scope,
            Err(error) => return self.done(state, Err(error)),
        };
        match state.settings.kind {
            AppKind::User => {
                self.phase = Phase::PreparingLogin { params, scope };
                Step::PrepareLogin
            }
            AppKind::Client if state.has_only_implicit_requirements() => self.done(
                state,
                Err(Error::Config(super::ConfigError::NoScopeRequirements)),
            ),
            AppKind::Client if self.needs_lease() => self.take_lease(),
            AppKind::Client => {
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
        scope: String,
        redirect_uri: String,
        random: &[u8; 48],
    ) -> Next {
        let settings = &state.settings;
        let mut request = AuthorizeRequest::new(
            settings.service.clone(),
            settings.client.clone(),
            redirect_uri,
            scope,
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
                        self.on_answer_refused(state, call, error, now)
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
                Err(error) => {
                    let spent = error.status().is_some_and(|s| s >= 500)
                        && !call_refused_before_work(response);
                    let error = Error::Response {
                        request: RequestKind::CodeExchange,
                        error: Box::new(error),
                    };
                    self.done(state, Err(code_exchange_error(error, spent)))
                }
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
                    self.on_answer_refused(state, call, error, now)
                }
            },
        }
    }

    /// The server's answer to a call was an error (after retries).
    fn on_answer_refused(
        &mut self,
        state: &mut AppState,
        call: Call,
        error: ResponseError,
        now: UnixTime,
    ) -> Next {
        let request = call.kind();
        let error = Error::Response {
            request,
            error: Box::new(error),
        };
        self.on_call_failed(state, call, error, now)
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
                    self.failed_renewals
                        .insert(resource_server.clone(), error.clone());
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
            Call::CodeExchange(_) => {
                // Spent unless nothing reached the server (no connection, no TLS).
                let spent = matches!(
                    &error,
                    Error::Transport { error: e, .. }
                        if !matches!(e.kind, TransportErrorKind::Connect | TransportErrorKind::Tls)
                );
                self.done(state, Err(code_exchange_error(error, spent)))
            }
            Call::Consents(_) | Call::ClientLogin(_) => self.done(state, Err(error)),
        }
    }

    /// A refresh token was refused mid-operation.
    fn on_login_needed(&mut self, state: &mut AppState, reason: TokenValidationError) -> Next {
        if state.settings.kind == AppKind::Client && state.has_only_implicit_requirements() {
            // Nothing to log in for (and no notice that a login starts).
            return self.done(
                state,
                Err(Error::Config(super::ConfigError::NoScopeRequirements)),
            );
        }
        let may_login = state.settings.on_validation_error == OnValidationError::Login
            && reason.is_resolved_by_login()
            && !self.logged_in;
        if let (
            OnValidationError::Handler(handler),
            Goal::Authorize {
                resource_server,
                rejected: None,
                ..
            },
        ) = (&state.settings.on_validation_error, &self.goal)
            && reason.is_resolved_by_login()
            && !self.logged_in
            && !self.handler_asked
        {
            self.handler_asked = true;
            let context = ValidationErrorContext {
                error: &reason,
                resource_server,
                app_name: &state.settings.app_name,
                identity: state.identity.as_deref(),
            };
            return match handler.decide(&context) {
                ValidationDecision::Login(params) => {
                    self.notices.push_back(Notice::LoginStarting { reason });
                    self.start_login(state, params)
                }
                ValidationDecision::Logout => {
                    let resource_server = resource_server.clone();
                    self.logout_then_fail(state, resource_server, Error::TokenValidation(reason))
                }
                ValidationDecision::Fail(error) => self.done(state, Err(error)),
            };
        }
        match &self.goal {
            Goal::Authorize { rejected: None, .. } if may_login => {
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

    /// A handler's `Logout`: the goal becomes a logout of the required resource
    /// servers, within a budget of its own on top of what was used, and the
    /// operation then returns `error`.
    fn logout_then_fail(
        &mut self,
        state: &mut AppState,
        resource_server: String,
        error: Error,
    ) -> Next {
        self.after_logout = Some((resource_server, error));
        self.goal = Goal::Logout {
            sweep: false,
            queue: None,
            current: None,
            report: super::LogoutReport::default(),
        };
        let logout = Budget::for_goal(&self.goal, state, &self.unreadable);
        self.budget = Budget {
            requests: self.used.requests + logout.requests,
            storage_steps: self.used.storage_steps + logout.storage_steps,
        };
        self.advance_logout(state)
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
        if self.leases_on && self.lease.is_none() {
            // Every write takes the lease, for its fence.
            self.phase = Phase::LeasingToStore {
                tokens,
                after_login,
            };
            return Step::Lease;
        }
        self.phase = Phase::Storing {
            tokens: tokens.clone(),
            after_login,
        };
        match self.lease {
            Some(fence) => Step::StoreFenced { tokens, fence },
            None => Step::Store(tokens),
        }
    }

    /// Tokens obtained in this operation are not renewed again in it (see
    /// `Skip::obtained`).
    fn mark_obtained(&mut self, tokens: &[TokenData]) {
        for token in tokens {
            self.skip
                .entry(token.resource_server.clone())
                .or_default()
                .obtained = true;
        }
    }

    /// A login's tokens are in storage (this one's, or a newer one it adopts): the
    /// cache and consents start again, no second login runs. Returns true if the
    /// login was the operation's goal, which is then reached.
    fn after_login(&mut self, state: &mut AppState) -> bool {
        state.after_login();
        self.logged_in = true;
        for skip in self.skip.values_mut() {
            skip.consents_fetched = false;
        }
        matches!(
            self.goal,
            Goal::Login { .. }
                | Goal::Check {
                    then_login: Some(_),
                    ..
                }
        )
    }

    /// Takes the lease, to read storage again and decide with it held.
    fn take_lease(&mut self) -> Next {
        self.phase = Phase::Leasing;
        Step::Lease
    }

    /// True if this operation must take the lease before renewing or logging in a
    /// client app.
    fn needs_lease(&self) -> bool {
        self.leases_on && self.lease.is_none()
    }

    fn release(&mut self) -> Next {
        self.phase = Phase::Releasing;
        Step::Release
    }

    /// The lease is busy: wait and ask again, within the operation's wait; past it,
    /// serve a still-valid token or fail.
    fn on_lease_busy(
        &mut self,
        state: &mut AppState,
        remaining: Duration,
        now: UnixTime,
        waiting: Phase,
    ) -> Next {
        let Some(lease) = state.settings.lease.clone() else {
            return self.done(
                state,
                Err(Error::Internal("a lease without lease settings".into())),
            );
        };
        self.lease_waits += 1;
        if self.lease_waits <= lease.max_polls() {
            // Back off from 50 ms (a renewal takes a round trip or two) up to the
            // poll interval, never past the holder's time left.
            let backoff = Duration::from_millis(50)
                .saturating_mul(1 << (self.lease_waits - 1).min(8))
                .min(lease.poll);
            let delay = remaining.min(backoff).max(Duration::from_millis(10));
            self.notices.push_back(Notice::LeaseBusy {
                goal: self.goal.describe(),
                delay,
            });
            self.stashed_lease_phase = Some(waiting);
            self.phase = Phase::LeaseWaiting;
            return Step::Sleep(delay);
        }
        // Waited long enough. A token still valid is served (and renewed later).
        if let Goal::Authorize {
            resource_server, ..
        } = &self.goal
        {
            let rs = resource_server.clone();
            if state.tokens.get(&rs).is_some_and(|t| !t.is_expired(now)) {
                self.skip.entry(rs.clone()).or_default().renewal_failed = true;
                self.notices.push_back(Notice::LeaseWaitEnded {
                    resource_server: rs,
                });
                self.fresh_load = false;
                return self.advance(state, now);
            }
        }
        let error = Error::LeaseTimeout {
            goal: self.goal.describe(),
            waited: lease.max_wait,
        };
        self.done(state, Err(error))
    }
}

/// The error of a failed code exchange: if the server may have spent the code, one
/// that says to log in again.
fn code_exchange_error(error: Error, spent: bool) -> Error {
    if spent {
        Error::LoginInterrupted {
            error: Box::new(error),
        }
    } else {
        error
    }
}

/// A 503 with `Retry-After` (or a 429) says the server refused before any work.
fn call_refused_before_work(response: &HttpResponse) -> bool {
    let status = response.status().as_u16();
    status == 429 || (status == 503 && crate::error::retry_after(response).is_some())
}

enum Decision {
    Step(Next),
    Ready(Authorization),
    Login(TokenValidationError),
    Fail(Error),
}

fn input_name(input: &Input) -> &'static str {
    match input {
        Input::Start => "Start",
        Input::Response(_) => "Response",
        Input::TransportFailed(_) => "TransportFailed",
        Input::Loaded(_) => "Loaded",
        Input::LoadedPartly { .. } => "LoadedPartly",
        Input::Stored => "Stored",
        Input::Fenced => "Fenced",
        Input::LeaseAcquired { .. } => "LeaseAcquired",
        Input::LeaseBusy { .. } => "LeaseBusy",
        Input::Released => "Released",
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
        Phase::Leasing | Phase::LeasingToStore { .. } => "taking the lease",
        Phase::LeaseWaiting => "waiting for the lease",
        Phase::Extending { .. } => "extending the lease",
        Phase::Releasing => "releasing the lease",
        Phase::Done => "done",
    }
}
