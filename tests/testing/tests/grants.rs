//! Each grant's happy path and the other endpoints, through plain HTTP.

mod common;

use common::*;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, CONFIDENTIAL_REDIRECT_URI, Endpoint,
    FakeAuth, NATIVE_CLIENT_ID, User, jwt_claims,
};
use serde_json::Value;

#[test]
fn native_authorization_code_with_pkce() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, &format!("openid profile email {TRANSFER}"), false);

    // auth.globus.org at the top level with the id_token, transfer in other_tokens
    assert_eq!(body["resource_server"], "auth.globus.org");
    assert_eq!(body["scope"], "openid profile email");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 172_800);
    assert_eq!(body["state"], "_default");
    assert!(
        body.get("refresh_token").is_none(),
        "online: no refresh token"
    );
    let other = body["other_tokens"].as_array().expect("other_tokens");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["resource_server"], "transfer.api.globus.org");
    assert_eq!(other[0]["scope"], TRANSFER);
    assert!(other[0].get("refresh_token").is_none());
    assert!(other[0].get("id_token").is_none());
    assert_ne!(other[0]["access_token"], body["access_token"]);

    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("a JWT");
    let user = User::default();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["aud"], NATIVE_CLIENT_ID);
    assert_eq!(claims["iss"], fake.issuer().as_str());
    assert_eq!(claims["iss"], fake.base_url().trim_end_matches('/'));
    assert_eq!(claims["iat"], fake.now());
    assert_eq!(claims["exp"], fake.now() + 172_800);
    assert_eq!(claims["preferred_username"], user.username.as_str());
    assert_eq!(claims["email"], "alice@example.org");
    assert!(
        claims.get("at_hash").is_none(),
        "no at_hash: see the crate docs"
    );

    let log = fake.token_requests("authorization_code");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[0].form_value("client_id"), Some(NATIVE_CLIENT_ID));
}

#[test]
fn openid_only_and_id_token_without_profile_claims() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, "openid", false);
    assert_eq!(body["other_tokens"], Value::Array(Vec::new()));
    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("a JWT");
    assert!(claims.get("email").is_none());
    assert!(claims.get("preferred_username").is_none());

    // no openid: no id_token
    let body = native_login(&fake, TRANSFER, false);
    assert_eq!(body["resource_server"], "transfer.api.globus.org");
    assert!(body.get("id_token").is_none());
}

#[test]
fn offline_access_gives_refresh_tokens_and_refresh_keeps_them() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, &format!("openid {TRANSFER}"), true);
    let transfer = token_for(&body, "transfer.api.globus.org");
    let refresh_token = transfer["refresh_token"].as_str().expect("refresh token");
    let first_access = transfer["access_token"].as_str().expect("access token");
    assert!(body["refresh_token"].is_string(), "auth token too");
    assert_ne!(body["refresh_token"], transfer["refresh_token"]);

    fake.advance(1000);
    let refreshed = refresh_native(&fake, refresh_token);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    assert_eq!(refreshed["resource_server"], "transfer.api.globus.org");
    assert_eq!(refreshed["scope"], TRANSFER);
    assert_eq!(refreshed["refresh_token"], refresh_token, "not rotated");
    assert_eq!(refreshed["other_tokens"], Value::Array(Vec::new()));
    assert!(refreshed.get("id_token").is_none());
    let new_access = refreshed["access_token"].as_str().expect("access token");
    assert_ne!(new_access, first_access);
    assert!(
        fake.is_access_token_active(first_access),
        "old one lives to its expiry"
    );
    assert!(fake.is_access_token_active(new_access));
    assert_eq!(fake.token_requests("refresh_token").len(), 1);
}

