//! Test code built on globus-app without the internet or a Globus account: a strict,
//! stateful fake Globus Auth on a loopback port, stand-ins for the Globus services,
//! app configurations that point at it, and the redaction of the core's transcripts.
//!
//! # Testing your app
//! [`FakeAuth::app_config`] is an `AppConfig` that talks to the fake and nothing
//! else, without any environment variable: its auth URL and service URLs, the
//! local-server login with a [`ScriptedBrowser`], the fake's clock ([`FakeClock`]:
//! [`FakeAuth::advance`] moves the app's time too) and tokens in memory. Tests using
//! it run in parallel in one process.
//!
//! ```
//! use globus_app_blocking::UserApp;
//! use globus_app_core::app::ScopeRequirements;
//! use globus_app_testing::{FakeAuth, ScriptedBrowser};
//!
//! let fake = FakeAuth::start();
//! let browser = ScriptedBrowser::new();
//! let mut scopes = ScopeRequirements::new();
//! scopes.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
//! let app = UserApp::new("My Tool", fake.native_client(), scopes,
//!     fake.app_config(&browser).request_refresh_tokens(true))?;
//!
//! let first = app.authorization_header("transfer.api.globus.org")?; // logs in
//! assert_eq!(browser.visits().len(), 1);
//! fake.advance(3 * 86_400); // the token expires: the app refreshes it
//! let renewed = app.authorization_header("transfer.api.globus.org")?;
//! assert_ne!(first, renewed);
//! assert_eq!(fake.token_requests("refresh_token").len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Record what an app's operations did with `AppConfig::record_transcript`, make it
//! safe to commit with [`FakeAuth::redact`] (every token, code, verifier, secret and
//! run-dependent address becomes a placeholder), and replay it against the Sans-IO
//! core with `globus_app_core::transcript` (`globus_app::core::transcript`).
//!
//! # The server
//! [`FakeAuth::start`] binds `127.0.0.1:0` in-process, serves on plain std threads (so
//! blocking, tokio and async-std clients alike can use it), and shuts down when dropped.
//! Point a client at [`FakeAuth::base_url`] and it sees Globus Auth's endpoints,
//! checked as strictly as Globus Auth checks them, with Globus-shaped answers; a
//! request it cannot parse gets the answer Globus Auth would give, never a panic in
//! your test. From Rust, a test registers clients, picks the simulated
//! user, moves the server clock, decides what the user does at the authorize page,
//! injects faults, and reads the request log. Stand-ins for the resource servers (a
//! Transfer that checks bearer tokens) let a test send authorized requests too.
//!
//! ```
//! use globus_app_testing::{client, Endpoint, FakeAuth, Fault};
//! use globus_app_testing::{CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET};
//!
//! let fake = FakeAuth::start();
//! // The next token request fails with 503; the one after succeeds.
//! fake.inject_fault(Endpoint::Token, Fault::ServiceUnavailable, 1);
//!
//! let grant = [
//!     ("grant_type", "client_credentials"),
//!     ("scope", "urn:globus:auth:scope:transfer.api.globus.org:all"),
//! ];
//! let basic = Some((CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET));
//! let token_url = fake.url("v2/oauth2/token");
//! assert_eq!(client::post_form(&token_url, basic, &grant)?.status, 503);
//! let ok = client::post_form(&token_url, basic, &grant)?;
//! assert_eq!(ok.status, 200);
//! assert_eq!(ok.json()?["resource_server"], "transfer.api.globus.org");
//!
//! // The log shows both attempts.
//! assert_eq!(fake.token_requests("client_credentials").len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Endpoints
//! | request | answers |
//! |---|---|
//! | `GET /v2/oauth2/authorize` | `302` to the redirect URI with `code` and `state` (see [`AuthorizeBehavior`]) |
//! | `POST /v2/oauth2/token` | `authorization_code`, `refresh_token`, `client_credentials` |
//! | `POST /v2/oauth2/token/revoke` | `{"active": false}` |
//! | `POST /v2/oauth2/token/introspect` | RFC 7662, confidential clients only |
//! | `GET /v2/oauth2/userinfo` | bearer token with `openid` |
//! | `GET /.well-known/openid-configuration` | issuer, endpoints, `jwks_uri` |
//! | `GET /jwk.json` | the RS256 public key |
//! | `GET /v2/api/identities/{id}/consents` | the consent forest, dependent scopes included |
//! | `GET /v2/web/auth-code` | an HTML page showing the code (the command-line flow's redirect) |
//!
//! Token responses are shaped like Globus Auth's: one token at the top level (the
//! `auth.globus.org` one, carrying the `id_token`, when `openid` was granted) and
//! `other_tokens` with one token per further resource server; `refresh_token`s only
//! when the authorize request said `access_type=offline`; the same refresh token is
//! returned by a refresh (Globus does not rotate them). Scopes map to resource servers
//! like Globus: `openid`, `profile`, `email` → `auth.globus.org`;
//! `urn:globus:auth:scope:{rs}:{name}` → `{rs}`;
//! `https://auth.globus.org/scopes/{id}/{name}` → `{id}`. Dependent scopes
//! (`a[b c[d]]`) become consents, never tokens.
//!
//! # Strict checks
//! Unknown client → `401 invalid_client` (`400` at authorize, where there is no client
//! authentication); a redirect URI not registered → `400`; native clients must send
//! PKCE with `S256`; a code is single-use (a replay revokes what it issued), expires
//! after 10 minutes of server time, and is bound to its client, redirect URI and
//! verifier; refresh tokens are bound to their client; confidential clients must use
//! HTTP Basic (a secret in the body is refused) and native clients must not;
//! `client_credentials` needs a confidential client; a parameter sent twice is refused.
//! Loopback redirect URIs of native clients match any port (RFC 8252 7.3).
//!
//! # The id_token
//! A real RS256 JWT signed with a throwaway test key published at `/jwk.json`, so even a
//! client that verifies signatures (like the Python SDK) accepts it. Claims: `iss`
//! ([`FakeAuth::issuer`]: the base URL without its trailing slash, as Globus Auth's
//! `https://auth.globus.org`), `sub` (the user's identity id), `aud` (the client id),
//! `iat`, `exp`, `last_authentication`, `identity_provider`,
//! `identity_provider_display_name`, plus `preferred_username`, `name` and
//! `organization` with `profile`, `email` with `email`, and `identity_set` with
//! `urn:globus:auth:scope:auth.globus.org:view_identity_set`. There is no `at_hash`
//! (optional in the code flow): identical claims then give identical tokens, and the
//! server caches their signatures, because RSA in an unoptimized test build costs tens
//! of milliseconds. Signing happens outside the server's lock.
//!
//! # Stand-in resource servers
//! [`FakeAuth::resource_server_url`]`("transfer.api.globus.org")` starts a stand-in for
//! that resource server on a loopback listener of its own (so each has its own origin,
//! as Globus services do) and returns its base URL, `http://127.0.0.1:PORT/`: point a
//! client at it (e.g. through `GLOBUS_SDK_SERVICE_URL_TRANSFER`). Every path answers
//! any method by checking the bearer token the way a Globus service does:
//!
//! | the token | answer |
//! |---|---|
//! | none, unknown, expired, revoked, a refresh token, or issued for another resource server | `401` `{"code": "AuthenticationFailed", "message", "request_id", "resource", "http_status": 401}` |
//! | lacks a scope or session the stand-in requires ([`ResourceServerConfig`]) | `403` Globus Auth Requirements Error: `{"code": "AuthorizationRequired", "authorization_parameters": {"session_message", "required_scopes", "session_required_single_domain", …}, …}` naming only what is missing |
//! | otherwise | `200` `{"method", "path", "query", "body_length", "resource_server", "identity", "username", "client_id", "scopes", "request_id"}` (never the token) |
//!
//! [`FakeAuth::configure_resource_server`] sets the requirements: a scope (dependent
//! scopes, `transfer[data_access]`, are met by the identity's consents, as a login that
//! asked for them records), or a [`SessionRequirement`] met only by tokens from a login
//! whose authorize request carried that `session_required_*` parameter (refreshed
//! tokens keep their login's session; client-credentials tokens have none). A GARE is
//! thus answered by logging in with its `authorization_parameters`.
//! [`FakeAuth::respond_once`] answers the next request with a fixed status and JSON body
//! (e.g. Transfer's `ConsentRequired`).
//!
//! ```
//! use globus_app_testing::{client, FakeAuth, ResourceServerConfig, SessionRequirement};
//! use globus_app_testing::{CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET};
//!
//! let fake = FakeAuth::start();
//! let transfer = fake.resource_server_url("transfer.api.globus.org");
//! let grant = [
//!     ("grant_type", "client_credentials"),
//!     ("scope", "urn:globus:auth:scope:transfer.api.globus.org:all"),
//! ];
//! let basic = Some((CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET));
//! let tokens = client::post_form(&fake.url("v2/oauth2/token"), basic, &grant)?.json()?;
//! let token = tokens["access_token"].as_str().unwrap_or_default();
//!
//! let ok = client::get_with_bearer(&format!("{transfer}v0.10/endpoint_search"), token)?;
//! assert_eq!(ok.json()?["path"], "/v0.10/endpoint_search");
//! fake.revoke_all_tokens();
//! let revoked = client::get_with_bearer(&transfer, token)?;
//! assert_eq!(revoked.json()?["code"], "AuthenticationFailed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Faults and the log
//! [`FakeAuth::inject_fault`] queues a [`Fault`] for the next N requests to an
//! [`Endpoint`] (or [`Endpoint::Any`]): `500`, `503`, `429` with `Retry-After`, any
//! status with `Retry-After`, an HTML page, a truncated JSON body, a body shorter than
//! its `Content-Length`, a delay (interrupted by shutdown), a dropped connection,
//! `invalid_grant`, any status, or a fixed status and body. [`Endpoint::ResourceServer`]
//! targets every stand-in resource server, [`FakeAuth::inject_resource_server_fault`]
//! one of them; their error bodies take the services' shape
//! (`{"code": "ServiceUnavailable", …}`). A faulted request is not processed (except
//! after a delay). Every request, faulted or not, is logged in processing order as a
//! [`LoggedRequest`]: method, path, endpoint, stand-in resource server, query, form,
//! [`AuthScheme`], status (none if dropped), fault and server time; see
//! [`FakeAuth::requests`], [`FakeAuth::count`], [`FakeAuth::token_requests`],
//! [`FakeAuth::requests_to`]`(Endpoint::ResourceServer)`,
//! [`FakeAuth::resource_server_requests`].
//!
//! # Helpers
//! [`client`] is a tiny std::net HTTP client (plain `http://`): a test's "browser"
//! ([`client::browse`] follows the authorize URL to the app's loopback listener) and
//! the doctests' client. [`s256_challenge`] and [`jwt_claims`] help tests that build
//! authorize URLs or look inside id_tokens. `cargo run -p globus-app-testing --bin globus-fake-auth [PORT]`
//! runs the server as a process, for clients that are not Rust tests, with stand-ins
//! for Transfer, Groups, Search, Flows and Timers (it prints their
//! `GLOBUS_SDK_SERVICE_URL_*` values); the
//! `python_interop` test runs the Python globus-sdk (the reference, including a whole
//! `UserApp`) against it.
//!
//! # Time
//! The server has its own clock ([`FakeAuth::now`]), starting at the real time when the
//! server starts and then moving only when a test moves it ([`FakeAuth::advance`],
//! [`FakeAuth::set_now`]): token and code expiry, `iat`/`exp` claims and consent dates
//! all use that clock. A client that checks an id_token's `iat`/`exp` against its own
//! real clock will see them drift if a test moves the server clock far; to make a
//! client renew a token, a short [`FakeAuth::set_token_lifetime`] (below the client's
//! renewal lead time) needs no clock at all.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
pub mod client;
mod endpoints;
mod faults;
mod jwt;
mod log;
mod model;
mod resource_server;
mod rsa;
mod scopes;
mod server;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub use app::{BrowserVisit, FakeClock, STAND_IN_SERVICES, ScriptedBrowser};
pub use faults::{Endpoint, Fault};
pub use log::{AuthScheme, LoggedRequest};
pub use model::{
    AuthorizeBehavior, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET,
    CONFIDENTIAL_REDIRECT_URI, ClientConfig, IssuedCode, NATIVE_CLIENT_ID, SessionRequirement,
    User,
};
pub use resource_server::ResourceServerConfig;

