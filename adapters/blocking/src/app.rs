//! `UserApp` and `ClientApp` for blocking code, and the one driver loop behind them.

use crate::http::HttpClient;
use globus_app_core::OAuthClient;
use globus_app_core::app::{
    AppKind, AppState, Authorization, Error, Input, LogoutReport, Operation, OperationOutput,
    ScopeRequirements, Ticket,
};
use globus_app_core::oauth::AuthorizationParameters;
use globus_app_core::scopes::Scope;
use globus_app_shell::io::Action;
use globus_app_shell::system::Clock;
use globus_app_shell::{AppConfig, IoParts, assemble};
use globus_app_storage::TokenStorage;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The state and I/O of one app, shared by its clones.
#[derive(Debug)]
struct Shared {
    /// The core state. The hot path takes the read lock; an operation takes the
    /// write lock only while the core decides, never during I/O.
    state: RwLock<AppState>,
    /// Held for a whole operation: one refresh or login at a time, so callers
    /// that need the same renewal wait for it instead of repeating it.
    turn: Mutex<()>,
    io: Arc<IoParts>,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl Shared {
    fn new(
        kind: AppKind,
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<Shared, Error> {
        let parts = assemble(kind, app_name, client, requirements, config)?;
        Ok(Shared {
            state: RwLock::new(parts.state),
            turn: Mutex::new(()),
            http: HttpClient::new(parts.http_timeout),
            io: parts.io,
            clock: parts.clock,
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, AppState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, AppState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one operation to its end: the driver loop.
    fn run<T: OperationOutput>(
        &self,
        make: impl FnOnce(Ticket) -> Operation<T>,
    ) -> Result<T, Error> {
        let ticket = self.read().ticket();
        let _turn = self.turn();
        let mut operation = make(ticket);
        let mut io = self.io.local_io();
        let mut input = Input::Start;
        loop {
            let step = operation.resume(&mut self.write(), input, self.clock.now());
            input = match Action::from_step(step) {
                Action::Send(request) => self.http.send(request),
                Action::Sleep(duration) => {
                    std::thread::sleep(duration);
                    Input::Woke
                }
                Action::Local(action) => io.perform(action),
                Action::Done(result) => return result,
                _ => {
                    return Err(Error::Internal(
                        "an action this adapter does not know".into(),
                    ));
                }
            };
        }
    }

    fn get_authorizer(&self, resource_server: &str) -> Result<Authorization, Error> {
        if let Some(cached) = self
            .read()
            .cached_authorization(resource_server, self.clock.now())
        {
            return Ok(cached);
        }
        self.run(|ticket| Operation::get_authorization(resource_server, ticket))
    }

    fn add_scope_requirements(
        &self,
        resource_server: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<(), Error> {
        self.write()
            .add_scope_requirements(resource_server, scopes)
            .map_err(|e| Error::Config(e.into()))
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last clone closes a storage the app created; errors have no one to
        // report to here (call `close` to see them).
        let _ = self.io.close();
    }
}

/// The methods both app kinds share.
macro_rules! common_methods {
    () => {
        /// Returns a valid authorization for a resource server, logging in or
        /// renewing tokens as needed.
        ///
        /// A valid cached token is served without I/O or waiting. Otherwise the
        /// tokens are read from storage, checked (expiry, scopes, dependent scopes)
        /// and renewed, or a login runs, as the configuration says.
        ///
        /// # Errors
        /// [`Error::TokenValidation`] when a login is needed and the configuration
        /// says not to run one (or for an identity mismatch); request, storage and
        /// login failures.
        pub fn get_authorizer(&self, resource_server: &str) -> Result<Authorization, Error> {
            self.shared.get_authorizer(resource_server)
        }

        /// Returns the `Authorization` header value (`Bearer …`) for a resource server.
        ///
        /// # Errors
        /// As [`get_authorizer`](Self::get_authorizer).
        pub fn authorization_header(&self, resource_server: &str) -> Result<String, Error> {
            Ok(self
                .get_authorizer(resource_server)?
                .header_value()
                .to_owned())
        }

        /// Returns true if a login is needed for some required resource server
        /// (tokens missing, expired without a refresh token, lacking scopes, or a
        /// refresh token refused). Renews tokens where it can; never logs in.
        ///
        /// # Errors
        /// Request and storage failures.
        pub fn login_required(&self) -> Result<bool, Error> {
            self.shared.run(|_| Operation::login_required())
        }

        /// Revokes and removes the tokens of the required resource servers (with
        /// `sweep`, every resource server in the app's namespace). Local tokens are
        /// removed even when a revocation fails; the report lists the failures.
        ///
        /// # Errors
        /// Storage failures.
        pub fn logout(&self, sweep: bool) -> Result<LogoutReport, Error> {
            self.shared.run(|_| Operation::logout(sweep))
        }

        /// Adds scope requirements for a resource server, merged with the existing
        /// ones; cached tokens of that resource server are checked again on next use.
        ///
        /// # Errors
        /// [`Error::Config`] if merging creates a dependency cycle.
        pub fn add_scope_requirements(
            &self,
            resource_server: &str,
            scopes: impl IntoIterator<Item = Scope>,
        ) -> Result<(), Error> {
            self.shared.add_scope_requirements(resource_server, scopes)
        }

        /// Returns a copy of the scope requirements (`openid` from `auth.globus.org`
        /// is always among them).
        pub fn scope_requirements(&self) -> ScopeRequirements {
            self.shared.read().requirements().clone()
        }

        /// Returns the token storage.
        pub fn token_storage(&self) -> &Arc<dyn TokenStorage> {
            self.shared.io.storage()
        }

        /// Closes the token storage if the app created it from its configuration (a
        /// storage you passed in stays open, so other apps can keep using it). The
        /// last clone of an app does this when dropped; `close` reports errors.
        ///
        /// # Errors
        /// The storage's error.
        pub fn close(&self) -> Result<(), Error> {
            self.shared.io.close()
        }
    };
}

/// An app that acts as a person: tokens come from an interactive login.
///
/// Cheap to clone and safe to share between threads: clones share tokens, and
/// many threads asking for the same expiring token cause one refresh.
///
/// ```no_run
/// use globus_app_blocking::{AppConfig, OAuthClient, ScopeRequirements, UserApp};
/// let mut requirements = ScopeRequirements::new();
/// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
/// let app = UserApp::new(
///     "My Script",
///     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
///     requirements,
///     AppConfig::default(),
/// )?;
/// let header = app.authorization_header("transfer.api.globus.org")?; // logs in if needed
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct UserApp {
    shared: Arc<Shared>,
}

impl UserApp {
    /// Builds a user app. A native client uses PKCE; a confidential client needs
    /// [`AppConfig::login_redirect_uri`].
    ///
    /// # Errors
    /// [`Error::Config`] for misuse (see [`ConfigError`](globus_app_core::app::ConfigError));
    /// [`Error::Storage`] if the configured storage cannot be opened.
    pub fn new(
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<UserApp, Error> {
        let shared = Shared::new(AppKind::User, app_name, client, requirements, config)?;
        Ok(UserApp {
            shared: Arc::new(shared),
        })
    }

    /// Logs in if needed: always with `params` (for instance from
    /// [`parse_authorization_requirements`](globus_app_core::app::parse_authorization_requirements))
    /// or `force`, else only if [`login_required`](Self::login_required).
    ///
    /// # Errors
    /// Login flow, request and storage failures; an identity mismatch (nothing is
    /// stored then).
    pub fn login(&self, params: Option<AuthorizationParameters>, force: bool) -> Result<(), Error> {
        self.shared.run(|_| Operation::login(params, force))
    }

    /// Returns the identity id of the stored tokens, once known.
    pub fn identity_id(&self) -> Option<String> {
        self.shared.read().identity().map(str::to_owned)
    }

    common_methods!();
}

/// An app that acts as a service account: tokens come from the client-credentials
/// grant of a confidential client.
///
/// ```no_run
/// use globus_app_blocking::{AppConfig, ClientApp, OAuthClient, ScopeRequirements};
/// let mut requirements = ScopeRequirements::new();
/// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
/// let app = ClientApp::new(
///     "My Service",
///     OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
///     requirements,
///     AppConfig::default(),
/// )?;
/// let header = app.authorization_header("transfer.api.globus.org")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientApp {
    shared: Arc<Shared>,
}

impl ClientApp {
    /// Builds a client app.
    ///
    /// # Errors
    /// [`Error::Config`] without a secret, with a login flow, or without scope
    /// requirements; [`Error::Storage`] if the storage cannot be opened.
    pub fn new(
        app_name: &str,
        client: OAuthClient,
        requirements: ScopeRequirements,
        config: AppConfig,
    ) -> Result<ClientApp, Error> {
        let shared = Shared::new(AppKind::Client, app_name, client, requirements, config)?;
        Ok(ClientApp {
            shared: Arc::new(shared),
        })
    }

    /// Gets tokens with the client credentials if needed (always with `force`).
    ///
    /// # Errors
    /// Request and storage failures.
    pub fn login(&self, force: bool) -> Result<(), Error> {
        self.shared.run(|_| Operation::login(None, force))
    }

    common_methods!();
}
