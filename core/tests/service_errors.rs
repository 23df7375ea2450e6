//! `GlobusApiError::from_response` against one fixture per error format Globus
//! services use (`tests/fixtures/service_errors/`), checking every field.

use globus_app_core::GlobusApiError;
use globus_app_core::oauth::AuthorizationParameters;
use globus_app_core::service_error::SubError;
use serde_json::json;
use std::path::Path;

/// Reads a fixture as the body of an answer with `status` (and `Retry-After`).
fn answer(fixture: &str, status: u16, retry_after: Option<&str>) -> GlobusApiError {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/service_errors")
        .join(fixture);
    let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut builder = http::Response::builder()
        .status(status)
        .header("Content-Type", "application/json");
    if let Some(seconds) = retry_after {
        builder = builder.header("Retry-After", seconds);
    }
    GlobusApiError::from_response(&builder.body(body).expect("a valid response"))
}

/// Every field of an expected error, with `..` defaults for the rare ones.
#[derive(Default)]
struct Expected {
    status: u16,
    code: Option<&'static str>,
    message: Option<&'static str>,
    request_id: Option<&'static str>,
    errors: Vec<Sub>,
    gare: Option<AuthorizationParameters>,
    retry_after: Option<u64>,
    resource: Option<&'static str>,
    error_data: Option<serde_json::Value>,
    excerpt: Option<&'static str>,
    display: &'static str,
}

