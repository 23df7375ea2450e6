//! Transcript tests of the app state machine: every step an operation asks for,
//! answered by a scripted Globus Auth, with fixed time and randomness.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::app::{
    AppKind, AppSettings, AppState, Error, Input, LogoutReport, Notice, OnValidationError,
    Operation, RequestKind, RetryPolicy, ScopeRequirements, Step, TokenValidationError,
    TransportErrorKind,
};
use globus_app_core::oauth::TokenKind;
use globus_app_core::redirect::RedirectParams;
use globus_app_core::{AccessToken, AuthService, OAuthClient, UnixTime};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

mod common;
use common::*;

#[test]
fn client_app_logs_in_with_client_credentials_then_serves_from_cache() {
    let mut h = Harness::new(settings(AppKind::Client), transfer_requirements());
    h.answer(
        200,
        json!({
        "access_token": "CC-AUTH", "scope": "openid", "resource_server": "auth.globus.org",
        "expires_in": 172800, "token_type": "Bearer",
        "other_tokens": [{"access_token": "CC-TRANSFER", "scope": TRANSFER_ALL,
            "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}]}),
    );
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.header_value(), "Bearer CC-TRANSFER");
    assert_eq!(
        h.steps(),
        [
            "load",
            "notice login-starting",
            "POST /v2/oauth2/token grant_type=client_credentials&scope=openid+urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall",
            "store auth.globus.org,transfer.api.globus.org",
        ]
    );
    assert!(
        h.log.requests[0].headers()["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    // The hot path serves it without an operation.
    let cached = h
        .state
        .cached_authorization(TRANSFER, UnixTime(T0 + 100))
        .unwrap();
    assert_eq!(cached, a);
    assert!(!format!("{cached:?}").contains("CC-TRANSFER"));
}

#[test]
fn client_app_renews_within_the_lead_time_and_not_before() {
    let mut h = Harness::new(settings(AppKind::Client), transfer_requirements());
    let exp = T0 + 1000;
    h.storage.insert(
        TRANSFER.into(),
        token(TRANSFER, TRANSFER_ALL, "OLD", None, exp, None),
    );
    h.storage.insert(
        "auth.globus.org".into(),
        token("auth.globus.org", "openid", "A", None, T0 + 100_000, None),
    );
    // At exp - 61 the token is still served as is; at exp - 60 it is due.
    h.now = exp - 61;
    assert_eq!(h.authorization(TRANSFER).unwrap().access_token(), "OLD");
    assert_eq!(h.steps(), ["load"]);
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(exp - 61))
            .is_some()
    );
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(exp - 60))
            .is_none()
    );
    // At exp - 60 it is renewed with the resource server's own scopes.
    h.now = exp - 60;
    h.answer(
        200,
        json!({"access_token": "NEW", "scope": TRANSFER_ALL, "resource_server": TRANSFER,
                         "expires_in": 172800, "token_type": "Bearer"}),
    );
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.access_token(), "NEW");
    assert_eq!(a.expires_at(), UnixTime(exp - 60 + 172800));
    assert_eq!(
        h.steps(),
        [
            "load",
            "POST /v2/oauth2/token grant_type=client_credentials&scope=urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall",
            "store transfer.api.globus.org",
        ]
    );
    assert_eq!(h.storage[TRANSFER].access_token.secret(), "NEW");
}

#[test]
fn user_login_native_pkce() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.answer(200, login_response(ALICE, false, TRANSFER_ALL));
    h.run(Operation::login(None, true)).unwrap();
    let steps = h.steps();
    assert_eq!(steps[..3], ["load", "prepare login", "authorize"]);
    assert!(steps[3].starts_with(
        "POST /v2/oauth2/token client_id=61338d24-54d5-408f-a10d-66c06b59f6d2&grant_type=authorization_code&code=THE-CODE&code_verifier="
    ));
    assert!(
        steps[3].ends_with("&redirect_uri=https%3A%2F%2Fauth.globus.org%2Fv2%2Fweb%2Fauth-code")
    );
    assert_eq!(steps[4], "store auth.globus.org,transfer.api.globus.org");
    assert_eq!(steps.len(), 5);
    assert_eq!(h.state.identity(), Some(ALICE));
    assert_eq!(h.storage[TRANSFER].identity_id.as_deref(), Some(ALICE));
    assert_eq!(
        h.authorization(TRANSFER).unwrap().access_token(),
        "TRANSFER-AT-1"
    );
}

