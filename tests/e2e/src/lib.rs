//! The harness of globus-app's end-to-end tests: one suite, written once, run for
//! every runtime adapter (blocking, tokio, async-std) and every storage backend
//! (memory, JSON, SQLite) against the loopback fake Globus Auth.
//!
//! - [`Runtime`] names an adapter's `UserApp` and `ClientApp`; [`UserApi`],
//!   [`ClientApi`] and [`AppApi`] are their operations as blocking calls. The
//!   async adapters implement them by driving each future to its end with their
//!   runtime's `block_on` ([`Tokio`] on a shared multi-threaded runtime,
//!   [`AsyncStd`] with `async_std::task::block_on`), so a test written against
//!   these traits checks every adapter the same way.
//! - [`World`] is one test's fake Globus Auth, clock, temporary directory and
//!   storage backend, and builds apps configured against them.
//! - [`GatedStorage`], [`wait_until`] and [`Terminal`] help the tests that need to
//!   stop an operation at a chosen step or play a user at a terminal.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::{AppConfig, LoginFlowChoice, RequestRetry, RetryPolicy};
use globus_app_blocking::{LocalServerLoginFlow, TokenStorageChoice};
use globus_app_core::OAuthClient;
use globus_app_core::app::{Authorization, Error, LogoutReport, ScopeRequirements};
use globus_app_core::oauth::AuthorizationParameters;
use globus_app_core::scopes::Scope;
use globus_app_storage::{LoadedNamespace, StorageError, TokenData, TokenStorage};
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
    client,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The resource server the tests ask tokens for.
pub const TRANSFER: &str = "transfer.api.globus.org";
/// Its scope.
pub const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// A token's lifetime at the fake server (two days, as Globus Auth's).
pub const TOKEN_LIFETIME: i64 = 172_800;

/// The operations every app kind has, as blocking calls.
pub trait AppApi: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// `get_authorizer`.
    fn get_authorizer(&self, resource_server: &str) -> Result<Authorization, Error>;
    /// `authorization_header`.
    fn authorization_header(&self, resource_server: &str) -> Result<String, Error>;
    /// `login_required`.
    fn login_required(&self) -> Result<bool, Error>;
    /// `logout`.
    fn logout(&self, sweep: bool) -> Result<LogoutReport, Error>;
    /// `add_scope_requirements`.
    fn add_scope_requirements(
        &self,
        resource_server: &str,
        scopes: Vec<Scope>,
    ) -> Result<(), Error>;
    /// `token_storage`.
    fn token_storage(&self) -> &Arc<dyn TokenStorage>;
    /// `close`.
    fn close(&self) -> Result<(), Error>;
    /// The app's authorized `request`.
    fn request(
        &self,
        resource_server: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error>;
    /// `bind_token_destination`.
    fn bind_token_destination(&self, resource_server: &str, base_url: &str) -> Result<(), Error>;
    /// `ServiceClient::globus(app, service).get(path)`: the status and body.
    fn service_get(&self, service: &str, path: &str) -> Result<(u16, Vec<u8>), Error>;
    /// `ServiceClient::globus(app, service).post_json(path, body)`.
    fn service_post(
        &self,
        service: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, Vec<u8>), Error>;
}

/// A `UserApp`'s own operations.
pub trait UserApi: AppApi {
    /// `login`.
    fn login(&self, params: Option<AuthorizationParameters>, force: bool) -> Result<(), Error>;
    /// `identity_id`.
    fn identity_id(&self) -> Option<String>;
}

/// A `ClientApp`'s own operations.
pub trait ClientApi: AppApi {
    /// `login`.
    fn login(&self, force: bool) -> Result<(), Error>;
}

