//! The local-server login: a loopback listener receives the redirect that the
//! user's browser follows after the login.

use super::browser::{BrowserEnv, Launched, launch};
use super::feedback::{Feedback, LoginFeedback, LoginMessage};
use super::loopback::{IDLE_DEADLINE, Landing, Outcome, Server};
use super::{CancelToken, LoginContext, LoginError, LoginFlow, PendingLogin};
use globus_app_core::redirect::{LandingTemplate, RedirectParams};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// How often a running browser command is checked for a failed exit.
const BROWSER_POLL: Duration = Duration::from_millis(50);

/// Opens the authorize URL some other way than the system browser.
type Opener = Arc<dyn Fn(&url::Url) -> io::Result<()> + Send + Sync>;
/// Looks up an environment variable.
type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Which host name the loopback redirect URI uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectHost {
    /// `http://127.0.0.1:PORT`, listening on 127.0.0.1 only. What the reference's
    /// redirect URI actually is (it binds `localhost` and reports the bound address),
    /// and what RFC 8252 (section 7.3) recommends: no name lookup, no IPv4/IPv6 doubt.
    #[default]
    Ipv4Loopback,
    /// `http://localhost:PORT`, listening on 127.0.0.1 and, where the machine has
    /// IPv6, on `[::1]` at the same port, so a browser that resolves `localhost` to
    /// either address reaches this login.
    Localhost,
}

/// A login through the system browser and a loopback listener: the flow the
/// reference calls the local-server login.
///
/// [`prepare`](LoginFlow::prepare) binds a listener on an ephemeral loopback port;
/// the redirect URI is `http://127.0.0.1:PORT` (see [`RedirectHost`]).
/// [`wait_for_redirect`](PendingLogin::wait_for_redirect) prints the authorize URL
/// and a notice of the wait, opens the URL in the system browser, and serves
/// connections until the redirect that carries this login's `state` arrives. That
/// request gets the landing page ("Login successful", or "Login failed" with Globus
/// Auth's escaped error description); any other request (`/favicon.ico`, another
/// path, a redirect with another `state`, bytes that are not HTTP) gets a 404 or 400
/// and the wait goes on. After [`timeout`](Self::timeout) (one hour by default, like
/// the reference) it gives up.
///
/// What the user sees, on standard error (or the sink given to
/// [`feedback`](Self::feedback), as [`LoginMessage`]s):
///
/// ```text
/// Log in with Globus in your browser; if it does not open, open this URL in a browser on this machine:
/// https://auth.globus.org/v2/oauth2/authorize?client_id=…
/// waiting for the login in your browser; Ctrl-C to cancel; gives up in 1 hour
/// ```
///
/// If no browser can be opened, or the browser command fails (a `$BROWSER` program
/// that exits with an error, such as `BROWSER=false`), a line says so and the flow
/// goes on waiting for a login at the URL shown: the user can open it by hand.
///
/// Connections are served concurrently. One that sends no complete request within
/// two seconds is closed, and when 16 are open a new one closes the oldest idle one,
/// so idle connections (a browser's speculative ones, or a local program's) cannot
/// keep the redirect from being answered.
///
/// A cancelled wait
/// ([`wait_for_redirect_with_cancel`](PendingLogin::wait_for_redirect_with_cancel),
/// which async apps use: dropping the login's future cancels it) closes the listener
/// before [`CancelToken::cancel`](super::CancelToken::cancel) returns, and ends with
/// [`LoginError::Cancelled`].
///
/// Native clients only, and no configured redirect URI: Globus Auth accepts a
/// loopback redirect on any port only from native clients.
///
/// The system browser is refused, with an error that suggests the command-line flow,
/// in an SSH session (`SSH_TTY`/`SSH_CONNECTION`) and when `$BROWSER` names a text
/// browser (see [`BrowserEnv`]). A custom opener ([`open_with`](Self::open_with)) is
/// not subject to these checks.
///
/// ```no_run
/// use globus_app_shell::login::LocalServerLoginFlow;
/// use std::time::Duration;
/// let flow = LocalServerLoginFlow::new().timeout(Duration::from_secs(600));
/// ```
#[derive(Clone)]
pub struct LocalServerLoginFlow {
    timeout: Duration,
    host: RedirectHost,
    /// A fixed address to listen on (`None`: 127.0.0.1, an ephemeral port).
    address: Option<SocketAddr>,
    template: Option<Arc<LandingTemplate>>,
    opener: Option<Opener>,
    env_lookup: Option<EnvLookup>,
    feedback: Feedback,
}

impl LocalServerLoginFlow {
    /// The reference's default wait for the redirect: one hour.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

