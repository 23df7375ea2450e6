//! The one error type of an app's operations.

use super::settings::ConfigError;
use super::validation::TokenValidationError;
use crate::destinations::DestinationError;
use crate::redirect::RedirectError;
use crate::{GlobusApiError, ResponseError};
use std::fmt;
use std::sync::Arc;

/// An error from outside the core (a storage or a login flow), shared so that every
/// caller waiting on the same operation can get it.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// How an HTTP request failed before a response arrived, as the adapter classifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// The HTTP client's description (it must not contain secrets).
    pub message: String,
}

impl TransportError {
    /// A transport error of a kind.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }
}

/// Kinds of transport failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The request or connection timed out.
    Timeout,
    /// The connection could not be made (refused, name not resolved, proxy
    /// failed): nothing reached the server.
    Connect,
    /// The connection was lost after the request was (perhaps) sent: the server
    /// may have acted on it.
    ConnectionLost,
    /// TLS failed (certificate, handshake): not retried.
    Tls,
    /// Anything else: not retried.
    Other,
}

impl TransportErrorKind {
    pub(crate) fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportErrorKind::Timeout
                | TransportErrorKind::Connect
                | TransportErrorKind::ConnectionLost
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::ConnectionLost => "connection lost",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Other => "request failed",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

/// Which request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestKind {
    /// Refreshing the tokens of a resource server.
    Refresh(String),
    /// Getting tokens with the client credentials.
    ClientCredentials,
    /// Exchanging the login's authorization code.
    CodeExchange,
    /// Looking up the user's consents.
    Consents,
    /// Revoking a token of a resource server.
    Revoke {
        /// The resource server.
        resource_server: String,
        /// Which of its tokens.
        token: crate::oauth::TokenKind,
    },
    /// An authorized request to a service.
    Service {
        /// The resource server whose token the request carries.
        resource_server: String,
        /// The HTTP method.
        method: String,
        /// The URL, without its query.
        url: String,
    },
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestKind::Refresh(rs) => write!(f, "refreshing the tokens for {rs}"),
            RequestKind::ClientCredentials => {
                f.write_str("getting tokens with the client credentials")
            }
            RequestKind::CodeExchange => {
                f.write_str("exchanging the authorization code for tokens")
            }
            RequestKind::Consents => f.write_str("looking up the user's consents"),
            RequestKind::Revoke {
                resource_server,
                token,
            } => write!(f, "revoking the {token} for {resource_server}"),
            RequestKind::Service {
                resource_server,
                method,
                url,
            } => write!(f, "{method} {url} (for {resource_server})"),
        }
    }
}

