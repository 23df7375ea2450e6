//! Newtypes for secrets whose `Debug` never shows the value.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// `Debug` prints the type name and `[redacted]`, never the value.
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// Returns the secret value. Take care where it goes.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_type!(
    /// An OAuth2 access token issued by Globus Auth.
    AccessToken
);
secret_type!(
    /// An OAuth2 refresh token issued by Globus Auth.
    RefreshToken
);
secret_type!(
    /// A confidential client's secret.
    ClientSecret
);
secret_type!(
    /// An authorization code returned by the authorize endpoint.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636).
    CodeVerifier
);
secret_type!(
    /// An OpenID Connect id_token (a JWT).
    IdToken
);
secret_type!(
    /// A token of either kind, on its way to the revoke endpoint.
    RevocableToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let t = AccessToken::new("s3cret");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        assert_eq!(t.secret(), "s3cret");
    }
}
