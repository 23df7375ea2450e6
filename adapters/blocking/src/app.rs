//! `UserApp` and `ClientApp` for blocking code, and the one driver loop behind them.

use crate::transport::HttpClient;
use globus_app_core::HttpRequest;
use globus_app_core::app::{Error, Input, Operation, OperationOutput, RequestInput, Ticket};
use globus_app_shell::AppCore;
use globus_app_shell::app::unknown_action;
use globus_app_shell::io::Action;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The state and I/O of one app, shared by its clones.
#[derive(Debug)]
struct Shared {
    /// The state, storage, login flow and clock (the hot path lives there).
    core: AppCore,
    /// Held for a whole operation: one refresh or login at a time, so callers
    /// that need the same renewal wait for it instead of repeating it.
    turn: Mutex<()>,
    http: HttpClient,
}

impl Shared {
    #[allow(clippy::unnecessary_wraps)] // the signature every adapter's `Shared` has
    fn new(core: AppCore) -> Result<Shared, Error> {
        Ok(Shared {
            http: HttpClient::new(core.http_timeout()),
            turn: Mutex::new(()),
            core,
        })
    }

    /// Sends an authorized request to a service (without the turn: requests to
    /// services never wait for one another).
    fn send_request(&self, request: HttpRequest) -> RequestInput {
        self.http.send_service(request)
    }

    /// Waits before a request's next attempt.
    #[allow(clippy::unused_self)] // the signature every adapter's `Shared` has
    fn pause(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    /// Runs one operation to its end: the driver loop.
    fn run<T: OperationOutput>(
        &self,
        make: impl FnOnce(Ticket) -> Operation<T>,
    ) -> Result<T, Error> {
        let operation = make(self.core.ticket());
        let turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut run = self.core.start(operation, turn);
        let mut input = Input::Start;
        loop {
            input = match run.next(input) {
                Action::Send(request) => self.http.send(request),
                Action::Sleep(duration) => {
                    std::thread::sleep(duration);
                    Input::Woke
                }
                Action::Local(action) => run.perform(action),
                Action::Done(result) => return result,
                _ => return Err(unknown_action()),
            };
        }
    }
}

globus_app_shell::define_app! {
    /// An app that acts as a person: tokens come from an interactive login.
    ///
    /// Cheap to clone and safe to share between threads: clones share tokens, and
    /// many threads asking for the same expiring token cause one refresh.
    ///
    /// ```no_run
    /// use globus_app_blocking::{AppConfig, OAuthClient, ScopeRequirements, UserApp};
    /// let mut requirements = ScopeRequirements::new();
    /// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
    /// let app = UserApp::new(
    ///     "My Script",
    ///     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"),
    ///     requirements,
    ///     AppConfig::default(),
    /// )?;
    /// let header = app.authorization_header("transfer.api.globus.org")?; // logs in if needed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct UserApp: blocking;
}

globus_app_shell::define_app! {
    /// An app that acts as a service account: tokens come from the client-credentials
    /// grant of a confidential client.
    ///
    /// ```no_run
    /// use globus_app_blocking::{AppConfig, ClientApp, OAuthClient, ScopeRequirements};
    /// let mut requirements = ScopeRequirements::new();
    /// requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
    /// let app = ClientApp::new(
    ///     "My Service",
    ///     OAuthClient::confidential("CLIENT_ID", "CLIENT_SECRET"),
    ///     requirements,
    ///     AppConfig::default(),
    /// )?;
    /// let header = app.authorization_header("transfer.api.globus.org")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct ClientApp: blocking;
}

globus_app_shell::define_service_client!(blocking);
