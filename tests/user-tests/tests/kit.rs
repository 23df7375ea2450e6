//! A user's tests of their own Globus code, with the published crates only: a
//! local-server login through a scripted browser, a refresh after a clock jump, a
//! GARE met and satisfied, and a recorded transcript replayed against the core. The
//! tests share one process and run in parallel; none reads an environment variable
//! or the real clock.

use globus_app::core::app::{AppKind, AppSettings, AppState, LeaseSettings, Operation};
use globus_app::core::transcript::Transcript;
use globus_app::core::{AuthService, UnixTime};
use globus_app::{AppConfig, Error, OAuthClient, ScopeRequirements, TranscriptRecorder};
use globus_app_testing::{
    Endpoint, FakeAuth, NATIVE_CLIENT_ID, ResourceServerConfig, ScriptedBrowser, SessionRequirement,
};
use std::path::PathBuf;
use std::time::Duration;

const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn transfer() -> ScopeRequirements {
    let mut requirements = ScopeRequirements::new();
    requirements
        .add_str(TRANSFER, TRANSFER_ALL)
        .expect("a valid scope");
    requirements
}

fn task_list(fake: &FakeAuth) -> globus_app::http::Request<Vec<u8>> {
    let url = format!("{}v0.10/task_list", fake.resource_server_url(TRANSFER));
    globus_app::http::Request::get(url)
        .body(Vec::new())
        .expect("a request")
}

/// A blocking user app for the fake's native client, asking for Transfer.
fn blocking_app(fake: &FakeAuth, config: AppConfig) -> globus_app::blocking::UserApp {
    globus_app::blocking::UserApp::new("Kit App", fake.native_client(), transfer(), config)
        .expect("the app builds")
}

#[test]
fn logs_in_with_the_local_server_flow_through_a_scripted_browser() {
    let fake = FakeAuth::start();
    let browser = ScriptedBrowser::new();
    let app = blocking_app(&fake, fake.app_config(&browser));
    assert!(app.login_required().expect("a decision"));
    app.login(None, false).expect("the login");
    assert!(!app.login_required().expect("a decision"));

    let visits = browser.visits();
    assert_eq!(visits.len(), 1);
    assert!(
        visits[0]
            .authorize_url
            .starts_with(&fake.url("v2/oauth2/authorize?"))
    );
    assert_eq!(visits[0].status, 200);
    assert!(
        visits[0].page.contains("Login successful"),
        "{}",
        visits[0].page
    );
    // The redirect came to the app's loopback listener, with PKCE.
    let login = fake
        .token_requests("authorization_code")
        .pop()
        .expect("an exchange");
    assert!(
        login
            .form_value("redirect_uri")
            .is_some_and(|uri| uri.starts_with("http://127.0.0.1:"))
    );
    assert!(login.form_value("code_verifier").is_some());
}

#[tokio::test]
async fn refreshes_after_a_clock_jump() {
    let fake = FakeAuth::start();
    let browser = ScriptedBrowser::new();
    let app = globus_app::tokio::UserApp::new(
        "Kit App",
        fake.native_client(),
        transfer(),
        fake.app_config(&browser).request_refresh_tokens(true),
    )
    .expect("the app builds");
    let first = app.authorization_header(TRANSFER).await.expect("a token");
    // Still valid an hour later: served from memory.
    fake.advance(3600);
    assert_eq!(
        app.authorization_header(TRANSFER).await.expect("a token"),
        first
    );
    assert!(fake.token_requests("refresh_token").is_empty());
    // Three days later it has expired: one refresh, no second login.
    fake.advance(3 * 86_400);
    let renewed = app.authorization_header(TRANSFER).await.expect("a token");
    assert_ne!(renewed, first);
    assert_eq!(fake.token_requests("refresh_token").len(), 1);
    assert_eq!(browser.visits().len(), 1);
    let response = app
        .request(TRANSFER, task_list(&fake))
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
}

