//! Transcripts: what an [`Operation`](crate::app::Operation) asked and what it was
//! given, step by step, as JSON: recorded from any driver, made safe to commit, and
//! replayed against the core with a readable diff where it asks something else.
//!
//! A [`Transcript`] holds the operations of one app in the order they ran; each
//! [`Exchange`] is one [`Step`](crate::app::Step) ([`Asked`]) with the `now` the core was given when it
//! asked, and the [`Input`](crate::app::Input) that answered it ([`Given`]), random bytes included. The
//! first input of every operation is [`Input::Start`](crate::app::Input::Start) and is not written; the last
//! exchange of each operation is its `done` step.
//!
//! - **Record**: a driver calls [`Recorder::asked`] with every step and
//!   [`Recorder::given`] with every input (the apps of every runtime do it for you
//!   when their config has a recorder: `AppConfig::record_transcript`).
//! - **Redact**: [`Transcript::redacted`] replaces every access and refresh token,
//!   authorization code, PKCE verifier and challenge, `state`, client credential,
//!   id_token signature and the login's random bytes by a placeholder such as
//!   `__refresh-token-1__` (the same secret always by the same placeholder);
//!   [`Transcript::redact_values`] replaces further values you name (what a fake
//!   server knows it issued, say).
//! - **Replay**: [`Transcript::replay`] gives a [`Replay`] that runs operations
//!   against the recorded exchanges: it passes each recorded `now` and input, and
//!   checks each step the operation asks against the recorded one. A placeholder in a
//!   recorded step matches any value (and from then on stands for that value: the
//!   `state` the replayed operation put in its authorize URL is the one its redirect
//!   carries back); a placeholder in a recorded input is given as it is (a token named
//!   `__access-token-1__` is a fine token). Random bytes written as a placeholder are
//!   replayed as fixed bytes.
//!
//! ```
//! use globus_app_core::app::{AppKind, AppSettings, AppState, Operation, ScopeRequirements};
//! use globus_app_core::transcript::Transcript;
//! use globus_app_core::{AuthService, OAuthClient};
//!
//! // A service account gets a Transfer token: load, notice, grant, store, done.
//! let recorded = r#"{"format": 1, "operations": [{
//!   "operation": "getting an authorization for transfer.api.globus.org",
//!   "exchanges": [
//!     {"now": 1700000000, "asked": {"step": "load"}, "given": {"given": "loaded", "tokens": []}},
//!     {"now": 1700000000, "asked": {"step": "notice", "text":
//!        "starting a login (missing token): no tokens are stored for transfer.api.globus.org; log in"},
//!      "given": {"given": "continue"}},
//!     {"now": 1700000000, "asked": {"step": "send", "method": "POST",
//!        "url": "https://auth.globus.org/v2/oauth2/token",
//!        "headers": {"accept": "application/json",
//!                    "authorization": "Basic __client-credentials-1__",
//!                    "content-type": "application/x-www-form-urlencoded"},
//!        "body": {"text": "grant_type=client_credentials&scope=openid+urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall"}},
//!      "given": {"given": "response", "status": 200, "headers": {},
//!        "body": {"json": {"access_token": "__access-token-1__", "expires_in": 172800,
//!          "resource_server": "transfer.api.globus.org", "token_type": "Bearer",
//!          "scope": "urn:globus:auth:scope:transfer.api.globus.org:all"}}}},
//!     {"now": 1700000000, "asked": {"step": "store", "tokens": [{
//!        "resource_server": "transfer.api.globus.org",
//!        "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
//!        "access_token": "__access-token-1__",
//!        "expires_at_seconds": 1700172800, "token_type": "Bearer"}]},
//!      "given": {"given": "stored"}},
//!     {"now": 1700000000, "asked": {"step": "done", "ok": {
//!        "authorization": "Bearer __access-token-1__", "expires_at": 1700172800}}}
//!   ]}]}"#;
//! let transcript = Transcript::from_json(recorded)?;
//!
//! let client = OAuthClient::confidential("61338d24-54d5-408f-a10d-66c06b59f6d2", "s3cr3t");
//! let settings = AppSettings::new(AppKind::Client, "My Service", client, AuthService::production());
//! let mut requirements = ScopeRequirements::new();
//! requirements.add_str("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")?;
//! let mut state = AppState::new(settings, requirements)?;
//!
//! let mut replay = transcript.replay();
//! let ticket = state.ticket();
//! let authorization = replay
//!     .run(&mut state, Operation::get_authorization("transfer.api.globus.org", ticket))??;
//! assert_eq!(authorization.access_token(), "__access-token-1__");
//! replay.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod matching;
mod record;
mod redact;
mod replay;
mod wire;

pub use record::Recorder;
pub use replay::{Mismatch, Replay};
pub use wire::{Asked, Exchange, Given, OperationRecord, Payload, Transcript};

#[cfg(test)]
mod tests;