use server::{Role, Server, Shared, lock};
use state::State;

/// A running fake Globus Auth server. Dropping it stops the server: it stops
/// accepting, closes every connection (ending any injected delay) and joins its threads.
///
/// Every method takes `&self`; the handle is `Send + Sync`, so a test can share it with
/// the threads it spawns.
pub struct FakeAuth {
    server: Server,
    base_url: String,
    /// The running stand-in resource servers' base URLs, by name. Held while one
    /// starts, so that a name gets one listener.
    stand_ins: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for FakeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAuth")
            .field("base_url", &self.base_url)
            .field("resource_servers", &*lock(&self.stand_ins))
            .finish_non_exhaustive()
    }
}

/// Configures a [`FakeAuth`] before it starts.
#[derive(Debug, Clone)]
pub struct FakeAuthBuilder {
    clients: Vec<ClientConfig>,
    default_clients: bool,
    user: User,
    token_lifetime: u64,
    now: Option<u64>,
    behavior: AuthorizeBehavior,
    port: u16,
    resource_servers: Vec<(String, ResourceServerConfig)>,
}

impl Default for FakeAuthBuilder {
    fn default() -> Self {
        FakeAuthBuilder {
            clients: Vec::new(),
            default_clients: true,
            user: User::default(),
            token_lifetime: state::DEFAULT_TOKEN_LIFETIME,
            now: None,
            behavior: AuthorizeBehavior::Consent,
            port: 0,
            resource_servers: Vec::new(),
        }
    }
}