#[test]
fn confidential_authorization_code_with_basic() {
    let fake = FakeAuth::start();
    let mut url = url::Url::parse(&fake.url("v2/oauth2/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", CONFIDENTIAL_CLIENT_ID)
        .append_pair("redirect_uri", CONFIDENTIAL_REDIRECT_URI)
        .append_pair("scope", &format!("openid {TRANSFER}"))
        .append_pair("response_type", "code")
        .append_pair("access_type", "offline");
    let authorize = get(url.as_str());
    assert_eq!(authorize.status, 302);
    let location = authorize.header("location").expect("location");
    assert!(
        location.starts_with(CONFIDENTIAL_REDIRECT_URI),
        "{location}"
    );
    assert_eq!(authorize.location_param("state"), None, "no state was sent");
    let code = authorize.location_param("code").expect("code");

    let response = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONFIDENTIAL_REDIRECT_URI),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert!(body["refresh_token"].is_string());
    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("jwt");
    assert_eq!(claims["aud"], CONFIDENTIAL_CLIENT_ID);
    let log = fake.token_requests("authorization_code");
    assert_eq!(log[0].auth.basic_client_id(), Some(CONFIDENTIAL_CLIENT_ID));

    // a confidential client's refresh uses Basic too
    let refreshed = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().expect("rt")),
        ],
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.json()["resource_server"], "auth.globus.org");
}

#[test]
fn client_credentials() {
    let fake = FakeAuth::start();
    let response = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", &format!("{TRANSFER} openid")),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json();
    assert_eq!(body["resource_server"], "auth.globus.org");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(
        token_for(&body, "transfer.api.globus.org")["scope"],
        TRANSFER
    );
    let claims = jwt_claims(body["id_token"].as_str().expect("id_token")).expect("jwt");
    assert_eq!(
        claims["sub"], CONFIDENTIAL_CLIENT_ID,
        "a client's identity is its id"
    );
    assert_eq!(fake.token_requests("client_credentials").len(), 1);
}

#[test]
fn revoke_then_refresh_is_invalid_grant() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, TRANSFER, true);
    let refresh_token = body["refresh_token"].as_str().expect("rt").to_owned();
    let access_token = body["access_token"].as_str().expect("at").to_owned();

    let revoked = post(
        &fake.url("v2/oauth2/token/revoke"),
        None,
        &[("token", &refresh_token), ("client_id", NATIVE_CLIENT_ID)],
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json()["active"], false);
    assert!(!fake.is_refresh_token_active(&refresh_token));
    assert!(
        !fake.is_access_token_active(&access_token),
        "revoking a refresh token revokes its access tokens"
    );

    let refreshed = refresh_native(&fake, &refresh_token);
    assert_eq!(refreshed.status, 400);
    assert_eq!(refreshed.error(), "invalid_grant");

    // revoking an unknown token is not an error (RFC 7009)
    let unknown = post(
        &fake.url("v2/oauth2/token/revoke"),
        None,
        &[("token", "nonsense"), ("client_id", NATIVE_CLIENT_ID)],
    );
    assert_eq!(unknown.status, 200);
    assert_eq!(fake.requests_to(Endpoint::Revoke).len(), 2);
}

#[test]
fn revoking_an_access_token_only_revokes_it() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, TRANSFER, true);
    let access_token = body["access_token"].as_str().expect("at");
    let refresh_token = body["refresh_token"].as_str().expect("rt");
    let revoked = post(
        &fake.url("v2/oauth2/token/revoke"),
        None,
        &[("token", access_token), ("client_id", NATIVE_CLIENT_ID)],
    );
    assert_eq!(revoked.status, 200);
    assert!(!fake.is_access_token_active(access_token));
    assert!(fake.is_refresh_token_active(refresh_token));
    assert_eq!(refresh_native(&fake, refresh_token).status, 200);
}

#[test]
fn another_clients_token_is_not_revoked() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, TRANSFER, false);
    let access_token = body["access_token"].as_str().expect("at");
    let response = post(
        &fake.url("v2/oauth2/token/revoke"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("token", access_token)],
    );
    assert_eq!(response.status, 200);
    assert!(fake.is_access_token_active(access_token));
}

