//! What comes back from the authorize step: a redirect to the local server, or a
//! URL or code the user pastes; and the landing page the local server shows.
//!
//! Bytes in, bytes out: the adapter reads the request head from its loopback socket
//! and writes back the bytes this module produces.

use crate::AuthorizationCode;
use std::fmt::Write as _;

/// The query parameters of a redirect from the authorize step.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RedirectParams {
    code: Option<AuthorizationCode>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// A bare pasted code has no state to check; every URL must carry one.
    state_required: bool,
}

/// Why the authorize step did not yield a usable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// Globus Auth (or the user) refused: `error=access_denied` and the like.
    #[error("Globus Auth refused the login: {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        /// The OAuth2 error code.
        error: String,
        /// Globus Auth's description.
        description: Option<String>,
    },
    /// The `state` did not match this login (or was missing): the redirect belongs
    /// to another login attempt, or was forged.
    #[error(
        "the login redirect does not belong to this login (state mismatch); start the login again"
    )]
    StateMismatch,
    /// The redirect has neither a code nor an error.
    #[error("the login redirect carries no authorization code")]
    MissingCode,
    /// The input is not a redirect URL, a code, or an HTTP request.
    #[error("not a login redirect: {0}")]
    Malformed(String),
}

impl RedirectParams {
    /// Parses what a user pasted: the full redirect URL (or just its query) or the
    /// bare authorization code that Globus Auth's page shows.
    ///
    /// # Errors
    /// [`RedirectError::Malformed`] for empty input or text that is neither.
    ///
    /// ```
    /// use globus_app_core::redirect::RedirectParams;
    /// let bare = RedirectParams::from_pasted("  8gZKXuGhUwLdVcmWexDApm2Ca0Ujpx \n").unwrap();
    /// assert!(bare.has_code());
    /// let url = RedirectParams::from_pasted("http://localhost:1234/?code=abc&state=xyz").unwrap();
    /// assert_eq!(url.state(), Some("xyz"));
    /// ```
    pub fn from_pasted(input: &str) -> Result<RedirectParams, RedirectError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(RedirectError::Malformed("nothing was entered".into()));
        }
        if let Some((_, query)) = input.split_once('?') {
            let query = query.split('#').next().unwrap_or_default();
            return Ok(RedirectParams::from_query(query));
        }
        if input.contains('=') {
            return Ok(RedirectParams::from_query(input));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) || input.len() > 512 {
            return Err(RedirectError::Malformed(
                "expected the authorization code or the URL of the page it is on".into(),
            ));
        }
        Ok(RedirectParams {
            code: Some(AuthorizationCode::new(input)),
            ..RedirectParams::default()
        })
    }

    /// Parses a URL query string (`code=…&state=…` or `error=…`).
    pub fn from_query(query: &str) -> RedirectParams {
        let mut params = RedirectParams {
            state_required: true,
            ..RedirectParams::default()
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "code" => params.code = Some(AuthorizationCode::new(value)),
                "state" => params.state = Some(value),
                "error" => params.error = Some(value),
                "error_description" => params.error_description = Some(value),
                _ => {}
            }
        }
        params
    }

    /// The parameters as a query (`code=…&state=…`, or `error=…`), in a fixed order;
    /// [`from_query`](Self::from_query) reads it back.
    ///
    /// ```
    /// use globus_app_core::redirect::RedirectParams;
    /// let params = RedirectParams::from_query("state=xyz&code=abc&other=1");
    /// assert_eq!(params.to_query(), "code=abc&state=xyz");
    /// ```
    pub fn to_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(code) = &self.code {
            query.append_pair("code", code.secret());
        }
        let fields = [
            ("state", &self.state),
            ("error", &self.error),
            ("error_description", &self.error_description),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }

    /// Whether the redirect must carry the login's state: false only for a bare
    /// code pasted at the prompt.
    pub fn state_required(&self) -> bool {
        self.state_required
    }

    /// The parameters a transcript recorded.
    pub(crate) fn from_recorded(query: &str, state_required: bool) -> RedirectParams {
        RedirectParams {
            state_required,
            ..RedirectParams::from_query(query)
        }
    }

    /// Returns true if an authorization code is present.
    pub fn has_code(&self) -> bool {
        self.code.is_some()
    }

    /// Returns the `state` parameter, if present.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Returns the `error` and `error_description`, if Globus Auth sent an error.
    pub fn error(&self) -> Option<(&str, Option<&str>)> {
        self.error
            .as_deref()
            .map(|e| (e, self.error_description.as_deref()))
    }

    /// Returns true if this redirect has a code or an error: something a login
    /// waits for (a stray request such as `/favicon.ico` has neither).
    pub fn is_login_response(&self) -> bool {
        self.code.is_some() || self.error.is_some()
    }

    /// Checks the state and returns the code.
    ///
    /// # Errors
    /// See [`LoginAttempt::complete`](crate::oauth::LoginAttempt::complete).
    pub fn into_code(self, expected_state: &str) -> Result<AuthorizationCode, RedirectError> {
        if self.state_required || self.state.is_some() {
            let matches = self
                .state
                .as_deref()
                .is_some_and(|s| constant_time_eq(s.as_bytes(), expected_state.as_bytes()));
            if !matches {
                return Err(RedirectError::StateMismatch);
            }
        }
        if let Some(error) = self.error {
            return Err(RedirectError::Denied {
                error,
                description: self.error_description,
            });
        }
        self.code.ok_or(RedirectError::MissingCode)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request that arrived at the local server's loopback socket.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncomingRequest {
    /// A GET on the redirect path with a code or an error: the login's answer.
    Redirect(RedirectParams),
    /// Anything else (`/favicon.ico`, a probe, a GET without parameters): answer
    /// with [`not_found_response`] and keep waiting.
    Other,
}

