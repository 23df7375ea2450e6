//! An authorized request to a service, as a state machine: it attaches the
//! authorization, sends, and decides what each answer means (the table is on
//! [`AuthorizedRequest`]).

use super::error::{Error, RequestKind, TransportError, TransportErrorKind};
use super::retry::RequestRetry;
use super::settings::AppKind;
use super::state::{AppState, Authorization};
use super::step::Notice;
use crate::oauth::AuthorizationParameters;
use crate::{Body, GlobusApiError, HttpRequest, HttpResponse};
use http::{HeaderValue, Method, header};
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// A request extension that marks a request as safe to send again after a
/// server error or a timeout, whatever its method (a POST the service
/// deduplicates, for instance).
///
/// ```
/// use globus_app_core::app::Repeatable;
/// let mut request = http::Request::post("https://transfer.api.globus.org/v0.10/transfer")
///     .body(b"{}".to_vec())
///     .unwrap();
/// request.extensions_mut().insert(Repeatable);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repeatable;

/// What an [`AuthorizedRequest`] needs the driver to do next.
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "a step must be performed and its result passed back"]
pub enum RequestStep {
    /// Get an authorization for the resource server, as the app's
    /// `get_authorizer` does (cached, renewed, or a login as configured); answer
    /// with [`RequestInput::Authorized`].
    Authorize,
    /// The service refused this authorization (HTTP 401): run
    /// [`Operation::reauthorize`](super::Operation::reauthorize) with it; answer
    /// with [`RequestInput::Authorized`].
    Reauthorize(Authorization),
    /// The service asked for a login with these parameters (a Globus Auth
    /// Requirements Error): run the app's login with them, forced; answer with
    /// [`RequestInput::LoggedIn`].
    Login(AuthorizationParameters),
    /// Send this request, once, following no redirects; answer with
    /// [`RequestInput::Response`] or [`RequestInput::TransportFailed`].
    Send(HttpRequest),
    /// Wait this long before the next attempt; answer with [`RequestInput::Woke`].
    Sleep(Duration),
    /// Log this; answer with [`RequestInput::Continue`].
    Notice(Notice),
    /// The request is over: the service's answer, or why there is none.
    Done(Result<HttpResponse, Error>),
}

/// The result of a [`RequestStep`].
#[non_exhaustive]
pub enum RequestInput {
    /// The first call.
    Start,
    /// The result of [`RequestStep::Authorize`] or [`RequestStep::Reauthorize`].
    Authorized(Result<Authorization, Error>),
    /// The result of [`RequestStep::Login`].
    LoggedIn(Result<(), Error>),
    /// The service's answer to [`RequestStep::Send`], whatever its status.
    Response(HttpResponse),
    /// [`RequestStep::Send`] got no answer.
    TransportFailed(TransportError),
    /// [`RequestStep::Sleep`] is over.
    Woke,
    /// [`RequestStep::Notice`] was logged.
    Continue,
}

impl fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestInput::Start => f.write_str("Start"),
            RequestInput::Authorized(result) => f.debug_tuple("Authorized").field(result).finish(),
            RequestInput::LoggedIn(result) => f.debug_tuple("LoggedIn").field(result).finish(),
            RequestInput::Response(response) => f
                .debug_struct("Response")
                .field("status", &response.status().as_u16())
                .field("body", &format_args!("{} bytes", response.body().len()))
                .finish(),
            RequestInput::TransportFailed(error) => {
                f.debug_tuple("TransportFailed").field(error).finish()
            }
            RequestInput::Woke => f.write_str("Woke"),
            RequestInput::Continue => f.write_str("Continue"),
        }
    }
}

#[derive(Debug)]
enum Phase {
    Start,
    Authorizing,
    /// Renewing after this 401.
    Reauthorizing(Box<GlobusApiError>),
    LoggingIn,
    Sending,
    Sleeping,
    Done,
}

