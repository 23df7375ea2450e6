//! Apps pointed at a fake: their configuration, clock, scripted browser, clients,
//! and the redaction of their transcripts.

use crate::client;
use crate::server::{Shared, lock};
use crate::state::TokenKind;
use crate::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
};
use globus_app_core::app::RetryPolicy;
use globus_app_core::transcript::Transcript;
use globus_app_core::{OAuthClient, UnixTime};
use globus_app_shell::login::{LocalServerLoginFlow, LoginMessage};
use globus_app_shell::system::Clock;
use globus_app_shell::{AppConfig, LoginFlowChoice, TokenStorageChoice};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The Globus services an [`AppConfig`] from [`FakeAuth::app_config`] finds
/// stand-ins for: the reference's short name (as in `GLOBUS_SDK_SERVICE_URL_<NAME>`)
/// and the resource server their tokens are for.
pub const STAND_IN_SERVICES: [(&str, &str); 5] = [
    ("transfer", "transfer.api.globus.org"),
    ("groups", "groups.api.globus.org"),
    ("search", "search.api.globus.org"),
    ("flows", "flows.globus.org"),
    ("timer", "524230d7-ea86-4a52-8312-86065a9e0417"),
];

/// The fake's clock, as an app's [`Clock`]: an app given it
/// ([`AppConfig::clock`]) sees tokens expire when the test moves the fake's clock
/// ([`FakeAuth::advance`]), and agrees with the fake on every `iat` and `exp`.
#[derive(Clone)]
pub struct FakeClock {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FakeClock").field(&self.now()).finish()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> UnixTime {
        UnixTime(i64::try_from(lock(&self.shared.state).now).unwrap_or(i64::MAX))
    }
}

/// One visit of the scripted browser: the authorize URL it was sent to and where
/// it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserVisit {
    /// The authorize URL the app opened.
    pub authorize_url: String,
    /// The status of the last page (the app's landing page after a redirect).
    pub status: u16,
    /// The last page's text.
    pub page: String,
}

/// A browser played by the test: the local-server login flow "opens" the
/// authorize URL in it, it follows the fake's redirect to the app's loopback
/// listener, and it remembers each visit. What the user does at the authorize page
/// is the fake's [`AuthorizeBehavior`](crate::AuthorizeBehavior).
///
/// It never panics: a page that cannot be fetched fails the login with the I/O
/// error, as a browser that cannot start would.
#[derive(Clone, Debug, Default)]
pub struct ScriptedBrowser {
    visits: Arc<Mutex<Vec<BrowserVisit>>>,
}

impl ScriptedBrowser {
    /// A browser that has visited nothing.
    pub fn new() -> ScriptedBrowser {
        ScriptedBrowser::default()
    }

