//! Sending the core's requests with reqwest.

use globus_app_core::app::{Error, Input, RequestInput, TransportError, TransportErrorKind};
use globus_app_core::{Body, HttpRequest, HttpResponse};
use globus_app_shell::app::{MAX_RESPONSE_BODY, MAX_SERVICE_RESPONSE_BODY, caused_by};
use std::sync::Arc;
use std::time::Duration;

/// The HTTP client: rustls with ring and Mozilla's roots, no redirects, every status
/// returned to the core with all its headers, each request bounded by a timeout.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    pub(crate) fn new(timeout: Duration) -> Result<Self, Error> {
        let setup = |e: &dyn std::fmt::Display| {
            Error::Internal(format!("the HTTP client could not be set up: {e}"))
        };
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| setup(&e))?;
        Ok(HttpClient { client })
    }

    /// Sends a request and returns the core's input: the response, whatever its
    /// status, or the classified failure.
    pub(crate) async fn send(&self, request: HttpRequest) -> Input {
        match self.exchange(request, MAX_RESPONSE_BODY).await {
            Ok(response) => Input::Response(response),
            Err(error) => Input::TransportFailed(error),
        }
    }

    /// Sends an authorized request to a service (a longer body allowed) and returns
    /// the request's input.
    pub(crate) async fn send_service(&self, request: HttpRequest) -> RequestInput {
        match self.exchange(request, MAX_SERVICE_RESPONSE_BODY).await {
            Ok(response) => RequestInput::Response(response),
            Err(error) => RequestInput::TransportFailed(error),
        }
    }

    async fn exchange(
        &self,
        request: HttpRequest,
        limit: usize,
    ) -> Result<HttpResponse, TransportError> {
        let request =
            reqwest::Request::try_from(request.map(Body::into_bytes)).map_err(|e| classify(&e))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| classify(&e))?;
        read_response(response, limit).await
    }
}

/// Reads a response whole into the core's type, its body bounded by `limit`.
pub(crate) async fn read_response(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<HttpResponse, TransportError> {
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                format!("the response body is longer than {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let mut out = http::Response::new(body);
    *out.status_mut() = response.status();
    *out.version_mut() = response.version();
    *out.headers_mut() = headers;
    Ok(out)
}

/// Sorts a reqwest error into the core's kinds (timeouts and dropped connections are
/// retried by the core; TLS and other failures are not).
pub(crate) fn classify(error: &reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if caused_by::<rustls::Error>(error) {
        TransportErrorKind::Tls
    } else if error.is_connect() {
        // Nothing reached the server.
        TransportErrorKind::Connect
    } else if error.is_request() || error.is_body() || error.is_decode() {
        // The request may have reached the server. (`chunk()` reports a body cut
        // short as a decode error; this client decodes nothing else.)
        TransportErrorKind::ConnectionLost
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, describe(error))
}

fn sources(error: &reqwest::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(error), |e| e.source())
}

/// The error and its causes on one line (reqwest's own message names only the
/// step, e.g. "error sending request for url (…)").
fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    for cause in sources(error) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic is how a test fails

    use super::*;
    use globus_app_testing::{Endpoint, FakeAuth, Fault};

    fn get(url: &str) -> HttpRequest {
        http::Request::get(url).body(Body::default()).unwrap()
    }

    #[tokio::test]
    async fn statuses_headers_and_failures() {
        let fake = FakeAuth::start();
        let client = HttpClient::new(Duration::from_secs(5)).unwrap();
        // Every status comes back as a response, with its headers.
        fake.inject_fault(Endpoint::Jwks, Fault::TooManyRequests { retry_after: 7 }, 1);
        let Input::Response(response) = client.send(get(&fake.url("jwk.json"))).await else {
            panic!("no response");
        };
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        // A connection dropped after the request was sent is a lost connection.
        fake.inject_fault(Endpoint::Jwks, Fault::DropConnection, 1);
        let Input::TransportFailed(error) = client.send(get(&fake.url("jwk.json"))).await else {
            panic!("a response");
        };
        assert_eq!(error.kind, TransportErrorKind::ConnectionLost, "{error}");
        // So is a body shorter than its Content-Length.
        fake.inject_fault(Endpoint::Jwks, Fault::IncompleteBody, 1);
        let Input::TransportFailed(error) = client.send(get(&fake.url("jwk.json"))).await else {
            panic!("a response");
        };
        assert_eq!(error.kind, TransportErrorKind::ConnectionLost, "{error}");
        // A refused connection reached nothing: a connection failure.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = format!("http://{}/jwk.json", closed.local_addr().unwrap());
        drop(closed);
        let Input::TransportFailed(error) = client.send(get(&refused)).await else {
            panic!("a response");
        };
        assert_eq!(error.kind, TransportErrorKind::Connect, "{error}");
        // A request longer than the timeout is a timeout.
        let quick = HttpClient::new(Duration::from_millis(50)).unwrap();
        fake.inject_fault(Endpoint::Jwks, Fault::Delay(Duration::from_secs(2)), 1);
        let Input::TransportFailed(error) = quick.send(get(&fake.url("jwk.json"))).await else {
            panic!("a response");
        };
        assert_eq!(error.kind, TransportErrorKind::Timeout, "{error}");
        // TLS to a plain-HTTP server fails the handshake: rustls (ring) is set up.
        let https = format!("https://{}/jwk.json", fake.addr());
        let Input::TransportFailed(error) = client.send(get(&https)).await else {
            panic!("a response");
        };
        assert_eq!(error.kind, TransportErrorKind::Tls, "{error}");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let fake = FakeAuth::start();
        let client = HttpClient::new(Duration::from_secs(5)).unwrap();
        let url = fake.url(&format!(
            "v2/oauth2/authorize?client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F&\
             scope=openid&response_type=code&state=s&code_challenge={}&code_challenge_method=S256",
            globus_app_testing::NATIVE_CLIENT_ID,
            globus_app_testing::s256_challenge("a".repeat(43).as_str()),
        ));
        let Input::Response(response) = client.send(get(&url)).await else {
            panic!("no response");
        };
        assert_eq!(
            response.status(),
            302,
            "{:?}",
            String::from_utf8_lossy(response.body())
        );
        assert!(response.headers().contains_key("location"));
    }
}