/// A runtime adapter: its two app types and their constructors.
pub trait Runtime: 'static {
    /// Its `UserApp`.
    type UserApp: UserApi;
    /// Its `ClientApp`.
    type ClientApp: ClientApi;
    /// `UserApp::new`.
    ///
    /// # Errors
    /// As the adapter's.
    fn user_app(
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<Self::UserApp, Error>;
    /// `ClientApp::new`.
    ///
    /// # Errors
    /// As the adapter's.
    fn client_app(
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<Self::ClientApp, Error>;
}

/// Implements the test traits for one adapter; `$wait` turns the adapter's return
/// value into the result (`identity` for the blocking adapter, a `block_on` for
/// the async ones). Inherent methods win over trait methods in `<T>::method`.
macro_rules! runtime {
    ($(#[$doc:meta])* $name:ident, $krate:ident, $wait:path) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl Runtime for $name {
            type UserApp = $krate::UserApp;
            type ClientApp = $krate::ClientApp;
            fn user_app(
                app_name: &str,
                client: OAuthClient,
                requirements: ScopeRequirements,
                config: AppConfig,
            ) -> Result<Self::UserApp, Error> {
                $krate::UserApp::new(app_name, client, requirements, config)
            }
            fn client_app(
                app_name: &str,
                client: OAuthClient,
                requirements: ScopeRequirements,
                config: AppConfig,
            ) -> Result<Self::ClientApp, Error> {
                $krate::ClientApp::new(app_name, client, requirements, config)
            }
        }

        runtime!(@common $krate, $krate::UserApp, $wait);
        runtime!(@common $krate, $krate::ClientApp, $wait);

        impl UserApi for $krate::UserApp {
            fn login(
                &self,
                params: Option<AuthorizationParameters>,
                force: bool,
            ) -> Result<(), Error> {
                $wait(<$krate::UserApp>::login(self, params, force))
            }
            fn identity_id(&self) -> Option<String> {
                <$krate::UserApp>::identity_id(self)
            }
        }

        impl ClientApi for $krate::ClientApp {
            fn login(&self, force: bool) -> Result<(), Error> {
                $wait(<$krate::ClientApp>::login(self, force))
            }
        }
    };
    (@common $krate:ident, $app:ty, $wait:path) => {
        impl AppApi for $app {
            fn get_authorizer(&self, resource_server: &str) -> Result<Authorization, Error> {
                $wait(<$app>::get_authorizer(self, resource_server))
            }
            fn authorization_header(&self, resource_server: &str) -> Result<String, Error> {
                $wait(<$app>::authorization_header(self, resource_server))
            }
            fn login_required(&self) -> Result<bool, Error> {
                $wait(<$app>::login_required(self))
            }
            fn logout(&self, sweep: bool) -> Result<LogoutReport, Error> {
                $wait(<$app>::logout(self, sweep))
            }
            fn add_scope_requirements(
                &self,
                resource_server: &str,
                scopes: Vec<Scope>,
            ) -> Result<(), Error> {
                <$app>::add_scope_requirements(self, resource_server, scopes)
            }
            fn request(
                &self,
                resource_server: &str,
                request: http::Request<Vec<u8>>,
            ) -> Result<http::Response<Vec<u8>>, Error> {
                $wait(<$app>::request(self, resource_server, request))
            }
            fn bind_token_destination(
                &self,
                resource_server: &str,
                base_url: &str,
            ) -> Result<(), Error> {
                <$app>::bind_token_destination(self, resource_server, base_url)
            }
            fn service_get(&self, service: &str, path: &str) -> Result<(u16, Vec<u8>), Error> {
                let client = $krate::ServiceClient::globus(self, service)?;
                let response = $wait(client.get(path))?;
                Ok((response.status().as_u16(), response.body().to_vec()))
            }
            fn service_post(
                &self,
                service: &str,
                path: &str,
                body: &serde_json::Value,
            ) -> Result<(u16, Vec<u8>), Error> {
                let client = $krate::ServiceClient::globus(self, service)?;
                let response = $wait(client.post_json(path, body))?;
                Ok((response.status().as_u16(), response.body().to_vec()))
            }
            fn token_storage(&self) -> &Arc<dyn TokenStorage> {
                <$app>::token_storage(self)
            }
            fn close(&self) -> Result<(), Error> {
                <$app>::close(self)
            }
        }
    };
}

runtime!(
    /// The blocking adapter (ureq).
    Blocking,
    globus_app_blocking,
    std::convert::identity
);
runtime!(
    /// The tokio adapter (reqwest), each call driven by [`tokio_block_on`].
    Tokio,
    globus_app_tokio,
    tokio_block_on
);
runtime!(
    /// The async-std adapter, each call driven by `async_std::task::block_on`.
    AsyncStd,
    globus_app_async_std,
    async_std_block_on
);

/// Runs a future to its end on a multi-threaded tokio runtime shared by the tests
/// (several threads may block on it at once).
pub fn tokio_block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        })
        .block_on(future)
}

