//! Options where the reference has one and a Python user moving here looks for it:
//! the validation error handler's decisions (blocking and tokio), the local-server
//! flow's landing template and server address, the id_token issuer, the grant label
//! and an environment this library does not know. Through the public API, against
//! the fake Globus Auth.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::login::{LandingTemplate, LoginMessage};
use globus_app_blocking::{
    LocalServerLoginFlow, LoginFlowChoice, OnValidationError, TokenValidationError,
    ValidationDecision, ValidationErrorHandler, scopes,
};
use globus_app_core::app::{ConfigError, Error};
use globus_app_core::oauth::AuthorizationParameters;
use globus_app_e2e::{AppApi, Backend, Runtime, TRANSFER, UserApi, World};
use globus_app_testing::{Endpoint, client};
use std::sync::{Arc, Mutex};
use std::time::Duration;

macro_rules! per_runtime {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $( #[test] fn $name() { crate::$name::<globus_app_e2e::Blocking>() } )*
        }
        mod tokio {
            $( #[test] fn $name() { crate::$name::<globus_app_e2e::Tokio>() } )*
        }
    };
}

per_runtime!(
    handler_decides_a_login_with_parameters,
    handler_decides_a_logout,
    handler_decides_to_fail,
);

/// A handler that records what it saw and answers with `decide`.
fn handler(
    seen: &Arc<Mutex<Vec<String>>>,
    decide: impl Fn() -> ValidationDecision + Send + Sync + 'static,
) -> OnValidationError {
    let seen = Arc::clone(seen);
    OnValidationError::Handler(ValidationErrorHandler::new(move |ctx| {
        seen.lock().unwrap().push(format!(
            "{} {} {:?} {}",
            ctx.resource_server, ctx.app_name, ctx.identity, ctx.error
        ));
        decide()
    }))
}

fn handler_decides_a_login_with_parameters<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = handler(&seen, || {
        ValidationDecision::Login(AuthorizationParameters {
            session_required_single_domain: vec!["example.edu".into()],
            ..AuthorizationParameters::default()
        })
    });
    let app = w.user_app::<R>(w.config().on_validation_error(policy));
    app.get_authorizer(TRANSFER).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("transfer.api.globus.org E2E App None"),
        "{seen:?}"
    );
    let login = w.fake.requests_to(Endpoint::Authorize).pop().unwrap();
    assert!(login.query.contains(&(
        "session_required_single_domain".into(),
        "example.edu".into()
    )));
}

fn handler_decides_a_logout<R: Runtime>() {
    let w = World::new(Backend::Json);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = handler(&seen, || ValidationDecision::Logout);
    let app = w.user_app::<R>(w.config().on_validation_error(policy));
    // Logged in (a forced login does not ask the handler), then a requirement the
    // tokens lack.
    app.login(None, true).unwrap();
    assert!(seen.lock().unwrap().is_empty());
    let extra = scopes::parse("urn:globus:auth:scope:transfer.api.globus.org:extra").unwrap();
    app.add_scope_requirements(TRANSFER, extra).unwrap();
    let error = app.get_authorizer(TRANSFER).unwrap_err();
    assert!(
        matches!(
            error.validation(),
            Some(TokenValidationError::UnmetScopeRequirements { .. })
        ),
        "{error:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains(&format!("Some({:?})", w.fake.user().id)),
        "the handler knows the identity: {seen:?}"
    );
    // Revoked and removed, and no login.
    assert_eq!(w.fake.requests_to(Endpoint::Revoke).len(), 2);
    let stored = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    assert!(stored.is_empty(), "{:?}", stored.keys());
    assert_eq!(w.authorize_count(), 1);
}

fn handler_decides_to_fail<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = handler(&seen, || {
        ValidationDecision::Fail(Error::Config(ConfigError::NoScopeRequirements))
    });
    let app = w.user_app::<R>(w.config().on_validation_error(policy));
    let error = app.get_authorizer(TRANSFER).unwrap_err();
    assert!(
        matches!(error, Error::Config(ConfigError::NoScopeRequirements)),
        "{error:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(w.authorize_count(), 0, "no login");
}

