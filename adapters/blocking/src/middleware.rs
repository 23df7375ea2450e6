//! A [`ureq::middleware::Middleware`] that gives your own `ureq::Agent` the app's
//! authorized requests: the token attached, checked against the resource server's
//! hosts, renewed once on a 401, a Globus Auth Requirements Error answered as the
//! app's configuration says, and 429/5xx retried (see
//! [`AuthorizedRequest`](globus_app_core::app::AuthorizedRequest)).

use crate::app::AnyApp;
use globus_app_core::app::{Error, RequestInput};
use globus_app_core::{Body, HttpRequest, HttpResponse};
use globus_app_shell::app::MAX_SERVICE_RESPONSE_BODY;
use globus_app_shell::service::ResourceServer;
use std::io::Read;
use ureq::http::{self, header};
use ureq::middleware::MiddlewareNext;
use ureq::{AsSendBody, SendBody};

/// Request bodies up to this size are read into memory so they can be sent again;
/// a longer one is sent once, streamed, with its answer returned as is.
pub const MAX_REPLAYABLE_BODY: usize = 8 * 1024 * 1024;

/// The middleware. The resource server of each request comes from the middleware
/// ([`for_resource_server`](Self::for_resource_server)) or from the request's
/// [`ResourceServer`] extension; a request with neither passes through untouched,
/// without a token.
///
/// ureq lets a middleware call the rest of its chain once per request, so the
/// first attempt goes through your agent (its configuration and the middleware
/// after this one), and a resend (after a renewal, a login or a retryable answer)
/// goes through the app's own HTTP client: same timeout as the app's, no redirects.
/// A failure the app returns (a refused destination, `LoginRequired`,
/// `AuthorizationRequired`, a failed renewal) is a `ureq::Error::Io` whose inner
/// error is the app's [`Error`](globus_app_core::app::Error).
///
/// Build the agent with `http_status_as_error(false)` so that the middleware sees
/// the bodies of error answers: with ureq's default it gets a status alone, so a
/// 401 is still renewed, but a Globus Auth Requirements Error is not recognised
/// (the error status is then reported as ureq reports statuses).
///
/// ```no_run
/// use globus_app_blocking::{AppConfig, ClientApp, GlobusAuthMiddleware, OAuthClient, ScopeRequirements};
/// let app = ClientApp::new("My Service", OAuthClient::confidential("ID", "SECRET"), ScopeRequirements::new(), AppConfig::default())?;
/// app.add_scope_requirements("transfer.api.globus.org", [globus_app_blocking::scopes::transfer::ALL])?;
/// let agent: ureq::Agent = ureq::Agent::config_builder()
///     .middleware(GlobusAuthMiddleware::for_resource_server(&app, "transfer.api.globus.org"))
///     .build()
///     .into();
/// let listing = agent
///     .get("https://transfer.api.globus.org/v0.10/endpoint_search?filter_fulltext=demo")
///     .call()?
///     .into_body()
///     .read_to_string()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct GlobusAuthMiddleware {
    app: AnyApp,
    resource_server: Option<String>,
    max_replayable_body: usize,
}

impl GlobusAuthMiddleware {
    /// A middleware that reads each request's resource server from its
    /// [`ResourceServer`] extension.
    pub fn new(app: impl Into<AnyApp>) -> GlobusAuthMiddleware {
        GlobusAuthMiddleware {
            app: app.into(),
            resource_server: None,
            max_replayable_body: MAX_REPLAYABLE_BODY,
        }
    }

    /// A middleware that sends every request with `resource_server`'s token.
    pub fn for_resource_server(
        app: impl Into<AnyApp>,
        resource_server: &str,
    ) -> GlobusAuthMiddleware {
        GlobusAuthMiddleware {
            app: app.into(),
            resource_server: Some(resource_server.to_owned()),
            max_replayable_body: MAX_REPLAYABLE_BODY,
        }
    }

