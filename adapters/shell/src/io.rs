//! The blocking I/O of an operation's steps, shared by every adapter: storage,
//! login flow and logging. Only sending HTTP requests and sleeping differ between
//! runtimes.

use crate::assemble::{IoParts, storage_error};
use crate::login::{CancelToken, LoginContext, PendingLogin};
use crate::system::login_random;
use globus_app_core::HttpRequest;
use globus_app_core::TokenData;
use globus_app_core::app::{Error, Input, Notice, Step};
use globus_app_storage::{Fence, LeaseOutcome, StorageError};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A step, sorted by who performs it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action<T> {
    /// Send with the runtime's HTTP client.
    Send(HttpRequest),
    /// Sleep with the runtime's timer.
    Sleep(Duration),
    /// Blocking local I/O: perform with [`LocalIo::perform`] (on a blocking thread
    /// in an async runtime).
    Local(LocalAction),
    /// The operation is over.
    Done(Result<T, Error>),
}

/// A step of local, blocking I/O.
#[derive(Debug)]
pub struct LocalAction(Local);

#[derive(Debug)]
enum Local {
    Load,
    Store(Vec<TokenData>),
    StoreFenced(Vec<TokenData>, u64),
    Remove(String),
    Lease,
    Release,
    PrepareLogin,
    Authorize { url: Url, state: String },
    Notice(Notice),
}

impl<T> Action<T> {
    /// Sorts a step.
    pub fn from_step(step: Step<T>) -> Action<T> {
        match step {
            Step::Send(request) => Action::Send(request),
            Step::Sleep(duration) => Action::Sleep(duration),
            Step::Done(result) => Action::Done(result),
            Step::Load => Action::Local(LocalAction(Local::Load)),
            Step::Store(tokens) => Action::Local(LocalAction(Local::Store(tokens))),
            Step::Remove(rs) => Action::Local(LocalAction(Local::Remove(rs))),
            Step::StoreFenced { tokens, fence } => {
                Action::Local(LocalAction(Local::StoreFenced(tokens, fence)))
            }
            Step::Lease => Action::Local(LocalAction(Local::Lease)),
            Step::Release => Action::Local(LocalAction(Local::Release)),
            Step::PrepareLogin => Action::Local(LocalAction(Local::PrepareLogin)),
            Step::Authorize { url, state } => {
                Action::Local(LocalAction(Local::Authorize { url, state }))
            }
            Step::Notice(notice) => Action::Local(LocalAction(Local::Notice(notice))),
            _ => Action::Done(Err(Error::Internal(
                "a step this adapter does not know".into(),
            ))),
        }
    }
}

impl LocalAction {
    /// Returns true if this is cheap enough to run on an async executor's thread
    /// (logging), false for storage and login I/O.
    pub fn is_quick(&self) -> bool {
        matches!(self.0, Local::Notice(_))
    }

    /// Returns true if this writes to the token storage (a store or a removal).
    pub fn writes_storage(&self) -> bool {
        matches!(
            self.0,
            Local::Store(_) | Local::StoreFenced(..) | Local::Remove(_) | Local::Release
        )
    }

    /// Returns the storage step this is, if it is one (for logs).
    pub fn storage_step(&self) -> Option<&'static str> {
        Some(match self.0 {
            Local::Load => "load",
            Local::Store(_) | Local::StoreFenced(..) => "store",
            Local::Remove(_) => "remove",
            Local::Lease => "lease",
            Local::Release => "release",
            _ => return None,
        })
    }

    /// Returns true if this waits for the user (the login flow's wait for the
    /// redirect or the pasted code), which a cancel can end.
    pub fn waits_for_user(&self) -> bool {
        matches!(self.0, Local::Authorize { .. })
    }
}

/// Performs the local steps of one operation. Holds the prepared login between
/// [`Step::PrepareLogin`] and [`Step::Authorize`].
#[derive(Debug)]
pub struct LocalIo {
    parts: Arc<IoParts>,
    pending: Option<PendingDebug>,
}

struct PendingDebug(Box<dyn PendingLogin>);

impl std::fmt::Debug for PendingDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogin")
    }
}

impl LocalIo {
    pub(crate) fn new(parts: Arc<IoParts>) -> Self {
        LocalIo {
            parts,
            pending: None,
        }
    }

    /// Performs a local step and returns its result for the operation.
    pub fn perform(&mut self, action: LocalAction) -> Input {
        self.perform_with_cancel(action, None)
    }

