//! Endpoints and the faults a test can inject into them.

use std::time::Duration;

use serde_json::json;

use crate::wire::Response;

/// An endpoint of the fake server, for fault injection and the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /v2/oauth2/authorize`
    Authorize,
    /// `POST /v2/oauth2/token` (every grant type)
    Token,
    /// `POST /v2/oauth2/token/revoke`
    Revoke,
    /// `POST /v2/oauth2/token/introspect`
    Introspect,
    /// `GET /v2/oauth2/userinfo`
    Userinfo,
    /// `GET /.well-known/openid-configuration`
    OpenidConfiguration,
    /// `GET /jwk.json`
    Jwks,
    /// `GET /v2/api/identities/{id}/consents`
    Consents,
    /// `GET /v2/web/auth-code` (the page that shows a code to paste)
    AuthCodePage,
    /// Any path the server does not know (answered `404`).
    Unknown,
    /// Any request to a stand-in resource server (see
    /// [`crate::FakeAuth::resource_server_url`]), whatever its method and path. The log
    /// entry's [`crate::LoggedRequest::resource_server`] names which one; a fault
    /// injected for this endpoint applies to every stand-in, one injected with
    /// [`crate::FakeAuth::inject_resource_server_fault`] to one of them.
    ResourceServer,
    /// Matches every endpoint when injecting a fault, the stand-in resource servers'
    /// included (never appears in the log).
    Any,
}

impl Endpoint {
    /// The endpoint a request path names (the method is checked by the handler).
    pub(crate) fn from_path(path: &str) -> Endpoint {
        match path {
            "/v2/oauth2/authorize" => Endpoint::Authorize,
            "/v2/oauth2/token" => Endpoint::Token,
            "/v2/oauth2/token/revoke" => Endpoint::Revoke,
            "/v2/oauth2/token/introspect" => Endpoint::Introspect,
            "/v2/oauth2/userinfo" => Endpoint::Userinfo,
            "/.well-known/openid-configuration" => Endpoint::OpenidConfiguration,
            "/jwk.json" => Endpoint::Jwks,
            "/v2/web/auth-code" => Endpoint::AuthCodePage,
            _ if consents_identity(path).is_some() => Endpoint::Consents,
            _ => Endpoint::Unknown,
        }
    }

    /// Whether a fault injected for `self` applies to a request to `target`.
    pub(crate) fn matches(self, target: Endpoint) -> bool {
        self == Endpoint::Any || self == target
    }
}

/// The identity id in `/v2/api/identities/{id}/consents`.
pub(crate) fn consents_identity(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/v2/api/identities/")?
        .strip_suffix("/consents")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// A failure to inject instead of (or, for [`Fault::Delay`], before) the normal answer.
///
/// Except for `Delay`, a faulted request is not processed: no code is consumed, no token
/// issued or revoked. It is logged with its status (none for a dropped connection) and
/// the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `500` with a Globus-shaped JSON error body.
    InternalServerError,
    /// `503` with a Globus-shaped JSON error body.
    ServiceUnavailable,
    /// `429` with `Retry-After: {retry_after}` (seconds) and a JSON error body.
    TooManyRequests {
        /// The `Retry-After` value in seconds.
        retry_after: u64,
    },
    /// An HTML page with this status (a proxy's error page, a captive portal).
    Html {
        /// The status code, e.g. `502`, or `200` for a captive portal.
        status: u16,
    },
    /// `200` with `Content-Type: application/json` and a JSON body cut in the middle
    /// (correctly framed: the client reads every byte and then fails to parse).
    TruncatedJson,
    /// `200` whose `Content-Length` promises more bytes than are sent before the
    /// connection closes (the client sees an I/O error mid-body).
    IncompleteBody,
    /// Wait this long, then answer normally. The wait ends early (and the connection
    /// closes) when the server shuts down.
    Delay(Duration),
    /// Read the request, then close the connection without a response.
    DropConnection,
    /// `400 {"error": "invalid_grant"}`, as for a revoked or expired grant.
    InvalidGrant,
    /// Any status with a Globus-shaped JSON error body.
    Status(u16),
    /// This status with `Retry-After: {retry_after}` (seconds) and a JSON error body,
    /// e.g. a `503` that says when to come back.
    RetryAfter {
        /// The status code, e.g. `503`.
        status: u16,
        /// The `Retry-After` value in seconds.
        retry_after: u64,
    },
    /// This status and body, sent as `application/json` exactly as given (a fixed
    /// answer, e.g. Transfer's `403 ConsentRequired`; see
    /// [`crate::FakeAuth::respond_once`]).
    Json {
        /// The status code.
        status: u16,
        /// The body, sent as is (it need not be valid JSON).
        body: String,
    },
}

