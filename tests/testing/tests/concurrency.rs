//! Many clients at once: no deadlock, no lost request, an exact log.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};

use common::*;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, Fault, client,
};

#[test]
fn two_hundred_threads_twelve_hundred_connections() {
    const THREADS: usize = 200;
    const ROUNDS: usize = 3;
    let fake = FakeAuth::start();
    let barrier = Barrier::new(THREADS);
    let token_url = fake.url("v2/oauth2/token");
    let jwks_url = fake.url("jwk.json");
    let tokens: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let mut mine = Vec::new();
                    for _ in 0..ROUNDS {
                        // each call is a new connection (Connection: close)
                        let response = client::post_form(
                            &token_url,
                            Some((CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
                            &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
                        )
                        .expect("token request");
                        assert_eq!(response.status, 200, "{}", response.text());
                        let body = response.json().expect("json");
                        mine.push(body["access_token"].as_str().expect("at").to_owned());
                        assert_eq!(client::get(&jwks_url).expect("jwks").status, 200);
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(tokens.len(), THREADS * ROUNDS);
    assert_eq!(
        tokens.iter().collect::<HashSet<_>>().len(),
        tokens.len(),
        "unique tokens"
    );
    assert_eq!(fake.requests().len(), THREADS * ROUNDS * 2);
    assert_eq!(
        fake.token_requests("client_credentials").len(),
        THREADS * ROUNDS
    );
    assert!(tokens.iter().all(|t| fake.is_access_token_active(t)));
}

#[test]
fn three_hundred_connections_open_at_once() {
    const CONNECTIONS: usize = 300;
    let fake = FakeAuth::start();
    // open them all first, then use them: the server holds 300 live connections
    let mut streams: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| TcpStream::connect(fake.addr()).expect("connect"))
        .collect();
    for stream in &mut streams {
        stream
            .write_all(b"GET /jwk.json HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
    }
    for stream in &streams {
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("body");
    }
    // keep-alive: a second request on every connection
    for stream in &mut streams {
        stream
            .write_all(b"GET /jwk.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).expect("read");
        assert!(rest.starts_with(b"HTTP/1.1 200"));
    }
    assert_eq!(fake.requests_to(Endpoint::Jwks).len(), CONNECTIONS * 2);
}

#[test]
fn concurrent_refreshes_are_each_logged_once() {
    // What "N concurrent callers caused exactly one refresh" tests rely on: every
    // refresh request is in the log exactly once, whatever the interleaving.
    const THREADS: usize = 50;
    let fake = Arc::new(FakeAuth::start());
    let body = native_login(&fake, TRANSFER, true);
    let refresh_token = body["refresh_token"].as_str().expect("rt").to_owned();
    fake.inject_fault(Endpoint::Token, Fault::ServiceUnavailable, 10);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let fake = Arc::clone(&fake);
            let barrier = Arc::clone(&barrier);
            let refresh_token = refresh_token.clone();
            std::thread::spawn(move || {
                barrier.wait();
                refresh_native(&fake, &refresh_token).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), THREADS - 10);
    assert_eq!(fake.token_requests("refresh_token").len(), THREADS);
    assert_eq!(
        fake.count(|r| r.grant_type() == Some("refresh_token") && r.fault.is_some()),
        10
    );
}