/// Runs a future to its end on async-std's executor.
pub fn async_std_block_on<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}

/// Which storage a test runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `TokenStorageChoice::Memory`.
    Memory,
    /// `TokenStorageChoice::JsonFile`.
    Json,
    /// `TokenStorageChoice::SqliteFile`.
    Sqlite,
}

/// One test's world: the fake Globus Auth (whose clock the apps read), a temporary
/// directory and the storage backend.
#[derive(Debug)]
pub struct World {
    /// The fake server.
    pub fake: FakeAuth,
    /// A temporary directory for token files.
    pub dir: tempfile::TempDir,
    /// The storage backend.
    pub backend: Backend,
}

impl World {
    /// Starts a fake server.
    pub fn new(backend: Backend) -> World {
        World {
            fake: FakeAuth::start(),
            dir: tempfile::tempdir().unwrap(),
            backend,
        }
    }

    /// The storage of the backend, in the temporary directory.
    pub fn storage(&self) -> TokenStorageChoice {
        match self.backend {
            Backend::Memory => TokenStorageChoice::Memory,
            Backend::Json => TokenStorageChoice::JsonFile(self.dir.path().join("tokens.json")),
            Backend::Sqlite => TokenStorageChoice::SqliteFile(self.dir.path().join("tokens.db")),
        }
    }

    /// A configuration against the fake server with quick retries, without a login
    /// flow (a client app's).
    pub fn base_config(&self) -> AppConfig {
        AppConfig::default()
            .auth_url(self.fake.base_url())
            .token_storage(self.storage())
            .clock(Arc::new(self.fake.clock()))
            .retry(RetryPolicy::new(
                3,
                Duration::from_millis(1),
                Duration::from_millis(10),
            ))
            .http_timeout(Duration::from_secs(10))
            .service_url("transfer", self.fake.resource_server_url(TRANSFER))
            .request_retry(RequestRetry::new(5, Duration::from_secs(2)))
    }

    /// A user app's configuration: [`base_config`](Self::base_config) with the
    /// local-server login flow and a test "browser" ([`browser_flow`]).
    pub fn config(&self) -> AppConfig {
        self.base_config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(browser_flow())))
    }

    /// A user app of runtime `R` for the native test client, asking for Transfer.
    pub fn user_app<R: Runtime>(&self, config: AppConfig) -> R::UserApp {
        self.user_app_for::<R>(transfer(), config)
    }

    /// A user app of runtime `R` for the native test client, asking for
    /// `requirements`.
    pub fn user_app_for<R: Runtime>(
        &self,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> R::UserApp {
        R::user_app(
            "E2E App",
            OAuthClient::native(NATIVE_CLIENT_ID),
            requirements,
            config,
        )
        .unwrap()
    }

    /// A client app of runtime `R` for the confidential test client, asking for
    /// Transfer.
    pub fn client_app<R: Runtime>(&self) -> R::ClientApp {
        R::client_app(
            "E2E Service",
            OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
            transfer(),
            self.base_config(),
        )
        .unwrap()
    }

    /// Moves the clock the server and the apps share.
    pub fn advance(&self, seconds: i64) {
        self.fake.advance(u64::try_from(seconds).unwrap());
    }

    /// How many times the authorize page was visited (logins).
    pub fn authorize_count(&self) -> usize {
        self.fake.requests_to(Endpoint::Authorize).len()
    }

    /// The statuses the stand-in for `resource_server` answered, in order.
    pub fn resource_server_statuses(&self, resource_server: &str) -> Vec<Option<u16>> {
        self.fake
            .resource_server_requests(resource_server)
            .iter()
            .map(|r| r.status)
            .collect()
    }

    /// How many refresh-token grants the server saw.
    pub fn refresh_count(&self) -> usize {
        self.fake.token_requests("refresh_token").len()
    }
}

