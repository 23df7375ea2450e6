//! End to end over real HTTP, written once: every adapter (blocking, tokio,
//! async-std) × every storage backend (memory, JSON, SQLite) against the loopback
//! fake Globus Auth. Test names read `runtime::backend::test`.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::login::CommandLineLoginFlow;
use globus_app_blocking::{
    AppConfig, LoginFlowChoice, OnValidationError, ScopeRequirements, TokenStorage,
    TokenStorageChoice, TokenValidationError, scopes,
};
use globus_app_core::OAuthClient;
use globus_app_core::app::{Error, TransportErrorKind};
use globus_app_e2e::{
    AppApi, Backend, ClientApi, Runtime, SharedWriter, TOKEN_LIFETIME, TRANSFER, TRANSFER_ALL,
    Terminal, UserApi, World, transfer,
};
use globus_app_testing::{
    AuthScheme, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, Fault,
    NATIVE_CLIENT_ID, User,
};
use std::io::BufRead;
use std::sync::{Arc, Mutex};

/// Generates `#[test]`s: the first list for each runtime × backend, the second once
/// per runtime.
macro_rules! suite {
    (per_backend: [$($name:ident),* $(,)?], once: [$($once:ident),* $(,)?]) => {
        suite!(@runtime blocking, globus_app_e2e::Blocking, [$($name),*], [$($once),*]);
        suite!(@runtime tokio, globus_app_e2e::Tokio, [$($name),*], [$($once),*]);
        suite!(@runtime async_std, globus_app_e2e::AsyncStd, [$($name),*], [$($once),*]);
    };
    (@runtime $module:ident, $runtime:ty, [$($name:ident),*], [$($once:ident),*]) => {
        mod $module {
            mod memory {
                $( #[test] fn $name() { crate::$name::<$runtime>(globus_app_e2e::Backend::Memory) } )*
            }
            mod json {
                $( #[test] fn $name() { crate::$name::<$runtime>(globus_app_e2e::Backend::Json) } )*
            }
            mod sqlite {
                $( #[test] fn $name() { crate::$name::<$runtime>(globus_app_e2e::Backend::Sqlite) } )*
            }
            $( #[test] fn $once() { crate::$once::<$runtime>() } )*
        }
    };
}

suite!(
    per_backend: [
        local_server_login_then_cached,
        command_line_login_with_pasted_code,
        refresh_after_expiry,
        access_token_mode_after_expiry,
        identity_mismatch_is_rejected_and_nothing_stored,
        missing_scope_triggers_login,
        dependent_scope_checked_through_consents,
        logout_revokes_and_removes,
        client_credentials_and_renewal,
        faults_are_retried_or_typed,
        revoked_refresh_token_leads_to_login,
        concurrent_callers_cause_one_refresh,
    ],
    once: [
        shared_storage_outlives_both_apps,
        owned_storage_is_closed_with_the_app,
        denied_consent_is_a_typed_error,
        tls_failure_is_typed_and_not_retried,
        requirements_error_drives_a_satisfying_login,
        a_code_exchange_cut_off_is_not_resent,
        a_client_app_gets_its_scope_requirements_later,
    ]
);

fn local_server_login_then_cached<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config());
    let header = app.authorization_header(TRANSFER).unwrap();
    assert!(header.starts_with("Bearer "));
    assert!(
        w.fake
            .is_access_token_active(header.trim_start_matches("Bearer "))
    );
    assert_eq!(
        app.identity_id().as_deref(),
        Some(w.fake.user().id.as_str())
    );
    assert_eq!(w.authorize_count(), 1);
    let exchange = &w.fake.token_requests("authorization_code")[0];
    assert_eq!(exchange.form_value("client_id"), Some(NATIVE_CLIENT_ID));
    assert!(exchange.form_value("code_verifier").is_some());
    assert!(
        exchange
            .form_value("redirect_uri")
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    // A second call makes no request at all.
    let before = w.fake.requests().len();
    assert_eq!(app.authorization_header(TRANSFER).unwrap(), header);
    assert_eq!(w.fake.requests().len(), before);
    // A second app on the same storage reads the tokens without logging in.
    if backend != Backend::Memory {
        let second = w.user_app::<R>(w.config());
        assert_eq!(second.authorization_header(TRANSFER).unwrap(), header);
        assert_eq!(w.authorize_count(), 1);
    }
}

fn command_line_login_with_pasted_code<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let output = Arc::new(Mutex::new(Vec::new()));
    let input = std::io::BufReader::new(Terminal::new(output.clone()));
    let flow = CommandLineLoginFlow::with_io(input, SharedWriter(output.clone()));
    let app = w.user_app::<R>(
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
    );
    app.login(None, false).unwrap();
    let printed = String::from_utf8(output.lock().unwrap().clone()).unwrap();
    assert!(printed.contains("Enter the resulting Authorization Code here: "));
    let exchange = &w.fake.token_requests("authorization_code")[0];
    assert_eq!(
        exchange.form_value("redirect_uri").unwrap(),
        w.fake.url("v2/web/auth-code")
    );
    assert!(!app.login_required().unwrap());
    // EOF on standard input is a clear error.
    let eof = CommandLineLoginFlow::with_io(std::io::empty(), std::io::sink());
    let app = w.user_app::<R>(
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(eof))),
    );
    let err = app.login(None, true).unwrap_err();
    assert!(matches!(err, Error::Login(_)), "{err}");
    assert!(err.to_string().contains("standard input closed"));
    let _ = std::io::empty().fill_buf();
}

