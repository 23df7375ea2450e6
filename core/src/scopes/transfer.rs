//! Globus Transfer scopes (the Python SDK's `TransferScopes`).

use super::{Scope, ScopeParseError, gcs};

/// The resource server of Globus Transfer.
pub const RESOURCE_SERVER: &str = "transfer.api.globus.org";

/// Full access to Globus Transfer.
pub const ALL: Scope = Scope::from_static("urn:globus:auth:scope:transfer.api.globus.org:all");
/// Install Globus Connect Personal.
pub const GCP_INSTALL: Scope =
    Scope::from_static("urn:globus:auth:scope:transfer.api.globus.org:gcp_install");

/// [`ALL`] with each collection's `data_access` scope as an optional dependency.
///
/// This is what Transfer needs to reach standard (non-High-Assurance) Globus
/// Connect Server mapped collections; the Python SDK builds the same scope in
/// `TransferClient.add_app_data_access_scope`.
///
/// Do not use it for guest collections or Globus Connect Personal: they have
/// no `data_access` scope and Globus Auth rejects the login.
///
/// # Errors
/// [`InvalidUuid`](super::ScopeParseErrorKind::InvalidUuid) if an id is not a
/// UUID.
///
/// ```
/// use globus_app_core::scopes::transfer;
///
/// let scope = transfer::all_with_data_access([
///     "6c54cade-bde5-45c1-bdea-f4bd71dba2cc",
///     "0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1",
/// ])?;
/// assert_eq!(scope.dependencies().len(), 2);
/// assert!(scope.dependencies().iter().all(|d| d.is_optional()));
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
pub fn all_with_data_access<I>(collection_ids: I) -> Result<Scope, ScopeParseError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let dependencies = collection_ids
        .into_iter()
        .map(|id| gcs::data_access(id.as_ref()).map(|scope| scope.optional(true)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ALL.with_dependencies(dependencies))
}