/// Transfer's scope requirements.
pub fn transfer() -> ScopeRequirements {
    let mut reqs = ScopeRequirements::new();
    reqs.add_str(TRANSFER, TRANSFER_ALL).unwrap();
    reqs
}

/// The local-server flow with a test "browser" that follows the authorize URL.
pub fn browser_flow() -> LocalServerLoginFlow {
    LocalServerLoginFlow::new()
        .timeout(Duration::from_secs(30))
        // This "browser" needs no URL printed (tests/cli.rs checks what users see).
        .feedback(|_: &globus_app_blocking::login::LoginMessage<'_>| Ok(()))
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

/// A terminal: the app writes the prompt, and the "user" reads the URL from it,
/// opens it, and types the code the page shows.
#[derive(Debug)]
pub struct Terminal {
    output: Arc<Mutex<Vec<u8>>>,
    answer: Option<Vec<u8>>,
}

impl Terminal {
    /// A terminal whose user reads what was written to `output`.
    pub fn new(output: Arc<Mutex<Vec<u8>>>) -> Terminal {
        Terminal {
            output,
            answer: None,
        }
    }
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

/// A writer into shared bytes (the terminal's screen).
#[derive(Debug)]
pub struct SharedWriter(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A storage that can hold its next write at a gate: the write starts (and
/// [`GatedStorage::entered`] turns true), then waits for
/// [`GatedStorage::release`] before it writes. For stopping an operation in the
/// middle of a storage write.
#[derive(Debug)]
pub struct GatedStorage {
    inner: Arc<dyn TokenStorage>,
    gate: Mutex<Gate>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Gate {
    armed: bool,
    entered: bool,
    released: bool,
}

impl GatedStorage {
    /// Wraps a storage; the gate is open.
    pub fn new(inner: Arc<dyn TokenStorage>) -> GatedStorage {
        GatedStorage {
            inner,
            gate: Mutex::new(Gate::default()),
            changed: Condvar::new(),
        }
    }

    /// Makes the next write wait at the gate.
    pub fn arm(&self) {
        *self.gate.lock().unwrap() = Gate {
            armed: true,
            ..Gate::default()
        };
    }

    /// Returns true once the armed write has started.
    pub fn entered(&self) -> bool {
        self.gate.lock().unwrap().entered
    }

    /// Lets the held write go on.
    pub fn release(&self) {
        self.gate.lock().unwrap().released = true;
        self.changed.notify_all();
    }
}

impl TokenStorage for GatedStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        let mut gate = self.gate.lock().unwrap();
        if gate.armed {
            gate.armed = false;
            gate.entered = true;
            while !gate.released {
                gate = self.changed.wait(gate).unwrap();
            }
        }
        drop(gate);
        self.inner.store_token_data(namespace, tokens)
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        self.inner.get_token_data_by_resource_server(namespace)
    }

    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        self.inner.load_namespace(namespace)
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        self.inner.remove_token_data(namespace, resource_server)
    }

    fn close(&self) -> Result<(), StorageError> {
        self.inner.close()
    }
}

/// Waits (polling every millisecond, on any runtime) until `condition` holds;
/// panics after 10 s.
pub async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for a condition"
        );
        async_io::Timer::after(Duration::from_millis(1)).await;
    }
}

/// Polls `future` until `condition` holds, then drops it (cancels it mid-way);
/// panics if the future ends first.
pub async fn cancel_when<F: Future>(future: F, condition: impl FnMut() -> bool) {
    let ended = futures_lite::future::or(async { Some(future.await) }, async {
        wait_until(condition).await;
        None
    })
    .await;
    assert!(
        ended.is_none(),
        "the future ended before it could be cancelled"
    );
}