    /// The local-server login flow that opens its URLs in this browser: no system
    /// browser, no `$BROWSER`, nothing printed, a 30-second wait.
    pub fn login_flow(&self) -> LocalServerLoginFlow {
        let browser = self.clone();
        LocalServerLoginFlow::new()
            .timeout(Duration::from_secs(30))
            .feedback(|_: &LoginMessage<'_>| Ok(()))
            .open_with(move |url| browser.open(url.as_str()))
    }

    /// Follows `url` and its redirects, and records the visit.
    ///
    /// # Errors
    /// The I/O error of a page that could not be fetched.
    pub fn open(&self, url: &str) -> io::Result<()> {
        let pages = client::browse(url)?;
        let last = pages.last();
        self.visits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(BrowserVisit {
                authorize_url: url.to_owned(),
                status: last.map_or(0, |page| page.status),
                page: last.map(client::Response::text).unwrap_or_default(),
            });
        Ok(())
    }

    /// Every visit so far, in order.
    pub fn visits(&self) -> Vec<BrowserVisit> {
        self.visits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl FakeAuth {
    /// The fake's clock, for an app ([`AppConfig::clock`]).
    pub fn clock(&self) -> FakeClock {
        FakeClock {
            shared: Arc::clone(&self.server.shared),
        }
    }

    /// The default native client ([`NATIVE_CLIENT_ID`]), for a `UserApp`.
    pub fn native_client(&self) -> OAuthClient {
        OAuthClient::native(NATIVE_CLIENT_ID)
    }

    /// The default confidential client ([`CONFIDENTIAL_CLIENT_ID`] and its
    /// secret), for a `ClientApp`.
    pub fn confidential_client(&self) -> OAuthClient {
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)
    }

    /// An app configuration that talks to this fake and nothing else, with no
    /// environment variable read, so that tests run in parallel in one process:
    ///
    /// - Globus Auth: this fake ([`AppConfig::auth_url`]); the id_token issuer it
    ///   names is accepted.
    /// - Services: a stand-in for each of [`STAND_IN_SERVICES`] (Transfer, Groups,
    ///   Search, Flows, Timers), started now, as [`AppConfig::service_url`]; their
    ///   hosts are the tokens' only destinations.
    /// - Login: the local-server flow with `browser` ([`ScriptedBrowser::login_flow`]).
    /// - Time: the fake's clock ([`FakeAuth::clock`]): [`FakeAuth::advance`] moves
    ///   the app's time too.
    /// - Tokens: in memory ([`TokenStorageChoice::Memory`]).
    /// - Retries of Globus Auth requests: 3, after 1 to 10 ms (not seconds).
    ///
    /// Everything else is the library's default (no refresh tokens unless you ask
    /// with [`AppConfig::request_refresh_tokens`]); change any of it with the
    /// config's own methods.
    ///
    /// # Panics
    /// If a stand-in cannot bind a loopback port.
    pub fn app_config(&self, browser: &ScriptedBrowser) -> AppConfig {
        let config = AppConfig::default()
            .auth_url(self.base_url())
            .token_storage(TokenStorageChoice::Memory)
            .login_flow(LoginFlowChoice::Custom(Arc::new(browser.login_flow())))
            .clock(Arc::new(self.clock()))
            .retry(RetryPolicy::new(
                3,
                Duration::from_millis(1),
                Duration::from_millis(10),
            ));
        STAND_IN_SERVICES
            .iter()
            .fold(config, |config, (service, resource_server)| {
                config.service_url(service, self.resource_server_url(resource_server))
            })
    }

    /// Every secret this fake handed out or was configured with, and the values that
    /// change from run to run, as `(kind, value)`: access and refresh tokens,
    /// authorization codes, client secrets, its own base URL (`auth-url`), the
    /// stand-ins' (`service-url`), and the redirect URIs and grant labels apps sent
    /// to its authorize page (`redirect-uri`, `grant-label`: a loopback port and a
    /// host name).
    pub fn secrets(&self) -> Vec<(&'static str, String)> {
        let mut secrets = Vec::new();
        {
            let state = lock(&self.server.shared.state);
            let mut tokens: Vec<_> = state.tokens.iter().collect();
            tokens.sort_by_key(|(value, record)| (record.issued_at, value.as_str()));
            for (value, record) in tokens {
                let kind = match record.kind {
                    TokenKind::Access => "access-token",
                    TokenKind::Refresh => "refresh-token",
                };
                secrets.push((kind, value.clone()));
            }
            let mut codes: Vec<_> = state.codes.keys().cloned().collect();
            codes.sort();
            secrets.extend(codes.into_iter().map(|code| ("code", code)));
            let mut clients: Vec<_> = state
                .clients
                .values()
                .filter_map(|c| c.secret.clone())
                .collect();
            clients.sort();
            secrets.extend(clients.into_iter().map(|secret| ("client-secret", secret)));
        }
        secrets.push(("auth-url", self.base_url().trim_end_matches('/').to_owned()));
        for (_, url) in self.resource_servers() {
            secrets.push(("service-url", url.trim_end_matches('/').to_owned()));
        }
        for request in self.requests_to(Endpoint::Authorize) {
            for (name, kind) in [
                ("redirect_uri", "redirect-uri"),
                ("prefill_named_grant", "grant-label"),
            ] {
                if let Some(value) = request.query_value(name) {
                    secrets.push((kind, value.to_owned()));
                }
            }
        }
        secrets
    }

    /// `transcript` made safe to commit and stable from run to run: its secrets
    /// replaced by placeholders ([`Transcript::redacted`]), then every value of
    /// [`secrets`](Self::secrets) too.
    ///
    /// To replay it, build the app's state with Globus Auth's production URLs: the
    /// placeholder `__auth-url-1__` stands for whatever base URL the replay uses,
    /// and an id_token's issuer must be one the replayed app accepts (set the fake's
    /// with [`FakeAuth::set_issuer`]`("https://auth.globus.org")` before recording).
    pub fn redact(&self, transcript: &Transcript) -> Transcript {
        let secrets = self.secrets();
        transcript
            .redacted()
            .redact_values(secrets.iter().map(|(kind, value)| (*kind, value.as_str())))
    }
}
