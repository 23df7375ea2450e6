//! Golden requests: every operation's exact method, URL, headers and form body,
//! with fixed time and randomness.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::oauth::{
    AccessType, AuthorizationCodeGrant, AuthorizationParameters, AuthorizeRequest,
    ClientCredentialsGrant, ConsentsLookup, Exchange, RefreshGrant, Revocation,
};
use globus_app_core::redirect::RedirectParams;
use globus_app_core::{
    AccessToken, AuthService, AuthorizationCode, CodeVerifier, HttpRequest, OAuthClient,
    RefreshToken,
};

const CLIENT: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";

fn native() -> OAuthClient {
    OAuthClient::native(CLIENT)
}

fn confidential() -> OAuthClient {
    OAuthClient::confidential(CLIENT, "s3cr3t")
}

fn random() -> [u8; 48] {
    let mut r = [0u8; 48];
    for (i, b) in r.iter_mut().enumerate() {
        *b = i as u8;
    }
    r
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.headers().get(name).map(|v| v.to_str().unwrap())
}

fn body(request: &HttpRequest) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}

fn assert_form_post(request: &HttpRequest, url: &str) {
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri(), url);
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(request, "accept"), Some("application/json"));
    assert!(
        header(request, "user-agent")
            .unwrap()
            .starts_with("globus-app-rust/")
    );
}

// base64("61338d24-54d5-408f-a10d-66c06b59f6d2:s3cr3t")
const BASIC: &str = "Basic NjEzMzhkMjQtNTRkNS00MDhmLWExMGQtNjZjMDZiNTlmNmQyOnMzY3IzdA==";

/// The query parameters equal those of globus-sdk 4.10's native flow with the same
/// verifier, state and options (checked by parsing both URLs); the order differs only
/// in the comma-joined keys, which the reference emits in set order.
#[test]
fn authorize_url_native_with_every_parameter() {
    let mut request = AuthorizeRequest::new(
        AuthService::production(),
        native(),
        "https://auth.globus.org/v2/web/auth-code",
        "openid urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/c1/data_access]",
    );
    request.access_type = AccessType::Offline;
    request.prefill_named_grant = Some("My App on laptop".into());
    request.parameters = AuthorizationParameters {
        session_message: Some("Please log in again".into()),
        session_required_identities: vec!["id-1".into(), "id-2".into()],
        session_required_single_domain: vec!["uchicago.edu".into(), "anl.gov".into()],
        session_required_policies: vec!["p1".into()],
        session_required_mfa: Some(true),
        prompt: Some("login".into()),
        ..AuthorizationParameters::default()
    };
    let attempt = request.start(&random());
    assert_eq!(
        attempt.authorize_url().as_str(),
        "https://auth.globus.org/v2/oauth2/authorize\
?client_id=61338d24-54d5-408f-a10d-66c06b59f6d2\
&redirect_uri=https%3A%2F%2Fauth.globus.org%2Fv2%2Fweb%2Fauth-code\
&scope=openid+urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall%5B*https%3A%2F%2Fauth.globus.org%2Fscopes%2Fc1%2Fdata_access%5D\
&state=ICEiIyQlJicoKSorLC0uLw\
&response_type=code\
&access_type=offline\
&code_challenge=6oZqdX5MOLq_qBJ8vppAnT4fk6AP8UiP9zX8-Rev_9A\
&code_challenge_method=S256\
&prefill_named_grant=My+App+on+laptop\
&session_required_mfa=True\
&session_message=Please+log+in+again\
&prompt=login\
&session_required_identities=id-1%2Cid-2\
&session_required_single_domain=uchicago.edu%2Canl.gov\
&session_required_policies=p1"
    );
    assert_eq!(attempt.state(), "ICEiIyQlJicoKSorLC0uLw");
}

#[test]
fn authorize_url_confidential_has_no_pkce() {
    let attempt = AuthorizeRequest::new(
        AuthService::production(),
        confidential(),
        "https://app.example.org/callback",
        "openid",
    )
    .start(&random());
    assert_eq!(
        attempt.authorize_url().as_str(),
        "https://auth.globus.org/v2/oauth2/authorize\
?client_id=61338d24-54d5-408f-a10d-66c06b59f6d2\
&redirect_uri=https%3A%2F%2Fapp.example.org%2Fcallback\
&scope=openid&state=ICEiIyQlJicoKSorLC0uLw&response_type=code&access_type=online"
    );
}

#[test]
fn different_randomness_gives_different_state_and_verifier() {
    let make = |r: &[u8; 48]| {
        AuthorizeRequest::new(AuthService::production(), native(), "https://x/", "openid").start(r)
    };
    let a = make(&[1; 48]);
    let b = make(&[2; 48]);
    assert_ne!(a.state(), b.state());
    assert_ne!(a.authorize_url(), b.authorize_url());
}

