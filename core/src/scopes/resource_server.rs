//! Telling a scope's resource server from its name.

use super::{auth, compute, flows};

/// The resource server a scope belongs to, when the scope string tells it.
///
/// - `urn:globus:auth:scope:{resource_server}:{name}` gives `resource_server`;
/// - `https://auth.globus.org/scopes/{id}/{name}` gives `id` (a client,
///   collection, endpoint or flow id), except for the Flows and Compute
///   services, whose scopes are named after their client id but whose resource
///   servers are [`flows::RESOURCE_SERVER`] and [`compute::RESOURCE_SERVER`];
/// - `openid`, `profile` and `email` give [`auth::RESOURCE_SERVER`].
///
/// A leading `*` and a trailing dependency list (`[...]`) are ignored. Any
/// other string gives `None`: Globus Auth would have to be asked.
///
/// ```
/// use globus_app_core::scopes::{resource_server_of, flows, transfer};
///
/// assert_eq!(resource_server_of("openid"), Some("auth.globus.org"));
/// assert_eq!(
///     resource_server_of("urn:globus:auth:scope:transfer.api.globus.org:all[*x]"),
///     Some("transfer.api.globus.org"),
/// );
/// assert_eq!(
///     resource_server_of("https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access"),
///     Some("6c54cade-bde5-45c1-bdea-f4bd71dba2cc"),
/// );
/// assert_eq!(flows::RUN.resource_server(), Some(flows::RESOURCE_SERVER));
/// assert_eq!(resource_server_of("my-custom-scope"), None);
/// ```
pub fn resource_server_of(scope: &str) -> Option<&str> {
    let name = scope.strip_prefix('*').unwrap_or(scope);
    let name = name.split_once('[').map_or(name, |(name, _)| name);
    if matches!(name, "openid" | "profile" | "email") {
        return Some(auth::RESOURCE_SERVER);
    }
    if let Some(rest) = name.strip_prefix("urn:globus:auth:scope:") {
        let (server, short_name) = rest.split_once(':')?;
        return (!server.is_empty() && !short_name.is_empty()).then_some(server);
    }
    let rest = name.strip_prefix("https://auth.globus.org/scopes/")?;
    let (id, short_name) = rest.split_once('/')?;
    if id.is_empty() || short_name.is_empty() {
        return None;
    }
    Some(match id {
        flows::CLIENT_ID => flows::RESOURCE_SERVER,
        compute::CLIENT_ID => compute::RESOURCE_SERVER,
        _ => id,
    })
}