fn refresh_after_expiry<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));
    let first = app.authorization_header(TRANSFER).unwrap();
    assert_eq!(
        w.fake.requests_to(Endpoint::Authorize)[0].query_value("access_type"),
        Some("offline")
    );
    w.advance(TOKEN_LIFETIME - 30);
    let second = app.authorization_header(TRANSFER).unwrap();
    assert_ne!(first, second);
    assert_eq!(w.refresh_count(), 1);
    assert_eq!(w.authorize_count(), 1, "no second login");
    let stored = app
        .token_storage()
        .get_token_data("DEFAULT", TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(stored.authorization_header(), second);
    assert!(stored.refresh_token.is_some());
    assert_eq!(
        stored.identity_id.as_deref(),
        Some(w.fake.user().id.as_str())
    );
}

fn access_token_mode_after_expiry<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let strict = w.user_app::<R>(w.config().on_validation_error(OnValidationError::Fail));
    let err = strict.get_authorizer(TRANSFER).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::MissingToken { .. })
        ),
        "{err}"
    );
    assert!(strict.login_required().unwrap());
    strict.login(None, false).unwrap();
    assert!(!strict.login_required().unwrap());
    w.advance(TOKEN_LIFETIME + 1);
    let err = strict.get_authorizer(TRANSFER).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::ExpiredToken { .. })
        ),
        "{err}"
    );
    assert!(strict.login_required().unwrap());
    // The default handler logs in again.
    let app = w.user_app::<R>(w.config());
    app.get_authorizer(TRANSFER).unwrap();
    assert_eq!(w.authorize_count(), 2);
}

