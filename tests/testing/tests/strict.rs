//! Every strict check's rejection: what Globus Auth would refuse, the fake refuses, with
//! a Globus-shaped error.

mod common;

use common::*;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, CONFIDENTIAL_REDIRECT_URI, ClientConfig,
    FakeAuth, NATIVE_CLIENT_ID, User,
};

/// The authorize URL with one parameter replaced (`None` removes it).
fn authorize_with(fake: &FakeAuth, change: &[(&str, Option<&str>)]) -> Resp {
    let base = authorize_url(
        fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(fake),
        "openid",
        false,
    );
    let mut url = url::Url::parse(&base).expect("url");
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    for (name, value) in change {
        pairs.retain(|(k, _)| k != name);
        if let Some(value) = value {
            pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    get(url.as_str())
}

fn assert_error(response: &Resp, status: u16, error: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.error(), error, "{}", response.body);
    assert!(
        response.json()["error_description"].is_string(),
        "{}",
        response.body
    );
}

#[test]
fn authorize_rejects_bad_clients_and_redirects() {
    let fake = FakeAuth::start();
    assert_error(
        &authorize_with(&fake, &[("client_id", Some("nope"))]),
        400,
        "invalid_client",
    );
    assert_error(
        &authorize_with(&fake, &[("client_id", None)]),
        400,
        "invalid_request",
    );
    for bad in [
        "https://evil.example.org/callback",
        "http://localhost:5000/callback", // loopback, but another path
        "https://localhost:5000/",        // loopback must be http
        "http://127.0.0.1:5000/#fragment",
        "not a url",
    ] {
        let response = authorize_with(&fake, &[("redirect_uri", Some(bad))]);
        assert_error(&response, 400, "invalid_request");
        assert!(
            response.header("location").is_none(),
            "never redirect to {bad}"
        );
    }
    assert_error(
        &authorize_with(&fake, &[("redirect_uri", None)]),
        400,
        "invalid_request",
    );
    // the confidential client's own redirect URI is not the native client's
    assert_error(
        &authorize_with(&fake, &[("redirect_uri", Some(CONFIDENTIAL_REDIRECT_URI))]),
        400,
        "invalid_request",
    );
    assert_eq!(fake.last_issued_code(), None);
}

#[test]
fn authorize_accepts_loopback_on_any_port() {
    let fake = FakeAuth::start();
    for ok in [
        "http://127.0.0.1:54321",
        "http://127.0.0.1:1/",
        "http://localhost:8080/",
        "http://[::1]:9/",
    ] {
        let response = authorize_with(&fake, &[("redirect_uri", Some(ok))]);
        assert_eq!(response.status, 302, "{ok}: {}", response.body);
    }
    // but not for a client whose registration has no loopback URI
    fake.register_client(
        ClientConfig::native("strict-native")
            .no_default_redirect_uris()
            .redirect_uri("https://app.example.org/native"),
    );
    let response = authorize_with(
        &fake,
        &[
            ("client_id", Some("strict-native")),
            ("redirect_uri", Some("http://127.0.0.1:5000/")),
        ],
    );
    assert_error(&response, 400, "invalid_request");
}

#[test]
fn authorize_rejects_bad_parameters() {
    let fake = FakeAuth::start();
    type Change<'a> = &'a [(&'a str, Option<&'a str>)];
    let cases: &[(Change<'_>, &str)] = &[
        (
            &[("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (&[("response_type", None)], "invalid_request"),
        (&[("scope", None)], "invalid_scope"),
        (&[("scope", Some(""))], "invalid_scope"),
        (&[("scope", Some("transfer"))], "invalid_scope"),
        (&[("scope", Some("openid[email"))], "invalid_scope"),
        (
            &[(
                "scope",
                Some("urn:globus:auth:scope:transfer.api.globus.org:all[bogus]"),
            )],
            "invalid_scope",
        ),
        (
            &[("code_challenge", None), ("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            &[("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (&[("code_challenge_method", None)], "invalid_request"),
        (&[("code_challenge", Some("too-short"))], "invalid_request"),
        (&[("access_type", Some("forever"))], "invalid_request"),
    ];
    for (change, error) in cases {
        let response = authorize_with(&fake, change);
        assert_error(&response, 400, error);
    }
    // a parameter given twice
    let url = format!(
        "{}&state=again",
        authorize_url(
            &fake,
            NATIVE_CLIENT_ID,
            &auth_code_redirect(&fake),
            "openid",
            false
        )
    );
    assert_error(&get(&url), 400, "invalid_request");
    assert_eq!(fake.last_issued_code(), None, "no code for any of these");
}

fn token(fake: &FakeAuth, auth: Option<&str>, form: &[(&str, &str)]) -> Resp {
    post(&fake.url("v2/oauth2/token"), auth, form)
}

#[test]
fn token_rejects_bad_client_authentication() {
    let fake = FakeAuth::start();
    let code = native_code(&fake, "openid", false);
    let (verifier, _) = pkce();
    let redirect = auth_code_redirect(&fake);
    let grant = |client_id: &'static str| -> Vec<(&str, &str)> {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", redirect.as_str()),
        ]
        .into_iter()
        .chain((!client_id.is_empty()).then_some(("client_id", client_id)))
        .collect::<Vec<_>>()
    };

    // unknown client, no client, a confidential client without Basic
    let response = token(&fake, None, &grant("unknown-client"));
    assert_error(&response, 401, "invalid_client");
    assert!(response.header("www-authenticate").is_some());
    assert_error(&token(&fake, None, &grant("")), 401, "invalid_client");
    assert_error(
        &token(&fake, None, &grant(CONFIDENTIAL_CLIENT_ID)),
        401,
        "invalid_client",
    );
    // wrong secret, unknown Basic client, a native client using Basic
    assert_error(
        &token(
            &fake,
            Some(&basic(CONFIDENTIAL_CLIENT_ID, "wrong")),
            &grant(""),
        ),
        401,
        "invalid_client",
    );
    assert_error(
        &token(&fake, Some(&basic("who", "ever")), &grant("")),
        401,
        "invalid_client",
    );
    assert_error(
        &token(&fake, Some(&basic(NATIVE_CLIENT_ID, "")), &grant("")),
        401,
        "invalid_client",
    );
    // Basic plus a different client_id in the body
    assert_error(
        &token(
            &fake,
            Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
            &grant(NATIVE_CLIENT_ID),
        ),
        401,
        "invalid_client",
    );
    // a secret in the body (client_secret_post) and odd Authorization schemes
    let mut with_secret = grant(CONFIDENTIAL_CLIENT_ID);
    with_secret.push(("client_secret", CONFIDENTIAL_CLIENT_SECRET));
    assert_error(&token(&fake, None, &with_secret), 401, "invalid_client");
    assert_error(
        &token(&fake, Some("Bearer x"), &grant("")),
        401,
        "invalid_client",
    );
    assert_error(
        &token(&fake, Some("Basic !!!"), &grant("")),
        401,
        "invalid_client",
    );

    // none of that consumed the code
    assert_eq!(exchange_native(&fake, &code).status, 200);
}

#[test]
fn token_rejects_bad_requests() {
    let fake = FakeAuth::start();
    let native = [("client_id", NATIVE_CLIENT_ID)];
    assert_error(&token(&fake, None, &native), 400, "invalid_request");
    let mut unknown = native.to_vec();
    unknown.push(("grant_type", "password"));
    assert_error(&token(&fake, None, &unknown), 400, "unsupported_grant_type");
    // not a form body
    let response = agent()
        .post(&fake.url("v2/oauth2/token"))
        .header("Content-Type", "application/json")
        .send(r#"{"grant_type": "client_credentials"}"#);
    let mut response = response.expect("completes");
    assert_eq!(response.status().as_u16(), 400);
    let body = response.body_mut().read_to_string().expect("body");
    assert!(body.contains("invalid_request"), "{body}");
    // a parameter twice
    assert_error(
        &token(
            &fake,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token"),
                ("client_id", NATIVE_CLIENT_ID),
            ],
        ),
        400,
        "invalid_request",
    );
    // wrong methods and unknown paths
    let get_token = get(&fake.url("v2/oauth2/token"));
    assert_eq!(get_token.status, 405);
    assert_eq!(get_token.header("allow"), Some("POST"));
    assert_eq!(get_token.json()["errors"][0]["code"], "METHOD_NOT_ALLOWED");
    let missing = get(&fake.url("v2/oauth2/tokens"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], "NOT_FOUND");
    assert_eq!(
        get(&format!("{}/v2/oauth2/token", fake.base_url())).status,
        404,
        "double slash"
    );
}

#[test]
fn authorization_code_is_single_use_and_bound() {
    let fake = FakeAuth::start();
    let (verifier, _) = pkce();
    let redirect = auth_code_redirect(&fake);

    // wrong verifier, missing verifier, malformed verifier
    let code = native_code(&fake, "openid", false);
    let exchange = |code: &str, verifier: Option<&str>, redirect: &str| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", NATIVE_CLIENT_ID),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        token(&fake, None, &form)
    };
    let other_verifier = "x".repeat(43);
    assert_error(
        &exchange(&code, Some(&other_verifier), &redirect),
        400,
        "invalid_grant",
    );
    assert_error(&exchange(&code, None, &redirect), 400, "invalid_request");
    assert_error(
        &exchange(&code, Some("short"), &redirect),
        400,
        "invalid_request",
    );
    // wrong redirect URI (even another registered one)
    assert_error(
        &exchange(&code, Some(&verifier), "http://127.0.0.1:1/"),
        400,
        "invalid_grant",
    );
    // unknown code
    assert_error(
        &exchange("made-up", Some(&verifier), &redirect),
        400,
        "invalid_grant",
    );

    // the right request works once; a replay fails and revokes what it issued
    let first = exchange(&code, Some(&verifier), &redirect);
    assert_eq!(first.status, 200, "{}", first.body);
    let access_token = first.json()["access_token"]
        .as_str()
        .expect("at")
        .to_owned();
    assert!(fake.is_access_token_active(&access_token));
    assert_error(
        &exchange(&code, Some(&verifier), &redirect),
        400,
        "invalid_grant",
    );
    assert!(
        !fake.is_access_token_active(&access_token),
        "replay revokes"
    );
}

#[test]
fn authorization_code_is_bound_to_its_client_and_expires() {
    let fake = FakeAuth::start();
    fake.register_client(ClientConfig::native("other-native"));
    let (verifier, _) = pkce();
    let redirect = auth_code_redirect(&fake);
    let code = native_code(&fake, "openid", false);
    let response = token(
        &fake,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", &redirect),
            ("client_id", "other-native"),
        ],
    );
    assert_error(&response, 400, "invalid_grant");

    fake.advance(600);
    assert_error(&exchange_native(&fake, &code), 400, "invalid_grant");

    // a confidential client's code cannot be used with a verifier it never committed to
    let mut url = url::Url::parse(&fake.url("v2/oauth2/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", CONFIDENTIAL_CLIENT_ID)
        .append_pair("redirect_uri", CONFIDENTIAL_REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("response_type", "code");
    let code = get(url.as_str()).location_param("code").expect("code");
    let auth = basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET);
    let response = token(
        &fake,
        Some(&auth),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", CONFIDENTIAL_REDIRECT_URI),
        ],
    );
    assert_error(&response, 400, "invalid_request");
}

#[test]
fn refresh_token_is_bound_to_its_client() {
    let fake = FakeAuth::start();
    fake.register_client(ClientConfig::native("other-native"));
    let body = native_login(&fake, TRANSFER, true);
    let refresh_token = body["refresh_token"].as_str().expect("rt");
    let response = token(
        &fake,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "other-native"),
        ],
    );
    assert_error(&response, 400, "invalid_grant");
    // an access token is not a refresh token
    assert_error(
        &refresh_native(&fake, body["access_token"].as_str().expect("at")),
        400,
        "invalid_grant",
    );
    assert_error(&refresh_native(&fake, "made-up"), 400, "invalid_grant");
    assert_error(
        &token(
            &fake,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", NATIVE_CLIENT_ID),
            ],
        ),
        400,
        "invalid_request",
    );
    assert_eq!(refresh_native(&fake, refresh_token).status, 200);
}

#[test]
fn client_credentials_needs_a_confidential_client_and_scopes() {
    let fake = FakeAuth::start();
    assert_error(
        &token(
            &fake,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("scope", TRANSFER),
                ("client_id", NATIVE_CLIENT_ID),
            ],
        ),
        400,
        "unauthorized_client",
    );
    assert_error(
        &token(
            &fake,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("scope", TRANSFER),
                ("client_id", CONFIDENTIAL_CLIENT_ID),
            ],
        ),
        401,
        "invalid_client",
    );
    let auth = basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET);
    assert_error(
        &token(&fake, Some(&auth), &[("grant_type", "client_credentials")]),
        400,
        "invalid_scope",
    );
    assert_error(
        &token(
            &fake,
            Some(&auth),
            &[("grant_type", "client_credentials"), ("scope", "nonsense")],
        ),
        400,
        "invalid_scope",
    );
}

