//! What an operation asks of its driver ([`Step`]) and what the driver gives back
//! ([`Input`]).

use super::error::{Error, RequestKind, SharedError, TransportError};
use super::validation::{Label, TokenValidationError};
use crate::redirect::RedirectParams;
use crate::{HttpRequest, HttpResponse, TokenData};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use url::Url;

/// What an operation needs the driver to do next.
///
/// Perform it and pass the matching [`Input`] to
/// [`Operation::resume`](super::Operation::resume); repeat until [`Step::Done`].
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "a step must be performed and its result passed back"]
pub enum Step<T> {
    /// Send this request, once, following no redirects; answer with
    /// [`Input::Response`] (any status) or [`Input::TransportFailed`].
    Send(HttpRequest),
    /// Read every token of the app's namespace; answer with [`Input::Loaded`] or
    /// [`Input::StorageFailed`].
    Load,
    /// Store these tokens in the namespace (an upsert by resource server); answer
    /// with [`Input::Stored`] or [`Input::StorageFailed`].
    Store(Vec<TokenData>),
    /// Store these tokens under the lease this operation holds: a fenced write,
    /// refused if a write with a higher fence came first. Answer with
    /// [`Input::Stored`], [`Input::Fenced`] or [`Input::StorageFailed`].
    StoreFenced {
        /// The tokens.
        tokens: Vec<TokenData>,
        /// The fence of the lease ([`Input::LeaseAcquired`]).
        fence: u64,
    },
    /// Remove this resource server's tokens from the namespace; answer with
    /// [`Input::Removed`] or [`Input::StorageFailed`].
    Remove(String),
    /// Take (or extend) the namespace's lease, for the owner and time to live of
    /// [`AppSettings::lease`](super::AppSettings::lease); answer with
    /// [`Input::LeaseAcquired`], [`Input::LeaseBusy`] or [`Input::StorageFailed`].
    /// Emitted only when the settings have leases.
    Lease,
    /// Give the namespace's lease up; answer with [`Input::Released`] (or
    /// [`Input::StorageFailed`], which the operation ignores: the lease then expires).
    Release,
    /// Get ready for a login (a local server binds its port); answer with
    /// [`Input::LoginPrepared`] (the redirect URI and 48 random bytes) or
    /// [`Input::LoginFailed`].
    PrepareLogin,
    /// Show the user this URL and wait for the redirect that carries `state`;
    /// answer with [`Input::Redirect`] or [`Input::LoginFailed`].
    Authorize {
        /// The authorize URL.
        url: Url,
        /// The `state` the redirect must carry.
        state: String,
    },
    /// Wait this long (a retry's backoff); answer with [`Input::Woke`].
    Sleep(Duration),
    /// Log this; answer with [`Input::Continue`].
    Notice(Notice),
    /// The operation is over.
    Done(Result<T, Error>),
}

/// The result of a [`Step`], passed to [`Operation::resume`](super::Operation::resume).
///
/// `Debug` shows a response's status and the length of its body (which can hold
/// tokens), and never the random bytes of a login.
#[non_exhaustive]
pub enum Input {
    /// The first call: nothing has happened yet.
    Start,
    /// The response to [`Step::Send`], whatever its status.
    Response(HttpResponse),
    /// [`Step::Send`] got no response.
    TransportFailed(TransportError),
    /// The namespace's tokens, by resource server, for [`Step::Load`].
    Loaded(BTreeMap<String, TokenData>),
    /// For [`Step::Load`] when some entries could not be read (a damaged entry in
    /// a token file): the tokens that could, and the resource servers of the
    /// others. Those count as missing (a login replaces them), and a logout removes
    /// the ones it covers.
    LoadedPartly {
        /// The tokens that could be read, by resource server.
        tokens: BTreeMap<String, TokenData>,
        /// The resource servers whose entry could not be read.
        unreadable: Vec<String>,
    },
    /// [`Step::Store`] or [`Step::StoreFenced`] succeeded.
    Stored,
    /// [`Step::StoreFenced`] was refused: a newer write came first. Nothing was
    /// written.
    Fenced,
    /// [`Step::Lease`] succeeded, with this fence.
    LeaseAcquired {
        /// The lease's fence.
        fence: u64,
    },
    /// [`Step::Lease`]: another owner holds the lease, for this long still.
    LeaseBusy {
        /// The time left on the other owner's lease.
        remaining: Duration,
    },
    /// [`Step::Release`] succeeded.
    Released,
    /// [`Step::Remove`] succeeded.
    Removed,
    /// A storage step failed.
    StorageFailed(SharedError),
    /// [`Step::PrepareLogin`] succeeded.
    LoginPrepared {
        /// The redirect URI the login uses.
        redirect_uri: String,
        /// Fresh random bytes for the PKCE verifier and the `state`.
        random: [u8; 48],
    },
    /// What came back from [`Step::Authorize`].
    Redirect(RedirectParams),
    /// The login flow failed.
    LoginFailed(SharedError),
    /// [`Step::Sleep`] is over.
    Woke,
    /// [`Step::Notice`] was logged.
    Continue,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Start => f.write_str("Start"),
            Input::Response(response) => f
                .debug_struct("Response")
                .field("status", &response.status().as_u16())
                .field(
                    "content_type",
                    &response.headers().get(http::header::CONTENT_TYPE),
                )
                .field("body", &format_args!("{} bytes", response.body().len()))
                .finish(),
            Input::TransportFailed(error) => f.debug_tuple("TransportFailed").field(error).finish(),
            Input::Loaded(tokens) => f.debug_tuple("Loaded").field(tokens).finish(),
            Input::LoadedPartly { tokens, unreadable } => f
                .debug_struct("LoadedPartly")
                .field("tokens", tokens)
                .field("unreadable", unreadable)
                .finish(),
            Input::Stored => f.write_str("Stored"),
            Input::Fenced => f.write_str("Fenced"),
            Input::LeaseAcquired { fence } => f
                .debug_struct("LeaseAcquired")
                .field("fence", fence)
                .finish(),
            Input::LeaseBusy { remaining } => f
                .debug_struct("LeaseBusy")
                .field("remaining", remaining)
                .finish(),
            Input::Released => f.write_str("Released"),
            Input::Removed => f.write_str("Removed"),
            Input::StorageFailed(error) => f.debug_tuple("StorageFailed").field(error).finish(),
            Input::LoginPrepared { redirect_uri, .. } => f
                .debug_struct("LoginPrepared")
                .field("redirect_uri", redirect_uri)
                .field("random", &format_args!("[redacted]"))
                .finish(),
            Input::Redirect(params) => f.debug_tuple("Redirect").field(params).finish(),
            Input::LoginFailed(error) => f.debug_tuple("LoginFailed").field(error).finish(),
            Input::Woke => f.write_str("Woke"),
            Input::Continue => f.write_str("Continue"),
        }
    }
}

