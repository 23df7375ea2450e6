//! Globus environments and the Globus Auth URLs they imply.

use std::fmt;
use url::Url;

/// A Globus deployment. Almost every user wants [`Environment::Production`].
///
/// The environment decides the Globus Auth base URL and the issuer of id_tokens, and
/// it appears in default token file names (`{env}-tokens.json` outside production).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://auth.globus.org/`
    #[default]
    Production,
    /// `https://auth.preview.globus.org/`
    Preview,
    /// `https://auth.sandbox.globuscs.info/`
    Sandbox,
    /// `https://auth.integration.globuscs.info/`
    Integration,
    /// `https://auth.test.globuscs.info/`
    Test,
    /// `https://auth.staging.globuscs.info/`
    Staging,
}

impl Environment {
    /// Every environment, in the order error messages list them.
    pub const ALL: [Environment; 6] = [
        Environment::Production,
        Environment::Preview,
        Environment::Sandbox,
        Environment::Integration,
        Environment::Test,
        Environment::Staging,
    ];

    /// Looks an environment up by the name `GLOBUS_SDK_ENVIRONMENT` uses.
    ///
    /// # Errors
    /// [`EnvironmentError::Unknown`], whose message lists the known names.
    ///
    /// ```
    /// use globus_app_core::Environment;
    /// assert_eq!(Environment::from_name("sandbox").unwrap(), Environment::Sandbox);
    /// let err = Environment::from_name("prod").unwrap_err();
    /// assert!(err.to_string().contains("production, preview, sandbox"));
    /// ```
    pub fn from_name(name: &str) -> Result<Environment, EnvironmentError> {
        Environment::ALL
            .into_iter()
            .find(|env| env.name() == name)
            .ok_or_else(|| EnvironmentError::Unknown {
                name: name.to_owned(),
            })
    }

    /// Returns the environment's name, as `GLOBUS_SDK_ENVIRONMENT` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Preview => "preview",
            Environment::Sandbox => "sandbox",
            Environment::Integration => "integration",
            Environment::Test => "test",
            Environment::Staging => "staging",
        }
    }

    /// Returns the Globus Auth base URL of this environment, with a trailing slash.
    pub fn auth_base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://auth.globus.org/",
            Environment::Preview => "https://auth.preview.globus.org/",
            Environment::Sandbox => "https://auth.sandbox.globuscs.info/",
            Environment::Integration => "https://auth.integration.globuscs.info/",
            Environment::Test => "https://auth.test.globuscs.info/",
            Environment::Staging => "https://auth.staging.globuscs.info/",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Environment {
    type Err = EnvironmentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Environment::from_name(s)
    }
}

/// A problem with the environment name or the Globus Auth URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvironmentError {
    /// `GLOBUS_SDK_ENVIRONMENT` (or the configured name) is not a Globus environment.
    #[error(
        "unknown Globus environment {name:?}; known environments: production, preview, sandbox, integration, test, staging (another name needs GLOBUS_SDK_SERVICE_URL_AUTH, and is letters, digits, '-', '_' and '.')"
    )]
    Unknown {
        /// The name that was given.
        name: String,
    },
    /// The auth URL override does not parse as an absolute URL.
    #[error("the Globus Auth URL {url:?} is not a valid absolute URL: {reason}")]
    InvalidUrl {
        /// The URL that was given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The auth URL override uses plain `http://` to a host other than loopback.
    #[error(
        "refusing the Globus Auth URL {url:?}: tokens must travel over https (plain http is allowed only to 127.0.0.1, ::1 or localhost, for tests)"
    )]
    InsecureUrl {
        /// The URL that was given.
        url: String,
    },
}

/// The Globus Auth service an app talks to: its environment and base URL.
///
/// Built from the values of `GLOBUS_SDK_ENVIRONMENT` and `GLOBUS_SDK_SERVICE_URL_AUTH`,
/// which the adapters read from the process environment and pass in.
///
/// ```
/// use globus_app_core::AuthService;
/// let prod = AuthService::from_env_values(None, None).unwrap();
/// assert_eq!(prod.token_url().as_str(), "https://auth.globus.org/v2/oauth2/token");
///
/// let local = AuthService::from_env_values(None, Some("http://127.0.0.1:8080")).unwrap();
/// assert_eq!(local.base_url().as_str(), "http://127.0.0.1:8080/");
///
/// assert!(AuthService::from_env_values(None, Some("http://example.org/")).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthService {
    /// `None` for an environment the library does not know (its URL was given).
    environment: Option<Environment>,
    /// The name of an unknown environment.
    custom_name: Option<String>,
    base_url: Url,
    /// The id_token issuer, when configured.
    issuer: Option<String>,
}

