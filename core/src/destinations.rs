//! Where a token may go: each resource server is bound to the origins (scheme, host,
//! port) of its service, and a request to anywhere else is refused before a byte is
//! sent.
//!
//! The Globus services are bound from the reference's table of base URLs per
//! environment, or from the `GLOBUS_SDK_SERVICE_URL_<NAME>` variables that override
//! it (their values are arguments here: the core reads no environment). Any other
//! resource server (a Globus Connect Server collection, a user's own API) is bound
//! with [`TokenDestinations::bind`].
//!
//! A URL with user info (`https://user:pass@host/`) is refused, and plain `http` is
//! allowed only to the loopback IP literals (`127.0.0.0/8`, `::1`), for tests.
//!
//! ```
//! use globus_app_core::destinations::TokenDestinations;
//! use globus_app_core::Environment;
//! use url::Url;
//!
//! let mut destinations = TokenDestinations::globus(Environment::Production, |_| None).unwrap();
//! let transfer = "transfer.api.globus.org";
//! let ls = Url::parse("https://transfer.api.globus.org/v0.10/operation/endpoint/x/ls").unwrap();
//! destinations.check(transfer, &ls).unwrap();
//! // The Transfer token never goes to the search service, nor to a look-alike.
//! for elsewhere in ["https://search.api.globus.org/v1/search", "https://transfer.api.globus.org.evil.example/"] {
//!     assert!(destinations.check(transfer, &Url::parse(elsewhere).unwrap()).is_err());
//! }
//! // A collection's resource server is bound by hand.
//! let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
//! destinations.bind(collection, "https://g-12345.data.globus.org/").unwrap();
//! destinations.check(collection, &Url::parse("https://g-12345.data.globus.org/file.txt").unwrap()).unwrap();
//! ```

use crate::Environment;
use crate::scopes::{auth, compute, flows, groups, search, timers, transfer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use url::{Host, Url};

/// A Globus service whose token destinations are built in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobusService {
    /// The reference's short name (`transfer`, `timer`, …), which names its base-URL
    /// variable.
    pub name: &'static str,
    /// The resource server its tokens are issued for.
    pub resource_server: &'static str,
    /// The scopes its service client asks for by default, as the reference's
    /// `default_scope_requirements`.
    pub default_scopes: &'static [crate::scopes::Scope],
}

/// The Globus services with built-in destinations.
pub const GLOBUS_SERVICES: [GlobusService; 7] = [
    GlobusService {
        name: "auth",
        resource_server: auth::RESOURCE_SERVER,
        default_scopes: &[auth::OPENID, auth::PROFILE, auth::EMAIL],
    },
    GlobusService {
        name: "transfer",
        resource_server: transfer::RESOURCE_SERVER,
        default_scopes: &[transfer::ALL],
    },
    GlobusService {
        name: "groups",
        resource_server: groups::RESOURCE_SERVER,
        default_scopes: &[groups::VIEW_MY_GROUPS_AND_MEMBERSHIPS],
    },
    GlobusService {
        name: "search",
        resource_server: search::RESOURCE_SERVER,
        default_scopes: &[search::SEARCH],
    },
    GlobusService {
        name: "flows",
        resource_server: flows::RESOURCE_SERVER,
        default_scopes: &[flows::ALL],
    },
    GlobusService {
        name: "timer",
        resource_server: timers::RESOURCE_SERVER,
        default_scopes: &[timers::TIMER],
    },
    GlobusService {
        name: "compute",
        resource_server: compute::RESOURCE_SERVER,
        default_scopes: &[compute::ALL],
    },
];

impl GlobusService {
    /// Returns the service named `name` (`transfer`, `timer`, …), if it is one.
    pub fn named(name: &str) -> Option<&'static GlobusService> {
        GLOBUS_SERVICES.iter().find(|s| s.name == name)
    }

    /// Returns the variable that overrides this service's base URL, as the reference
    /// names it: `GLOBUS_SDK_SERVICE_URL_TRANSFER`, …
    pub fn url_variable(&self) -> String {
        format!("GLOBUS_SDK_SERVICE_URL_{}", self.name.to_ascii_uppercase())
    }

    /// Returns the service's base URL in an environment, as the reference's table
    /// gives it.
    ///
    /// ```
    /// use globus_app_core::destinations::GLOBUS_SERVICES;
    /// use globus_app_core::Environment;
    /// let [auth, transfer, _, _, flows, ..] = GLOBUS_SERVICES;
    /// assert_eq!(transfer.base_url(Environment::Production), "https://transfer.api.globus.org/");
    /// assert_eq!(auth.base_url(Environment::Sandbox), "https://auth.sandbox.globuscs.info/");
    /// assert_eq!(flows.base_url(Environment::Production), "https://flows.automate.globus.org/");
    /// assert_eq!(flows.base_url(Environment::Test), "https://test.flows.automate.globus.org/");
    /// ```
    pub fn base_url(&self, environment: Environment) -> String {
        let domain = match environment {
            Environment::Production => "globus.org".to_owned(),
            Environment::Preview => "preview.globus.org".to_owned(),
            other => format!("{}.globuscs.info", other.name()),
        };
        match (self.name, environment) {
            ("auth", _) => format!("https://auth.{domain}/"),
            ("flows" | "timer", Environment::Production) => {
                format!("https://{}.automate.globus.org/", self.name)
            }
            ("flows" | "timer", other) => {
                format!(
                    "https://{}.{}.automate.globus.org/",
                    other.name(),
                    self.name
                )
            }
            (name, _) => format!("https://{name}.api.{domain}/"),
        }
    }
}

