//! `UserApp` and `ClientApp` for tokio, and the one driver loop behind them.

use crate::transport::HttpClient;
use globus_app_core::HttpRequest;
use globus_app_core::app::{Error, Input, Operation, OperationOutput, RequestInput, Ticket};
use globus_app_shell::AppCore;
use globus_app_shell::app::{blocking_task_failed, unknown_action};
use globus_app_shell::io::Action;
use std::sync::Arc;

/// The state and I/O of one app, shared by its clones.
#[derive(Debug)]
struct Shared {
    /// The state, storage, login flow and clock (the hot path lives there).
    core: AppCore,
    /// Held for a whole operation: one refresh or login at a time, so tasks that
    /// need the same renewal wait for it instead of repeating it. An owned guard,
    /// so that a storage write moved to a blocking thread can keep it.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Woken whenever an operation ends, so that waiting tasks check at once
    /// whether it settled their request instead of taking the lock one by one.
    finished: Arc<tokio::sync::Notify>,
    http: HttpClient,
}

/// The single-flight guard; dropping it (wherever it went, even to a blocking
/// thread with a storage write, or with a cancelled caller) wakes the waiters.
struct Turn {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    finished: Arc<tokio::sync::Notify>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.finished.notify_waiters();
    }
}

impl Shared {
    fn new(core: AppCore) -> Result<Shared, Error> {
        Ok(Shared {
            http: HttpClient::new(core.http_timeout())?,
            turn: Arc::new(tokio::sync::Mutex::new(())),
            finished: Arc::new(tokio::sync::Notify::new()),
            core,
        })
    }

    /// Sends an authorized request to a service (without the turn: requests to
    /// services never wait for one another).
    async fn send_request(&self, request: HttpRequest) -> RequestInput {
        self.http.send_service(request).await
    }

    /// Waits before a request's next attempt.
    #[allow(clippy::unused_self)] // the signature every adapter's `Shared` has
    async fn pause(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }

    /// Runs one operation to its end: the driver loop.
    async fn run<T: OperationOutput>(
        &self,
        make: impl FnOnce(Ticket) -> Operation<T>,
    ) -> Result<T, Error> {
        let operation = make(self.core.ticket());
        let turn = loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            // Listen before trying the lock, so an end in between is not missed.
            finished.as_mut().enable();
            if let Ok(guard) = Arc::clone(&self.turn).try_lock_owned() {
                break guard;
            }
            finished.await;
            if let Some(result) = self.core.settled(&operation) {
                return result;
            }
        };
        let turn = Turn {
            guard: Some(turn),
            finished: Arc::clone(&self.finished),
        };
        let mut run = self.core.start(operation, turn);
        let mut input = Input::Start;
        loop {
            input = match run.next(input) {
                Action::Send(request) => self.http.send(request).await,
                Action::Sleep(duration) => {
                    tokio::time::sleep(duration).await;
                    Input::Woke
                }
                Action::Local(action) if action.is_quick() => run.perform(action),
                Action::Local(action) => {
                    let job = run.offload(action);
                    match tokio::task::spawn_blocking(move || job.run()).await {
                        Ok(done) => run.restore(done),
                        Err(_) => return Err(blocking_task_failed()),
                    }
                }
                Action::Done(result) => return result,
                _ => return Err(unknown_action()),
            };
        }
    }
}

globus_app_shell::define_app! {
    /// An app that acts as a person: tokens come from an interactive login.
    ///
    /// Cheap to clone, `Send + Sync`, and its futures are `Send`: clones share tokens,
    /// and many tasks asking for the same expiring token cause one refresh. Storage
    /// and login I/O (files, SQLite, the terminal, the browser, the loopback listener)
    /// run on tokio's blocking pool, never on an executor thread.
    ///
    /// ```no_run
    /// use globus_app_tokio::{AppConfig, OAuthClient, ScopeRequirements, UserApp};
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut requirements = ScopeRequirements::new();
    /// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
    /// let app = UserApp::new(
    ///     "My Service",
    ///     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
    ///     requirements,
    ///     AppConfig::default(),
    /// )?;
    /// // Logs in if needed; then served from memory until the token needs renewal.
    /// let header = app.authorization_header("transfer.api.globus.org").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub struct UserApp: async;
}

globus_app_shell::define_app! {
    /// An app that acts as a service account: tokens come from the client-credentials
    /// grant of a confidential client.
    ///
    /// ```no_run
    /// use globus_app_tokio::{AppConfig, ClientApp, OAuthClient, ScopeRequirements};
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut requirements = ScopeRequirements::new();
    /// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
    /// let app = ClientApp::new(
    ///     "My Service",
    ///     OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
    ///     requirements,
    ///     AppConfig::default(),
    /// )?;
    /// let header = app.authorization_header("transfer.api.globus.org").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub struct ClientApp: async;
}

globus_app_shell::define_service_client!(async);
