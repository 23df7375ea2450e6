//! The loopback HTTP listener of the local-server login: accepts connections on
//! one or two sockets, reads each request head (bounded in size and time), lets the
//! core parse it and render the answer, and reports the login's result.
//!
//! Threads: one accept thread per socket, and one short-lived thread per connection
//! (a browser may open idle speculative connections, which must not delay the real
//! request). Every connection has a deadline; stopping the server shuts down the
//! connections still open, wakes the accept threads by connecting to them, and joins
//! every thread.

use super::LoginError;
use globus_app_core::redirect::{
    IncomingRequest, LandingOutcome, RedirectError, RedirectParams, landing_page_response,
    not_found_response, parse_incoming,
};
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The largest request head read; a redirect is well under 2 KiB.
const MAX_HEAD: usize = 8 * 1024;
/// How long one connection may take to send its request head and read the answer
/// (a redirect takes milliseconds).
pub(super) const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// Connections handled at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 16;
/// The core renders the 404 and the landing pages; it has no 400, so this one is here.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 12\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nBad Request\n";
const HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\nCache-Control: no-store\r\n\
Connection: close\r\n\r\nRequest Header Fields Too Large\n";

/// What the server reports to the waiting login.
pub(super) type Outcome = Result<RedirectParams, LoginError>;

/// What every connection handler needs to know.
struct Shared {
    app_name: String,
    state: String,
    redirect_path: String,
    connection_deadline: Duration,
    stop: AtomicBool,
}

/// A running server; [`Server::stop`] (or dropping it) ends every thread.
pub(super) struct Server {
    shared: Arc<Shared>,
    accept_threads: Vec<(SocketAddr, JoinHandle<()>)>,
}

impl Server {
    /// Starts serving `listeners`; the first outcome (the redirect with `state`, or a
    /// listener failure) goes to `outcomes`.
    pub(super) fn start(
        listeners: Vec<TcpListener>,
        app_name: String,
        state: String,
        redirect_path: String,
        connection_deadline: Duration,
        outcomes: mpsc::Sender<Outcome>,
    ) -> io::Result<Server> {
        let shared = Arc::new(Shared {
            app_name,
            state,
            redirect_path,
            connection_deadline,
            stop: AtomicBool::new(false),
        });
        let mut server = Server {
            shared: Arc::clone(&shared),
            accept_threads: Vec::with_capacity(listeners.len()),
        };
        for listener in listeners {
            let addr = listener.local_addr()?;
            let shared = Arc::clone(&shared);
            let outcomes = outcomes.clone();
            let handle = std::thread::Builder::new()
                .name("globus-login-accept".into())
                .spawn(move || accept_loop(&listener, &shared, &outcomes))?;
            server.accept_threads.push((addr, handle));
        }
        Ok(server)
    }

    /// Stops accepting, closes open connections and joins every thread.
    pub(super) fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for (addr, handle) in self.accept_threads.drain(..) {
            // Wake the blocking accept() with a connection of our own. If even that
            // fails (and the thread has not already ended on a listener error) it is
            // left detached rather than joined forever; it ends with the next
            // connection or the process.
            if handle.is_finished()
                || TcpStream::connect_timeout(&addr, CONNECTION_DEADLINE).is_ok()
            {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, outcomes: &mpsc::Sender<Outcome>) {
    let mut handlers: Vec<(JoinHandle<()>, TcpStream)> = Vec::new();
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_transient(&e) => continue,
            Err(e) => {
                let _ = outcomes.send(Err(LoginError::Listener(e)));
                break;
            }
        };
        handlers.retain(|(handle, _)| !handle.is_finished());
        if handlers.len() >= MAX_CONNECTIONS {
            continue; // dropped: closed unanswered
        }
        let Ok(closer) = stream.try_clone() else {
            continue;
        };
        let shared_for_handler = Arc::clone(shared);
        let outcomes = outcomes.clone();
        let spawned = std::thread::Builder::new()
            .name("globus-login-conn".into())
            .spawn(move || handle_connection(stream, &shared_for_handler, &outcomes));
        if let Ok(handle) = spawned {
            handlers.push((handle, closer));
        }
    }
    for (handle, closer) in handlers {
        let _ = closer.shutdown(Shutdown::Both);
        let _ = handle.join();
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::WouldBlock
    )
}

