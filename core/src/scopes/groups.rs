//! Globus Groups scopes (the Python SDK's `GroupsScopes`).

use super::Scope;

/// The resource server of Globus Groups.
pub const RESOURCE_SERVER: &str = "groups.api.globus.org";

/// Full access to Globus Groups.
pub const ALL: Scope = Scope::from_static("urn:globus:auth:scope:groups.api.globus.org:all");
/// View the user's groups and memberships.
pub const VIEW_MY_GROUPS_AND_MEMBERSHIPS: Scope = Scope::from_static(
    "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships",
);
