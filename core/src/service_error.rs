//! The error a caller gets from any Globus service's non-2xx answer.
//!
//! [`GlobusApiError::from_response`] reads the error body of Transfer, Auth, Groups,
//! Search, Flows, Timers, Compute and Globus Connect Server alike (they share no
//! single format) into one value: the HTTP status, the service's error code, a
//! human-readable message, the request id to quote to Globus support, the
//! sub-errors, the login requirements of a Globus Auth Requirements Error (GARE), and
//! `Retry-After`. It never panics, whatever the bytes.
//!
//! ## Formats read
//!
//! The body is read as JSON whatever its `Content-Type` says. Fields of the wrong
//! type are ignored, as if absent.
//!
//! | service | shape | fields read |
//! |---|---|---|
//! | Transfer (and Groups, Search: "type zero") | `{"code", "message", "request_id", …}` | `code` → code, `message` → message, `request_id`, Transfer's `resource`, Search's `error_data` |
//! | Transfer `ConsentRequired` | type zero plus `required_scopes: [..]` | as above, and the scopes → [`authorization_parameters`](GlobusApiError::authorization_parameters) |
//! | Auth API (JSON:API) | `{"errors": [{"code", "detail", "title", "id", "status"}]}` | each entry → a [`SubError`]; the code when all entries agree on one; the messages (`detail`, else `title`) joined with `"; "`; the request id when the entries carry one distinct `id` |
//! | Auth OAuth2 | `{"error": "invalid_grant", "error_description"}` | `error` → code, `error_description` → message |
//! | Flows, Timers | `{"error": {"code", "detail"}, "debug_id"}` | `error.code` → code, `error.detail` (or `message`, `title`) → message, `debug_id` → request id |
//! | Flows, Timers validation | `{"error": {"code", "detail": [{"loc", "msg", "type"}]}}` or FastAPI's top-level `{"detail": [{"loc", "msg", "type"}]}` | each item → a [`SubError`] with its location; the message is `"<msg> (at <loc>)"` per item, joined with `"; "` |
//! | Compute | `{"code", "reason", "error_args", "status": "Failed"}` or FastAPI's `{"detail": "…"}` | `code` (text or number) → code, `reason` or `detail` → message |
//! | GARE | `{"code": "AuthorizationRequired", "authorization_parameters": {…}}`, at the top or in `errors` | the parameters, through [`parse_authorization_requirements`](crate::app::parse_authorization_requirements) (which knows the legacy shapes too), `description` → message |
//! | anything else | HTML, empty, truncated JSON, JSON without code or message | the status, `Retry-After`, and a short secret-free [`excerpt`](GlobusApiError::excerpt) of the body |
//!
//! When a body gives several candidates, the order is: a top-level `code` or
//! `message`, then the `error` object, then the sub-errors, then the OAuth2 fields,
//! then `detail`, `title`, `description` and `reason` at the top.
//!
//! ```
//! use globus_app_core::GlobusApiError;
//!
//! let response = http::Response::builder()
//!     .status(404)
//!     .body(br#"{"code": "ClientError.NotFound", "message": "Path not found",
//!                "request_id": "KEaVmEH6s", "resource": "/operation/endpoint/x/ls"}"#.to_vec())
//!     .unwrap();
//! let error = GlobusApiError::from_response(&response);
//! assert_eq!(error.code.as_deref(), Some("ClientError.NotFound"));
//! assert_eq!(
//!     error.to_string(),
//!     "HTTP 404 ClientError.NotFound: Path not found (request id KEaVmEH6s)"
//! );
//! assert!(!error.is_retryable() && !error.is_authorization_required());
//! ```

use crate::HttpResponse;
use crate::error::{excerpt, is_retryable_status, retry_after};
use crate::oauth::AuthorizationParameters;
use serde_json::{Map, Value};
use std::fmt;

/// How many characters of a message `Display` shows before cutting it.
const DISPLAY_MAX_CHARS: usize = 300;

/// A Globus service's error answer (any non-2xx response), read from any of the
/// formats Globus services use (see the [module documentation](self)).
///
/// Its `Display` is one line, `HTTP <status> <code>: <message> (request id <id>)`,
/// and never quotes a token from the body: a body that is not understood shows
/// only as a redacted [`excerpt`](Self::excerpt).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobusApiError {
    /// The HTTP status.
    pub status: u16,
    /// The service's error code (`ClientError.NotFound`, `ConsentRequired`,
    /// `invalid_grant`, …), if it gave one. A numeric code is given as its text.
    pub code: Option<String>,
    /// The human-readable message; several sub-errors' messages are joined with
    /// `"; "`.
    pub message: Option<String>,
    /// The id of the request at Globus (`request_id`, Flows' and Timers' `debug_id`,
    /// or Auth's sub-error `id`): quote it to Globus support.
    pub request_id: Option<String>,
    /// The sub-errors the body lists (Auth's `errors`, a validation error's items,
    /// Flows' and Timers' `error` object); empty if it lists none.
    pub errors: Vec<SubError>,
    /// The login that would let the request succeed, when the body is a Globus Auth
    /// Requirements Error or one of its legacy shapes (Transfer's `ConsentRequired`).
    pub authorization_parameters: Option<AuthorizationParameters>,
    /// Seconds to wait before retrying, from a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// Transfer's `resource`: the API path that answered.
    pub resource: Option<String>,
    /// Search's `error_data`: more about the error, as the service sent it.
    pub error_data: Option<Value>,
    /// When the body gave neither a code nor a message (HTML, empty, truncated, or
    /// JSON of another shape): a short start of it, with every JSON string value and
    /// every token-like run of characters removed. `None` otherwise.
    pub excerpt: Option<String>,
}