#[test]
fn introspect() {
    let fake = FakeAuth::start();
    let cc = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
    )
    .json();
    let token = cc["access_token"].as_str().expect("at");
    let auth = basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET);
    let url = fake.url("v2/oauth2/token/introspect");

    let active = post(
        &url,
        Some(&auth),
        &[("token", token), ("include", "identity_set")],
    );
    assert_eq!(active.status, 200, "{}", active.body);
    let active = active.json();
    assert_eq!(active["active"], true);
    assert_eq!(active["scope"], TRANSFER);
    assert_eq!(active["client_id"], CONFIDENTIAL_CLIENT_ID);
    assert_eq!(active["sub"], CONFIDENTIAL_CLIENT_ID);
    assert_eq!(active["exp"], fake.now() + 172_800);
    assert_eq!(active["aud"][0], "transfer.api.globus.org");
    assert_eq!(active["identity_set"][0], CONFIDENTIAL_CLIENT_ID);

    let unknown = post(&url, Some(&auth), &[("token", "nonsense")]);
    assert_eq!(unknown.json(), serde_json::json!({"active": false}));

    fake.advance(172_800);
    let expired = post(&url, Some(&auth), &[("token", token)]);
    assert_eq!(
        expired.json()["active"],
        false,
        "expired on the server clock"
    );
}

#[test]
fn userinfo() {
    let fake = FakeAuth::start();
    let body = native_login(&fake, "openid profile email", false);
    let token = body["access_token"].as_str().expect("at");
    let response = get_bearer(&fake.url("v2/oauth2/userinfo"), token);
    assert_eq!(response.status, 200, "{}", response.body);
    let info = response.json();
    assert_eq!(info["sub"], User::default().id.as_str());
    assert_eq!(info["email"], "alice@example.org");
    assert_eq!(info["preferred_username"], "alice@example.org");
    assert_eq!(info["name"], "Alice");
    let log = fake.requests_to(Endpoint::Userinfo);
    assert!(matches!(
        log[0].auth,
        globus_app_testing::AuthScheme::Bearer(_)
    ));
    assert!(
        !format!("{:?}", log[0]).contains(token),
        "Debug redacts the bearer token"
    );
}

#[test]
fn openid_configuration_and_jwks() {
    let fake = FakeAuth::start();
    let config = get(&fake.url(".well-known/openid-configuration"));
    assert_eq!(config.status, 200);
    let config = config.json();
    assert_eq!(config["issuer"], fake.issuer().as_str());
    assert_eq!(
        config["token_endpoint"],
        format!("{}v2/oauth2/token", fake.base_url()).as_str()
    );
    assert_eq!(config["id_token_signing_alg_values_supported"][0], "RS256");
    let jwks_uri = config["jwks_uri"].as_str().expect("jwks_uri");
    let jwks = get(jwks_uri);
    assert_eq!(jwks.status, 200);
    let key = &jwks.json()["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(
        key["n"].as_str().expect("n").len(),
        342,
        "2048-bit modulus, base64url"
    );

    // the id_token names that key
    let body = native_login(&fake, "openid", false);
    let id_token = body["id_token"].as_str().expect("id_token");
    let header_b64 = id_token.split('.').next().expect("header");
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            header_b64,
        )
        .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key["kid"]);
}

