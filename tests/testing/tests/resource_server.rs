//! The stand-in resource servers: bearer checks (401), Globus Auth Requirements Errors
//! (403), the echo (200), faults, fixed answers and the log.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, Fault,
    NATIVE_CLIENT_ID, ResourceServerConfig, SessionRequirement,
};
use serde_json::{Value, json};

const TRANSFER_RS: &str = "transfer.api.globus.org";
const GROUPS: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
const GROUPS_RS: &str = "groups.api.globus.org";

/// Sends a request with an optional bearer token and body; reports every status.
fn send(method: &str, url: &str, token: Option<&str>, body: Option<&[u8]>) -> Resp {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    let request = builder
        .body(body.map(<[u8]>::to_vec).unwrap_or_default())
        .expect("a request");
    read(agent().run(request))
}

fn get_with(url: &str, token: &str) -> Resp {
    send("GET", url, Some(token), None)
}

/// A native login (the user consents) whose authorize request also carries `extra`
/// parameters; returns the token response.
fn login_with(fake: &FakeAuth, scope: &str, offline: bool, extra: &[(&str, &str)]) -> Value {
    let mut url = url::Url::parse(&authorize_url(
        fake,
        NATIVE_CLIENT_ID,
        &auth_code_redirect(fake),
        scope,
        offline,
    ))
    .expect("url");
    for (name, value) in extra {
        url.query_pairs_mut().append_pair(name, value);
    }
    let response = get(url.as_str());
    assert_eq!(response.status, 302, "{}", response.body);
    let code = response.location_param("code").expect("a code");
    let response = exchange_native(fake, &code);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

fn access_token(body: &Value, resource_server: &str) -> String {
    token_for(body, resource_server)["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn transfer_token(fake: &FakeAuth) -> String {
    access_token(&native_login(fake, TRANSFER, false), TRANSFER_RS)
}

fn client_credentials_token(fake: &FakeAuth, scope: &str, resource_server: &str) -> String {
    let response = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", scope)],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    access_token(&response.json(), resource_server)
}

fn assert_authentication_failed(response: &Resp, message_part: &str) {
    assert_eq!(response.status, 401, "{}", response.body);
    let body = response.json();
    assert_eq!(body["code"], "AuthenticationFailed", "{body}");
    assert_eq!(body["http_status"], 401);
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains(message_part), "{message:?}");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"))
    );
}

/// The `authorization_parameters` of a 403 GARE, checked to have the shape the core
/// parses (`code: AuthorizationRequired`, no `prompt` other than `login`).
fn gare_parameters(response: &Resp) -> Value {
    assert_eq!(response.status, 403, "{}", response.body);
    let body = response.json();
    assert_eq!(body["code"], "AuthorizationRequired", "{body}");
    assert_eq!(body["http_status"], 403);
    assert!(body["request_id"].is_string());
    let parameters = body["authorization_parameters"].clone();
    assert!(parameters.is_object(), "{body}");
    assert!(parameters.get("prompt").is_none());
    assert!(parameters["session_message"].is_string());
    parameters
}

