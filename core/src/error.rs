//! Errors that come from Globus Auth's answers.

use crate::HttpResponse;
use std::fmt;

/// A Globus-shaped error answer: the server understood the request and said no.
///
/// Built from either error body Globus Auth uses: OAuth2's
/// `{"error": "invalid_grant", "error_description": "…"}` or the API's
/// `{"errors": [{"code": "…", "detail": "…"}]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The Globus or OAuth2 error code (`invalid_grant`, `FORBIDDEN`, …), if given.
    pub code: Option<String>,
    /// The human-readable description, if given.
    pub description: Option<String>,
    /// The request id Globus assigned, for support requests.
    pub request_id: Option<String>,
    /// Seconds to wait before retrying, from a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Returns true for the OAuth2 `invalid_grant` error: a refresh token or
    /// authorization code that was revoked, expired or already used.
    pub fn is_invalid_grant(&self) -> bool {
        self.code.as_deref() == Some("invalid_grant")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Globus Auth answered HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// A response the core could not use, or an error answer from the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server answered with a Globus-shaped error.
    #[error("{0}")]
    Api(ApiError),
    /// The body is not what Globus Auth sends: HTML, empty, truncated or of the wrong
    /// shape. `excerpt` is a short start of the body with anything token-like removed.
    #[error(
        "unexpected response from Globus Auth (HTTP {status}): {detail}; body starts {excerpt:?}"
    )]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
        /// A short, secret-free start of the body.
        excerpt: String,
        /// Seconds to wait before retrying, from a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// The id_token in a token response failed its checks.
    #[error("the id_token in the token response is not acceptable: {0}")]
    IdToken(#[from] crate::jwt::IdTokenError),
}

impl ResponseError {
    /// Returns the HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ResponseError::Api(e) => Some(e.status),
            ResponseError::Unexpected { status, .. } => Some(*status),
            ResponseError::IdToken(_) => None,
        }
    }

    /// Returns true if the same request may succeed later: HTTP 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        self.status().is_some_and(is_retryable_status)
    }

    /// Returns the server's `Retry-After`, in seconds, if it sent one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ResponseError::Api(e) => e.retry_after,
            ResponseError::Unexpected { retry_after, .. } => *retry_after,
            ResponseError::IdToken(_) => None,
        }
    }

    /// Returns the Globus error if the server sent one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn unexpected(response: &HttpResponse, detail: impl Into<String>) -> Self {
        ResponseError::Unexpected {
            status: response.status().as_u16(),
            detail: detail.into(),
            excerpt: excerpt(response.body()),
            retry_after: retry_after(response),
        }
    }
}

/// Returns true for statuses worth retrying: 429 and 5xx.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Reads `Retry-After` in its delta-seconds form (the form Globus sends).
pub(crate) fn retry_after(response: &HttpResponse) -> Option<u64> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Turns a non-2xx response into a [`ResponseError`].
pub(crate) fn error_from_response(response: &HttpResponse) -> ResponseError {
    let status = response.status().as_u16();
    let value: serde_json::Value = match serde_json::from_slice(response.body()) {
        Ok(v) => v,
        Err(_) => {
            let what = if response.body().is_empty() {
                "empty body"
            } else {
                "the body is not JSON"
            };
            return ResponseError::unexpected(response, format!("error status with {what}"));
        }
    };
    let Some(object) = value.as_object() else {
        return ResponseError::unexpected(response, "error body is not a JSON object");
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let sub_errors: Vec<&serde_json::Map<String, serde_json::Value>> = object
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|a| a.iter().filter_map(|e| e.as_object()).collect())
        .unwrap_or_default();
    let common = |key: &str| -> Option<String> {
        let mut values = sub_errors.iter().filter_map(|e| text(e.get(key)));
        let first = values.next()?;
        values.all(|v| v == first).then_some(first)
    };
    let code = text(object.get("error"))
        .or_else(|| text(object.get("code")))
        .or_else(|| common("code"));
    let description = text(object.get("error_description"))
        .or_else(|| text(object.get("message")))
        .or_else(|| sub_errors.first().and_then(|e| text(e.get("detail"))));
    let request_id = text(object.get("request_id")).or_else(|| common("id"));
    if code.is_none() && description.is_none() {
        return ResponseError::unexpected(response, "error body has no error code or description");
    }
    ResponseError::Api(ApiError {
        status,
        code,
        description,
        request_id,
        retry_after: retry_after(response),
    })
}

