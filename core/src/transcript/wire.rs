//! The transcript's JSON shape, and the conversions between it and the core's
//! [`Step`]s and [`Input`]s.

use crate::HttpResponse;
use crate::app::{Input, OperationOutput, Step, TransportError, TransportErrorKind};
use crate::redirect::RedirectParams;
use crate::{HttpRequest, TokenData};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The version of the JSON shape this crate writes and reads.
pub(super) const FORMAT: u32 = 1;

/// The operations of one app, in the order they ran, each with its exchanges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The version of the JSON shape (1).
    pub format: u32,
    /// The operations, in order.
    pub operations: Vec<OperationRecord>,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript {
            format: FORMAT,
            operations: Vec::new(),
        }
    }
}

impl Transcript {
    /// Reads a transcript from its JSON text.
    ///
    /// # Errors
    /// The JSON error when the text is not a transcript, or a transcript in a
    /// format this version does not read.
    pub fn from_json(text: &str) -> Result<Transcript, serde_json::Error> {
        let transcript: Transcript = serde_json::from_str(text)?;
        if transcript.format != FORMAT {
            return Err(serde::de::Error::custom(format!(
                "transcript format {} (this version reads format {FORMAT})",
                transcript.format
            )));
        }
        Ok(transcript)
    }

    /// The transcript as indented JSON, one field per line: what a reviewer reads
    /// in a diff.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a string cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// One operation: its description ([`Operation::describe`](crate::app::Operation::describe))
/// and its exchanges, the last one its `done` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    /// What the operation set out to do, e.g. "get an authorization for
    /// transfer.api.globus.org".
    pub operation: String,
    /// Its exchanges, in order.
    pub exchanges: Vec<Exchange>,
}

/// One step of an operation and the input that answered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The time (Unix seconds) the operation was given when it asked.
    pub now: i64,
    /// What it asked.
    pub asked: Asked,
    /// What it was given (none after `done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<Given>,
}

/// A body: JSON when it parses as JSON, else text, else base64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// A JSON body, as JSON.
    Json(Value),
    /// A UTF-8 body that is not JSON (a form, an HTML page).
    Text(String),
    /// Any other body, base64-encoded.
    Base64(String),
}

impl Payload {
    fn of(bytes: &[u8]) -> Option<Payload> {
        if bytes.is_empty() {
            return None;
        }
        if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
            // Only when writing it back gives the same bytes' meaning: a JSON string
            // literal body stays text.
            if json.is_object() || json.is_array() {
                return Some(Payload::Json(json));
            }
        }
        Some(match std::str::from_utf8(bytes) {
            Ok(text) => Payload::Text(text.to_owned()),
            Err(_) => Payload::Base64(STANDARD.encode(bytes)),
        })
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Payload::Json(json) => json.to_string().into_bytes(),
            Payload::Text(text) => text.clone().into_bytes(),
            Payload::Base64(b64) => STANDARD.decode(b64).unwrap_or_default(),
        }
    }
}

/// What an operation asked: a [`Step`] in JSON (`{"step": "send", …}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Asked {
    /// [`Step::Send`]. The `user-agent` header is left out (it carries the crate's
    /// version, which would make every release differ from older transcripts).
    Send {
        /// The method.
        method: String,
        /// The whole URL.
        url: String,
        /// The headers, names lower-cased.
        headers: BTreeMap<String, String>,
        /// The body, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Payload>,
    },
    /// [`Step::Load`].
    Load,
    /// [`Step::Store`]: the tokens, in the storage's JSON form.
    Store {
        /// The tokens.
        tokens: Vec<Value>,
    },
    /// [`Step::StoreFenced`].
    StoreFenced {
        /// The tokens.
        tokens: Vec<Value>,
        /// The fence.
        fence: u64,
    },
    /// [`Step::Remove`].
    Remove {
        /// The resource server whose token goes.
        resource_server: String,
    },
    /// [`Step::Lease`].
    Lease,
    /// [`Step::Release`].
    Release,
    /// [`Step::PrepareLogin`].
    PrepareLogin,
    /// [`Step::Authorize`].
    Authorize {
        /// The authorize URL.
        url: String,
        /// The state the redirect must carry.
        state: String,
    },
    /// [`Step::Sleep`].
    Sleep {
        /// How long, in milliseconds.
        ms: u64,
    },
    /// [`Step::Notice`]: its text.
    Notice {
        /// The notice as displayed.
        text: String,
    },
    /// [`Step::Done`]: the output, or the error as displayed.
    Done {
        /// The output (an authorization's header and expiry, a logout's report…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<Value>,
        /// The error, as displayed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

fn header_map(headers: &http::HeaderMap, skip: &[&str]) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn token_values<'a>(tokens: impl IntoIterator<Item = &'a TokenData>) -> Vec<Value> {
    tokens
        .into_iter()
        .map(|token| serde_json::to_value(token).unwrap_or(Value::Null))
        .collect()
}