/// Everything that can go wrong in an app operation.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stored tokens cannot serve the request and no login was run (the error
    /// handler is off, the operation was a check, or it was an identity mismatch).
    #[error(transparent)]
    TokenValidation(#[from] TokenValidationError),
    /// Globus Auth said no, or answered something unusable.
    #[error("{request} failed: {error}")]
    Response {
        /// Which request.
        request: RequestKind,
        /// The answer (boxed: it is large and rare).
        error: Box<ResponseError>,
    },
    /// The request did not get an answer (after any retries).
    #[error("{request} failed: {error}; check the network connection")]
    Transport {
        /// Which request.
        request: RequestKind,
        /// What failed.
        error: TransportError,
    },
    /// The login's code exchange failed in a way that may have spent the
    /// single-use authorization code (the connection was lost after sending, it
    /// timed out, or the server failed), so it was not sent again.
    #[error(
        "{error}; the authorization code may already have been used, so it was not sent again: log in again"
    )]
    LoginInterrupted {
        /// What failed.
        error: Box<Error>,
    },
    /// The login's redirect was refused, forged, or carried no code.
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The login flow failed (no input, no browser, timeout, …).
    #[error("login failed: {0}")]
    Login(SharedError),
    /// The token storage failed.
    #[error("token storage failed: {0}")]
    Storage(SharedError),
    /// A login was asked for a scope that does not parse (in a GARE's
    /// authorization parameters, or the caller's); nothing was sent.
    #[error(
        "the login asks for the scope {scope:?}, which is not a valid scope string ({error}); nothing was sent"
    )]
    InvalidScope {
        /// The scope string as given.
        scope: String,
        /// Why it does not parse (boxed: it is large and rare).
        error: Box<crate::scopes::ScopeParseError>,
    },
    /// The app is misconfigured.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A request was refused before anything was sent: its URL is not one the
    /// resource server's token may go to.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// A service refused the access token (HTTP 401) and it could not be renewed
    /// without a login (no refresh token, or the refresh token was refused). A
    /// request never starts a login by itself: log in, then send it again.
    #[error("{resource_server} refused the access token ({error}), and {reason}")]
    LoginRequired {
        /// The resource server.
        resource_server: String,
        /// The service's 401 answer.
        error: Box<GlobusApiError>,
        /// Why the token could not be renewed.
        reason: Box<TokenValidationError>,
    },
    /// A service answered with a Globus Auth Requirements Error (HTTP 403): the
    /// request needs a login with [`GlobusApiError::authorization_parameters`] (a
    /// consent, a session in some domain, MFA, …), and the app did not run it (see
    /// `auto_redrive_gares`), or ran it and was refused again.
    #[error("{resource_server} requires a new login: {error}")]
    AuthorizationRequired {
        /// The resource server.
        resource_server: String,
        /// The service's answer; its `authorization_parameters` say which login.
        error: Box<GlobusApiError>,
    },
    /// A service answered with an error (a status other than 2xx), for a service
    /// client's call.
    #[error("{error}")]
    Service {
        /// The resource server whose token the request carried.
        resource_server: String,
        /// The service's answer.
        error: Box<GlobusApiError>,
    },
    /// A service client could not encode a request body or decode a response body.
    #[error("{resource_server}: {message}")]
    Body {
        /// The resource server of the service.
        resource_server: String,
        /// What went wrong (serde's message; it shows no body).
        message: String,
    },
    /// The operation emitted more requests or storage steps than any legitimate
    /// path of its goal needs (see the ceilings in the `budget` module's docs), so
    /// it stopped instead of looping. A bug in globus-app.
    #[error(
        "{goal} stopped after {count} {item}, more than it may ever need; this is a bug in globus-app, please report it"
    )]
    BudgetExceeded {
        /// What the operation was doing, e.g. "getting an authorization for transfer.api.globus.org".
        goal: String,
        /// What ran over.
        item: super::BudgetItem,
        /// How many it had emitted, the one refused included.
        count: u32,
    },
    /// Another process held the token storage's lease (it was renewing the same
    /// tokens) for longer than this operation waits, and the token had expired.
    #[error(
        "{goal}: another process kept the token storage's lease for more than {waited:?}; try again (if a process died holding it, the lease ends by itself)"
    )]
    LeaseTimeout {
        /// What the operation was doing.
        goal: String,
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// The driver broke the protocol of [`Operation`](super::Operation) (a bug in
    /// an adapter).
    #[error("internal error: {0}")]
    Internal(String),
    /// The app was closed (its `close` was called, on this handle or on any clone
    /// of it); every method of every clone now returns this.
    #[error("this app was closed; create a new app to use it again")]
    Closed,
}

impl Error {
    /// Returns the token validation error, if this is one.
    pub fn validation(&self) -> Option<&TokenValidationError> {
        match self {
            Error::TokenValidation(e) => Some(e),
            _ => None,
        }
    }

    /// Returns true if logging in (again) would resolve this error: a token that
    /// cannot serve and may not be renewed, or a service's refusal that a login
    /// resolves ([`LoginRequired`](Self::LoginRequired),
    /// [`AuthorizationRequired`](Self::AuthorizationRequired)).
    pub fn is_login_required(&self) -> bool {
        match self {
            Error::LoginRequired { .. } | Error::AuthorizationRequired { .. } => true,
            _ => self
                .validation()
                .is_some_and(TokenValidationError::is_resolved_by_login),
        }
    }

    /// Returns the service's error answer, for the errors that carry one
    /// ([`Service`](Self::Service), [`LoginRequired`](Self::LoginRequired),
    /// [`AuthorizationRequired`](Self::AuthorizationRequired)).
    pub fn api_error(&self) -> Option<&GlobusApiError> {
        match self {
            Error::Service { error, .. }
            | Error::LoginRequired { error, .. }
            | Error::AuthorizationRequired { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Returns the login a service asked for in a Globus Auth Requirements Error
    /// ([`AuthorizationRequired`](Self::AuthorizationRequired)), to pass to the app's
    /// `login`.
    pub fn authorization_parameters(&self) -> Option<&crate::oauth::AuthorizationParameters> {
        match self {
            Error::AuthorizationRequired { error, .. } => error.authorization_parameters(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_stay_small() {
        // Results of every app method carry this type; keep them cheap to move.
        assert!(
            std::mem::size_of::<super::Error>() <= 112,
            "{}",
            std::mem::size_of::<super::Error>()
        );
    }
}