/// One entry of a Globus error body's list of errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubError {
    /// The entry's `code` (a numeric code as its text).
    pub code: Option<String>,
    /// The entry's message: `message`, `detail`, `msg` or `description`, else
    /// `title`.
    pub message: Option<String>,
    /// The entry's `title` (Auth's short form of the HTTP status, like
    /// `"Unauthorized"`).
    pub title: Option<String>,
    /// The entry's `id` (Auth: the request's id).
    pub id: Option<String>,
    /// Where a validation error is: the `loc` path joined with `.`
    /// (`"body.start"`).
    pub location: Option<String>,
    /// The kind of a validation error: its `type` (`"value_error.missing"`).
    pub kind: Option<String>,
}

impl GlobusApiError {
    /// Reads a service's answer. Meant for non-2xx responses, but reads any; never
    /// panics.
    ///
    /// ```
    /// use globus_app_core::GlobusApiError;
    ///
    /// let response = http::Response::builder()
    ///     .status(502)
    ///     .header("Retry-After", "5")
    ///     .body(b"<html><body>Bad Gateway</body></html>".to_vec())
    ///     .unwrap();
    /// let error = GlobusApiError::from_response(&response);
    /// assert_eq!((&error.code, &error.message), (&None, &None));
    /// assert_eq!(error.excerpt.as_deref(), Some("<html><body>Bad Gateway</body></html>"));
    /// assert!(error.is_retryable());
    /// assert_eq!(error.retry_after, Some(5));
    /// ```
    pub fn from_response(response: &HttpResponse) -> GlobusApiError {
        let body = response.body();
        let mut error = GlobusApiError {
            status: response.status().as_u16(),
            code: None,
            message: None,
            request_id: None,
            errors: Vec::new(),
            authorization_parameters: crate::app::parse_authorization_requirements(body),
            retry_after: retry_after(response),
            resource: None,
            error_data: None,
            excerpt: None,
        };
        if let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) {
            error.read(&doc);
        }
        if error.code.is_none() && error.message.is_none() {
            error.excerpt = Some(excerpt(body));
        }
        error
    }

    /// Fills the fields from a JSON object body.
    fn read(&mut self, doc: &Map<String, Value>) {
        let error_object = doc.get("error").and_then(Value::as_object);
        self.errors = if let Some(list) = objects(doc.get("errors")) {
            list.into_iter().map(SubError::from_object).collect()
        } else if let Some(object) = error_object {
            match objects(object.get("detail")) {
                Some(items) => items.into_iter().map(SubError::from_object).collect(),
                None => vec![SubError::from_object(object)],
            }
        } else if let Some(items) = objects(doc.get("detail")) {
            items.into_iter().map(SubError::from_object).collect()
        } else {
            Vec::new()
        };

        self.code = code(doc.get("code"))
            .or_else(|| error_object.and_then(|e| code(e.get("code"))))
            .or_else(|| self.common(|e| e.code.as_deref()))
            .or_else(|| text(doc.get("error")));
        let sub_messages = self
            .errors
            .iter()
            .filter_map(SubError::full_message)
            .collect::<Vec<_>>();
        self.message = text(doc.get("message"))
            .or_else(|| {
                // A single `error` object that is not a list of items speaks for itself.
                let object = error_object?;
                objects(object.get("detail"))
                    .is_none()
                    .then(|| message_of(object))?
            })
            .or_else(|| (!sub_messages.is_empty()).then(|| sub_messages.join("; ")))
            .or_else(|| text(doc.get("error_description")))
            .or_else(|| {
                ["detail", "title", "description", "reason"]
                    .iter()
                    .find_map(|key| text(doc.get(*key)))
            });
        self.request_id = text(doc.get("request_id"))
            .or_else(|| text(doc.get("debug_id")))
            .or_else(|| self.common(|e| e.id.as_deref()));
        self.resource = text(doc.get("resource"));
        self.error_data = doc.get("error_data").filter(|v| !v.is_null()).cloned();
    }

    /// The value every sub-error that has one agrees on, if exactly one.
    fn common(&self, field: impl Fn(&SubError) -> Option<&str>) -> Option<String> {
        let mut values = self.errors.iter().filter_map(field);
        let first = values.next()?;
        values.all(|v| v == first).then(|| first.to_owned())
    }

    /// Returns true when the service says which login would let the request succeed
    /// (a Globus Auth Requirements Error, or Transfer's `ConsentRequired`): log in
    /// with [`authorization_parameters`](Self::authorization_parameters) and send the
    /// request again.
    ///
    /// ```
    /// use globus_app_core::GlobusApiError;
    ///
    /// let response = http::Response::builder()
    ///     .status(403)
    ///     .body(br#"{"code": "AuthorizationRequired", "authorization_parameters":
    ///                {"session_required_single_domain": ["example.edu"]}}"#.to_vec())
    ///     .unwrap();
    /// let error = GlobusApiError::from_response(&response);
    /// assert!(error.is_authorization_required());
    /// let params = error.authorization_parameters().unwrap();
    /// assert_eq!(params.session_required_single_domain, ["example.edu"]);
    /// ```
    pub fn is_authorization_required(&self) -> bool {
        self.authorization_parameters.is_some()
    }

    /// Returns the login requirements the service stated, if any (see
    /// [`is_authorization_required`](Self::is_authorization_required)).
    pub fn authorization_parameters(&self) -> Option<&AuthorizationParameters> {
        self.authorization_parameters.as_ref()
    }

    /// Returns true if the same request may succeed later: HTTP 429 and 5xx.
    /// [`retry_after`](Self::retry_after) says when, if the service said.
    pub fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
}

