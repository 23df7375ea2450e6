//! Golden transcripts: each scenario runs against the scripted harness, its
//! transcript (secrets replaced by placeholders) must equal the committed file in
//! `tests/transcripts/`, and the committed file must replay against a fresh state.
//!
//! After a deliberate change of behaviour, rewrite the files with
//! `GLOBUS_APP_BLESS_TRANSCRIPTS=1 cargo test -p globus-app-core --test transcripts`
//! and review their diff.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::app::{
    AppKind, AppSettings, AppState, LeaseSettings, Operation, RetryPolicy, ScopeRequirements,
};
use globus_app_core::transcript::Transcript;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

mod common;
use common::*;

/// How a scenario's app is made: the same for the recording and the replay.
type MakeState = fn() -> (AppSettings, ScopeRequirements);

/// What a scenario does to the harness (storage, answers, operations).
type Scenario = fn(&mut Harness);

/// The operations a scenario runs, for the replay.
type Operations = fn(&mut AppState, &mut dyn FnMut(&mut AppState, Op));

/// One of the operations a transcript may hold.
enum Op {
    Authorization(&'static str),
    Login,
    Logout,
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(format!("{name}.json"))
}

fn golden(name: &str, make: MakeState, scenario: Scenario, operations: Operations) {
    // Record.
    let (settings, requirements) = make();
    let mut h = Harness::new(settings, requirements);
    scenario(&mut h);
    let recorded = h.recorder.transcript().redacted();
    let text = recorded.to_json() + "\n";
    for secret in [
        "AUTH-RT",
        "TRANSFER-RT",
        "AUTH-AT-",
        "TRANSFER-AT-",
        "CC-",
        "THE-CODE",
        "secret",
    ] {
        assert!(!text.contains(secret), "{name}: {secret} left in\n{text}");
    }
    let file = path(name);
    #[allow(clippy::disallowed_methods)] // the harness, not the core, reads it
    let bless = std::env::var_os("GLOBUS_APP_BLESS_TRANSCRIPTS").is_some();
    if bless {
        std::fs::write(&file, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with GLOBUS_APP_BLESS_TRANSCRIPTS=1)",
            file.display()
        )
    });
    let committed = Transcript::from_json(&committed).unwrap();
    assert_eq!(
        committed,
        recorded,
        "{name}: the recorded transcript differs from {}; if the change is meant, bless it",
        file.display()
    );

    // Replay the committed file against a fresh state.
    let (settings, requirements) = make();
    let mut state = AppState::new(settings, requirements).unwrap();
    let mut replay = committed.replay();
    let mut failure = None;
    operations(&mut state, &mut |state, op| {
        if failure.is_some() {
            return;
        }
        let outcome = match op {
            Op::Authorization(rs) => {
                let ticket = state.ticket();
                replay
                    .run(state, Operation::get_authorization(rs, ticket))
                    .map(|_| ())
            }
            Op::Login => replay.run(state, Operation::login(None, true)).map(|_| ()),
            Op::Logout => replay.run(state, Operation::logout(false)).map(|_| ()),
        };
        if let Err(mismatch) = outcome {
            failure = Some(mismatch);
        }
    });
    if let Some(mismatch) = failure {
        panic!("{name}: {mismatch}");
    }
    replay.finish().unwrap();
}

fn user() -> (AppSettings, ScopeRequirements) {
    let mut s = settings(AppKind::User);
    s.request_refresh_tokens = true;
    (s, transfer_requirements())
}

fn client() -> (AppSettings, ScopeRequirements) {
    (settings(AppKind::Client), transfer_requirements())
}

#[test]
fn user_logs_in_with_pkce_then_is_served_from_memory() {
    golden(
        "user_login",
        user,
        |h| {
            h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
            h.run(Operation::login(None, true)).unwrap();
            h.authorization(TRANSFER).unwrap();
        },
        |state, run| {
            run(state, Op::Login);
            run(state, Op::Authorization(TRANSFER));
        },
    );
}

