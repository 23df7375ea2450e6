//! Globus Timers scopes (the Python SDK's `TimersScopes`).
//!
//! A timer that runs a transfer on a mapped collection needs the Transfer scope
//! with the collection's `data_access` under the timer scope:
//!
//! ```
//! use globus_app_core::scopes::{timers, transfer};
//!
//! let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
//! let scope = timers::TIMER.with_dependency(transfer::all_with_data_access([collection])?);
//! assert_eq!(
//!     scope.to_string(),
//!     "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer\
//!      [urn:globus:auth:scope:transfer.api.globus.org:all\
//!      [*https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access]]",
//! );
//! # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
//! ```

use super::Scope;

/// The resource server of Globus Timers (its client id).
pub const RESOURCE_SERVER: &str = "524230d7-ea86-4a52-8312-86065a9e0417";

/// Create and manage timers.
pub const TIMER: Scope =
    Scope::from_static("https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer");