    /// A flow that opens the system browser and waits up to an hour.
    pub fn new() -> LocalServerLoginFlow {
        LocalServerLoginFlow {
            timeout: LocalServerLoginFlow::DEFAULT_TIMEOUT,
            host: RedirectHost::default(),
            address: None,
            template: None,
            opener: None,
            env_lookup: None,
            feedback: Feedback::stderr(),
        }
    }

    /// Sets how long to wait for the redirect after opening the browser (the
    /// notice of the wait names it).
    pub fn timeout(mut self, timeout: Duration) -> LocalServerLoginFlow {
        self.timeout = timeout;
        self
    }

    /// Sets the host name of the redirect URI.
    pub fn redirect_host(mut self, host: RedirectHost) -> LocalServerLoginFlow {
        self.host = host;
        self
    }

    /// Listens on this loopback address and port, as the reference's
    /// `server_address` (port 0: one the system picks, the default). The redirect URI
    /// names the IP (`http://127.0.0.1:8765`, `http://[::1]:8765`), or `localhost`
    /// with [`RedirectHost::Localhost`]. An address that is not loopback is refused
    /// when the app is built ([`LoginError::ServerAddressNotLoopback`]).
    ///
    /// ```
    /// use globus_app_shell::login::LocalServerLoginFlow;
    /// let flow = LocalServerLoginFlow::new().server_address(([127, 0, 0, 1], 8765).into());
    /// ```
    pub fn server_address(mut self, address: SocketAddr) -> LocalServerLoginFlow {
        self.address = Some(address);
        self
    }

    /// Shows the user's page after the redirect instead of the built-in one, as the
    /// reference's `html_template` (see [`LandingTemplate`] for its placeholders).
    ///
    /// ```
    /// use globus_app_shell::login::LocalServerLoginFlow;
    /// use globus_app_core::redirect::LandingTemplate;
    /// let page = LandingTemplate::new("<!DOCTYPE html><title>$login_result</title><h1>$login_result</h1><p>$post_login_message</p>")?;
    /// let flow = LocalServerLoginFlow::new().html_template(page);
    /// # Ok::<(), globus_app_core::redirect::TemplateError>(())
    /// ```
    pub fn html_template(mut self, template: LandingTemplate) -> LocalServerLoginFlow {
        self.template = Some(Arc::new(template));
        self
    }

    /// Sends what the flow tells the user (the URL and the notice of the wait, a
    /// browser that failed) to `sink` instead of standard error.
    ///
    /// ```
    /// use globus_app_shell::login::{LocalServerLoginFlow, LoginMessage};
    /// let flow = LocalServerLoginFlow::new().feedback(|message: &LoginMessage<'_>| {
    ///     eprintln!("[login] {message}");
    ///     Ok(())
    /// });
    /// # let _ = flow;
    /// ```
    pub fn feedback(mut self, sink: impl LoginFeedback + 'static) -> LocalServerLoginFlow {
        self.feedback = Feedback::custom(sink);
        self
    }

    /// Opens the authorize URL with `opener` instead of the system browser: an
    /// embedded webview, a custom launcher, or a test that plays the browser.
    ///
    /// The opener runs while the listener already serves, so it may perform the
    /// redirect request itself before returning. An error it returns ends the login
    /// as [`LoginError::BrowserNotOpened`]. The URL and the notice of the wait are
    /// shown all the same (send them elsewhere with [`feedback`](Self::feedback)).
    ///
    /// ```
    /// use globus_app_shell::login::LocalServerLoginFlow;
    /// let flow = LocalServerLoginFlow::new().open_with(|url| {
    ///     println!("Open {url} in your browser");
    ///     Ok(())
    /// });
    /// # let _ = flow;
    /// ```
    pub fn open_with(
        mut self,
        opener: impl Fn(&url::Url) -> io::Result<()> + Send + Sync + 'static,
    ) -> LocalServerLoginFlow {
        self.opener = Some(Arc::new(opener));
        self
    }

    /// Reads `SSH_TTY`, `SSH_CONNECTION` and `BROWSER` through `lookup` instead of
    /// the process environment (for tests).
    ///
    /// The `BROWSER` it returns is the browser command this flow runs. Without one
    /// the `webbrowser` crate opens the desktop's default browser, and it reads the
    /// real `$BROWSER` itself.
    ///
    /// ```
    /// use globus_app_shell::login::{LocalServerLoginFlow, LoginContext, LoginError, LoginFlow};
    /// let flow = LocalServerLoginFlow::new()
    ///     .env_lookup(|name| (name == "SSH_TTY").then(|| "/dev/pts/1".to_owned()));
    /// let ctx = LoginContext::new("App", true, "https://auth.globus.org/v2/web/auth-code");
    /// assert!(matches!(flow.prepare(&ctx), Err(LoginError::RemoteSession)));
    /// ```
    pub fn env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> LocalServerLoginFlow {
        self.env_lookup = Some(Arc::new(lookup));
        self
    }