    /// Performs a local step; a wait for the user ends early (as a failed login)
    /// once `cancel` is cancelled.
    pub fn perform_with_cancel(
        &mut self,
        action: LocalAction,
        cancel: Option<&CancelToken>,
    ) -> Input {
        let parts = &self.parts;
        let namespace = parts.namespace.as_str();
        match action.0 {
            Local::Load => match parts.storage.load_namespace(namespace) {
                Ok(loaded) if loaded.unreadable.is_empty() => Input::Loaded(loaded.tokens),
                Ok(loaded) => Input::LoadedPartly {
                    tokens: loaded.tokens,
                    unreadable: parts.unreadable.after_load(loaded.unreadable),
                },
                Err(e) => Input::StorageFailed(Arc::new(e)),
            },
            Local::Store(tokens) => match parts.storage.store_token_data(namespace, &tokens) {
                Ok(()) => Input::Stored,
                Err(e) => Input::StorageFailed(Arc::new(e)),
            },
            Local::StoreFenced(tokens, fence) => match parts.storage.leases() {
                Some(leases) => {
                    match leases.store_token_data_fenced(namespace, &tokens, Fence(fence)) {
                        Ok(()) => Input::Stored,
                        Err(StorageError::Fenced { .. }) => Input::Fenced,
                        Err(e) => Input::StorageFailed(Arc::new(e)),
                    }
                }
                None => Input::StorageFailed(Arc::new(NoLeases)),
            },
            Local::Lease => match (parts.storage.leases(), &parts.lease) {
                (Some(leases), Some(lease)) => {
                    match leases.acquire_lease(namespace, &lease.owner, lease.ttl) {
                        Ok(LeaseOutcome::Acquired(fence)) => {
                            Input::LeaseAcquired { fence: fence.0 }
                        }
                        Ok(LeaseOutcome::Busy { remaining }) => Input::LeaseBusy { remaining },
                        Ok(_) => Input::StorageFailed(Arc::new(NoLeases)),
                        Err(e) => Input::StorageFailed(Arc::new(e)),
                    }
                }
                _ => Input::StorageFailed(Arc::new(NoLeases)),
            },
            Local::Release => match (parts.storage.leases(), &parts.lease) {
                (Some(leases), Some(lease)) => {
                    match leases.release_lease(namespace, &lease.owner) {
                        Ok(()) => Input::Released,
                        Err(e) => Input::StorageFailed(Arc::new(e)),
                    }
                }
                _ => Input::Released,
            },
            Local::Remove(rs) => match parts.storage.remove_token_data(namespace, &rs) {
                Ok(_) => Input::Removed,
                Err(e) => Input::StorageFailed(Arc::new(e)),
            },
            Local::PrepareLogin => {
                let Some(flow) = &parts.login else {
                    return Input::LoginFailed(Arc::new(NoLoginFlow));
                };
                let ctx = LoginContext::new(
                    &parts.app_name,
                    parts.client_is_native,
                    &parts.default_redirect_uri,
                )
                .with_configured_redirect_uri(parts.configured_redirect_uri.as_deref());
                let pending = match flow.prepare(&ctx) {
                    Ok(pending) => pending,
                    Err(e) => return Input::LoginFailed(Arc::new(e)),
                };
                let random = match login_random() {
                    Ok(random) => random,
                    Err(e) => return Input::LoginFailed(Arc::new(RandomFailed(e))),
                };
                let redirect_uri = pending.redirect_uri().to_owned();
                self.pending = Some(PendingDebug(pending));
                Input::LoginPrepared {
                    redirect_uri,
                    random,
                }
            }
            Local::Authorize { url, state } => match self.pending.take() {
                Some(PendingDebug(pending)) => {
                    let waited = match cancel {
                        Some(cancel) => pending.wait_for_redirect_with_cancel(&url, &state, cancel),
                        None => pending.wait_for_redirect(&url, &state),
                    };
                    match waited {
                        Ok(params) => Input::Redirect(params),
                        Err(e) => Input::LoginFailed(Arc::new(e)),
                    }
                }
                None => Input::LoginFailed(Arc::new(NoLoginFlow)),
            },
            Local::Notice(notice) => {
                crate::log::notice(&notice);
                Input::Continue
            }
        }
    }
}

/// Wraps a storage error (for adapters closing storages).
pub fn wrap_storage_error(error: globus_app_storage::StorageError) -> Error {
    storage_error(error)
}

#[derive(Debug, thiserror::Error)]
#[error("this app has no login flow (a ClientApp logs in with its client credentials)")]
struct NoLoginFlow;

#[derive(Debug, thiserror::Error)]
#[error("the token storage keeps no leases")]
struct NoLeases;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed: {0}")]
struct RandomFailed(getrandom::Error);