#[test]
fn meets_a_gare_and_satisfies_it() {
    let fake = FakeAuth::start();
    let browser = ScriptedBrowser::new();
    let app = blocking_app(&fake, fake.app_config(&browser));
    assert_eq!(
        app.request(TRANSFER, task_list(&fake))
            .expect("a response")
            .status(),
        200
    );

    // The collection now wants a session from example.edu.
    fake.configure_resource_server(
        TRANSFER,
        ResourceServerConfig::new()
            .require_session(SessionRequirement::SingleDomain("example.edu".into())),
    );
    let error = app.request(TRANSFER, task_list(&fake)).unwrap_err();
    assert!(
        matches!(error, Error::AuthorizationRequired { .. }),
        "{error:?}"
    );
    let params = error
        .authorization_parameters()
        .expect("its parameters")
        .clone();
    assert_eq!(params.session_required_single_domain, ["example.edu"]);

    app.login(Some(params), true).expect("the second login");
    assert_eq!(
        app.request(TRANSFER, task_list(&fake))
            .expect("a response")
            .status(),
        200
    );
    let logins = fake.requests_to(Endpoint::Authorize);
    assert_eq!(logins.len(), 2);
    assert_eq!(
        logins[1].query_value("session_required_single_domain"),
        Some("example.edu")
    );
}

// ------------------------------------------------------------------ transcripts

/// A fixed start for the fake's clock, so that recordings agree from run to run.
const T0: u64 = 1_700_000_000;

fn transcript_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("transcripts/login_then_refresh.json")
}

/// Logs in, then gets a token again after it expired, recording both operations.
fn record() -> Transcript {
    let fake = FakeAuth::builder().now(T0).start();
    // The issuer a replay with Globus Auth's production URLs accepts.
    fake.set_issuer("https://auth.globus.org");
    let browser = ScriptedBrowser::new();
    let recorder = TranscriptRecorder::new();
    let app = blocking_app(
        &fake,
        fake.app_config(&browser)
            .request_refresh_tokens(true)
            .record_transcript(recorder.clone()),
    );
    app.login(None, true).expect("the login");
    fake.advance(3 * 86_400);
    app.authorization_header(TRANSFER)
        .expect("a refreshed token");
    fake.redact(&recorder.transcript())
}

/// The settings the recording app had, for a replay of its transcript.
fn replay_state() -> AppState {
    let mut settings = AppSettings::new(
        AppKind::User,
        "Kit App",
        OAuthClient::native(NATIVE_CLIENT_ID),
        AuthService::production(),
    );
    settings.request_refresh_tokens = true;
    // The app named its grant (its placeholder stands for any name).
    settings.prefill_named_grant = Some("Kit App on a test host".into());
    // A memory storage keeps leases: renewals take one.
    settings.lease = Some(LeaseSettings::new("replay", Duration::from_secs(30)));
    AppState::new(settings, transfer()).expect("valid settings")
}

fn replay(transcript: &Transcript) -> Result<(), globus_app::core::transcript::Mismatch> {
    let mut state = replay_state();
    let mut replay = transcript.replay();
    replay
        .run(&mut state, Operation::login(None, true))?
        .expect("the login succeeds again");
    let ticket = state.ticket();
    let authorization = replay
        .run(&mut state, Operation::get_authorization(TRANSFER, ticket))?
        .expect("the refresh succeeds again");
    assert_eq!(
        authorization.expires_at(),
        UnixTime(i64::try_from(T0).expect("a time") + 3 * 86_400 + 172_800)
    );
    replay.finish()
}

#[test]
fn replays_a_recorded_transcript_against_the_core() {
    #[allow(clippy::disallowed_methods)] // the test, not the library, reads it
    let bless = std::env::var_os("GLOBUS_APP_BLESS_TRANSCRIPTS").is_some();
    if bless {
        let text = record().to_json() + "\n";
        std::fs::write(transcript_path(), text).expect("the file is written");
    }
    let text = std::fs::read_to_string(transcript_path()).expect("the recorded transcript");
    for secret in ["AT-", "RT-", "fake-auth-confidential-secret", "127.0.0.1"] {
        assert!(
            !text.contains(secret),
            "{secret} in the committed transcript"
        );
    }
    let transcript = Transcript::from_json(&text).expect("a transcript");
    if let Err(mismatch) = replay(&transcript) {
        panic!("{mismatch}");
    }
}

#[test]
fn a_fresh_recording_replays_too() {
    let transcript = record();
    let text = transcript.to_json();
    for (kind, value) in [
        ("a secret", "fake-auth-confidential-secret"),
        ("a port", "127.0.0.1:"),
    ] {
        assert!(!text.contains(value), "{kind} left in\n{text}");
    }
    if let Err(mismatch) = replay(&transcript) {
        panic!("{mismatch}");
    }
}
