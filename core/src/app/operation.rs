//! One app operation as a state machine: it says what it needs next ([`Step`]) and
//! takes the result back ([`Input`]).

use super::engine::Engine;
use super::error::Error;
use super::state::{AppState, Authorization, Ticket};
use super::step::{Input, LogoutReport, Step};
use crate::oauth::AuthorizationParameters;
use crate::{TokenData, UnixTime};
use std::collections::VecDeque;
use std::marker::PhantomData;

/// The output types operations produce.
pub trait OperationOutput: Sized + std::fmt::Debug + sealed::Sealed {
    #[doc(hidden)]
    fn from_outcome(outcome: Outcome) -> Option<Self>;
    /// The output as a transcript records it.
    #[doc(hidden)]
    fn transcript_value(&self) -> serde_json::Value;
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
    fn transcript_value(&self) -> serde_json::Value {
        serde_json::json!({"authorization": self.header_value(), "expires_at": self.expires_at().0})
    }
}
impl OperationOutput for bool {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoginRequired(b) => Some(b),
            _ => None,
        }
    }
    fn transcript_value(&self) -> serde_json::Value {
        serde_json::json!({"login_required": self})
    }
}
impl OperationOutput for () {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoggedIn => Some(()),
            _ => None,
        }
    }
    fn transcript_value(&self) -> serde_json::Value {
        serde_json::json!({"logged_in": true})
    }
}
impl OperationOutput for LogoutReport {
    fn from_outcome(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::LoggedOut(r) => Some(r),
            _ => None,
        }
    }
    fn transcript_value(&self) -> serde_json::Value {
        let failures: Vec<serde_json::Value> = self
            .revocation_failures
            .iter()
            .map(|(rs, error)| serde_json::json!({"resource_server": rs, "error": error.to_string()}))
            .collect();
        serde_json::json!({"removed": self.removed, "revocation_failures": failures})
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
/// let settings = AppSettings::new(AppKind::User, "app", OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"), AuthService::production());
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
            rejected: None,
        })
    }

    /// Gets a new authorization for a resource server whose service refused
    /// `rejected` (HTTP 401). If the resource server's token is no longer that one
    /// (another caller or process renewed it meanwhile), the current one is served;
    /// otherwise the refused token is never served again and is renewed once (refresh
    /// token, or client credentials). This never logs in: without a way to renew, it
    /// fails with [`TokenValidationError::TokenRejected`](super::TokenValidationError::TokenRejected).
    pub fn reauthorize(
        resource_server: impl Into<String>,
        rejected: Authorization,
        ticket: Ticket,
    ) -> Self {
        Operation::new(Goal::Authorize {
            resource_server: resource_server.into(),
            ticket,
            rejected: Some(rejected),
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
    /// What the operation does, in a few words, for logs ("getting an authorization
    /// for transfer.api.globus.org", "logging in", …).
    pub fn describe(&self) -> String {
        self.engine.describe()
    }

    /// How much of its budget the operation used: `[requests, their ceiling,
    /// storage steps, their ceiling]` (see [`budget`](super::budget)).
    pub fn budget_used(&self) -> [u32; 4] {
        self.engine.budget_used()
    }

    /// Returns the result this operation can take without running, when another
    /// operation settled it while this one waited for its turn: for
    /// [`get_authorization`](Operation::get_authorization), a token now cached, or the
    /// failure of the operation it queued behind. An adapter checks this when the
    /// operation in front finishes, so a crowd of waiters need not pass through the
    /// lock one by one.
    pub fn settled(&self, state: &AppState, now: UnixTime) -> Option<Result<T, Error>> {
        let settled = self.engine.settled(state, now)?;
        Some(settled.and_then(|outcome| {
            T::from_outcome(outcome).ok_or_else(|| {
                Error::Internal("an operation settled with the wrong kind of result".into())
            })
        }))
    }

    fn new(goal: Goal) -> Self {
        Operation {
            engine: Engine::new(goal),
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
            Step::StoreFenced { tokens, fence } => Step::StoreFenced { tokens, fence },
            Step::Lease => Step::Lease,
            Step::Release => Step::Release,
            Step::PrepareLogin => Step::PrepareLogin,
            Step::Authorize { url, state } => Step::Authorize { url, state },
            Step::Sleep(d) => Step::Sleep(d),
            Step::Notice(n) => Step::Notice(n),
        }
    }
}

#[derive(Debug)]
pub(super) enum Goal {
    Authorize {
        resource_server: String,
        ticket: Ticket,
        /// For [`Operation::reauthorize`]: the authorization a service refused.
        rejected: Option<Authorization>,
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

impl Goal {
    /// What the operation is doing, for errors.
    pub(super) fn describe(&self) -> String {
        match self {
            Goal::Authorize {
                resource_server,
                rejected: None,
                ..
            } => format!("getting an authorization for {resource_server}"),
            Goal::Authorize {
                resource_server, ..
            } => {
                format!("renewing the authorization for {resource_server} that its service refused")
            }
            Goal::Check {
                then_login: None, ..
            } => "checking whether a login is required".to_owned(),
            Goal::Check { .. } | Goal::Login { .. } => "logging in".to_owned(),
            Goal::Logout { .. } => "logging out".to_owned(),
        }
    }
}