/// A local-server flow whose "browser" keeps the landing page it got.
fn flow_keeping_the_page(page: &Arc<Mutex<String>>) -> LocalServerLoginFlow {
    let page = Arc::clone(page);
    LocalServerLoginFlow::new()
        .timeout(Duration::from_secs(30))
        .feedback(|_: &LoginMessage<'_>| Ok(()))
        .open_with(move |url| {
            let responses = client::browse(url.as_str())?;
            *page.lock().unwrap() = responses
                .last()
                .map(client::Response::text)
                .unwrap_or_default();
            Ok(())
        })
}

#[test]
fn the_landing_page_is_the_template_and_the_server_listens_where_asked() {
    let w = World::new(Backend::Memory);
    let page = Arc::new(Mutex::new(String::new()));
    let template = LandingTemplate::new(
        "<!DOCTYPE html><title>$login_result</title><h1>Our lab: ${login_result}</h1><p>$post_login_message</p>",
    )
    .unwrap();
    // A port chosen by the test, as the reference's `server_address`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flow = flow_keeping_the_page(&page)
        .html_template(template)
        .server_address(([127, 0, 0, 1], port).into());
    let app = w.user_app::<globus_app_e2e::Blocking>(
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
    );
    app.login(None, false).unwrap();
    let page = page.lock().unwrap().clone();
    assert!(
        page.contains("<h1>Our lab: Login successful</h1>"),
        "{page}"
    );
    let exchange = w.fake.token_requests("authorization_code").pop().unwrap();
    assert_eq!(
        exchange.form_value("redirect_uri"),
        Some(format!("http://127.0.0.1:{port}").as_str())
    );
    // A login's grant label: the app's name on this host, as the reference.
    let login = w.fake.requests_to(Endpoint::Authorize).pop().unwrap();
    let host = globus_app_shell::system::hostname().unwrap();
    let label = login
        .query
        .iter()
        .find(|(k, _)| k == "prefill_named_grant")
        .map(|(_, v)| v.clone());
    assert_eq!(label, Some(format!("E2E App on {host}")));
}

#[test]
fn a_server_address_off_loopback_is_refused_when_the_app_is_built() {
    let w = World::new(Backend::Memory);
    let flow = LocalServerLoginFlow::new().server_address(([0, 0, 0, 0], 8765).into());
    let error = globus_app_blocking::UserApp::new(
        "E2E App",
        globus_app_core::OAuthClient::native(globus_app_testing::NATIVE_CLIENT_ID),
        globus_app_e2e::transfer(),
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
    )
    .unwrap_err();
    assert!(error.to_string().contains("0.0.0.0:8765"), "{error}");
}

#[test]
fn the_id_token_issuer_defaults_to_the_environment_s_and_can_be_set() {
    let w = World::new(Backend::Memory);
    // Globus Auth behind a proxy: the tokens name the real issuer.
    w.fake.set_issuer("https://auth.globus.org");
    let app = w.user_app::<globus_app_e2e::Blocking>(w.config());
    app.login(None, false).unwrap();
    // Another issuer: refused, unless configured.
    w.fake.set_issuer("https://issuer.example.org");
    let error = app.login(None, true).unwrap_err();
    assert!(error.to_string().contains("issuer.example.org"), "{error}");
    let pinned = w.user_app::<globus_app_e2e::Blocking>(
        w.config().id_token_issuer("https://issuer.example.org"),
    );
    pinned.login(None, true).unwrap();
}

#[test]
fn an_environment_this_library_does_not_know_works_with_its_auth_url() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<globus_app_e2e::Blocking>(w.config().environment("mylab"));
    app.login(None, false).unwrap();
    assert_eq!(w.authorize_count(), 1);
    // Without the URL, the error says what to set.
    let error = globus_app_blocking::UserApp::new(
        "E2E App",
        globus_app_core::OAuthClient::native(globus_app_testing::NATIVE_CLIENT_ID),
        globus_app_e2e::transfer(),
        globus_app_blocking::AppConfig::default()
            .environment("mylab")
            .token_storage(globus_app_blocking::TokenStorageChoice::Memory),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("GLOBUS_SDK_SERVICE_URL_AUTH"),
        "{error}"
    );
}