    /// Keeps request bodies up to `bytes` in memory to send them again (default
    /// [`MAX_REPLAYABLE_BODY`]); a longer body is streamed once, with its token, and
    /// its answer returned as is (a 401 is not renewed, a GARE not answered).
    #[must_use]
    pub fn max_replayable_body(mut self, bytes: usize) -> GlobusAuthMiddleware {
        self.max_replayable_body = bytes;
        self
    }
}

impl ureq::middleware::Middleware for GlobusAuthMiddleware {
    fn handle(
        &self,
        request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let named = request
            .extensions()
            .get::<ResourceServer>()
            .map(|rs| rs.as_str().to_owned());
        let Some(resource_server) = self.resource_server.clone().or(named) else {
            return next.handle(request);
        };
        let (parts, body) = request.into_parts();
        let mut reader = body.into_reader();
        let mut head = Vec::new();
        (&mut reader)
            .take(self.max_replayable_body as u64 + 1)
            .read_to_end(&mut head)?;
        if head.len() > self.max_replayable_body {
            // Too long to keep: its token, and one send of the whole stream.
            let url = parts.uri.to_string();
            let header = self
                .app
                .authorization_header_for(&resource_server, &url)
                .map_err(app_error)?;
            let mut request = http::Request::from_parts(parts, ());
            request.headers_mut().insert(header::AUTHORIZATION, header);
            let mut rest = std::io::Cursor::new(head).chain(reader);
            let (parts, ()) = request.into_parts();
            return next.handle(http::Request::from_parts(
                parts,
                SendBody::from_reader(&mut rest),
            ));
        }
        let replayable = http::Request::from_parts(parts, head);
        let mut first = Some(next);
        let mut status_as_error = false;
        let mut send = |request: HttpRequest| match first.take() {
            Some(next) => through(next, request, &mut status_as_error),
            None => self.resend(request),
        };
        let result = match &self.app {
            AnyApp::User(app) => app.__request_via(&resource_server, replayable, &mut send),
            AnyApp::Client(app) => app.__request_via(&resource_server, replayable, &mut send),
        };
        let response = result.map_err(app_error)?;
        let status = response.status();
        if status_as_error && (status.is_client_error() || status.is_server_error()) {
            // As the agent reports statuses.
            return Err(ureq::Error::StatusCode(status.as_u16()));
        }
        let (parts, bytes) = response.into_parts();
        Ok(http::Response::from_parts(
            parts,
            ureq::Body::builder().data(bytes),
        ))
    }
}

impl GlobusAuthMiddleware {
    /// A resend, through the app's own client.
    fn resend(&self, request: HttpRequest) -> RequestInput {
        match &self.app {
            AnyApp::User(app) => app.__send_request(request),
            AnyApp::Client(app) => app.__send_request(request),
        }
    }
}

/// The first send, through the rest of the user's chain, read whole for the core.
/// An agent that reports error statuses as errors (ureq's default) gives the status
/// alone: it becomes a response without a body, and `status_as_error` is set.
fn through(next: MiddlewareNext, request: HttpRequest, status_as_error: &mut bool) -> RequestInput {
    let (parts, body) = request.map(Body::into_bytes).into_parts();
    let mut bytes: &[u8] = &body;
    let answer = next
        .handle(http::Request::from_parts(parts, bytes.as_body()))
        .and_then(|response| {
            let (parts, mut body) = response.into_parts();
            let bytes = body
                .with_config()
                .limit(MAX_SERVICE_RESPONSE_BODY as u64)
                .read_to_vec()?;
            Ok::<HttpResponse, ureq::Error>(http::Response::from_parts(parts, bytes))
        });
    match answer {
        Ok(response) => RequestInput::Response(response),
        Err(ureq::Error::StatusCode(code)) => {
            *status_as_error = true;
            let mut response = http::Response::new(Vec::new());
            *response.status_mut() =
                http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_GATEWAY);
            RequestInput::Response(response)
        }
        Err(e) => RequestInput::TransportFailed(crate::transport::classify(&e)),
    }
}

fn app_error(error: Error) -> ureq::Error {
    ureq::Error::Io(std::io::Error::other(error))
}