/// Parses the head of an HTTP request that arrived at the local server.
///
/// `redirect_path` is the path of the redirect URI (`/` for `http://localhost:PORT`).
/// Only the request line is needed; headers are ignored.
///
/// # Errors
/// [`RedirectError::Malformed`] when the bytes are not an HTTP/1.x request line.
///
/// ```
/// use globus_app_core::redirect::{parse_incoming, IncomingRequest};
/// let head = b"GET /?code=abc&state=s HTTP/1.1\r\nHost: localhost\r\n\r\n";
/// assert!(matches!(parse_incoming(head, "/").unwrap(), IncomingRequest::Redirect(_)));
/// let favicon = b"GET /favicon.ico HTTP/1.1\r\n\r\n";
/// assert_eq!(parse_incoming(favicon, "/").unwrap(), IncomingRequest::Other);
/// ```
pub fn parse_incoming(head: &[u8], redirect_path: &str) -> Result<IncomingRequest, RedirectError> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .or_else(|| head.iter().position(|&b| b == b'\n'))
        .unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..line_end])
        .map_err(|_| RedirectError::Malformed("request line is not UTF-8".into()))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RedirectError::Malformed("not an HTTP request line".into()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(RedirectError::Malformed("not HTTP/1.x".into()));
    }
    if method != "GET" {
        return Ok(IncomingRequest::Other);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let wanted = if redirect_path.is_empty() {
        "/"
    } else {
        redirect_path
    };
    if path != wanted {
        return Ok(IncomingRequest::Other);
    }
    let params = RedirectParams::from_query(query);
    if params.is_login_response() {
        Ok(IncomingRequest::Redirect(params))
    } else {
        Ok(IncomingRequest::Other)
    }
}

/// The outcome the landing page reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LandingOutcome<'a> {
    /// The login succeeded; the user can close the tab.
    Success,
    /// The login failed, with the error's description.
    Failure(&'a str),
}

/// Returns a complete HTTP/1.1 response (head and body) with the landing page the
/// user's browser shows after the redirect. The error text is HTML-escaped.
///
/// ```
/// use globus_app_core::redirect::{landing_page_response, LandingOutcome};
/// let bytes = landing_page_response("My App", LandingOutcome::Failure("<script>"));
/// let text = String::from_utf8(bytes).unwrap();
/// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(text.contains("Login failed") && text.contains("&lt;script&gt;"));
/// ```
pub fn landing_page_response(app_name: &str, outcome: LandingOutcome<'_>) -> Vec<u8> {
    let (title, message) = match outcome {
        LandingOutcome::Success => (
            "Login successful",
            "You have logged in. You may close this tab and return to the application.".to_owned(),
        ),
        LandingOutcome::Failure(description) => (
            "Login failed",
            format!(
                "The login did not complete: {}. Return to the application to try again.",
                escape_html(description.trim_end_matches('.'))
            ),
        ),
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} - {app}</title><style>\
body{{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1d2733;display:flex;\
justify-content:center;padding-top:12vh;margin:0}}\
main{{background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);\
padding:2em 2.5em;max-width:32em}}h1{{margin-top:0;font-size:1.4em}}\
</style></head><body><main><h1>{title}</h1><p>{message}</p><p><small>{app}</small></p>\
</main></body></html>\n",
        app = escape_html(app_name),
    );
    http_response("200 OK", "text/html; charset=utf-8", &body)
}

