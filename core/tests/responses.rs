//! Token responses and error bodies: shapes Globus Auth sends and shapes it must
//! never be trusted to send.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use globus_app_core::oauth::{
    ClientCredentialsGrant, Exchange, RefreshGrant, Revocation, parse_token_response,
};
use globus_app_core::{
    AccessToken, AuthService, HttpResponse, OAuthClient, RefreshToken, ResponseError, UnixTime,
};
use proptest::prelude::*;
use serde_json::json;

const CLIENT: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";
const USER: &str = "ae341a98-d274-11e5-b888-dbae3a8ba545";
const NOW: UnixTime = UnixTime(1_700_000_000);

fn response(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

fn id_token(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn good_claims() -> serde_json::Value {
    json!({"sub": USER, "aud": CLIENT, "iss": "https://auth.globus.org",
           "exp": NOW.0 + 172_800, "iat": NOW.0, "preferred_username": "u@globusid.org"})
}

fn login_body() -> serde_json::Value {
    json!({
        "access_token": "AUTH-AT", "scope": "openid profile", "resource_server": "auth.globus.org",
        "expires_in": 172800, "token_type": "Bearer", "refresh_token": "AUTH-RT",
        "id_token": id_token(good_claims()), "state": "xyz",
        "other_tokens": [
            {"access_token": "TRANSFER-AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
             "resource_server": "transfer.api.globus.org", "expires_in": 3600, "token_type": "Bearer",
             "refresh_token": "TRANSFER-RT", "state": "xyz"},
            {"access_token": "GROUPS-AT", "scope": "urn:globus:auth:scope:groups.api.globus.org:all",
             "resource_server": "groups.api.globus.org", "expires_in": 60, "token_type": "Bearer",
             "refresh_token": null}
        ]
    })
}

fn parse(body: &serde_json::Value) -> Result<globus_app_core::oauth::GrantedTokens, ResponseError> {
    parse_token_response(
        &response(200, body.to_string()),
        CLIENT,
        &AuthService::production(),
        NOW,
    )
}

#[test]
fn login_response_with_other_tokens() {
    let granted = parse(&login_body()).unwrap();
    assert_eq!(granted.identity_id(), Some(USER));
    let servers: Vec<&str> = granted
        .tokens
        .iter()
        .map(|t| t.resource_server.as_str())
        .collect();
    assert_eq!(
        servers,
        [
            "auth.globus.org",
            "transfer.api.globus.org",
            "groups.api.globus.org"
        ]
    );
    let transfer = granted.get("transfer.api.globus.org").unwrap();
    assert_eq!(transfer.access_token.secret(), "TRANSFER-AT");
    assert_eq!(
        transfer.refresh_token.as_ref().unwrap().secret(),
        "TRANSFER-RT"
    );
    assert_eq!(transfer.expires_at_seconds, NOW.0 + 3600);
    assert_eq!(transfer.identity_id.as_deref(), Some(USER));
    assert_eq!(transfer.token_type.as_deref(), Some("Bearer"));
    let groups = granted.get("groups.api.globus.org").unwrap();
    assert!(groups.refresh_token.is_none());
    assert_eq!(groups.authorization_header(), "Bearer GROUPS-AT");
    assert_eq!(
        granted.id_token.as_ref().unwrap().other["preferred_username"],
        "u@globusid.org"
    );
}

#[test]
fn minimal_response_without_optional_fields() {
    let body =
        json!({"access_token": "AT", "scope": "s", "resource_server": "rs", "expires_in": 10});
    let granted = parse(&body).unwrap();
    assert_eq!(granted.tokens.len(), 1);
    let t = &granted.tokens[0];
    assert!(t.identity_id.is_none() && t.refresh_token.is_none() && t.token_type.is_none());
    assert_eq!(granted.identity_id(), None);
    // Serialized like the Python SDK: absent fields omitted.
    let stored = serde_json::to_value(t).unwrap();
    assert_eq!(
        stored,
        json!({"resource_server": "rs", "scope": "s", "access_token": "AT", "expires_at_seconds": NOW.0 + 10})
    );
}

#[test]
fn bad_id_tokens_are_rejected() {
    let cases = [
        json!({"sub": USER, "aud": "another-client", "iss": "https://auth.globus.org", "exp": NOW.0 + 10, "iat": NOW.0}),
        json!({"sub": USER, "aud": CLIENT, "iss": "https://evil.example", "exp": NOW.0 + 10, "iat": NOW.0}),
        json!({"sub": USER, "aud": CLIENT, "iss": "https://auth.globus.org", "exp": NOW.0 - 301, "iat": NOW.0 - 1000}),
        json!({"aud": CLIENT, "iss": "https://auth.globus.org", "exp": NOW.0 + 10, "iat": NOW.0}),
    ];
    for claims in cases {
        let mut body = login_body();
        body["id_token"] = json!(id_token(claims.clone()));
        let err = parse(&body).unwrap_err();
        assert!(
            matches!(err, ResponseError::IdToken(_)),
            "{claims}: {err:?}"
        );
        assert!(!err.to_string().contains("AUTH-AT"));
    }
    let mut body = login_body();
    body["id_token"] = json!("not-a-jwt");
    assert!(matches!(parse(&body), Err(ResponseError::IdToken(_))));
}

#[test]
fn wrong_shapes_are_typed_errors_without_secrets() {
    let mut missing_scope = login_body();
    missing_scope["other_tokens"][0]
        .as_object_mut()
        .unwrap()
        .remove("scope");
    let mut string_expiry = login_body();
    string_expiry["expires_in"] = json!("soon");
    let mut duplicate = login_body();
    duplicate["other_tokens"][1]["resource_server"] = json!("transfer.api.globus.org");
    let mut bad_other = login_body();
    bad_other["other_tokens"] = json!("nope");
    for body in [missing_scope, string_expiry, duplicate, bad_other] {
        let err = parse(&body).unwrap_err();
        let ResponseError::Unexpected {
            status,
            detail,
            excerpt,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*status, 200);
        let message = err.to_string();
        for secret in [
            "AUTH-AT",
            "TRANSFER-AT",
            "AUTH-RT",
            "TRANSFER-RT",
            "GROUPS-AT",
        ] {
            assert!(!message.contains(secret), "{message}");
            assert!(!excerpt.contains(secret) && !detail.contains(secret));
        }
    }
}

#[test]
fn truncated_html_and_empty_bodies() {
    let full = login_body().to_string();
    let cases: Vec<(u16, Vec<u8>, &str)> = vec![
        (200, full.as_bytes()[..full.len() / 2].to_vec(), "truncated"),
        (
            200,
            b"<html><body>Maintenance</body></html>".to_vec(),
            "not JSON",
        ),
        (200, Vec::new(), "truncated"),
        (200, b"[]".to_vec(), "wrong shape"),
        (
            503,
            b"<html>Service Unavailable</html>".to_vec(),
            "not JSON",
        ),
        (500, Vec::new(), "empty body"),
    ];
    for (status, body, expect) in cases {
        let err = parse_token_response(
            &response(status, body),
            CLIENT,
            &AuthService::production(),
            NOW,
        )
        .unwrap_err();
        assert!(err.to_string().contains(expect), "{expect}: {err}");
        assert_eq!(err.status(), Some(status));
        assert!(!err.to_string().contains("AUTH-AT"));
    }
}

#[test]
fn oauth_errors_from_every_grant() {
    let service = AuthService::production();
    let invalid_grant = response(
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
    );
    let refresh = RefreshGrant::new(
        service.clone(),
        OAuthClient::native(CLIENT),
        RefreshToken::new("RT"),
    );
    let err = refresh.handle_response(&invalid_grant, NOW).unwrap_err();
    assert!(err.api_error().unwrap().is_invalid_grant());

    let cc = ClientCredentialsGrant::new(
        service.clone(),
        OAuthClient::confidential(CLIENT, "x"),
        "openid",
    )
    .unwrap();
    let unauthorized = response(401, r#"{"error":"invalid_client"}"#);
    let err = cc.handle_response(&unauthorized, NOW).unwrap_err();
    assert_eq!(
        err.api_error().unwrap().code.as_deref(),
        Some("invalid_client")
    );

    let revoke = Revocation::access_token(
        service,
        OAuthClient::native(CLIENT),
        &AccessToken::new("AT"),
    );
    assert_eq!(revoke.handle_response(&response(200, "{}"), NOW), Ok(()));
    let err = revoke
        .handle_response(&response(429, "{}"), NOW)
        .unwrap_err();
    assert!(err.is_retryable());
}

proptest! {
    #[test]
    fn no_body_makes_the_token_parser_panic(body in proptest::collection::vec(any::<u8>(), 0..300), status in 100u16..600) {
        let _ = parse_token_response(&response(status, body), CLIENT, &AuthService::production(), NOW);
    }

    #[test]
    fn no_json_value_makes_the_token_parser_panic(
        token in r#"\{"access_token": ?"[a-z]{0,5}", ?"scope": ?"[a-z ]{0,5}", ?"resource_server": ?"[a-z.]{0,8}", ?"expires_in": ?-?[0-9]{0,20}(, ?"other_tokens": ?\[[^\]]{0,20}\])?(, ?"id_token": ?"[A-Za-z0-9.]{0,40}")?\}"#
    ) {
        let _ = parse_token_response(&response(200, token.into_bytes()), CLIENT, &AuthService::production(), NOW);
    }
}

#[test]
fn tokens_that_cannot_travel_in_a_header_are_refused() {
    for bad in ["", "has space", "line\nbreak", "tab\there", "é"] {
        let mut body = login_body();
        body["other_tokens"][0]["access_token"] = json!(bad);
        let err = parse(&body).unwrap_err();
        assert!(
            err.to_string().contains("characters a token cannot have"),
            "{bad:?}: {err}"
        );
        let mut body = login_body();
        body["refresh_token"] = json!(bad);
        assert!(parse(&body).is_err(), "{bad:?}");
    }
}

#[test]
fn a_damaged_stored_token_never_panics_a_request() {
    // A token file edited by hand can hold anything; the request is still built
    // (without the header HTTP cannot carry) and the server's refusal is the error.
    let lookup = globus_app_core::oauth::ConsentsLookup::new(
        AuthService::production(),
        USER,
        AccessToken::new("bad\ntoken"),
    );
    let request = lookup.request();
    assert!(request.headers().get("authorization").is_none());
    assert_eq!(request.headers()["accept"], "application/json");
    let revoke = Revocation::access_token(
        AuthService::production(),
        OAuthClient::confidential("id\n", "secret"),
        &AccessToken::new("x"),
    );
    let _ = revoke.request();
}
