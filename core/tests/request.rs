//! Authorized requests through the public API: what each answer of a service
//! leads to (renewal on 401, GARE redrive, retries, destinations), as transcripts.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use globus_app_core::app::Input;
use globus_app_core::app::{
    AppKind, AppSettings, AuthorizedRequest, Error, Repeatable, RequestInput, RequestRetry,
    RequestStep, TokenValidationError, TransportErrorKind,
};
use proptest::prelude::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

const LS: &str = "https://transfer.api.globus.org/v0.10/operation/endpoint/x/ls";

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn post(url: &str) -> http::Request<Vec<u8>> {
    http::Request::post(url)
        .body(b"{\"a\": 1}".to_vec())
        .unwrap()
}

/// A user app with valid stored tokens (with or without refresh tokens).
fn user(refresh: bool) -> Harness {
    user_with(refresh, |_| {})
}

fn user_with(refresh: bool, adjust: impl FnOnce(&mut AppSettings)) -> Harness {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = refresh;
    adjust(&mut s);
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 3600, refresh);
    h
}

fn redrive(s: &mut AppSettings) {
    s.auto_redrive_gares = true;
}

fn client_app() -> Harness {
    client_with(|_| {})
}

fn client_with(adjust: impl FnOnce(&mut AppSettings)) -> Harness {
    let mut s = settings(AppKind::Client);
    adjust(&mut s);
    let mut h = Harness::new(s, transfer_requirements());
    h.storage.insert(
        TRANSFER.into(),
        token(
            TRANSFER,
            TRANSFER_ALL,
            "TRANSFER-AT-0",
            None,
            T0 + 3600,
            None,
        ),
    );
    h
}

fn refreshed(at: &str) -> serde_json::Value {
    json!({"access_token": at, "scope": TRANSFER_ALL, "resource_server": TRANSFER,
           "expires_in": 172800, "token_type": "Bearer", "refresh_token": "TRANSFER-RT-2"})
}

fn unauthorized() -> serde_json::Value {
    json!({"code": "AuthenticationFailed", "message": "Token is not active", "request_id": "r401"})
}

fn gare(params: serde_json::Value) -> serde_json::Value {
    json!({"code": "AuthorizationRequired", "message": "Missing a session",
           "authorization_parameters": params})
}

fn ok() -> serde_json::Value {
    json!({"DATA": []})
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_request_sent_again() {
    let mut h = user(true);
    h.answer(401, unauthorized())
        .answer(200, refreshed("TRANSFER-AT-2"))
        .answer(200, ok());
    let response = h.request(TRANSFER, get(LS)).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        h.steps(),
        [
            "load",
            "SERVICE GET /v0.10/operation/endpoint/x/ls auth=TRANSFER-AT-0",
            "reauthorize",
            "load",
            "POST /v2/oauth2/token refresh_token=TRANSFER-RT&grant_type=refresh_token&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "store transfer.api.globus.org",
            "SERVICE GET /v0.10/operation/endpoint/x/ls auth=TRANSFER-AT-2",
        ]
    );
    assert_eq!(h.storage[TRANSFER].access_token.secret(), "TRANSFER-AT-2");
}

#[test]
fn a_token_renewed_meanwhile_is_served_without_a_refresh() {
    let mut h = user(true);
    let a = h.authorization(TRANSFER).unwrap();
    h.answer(401, unauthorized());
    // The first send is answered 401; before the app renews, another process
    // stores a new token.
    let mut op = AuthorizedRequest::new(&h.state, TRANSFER, get(LS), 1).unwrap();
    assert!(matches!(
        op.resume(RequestInput::Start),
        RequestStep::Authorize
    ));
    let RequestStep::Send(_) = op.resume(RequestInput::Authorized(Ok(a))) else {
        panic!("a send")
    };
    let Input::Response(answer) = h.next_answer() else {
        panic!("a response")
    };
    let RequestStep::Reauthorize(rejected) = op.resume(RequestInput::Response(answer)) else {
        panic!("a reauthorization")
    };
    h.storage.insert(
        TRANSFER.into(),
        token(
            TRANSFER,
            TRANSFER_ALL,
            "TRANSFER-AT-OTHER",
            Some("RT-9"),
            T0 + 7200,
            Some(ALICE),
        ),
    );
    h.steps();
    let ticket = h.state.ticket();
    let renewed = h
        .run(globus_app_core::app::Operation::reauthorize(
            TRANSFER, rejected, ticket,
        ))
        .unwrap();
    assert_eq!(renewed.access_token(), "TRANSFER-AT-OTHER");
    assert_eq!(h.steps(), ["load"], "no refresh");
}