/// How the connection should answer a faulted request.
pub(crate) enum FaultAction {
    /// Write this response (with `Content-Length` overridden when `declared_length` is
    /// set, then close the connection).
    Respond {
        response: Response,
        declared_length: Option<usize>,
    },
    /// Close without answering.
    Drop,
}

/// Which service's error shape a fault's body takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorStyle {
    /// Globus Auth's (`{"errors": [...], "error": ...}`), see [`api_error`].
    Auth,
    /// The other Globus services' (Transfer's `{"code", "message", "request_id",
    /// "http_status"}`), see [`service_error`].
    Service,
}

impl ErrorStyle {
    /// An error body in this style; `code` is Globus Auth's upper-case form
    /// (`SERVICE_UNAVAILABLE`), turned into the services' camel case
    /// (`ServiceUnavailable`) for [`ErrorStyle::Service`].
    fn error(self, status: u16, code: &str, detail: &str) -> Response {
        match self {
            ErrorStyle::Auth => api_error(status, code, detail),
            ErrorStyle::Service => service_error(status, &camel_case(code), detail, None),
        }
    }
}

/// `SERVICE_UNAVAILABLE` → `ServiceUnavailable`.
fn camel_case(code: &str) -> String {
    code.split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// An error body shaped like the Globus services' (Transfer's):
/// `{"code", "message", "request_id", "http_status"}`, and `resource` (the path) when
/// given.
pub(crate) fn service_error(
    status: u16,
    code: &str,
    message: &str,
    resource: Option<&str>,
) -> Response {
    let mut body = json!({
        "code": code,
        "message": message,
        "request_id": format!("fake-rs-error-{status}"),
        "http_status": status,
    });
    if let Some(resource) = resource {
        body["resource"] = json!(resource);
    }
    Response::json(status, &body)
}

/// A Globus Auth API-shaped error body (`{"errors": [...], "error": ...}`).
pub(crate) fn api_error(status: u16, code: &str, detail: &str) -> Response {
    let title = crate::wire::reason_phrase(status);
    Response::json(
        status,
        &json!({
            "errors": [{
                "status": status.to_string(),
                "code": code,
                "title": title,
                "detail": detail,
                "id": format!("fake-auth-error-{status}"),
            }],
            "error": code.to_ascii_lowercase(),
            "error_description": detail,
        }),
    )
}

impl Fault {
    /// The response a non-delay fault produces, its error body in `style`.
    pub(crate) fn action(&self, style: ErrorStyle) -> FaultAction {
        let respond = |response| FaultAction::Respond {
            response,
            declared_length: None,
        };
        match self {
            Fault::InternalServerError => respond(style.error(
                500,
                "INTERNAL_SERVER_ERROR",
                "Injected fault: internal server error",
            )),
            Fault::ServiceUnavailable => respond(style.error(
                503,
                "SERVICE_UNAVAILABLE",
                "Injected fault: service unavailable",
            )),
            Fault::TooManyRequests { retry_after } => {
                let mut response = style.error(
                    429,
                    "TOO_MANY_REQUESTS",
                    "Injected fault: rate limited, retry later",
                );
                response.set_header("Retry-After", &retry_after.to_string());
                respond(response)
            }
            Fault::Html { status } => respond(Response::html(
                *status,
                format!(
                    "<!DOCTYPE html>\n<html><head><title>{status} {}</title></head>\
                     <body><h1>{status} {}</h1><p>Injected fault: an HTML page where JSON \
                     was expected.</p></body></html>\n",
                    crate::wire::reason_phrase(*status),
                    crate::wire::reason_phrase(*status)
                ),
            )),
            Fault::TruncatedJson => respond(Response::new(
                200,
                "application/json",
                "{\"access_token\": \"faAT_trunc",
            )),
            Fault::IncompleteBody => {
                let body = "{\"access_token\": \"faAT_short";
                FaultAction::Respond {
                    response: Response::new(200, "application/json", body),
                    declared_length: Some(body.len() * 2),
                }
            }
            Fault::InvalidGrant => respond(Response::json(
                400,
                &json!({"error": "invalid_grant", "error_description": "Injected fault: invalid grant"}),
            )),
            Fault::Status(status) => respond(style.error(
                *status,
                "INJECTED_FAULT",
                &format!("Injected fault: status {status}"),
            )),
            Fault::RetryAfter {
                status,
                retry_after,
            } => {
                // e.g. SERVICE_UNAVAILABLE (ServiceUnavailable for the services)
                let code = crate::wire::reason_phrase(*status)
                    .to_ascii_uppercase()
                    .replace(' ', "_");
                let mut response = style.error(
                    *status,
                    &code,
                    &format!("Injected fault: status {status}, retry after {retry_after} s"),
                );
                response.set_header("Retry-After", &retry_after.to_string());
                respond(response)
            }
            Fault::Json { status, body } => {
                respond(Response::new(*status, "application/json", body.clone()))
            }
            Fault::DropConnection | Fault::Delay(_) => FaultAction::Drop,
        }
    }
}

/// One queued fault.
#[derive(Debug, Clone)]
pub(crate) struct QueuedFault {
    pub(crate) endpoint: Endpoint,
    /// Only for requests to this stand-in resource server (with
    /// [`Endpoint::ResourceServer`]).
    pub(crate) resource_server: Option<String>,
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
}

impl QueuedFault {
    fn applies_to(&self, endpoint: Endpoint, resource_server: Option<&str>) -> bool {
        self.remaining > 0
            && self.endpoint.matches(endpoint)
            && self
                .resource_server
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == resource_server)
    }
}