fn identity_mismatch_is_rejected_and_nothing_stored<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    let before = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    w.fake.set_user(User::new(
        "0b0b0b0b-0000-4000-8000-000000000000",
        "bob@example.org",
    ));
    let err = app.login(None, true).unwrap_err();
    assert!(
        matches!(
            err.validation(),
            Some(TokenValidationError::IdentityMismatch { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("log out first"));
    let after = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    assert_eq!(before, after);
}

fn missing_scope_triggers_login<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    assert_eq!(w.authorize_count(), 1);
    app.add_scope_requirements(
        "groups.api.globus.org",
        scopes::parse("urn:globus:auth:scope:groups.api.globus.org:all").unwrap(),
    )
    .unwrap();
    assert!(app.login_required().unwrap());
    app.get_authorizer("groups.api.globus.org").unwrap();
    assert_eq!(w.authorize_count(), 2);
    let scope = w.fake.requests_to(Endpoint::Authorize)[1]
        .query_value("scope")
        .unwrap()
        .to_owned();
    assert!(
        scope.contains(TRANSFER_ALL) && scope.contains("groups.api.globus.org:all"),
        "{scope}"
    );
}

fn dependent_scope_checked_through_consents<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    let mut reqs = ScopeRequirements::new();
    reqs.add(
        TRANSFER,
        [scopes::transfer::all_with_data_access([collection]).unwrap()],
    )
    .unwrap();
    let app = w.user_app_for::<R>(reqs, w.config());
    app.get_authorizer(TRANSFER).unwrap();
    let consents = w.fake.requests_to(Endpoint::Consents);
    assert_eq!(consents.len(), 1);
    assert!(matches!(consents[0].auth, AuthScheme::Bearer(_)));
    // A new dependent requirement misses the cached consents: they are fetched
    // again, found unmet, and a login asks for it.
    let other = "0e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    app.add_scope_requirements(
        TRANSFER,
        vec![scopes::transfer::all_with_data_access([other]).unwrap()],
    )
    .unwrap();
    app.get_authorizer(TRANSFER).unwrap();
    assert_eq!(w.authorize_count(), 2);
    let scope = w.fake.requests_to(Endpoint::Authorize)[1]
        .query_value("scope")
        .unwrap()
        .to_owned();
    assert!(
        scope.contains(collection) && scope.contains(other),
        "{scope}"
    );
    assert_eq!(w.fake.requests_to(Endpoint::Consents).len(), 3);
}

fn logout_revokes_and_removes<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));
    let header = app.authorization_header(TRANSFER).unwrap();
    let stored = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    let report = app.logout(false).unwrap();
    assert_eq!(report.removed, ["auth.globus.org", TRANSFER]);
    assert!(report.revocation_failures.is_empty());
    assert_eq!(w.fake.requests_to(Endpoint::Revoke).len(), 4);
    for token in stored.values() {
        assert!(!w.fake.is_access_token_active(token.access_token.secret()));
        assert!(
            !w.fake
                .is_refresh_token_active(token.refresh_token.as_ref().unwrap().secret())
        );
    }
    assert!(
        !w.fake
            .is_access_token_active(header.trim_start_matches("Bearer "))
    );
    assert!(
        app.token_storage()
            .get_token_data_by_resource_server("DEFAULT")
            .unwrap()
            .is_empty()
    );
    // A revocation failure still removes the local tokens.
    app.login(None, false).unwrap();
    w.fake
        .inject_fault(Endpoint::Revoke, Fault::Status(500), 10);
    let report = app.logout(false).unwrap();
    assert_eq!(report.removed.len(), 2);
    assert!(!report.revocation_failures.is_empty());
    assert!(
        app.token_storage()
            .get_token_data_by_resource_server("DEFAULT")
            .unwrap()
            .is_empty()
    );
}

fn client_credentials_and_renewal<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.client_app::<R>();
    let first = app.authorization_header(TRANSFER).unwrap();
    let grants = w.fake.token_requests("client_credentials");
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].auth.basic_client_id(),
        Some(CONFIDENTIAL_CLIENT_ID)
    );
    w.advance(TOKEN_LIFETIME - 59);
    let second = app.authorization_header(TRANSFER).unwrap();
    assert_ne!(first, second);
    let grants = w.fake.token_requests("client_credentials");
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[1].form_value("scope"), Some(TRANSFER_ALL));
    // An explicit login with `force` always asks again.
    app.login(true).unwrap();
    assert_eq!(w.fake.token_requests("client_credentials").len(), 3);
    // Misuse is refused at construction.
    let err = R::client_app(
        "x",
        OAuthClient::native(NATIVE_CLIENT_ID),
        transfer(),
        AppConfig::default().auth_url(w.fake.base_url()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("needs a client secret"));
    let err = R::client_app(
        "x",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        transfer(),
        AppConfig::default()
            .auth_url(w.fake.base_url())
            .login_flow(LoginFlowChoice::LocalServer),
    )
    .unwrap_err();
    assert!(err.to_string().contains("takes no login flow"));
}

