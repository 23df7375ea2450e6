//! What the budget stops: the engine with its renew-once rule switched off loops on
//! tokens that live shorter than the renewal lead, and the budget ends that loop.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use super::Engine;
use crate::app::Step;
use crate::app::budget::BudgetItem;
use crate::app::operation::{Goal, Outcome};
use crate::app::{AppKind, AppSettings, AppState, Error, Input, RetryPolicy, ScopeRequirements};
use crate::{AuthService, HttpResponse, OAuthClient, UnixTime};

const TRANSFER: &str = "transfer.api.globus.org";

fn client_app() -> AppState {
    let mut settings = AppSettings::new(
        AppKind::Client,
        "Test App",
        OAuthClient::confidential("61338d24-54d5-408f-a10d-66c06b59f6d2", "secret"),
        AuthService::production(),
    );
    settings.retry = RetryPolicy::none();
    let mut requirements = ScopeRequirements::new();
    requirements
        .add_str(
            TRANSFER,
            "urn:globus:auth:scope:transfer.api.globus.org:all",
        )
        .unwrap();
    AppState::new(settings, requirements).unwrap()
}

/// A client-credentials answer whose access token lives 30 s (the lead is 60 s).
fn short_token() -> HttpResponse {
    let body = serde_json::json!({
        "access_token": "AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
        "resource_server": TRANSFER, "expires_in": 30, "token_type": "Bearer",
        "other_tokens": []
    });
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .unwrap()
}

/// Drives an authorization for transfer, answering every request with a 30 s
/// token; returns the result and the number of requests sent.
fn authorize(renew_once: bool) -> (Result<Outcome, Error>, u32) {
    let mut state = client_app();
    let mut engine = Engine::new(Goal::Authorize {
        resource_server: TRANSFER.to_owned(),
        ticket: state.ticket(),
        rejected: None,
    });
    engine.renew_once = renew_once;
    let now = UnixTime(1_700_000_000);
    let mut input = Input::Start;
    let mut sent = 0;
    for _ in 0..1_000 {
        input = match engine.resume(&mut state, input, now) {
            Step::Load => Input::Loaded(Default::default()),
            Step::Send(_) => {
                sent += 1;
                Input::Response(short_token())
            }
            Step::Store(_) => Input::Stored,
            Step::Notice(_) => Input::Continue,
            Step::Done(result) => return (result, sent),
            other => panic!("unexpected step {other:?}"),
        };
    }
    panic!("the operation did not end in 1,000 steps");
}

#[test]
fn the_budget_ends_the_old_renewal_loop() {
    let (result, sent) = authorize(false);
    match result {
        Err(Error::BudgetExceeded { goal, item, count }) => {
            assert_eq!(item, BudgetItem::Requests);
            assert_eq!(count, 3, "a client app's authorization may send 2 requests");
            assert!(goal.contains(TRANSFER), "{goal}");
        }
        other => panic!("expected BudgetExceeded, got {other:?}"),
    }
    assert_eq!(sent, 2, "the refused request is never sent");
    let message = authorize(false).0.unwrap_err().to_string();
    assert!(message.contains("3 HTTP requests"), "{message}");
}

#[test]
fn a_token_just_obtained_is_served_inside_the_lead() {
    let (result, sent) = authorize(true);
    assert!(
        matches!(result, Ok(Outcome::Authorization(_))),
        "{result:?}"
    );
    assert_eq!(sent, 1);
}
