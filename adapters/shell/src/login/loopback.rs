//! The loopback HTTP listener of the local-server login: accepts connections on
//! one or two sockets, reads each request head (bounded in size and time), lets the
//! core parse it and render the answer, and reports the login's result.
//!
//! Threads: one accept thread for every socket, and one short-lived thread per
//! connection, so connections are served concurrently (a browser may open idle
//! speculative connections, which must not delay the real request).
//!
//! The listening sockets are non-blocking and shared with whoever stops the server:
//! [`Closer::close`] (run by a cancelled login's [`CancelToken`](super::CancelToken)
//! hook, on any thread) drops them at once, so the port refuses connections as soon
//! as it returns; the accept thread polls them every [`ACCEPT_TICK`] and is woken
//! early by the close.
//!
//! Connections cannot starve the redirect: a connection that has not sent its whole
//! request head within the idle deadline is closed, and when [`MAX_CONNECTIONS`] are
//! open a new one makes room by closing the oldest that is still idle. Stopping the
//! server shuts down the connections still open and joins every thread.

use super::LoginError;
use globus_app_core::redirect::{
    IncomingRequest, LandingOutcome, LandingTemplate, RedirectError, RedirectParams,
    landing_page_response, not_found_response, parse_incoming,
};
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// The largest request head read; a redirect is well under 2 KiB.
const MAX_HEAD: usize = 8 * 1024;
/// How long a connection may take to send its request head, and then to take the
/// answer. A browser sends the redirect at once; an idle (speculative) connection is
/// closed after this, and the browser opens a new one if it needs it.
pub(super) const IDLE_DEADLINE: Duration = Duration::from_secs(2);
/// Connections served at once; past this, a new one closes the oldest idle one.
const MAX_CONNECTIONS: usize = 16;
/// How often the accept thread looks for new connections when none came (and so the
/// most a new connection waits to be accepted). It is woken early to stop.
const ACCEPT_TICK: Duration = Duration::from_millis(10);
/// Accept calls per listener in one round, so that a flood of connections cannot
/// keep the accept thread from checking whether to stop.
const ACCEPTS_PER_ROUND: usize = 256;
/// The core renders the 404 and the landing pages; it has no 400, so this one is here.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 12\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nBad Request\n";
const HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\nCache-Control: no-store\r\n\
Connection: close\r\n\r\nRequest Header Fields Too Large\n";

/// What the server reports to the waiting login.
pub(super) type Outcome = Result<RedirectParams, LoginError>;

/// The page the redirect gets: the built-in one (with the app's name), or the
/// user's template.
#[derive(Clone, Debug)]
pub(super) struct Landing {
    pub(super) app_name: String,
    pub(super) template: Option<Arc<LandingTemplate>>,
}

impl Landing {
    fn page(&self, outcome: LandingOutcome<'_>) -> Vec<u8> {
        match &self.template {
            Some(template) => template.response(outcome),
            None => landing_page_response(&self.app_name, outcome),
        }
    }
}

/// What every connection handler needs to know, and the listening sockets.
struct Shared {
    landing: Landing,
    state: String,
    redirect_path: String,
    idle_deadline: Duration,
    stop: AtomicBool,
    /// Non-blocking; emptied (so closed) when the server stops.
    listeners: Mutex<Vec<TcpListener>>,
}

