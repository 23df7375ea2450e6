//! Login flows: how the user is sent to Globus Auth's authorize page and how the
//! answer comes back.
//!
//! The protocol (the authorize URL, the `state`, parsing what comes back, the landing
//! page) lives in `globus_app_core`; a flow only does the I/O around it:
//!
//! - [`CommandLineLoginFlow`] prints the URL and reads the code (or the pasted redirect
//!   URL) from the terminal.
//! - [`LocalServerLoginFlow`] listens on a loopback port, prints the URL and how long
//!   it waits, opens the system browser (honouring `$BROWSER`), and receives the
//!   redirect itself.
//! - Your own type can implement [`LoginFlow`] (a webview, a GUI dialog, a test).
//!
//! What the two flows tell the user goes to standard error, never to standard
//! output, or to a [`LoginFeedback`] sink the application supplies (a GUI, a
//! service's log): see [`LoginMessage`].
//!
//! A login runs in three steps. [`LoginFlow::check`] runs once, when the app is built,
//! and refuses combinations that can never work. [`LoginFlow::prepare`] starts one
//! login and says which redirect URI the authorize URL must carry (the local server
//! binds its port here). [`PendingLogin::wait_for_redirect`] shows the URL to the user
//! and waits for the answer.
//!
//! A wait can be cancelled: [`PendingLogin::wait_for_redirect_with_cancel`] takes a
//! [`CancelToken`], and an async app cancels it when the future of its login is
//! dropped. The local-server flow then closes its listener before the drop returns,
//! and the command-line flow stops reading standard input (on Unix it reads only once
//! a line is ready, so a line typed after the cancel is left to the program).
//!
//! ```no_run
//! use globus_app_core::oauth::AuthorizeRequest;
//! use globus_app_core::{AuthService, OAuthClient};
//! use globus_app_shell::login::{CommandLineLoginFlow, LoginContext, LoginFlow};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = AuthService::production();
//! let default_redirect = service.native_redirect_uri();
//! let ctx = LoginContext::new("My App", true, default_redirect.as_str());
//! let flow = CommandLineLoginFlow::new();
//! flow.check(&ctx)?; // when the app is built
//!
//! let pending = flow.prepare(&ctx)?;
//! let attempt = AuthorizeRequest::new(
//!     service,
//!     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
//!     pending.redirect_uri(),
//!     "openid",
//! )
//! .start(&[7; 48]); // use OS randomness in real code
//! let redirect = pending.wait_for_redirect(attempt.authorize_url(), attempt.state())?;
//! let exchange = attempt.complete(redirect)?; // then send exchange.request()
//! # let _ = exchange;
//! # Ok(())
//! # }
//! ```

use globus_app_core::redirect::{RedirectError, RedirectParams};
use std::time::Duration;

mod browser;
mod cancel;
mod command_line;
mod feedback;
mod local_server;
mod loopback;

pub use browser::{BrowserEnv, TEXT_BROWSERS, open_browser};
pub use cancel::{CancelHook, CancelOnDrop, CancelToken};
pub use command_line::CommandLineLoginFlow;
pub use feedback::{LoginFeedback, LoginMessage, StderrFeedback, WriterFeedback};
pub use globus_app_core::redirect::{LandingTemplate, TemplateError};
pub use local_server::{LocalServerLoginFlow, RedirectHost};

/// What a login flow is told about the app.
///
/// Build it with [`LoginContext::new`] and, when the app has one,
/// [`LoginContext::with_configured_redirect_uri`]; new fields may be added later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginContext<'a> {
    /// The app's name, shown on the local server's landing page.
    pub app_name: &'a str,
    /// True for a native client (no secret, PKCE); false for a confidential client.
    pub client_is_native: bool,
    /// The service's `v2/web/auth-code` page, the default redirect for native clients.
    pub default_redirect_uri: &'a str,
    /// The app's configured redirect URI, if any.
    pub configured_redirect_uri: Option<&'a str>,
}

impl<'a> LoginContext<'a> {
    /// Describes an app with no configured redirect URI.
    ///
    /// ```
    /// use globus_app_shell::login::LoginContext;
    /// let ctx = LoginContext::new("My App", true, "https://auth.globus.org/v2/web/auth-code");
    /// assert_eq!(ctx.configured_redirect_uri, None);
    /// ```
    pub fn new(
        app_name: &'a str,
        client_is_native: bool,
        default_redirect_uri: &'a str,
    ) -> LoginContext<'a> {
        LoginContext {
            app_name,
            client_is_native,
            default_redirect_uri,
            configured_redirect_uri: None,
        }
    }

    /// Sets the app's configured redirect URI (`None` for none).
    pub fn with_configured_redirect_uri(mut self, uri: Option<&'a str>) -> LoginContext<'a> {
        self.configured_redirect_uri = uri;
        self
    }
}

