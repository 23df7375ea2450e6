//! Why stored tokens cannot serve a request.

use crate::ApiError;
use std::fmt;

/// Why stored tokens cannot be used: the reference's token validation errors, plus
/// a refresh token that Globus Auth no longer accepts.
///
/// Every one but [`IdentityMismatch`](Self::IdentityMismatch),
/// [`MixedIdentities`](Self::MixedIdentities) and
/// [`IssuedExpired`](Self::IssuedExpired) is resolved by a new login, which apps run
/// by default.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenValidationError {
    /// No tokens are stored for the resource server.
    #[error("no tokens are stored for {resource_server}; log in")]
    MissingToken {
        /// The resource server.
        resource_server: String,
    },
    /// The app uses refresh tokens, but the stored tokens have none.
    #[error(
        "the stored tokens for {resource_server} have no refresh token; log in again (the app asks for refresh tokens)"
    )]
    MissingRefreshToken {
        /// The resource server.
        resource_server: String,
    },
    /// The access token expired and cannot be renewed (no refresh tokens).
    #[error(
        "the access token for {resource_server} expired at {}; log in again, or ask for refresh tokens", crate::UnixTime(*expired_at).iso8601()
    )]
    ExpiredToken {
        /// The resource server.
        resource_server: String,
        /// When it expired, in Unix seconds.
        expired_at: i64,
    },
    /// Globus Auth issued an access token that had already expired when it arrived
    /// (a zero lifetime, or this machine's clock is far ahead). Another grant in the
    /// same call would be no better, so the call fails instead of looping.
    #[error(
        "Globus Auth issued an access token for {resource_server} that expired on arrival (valid until {}); check this machine's clock, then try again", expires_at.iso8601()
    )]
    IssuedExpired {
        /// The resource server.
        resource_server: String,
        /// When the token expired.
        expires_at: crate::UnixTime,
    },
    /// The stored token lacks required scopes.
    #[error("the tokens for {resource_server} lack required scopes ({}); log in to consent to them", missing.join(" "))]
    UnmetScopeRequirements {
        /// The resource server.
        resource_server: String,
        /// The unmet scope requirements, as scope strings.
        missing: Vec<String>,
    },
    /// Globus Auth refused the refresh token (revoked, expired or unknown).
    #[error("Globus Auth refused the refresh token for {resource_server} ({}); log in again", error.description.as_deref().unwrap_or("invalid_grant"))]
    RefreshTokenRejected {
        /// The resource server.
        resource_server: String,
        /// Globus Auth's answer (boxed: it is large and rare).
        error: Box<ApiError>,
    },
    /// A service refused the access token (HTTP 401) and it cannot be renewed
    /// without a login: no refresh token, or access tokens only.
    #[error(
        "the service refused the access token for {resource_server} (HTTP 401) and it cannot be renewed without a login; log in again"
    )]
    TokenRejected {
        /// The resource server.
        resource_server: String,
    },
    /// A user login returned no id_token, so the identity is unknown.
    #[error(
        "the login response has no id_token, so the user's identity is unknown; make sure the login asks for the openid scope"
    )]
    MissingIdentity,
    /// The stored tokens of the namespace belong to more than one identity (after
    /// a manual edit, or a bug elsewhere): no token of it is used until a logout
    /// clears them.
    #[error(
        "the stored tokens belong to more than one identity ({}); log out to remove them, then log in again",
        describe_identities(identities)
    )]
    MixedIdentities {
        /// Each identity with the resource servers whose tokens carry it.
        identities: Vec<(String, Vec<String>)>,
    },
    /// A login returned tokens for another person than the stored ones.
    #[error(
        "the login was for identity {new}, but the stored tokens belong to {stored}; log out first to switch users (nothing was stored)"
    )]
    IdentityMismatch {
        /// The identity of the stored tokens.
        stored: String,
        /// The identity the new login returned.
        new: String,
    },
}

impl TokenValidationError {
    /// Returns true if a new login resolves this error (all but an identity mismatch
    /// and a token that expired on arrival).
    pub fn is_resolved_by_login(&self) -> bool {
        !matches!(
            self,
            TokenValidationError::IdentityMismatch { .. }
                | TokenValidationError::IssuedExpired { .. }
                | TokenValidationError::MixedIdentities { .. }
        )
    }
}

/// `id1 for rs1, rs2; id2 for rs3`.
fn describe_identities(identities: &[(String, Vec<String>)]) -> String {
    identities
        .iter()
        .map(|(identity, servers)| format!("{identity} for {}", servers.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A short label for logs.
pub(crate) struct Label<'a>(pub(crate) &'a TokenValidationError);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            TokenValidationError::MissingToken { .. } => "missing token",
            TokenValidationError::MissingRefreshToken { .. } => "missing refresh token",
            TokenValidationError::ExpiredToken { .. } => "expired token",
            TokenValidationError::IssuedExpired { .. } => "token expired on arrival",
            TokenValidationError::UnmetScopeRequirements { .. } => "unmet scope requirements",
            TokenValidationError::RefreshTokenRejected { .. } => "refresh token rejected",
            TokenValidationError::TokenRejected { .. } => "access token rejected",
            TokenValidationError::MissingIdentity => "missing identity",
            TokenValidationError::IdentityMismatch { .. } => "identity mismatch",
            TokenValidationError::MixedIdentities { .. } => "mixed identities",
        })
    }
}