#[test]
fn login_without_force_is_a_no_op_when_tokens_serve() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    h.run(Operation::login(None, false)).unwrap();
    assert_eq!(h.steps(), ["load"]);
    assert!(!h.run(Operation::login_required()).unwrap());
}

#[test]
fn authorize_url_asks_for_every_requirement_and_offline_access() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.prefill_named_grant = Some("Test App on host".into());
    let mut h = Harness::new(s, transfer_requirements());
    let seen = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let seen2 = seen.clone();
    h.redirect = Box::new(move |url, state| {
        *seen2.borrow_mut() = url.to_string();
        RedirectParams::from_query(&format!("code=C&state={state}"))
    });
    h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
    h.run(Operation::login(None, true)).unwrap();
    let url = url::Url::parse(&seen.borrow()).unwrap();
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["scope"], format!("openid {TRANSFER_ALL}"));
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prefill_named_grant"], "Test App on host");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        h.storage[TRANSFER].refresh_token.as_ref().unwrap().secret(),
        "TRANSFER-RT"
    );
}

#[test]
fn refresh_keeps_identity_and_refresh_token() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    h.answer(
        200,
        json!({"access_token": "TRANSFER-AT-2", "scope": TRANSFER_ALL,
        "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}),
    );
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.access_token(), "TRANSFER-AT-2");
    assert_eq!(
        h.steps(),
        [
            "load",
            "POST /v2/oauth2/token refresh_token=TRANSFER-RT&grant_type=refresh_token&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "store transfer.api.globus.org",
        ]
    );
    let stored = &h.storage[TRANSFER];
    assert_eq!(stored.identity_id.as_deref(), Some(ALICE));
    assert_eq!(
        stored.refresh_token.as_ref().unwrap().secret(),
        "TRANSFER-RT"
    );
}

#[test]
fn access_token_mode_expired_means_login_or_error() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.storage = stored_user_tokens(T0 - 1, false);
    h.answer(200, login_response(ALICE, false, TRANSFER_ALL));
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.access_token(), "TRANSFER-AT-1");
    let steps = h.steps();
    assert_eq!(
        steps[..4],
        [
            "load",
            "notice login-starting",
            "prepare login",
            "authorize"
        ]
    );

    let mut s = settings(AppKind::User);
    s.on_validation_error = OnValidationError::Fail;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 1, false);
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(matches!(
        err.validation(),
        Some(TokenValidationError::ExpiredToken { expired_at, .. }) if *expired_at == T0 - 1
    ));
    // The message shows the time as a person reads it.
    assert!(err.to_string().contains("2023-11-14T22:13:19Z"), "{err}");
    assert!(err.is_login_required());
    assert!(h.run(Operation::login_required()).unwrap());
}

#[test]
fn revoked_refresh_token_leads_to_login() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    h.answer(400, json!({"error": "invalid_grant"}));
    h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
    assert_eq!(
        h.authorization(TRANSFER).unwrap().access_token(),
        "TRANSFER-AT-1"
    );
    let steps = h.steps();
    assert!(steps[1].contains("grant_type=refresh_token"));
    assert_eq!(
        steps[2..5],
        ["notice login-starting", "prepare login", "authorize"]
    );
}

#[test]
fn early_renewal_failure_serves_the_valid_token() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 30, true);
    for _ in 0..3 {
        h.answer(503, json!({"error": "unavailable"}));
    }
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.access_token(), "TRANSFER-AT-0");
    let steps = h.steps();
    assert_eq!(
        steps.iter().filter(|s| s.starts_with("POST")).count(),
        3,
        "{steps:?}"
    );
    assert!(
        steps.contains(&"sleep 500ms".to_owned()) && steps.contains(&"sleep 1000ms".to_owned())
    );
    assert!(steps.contains(&"notice early-renewal-failed".to_owned()));
    // The valid token is cached briefly, then renewal is tried again.
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0 + 9))
            .is_some()
    );
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0 + 10))
            .is_none()
    );
}

