//! OAuth2 operations against Globus Auth, each a value with one shape.
//!
//! Every operation that talks to the token, revoke or consents endpoints implements
//! [`Exchange`]: it builds an [`HttpRequest`] and turns the [`HttpResponse`] into its
//! output. A driver therefore needs a single function to run any of them:
//!
//! ```
//! use globus_app_core::oauth::Exchange;
//! use globus_app_core::{HttpRequest, HttpResponse, ResponseError, UnixTime};
//!
//! fn run<E: Exchange>(
//!     exchange: &E,
//!     send: impl Fn(HttpRequest) -> HttpResponse,
//!     now: impl Fn() -> UnixTime,
//! ) -> Result<E::Output, ResponseError> {
//!     let response = send(exchange.request());
//!     exchange.handle_response(&response, now())
//! }
//! ```
//!
//! The authorize step is not an exchange (the user's browser performs it): see
//! [`AuthorizeRequest`] and [`LoginAttempt`].

mod authorize;
mod consents;
mod revoke;
mod token;

pub use authorize::{AccessType, AuthorizationParameters, AuthorizeRequest, LoginAttempt};
pub use consents::{Consent, ConsentForest, ConsentsLookup};
pub use revoke::{Revocation, TokenKind};
pub use token::{
    AuthorizationCodeGrant, ClientCredentialsGrant, GrantedTokens, RefreshGrant,
    parse_token_response,
};

use crate::{HttpRequest, HttpResponse, OAuthClient, ResponseError, UnixTime};

/// One request/response exchange with Globus Auth.
///
/// `request` may be called again to retry; `handle_response` accepts a response of
/// any status and returns the operation's output or a [`ResponseError`].
pub trait Exchange {
    /// What a successful response yields.
    type Output;

    /// Builds the HTTP request to send.
    fn request(&self) -> HttpRequest;

    /// Interprets the response. `now` is the time the response arrived.
    ///
    /// # Errors
    /// A Globus error answer, a body of the wrong shape, or a bad id_token.
    fn handle_response(
        &self,
        response: &HttpResponse,
        now: UnixTime,
    ) -> Result<Self::Output, ResponseError>;
}

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("globus-app-rust/", env!("CARGO_PKG_VERSION"));

/// Builds a form POST to `url`, authenticating as `client`: HTTP Basic for a
/// confidential client, or a trailing `client_id` field for a native one when
/// `native_client_id` is set.
fn form_post(
    url: url::Url,
    client: &OAuthClient,
    fields: &[(&str, &str)],
    native_client_id: NativeClientId,
) -> HttpRequest {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if client.is_native() && native_client_id == NativeClientId::First {
        form.append_pair("client_id", client.client_id());
    }
    for (key, value) in fields {
        form.append_pair(key, value);
    }
    if client.is_native() && native_client_id == NativeClientId::Last {
        form.append_pair("client_id", client.client_id());
    }
    let mut headers = vec![(
        http::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some(basic) = client.basic_authorization() {
        headers.push((http::header::AUTHORIZATION, basic));
    }
    build(
        http::Method::POST,
        &url,
        headers,
        form.finish().into_bytes(),
    )
}

/// Where a native client's `client_id` goes in the form, matching the reference's
/// field order for each request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NativeClientId {
    First,
    Last,
}

/// Builds a request with the headers every request carries (`Accept`,
/// `User-Agent`) plus `headers`.
///
/// Never panics: the URL comes from [`url::Url`] (always a valid URI), and a header
/// value that HTTP cannot carry (a token with a control character, from a damaged
/// token file or response) is left out, so the server refuses the request with an
/// error the caller sees, rather than the process aborting.
fn build(
    method: http::Method,
    url: &url::Url,
    headers: Vec<(http::header::HeaderName, String)>,
    body: Vec<u8>,
) -> HttpRequest {
    let mut request = http::Request::new(crate::Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = url.as_str().parse().unwrap_or_default();
    let fixed = [
        (http::header::ACCEPT, "application/json"),
        (http::header::USER_AGENT, USER_AGENT),
    ];
    let map = request.headers_mut();
    for (name, value) in fixed {
        map.insert(name, http::HeaderValue::from_static(value));
    }
    for (name, value) in headers {
        if let Ok(mut value) = http::HeaderValue::from_str(&value) {
            // Credentials (Basic, Bearer) never show in `Debug`.
            value.set_sensitive(name == http::header::AUTHORIZATION);
            map.insert(name, value);
        }
    }
    request
}

/// Parses a 2xx JSON body, or turns any other response into an error.
fn json_body<T: serde::de::DeserializeOwned>(response: &HttpResponse) -> Result<T, ResponseError> {
    if !response.status().is_success() {
        return Err(crate::error::error_from_response(response));
    }
    serde_json::from_slice(response.body()).map_err(|e| {
        let detail = if e.is_eof() {
            "the JSON body is truncated".to_owned()
        } else if e.is_syntax() {
            "the body is not JSON".to_owned()
        } else {
            format!("the JSON body has the wrong shape ({})", redact_serde(&e))
        };
        ResponseError::unexpected(response, detail)
    })
}

/// Describes a serde error without quoting a value: values here can be tokens.
fn redact_serde(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("missing field") {
        // "missing field `scope` at line 1 column 2" names a field, not a value.
        return msg;
    }
    let kind = msg.split([':', '`', '"']).next().unwrap_or("invalid data");
    format!("{kind} at line {} column {}", e.line(), e.column())
}
