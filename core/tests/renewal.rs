//! Renewal is bounded: a token is valid only while `now < expires_at`; within one
//! operation a resource server is renewed at most once; a token just obtained is
//! served (to its operation and the callers queued behind it) even inside the
//! renewal lead; a later call renews it with one request; every operation stays
//! within its budget, and a legitimate path can reach the budget exactly.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

mod common;

use common::*;
use globus_app_core::UnixTime;
use globus_app_core::app::{
    AppKind, Error, OnValidationError, Operation, RetryPolicy, TokenValidationError,
};
use serde_json::{Value, json};
use std::time::Duration;

/// A token answer for transfer (client credentials or refresh) living `lifetime` s.
fn transfer_token(access_token: &str, lifetime: i64) -> Value {
    json!({"access_token": access_token, "scope": TRANSFER_ALL, "resource_server": TRANSFER,
           "expires_in": lifetime, "token_type": "Bearer"})
}

fn requests(steps: &[String]) -> usize {
    steps
        .iter()
        .filter(|s| s.starts_with("POST") || s.starts_with("GET"))
        .count()
}

#[test]
fn a_token_is_expired_at_its_expiry_second() {
    // Access-token mode: served up to the second before, refused at it.
    let mut s = settings(AppKind::User);
    s.on_validation_error = OnValidationError::Fail;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0, false);
    h.now = T0 - 1;
    assert_eq!(
        h.authorization(TRANSFER).unwrap().access_token(),
        "TRANSFER-AT-0"
    );
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0 - 1))
            .is_some()
    );
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0))
            .is_none()
    );
    h.now = T0;
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::ExpiredToken { expired_at, .. }) if *expired_at == T0
        ),
        "{err}"
    );

    // Refresh mode: at the expiry second the token is not served even when its
    // renewal fails (it is no early renewal).
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.retry = RetryPolicy::none();
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0, true);
    h.now = T0;
    h.answer(503, json!({"error": "unavailable"}));
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    // One second earlier the same failure serves the still-valid token.
    h.now = T0 - 1;
    h.answer(503, json!({"error": "unavailable"}));
    assert_eq!(
        h.authorization(TRANSFER).unwrap().access_token(),
        "TRANSFER-AT-0"
    );
}

#[test]
fn client_app_with_tokens_shorter_than_the_lead() {
    let mut h = Harness::new(settings(AppKind::Client), transfer_requirements());
    // Two callers queue; the first logs in with one request.
    let first = h.state.ticket();
    let queued = h.state.ticket();
    h.answer(
        200,
        json!({"access_token": "AUTH-1", "scope": "openid", "resource_server": "auth.globus.org",
               "expires_in": 30, "token_type": "Bearer",
               "other_tokens": [transfer_token("T-1", 30)]}),
    );
    let a = h
        .run(Operation::get_authorization(TRANSFER, first))
        .unwrap();
    assert_eq!(a.access_token(), "T-1");
    assert_eq!(requests(&h.steps()), 1);
    // Inside the lead, the hot path serves it only to callers arriving within two
    // seconds (whole seconds of the app's clock): a crowd released together...
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0 + 1))
            .is_some()
    );
    assert!(
        h.state
            .cached_authorization(TRANSFER, UnixTime(T0 + 2))
            .is_none()
    );
    // ...and the caller queued behind the login shares it, with no request, while
    // it is valid.
    h.now = T0 + 3;
    let b = h
        .run(Operation::get_authorization(TRANSFER, queued))
        .unwrap();
    assert_eq!(b.access_token(), "T-1");
    assert!(h.steps().is_empty());
    // A later call finds it inside the lead and renews it: one request.
    for (i, at) in ["T-2", "T-3", "T-4"].into_iter().enumerate() {
        h.now = T0 + 5 * (i as i64 + 1);
        h.answer(200, transfer_token(at, 30));
        assert_eq!(h.authorization(TRANSFER).unwrap().access_token(), at);
        let steps = h.steps();
        assert_eq!(requests(&steps), 1, "{steps:?}");
    }
}