fn faults_are_retried_or_typed<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.client_app::<R>();
    // Transient failures are retried.
    for fault in [
        Fault::ServiceUnavailable,
        Fault::DropConnection,
        Fault::TooManyRequests { retry_after: 0 },
        Fault::IncompleteBody,
    ] {
        w.fake.inject_fault(Endpoint::Token, fault, 1);
    }
    let err = app.authorization_header(TRANSFER).unwrap_err();
    assert!(err.to_string().contains("429"), "{err}");
    // (three attempts were spent on the first three faults)
    assert_eq!(w.fake.pending_faults(), 1);
    w.fake.clear_faults();
    // A body cut short is a transport failure, retried like a dropped connection.
    w.fake
        .inject_fault(Endpoint::Token, Fault::IncompleteBody, 1);
    let header = app.authorization_header(TRANSFER).unwrap();
    assert_eq!(w.fake.token_requests("client_credentials").len(), 5);
    let stored = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    // Permanent problems are typed errors, and storage keeps what it had.
    w.advance(TOKEN_LIFETIME + 1);
    for (fault, expect) in [
        (Fault::Html { status: 200 }, "not JSON"),
        (Fault::TruncatedJson, "truncated"),
        (Fault::Status(401), "401"),
    ] {
        w.fake.inject_fault(Endpoint::Token, fault, 3);
        let err = app.authorization_header(TRANSFER).unwrap_err();
        assert!(err.to_string().contains(expect), "{err}");
        assert!(
            !err.to_string()
                .contains(header.trim_start_matches("Bearer "))
        );
        w.fake.clear_faults();
        let now = app
            .token_storage()
            .get_token_data_by_resource_server("DEFAULT")
            .unwrap();
        assert_eq!(now, stored);
    }
}

fn revoked_refresh_token_leads_to_login<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));
    app.login(None, false).unwrap();
    w.fake.revoke_all_tokens();
    w.advance(TOKEN_LIFETIME);
    app.get_authorizer(TRANSFER).unwrap();
    let refreshes = w.fake.token_requests("refresh_token");
    assert_eq!(refreshes[0].status, Some(400));
    assert_eq!(w.authorize_count(), 2);
}

fn concurrent_callers_cause_one_refresh<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));
    app.login(None, false).unwrap();
    w.advance(TOKEN_LIFETIME);
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let app = app.clone();
            std::thread::spawn(move || app.authorization_header(TRANSFER).unwrap())
        })
        .collect();
    let headers: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(headers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(w.refresh_count(), 1);
}

fn shared_storage_outlives_both_apps<R: Runtime>() {
    // The reference's documented example: a storage created by the user is shared by
    // two apps with different client ids and stays open after both are closed.
    let w = World::new(Backend::Sqlite);
    let storage: Arc<dyn TokenStorage> = Arc::new(
        globus_app_storage::SqliteTokenStorage::open(w.dir.path().join("shared.db")).unwrap(),
    );
    let config = w
        .config()
        .token_storage(TokenStorageChoice::Custom(storage.clone()));
    let user = w.user_app::<R>(config.clone());
    user.login(None, false).unwrap();
    user.close().unwrap();
    drop(user);
    let service = R::client_app(
        "a-different-app",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        transfer(),
        AppConfig::default()
            .auth_url(w.fake.base_url())
            .token_storage(TokenStorageChoice::Custom(storage.clone()))
            .namespace("service"),
    )
    .unwrap();
    service.get_authorizer(TRANSFER).unwrap();
    service.close().unwrap();
    drop(service);
    assert_eq!(
        storage
            .get_token_data_by_resource_server("DEFAULT")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        storage
            .get_token_data_by_resource_server("service")
            .unwrap()
            .len(),
        2
    );
    storage.close().unwrap();
}

