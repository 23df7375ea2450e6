//! Token entries the storage holds but cannot read (a field of the wrong type, text
//! that is not JSON): see [`TokenStorage::load_namespace`](globus_app_storage::TokenStorage::load_namespace).
//!
//! A load passes the readable tokens to the core and names the others
//! ([`Input::LoadedPartly`](globus_app_core::app::Input::LoadedPartly)); the core
//! counts them as missing (a login's store replaces the entry) and a logout removes
//! those it covers. Here each is reported once, as a `tracing` warning (target
//! `globus_app`) that names the file and the resource server and shows no value; it
//! is reported again only if it was repaired and then damaged again.

use globus_app_storage::UnreadableEntry;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// Which unreadable entries of one app were reported.
#[derive(Debug, Default)]
pub(crate) struct Unreadable {
    /// The resource servers whose entry was unreadable at the last load.
    reported: Mutex<BTreeSet<String>>,
}

impl Unreadable {
    /// Reports the entries a load found unreadable that were not reported yet, and
    /// returns their resource servers.
    pub(crate) fn after_load(&self, entries: Vec<UnreadableEntry>) -> Vec<String> {
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        let mut now = BTreeSet::new();
        for entry in entries {
            if !reported.contains(&entry.resource_server) {
                tracing::warn!(
                    target: "globus_app",
                    file = ?entry.path,
                    namespace = %entry.namespace,
                    resource_server = %entry.resource_server,
                    "{entry}"
                );
            }
            now.insert(entry.resource_server);
        }
        *reported = now.clone();
        now.into_iter().collect()
    }
}
