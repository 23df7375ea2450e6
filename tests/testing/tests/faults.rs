//! Each injected fault, as a client sees it and as the log records it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, Fault,
};

fn client_credentials(fake: &FakeAuth) -> Resp {
    post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
    )
}

/// Sends a raw request on a fresh connection and reads until the server closes it.
fn raw_exchange(fake: &FakeAuth, request: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(fake.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

const JWKS_REQUEST: &str = "GET /jwk.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn status_faults_then_recovery() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Token, Fault::InternalServerError, 1);
    fake.inject_fault(Endpoint::Token, Fault::ServiceUnavailable, 2);
    fake.inject_fault(Endpoint::Token, Fault::Status(502), 1);
    assert_eq!(fake.pending_faults(), 4);

    let first = client_credentials(&fake);
    assert_eq!(first.status, 500);
    assert_eq!(first.json()["errors"][0]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(client_credentials(&fake).status, 503);
    let third = client_credentials(&fake);
    assert_eq!(third.status, 503);
    assert_eq!(third.json()["errors"][0]["status"], "503");
    assert_eq!(client_credentials(&fake).status, 502);
    assert_eq!(client_credentials(&fake).status, 200);
    assert_eq!(fake.pending_faults(), 0);

    let log = fake.token_requests("client_credentials");
    let statuses: Vec<_> = log.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(500), Some(503), Some(503), Some(502), Some(200)]
    );
    assert_eq!(log[0].fault, Some(Fault::InternalServerError));
    assert_eq!(log[4].fault, None);
}

#[test]
fn faults_apply_only_to_their_endpoint_and_any_matches_all() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Userinfo, Fault::ServiceUnavailable, 1);
    assert_eq!(
        client_credentials(&fake).status,
        200,
        "not the token endpoint"
    );
    assert_eq!(fake.pending_faults(), 1);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);

    fake.inject_fault(Endpoint::Any, Fault::ServiceUnavailable, 2);
    assert_eq!(get(&fake.url("jwk.json")).status, 503);
    assert_eq!(client_credentials(&fake).status, 503);
    assert_eq!(get(&fake.url("jwk.json")).status, 200);

    fake.inject_fault(Endpoint::Token, Fault::InternalServerError, 0);
    assert_eq!(fake.pending_faults(), 0, "zero times is nothing");
}

#[test]
fn too_many_requests_has_retry_after() {
    let fake = FakeAuth::start();
    fake.inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests { retry_after: 7 },
        1,
    );
    let response = client_credentials(&fake);
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("7"));
    assert_eq!(response.json()["errors"][0]["code"], "TOO_MANY_REQUESTS");
}

#[test]
fn html_body() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Token, Fault::Html { status: 502 }, 1);
    fake.inject_fault(Endpoint::Token, Fault::Html { status: 200 }, 1);
    let response = client_credentials(&fake);
    assert_eq!(response.status, 502);
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(response.body.starts_with("<!DOCTYPE html>"));
    let portal = client_credentials(&fake);
    assert_eq!(portal.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&portal.body).is_err());
}

#[test]
fn invalid_grant_fault() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, TRANSFER, true);
    let refresh_token = body["refresh_token"].as_str().expect("rt");
    fake.inject_fault(Endpoint::Token, Fault::InvalidGrant, 1);
    let response = refresh_native(&fake, refresh_token);
    assert_eq!(response.status, 400);
    assert_eq!(response.error(), "invalid_grant");
    // the fault did not touch the grant
    assert!(fake.is_refresh_token_active(refresh_token));
    assert_eq!(refresh_native(&fake, refresh_token).status, 200);
}

#[test]
fn truncated_json_is_framed_but_unparseable() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Token, Fault::TruncatedJson, 1);
    let response = client_credentials(&fake);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(response.body.starts_with('{'));
    assert!(serde_json::from_str::<serde_json::Value>(&response.body).is_err());
    // the server keeps serving
    assert_eq!(client_credentials(&fake).status, 200);
}

#[test]
fn incomplete_body_is_an_io_error() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Jwks, Fault::IncompleteBody, 2);
    // ureq reads the body and fails
    let mut response = agent()
        .get(&fake.url("jwk.json"))
        .call()
        .expect("head arrives");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.body_mut().read_to_string().is_err());
    // on the wire: the Content-Length promises more than is sent before the close
    let raw =
        String::from_utf8(raw_exchange(&fake, JWKS_REQUEST).expect("exchange")).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head");
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("length")
        .parse()
        .expect("number");
    assert!(body.len() < declared, "{declared} > {}", body.len());
    assert!(head.contains("Connection: close"));
}

#[test]
fn dropped_connection() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Jwks, Fault::DropConnection, 1);
    let raw = raw_exchange(&fake, JWKS_REQUEST);
    assert!(
        raw.map_or(true, |bytes| bytes.is_empty()),
        "no response bytes"
    );
    let log = fake.requests_to(Endpoint::Jwks);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, None);
    assert_eq!(log[0].fault, Some(Fault::DropConnection));

    // ureq sees an error for a token request
    fake.inject_fault(Endpoint::Token, Fault::DropConnection, 1);
    let result = agent()
        .post(&fake.url("v2/oauth2/token"))
        .header(
            "Authorization",
            &basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        )
        .send_form([("grant_type", "client_credentials"), ("scope", TRANSFER)]);
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        fake.token_requests("client_credentials").len(),
        1,
        "no silent retry"
    );
    assert_eq!(client_credentials(&fake).status, 200);
}

#[test]
fn delay_then_normal_answer() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Token, Fault::Delay(Duration::from_millis(150)), 1);
    let started = Instant::now();
    let response = client_credentials(&fake);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(response.status, 200, "processed after the delay");
    let log = fake.token_requests("client_credentials");
    assert_eq!(log[0].fault, Some(Fault::Delay(Duration::from_millis(150))));
    assert_eq!(log[0].status, Some(200));
}

#[test]
fn delay_does_not_block_other_requests() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Token, Fault::Delay(Duration::from_millis(400)), 1);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| client_credentials(&fake));
        // wait until the slow request is in its delay (the fault is taken)
        while fake.pending_faults() > 0 {
            std::thread::yield_now();
        }
        let started = Instant::now();
        assert_eq!(get(&fake.url("jwk.json")).status, 200);
        assert_eq!(fake.now(), fake.now(), "the state lock is free");
        assert!(started.elapsed() < Duration::from_millis(300));
        assert_eq!(slow.join().expect("slow request").status, 200);
    });
}

#[test]
fn drop_during_a_long_delay_does_not_hang() {
    let fake = FakeAuth::start();
    fake.inject_fault(Endpoint::Jwks, Fault::Delay(Duration::from_secs(3600)), 1);
    let addr = fake.addr();
    let waiter = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(JWKS_REQUEST.as_bytes()).expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    });
    while fake.pending_faults() > 0 {
        std::thread::yield_now();
    }
    let started = Instant::now();
    drop(fake);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        waiter.join().expect("waiter").is_empty(),
        "closed without an answer"
    );
}

#[test]
fn drop_with_idle_keep_alive_connections_does_not_hang() {
    let fake = FakeAuth::start();
    let agent = agent();
    for _ in 0..3 {
        let mut response = agent.get(&fake.url("jwk.json")).call().expect("ok");
        let _ = response.body_mut().read_to_string();
    }
    // and a raw connection that never sends anything
    let _idle = TcpStream::connect(fake.addr()).expect("connect");
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(agent);
}
