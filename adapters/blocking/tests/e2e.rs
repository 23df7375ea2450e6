//! End to end over real HTTP: the blocking apps against the loopback fake Globus
//! Auth, with each storage backend.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::login::{CommandLineLoginFlow, LocalServerLoginFlow};
use globus_app_blocking::{
    AppConfig, ClientApp, Error, LoginFlowChoice, ManualClock, OAuthClient, OnValidationError,
    RetryPolicy, ScopeRequirements, TokenStorage, TokenStorageChoice, TokenValidationError,
    UserApp, scopes,
};
use globus_app_fake_auth::{
    AuthScheme, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, Fault,
    NATIVE_CLIENT_ID, User, client,
};
use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

/// Which storage a test runs with.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Json,
    Sqlite,
}

struct World {
    fake: FakeAuth,
    clock: ManualClock,
    dir: tempfile::TempDir,
    backend: Backend,
}

impl World {
    fn new(backend: Backend) -> World {
        let fake = FakeAuth::start();
        let clock = ManualClock::new(globus_app_core::UnixTime(
            i64::try_from(fake.now()).unwrap(),
        ));
        World {
            fake,
            clock,
            dir: tempfile::tempdir().unwrap(),
            backend,
        }
    }

    fn storage(&self) -> TokenStorageChoice {
        match self.backend {
            Backend::Memory => TokenStorageChoice::Memory,
            Backend::Json => TokenStorageChoice::JsonFile(self.dir.path().join("tokens.json")),
            Backend::Sqlite => TokenStorageChoice::SqliteFile(self.dir.path().join("tokens.db")),
        }
    }

    fn config(&self) -> AppConfig {
        AppConfig::default()
            .auth_url(self.fake.base_url())
            .token_storage(self.storage())
            .clock(Arc::new(self.clock.clone()))
            .retry(RetryPolicy::new(
                3,
                Duration::from_millis(1),
                Duration::from_millis(10),
            ))
            .http_timeout(Duration::from_secs(10))
            .login_flow(LoginFlowChoice::Custom(Arc::new(browser_flow())))
    }

    fn user_app(&self, config: AppConfig) -> UserApp {
        UserApp::new(
            "E2E App",
            OAuthClient::native(NATIVE_CLIENT_ID),
            transfer(),
            config,
        )
        .unwrap()
    }

    fn client_app(&self) -> ClientApp {
        let config = AppConfig::default()
            .auth_url(self.fake.base_url())
            .token_storage(self.storage())
            .clock(Arc::new(self.clock.clone()))
            .retry(RetryPolicy::new(
                3,
                Duration::from_millis(1),
                Duration::from_millis(10),
            ));
        ClientApp::new(
            "E2E Service",
            OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
            transfer(),
            config,
        )
        .unwrap()
    }

    /// Moves both clocks.
    fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
        self.fake.advance(u64::try_from(seconds).unwrap());
    }

    fn authorize_count(&self) -> usize {
        self.fake.requests_to(Endpoint::Authorize).len()
    }
}

fn transfer() -> ScopeRequirements {
    let mut reqs = ScopeRequirements::new();
    reqs.add_str(TRANSFER, TRANSFER_ALL).unwrap();
    reqs
}

/// The local-server flow with a test "browser" that follows the authorize URL.
fn browser_flow() -> LocalServerLoginFlow {
    LocalServerLoginFlow::new()
        .timeout(Duration::from_secs(30))
        .open_with(|url| {
            let last = client::browse(url.as_str())?;
            let page = last.last().map(client::Response::text).unwrap_or_default();
            assert!(
                page.contains("Login successful") || page.contains("Login failed"),
                "{page}"
            );
            Ok(())
        })
}

macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod memory { $( #[test] fn $name() { super::$name(super::Backend::Memory) } )* }
        mod json { $( #[test] fn $name() { super::$name(super::Backend::Json) } )* }
        mod sqlite { $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )* }
    };
}

for_each_backend!(
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
);

fn local_server_login_then_cached(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config());
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
    if !matches!(backend, Backend::Memory) {
        let second = w.user_app(w.config());
        assert_eq!(second.authorization_header(TRANSFER).unwrap(), header);
        assert_eq!(w.authorize_count(), 1);
    }
}

/// A terminal: the app writes the prompt, and the "user" reads the URL from it,
/// opens it, and types the code the page shows.
struct Terminal {
    output: Arc<Mutex<Vec<u8>>>,
    answer: Option<Vec<u8>>,
}

impl Read for Terminal {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let answer = self.answer.get_or_insert_with(|| {
            let output = String::from_utf8(self.output.lock().unwrap().clone()).unwrap();
            let url = output
                .lines()
                .find(|l| l.contains("/v2/oauth2/authorize?"))
                .unwrap()
                .trim();
            let responses = client::browse(url).unwrap();
            let (code, _) = client::code_from_redirect(&responses[0]).unwrap();
            format!("{code}\n").into_bytes()
        });
        let n = answer.len().min(buf.len());
        buf[..n].copy_from_slice(&answer[..n]);
        answer.drain(..n);
        Ok(n)
    }
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn command_line_login_with_pasted_code(backend: Backend) {
    let w = World::new(backend);
    let output = Arc::new(Mutex::new(Vec::new()));
    let input = std::io::BufReader::new(Terminal {
        output: output.clone(),
        answer: None,
    });
    let flow = CommandLineLoginFlow::with_io(input, SharedWriter(output.clone()));
    let app = w.user_app(
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
    let app = w.user_app(
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(eof))),
    );
    let err = app.login(None, true).unwrap_err();
    assert!(matches!(err, Error::Login(_)), "{err}");
    assert!(err.to_string().contains("standard input closed"));
    let _ = std::io::empty().fill_buf();
}