impl Asked {
    /// The step as recorded.
    pub fn of<T: OperationOutput>(step: &Step<T>) -> Asked {
        match step {
            Step::Send(request) => Asked::of_request(request),
            Step::Load => Asked::Load,
            Step::Store(tokens) => Asked::Store {
                tokens: token_values(tokens),
            },
            Step::StoreFenced { tokens, fence } => Asked::StoreFenced {
                tokens: token_values(tokens),
                fence: *fence,
            },
            Step::Remove(rs) => Asked::Remove {
                resource_server: rs.clone(),
            },
            Step::Lease => Asked::Lease,
            Step::Release => Asked::Release,
            Step::PrepareLogin => Asked::PrepareLogin,
            Step::Authorize { url, state } => Asked::Authorize {
                url: url.to_string(),
                state: state.clone(),
            },
            Step::Sleep(duration) => Asked::Sleep {
                ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            },
            Step::Notice(notice) => Asked::Notice {
                text: notice.to_string(),
            },
            Step::Done(Ok(output)) => Asked::Done {
                ok: Some(output.transcript_value()),
                error: None,
            },
            Step::Done(Err(error)) => Asked::Done {
                ok: None,
                error: Some(error.to_string()),
            },
        }
    }

    fn of_request(request: &HttpRequest) -> Asked {
        Asked::Send {
            method: request.method().to_string(),
            url: request.uri().to_string(),
            headers: header_map(request.headers(), &["user-agent"]),
            body: Payload::of(request.body()),
        }
    }

    /// The step's name, as in its JSON (`send`, `load`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Asked::Send { .. } => "send",
            Asked::Load => "load",
            Asked::Store { .. } => "store",
            Asked::StoreFenced { .. } => "store_fenced",
            Asked::Remove { .. } => "remove",
            Asked::Lease => "lease",
            Asked::Release => "release",
            Asked::PrepareLogin => "prepare_login",
            Asked::Authorize { .. } => "authorize",
            Asked::Sleep { .. } => "sleep",
            Asked::Notice { .. } => "notice",
            Asked::Done { .. } => "done",
        }
    }
}

/// What an operation was given: an [`Input`] in JSON (`{"given": "response", …}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "given", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Given {
    /// [`Input::Response`].
    Response {
        /// The status code.
        status: u16,
        /// The headers, names lower-cased.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The body, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Payload>,
    },
    /// [`Input::TransportFailed`].
    TransportFailed {
        /// `timeout`, `connect`, `connection_lost`, `tls` or `other`.
        kind: String,
        /// The message.
        message: String,
    },
    /// [`Input::Loaded`]: the tokens, in the storage's JSON form.
    Loaded {
        /// The tokens.
        tokens: Vec<Value>,
    },
    /// [`Input::LoadedPartly`].
    LoadedPartly {
        /// The tokens that could be read.
        tokens: Vec<Value>,
        /// The resource servers whose entries could not.
        unreadable: Vec<String>,
    },
    /// [`Input::Stored`].
    Stored,
    /// [`Input::Fenced`].
    Fenced,
    /// [`Input::LeaseAcquired`].
    LeaseAcquired {
        /// The fence.
        fence: u64,
    },
    /// [`Input::LeaseBusy`].
    LeaseBusy {
        /// The holder's time left, in milliseconds.
        remaining_ms: u64,
    },
    /// [`Input::Released`].
    Released,
    /// [`Input::Removed`].
    Removed,
    /// [`Input::StorageFailed`]: the error as displayed.
    StorageFailed {
        /// The message.
        message: String,
    },
    /// [`Input::LoginPrepared`]. `random` is the 48 bytes in hex, or a placeholder
    /// (replayed as the bytes 0, 1, …, 47).
    LoginPrepared {
        /// The redirect URI.
        redirect_uri: String,
        /// The random bytes.
        random: String,
    },
    /// [`Input::Redirect`]: the redirect's query.
    Redirect {
        /// `code=…&state=…` or `error=…`.
        query: String,
        /// False for a bare code pasted at the prompt (no state to check).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        state_required: bool,
    },
    /// [`Input::LoginFailed`]: the error as displayed.
    LoginFailed {
        /// The message.
        message: String,
    },
    /// [`Input::Woke`].
    Woke,
    /// [`Input::Continue`].
    Continue,
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_true(b: &bool) -> bool {
    *b
}

const KINDS: [(TransportErrorKind, &str); 5] = [
    (TransportErrorKind::Timeout, "timeout"),
    (TransportErrorKind::Connect, "connect"),
    (TransportErrorKind::ConnectionLost, "connection_lost"),
    (TransportErrorKind::Tls, "tls"),
    (TransportErrorKind::Other, "other"),
];

/// An error recorded as its message, given back as such.
#[derive(Debug)]
struct Recorded(String);

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Recorded {}

/// Why a recorded input cannot be given back.
#[derive(Debug)]
pub(super) struct BadInput(pub(super) String);