#[test]
fn revoke_and_introspect_authenticate_the_client() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, TRANSFER, true);
    let token_value = body["access_token"].as_str().expect("at");
    let revoke = fake.url("v2/oauth2/token/revoke");
    assert_error(
        &post(&revoke, None, &[("token", token_value)]),
        401,
        "invalid_client",
    );
    assert_error(
        &post(&revoke, None, &[("client_id", NATIVE_CLIENT_ID)]),
        400,
        "invalid_request",
    );
    assert!(fake.is_access_token_active(token_value));

    let introspect = fake.url("v2/oauth2/token/introspect");
    assert_error(
        &post(
            &introspect,
            None,
            &[("token", token_value), ("client_id", NATIVE_CLIENT_ID)],
        ),
        401,
        "invalid_client",
    );
    assert_error(
        &post(
            &introspect,
            Some(&basic(CONFIDENTIAL_CLIENT_ID, "wrong")),
            &[("token", token_value)],
        ),
        401,
        "invalid_client",
    );
    // a client may not introspect another client's token (it is not its audience)
    let other = post(
        &introspect,
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("token", token_value)],
    );
    assert_eq!(other.json()["active"], false);
    // ... unless it is the resource server the token is for
    fake.register_client(ClientConfig::confidential(COLLECTION, "rs-secret"));
    let body = native_login(&fake, &data_access(), false);
    let for_rs = post(
        &introspect,
        Some(&basic(COLLECTION, "rs-secret")),
        &[("token", body["access_token"].as_str().expect("at"))],
    );
    assert_eq!(for_rs.json()["active"], true, "{}", for_rs.body);
}

