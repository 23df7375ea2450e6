//! A [`reqwest_middleware::Middleware`] that gives your own
//! `reqwest_middleware::ClientWithMiddleware` the app's authorized requests: the
//! token attached, checked against the resource server's hosts, renewed once on a
//! 401, a Globus Auth Requirements Error answered as the app's configuration says,
//! and 429/5xx retried (see [`AuthorizedRequest`](globus_app_core::app::AuthorizedRequest)).

use crate::app::AnyApp;
use crate::transport::{classify, read_response};
use globus_app_core::app::{RequestInput, TransportError, TransportErrorKind};
use globus_app_core::{Body, HttpRequest, HttpResponse};
use globus_app_shell::app::MAX_SERVICE_RESPONSE_BODY;
use globus_app_shell::service::ResourceServer;
use http::{Extensions, header};
use reqwest::{Request, Response};
use reqwest_middleware::Next;
use std::future::Future;
use std::pin::Pin;

/// The middleware. The resource server of each request comes from the middleware
/// ([`for_resource_server`](Self::for_resource_server)) or from the request's
/// [`ResourceServer`] extension; a request with neither passes through untouched,
/// without a token.
///
/// A request whose body is a stream cannot be sent twice: it gets its token and is
/// sent once, and its answer is returned as is. Resends go through the rest of
/// your middleware chain. A failure the app returns (a refused destination,
/// `LoginRequired`, `AuthorizationRequired`, a failed renewal) is a
/// `reqwest_middleware::Error::Middleware` wrapping the app's
/// [`Error`](globus_app_core::app::Error) (`downcast_ref` finds it); the response
/// returned after a resend no longer knows its URL (`Response::url` is reqwest's
/// placeholder).
///
/// ```no_run
/// use globus_app_tokio::{AppConfig, ClientApp, GlobusAuthMiddleware, OAuthClient, ResourceServer, ScopeRequirements};
/// # async fn example() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let app = ClientApp::new("My Service", OAuthClient::confidential("ID", "SECRET"), ScopeRequirements::new(), AppConfig::default())?;
/// app.add_scope_requirements("transfer.api.globus.org", [globus_app_tokio::scopes::transfer::ALL])?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(GlobusAuthMiddleware::new(&app))
///     .build();
/// let response = client
///     .get("https://transfer.api.globus.org/v0.10/endpoint_search?filter_fulltext=demo")
///     .with_extension(ResourceServer::new("transfer.api.globus.org"))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GlobusAuthMiddleware {
    app: AnyApp,
    resource_server: Option<String>,
}

impl GlobusAuthMiddleware {
    /// A middleware that reads each request's resource server from its
    /// [`ResourceServer`] extension.
    pub fn new(app: impl Into<AnyApp>) -> GlobusAuthMiddleware {
        GlobusAuthMiddleware {
            app: app.into(),
            resource_server: None,
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
        }
    }

    async fn authorize(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let named = extensions
            .get::<ResourceServer>()
            .map(|rs| rs.as_str().to_owned());
        let Some(resource_server) = self.resource_server.clone().or(named) else {
            return next.run(request, extensions).await;
        };
        let bytes = match request.body() {
            None => Some(Vec::new()),
            Some(body) => body.as_bytes().map(<[u8]>::to_vec),
        };
        let Some(bytes) = bytes else {
            // A stream: its token, and one send.
            let header = self
                .app
                .authorization_header_for(&resource_server, request.url().as_str())
                .await
                .map_err(reqwest_middleware::Error::middleware)?;
            request.headers_mut().insert(header::AUTHORIZATION, header);
            return next.run(request, extensions).await;
        };
        let mut replayable = http::Request::new(bytes);
        *replayable.method_mut() = request.method().clone();
        *replayable.uri_mut() = request
            .url()
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| reqwest_middleware::Error::middleware(e))?;
        *replayable.version_mut() = request.version();
        *replayable.headers_mut() = request.headers().clone();
        let base = extensions.clone();
        let send = |request: HttpRequest| send(next.clone(), request, base.clone());
        let result = match &self.app {
            AnyApp::User(app) => app.__request_via(&resource_server, replayable, send).await,
            AnyApp::Client(app) => app.__request_via(&resource_server, replayable, send).await,
        };
        result
            .map(Response::from)
            .map_err(reqwest_middleware::Error::middleware)
    }
}

/// One send through the rest of the chain, read whole for the core.
async fn send(next: Next<'_>, request: HttpRequest, mut extensions: Extensions) -> RequestInput {
    let request = match Request::try_from(request.map(Body::into_bytes)) {
        Ok(request) => request,
        Err(e) => return RequestInput::TransportFailed(classify(&e)),
    };
    let answer: Result<HttpResponse, TransportError> =
        match next.run(request, &mut extensions).await {
            Ok(response) => read_response(response, MAX_SERVICE_RESPONSE_BODY).await,
            Err(reqwest_middleware::Error::Reqwest(e)) => Err(classify(&e)),
            Err(e) => Err(TransportError::new(
                TransportErrorKind::Other,
                format!("a middleware failed: {e}"),
            )),
        };
    match answer {
        Ok(response) => RequestInput::Response(response),
        Err(error) => RequestInput::TransportFailed(error),
    }
}

impl reqwest_middleware::Middleware for GlobusAuthMiddleware {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'async_trait>>
    where
        Self: 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
    {
        Box::pin(self.authorize(req, extensions, next))
    }
}
