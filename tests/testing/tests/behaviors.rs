//! Test controls: authorize behaviors, the simulated user, the clock, token lifetime,
//! the builder, and the bundled std::net client used as a test's browser.

mod common;

use std::net::TcpListener;

use common::*;
use globus_app_testing::{
    AuthorizeBehavior, CONFIDENTIAL_CLIENT_ID, ClientConfig, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
    SessionRequirement, User, client, jwt_claims, s256_challenge,
};

#[test]
fn hold_code_keeps_the_code_for_the_test() {
    let fake = FakeAuth::start();
    fake.set_authorize_behavior(AuthorizeBehavior::HoldCode);
    let url = authorize_url(
        &fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(&fake),
        "openid",
        false,
    );
    let page = get(&url);
    assert_eq!(page.status, 200);
    assert!(page.header("location").is_none());
    let held = fake.take_held_code().expect("a held code");
    assert!(page.body.contains(&held.code), "the page shows it");
    assert_eq!(held.state.as_deref(), Some("_default"));
    assert_eq!(held.client_id, NATIVE_CLIENT_ID);
    assert!(
        !format!("{held:?}").contains(&held.code),
        "Debug redacts the code"
    );
    assert_eq!(fake.take_held_code(), None);
    assert_eq!(exchange_native(&fake, &held.code).status, 200);
}

#[test]
fn auth_code_page_shows_the_code_like_globus() {
    let fake = FakeAuth::start();
    let url = authorize_url(
        &fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(&fake),
        "openid",
        false,
    );
    // follow the redirect like a browser: it lands on {base}v2/web/auth-code
    let responses = client::browse(&url).expect("browse");
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].status, 302);
    let (code, state) = client::code_from_redirect(&responses[0]).expect("code");
    assert_eq!(state.as_deref(), Some("_default"));
    let page = &responses[1];
    assert_eq!(page.status, 200);
    assert!(page.url.starts_with(&fake.url("v2/web/auth-code")));
    assert!(
        page.text()
            .contains(&format!("<pre id=\"auth-code\">{code}</pre>"))
    );
    assert_eq!(fake.last_issued_code().map(|c| c.code), Some(code));

    let missing = get(&fake.url("v2/web/auth-code"));
    assert_eq!(missing.status, 400);
    let error = get(&format!(
        "{}?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E",
        fake.url("v2/web/auth-code")
    ));
    assert!(
        error.body.contains("&lt;b&gt;no&lt;/b&gt;"),
        "escaped: {}",
        error.body
    );
}