#[test]
fn expired_and_renewal_unavailable_is_an_error_after_retries() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.retry = RetryPolicy::new(2, Duration::from_millis(100), Duration::from_secs(5));
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    h.answers
        .push_back(Answer::Transport(TransportErrorKind::Timeout));
    h.answers.push_back(Answer::Raw(
        http::Response::builder()
            .status(502)
            .body(b"<html>Bad Gateway</html>".to_vec())
            .unwrap(),
    ));
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(
        err.to_string()
            .contains("refreshing the tokens for transfer.api.globus.org failed"),
        "{err}"
    );
    assert!(err.to_string().contains("502"));
    assert!(!err.to_string().contains("TRANSFER-RT"));
    assert!(h.steps().contains(&"sleep 100ms".to_owned()));
    // Tokens are untouched.
    assert_eq!(h.storage[TRANSFER].access_token.secret(), "TRANSFER-AT-0");
}

#[test]
fn retry_after_is_honoured() {
    let mut h = Harness::new(settings(AppKind::Client), transfer_requirements());
    h.answers.push_back(Answer::Raw(
        http::Response::builder()
            .status(429)
            .header("Retry-After", "2")
            .body(b"{}".to_vec())
            .unwrap(),
    ));
    h.answer(
        200,
        json!({"access_token": "X", "scope": "openid", "resource_server": "auth.globus.org",
        "expires_in": 100, "other_tokens": [{"access_token": "Y", "scope": TRANSFER_ALL,
        "resource_server": TRANSFER, "expires_in": 100}]}),
    );
    h.authorization(TRANSFER).unwrap();
    assert!(h.steps().contains(&"sleep 2000ms".to_owned()));
}

#[test]
fn identity_mismatch_stores_nothing_and_never_relogs() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    h.answer(200, login_response(BOB, false, TRANSFER_ALL));
    let err = h.run(Operation::login(None, true)).unwrap_err();
    assert!(matches!(
        err.validation(),
        Some(TokenValidationError::IdentityMismatch { stored, new }) if stored == ALICE && new == BOB
    ));
    assert!(!err.is_login_required());
    assert!(!h.steps().iter().any(|s| s.starts_with("store")));
    assert_eq!(h.storage[TRANSFER].access_token.secret(), "TRANSFER-AT-0");
}

#[test]
fn missing_id_token_is_missing_identity() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    let mut body = login_response(ALICE, false, TRANSFER_ALL);
    body.as_object_mut().unwrap().remove("id_token");
    h.answer(200, body);
    let err = h.run(Operation::login(None, true)).unwrap_err();
    assert_eq!(
        err.validation(),
        Some(&TokenValidationError::MissingIdentity)
    );
}

#[test]
fn missing_scope_triggers_login_for_all_requirements() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    h.state
        .add_scope_requirements(
            TRANSFER,
            globus_app_core::scopes::parse("urn:globus:auth:scope:transfer.api.globus.org:other")
                .unwrap(),
        )
        .unwrap();
    h.answer(
        200,
        login_response(
            ALICE,
            false,
            &format!("{TRANSFER_ALL} urn:globus:auth:scope:transfer.api.globus.org:other"),
        ),
    );
    h.authorization(TRANSFER).unwrap();
    assert!(h.steps().contains(&"notice login-starting".to_owned()));
    // A login that still lacks the scope is an error, not a loop.
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.answer(
        200,
        login_response(
            ALICE,
            false,
            "urn:globus:auth:scope:transfer.api.globus.org:less",
        ),
    );
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::UnmetScopeRequirements { .. })
        ),
        "{err}"
    );
}

