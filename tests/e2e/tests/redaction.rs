//! No secret in any log line, `Debug` or error, on every runtime: a login, a
//! consents lookup, a refresh, a GARE login and a logout of a `UserApp`, and the
//! client-credentials grant, renewal and logout of a `ClientApp`, with every
//! `tracing` event collected at `TRACE` level (the adapters log each step's input,
//! action and operation state there). No token, code, verifier or client secret
//! may appear raw, base64-encoded, percent-encoded, or as a list of byte values.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::{ScopeRequirements, TokenStorage, scopes};
use globus_app_e2e::{
    AppApi, Backend, ClientApi, Runtime, TOKEN_LIFETIME, TRANSFER, UserApi, World,
};
use globus_app_testing::{AuthScheme, CONFIDENTIAL_CLIENT_SECRET};
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Every event and span field, formatted with `{:?}` and `{:#?}`.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} {value:#?} ", field.name());
    }
}

fn keep(fields: Fields) {
    LOG.lock().unwrap().push(fields.0);
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        keep(fields);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        keep(fields);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        keep(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| tracing::subscriber::set_global_default(Capture).unwrap());
}

macro_rules! redaction {
    ($($module:ident: $runtime:ty),* $(,)?) => {
        $(
            mod $module {
                #[test]
                fn user_app_logs_no_secret() {
                    crate::user_app::<$runtime>();
                }
                #[test]
                fn client_app_logs_no_secret() {
                    crate::client_app::<$runtime>();
                }
            }
        )*
    };
}

redaction!(
    blocking: globus_app_e2e::Blocking,
    tokio: globus_app_e2e::Tokio,
    async_std: globus_app_e2e::AsyncStd,
);

/// Every way a secret could show.
fn encodings(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = secret.as_bytes();
    vec![
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
    ]
}

/// The secrets the fake saw (form values and bearer tokens) plus those stored.
fn secrets(w: &World, stored: &[String]) -> BTreeSet<String> {
    let mut secrets: BTreeSet<String> = stored.iter().cloned().collect();
    for request in w.fake.requests() {
        for name in [
            "code",
            "code_verifier",
            "refresh_token",
            "token",
            "client_secret",
        ] {
            if let Some(value) = request.form_value(name) {
                secrets.insert(value.to_owned());
            }
        }
        if let AuthScheme::Bearer(token) = &request.auth {
            secrets.insert(token.clone());
        }
    }
    secrets.insert(CONFIDENTIAL_CLIENT_SECRET.to_owned());
    secrets
}

/// The tokens in storage now, for the secret list.
fn stored_tokens(storage: &dyn TokenStorage) -> Vec<String> {
    let tokens = storage
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap();
    tokens
        .values()
        .flat_map(|t| {
            [
                Some(t.access_token.secret().to_owned()),
                t.refresh_token.as_ref().map(|r| r.secret().to_owned()),
            ]
        })
        .flatten()
        .collect()
}

fn assert_nothing_shows(texts: &[String], secrets: &BTreeSet<String>) {
    assert!(secrets.len() >= 4, "{} secrets", secrets.len());
    for text in texts {
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

fn user_app<R: Runtime>() {
    capture();
    let w = World::new(Backend::Json);
    let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    let mut reqs = ScopeRequirements::new();
    reqs.add(
        TRANSFER,
        [scopes::transfer::all_with_data_access([collection]).unwrap()],
    )
    .unwrap();
    let app = w.user_app_for::<R>(reqs, w.config().request_refresh_tokens(true));
    let mut shown = Vec::new();
    // A login, and the consents lookup of the dependent scope.
    shown.push(format!("{:?}", app.get_authorizer(TRANSFER).unwrap()));
    let mut stored = stored_tokens(app.token_storage().as_ref());
    // A refresh after expiry.
    w.advance(TOKEN_LIFETIME + 1);
    shown.push(format!("{:?}", app.get_authorizer(TRANSFER).unwrap()));
    stored.extend(stored_tokens(app.token_storage().as_ref()));
    // A login driven by a GARE.
    let body = br#"{"code": "AuthorizationRequired", "authorization_parameters": {
        "session_required_single_domain": ["example.org"], "prompt": "login"}}"#;
    let params = globus_app_core::app::parse_authorization_requirements(body).unwrap();
    app.login(Some(params), false).unwrap();
    stored.extend(stored_tokens(app.token_storage().as_ref()));
    // An error that carries a response, and the app itself.
    w.fake.revoke_all_tokens();
    w.advance(TOKEN_LIFETIME + 1);
    if let Err(e) = app.login_required() {
        shown.push(format!("{e} {e:?} {e:#?}"));
    }
    shown.push(format!("{app:?} {app:#?}"));
    // A logout.
    let report = app.logout(false).unwrap();
    shown.push(format!("{report:?}"));
    let secrets = secrets(&w, &stored);
    let log = LOG.lock().unwrap().clone();
    assert!(
        log.iter().any(|line| line.contains("Send")),
        "the step trace was not captured"
    );
    assert_nothing_shows(&log, &secrets);
    assert_nothing_shows(&shown, &secrets);
}

fn client_app<R: Runtime>() {
    capture();
    let w = World::new(Backend::Sqlite);
    let app = w.client_app::<R>();
    let mut shown = vec![format!("{:?}", app.get_authorizer(TRANSFER).unwrap())];
    let mut stored = stored_tokens(app.token_storage().as_ref());
    w.advance(TOKEN_LIFETIME + 1);
    shown.push(format!("{:?}", app.get_authorizer(TRANSFER).unwrap()));
    stored.extend(stored_tokens(app.token_storage().as_ref()));
    app.login(true).unwrap();
    stored.extend(stored_tokens(app.token_storage().as_ref()));
    // Authorized requests: a 401 renewed, a GARE as an error, a refused host.
    let url = format!("{}v0.10/task_list", w.fake.resource_server_url(TRANSFER));
    let get = || http::Request::get(url.as_str()).body(Vec::new()).unwrap();
    w.fake.revoke_access_tokens();
    let response = app.request(TRANSFER, get()).unwrap();
    shown.push(format!(
        "{response:?} {}",
        String::from_utf8_lossy(response.body())
    ));
    stored.extend(stored_tokens(app.token_storage().as_ref()));
    let gare = serde_json::json!({"code": "AuthorizationRequired",
        "authorization_parameters": {"session_required_mfa": true}});
    w.fake.respond_once(TRANSFER, 403, &gare);
    let error = app.request(TRANSFER, get()).unwrap_err();
    shown.push(format!("{error} {error:?} {error:#?}"));
    let elsewhere = http::Request::get("https://example.com/?token=x")
        .body(Vec::new())
        .unwrap();
    let error = app.request(TRANSFER, elsewhere).unwrap_err();
    shown.push(format!("{error} {error:?}"));
    shown.push(format!("{app:?} {app:#?}"));
    app.logout(false).unwrap();
    let secrets = secrets(&w, &stored);
    let log = LOG.lock().unwrap().clone();
    assert_nothing_shows(&log, &secrets);
    assert_nothing_shows(&shown, &secrets);
}