#[test]
fn a_lead_longer_than_the_lifetime_makes_one_request_per_call() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.renew_lead_seconds = 200_000; // longer than Globus Auth's 48 h tokens
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 172_800, true);
    for (i, at) in ["T-1", "T-2", "T-3"].into_iter().enumerate() {
        h.now = T0 + 5 * i as i64;
        h.answer(200, transfer_token(at, 172_800));
        assert_eq!(h.authorization(TRANSFER).unwrap().access_token(), at);
        let steps = h.steps();
        assert_eq!(requests(&steps), 1, "{steps:?}");
    }
    // The login-required check renews each resource server once, and says no.
    h.answer(200, transfer_token("T-4", 172_800));
    h.answer(
        200,
        json!({"access_token": "AUTH-2", "scope": "openid", "resource_server": "auth.globus.org",
               "expires_in": 172_800, "token_type": "Bearer"}),
    );
    assert!(!h.run(Operation::login_required()).unwrap());
    assert_eq!(requests(&h.steps()), 2);
}

#[test]
fn a_client_apps_first_call_makes_one_request_whatever_the_lifetime() {
    for lifetime in [0, 1, 29, 30, 59, 60, 61, 3600, 172_800, 1_000_000] {
        let mut h = Harness::new(settings(AppKind::Client), transfer_requirements());
        h.answer(
            200,
            json!({"access_token": "AUTH", "scope": "openid", "resource_server": "auth.globus.org",
                   "expires_in": lifetime, "token_type": "Bearer",
                   "other_tokens": [transfer_token("T", lifetime)]}),
        );
        let result = h.authorization(TRANSFER);
        assert_eq!(requests(&h.steps()), 1, "lifetime {lifetime}");
        if lifetime == 0 {
            // Expired on arrival: an error that says so, not a second grant.
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err.validation(),
                    Some(TokenValidationError::IssuedExpired { .. })
                ),
                "{err}"
            );
            assert!(!err.is_login_required());
            assert!(err.to_string().contains("expired on arrival"), "{err}");
        } else {
            assert_eq!(result.unwrap().access_token(), "T", "lifetime {lifetime}");
        }
    }
}

#[test]
fn a_renewal_that_comes_back_expired_is_not_repeated() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    h.answer(200, transfer_token("T-0", 0));
    let err = h.authorization(TRANSFER).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::IssuedExpired { .. })
        ),
        "{err}"
    );
    assert_eq!(requests(&h.steps()), 1);
}

/// The worst legitimate path of a user app's authorization, every request failing
/// twice before it succeeds, uses the whole budget: 5 requests x 3 attempts.
#[test]
fn a_legitimate_path_reaches_the_budget_exactly() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.retry = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(1));
    let mut h = Harness::new(s, dependent_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    let answer = |h: &mut Harness, status: u16, body: Value| {
        // (429: even the single-use code exchange is sent again after it)
        h.answer(429, json!({"error": "slow down"}));
        h.answer(429, json!({"error": "slow down"}));
        h.answer(status, body);
    };
    // 1. the resource server's renewal
    answer(&mut h, 200, transfer_token("T-1", 172_800));
    // 2. the auth token's renewal, for the consents lookup
    answer(
        &mut h,
        200,
        json!({"access_token": "AUTH-1", "scope": "openid", "resource_server": "auth.globus.org",
               "expires_in": 172_800, "token_type": "Bearer"}),
    );
    // 3. the lookup: the dependent scope is missing, so a login starts
    answer(&mut h, 200, consents(false));
    // 4. the login's code exchange
    answer(&mut h, 200, login_response(ALICE, true, TRANSFER_ALL));
    // 5. the lookup after the login
    answer(&mut h, 200, consents(true));
    let a = h.authorization(TRANSFER).unwrap();
    assert_eq!(a.access_token(), "TRANSFER-AT-1");
    let steps = h.steps();
    assert_eq!(requests(&steps), 15, "{steps:#?}");
    assert_eq!(
        steps.iter().filter(|s| s.starts_with("store")).count(),
        3,
        "{steps:#?}"
    );
}

#[test]
fn budget_errors_name_the_goal_and_say_it_is_a_bug() {
    let err = Error::BudgetExceeded {
        goal: "getting an authorization for transfer.api.globus.org".into(),
        item: globus_app_core::app::BudgetItem::Requests,
        count: 16,
    };
    let message = err.to_string();
    assert!(message.contains("transfer.api.globus.org"), "{message}");
    assert!(message.contains("16 HTTP requests"), "{message}");
    assert!(message.contains("bug"), "{message}");
}
