//! The local-server login flow, with a test "browser": the opener receives the
//! authorize URL, reads `redirect_uri` and `state` from it, and sends requests to the
//! loopback listener over plain TCP, as a browser following the redirect would.

use globus_app_core::oauth::{AuthorizeRequest, Exchange as _, LoginAttempt};
use globus_app_core::redirect::{RedirectError, RedirectParams};
use globus_app_core::{AuthService, OAuthClient};
use globus_app_shell::login::{
    CancelToken, LocalServerLoginFlow, LoginContext, LoginError, LoginFlow, LoginMessage,
    RedirectHost,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const DEFAULT_REDIRECT: &str = "https://auth.globus.org/v2/web/auth-code";
/// Generous: only a broken flow comes near it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A flow that tells the user nothing (what it tells is checked by the tests at the
/// end, with a sink of their own).
fn quiet_flow() -> LocalServerLoginFlow {
    LocalServerLoginFlow::new().feedback(|_: &LoginMessage<'_>| Ok(()))
}

fn ctx() -> LoginContext<'static> {
    LoginContext::new("Test <App>", true, DEFAULT_REDIRECT)
}

/// What the test browser saw: one response per request, in order.
#[derive(Clone, Default)]
struct Pages(Arc<Mutex<Vec<String>>>);

impl Pages {
    fn push(&self, page: String) {
        if let Ok(mut pages) = self.0.lock() {
            pages.push(page);
        }
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// The `redirect_uri` and `state` query parameters of an authorize URL.
fn redirect_and_state(authorize_url: &url::Url) -> (url::Url, String) {
    let mut redirect = None;
    let mut state = None;
    for (key, value) in authorize_url.query_pairs() {
        match key.as_ref() {
            "redirect_uri" => redirect = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            _ => {}
        }
    }
    let redirect = url::Url::parse(&redirect.expect("redirect_uri")).expect("redirect URL");
    (redirect, state.expect("state"))
}

fn connect(redirect: &url::Url) -> TcpStream {
    let host = redirect.host_str().expect("host");
    let port = redirect.port().expect("port");
    let stream = TcpStream::connect((host, port)).expect("connect to the listener");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
}

/// Sends raw bytes on a fresh connection and returns the whole response.
fn send_raw(redirect: &url::Url, bytes: &[u8]) -> String {
    let mut stream = connect(redirect);
    stream.write_all(bytes).expect("send");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the response");
    String::from_utf8(response).expect("utf-8 response")
}

/// Sends raw bytes, then closes the sending side (EOF), and returns the response.
fn send_then_close(redirect: &url::Url, bytes: &[u8]) -> String {
    let mut stream = connect(redirect);
    stream.write_all(bytes).expect("send");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the response");
    String::from_utf8(response).expect("utf-8 response")
}

/// A GET of `path_and_query` on the listener of `redirect`.
fn get(redirect: &url::Url, path_and_query: &str) -> String {
    let host = redirect.host_str().expect("host");
    let port = redirect.port().expect("port");
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: test\r\n\
         Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    send_raw(redirect, request.as_bytes())
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

fn attempt_for(redirect_uri: &str, seed: u8) -> LoginAttempt {
    AuthorizeRequest::new(
        AuthService::production(),
        OAuthClient::native("CLIENT"),
        redirect_uri,
        "openid",
    )
    .start(&[seed; 48])
}

/// Runs one login with `browser` as the opener; returns the flow's result, the
/// attempt (to check the result against), and the pages the browser got.
fn login_with(
    flow: LocalServerLoginFlow,
    browser: impl Fn(&url::Url, &url::Url, &str) -> Vec<String> + Send + Sync + 'static,
) -> (
    Result<RedirectParams, LoginError>,
    LoginAttempt,
    Vec<String>,
) {
    let pages = Pages::default();
    let seen = pages.clone();
    let flow = flow.open_with(move |authorize_url| {
        let (redirect, state) = redirect_and_state(authorize_url);
        for page in browser(authorize_url, &redirect, &state) {
            seen.push(page);
        }
        Ok(())
    });
    flow.check(&ctx())
        .expect("a native client without a redirect URI");
    let pending = flow.prepare(&ctx()).expect("prepare");
    let attempt = attempt_for(pending.redirect_uri(), 3);
    let result = pending.wait_for_redirect(attempt.authorize_url(), attempt.state());
    (result, attempt, pages.all())
}

#[test]
fn the_redirect_with_the_code_completes_the_login() {
    let (result, attempt, pages) = login_with(quiet_flow(), |_, redirect, state| {
        vec![get(redirect, &format!("/?code=abc&state={state}"))]
    });
    let params = result.expect("login");
    assert_eq!(params.state(), Some(attempt.state()));
    let exchange = attempt.complete(params).expect("the state matches");
    let body = String::from_utf8(exchange.request().body().to_vec()).expect("form");
    assert!(body.contains("code=abc"), "{body}");

    let page = &pages[0];
    assert_eq!(status_line(page), "HTTP/1.1 200 OK");
    assert!(page.contains("Login successful"), "{page}");
    assert!(
        page.contains("Test &lt;App&gt;"),
        "the app name is escaped: {page}"
    );
}

#[test]
fn the_redirect_uri_is_a_loopback_http_url_like_the_reference() {
    let flow = quiet_flow().open_with(|_| Ok(()));
    let pending = flow.prepare(&ctx()).expect("prepare");
    let uri = pending.redirect_uri();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let port: u16 = uri["http://127.0.0.1:".len()..]
        .parse()
        .expect("a port and nothing after");
    assert_ne!(port, 0);
}

#[test]
fn a_favicon_request_first_is_ignored() {
    let (result, _, pages) = login_with(quiet_flow(), |_, redirect, state| {
        vec![
            get(redirect, "/favicon.ico"),
            get(redirect, &format!("/?code=abc&state={state}")),
        ]
    });
    assert!(result.expect("login").has_code());
    assert_eq!(status_line(&pages[0]), "HTTP/1.1 404 Not Found");
    assert!(pages[1].contains("Login successful"));
}

#[test]
fn stray_requests_are_answered_and_ignored_until_the_right_redirect() {
    let (result, attempt, pages) = login_with(quiet_flow(), |_, redirect, state| {
        vec![
            get(redirect, "/?code=stolen&state=another-login"),
            get(redirect, "/?code=no-state"),
            get(redirect, &format!("/callback?code=abc&state={state}")),
            get(redirect, "/"),
            send_raw(
                redirect,
                &format!("POST /?code=abc&state={state} HTTP/1.1\r\n\r\n").into_bytes(),
            ),
            send_raw(redirect, b"\x16\x03\x01\x02\x00garbage\r\n\r\n"),
            // EOF in the middle of the head: closed unanswered.
            send_then_close(
                redirect,
                format!("GET /?code=x&state={state} HTTP/1.1\r\nHost: a\r\n").as_bytes(),
            ),
            get(redirect, &format!("/?code=right&state={state}")),
        ]
    });
    let params = result.expect("login");
    assert_eq!(
        attempt.complete(params).map(|_| ()),
        Ok(()),
        "the accepted redirect is the one with this login's state"
    );
    let statuses: Vec<&str> = pages.iter().map(|p| status_line(p)).collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 400 Bad Request",
            "",
            "HTTP/1.1 200 OK",
        ]
    );
    assert!(pages[7].contains("Login successful"));
}

#[test]
fn a_denial_with_this_state_ends_the_login_and_shows_the_escaped_description() {
    let (result, _, pages) = login_with(quiet_flow(), |_, redirect, state| {
        vec![get(
            redirect,
            &format!("/?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state={state}"),
        )]
    });
    match result {
        Err(LoginError::Redirect(RedirectError::Denied { error, description })) => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("<b>no</b>"));
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    let page = &pages[0];
    assert_eq!(status_line(page), "HTTP/1.1 200 OK");
    assert!(page.contains("Login failed"), "{page}");
    assert!(page.contains("&lt;b&gt;no&lt;/b&gt;"), "{page}");
    assert!(!page.contains("<b>no</b>"), "{page}");
}

#[test]
fn a_denial_with_another_state_is_ignored() {
    let (result, _, pages) = login_with(quiet_flow(), |_, redirect, state| {
        vec![
            get(redirect, "/?error=access_denied&state=another-login"),
            get(redirect, &format!("/?code=abc&state={state}")),
        ]
    });
    assert!(result.expect("login").has_code());
    assert_eq!(status_line(&pages[0]), "HTTP/1.1 404 Not Found");
}

#[test]
fn no_redirect_within_the_timeout_is_a_clear_error() {
    let flow = quiet_flow().timeout(Duration::from_millis(200));
    let started = Instant::now();
    let (result, _, pages) = login_with(flow, |_, _, _| Vec::new());
    let err = result.expect_err("timeout");
    assert!(
        matches!(err, LoginError::Timeout { waited } if waited == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("no login redirect arrived within 200 ms")
    );
    assert!(pages.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        started.elapsed() < IO_TIMEOUT,
        "stopping the server must not hang"
    );
}

#[test]
fn an_idle_connection_does_not_delay_the_redirect_and_is_closed_at_the_end() {
    let idle: Arc<Mutex<Option<TcpStream>>> = Arc::default();
    let keep = Arc::clone(&idle);
    let started = Instant::now();
    let (result, _, _) = login_with(quiet_flow(), move |_, redirect, state| {
        // Like a browser's speculative connection: opened, then silent.
        let silent = connect(redirect);
        if let Ok(mut slot) = keep.lock() {
            *slot = Some(silent);
        }
        vec![get(redirect, &format!("/?code=abc&state={state}"))]
    });
    assert!(result.expect("login").has_code());
    // Well under the per-connection deadline (10 s): it was not waited for.
    assert!(started.elapsed() < Duration::from_secs(8));
    let mut silent = idle
        .lock()
        .expect("lock")
        .take()
        .expect("the idle connection");
    let mut rest = Vec::new();
    let read = silent.read_to_end(&mut rest);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "the server closed the idle connection without answering: {read:?} {rest:?}"
    );
}

#[test]
fn idle_connections_cannot_starve_the_redirect() {
    // Many connections that never send a byte (a browser's speculative ones, or a
    // local program holding the port) must not keep the browser's redirect from
    // being answered.
    const IDLE: usize = 64;
    let waited: Arc<Mutex<Option<Duration>>> = Arc::default();
    let record = Arc::clone(&waited);
    let flow = quiet_flow().timeout(Duration::from_secs(20));
    let (result, _, pages) = login_with(flow, move |_, redirect, state| {
        let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(redirect)).collect();
        let started = Instant::now();
        // The watchdog: an answer must come well before this.
        let mut stream = connect(redirect);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let request = format!("GET /?code=abc&state={state} HTTP/1.1\r\nHost: x\r\n\r\n");
        // A refused or reset connection reads as no answer, which the test reports.
        let _ = stream.write_all(request.as_bytes());
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        if let Ok(mut slot) = record.lock() {
            *slot = Some(started.elapsed());
        }
        drop(idle);
        vec![String::from_utf8_lossy(&response).into_owned()]
    });
    let page = &pages[0];
    assert!(
        page.contains("Login successful"),
        "the redirect was not answered behind {IDLE} idle connections: {page:?}"
    );
    let waited = waited.lock().expect("lock").expect("the redirect was sent");
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    assert!(result.expect("login").has_code());
}

#[test]
fn a_cancelled_wait_closes_the_listener_before_cancel_returns() {
    let (opened, browser) = mpsc::channel::<url::Url>();
    let flow = quiet_flow().open_with(move |url| {
        let (redirect, _) = redirect_and_state(url);
        let _ = opened.send(redirect);
        Ok(())
    });
    let pending = flow.prepare(&ctx()).expect("prepare");
    let attempt = attempt_for(pending.redirect_uri(), 5);
    let cancel = CancelToken::new();
    let (done, result) = mpsc::channel();
    let waiting = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let waited = pending.wait_for_redirect_with_cancel(
                attempt.authorize_url(),
                attempt.state(),
                &cancel,
            );
            let _ = done.send(waited);
        })
    };
    let redirect = browser
        .recv_timeout(IO_TIMEOUT)
        .expect("the browser opened");
    assert_eq!(
        status_line(&get(&redirect, "/favicon.ico")),
        "HTTP/1.1 404 Not Found",
        "the listener serves"
    );
    cancel.cancel();
    let port = redirect.port().expect("port");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port refuses connections as soon as cancel returns"
    );
    let waited = result
        .recv_timeout(Duration::from_secs(2))
        .expect("the wait ended promptly");
    assert!(matches!(waited, Err(LoginError::Cancelled)), "{waited:?}");
    assert!(
        waited
            .expect_err("cancelled")
            .to_string()
            .contains("cancelled")
    );
    waiting.join().expect("the waiting thread");
}

