//! The scripted environment the transcript tests share: storage in memory, a queue
//! of HTTP answers, a clock, and a log of every step.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part
#![allow(clippy::unwrap_used)] // a panic is how a test fails

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use globus_app_core::app::{
    AppKind, AppSettings, AppState, Authorization, Error, Input, Notice, Operation,
    OperationOutput, ScopeRequirements, Step, TransportError, TransportErrorKind,
};
use globus_app_core::redirect::RedirectParams;
use globus_app_core::transcript::Recorder;
use globus_app_core::{AuthService, HttpRequest, OAuthClient, RefreshToken, TokenData, UnixTime};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

pub const CLIENT: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";
pub const ALICE: &str = "ae341a98-d274-11e5-b888-dbae3a8ba545";
pub const BOB: &str = "b0b0b0b0-d274-11e5-b888-dbae3a8ba545";
pub const TRANSFER: &str = "transfer.api.globus.org";
pub const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
pub const T0: i64 = 1_700_000_000;

/// What the driver saw, in order (requests as "METHOD path form"): the short form
/// the scenario tests assert on (the core's `Transcript` is in `recorder`).
#[derive(Default)]
pub struct StepLog {
    pub steps: Vec<String>,
    pub requests: Vec<HttpRequest>,
}

/// Plays the user at the authorize step: URL and state in, redirect out.
pub type Redirector = Box<dyn FnMut(&url::Url, &str) -> RedirectParams>;

/// A scripted environment: storage in memory, a queue of HTTP answers, a clock.
pub struct Harness {
    pub state: AppState,
    pub storage: BTreeMap<String, TokenData>,
    pub answers: VecDeque<Answer>,
    pub now: i64,
    pub redirect: Redirector,
    pub log: StepLog,
    /// When set, every step, input and operation state formatted with `{:?}` and
    /// `{:#?}`.
    pub debug: Option<Vec<String>>,
    /// Every operation's steps and inputs, as the core's transcripts record them.
    pub recorder: Recorder,
    /// Answers to `Step::Lease`, in order (then the lease is granted with fence 1).
    pub lease_answers: VecDeque<Input>,
}

pub enum Answer {
    Json(u16, Value),
    Raw(http::Response<Vec<u8>>),
    Transport(TransportErrorKind),
}

pub fn settings(kind: AppKind) -> AppSettings {
    let client = match kind {
        AppKind::User => OAuthClient::native(CLIENT),
        AppKind::Client => OAuthClient::confidential(CLIENT, "secret"),
    };
    AppSettings::new(kind, "Test App", client, AuthService::production())
}

pub fn transfer_requirements() -> ScopeRequirements {
    let mut reqs = ScopeRequirements::new();
    reqs.add_str(TRANSFER, TRANSFER_ALL).unwrap();
    reqs
}

pub fn id_token(sub: &str) -> String {
    id_token_at(sub, T0, T0 + 100_000)
}