#[test]
fn without_a_refresh_token_a_401_is_login_required_and_nothing_logs_in() {
    let mut h = user(false);
    h.answer(401, unauthorized());
    let error = h.request(TRANSFER, get(LS)).unwrap_err();
    let Error::LoginRequired {
        resource_server,
        error: answer,
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(resource_server, TRANSFER);
    assert_eq!(answer.status, 401);
    assert_eq!(answer.code.as_deref(), Some("AuthenticationFailed"));
    assert!(matches!(
        **reason,
        TokenValidationError::TokenRejected { .. }
    ));
    assert!(error.is_login_required());
    let steps = h.steps();
    assert!(!steps.iter().any(|s| s.contains("login")), "{steps:?}");
    // The refused token is not served again, though storage still holds it.
    assert!(
        h.state
            .cached_authorization(TRANSFER, globus_app_core::UnixTime(T0))
            .is_none()
    );
}

#[test]
fn a_refused_refresh_token_is_login_required() {
    let mut h = user(true);
    h.answer(401, unauthorized())
        .answer(400, json!({"error": "invalid_grant"}));
    let error = h.request(TRANSFER, get(LS)).unwrap_err();
    assert!(
        matches!(&error, Error::LoginRequired { reason, .. }
            if matches!(**reason, TokenValidationError::RefreshTokenRejected { .. })),
        "{error:?}"
    );
}

#[test]
fn a_second_401_is_returned() {
    let mut h = user(true);
    h.answer(401, unauthorized())
        .answer(200, refreshed("TRANSFER-AT-2"))
        .answer(401, unauthorized());
    let response = h.request(TRANSFER, get(LS)).unwrap();
    assert_eq!(response.status(), 401);
}

#[test]
fn a_client_app_renews_with_its_credentials() {
    let mut h = client_app();
    h.answer(401, unauthorized())
        .answer(200, refreshed("TRANSFER-AT-2"))
        .answer(200, ok());
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 200);
    let steps = h.steps();
    assert!(
        steps[4].starts_with("POST /v2/oauth2/token grant_type=client_credentials"),
        "{steps:?}"
    );
}

#[test]
fn a_gare_without_redrive_is_a_typed_error_carrying_it() {
    let mut h = user(true);
    h.answer(
        403,
        gare(json!({"session_required_single_domain": ["example.edu"]})),
    );
    let error = h.request(TRANSFER, get(LS)).unwrap_err();
    let params = error.authorization_parameters().unwrap();
    assert_eq!(params.session_required_single_domain, ["example.edu"]);
    assert!(matches!(error, Error::AuthorizationRequired { .. }));
}

#[test]
fn a_gare_with_redrive_logs_in_with_its_parameters_and_resends() {
    let mut h = user_with(true, redrive);
    let seen = Arc::new(Mutex::new(String::new()));
    let keep = Arc::clone(&seen);
    h.redirect = Box::new(move |url, state| {
        *keep.lock().unwrap() = url.to_string();
        globus_app_core::redirect::RedirectParams::from_query(&format!(
            "code=THE-CODE&state={state}"
        ))
    });
    let extra = "urn:globus:auth:scope:groups.api.globus.org:all";
    h.answer(
        403,
        gare(json!({"session_required_single_domain": ["example.edu"],
                    "session_required_mfa": true, "required_scopes": [extra]})),
    )
    .answer(200, login_response(ALICE, true, TRANSFER_ALL))
    .answer(200, ok());
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 200);
    let url = url::Url::parse(&seen.lock().unwrap()).unwrap();
    let query: std::collections::BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["session_required_single_domain"], "example.edu");
    assert_eq!(query["session_required_mfa"], "True");
    // The GARE's scope merged with the app's requirements.
    for scope in ["openid", TRANSFER_ALL, extra] {
        assert!(
            query["scope"].split(' ').any(|s| s == scope),
            "{}",
            query["scope"]
        );
    }
    let steps = h.steps();
    assert_eq!(steps.iter().filter(|s| s.starts_with("SERVICE")).count(), 2);
    assert!(steps.contains(&"gare login".to_owned()));
}

#[test]
fn a_second_gare_after_the_redrive_is_returned_as_an_error() {
    let mut h = user_with(true, redrive);
    let body = gare(json!({"session_required_single_domain": ["example.edu"]}));
    h.answer(403, body.clone())
        .answer(200, login_response(ALICE, true, TRANSFER_ALL))
        .answer(403, body);
    let error = h.request(TRANSFER, get(LS)).unwrap_err();
    assert!(
        matches!(error, Error::AuthorizationRequired { .. }),
        "{error:?}"
    );
}

