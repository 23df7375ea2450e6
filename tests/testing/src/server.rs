//! Sockets and threads: one acceptor thread per listener (Globus Auth's, and one per
//! stand-in resource server), one thread per connection, and a shutdown that never
//! hangs.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::endpoints::{self, Credentials};
use crate::faults::{self, Endpoint, ErrorStyle, Fault, FaultAction};
use crate::log::LoggedRequest;
use crate::resource_server;
use crate::state::State;
use crate::wire::{self, Request, Response, WireError};

/// Locks a mutex, ignoring poisoning (a panicking test thread must not take the server
/// down with it).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct Connections {
    next_id: u64,
    /// Every open connection's socket (shared with its thread), to shut it down at the
    /// end. Sharing one descriptor keeps the server at one file descriptor per
    /// connection.
    open: HashMap<u64, Arc<TcpStream>>,
    threads: Vec<JoinHandle<()>>,
}

/// What the acceptor, the connections and the [`crate::FakeAuth`] handle share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    stopping: AtomicBool,
    /// Paired with `wake` so that delays end at shutdown.
    stop_flag: Mutex<bool>,
    wake: Condvar,
    connections: Mutex<Connections>,
}

impl Shared {
    pub(crate) fn new(state: State) -> Self {
        Shared {
            state: Mutex::new(state),
            stopping: AtomicBool::new(false),
            stop_flag: Mutex::new(false),
            wake: Condvar::new(),
            connections: Mutex::new(Connections::default()),
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits for `duration`; `false` if the server began shutting down meanwhile.
    fn wait_unless_stopping(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut stopped = lock(&self.stop_flag);
        while !*stopped {
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        false
    }
}

/// What a listener serves.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// Globus Auth's endpoints.
    Auth,
    /// A stand-in resource server with this name (every path).
    ResourceServer(Arc<str>),
}

/// A running server's threads.
pub(crate) struct Server {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    /// Every listener's address and acceptor thread (Globus Auth's first).
    acceptors: Mutex<Vec<(SocketAddr, JoinHandle<()>)>>,
}

impl Server {
    /// Starts accepting Globus Auth requests on `listener`.
    pub(crate) fn start(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let server = Server {
            shared,
            addr,
            acceptors: Mutex::new(Vec::new()),
        };
        server.listen(listener, Role::Auth)?;
        Ok(server)
    }

    /// Starts accepting on one more listener, which serves `role`; stopped with the rest.
    pub(crate) fn listen(&self, listener: TcpListener, role: Role) -> std::io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let acceptor_shared = Arc::clone(&self.shared);
        let acceptor = thread::Builder::new()
            .name("fake-auth-accept".to_owned())
            .spawn(move || accept_loop(&listener, &acceptor_shared, &role))?;
        lock(&self.acceptors).push((addr, acceptor));
        Ok(addr)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and joins every thread.
    pub(crate) fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        *lock(&self.shared.stop_flag) = true;
        self.shared.wake.notify_all();
        let acceptors = std::mem::take(&mut *lock(&self.acceptors));
        for (addr, acceptor) in acceptors {
            // Unblock `accept` with a connection of our own. If even that fails, leave
            // the acceptor detached rather than hang: it exits on its next connection.
            if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
                let _ = acceptor.join();
            }
        }
        let (open, threads) = {
            let mut connections = lock(&self.shared.connections);
            (
                std::mem::take(&mut connections.open),
                std::mem::take(&mut connections.threads),
            )
        };
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(open);
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, role: &Role) {
    loop {
        let accepted = listener.accept();
        if shared.is_stopping() {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // e.g. out of file descriptors: back off briefly instead of spinning.
                thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stream = Arc::new(stream);
        let mut connections = lock(&shared.connections);
        connections.threads.retain(|t| !t.is_finished());
        let id = connections.next_id;
        connections.next_id += 1;
        connections.open.insert(id, Arc::clone(&stream));
        let conn_shared = Arc::clone(shared);
        let conn_role = role.clone();
        let spawned = thread::Builder::new()
            .name("fake-auth-conn".to_owned())
            .stack_size(256 * 1024)
            .spawn(move || {
                serve_connection(stream, &conn_shared, &conn_role);
                lock(&conn_shared.connections).open.remove(&id);
            });
        match spawned {
            Ok(handle) => connections.threads.push(handle),
            Err(_) => {
                // Could not get a thread: the stream was dropped with the closure.
                connections.open.remove(&id);
            }
        }
    }
}

/// Where a request went: the endpoint, and the stand-in resource server if it is one.
#[derive(Clone, Copy)]
struct Target<'a> {
    endpoint: Endpoint,
    resource_server: Option<&'a str>,
}

impl<'a> Target<'a> {
    fn of(role: &'a Role, request: &Request) -> Self {
        match role {
            Role::Auth => Target {
                endpoint: Endpoint::from_path(&request.path),
                resource_server: None,
            },
            Role::ResourceServer(name) => Target {
                endpoint: Endpoint::ResourceServer,
                resource_server: Some(name),
            },
        }
    }
}

impl Role {
    fn error_style(&self) -> ErrorStyle {
        match self {
            Role::Auth => ErrorStyle::Auth,
            Role::ResourceServer(_) => ErrorStyle::Service,
        }
    }
}

/// The log entry for a request (status and fault filled in by the caller).
fn log_entry(request: &Request, target: Target<'_>, now: u64) -> LoggedRequest {
    LoggedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        endpoint: target.endpoint,
        resource_server: target.resource_server.map(str::to_owned),
        query: request.query.clone(),
        form: endpoints::form_of(request),
        auth: Credentials::from_request(request).scheme(),
        status: None,
        fault: None,
        at: now,
    }
}