#[test]
fn a_good_token_gets_the_echo() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with('/'));
    assert_ne!(base, fake.base_url(), "a listener of its own");
    assert_eq!(fake.resource_server_url(TRANSFER_RS), base, "started once");
    let token = transfer_token(&fake);

    let response = get_with(
        &format!("{base}v0.10/endpoint_search?filter_fulltext=tutorial&limit=5"),
        &token,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(!response.body.contains(&token), "never the token");
    let body = response.json();
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/v0.10/endpoint_search");
    assert_eq!(
        body["query"],
        json!([["filter_fulltext", "tutorial"], ["limit", "5"]])
    );
    assert_eq!(body["body_length"], 0);
    assert_eq!(body["resource_server"], TRANSFER_RS);
    assert_eq!(body["identity"], fake.user().id);
    assert_eq!(body["username"], fake.user().username);
    assert_eq!(body["client_id"], NATIVE_CLIENT_ID);
    assert_eq!(body["scopes"], json!([TRANSFER]));
    assert!(body["request_id"].is_string());

    let response = send(
        "POST",
        &format!("{base}v0.10/transfer"),
        Some(&token),
        Some(br#"{"DATA_TYPE": "transfer"}"#),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["method"], "POST");
    assert_eq!(response.json()["body_length"], 25);

    let response = send("DELETE", &format!("{base}v0.10/x"), Some(&token), None);
    assert_eq!(response.json()["method"], "DELETE");
    let response = send("HEAD", &format!("{base}v0.10/x"), Some(&token), None);
    assert_eq!((response.status, response.body.as_str()), (200, ""));

    // A client-credentials token works too, with the client as the identity.
    let token = client_credentials_token(&fake, TRANSFER, TRANSFER_RS);
    let body = get_with(&base, &token).json();
    assert_eq!(body["identity"], CONFIDENTIAL_CLIENT_ID);
    assert_eq!(body["client_id"], CONFIDENTIAL_CLIENT_ID);
}

#[test]
fn bad_tokens_get_401() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let login = native_login(&fake, &format!("openid {TRANSFER} {GROUPS}"), true);
    let transfer = access_token(&login, TRANSFER_RS);
    let refresh = token_for(&login, TRANSFER_RS)["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    assert_authentication_failed(&send("GET", &base, None, None), "No Authorization header");
    let basic = ureq::http::Request::get(&base)
        .header("Authorization", basic("a", "b"))
        .body(Vec::new())
        .expect("a request");
    let response = agent().run(basic).expect("completes");
    assert_eq!(response.status(), 401);
    assert_authentication_failed(&get_with(&base, "faAT_not_a_token"), "unknown");
    assert_authentication_failed(&get_with(&base, &refresh), "refresh token");
    for other in ["auth.globus.org", GROUPS_RS] {
        let response = get_with(&base, &access_token(&login, other));
        assert_authentication_failed(&response, &format!("issued for {other}"));
    }
    assert_eq!(get_with(&base, &transfer).status, 200);

    // A token for Transfer is refused by another stand-in.
    let groups = fake.resource_server_url(GROUPS_RS);
    assert_authentication_failed(&get_with(&groups, &transfer), "issued for transfer");

    fake.revoke_all_tokens();
    assert!(!fake.is_access_token_active(&transfer));
    assert_authentication_failed(&get_with(&base, &transfer), "revoked");

    let token = transfer_token(&fake);
    assert_eq!(get_with(&base, &token).status, 200);
    fake.advance(172_800);
    assert_authentication_failed(&get_with(&base, &token), "expired");

    let response = get_with(&base, &token);
    assert!(!response.body.contains(&token), "never the token");
}

#[test]
fn a_missing_scope_gets_a_gare_until_a_login_consents() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let required = format!("{TRANSFER}[*{}]", data_access());
    fake.configure_resource_server(
        TRANSFER_RS,
        ResourceServerConfig::new().require_scope(required.clone()),
    );

    let plain = transfer_token(&fake);
    let parameters = gare_parameters(&get_with(&format!("{base}v0.10/ls"), &plain));
    assert_eq!(parameters["required_scopes"], json!([required]));
    assert!(parameters.get("session_required_single_domain").is_none());
    assert!(
        parameters["session_message"]
            .as_str()
            .is_some_and(|m| m.contains(&data_access()))
    );

    // The login the GARE asks for.
    let consented = access_token(&native_login(&fake, &required, false), TRANSFER_RS);
    assert_eq!(get_with(&base, &consented).status, 200);
    // The consent is the identity's: the older token now passes too.
    assert_eq!(get_with(&base, &plain).status, 200);

    // Consents revoked in the web app: the GARE is back.
    fake.clear_consents();
    gare_parameters(&get_with(&base, &consented));

    // A root scope the token lacks.
    fake.configure_resource_server(
        TRANSFER_RS,
        ResourceServerConfig::new()
            .require_scope("urn:globus:auth:scope:transfer.api.globus.org:other"),
    );
    let parameters = gare_parameters(&get_with(&base, &consented));
    assert_eq!(
        parameters["required_scopes"],
        json!(["urn:globus:auth:scope:transfer.api.globus.org:other"])
    );

    // Back to no requirement.
    fake.configure_resource_server(TRANSFER_RS, ResourceServerConfig::new());
    assert_eq!(get_with(&base, &consented).status, 200);
}

#[test]
fn a_missing_session_gets_a_gare_until_a_login_meets_it() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    fake.configure_resource_server(
        TRANSFER_RS,
        ResourceServerConfig::new()
            .require_session(SessionRequirement::SingleDomain("uchicago.edu".to_owned())),
    );

    let plain = transfer_token(&fake);
    let parameters = gare_parameters(&get_with(&base, &plain));
    assert_eq!(
        parameters["session_required_single_domain"],
        json!(["uchicago.edu"])
    );
    assert!(parameters.get("required_scopes").is_none());
    assert!(parameters.get("session_required_mfa").is_none());

    // Another domain does not do.
    let other = login_with(
        &fake,
        TRANSFER,
        false,
        &[("session_required_single_domain", "example.org")],
    );
    gare_parameters(&get_with(&base, &access_token(&other, TRANSFER_RS)));

    let login = login_with(
        &fake,
        TRANSFER,
        true,
        &[("session_required_single_domain", "example.org,uchicago.edu")],
    );
    let token = access_token(&login, TRANSFER_RS);
    assert_eq!(get_with(&base, &token).status, 200);

    // A refreshed token keeps its login's session.
    let refresh_token = token_for(&login, TRANSFER_RS)["refresh_token"]
        .as_str()
        .expect("a refresh token");
    let refreshed = refresh_native(&fake, refresh_token);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = access_token(&refreshed.json(), TRANSFER_RS);
    assert_ne!(refreshed, token);
    assert_eq!(get_with(&base, &refreshed).status, 200);

    // A client has no session.
    let client = client_credentials_token(&fake, TRANSFER, TRANSFER_RS);
    gare_parameters(&get_with(&base, &client));

    // Several requirements: the GARE names only what is missing.
    fake.configure_resource_server(
        TRANSFER_RS,
        ResourceServerConfig::new()
            .require_session(SessionRequirement::SingleDomain("uchicago.edu".to_owned()))
            .require_session(SessionRequirement::Mfa)
            .require_scope(TRANSFER),
    );
    let parameters = gare_parameters(&get_with(&base, &token));
    assert_eq!(parameters["session_required_mfa"], true);
    assert!(parameters.get("session_required_single_domain").is_none());
    assert!(parameters.get("required_scopes").is_none());
    let mfa = login_with(
        &fake,
        TRANSFER,
        false,
        &[
            ("session_required_single_domain", "uchicago.edu"),
            ("session_required_mfa", "true"),
        ],
    );
    assert_eq!(
        get_with(&base, &access_token(&mfa, TRANSFER_RS)).status,
        200
    );
}

