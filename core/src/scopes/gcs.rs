//! Globus Connect Server scopes (the Python SDK's `GCSCollectionScopes` and
//! `GCSEndpointScopes`), built from a collection or endpoint id.
//!
//! The ids must be UUIDs; they are written in lower case, as Globus does.

use super::{Scope, ScopeParseError, name, url_scope};

/// The `data_access` scope of a mapped collection.
///
/// That is `https://auth.globus.org/scopes/{collection_id}/data_access`, usually
/// requested as an optional dependency of [`transfer::ALL`](super::transfer::ALL)
/// (see [`transfer::all_with_data_access`](super::transfer::all_with_data_access)).
///
/// # Errors
/// [`InvalidUuid`](super::ScopeParseErrorKind::InvalidUuid) if the id is not a
/// UUID.
///
/// ```
/// use globus_app_core::scopes::gcs;
///
/// let scope = gcs::data_access("6c54cade-bde5-45c1-bdea-f4bd71dba2cc")?;
/// assert_eq!(
///     scope.name(),
///     "https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access",
/// );
/// assert_eq!(scope.resource_server(), Some("6c54cade-bde5-45c1-bdea-f4bd71dba2cc"));
/// assert!(gcs::data_access("not a uuid").is_err());
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
pub fn data_access(collection_id: &str) -> Result<Scope, ScopeParseError> {
    url_scope(collection_id, "data_access")
}

/// The `https` scope of a collection, for HTTPS access to its files:
/// `https://auth.globus.org/scopes/{collection_id}/https`.
///
/// # Errors
/// [`InvalidUuid`](super::ScopeParseErrorKind::InvalidUuid) if the id is not a
/// UUID.
pub fn https(collection_id: &str) -> Result<Scope, ScopeParseError> {
    url_scope(collection_id, "https")
}

/// The `manage_collections` scope of an endpoint:
/// `urn:globus:auth:scope:{endpoint_id}:manage_collections`.
///
/// # Errors
/// [`InvalidUuid`](super::ScopeParseErrorKind::InvalidUuid) if the id is not a
/// UUID.
pub fn manage_collections(endpoint_id: &str) -> Result<Scope, ScopeParseError> {
    let id = name::uuid(endpoint_id)?;
    Scope::new(format!("urn:globus:auth:scope:{id}:manage_collections"))
}
