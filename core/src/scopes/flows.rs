//! Globus Flows scopes (the Python SDK's `FlowsScopes` and
//! `SpecificFlowScopes`).
//!
//! The service's scopes are named after its client id, [`CLIENT_ID`], while its
//! tokens come for the resource server [`RESOURCE_SERVER`]. Each flow is its
//! own resource server (the flow id) with a `user` scope to run it.

use super::{Scope, ScopeParseError, url_scope};

/// The resource server of the Globus Flows service.
pub const RESOURCE_SERVER: &str = "flows.globus.org";
/// The client id that the Flows service's scope names are built on.
pub const CLIENT_ID: &str = "eec9b274-0c81-4334-bdc2-54e90e689b9a";

/// Full access to the Flows service.
pub const ALL: Scope =
    Scope::from_static("https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all");
/// Create, update and delete flows.
pub const MANAGE_FLOWS: Scope = Scope::from_static(
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/manage_flows",
);
/// View flows.
pub const VIEW_FLOWS: Scope = Scope::from_static(
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/view_flows",
);
/// Start runs.
pub const RUN: Scope =
    Scope::from_static("https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run");
/// View the status of runs.
pub const RUN_STATUS: Scope = Scope::from_static(
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_status",
);
/// Manage runs (cancel, update, delete).
pub const RUN_MANAGE: Scope = Scope::from_static(
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_manage",
);

/// The `user` scope of one flow, needed to start a run of it:
/// `https://auth.globus.org/scopes/{flow_id}/flow_{flow_id with '_' for '-'}_user`.
/// Its resource server is the flow id.
///
/// A flow that transfers from a mapped collection also needs Transfer's scope
/// under its own, as the Python SDK's
/// `SpecificFlowClient.add_app_transfer_data_access_scope` builds it:
///
/// ```
/// use globus_app_core::scopes::{flows, transfer};
///
/// let flow = "0aa1bb2c-3d4e-4f50-8a6b-7c8d9e0f1a2b";
/// let scope = flows::specific_flow_user(flow)?.with_dependency(
///     transfer::all_with_data_access(["6c54cade-bde5-45c1-bdea-f4bd71dba2cc"])?.optional(true),
/// );
/// assert_eq!(
///     scope.name(),
///     "https://auth.globus.org/scopes/0aa1bb2c-3d4e-4f50-8a6b-7c8d9e0f1a2b\
///      /flow_0aa1bb2c_3d4e_4f50_8a6b_7c8d9e0f1a2b_user",
/// );
/// assert_eq!(scope.resource_server(), Some(flow));
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
///
/// # Errors
/// [`InvalidUuid`](super::ScopeParseErrorKind::InvalidUuid) if the id is not a
/// UUID.
pub fn specific_flow_user(flow_id: &str) -> Result<Scope, ScopeParseError> {
    let short_name = format!(
        "flow_{}_user",
        flow_id.to_ascii_lowercase().replace('-', "_")
    );
    url_scope(flow_id, &short_name)
}