/// A sub-error's fields: code, message, title, id, location, kind.
type Sub = [Option<&'static str>; 6];

fn fields(e: &SubError) -> [Option<&str>; 6] {
    [
        e.code.as_deref(),
        e.message.as_deref(),
        e.title.as_deref(),
        e.id.as_deref(),
        e.location.as_deref(),
        e.kind.as_deref(),
    ]
}

fn check(error: &GlobusApiError, expected: Expected) {
    assert_eq!(error.status, expected.status);
    assert_eq!(error.code.as_deref(), expected.code);
    assert_eq!(error.message.as_deref(), expected.message);
    assert_eq!(error.request_id.as_deref(), expected.request_id);
    let subs: Vec<_> = error.errors.iter().map(fields).collect();
    assert_eq!(subs, expected.errors);
    assert_eq!(error.authorization_parameters, expected.gare);
    assert_eq!(
        error.is_authorization_required(),
        expected.gare.is_some(),
        "is_authorization_required"
    );
    assert_eq!(
        error.authorization_parameters(),
        error.authorization_parameters.as_ref()
    );
    assert_eq!(error.retry_after, expected.retry_after);
    assert_eq!(error.resource.as_deref(), expected.resource);
    assert_eq!(error.error_data, expected.error_data);
    assert_eq!(error.excerpt.as_deref(), expected.excerpt);
    assert_eq!(
        error.is_retryable(),
        expected.status == 429 || expected.status >= 500
    );
    assert_eq!(error.to_string(), expected.display);
}

const NONE: Option<&str> = None;

#[test]
fn transfer() {
    check(
        &answer("transfer.json", 404, None),
        Expected {
            status: 404,
            code: Some("ClientError.NotFound"),
            message: Some(
                "Directory '/~/no-such-dir/' not found on endpoint 'ddb59aef-6d04-11e5-ba46-22000b92c6ec'",
            ),
            request_id: Some("KEaVmEH6s"),
            resource: Some("/v0.10/operation/endpoint/ddb59aef-6d04-11e5-ba46-22000b92c6ec/ls"),
            display: "HTTP 404 ClientError.NotFound: Directory '/~/no-such-dir/' not found on \
                      endpoint 'ddb59aef-6d04-11e5-ba46-22000b92c6ec' (request id KEaVmEH6s)",
            ..Expected::default()
        },
    );
}

#[test]
fn transfer_consent_required() {
    let scope = "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access]";
    check(
        &answer("transfer_consent_required.json", 403, None),
        Expected {
            status: 403,
            code: Some("ConsentRequired"),
            message: Some("Missing required data_access consent"),
            request_id: Some("Wd8q8LBRm"),
            gare: Some(AuthorizationParameters {
                required_scopes: vec![scope.into()],
                session_message: Some("Missing required data_access consent".into()),
                ..Default::default()
            }),
            resource: Some("/v0.10/operation/endpoint/542a86fc-1766-450d-841f-065488a2ec01/ls"),
            display: "HTTP 403 ConsentRequired: Missing required data_access consent \
                      (request id Wd8q8LBRm)",
            ..Expected::default()
        },
    );
}

#[test]
fn auth_api() {
    check(
        &answer("auth_api.json", 401, None),
        Expected {
            status: 401,
            code: Some("UNAUTHORIZED"),
            message: Some("Call must be authenticated"),
            request_id: Some("b7e5b4b8-2b1a-4c5e-9d6f-0f3e3a1c2d4e"),
            errors: vec![[
                Some("UNAUTHORIZED"),
                Some("Call must be authenticated"),
                Some("Unauthorized"),
                Some("b7e5b4b8-2b1a-4c5e-9d6f-0f3e3a1c2d4e"),
                None,
                None,
            ]],
            display: "HTTP 401 UNAUTHORIZED: Call must be authenticated \
                      (request id b7e5b4b8-2b1a-4c5e-9d6f-0f3e3a1c2d4e)",
            ..Expected::default()
        },
    );
}

#[test]
fn auth_oauth2() {
    check(
        &answer("auth_oauth2.json", 400, None),
        Expected {
            status: 400,
            code: Some("invalid_grant"),
            message: Some("The refresh token has been revoked"),
            display: "HTTP 400 invalid_grant: The refresh token has been revoked",
            ..Expected::default()
        },
    );
}

#[test]
fn groups() {
    check(
        &answer("groups.json", 404, None),
        Expected {
            status: 404,
            code: Some("GROUP_NOT_FOUND"),
            message: Some(
                "Group 6c1ad5a9-7b7d-4e55-8b0b-3c1b3f0e2f9a does not exist or you are not a member",
            ),
            request_id: Some("4d1c5f0e8a9b"),
            display: "HTTP 404 GROUP_NOT_FOUND: Group 6c1ad5a9-7b7d-4e55-8b0b-3c1b3f0e2f9a does \
                      not exist or you are not a member (request id 4d1c5f0e8a9b)",
            ..Expected::default()
        },
    );
}

#[test]
fn search() {
    check(
        &answer("search.json", 409, None),
        Expected {
            status: 409,
            code: Some("Conflict.LimitExceeded"),
            message: Some("Role limit exceeded"),
            request_id: Some("38186e960f3a64c9d530d48ba2271285"),
            error_data: Some(json!({
                "cause": "Creating an index creates an owner role, which would exceed the limit",
                "constraint": "Cannot create more ownership roles on trial indices than the limit (3)"
            })),
            display: "HTTP 409 Conflict.LimitExceeded: Role limit exceeded \
                      (request id 38186e960f3a64c9d530d48ba2271285)",
            ..Expected::default()
        },
    );
}

#[test]
fn flows() {
    let detail = "You do not have the necessary permissions to perform this action on the flow \
                  with id value 0f3e3a1c-2b1a-4c5e-9d6f-b7e5b4b82d4e. Missing permissions: RUN.";
    check(
        &answer("flows.json", 403, None),
        Expected {
            status: 403,
            code: Some("FORBIDDEN"),
            message: Some(detail),
            request_id: Some("16c3a0b2-4872-4e1f-8bb5-47db18227cb0"),
            errors: vec![[Some("FORBIDDEN"), Some(detail), None, None, None, None]],
            display: "HTTP 403 FORBIDDEN: You do not have the necessary permissions to perform \
                      this action on the flow with id value 0f3e3a1c-2b1a-4c5e-9d6f-b7e5b4b82d4e. \
                      Missing permissions: RUN. (request id 16c3a0b2-4872-4e1f-8bb5-47db18227cb0)",
            ..Expected::default()
        },
    );
}

#[test]
fn flows_validation() {
    check(
        &answer("flows_validation.json", 400, None),
        Expected {
            status: 400,
            code: Some("UNPROCESSABLE_ENTITY"),
            message: Some(
                "'not-a-boolean' is not of type 'boolean' (at $.bool); \
                 'path' is a required property (at $.items.0)",
            ),
            request_id: Some("2572c9a1-411b-4f3e-9fa9-c72fbed2b0bb"),
            errors: vec![
                [
                    None,
                    Some("'not-a-boolean' is not of type 'boolean'"),
                    None,
                    None,
                    Some("$.bool"),
                    Some("InvalidActionInput"),
                ],
                [
                    None,
                    Some("'path' is a required property"),
                    None,
                    None,
                    Some("$.items.0"),
                    Some("InvalidActionInput"),
                ],
            ],
            display: "HTTP 400 UNPROCESSABLE_ENTITY: 'not-a-boolean' is not of type 'boolean' \
                      (at $.bool); 'path' is a required property (at $.items.0) \
                      (request id 2572c9a1-411b-4f3e-9fa9-c72fbed2b0bb)",
            ..Expected::default()
        },
    );
}

#[test]
fn timers() {
    let detail = "No timer found with id 5e0b2e1c-3f44-4a0e-9c55-1d2a6b7f8e90";
    check(
        &answer("timers.json", 404, None),
        Expected {
            status: 404,
            code: Some("NOT_FOUND"),
            message: Some(detail),
            request_id: Some("a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b"),
            errors: vec![[Some("NOT_FOUND"), Some(detail), None, None, None, None]],
            display: "HTTP 404 NOT_FOUND: No timer found with id \
                      5e0b2e1c-3f44-4a0e-9c55-1d2a6b7f8e90 \
                      (request id a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b)",
            ..Expected::default()
        },
    );
}

#[test]
fn timers_validation() {
    let missing = |at| {
        [
            NONE,
            Some("field required"),
            None,
            None,
            Some(at),
            Some("value_error.missing"),
        ]
    };
    check(
        &answer("timers_validation.json", 422, None),
        Expected {
            status: 422,
            message: Some("field required (at body.start); field required (at body.callback_url)"),
            errors: vec![missing("body.start"), missing("body.callback_url")],
            display: "HTTP 422: field required (at body.start); \
                      field required (at body.callback_url)",
            ..Expected::default()
        },
    );
}

#[test]
fn compute() {
    check(
        &answer("compute.json", 404, None),
        Expected {
            status: 404,
            code: Some("ENDPOINT_NOT_FOUND"),
            message: Some("Endpoint 9c3f0a5e-1b2d-4c6e-8f70-a1b2c3d4e5f6 could not be found"),
            display: "HTTP 404 ENDPOINT_NOT_FOUND: Endpoint \
                      9c3f0a5e-1b2d-4c6e-8f70-a1b2c3d4e5f6 could not be found",
            ..Expected::default()
        },
    );
    check(
        &answer("compute_detail.json", 404, None),
        Expected {
            status: 404,
            message: Some("Function 3e7f1c2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b not found"),
            display: "HTTP 404: Function 3e7f1c2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b not found",
            ..Expected::default()
        },
    );
}

#[test]
fn gare() {
    check(
        &answer("gare.json", 403, None),
        Expected {
            status: 403,
            code: Some("AuthorizationRequired"),
            message: Some(
                "The resource you are trying to access requires you to re-authenticate with \
                 a university identity.",
            ),
            request_id: Some("Gx7pQ2mRt"),
            gare: Some(AuthorizationParameters {
                required_scopes: vec!["urn:globus:auth:scope:transfer.api.globus.org:all".into()],
                session_message: Some(
                    "Log in with your university identity to access this collection".into(),
                ),
                session_required_single_domain: vec!["example.edu".into()],
                session_required_mfa: Some(true),
                prompt: Some("login".into()),
                ..Default::default()
            }),
            display: "HTTP 403 AuthorizationRequired: The resource you are trying to access \
                      requires you to re-authenticate with a university identity. \
                      (request id Gx7pQ2mRt)",
            ..Expected::default()
        },
    );
}

#[test]
fn gare_in_errors() {
    let detail = "Authentication with an identity from an allowed domain is required";
    let id = "c4e1f2a3-7b8c-4d9e-a0f1-2b3c4d5e6f70";
    check(
        &answer("gare_in_errors.json", 403, None),
        Expected {
            status: 403,
            code: Some("AuthorizationRequired"),
            message: Some(detail),
            request_id: Some(id),
            errors: vec![[
                Some("AuthorizationRequired"),
                Some(detail),
                None,
                Some(id),
                None,
                None,
            ]],
            gare: Some(AuthorizationParameters {
                session_required_identities: vec!["ae341a98-d274-11e5-b888-dbae3a8ba545".into()],
                session_required_policies: vec!["a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d".into()],
                ..Default::default()
            }),
            display: "HTTP 403 AuthorizationRequired: Authentication with an identity from an \
                      allowed domain is required (request id c4e1f2a3-7b8c-4d9e-a0f1-2b3c4d5e6f70)",
            ..Expected::default()
        },
    );
}

#[test]
fn html() {
    let excerpt = "<html> <head><title>502 Bad Gateway</title></head> <body> \
                   <center><h1>502 Bad Gateway</h1></center> </body> </html>";
    check(
        &answer("html_502.html", 502, Some("30")),
        Expected {
            status: 502,
            retry_after: Some(30),
            excerpt: Some(excerpt),
            display: "HTTP 502: unexpected body \"<html> <head><title>502 Bad Gateway</title>\
                      </head> <body> <center><h1>502 Bad Gateway</h1></center> </body> </html>\"",
            ..Expected::default()
        },
    );
}

#[test]
fn empty() {
    check(
        &answer("empty.txt", 503, Some("7")),
        Expected {
            status: 503,
            retry_after: Some(7),
            excerpt: Some(""),
            display: "HTTP 503: empty body",
            ..Expected::default()
        },
    );
}

#[test]
fn truncated() {
    check(
        &answer("truncated.json", 503, None),
        Expected {
            status: 503,
            excerpt: Some(r#"{"code": "…", "message": "…""#),
            display: r#"HTTP 503: unexpected body "{\"code\": \"…\", \"message\": \"…\"""#,
            ..Expected::default()
        },
    );
}

/// A body with tokens in it: `Display` (and the excerpt) never shows them.
#[test]
fn tokens_never_shown() {
    let tokens = [
        "AgV8ab3Kq0JmYyZxQ9wP2sTuVn4eR7hLd5FgCc1Bb",
        "AgQnZ9pL3xVt7Rw2Ks5Hy8Mc4Jd6Fb1Ge0Na3Tu",
        "AgRf7Yh3Kp9Lm2Nq5Sv8Wx1Zb4Cd6Eg0Hj3Mk7Pr",
    ];
    let error = answer("with_token.json", 401, None);
    check(
        &error,
        Expected {
            status: 401,
            code: Some("InvalidToken"),
            message: Some("The token could not be validated"),
            request_id: Some("rq0TokenTest"),
            display: "HTTP 401 InvalidToken: The token could not be validated \
                      (request id rq0TokenTest)",
            ..Expected::default()
        },
    );
    let truncated = answer("token_truncated.json", 200, None);
    check(
        &truncated,
        Expected {
            status: 200,
            excerpt: Some(r#"{"access_token": "…", "refresh_token": "…", "expires_in": 17"#),
            display: r#"HTTP 200: unexpected body "{\"access_token\": \"…\", \"refresh_token\": \"…\", \"expires_in\": 17""#,
            ..Expected::default()
        },
    );
    for error in [error, truncated] {
        let shown = format!("{error}");
        for token in tokens {
            assert!(!shown.contains(token), "{shown}");
        }
    }
}