impl FakeAuthBuilder {
    /// Registers a client (in addition to the defaults, unless
    /// [`FakeAuthBuilder::without_default_clients`]).
    pub fn client(mut self, client: ClientConfig) -> Self {
        self.clients.push(client);
        self
    }

    /// Does not register the default clients ([`NATIVE_CLIENT_ID`] and
    /// [`CONFIDENTIAL_CLIENT_ID`]).
    pub fn without_default_clients(mut self) -> Self {
        self.default_clients = false;
        self
    }

    /// The simulated user (default: [`User::default`]).
    pub fn user(mut self, user: User) -> Self {
        self.user = user;
        self
    }

    /// Access-token lifetime in seconds (default 172800, Globus Auth's 48 hours).
    pub fn token_lifetime(mut self, seconds: u64) -> Self {
        self.token_lifetime = seconds;
        self
    }

    /// The server clock's starting time in Unix seconds (default: the real time).
    pub fn now(mut self, unix_seconds: u64) -> Self {
        self.now = Some(unix_seconds);
        self
    }

    /// What the user does at the authorize endpoint (default: consent at once).
    pub fn authorize_behavior(mut self, behavior: AuthorizeBehavior) -> Self {
        self.behavior = behavior;
        self
    }

    /// Listens on this port of 127.0.0.1 instead of a free one chosen by the system
    /// (for a server shared with another process; tests should keep the default).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts a stand-in resource server with the server (see
    /// [`FakeAuth::resource_server_url`] and [`FakeAuth::configure_resource_server`]).
    pub fn resource_server(
        mut self,
        resource_server: impl Into<String>,
        config: ResourceServerConfig,
    ) -> Self {
        self.resource_servers.push((resource_server.into(), config));
        self
    }

