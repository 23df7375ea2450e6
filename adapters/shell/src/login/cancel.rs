//! Cancelling a login that waits for the user.
//!
//! An async app runs a login's wait on its runtime's blocking pool, where dropping
//! the app's future cannot reach it. The driver gives the wait a [`CancelToken`]
//! and keeps a [`CancelOnDrop`] guard of it in the future: dropping the future
//! cancels the token, and the flow stops waiting (the local server closes its
//! listener before the drop returns; the terminal stops reading standard input).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A hook run when a token is cancelled.
type Hook = Box<dyn FnOnce() + Send>;

/// A signal that a login waiting for the user is no longer wanted: its caller gave
/// up (an async app's future was dropped), or the program did.
///
/// Cheap to clone; clones share the signal. [`cancel`](Self::cancel) sets it for
/// good and runs, on the cancelling thread, the hooks registered with
/// [`on_cancel`](Self::on_cancel), so that a flow can release what it holds (close
/// a socket, wake a wait) before `cancel` returns. A flow that waits in steps can
/// instead check [`is_cancelled`](Self::is_cancelled) between them.
///
/// ```
/// use globus_app_shell::login::CancelToken;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let token = CancelToken::new();
/// let closed = Arc::new(AtomicBool::new(false));
/// let hook = {
///     let closed = Arc::clone(&closed);
///     token.on_cancel(move || closed.store(true, Ordering::SeqCst))
/// };
/// let guard = token.cancel_on_drop();
/// drop(guard); // e.g. the future holding it was dropped
/// assert!(token.is_cancelled());
/// assert!(closed.load(Ordering::SeqCst), "the hook ran before the drop returned");
/// # drop(hook);
/// ```
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    hooks: Mutex<Hooks>,
}

#[derive(Default)]
struct Hooks {
    next_id: u64,
    waiting: Vec<(u64, Hook)>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    fn hooks(&self) -> MutexGuard<'_, Hooks> {
        // A hook never runs under this lock, so a panicking hook cannot poison it;
        // the data stays consistent either way.
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels: sets the signal, then runs the registered hooks on this thread (each
    /// once). Cancelling again does nothing.
    pub fn cancel(&self) {
        let hooks = {
            let mut hooks = self.hooks();
            self.inner.cancelled.store(true, Ordering::SeqCst);
            std::mem::take(&mut hooks.waiting)
        };
        for (_, hook) in hooks {
            hook();
        }
    }

    /// Returns true once [`cancel`](Self::cancel) was called on this token or a clone.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Runs `hook` when the token is cancelled, on the cancelling thread, or at once
    /// on this thread if it already is. The hook is forgotten when the returned
    /// registration is dropped (when the wait it serves ended), so a token that
    /// lives long does not gather hooks.
    ///
    /// A hook should be quick and must not block: it may run in the drop of an
    /// async caller's future, on an executor thread.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) -> CancelHook {
        let mut hooks = self.hooks();
        // Checked under the lock that `cancel` sets the flag under: a hook is
        // either run by `cancel` or here, never lost between the two.
        if self.is_cancelled() {
            drop(hooks);
            hook();
            return CancelHook { token: None, id: 0 };
        }
        let id = hooks.next_id;
        hooks.next_id += 1;
        hooks.waiting.push((id, Box::new(hook)));
        CancelHook {
            token: Some(self.clone()),
            id,
        }
    }

    /// Returns a guard that cancels this token when it is dropped, unless
    /// [disarmed](CancelOnDrop::disarm) first: an async driver keeps it in its
    /// future while the wait runs elsewhere.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop {
            token: Some(self.clone()),
        }
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// A hook registered with [`CancelToken::on_cancel`]; dropping this forgets it (it
/// no longer runs on a later cancel).
#[derive(Debug)]
#[must_use = "the hook is forgotten when this is dropped"]
pub struct CancelHook {
    /// `None` when the hook already ran.
    token: Option<CancelToken>,
    id: u64,
}

impl Drop for CancelHook {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            let removed = {
                let mut hooks = token.hooks();
                let at = hooks.waiting.iter().position(|(id, _)| *id == self.id);
                at.map(|at| hooks.waiting.swap_remove(at))
            };
            // Dropped outside the lock: a hook's captures may do anything on drop.
            drop(removed);
        }
    }
}

/// Cancels its [`CancelToken`] when dropped, unless disarmed (see
/// [`CancelToken::cancel_on_drop`]).
#[derive(Debug)]
#[must_use = "the token is cancelled as soon as this is dropped"]
pub struct CancelOnDrop {
    token: Option<CancelToken>,
}

impl CancelOnDrop {
    /// Drops the guard without cancelling (the wait ended and its result was taken).
    pub fn disarm(mut self) {
        self.token = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counter() -> (Arc<AtomicUsize>, impl FnOnce() + Send + 'static) {
        let count = Arc::new(AtomicUsize::new(0));
        let hook = {
            let count = Arc::clone(&count);
            move || {
                count.fetch_add(1, Ordering::SeqCst);
            }
        };
        (count, hook)
    }

    #[test]
    fn hooks_run_once_on_cancel() {
        let token = CancelToken::new();
        let (count, hook) = counter();
        let _registered = token.on_cancel(hook);
        assert!(!token.is_cancelled());
        token.clone().cancel();
        token.cancel();
        assert!(token.is_cancelled());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_hook_registered_after_the_cancel_runs_at_once() {
        let token = CancelToken::new();
        token.cancel();
        let (count, hook) = counter();
        let _registered = token.on_cancel(hook);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_dropped_registration_is_forgotten() {
        let token = CancelToken::new();
        let (count, hook) = counter();
        drop(token.on_cancel(hook));
        let (kept, other) = counter();
        let _registered = token.on_cancel(other);
        token.cancel();
        assert_eq!(count.load(Ordering::SeqCst), 0);
        assert_eq!(kept.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_guard_cancels_unless_disarmed() {
        let token = CancelToken::new();
        token.cancel_on_drop().disarm();
        assert!(!token.is_cancelled());
        drop(token.cancel_on_drop());
        assert!(token.is_cancelled());
        assert!(format!("{token:?}").contains("cancelled: true"));
    }
}