#[test]
fn identity_and_policy_requirements() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let identity = fake.user().id;
    fake.configure_resource_server(
        TRANSFER_RS,
        ResourceServerConfig::new()
            .require_session(SessionRequirement::Identity(identity.clone()))
            .require_session(SessionRequirement::Policy("policy-1".to_owned())),
    );
    let parameters = gare_parameters(&get_with(&base, &transfer_token(&fake)));
    assert_eq!(parameters["session_required_identities"], json!([identity]));
    assert_eq!(parameters["session_required_policies"], json!(["policy-1"]));
    let login = login_with(
        &fake,
        TRANSFER,
        false,
        &[
            ("session_required_identities", &identity),
            ("session_required_policies", "policy-1"),
        ],
    );
    assert_eq!(
        get_with(&base, &access_token(&login, TRANSFER_RS)).status,
        200
    );
}

#[test]
fn faults_target_one_stand_in_or_all_of_them() {
    let fake = FakeAuth::start();
    let transfer = fake.resource_server_url(TRANSFER_RS);
    let groups = fake.resource_server_url(GROUPS_RS);
    let login = native_login(&fake, &format!("{TRANSFER} {GROUPS}"), false);
    let transfer_token = access_token(&login, TRANSFER_RS);
    let groups_token = access_token(&login, GROUPS_RS);

    // 503 with Retry-After on Transfer only: neither Groups nor the token endpoint see it.
    fake.inject_resource_server_fault(
        TRANSFER_RS,
        Fault::RetryAfter {
            status: 503,
            retry_after: 1,
        },
        1,
    );
    assert_eq!(get_with(&groups, &groups_token).status, 200);
    client_credentials_token(&fake, TRANSFER, TRANSFER_RS);
    let response = get_with(&transfer, &transfer_token);
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    let body = response.json();
    assert_eq!(body["code"], "ServiceUnavailable", "{body}");
    assert_eq!(body["http_status"], 503);
    assert_eq!(get_with(&transfer, &transfer_token).status, 200);

    // A fault for the token endpoint does not touch the stand-ins.
    fake.inject_fault(Endpoint::Token, Fault::InternalServerError, 1);
    assert_eq!(get_with(&transfer, &transfer_token).status, 200);
    assert_eq!(fake.pending_faults(), 1);
    fake.clear_faults();

    // Endpoint::ResourceServer: the next request to any stand-in.
    fake.inject_fault(Endpoint::ResourceServer, Fault::InternalServerError, 1);
    client_credentials_token(&fake, TRANSFER, TRANSFER_RS);
    let response = get_with(&groups, &groups_token);
    assert_eq!(response.status, 500);
    assert_eq!(response.json()["code"], "InternalServerError");
    assert_eq!(get_with(&transfer, &transfer_token).status, 200);

    // A faulted request is not processed: even a bad token gets the fault.
    fake.inject_resource_server_fault(TRANSFER_RS, Fault::Status(502), 1);
    assert_eq!(send("GET", &transfer, None, None).status, 502);

    // Endpoint::Any reaches the stand-ins too.
    fake.inject_fault(Endpoint::Any, Fault::ServiceUnavailable, 1);
    assert_eq!(get_with(&transfer, &transfer_token).status, 503);

    // A delay, then the normal answer.
    fake.inject_resource_server_fault(TRANSFER_RS, Fault::Delay(Duration::from_millis(300)), 1);
    let started = Instant::now();
    assert_eq!(get_with(&transfer, &transfer_token).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A dropped connection.
    fake.inject_resource_server_fault(TRANSFER_RS, Fault::DropConnection, 1);
    let request = ureq::http::Request::get(&transfer)
        .header("Authorization", format!("Bearer {transfer_token}"))
        .body(Vec::new())
        .expect("a request");
    assert!(agent().run(request).is_err());
    assert_eq!(get_with(&transfer, &transfer_token).status, 200);

    let log = fake.resource_server_requests(TRANSFER_RS);
    let statuses: Vec<_> = log.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Some(503),
            Some(200),
            Some(200),
            Some(200),
            Some(502),
            Some(503),
            Some(200),
            None,
            Some(200)
        ]
    );
    assert_eq!(
        log[0].fault,
        Some(Fault::RetryAfter {
            status: 503,
            retry_after: 1
        })
    );
    assert_eq!(log[7].fault, Some(Fault::DropConnection));
    assert_eq!(fake.pending_faults(), 0);
}

