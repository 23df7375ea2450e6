//! The request log a test asserts on.

use std::fmt;

use crate::faults::{Endpoint, Fault};

/// Field names whose values [`LoggedRequest`]'s `Debug` output hides.
const SECRET_FIELDS: [&str; 5] = [
    "client_secret",
    "code_verifier",
    "refresh_token",
    "token",
    "code",
];

/// How a request authenticated itself (the `Authorization` header).
#[derive(Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// No `Authorization` header.
    None,
    /// HTTP Basic with this client id (the secret is not kept).
    Basic(String),
    /// A bearer token (shown redacted by `Debug`).
    Bearer(String),
    /// Anything else: the raw scheme name, or `"malformed"`.
    Other(String),
}

impl AuthScheme {
    /// The client id of a Basic header.
    pub fn basic_client_id(&self) -> Option<&str> {
        match self {
            AuthScheme::Basic(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Debug for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthScheme::None => f.write_str("None"),
            AuthScheme::Basic(id) => f.debug_tuple("Basic").field(id).finish(),
            AuthScheme::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            AuthScheme::Other(scheme) => f.debug_tuple("Other").field(scheme).finish(),
        }
    }
}

/// One request the server received, with the status it answered.
///
/// Values are kept as sent (the log is for tests); the `Debug` output redacts
/// `client_secret`, `code_verifier`, `refresh_token`, `token` and `code` values and
/// bearer tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/v2/oauth2/token`.
    pub path: String,
    /// The endpoint the path names ([`Endpoint::Unknown`] for others;
    /// [`Endpoint::ResourceServer`] for every request to a stand-in resource server).
    pub endpoint: Endpoint,
    /// The stand-in resource server that received the request (`None` for Globus Auth's
    /// endpoints).
    pub resource_server: Option<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Decoded `application/x-www-form-urlencoded` body pairs, in order (empty for
    /// other bodies).
    pub form: Vec<(String, String)>,
    /// The `Authorization` header's scheme.
    pub auth: AuthScheme,
    /// The status answered; `None` when the connection was dropped (fault injection,
    /// or shutdown during a delay).
    pub status: Option<u16>,
    /// The injected fault that shaped the answer, if any.
    pub fault: Option<Fault>,
    /// The server clock (Unix seconds) when the request was handled.
    pub at: u64,
}

impl LoggedRequest {
    /// The first form field with this name.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        first(&self.form, name)
    }

    /// The first query parameter with this name.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        first(&self.query, name)
    }

    /// Whether this request went to a stand-in resource server (rather than to one of
    /// Globus Auth's endpoints).
    pub fn is_resource_server_request(&self) -> bool {
        self.endpoint == Endpoint::ResourceServer
    }

    /// The form's `grant_type`, for token requests.
    pub fn grant_type(&self) -> Option<&str> {
        self.form_value("grant_type")
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Pairs with secret values replaced, for `Debug`.
struct Redacted<'a>(&'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (k, v) in self.0 {
            if SECRET_FIELDS.contains(&k.as_str()) {
                list.entry(&(k, "<redacted>"));
            } else {
                list.entry(&(k, v));
            }
        }
        list.finish()
    }
}

impl fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("resource_server", &self.resource_server)
            .field("query", &Redacted(&self.query))
            .field("form", &Redacted(&self.form))
            .field("auth", &self.auth)
            .field("status", &self.status)
            .field("fault", &self.fault)
            .field("at", &self.at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let request = LoggedRequest {
            method: "POST".to_owned(),
            path: "/v2/oauth2/token".to_owned(),
            endpoint: Endpoint::Token,
            resource_server: None,
            query: vec![("code".to_owned(), "query-code-value".to_owned())],
            form: vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), "rt-secret-value".to_owned()),
                ("client_secret".to_owned(), "cs-secret-value".to_owned()),
                ("code_verifier".to_owned(), "cv-secret-value".to_owned()),
                ("token".to_owned(), "tok-secret-value".to_owned()),
            ],
            auth: AuthScheme::Bearer("bearer-secret-value".to_owned()),
            status: Some(200),
            fault: None,
            at: 0,
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
        assert!(!debug.contains("query-code-value"), "{debug}");
        assert!(debug.contains("refresh_token"), "{debug}");
        assert_eq!(request.grant_type(), Some("refresh_token"));
        assert_eq!(request.query_value("code"), Some("query-code-value"));
    }
}