impl SubError {
    fn from_object(object: &Map<String, Value>) -> SubError {
        let location = object.get("loc").and_then(Value::as_array).map(|parts| {
            parts
                .iter()
                .map(|part| match part {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        });
        SubError {
            code: code(object.get("code")),
            message: message_of(object).or_else(|| text(object.get("title"))),
            title: text(object.get("title")),
            id: text(object.get("id")),
            location: location.filter(|l| !l.is_empty()),
            kind: text(object.get("type")),
        }
    }

    /// The message with its location, as the error's message shows it.
    fn full_message(&self) -> Option<String> {
        let message = self.message.as_deref()?;
        Some(match &self.location {
            Some(location) => format!("{message} (at {location})"),
            None => message.to_owned(),
        })
    }
}

/// An object's message: the first text of `message`, `detail`, `msg`, `description`.
fn message_of(object: &Map<String, Value>) -> Option<String> {
    ["message", "detail", "msg", "description"]
        .iter()
        .find_map(|key| text(object.get(*key)))
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// A code: text, or a number given as its text (Compute's older codes).
fn code(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-empty list of objects, or `None`.
fn objects(value: Option<&Value>) -> Option<Vec<&Map<String, Value>>> {
    let list: Vec<_> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// Writes `text` on one line: control characters (newlines included) become
/// spaces, and a long text is cut after `max` characters.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str, max: usize) -> fmt::Result {
    for (count, c) in text.chars().enumerate() {
        if count == max {
            return f.write_str("…");
        }
        if c.is_control() {
            f.write_str(" ")?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

impl fmt::Display for GlobusApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            f.write_str(" ")?;
            one_line(f, code, 100)?;
        }
        f.write_str(": ")?;
        match (&self.message, &self.excerpt) {
            (Some(message), _) => one_line(f, message, DISPLAY_MAX_CHARS)?,
            (None, Some(excerpt)) if !excerpt.is_empty() => {
                f.write_str("unexpected body ")?;
                one_line(f, &format!("{excerpt:?}"), DISPLAY_MAX_CHARS)?;
            }
            (None, Some(_)) => f.write_str("empty body")?,
            (None, None) => f.write_str("no message")?,
        }
        if let Some(id) = &self.request_id {
            f.write_str(" (request id ")?;
            one_line(f, id, 100)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for GlobusApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(status: u16, body: &str) -> GlobusApiError {
        let response = http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap();
        GlobusApiError::from_response(&response)
    }

    #[test]
    fn display_is_one_line_and_bounded() {
        let long = "x".repeat(1000);
        let e = read(
            400,
            &format!(r#"{{"code": "A\nB", "message": "line 1\nline 2 {long}"}}"#),
        );
        let shown = e.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(
            shown.starts_with("HTTP 400 A B: line 1 line 2 x"),
            "{shown}"
        );
        assert!(shown.chars().count() < 400, "{shown}");
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn numeric_codes_and_mixed_ids() {
        let e = read(
            400,
            r#"{"errors": [{"code": 7, "id": "a"}, {"code": 7, "id": "b"}]}"#,
        );
        assert_eq!(e.code.as_deref(), Some("7"));
        assert_eq!(e.request_id, None);
        assert_eq!(e.message, None);
        assert!(e.excerpt.is_none());
        assert_eq!(e.to_string(), "HTTP 400 7: no message");
    }

    #[test]
    fn json_that_is_not_an_object() {
        for body in ["[]", "null", "\"text\"", "12"] {
            let e = read(500, body);
            assert_eq!(e.code, None);
            assert!(e.excerpt.is_some(), "{body}");
        }
        assert_eq!(read(500, "").to_string(), "HTTP 500: empty body");
    }
}