/// An unsigned id_token for the test client, issued at `iat` and expiring at `exp`.
pub fn id_token_at(sub: &str, iat: i64, exp: i64) -> String {
    let claims = json!({"sub": sub, "aud": CLIENT, "iss": "https://auth.globus.org",
                        "exp": exp, "iat": iat});
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub fn login_response(sub: &str, refresh: bool, transfer_scope: &str) -> Value {
    let rt = |name: &str| {
        if refresh {
            json!(format!("{name}-RT"))
        } else {
            Value::Null
        }
    };
    json!({
        "access_token": "AUTH-AT-1", "scope": "openid", "resource_server": "auth.globus.org",
        "expires_in": 172800, "token_type": "Bearer", "refresh_token": rt("AUTH"),
        "id_token": id_token(sub),
        "other_tokens": [{"access_token": "TRANSFER-AT-1", "scope": transfer_scope,
            "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer",
            "refresh_token": rt("TRANSFER")}]
    })
}

pub fn token(
    rs: &str,
    scope: &str,
    at: &str,
    rt: Option<&str>,
    expires_at: i64,
    identity: Option<&str>,
) -> TokenData {
    let mut t: TokenData = serde_json::from_value(json!({
        "resource_server": rs, "scope": scope, "access_token": at,
        "expires_at_seconds": expires_at, "token_type": "Bearer"
    }))
    .unwrap();
    t.refresh_token = rt.map(RefreshToken::new);
    t.identity_id = identity.map(str::to_owned);
    t
}

pub fn stored_user_tokens(expires_at: i64, refresh: bool) -> BTreeMap<String, TokenData> {
    let rt = |s| refresh.then_some(s);
    [
        token(
            "auth.globus.org",
            "openid",
            "AUTH-AT-0",
            rt("AUTH-RT"),
            expires_at,
            Some(ALICE),
        ),
        token(
            TRANSFER,
            TRANSFER_ALL,
            "TRANSFER-AT-0",
            rt("TRANSFER-RT"),
            expires_at,
            Some(ALICE),
        ),
    ]
    .into_iter()
    .map(|t| (t.resource_server.clone(), t))
    .collect()
}

impl Harness {
    pub fn new(settings: AppSettings, reqs: ScopeRequirements) -> Harness {
        Harness {
            state: AppState::new(settings, reqs).unwrap(),
            storage: BTreeMap::new(),
            answers: VecDeque::new(),
            now: T0,
            redirect: Box::new(|url, state| {
                assert!(
                    url.as_str()
                        .starts_with("https://auth.globus.org/v2/oauth2/authorize?")
                );
                RedirectParams::from_query(&format!("code=THE-CODE&state={state}"))
            }),
            log: StepLog::default(),
            debug: None,
            recorder: Recorder::new(),
            lease_answers: VecDeque::new(),
        }
    }

    pub fn answer(&mut self, status: u16, body: Value) -> &mut Self {
        self.answers.push_back(Answer::Json(status, body));
        self
    }

    pub fn run<T: OperationOutput + std::fmt::Debug>(
        &mut self,
        op: Operation<T>,
    ) -> Result<T, Error> {
        let result = self.run_part(op);
        assert!(self.answers.is_empty(), "unused answers");
        result
    }

    /// Pops the next scripted answer.
    pub fn next_answer(&mut self) -> Input {
        match self
            .answers
            .pop_front()
            .expect("an answer for every request")
        {
            Answer::Json(status, body) => Input::Response(
                http::Response::builder()
                    .status(status)
                    .body(body.to_string().into_bytes())
                    .unwrap(),
            ),
            Answer::Raw(response) => Input::Response(response),
            Answer::Transport(kind) => Input::TransportFailed(TransportError::new(kind, "boom")),
        }
    }

    /// Runs an operation that is part of a larger exchange (answers may remain).
    pub fn run_part<T: OperationOutput + std::fmt::Debug>(
        &mut self,
        mut op: Operation<T>,
    ) -> Result<T, Error> {
        let mut input = Input::Start;
        self.recorder.begin(&op);
        loop {
            let now = UnixTime(self.now);
            if let Some(debug) = &mut self.debug {
                debug.push(format!("{input:?}\n{input:#?}"));
            }
            self.recorder.given(&input);
            let step = op.resume(&mut self.state, input, now);
            self.recorder.asked(now, &step);
            if let Some(debug) = &mut self.debug {
                debug.push(format!("{step:?}\n{step:#?}\n{op:?}\n{op:#?}"));
            }
            input = match step {
                Step::Send(request) => {
                    let form = String::from_utf8(request.body().to_vec()).unwrap();
                    let path = request.uri().path().to_owned();
                    self.log
                        .steps
                        .push(format!("{} {path} {form}", request.method()));
                    self.log.requests.push(request);
                    self.next_answer()
                }
                Step::Load => {
                    self.log.steps.push("load".into());
                    Input::Loaded(self.storage.clone())
                }
                Step::Store(tokens) => {
                    let names: Vec<&str> =
                        tokens.iter().map(|t| t.resource_server.as_str()).collect();
                    self.log.steps.push(format!("store {}", names.join(",")));
                    for t in tokens {
                        self.storage.insert(t.resource_server.clone(), t);
                    }
                    Input::Stored
                }
                Step::Lease => {
                    self.log.steps.push("lease".into());
                    self.lease_answers
                        .pop_front()
                        .unwrap_or(Input::LeaseAcquired { fence: 1 })
                }
                Step::Release => {
                    self.log.steps.push("release".into());
                    Input::Released
                }
                Step::StoreFenced { tokens, fence } => {
                    let names: Vec<&str> =
                        tokens.iter().map(|t| t.resource_server.as_str()).collect();
                    self.log
                        .steps
                        .push(format!("store {} fence {fence}", names.join(",")));
                    for t in tokens {
                        self.storage.insert(t.resource_server.clone(), t);
                    }
                    Input::Stored
                }
                Step::Remove(rs) => {
                    self.log.steps.push(format!("remove {rs}"));
                    self.storage.remove(&rs);
                    Input::Removed
                }
                Step::PrepareLogin => {
                    self.log.steps.push("prepare login".into());
                    Input::LoginPrepared {
                        redirect_uri: "https://auth.globus.org/v2/web/auth-code".into(),
                        random: [7; 48],
                    }
                }
                Step::Authorize { url, state } => {
                    self.log.steps.push("authorize".into());
                    Input::Redirect((self.redirect)(&url, &state))
                }
                Step::Sleep(d) => {
                    self.log.steps.push(format!("sleep {}ms", d.as_millis()));
                    Input::Woke
                }
                Step::Notice(n) => {
                    // A renewal shows as its request; its notice is for logs.
                    if !matches!(n, Notice::Renewing { .. }) {
                        self.log.steps.push(format!("notice {}", notice_kind(&n)));
                    }
                    Input::Continue
                }
                Step::Done(result) => return result,
                _ => panic!("unknown step"),
            };
        }
    }

    pub fn authorization(&mut self, rs: &str) -> Result<Authorization, Error> {
        let ticket = self.state.ticket();
        self.run(Operation::get_authorization(rs, ticket))
    }

    pub fn steps(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log.steps)
    }
}