#[test]
fn dependent_scopes_are_checked_through_consents_and_cached() {
    let mut h = Harness::new(settings(AppKind::User), dependent_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    h.answer(200, consents(true));
    h.authorization(TRANSFER).unwrap();
    let steps = h.steps();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(steps[1].starts_with(&format!("GET /v2/api/identities/{ALICE}/consents")));
    assert_eq!(
        h.log.requests[0].headers()["authorization"]
            .to_str()
            .unwrap(),
        "Bearer AUTH-AT-0"
    );
    // A second operation (after the hot path expires) uses the cached consents.
    h.now = T0 + 2000 - 1000 - 1;
    h.state.add_scope_requirements(TRANSFER, []).unwrap();
    h.authorization(TRANSFER).unwrap();
    assert_eq!(h.steps(), ["load"]);
}

#[test]
fn unmet_dependent_scope_logs_in() {
    let mut h = Harness::new(settings(AppKind::User), dependent_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    h.answer(200, consents(false));
    h.answer(200, login_response(ALICE, false, TRANSFER_ALL));
    h.answer(200, consents(true));
    h.authorization(TRANSFER).unwrap();
    let steps = h.steps();
    assert!(steps[1].contains("/consents"));
    assert!(steps.contains(&"notice login-starting".to_owned()));
    assert!(steps.last().unwrap().contains("/consents"), "{steps:?}");
}

#[test]
fn logout_revokes_both_tokens_and_removes_even_on_failure() {
    let mut s = settings(AppKind::User);
    s.retry = RetryPolicy::none();
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, true);
    h.storage.insert(
        "other.rs".into(),
        token("other.rs", "x", "OTHER-AT", None, T0 + 1000, Some(ALICE)),
    );
    h.answer(200, json!({}));
    h.answer(200, json!({}));
    h.answer(500, json!({"error": "server_error"}));
    h.answer(200, json!({}));
    let report: LogoutReport = h.run(Operation::logout(false)).unwrap();
    assert_eq!(report.removed, ["auth.globus.org", TRANSFER]);
    assert_eq!(report.revocation_failures.len(), 1);
    assert_eq!(report.revocation_failures[0].0, TRANSFER);
    // The error names the token once: no prefix repeated by the notice either.
    let error = &report.revocation_failures[0].1;
    assert!(
        matches!(
            error,
            Error::Response {
                request: RequestKind::Revoke {
                    token: TokenKind::Access,
                    ..
                },
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("revoking the access token for transfer.api.globus.org failed: "),
        "{message}"
    );
    let notice = Notice::RevocationFailed {
        resource_server: TRANSFER.into(),
        error: error.clone(),
    }
    .to_string();
    assert_eq!(notice.matches("revoking").count(), 1, "{notice}");
    let steps = h.steps();
    assert_eq!(
        steps,
        [
            "load",
            "POST /v2/oauth2/token/revoke token=AUTH-AT-0&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "POST /v2/oauth2/token/revoke token=AUTH-RT&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "remove auth.globus.org",
            "POST /v2/oauth2/token/revoke token=TRANSFER-AT-0&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "notice revocation-failed",
            "POST /v2/oauth2/token/revoke token=TRANSFER-RT&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2",
            "remove transfer.api.globus.org",
        ]
    );
    assert_eq!(h.storage.keys().collect::<Vec<_>>(), ["other.rs"]);
    // Sweep removes the rest.
    h.answer(200, json!({}));
    let report = h.run(Operation::logout(true)).unwrap();
    assert_eq!(report.removed, ["other.rs"]);
    assert!(h.storage.is_empty());
    assert_eq!(h.state.identity(), None);
}

#[test]
fn a_waiting_caller_shares_the_failure_instead_of_repeating_it() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.retry = RetryPolicy::none();
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    // Two callers take tickets; the first runs and fails.
    let first = h.state.ticket();
    let second = h.state.ticket();
    h.answer(503, json!({"error": "down"}));
    assert!(
        h.run(Operation::get_authorization(TRANSFER, first))
            .is_err()
    );
    h.steps();
    let err = h
        .run(Operation::get_authorization(TRANSFER, second))
        .unwrap_err();
    assert!(err.to_string().contains("503"));
    assert!(h.steps().is_empty(), "the second caller made no request");
    // A caller that arrives later tries again.
    h.answer(200, json!({"access_token": "T2", "scope": TRANSFER_ALL, "resource_server": TRANSFER, "expires_in": 100}));
    assert_eq!(h.authorization(TRANSFER).unwrap().access_token(), "T2");
}

#[test]
fn a_waiting_caller_gets_the_refreshed_token_without_a_request() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    let first = h.state.ticket();
    let second = h.state.ticket();
    h.answer(200, json!({"access_token": "T2", "scope": TRANSFER_ALL, "resource_server": TRANSFER, "expires_in": 1000}));
    h.run(Operation::get_authorization(TRANSFER, first))
        .unwrap();
    h.steps();
    assert_eq!(
        h.run(Operation::get_authorization(TRANSFER, second))
            .unwrap()
            .access_token(),
        "T2"
    );
    assert!(h.steps().is_empty());
}

#[test]
fn storage_and_login_failures_end_the_operation() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    let mut op = Operation::get_authorization(TRANSFER, h.state.ticket());
    let now = UnixTime(T0);
    assert!(matches!(
        op.resume(&mut h.state, Input::Start, now),
        Step::Load
    ));
    let failure: Box<dyn std::error::Error + Send + Sync> = "disk on fire".into();
    match op.resume(&mut h.state, Input::StorageFailed(failure.into()), now) {
        Step::Done(Err(Error::Storage(e))) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("{other:?}"),
    }

    let mut op = Operation::login(None, true);
    assert!(matches!(
        op.resume(&mut h.state, Input::Start, now),
        Step::Load
    ));
    assert!(matches!(
        op.resume(&mut h.state, Input::Loaded(BTreeMap::new()), now),
        Step::PrepareLogin
    ));
    let failure: Box<dyn std::error::Error + Send + Sync> = "standard input closed".into();
    assert!(matches!(
        op.resume(&mut h.state, Input::LoginFailed(failure.into()), now),
        Step::Done(Err(Error::Login(_)))
    ));
}

