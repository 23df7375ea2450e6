//! Turning an app's name, client, requirements and [`AppConfig`] into the parts every
//! adapter runs: the core state, the storage, the login flow, the clock.

use crate::config::{AppConfig, TokenStorageChoice};
use crate::io::LocalIo;
use crate::login::{LoginContext, LoginFlow};
use crate::system::{Clock, env_var, grant_label, hostname};
use crate::unreadable::Unreadable;
use globus_app_core::app::{
    AppKind, AppSettings, AppState, ConfigError, Error, LeaseSettings, ScopeRequirements,
};
use globus_app_core::destinations::{GLOBUS_SERVICES, GlobusService, TokenDestinations};
use globus_app_core::{AuthService, OAuthClient};
use globus_app_storage::paths::{FileFormat, default_token_file_path};
use globus_app_storage::{JsonTokenStorage, MemoryTokenStorage, StorageError, TokenStorage};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Everything an adapter needs to run an app, built once.
#[derive(Debug)]
#[non_exhaustive]
pub struct AppParts {
    /// The core state, to keep behind the adapter's lock.
    pub state: AppState,
    /// Blocking I/O shared by every operation: storage and the login flow.
    pub io: Arc<IoParts>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The timeout of each HTTP request.
    pub http_timeout: Duration,
    /// The base URL of each Globus service, by its short name (`transfer`, …).
    pub service_urls: BTreeMap<&'static str, String>,
    /// Where the operations are recorded, if anywhere.
    pub recorder: Option<crate::transcript::TranscriptRecorder>,
}

/// The storage and login flow of an app, shared by its operations.
#[derive(Debug)]
pub struct IoParts {
    pub(crate) storage: Arc<dyn TokenStorage>,
    pub(crate) storage_owned: bool,
    pub(crate) namespace: String,
    pub(crate) login: Option<Arc<dyn LoginFlow>>,
    pub(crate) app_name: String,
    pub(crate) client_is_native: bool,
    pub(crate) default_redirect_uri: String,
    pub(crate) configured_redirect_uri: Option<String>,
    /// The storage's unreadable entries: reported once, removed by a logout.
    pub(crate) unreadable: Arc<Unreadable>,
    /// The lease owner and time to live, when the storage keeps leases.
    pub(crate) lease: Option<LeaseSettings>,
}

impl IoParts {
    /// Returns the app's token storage.
    pub fn storage(&self) -> &Arc<dyn TokenStorage> {
        &self.storage
    }

    /// Returns true if the app created its storage (and so closes it).
    pub fn owns_storage(&self) -> bool {
        self.storage_owned
    }

    /// Returns the I/O performer for one operation.
    pub fn local_io(self: &Arc<Self>) -> LocalIo {
        LocalIo::new(Arc::clone(self))
    }

    /// Closes the storage if the app created it.
    ///
    /// # Errors
    /// The storage's error.
    pub fn close(&self) -> Result<(), Error> {
        if self.storage_owned {
            self.storage.close().map_err(storage_error)?;
        }
        Ok(())
    }
}