fn owned_storage_is_closed_with_the_app<R: Runtime>() {
    let w = World::new(Backend::Sqlite);
    let app = w.user_app::<R>(w.config());
    app.login(None, false).unwrap();
    app.close().unwrap();
    let err = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

fn denied_consent_is_a_typed_error<R: Runtime>() {
    let w = World::new(Backend::Memory);
    w.fake
        .set_authorize_behavior(globus_app_testing::AuthorizeBehavior::Deny(
            "The user said no".into(),
        ));
    let app = w.user_app::<R>(w.config());
    let err = app.login(None, true).unwrap_err();
    assert!(err.to_string().contains("The user said no"), "{err}");
}

fn requirements_error_drives_a_satisfying_login<R: Runtime>() {
    // A service answered 403 with a Globus Auth Requirements Error: the user must log
    // in with an identity from example.edu. The fake Globus Auth refuses a login that
    // does not ask for it.
    let w = World::new(Backend::Memory);
    w.fake
        .set_authorize_behavior(globus_app_testing::AuthorizeBehavior::RequireSession(
            globus_app_testing::SessionRequirement::SingleDomain("example.edu".into()),
        ));
    let app = w.user_app::<R>(w.config());
    let err = app.login(None, true).unwrap_err();
    assert!(
        err.to_string()
            .contains("session_required_single_domain=example.edu"),
        "{err}"
    );
    let body = br#"{"code": "AuthorizationRequired", "authorization_parameters": {
        "session_message": "Use your example.edu identity",
        "session_required_single_domain": ["example.edu"], "prompt": "login"}}"#;
    let params = globus_app_core::app::parse_authorization_requirements(body).unwrap();
    app.login(Some(params), false).unwrap();
    let authorize = w.fake.requests_to(Endpoint::Authorize);
    let last = authorize.last().unwrap();
    assert_eq!(
        last.query_value("session_required_single_domain"),
        Some("example.edu")
    );
    assert_eq!(
        last.query_value("session_message"),
        Some("Use your example.edu identity")
    );
    assert_eq!(last.query_value("prompt"), Some("login"));
    assert!(app.authorization_header(TRANSFER).is_ok());
}

fn tls_failure_is_typed_and_not_retried<R: Runtime>() {
    // TLS to a plain-HTTP server: the handshake fails, the same way in every adapter.
    let w = World::new(Backend::Memory);
    let app = R::client_app(
        "E2E Service",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        transfer(),
        w.base_config()
            .auth_url(format!("https://{}/", w.fake.addr())),
    )
    .unwrap();
    let err = app.get_authorizer(TRANSFER).unwrap_err();
    match &err {
        Error::Transport { error, .. } => {
            assert_eq!(error.kind, TransportErrorKind::Tls, "{err}");
        }
        other => panic!("not a transport error: {other}"),
    }
}

/// A connection lost during the code exchange may have spent the single-use code:
/// it is not sent again, the error says to log in again, and the next login works.
fn a_code_exchange_cut_off_is_not_resent<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.user_app::<R>(w.config());
    w.fake
        .inject_fault(Endpoint::Token, Fault::DropConnection, 1);
    let err = app.authorization_header(TRANSFER).unwrap_err();
    assert!(matches!(err, Error::LoginInterrupted { .. }), "{err:?}");
    assert!(err.to_string().contains("log in again"), "{err}");
    assert_eq!(w.fake.token_requests("authorization_code").len(), 1);
    // The next call runs a new login.
    w.fake.clear_faults();
    let header = app.authorization_header(TRANSFER).unwrap();
    assert!(
        w.fake
            .is_access_token_active(header.trim_start_matches("Bearer "))
    );
    assert_eq!(w.authorize_count(), 2);
}

/// A `ClientApp` may be built without scope requirements (a service client adds its
/// own later); until it has some, a login is refused before anything is sent.
fn a_client_app_gets_its_scope_requirements_later<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = R::client_app(
        "E2E Service",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        ScopeRequirements::new(),
        w.base_config(),
    )
    .unwrap();
    let err = app.authorization_header(TRANSFER).unwrap_err();
    assert!(err.to_string().contains("at least one scope"), "{err}");
    assert!(w.fake.token_requests("client_credentials").is_empty());
    app.add_scope_requirements(TRANSFER, vec![TRANSFER_ALL.parse().unwrap()])
        .unwrap();
    let header = app.authorization_header(TRANSFER).unwrap();
    assert!(
        w.fake
            .is_access_token_active(header.trim_start_matches("Bearer "))
    );
    assert_eq!(w.fake.token_requests("client_credentials").len(), 1);
}