#[test]
fn a_fixed_answer_once() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let token = transfer_token(&fake);
    let consent_required = json!({
        "code": "ConsentRequired",
        "message": "Missing required data_access consent",
        "request_id": "abc123",
        "required_scopes": [format!("{TRANSFER}[*{}]", data_access())],
        "resource": "/operation/endpoint/x/ls",
        "http_status": 403,
    });
    fake.respond_once(TRANSFER_RS, 403, &consent_required);
    let response = get_with(&format!("{base}operation/endpoint/x/ls"), &token);
    assert_eq!(response.status, 403);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json(), consent_required);
    assert_eq!(get_with(&base, &token).status, 200, "once");

    // Any body, sent as is, on the token endpoint too.
    fake.inject_fault(
        Endpoint::Token,
        Fault::Json {
            status: 400,
            body: "{\"error\": \"slow_down\"".to_owned(),
        },
        1,
    );
    let response = post(
        &fake.url("v2/oauth2/token"),
        Some(&basic(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", TRANSFER)],
    );
    assert_eq!(
        (response.status, response.body.as_str()),
        (400, "{\"error\": \"slow_down\"")
    );
}

#[test]
fn the_log_counts_resource_server_and_token_requests_apart() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let groups = fake.resource_server_url(GROUPS_RS);
    fake.clear_log();
    let token = transfer_token(&fake);
    fake.revoke_all_tokens();
    assert_eq!(get_with(&format!("{base}a?x=1"), &token).status, 401);
    let token = transfer_token(&fake);
    assert_eq!(get_with(&format!("{base}a?x=1"), &token).status, 200);
    assert_eq!(send("GET", &groups, None, None).status, 401);

    assert_eq!(fake.requests_to(Endpoint::ResourceServer).len(), 3);
    assert_eq!(fake.requests_to(Endpoint::Token).len(), 2);
    assert_eq!(fake.count(|r| r.is_resource_server_request()), 3);
    let transfer_log = fake.resource_server_requests(TRANSFER_RS);
    assert_eq!(transfer_log.len(), 2);
    assert_eq!(fake.resource_server_requests(GROUPS_RS).len(), 1);
    assert_eq!(fake.resource_server_requests("elsewhere").len(), 0);
    let entry = &transfer_log[1];
    assert_eq!(entry.method, "GET");
    assert_eq!(entry.path, "/a");
    assert_eq!(entry.query_value("x"), Some("1"));
    assert_eq!(entry.resource_server.as_deref(), Some(TRANSFER_RS));
    assert_eq!(entry.status, Some(200));
    assert!(
        !format!("{entry:?}").contains(&token),
        "Debug redacts the token"
    );
    let token_entry = &fake.requests_to(Endpoint::Token)[0];
    assert_eq!(token_entry.resource_server, None);
    assert!(!token_entry.is_resource_server_request());
}