#[test]
fn a_redirect_with_another_state_is_refused() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    h.redirect = Box::new(|_, _| RedirectParams::from_query("code=C&state=forged"));
    let err = h.run(Operation::login(None, true)).unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err}");
    h.redirect = Box::new(|_, state| {
        RedirectParams::from_query(&format!(
            "error=access_denied&error_description=No+thanks&state={state}"
        ))
    });
    let err = h.run(Operation::login(None, true)).unwrap_err();
    assert!(err.to_string().contains("No thanks"));
}

#[test]
fn wrong_inputs_are_internal_errors_not_panics() {
    let mut h = Harness::new(settings(AppKind::User), transfer_requirements());
    let mut op = Operation::login_required();
    let now = UnixTime(T0);
    assert!(matches!(
        op.resume(&mut h.state, Input::Start, now),
        Step::Load
    ));
    assert!(matches!(
        op.resume(&mut h.state, Input::Stored, now),
        Step::Done(Err(Error::Internal(_)))
    ));
    let mut op = Operation::login_required();
    assert!(matches!(
        op.resume(&mut h.state, Input::Woke, now),
        Step::Done(Err(Error::Internal(_)))
    ));
}

#[test]
fn construction_misuse() {
    let no_secret = AppSettings::new(
        AppKind::Client,
        "x",
        OAuthClient::native(CLIENT),
        AuthService::production(),
    );
    assert!(AppState::new(no_secret, transfer_requirements()).is_err());
    let confidential_user = AppSettings::new(
        AppKind::User,
        "x",
        OAuthClient::confidential(CLIENT, "s"),
        AuthService::production(),
    );
    assert!(AppState::new(confidential_user.clone(), transfer_requirements()).is_err());
    let mut with_redirect = confidential_user;
    with_redirect.redirect_uri = Some("https://app.example.org/cb".into());
    assert!(AppState::new(with_redirect, transfer_requirements()).is_ok());
    // A client app may start without scope requirements; its login refuses until
    // it has some, sending nothing.
    let mut h = Harness::new(settings(AppKind::Client), ScopeRequirements::new());
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(err.to_string().contains("at least one scope"), "{err}");
    assert_eq!(h.steps(), ["load"]);
    h.state
        .add_scope_requirements(TRANSFER, [TRANSFER_ALL.parse().unwrap()])
        .unwrap();
    h.answer(
        200,
        json!({"access_token": "CC-TRANSFER", "scope": TRANSFER_ALL,
               "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}),
    );
    assert_eq!(
        h.authorization(TRANSFER).unwrap().access_token(),
        "CC-TRANSFER"
    );
    // openid is always required of auth.globus.org.
    let state = AppState::new(settings(AppKind::User), ScopeRequirements::new()).unwrap();
    assert_eq!(state.requirements().scope_string(), "openid");
    let _ = AccessToken::new("unused");
    // A client id that is not a UUID is refused when the app is built.
    for id in [
        "my-app",
        "",
        "61338d24-54d5-408f-a10d-66c06b59f6d",
        "61338d24 54d5",
    ] {
        let typo = AppSettings::new(
            AppKind::User,
            "x",
            OAuthClient::native(id),
            AuthService::production(),
        );
        let err = AppState::new(typo, transfer_requirements()).unwrap_err();
        assert_eq!(
            err,
            globus_app_core::app::ConfigError::InvalidClientId(id.into())
        );
        assert!(err.to_string().contains(&format!("{id:?}")), "{err}");
        assert!(err.to_string().contains("UUID"), "{err}");
    }
}