/// Returns a short, printable start of a body, with anything secret-like removed.
///
/// In a JSON body every string value is replaced (keys stay, so the shape is still
/// visible): a truncated token response must not put its access token in an error
/// message. In any body, a run of 20 or more characters from the token alphabet is
/// replaced too.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX_CHARS: usize = 120;
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * MAX_CHARS)]);
    let text = if text.trim_start().starts_with(['{', '[']) {
        redact_json_values(&text)
    } else {
        text.into_owned()
    };
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().count() >= 20 {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    let mut last_space = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=') {
            word.push(c);
            last_space = false;
            continue;
        }
        flush(&mut word, &mut out);
        if c.is_whitespace() || c.is_control() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    flush(&mut word, &mut out);
    let trimmed = out.trim();
    let mut result: String = trimmed.chars().take(MAX_CHARS).collect();
    if trimmed.chars().count() > MAX_CHARS || body.len() > 4 * MAX_CHARS {
        result.push('…');
    }
    result
}

/// Replaces every JSON string that is not an object key with `"…"`. Works on
/// truncated JSON too: an unterminated string is a value and is dropped.
fn redact_json_values(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '"' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut closed = false;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '"' => {
                    closed = true;
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        let end = i.min(chars.len());
        let is_key = closed
            && chars[end..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(|&c| c == ':');
        if is_key {
            out.extend(&chars[start..end]);
        } else {
            out.push_str("\"…\"");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn oauth_error_body() {
        let e = error_from_response(&response(
            400,
            r#"{"error": "invalid_grant", "error_description": "refresh token revoked"}"#,
        ));
        let api = e.api_error().unwrap();
        assert!(api.is_invalid_grant());
        assert_eq!(
            e.to_string(),
            "Globus Auth answered HTTP 400 invalid_grant: refresh token revoked"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn api_error_body() {
        let e = error_from_response(&response(
            403,
            r#"{"errors": [{"code": "FORBIDDEN", "detail": "no", "id": "abc"}]}"#,
        ));
        assert_eq!(
            e,
            ResponseError::Api(ApiError {
                status: 403,
                code: Some("FORBIDDEN".into()),
                description: Some("no".into()),
                request_id: Some("abc".into()),
                retry_after: None,
            })
        );
    }

    #[test]
    fn html_and_empty_bodies() {
        let e = error_from_response(&response(502, "<html><body>Bad Gateway</body></html>"));
        assert!(e.is_retryable());
        match &e {
            ResponseError::Unexpected {
                status, excerpt, ..
            } => {
                assert_eq!(*status, 502);
                assert!(excerpt.contains("Bad Gateway"));
            }
            other => panic!("{other:?}"),
        }
        let e = error_from_response(&response(500, ""));
        assert!(e.to_string().contains("empty body"));
    }

    #[test]
    fn retry_after_header() {
        let r = http::Response::builder()
            .status(429)
            .header("Retry-After", "7")
            .body(b"{}".to_vec())
            .unwrap();
        let e = error_from_response(&r);
        assert_eq!(e.retry_after(), Some(7));
        assert!(e.is_retryable());
    }

    #[test]
    fn excerpt_redacts_tokens_and_bounds_length() {
        let body =
            r#"{"access_token": "AT", "scope": "openid", "n": 1, "esc": "a\"b", "cut": "AgV8"#;
        let ex = excerpt(body.as_bytes());
        assert_eq!(
            ex,
            r#"{"access_token": "…", "scope": "…", "n": 1, "esc": "…", "cut": "…""#
        );
        let html = "<p>token AgV8ab3Kq0JmYyZxQ9wP2sTuVn4eR7hL here</p>";
        assert_eq!(excerpt(html.as_bytes()), "<p>token [redacted] here</p>");
        let long = "x ".repeat(1000);
        assert!(excerpt(long.as_bytes()).chars().count() <= 121);
        assert_eq!(excerpt(&[0xff, 0xfe, b'a']), "\u{fffd}\u{fffd}a");
    }
}
