//! Legacy Nexus scopes (the Python SDK's `NexusScopes`), still required by
//! some group operations.

use super::Scope;

/// The resource server of the legacy Nexus API.
pub const RESOURCE_SERVER: &str = "nexus.api.globus.org";

/// Legacy groups access through Nexus.
pub const GROUPS: Scope = Scope::from_static("urn:globus:auth:scope:nexus.api.globus.org:groups");