fn refresh_after_expiry(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config().request_refresh_tokens(true));
    let first = app.authorization_header(TRANSFER).unwrap();
    assert_eq!(
        w.fake.requests_to(Endpoint::Authorize)[0].query_value("access_type"),
        Some("offline")
    );
    w.advance(172_800 - 30);
    let second = app.authorization_header(TRANSFER).unwrap();
    assert_ne!(first, second);
    let refreshes = w.fake.token_requests("refresh_token");
    assert_eq!(refreshes.len(), 1);
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

fn access_token_mode_after_expiry(backend: Backend) {
    let w = World::new(backend);
    let strict = w.user_app(w.config().on_validation_error(OnValidationError::Fail));
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
    w.advance(172_801);
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
    let app = w.user_app(w.config());
    app.get_authorizer(TRANSFER).unwrap();
    assert_eq!(w.authorize_count(), 2);
}

fn identity_mismatch_is_rejected_and_nothing_stored(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config());
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

fn missing_scope_triggers_login(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config());
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

fn dependent_scope_checked_through_consents(backend: Backend) {
    let w = World::new(backend);
    let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    let mut reqs = ScopeRequirements::new();
    reqs.add(
        TRANSFER,
        [scopes::transfer::all_with_data_access([collection]).unwrap()],
    )
    .unwrap();
    let app = UserApp::new(
        "E2E App",
        OAuthClient::native(NATIVE_CLIENT_ID),
        reqs,
        w.config(),
    )
    .unwrap();
    app.get_authorizer(TRANSFER).unwrap();
    let consents = w.fake.requests_to(Endpoint::Consents);
    assert_eq!(consents.len(), 1);
    assert!(matches!(consents[0].auth, AuthScheme::Bearer(_)));
    // A new dependent requirement misses the cached consents: they are fetched
    // again, found unmet, and a login asks for it.
    let other = "0e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    app.add_scope_requirements(
        TRANSFER,
        [scopes::transfer::all_with_data_access([other]).unwrap()],
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

fn logout_revokes_and_removes(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config().request_refresh_tokens(true));
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

fn client_credentials_and_renewal(backend: Backend) {
    let w = World::new(backend);
    let app = w.client_app();
    let first = app.authorization_header(TRANSFER).unwrap();
    let grants = w.fake.token_requests("client_credentials");
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].auth.basic_client_id(),
        Some(CONFIDENTIAL_CLIENT_ID)
    );
    w.advance(172_800 - 59);
    let second = app.authorization_header(TRANSFER).unwrap();
    assert_ne!(first, second);
    let grants = w.fake.token_requests("client_credentials");
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[1].form_value("scope"), Some(TRANSFER_ALL));
    // Misuse is refused at construction.
    let err = ClientApp::new(
        "x",
        OAuthClient::native(NATIVE_CLIENT_ID),
        transfer(),
        AppConfig::default().auth_url(w.fake.base_url()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("needs a client secret"));
    let err = ClientApp::new(
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

fn faults_are_retried_or_typed(backend: Backend) {
    let w = World::new(backend);
    let app = w.client_app();
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
    let header = app.authorization_header(TRANSFER).unwrap();
    let stored = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    // Permanent problems are typed errors, and storage keeps what it had.
    w.advance(172_801);
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

fn revoked_refresh_token_leads_to_login(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config().request_refresh_tokens(true));
    app.login(None, false).unwrap();
    w.fake.revoke_all_tokens();
    w.advance(172_800);
    app.get_authorizer(TRANSFER).unwrap();
    let refreshes = w.fake.token_requests("refresh_token");
    assert_eq!(refreshes[0].status, Some(400));
    assert_eq!(w.authorize_count(), 2);
}

fn concurrent_callers_cause_one_refresh(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app(w.config().request_refresh_tokens(true));
    app.login(None, false).unwrap();
    w.advance(172_800);
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let app = app.clone();
            std::thread::spawn(move || app.authorization_header(TRANSFER).unwrap())
        })
        .collect();
    let headers: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(headers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(w.fake.token_requests("refresh_token").len(), 1);
}

#[test]
fn shared_storage_outlives_both_apps() {
    // The reference's documented example: a storage created by the user is shared by
    // two apps with different client ids and stays open after both are closed.
    let w = World::new(Backend::Sqlite);
    let storage: Arc<dyn TokenStorage> = Arc::new(
        globus_app_storage::SqliteTokenStorage::open(w.dir.path().join("shared.db")).unwrap(),
    );
    let config = w
        .config()
        .token_storage(TokenStorageChoice::Custom(storage.clone()));
    let user = w.user_app(config.clone());
    user.login(None, false).unwrap();
    user.close().unwrap();
    drop(user);
    let service = ClientApp::new(
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

#[test]
fn owned_storage_is_closed_with_the_app() {
    let w = World::new(Backend::Sqlite);
    let app = w.user_app(w.config());
    app.login(None, false).unwrap();
    app.close().unwrap();
    let err = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

#[test]
fn denied_consent_is_a_typed_error() {
    let w = World::new(Backend::Memory);
    w.fake
        .set_authorize_behavior(globus_app_fake_auth::AuthorizeBehavior::Deny(
            "The user said no".into(),
        ));
    let app = w.user_app(w.config());
    let err = app.login(None, true).unwrap_err();
    assert!(err.to_string().contains("The user said no"), "{err}");
}