#[test]
fn a_client_app_redrives_a_gare_only_for_scopes() {
    let mut h = client_with(redrive);
    h.answer(
        403,
        gare(json!({"session_required_single_domain": ["example.edu"]})),
    );
    assert!(matches!(
        h.request(TRANSFER, get(LS)).unwrap_err(),
        Error::AuthorizationRequired { .. }
    ));
    h.steps();

    let extra = "https://auth.globus.org/scopes/abc/data_access";
    let consent = json!({"code": "ConsentRequired", "message": "Missing consent",
                         "required_scopes": [format!("{TRANSFER_ALL}[*{extra}]")]});
    h.answer(403, consent)
        .answer(200, refreshed("TRANSFER-AT-3"))
        .answer(200, ok());
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 200);
    let steps = h.steps();
    let grant = steps
        .iter()
        .find(|s| s.contains("client_credentials"))
        .unwrap();
    assert!(grant.contains("data_access"), "{grant}");
    assert_eq!(
        steps.last().unwrap(),
        "SERVICE GET /v0.10/operation/endpoint/x/ls auth=TRANSFER-AT-3"
    );
}

#[test]
fn retries_follow_the_table() {
    // 503 with Retry-After: retried for a POST, after the time it says.
    let mut h = user(true);
    let busy = http::Response::builder()
        .status(503)
        .header("Retry-After", "1")
        .body(Vec::new())
        .unwrap();
    h.answers.push_back(Answer::Raw(busy));
    h.answer(201, ok());
    assert_eq!(h.request(TRANSFER, post(LS)).unwrap().status(), 201);
    assert!(h.steps().contains(&"sleep 1000ms".to_owned()));

    // 500 on a POST: returned at once; on a GET: five retries, then the last answer.
    h.answer(500, json!({}));
    assert_eq!(h.request(TRANSFER, post(LS)).unwrap().status(), 500);
    for _ in 0..6 {
        h.answer(500, json!({}));
    }
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 500);
    let steps = h.steps();
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.starts_with("SERVICE GET"))
            .count(),
        6
    );
    let sleeps: Vec<u128> = steps
        .iter()
        .filter_map(|s| s.strip_prefix("sleep ")?.strip_suffix("ms")?.parse().ok())
        .collect();
    assert_eq!(sleeps.len(), 5);
    for (i, ms) in sleeps.iter().enumerate() {
        let base = 250u128 << i;
        assert!((base..=(3 * base).min(10_000)).contains(ms), "{sleeps:?}");
    }

    // A POST marked repeatable is retried after a 502; 429 is retried for any POST.
    let mut marked = post(LS);
    marked.extensions_mut().insert(Repeatable);
    h.answer(502, json!({})).answer(200, ok());
    assert_eq!(h.request(TRANSFER, marked).unwrap().status(), 200);
    h.answer(429, json!({})).answer(200, ok());
    assert_eq!(h.request(TRANSFER, post(LS)).unwrap().status(), 200);
}

#[test]
fn transport_failures_follow_the_table() {
    let mut h = user(true);
    // Nothing reached the service: retried, whatever the method.
    h.answers
        .push_back(Answer::Transport(TransportErrorKind::Connect));
    h.answer(200, ok());
    assert_eq!(h.request(TRANSFER, post(LS)).unwrap().status(), 200);
    // A timeout: retried for a GET, not for a POST.
    h.answers
        .push_back(Answer::Transport(TransportErrorKind::Timeout));
    h.answer(200, ok());
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 200);
    h.answers
        .push_back(Answer::Transport(TransportErrorKind::Timeout));
    let error = h.request(TRANSFER, post(LS)).unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("POST https://transfer.api.globus.org/v0.10/operation/endpoint/x/ls"),
        "{error}"
    );
}

#[test]
fn no_retries_means_one_send_and_no_resend() {
    let mut h = user_with(true, |s| s.request_retry = RequestRetry::none());
    h.answer(401, unauthorized());
    assert_eq!(h.request(TRANSFER, get(LS)).unwrap().status(), 401);
}

#[test]
fn a_token_goes_only_to_its_resource_servers_origins() {
    let mut h = user(true);
    for url in [
        "https://search.api.globus.org/v1/search",
        "https://transfer.api.globus.org.evil.example/x",
        "http://transfer.api.globus.org/x",
        "https://user:pw@transfer.api.globus.org/x",
        "https://transfer.api.globus.org:8443/x",
    ] {
        let error = h.request(TRANSFER, get(url)).unwrap_err();
        assert!(matches!(error, Error::Destination(_)), "{url}: {error:?}");
        assert!(!error.to_string().contains("pw"), "{error}");
    }
    assert!(h.steps().is_empty(), "nothing was loaded or sent");
    // A collection's own host, bound by hand; plain http only to loopback.
    let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    h.state
        .bind_token_destination(collection, "http://127.0.0.1:8080/")
        .unwrap();
    assert!(
        h.state
            .bind_token_destination(collection, "http://example.com/")
            .is_err()
    );
    AuthorizedRequest::new(&h.state, collection, get("http://127.0.0.1:8080/file"), 0).unwrap();
}