/// One authorized request to a service.
///
/// # What each answer leads to
/// | answer | what happens |
/// |---|---|
/// | 2xx, 3xx (never followed), and any status not below | returned as the response |
/// | 401, the first time | the token is renewed once ([`Operation::reauthorize`](super::Operation::reauthorize): served if another caller renewed it meanwhile, else a refresh or client-credentials grant), and the request is sent again; without a way to renew: [`Error::LoginRequired`] (a request never logs in by itself) |
/// | 401 again | returned as the response |
/// | 403 with a Globus Auth Requirements Error | [`Error::AuthorizationRequired`], which carries it; with [`auto_redrive_gares`](super::AppSettings::auto_redrive_gares), first a login with its parameters and one more send (a client app only when it asks for scopes alone) |
/// | 429, and 503 with `Retry-After` | retried, for every method, after `Retry-After` (or the backoff) |
/// | 500, 502, 503, 504 | retried if the request is repeatable |
/// | no connection made | retried (nothing reached the service) |
/// | timeout, connection lost | retried if the request is repeatable; else [`Error::Transport`] |
/// | TLS or other transport failure | [`Error::Transport`] |
///
/// A request is *repeatable* when its method is idempotent (GET, HEAD, PUT,
/// DELETE, OPTIONS, TRACE) or when the caller marked it with the [`Repeatable`]
/// extension. Attempts are bounded by [`RequestRetry::max_retries`]: a resend after
/// a renewal or a login is one of them, as in the reference's transport. When the
/// retries run out, the last answer is returned (or the last transport error).
///
/// Before anything is sent, the URL is checked against the resource server's
/// [token destinations](crate::destinations); a refusal is [`Error::Destination`].
///
/// Pure, like an [`Operation`](super::Operation): the driver performs each
/// [`RequestStep`], runs the app operations it asks for (each under the app's
/// single flight), and sends the request itself outside it, so that requests to
/// services never wait for one another.
///
/// ```
/// use globus_app_core::app::{
///     AppKind, AppSettings, AppState, AuthorizedRequest, RequestInput, RequestStep, ScopeRequirements,
/// };
/// use globus_app_core::{AuthService, OAuthClient};
///
/// let settings = AppSettings::new(AppKind::User, "app", OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"), AuthService::production());
/// let state = AppState::new(settings, ScopeRequirements::new()).unwrap();
/// let transfer = "transfer.api.globus.org";
///
/// // A Transfer token never goes to another host: refused before anything is sent.
/// let elsewhere = http::Request::get("https://example.com/").body(Vec::new()).unwrap();
/// assert!(AuthorizedRequest::new(&state, transfer, elsewhere, 7).is_err());
///
/// let ls = http::Request::get("https://transfer.api.globus.org/v0.10/endpoint_search").body(Vec::new()).unwrap();
/// let mut request = AuthorizedRequest::new(&state, transfer, ls, 7).unwrap();
/// assert!(matches!(request.resume(RequestInput::Start), RequestStep::Authorize));
/// ```
#[derive(Debug)]
pub struct AuthorizedRequest {
    resource_server: String,
    request: http::Request<Body>,
    repeatable: bool,
    kind: AppKind,
    redrive: bool,
    retry: RequestRetry,
    /// The state of the jitter's generator.
    random: u64,
    phase: Phase,
    /// The authorization the last send carried.
    authorization: Option<Authorization>,
    /// Requests sent so far.
    sent: u32,
    renewed: bool,
    redriven: bool,
    notices: VecDeque<Notice>,
    stashed: Option<RequestStep>,
}

impl AuthorizedRequest {
    /// Starts a request carrying `resource_server`'s token. `random` seeds the
    /// jitter of the retries' backoff (an adapter passes OS randomness). An
    /// `Authorization` header on `request` is replaced.
    ///
    /// # Errors
    /// [`Error::Destination`] if the token may not go to the request's URL.
    pub fn new(
        state: &AppState,
        resource_server: &str,
        request: http::Request<Vec<u8>>,
        random: u64,
    ) -> Result<AuthorizedRequest, Error> {
        let url = url::Url::parse(&request.uri().to_string()).map_err(|e| {
            crate::destinations::DestinationError::InvalidUrl {
                url: request.uri().path().to_owned(),
                reason: e.to_string(),
            }
        })?;
        state.token_destinations().check(resource_server, &url)?;
        let repeatable =
            is_idempotent(request.method()) || request.extensions().get::<Repeatable>().is_some();
        let settings = state.settings();
        Ok(AuthorizedRequest {
            resource_server: resource_server.to_owned(),
            request: request.map(Body::from),
            repeatable,
            kind: settings.kind,
            redrive: settings.auto_redrive_gares,
            retry: settings.request_retry,
            random,
            phase: Phase::Start,
            authorization: None,
            sent: 0,
            renewed: false,
            redriven: false,
            notices: VecDeque::new(),
            stashed: None,
        })
    }