/// A landing page of the user's own, as the reference's `html_template`: HTML with
/// the placeholders `$login_result` ("Login successful" or "Login failed") and
/// `$post_login_message` (empty, or the error Globus Auth gave), written `$name` or
/// `${name}`, and `$$` for a dollar sign. Unlike the reference, the values are
/// HTML-escaped (the error text comes from the redirect's query, which anyone can
/// write).
///
/// ```
/// use globus_app_core::redirect::{LandingOutcome, LandingTemplate};
/// let template = LandingTemplate::new("<h1>${login_result}</h1><p>$post_login_message</p><p>$$5</p>").unwrap();
/// assert_eq!(template.render(LandingOutcome::Success), "<h1>Login successful</h1><p></p><p>$5</p>");
/// assert_eq!(
///     template.render(LandingOutcome::Failure("<b>denied</b>")),
///     "<h1>Login failed</h1><p>&lt;b&gt;denied&lt;/b&gt;</p><p>$5</p>"
/// );
/// assert!(LandingTemplate::new("$app_name").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LandingTemplate {
    parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TemplatePart {
    Text(String),
    LoginResult,
    PostLoginMessage,
}

/// Why a landing-page template was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A placeholder other than `login_result` and `post_login_message`.
    #[error(
        "the landing page template names ${name}, which is not a placeholder (use $login_result and $post_login_message, and $$ for a dollar sign)"
    )]
    UnknownPlaceholder {
        /// The name after `$`.
        name: String,
    },
    /// A `$` followed by neither a name, `{name}` nor `$`.
    #[error(
        "the landing page template has a lone $ at byte {position} (write $$ for a dollar sign)"
    )]
    Invalid {
        /// Where, in bytes from the start.
        position: usize,
    },
}

impl LandingTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// An unknown placeholder or a lone `$`, as the reference's `Template.substitute`
    /// would refuse it.
    pub fn new(template: &str) -> Result<LandingTemplate, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let position = template.len() - rest.len() + at;
            let (name, consumed) = if let Some(stripped) = after.strip_prefix('$') {
                text.push('$');
                rest = stripped;
                continue;
            } else if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or(TemplateError::Invalid { position })?;
                (&braced[..end], end + 2)
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(TemplateError::Invalid { position });
            }
            let part = match name {
                "login_result" => TemplatePart::LoginResult,
                "post_login_message" => TemplatePart::PostLoginMessage,
                other => {
                    return Err(TemplateError::UnknownPlaceholder {
                        name: other.to_owned(),
                    });
                }
            };
            if !text.is_empty() {
                parts.push(TemplatePart::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
            rest = &after[consumed..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(TemplatePart::Text(text));
        }
        Ok(LandingTemplate { parts })
    }

    /// Fills the template for an outcome (the values HTML-escaped).
    pub fn render(&self, outcome: LandingOutcome<'_>) -> String {
        let (result, message) = match outcome {
            LandingOutcome::Success => ("Login successful", String::new()),
            LandingOutcome::Failure(description) => ("Login failed", escape_html(description)),
        };
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::LoginResult => out.push_str(result),
                TemplatePart::PostLoginMessage => out.push_str(&message),
            }
        }
        out
    }

    /// Returns a complete HTTP/1.1 response with the filled template.
    pub fn response(&self, outcome: LandingOutcome<'_>) -> Vec<u8> {
        http_response("200 OK", "text/html; charset=utf-8", &self.render(outcome))
    }
}

/// Returns a complete `404 Not Found` response for stray requests.
pub fn not_found_response() -> Vec<u8> {
    http_response("404 Not Found", "text/plain; charset=utf-8", "Not Found\n")
}

