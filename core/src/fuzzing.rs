//! Fuzzing entry points: one function per parser of untrusted bytes.
//!
//! Each function takes arbitrary bytes, runs them through the parser the way the
//! rest of the crate (and the adapters) would, and checks a few cheap invariants
//! with `assert!`. None of them may panic on any input: a panic is a bug, either in
//! the parser or in the invariant.
//!
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` are one-line calls of these
//! functions, and `tests/fuzz_corpus.rs` replays every file of `fuzz/corpus/<name>/`
//! through the function of the same name, so the corpora run with `cargo test`.
//!
//! Not a public API: hidden from the documentation, and free to change.

use crate::jwt::IdTokenClaims;
use crate::oauth::{AuthorizeRequest, ConsentsLookup, Exchange, Revocation};
use crate::redirect::{self, IncomingRequest, LandingOutcome, RedirectError, RedirectParams};
use crate::scopes::{self, Scope};
use crate::{
    AccessToken, AuthService, HttpResponse, IdToken, OAuthClient, ResponseError, UnixTime,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::borrow::Cow;

/// The client id the token and id_token checks expect (the one in the seeds).
const CLIENT_ID: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";
/// The time responses arrive at (2023-11-14T22:13:20Z, as in the tests).
const NOW: UnixTime = UnixTime(1_700_000_000);

/// The statuses, content types and `Retry-After` values a response can have, chosen
/// by the first input byte modulo 8 (so `'0'`..`'7'` select them in a text file).
const RESPONSE_SHAPES: [(u16, &str, Option<&str>); 8] = [
    (200, "application/json", None),
    (200, "text/html; charset=utf-8", None),
    (400, "application/json", None),
    (401, "application/json", None),
    (403, "application/json", None),
    (429, "application/json", Some("7")),
    (502, "text/html", None),
    (503, "application/json", Some(" 30 ")),
];

/// Scope strings ([`scopes::parse`], `Scope::from_str`), as found in a token's
/// `scope`, a GARE's `required_scopes`, a config file or a command line.
///
/// Invalid UTF-8 is replaced (`U+FFFD`) first, as a caller holding bytes would do.
/// Checks that a parsed list re-parses from its serialization to the same value,
/// that every top-level scope re-parses alone from its `Display`, and that an
/// error's position and excerpt point into the input.
pub fn scopes(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    match scopes::parse(&input) {
        Ok(parsed) => {
            let text = scopes::serialize(&parsed);
            assert_eq!(
                scopes::parse(&text).as_ref(),
                Ok(&parsed),
                "serialize then parse changed {text:?}"
            );
            for scope in &parsed {
                let _ = scope.resource_server();
                let alone = scope.to_string();
                assert_eq!(
                    alone.parse::<Scope>().as_ref(),
                    Ok(scope),
                    "Display then parse changed {alone:?}"
                );
            }
        }
        Err(error) => check_scope_error(&input, &error),
    }
    match input.parse::<Scope>() {
        Ok(scope) => {
            assert_eq!(
                scopes::parse(&input),
                Ok(vec![scope.clone()]),
                "Scope::from_str and scopes::parse disagree"
            );
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        Err(error) => check_scope_error(&input, &error),
    }
}

/// An error's position is a character boundary of the input, and its excerpt is
/// the input's text there.
fn check_scope_error(input: &str, error: &scopes::ScopeParseError) {
    let message = error.to_string();
    assert!(!message.is_empty());
    let rest = input.get(error.position()..);
    assert!(
        rest.is_some(),
        "error position {} is not a character boundary of the input",
        error.position()
    );
    let found = error.found();
    let shown = found.strip_suffix('…').unwrap_or(found);
    assert!(
        rest.is_some_and(|rest| rest.starts_with(shown)),
        "error excerpt {found:?} is not the input at byte {}",
        error.position()
    );
}

/// A response from the token endpoint: what every grant (authorization code,
/// refresh, client credentials) does with it,
/// [`parse_token_response`](crate::oauth::parse_token_response), and what a
/// revocation does with the same bytes.
///
/// The first byte chooses the status, content type and `Retry-After` header (see
/// `RESPONSE_SHAPES`); the rest is the body. Checks that granted tokens are
/// non-empty, printable and one per resource server, and that no error message
/// quotes an access or refresh token of a 2xx body.
pub fn token_response(data: &[u8]) {
    let Some(response) = response_from(data) else {
        return;
    };
    let service = AuthService::production();
    match crate::oauth::parse_token_response(&response, CLIENT_ID, &service, NOW) {
        Ok(granted) => {
            assert!(response.status().is_success());
            assert!(!granted.tokens.is_empty());
            for (i, token) in granted.tokens.iter().enumerate() {
                assert!(!token.resource_server.is_empty());
                assert!(printable_token(token.access_token.secret()));
                if let Some(refresh) = &token.refresh_token {
                    assert!(printable_token(refresh.secret()));
                }
                assert!(token.expires_at_seconds >= NOW.0);
                assert_eq!(token.identity_id.as_deref(), granted.identity_id());
                assert!(
                    granted.tokens[..i]
                        .iter()
                        .all(|t| t.resource_server != token.resource_server),
                    "two tokens for one resource server"
                );
                let _ = (token.authorization_header(), format!("{token:?}"));
            }
        }
        Err(error) => {
            check_response_error(&response, &error);
            if !matches!(error, ResponseError::IdToken(_)) {
                check_no_secret_in(&response, &error);
            }
        }
    }
    let revocation = Revocation::access_token(
        service,
        OAuthClient::native(CLIENT_ID),
        &AccessToken::new("fuzz-access-token"),
    );
    match revocation.handle_response(&response, NOW) {
        Ok(()) => assert!(response.status().is_success()),
        Err(error) => check_response_error(&response, &error),
    }
}

/// A response from the consents endpoint ([`ConsentsLookup`]), with the same first
/// byte as [`token_response`].
///
/// Checks that a root consent whose name is a plain scope meets that scope, and
/// that an empty requirement is always met.
pub fn consents_response(data: &[u8]) {
    let Some(response) = response_from(data) else {
        return;
    };
    let lookup = ConsentsLookup::new(
        AuthService::production(),
        "ae341a98-d274-11e5-b888-dbae3a8ba545",
        AccessToken::new("fuzz-auth-token"),
    );
    match lookup.handle_response(&response, NOW) {
        Ok(forest) => {
            assert!(forest.meets_scope_requirements([]));
            for consent in forest.consents() {
                let Ok(scope) = Scope::new(consent.scope_name.clone()) else {
                    continue;
                };
                let is_root = consent.dependency_path.len() == 1;
                let met = forest.meets_scope_requirements([&scope]);
                assert!(!is_root || met, "root consent {} is not met", consent.id);
            }
            // Requirements with dependencies walk the trees.
            let names: Vec<&str> = forest.consents().map(|c| c.scope_name.as_str()).collect();
            if let Some((first, rest)) = names.split_first()
                && let Ok(scope) = format!("{first}[{}]", rest.join(" ")).parse::<Scope>()
            {
                let _ = forest.meets_scope_requirements([&scope]);
            }
        }
        Err(error) => check_response_error(&response, &error),
    }
}

/// A Globus service's error body read for login requirements
/// ([`parse_authorization_requirements`](crate::app::parse_authorization_requirements)),
/// then what a login does with them: merge the required scopes and build the
/// authorize URL.
///
/// Checks that the session message and prompt arrive in the URL exactly as parsed
/// (no value can inject another parameter).
pub fn gare(data: &[u8]) {
    let Some(params) = crate::app::parse_authorization_requirements(data) else {
        return;
    };
    let _ = format!("{params:?}");
    let mut scope = String::from("openid");
    for required in &params.required_scopes {
        let _ = scopes::parse(required);
        scope.push(' ');
        scope.push_str(required);
    }
    let _ = scopes::merge([scope.as_str()]);
    let mut request = AuthorizeRequest::new(
        AuthService::production(),
        OAuthClient::native(CLIENT_ID),
        "https://auth.globus.org/v2/web/auth-code",
        scope,
    );
    request.parameters = params.clone();
    let attempt = request.start(&[7; 48]);
    let url = attempt.authorize_url();
    let values = |key: &str| -> Vec<String> {
        url.query_pairs()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    assert_eq!(
        values("session_message"),
        params.session_message.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        values("prompt"),
        params.prompt.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(values("state"), [attempt.state()]);
    assert_eq!(values("client_id"), [CLIENT_ID]);
}

/// Any Globus service's answer read as an error
/// ([`GlobusApiError::from_response`](crate::GlobusApiError::from_response)), with
/// the same first byte as [`token_response`].
///
/// Checks that the status, `Retry-After` and login requirements are the response's;
/// that an excerpt is there exactly when neither a code nor a message is, and is
/// short; that `Display` is one bounded line starting `HTTP <status>`, and quotes
/// no access or refresh token of the body (see [`assert_quotes_no_token`]).
pub fn service_error(data: &[u8]) {
    let Some(response) = response_from(data) else {
        return;
    };
    let error = crate::GlobusApiError::from_response(&response);
    let status = response.status().as_u16();
    assert_eq!(error.status, status);
    assert_eq!(error.retry_after, crate::error::retry_after(&response));
    assert_eq!(
        error.is_retryable(),
        status == 429 || (500..=599).contains(&status)
    );
    assert_eq!(
        error.authorization_parameters,
        crate::app::parse_authorization_requirements(response.body())
    );
    assert_eq!(
        error.is_authorization_required(),
        error.authorization_parameters().is_some()
    );
    assert_eq!(
        error.excerpt.is_some(),
        error.code.is_none() && error.message.is_none()
    );
    if let Some(excerpt) = &error.excerpt {
        assert!(excerpt.chars().count() <= 121, "the excerpt is too long");
    }
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("HTTP {status}")), "{shown}");
    assert!(!shown.contains(char::is_control), "not one line: {shown:?}");
    // code (100) + message or quoted excerpt (300) + request id (100) + words
    assert!(shown.chars().count() <= 560, "too long: {shown}");
    assert_quotes_no_token(response.body(), &shown);
    let _ = format!("{error:?}");
}

/// The head of an HTTP request that reached the local server's loopback socket
/// ([`redirect::parse_incoming`]), and its query string read as redirect
/// parameters ([`RedirectParams::from_query`]).
///
/// Checks that a redirect carries a code or an error, that its own `state` is
/// accepted, that `Debug` never shows the code, and that a refusal's description is
/// HTML-escaped on the landing page.
pub fn redirect_request(data: &[u8]) {
    for path in ["/", "/callback"] {
        match redirect::parse_incoming(data, path) {
            Ok(IncomingRequest::Redirect(params)) => {
                assert!(params.is_login_response());
                check_redirect(&params, data);
            }
            Ok(IncomingRequest::Other) => {}
            Err(error) => assert!(matches!(error, RedirectError::Malformed(_))),
        }
    }
    let text = String::from_utf8_lossy(data);
    let query = text.split_once('?').map_or(&*text, |(_, query)| query);
    check_redirect(&RedirectParams::from_query(query), data);
}

/// What a user pastes into the command-line login: a full redirect URL, its query,
/// or a bare code ([`RedirectParams::from_pasted`]).
///
/// Invalid UTF-8 is replaced first (a terminal gives text). Checks as
/// [`redirect_request`], and that a bare code is the trimmed input.
pub fn redirect_pasted(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match RedirectParams::from_pasted(&text) {
        Ok(params) => {
            check_redirect(&params, data);
            let trimmed = text.trim();
            if !trimmed.contains(['?', '=']) {
                let code = params.into_code("any state");
                assert_eq!(code.as_ref().map(|c| c.secret()), Ok(trimmed));
            }
        }
        Err(error) => {
            assert!(matches!(error, RedirectError::Malformed(_)));
            let _ = error.to_string();
        }
    }
}

/// Checks one set of redirect parameters, read from `input`, the way a login would
/// use them.
///
/// The code must not show in `Debug`. That is checked for codes of 20 or more
/// bytes that occur once in an input of valid UTF-8 without `%` or `+`, where every
/// value is a piece of the input (otherwise another parameter, which `Debug` shows,
/// can hold the same text).
fn check_redirect(params: &RedirectParams, input: &[u8]) {
    let debug = format!("{params:?}");
    let expected = params.state().unwrap_or("").to_owned();
    match params.clone().into_code(&expected) {
        Ok(code) => {
            let secret = code.secret().as_bytes();
            if secret.len() >= 20
                && std::str::from_utf8(input).is_ok()
                && !input.contains(&b'%')
                && !input.contains(&b'+')
                && occurrences(input, secret) == 1
            {
                assert!(!debug.contains(code.secret()), "Debug shows the code");
            }
        }
        Err(RedirectError::StateMismatch) => {
            // Only a URL without any state can fail its own state check.
            assert!(params.state().is_none());
        }
        Err(error @ RedirectError::Denied { .. }) => {
            let message = error.to_string();
            let escaped = redirect::escape_html(&message);
            assert!(!escaped.contains(['<', '>', '"', '\'']));
            let page = redirect::landing_page_response("fuzz", LandingOutcome::Failure(&message));
            check_http_response(&page);
        }
        Err(error @ (RedirectError::MissingCode | RedirectError::Malformed(_))) => {
            let _ = error.to_string();
        }
    }
}

/// Checks that `Content-Length` matches the body of a response the local server writes.
fn check_http_response(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes);
    assert!(text.is_ok(), "the landing page is not UTF-8");
    let text = text.unwrap_or_default();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("the landing page has no end of head");
    };
    let declared = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse::<usize>().ok());
    assert_eq!(declared, Some(body.len()));
}

/// The id_token's claims ([`IdTokenClaims::decode`] and `validate`), two ways: the
/// input as the token's text, and the input as the JSON claims of a token with a
/// fixed header and signature (so the fuzzer can work on the JSON directly).
///
/// Checks that validation never panics, at any time from `i64::MIN` to `i64::MAX`.
pub fn id_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_id_token(&IdToken::new(text.into_owned()));
    let built = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(data)
    );
    check_id_token(&IdToken::new(built));
}

fn check_id_token(token: &IdToken) {
    match IdTokenClaims::decode(token) {
        Ok(claims) => {
            let issuer = AuthService::production();
            for now in [NOW, UnixTime(i64::MIN), UnixTime(i64::MAX)] {
                if let Err(error) = claims.validate(CLIENT_ID, &issuer.accepted_issuers(), now) {
                    let _ = error.to_string();
                }
            }
            let _ = claims.aud.contains(CLIENT_ID);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                token.secret().len() < 20 || !message.contains(token.secret()),
                "an id_token error quotes the token"
            );
        }
    }
}

/// Builds the response [`token_response`] and [`consents_response`] read: the first
/// byte picks a shape from `RESPONSE_SHAPES`, the rest is the body.
fn response_from(data: &[u8]) -> Option<HttpResponse> {
    let (&selector, body) = data.split_first()?;
    let (status, content_type, retry_after) = RESPONSE_SHAPES[usize::from(selector % 8)];
    let mut builder = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type);
    if let Some(seconds) = retry_after {
        builder = builder.header(http::header::RETRY_AFTER, seconds);
    }
    builder.body(body.to_vec()).ok()
}

/// Checks what every error from a response must be: the response's status, and a
/// message that can be formatted.
fn check_response_error(response: &HttpResponse, error: &ResponseError) {
    let _ = format!("{error:?}");
    assert!(!error.to_string().is_empty());
    match error {
        ResponseError::IdToken(_) => assert_eq!(error.status(), None),
        _ => assert_eq!(error.status(), Some(response.status().as_u16())),
    }
    assert_eq!(
        error.is_retryable(),
        error
            .status()
            .is_some_and(|s| s == 429 || (500..=599).contains(&s))
    );
    if let ResponseError::Unexpected { excerpt, .. } = error {
        assert!(excerpt.chars().count() <= 121, "the excerpt is too long");
    }
}

/// Checks that the error from a 2xx response quotes none of the body's access and
/// refresh tokens (see [`assert_quotes_no_token`]).
fn check_no_secret_in(response: &HttpResponse, error: &ResponseError) {
    if response.status().is_success() {
        assert_quotes_no_token(response.body(), &format!("{error} {error:?}"));
    }
}

/// A URL a token might be sent to ([`Origin::of`](crate::destinations::Origin::of),
/// [`TokenDestinations`](crate::destinations::TokenDestinations)), as a request's URL
/// or a base-URL variable would give it.
///
/// Checks that an accepted origin is https, or http to a loopback IP literal; that
/// a URL bound to a resource server is then allowed for it and not for another;
/// and that no error shows the URL's query or user info.
pub fn destination(data: &[u8]) {
    use crate::destinations::TokenDestinations;
    let text = String::from_utf8_lossy(data);
    let Ok(url) = url::Url::parse(&text) else {
        return;
    };
    let mut destinations = TokenDestinations::new();
    match destinations.bind("rs", &text) {
        Ok(()) => {
            let origin = destinations.origins("rs").next().map(ToString::to_string);
            let origin = origin.unwrap_or_default();
            assert!(
                origin.starts_with("https://")
                    || origin.starts_with("http://127.")
                    || origin.starts_with("http://[::1]"),
                "{origin}"
            );
            assert!(destinations.check("rs", &url).is_ok(), "{origin}");
            assert!(destinations.check("other", &url).is_err());
        }
        Err(error) => {
            let message = error.to_string();
            // (The query's text may also stand in the path, which errors show.)
            if let Some(query) = url.query() {
                assert!(!message.contains(&format!("?{query}")), "{message}");
            }
            // The URL is shown from its scheme straight to its host: no user info
            // between (the path may hold any text, so look at the start only).
            if let (Some(host), true) = (url.host_str(), url.password().is_some()) {
                // (as the message quotes it, with `Debug`'s escapes)
                let quoted = format!("{:?}", format!("{}://{host}", url.scheme()));
                let start = quoted.strip_suffix('"').unwrap_or(&quoted);
                assert!(message.contains(start), "{message}");
            }
        }
    }
}

/// Asserts that `message` quotes none of the access and refresh tokens in `body`
/// (JSON text, possibly broken). Not an entry point: a helper that the entry points
/// of globus-app-storage share.
///
/// Only tokens of 20 or more ASCII letters and digits are checked (shorter runs
/// are shown in excerpts by design), only when they occur once in the body (so the
/// same text is not also, say, a resource server's name that a message may show),
/// and only in bodies without JSON escapes (which could spell a token differently).
pub fn assert_quotes_no_token(body: &[u8], message: &str) {
    if body.contains(&b'\\') {
        return;
    }
    for key in ["access_token", "refresh_token"] {
        for secret in string_values(body, key) {
            if occurrences(body, secret.as_bytes()) == 1 {
                assert!(
                    !message.contains(&*secret),
                    "the message quotes the {key}: {message}"
                );
            }
        }
    }
}

/// The values of `"key": "value"` in possibly broken JSON text, when the value is
/// 20 or more ASCII letters and digits, closed by a quote or cut by the end.
fn string_values<'a>(body: &'a [u8], key: &str) -> Vec<Cow<'a, str>> {
    let pattern = format!("\"{key}\"");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&body[from..], pattern.as_bytes()) {
        let mut i = from + at + pattern.len();
        from = i;
        let skip_space = |mut i: usize| {
            while body.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            i
        };
        i = skip_space(i);
        if body.get(i) != Some(&b':') {
            continue;
        }
        i = skip_space(i + 1);
        if body.get(i) != Some(&b'"') {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while body.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            end += 1;
        }
        let closed = matches!(body.get(end), None | Some(b'"'));
        if closed && end - start >= 20 {
            found.push(String::from_utf8_lossy(&body[start..end]));
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// True for what a token may be: non-empty visible ASCII.
fn printable_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// A transcript read from JSON ([`Transcript::from_json`](crate::transcript::Transcript::from_json)),
/// redacted, and replayed against a user app's and a service account's state with
/// every kind of operation: whatever the recorded steps and inputs, the replay ends
/// with a result or a mismatch, and redacting twice changes nothing more.
pub fn transcript(data: &[u8]) {
    use crate::app::{AppKind, AppSettings, AppState, Operation, ScopeRequirements};
    use crate::transcript::Transcript;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(transcript) = Transcript::from_json(text) else {
        return;
    };
    let redacted = transcript.redacted();
    assert_eq!(redacted.redacted(), redacted);
    for kind in [AppKind::User, AppKind::Client] {
        let client = match kind {
            AppKind::User => OAuthClient::native(CLIENT_ID),
            AppKind::Client => OAuthClient::confidential(CLIENT_ID, "secret"),
        };
        let settings = AppSettings::new(kind, "Fuzz", client, AuthService::production());
        let mut requirements = ScopeRequirements::new();
        if requirements
            .add_str(
                "transfer.api.globus.org",
                "urn:globus:auth:scope:transfer.api.globus.org:all",
            )
            .is_err()
        {
            return;
        }
        let Ok(mut state) = AppState::new(settings, requirements) else {
            return;
        };
        for transcript in [&transcript, &redacted] {
            let mut replay = transcript.replay();
            // Each recorded operation replayed by the operation it names.
            for record in transcript.operations.iter().take(8) {
                let ticket = state.ticket();
                let name = record.operation.as_str();
                let _ = if let Some(rs) = name.strip_prefix("getting an authorization for ") {
                    replay
                        .run(&mut state, Operation::get_authorization(rs, ticket))
                        .map(|r| r.map(|_| ()))
                } else if name == "checking whether a login is required" {
                    replay
                        .run(&mut state, Operation::login_required())
                        .map(|r| r.map(|_| ()))
                } else if name == "logging out" {
                    replay
                        .run(&mut state, Operation::logout(false))
                        .map(|r| r.map(|_| ()))
                } else {
                    replay.run(&mut state, Operation::login(None, true))
                };
            }
            let _ = replay.finish();
        }
    }
}
