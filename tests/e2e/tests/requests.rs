//! Authorized requests end to end, on every runtime: the app's `request` and the
//! service clients against the fake Globus Auth's stand-in Transfer, which answers
//! 401 for a revoked token, 403 with a Globus Auth Requirements Error for a missing
//! session, and 200 otherwise. Test names read `runtime::test`.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::{OAuthClient, ScopeRequirements};
use globus_app_core::app::Error;
use globus_app_e2e::{AppApi, Backend, ClientApi, Runtime, TRANSFER, UserApi, World};
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, Fault, ResourceServerConfig,
    SessionRequirement,
};
use serde_json::{Value, json};

macro_rules! requests {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $( #[test] fn $name() { crate::$name::<globus_app_e2e::Blocking>() } )*
        }
        mod tokio {
            $( #[test] fn $name() { crate::$name::<globus_app_e2e::Tokio>() } )*
        }
        mod async_std {
            $( #[test] fn $name() { crate::$name::<globus_app_e2e::AsyncStd>() } )*
        }
    };
}

requests!(
    a_revoked_token_is_renewed_once_and_the_request_succeeds,
    without_a_refresh_token_a_401_is_login_required,
    a_gare_with_redrive_logs_in_once_and_succeeds,
    a_gare_without_redrive_is_a_typed_error,
    a_host_not_bound_to_the_resource_server_gets_nothing,
    retry_after_is_honoured,
    a_client_app_renews_with_its_credentials_through_a_service_client,
);

fn ls(w: &World) -> http::Request<Vec<u8>> {
    let url = format!(
        "{}v0.10/operation/endpoint/abc/ls?path=/~/",
        w.fake.resource_server_url(TRANSFER)
    );
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn echo(response: &http::Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn a_revoked_token_is_renewed_once_and_the_request_succeeds<R: Runtime>() {
    let w = World::new(Backend::Json);
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));
    app.login(None, false).unwrap();
    w.fake.revoke_access_tokens();
    let response = app.request(TRANSFER, ls(&w)).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(echo(&response)["path"], "/v0.10/operation/endpoint/abc/ls");
    assert_eq!(w.resource_server_statuses(TRANSFER), [Some(401), Some(200)]);
    assert_eq!(w.refresh_count(), 1);
    assert_eq!(w.authorize_count(), 1, "no login");
    // The renewed token is the one served from now on, and it was stored.
    let again = app.request(TRANSFER, ls(&w)).unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(w.refresh_count(), 1);
}

fn without_a_refresh_token_a_401_is_login_required<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    w.fake.revoke_access_tokens();
    let error = app.request(TRANSFER, ls(&w)).unwrap_err();
    assert!(matches!(error, Error::LoginRequired { .. }), "{error:?}");
    assert!(error.is_login_required());
    assert_eq!(error.api_error().unwrap().status, 401);
    assert_eq!(w.authorize_count(), 1, "a request never logs in for a 401");
    // A login resolves it.
    app.login(None, true).unwrap();
    assert_eq!(app.request(TRANSFER, ls(&w)).unwrap().status(), 200);
}

fn a_gare_with_redrive_logs_in_once_and_succeeds<R: Runtime>() {
    let w = World::new(Backend::Sqlite);
    let app = w.user_app::<R>(w.config().auto_redrive_gares(true));
    app.login(None, false).unwrap();
    w.fake.configure_resource_server(
        TRANSFER,
        ResourceServerConfig::new()
            .require_session(SessionRequirement::SingleDomain("example.edu".into())),
    );
    let response = app.request(TRANSFER, ls(&w)).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(w.authorize_count(), 2, "one login for the GARE");
    let login = w.fake.requests_to(Endpoint::Authorize).pop().unwrap();
    assert!(
        login.query.contains(&(
            "session_required_single_domain".into(),
            "example.edu".into()
        )),
        "{:?}",
        login.query
    );
    let statuses = w.resource_server_statuses(TRANSFER);
    assert_eq!(statuses, [Some(403), Some(200)]);
}