/// A way to run the interactive part of an authorization-code login.
///
/// Implementations must be cheap to share between threads: an app holds one flow and
/// may run several logins over its life (one at a time).
pub trait LoginFlow: Send + Sync + std::fmt::Debug {
    /// Checks, when the app is built, that this flow can serve this app (the
    /// local-server flow refuses confidential clients and configured redirect URIs;
    /// the command-line flow needs a redirect URI for a confidential client).
    ///
    /// The default accepts every app.
    ///
    /// # Errors
    /// A [`LoginError`] that says what to change in the app's configuration.
    fn check(&self, ctx: &LoginContext<'_>) -> Result<(), LoginError> {
        let _ = ctx;
        Ok(())
    }

    /// Prepares one login (the local-server flow binds its loopback listener here)
    /// and returns it, knowing which redirect URI the authorize URL must carry.
    ///
    /// # Errors
    /// The errors of [`check`](LoginFlow::check), and those of the environment (an SSH
    /// session, a text-only browser, no loopback port).
    fn prepare(&self, ctx: &LoginContext<'_>) -> Result<Box<dyn PendingLogin>, LoginError>;
}

/// One prepared login, waiting to show the authorize URL.
pub trait PendingLogin: Send {
    /// The redirect URI to put in the authorize URL.
    fn redirect_uri(&self) -> &str;

    /// Shows `authorize_url` to the user (prints it, or opens the browser) and waits
    /// for the redirect or the pasted code.
    ///
    /// `state` is the value the redirect must carry: a redirect URL with another
    /// `state` is never accepted. (A bare pasted code carries no state; the caller's
    /// `LoginAttempt::complete` accepts it, and the PKCE verifier protects it.)
    ///
    /// # Errors
    /// A [`LoginError`]; it never contains the authorization code.
    fn wait_for_redirect(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
    ) -> Result<RedirectParams, LoginError>;

    /// As [`wait_for_redirect`](Self::wait_for_redirect), but gives up with
    /// [`LoginError::Cancelled`] once `cancel` is cancelled. Async apps call this,
    /// and cancel the token when the future of the login is dropped.
    ///
    /// The flows of this crate stop at once: the local server closes its listener
    /// from [`CancelToken::cancel`] itself, and the command-line flow stops reading
    /// standard input. The default implementation refuses to start when `cancel` is
    /// already cancelled and otherwise waits as `wait_for_redirect` does, to its end;
    /// a flow of your own that can stop early overrides it (checking
    /// [`CancelToken::is_cancelled`], or with [`CancelToken::on_cancel`]).
    ///
    /// # Errors
    /// [`LoginError::Cancelled`], or the errors of `wait_for_redirect`.
    fn wait_for_redirect_with_cancel(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
        cancel: &CancelToken,
    ) -> Result<RedirectParams, LoginError> {
        if cancel.is_cancelled() {
            return Err(LoginError::Cancelled);
        }
        self.wait_for_redirect(authorize_url, state)
    }
}

/// Why a login flow could not deliver an authorization code.
///
/// The messages say what to do; none contains the code or another secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Standard input reached its end before a code was entered.
    #[error(
        "no authorization code was entered (standard input closed); run the login in an \
         interactive terminal or use the local-server flow"
    )]
    InputClosed,
    /// An empty line was entered.
    #[error(
        "no authorization code was entered (empty line); run the login again and paste the \
         code that the Globus page shows after you log in"
    )]
    EmptyInput,
    /// The terminal could not be written to or read from.
    #[error(
        "the login could not use the terminal: {0}; run the login in an interactive terminal \
         or use the local-server flow"
    )]
    Terminal(#[source] std::io::Error),
    /// This is an SSH session: a browser would open on the wrong machine, or the
    /// redirect to the loopback address would not reach this one.
    #[error(
        "cannot log in with a browser from a remote (SSH) session; use the command-line \
         login flow instead"
    )]
    RemoteSession,
    /// `$BROWSER` names a text-only browser, which cannot complete a Globus login and
    /// would take over the terminal.
    #[error(
        "cannot log in with the text-only browser `{browser}` (from $BROWSER); set BROWSER \
         to a graphical browser or use the command-line login flow"
    )]
    TextBrowser {
        /// The program named in `$BROWSER`.
        browser: String,
    },
    /// No browser could be opened.
    #[error(
        "no web browser could be opened ({0}); set BROWSER to a browser program or use the \
         command-line login flow"
    )]
    BrowserNotOpened(#[source] std::io::Error),
    /// The user did not finish the login in time.
    #[error(
        "no login redirect arrived within {}; run the login again and finish it in the \
         browser, or use the command-line login flow",
        describe_duration(*waited)
    )]
    Timeout {
        /// How long the flow waited.
        waited: Duration,
    },
    /// The loopback listener could not be set up or failed.
    #[error(
        "the local login server failed: {0}; check that the loopback interface is usable or \
         use the command-line login flow"
    )]
    Listener(#[source] std::io::Error),
    /// The local-server flow was configured for a confidential client.
    #[error(
        "the local-server login flow works only with native clients (Globus Auth accepts a \
         loopback redirect only from them); use the command-line flow with a configured \
         redirect URI"
    )]
    LocalServerNeedsNativeClient,
    /// The local-server flow was given a server address that is not a loopback IP:
    /// the listener would be reachable from the network, and Globus Auth sends a
    /// native client's redirect only to loopback.
    #[error(
        "the local login server's address {address} is not a loopback address; use \
         127.0.0.1 or ::1 (with any port)"
    )]
    ServerAddressNotLoopback {
        /// The address given.
        address: std::net::SocketAddr,
    },
    /// The local-server flow was configured with a custom redirect URI.
    #[error(
        "the local-server login flow uses its own loopback redirect URI, so the configured \
         redirect URI `{uri}` cannot be used; remove it or use the command-line login flow"
    )]
    LocalServerCustomRedirect {
        /// The configured redirect URI.
        uri: String,
    },
    /// The command-line flow needs an explicit redirect URI for a confidential client.
    #[error(
        "a confidential client needs an explicit redirect URI for the command-line login \
         flow; configure the app's redirect URI"
    )]
    RedirectUriRequired,
    /// What came back was refused: Globus Auth (or the user) denied the login, the
    /// `state` did not match, or the input was not a code or a redirect URL.
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The login was cancelled while it waited for the user: the caller stopped
    /// waiting for it (an async app's login future was dropped).
    #[error(
        "the login was cancelled before it finished (its caller stopped waiting for it); \
         run it again to log in"
    )]
    Cancelled,
    /// An error of a login flow implemented outside this crate.
    #[error("the login flow failed: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Formats a wait for a human: `200 ms`, `1 hour`, `90 seconds`.
