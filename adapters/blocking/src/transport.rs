//! Sending the core's requests with ureq: the blocking adapter's HTTP client, also
//! used by the async-std adapter on its blocking pool.

use globus_app_core::app::{Input, RequestInput, TransportError, TransportErrorKind};
use globus_app_core::{Body, HttpRequest, HttpResponse};
use globus_app_shell::app::{MAX_RESPONSE_BODY, MAX_SERVICE_RESPONSE_BODY, caused_by};
use std::time::Duration;

/// The HTTP client: returns every status to the core, follows no redirect, and
/// bounds each request by a timeout.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
}

impl HttpClient {
    /// A client whose requests each end after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .build()
            .into();
        HttpClient { agent }
    }

    /// Sends a request and returns the core's input: the response, whatever its
    /// status, or the classified failure.
    pub fn send(&self, request: HttpRequest) -> Input {
        match self.exchange(request, MAX_RESPONSE_BODY) {
            Ok(response) => Input::Response(response),
            Err(error) => Input::TransportFailed(error),
        }
    }

    /// Sends an authorized request to a service (a longer body allowed) and returns
    /// the request's input.
    pub fn send_service(&self, request: HttpRequest) -> RequestInput {
        match self.exchange(request, MAX_SERVICE_RESPONSE_BODY) {
            Ok(response) => RequestInput::Response(response),
            Err(error) => RequestInput::TransportFailed(error),
        }
    }

    fn exchange(&self, request: HttpRequest, limit: usize) -> Result<HttpResponse, TransportError> {
        let response = self
            .agent
            .run(request.map(Body::into_bytes))
            .map_err(|e| classify(&e))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(|e| classify(&e))?;
        Ok(ureq::http::Response::from_parts(parts, bytes))
    }
}

/// The I/O errors of a connection that was never made.
fn not_connected(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused
            | K::AddrNotAvailable
            | K::AddrInUse
            | K::NetworkUnreachable
            | K::HostUnreachable
            | K::NetworkDown
    )
}

pub(crate) fn classify(error: &ureq::Error) -> TransportError {
    use ureq::Error as E;
    let kind = match error {
        // A failed handshake comes as `Io` wrapping rustls's error.
        E::Io(e) if caused_by::<rustls::Error>(e) => TransportErrorKind::Tls,
        E::Timeout(_) => TransportErrorKind::Timeout,
        E::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => TransportErrorKind::Timeout,
        // Nothing reached the server.
        E::Io(e) if not_connected(e.kind()) => TransportErrorKind::Connect,
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => {
            TransportErrorKind::Connect
        }
        // The request may have reached the server.
        E::Io(_) | E::BodyStalled => TransportErrorKind::ConnectionLost,
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => TransportErrorKind::Tls,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, error.to_string())
}
