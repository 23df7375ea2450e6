//! No secret in any `Debug`: a full login, consents lookup, refresh, GARE login
//! and logout, with every step, input and operation state formatted with `{:?}` and
//! `{:#?}`; no token, code, verifier or client secret may appear raw,
//! base64-encoded, percent-encoded, or as a list of byte values.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use globus_app_core::app::{AppKind, AppSettings, Operation};
use globus_app_core::{AuthService, OAuthClient};
use serde_json::json;
use std::collections::BTreeSet;

const CLIENT_SECRET: &str = "CS-0f8e7d6c5b4a-client-secret";

/// Every way a secret could show: raw, in base64 (four alphabets), percent-encoded,
/// and as the decimal bytes a `Vec<u8>`'s `Debug` prints.
fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut all = vec![
        secret.to_owned(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        url::form_urlencoded::byte_serialize(bytes).collect(),
        bytes
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(","),
    ];
    all.dedup();
    all
}

fn assert_no_secret(texts: &[String], secrets: &BTreeSet<String>) {
    assert!(!secrets.is_empty());
    for text in texts {
        // `{:#?}` of a byte list puts each byte on its own line.
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for secret in secrets {
            for shown in encodings(secret) {
                assert!(
                    !text.contains(&shown) && !squeezed.contains(&shown),
                    "a secret ({shown:?}) shows in:\n{text}"
                );
            }
        }
    }
}

/// The secrets that went over the wire: form values and `Authorization` headers of
/// every request, and the tokens of every answer.
fn secrets_sent(h: &Harness) -> BTreeSet<String> {
    let mut secrets = BTreeSet::new();
    for request in &h.log.requests {
        for (key, value) in url::form_urlencoded::parse(request.body()) {
            if ["code", "code_verifier", "refresh_token", "token"].contains(&key.as_ref()) {
                secrets.insert(value.into_owned());
            }
        }
        if let Some(auth) = request.headers().get("authorization") {
            let auth = auth.to_str().unwrap();
            let credential = auth.split_once(' ').unwrap().1;
            secrets.insert(credential.to_owned());
        }
    }
    secrets
}

#[test]
fn no_step_input_or_operation_shows_a_secret() {
    for confidential in [false, true] {
        let client = if confidential {
            OAuthClient::confidential(CLIENT, CLIENT_SECRET)
        } else {
            OAuthClient::native(CLIENT)
        };
        let mut settings =
            AppSettings::new(AppKind::User, "Test App", client, AuthService::production());
        settings.request_refresh_tokens = true;
        if confidential {
            settings.redirect_uri = Some("https://example.org/callback".to_owned());
        }
        let mut h = Harness::new(settings, dependent_requirements());
        h.debug = Some(Vec::new());

        // A login, then a consents lookup (the dependent scope) with the auth token.
        h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
        h.run(Operation::login(None, true)).unwrap();
        h.answer(200, consents(true));
        h.authorization(TRANSFER).unwrap();
        // A login driven by a GARE's authorization parameters.
        let gare = json!({"code": "AuthorizationRequired", "authorization_parameters": {
            "session_required_single_domain": ["example.org"],
            "required_scopes": [TRANSFER_ALL]}});
        let params =
            globus_app_core::app::parse_authorization_requirements(gare.to_string().as_bytes())
                .unwrap();
        assert!(!params.session_required_single_domain.is_empty());
        h.answer(200, login_response(ALICE, true, TRANSFER_ALL));
        h.run(Operation::login(Some(params), false)).unwrap();
        // A refresh after expiry.
        h.now += 172_800 + 1;
        h.answer(
            200,
            json!({"access_token": "TRANSFER-AT-REFRESHED", "scope": TRANSFER_ALL,
                   "resource_server": TRANSFER, "expires_in": 172_800,
                   "token_type": "Bearer", "refresh_token": "TRANSFER-RT-2"}),
        );
        // (the auth token is renewed too, for the consents lookup that follows)
        h.answer(
            200,
            json!({"access_token": "AUTH-AT-REFRESHED", "scope": "openid",
                   "resource_server": "auth.globus.org", "expires_in": 172_800,
                   "token_type": "Bearer"}),
        );
        h.answer(200, consents(true));
        h.authorization(TRANSFER).unwrap();
        // A logout: both tokens of each resource server revoked.
        for _ in 0..4 {
            h.answer(200, json!({"active": false}));
        }
        h.run(Operation::logout(false)).unwrap();

        let mut secrets = secrets_sent(&h);
        if confidential {
            secrets.insert(CLIENT_SECRET.to_owned());
        }
        for token in [
            "AUTH-AT-1",
            "TRANSFER-AT-1",
            "AUTH-RT",
            "TRANSFER-RT",
            "TRANSFER-AT-REFRESHED",
            "TRANSFER-RT-2",
            "AUTH-AT-REFRESHED",
            "THE-CODE",
            &id_token(ALICE),
        ] {
            secrets.insert(token.to_owned());
        }
        let debug = h.debug.take().unwrap();
        assert!(debug.len() > 40, "{} texts", debug.len());
        assert_no_secret(&debug, &secrets);
        // The requests themselves, as a user's own driver might log them.
        let requests: Vec<String> = h
            .log
            .requests
            .iter()
            .map(|r| format!("{r:?}\n{r:#?}"))
            .collect();
        assert_no_secret(&requests, &secrets);
        // And they still say what they are.
        assert!(
            requests
                .iter()
                .any(|r| r.contains("grant_type=refresh_token"))
        );
        assert!(requests.iter().any(|r| r.contains("Sensitive")));
    }
}