fn describe_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.subsec_nanos() != 0 {
        format!("{:.1} seconds", d.as_secs_f64())
    } else if secs.is_multiple_of(3600) {
        plural(secs / 3600, "hour")
    } else if secs.is_multiple_of(60) {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(Duration::from_millis(200)), "200 ms");
        assert_eq!(describe_duration(Duration::from_secs(3600)), "1 hour");
        assert_eq!(describe_duration(Duration::from_secs(7200)), "2 hours");
        assert_eq!(describe_duration(Duration::from_secs(300)), "5 minutes");
        assert_eq!(describe_duration(Duration::from_secs(90)), "90 seconds");
        assert_eq!(describe_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(
            describe_duration(Duration::from_millis(1500)),
            "1.5 seconds"
        );
    }

    #[test]
    fn messages_say_the_fix() {
        let eof = LoginError::InputClosed.to_string();
        assert!(eof.contains("standard input closed") && eof.contains("local-server flow"));
        let timeout = LoginError::Timeout {
            waited: Duration::from_secs(3600),
        }
        .to_string();
        assert!(timeout.starts_with("no login redirect arrived within 1 hour"));
        assert!(
            LoginError::RemoteSession
                .to_string()
                .contains("command-line")
        );
    }

    /// A flow of someone else's that knows nothing of cancelling.
    struct Plain;

    impl PendingLogin for Plain {
        fn redirect_uri(&self) -> &str {
            "https://example.org/cb"
        }

        fn wait_for_redirect(
            self: Box<Self>,
            _: &url::Url,
            _: &str,
        ) -> Result<RedirectParams, LoginError> {
            Err(LoginError::EmptyInput)
        }
    }

    #[test]
    fn the_default_cancellable_wait_refuses_a_cancelled_start_and_waits_otherwise() {
        let url = url::Url::parse("https://auth.globus.org/").expect("url");
        let cancel = CancelToken::new();
        let waited = Box::new(Plain).wait_for_redirect_with_cancel(&url, "s", &cancel);
        assert!(matches!(waited, Err(LoginError::EmptyInput)));
        cancel.cancel();
        let waited = Box::new(Plain).wait_for_redirect_with_cancel(&url, "s", &cancel);
        assert!(matches!(waited, Err(LoginError::Cancelled)));
    }

    #[test]
    fn context_builder() {
        let ctx = LoginContext::new("A", false, "https://d")
            .with_configured_redirect_uri(Some("https://c"));
        assert_eq!(ctx.configured_redirect_uri, Some("https://c"));
        assert!(!ctx.client_is_native);
    }
}