#[test]
fn consents_reflect_dependent_scopes() {
    let fake = FakeAuth::start();
    let data_access = data_access();
    let scope = format!("openid {TRANSFER}[{data_access}]");
    let body = native_login(&fake, &scope, false);
    // dependent scopes are not tokens
    assert_eq!(
        token_for(&body, "transfer.api.globus.org")["scope"],
        TRANSFER
    );
    assert_eq!(body["other_tokens"].as_array().map(Vec::len), Some(1));

    let user = User::default();
    let token = body["access_token"].as_str().expect("auth token");
    let url = format!(
        "{}?all=False",
        fake.url(&format!("v2/api/identities/{}/consents", user.id))
    );
    let response = get_bearer(&url, token);
    assert_eq!(response.status, 200, "{}", response.body);
    let consents = response.json()["consents"]
        .as_array()
        .expect("consents")
        .clone();
    assert_eq!(consents.len(), 3, "{consents:?}");
    let by_name = |name: &str| {
        consents
            .iter()
            .find(|c| c["scope_name"] == name)
            .unwrap_or_else(|| panic!("no consent for {name}"))
            .clone()
    };
    let transfer = by_name(TRANSFER);
    let dependent = by_name(&data_access);
    assert_eq!(transfer["client"], NATIVE_CLIENT_ID);
    assert_eq!(
        transfer["dependency_path"],
        serde_json::json!([transfer["id"]])
    );
    assert_eq!(
        dependent["dependency_path"],
        serde_json::json!([transfer["id"], dependent["id"]])
    );
    assert_eq!(dependent["effective_identity"], user.id.as_str());
    assert_eq!(dependent["status"], "approved");
    for field in [
        "created",
        "updated",
        "last_used",
        "scope",
        "allows_refresh",
        "auto_approved",
        "atomically_revocable",
    ] {
        assert!(dependent.get(field).is_some(), "{field}");
    }

    // a second login adding another dependency grows the same tree
    let other = "https://auth.globus.org/scopes/99999999-2222-4333-8444-555555555555/data_access";
    native_login(&fake, &format!("openid {TRANSFER}[{other}]"), false);
    let consents = get_bearer(&url, token).json()["consents"].clone();
    let consents = consents.as_array().expect("consents");
    assert_eq!(consents.len(), 4);
    let roots: Vec<_> = consents
        .iter()
        .filter(|c| c["dependency_path"].as_array().map(Vec::len) == Some(1))
        .collect();
    assert_eq!(roots.len(), 2, "openid and transfer");
    fake.clear_consents();
    assert_eq!(
        get_bearer(&url, token).json()["consents"],
        serde_json::json!([])
    );
}

#[test]
fn consents_all_needs_view_consents() {
    let fake = FakeAuth::start();
    let user = User::default();
    let url = fake.url(&format!("v2/api/identities/{}/consents", user.id));
    let body = native_login(&fake, "openid", false);
    let token = body["access_token"].as_str().expect("at");
    assert_eq!(get_bearer(&format!("{url}?all=true"), token).status, 403);
    let body = native_login(
        &fake,
        "openid urn:globus:auth:scope:auth.globus.org:view_consents",
        false,
    );
    let token = body["access_token"].as_str().expect("at");
    assert_eq!(get_bearer(&format!("{url}?all=True"), token).status, 200);
}

#[test]
fn many_resource_servers_one_token_each() {
    let fake = FakeAuth::start();
    let scope = format!(
        "{TRANSFER} urn:globus:auth:scope:groups.api.globus.org:all openid \
         urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships email {}",
        data_access()
    );
    let body = native_login(&fake, &scope, false);
    assert_eq!(body["resource_server"], "auth.globus.org");
    assert_eq!(body["scope"], "openid email");
    assert_eq!(
        token_for(&body, "groups.api.globus.org")["scope"],
        "urn:globus:auth:scope:groups.api.globus.org:all urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships"
    );
    assert_eq!(
        token_for(&body, COLLECTION)["scope"],
        data_access().as_str()
    );
    let servers: Vec<_> = body["other_tokens"]
        .as_array()
        .expect("other")
        .iter()
        .map(|t| t["resource_server"].as_str().expect("rs").to_owned())
        .collect();
    assert_eq!(
        servers,
        [
            "transfer.api.globus.org",
            "groups.api.globus.org",
            COLLECTION
        ]
    );
}

#[test]
fn the_log_records_every_request() {
    let fake = FakeAuth::start();
    native_login(&fake, "openid", false);
    let log = fake.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].endpoint, Endpoint::Authorize);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].query_value("client_id"), Some(NATIVE_CLIENT_ID));
    assert_eq!(log[0].status, Some(302));
    assert_eq!(log[1].endpoint, Endpoint::Token);
    assert_eq!(log[1].grant_type(), Some("authorization_code"));
    assert_eq!(fake.count(|r| r.status == Some(200)), 1);
    let debug = format!("{:?}", log[1]);
    assert!(
        !debug.contains(&common::pkce().0),
        "verifier redacted: {debug}"
    );
    assert!(
        !debug.contains(log[1].form_value("code").expect("code")),
        "code redacted"
    );
    fake.clear_log();
    assert!(fake.requests().is_empty());
}