#[test]
fn deny_redirects_with_access_denied() {
    let fake = FakeAuth::builder()
        .authorize_behavior(AuthorizeBehavior::Deny("The user said no".to_owned()))
        .start();
    let url = authorize_url(
        &fake,
        NATIVE_CLIENT_ID,
        "http://127.0.0.1:4321/",
        "openid",
        false,
    );
    let response = get(&url);
    assert_eq!(response.status, 302);
    assert!(
        response
            .header("location")
            .expect("location")
            .starts_with("http://127.0.0.1:4321/?")
    );
    assert_eq!(
        response.location_param("error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        response.location_param("error_description").as_deref(),
        Some("The user said no")
    );
    assert_eq!(
        response.location_param("state").as_deref(),
        Some("_default")
    );
    assert_eq!(response.location_param("code"), None);
    assert_eq!(fake.last_issued_code(), None);
}

#[test]
fn require_session_parameters() {
    let fake = FakeAuth::start();
    let wanted = "aaaaaaaa-1111-4222-8333-444444444444";
    fake.set_authorize_behavior(AuthorizeBehavior::RequireSession(
        SessionRequirement::Identity(wanted.to_owned()),
    ));
    let url = authorize_url(
        &fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(&fake),
        "openid",
        false,
    );
    let refused = get(&url);
    assert_eq!(refused.status, 302);
    assert_eq!(
        refused.location_param("error").as_deref(),
        Some("login_required")
    );
    assert!(
        refused
            .location_param("error_description")
            .is_some_and(|d| d.contains("session_required_identities"))
    );
    let with_session = get(&format!(
        "{url}&session_required_identities=other,{wanted}&session_message=please"
    ));
    assert_eq!(with_session.status, 302);
    assert!(with_session.location_param("code").is_some());

    fake.set_authorize_behavior(AuthorizeBehavior::RequireSession(SessionRequirement::Mfa));
    assert!(get(&url).location_param("error").is_some());
    assert!(
        get(&format!("{url}&session_required_mfa=True"))
            .location_param("code")
            .is_some()
    );

    for (requirement, param) in [
        (
            SessionRequirement::SingleDomain("uni.edu".to_owned()),
            "session_required_single_domain=uni.edu",
        ),
        (
            SessionRequirement::Policy("p-1".to_owned()),
            "session_required_policies=p-0,p-1",
        ),
    ] {
        fake.set_authorize_behavior(AuthorizeBehavior::RequireSession(requirement));
        assert!(get(&url).location_param("error").is_some());
        assert!(
            get(&format!("{url}&{param}"))
                .location_param("code")
                .is_some(),
            "{param}"
        );
    }
}

#[test]
fn switching_the_user_changes_the_next_grant_only() {
    let fake = FakeAuth::start();
    let first = native_login(&fake, "openid", true);
    let alice = User::default();
    let bob = User::new("b0b0b0b0-1111-4222-8333-444444444444", "bob@example.org");
    fake.set_user(bob.clone());
    assert_eq!(fake.user(), bob);
    let second = native_login(&fake, "openid", false);
    let sub = |body: &serde_json::Value| {
        jwt_claims(body["id_token"].as_str().expect("id_token")).expect("jwt")["sub"].clone()
    };
    assert_eq!(sub(&first), alice.id.as_str());
    assert_eq!(sub(&second), bob.id.as_str());

    // refreshing Alice's grant still speaks for Alice
    let refreshed = refresh_native(&fake, first["refresh_token"].as_str().expect("rt")).json();
    let info = get_bearer(
        &fake.url("v2/oauth2/userinfo"),
        refreshed["access_token"].as_str().expect("at"),
    );
    assert_eq!(info.json()["sub"], alice.id.as_str());
}

#[test]
fn linked_identities_appear_in_identity_set() {
    let other = User::new("c0c0c0c0-1111-4222-8333-444444444444", "alice@other.org");
    let fake = FakeAuth::builder()
        .user(User::default().with_linked_identity(other.clone()))
        .start();
    let body = native_login(
        &fake,
        "openid urn:globus:auth:scope:auth.globus.org:view_identity_set",
        false,
    );
    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("jwt");
    let set = claims["identity_set"].as_array().expect("identity_set");
    assert_eq!(set.len(), 2);
    assert_eq!(set[1]["sub"], other.id.as_str());
    // a linked identity's consents may be read with the primary identity's token
    let token = body["access_token"].as_str().expect("at");
    let url = fake.url(&format!("v2/api/identities/{}/consents", other.id));
    assert_eq!(get_bearer(&url, token).status, 200);
}

#[test]
fn clock_and_token_lifetime() {
    let fake = FakeAuth::builder()
        .now(1_700_000_000)
        .token_lifetime(100)
        .start();
    assert_eq!(fake.now(), 1_700_000_000);
    let body = native_login(&fake, "openid", true);
    assert_eq!(body["expires_in"], 100);
    let token = body["access_token"].as_str().expect("at").to_owned();
    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("jwt");
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["exp"], 1_700_000_100);

    fake.advance(99);
    assert!(fake.is_access_token_active(&token));
    fake.advance(1);
    assert!(
        !fake.is_access_token_active(&token),
        "expires on the server clock"
    );

    fake.set_token_lifetime(0);
    let refreshed = refresh_native(&fake, body["refresh_token"].as_str().expect("rt")).json();
    assert_eq!(refreshed["expires_in"], 0);
    assert!(!fake.is_access_token_active(refreshed["access_token"].as_str().expect("at")));

    fake.set_now(1_600_000_000);
    assert_eq!(fake.now(), 1_600_000_000);
    let log = fake.requests();
    assert_eq!(log.last().map(|r| r.at), Some(1_700_000_100));
}

