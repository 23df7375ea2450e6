//! Robustness of the engine against inputs a careful reviewer would try: a
//! single-use authorization code is never re-sent once the server may have spent
//! it; a namespace holding two identities is refused (a logout still clears it);
//! a login asked for a scope that does not parse fails before anything is sent.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

mod common;

use common::*;
use globus_app_core::app::{
    AppKind, Error, Input, Operation, RetryPolicy, Step, TokenValidationError, TransportErrorKind,
};
use globus_app_core::oauth::AuthorizationParameters;
use serde_json::json;
use std::time::Duration;

const AUTH: &str = "auth.globus.org";

fn login_harness() -> Harness {
    let mut s = settings(AppKind::User);
    s.retry = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(5));
    Harness::new(s, transfer_requirements())
}

fn code_exchanges(steps: &[String]) -> usize {
    steps
        .iter()
        .filter(|s| s.contains("grant_type=authorization_code"))
        .count()
}

fn response(status: u16, retry_after: Option<&str>) -> Answer {
    let mut builder = http::Response::builder().status(status);
    if let Some(secs) = retry_after {
        builder = builder.header("retry-after", secs);
    }
    Answer::Raw(
        builder
            .body(b"{\"error\": \"unavailable\"}".to_vec())
            .unwrap(),
    )
}

#[test]
fn the_code_is_not_resent_after_the_server_may_have_used_it() {
    let cases: [(&str, Answer); 4] = [
        (
            "connection lost",
            Answer::Transport(TransportErrorKind::ConnectionLost),
        ),
        ("timeout", Answer::Transport(TransportErrorKind::Timeout)),
        ("500", response(500, None)),
        ("503 without Retry-After", response(503, None)),
    ];
    for (name, answer) in cases {
        let mut h = login_harness();
        h.answers.push_back(answer);
        let err = h.run(Operation::login(None, true)).unwrap_err();
        let steps = h.steps();
        assert_eq!(code_exchanges(&steps), 1, "{name}: {steps:?}");
        assert!(
            matches!(err, Error::LoginInterrupted { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("log in again"), "{name}: {err}");
        assert!(h.storage.is_empty(), "{name}");
    }
}

#[test]
fn the_code_is_resent_when_nothing_reached_the_server_or_it_refused_first() {
    let cases: [(&str, Answer); 3] = [
        (
            "connection refused",
            Answer::Transport(TransportErrorKind::Connect),
        ),
        ("429", response(429, None)),
        ("503 with Retry-After", response(503, Some("1"))),
    ];
    for (name, answer) in cases {
        let mut h = login_harness();
        h.answers.push_back(answer);
        h.answer(200, login_response(ALICE, false, TRANSFER_ALL));
        h.run(Operation::login(None, true)).unwrap();
        let steps = h.steps();
        assert_eq!(code_exchanges(&steps), 2, "{name}: {steps:?}");
        assert!(h.storage.contains_key(TRANSFER), "{name}");
    }
    // Refused every time: the server's refusal, not an interrupted login.
    let mut h = login_harness();
    for _ in 0..3 {
        h.answers.push_back(response(429, None));
    }
    let err = h.run(Operation::login(None, true)).unwrap_err();
    assert!(matches!(err, Error::Response { .. }), "{err:?}");
}

#[test]
fn other_requests_are_still_retried_after_a_lost_connection() {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    s.retry = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(5));
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 - 5, true);
    h.answers
        .push_back(Answer::Transport(TransportErrorKind::ConnectionLost));
    h.answer(
        200,
        json!({"access_token": "T-2", "scope": TRANSFER_ALL, "resource_server": TRANSFER,
               "expires_in": 172_800, "token_type": "Bearer"}),
    );
    assert_eq!(h.authorization(TRANSFER).unwrap().access_token(), "T-2");
}