#[test]
fn built_with_stand_ins_and_listed() {
    let fake = FakeAuth::builder()
        .resource_server(
            TRANSFER_RS,
            ResourceServerConfig::new().require_scope(format!("{TRANSFER}[{}]", data_access())),
        )
        .resource_server(GROUPS_RS, ResourceServerConfig::new())
        .start();
    let listed = fake.resource_servers();
    let names: Vec<_> = listed.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, [GROUPS_RS, TRANSFER_RS]);
    let transfer = &listed[1].1;
    assert_eq!(*transfer, fake.resource_server_url(TRANSFER_RS));
    gare_parameters(&get_with(transfer, &transfer_token(&fake)));
    assert!(format!("{fake:?}").contains(transfer.as_str()));
}

#[test]
fn malformed_requests_get_a_service_shaped_400_and_stop_closes_stand_ins() {
    let fake = FakeAuth::start();
    let base = fake.resource_server_url(TRANSFER_RS);
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        .expect("writes");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"BadRequest\""), "{answer}");

    // An idle keep-alive connection to a stand-in does not hold up the shutdown.
    let _idle = TcpStream::connect(&addr).expect("connects");
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        TcpStream::connect_timeout(
            &addr.parse().expect("an address"),
            Duration::from_millis(500)
        )
        .is_err()
    );
}

#[test]
fn the_binary_serves_stand_ins() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_globus-fake-auth"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut urls = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if line.starts_with("serving") {
            break;
        }
        if let Some((name, url)) = line.split_once('=') {
            urls.push((name.to_owned(), url.to_owned()));
        }
    }
    let url = |name: &str| {
        urls.iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| panic!("no {name} in {urls:?}"))
    };
    let transfer = url("GLOBUS_SDK_SERVICE_URL_TRANSFER");
    assert_ne!(transfer, url("GLOBUS_SDK_SERVICE_URL_AUTH"));
    for name in ["GROUPS", "SEARCH", "FLOWS", "TIMER"] {
        url(&format!("GLOBUS_SDK_SERVICE_URL_{name}"));
    }
    let response = send("GET", &format!("{transfer}v0.10/ls"), None, None);
    drop(child.stdin.take());
    let status = child.wait().expect("the binary exits");
    assert_authentication_failed(&response, "No Authorization header");
    assert!(status.success());
}
