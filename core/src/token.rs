//! Token data as stored per resource server.

use crate::UnixTime;
use crate::secret::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tokens and metadata that one grant issued for one resource server.
///
/// Its serialized form is the Python globus-sdk's `TokenStorageData`, field for
/// field: absent optional fields are omitted, and fields this version does not know
/// are kept in [`extra`](Self::extra) and written back unchanged.
///
/// `Debug` redacts both tokens.
///
/// ```
/// use globus_app_core::{TokenData, UnixTime};
/// let json = r#"{"resource_server": "transfer.api.globus.org",
///   "identity_id": "ae341a98-d274-11e5-b888-dbae3a8ba545",
///   "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
///   "access_token": "AT", "refresh_token": null,
///   "expires_at_seconds": 1700000000, "token_type": "Bearer", "future_field": 1}"#;
/// let token: TokenData = serde_json::from_str(json).unwrap();
/// assert!(token.is_expired(UnixTime(1_700_000_001)));
/// assert_eq!(token.extra["future_field"], 1);
/// assert!(!format!("{token:?}").contains("\"AT\""));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenData {
    /// The resource server these tokens are for, e.g. `transfer.api.globus.org`.
    pub resource_server: String,
    /// The primary identity of the user (or client) the tokens act as, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// The space-separated scopes the access token grants.
    pub scope: String,
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, present when refresh tokens were requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at_seconds: i64,
    /// The token type, `Bearer` in practice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Fields this version does not know, kept for forward compatibility. A key
    /// that names one of the fields above is not written.
    #[serde(flatten, serialize_with = "serialize_extra")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl TokenData {
    /// The names of the fields of the Python SDK's `TokenStorageData`, which
    /// [`extra`](Self::extra) never shadows.
    pub const FIELD_NAMES: [&'static str; 7] = [
        "resource_server",
        "identity_id",
        "scope",
        "access_token",
        "refresh_token",
        "expires_at_seconds",
        "token_type",
    ];
}

/// Writes the extra fields, skipping any that would shadow a known field.
fn serialize_extra<S: serde::Serializer>(
    extra: &BTreeMap<String, serde_json::Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(None)?;
    for (key, value) in extra {
        if !TokenData::FIELD_NAMES.contains(&key.as_str()) {
            map.serialize_entry(key, value)?;
        }
    }
    map.end()
}

impl TokenData {
    /// Returns the expiry as a [`UnixTime`].
    pub fn expires_at(&self) -> UnixTime {
        UnixTime(self.expires_at_seconds)
    }

    /// Returns true if the access token has expired at `now`.
    ///
    /// A token is valid only while `now < expires_at_seconds`: at the second it
    /// expires it is no longer sent.
    ///
    /// ```
    /// # use globus_app_core::{TokenData, UnixTime};
    /// # let mut token: TokenData = serde_json::from_str(r#"{"resource_server": "rs",
    /// #   "scope": "s", "access_token": "AT", "expires_at_seconds": 1000,
    /// #   "token_type": "Bearer"}"#).unwrap();
    /// assert!(!token.is_expired(UnixTime(999)));
    /// assert!(token.is_expired(UnixTime(1000)));
    /// ```
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now.0 >= self.expires_at_seconds
    }

    /// Returns true if the access token expires within `lead` seconds of `now`
    /// (or has expired), so that it should be renewed before use: `now` is at or
    /// past `expires_at_seconds - lead`.
    pub fn expires_within(&self, now: UnixTime, lead: i64) -> bool {
        now.0 >= self.expires_at_seconds.saturating_sub(lead)
    }

    /// Returns the granted scopes, one string per scope.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    /// Returns the value of an `Authorization` header for this token: `Bearer …`.
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.access_token.secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_never_shadows_a_known_field() {
        let mut token: TokenData = serde_json::from_value(serde_json::json!({
            "resource_server": "rs", "scope": "s", "access_token": "REAL", "expires_at_seconds": 1
        }))
        .unwrap();
        token.extra.insert("access_token".into(), "FAKE".into());
        token.extra.insert("future".into(), 1.into());
        let text = serde_json::to_string(&token).unwrap();
        assert_eq!(text.matches("access_token").count(), 1, "{text}");
        let back: TokenData = serde_json::from_str(&text).unwrap();
        assert_eq!(back.access_token.secret(), "REAL");
        assert_eq!(back.extra["future"], 1);
    }
}
