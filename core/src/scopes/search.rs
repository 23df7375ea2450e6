//! Globus Search scopes (the Python SDK's `SearchScopes`).

use super::Scope;

/// The resource server of Globus Search.
pub const RESOURCE_SERVER: &str = "search.api.globus.org";

/// Full access to Globus Search.
pub const ALL: Scope = Scope::from_static("urn:globus:auth:scope:search.api.globus.org:all");
/// The access Globus Connect Server needs to Search.
pub const GLOBUS_CONNECT_SERVER: Scope =
    Scope::from_static("urn:globus:auth:scope:search.api.globus.org:globus_connect_server");
/// Ingest documents into indices.
pub const INGEST: Scope = Scope::from_static("urn:globus:auth:scope:search.api.globus.org:ingest");
/// Query indices.
pub const SEARCH: Scope = Scope::from_static("urn:globus:auth:scope:search.api.globus.org:search");