fn handle_connection(mut stream: TcpStream, shared: &Shared, outcomes: &mpsc::Sender<Outcome>) {
    serve_one(&mut stream, shared, outcomes);
    // The accept thread holds a clone of this socket (to close it when the server
    // stops), so dropping ours would not close the connection: shut it down.
    let _ = stream.shutdown(Shutdown::Both);
}

fn serve_one(stream: &mut TcpStream, shared: &Shared, outcomes: &mpsc::Sender<Outcome>) {
    let deadline = Instant::now() + shared.connection_deadline;
    let head = match read_head(stream, deadline) {
        Ok(Head::Complete(head)) => head,
        Ok(Head::TooLarge) => {
            let _ = respond(stream, HEAD_TOO_LARGE, deadline);
            return;
        }
        // A client that went away, or stayed silent past the deadline: no answer.
        Ok(Head::Closed) | Err(_) => return,
    };
    let (response, outcome) = answer(&head, shared);
    // The outcome is reported even if the browser is gone before it reads the page:
    // the code arrived, and that is what the login needs.
    let _ = respond(stream, &response, deadline);
    if let Some(outcome) = outcome {
        let _ = outcomes.send(outcome);
    }
}

/// Decides the answer to one request head, and whether it ends the login.
fn answer(head: &[u8], shared: &Shared) -> (Vec<u8>, Option<Outcome>) {
    let params = match parse_incoming(head, &shared.redirect_path) {
        Err(_) => return (BAD_REQUEST.to_vec(), None),
        Ok(IncomingRequest::Other) => return (not_found_response(), None),
        Ok(IncomingRequest::Redirect(params)) => params,
        // A request kind added to the core later: not the login's answer.
        Ok(_) => return (not_found_response(), None),
    };
    match params.clone().into_code(&shared.state) {
        Ok(_) => (
            landing_page_response(&shared.app_name, LandingOutcome::Success),
            Some(Ok(params)),
        ),
        Err(RedirectError::Denied { error, description }) => {
            let shown = description.as_deref().unwrap_or(&error);
            let page = landing_page_response(&shared.app_name, LandingOutcome::Failure(shown));
            (
                page,
                Some(Err(LoginError::Redirect(RedirectError::Denied {
                    error,
                    description,
                }))),
            )
        }
        // Another login's redirect (or a forged one): not ours, keep waiting.
        Err(_) => (not_found_response(), None),
    }
}

enum Head {
    /// The bytes up to the blank line that ends the head.
    Complete(Vec<u8>),
    /// The head exceeded [`MAX_HEAD`].
    TooLarge,
    /// The client closed the connection before the head ended.
    Closed,
}