    /// Starts the server on `127.0.0.1:0` (or the [`FakeAuthBuilder::port`]), and the
    /// stand-in resource servers on free ports.
    pub fn try_start(self) -> std::io::Result<FakeAuth> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}/");
        let now = self.now.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
        let mut state = State::new(base_url.clone(), now);
        state.user = self.user;
        state.token_lifetime = self.token_lifetime;
        state.behavior = self.behavior;
        let mut clients = Vec::new();
        if self.default_clients {
            clients.push(ClientConfig::native(NATIVE_CLIENT_ID));
            clients.push(
                ClientConfig::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)
                    .redirect_uri(CONFIDENTIAL_REDIRECT_URI),
            );
        }
        clients.extend(self.clients);
        for client in clients {
            state.clients.insert(client.id.clone(), client);
        }
        let server = Server::start(listener, Arc::new(Shared::new(state)))?;
        let fake = FakeAuth {
            server,
            base_url,
            stand_ins: Mutex::new(BTreeMap::new()),
        };
        for (name, config) in self.resource_servers {
            fake.configure_resource_server(&name, config);
            fake.try_resource_server_url(&name)?;
        }
        Ok(fake)
    }

    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If the loopback socket cannot be bound (use [`FakeAuthBuilder::try_start`] to
    /// handle that).
    pub fn start(self) -> FakeAuth {
        match self.try_start() {
            Ok(fake) => fake,
            Err(e) => panic!("the fake Globus Auth server could not start on 127.0.0.1: {e}"),
        }
    }
}