impl Given {
    /// The input as recorded; `None` for [`Input::Start`], which is never written.
    pub fn of(input: &Input) -> Option<Given> {
        Some(match input {
            Input::Start => return None,
            Input::Response(response) => Given::Response {
                status: response.status().as_u16(),
                headers: header_map(response.headers(), &[]),
                body: Payload::of(response.body()),
            },
            Input::TransportFailed(error) => Given::TransportFailed {
                kind: KINDS
                    .iter()
                    .find(|(kind, _)| *kind == error.kind)
                    .map_or("other", |(_, name)| name)
                    .to_owned(),
                message: error.message.clone(),
            },
            Input::Loaded(tokens) => Given::Loaded {
                tokens: token_values(tokens.values()),
            },
            Input::LoadedPartly { tokens, unreadable } => Given::LoadedPartly {
                tokens: token_values(tokens.values()),
                unreadable: unreadable.clone(),
            },
            Input::Stored => Given::Stored,
            Input::Fenced => Given::Fenced,
            Input::LeaseAcquired { fence } => Given::LeaseAcquired { fence: *fence },
            Input::LeaseBusy { remaining } => Given::LeaseBusy {
                remaining_ms: u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
            },
            Input::Released => Given::Released,
            Input::Removed => Given::Removed,
            Input::StorageFailed(error) => Given::StorageFailed {
                message: error.to_string(),
            },
            Input::LoginPrepared {
                redirect_uri,
                random,
            } => Given::LoginPrepared {
                redirect_uri: redirect_uri.clone(),
                random: random.iter().map(|b| format!("{b:02x}")).collect(),
            },
            Input::Redirect(params) => Given::Redirect {
                query: params.to_query(),
                state_required: params.state_required(),
            },
            Input::LoginFailed(error) => Given::LoginFailed {
                message: error.to_string(),
            },
            Input::Woke => Given::Woke,
            Input::Continue => Given::Continue,
        })
    }

    /// The input this record stands for.
    pub(super) fn to_input(&self) -> Result<Input, BadInput> {
        Ok(match self {
            Given::Response {
                status,
                headers,
                body,
            } => Input::Response(response(*status, headers, body.as_ref())?),
            Given::TransportFailed { kind, message } => {
                let kind = KINDS
                    .iter()
                    .find(|(_, name)| name == kind)
                    .map(|(kind, _)| *kind)
                    .ok_or_else(|| BadInput(format!("unknown transport failure kind {kind:?}")))?;
                Input::TransportFailed(TransportError::new(kind, message.clone()))
            }
            Given::Loaded { tokens } => Input::Loaded(tokens_by_rs(tokens)?),
            Given::LoadedPartly { tokens, unreadable } => Input::LoadedPartly {
                tokens: tokens_by_rs(tokens)?,
                unreadable: unreadable.clone(),
            },
            Given::Stored => Input::Stored,
            Given::Fenced => Input::Fenced,
            Given::LeaseAcquired { fence } => Input::LeaseAcquired { fence: *fence },
            Given::LeaseBusy { remaining_ms } => Input::LeaseBusy {
                remaining: Duration::from_millis(*remaining_ms),
            },
            Given::Released => Input::Released,
            Given::Removed => Input::Removed,
            Given::StorageFailed { message } => {
                Input::StorageFailed(Arc::new(Recorded(message.clone())))
            }
            Given::LoginPrepared {
                redirect_uri,
                random,
            } => Input::LoginPrepared {
                redirect_uri: redirect_uri.clone(),
                random: random_bytes(random)?,
            },
            Given::Redirect {
                query,
                state_required,
            } => Input::Redirect(RedirectParams::from_recorded(query, *state_required)),
            Given::LoginFailed { message } => {
                Input::LoginFailed(Arc::new(Recorded(message.clone())))
            }
            Given::Woke => Input::Woke,
            Given::Continue => Input::Continue,
        })
    }
}

fn response(
    status: u16,
    headers: &BTreeMap<String, String>,
    body: Option<&Payload>,
) -> Result<HttpResponse, BadInput> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(body.map(Payload::bytes).unwrap_or_default())
        .map_err(|e| BadInput(format!("a response that cannot be built: {e}")))
}

fn tokens_by_rs(tokens: &[Value]) -> Result<BTreeMap<String, TokenData>, BadInput> {
    tokens
        .iter()
        .map(|value| {
            let token: TokenData = serde_json::from_value(value.clone())
                .map_err(|e| BadInput(format!("a token that does not read: {e}")))?;
            Ok((token.resource_server.clone(), token))
        })
        .collect()
}

fn random_bytes(text: &str) -> Result<[u8; 48], BadInput> {
    let mut bytes = [0u8; 48];
    if super::matching::is_placeholder(text) {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        return Ok(bytes);
    }
    let digits = text.as_bytes();
    if digits.len() != 96 {
        return Err(BadInput(format!(
            "random bytes must be 96 hex digits or a placeholder, not {} characters",
            digits.len()
        )));
    }
    for (i, pair) in digits.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).unwrap_or("zz");
        bytes[i] = u8::from_str_radix(hex, 16)
            .map_err(|_| BadInput(format!("random bytes: {hex:?} is not hex")))?;
    }
    Ok(bytes)
}