/// Reads until the blank line that ends the request head, within `deadline` overall
/// (a client trickling bytes cannot extend it).
fn read_head(stream: &mut TcpStream, deadline: Instant) -> io::Result<Head> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let remaining = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
        stream.set_read_timeout(Some(remaining))?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok(Head::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let search_from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&head[search_from..]) {
            head.truncate(search_from + end);
            return Ok(Head::Complete(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

/// The index just past the `\r\n\r\n` (or bare `\n\n`) that ends a head.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn respond(stream: &mut TcpStream, response: &[u8], deadline: Instant) -> io::Result<()> {
    let remaining = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_millis(1));
    stream.set_write_timeout(Some(remaining))?;
    stream.write_all(response)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            app_name: "App".into(),
            state: "s".into(),
            redirect_path: "/".into(),
            connection_deadline: CONNECTION_DEADLINE,
            stop: AtomicBool::new(false),
        }
    }

    fn status(response: &[u8]) -> String {
        let text = String::from_utf8_lossy(response);
        text.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nrest"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn answers() {
        let s = shared();
        let (page, outcome) = answer(b"GET /?code=c&state=s HTTP/1.1\r\n\r\n", &s);
        assert_eq!(status(&page), "HTTP/1.1 200 OK");
        assert!(matches!(outcome, Some(Ok(p)) if p.has_code()));

        let (page, outcome) = answer(b"GET /?code=c&state=other HTTP/1.1\r\n\r\n", &s);
        assert_eq!(status(&page), "HTTP/1.1 404 Not Found");
        assert!(outcome.is_none());

        let (page, outcome) = answer(b"\x16\x03\x01garbage", &s);
        assert_eq!(status(&page), "HTTP/1.1 400 Bad Request");
        assert!(outcome.is_none());

        let (page, outcome) = answer(
            b"GET /?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s HTTP/1.1\r\n\r\n",
            &s,
        );
        let text = String::from_utf8_lossy(&page);
        assert!(text.contains("Login failed") && text.contains("&lt;b&gt;no&lt;/b&gt;"));
        assert!(matches!(
            outcome,
            Some(Err(LoginError::Redirect(RedirectError::Denied { .. })))
        ));

        // Without a description, the error code is shown.
        let (page, _) = answer(b"GET /?error=access_denied&state=s HTTP/1.1\r\n\r\n", &s);
        assert!(String::from_utf8_lossy(&page).contains("access_denied"));
    }

    #[test]
    fn a_silent_client_is_dropped_at_its_deadline_and_others_are_served() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::channel();
        let server = Server::start(
            vec![listener],
            "App".into(),
            "s".into(),
            "/".into(),
            Duration::from_millis(100),
            tx,
        )
        .expect("start");
        let generous = Some(Duration::from_secs(30));
        let mut silent = TcpStream::connect(addr).expect("connect");
        silent.set_read_timeout(generous).expect("timeout");
        let mut trickle = TcpStream::connect(addr).expect("connect");
        trickle.set_read_timeout(generous).expect("timeout");
        trickle.write_all(b"GET /?code=c&st").expect("partial head");
        let mut buf = Vec::new();
        // Closed unanswered once the 100 ms deadline passes (not after 30 s).
        assert_eq!(silent.read_to_end(&mut buf).ok(), Some(0));
        assert_eq!(trickle.read_to_end(&mut buf).ok(), Some(0));
        assert!(rx.try_recv().is_err(), "nothing reported");

        let mut client = TcpStream::connect(addr).expect("connect");
        client.set_read_timeout(generous).expect("timeout");
        client
            .write_all(b"GET /?code=c&state=s HTTP/1.1\r\n\r\n")
            .expect("request");
        client.read_to_end(&mut buf).expect("response");
        assert!(String::from_utf8_lossy(&buf).contains("Login successful"));
        let outcome = rx.recv_timeout(Duration::from_secs(30)).expect("outcome");
        assert!(outcome.expect("login").has_code());
        server.stop();
    }

    #[test]
    fn stopping_closes_open_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, _rx) = mpsc::channel();
        let server = Server::start(
            vec![listener],
            "App".into(),
            "s".into(),
            "/".into(),
            CONNECTION_DEADLINE,
            tx,
        )
        .expect("start");
        let mut idle = TcpStream::connect(addr).expect("connect");
        idle.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        // A round trip on another connection proves the idle one was accepted.
        let mut probe = TcpStream::connect(addr).expect("connect");
        probe
            .write_all(b"GET /favicon.ico HTTP/1.1\r\n\r\n")
            .expect("probe");
        let mut buf = Vec::new();
        probe.read_to_end(&mut buf).expect("404");
        let started = Instant::now();
        server.stop();
        assert!(started.elapsed() < CONNECTION_DEADLINE);
        let read = idle.read_to_end(&mut buf);
        assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
        assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
    }

    #[test]
    fn canned_responses_declare_their_length() {
        for response in [BAD_REQUEST, HEAD_TOO_LARGE] {
            let text = std::str::from_utf8(response).expect("utf-8");
            let (head, body) = text.split_once("\r\n\r\n").expect("head");
            let declared: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .expect("length");
            assert_eq!(declared, body.len());
        }
    }
}
