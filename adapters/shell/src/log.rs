//! What an app logs, with `tracing`, written once for every runtime.
//!
//! The core decides and reports its decisions as [`Notice`]s; the driver of an
//! operation logs them here, with one span per operation and one event per request
//! sent and per storage step. Nothing logged shows a secret: requests are named by
//! their method and URL without its query, responses by their status.
//!
//! | target | level | what |
//! |---|---|---|
//! | `globus_app` (span `operation`) | debug | an operation: `op` (a number in this process), `goal` |
//! | `globus_app` | debug | a renewal due, a login starting and why, a wait for another process's lease, an operation's end with its budget used |
//! | `globus_app` | warn | degraded service: a retry and its delay, a failed early renewal (the valid token served), a failed revocation, a lease wait that ran out |
//! | `globus_app::http` | debug | each request sent: method, URL without query, status (or the transport failure), attempt, duration |
//! | `globus_app::storage` | debug | each storage step: load, store, remove, lease, release; its outcome and duration |
//! | `globus_app::step` | trace | every input and step of the core |
//!
//! Errors an app returns are not logged as errors (the caller has them).

use globus_app_core::HttpRequest;
use globus_app_core::app::{Input, Notice, RequestInput};
use std::collections::BTreeMap;
use std::time::Instant;

/// Logs a notice of the core at its level.
pub fn notice(notice: &Notice) {
    match notice {
        Notice::Renewing { .. } | Notice::LoginStarting { .. } | Notice::LeaseBusy { .. } => {
            tracing::debug!(target: "globus_app", "{notice}");
        }
        _ => tracing::warn!(target: "globus_app", "{notice}"),
    }
}

/// The method and URL of a request, without the query (which may carry anything).
pub(crate) fn describe(request: &HttpRequest) -> (String, String) {
    let uri = request.uri();
    let url = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
        _ => uri.path().to_owned(),
    };
    (request.method().to_string(), url)
}

/// A request or storage step under way, logged when its result comes back.
#[derive(Debug)]
#[doc(hidden)]
pub enum Pending {
    Request {
        method: String,
        url: String,
        attempt: u32,
        started: Instant,
    },
    Storage {
        step: &'static str,
        started: Instant,
    },
}

/// Counts the attempts of each request of an operation.
#[derive(Debug, Default)]
#[doc(hidden)]
pub struct Attempts(BTreeMap<String, u32>);

impl Attempts {
    /// A request about to be sent.
    pub fn request(&mut self, request: &HttpRequest) -> Pending {
        let (method, url) = describe(request);
        let attempt = self.0.entry(format!("{method} {url}")).or_default();
        *attempt += 1;
        Pending::Request {
            method,
            url,
            attempt: *attempt,
            started: Instant::now(),
        }
    }
}

impl Pending {
    /// Logs the step's result.
    pub(crate) fn finish(self, input: &Input) {
        match self {
            Pending::Request {
                method,
                url,
                attempt,
                started,
            } => {
                let ms = started.elapsed().as_millis();
                match input {
                    Input::Response(response) => tracing::debug!(
                        target: "globus_app::http",
                        %method, %url, status = response.status().as_u16(), attempt, ms,
                        "request sent"
                    ),
                    Input::TransportFailed(error) => tracing::debug!(
                        target: "globus_app::http",
                        %method, %url, %error, attempt, ms,
                        "request failed"
                    ),
                    _ => {}
                }
            }
            Pending::Storage { step, started } => {
                let ms = started.elapsed().as_millis();
                let outcome = match input {
                    Input::Loaded(tokens) => format!("{} resource servers", tokens.len()),
                    Input::LoadedPartly { tokens, unreadable } => format!(
                        "{} resource servers, {} unreadable",
                        tokens.len(),
                        unreadable.len()
                    ),
                    Input::Stored | Input::Removed | Input::Released => "done".to_owned(),
                    Input::Fenced => "refused: a newer write came first".to_owned(),
                    Input::LeaseAcquired { fence } => format!("taken, fence {fence}"),
                    Input::LeaseBusy { remaining } => {
                        format!("busy for {}ms more", remaining.as_millis())
                    }
                    Input::StorageFailed(error) => format!("failed: {error}"),
                    _ => return,
                };
                tracing::debug!(target: "globus_app::storage", step, %outcome, ms, "storage step");
            }
        }
    }
}

impl Pending {
    /// Logs one send of an authorized request to a service.
    pub fn finish_service(self, input: &RequestInput) {
        service_send(self, input);
    }
}

fn service_send(pending: Pending, input: &RequestInput) {
    if let Pending::Request {
        method,
        url,
        attempt,
        started,
    } = pending
    {
        let ms = started.elapsed().as_millis();
        match input {
            RequestInput::Response(response) => tracing::debug!(
                target: "globus_app::http",
                %method, %url, status = response.status().as_u16(), attempt, ms,
                "service request sent"
            ),
            RequestInput::TransportFailed(error) => tracing::debug!(
                target: "globus_app::http",
                %method, %url, %error, attempt, ms,
                "service request failed"
            ),
            _ => {}
        }
    }
}
