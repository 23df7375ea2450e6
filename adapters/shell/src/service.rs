//! Service clients, written once for every adapter: a base URL, a resource server
//! whose scopes it registers with the app, and `get`/`post_json`/… over the app's
//! authorized requests.
//!
//! The runtime-independent half is here ([`ServiceResponse`], URL and body
//! helpers); each adapter defines its `ServiceClient` with
//! [`define_service_client!`](crate::define_service_client).

use globus_app_core::app::Error;
use globus_app_core::{GlobusApiError, HttpResponse};
use http::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A service's successful (2xx) answer.
///
/// ```
/// use globus_app_shell::service::ServiceResponse;
/// let answer = http::Response::builder().status(200).body(br#"{"DATA": []}"#.to_vec()).unwrap();
/// let response = ServiceResponse::from_response("transfer.api.globus.org", answer).unwrap();
/// let listing: serde_json::Value = response.json().unwrap();
/// assert_eq!(listing["DATA"], serde_json::json!([]));
///
/// let refused = http::Response::builder().status(404)
///     .body(br#"{"code": "ClientError.NotFound", "message": "No such path"}"#.to_vec()).unwrap();
/// let error = ServiceResponse::from_response("transfer.api.globus.org", refused).unwrap_err();
/// assert_eq!(error.to_string(), "HTTP 404 ClientError.NotFound: No such path");
/// ```
#[derive(Debug)]
pub struct ServiceResponse {
    resource_server: String,
    response: HttpResponse,
}

impl ServiceResponse {
    /// Wraps a service's answer: a 2xx is a response, anything else an
    /// [`Error::Service`] carrying the parsed [`GlobusApiError`].
    ///
    /// # Errors
    /// [`Error::Service`] for a status other than 2xx.
    pub fn from_response(
        resource_server: &str,
        response: HttpResponse,
    ) -> Result<ServiceResponse, Error> {
        if !response.status().is_success() {
            return Err(Error::Service {
                resource_server: resource_server.to_owned(),
                error: Box::new(GlobusApiError::from_response(&response)),
            });
        }
        Ok(ServiceResponse {
            resource_server: resource_server.to_owned(),
            response,
        })
    }

    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// Returns the headers.
    pub fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }

    /// Returns the body, as received.
    pub fn body(&self) -> &[u8] {
        self.response.body()
    }

    /// Decodes the JSON body into the caller's type.
    ///
    /// # Errors
    /// [`Error::Body`] when the body is not that JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(self.response.body()).map_err(|e| Error::Body {
            resource_server: self.resource_server.clone(),
            message: format!("the response body is not the JSON expected: {e}"),
        })
    }

    /// Returns the whole HTTP response.
    pub fn into_inner(self) -> HttpResponse {
        self.response
    }
}