    fn browser_env(&self) -> BrowserEnv {
        match &self.env_lookup {
            Some(lookup) => BrowserEnv::from_lookup(|name| lookup(name)),
            None => BrowserEnv::from_process(),
        }
    }
}

impl Default for LocalServerLoginFlow {
    fn default() -> Self {
        LocalServerLoginFlow::new()
    }
}

impl fmt::Debug for LocalServerLoginFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServerLoginFlow")
            .field("timeout", &self.timeout)
            .field("host", &self.host)
            .field("address", &self.address)
            .field("template", &self.template.is_some())
            .field(
                "opener",
                &if self.opener.is_some() {
                    "custom"
                } else {
                    "system browser"
                },
            )
            .field("env_lookup", &self.env_lookup.as_ref().map(|_| "custom"))
            .field("feedback", &self.feedback)
            .finish()
    }
}

impl LoginFlow for LocalServerLoginFlow {
    fn check(&self, ctx: &LoginContext<'_>) -> Result<(), LoginError> {
        if let Some(uri) = ctx.configured_redirect_uri {
            return Err(LoginError::LocalServerCustomRedirect {
                uri: uri.to_owned(),
            });
        }
        if !ctx.client_is_native {
            return Err(LoginError::LocalServerNeedsNativeClient);
        }
        if let Some(address) = self.address
            && !address.ip().is_loopback()
        {
            return Err(LoginError::ServerAddressNotLoopback { address });
        }
        Ok(())
    }

    fn prepare(&self, ctx: &LoginContext<'_>) -> Result<Box<dyn PendingLogin>, LoginError> {
        self.check(ctx)?;
        // Refuse before binding anything, so the caller learns at once.
        let browser_env = match self.opener {
            Some(_) => None,
            None => {
                let env = self.browser_env();
                env.check()?;
                Some(env)
            }
        };
        let (listeners, port) = match self.address {
            None => bind(self.host).map_err(LoginError::Listener)?,
            Some(address) => {
                let listener = TcpListener::bind(address).map_err(LoginError::Listener)?;
                let port = listener.local_addr().map_err(LoginError::Listener)?.port();
                (vec![listener], port)
            }
        };
        let host = match (self.host, self.address) {
            (RedirectHost::Localhost, _) => "localhost".to_owned(),
            (RedirectHost::Ipv4Loopback, None) => "127.0.0.1".to_owned(),
            (RedirectHost::Ipv4Loopback, Some(SocketAddr::V4(v4))) => v4.ip().to_string(),
            (RedirectHost::Ipv4Loopback, Some(SocketAddr::V6(v6))) => format!("[{}]", v6.ip()),
        };
        Ok(Box::new(LocalServerPending {
            redirect_uri: format!("http://{host}:{port}"),
            listeners,
            landing: Landing {
                app_name: ctx.app_name.to_owned(),
                template: self.template.clone(),
            },
            timeout: self.timeout,
            opener: self.opener.clone(),
            browser_env,
            feedback: self.feedback.clone(),
        }))
    }
}

/// Binds 127.0.0.1 on an ephemeral port and, for [`RedirectHost::Localhost`],
/// `[::1]` on the same port.
fn bind(host: RedirectHost) -> io::Result<(Vec<TcpListener>, u16)> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = v4.local_addr()?.port();
        if host == RedirectHost::Ipv4Loopback {
            return Ok((vec![v4], port));
        }
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
            Ok(v6) => return Ok((vec![v4, v6], port)),
            // Someone else holds [::1]:port and would receive a browser that tries
            // IPv6 first: take another port.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            // No IPv6 loopback here: browsers fall back to 127.0.0.1.
            Err(_) => return Ok((vec![v4], port)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "found no port free on both 127.0.0.1 and [::1]",
    ))
}

struct LocalServerPending {
    redirect_uri: String,
    listeners: Vec<TcpListener>,
    landing: Landing,
    timeout: Duration,
    opener: Option<Opener>,
    /// Captured at `prepare` for the system browser; `None` with a custom opener.
    browser_env: Option<BrowserEnv>,
    feedback: Feedback,
}

impl PendingLogin for LocalServerPending {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn wait_for_redirect(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
    ) -> Result<RedirectParams, LoginError> {
        self.wait_for_redirect_with_cancel(authorize_url, state, &CancelToken::new())
    }