/// Takes the first queued fault that applies to a request to `endpoint` (on the stand-in
/// `resource_server`, if it is one), if any.
pub(crate) fn take_fault(
    queue: &mut Vec<QueuedFault>,
    endpoint: Endpoint,
    resource_server: Option<&str>,
) -> Option<Fault> {
    let index = queue
        .iter()
        .position(|q| q.applies_to(endpoint, resource_server))?;
    let fault = queue[index].fault.clone();
    queue[index].remaining -= 1;
    if queue[index].remaining == 0 {
        queue.remove(index);
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_endpoints() {
        assert_eq!(Endpoint::from_path("/v2/oauth2/token"), Endpoint::Token);
        assert_eq!(
            Endpoint::from_path("/v2/api/identities/abc/consents"),
            Endpoint::Consents
        );
        assert_eq!(
            Endpoint::from_path("/v2/api/identities//consents"),
            Endpoint::Unknown
        );
        assert_eq!(Endpoint::from_path("/v2/oauth2/token/"), Endpoint::Unknown);
        assert_eq!(Endpoint::from_path("//v2/oauth2/token"), Endpoint::Unknown);
    }

    #[test]
    fn faults_are_taken_in_order_and_counted() {
        let mut queue = vec![
            QueuedFault {
                endpoint: Endpoint::Token,
                resource_server: None,
                fault: Fault::InvalidGrant,
                remaining: 2,
            },
            QueuedFault {
                endpoint: Endpoint::Any,
                resource_server: None,
                fault: Fault::InternalServerError,
                remaining: 1,
            },
        ];
        assert_eq!(
            take_fault(&mut queue, Endpoint::Jwks, None),
            Some(Fault::InternalServerError)
        );
        assert_eq!(take_fault(&mut queue, Endpoint::Jwks, None), None);
        assert_eq!(
            take_fault(&mut queue, Endpoint::Token, None),
            Some(Fault::InvalidGrant)
        );
        assert_eq!(
            take_fault(&mut queue, Endpoint::Token, None),
            Some(Fault::InvalidGrant)
        );
        assert_eq!(take_fault(&mut queue, Endpoint::Token, None), None);
        assert!(queue.is_empty());
    }

    #[test]
    fn resource_server_faults_target_one_stand_in() {
        let mut queue = vec![
            QueuedFault {
                endpoint: Endpoint::ResourceServer,
                resource_server: Some("transfer.api.globus.org".to_owned()),
                fault: Fault::ServiceUnavailable,
                remaining: 1,
            },
            QueuedFault {
                endpoint: Endpoint::ResourceServer,
                resource_server: None,
                fault: Fault::InternalServerError,
                remaining: 1,
            },
        ];
        assert_eq!(take_fault(&mut queue, Endpoint::Token, None), None);
        assert_eq!(
            take_fault(
                &mut queue,
                Endpoint::ResourceServer,
                Some("groups.api.globus.org")
            ),
            Some(Fault::InternalServerError)
        );
        assert_eq!(
            take_fault(
                &mut queue,
                Endpoint::ResourceServer,
                Some("groups.api.globus.org")
            ),
            None
        );
        assert_eq!(
            take_fault(
                &mut queue,
                Endpoint::ResourceServer,
                Some("transfer.api.globus.org")
            ),
            Some(Fault::ServiceUnavailable)
        );
    }

    #[test]
    fn service_errors_are_camel_case() {
        assert_eq!(camel_case("SERVICE_UNAVAILABLE"), "ServiceUnavailable");
        assert_eq!(camel_case("INJECTED_FAULT"), "InjectedFault");
        assert_eq!(camel_case(""), "");
        assert_eq!(camel_case("__"), "");
    }
}
