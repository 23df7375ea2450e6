//! The app's shared state: settings, requirements, the token cache, and the hot
//! path that serves a valid cached token.

use super::error::Error;
use super::requirements::{AUTH_RESOURCE_SERVER, ScopeRequirements};
use super::settings::{AppKind, AppSettings, ConfigError};
use super::validation::TokenValidationError;
use crate::destinations::{DestinationError, TokenDestinations};
use crate::oauth::ConsentForest;
use crate::scopes::{Scope, ScopeParseError};
use crate::{TokenData, UnixTime};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A ready-to-use `Authorization` header value for one resource server.
///
/// Cheap to clone and to share between threads: a header of ordinary length is held
/// inline (a copy, with no reference count that threads would contend for); a very
/// long one is shared. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    header: Header,
    expires_at: UnixTime,
}

/// Headers up to this many bytes are held inline.
const INLINE_HEADER: usize = 118;

#[derive(Clone, PartialEq, Eq)]
enum Header {
    Inline { len: u8, bytes: [u8; INLINE_HEADER] },
    Shared(Arc<str>),
}

impl Authorization {
    fn new(token: &TokenData) -> Self {
        let header = token.authorization_header();
        let header = match u8::try_from(header.len()) {
            Ok(len) if header.len() <= INLINE_HEADER => {
                let mut bytes = [0u8; INLINE_HEADER];
                bytes[..header.len()].copy_from_slice(header.as_bytes());
                Header::Inline { len, bytes }
            }
            _ => Header::Shared(Arc::from(header)),
        };
        Authorization {
            header,
            expires_at: token.expires_at(),
        }
    }

    /// Returns the header value, `Bearer …`.
    pub fn header_value(&self) -> &str {
        match &self.header {
            // Built from a `str`, so always UTF-8.
            Header::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Header::Shared(header) => header,
        }
    }

    /// Returns the access token alone.
    pub fn access_token(&self) -> &str {
        let header = self.header_value();
        header.strip_prefix("Bearer ").unwrap_or(header)
    }

    /// Returns when the access token expires.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("header", &"Bearer [redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A validated token the hot path may serve until `serve_until`.
#[derive(Clone, Debug)]
struct Ready {
    authorization: Authorization,
    serve_until: i64,
}

/// A copy of the tokens the hot path may serve, taken from an [`AppState`] so that
/// an adapter can publish it where readers need no lock.
///
/// ```
/// use globus_app_core::app::ReadySnapshot;
/// use globus_app_core::UnixTime;
/// let empty = ReadySnapshot::default();
/// assert!(empty.get("transfer.api.globus.org", UnixTime(0)).is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadySnapshot {
    version: u64,
    entries: Vec<(Box<str>, Ready)>,
}

impl ReadySnapshot {
    /// Returns the authorization for a resource server if it may be served at `now`
    /// (the same answer as [`AppState::cached_authorization`] when the snapshot
    /// was taken).
    pub fn get(&self, resource_server: &str, now: UnixTime) -> Option<Authorization> {
        let (_, ready) = self
            .entries
            .iter()
            .find(|(rs, _)| rs.as_ref() == resource_server)?;
        (now.0 < ready.serve_until).then(|| ready.authorization.clone())
    }

    /// Returns the version of the state's ready tokens this copy was taken at.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// A position in the app's history of finished operations, taken before a caller
/// waits for its turn: an operation that finished after it for the same resource
/// server shares its result instead of repeating its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Everything an app knows, shared by its operations. Pure data: adapters keep it
/// behind a lock and hand it to [`Operation::resume`](super::Operation::resume).
#[derive(Debug)]
pub struct AppState {
    pub(crate) settings: AppSettings,
    pub(crate) requirements: ScopeRequirements,
    pub(crate) tokens: BTreeMap<String, TokenData>,
    pub(crate) identity: Option<String>,
    pub(crate) consents: Option<ConsentForest>,
    ready: BTreeMap<String, Ready>,
    /// Counts changes of `ready`, so adapters republish their snapshot only when
    /// it changed.
    ready_version: u64,
    /// The last result of an authorization per resource server, with its place in
    /// the history: callers that queued behind it share it.
    finished: BTreeMap<String, (u64, Result<Authorization, Error>)>,
    sequence: u64,
    /// Access tokens a service refused (HTTP 401), by resource server: never served
    /// again, whatever their expiry says (see [`reject`](Self::reject)).
    rejected: BTreeMap<String, Authorization>,
    /// Where each resource server's token may be sent.
    destinations: TokenDestinations,
}

impl AppState {
    /// Builds the state of a new app. `openid` is added to the requirements.
    ///
    /// A client app may start without scope requirements and be given them later
    /// ([`add_scope_requirements`](Self::add_scope_requirements)), as a service
    /// client does when it is created; its login refuses to run until it has some.
    ///
    /// # Errors
    /// Misconfigured settings (see [`AppSettings::check`]).
    pub fn new(
        settings: AppSettings,
        requirements: ScopeRequirements,
    ) -> Result<AppState, ConfigError> {
        settings.check()?;
        let service = settings.service.clone();
        Ok(AppState {
            settings,
            requirements: requirements.with_openid(),
            tokens: BTreeMap::new(),
            identity: None,
            consents: None,
            ready: BTreeMap::new(),
            ready_version: 0,
            finished: BTreeMap::new(),
            sequence: 0,
            rejected: BTreeMap::new(),
            destinations: TokenDestinations::for_service(&service),
        })
    }