#[test]
fn an_expired_token_is_refreshed() {
    golden(
        "refresh",
        user,
        |h| {
            h.storage = stored_user_tokens(T0 - 5, true);
            h.answer(
                200,
                json!({"access_token": "TRANSFER-AT-2", "scope": TRANSFER_ALL,
                "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}),
            );
            h.authorization(TRANSFER).unwrap();
        },
        |state, run| run(state, Op::Authorization(TRANSFER)),
    );
}

#[test]
fn a_service_account_gets_tokens_after_a_429() {
    golden(
        "client_credentials_after_429",
        client,
        |h| {
            h.answers.push_back(Answer::Raw(
                http::Response::builder()
                    .status(429)
                    .header("retry-after", "2")
                    .body(br#"{"errors": [{"code": "TooManyRequests"}]}"#.to_vec())
                    .unwrap(),
            ));
            h.answer(
                200,
                json!({"access_token": "CC-AUTH", "scope": "openid", "resource_server": "auth.globus.org",
                "expires_in": 172800, "token_type": "Bearer",
                "other_tokens": [{"access_token": "CC-TRANSFER", "scope": TRANSFER_ALL,
                    "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}]}),
            );
            h.authorization(TRANSFER).unwrap();
        },
        |state, run| run(state, Op::Authorization(TRANSFER)),
    );
}

#[test]
fn an_unmet_dependent_scope_is_looked_up_then_logged_in_for() {
    golden(
        "dependent_scope_login",
        || {
            let (s, _) = user();
            (s, dependent_requirements())
        },
        |h| {
            h.storage = stored_user_tokens(T0 + 1000, true);
            h.answer(200, consents(false));
            h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
            h.answer(200, consents(true));
            h.authorization(TRANSFER).unwrap();
        },
        |state, run| run(state, Op::Authorization(TRANSFER)),
    );
}

#[test]
fn logout_revokes_and_removes_even_when_a_revocation_fails() {
    golden(
        "logout",
        || {
            let (mut s, r) = user();
            s.retry = RetryPolicy::none();
            (s, r)
        },
        |h| {
            h.storage = stored_user_tokens(T0 + 1000, true);
            h.answer(200, json!({}));
            h.answer(200, json!({}));
            h.answer(500, json!({"error": "server_error"}));
            h.answer(200, json!({}));
            h.run(Operation::logout(false)).unwrap();
        },
        |state, run| run(state, Op::Logout),
    );
}

#[test]
fn a_renewal_under_a_lease_waits_for_a_busy_holder() {
    golden(
        "lease_busy_then_refresh",
        || {
            let (mut s, r) = user();
            s.lease = Some(LeaseSettings::new("host-1:42", Duration::from_secs(40)));
            (s, r)
        },
        |h| {
            h.storage = stored_user_tokens(T0 - 5, true);
            h.lease_answers.extend([
                globus_app_core::app::Input::LeaseBusy {
                    remaining: Duration::from_millis(30),
                },
                globus_app_core::app::Input::LeaseAcquired { fence: 3 },
            ]);
            h.answer(
                200,
                json!({"access_token": "TRANSFER-AT-2", "scope": TRANSFER_ALL,
                "resource_server": TRANSFER, "expires_in": 172800, "token_type": "Bearer"}),
            );
            h.authorization(TRANSFER).unwrap();
        },
        |state, run| run(state, Op::Authorization(TRANSFER)),
    );
}

fn replay_refresh(transcript: &Transcript) -> Result<(), globus_app_core::transcript::Mismatch> {
    let (settings, requirements) = user();
    let mut state = AppState::new(settings, requirements).unwrap();
    let mut replay = transcript.replay();
    let ticket = state.ticket();
    replay
        .run(&mut state, Operation::get_authorization(TRANSFER, ticket))?
        .unwrap();
    replay.finish()
}

#[test]
fn a_replay_that_parts_from_its_transcript_says_where_with_a_diff() {
    let text = std::fs::read_to_string(path("refresh")).unwrap();
    assert!(replay_refresh(&Transcript::from_json(&text).unwrap()).is_ok());

    // The recorded refresh names another refresh token: the operation's request
    // carries the one it loaded.
    let edited = text.replacen(
        "refresh_token=__refresh-token-2__&grant_type",
        "refresh_token=__refresh-token-2__&scope=more&grant_type",
        1,
    );
    assert_ne!(edited, text);
    let mismatch = replay_refresh(&Transcript::from_json(&edited).unwrap()).unwrap_err();
    let message = mismatch.to_string();
    assert_eq!((mismatch.operation, mismatch.exchange), (0, 2), "{message}");
    assert!(message.starts_with("transcript mismatch in operation 0, exchange 2: at body.text: the transcript has \"refresh_token=__refresh-token-2__&scope=more"), "{message}");
    // The diff shows the recorded line and the asked one (the loaded token was
    // given as its placeholder).
    assert!(
        message.contains("\n-     \"text\": \"refresh_token=__refresh-token-2__&scope=more"),
        "{message}"
    );
    assert!(
        message.contains("\n+     \"text\": \"refresh_token=__refresh-token-2__&grant_type"),
        "{message}"
    );
    assert!(message.contains("\n    \"method\": \"POST\","), "{message}");

    // A transcript cut short, and one with a step too many.
    let mut short = Transcript::from_json(&text).unwrap();
    short.operations[0].exchanges.truncate(3);
    let message = replay_refresh(&short).unwrap_err().to_string();
    assert!(
        message.contains("the transcript ends, the operation asks more"),
        "{message}"
    );
    let mut long = Transcript::from_json(&text).unwrap();
    let extra = long.operations[0].exchanges[0].clone();
    long.operations[0].exchanges.push(extra);
    let message = replay_refresh(&long).unwrap_err().to_string();
    assert!(
        message.contains("the operation ended, the transcript goes on with load"),
        "{message}"
    );

    // Another operation, and a recorded operation left over.
    let (settings, requirements) = user();
    let mut state = AppState::new(settings, requirements).unwrap();
    let transcript = Transcript::from_json(&text).unwrap();
    let mut replay = transcript.replay();
    let message = replay
        .run(&mut state, Operation::logout(false))
        .unwrap_err()
        .to_string();
    assert!(message.contains("the transcript has \"getting an authorization for transfer.api.globus.org\", the operation is \"logging out\""), "{message}");
    assert!(
        transcript
            .replay()
            .finish()
            .unwrap_err()
            .to_string()
            .contains("1 recorded operations were not replayed")
    );
}

#[test]
fn values_named_by_the_caller_are_replaced_too() {
    let text = std::fs::read_to_string(path("refresh")).unwrap();
    let transcript = Transcript::from_json(&text).unwrap();
    let redacted = transcript.redact_values([("identity", ALICE)]);
    let json = redacted.to_json();
    assert!(!json.contains(ALICE));
    assert!(json.contains("__identity-1__"));
    // Still replays: the identity is data the operation carries, not a secret it checks.
    replay_refresh(&redacted).unwrap();
}