/// The origin of a URL a token may be sent to: scheme, normalised host and port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, if a token may travel there at all.
    ///
    /// # Errors
    /// User info in the URL; a scheme other than `https` (or `http` to a loopback IP
    /// literal); no host.
    pub fn of(url: &Url) -> Result<Origin, DestinationError> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationError::UserInfo { url: shown(url) });
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(DestinationError::Scheme { url: shown(url) });
            }
        };
        let host = match url.host() {
            Some(Host::Domain(domain)) => {
                if !https {
                    return Err(DestinationError::PlainHttp { url: shown(url) });
                }
                // `url` lower-cases and IDNA-encodes domains; a trailing dot names
                // the same host.
                domain.trim_end_matches('.').to_owned()
            }
            Some(Host::Ipv4(ip)) => {
                if !https && !ip.is_loopback() {
                    return Err(DestinationError::PlainHttp { url: shown(url) });
                }
                ip.to_string()
            }
            Some(Host::Ipv6(ip)) => {
                if !https && !ip.is_loopback() {
                    return Err(DestinationError::PlainHttp { url: shown(url) });
                }
                format!("[{ip}]")
            }
            None => {
                return Err(DestinationError::InvalidUrl {
                    url: shown(url),
                    reason: "it has no host".into(),
                });
            }
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Origin { https, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A URL as errors show it: scheme, host, port and path, never user info or a query
/// (either could hold a secret).
fn shown(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme(), url.path())
}

/// Why a token may not go to a URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The URL does not parse, or has no host.
    #[error("refusing to send a token to {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (without user info or query).
        url: String,
        /// Why.
        reason: String,
    },
    /// The URL carries user info.
    #[error("refusing to send a token to {url:?}: the URL has a user name or password; remove it")]
    UserInfo {
        /// The URL (without user info or query).
        url: String,
    },
    /// The scheme is neither `https` nor `http`.
    #[error("refusing to send a token to {url:?}: only https URLs may carry a token")]
    Scheme {
        /// The URL (without user info or query).
        url: String,
    },
    /// Plain `http` to a host that is not a loopback IP literal.
    #[error(
        "refusing to send a token to {url:?} over plain http: tokens travel over https (http is allowed only to 127.0.0.1 or ::1, for tests)"
    )]
    PlainHttp {
        /// The URL (without user info or query).
        url: String,
    },
    /// Nothing is bound for this resource server.
    #[error(
        "refusing to send a token for {resource_server} to {url:?}: no host is bound to that resource server; bind its service's base URL first"
    )]
    Unbound {
        /// The resource server.
        resource_server: String,
        /// The URL (without user info or query).
        url: String,
    },
    /// The URL's origin is not one bound to the resource server.
    #[error(
        "refusing to send a token for {resource_server} to {origin}: that resource server's tokens go only to {}", bound.join(", ")
    )]
    NotBound {
        /// The resource server.
        resource_server: String,
        /// The origin of the URL.
        origin: String,
        /// The origins bound to the resource server.
        bound: Vec<String>,
    },
}

/// The origins each resource server's token may be sent to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenDestinations {
    bound: BTreeMap<String, BTreeSet<Origin>>,
}

impl TokenDestinations {
    /// No destination at all: every resource server must be bound.
    pub fn new() -> TokenDestinations {
        TokenDestinations::default()
    }