fn serve_connection(stream: Arc<TcpStream>, shared: &Shared, role: &Role) {
    let mut reader = BufReader::new(&*stream);
    let mut writer = &*stream;
    let style = role.error_style();
    loop {
        if shared.is_stopping() {
            return;
        }
        let request = match wire::read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(WireError::Io(_)) => return,
            Err(WireError::Malformed { status, reason }) => {
                let response = match style {
                    ErrorStyle::Auth => faults::api_error(status, "BAD_REQUEST", reason),
                    ErrorStyle::Service => {
                        faults::service_error(status, "BadRequest", reason, None)
                    }
                };
                let _ = response.write_to(&mut writer, false, None);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        let target = Target::of(role, &request);
        let fault = faults::take_fault(
            &mut lock(&shared.state).faults,
            target.endpoint,
            target.resource_server,
        );

        let (response, declared_length) = match fault {
            None => (handle(shared, &request, target, None), None),
            Some(Fault::Delay(duration)) => {
                if !shared.wait_unless_stopping(duration) {
                    record(shared, &request, target, None, Some(Fault::Delay(duration)));
                    return;
                }
                let fault = Some(Fault::Delay(duration));
                (handle(shared, &request, target, fault), None)
            }
            Some(fault) => match fault.action(style) {
                FaultAction::Drop => {
                    record(shared, &request, target, None, Some(fault));
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                FaultAction::Respond {
                    response,
                    declared_length,
                } => {
                    record(shared, &request, target, Some(response.status), Some(fault));
                    (response, declared_length)
                }
            },
        };
        let mut response = response;
        // outside the state lock: RSA is slow in debug builds
        response.sign_id_token();
        if request.method == "HEAD" {
            response.body.clear();
        }
        let keep_alive = request.keep_alive && declared_length.is_none();
        if response
            .write_to(&mut writer, keep_alive, declared_length)
            .is_err()
            || !keep_alive
        {
            let _ = writer.flush();
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Handles a request under the state lock and logs it in the same critical section, so
/// the log order is the processing order.
fn handle(
    shared: &Shared,
    request: &Request,
    target: Target<'_>,
    fault: Option<Fault>,
) -> Response {
    let mut state = lock(&shared.state);
    let response = match target.resource_server {
        None => endpoints::handle(&mut state, request, target.endpoint),
        Some(name) => resource_server::handle(&mut state, request, name),
    };
    let mut entry = log_entry(request, target, state.now);
    entry.status = Some(response.status);
    entry.fault = fault;
    state.log.push(entry);
    response
}

fn record(
    shared: &Shared,
    request: &Request,
    target: Target<'_>,
    status: Option<u16>,
    fault: Option<Fault>,
) {
    let mut state = lock(&shared.state);
    let mut entry = log_entry(request, target, state.now);
    entry.status = status;
    entry.fault = fault;
    state.log.push(entry);
}