pub fn notice_kind(n: &Notice) -> &'static str {
    match n {
        Notice::EarlyRenewalFailed { .. } => "early-renewal-failed",
        Notice::Retrying { .. } => "retrying",
        Notice::LoginStarting { .. } => "login-starting",
        Notice::RevocationFailed { .. } => "revocation-failed",
        Notice::Renewing { .. } => "renewing",
        _ => "other",
    }
}

pub fn dependent_requirements() -> ScopeRequirements {
    let mut reqs = ScopeRequirements::new();
    reqs.add_str(
        TRANSFER,
        &format!("{TRANSFER_ALL}[*https://auth.globus.org/scopes/C1/data_access]"),
    )
    .unwrap();
    reqs
}

pub fn consents(with_data_access: bool) -> Value {
    let mut list = vec![json!({"id": 1, "scope_name": TRANSFER_ALL, "dependency_path": [1]})];
    if with_data_access {
        list.push(json!({"id": 2, "scope_name": "https://auth.globus.org/scopes/C1/data_access", "dependency_path": [1, 2]}));
    }
    json!({"consents": list})
}

impl Harness {
    /// Drives an authorized request: app operations run here (as an adapter runs
    /// them under its single flight), service sends take the next answer and are
    /// logged as `SERVICE METHOD path auth=<access token>`.
    pub fn request(
        &mut self,
        rs: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        use globus_app_core::app::{AuthorizedRequest, RequestInput, RequestStep};
        let mut op = AuthorizedRequest::new(&self.state, rs, request, 42)?;
        let mut input = RequestInput::Start;
        loop {
            input = match op.resume(input) {
                RequestStep::Authorize => {
                    let ticket = self.state.ticket();
                    RequestInput::Authorized(
                        self.run_part(Operation::get_authorization(rs, ticket)),
                    )
                }
                RequestStep::Reauthorize(rejected) => {
                    self.log.steps.push("reauthorize".into());
                    let ticket = self.state.ticket();
                    RequestInput::Authorized(
                        self.run_part(Operation::reauthorize(rs, rejected, ticket)),
                    )
                }
                RequestStep::Login(params) => {
                    self.log.steps.push("gare login".into());
                    RequestInput::LoggedIn(self.run_part(Operation::login(Some(params), true)))
                }
                RequestStep::Send(request) => {
                    let auth = request
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .map(|h| h.to_str().unwrap().trim_start_matches("Bearer ").to_owned())
                        .unwrap_or_default();
                    self.log.steps.push(format!(
                        "SERVICE {} {} auth={auth}",
                        request.method(),
                        request.uri().path()
                    ));
                    self.log.requests.push(request);
                    match self.next_answer() {
                        Input::Response(r) => RequestInput::Response(r),
                        Input::TransportFailed(e) => RequestInput::TransportFailed(e),
                        _ => unreachable!(),
                    }
                }
                RequestStep::Sleep(d) => {
                    self.log.steps.push(format!("sleep {}ms", d.as_millis()));
                    RequestInput::Woke
                }
                RequestStep::Notice(n) => {
                    // A renewal shows as its request; its notice is for logs.
                    if !matches!(n, Notice::Renewing { .. }) {
                        self.log.steps.push(format!("notice {}", notice_kind(&n)));
                    }
                    RequestInput::Continue
                }
                RequestStep::Done(result) => {
                    assert!(self.answers.is_empty(), "unused answers");
                    return result;
                }
                _ => panic!("unknown step"),
            };
        }
    }
}
