//! The middlewares for users' own HTTP clients, each with a real client against the
//! fake Globus Auth's stand-in Transfer: reqwest-middleware (tokio) and ureq
//! (blocking).

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::ResourceServer;
use globus_app_core::app::Error;
use globus_app_e2e::{Backend, TRANSFER, World, tokio_block_on};
use globus_app_testing::CONFIDENTIAL_CLIENT_ID;
use globus_app_tokio::reqwest_middleware::{self, ClientBuilder, reqwest};
use serde_json::Value;

#[test]
fn reqwest_middleware_renews_once_and_guards_destinations() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let w = World::new(Backend::Memory);
    let app = w.client_app::<globus_app_e2e::Tokio>();
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(globus_app_tokio::GlobusAuthMiddleware::new(&app))
        .build();
    let url = format!("{}v0.10/task_list", w.fake.resource_server_url(TRANSFER));
    tokio_block_on(async {
        let get = || {
            client
                .get(&url)
                .with_extension(ResourceServer::new(TRANSFER))
                .send()
        };
        let response = get().await.unwrap();
        assert_eq!(response.status(), 200);
        let echo: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(echo["client_id"], CONFIDENTIAL_CLIENT_ID);
        // A revoked token: one renewal through the client credentials, one resend.
        w.fake.revoke_access_tokens();
        assert_eq!(get().await.unwrap().status(), 200);
        assert_eq!(
            w.resource_server_statuses(TRANSFER),
            [Some(200), Some(401), Some(200)]
        );
        assert_eq!(w.fake.token_requests("client_credentials").len(), 2);
        // Without a resource server the request passes through, without a token.
        let bare = client.get(&url).send().await.unwrap();
        assert_eq!(bare.status(), 401);
        // A host not bound to the resource server gets nothing.
        let before = w.fake.requests().len();
        let error = client
            .get("http://127.0.0.1:9/v0.10/task_list")
            .with_extension(ResourceServer::new(TRANSFER))
            .send()
            .await
            .unwrap_err();
        let reqwest_middleware::Error::Middleware(inner) = error else {
            panic!("a middleware error")
        };
        assert!(matches!(
            inner.downcast_ref::<Error>(),
            Some(Error::Destination(_))
        ));
        assert_eq!(w.fake.requests().len(), before);
    });
}

#[test]
fn ureq_middleware_renews_once_and_guards_destinations() {
    let w = World::new(Backend::Memory);
    let app = w.client_app::<globus_app_e2e::Blocking>();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .middleware(globus_app_blocking::GlobusAuthMiddleware::for_resource_server(&app, TRANSFER))
        .build()
        .into();
    let url = format!("{}v0.10/transfer", w.fake.resource_server_url(TRANSFER));
    let post = || agent.post(&url).send(br#"{"DATA": []}"#.as_slice());
    let mut response = post().unwrap();
    assert_eq!(response.status(), 200);
    let echo: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        (echo["method"].as_str(), echo["body_length"].as_u64()),
        (Some("POST"), Some(12))
    );
    w.fake.revoke_access_tokens();
    let mut again = post().unwrap();
    assert_eq!(again.status(), 200);
    let echo: Value = serde_json::from_str(&again.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(echo["body_length"], 12, "the body was sent again whole");
    assert_eq!(
        w.resource_server_statuses(TRANSFER),
        [Some(200), Some(401), Some(200)]
    );
    assert_eq!(w.fake.token_requests("client_credentials").len(), 2);
    // A host not bound to the resource server gets nothing.
    let before = w.fake.requests().len();
    let error = agent.get("http://127.0.0.1:9/x").call().unwrap_err();
    let ureq::Error::Io(io) = error else {
        panic!("{error:?}")
    };
    let inner = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(matches!(inner, Some(Error::Destination(_))), "{io:?}");
    assert_eq!(w.fake.requests().len(), before);

    // With ureq's default (statuses as errors) a 401 is still renewed.
    let strict: ureq::Agent = ureq::Agent::config_builder()
        .middleware(globus_app_blocking::GlobusAuthMiddleware::for_resource_server(&app, TRANSFER))
        .build()
        .into();
    w.fake.revoke_access_tokens();
    assert_eq!(strict.get(&url).call().unwrap().status(), 200);
    assert_eq!(w.fake.token_requests("client_credentials").len(), 3);
}

#[test]
fn ureq_middleware_streams_a_long_body_once_and_returns_its_answer_as_is() {
    let w = World::new(Backend::Memory);
    let app = w.client_app::<globus_app_e2e::Blocking>();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .middleware(
            globus_app_blocking::GlobusAuthMiddleware::for_resource_server(&app, TRANSFER)
                .max_replayable_body(16 * 1024),
        )
        .build()
        .into();
    let url = format!("{}v0.10/submission", w.fake.resource_server_url(TRANSFER));
    let body = vec![b'x'; 64 * 1024];
    // With a valid token the stream goes through with it.
    let mut response = agent.post(&url).send(body.as_slice()).unwrap();
    assert_eq!(response.status(), 200);
    let echo: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(echo["body_length"], 64 * 1024);
    // A stream cannot be sent twice: a 401 comes back as is, with no renewal.
    w.fake.revoke_access_tokens();
    let response = agent.post(&url).send(body.as_slice()).unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(w.resource_server_statuses(TRANSFER), [Some(200), Some(401)]);
    assert_eq!(w.fake.token_requests("client_credentials").len(), 1);
}