    /// Returns the resource server whose token the request carries.
    pub fn resource_server(&self) -> &str {
        &self.resource_server
    }

    /// Returns how many times the request was sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// Advances the request with the result of the previous step.
    pub fn resume(&mut self, input: RequestInput) -> RequestStep {
        if matches!(input, RequestInput::Continue) && self.stashed.is_some() {
            return self.emit(None);
        }
        let step = self.handle(input);
        self.emit(Some(step))
    }

    fn emit(&mut self, step: Option<RequestStep>) -> RequestStep {
        if let Some(step) = step {
            if self.notices.is_empty() {
                return step;
            }
            self.stashed = Some(step);
        }
        match self.notices.pop_front() {
            Some(notice) => RequestStep::Notice(notice),
            None => self.stashed.take().unwrap_or_else(|| {
                RequestStep::Done(Err(Error::Internal("no step to resume".into())))
            }),
        }
    }

    fn handle(&mut self, input: RequestInput) -> RequestStep {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match (phase, input) {
            (Phase::Start, RequestInput::Start) => {
                self.phase = Phase::Authorizing;
                RequestStep::Authorize
            }
            (Phase::Authorizing, RequestInput::Authorized(Ok(a))) => {
                self.authorization = Some(a);
                self.send()
            }
            (Phase::Reauthorizing(_), RequestInput::Authorized(Ok(a))) => {
                self.authorization = Some(a);
                self.send()
            }
            (Phase::Authorizing, RequestInput::Authorized(Err(e))) => self.done(Err(e)),
            (Phase::Reauthorizing(answer), RequestInput::Authorized(Err(e))) => {
                let error = match e {
                    Error::TokenValidation(reason) if reason.is_resolved_by_login() => {
                        Error::LoginRequired {
                            resource_server: self.resource_server.clone(),
                            error: answer,
                            reason: Box::new(reason),
                        }
                    }
                    other => other,
                };
                self.done(Err(error))
            }
            (Phase::LoggingIn, RequestInput::LoggedIn(Ok(()))) => {
                self.phase = Phase::Authorizing;
                RequestStep::Authorize
            }
            (Phase::LoggingIn, RequestInput::LoggedIn(Err(e))) => self.done(Err(e)),
            (Phase::Sending, RequestInput::Response(response)) => self.on_response(response),
            (Phase::Sending, RequestInput::TransportFailed(error)) => self.on_transport(error),
            (Phase::Sleeping, RequestInput::Woke) => self.send(),
            (phase, input) => {
                let detail = format!("unexpected input {input:?} while {phase:?}");
                self.phase = phase;
                RequestStep::Done(Err(Error::Internal(detail)))
            }
        }
    }

    fn done(&mut self, result: Result<HttpResponse, Error>) -> RequestStep {
        self.phase = Phase::Done;
        RequestStep::Done(result)
    }

    /// True if another attempt is allowed.
    fn may_send_again(&self) -> bool {
        self.sent <= self.retry.max_retries
    }

