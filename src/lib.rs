//! # globus-app
//!
//! Globus Auth for Rust scripts, command-line tools and async services.
//!
//! This facade re-exports the protocol core ([`core`]), the token storages
//! ([`storage`]) and, depending on the enabled features, the runtime adapters.
//! See the README for the feature flags.

/// The Sans-IO protocol core: scopes, environments, OAuth2 requests and responses.
pub use globus_app_core as core;
/// Token storages: memory, JSON file and SQLite.
pub use globus_app_storage as storage;
