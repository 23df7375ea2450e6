//! The helpers for apps: the fake's clock, the scripted browser, the secrets it
//! hands out and the redaction of transcripts. (Whole apps pointed at a fake are
//! tested in tests/user-tests and examples/testing.rs.)

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::transcript::Transcript;
use globus_app_shell::system::Clock;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, FakeAuth, ScriptedBrowser, client,
};

#[test]
fn the_clock_moves_with_the_fake() {
    let fake = FakeAuth::builder().now(1_000).start();
    let clock = fake.clock();
    assert_eq!(clock.now().0, 1_000);
    fake.advance(60);
    assert_eq!(clock.now().0, 1_060);
    fake.set_now(5);
    assert_eq!(clock.now().0, 5);
    assert_eq!(format!("{clock:?}"), "FakeClock(UnixTime(5))");
}

#[test]
fn the_browser_reports_a_page_it_cannot_reach_and_records_nothing() {
    let browser = ScriptedBrowser::new();
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(browser.open(&format!("http://127.0.0.1:{port}/")).is_err());
    assert!(browser.visits().is_empty());
}

#[test]
fn the_browser_records_where_it_ended() {
    let fake = FakeAuth::start();
    let browser = ScriptedBrowser::new();
    browser.open(&fake.url("jwk.json")).unwrap();
    let visits = browser.visits();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].status, 200);
    assert!(visits[0].page.contains("\"keys\""), "{}", visits[0].page);
}

#[test]
fn secrets_name_every_token_and_the_changing_addresses() {
    let fake = FakeAuth::start();
    let transfer = fake.resource_server_url("transfer.api.globus.org");
    let grant = [
        ("grant_type", "client_credentials"),
        ("scope", "urn:globus:auth:scope:transfer.api.globus.org:all"),
    ];
    let basic = Some((CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET));
    let tokens = client::post_form(&fake.url("v2/oauth2/token"), basic, &grant)
        .unwrap()
        .json()
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let secrets = fake.secrets();
    assert!(secrets.contains(&("access-token", token.clone())));
    assert!(secrets.contains(&("client-secret", CONFIDENTIAL_CLIENT_SECRET.to_owned())));
    assert!(secrets.contains(&("auth-url", fake.base_url().trim_end_matches('/').to_owned())));
    assert!(secrets.contains(&("service-url", transfer.trim_end_matches('/').to_owned())));

    // A transcript holding them anywhere comes back without them.
    let text = format!(
        r#"{{"format": 1, "operations": [{{"operation": "x", "exchanges": [
        {{"now": 1, "asked": {{"step": "notice", "text": "{token} at {transfer}"}},
          "given": {{"given": "continue"}}}}]}}]}}"#
    );
    let redacted = fake
        .redact(&Transcript::from_json(&text).unwrap())
        .to_json();
    assert!(!redacted.contains(&token), "{redacted}");
    assert!(!redacted.contains("127.0.0.1"), "{redacted}");
    assert!(
        redacted.contains("__access-token-1__ at __service-url-1__/"),
        "{redacted}"
    );
}

#[test]
fn the_default_clients_are_the_registered_ones() {
    let fake = FakeAuth::start();
    assert!(fake.native_client().is_native());
    assert_eq!(
        fake.confidential_client().client_id(),
        CONFIDENTIAL_CLIENT_ID
    );
}