fn a_gare_without_redrive_is_a_typed_error<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    w.fake.configure_resource_server(
        TRANSFER,
        ResourceServerConfig::new().require_session(SessionRequirement::Mfa),
    );
    let error = app.request(TRANSFER, ls(&w)).unwrap_err();
    let params = error.authorization_parameters().unwrap();
    assert_eq!(params.session_required_mfa, Some(true));
    assert_eq!(w.authorize_count(), 1);
    // What the reference leaves to the caller: log in with the parameters.
    app.login(Some(params.clone()), true).unwrap();
    assert_eq!(app.request(TRANSFER, ls(&w)).unwrap().status(), 200);
}

fn a_host_not_bound_to_the_resource_server_gets_nothing<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<R>(w.config());
    let search = w.fake.resource_server_url("search.api.globus.org");
    let before = w.fake.requests().len();
    for url in [
        format!("{search}v1/search"),
        "https://transfer.api.globus.org/v0.10/task_list".to_owned(),
        "http://localhost:1/x".to_owned(),
    ] {
        let request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
        let error = app.request(TRANSFER, request).unwrap_err();
        assert!(matches!(error, Error::Destination(_)), "{url}: {error:?}");
    }
    assert_eq!(
        w.fake.requests().len(),
        before,
        "nothing was sent, not even a login"
    );
    // Bound by hand, a collection's own host gets its own token.
    let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    app.bind_token_destination(collection, &search).unwrap();
    assert!(matches!(
        app.bind_token_destination(collection, "http://example.com/"),
        Err(Error::Destination(_))
    ));
}

fn retry_after_is_honoured<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    w.fake.inject_resource_server_fault(
        TRANSFER,
        Fault::RetryAfter {
            status: 503,
            retry_after: 1,
        },
        1,
    );
    let started = std::time::Instant::now();
    let post = http::Request::post(ls(&w).uri().to_string())
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(app.request(TRANSFER, post).unwrap().status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let statuses = w.resource_server_statuses(TRANSFER);
    assert_eq!(statuses, [Some(503), Some(200)]);
}

fn a_client_app_renews_with_its_credentials_through_a_service_client<R: Runtime>() {
    let w = World::new(Backend::Json);
    // Built without requirements: the service client registers Transfer's scope.
    let app = R::client_app(
        "E2E Service",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        ScopeRequirements::new(),
        w.base_config(),
    )
    .unwrap();
    let (status, body) = app
        .service_get("transfer", "/v0.10/endpoint_search?filter_fulltext=x")
        .unwrap();
    assert_eq!(status, 200);
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["client_id"], CONFIDENTIAL_CLIENT_ID);
    w.fake.revoke_access_tokens();
    let (status, body) = app
        .service_post("transfer", "v0.10/transfer", &json!({"DATA": []}))
        .unwrap();
    assert_eq!(status, 200);
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(w.fake.token_requests("client_credentials").len(), 2);
    // A service's error answer is a typed error.
    w.fake.respond_once(
        TRANSFER,
        404,
        &json!({"code": "ClientError.NotFound", "message": "No such path", "request_id": "abc"}),
    );
    let error = app.service_get("transfer", "/v0.10/x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "HTTP 404 ClientError.NotFound: No such path (request id abc)"
    );
    assert!(!app.login_required().unwrap());
    ClientApi::login(&app, false).unwrap();
    // Unknown services are configuration errors, named.
    let unknown = app.service_get("transfers", "/").unwrap_err();
    assert!(unknown.to_string().contains("\"transfers\""), "{unknown}");
    let misnamed = R::client_app(
        "E2E Service",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        ScopeRequirements::new(),
        w.base_config()
            .service_url("tranfser", "https://example.org/"),
    )
    .unwrap_err();
    assert!(misnamed.to_string().contains("tranfser"), "{misnamed}");
}
