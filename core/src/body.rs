//! The body of a request the core builds, with a `Debug` that never shows a secret.

use std::fmt;
use std::ops::Deref;

/// The body of an [`HttpRequest`](crate::HttpRequest): form fields that can hold a
/// refresh token, an authorization code, a PKCE verifier or a token to revoke.
///
/// It derefs to the bytes to send; an adapter hands them to its HTTP client with
/// `request.map(Body::into_bytes)`. `Debug` shows a form's field names and its
/// harmless values (`grant_type`, `client_id`, `scope`, `redirect_uri`, …), with
/// every other value redacted, and any other body only by its length.
///
/// ```
/// use globus_app_core::Body;
/// let body = Body::from(b"grant_type=refresh_token&refresh_token=RT-secret".to_vec());
/// assert_eq!(&*body, b"grant_type=refresh_token&refresh_token=RT-secret");
/// let shown = format!("{body:?}");
/// assert!(shown.contains("grant_type=refresh_token"));
/// assert!(!shown.contains("RT-secret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Body(Vec<u8>);

/// Form fields whose values are shown by `Debug`: none of them is a secret.
const SHOWN_FIELDS: [&str; 6] = [
    "grant_type",
    "client_id",
    "scope",
    "redirect_uri",
    "token_type_hint",
    "all",
];

impl Body {
    /// Returns the bytes to send.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body(bytes)
    }
}

impl From<Body> for Vec<u8> {
    fn from(body: Body) -> Self {
        body.0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("Body(empty)");
        }
        let is_form = self
            .0
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"%+-._~=&*".contains(b));
        if !is_form {
            return write!(f, "Body({} bytes)", self.0.len());
        }
        let fields: Vec<String> = url::form_urlencoded::parse(&self.0)
            .map(|(key, value)| {
                if SHOWN_FIELDS.contains(&key.as_ref()) {
                    format!("{key}={value}")
                } else {
                    format!("{key}=[redacted]")
                }
            })
            .collect();
        write!(f, "Body({:?})", fields.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::Body;

    #[test]
    fn debug_redacts_every_value_but_the_harmless_ones() {
        let body = Body::from(
            b"client_id=C&grant_type=authorization_code&code=THE-CODE&code_verifier=V%2B1&redirect_uri=http%3A%2F%2F127.0.0.1"
                .to_vec(),
        );
        let shown = format!("{body:?} {body:#?}");
        for secret in ["THE-CODE", "V%2B1", "V+1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("grant_type=authorization_code"), "{shown}");
        assert!(shown.contains("code=[redacted]"), "{shown}");
        assert!(shown.contains("redirect_uri=http://127.0.0.1"), "{shown}");
        assert_eq!(format!("{:?}", Body::default()), "Body(empty)");
        let json = Body::from(br#"{"token": "x"}"#.to_vec());
        assert_eq!(format!("{json:?}"), "Body(14 bytes)");
    }
}