impl FakeAuth {
    /// Starts a server with the default clients and user.
    ///
    /// # Panics
    /// If the loopback socket cannot be bound.
    pub fn start() -> FakeAuth {
        FakeAuthBuilder::default().start()
    }

    /// A builder to configure the server before it starts.
    pub fn builder() -> FakeAuthBuilder {
        FakeAuthBuilder::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.server.shared.state)
    }

    // ------------------------------------------------------------ addresses

    /// The base URL with a trailing slash, like `https://auth.globus.org/`:
    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url()` joined with a path (a leading `/` is ignored):
    /// `fake.url("v2/oauth2/token")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The id_token issuer (`iss`): the base URL without the trailing slash, the way
    /// Globus Auth's issuer is `https://auth.globus.org`, unless
    /// [`set_issuer`](Self::set_issuer) changed it.
    pub fn issuer(&self) -> String {
        self.state().issuer.clone()
    }

    /// Sets the id_token issuer (`iss`) from now on, and the one the OpenID
    /// configuration announces: a Globus Auth reached through a proxy names its own
    /// issuer (`https://auth.globus.org`), not the proxy's URL.
    pub fn set_issuer(&self, issuer: impl Into<String>) {
        self.state().issuer = issuer.into();
    }

    // ------------------------------------------------------------ configuration

    /// Registers a client, replacing any client with the same id.
    pub fn register_client(&self, client: ClientConfig) {
        self.state().clients.insert(client.id.clone(), client);
    }

    /// Removes a client: its tokens stop working for grants that authenticate it.
    pub fn remove_client(&self, client_id: &str) {
        self.state().clients.remove(client_id);
    }

    /// Switches the simulated user. Later logins get this identity; tokens already
    /// issued keep theirs (refreshing them keeps the old identity, as at Globus).
    pub fn set_user(&self, user: User) {
        self.state().user = user;
    }

    /// The simulated user.
    pub fn user(&self) -> User {
        self.state().user.clone()
    }

    /// Lifetime in seconds (`expires_in`) of access tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state().token_lifetime = seconds;
    }

    /// What the simulated user does at the authorize endpoint from now on.
    pub fn set_authorize_behavior(&self, behavior: AuthorizeBehavior) {
        self.state().behavior = behavior;
    }

    // ------------------------------------------------------------ clock

    /// The server clock, in Unix seconds.
    pub fn now(&self) -> u64 {
        self.state().now
    }

    /// Moves the server clock forward.
    pub fn advance(&self, seconds: u64) {
        let mut state = self.state();
        state.now = state.now.saturating_add(seconds);
    }

    /// Sets the server clock.
    pub fn set_now(&self, unix_seconds: u64) {
        self.state().now = unix_seconds;
    }

    // ------------------------------------------------------------ codes and tokens

    /// Takes the oldest code held by [`AuthorizeBehavior::HoldCode`] (what the user
    /// would paste into a command-line login).
    pub fn take_held_code(&self) -> Option<IssuedCode> {
        self.state().held_codes.pop_front()
    }

    /// The last code issued at the authorize endpoint, whatever the behavior.
    pub fn last_issued_code(&self) -> Option<IssuedCode> {
        self.state().last_code.clone()
    }

    /// Revokes every token issued so far (as when a user revokes consent in the web app).
    pub fn revoke_all_tokens(&self) {
        for record in self.state().tokens.values_mut() {
            record.revoked = true;
        }
    }

    /// Revokes every access token issued so far, keeping refresh tokens: the next
    /// request to a stand-in resource server with one of them is answered 401, and a
    /// refresh gets a new one.
    pub fn revoke_access_tokens(&self) {
        for record in self.state().tokens.values_mut() {
            if record.kind == state::TokenKind::Access {
                record.revoked = true;
            }
        }
    }

    /// Whether this access token is known, unrevoked and unexpired on the server clock.
    pub fn is_access_token_active(&self, token: &str) -> bool {
        let state = self.state();
        state
            .tokens
            .get(token)
            .is_some_and(|r| r.is_active_access(state.now))
    }

    /// Whether this refresh token is known and not revoked.
    pub fn is_refresh_token_active(&self, token: &str) -> bool {
        self.state()
            .tokens
            .get(token)
            .is_some_and(|r| r.kind == state::TokenKind::Refresh && !r.revoked)
    }

    /// Forgets every consent (the consents endpoint then returns none until the next
    /// login), e.g. to test a dependent-scope requirement that is no longer met.
    pub fn clear_consents(&self) {
        self.state().consents.clear();
    }

    // ------------------------------------------------------------ faults

    /// Answers the next `times` requests to `endpoint` ([`Endpoint::Any`] for every
    /// endpoint, the stand-in resource servers included; [`Endpoint::ResourceServer`]
    /// for every stand-in) with `fault`. Faults queue up in the order injected.
    pub fn inject_fault(&self, endpoint: Endpoint, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        self.state().faults.push(faults::QueuedFault {
            endpoint,
            resource_server: None,
            fault,
            remaining: times,
        });
    }

    /// How many injected faults are still to be served.
    pub fn pending_faults(&self) -> usize {
        self.state().faults.iter().map(|f| f.remaining).sum()
    }

    /// Drops every injected fault not yet served.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    // ------------------------------------------------------------ stand-in resource servers

    /// The base URL (with a trailing slash) of the stand-in for the resource server
    /// `resource_server` (e.g. `transfer.api.globus.org`, or a collection's id):
    /// `http://127.0.0.1:PORT/`, its own loopback listener, started on first use and
    /// stopped with the server. Every path under it answers any method:
    ///
    /// - no bearer token, or one that is unknown, expired, revoked, a refresh token or
    ///   issued for another resource server: `401` with a Globus service error body
    ///   (`{"code": "AuthenticationFailed", "message", "request_id", "resource",
    ///   "http_status": 401}`) and `WWW-Authenticate: Bearer`;
    /// - a token that lacks a scope or session the stand-in requires
    ///   ([`FakeAuth::configure_resource_server`]): `403` with a Globus Auth
    ///   Requirements Error (`{"code": "AuthorizationRequired", "message",
    ///   "authorization_parameters": {"session_message", "required_scopes",
    ///   "session_required_single_domain", …}, "request_id", "resource",
    ///   "http_status": 403}`) naming only what is missing;
    /// - otherwise `200` with `{"method", "path", "query": [[name, value], …],
    ///   "body_length", "resource_server", "identity", "username", "client_id",
    ///   "scopes", "request_id"}` (never the token).
    ///
    /// Requests are logged with [`Endpoint::ResourceServer`] and
    /// [`LoggedRequest::resource_server`]; faults are injected with
    /// [`FakeAuth::inject_resource_server_fault`] (one stand-in) or
    /// [`FakeAuth::inject_fault`] with [`Endpoint::ResourceServer`] (all of them), their
    /// error bodies shaped like the services' (`{"code": "ServiceUnavailable", …}`).
    ///
    /// # Panics
    /// If no loopback port can be bound (use [`FakeAuth::try_resource_server_url`] to
    /// handle that).
    pub fn resource_server_url(&self, resource_server: &str) -> String {
        match self.try_resource_server_url(resource_server) {
            Ok(url) => url,
            Err(e) => panic!(
                "the stand-in resource server {resource_server} could not start on 127.0.0.1: {e}"
            ),
        }
    }

    /// [`FakeAuth::resource_server_url`], returning an error if no loopback port can be
    /// bound.
    pub fn try_resource_server_url(&self, resource_server: &str) -> std::io::Result<String> {
        let mut stand_ins = lock(&self.stand_ins);
        if let Some(url) = stand_ins.get(resource_server) {
            return Ok(url.clone());
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = self
            .server
            .listen(listener, Role::ResourceServer(resource_server.into()))?;
        let url = format!("http://{addr}/");
        stand_ins.insert(resource_server.to_owned(), url.clone());
        Ok(url)
    }

    /// The running stand-in resource servers: `(name, base URL)`, sorted by name.
    pub fn resource_servers(&self) -> Vec<(String, String)> {
        lock(&self.stand_ins)
            .iter()
            .map(|(name, url)| (name.clone(), url.clone()))
            .collect()
    }

    /// Sets what the stand-in for `resource_server` requires of tokens from now on
    /// (replacing what was set before; [`ResourceServerConfig::new`] requires nothing
    /// beyond an active token for it). Does not start it: see
    /// [`FakeAuth::resource_server_url`].
    pub fn configure_resource_server(&self, resource_server: &str, config: ResourceServerConfig) {
        self.state()
            .resource_servers
            .insert(resource_server.to_owned(), config);
    }

    /// Answers the next `times` requests to the stand-in for `resource_server` (and to
    /// no other endpoint) with `fault`, queued with the other faults in the order
    /// injected.
    pub fn inject_resource_server_fault(&self, resource_server: &str, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        self.state().faults.push(faults::QueuedFault {
            endpoint: Endpoint::ResourceServer,
            resource_server: Some(resource_server.to_owned()),
            fault,
            remaining: times,
        });
    }

    /// Answers the next request to the stand-in for `resource_server` with this status
    /// and JSON body, whatever its token (e.g. Transfer's `403` `ConsentRequired`). The
    /// answer is queued as a [`Fault::Json`].
    pub fn respond_once(&self, resource_server: &str, status: u16, body: &serde_json::Value) {
        self.inject_resource_server_fault(
            resource_server,
            Fault::Json {
                status,
                body: body.to_string(),
            },
            1,
        );
    }

    /// The requests to the stand-in for `resource_server`, in processing order.
    pub fn resource_server_requests(&self, resource_server: &str) -> Vec<LoggedRequest> {
        self.state()
            .log
            .iter()
            .filter(|r| {
                r.endpoint == Endpoint::ResourceServer
                    && r.resource_server.as_deref() == Some(resource_server)
            })
            .cloned()
            .collect()
    }

    // ------------------------------------------------------------ request log

    /// Every request received so far, in processing order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// The requests to one endpoint.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<LoggedRequest> {
        self.state()
            .log
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .cloned()
            .collect()
    }

    /// How many logged requests satisfy `predicate`.
    pub fn count(&self, predicate: impl Fn(&LoggedRequest) -> bool) -> usize {
        self.state().log.iter().filter(|r| predicate(r)).count()
    }

    /// The token-endpoint requests with this `grant_type` (e.g. `"refresh_token"`).
    pub fn token_requests(&self, grant_type: &str) -> Vec<LoggedRequest> {
        self.state()
            .log
            .iter()
            .filter(|r| r.endpoint == Endpoint::Token && r.grant_type() == Some(grant_type))
            .cloned()
            .collect()
    }

    /// Empties the log.
    pub fn clear_log(&self) {
        self.state().log.clear();
    }
}

/// The PKCE `S256` challenge of a verifier: base64url(SHA-256(verifier)) without padding.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The claims of a JWT (no signature check), or `None` if it is not a JWT with a JSON
/// payload. For tests that look inside an id_token.
pub fn jwt_claims(jwt: &str) -> Option<serde_json::Value> {
    let mut parts = jwt.split('.');
    let (_, Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}