/// Something worth logging that does not stop the operation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Notice {
    /// A token is renewed (refresh token or client credentials): it expired, or is
    /// within the renewal lead.
    Renewing {
        /// The resource server.
        resource_server: String,
        /// It had expired (else it was due for renewal).
        expired: bool,
    },
    /// Renewing a still-valid access token failed; the valid token is used.
    EarlyRenewalFailed {
        /// The resource server.
        resource_server: String,
        /// Why it failed.
        error: Error,
    },
    /// A request failed and will be tried again after a wait.
    Retrying {
        /// Which request.
        request: RequestKind,
        /// The failed attempt's number (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// Stored tokens could not serve a request, so a login starts.
    LoginStarting {
        /// Why.
        reason: TokenValidationError,
    },
    /// Another process renewed (or is renewing) the tokens: this operation waits for
    /// its lease.
    LeaseBusy {
        /// What the operation was doing.
        goal: String,
        /// How long it waits before asking again.
        delay: Duration,
    },
    /// Waiting for another process's lease ran out while the token is still valid:
    /// it is served, and renewed later.
    LeaseWaitEnded {
        /// The resource server.
        resource_server: String,
    },
    /// Revoking a token failed during logout; the local tokens are removed anyway.
    RevocationFailed {
        /// The resource server.
        resource_server: String,
        /// Why it failed.
        error: Error,
    },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::EarlyRenewalFailed {
                resource_server,
                error,
            } => write!(
                f,
                "renewing the access token for {resource_server} before it expires failed ({error}); using the still-valid token"
            ),
            Notice::Retrying {
                request,
                attempt,
                delay,
            } => {
                write!(
                    f,
                    "{request}: attempt {attempt} failed, retrying in {delay:?}"
                )
            }
            Notice::Renewing {
                resource_server,
                expired,
            } => write!(
                f,
                "renewing the access token for {resource_server} ({})",
                if *expired {
                    "expired"
                } else {
                    "due for renewal"
                }
            ),
            Notice::LeaseBusy { goal, delay } => write!(
                f,
                "{goal}: another process holds the token storage's lease; asking again in {delay:?}"
            ),
            Notice::LeaseWaitEnded { resource_server } => write!(
                f,
                "waiting for another process to renew the token for {resource_server} took too long; using the still-valid token"
            ),
            Notice::LoginStarting { reason } => {
                write!(f, "starting a login ({}): {reason}", Label(reason))
            }
            // The error names the request (which token of which resource server).
            Notice::RevocationFailed { error, .. } => {
                write!(f, "{error}; the local tokens are removed anyway")
            }
        }
    }
}

/// What a logout did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LogoutReport {
    /// Resource servers whose tokens were removed from storage.
    pub removed: Vec<String>,
    /// Revocations that failed (the tokens were removed locally all the same).
    pub revocation_failures: Vec<(String, Error)>,
}