#[test]
fn two_identities_in_one_namespace_are_refused_and_logout_clears_them() {
    let mut s = settings(AppKind::User);
    s.retry = RetryPolicy::none();
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, true);
    h.storage.get_mut(TRANSFER).unwrap().identity_id = Some(BOB.to_owned());
    for op in 0..3 {
        let err = match op {
            0 => h.authorization(AUTH).map(|_| ()).unwrap_err(),
            1 => h.run(Operation::login_required()).map(|_| ()).unwrap_err(),
            _ => h.run(Operation::login(None, true)).unwrap_err(),
        };
        match err.validation() {
            Some(TokenValidationError::MixedIdentities { identities }) => {
                assert_eq!(
                    identities,
                    &[
                        (ALICE.to_owned(), vec![AUTH.to_owned()]),
                        (BOB.to_owned(), vec![TRANSFER.to_owned()])
                    ]
                );
            }
            other => panic!("expected MixedIdentities, got {other:?}"),
        }
        let message = err.to_string();
        for part in [ALICE, BOB, AUTH, TRANSFER, "log out"] {
            assert!(message.contains(part), "{message}");
        }
        assert!(!err.is_login_required());
        assert_eq!(h.steps(), ["load"], "nothing is sent");
    }
    // A logout revokes and removes both.
    for _ in 0..4 {
        h.answer(200, json!({"active": false}));
    }
    let report = h.run(Operation::logout(false)).unwrap();
    assert_eq!(report.removed.len(), 2);
    assert!(h.storage.is_empty());
}

/// An entry that could not be read counts as missing (a login replaces it), and a
/// logout removes it with nothing to revoke.
#[test]
fn an_unreadable_entry_counts_as_missing_and_a_logout_removes_it() {
    let mut s = settings(AppKind::User);
    s.retry = RetryPolicy::none();
    let mut h = Harness::new(s, transfer_requirements());
    h.storage = stored_user_tokens(T0 + 1000, false);
    let auth = h.storage[AUTH].clone();
    let readable: std::collections::BTreeMap<_, _> = [(AUTH.to_owned(), auth)].into();
    let mut op = Operation::get_authorization(TRANSFER, h.state.ticket());
    let now = globus_app_core::UnixTime(T0);
    assert!(matches!(
        op.resume(&mut h.state, Input::Start, now),
        Step::Load
    ));
    let partly = Input::LoadedPartly {
        tokens: readable.clone(),
        unreadable: vec![TRANSFER.to_owned(), "other.example.org".to_owned()],
    };
    // Transfer's entry is missing: a login starts.
    let mut step = op.resume(&mut h.state, partly, now);
    while let Step::Notice(_) = step {
        step = op.resume(&mut h.state, Input::Continue, now);
    }
    assert!(matches!(step, Step::PrepareLogin), "{step:?}");

    // A logout revokes the readable token and removes the unreadable entry it
    // covers (a sweep removes the other one too).
    for (sweep, removed) in [
        (false, vec![AUTH, TRANSFER]),
        (true, vec![AUTH, TRANSFER, "other.example.org"]),
    ] {
        let mut op = Operation::logout(sweep);
        let mut input = Input::Start;
        let mut removes = Vec::new();
        let report = loop {
            input = match op.resume(&mut h.state, input, now) {
                Step::Load => Input::LoadedPartly {
                    tokens: readable.clone(),
                    unreadable: vec![TRANSFER.to_owned(), "other.example.org".to_owned()],
                },
                Step::Send(_) => Input::Response(
                    http::Response::builder()
                        .status(200)
                        .body(b"{}".to_vec())
                        .unwrap(),
                ),
                Step::Remove(rs) => {
                    removes.push(rs);
                    Input::Removed
                }
                Step::Notice(_) => Input::Continue,
                Step::Done(result) => break result.unwrap(),
                other => panic!("unexpected step {other:?}"),
            };
        };
        assert_eq!(removes, removed, "sweep {sweep}");
        assert_eq!(report.removed, removed);
    }
}

#[test]
fn a_login_for_a_scope_that_does_not_parse_sends_nothing() {
    for kind in [AppKind::User, AppKind::Client] {
        let mut h = Harness::new(settings(kind), transfer_requirements());
        let params = AuthorizationParameters {
            required_scopes: vec![TRANSFER_ALL.to_owned(), "urn:x[unclosed".to_owned()],
            ..AuthorizationParameters::default()
        };
        let err = h.run(Operation::login(Some(params), false)).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidScope { scope, .. } if scope == "urn:x[unclosed"),
            "{err:?}"
        );
        assert!(err.to_string().contains("urn:x[unclosed"), "{err}");
        assert_eq!(h.steps(), ["load"], "{kind:?}: nothing is sent");
    }
}
