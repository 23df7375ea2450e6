//! Helpers shared by the fake server's tests: a ureq agent that reports every status
//! and follows no redirect, PKCE, and a native login in one call.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use globus_app_testing::{FakeAuth, NATIVE_CLIENT_ID};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
pub const COLLECTION: &str = "11111111-2222-4333-8444-555555555555";

pub fn data_access() -> String {
    format!("https://auth.globus.org/scopes/{COLLECTION}/data_access")
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The OAuth `error` field.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_owned()
    }

    /// Query pairs of the `Location` header.
    pub fn location_query(&self) -> Vec<(String, String)> {
        let location = self.header("location").expect("a Location header");
        url::Url::parse(location)
            .expect("an absolute Location")
            .query_pairs()
            .into_owned()
            .collect()
    }

    pub fn location_param(&self, name: &str) -> Option<String> {
        self.location_query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        // never send 127.0.0.1 through a proxy from the environment
        .proxy(None)
        .build()
        .into()
}

/// Reads a completed request into a [`Resp`].
pub fn read(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut response = result.expect("the request completes");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.body_mut().read_to_string().expect("a body");
    Resp {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str) -> Resp {
    read(agent().get(url).call())
}

pub fn get_bearer(url: &str, token: &str) -> Resp {
    read(
        agent()
            .get(url)
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    )
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// POSTs a form, with an `Authorization` header value when given.
pub fn post(url: &str, authorization: Option<&str>, form: &[(&str, &str)]) -> Resp {
    let mut request = agent().post(url);
    if let Some(auth) = authorization {
        request = request.header("Authorization", auth);
    }
    read(request.send_form(form.iter().copied()))
}

pub fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-fake-auth".to_owned();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorize URL of a native login with PKCE.
pub fn authorize_url(
    fake: &FakeAuth,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    offline: bool,
) -> String {
    let (_, challenge) = pkce();
    let mut url = url::Url::parse(&fake.url("v2/oauth2/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", "_default")
        .append_pair("response_type", "code")
        .append_pair("access_type", if offline { "offline" } else { "online" })
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prefill_named_grant", "test on host");
    url.into()
}

/// The command-line flow's redirect URI.
pub fn auth_code_redirect(fake: &FakeAuth) -> String {
    fake.url("v2/web/auth-code")
}

/// Authorizes (the user consents) and returns the code.
pub fn native_code(fake: &FakeAuth, scope: &str, offline: bool) -> String {
    let response = get(&authorize_url(
        fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(fake),
        scope,
        offline,
    ));
    assert_eq!(response.status, 302, "{}", response.body);
    response.location_param("code").expect("a code")
}

/// Exchanges a native client's code.
pub fn exchange_native(fake: &FakeAuth, code: &str) -> Resp {
    let (verifier, _) = pkce();
    post(
        &fake.url("v2/oauth2/token"),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", &verifier),
            ("redirect_uri", &auth_code_redirect(fake)),
            ("client_id", NATIVE_CLIENT_ID),
        ],
    )
}

/// A full native login; returns the token response body.
pub fn native_login(fake: &FakeAuth, scope: &str, offline: bool) -> Value {
    let code = native_code(fake, scope, offline);
    let response = exchange_native(fake, &code);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

/// The token for `resource_server` in a Globus token response.
pub fn token_for<'a>(body: &'a Value, resource_server: &str) -> &'a Value {
    if body["resource_server"] == resource_server {
        return body;
    }
    body["other_tokens"]
        .as_array()
        .and_then(|tokens| {
            tokens
                .iter()
                .find(|t| t["resource_server"] == resource_server)
        })
        .unwrap_or_else(|| panic!("no token for {resource_server} in {body}"))
}

pub fn refresh_native(fake: &FakeAuth, refresh_token: &str) -> Resp {
    post(
        &fake.url("v2/oauth2/token"),
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", NATIVE_CLIENT_ID),
        ],
    )
}