impl AuthService {
    /// The production Globus Auth service.
    pub fn production() -> AuthService {
        AuthService::for_environment(Environment::Production)
    }

    /// The Globus Auth service of an environment, at its standard URL.
    pub fn for_environment(environment: Environment) -> AuthService {
        let base_url = Url::parse(environment.auth_base_url())
            .unwrap_or_else(|_| unreachable!("the built-in auth URLs are valid"));
        AuthService {
            environment: Some(environment),
            custom_name: None,
            base_url,
            issuer: None,
        }
    }

    /// Resolves the service from the values of `GLOBUS_SDK_ENVIRONMENT` and
    /// `GLOBUS_SDK_SERVICE_URL_AUTH` (pass `None` for an unset variable; empty
    /// strings count as unset).
    ///
    /// # Errors
    /// An unknown environment name, an unparsable URL, or plain `http://` to a
    /// host that is not loopback.
    pub fn from_env_values(
        environment: Option<&str>,
        auth_url: Option<&str>,
    ) -> Result<AuthService, EnvironmentError> {
        let auth_url = auth_url.filter(|s| !s.is_empty());
        let environment = match environment.filter(|s| !s.is_empty()) {
            None => Environment::Production,
            Some(name) => match (Environment::from_name(name), auth_url) {
                (Ok(environment), _) => environment,
                // An environment this library does not know, at the URL given: as
                // the reference, which needs each service's URL only when it is used.
                (Err(_), Some(url)) => {
                    let mut service = AuthService::with_base_url(Environment::Production, url)?;
                    service.environment = None;
                    service.custom_name = Some(custom_environment_name(name)?);
                    return Ok(service);
                }
                (Err(e), None) => return Err(e),
            },
        };
        match auth_url {
            Some(url) => AuthService::with_base_url(environment, url),
            None => Ok(AuthService::for_environment(environment)),
        }
    }