#[test]
fn a_wait_cancelled_before_it_starts_opens_nothing() {
    let flow = quiet_flow().open_with(|_| panic!("the browser was opened"));
    let pending = flow.prepare(&ctx()).expect("prepare");
    let port: u16 = url::Url::parse(pending.redirect_uri())
        .expect("uri")
        .port()
        .expect("port");
    let attempt = attempt_for(pending.redirect_uri(), 6);
    let cancel = CancelToken::new();
    cancel.cancel();
    let waited =
        pending.wait_for_redirect_with_cancel(attempt.authorize_url(), attempt.state(), &cancel);
    assert!(matches!(waited, Err(LoginError::Cancelled)), "{waited:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn an_oversized_request_head_is_refused() {
    let (result, _, pages) = login_with(quiet_flow(), |_, redirect, state| {
        let huge = format!(
            "GET /?code=abc&state={state} HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
            "a".repeat(20 * 1024)
        );
        let mut stream = connect(redirect);
        // The server may close before reading everything; only its answer matters.
        let _ = stream.write_all(huge.as_bytes());
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        vec![
            String::from_utf8_lossy(&response).into_owned(),
            get(redirect, &format!("/?code=abc&state={state}")),
        ]
    });
    assert!(result.expect("login").has_code());
    // The 431 may be lost to a reset when the server closes with unread bytes; it
    // must never be a success.
    assert!(!pages[0].contains("Login successful"), "{}", pages[0]);
    assert!(pages[1].contains("Login successful"));
}

#[test]
fn an_opener_failure_ends_the_login() {
    let flow = quiet_flow().open_with(|_| Err(std::io::Error::other("no webview")));
    let pending = flow.prepare(&ctx()).expect("prepare");
    let attempt = attempt_for(pending.redirect_uri(), 1);
    let err = pending
        .wait_for_redirect(attempt.authorize_url(), attempt.state())
        .expect_err("opener failed");
    assert!(matches!(err, LoginError::BrowserNotOpened(_)));
    assert!(err.to_string().contains("no webview"));
}

#[test]
fn the_localhost_redirect_host_is_reachable_by_name() {
    let flow = quiet_flow().redirect_host(RedirectHost::Localhost);
    let (result, attempt, pages) = login_with(flow, |_, redirect, state| {
        assert_eq!(redirect.host_str(), Some("localhost"));
        vec![get(redirect, &format!("/?code=abc&state={state}"))]
    });
    assert!(attempt.redirect_uri().starts_with("http://localhost:"));
    assert!(result.expect("login").has_code());
    assert!(pages[0].contains("Login successful"));
}

#[test]
fn one_flow_serves_several_logins_in_turn() {
    let flow: Box<dyn LoginFlow> = Box::new(quiet_flow().open_with(|url| {
        let (redirect, state) = redirect_and_state(url);
        let page = get(&redirect, &format!("/?code=abc&state={state}"));
        assert!(page.contains("Login successful"));
        Ok(())
    }));
    let mut ports = Vec::new();
    for seed in 0..3 {
        let pending = flow.prepare(&ctx()).expect("prepare");
        ports.push(pending.redirect_uri().to_owned());
        let attempt = attempt_for(pending.redirect_uri(), seed);
        let params = pending
            .wait_for_redirect(attempt.authorize_url(), attempt.state())
            .expect("login");
        attempt.complete(params).expect("state matches");
    }
    assert_eq!(ports.len(), 3);
}

#[test]
fn the_flow_refuses_apps_it_cannot_serve() {
    let flow = quiet_flow();
    let confidential = LoginContext::new("A", false, DEFAULT_REDIRECT);
    let err = flow.check(&confidential).expect_err("confidential");
    assert!(matches!(err, LoginError::LocalServerNeedsNativeClient));
    assert!(err.to_string().contains("command-line"));
    let custom = ctx().with_configured_redirect_uri(Some("https://example.org/cb"));
    let err = flow.check(&custom).expect_err("custom redirect");
    assert!(matches!(err, LoginError::LocalServerCustomRedirect { .. }));
}

fn env_of(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[test]
fn an_ssh_session_is_refused_before_anything_opens() {
    for pairs in [
        &[("SSH_TTY", "/dev/pts/3")][..],
        &[("SSH_CONNECTION", "192.0.2.1 51234 192.0.2.2 22")][..],
    ] {
        let flow = quiet_flow().env_lookup(env_of(pairs));
        let err = flow.prepare(&ctx()).map(|_| ()).expect_err("SSH session");
        assert!(matches!(err, LoginError::RemoteSession), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("SSH") && message.contains("command-line login flow"),
            "{message}"
        );
    }
}

#[test]
fn a_text_browser_is_refused_before_anything_opens() {
    for pairs in [
        &[("BROWSER", "lynx")][..],
        &[("BROWSER", "/usr/bin/w3m %s")][..],
        &[("BROWSER", "links")][..],
        &[("BROWSER", "elinks")][..],
        &[("BROWSER", "www-browser")][..],
    ] {
        let flow = quiet_flow().env_lookup(env_of(pairs));
        let err = flow.prepare(&ctx()).map(|_| ()).expect_err("text browser");
        assert!(matches!(err, LoginError::TextBrowser { .. }), "{err:?}");
        assert!(err.to_string().contains("command-line login flow"));
    }
}

#[test]
fn a_custom_opener_is_not_subject_to_the_browser_checks() {
    let flow = quiet_flow()
        .env_lookup(env_of(&[("SSH_TTY", "/dev/pts/3"), ("BROWSER", "lynx")]))
        .open_with(|_| Ok(()));
    assert!(flow.prepare(&ctx()).is_ok());
}

/// Collects what a flow tells the user, as terminal text.
#[derive(Clone, Default)]
struct Told(Arc<Mutex<String>>);

impl Told {
    fn sink(&self) -> impl Fn(&LoginMessage<'_>) -> std::io::Result<()> + Send + Sync + 'static {
        let told = self.0.clone();
        move |message| {
            if let Ok(mut text) = told.lock() {
                text.push_str(&message.terminal_text());
            }
            Ok(())
        }
    }
    fn text(&self) -> String {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
    /// Waits until the text contains `needle` (bounded), and returns it.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "never told {needle:?}: {text}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(unix)]
#[test]
fn a_failing_browser_command_is_reported_and_the_url_still_works() {
    let told = Told::default();
    let flow = quiet_flow()
        .timeout(Duration::from_secs(90))
        .env_lookup(env_of(&[("BROWSER", "false")]))
        .feedback(told.sink());
    let pending = flow.prepare(&ctx()).expect("prepare");
    let attempt = attempt_for(pending.redirect_uri(), 9);
    let url = attempt.authorize_url().clone();
    let state = attempt.state().to_owned();
    let waiting = std::thread::spawn(move || pending.wait_for_redirect(&url, &state));

    let text = told.wait_for("still waiting");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[1], attempt.authorize_url().as_str());
    assert_eq!(
        lines[2],
        "waiting for the login in your browser; Ctrl-C to cancel; gives up in 90 seconds"
    );
    assert!(
        lines[3]
            .starts_with("the browser command `false` failed (exit status: 1); open the URL above"),
        "{text}"
    );
    assert!(!waiting.is_finished(), "the flow gave up: {text}");

    // The user opens the printed URL by hand.
    let (redirect, state) = redirect_and_state(attempt.authorize_url());
    let page = get(&redirect, &format!("/?code=by-hand&state={state}"));
    assert!(page.contains("Login successful"), "{page}");
    let params = waiting.join().expect("no panic").expect("logged in");
    assert_eq!(
        params.into_code(attempt.state()).expect("code").secret(),
        "by-hand"
    );
}

#[test]
fn the_notice_comes_before_the_opener_runs_and_names_the_timeout() {
    let told = Told::default();
    let seen_before_opening = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&seen_before_opening);
    let at_open = told.clone();
    let flow = quiet_flow()
        .timeout(Duration::from_millis(300))
        .feedback(told.sink())
        .open_with(move |_| {
            if let Ok(mut seen) = seen.lock() {
                *seen = at_open.text();
            }
            Ok(())
        });
    let pending = flow.prepare(&ctx()).expect("prepare");
    let attempt = attempt_for(pending.redirect_uri(), 10);
    let err = pending
        .wait_for_redirect(attempt.authorize_url(), attempt.state())
        .expect_err("nobody logs in");
    assert!(matches!(err, LoginError::Timeout { .. }), "{err:?}");
    let before = seen_before_opening
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    assert!(
        before.contains(attempt.authorize_url().as_str()),
        "{before}"
    );
    assert!(before.contains("gives up in 300 ms"), "{before}");
    assert_eq!(told.text(), before, "nothing else is told");
}
