//! The request budget of an operation: a ceiling on what it may emit, derived from
//! its goal, so that no input can make it loop.
//!
//! # The ceilings
//! `A` is [`RetryPolicy::max_attempts`](super::RetryPolicy::max_attempts): every
//! request below may be tried `A` times. Each resource server is renewed at most
//! once per operation, and a login runs at most once.
//!
//! | goal | HTTP requests | storage steps |
//! |---|---|---|
//! | authorization, user app | 5 × A: renewing the auth token before a consents lookup, the lookup, renewing the resource server, the login's code exchange, the lookup after it | 4: load, two renewals, the login |
//! | authorization, client app | 2 × A: renewing the resource server, the client-credentials login | 3: load, the renewal, the login |
//! | login-required check (`N` required resource servers) | (N + 1) × A: a renewal each, a consents lookup (user apps) | 1 + N |
//! | login if required | (N + 2) × A: as the check, and the login | 2 + N |
//! | forced login | 1 × A: the code exchange or client-credentials grant | 2: load, store |
//! | logout (`T` stored resource servers it covers, `U` unreadable entries it covers) | 2 × T × A: both revocations of each | 1 + T + U: load, a removal each |
//!
//! | an authorized request ([`AuthorizedRequest`](super::AuthorizedRequest)) | R + 1 sends of the request itself, `R` being [`RequestRetry::max_retries`](super::RequestRetry::max_retries) (a resend after a renewal or a login is one of them); besides, at most one authorization, one renewal after a 401, one login for a GARE and one authorization after it, each an operation with its own ceiling above | none of its own |
//! | renewal after a 401 ([`Operation::reauthorize`](super::Operation::reauthorize)) | as an authorization | as an authorization |
//!
//!
//! With a storage that keeps leases, each request of a row may also take the lease
//! (and ask again while it is busy, at most [`LeaseSettings::max_wait`](super::LeaseSettings::max_wait)
//! / `poll` + 1 times), read storage again, extend the lease before each retry and
//! release it: `3 + A + polls` storage steps more per request.
//!
//! Past a ceiling the operation ends with
//! [`Error::BudgetExceeded`](super::Error::BudgetExceeded). Reaching it takes a bug:
//! the legitimate paths above stay within it, and the model-based tests in
//! `core/tests/engine_model.rs` check that on random inputs.

use super::operation::Goal;
use super::settings::AppKind;
use super::state::AppState;
use std::fmt;

/// What an operation's budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BudgetItem {
    /// HTTP requests, retries included.
    Requests,
    /// Storage steps (load, store, remove).
    StorageSteps,
}

impl fmt::Display for BudgetItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BudgetItem::Requests => "HTTP requests",
            BudgetItem::StorageSteps => "storage steps",
        })
    }
}

/// How many requests and storage steps an operation may emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    pub(crate) requests: u32,
    pub(crate) storage_steps: u32,
}

impl Budget {
    /// Before storage is read, an operation may only read it.
    pub(crate) const BEFORE_LOAD: Budget = Budget {
        requests: 0,
        storage_steps: 1,
    };

    /// The ceiling of a goal, once storage was read (see the module docs).
    pub(super) fn for_goal(goal: &Goal, state: &AppState, unreadable: &[String]) -> Budget {
        let attempts = state.settings.retry.max_attempts.max(1);
        let user = state.settings.kind == AppKind::User;
        let lookups = u32::from(user);
        let required = count(state.requirements.resource_servers().count());
        let (requests, storage_steps) = match goal {
            Goal::Authorize { .. } if user => (5, 4),
            Goal::Authorize { .. } => (2, 3),
            Goal::Check {
                then_login: None, ..
            } => (required + lookups, 1 + required),
            Goal::Check {
                then_login: Some(_),
                ..
            } => (required + lookups + 1, 2 + required),
            Goal::Login { .. } => (1, 2),
            Goal::Logout { sweep, .. } => {
                let covers = |rs: &&String| *sweep || state.requirements.get(rs).is_some();
                let covered = count(state.tokens.keys().filter(covers).count());
                let damaged = count(unreadable.iter().filter(covers).count());
                (2 * covered, 1 + covered + damaged)
            }
        };
        // With leases, each request kind may first take the lease (waiting for it
        // a bounded number of times), read storage again, extend the lease before
        // each retry, and give it up.
        let lease_steps = state.settings.lease.as_ref().map_or(0, |lease| {
            requests.saturating_mul(3 + attempts + lease.max_polls())
        });
        Budget {
            requests: requests.saturating_mul(attempts),
            storage_steps: storage_steps.saturating_add(lease_steps),
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX / 8)
}
