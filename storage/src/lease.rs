//! Leases: one renewal per namespace across the processes and hosts that share a
//! storage.
//!
//! An app that is about to renew a token (a refresh, or a client-credentials grant)
//! first takes its namespace's lease: an owner id and a time to live, kept by the
//! storage on **its own clock**, so that the clocks of the apps do not matter. While
//! one owner holds an unexpired lease, others are told the storage is busy; they wait,
//! read the tokens again and find the renewed one.
//!
//! Every lease comes with a [`Fence`]: a number that only grows, per namespace. The
//! storage keeps the fence of the last write it accepted, and a fenced write
//! ([`LeaseStorage::store_token_data_fenced`]) whose fence is lower is refused with
//! [`StorageError::Fenced`]. An owner whose lease expired while it was stalled (and was
//! taken by another) can therefore never overwrite the newer token: checking the owner
//! alone is not enough, as a stalled write can commit after the next holder's.
//!
//! A storage offers leases through [`TokenStorage::leases`](crate::TokenStorage::leases);
//! one that does not (a storage of your own, by default) keeps the in-process single
//! flight of the apps, which is one renewal per process.

use crate::{StorageError, TokenData};
use std::fmt;
use std::time::Duration;

/// A fence number: it grows with every lease taken on a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fence(pub u64);

impl fmt::Display for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fence {}", self.0)
    }
}

/// The answer to [`LeaseStorage::acquire_lease`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseOutcome {
    /// The lease is this owner's (taken, or taken again by the same owner) until the
    /// time to live runs out on the storage's clock.
    Acquired(Fence),
    /// Another owner holds an unexpired lease, for this long still (on the storage's
    /// clock, as far as the storage can tell).
    Busy {
        /// The time left on the other owner's lease.
        remaining: Duration,
    },
}

/// A storage that keeps leases (see the [module documentation](self)).
///
/// Its methods must be atomic across every process and host that uses the store:
/// a compare-and-set in one transaction, a script, a lock.
pub trait LeaseStorage: Send + Sync {
    /// Takes the lease of `namespace` for `owner` for `ttl`, unless another owner
    /// holds an unexpired one. Taking it again as the same owner extends it, with a
    /// new fence. Every fence returned for a namespace is greater than the ones
    /// before it, even after the storage is reopened.
    ///
    /// # Errors
    /// The storage failed (unreachable, closed).
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError>;

    /// Gives the lease up, if `owner` still holds it (anyone else's is left alone).
    ///
    /// # Errors
    /// The storage failed.
    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError>;

    /// Stores token data like [`TokenStorage::store_token_data`](crate::TokenStorage::store_token_data),
    /// unless a write with a higher fence was accepted for the namespace: then nothing
    /// is written, and the error is [`StorageError::Fenced`].
    ///
    /// # Errors
    /// [`StorageError::Fenced`]; the storage failed.
    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError>;
}

/// The lease table of one store, for the storages that keep it themselves (in memory,
/// or read and written back inside a transaction): pure decisions on a clock in
/// milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LeaseRow {
    /// The holder, and when its lease ends (ms on the storage's clock).
    pub(crate) holder: Option<(String, i64)>,
    /// The last fence given out.
    pub(crate) issued: u64,
    /// The fence of the last fenced write accepted.
    pub(crate) written: u64,
}

impl LeaseRow {
    /// Takes the lease at `now_ms`, or says how long the other holder has left.
    pub(crate) fn acquire(&mut self, owner: &str, ttl: Duration, now_ms: i64) -> LeaseOutcome {
        if let Some((holder, until)) = &self.holder
            && holder != owner
            && *until > now_ms
        {
            let left = u64::try_from(until - now_ms).unwrap_or(0);
            return LeaseOutcome::Busy {
                remaining: Duration::from_millis(left),
            };
        }
        self.issued += 1;
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.holder = Some((owner.to_owned(), now_ms.saturating_add(ttl_ms)));
        LeaseOutcome::Acquired(Fence(self.issued))
    }

    /// Gives the lease up if `owner` holds it.
    pub(crate) fn release(&mut self, owner: &str) {
        if self
            .holder
            .as_ref()
            .is_some_and(|(holder, _)| holder == owner)
        {
            self.holder = None;
        }
    }

    /// Accepts a write with `fence` unless a higher one was accepted.
    pub(crate) fn accept_write(&mut self, fence: Fence) -> Result<(), (u64, u64)> {
        if fence.0 < self.written {
            return Err((fence.0, self.written));
        }
        self.written = fence.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_excludes_others_until_it_expires_and_fences_grow() {
        let mut row = LeaseRow::default();
        let ttl = Duration::from_millis(1000);
        assert_eq!(row.acquire("a", ttl, 0), LeaseOutcome::Acquired(Fence(1)));
        assert_eq!(
            row.acquire("b", ttl, 400),
            LeaseOutcome::Busy {
                remaining: Duration::from_millis(600)
            }
        );
        // The holder extends it; expired, anyone takes it.
        assert_eq!(row.acquire("a", ttl, 500), LeaseOutcome::Acquired(Fence(2)));
        assert_eq!(
            row.acquire("b", ttl, 1500),
            LeaseOutcome::Acquired(Fence(3))
        );
        // b writes; a's late write with its older fence is refused.
        assert_eq!(row.accept_write(Fence(3)), Ok(()));
        assert_eq!(row.accept_write(Fence(2)), Err((2, 3)));
        // Releasing as someone else does nothing.
        row.release("a");
        assert!(row.holder.is_some());
        row.release("b");
        assert_eq!(
            row.acquire("c", ttl, 1600),
            LeaseOutcome::Acquired(Fence(4))
        );
    }
}