/// A random owner id for this app's leases (hex of 16 bytes from the OS).
fn lease_owner() -> String {
    let random = crate::system::login_random().unwrap_or([0; 48]);
    random[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Wraps a storage error for the core's error type.
pub fn storage_error(error: StorageError) -> Error {
    Error::Storage(Arc::new(error))
}

/// Builds the parts of a user app (`kind = User`) or a client app.
///
/// The environment and auth URL come from the config, else from
/// `GLOBUS_SDK_ENVIRONMENT` and `GLOBUS_SDK_SERVICE_URL_AUTH`.
///
/// # Errors
/// Misuse ([`ConfigError`]): a client id that is not a UUID; a client app without a
/// secret or with a login flow; a confidential user app without a redirect URI; a
/// login flow that cannot serve the app; an unknown environment. A storage that
/// cannot be opened.
pub fn assemble(
    kind: AppKind,
    app_name: &str,
    client: OAuthClient,
    requirements: ScopeRequirements,
    config: AppConfig,
) -> Result<AppParts, Error> {
    let environment = config
        .environment
        .clone()
        .or_else(|| env_var("GLOBUS_SDK_ENVIRONMENT"));
    let auth_url = config
        .auth_url
        .clone()
        .or_else(|| env_var("GLOBUS_SDK_SERVICE_URL_AUTH"));
    let mut service = AuthService::from_env_values(environment.as_deref(), auth_url.as_deref())
        .map_err(ConfigError::from)?;
    if let Some(issuer) = &config.id_token_issuer {
        service = service.with_issuer(issuer.as_str());
    }
    if kind == AppKind::Client && config.login_flow.is_some() {
        return Err(ConfigError::LoginFlowOnClientApp.into());
    }
    let mut settings = AppSettings::new(kind, app_name, client, service);
    settings.namespace.clone_from(&config.namespace);
    settings.request_refresh_tokens = kind == AppKind::User && config.request_refresh_tokens;
    settings.redirect_uri.clone_from(&config.login_redirect_uri);
    settings.renew_lead_seconds = i64::try_from(config.renew_lead.as_secs()).unwrap_or(i64::MAX);
    settings.on_validation_error = config.on_validation_error;
    settings.retry = config.retry;
    settings.prefill_named_grant = Some(grant_label(app_name, hostname().as_deref()));
    settings.auto_redrive_gares = config.auto_redrive_gares;
    settings.request_retry = config.request_retry;
    // Each Globus service's base URL: the config's, else the reference's variable,
    // else the environment's; its resource server's token goes there only.
    let mut service_urls = BTreeMap::new();
    for service in &GLOBUS_SERVICES {
        let url = match service.name {
            "auth" => Some(settings.service.base_url().to_string()),
            name => config
                .service_urls
                .get(name)
                .cloned()
                .or_else(|| env_var(&service.url_variable())),
        };
        // An environment this library does not know has only the URLs given.
        let default = || settings.service.environment().map(|e| service.base_url(e));
        if let Some(url) = url.or_else(default) {
            service_urls.insert(service.name, url);
        }
    }
    if let Some(unknown) = config
        .service_urls
        .keys()
        .find(|name| GlobusService::named(name).is_none())
    {
        return Err(ConfigError::UnknownService(unknown.clone()).into());
    }
    let mut destinations = TokenDestinations::new();
    for (name, url) in &service_urls {
        let Some(service) = GlobusService::named(name) else {
            continue;
        };
        match destinations.bind(service.resource_server, url) {
            Ok(()) => {}
            // Globus Auth at `http://localhost` (allowed for a test server) is not
            // a destination for tokens: nothing is sent to it with one.
            Err(_) if *name == "auth" => {}
            Err(e) => return Err(ConfigError::ServiceUrl(e.to_string()).into()),
        }
    }
    let client_is_native = settings.client.is_native();
    let client_id = settings.client.client_id().to_owned();
    let default_redirect_uri = settings.service.native_redirect_uri().to_string();
    let environment_name = settings.service.environment_name().to_owned();
    let mut state = AppState::new(settings, requirements)?;
    state.set_token_destinations(destinations);

    let login = match kind {
        AppKind::Client => None,
        AppKind::User => {
            let flow = config.login_flow.clone().unwrap_or_default().into_flow();
            let ctx = LoginContext::new(app_name, client_is_native, &default_redirect_uri)
                .with_configured_redirect_uri(config.login_redirect_uri.as_deref());
            flow.check(&ctx)
                .map_err(|e| ConfigError::LoginFlow(e.to_string()))?;
            Some(flow)
        }
    };

    let lock_timeout = config.storage_lock_timeout;
    let json = |path| Arc::new(JsonTokenStorage::new(path).with_lock_timeout(lock_timeout));
    let (storage, storage_owned): (Arc<dyn TokenStorage>, bool) = match config.token_storage {
        TokenStorageChoice::Memory => (Arc::new(MemoryTokenStorage::new()), true),
        TokenStorageChoice::Json => {
            let path =
                default_token_file_path(&client_id, app_name, &environment_name, FileFormat::Json)
                    .map_err(storage_error)?;
            (json(path), true)
        }
        TokenStorageChoice::JsonFile(path) => (json(path), true),
        TokenStorageChoice::Sqlite => {
            let path = default_token_file_path(
                &client_id,
                app_name,
                &environment_name,
                FileFormat::Sqlite,
            )
            .map_err(storage_error)?;
            (open_sqlite(path, lock_timeout)?, true)
        }
        TokenStorageChoice::SqliteFile(path) => (open_sqlite(path, lock_timeout)?, true),
        TokenStorageChoice::Redis(url) => (open_redis(&url)?, true),
        TokenStorageChoice::Postgres(url) => (open_postgres(&url)?, true),
        TokenStorageChoice::Custom(storage) => (storage, false),
    };

    // A storage that keeps leases: every renewal and write takes the namespace's
    // lease, as an owner of its own (random, per app).
    let lease = storage.leases().map(|_| {
        let mut lease = LeaseSettings::new(lease_owner(), config.http_timeout);
        if let Some(ttl) = config.lease_ttl {
            lease.ttl = ttl;
            lease.max_wait = ttl * 2;
        }
        lease
    });
    state.set_lease(lease.clone());
    Ok(AppParts {
        state,
        io: Arc::new(IoParts {
            storage,
            storage_owned,
            namespace: config.namespace,
            login,
            app_name: app_name.to_owned(),
            client_is_native,
            default_redirect_uri,
            configured_redirect_uri: config.login_redirect_uri,
            unreadable: Arc::default(),
            lease,
        }),
        clock: config.clock,
        http_timeout: config.http_timeout,
        service_urls,
        recorder: config.recorder,
    })
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Arc<dyn TokenStorage>, Error> {
    let storage = globus_app_storage::PostgresTokenStorage::open(url).map_err(storage_error)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<Arc<dyn TokenStorage>, Error> {
    Err(ConfigError::StorageUnavailable("postgres").into())
}

#[cfg(feature = "redis")]
fn open_redis(url: &str) -> Result<Arc<dyn TokenStorage>, Error> {
    let storage = globus_app_storage::RedisTokenStorage::open(url).map_err(storage_error)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "redis"))]
fn open_redis(_url: &str) -> Result<Arc<dyn TokenStorage>, Error> {
    Err(ConfigError::StorageUnavailable("redis").into())
}

#[cfg(feature = "sqlite")]
fn open_sqlite(
    path: std::path::PathBuf,
    busy_timeout: Duration,
) -> Result<Arc<dyn TokenStorage>, Error> {
    let storage =
        globus_app_storage::SqliteTokenStorage::open_with_busy_timeout(path, busy_timeout)
            .map_err(storage_error)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(
    _path: std::path::PathBuf,
    _busy_timeout: Duration,
) -> Result<Arc<dyn TokenStorage>, Error> {
    Err(ConfigError::SqliteUnavailable.into())
}
