//! Globus Auth scopes (the Python SDK's `AuthScopes`).
//!
//! `openid`, `profile` and `email` are the OpenID Connect (OIDC) scopes; Globus Auth
//! grants them together with a token for [`RESOURCE_SERVER`].

use super::Scope;

/// The resource server of Globus Auth.
pub const RESOURCE_SERVER: &str = "auth.globus.org";

/// `openid`: the user's identity (the `sub` claim of the `id_token`).
pub const OPENID: Scope = Scope::from_static("openid");
/// `email`: the user's email address.
pub const EMAIL: Scope = Scope::from_static("email");
/// `profile`: the user's name, username, organization and identity provider.
pub const PROFILE: Scope = Scope::from_static("profile");
/// Manage the user's Globus Auth projects.
pub const MANAGE_PROJECTS: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:manage_projects");
/// View the user's recent authentications.
pub const VIEW_AUTHENTICATIONS: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_authentications");
/// View the user's clients.
pub const VIEW_CLIENTS: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_clients");
/// View the user's clients and their scopes.
pub const VIEW_CLIENTS_AND_SCOPES: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_clients_and_scopes");
/// View the user's consents.
pub const VIEW_CONSENTS: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_consents");
/// Look up identities (the identities API).
pub const VIEW_IDENTITIES: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_identities");
/// View the user's identity set (linked identities).
pub const VIEW_IDENTITY_SET: Scope =
    Scope::from_static("urn:globus:auth:scope:auth.globus.org:view_identity_set");