#[test]
fn native_code_exchange_after_redirect() {
    let attempt = AuthorizeRequest::new(
        AuthService::production(),
        native(),
        "http://localhost:50505",
        "openid",
    )
    .start(&random());
    let redirect = RedirectParams::from_query("code=the-code&state=ICEiIyQlJicoKSorLC0uLw");
    let exchange = attempt.complete(redirect).unwrap();
    let request = exchange.request();
    assert_form_post(&request, "https://auth.globus.org/v2/oauth2/token");
    assert_eq!(header(&request, "authorization"), None);
    assert_eq!(
        body(&request),
        "client_id=61338d24-54d5-408f-a10d-66c06b59f6d2&grant_type=authorization_code\
&code=the-code&code_verifier=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\
&redirect_uri=http%3A%2F%2Flocalhost%3A50505"
    );
}

#[test]
fn confidential_code_exchange_uses_basic() {
    let exchange = AuthorizationCodeGrant::new(
        AuthService::production(),
        confidential(),
        AuthorizationCode::new("c"),
        None,
        "https://app.example.org/callback",
    );
    let request = exchange.request();
    assert_form_post(&request, "https://auth.globus.org/v2/oauth2/token");
    assert_eq!(header(&request, "authorization"), Some(BASIC));
    assert_eq!(
        body(&request),
        "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fapp.example.org%2Fcallback"
    );
}

#[test]
fn refresh_native_and_confidential() {
    let native_refresh = RefreshGrant::new(
        AuthService::production(),
        native(),
        RefreshToken::new("RT/with+chars"),
    )
    .request();
    assert_form_post(&native_refresh, "https://auth.globus.org/v2/oauth2/token");
    assert_eq!(header(&native_refresh, "authorization"), None);
    assert_eq!(
        body(&native_refresh),
        "refresh_token=RT%2Fwith%2Bchars&grant_type=refresh_token&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2"
    );
    let confidential_refresh = RefreshGrant::new(
        AuthService::production(),
        confidential(),
        RefreshToken::new("RT"),
    )
    .request();
    assert_eq!(header(&confidential_refresh, "authorization"), Some(BASIC));
    assert_eq!(
        body(&confidential_refresh),
        "refresh_token=RT&grant_type=refresh_token"
    );
}

#[test]
fn client_credentials() {
    assert!(ClientCredentialsGrant::new(AuthService::production(), native(), "openid").is_none());
    let request = ClientCredentialsGrant::new(
        AuthService::for_environment(globus_app_core::Environment::Sandbox),
        confidential(),
        "urn:globus:auth:scope:transfer.api.globus.org:all openid",
    )
    .unwrap()
    .request();
    assert_form_post(
        &request,
        "https://auth.sandbox.globuscs.info/v2/oauth2/token",
    );
    assert_eq!(header(&request, "authorization"), Some(BASIC));
    assert_eq!(
        body(&request),
        "grant_type=client_credentials&scope=urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall+openid"
    );
}

#[test]
fn revocations() {
    let native_revoke = Revocation::refresh_token(
        AuthService::production(),
        native(),
        &RefreshToken::new("RT"),
    )
    .request();
    assert_form_post(
        &native_revoke,
        "https://auth.globus.org/v2/oauth2/token/revoke",
    );
    assert_eq!(
        body(&native_revoke),
        "token=RT&client_id=61338d24-54d5-408f-a10d-66c06b59f6d2"
    );
    let confidential_revoke = Revocation::access_token(
        AuthService::production(),
        confidential(),
        &AccessToken::new("AT"),
    )
    .request();
    assert_eq!(header(&confidential_revoke, "authorization"), Some(BASIC));
    assert_eq!(body(&confidential_revoke), "token=AT");
}

#[test]
fn consents_lookup() {
    let request = ConsentsLookup::new(
        AuthService::production(),
        "ae341a98-d274-11e5-b888-dbae3a8ba545",
        AccessToken::new("AUTH-TOKEN"),
    )
    .request();
    assert_eq!(request.method(), "GET");
    assert_eq!(
        request.uri(),
        "https://auth.globus.org/v2/api/identities/ae341a98-d274-11e5-b888-dbae3a8ba545/consents?all=False"
    );
    assert_eq!(header(&request, "authorization"), Some("Bearer AUTH-TOKEN"));
    assert!(request.body().is_empty());
}

#[test]
fn secrets_stay_out_of_debug() {
    let exchange = AuthorizationCodeGrant::new(
        AuthService::production(),
        confidential(),
        AuthorizationCode::new("the-code"),
        Some(CodeVerifier::new("v".repeat(43))),
        "https://x/",
    );
    let debug = format!("{exchange:?}");
    for secret in ["the-code", "s3cr3t", &"v".repeat(43)] {
        assert!(!debug.contains(secret), "{debug}");
    }
    let refresh = RefreshGrant::new(
        AuthService::production(),
        native(),
        RefreshToken::new("RT-SECRET"),
    );
    assert!(!format!("{refresh:?}").contains("RT-SECRET"));
}
