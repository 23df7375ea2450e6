//! The id_token: decoding its claims and checking them.
//!
//! The id_token arrives in the body of the token endpoint's answer, over the TLS
//! connection the client opened to Globus Auth. OpenID Connect Core 1.0, section
//! 3.1.3.7, lets a client use the TLS server validation in place of checking the
//! token's signature in that case, so the core decodes the claims without fetching
//! the OpenID configuration and JWKs (the reference makes those two extra requests
//! on first use in every process). The claims that matter are still checked:
//! audience, issuer and expiry.

use crate::{IdToken, UnixTime};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The leeway, in seconds, allowed on `exp` and `iat`, as in the reference.
pub const ID_TOKEN_LEEWAY_SECONDS: i64 = 300;

/// The claims of an id_token.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// The subject: the primary identity id of the user.
    pub sub: String,
    /// The issuer: the Globus Auth base URL without its trailing slash.
    pub iss: String,
    /// The audience: one client id or several.
    pub aud: Audience,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// Every other claim (`email`, `name`, `preferred_username`, `identity_set`, …).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The `aud` claim: a single string or a list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Returns true if `client_id` is one of the audiences.
    pub fn contains(&self, client_id: &str) -> bool {
        match self {
            Audience::One(a) => a == client_id,
            Audience::Many(list) => list.iter().any(|a| a == client_id),
        }
    }
}

/// What makes an id_token unacceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The token is not three base64url parts with a JSON object of claims.
    #[error("malformed id_token: {0}")]
    Malformed(String),
    /// The token was issued for another client.
    #[error("id_token audience does not include this client ({client_id})")]
    WrongAudience {
        /// This app's client id.
        client_id: String,
    },
    /// The token was issued by another service.
    #[error("id_token issuer is {found:?}, expected {expected:?}")]
    WrongIssuer {
        /// The issuer this app trusts.
        expected: String,
        /// The issuer in the token.
        found: String,
    },
    /// The token has expired (beyond the leeway).
    #[error("id_token expired at {exp} (now {now}); check the system clock")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The time of the check.
        now: i64,
    },
    /// The token claims to be issued in the future (beyond the leeway).
    #[error("id_token issued in the future at {iat} (now {now}); check the system clock")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: i64,
        /// The time of the check.
        now: i64,
    },
}

impl IdTokenClaims {
    /// Decodes the claims of an id_token without checking them.
    ///
    /// # Errors
    /// [`IdTokenError::Malformed`] for anything but `header.claims.signature` with
    /// base64url JSON claims that have `sub`, `iss`, `aud`, `exp` and `iat`.
    pub fn decode(token: &IdToken) -> Result<IdTokenClaims, IdTokenError> {
        let mut parts = token.secret().split('.');
        let (Some(header), Some(claims), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdTokenError::Malformed(
                "expected three dot-separated parts".into(),
            ));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|e| IdTokenError::Malformed(format!("{what} is not base64url: {e}")))
        };
        let header: serde_json::Value = serde_json::from_slice(&decode(header, "header")?)
            .map_err(|e| IdTokenError::Malformed(format!("header is not JSON: {e}")))?;
        if !header.is_object() {
            return Err(IdTokenError::Malformed(
                "header is not a JSON object".into(),
            ));
        }
        serde_json::from_slice(&decode(claims, "claims")?)
            .map_err(|e| IdTokenError::Malformed(format!("claims: {e}")))
    }

    /// Checks audience, issuer, expiry and issue time, with
    /// [`ID_TOKEN_LEEWAY_SECONDS`] of leeway on the times.
    ///
    /// # Errors
    /// The first check that fails.
    pub fn validate(
        &self,
        client_id: &str,
        issuers: &[&str],
        now: UnixTime,
    ) -> Result<(), IdTokenError> {
        if !self.aud.contains(client_id) {
            return Err(IdTokenError::WrongAudience {
                client_id: client_id.to_owned(),
            });
        }
        let iss = self.iss.trim_end_matches('/');
        if !issuers.iter().any(|i| i.trim_end_matches('/') == iss) {
            return Err(IdTokenError::WrongIssuer {
                expected: issuers.join(" or "),
                found: self.iss.clone(),
            });
        }
        if self.exp.saturating_add(ID_TOKEN_LEEWAY_SECONDS) < now.0 {
            return Err(IdTokenError::Expired {
                exp: self.exp,
                now: now.0,
            });
        }
        if self.iat.saturating_sub(ID_TOKEN_LEEWAY_SECONDS) > now.0 {
            return Err(IdTokenError::IssuedInFuture {
                iat: self.iat,
                now: now.0,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn make_id_token(claims: &serde_json::Value) -> IdToken {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        IdToken::new(format!("{header}.{claims}.c2lnbmF0dXJl"))
    }

    fn claims(aud: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "sub": "ae341a98-d274-11e5-b888-dbae3a8ba545",
            "iss": "https://auth.globus.org",
            "aud": aud, "exp": 2000, "iat": 1000, "email": "u@example.org"
        })
    }

    #[test]
    fn decode_and_validate() {
        let token = make_id_token(&claims("client".into()));
        let c = IdTokenClaims::decode(&token).unwrap();
        assert_eq!(c.sub, "ae341a98-d274-11e5-b888-dbae3a8ba545");
        assert_eq!(c.other["email"], "u@example.org");
        c.validate("client", &["https://auth.globus.org/"], UnixTime(1500))
            .unwrap();
        c.validate("client", &["https://auth.globus.org"], UnixTime(2300))
            .unwrap();
        assert_eq!(
            c.validate("client", &["https://auth.globus.org"], UnixTime(2301)),
            Err(IdTokenError::Expired {
                exp: 2000,
                now: 2301
            })
        );
        assert_eq!(
            c.validate("client", &["https://auth.globus.org"], UnixTime(699)),
            Err(IdTokenError::IssuedInFuture {
                iat: 1000,
                now: 699
            })
        );
        assert!(matches!(
            c.validate("other", &["https://auth.globus.org"], UnixTime(1500)),
            Err(IdTokenError::WrongAudience { .. })
        ));
        assert!(matches!(
            c.validate(
                "client",
                &["https://auth.sandbox.globuscs.info"],
                UnixTime(1500)
            ),
            Err(IdTokenError::WrongIssuer { .. })
        ));
        let many =
            IdTokenClaims::decode(&make_id_token(&claims(serde_json::json!(["a", "client"]))))
                .unwrap();
        many.validate("client", &["https://auth.globus.org"], UnixTime(1500))
            .unwrap();
    }

    #[test]
    fn malformed_tokens() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            "e30.e30.x",
            "bnVsbA.e30.x",
            "e30.W10.x",
            "e30.eyJzdWIiOjF9.x",
        ] {
            assert!(
                matches!(
                    IdTokenClaims::decode(&IdToken::new(bad)),
                    Err(IdTokenError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }
}