    /// Returns the settings.
    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// Returns the scope requirements.
    pub fn requirements(&self) -> &ScopeRequirements {
        &self.requirements
    }

    /// Returns true if the only requirement is the `openid` every app gets: a
    /// client app then has nothing to log in for.
    pub(crate) fn has_only_implicit_requirements(&self) -> bool {
        self.requirements.iter().all(|(rs, scopes)| {
            rs == AUTH_RESOURCE_SERVER
                && scopes
                    .iter()
                    .all(|s| s.name() == crate::scopes::auth::OPENID.name())
        })
    }

    /// Sets how the app uses its storage's lease (an adapter does, when the storage
    /// keeps leases).
    pub fn set_lease(&mut self, lease: Option<super::LeaseSettings>) {
        self.settings.lease = lease;
    }

    /// Returns where each resource server's token may be sent: the Globus
    /// services of the app's environment, and what was bound since.
    pub fn token_destinations(&self) -> &TokenDestinations {
        &self.destinations
    }

    /// Replaces the token destinations (an adapter passes the Globus services with
    /// the base URLs its configuration and environment give).
    pub fn set_token_destinations(&mut self, destinations: TokenDestinations) {
        self.destinations = destinations;
    }

    /// Lets `resource_server`'s token go to the origin of `base_url` too (a Globus
    /// Connect Server collection, a user's own API).
    ///
    /// # Errors
    /// A URL no token may go to (see [`TokenDestinations::bind`]).
    pub fn bind_token_destination(
        &mut self,
        resource_server: &str,
        base_url: &str,
    ) -> Result<(), DestinationError> {
        self.destinations.bind(resource_server, base_url)
    }

    /// Returns the identity of the stored tokens, once known.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// Returns the tokens last loaded or stored, by resource server.
    pub fn tokens(&self) -> &BTreeMap<String, TokenData> {
        &self.tokens
    }

    /// Adds scope requirements; cached tokens of that resource server are checked
    /// again on next use.
    ///
    /// # Errors
    /// A dependency cycle after merging.
    pub fn add_scope_requirements(
        &mut self,
        resource_server: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<(), ScopeParseError> {
        self.requirements.add(resource_server, scopes)?;
        self.unready(resource_server);
        Ok(())
    }

    /// The hot path: returns the cached authorization for a resource server if it
    /// was validated and is not due for renewal at `now` (`now` is before the
    /// renewal lead of its expiry). No I/O is needed then.
    pub fn cached_authorization(
        &self,
        resource_server: &str,
        now: UnixTime,
    ) -> Option<Authorization> {
        let ready = self.ready.get(resource_server)?;
        (now.0 < ready.serve_until).then(|| ready.authorization.clone())
    }

    /// Returns the version of the ready tokens; it changes whenever they do.
    pub fn ready_version(&self) -> u64 {
        self.ready_version
    }

    /// Copies the ready tokens, for an adapter to publish to lock-free readers.
    pub fn ready_snapshot(&self) -> ReadySnapshot {
        ReadySnapshot {
            version: self.ready_version,
            entries: self
                .ready
                .iter()
                .map(|(rs, ready)| (Box::from(rs.as_str()), ready.clone()))
                .collect(),
        }
    }

    fn unready(&mut self, resource_server: &str) {
        if self.ready.remove(resource_server).is_some() {
            self.ready_version += 1;
        }
        // A token handed out earlier is no longer the one to share with waiters.
        if matches!(self.finished.get(resource_server), Some((_, Ok(_)))) {
            self.finished.remove(resource_server);
        }
    }

    fn clear_ready(&mut self) {
        if !self.ready.is_empty() {
            self.ready.clear();
            self.ready_version += 1;
        }
        self.finished.retain(|_, (_, result)| result.is_err());
    }

    /// Returns a ticket for an operation about to wait for its turn.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.sequence)
    }