fn http_response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    let mut out = String::with_capacity(body.len() + 160);
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    out.into_bytes()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_as_the_reference_s_string_template() {
        let t = LandingTemplate::new("a$login_result-${post_login_message}b").unwrap();
        assert_eq!(
            t.render(LandingOutcome::Failure("x&y")),
            "aLogin failed-x&amp;yb"
        );
        assert_eq!(
            LandingTemplate::new("no placeholders")
                .unwrap()
                .render(LandingOutcome::Success),
            "no placeholders"
        );
        assert_eq!(
            LandingTemplate::new("")
                .unwrap()
                .render(LandingOutcome::Success),
            ""
        );
        for (bad, error) in [
            ("$", TemplateError::Invalid { position: 0 }),
            ("ab$ cd", TemplateError::Invalid { position: 2 }),
            ("${login_result", TemplateError::Invalid { position: 0 }),
            ("${}", TemplateError::Invalid { position: 0 }),
            ("$1x", TemplateError::Invalid { position: 0 }),
            (
                "$error",
                TemplateError::UnknownPlaceholder {
                    name: "error".into(),
                },
            ),
        ] {
            assert_eq!(LandingTemplate::new(bad), Err(error), "{bad}");
        }
        let response = String::from_utf8(
            LandingTemplate::new("é $$")
                .unwrap()
                .response(LandingOutcome::Success),
        )
        .unwrap();
        assert!(response.ends_with("\r\n\r\né $"), "{response}");
        assert!(response.contains("Content-Length: 4\r\n"), "{response}");
    }

    #[test]
    fn pasted_inputs() {
        assert!(matches!(
            RedirectParams::from_pasted(""),
            Err(RedirectError::Malformed(_))
        ));
        assert!(matches!(
            RedirectParams::from_pasted(" \n"),
            Err(RedirectError::Malformed(_))
        ));
        assert!(matches!(
            RedirectParams::from_pasted("two words"),
            Err(RedirectError::Malformed(_))
        ));
        let bare = RedirectParams::from_pasted("abc").unwrap();
        assert_eq!(bare.into_code("anything").unwrap().secret(), "abc");
        let query = RedirectParams::from_pasted("code=abc&state=s").unwrap();
        assert_eq!(query.into_code("s").unwrap().secret(), "abc");
        let url = RedirectParams::from_pasted(
            "https://auth.globus.org/v2/web/auth-code?code=abc&state=s#frag",
        )
        .unwrap();
        assert_eq!(url.into_code("other"), Err(RedirectError::StateMismatch));
    }

    #[test]
    fn state_is_required_on_urls() {
        let no_state = RedirectParams::from_query("code=abc");
        assert_eq!(no_state.into_code("s"), Err(RedirectError::StateMismatch));
        let denied = RedirectParams::from_query(
            "error=access_denied&error_description=User+said+no&state=s",
        );
        assert_eq!(
            denied.clone().into_code("s"),
            Err(RedirectError::Denied {
                error: "access_denied".into(),
                description: Some("User said no".into())
            })
        );
        assert_eq!(denied.into_code("t"), Err(RedirectError::StateMismatch));
        assert_eq!(
            RedirectParams::from_query("state=s&x=1").into_code("s"),
            Err(RedirectError::MissingCode)
        );
    }

    #[test]
    fn incoming_requests() {
        let r = parse_incoming(
            b"GET /callback?code=c&state=s HTTP/1.1\r\n\r\n",
            "/callback",
        )
        .unwrap();
        match r {
            IncomingRequest::Redirect(p) => assert_eq!(p.into_code("s").unwrap().secret(), "c"),
            IncomingRequest::Other => panic!("expected a redirect"),
        }
        assert_eq!(
            parse_incoming(b"GET /?code=c HTTP/1.1\r\n", "/callback").unwrap(),
            IncomingRequest::Other
        );
        assert_eq!(
            parse_incoming(b"POST /?code=c HTTP/1.1\r\n", "/").unwrap(),
            IncomingRequest::Other
        );
        assert_eq!(
            parse_incoming(b"GET / HTTP/1.1\r\n", "").unwrap(),
            IncomingRequest::Other
        );
        for bad in [
            &b""[..],
            b"GET",
            b"GET / SPDY/3\r\n",
            b"\xff\xfe / HTTP/1.1\r\n",
            b"GET  / HTTP/1.1\r\n",
        ] {
            assert!(parse_incoming(bad, "/").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn landing_pages() {
        let ok =
            String::from_utf8(landing_page_response("A & B", LandingOutcome::Success)).unwrap();
        assert!(ok.contains("Login successful") && ok.contains("A &amp; B"));
        let head_len = ok.find("\r\n\r\n").unwrap() + 4;
        let declared: usize = ok
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(declared, ok.len() - head_len);
        let nf = String::from_utf8(not_found_response()).unwrap();
        assert!(nf.starts_with("HTTP/1.1 404 Not Found\r\n"));
    }
}
