//! Globus Compute scopes (the Python SDK's `ComputeScopes`).
//!
//! Compute's scopes are named after its client id, [`CLIENT_ID`], while its
//! tokens come for the resource server [`RESOURCE_SERVER`].

use super::Scope;

/// The resource server of Globus Compute.
pub const RESOURCE_SERVER: &str = "funcx_service";
/// The client id that Compute's scope names are built on.
pub const CLIENT_ID: &str = "facd7ccc-c5f4-42aa-916b-a0e270e2c2a9";

/// Full access to Globus Compute.
pub const ALL: Scope =
    Scope::from_static("https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all");