#[test]
fn builder_clients_and_removal() {
    let fake = FakeAuth::builder()
        .without_default_clients()
        .client(ClientConfig::native("only-native").redirect_uri("https://app.example.org/cb"))
        .start();
    let url = authorize_url(
        &fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(&fake),
        "openid",
        false,
    );
    assert_eq!(get(&url).status, 400, "no default clients");
    for redirect in [
        "https://app.example.org/cb".to_owned(),
        auth_code_redirect(&fake),
    ] {
        let url = authorize_url(&fake, "only-native", &redirect, "openid", false);
        assert_eq!(get(&url).status, 302, "{redirect}");
    }
    fake.remove_client("only-native");
    let url = authorize_url(
        &fake,
        "only-native",
        &auth_code_redirect(&fake),
        "openid",
        false,
    );
    assert_eq!(get(&url).status, 400);
    assert!(format!("{:?}", ClientConfig::confidential("c", "hunter2")).contains("redacted"));
    assert!(!format!("{:?}", ClientConfig::confidential("c", "hunter2")).contains("hunter2"));
    assert!(ClientConfig::confidential(CONFIDENTIAL_CLIENT_ID, "x").is_confidential());
}

#[test]
fn base_url_and_helpers() {
    let fake = FakeAuth::start();
    let base = fake.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(base.ends_with('/'));
    assert_eq!(fake.url("/jwk.json"), format!("{base}jwk.json"));
    assert_eq!(fake.url("jwk.json"), format!("{base}jwk.json"));
    assert_eq!(fake.issuer(), base.trim_end_matches('/'));
    assert_eq!(
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "RFC 7636 appendix B"
    );
    assert_eq!(jwt_claims("not.a-jwt"), None);
    assert!(format!("{fake:?}").contains(base));
}

#[test]
fn local_server_style_login_with_the_bundled_client() {
    // The app's loopback listener, as the local-server login flow would run it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let redirect_uri = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let app = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (mut stream, _) = listener.accept().expect("the browser arrives");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("request line");
        let body = "Login successful";
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("answer");
        line
    });

    let fake = FakeAuth::start();
    let url = authorize_url(&fake, NATIVE_CLIENT_ID, &redirect_uri, "openid", false);
    let responses = client::browse(&url).expect("browse");
    assert_eq!(
        responses.last().map(|r| r.text()),
        Some("Login successful".to_owned())
    );
    let request_line = app.join().expect("app");
    assert!(request_line.starts_with("GET /?code="), "{request_line}");

    // the code is bound to the port-specific redirect URI
    let code = fake.last_issued_code().expect("code");
    assert_eq!(code.redirect_uri, redirect_uri);
    let (verifier, _) = pkce();
    let response = client::post_form(
        &fake.url("v2/oauth2/token"),
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code.code),
            ("code_verifier", &verifier),
            ("redirect_uri", &redirect_uri),
            ("client_id", NATIVE_CLIENT_ID),
        ],
    )
    .expect("token");
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.json().expect("json")["id_token"].is_string());
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(fake.requests_to(Endpoint::Token).len(), 1);
}

#[test]
fn bundled_client_basics() {
    let fake = FakeAuth::start();
    let jwks = client::get(&fake.url("jwk.json")).expect("get");
    assert_eq!(jwks.status, 200);
    assert!(jwks.json().expect("json")["keys"].is_array());
    let unauthorized =
        client::get_with_bearer(&fake.url("v2/oauth2/userinfo"), "nope").expect("get");
    assert_eq!(unauthorized.status, 401);
    assert!(
        client::get("https://example.org/").is_err(),
        "plain http only"
    );
    assert!(client::get("not a url").is_err());
}

#[test]
fn handles_and_records_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeAuth>();
    assert_send_sync::<globus_app_testing::LoggedRequest>();
    assert_send_sync::<globus_app_testing::Fault>();
    assert_send_sync::<User>();
}