    /// The Globus services of `environment` ([`GLOBUS_SERVICES`]), each bound to its
    /// base URL, or to the value `base_url_variable` returns for its
    /// [`url_variable`](GlobusService::url_variable) (the shell passes the process
    /// environment's).
    ///
    /// # Errors
    /// An override that is not a URL a token may go to.
    pub fn globus(
        environment: Environment,
        base_url_variable: impl Fn(&str) -> Option<String>,
    ) -> Result<TokenDestinations, DestinationError> {
        let mut destinations = TokenDestinations::new();
        for service in GLOBUS_SERVICES {
            let base = base_url_variable(&service.url_variable())
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| service.base_url(environment));
            destinations.bind(service.resource_server, &base)?;
        }
        Ok(destinations)
    }

    /// The Globus services of `service`'s environment at their standard URLs, and
    /// Globus Auth at `service`'s base URL (an environment this library does not
    /// know binds Globus Auth alone).
    pub fn for_service(service: &crate::AuthService) -> TokenDestinations {
        let mut destinations = match service.environment() {
            // The built-in table always binds (its URLs are https).
            Some(environment) => {
                TokenDestinations::globus(environment, |_| None).unwrap_or_default()
            }
            None => TokenDestinations::new(),
        };
        // An auth URL a token may not go to (`http://localhost`) stays unbound.
        let _ = destinations.bind(auth::RESOURCE_SERVER, service.base_url().as_str());
        destinations
    }

    /// Lets `resource_server`'s token go to the origin of `base_url` too.
    ///
    /// # Errors
    /// A URL that does not parse, or where no token may go ([`Origin::of`]).
    pub fn bind(&mut self, resource_server: &str, base_url: &str) -> Result<(), DestinationError> {
        let url = Url::parse(base_url).map_err(|e| DestinationError::InvalidUrl {
            url: base_url
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .to_owned(),
            reason: e.to_string(),
        })?;
        let origin = Origin::of(&url)?;
        self.bound
            .entry(resource_server.to_owned())
            .or_default()
            .insert(origin);
        Ok(())
    }

    /// Returns the origins bound to `resource_server`.
    pub fn origins(&self, resource_server: &str) -> impl Iterator<Item = &Origin> {
        self.bound.get(resource_server).into_iter().flatten()
    }

    /// Checks that `resource_server`'s token may be sent to `url`.
    ///
    /// # Errors
    /// See [`DestinationError`].
    pub fn check(&self, resource_server: &str, url: &Url) -> Result<(), DestinationError> {
        let origin = Origin::of(url)?;
        let Some(bound) = self.bound.get(resource_server) else {
            return Err(DestinationError::Unbound {
                resource_server: resource_server.to_owned(),
                url: shown(url),
            });
        };
        if bound.contains(&origin) {
            return Ok(());
        }
        Err(DestinationError::NotBound {
            resource_server: resource_server.to_owned(),
            origin: origin.to_string(),
            bound: bound.iter().map(ToString::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic is how a test fails

    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn production() -> TokenDestinations {
        TokenDestinations::globus(Environment::Production, |_| None).unwrap()
    }

    #[test]
    fn the_reference_table_of_base_urls() {
        let expected = [
            ("auth", Environment::Production, "https://auth.globus.org/"),
            (
                "auth",
                Environment::Preview,
                "https://auth.preview.globus.org/",
            ),
            (
                "transfer",
                Environment::Production,
                "https://transfer.api.globus.org/",
            ),
            (
                "transfer",
                Environment::Staging,
                "https://transfer.api.staging.globuscs.info/",
            ),
            (
                "groups",
                Environment::Preview,
                "https://groups.api.preview.globus.org/",
            ),
            (
                "search",
                Environment::Integration,
                "https://search.api.integration.globuscs.info/",
            ),
            (
                "flows",
                Environment::Production,
                "https://flows.automate.globus.org/",
            ),
            (
                "flows",
                Environment::Sandbox,
                "https://sandbox.flows.automate.globus.org/",
            ),
            (
                "timer",
                Environment::Production,
                "https://timer.automate.globus.org/",
            ),
            (
                "timer",
                Environment::Preview,
                "https://preview.timer.automate.globus.org/",
            ),
            (
                "compute",
                Environment::Production,
                "https://compute.api.globus.org/",
            ),
            (
                "compute",
                Environment::Test,
                "https://compute.api.test.globuscs.info/",
            ),
        ];
        for (name, env, base) in expected {
            let service = GLOBUS_SERVICES.iter().find(|s| s.name == name).unwrap();
            assert_eq!(service.base_url(env), base, "{name} in {env}");
        }
        assert_eq!(
            GLOBUS_SERVICES[6].url_variable(),
            "GLOBUS_SDK_SERVICE_URL_COMPUTE"
        );
    }

    #[test]
    fn each_service_token_goes_only_to_its_own_host() {
        let d = production();
        for service in GLOBUS_SERVICES {
            let base = url(&service.base_url(Environment::Production));
            d.check(
                service.resource_server,
                &base.join("some/path?x=1").unwrap(),
            )
            .unwrap();
            for other in GLOBUS_SERVICES {
                if other.name != service.name {
                    let there = url(&other.base_url(Environment::Production));
                    assert!(
                        d.check(service.resource_server, &there).is_err(),
                        "{} token to {there}",
                        service.name
                    );
                }
            }
        }
    }

    #[test]
    fn origins_are_compared_normalised_and_exactly() {
        let d = production();
        let rs = transfer::RESOURCE_SERVER;
        for same in [
            "https://TRANSFER.api.globus.org/v0.10/",
            "https://transfer.api.globus.org:443/x",
            "https://transfer.api.globus.org./x",
        ] {
            d.check(rs, &url(same)).unwrap();
        }
        for elsewhere in [
            "https://transfer.api.globus.org:8443/",
            "http://transfer.api.globus.org/",
            "https://transfer.api.globus.org.evil.example/",
            "https://evil.example/transfer.api.globus.org/",
            "https://api.globus.org/",
        ] {
            let err = d.check(rs, &url(elsewhere)).unwrap_err();
            assert!(err.to_string().contains("refusing"), "{err}");
        }
    }

    #[test]
    fn user_info_other_schemes_and_plain_http_are_refused() {
        let mut d = TokenDestinations::new();
        let err = d
            .bind("rs", "https://user:hunter2@api.example.org/")
            .unwrap_err();
        assert!(matches!(err, DestinationError::UserInfo { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(matches!(
            d.bind("rs", "ftp://api.example.org/").unwrap_err(),
            DestinationError::Scheme { .. }
        ));
        for plain in [
            "http://api.example.org/",
            "http://localhost:8080/",
            "http://10.0.0.1/",
        ] {
            assert!(
                matches!(
                    d.bind("rs", plain).unwrap_err(),
                    DestinationError::PlainHttp { .. }
                ),
                "{plain}"
            );
        }
        for loopback in [
            "http://127.0.0.1:8080/",
            "http://127.1.2.3/",
            "http://[::1]:9/",
        ] {
            d.bind("rs", loopback).unwrap();
        }
        d.check("rs", &url("http://127.0.0.1:8080/x")).unwrap();
        assert!(d.check("rs", &url("http://127.0.0.1:8081/x")).is_err());
        d.check("rs", &url("http://[::1]:9/")).unwrap();
    }

    #[test]
    fn unbound_resource_servers_and_errors_show_no_query() {
        let d = production();
        let err = d
            .check(
                "6c54cade-bde5-45c1-bdea-f4bd71dba2cc",
                &url("https://g-1.data.globus.org/?token=SECRET"),
            )
            .unwrap_err();
        assert!(matches!(err, DestinationError::Unbound { .. }), "{err:?}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = d
            .check(
                transfer::RESOURCE_SERVER,
                &url("https://evil.example/?access_token=SECRET"),
            )
            .unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("SECRET"), "{message}");
        assert!(
            message.contains("https://transfer.api.globus.org:443"),
            "{message}"
        );
    }

    #[test]
    fn base_url_variables_override_the_table() {
        let d = TokenDestinations::globus(Environment::Production, |var| {
            (var == "GLOBUS_SDK_SERVICE_URL_TRANSFER").then(|| "http://127.0.0.1:4567/".to_owned())
        })
        .unwrap();
        d.check(
            transfer::RESOURCE_SERVER,
            &url("http://127.0.0.1:4567/v0.10/task_list"),
        )
        .unwrap();
        assert!(
            d.check(
                transfer::RESOURCE_SERVER,
                &url("https://transfer.api.globus.org/")
            )
            .is_err()
        );
        // An override where no token may go is refused when the table is built.
        let err = TokenDestinations::globus(Environment::Production, |var| {
            (var == "GLOBUS_SDK_SERVICE_URL_SEARCH").then(|| "http://search.example/".to_owned())
        })
        .unwrap_err();
        assert!(matches!(err, DestinationError::PlainHttp { .. }), "{err:?}");
    }
}

#[cfg(test)]
mod reference_table {
    /// Every service × environment, as globus-sdk 4.10's `get_service_url` prints them.
    const REFERENCE: &str = include_str!("destinations/reference_urls.txt");

    #[test]
    fn every_base_url_equals_the_reference() {
        let mut seen = 0;
        for line in REFERENCE.lines() {
            let [name, env, url] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("bad line {line:?}");
            };
            let service = super::GLOBUS_SERVICES
                .iter()
                .find(|s| s.name == name)
                .expect("a known service");
            let env = crate::Environment::from_name(env).expect("a known environment");
            assert_eq!(service.base_url(env), url, "{name} in {env}");
            seen += 1;
        }
        assert_eq!(seen, 42);
    }
}
