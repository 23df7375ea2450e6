//! Token entries the storage holds but cannot read (a field of the wrong type, text
//! that is not JSON): see [`TokenStorage::load_namespace`].
//!
//! Such an entry counts as missing for its resource server: the load passes the
//! others to the core, which logs in where tokens are missing, and the login's store
//! replaces the entry. Each is reported once, as a `tracing` warning (target
//! `globus_app`) that names the file and the resource server and shows no value; it
//! is reported again only if it was repaired and then damaged again.
//!
//! A logout removes the unreadable entries it covers (those of the required resource
//! servers, or every one with `sweep`). The core never sees them, so the shell does
//! it: the logout registers a [`LogoutCleanup`] before its operation runs, and the
//! next load that holds the app's turn (the logout's own load at the latest) removes
//! them and records what it removed for the logout's report.

use globus_app_core::app::{Error, LogoutReport};
use globus_app_storage::{StorageError, TokenStorage, UnreadableEntry};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The unreadable entries of one app: which were reported, and the logouts waiting
/// for theirs to be removed.
#[derive(Debug, Default)]
pub(crate) struct Unreadable {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The resource servers whose entry was unreadable at the last load and was
    /// reported.
    reported: BTreeSet<String>,
    /// Logouts whose unreadable entries a load is to remove.
    logouts: Vec<Arc<LogoutRequest>>,
}

/// What a logout asks to be removed, and what became of it.
#[derive(Debug)]
struct LogoutRequest {
    sweep: bool,
    required: BTreeSet<String>,
    /// `None` until a load handled it.
    outcome: Mutex<Option<Result<Vec<String>, Arc<StorageError>>>>,
}

impl LogoutRequest {
    fn covers(&self, resource_server: &str) -> bool {
        self.sweep || self.required.contains(resource_server)
    }

    fn outcome(&self) -> MutexGuard<'_, Option<Result<Vec<String>, Arc<StorageError>>>> {
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Unreadable {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns true if a logout waits for a load to remove its unreadable entries
    /// (so the next load must hold the app's turn, as a write does).
    pub(crate) fn cleanup_pending(&self) -> bool {
        let state = self.state();
        state.logouts.iter().any(|l| l.outcome().is_none())
    }

    /// Handles the unreadable entries a load found: removes those that pending
    /// logouts cover (only if `holds_turn`: the removal is a write), then reports
    /// the rest that were not reported yet.
    pub(crate) fn after_load(
        &self,
        storage: &dyn TokenStorage,
        namespace: &str,
        entries: Vec<UnreadableEntry>,
        holds_turn: bool,
    ) {
        let mut removed = BTreeSet::new();
        if holds_turn {
            let logouts: Vec<Arc<LogoutRequest>> = self.state().logouts.clone();
            for logout in logouts {
                let mut outcome = logout.outcome();
                if outcome.is_some() {
                    continue;
                }
                let mut done = Vec::new();
                let mut failed = None;
                for entry in entries.iter().filter(|e| logout.covers(&e.resource_server)) {
                    let rs = &entry.resource_server;
                    if !removed.contains(rs) {
                        if let Err(e) = storage.remove_token_data(namespace, rs) {
                            failed = Some(Arc::new(e));
                            break;
                        }
                        removed.insert(rs.clone());
                    }
                    done.push(rs.clone());
                }
                let done = match failed {
                    Some(e) => Err(e),
                    None => Ok(done),
                };
                *outcome = Some(done);
            }
        }
        let mut state = self.state();
        let mut still = BTreeSet::new();
        for entry in entries {
            if removed.contains(&entry.resource_server) {
                continue;
            }
            if !state.reported.contains(&entry.resource_server) {
                tracing::warn!(
                    target: "globus_app",
                    file = ?entry.path,
                    namespace = %entry.namespace,
                    resource_server = %entry.resource_server,
                    "{entry}"
                );
            }
            still.insert(entry.resource_server);
        }
        state.reported = still;
    }

    /// Registers a logout: the next load that holds the turn removes the unreadable
    /// entries of `required` (of every resource server with `sweep`).
    pub(crate) fn register_logout(
        self: &Arc<Self>,
        sweep: bool,
        required: BTreeSet<String>,
    ) -> LogoutCleanup {
        let request = Arc::new(LogoutRequest {
            sweep,
            required,
            outcome: Mutex::new(None),
        });
        self.state().logouts.push(Arc::clone(&request));
        LogoutCleanup {
            unreadable: Arc::clone(self),
            request,
        }
    }
}

/// A logout's request that its unreadable entries be removed (see the
/// [module documentation](self)); dropping it withdraws the request.
#[derive(Debug)]
#[must_use = "a logout's cleanup is finished with its report"]
pub struct LogoutCleanup {
    unreadable: Arc<Unreadable>,
    request: Arc<LogoutRequest>,
}

impl LogoutCleanup {
    /// Adds the unreadable entries that were removed to the logout's report.
    ///
    /// # Errors
    /// [`Error::Storage`] if removing one failed.
    pub fn finish(self, mut report: LogoutReport) -> Result<LogoutReport, Error> {
        let outcome = self.request.outcome().take();
        match outcome {
            Some(Ok(removed)) => {
                for rs in removed {
                    if !report.removed.contains(&rs) {
                        report.removed.push(rs);
                    }
                }
                Ok(report)
            }
            Some(Err(e)) => Err(Error::Storage(e)),
            None => Ok(report),
        }
    }
}

impl Drop for LogoutCleanup {
    fn drop(&mut self) {
        self.unreadable
            .state()
            .logouts
            .retain(|l| !Arc::ptr_eq(l, &self.request));
    }
}
