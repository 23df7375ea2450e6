//! Sockets and threads: one acceptor thread, one thread per connection, and a shutdown
//! that never hangs.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::endpoints::{self, Credentials};
use crate::faults::{self, Endpoint, Fault, FaultAction};
use crate::log::LoggedRequest;
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

/// A running server's threads.
pub(crate) struct Server {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts accepting on `listener`.
    pub(crate) fn start(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let acceptor_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("fake-auth-accept".to_owned())
            .spawn(move || accept_loop(&listener, &acceptor_shared))?;
        Ok(Server {
            shared,
            addr,
            acceptor: Some(acceptor),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and joins every thread.
    pub(crate) fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        *lock(&self.shared.stop_flag) = true;
        self.shared.wake.notify_all();
        if let Some(acceptor) = self.acceptor.take() {
            // Unblock `accept` with a connection of our own. If even that fails, leave
            // the acceptor detached rather than hang: it exits on its next connection.
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok() {
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

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
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
        let spawned = thread::Builder::new()
            .name("fake-auth-conn".to_owned())
            .stack_size(256 * 1024)
            .spawn(move || {
                serve_connection(stream, &conn_shared);
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

/// The log entry for a request (status and fault filled in by the caller).
fn log_entry(request: &Request, endpoint: Endpoint, now: u64) -> LoggedRequest {
    LoggedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        endpoint,
        query: request.query.clone(),
        form: endpoints::form_of(request),
        auth: Credentials::from_request(request).scheme(),
        status: None,
        fault: None,
        at: now,
    }
}

fn serve_connection(stream: Arc<TcpStream>, shared: &Shared) {
    let mut reader = BufReader::new(&*stream);
    let mut writer = &*stream;
    loop {
        if shared.is_stopping() {
            return;
        }
        let request = match wire::read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(WireError::Io(_)) => return,
            Err(WireError::Malformed { status, reason }) => {
                let response = faults::api_error(status, "BAD_REQUEST", reason);
                let _ = response.write_to(&mut writer, false, None);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        let endpoint = Endpoint::from_path(&request.path);
        let fault = faults::take_fault(&mut lock(&shared.state).faults, endpoint);

        let (response, declared_length) = match fault {
            None => (handle(shared, &request, endpoint, None), None),
            Some(Fault::Delay(duration)) => {
                if !shared.wait_unless_stopping(duration) {
                    record(
                        shared,
                        &request,
                        endpoint,
                        None,
                        Some(Fault::Delay(duration)),
                    );
                    return;
                }
                let fault = Some(Fault::Delay(duration));
                (handle(shared, &request, endpoint, fault), None)
            }
            Some(fault) => match fault.action() {
                FaultAction::Drop => {
                    record(shared, &request, endpoint, None, Some(fault));
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                FaultAction::Respond {
                    response,
                    declared_length,
                } => {
                    record(
                        shared,
                        &request,
                        endpoint,
                        Some(response.status),
                        Some(fault),
                    );
                    (response, declared_length)
                }
            },
        };
        let mut response = response;
        // outside the state lock: RSA is slow in debug builds
        response.sign_id_token();
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
    endpoint: Endpoint,
    fault: Option<Fault>,
) -> Response {
    let mut state = lock(&shared.state);
    let response = endpoints::handle(&mut state, request, endpoint);
    let mut entry = log_entry(request, endpoint, state.now);
    entry.status = Some(response.status);
    entry.fault = fault;
    state.log.push(entry);
    response
}

fn record(
    shared: &Shared,
    request: &Request,
    endpoint: Endpoint,
    status: Option<u16>,
    fault: Option<Fault>,
) {
    let mut state = lock(&shared.state);
    let mut entry = log_entry(request, endpoint, state.now);
    entry.status = status;
    entry.fault = fault;
    state.log.push(entry);
}