    fn wait_for_redirect_with_cancel(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
        cancel: &CancelToken,
    ) -> Result<RedirectParams, LoginError> {
        if cancel.is_cancelled() {
            return Err(LoginError::Cancelled);
        }
        let LocalServerPending {
            listeners,
            landing,
            timeout,
            opener,
            browser_env,
            feedback,
            ..
        } = *self;
        let (tx, rx) = mpsc::channel::<Outcome>();
        // Serve before opening the browser: a browser (or a $BROWSER script) may make
        // the request before the opener returns.
        let server = Server::start(
            listeners,
            landing,
            state.to_owned(),
            "/".to_owned(),
            IDLE_DEADLINE,
            tx.clone(),
        )
        .map_err(LoginError::Listener)?;
        // A cancel closes the listeners at once, on the cancelling thread (so the
        // port refuses connections before the caller's drop returns), and ends the
        // wait below; the server's threads are then joined here.
        let _on_cancel = server.closer().map(|closer| {
            cancel.on_cancel(move || {
                closer.close();
                let _ = tx.send(Err(LoginError::Cancelled));
            })
        });
        let deadline = Instant::now() + timeout;
        // The URL first: whatever the browser does, the user can open it by hand. A
        // sink that fails does not end the login, as the browser may still open.
        let _ = feedback.show(&LoginMessage::WaitingForBrowser {
            authorize_url,
            timeout,
        });
        let mut browser = None;
        match (&opener, browser_env) {
            (Some(open), _) => {
                if let Err(e) = open(authorize_url) {
                    server.stop();
                    return Err(if cancel.is_cancelled() {
                        LoginError::Cancelled
                    } else {
                        LoginError::BrowserNotOpened(e)
                    });
                }
            }
            (None, env) => {
                let env = env.unwrap_or_else(BrowserEnv::from_process);
                if let Err(e) = env.check() {
                    server.stop();
                    return Err(e);
                }
                match launch(authorize_url, &env) {
                    Ok(launched) => browser = Some(launched),
                    Err(error) => {
                        let _ = feedback.show(&LoginMessage::BrowserFailed { error: &error });
                    }
                }
            }
        }
        let outcome = wait(&rx, deadline, timeout, browser, &feedback);
        server.stop();
        outcome
    }
}

/// Waits for the login's outcome until `deadline`, meanwhile watching the browser
/// command (if any) and reporting its failure: the wait goes on after it.
fn wait(
    rx: &mpsc::Receiver<Outcome>,
    deadline: Instant,
    timeout: Duration,
    mut browser: Option<Launched>,
    feedback: &Feedback,
) -> Outcome {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let watching = browser.as_ref().is_some_and(Launched::is_watched);
        let tick = if watching {
            left.min(BROWSER_POLL)
        } else {
            left
        };
        match rx.recv_timeout(tick) {
            Ok(outcome) => return outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(error) = browser.as_mut().and_then(Launched::failure) {
                    let _ = feedback.show(&LoginMessage::BrowserFailed { error: &error });
                }
                if Instant::now() >= deadline {
                    return Err(LoginError::Timeout { waited: timeout });
                }
            }
            // Every sender is gone: cannot happen while the accept thread lives, as
            // it reports its failure before it ends.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(LoginError::Listener(io::Error::other(
                    "the login listener stopped",
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = "https://auth.globus.org/v2/web/auth-code";

    #[test]
    fn refuses_confidential_clients_and_custom_redirects() {
        let flow = LocalServerLoginFlow::new().open_with(|_| Ok(()));
        let custom = LoginContext::new("A", true, DEFAULT)
            .with_configured_redirect_uri(Some("https://example.org/cb"));
        let err = flow.check(&custom).expect_err("custom redirect");
        assert!(err.to_string().contains("https://example.org/cb"));
        assert!(matches!(
            flow.prepare(&custom),
            Err(LoginError::LocalServerCustomRedirect { .. })
        ));
        let confidential = LoginContext::new("A", false, DEFAULT);
        assert!(matches!(
            flow.check(&confidential),
            Err(LoginError::LocalServerNeedsNativeClient)
        ));
        assert!(flow.check(&LoginContext::new("A", true, DEFAULT)).is_ok());
    }

    #[test]
    fn redirect_uris() {
        let ctx = LoginContext::new("A", true, DEFAULT);
        let flow = LocalServerLoginFlow::new().open_with(|_| Ok(()));
        let pending = flow.prepare(&ctx).expect("prepare");
        let uri = url::Url::parse(pending.redirect_uri()).expect("uri");
        assert_eq!(uri.host_str(), Some("127.0.0.1"));
        assert!(uri.port().is_some_and(|p| p != 0));
        assert_eq!(uri.path(), "/");
        assert!(!pending.redirect_uri().ends_with('/'));

        let flow = flow.redirect_host(RedirectHost::Localhost);
        let pending = flow.prepare(&ctx).expect("prepare");
        assert!(pending.redirect_uri().starts_with("http://localhost:"));
    }

    #[test]
    fn debug_shows_configuration() {
        let text = format!("{:?}", LocalServerLoginFlow::new());
        assert!(text.contains("3600s") && text.contains("system browser"));
    }
}
