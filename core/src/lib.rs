//! # globus-app-core
//!
//! The Sans-IO protocol core of globus-app: everything about talking to Globus Auth
//! except the talking.
//!
//! This crate opens no socket or file, reads no clock, environment variable or OS
//! random generator. Time (`now`), random bytes, environment values and HTTP
//! responses are arguments; HTTP requests, URLs, token data and decisions are return
//! values. That is what makes every protocol test here deterministic, and what lets
//! the blocking, tokio and async-std adapters share one implementation.
//!
//! ## The pieces
//! - [`scopes`]: the Globus scope grammar (`a[b *c]`) and common scopes.
//! - [`AuthService`] and [`Environment`]: which Globus Auth to talk to.
//! - [`oauth`]: the OAuth2 operations. Each token, revoke or consents operation is a
//!   value implementing [`oauth::Exchange`]: it builds an [`HttpRequest`] and
//!   interprets the [`HttpResponse`]. The authorize step is a
//!   [`oauth::LoginAttempt`] holding the URL, the PKCE verifier and the `state`.
//! - [`redirect`]: what comes back from the authorize step (a loopback request, a
//!   pasted URL or code) and the local server's landing page.
//! - [`TokenData`]: tokens as stored per resource server, in the Python SDK's format.
//! - [`jwt`]: id_token claims, checked without extra round trips.
//! - [`GlobusApiError`] ([`service_error`]): any Globus service's error answer, read
//!   from whichever format that service uses.
//!
//! ## A whole login, with the I/O left to you
//! ```
//! use globus_app_core::oauth::{AuthorizeRequest, Exchange};
//! use globus_app_core::redirect::RedirectParams;
//! use globus_app_core::{AuthService, OAuthClient, UnixTime};
//!
//! let service = AuthService::production();
//! let client = OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2");
//! let attempt = AuthorizeRequest::new(
//!     service.clone(),
//!     client,
//!     service.native_redirect_uri().as_str(),
//!     "openid urn:globus:auth:scope:transfer.api.globus.org:all",
//! )
//! .start(&[42; 48]); // an adapter passes OS randomness here
//!
//! // 1. Show the user `attempt.authorize_url()`; they paste the code back.
//! let pasted = RedirectParams::from_pasted("the-code-they-pasted").unwrap();
//! // 2. Check it and build the code exchange.
//! let exchange = attempt.complete(pasted).unwrap();
//! let request = exchange.request();
//! assert_eq!(request.uri(), "https://auth.globus.org/v2/oauth2/token");
//! // 3. Send `request` with any HTTP client, then:
//! // let granted = exchange.handle_response(&response, UnixTime(now))?;
//! # let _ = UnixTime(0);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
mod body;
mod client;
pub mod destinations;
mod environment;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod jwt;
pub mod oauth;
mod pkce;
pub mod redirect;
pub mod scopes;
mod secret;
pub mod service_error;
mod time;
mod token;
pub mod transcript;

pub use body::Body;
pub use client::OAuthClient;
pub use environment::{AuthService, Environment, EnvironmentError};
pub use error::{ApiError, ResponseError};
pub use pkce::{Pkce, PkceError};
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, CodeVerifier, IdToken, RefreshToken,
    RevocableToken,
};
pub use service_error::GlobusApiError;
pub use time::UnixTime;
pub use token::TokenData;

/// An HTTP request the core asks an adapter to send, exactly once, following no
/// redirects. Its credentials never show in `Debug`: the `Authorization` header is
/// marked sensitive and the [`Body`] redacts its secret fields.
pub type HttpRequest = http::Request<Body>;
/// An HTTP response an adapter hands back to the core, whatever its status.
pub type HttpResponse = http::Response<Vec<u8>>;