#[test]
fn bearer_endpoints_check_the_token() {
    let fake = FakeAuth::start();
    let user = User::default();
    let userinfo = fake.url("v2/oauth2/userinfo");
    let consents = fake.url(&format!("v2/api/identities/{}/consents", user.id));

    for url in [&userinfo, &consents] {
        let none = get(url);
        assert_eq!(none.status, 401, "{url}");
        assert_eq!(none.json()["errors"][0]["code"], "UNAUTHORIZED");
        assert!(
            none.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer"))
        );
        assert_eq!(get_bearer(url, "made-up").status, 401);
    }

    // a transfer token is not for Globus Auth
    let body = native_login(&fake, &format!("openid {TRANSFER}"), false);
    let transfer = token_for(&body, "transfer.api.globus.org")["access_token"]
        .as_str()
        .expect("at")
        .to_owned();
    let auth = body["access_token"].as_str().expect("at").to_owned();
    assert_eq!(get_bearer(&userinfo, &transfer).status, 403);
    assert_eq!(get_bearer(&consents, &transfer).status, 403);
    assert_eq!(get_bearer(&consents, &auth).status, 200);

    // another identity's consents
    let other = fake.url("v2/api/identities/00000000-1111-4222-8333-444444444444/consents");
    let forbidden = get_bearer(&other, &auth);
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["errors"][0]["code"], "FORBIDDEN");
    assert_eq!(
        get_bearer(&format!("{consents}?all=maybe"), &auth).status,
        400
    );

    // an auth token without openid cannot read userinfo
    let no_openid = native_login(&fake, "email", false);
    assert_eq!(
        get_bearer(&userinfo, no_openid["access_token"].as_str().expect("at")).status,
        403
    );

    // expired on the server clock, and revoked
    fake.advance(172_800);
    assert_eq!(get_bearer(&userinfo, &auth).status, 401);
    assert_eq!(get_bearer(&consents, &auth).status, 401);
    let fresh = native_login(&fake, "openid", false);
    let fresh = fresh["access_token"].as_str().expect("at");
    assert_eq!(get_bearer(&userinfo, fresh).status, 200);
    fake.revoke_all_tokens();
    assert_eq!(get_bearer(&userinfo, fresh).status, 401);
}

#[test]
fn malformed_http_gets_400_and_no_panic() {
    use std::io::{Read, Write};
    let fake = FakeAuth::start();
    for raw in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /v2/oauth2/token HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET /v2/oauth2/authorize?client_id=%ZZ HTTP/1.1\r\nBroken header\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(fake.addr()).expect("connect");
        stream.write_all(raw).expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 505"),
            "{answer}"
        );
    }
    // the server still works
    assert_eq!(
        get(&fake.url(".well-known/openid-configuration")).status,
        200
    );
}