impl Shared {
    fn listeners(&self) -> MutexGuard<'_, Vec<TcpListener>> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running server; [`Server::stop`] (or dropping it) ends every thread.
pub(super) struct Server {
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

/// Closes a server's listeners at once, from any thread (see [`Server::closer`]).
#[derive(Clone)]
pub(super) struct Closer {
    shared: Arc<Shared>,
    accept_thread: Thread,
}

impl Closer {
    /// Closes the listening sockets (the port refuses connections once this
    /// returns) and wakes the accept thread, which then closes the open
    /// connections and ends. Never blocks for longer than an accept call.
    pub(super) fn close(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.listeners().clear();
        self.accept_thread.unpark();
    }
}

impl Server {
    /// Starts serving `listeners`; the first outcome (the redirect with `state`, or a
    /// listener failure) goes to `outcomes`. A connection may stay idle for
    /// `idle_deadline`.
    pub(super) fn start(
        listeners: Vec<TcpListener>,
        landing: Landing,
        state: String,
        redirect_path: String,
        idle_deadline: Duration,
        outcomes: mpsc::Sender<Outcome>,
    ) -> io::Result<Server> {
        for listener in &listeners {
            listener.set_nonblocking(true)?;
        }
        let shared = Arc::new(Shared {
            landing,
            state,
            redirect_path,
            idle_deadline,
            stop: AtomicBool::new(false),
            listeners: Mutex::new(listeners),
        });
        let for_thread = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name("globus-login-accept".into())
            .spawn(move || accept_loop(&for_thread, &outcomes))?;
        Ok(Server {
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// Returns a handle that closes this server's listeners from another thread.
    pub(super) fn closer(&self) -> Option<Closer> {
        let accept_thread = self.accept_thread.as_ref()?.thread().clone();
        Some(Closer {
            shared: Arc::clone(&self.shared),
            accept_thread,
        })
    }

    /// Stops accepting, closes open connections and joins every thread.
    pub(super) fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(closer) = self.closer() {
            closer.close();
        }
        if let Some(handle) = self.accept_thread.take() {
            // Prompt: the accept thread never blocks but for one tick, which the
            // close cuts short, and its connections' threads wake when it shuts
            // their sockets down.
            let _ = handle.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn accept_loop(shared: &Arc<Shared>, outcomes: &mpsc::Sender<Outcome>) {
    let mut connections = Connections::default();
    // Ends when the server stops (the listeners are then gone) or a listener fails;
    // each round waits at most one tick.
    while !shared.stop.load(Ordering::SeqCst) {
        let accepted = match accept_ready(shared) {
            Ok(accepted) => accepted,
            Err(e) => {
                let _ = outcomes.send(Err(LoginError::Listener(e)));
                break;
            }
        };
        let quiet = accepted.is_empty();
        for stream in accepted {
            connections.admit(stream, shared, outcomes);
        }
        if quiet {
            connections.reap();
            std::thread::park_timeout(ACCEPT_TICK);
        }
    }
    connections.close_all();
}

/// Takes the connections waiting on every listener, without blocking. Returns none
/// once the listeners are closed.
fn accept_ready(shared: &Shared) -> io::Result<Vec<TcpStream>> {
    let listeners = shared.listeners();
    let mut accepted = Vec::new();
    for listener in listeners.iter() {
        for _ in 0..ACCEPTS_PER_ROUND {
            match listener.accept() {
                Ok((stream, _)) => accepted.push(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(accepted)
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Where a connection is: idle ones (no complete request head yet) may be closed
/// to make room for a new connection.
const IDLE: u8 = 0;
const ANSWERING: u8 = 1;
const EVICTED: u8 = 2;

/// One connection's thread, and a handle on its socket to shut it down.
struct Connection {
    phase: Arc<AtomicU8>,
    socket: TcpStream,
    thread: JoinHandle<()>,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Connections {
    open: Vec<Connection>,
}

impl Connections {
    /// Serves `stream` on a thread of its own, first closing the oldest idle
    /// connection if [`MAX_CONNECTIONS`] are open. When none of them is idle (all
    /// are being answered, which takes a moment), `stream` is closed unanswered.
    fn admit(&mut self, stream: TcpStream, shared: &Arc<Shared>, outcomes: &mpsc::Sender<Outcome>) {
        self.reap();
        if self.open.len() >= MAX_CONNECTIONS && !self.evict_oldest_idle() {
            return;
        }
        // Accepted sockets inherit non-blocking mode on some systems (BSDs, macOS).
        if stream.set_nonblocking(false).is_err() {
            return;
        }
        let Ok(socket) = stream.try_clone() else {
            return;
        };
        let phase = Arc::new(AtomicU8::new(IDLE));
        let for_thread = Arc::clone(&phase);
        let shared = Arc::clone(shared);
        let outcomes = outcomes.clone();
        let spawned = std::thread::Builder::new()
            .name("globus-login-conn".into())
            .spawn(move || handle_connection(stream, &shared, &outcomes, &for_thread));
        if let Ok(thread) = spawned {
            self.open.push(Connection {
                phase,
                socket,
                thread,
            });
        }
    }

    /// Forgets the connections whose thread ended.
    fn reap(&mut self) {
        let (ended, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|c| c.thread.is_finished());
        self.open = open;
        for connection in ended {
            let _ = connection.thread.join();
        }
    }

    /// Closes the oldest connection that has not sent a complete request head;
    /// returns false if there is none.
    fn evict_oldest_idle(&mut self) -> bool {
        let oldest = self.open.iter().position(|c| {
            c.phase
                .compare_exchange(IDLE, EVICTED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        let Some(oldest) = oldest else {
            return false;
        };
        let connection = self.open.remove(oldest);
        let _ = connection.socket.shutdown(Shutdown::Both);
        // Prompt: its thread was waiting to read, and the shutdown ends that read.
        let _ = connection.thread.join();
        true
    }

    /// Shuts every connection down and joins their threads.
    fn close_all(self) {
        for connection in &self.open {
            let _ = connection.socket.shutdown(Shutdown::Both);
        }
        for connection in self.open {
            let _ = connection.thread.join();
        }
    }
}

fn handle_connection(
    mut stream: TcpStream,
    shared: &Shared,
    outcomes: &mpsc::Sender<Outcome>,
    phase: &AtomicU8,
) {
    serve_one(&mut stream, shared, outcomes, phase);
    // The accept thread holds a clone of this socket (to close it when the server
    // stops), so dropping ours would not close the connection: shut it down.
    let _ = stream.shutdown(Shutdown::Both);
}

fn serve_one(
    stream: &mut TcpStream,
    shared: &Shared,
    outcomes: &mpsc::Sender<Outcome>,
    phase: &AtomicU8,
) {
    let head = match read_head(stream, Instant::now() + shared.idle_deadline) {
        Ok(Head::Complete(head)) => head,
        Ok(Head::TooLarge) => {
            let _ = respond(stream, HEAD_TOO_LARGE, shared.idle_deadline);
            return;
        }
        // A client that went away, stayed silent past the deadline, or was closed
        // to make room: no answer.
        Ok(Head::Closed) | Err(_) => return,
    };
    // No longer idle, so not closed to make room. If that just happened, the head
    // is still served: the answer cannot be sent, but a redirect's code arrived.
    let _ = phase.compare_exchange(IDLE, ANSWERING, Ordering::SeqCst, Ordering::SeqCst);
    let (response, outcome) = answer(&head, shared);
    // The outcome is reported even if the browser is gone before it reads the page:
    // the code arrived, and that is what the login needs.
    let _ = respond(stream, &response, shared.idle_deadline);
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
            shared.landing.page(LandingOutcome::Success),
            Some(Ok(params)),
        ),
        Err(RedirectError::Denied { error, description }) => {
            let shown = description.as_deref().unwrap_or(&error);
            let page = shared.landing.page(LandingOutcome::Failure(shown));
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

/// Sends `response` within `within`, then closes the sending side.
fn respond(stream: &mut TcpStream, response: &[u8], within: Duration) -> io::Result<()> {
    stream.set_write_timeout(Some(within))?;
    stream.write_all(response)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            landing: Landing {
                app_name: "App".into(),
                template: None,
            },
            state: "s".into(),
            redirect_path: "/".into(),
            idle_deadline: IDLE_DEADLINE,
            stop: AtomicBool::new(false),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// A server on an ephemeral 127.0.0.1 port, expecting `state` "s" at "/".
    fn serve(idle_deadline: Duration) -> (Server, std::net::SocketAddr, mpsc::Receiver<Outcome>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::channel();
        let server = Server::start(
            vec![listener],
            Landing {
                app_name: "App".into(),
                template: None,
            },
            "s".into(),
            "/".into(),
            idle_deadline,
            tx,
        )
        .expect("start");
        (server, addr, rx)
    }

    /// Sends `request` on a new connection and returns the whole answer.
    fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut client = TcpStream::connect(addr).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        client.write_all(request).expect("request");
        let mut buf = Vec::new();
        client.read_to_end(&mut buf).expect("response");
        String::from_utf8_lossy(&buf).into_owned()
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
        let (server, addr, rx) = serve(Duration::from_millis(100));
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
        let deadline = Duration::from_secs(30);
        let (server, addr, _rx) = serve(deadline);
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
        assert!(started.elapsed() < deadline);
        let read = idle.read_to_end(&mut buf);
        assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
        assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
    }

    #[test]
    fn the_closer_closes_the_listener_before_it_returns() {
        let (server, addr, rx) = serve(Duration::from_secs(30));
        assert!(exchange(addr, b"GET /favicon.ico HTTP/1.1\r\n\r\n").contains("404"));
        let closer = server.closer().expect("running");
        // From another thread, as a cancelled login's hook runs.
        std::thread::spawn(move || closer.close())
            .join()
            .expect("close");
        assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
        let started = Instant::now();
        server.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(rx.try_recv().is_err(), "nothing reported");
    }

    #[test]
    fn a_new_connection_closes_the_oldest_idle_one_when_full() {
        let (server, addr, rx) = serve(Duration::from_secs(30));
        let generous = Some(Duration::from_secs(30));
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_read_timeout(generous).expect("timeout");
                stream
            })
            .collect();
        // Served at once although every slot held an idle connection.
        let page = exchange(addr, b"GET /?code=c&state=s HTTP/1.1\r\n\r\n");
        assert!(page.contains("Login successful"), "{page}");
        let outcome = rx.recv_timeout(Duration::from_secs(30)).expect("outcome");
        assert!(outcome.expect("login").has_code());
        // The oldest idle connection made room: closed unanswered, long before its
        // own 30 s deadline.
        let mut oldest = idle.into_iter().next().expect("one");
        let mut rest = Vec::new();
        let read = oldest.read_to_end(&mut rest);
        assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
        server.stop();
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