#[test]
fn the_caller_s_authorization_header_is_replaced_and_marked_sensitive() {
    let mut h = user(true);
    let mut request = get(LS);
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, "Bearer MINE".parse().unwrap());
    h.answer(200, ok());
    h.request(TRANSFER, request).unwrap();
    let sent = h.log.requests.last().unwrap();
    let header = &sent.headers()[http::header::AUTHORIZATION];
    assert_eq!(header, "Bearer TRANSFER-AT-0");
    assert!(header.is_sensitive());
    assert!(!format!("{sent:?}").contains("TRANSFER-AT-0"));
}

/// One scripted service answer.
#[derive(Clone, Debug)]
enum Reply {
    Status(u16),
    Gare,
    RetryAfter(u16),
    Transport(TransportErrorKind),
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        prop::sample::select(vec![
            200u16, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504
        ])
        .prop_map(Reply::Status),
        Just(Reply::Gare),
        prop::sample::select(vec![429u16, 503]).prop_map(Reply::RetryAfter),
        prop::sample::select(vec![
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::ConnectionLost,
            TransportErrorKind::Tls,
        ])
        .prop_map(Reply::Transport),
    ]
}

proptest! {
    /// Whatever the service answers and whatever the app operations return, a
    /// request ends, sends at most `max_retries + 1` times, renews at most once,
    /// logs in at most once, and never sends without an authorization.
    #[test]
    fn a_request_is_bounded_whatever_the_answers(
        replies in prop::collection::vec(reply(), 0..12),
        app_fails in prop::collection::vec(any::<bool>(), 4),
        kind in prop::sample::select(vec![AppKind::User, AppKind::Client]),
        redrive in any::<bool>(),
        max_retries in 0u32..7,
        post_method in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let adjust = |s: &mut AppSettings| {
            s.auto_redrive_gares = redrive;
            s.request_retry = RequestRetry::new(max_retries, std::time::Duration::from_secs(10));
        };
        let mut h = if kind == AppKind::User { user_with(true, adjust) } else { client_with(adjust) };
        let authorization = h.authorization(TRANSFER).unwrap();
        let request = if post_method { post(LS) } else { get(LS) };
        let mut op = AuthorizedRequest::new(&h.state, TRANSFER, request, seed).unwrap();
        let mut replies = replies.into_iter();
        let mut app_fails = app_fails.into_iter();
        let (mut sends, mut reauthorizations, mut logins, mut steps) = (0u32, 0, 0, 0);
        let mut input = RequestInput::Start;
        let result = loop {
            steps += 1;
            prop_assert!(steps < 100, "the request does not end");
            input = match op.resume(input) {
                RequestStep::Authorize | RequestStep::Reauthorize(_) if app_fails.next().unwrap_or(false) => {
                    RequestInput::Authorized(Err(Error::Internal("app failed".into())))
                }
                RequestStep::Authorize => RequestInput::Authorized(Ok(authorization.clone())),
                RequestStep::Reauthorize(_) => {
                    reauthorizations += 1;
                    RequestInput::Authorized(Ok(authorization.clone()))
                }
                RequestStep::Login(params) => {
                    logins += 1;
                    prop_assert!(redrive);
                    if kind == AppKind::Client {
                        prop_assert!(!params.required_scopes.is_empty());
                    }
                    RequestInput::LoggedIn(Ok(()))
                }
                RequestStep::Send(request) => {
                    sends += 1;
                    prop_assert!(request.headers().contains_key(http::header::AUTHORIZATION));
                    match replies.next().unwrap_or(Reply::Status(200)) {
                        Reply::Status(status) => RequestInput::Response(
                            http::Response::builder().status(status).body(b"{}".to_vec()).unwrap(),
                        ),
                        Reply::Gare => RequestInput::Response(
                            http::Response::builder()
                                .status(403)
                                .body(gare(json!({"required_scopes": ["x"]})).to_string().into_bytes())
                                .unwrap(),
                        ),
                        Reply::RetryAfter(status) => RequestInput::Response(
                            http::Response::builder()
                                .status(status)
                                .header("Retry-After", "2")
                                .body(Vec::new())
                                .unwrap(),
                        ),
                        Reply::Transport(kind) => RequestInput::TransportFailed(
                            globus_app_core::app::TransportError::new(kind, "boom"),
                        ),
                    }
                }
                RequestStep::Sleep(delay) => {
                    prop_assert!(delay <= std::time::Duration::from_secs(10));
                    RequestInput::Woke
                }
                RequestStep::Notice(_) => RequestInput::Continue,
                RequestStep::Done(result) => break result,
                _ => unreachable!(),
            };
        };
        prop_assert!(sends <= max_retries + 1, "{sends} sends");
        prop_assert!(reauthorizations <= 1);
        prop_assert!(logins <= 1);
        if let Err(Error::Internal(message)) = &result {
            prop_assert_eq!(message.as_str(), "app failed");
        }
    }
}