    fn send(&mut self) -> RequestStep {
        let Some(authorization) = &self.authorization else {
            return self.done(Err(Error::Internal(
                "a send without an authorization".into(),
            )));
        };
        if !self.may_send_again() {
            // Every path checks before it gets here.
            return self.done(Err(Error::BudgetExceeded {
                goal: format!("sending {}", self.describe()),
                item: super::BudgetItem::Requests,
                count: self.sent + 1,
            }));
        }
        let mut header = match HeaderValue::from_str(authorization.header_value()) {
            Ok(header) => header,
            Err(_) => {
                return self.done(Err(Error::Internal(
                    "the access token is not a valid header value".into(),
                )));
            }
        };
        header.set_sensitive(true);
        let mut request = http::Request::new(self.request.body().clone());
        *request.method_mut() = self.request.method().clone();
        *request.uri_mut() = self.request.uri().clone();
        *request.version_mut() = self.request.version();
        *request.headers_mut() = self.request.headers().clone();
        *request.extensions_mut() = self.request.extensions().clone();
        request.headers_mut().insert(header::AUTHORIZATION, header);
        self.sent += 1;
        self.phase = Phase::Sending;
        RequestStep::Send(request)
    }

    fn describe(&self) -> RequestKind {
        let uri = self.request.uri();
        let url = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
            _ => uri.path().to_owned(),
        };
        RequestKind::Service {
            resource_server: self.resource_server.clone(),
            method: self.request.method().to_string(),
            url,
        }
    }

    fn on_response(&mut self, response: HttpResponse) -> RequestStep {
        let status = response.status().as_u16();
        if status == 401 && !self.renewed && self.may_send_again() {
            self.renewed = true;
            let Some(rejected) = self.authorization.take() else {
                return self.done(Err(Error::Internal(
                    "a 401 without an authorization".into(),
                )));
            };
            let answer = Box::new(GlobusApiError::from_response(&response));
            self.phase = Phase::Reauthorizing(answer);
            return RequestStep::Reauthorize(rejected);
        }
        if status == 403 {
            let error = GlobusApiError::from_response(&response);
            if let Some(params) = error.authorization_parameters() {
                if self.redrive
                    && !self.redriven
                    && self.may_send_again()
                    && self.can_satisfy(params)
                {
                    self.redriven = true;
                    self.phase = Phase::LoggingIn;
                    return RequestStep::Login(params.clone());
                }
                return self.done(Err(Error::AuthorizationRequired {
                    resource_server: self.resource_server.clone(),
                    error: Box::new(error),
                }));
            }
        }
        let retry_after = crate::error::retry_after(&response);
        let refused_before_work = status == 429 || (status == 503 && retry_after.is_some());
        let transient = matches!(status, 500 | 502 | 503 | 504);
        if (refused_before_work || (transient && self.repeatable)) && self.may_send_again() {
            return self.sleep(retry_after);
        }
        self.done(Ok(response))
    }

    /// A client app has no person to satisfy a session requirement: it logs in
    /// again only for scopes.
    fn can_satisfy(&self, params: &AuthorizationParameters) -> bool {
        match self.kind {
            AppKind::User => true,
            AppKind::Client => {
                !params.required_scopes.is_empty()
                    && params.session_required_identities.is_empty()
                    && params.session_required_single_domain.is_empty()
                    && params.session_required_policies.is_empty()
                    && params.session_required_mfa != Some(true)
                    && params.prompt.is_none()
            }
        }
    }

    fn on_transport(&mut self, error: TransportError) -> RequestStep {
        let retry = match error.kind {
            TransportErrorKind::Connect => true,
            TransportErrorKind::Timeout | TransportErrorKind::ConnectionLost => self.repeatable,
            _ => false,
        };
        if retry && self.may_send_again() {
            return self.sleep(None);
        }
        let request = self.describe();
        self.done(Err(Error::Transport { request, error }))
    }

    fn sleep(&mut self, retry_after: Option<u64>) -> RequestStep {
        let jitter = self.jitter();
        let delay = self.retry.delay(self.sent, retry_after, jitter);
        self.notices.push_back(Notice::Retrying {
            request: self.describe(),
            attempt: self.sent,
            delay,
        });
        self.phase = Phase::Sleeping;
        RequestStep::Sleep(delay)
    }

    /// A number in `0.0..1.0` from the seed (SplitMix64).
    fn jitter(&mut self) -> f64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, as a fraction.
        #[allow(clippy::cast_precision_loss)]
        let fraction = (z >> 11) as f64 / (1u64 << 53) as f64;
        fraction
    }
}

fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}