    /// Records tokens loaded from storage, replacing the cache.
    pub(crate) fn absorb_loaded(&mut self, tokens: BTreeMap<String, TokenData>) {
        self.identity = tokens.values().find_map(|t| t.identity_id.clone());
        self.tokens = tokens;
        self.clear_ready();
    }

    /// Returns the error to report if the loaded tokens carry more than one
    /// identity.
    pub(crate) fn mixed_identities(&self) -> Option<TokenValidationError> {
        let mut by_identity: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for token in self.tokens.values() {
            if let Some(identity) = &token.identity_id {
                by_identity
                    .entry(identity)
                    .or_default()
                    .push(token.resource_server.clone());
            }
        }
        (by_identity.len() > 1).then(|| TokenValidationError::MixedIdentities {
            identities: by_identity
                .into_iter()
                .map(|(identity, servers)| (identity.to_owned(), servers))
                .collect(),
        })
    }

    /// Records that a service refused this authorization (HTTP 401): if it is still
    /// the resource server's token, it is no longer served (nor shared with queued
    /// callers), and the next operation renews it or, when it cannot, reports
    /// [`TokenValidationError::TokenRejected`]. A token stored later replaces the
    /// mark.
    pub(crate) fn reject(&mut self, resource_server: &str, authorization: &Authorization) {
        if let Some((_, Ok(shared))) = self.finished.get(resource_server)
            && shared == authorization
        {
            self.finished.remove(resource_server);
        }
        if self
            .ready
            .get(resource_server)
            .is_some_and(|ready| ready.authorization == *authorization)
        {
            self.unready(resource_server);
        }
        self.rejected
            .insert(resource_server.to_owned(), authorization.clone());
    }

    /// Returns true if a service refused this token (see [`reject`](Self::reject)).
    fn is_rejected(&self, token: &TokenData) -> bool {
        self.rejected
            .get(&token.resource_server)
            .is_some_and(|a| a.access_token() == token.access_token.secret())
    }

    /// Records tokens just stored.
    pub(crate) fn absorb_stored(&mut self, tokens: Vec<TokenData>) {
        for token in tokens {
            if self.identity.is_none() {
                self.identity.clone_from(&token.identity_id);
            }
            self.unready(&token.resource_server);
            self.rejected.remove(&token.resource_server);
            self.tokens.insert(token.resource_server.clone(), token);
        }
    }

    /// Records a resource server's tokens as removed.
    pub(crate) fn absorb_removed(&mut self, resource_server: &str) {
        self.tokens.remove(resource_server);
        self.unready(resource_server);
        self.rejected.remove(resource_server);
        if self.tokens.is_empty() {
            self.identity = None;
            self.consents = None;
        }
    }

    /// Forgets validated tokens and consents after a login changed them.
    pub(crate) fn after_login(&mut self) {
        self.clear_ready();
        self.consents = None;
    }

    pub(crate) fn mark_ready(
        &mut self,
        resource_server: &str,
        authorization: Authorization,
        serve_until: i64,
    ) {
        self.ready.insert(
            resource_server.to_owned(),
            Ready {
                authorization,
                serve_until,
            },
        );
        self.ready_version += 1;
    }

    /// Records the end of an authorization for a resource server.
    pub(crate) fn finish(&mut self, resource_server: &str, result: Result<Authorization, Error>) {
        self.sequence += 1;
        self.finished
            .insert(resource_server.to_owned(), (self.sequence, result));
    }

    /// Returns the result of an authorization for this resource server that
    /// finished after `ticket` was taken, for a caller that queued behind it: its
    /// failure, or the authorization it obtained if that is still valid at `now`
    /// (even inside the renewal lead: it was just obtained for this caller).
    pub(crate) fn settled_since(
        &self,
        resource_server: &str,
        ticket: Ticket,
        now: UnixTime,
    ) -> Option<Result<Authorization, Error>> {
        match self.finished.get(resource_server) {
            Some((seq, Err(e))) if *seq > ticket.0 => Some(Err(e.clone())),
            Some((seq, Ok(a))) if *seq > ticket.0 && now < a.expires_at => Some(Ok(a.clone())),
            _ => None,
        }
    }