    /// A service at a custom base URL (a test server, a proxy).
    ///
    /// # Errors
    /// An unparsable URL, or plain `http://` to a host that is not loopback.
    pub fn with_base_url(
        environment: Environment,
        url: &str,
    ) -> Result<AuthService, EnvironmentError> {
        let mut base_url = Url::parse(url).map_err(|e| EnvironmentError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        match base_url.scheme() {
            "https" => {}
            "http" if is_loopback(&base_url) => {}
            "http" => {
                return Err(EnvironmentError::InsecureUrl {
                    url: url.to_owned(),
                });
            }
            other => {
                return Err(EnvironmentError::InvalidUrl {
                    url: url.to_owned(),
                    reason: format!("unsupported scheme {other:?}"),
                });
            }
        }
        if base_url.cannot_be_a_base() || base_url.host().is_none() {
            return Err(EnvironmentError::InvalidUrl {
                url: url.to_owned(),
                reason: "no host".to_owned(),
            });
        }
        base_url.set_query(None);
        base_url.set_fragment(None);
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        Ok(AuthService {
            environment: Some(environment),
            custom_name: None,
            base_url,
            issuer: None,
        })
    }

    /// Sets the issuer id_tokens must carry, instead of the default (see
    /// [`accepts_issuer`](Self::accepts_issuer)): for a Globus Auth reached through
    /// a proxy whose tokens name yet another issuer.
    ///
    /// ```
    /// use globus_app_core::AuthService;
    /// let proxied = AuthService::from_env_values(None, Some("https://auth-proxy.example.org/")).unwrap();
    /// // By default, the environment's issuer and the one of the URL given.
    /// assert!(proxied.accepts_issuer("https://auth.globus.org"));
    /// assert!(proxied.accepts_issuer("https://auth-proxy.example.org"));
    /// let pinned = proxied.with_issuer("https://issuer.example.org");
    /// assert!(pinned.accepts_issuer("https://issuer.example.org/"));
    /// assert!(!pinned.accepts_issuer("https://auth.globus.org"));
    /// ```
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> AuthService {
        self.issuer = Some(issuer.into().trim_end_matches('/').to_owned());
        self
    }

    /// Returns the environment, or `None` for one this library does not know
    /// (accepted when the Globus Auth URL is given, as the reference does).
    pub fn environment(&self) -> Option<Environment> {
        self.environment
    }

    /// Returns the environment's name (`production`, …, or the unknown name given).
    pub fn environment_name(&self) -> &str {
        match (&self.custom_name, self.environment) {
            (Some(name), _) => name,
            (None, Some(environment)) => environment.name(),
            (None, None) => "production",
        }
    }

    /// Returns the base URL, ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Returns the issuer id_tokens from this service carry: the configured one
    /// ([`with_issuer`](Self::with_issuer)), else the base URL without its trailing
    /// slash (`https://auth.globus.org`).
    pub fn issuer(&self) -> &str {
        self.issuer
            .as_deref()
            .unwrap_or_else(|| self.base_url.as_str().trim_end_matches('/'))
    }

    /// Returns the issuers an id_token may name: the configured one alone, else
    /// the base URL's and the environment's (they differ when
    /// `GLOBUS_SDK_SERVICE_URL_AUTH` points at a proxy of Globus Auth).
    pub fn accepted_issuers(&self) -> Vec<&str> {
        if let Some(issuer) = &self.issuer {
            return vec![issuer];
        }
        let mut issuers = vec![self.base_url.as_str().trim_end_matches('/')];
        if let Some(environment) = self.environment {
            let standard = environment.auth_base_url().trim_end_matches('/');
            if !issuers.contains(&standard) {
                issuers.push(standard);
            }
        }
        issuers
    }

    /// Returns true if an id_token naming `issuer` comes from this service (see
    /// [`accepted_issuers`](Self::accepted_issuers)); a trailing slash does not
    /// matter.
    pub fn accepts_issuer(&self, issuer: &str) -> bool {
        self.accepted_issuers()
            .contains(&issuer.trim_end_matches('/'))
    }

    fn join(&self, path: &str) -> Url {
        self.base_url
            .join(path)
            .unwrap_or_else(|_| unreachable!("relative paths join onto a base URL"))
    }

    /// `GET v2/oauth2/authorize`.
    pub fn authorize_url(&self) -> Url {
        self.join("v2/oauth2/authorize")
    }

    /// `POST v2/oauth2/token`.
    pub fn token_url(&self) -> Url {
        self.join("v2/oauth2/token")
    }

    /// `POST v2/oauth2/token/revoke`.
    pub fn revoke_url(&self) -> Url {
        self.join("v2/oauth2/token/revoke")
    }

    /// `POST v2/oauth2/token/introspect`.
    pub fn introspect_url(&self) -> Url {
        self.join("v2/oauth2/token/introspect")
    }

    /// `GET v2/oauth2/userinfo`.
    pub fn userinfo_url(&self) -> Url {
        self.join("v2/oauth2/userinfo")
    }

    /// `GET v2/api/identities/{identity_id}/consents`.
    pub fn consents_url(&self, identity_id: &str) -> Url {
        let mut url = self.join("v2/api/identities/");
        url.path_segments_mut()
            .map(|mut segments| {
                segments.pop_if_empty().push(identity_id).push("consents");
            })
            .unwrap_or_else(|()| unreachable!("an http(s) URL has path segments"));
        url
    }

    /// The page that shows a native app's user the code to paste:
    /// `v2/web/auth-code`, the default redirect URI of native clients.
    pub fn native_redirect_uri(&self) -> Url {
        self.join("v2/web/auth-code")
    }
}

/// An unknown environment's name goes into token file names: letters, digits,
/// `-`, `_` and `.`, at most 64.
fn custom_environment_name(name: &str) -> Result<String, EnvironmentError> {
    let valid = name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(EnvironmentError::Unknown {
            name: name.to_owned(),
        })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_environment_url() {
        let expect = [
            (
                "production",
                "https://auth.globus.org/",
                "https://auth.globus.org",
            ),
            (
                "preview",
                "https://auth.preview.globus.org/",
                "https://auth.preview.globus.org",
            ),
            (
                "sandbox",
                "https://auth.sandbox.globuscs.info/",
                "https://auth.sandbox.globuscs.info",
            ),
            (
                "integration",
                "https://auth.integration.globuscs.info/",
                "https://auth.integration.globuscs.info",
            ),
            (
                "test",
                "https://auth.test.globuscs.info/",
                "https://auth.test.globuscs.info",
            ),
            (
                "staging",
                "https://auth.staging.globuscs.info/",
                "https://auth.staging.globuscs.info",
            ),
        ];
        for (name, base, issuer) in expect {
            let service = AuthService::from_env_values(Some(name), None).unwrap();
            assert_eq!(service.base_url().as_str(), base);
            assert_eq!(service.issuer(), issuer);
            assert_eq!(service.environment_name(), name);
        }
    }

    #[test]
    fn unknown_environment_lists_known() {
        let err = AuthService::from_env_values(Some("moon"), None).unwrap_err();
        assert_eq!(
            err,
            EnvironmentError::Unknown {
                name: "moon".into()
            }
        );
        let msg = err.to_string();
        for env in Environment::ALL {
            assert!(msg.contains(env.name()), "{msg}");
        }
    }

    #[test]
    fn an_unknown_environment_with_an_auth_url_is_accepted() {
        let lab =
            AuthService::from_env_values(Some("mylab"), Some("https://auth.lab.example/")).unwrap();
        assert_eq!((lab.environment(), lab.environment_name()), (None, "mylab"));
        assert_eq!(lab.accepted_issuers(), ["https://auth.lab.example"]);
        for bad in ["../x", "a/b", ".hidden", &"x".repeat(65)] {
            assert!(
                AuthService::from_env_values(Some(bad), Some("https://a.example/")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn override_url_rules() {
        for ok in [
            "http://127.0.0.1:5000",
            "http://localhost:1/",
            "http://[::1]:9/",
            "https://auth.example.org/prefix",
        ] {
            let s = AuthService::from_env_values(Some("sandbox"), Some(ok)).unwrap();
            assert!(s.base_url().as_str().ends_with('/'));
            assert_eq!(s.environment(), Some(Environment::Sandbox));
        }
        let prefixed = AuthService::from_env_values(None, Some("https://h.example/p")).unwrap();
        assert_eq!(
            prefixed.token_url().as_str(),
            "https://h.example/p/v2/oauth2/token"
        );
        assert!(matches!(
            AuthService::from_env_values(None, Some("http://auth.example.org/")),
            Err(EnvironmentError::InsecureUrl { .. })
        ));
        assert!(matches!(
            AuthService::from_env_values(None, Some("http://127.0.0.1.evil.example/")),
            Err(EnvironmentError::InsecureUrl { .. })
        ));
        for bad in ["not a url", "ftp://x/", "mailto:a@b"] {
            assert!(matches!(
                AuthService::from_env_values(None, Some(bad)),
                Err(EnvironmentError::InvalidUrl { .. })
            ));
        }
        // Empty values count as unset.
        assert_eq!(
            AuthService::from_env_values(Some(""), Some("")).unwrap(),
            AuthService::production()
        );
    }

    #[test]
    fn endpoint_urls() {
        let s = AuthService::production();
        assert_eq!(
            s.authorize_url().as_str(),
            "https://auth.globus.org/v2/oauth2/authorize"
        );
        assert_eq!(
            s.revoke_url().as_str(),
            "https://auth.globus.org/v2/oauth2/token/revoke"
        );
        assert_eq!(
            s.introspect_url().as_str(),
            "https://auth.globus.org/v2/oauth2/token/introspect"
        );
        assert_eq!(
            s.userinfo_url().as_str(),
            "https://auth.globus.org/v2/oauth2/userinfo"
        );
        assert_eq!(
            s.consents_url("ae341a98-d274-11e5-b888-dbae3a8ba545")
                .as_str(),
            "https://auth.globus.org/v2/api/identities/ae341a98-d274-11e5-b888-dbae3a8ba545/consents"
        );
        assert_eq!(
            s.consents_url("a/b?c").as_str(),
            "https://auth.globus.org/v2/api/identities/a%2Fb%3Fc/consents"
        );
        assert_eq!(
            s.native_redirect_uri().as_str(),
            "https://auth.globus.org/v2/web/auth-code"
        );
    }
}