/// Joins a base URL and a path (`/v0.10/endpoint/…`, or a full URL under the base),
/// as the reference's clients do.
///
/// ```
/// use globus_app_shell::service::join_url;
/// assert_eq!(join_url("https://transfer.api.globus.org/", "/v0.10/task_list?limit=1"),
///            "https://transfer.api.globus.org/v0.10/task_list?limit=1");
/// assert_eq!(join_url("http://127.0.0.1:80/rs/x", "v2/groups/my_groups"),
///            "http://127.0.0.1:80/rs/x/v2/groups/my_groups");
/// assert_eq!(join_url("https://a.example/", "https://a.example/next"), "https://a.example/next");
/// ```
pub fn join_url(base_url: &str, path: &str) -> String {
    if path.starts_with("https://") || path.starts_with("http://") {
        return path.to_owned();
    }
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Builds a service client's request: JSON bodies get their content type, and every
/// request asks for JSON.
///
/// # Errors
/// [`Error::Body`] if the body does not serialize; [`Error::Destination`] for a URL
/// that does not parse.
pub fn build_request(
    resource_server: &str,
    method: Method,
    url: &str,
    json: Option<&(impl Serialize + ?Sized)>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let body = match json {
        Some(value) => serde_json::to_vec(value).map_err(|e| Error::Body {
            resource_server: resource_server.to_owned(),
            message: format!("the request body does not serialize to JSON: {e}"),
        })?,
        None => Vec::new(),
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(url)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, USER_AGENT);
    if json.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder.body(body).map_err(|e| {
        globus_app_core::destinations::DestinationError::InvalidUrl {
            url: url.split(['?', '#']).next().unwrap_or_default().to_owned(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Names the resource server whose token a request carries, for the middlewares
/// of HTTP clients: a request extension (reqwest-middleware's
/// `RequestBuilder::with_extension`, or `http::Request::extensions_mut` for ureq).
/// The resource server is never guessed from the host.
///
/// ```
/// use globus_app_shell::service::ResourceServer;
/// let mut request = http::Request::get("https://transfer.api.globus.org/v0.10/task_list")
///     .body(())
///     .unwrap();
/// request.extensions_mut().insert(ResourceServer::new("transfer.api.globus.org"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceServer(String);

impl ResourceServer {
    /// The resource server named `name` (e.g. `transfer.api.globus.org`, or a
    /// collection's endpoint id).
    pub fn new(name: impl Into<String>) -> ResourceServer {
        ResourceServer(name.into())
    }

    /// Returns its name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `Authorization` header value of an authorization, marked sensitive (so
/// `Debug` of a request never shows it).
///
/// # Errors
/// [`Error::Internal`] for a token that is not a valid header value.
pub fn sensitive_header(
    authorization: &globus_app_core::app::Authorization,
) -> Result<http::HeaderValue, Error> {
    let mut header = http::HeaderValue::from_str(authorization.header_value())
        .map_err(|_| Error::Internal("the access token is not a valid header value".into()))?;
    header.set_sensitive(true);
    Ok(header)
}

/// The `User-Agent` of service clients.
pub const USER_AGENT: &str = concat!("globus-app/", env!("CARGO_PKG_VERSION"));

/// Defines an adapter's `AnyApp` (a `UserApp` or a `ClientApp`) and its
/// `ServiceClient`, once for every runtime:
///
/// ```text
/// globus_app_shell::define_service_client!(async);   // or (blocking)
/// ```
///
/// The adapter's `UserApp` and `ClientApp` must be in scope (from `define_app!`).
#[doc(hidden)]
#[macro_export]
macro_rules! define_service_client {
    (async) => {
        $crate::define_service_client!(@ {async}, {.await});
    };
    (blocking) => {
        $crate::define_service_client!(@ {}, {});
    };
    (@services $($method:ident $name:literal $doc:literal),*) => {
        $(
            #[doc = $doc]
            ///
            /// # Errors
            /// As [`globus`](Self::globus).
            pub fn $method(
                app: impl Into<AnyApp>,
            ) -> ::std::result::Result<ServiceClient, $crate::app::__support::Error> {
                ServiceClient::globus(app, $name)
            }
        )*
    };
    (@ {$($async:tt)*}, {$($await:tt)*}) => {
        /// A `UserApp` or a `ClientApp`, for a [`ServiceClient`]. Made with `.into()`
        /// from either (a clone of an app shares its tokens).
        #[derive(Clone, Debug)]
        pub enum AnyApp {
            /// A user app.
            User(UserApp),
            /// A client app.
            Client(ClientApp),
        }

        impl From<UserApp> for AnyApp {
            fn from(app: UserApp) -> AnyApp {
                AnyApp::User(app)
            }
        }

        impl From<&UserApp> for AnyApp {
            fn from(app: &UserApp) -> AnyApp {
                AnyApp::User(app.clone())
            }
        }

        impl From<ClientApp> for AnyApp {
            fn from(app: ClientApp) -> AnyApp {
                AnyApp::Client(app)
            }
        }

        impl From<&ClientApp> for AnyApp {
            fn from(app: &ClientApp) -> AnyApp {
                AnyApp::Client(app.clone())
            }
        }

        impl AnyApp {
            /// Sends an authorized request (the app's `request`).
            ///
            /// # Errors
            /// As the app's `request`.
            pub $($async)* fn request(
                &self,
                resource_server: &str,
                request: $crate::app::__support::http::Request<Vec<u8>>,
            ) -> ::std::result::Result<
                $crate::app::__support::HttpResponse,
                $crate::app::__support::Error,
            > {
                match self {
                    AnyApp::User(app) => app.request(resource_server, request)$($await)*,
                    AnyApp::Client(app) => app.request(resource_server, request)$($await)*,
                }
            }

            /// Adds scope requirements (the app's `add_scope_requirements`).
            ///
            /// # Errors
            /// As the app's `add_scope_requirements`.
            pub fn add_scope_requirements(
                &self,
                resource_server: &str,
                scopes: impl IntoIterator<Item = $crate::app::__support::Scope>,
            ) -> ::std::result::Result<(), $crate::app::__support::Error> {
                match self {
                    AnyApp::User(app) => app.add_scope_requirements(resource_server, scopes),
                    AnyApp::Client(app) => app.add_scope_requirements(resource_server, scopes),
                }
            }

            /// Lets a resource server's token go to a base URL's host too (the
            /// app's `bind_token_destination`).
            ///
            /// # Errors
            /// As the app's `bind_token_destination`.
            pub fn bind_token_destination(
                &self,
                resource_server: &str,
                base_url: &str,
            ) -> ::std::result::Result<(), $crate::app::__support::Error> {
                match self {
                    AnyApp::User(app) => app.bind_token_destination(resource_server, base_url),
                    AnyApp::Client(app) => app.bind_token_destination(resource_server, base_url),
                }
            }

            /// The `Authorization` header (marked sensitive) for a request to `url`
            /// with `resource_server`'s token, once the token may go there: what the
            /// middlewares attach to a request they send once.
            ///
            /// # Errors
            /// As the app's `check_token_destination` and `get_authorizer`.
            pub $($async)* fn authorization_header_for(
                &self,
                resource_server: &str,
                url: &str,
            ) -> ::std::result::Result<
                $crate::app::__support::http::HeaderValue,
                $crate::app::__support::Error,
            > {
                let authorization = match self {
                    AnyApp::User(app) => {
                        app.check_token_destination(resource_server, url)?;
                        app.get_authorizer(resource_server)$($await)*?
                    }
                    AnyApp::Client(app) => {
                        app.check_token_destination(resource_server, url)?;
                        app.get_authorizer(resource_server)$($await)*?
                    }
                };
                $crate::service::sensitive_header(&authorization)
            }

            /// Returns a Globus service's base URL (the app's `service_url`).
            pub fn service_url(&self, service: &str) -> ::std::option::Option<String> {
                match self {
                    AnyApp::User(app) => app.service_url(service).map(str::to_owned),
                    AnyApp::Client(app) => app.service_url(service).map(str::to_owned),
                }
            }
        }

        /// A client of one service: its base URL and resource server, over an app's
        /// authorized requests (a 401 renews the token, a Globus Auth Requirements
        /// Error is an error or a login, and 429/5xx are retried, as the app's
        /// `request` says). Creating one registers its scopes with the app, as the
        /// reference's `TransferClient(app=app)` does. Cheap to clone.
        ///
        /// Each method returns the 2xx answer, or
        /// [`Error::Service`](globus_app_core::app::Error::Service) carrying the
        /// service's [`GlobusApiError`](globus_app_core::GlobusApiError).
        #[derive(Clone, Debug)]
        pub struct ServiceClient {
            app: AnyApp,
            resource_server: String,
            base_url: String,
        }

        impl ServiceClient {
            /// A client of any API: `resource_server`'s token is sent to `base_url`'s
            /// host (bound to it here), and `scopes` are added to the app's
            /// requirements (none for a resource server the app already requires).
            ///
            /// # Errors
            /// A base URL no token may go to
            /// ([`Error::Destination`](globus_app_core::app::Error::Destination)); a
            /// scope that does not merge.
            pub fn new(
                app: impl Into<AnyApp>,
                resource_server: &str,
                base_url: &str,
                scopes: impl IntoIterator<Item = $crate::app::__support::Scope>,
            ) -> ::std::result::Result<ServiceClient, $crate::app::__support::Error> {
                let app = app.into();
                app.bind_token_destination(resource_server, base_url)?;
                ServiceClient::with_scopes(app, resource_server, base_url.to_owned(), scopes)
            }

            fn with_scopes(
                app: AnyApp,
                resource_server: &str,
                base_url: String,
                scopes: impl IntoIterator<Item = $crate::app::__support::Scope>,
            ) -> ::std::result::Result<ServiceClient, $crate::app::__support::Error> {
                let scopes: Vec<_> = scopes.into_iter().collect();
                if !scopes.is_empty() {
                    app.add_scope_requirements(resource_server, scopes)?;
                }
                Ok(ServiceClient {
                    app,
                    resource_server: resource_server.to_owned(),
                    base_url,
                })
            }

            /// A client of a Globus service by its short name (`transfer`, `groups`,
            /// `search`, `flows`, `timer`, `compute`, `auth`), at the base URL the
            /// app's configuration and environment give, registering the service's
            /// default scopes.
            ///
            /// # Errors
            /// [`ConfigError::UnknownService`](globus_app_core::app::ConfigError::UnknownService)
            /// for another name; a scope that does not merge.
            pub fn globus(
                app: impl Into<AnyApp>,
                service: &str,
            ) -> ::std::result::Result<ServiceClient, $crate::app::__support::Error> {
                let app = app.into();
                let known = $crate::app::__support::GlobusService::named(service);
                let (Some(known), Some(base_url)) = (known, app.service_url(service)) else {
                    return Err($crate::app::__support::ConfigError::UnknownService(
                        service.to_owned(),
                    )
                    .into());
                };
                ServiceClient::with_scopes(
                    app,
                    known.resource_server,
                    base_url,
                    known.default_scopes.iter().cloned(),
                )
            }

            $crate::define_service_client!(@services
                transfer "transfer" "The Transfer service (scope `transfer.api.globus.org:all`).",
                groups "groups" "The Groups service (scope `view_my_groups_and_memberships`).",
                search "search" "The Search service (scope `search`).",
                flows "flows" "The Flows service (scope `all`).",
                timers "timer" "The Timers service (scope `timer`).",
                compute "compute" "The Compute service (scope `all`)."
            );

            /// Returns the resource server whose token the client sends.
            pub fn resource_server(&self) -> &str {
                &self.resource_server
            }

            /// Returns the base URL.
            pub fn base_url(&self) -> &str {
                &self.base_url
            }

            /// Sends any request (its URL must be under a host bound to the resource
            /// server); a non-2xx answer is an error.
            ///
            /// # Errors
            /// As the app's `request`, and
            /// [`Error::Service`](globus_app_core::app::Error::Service).
            pub $($async)* fn send(
                &self,
                request: $crate::app::__support::http::Request<Vec<u8>>,
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                let response = self.app.request(&self.resource_server, request)$($await)*?;
                $crate::service::ServiceResponse::from_response(&self.resource_server, response)
            }

            $($async)* fn call(
                &self,
                method: $crate::app::__support::http::Method,
                path: &str,
                json: ::std::option::Option<&(impl $crate::app::__support::serde::Serialize + ?Sized)>,
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                let url = $crate::service::join_url(&self.base_url, path);
                let request =
                    $crate::service::build_request(&self.resource_server, method, &url, json)?;
                self.send(request)$($await)*
            }

            /// `GET path` (relative to the base URL, with its query if any).
            ///
            /// # Errors
            /// As [`send`](Self::send).
            pub $($async)* fn get(
                &self,
                path: &str,
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                self.call($crate::app::__support::http::Method::GET, path, None::<&()>)$($await)*
            }

            /// `POST path` with a JSON body.
            ///
            /// # Errors
            /// As [`send`](Self::send);
            /// [`Error::Body`](globus_app_core::app::Error::Body) if `body` does not
            /// serialize.
            pub $($async)* fn post_json(
                &self,
                path: &str,
                body: &(impl $crate::app::__support::serde::Serialize + ?Sized),
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                self.call($crate::app::__support::http::Method::POST, path, Some(body))$($await)*
            }

            /// `PUT path` with a JSON body.
            ///
            /// # Errors
            /// As [`post_json`](Self::post_json).
            pub $($async)* fn put_json(
                &self,
                path: &str,
                body: &(impl $crate::app::__support::serde::Serialize + ?Sized),
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                self.call($crate::app::__support::http::Method::PUT, path, Some(body))$($await)*
            }

            /// `PATCH path` with a JSON body.
            ///
            /// # Errors
            /// As [`post_json`](Self::post_json).
            pub $($async)* fn patch_json(
                &self,
                path: &str,
                body: &(impl $crate::app::__support::serde::Serialize + ?Sized),
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                self.call($crate::app::__support::http::Method::PATCH, path, Some(body))$($await)*
            }

            /// `DELETE path`.
            ///
            /// # Errors
            /// As [`send`](Self::send).
            pub $($async)* fn delete(
                &self,
                path: &str,
            ) -> ::std::result::Result<
                $crate::service::ServiceResponse,
                $crate::app::__support::Error,
            > {
                self.call($crate::app::__support::http::Method::DELETE, path, None::<&()>)$($await)*
            }
        }
    };
}