    /// The token decision for one resource server at `now`.
    pub(crate) fn evaluate(&self, resource_server: &str, now: UnixTime, skip: &Skip) -> Evaluation {
        let Some(token) = self.tokens.get(resource_server) else {
            return Evaluation::Login(TokenValidationError::MissingToken {
                resource_server: resource_server.to_owned(),
            });
        };
        let required = self.requirements.get(resource_server).unwrap_or(&[]);
        let missing: Vec<String> = required
            .iter()
            .filter(|scope| !token.scopes().any(|granted| granted == scope.name()))
            .map(|scope| scope.name().to_owned())
            .collect();
        if !missing.is_empty() {
            return Evaluation::Login(TokenValidationError::UnmetScopeRequirements {
                resource_server: resource_server.to_owned(),
                missing,
            });
        }
        let settings = &self.settings;
        if settings.kind == AppKind::User
            && settings.request_refresh_tokens
            && token.refresh_token.is_none()
        {
            return Evaluation::Login(TokenValidationError::MissingRefreshToken {
                resource_server: resource_server.to_owned(),
            });
        }
        if self.is_rejected(token) {
            // Refused by its service: renewed, or a login replaces it.
            if settings.renews_tokens() && !skip.obtained {
                return Evaluation::Renew { still_valid: false };
            }
            return Evaluation::Login(TokenValidationError::TokenRejected {
                resource_server: resource_server.to_owned(),
            });
        }
        let lead = settings.renew_lead_seconds;
        let mut serve_until = token.expires_at_seconds;
        if skip.obtained && token.is_expired(now) {
            // Obtained during this operation and already expired: another grant
            // would be no better.
            return Evaluation::Login(TokenValidationError::IssuedExpired {
                resource_server: resource_server.to_owned(),
                expires_at: token.expires_at(),
            });
        }
        if settings.renews_tokens() {
            if skip.obtained {
                // Obtained during this operation and valid: served, even inside the
                // renewal lead. Inside the lead the hot path serves it only briefly,
                // to the crowd that asked at the same moment; a later call renews it.
                serve_until = if token.expires_within(now, lead) {
                    now.0
                        .saturating_add(JUST_OBTAINED_SECONDS)
                        .min(token.expires_at_seconds)
                } else {
                    token.expires_at_seconds.saturating_sub(lead)
                };
            } else if token.expires_within(now, lead) {
                let still_valid = !token.is_expired(now);
                if !(still_valid && skip.renewal_failed) {
                    return Evaluation::Renew { still_valid };
                }
                // Early renewal failed: serve the valid token, and try again soon.
                serve_until = (now.0 + RENEW_RETRY_SECONDS).min(token.expires_at_seconds);
            } else {
                serve_until = token.expires_at_seconds.saturating_sub(lead);
            }
        } else if token.is_expired(now) {
            return Evaluation::Login(TokenValidationError::ExpiredToken {
                resource_server: resource_server.to_owned(),
                expired_at: token.expires_at_seconds,
            });
        }
        let dependent = required.iter().any(|s| !s.dependencies().is_empty());
        if dependent && settings.kind == AppKind::User && self.identity.is_some() {
            let met = self
                .consents
                .as_ref()
                .is_some_and(|forest| forest.meets_scope_requirements(required));
            if !met {
                if !skip.consents_fetched {
                    return Evaluation::NeedConsents;
                }
                let missing = required
                    .iter()
                    .filter(|s| !s.dependencies().is_empty())
                    .map(ToString::to_string)
                    .collect();
                return Evaluation::Login(TokenValidationError::UnmetScopeRequirements {
                    resource_server: resource_server.to_owned(),
                    missing,
                });
            }
        }
        Evaluation::Ready {
            authorization: Authorization::new(token),
            serve_until,
        }
    }

    /// The auth token usable for the consents lookup, if any.
    pub(crate) fn auth_token_for_consents(&self, now: UnixTime) -> Option<&TokenData> {
        self.tokens
            .get(AUTH_RESOURCE_SERVER)
            .filter(|t| !t.is_expired(now))
    }
}

/// After a failed early renewal, how long to serve the still-valid token before
/// trying to renew again.
const RENEW_RETRY_SECONDS: i64 = 10;

/// How long the hot path serves a token just obtained that already falls inside
/// the renewal lead (it lives shorter than the lead): callers that arrive within
/// this time share it instead of renewing it again, so a crowd of threads released
/// together makes one request even when some arrive after the renewal finished.
/// Counted in whole seconds of the app's clock, so it covers at least one second.
const JUST_OBTAINED_SECONDS: i64 = 2;

/// What an operation already did for a resource server, so a decision is not
/// repeated.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Skip {
    /// An early renewal failed; the still-valid token is served.
    pub(crate) renewal_failed: bool,
    /// The consents were looked up since the last login.
    pub(crate) consents_fetched: bool,
    /// The tokens were obtained (renewed or by a login) by this operation: they are
    /// not renewed again in it.
    pub(crate) obtained: bool,
}

/// The decision for one resource server.
#[derive(Debug)]
pub(crate) enum Evaluation {
    /// Serve this.
    Ready {
        authorization: Authorization,
        serve_until: i64,
    },
    /// Renew the access token first.
    Renew { still_valid: bool },
    /// Look up the consents to check dependent scopes.
    NeedConsents,
    /// Only a login can help.
    Login(TokenValidationError),
}
