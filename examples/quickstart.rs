//! The offline quickstart: a whole `UserApp` story, then a `ClientApp`, against a fake
//! Globus Auth server that runs inside this process. No Globus account, no internet.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Each numbered step prints what the app did and what the server saw. Tokens are
//! never printed in full: only their first characters and their length.
//!
//! The login uses the local-server flow, as a desktop tool would. Where a real tool
//! opens the user's browser, this example plays the browser itself (through the
//! flow's `open_with` hook): it follows the authorize URL, the fake server consents at
//! once and redirects to the app's loopback listener, exactly as Globus Auth would
//! after the user clicked "Allow".

use globus_app::blocking::{ClientApp, UserApp};
use globus_app::core::UnixTime;
use globus_app::login::{LocalServerLoginFlow, LoginMessage};
use globus_app::{
    AppConfig, LoginFlowChoice, ManualClock, OAuthClient, ScopeRequirements, TokenStorageChoice,
};
use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
    client,
};
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// Globus Auth's access-token lifetime (48 hours), which the fake server copies.
const TOKEN_LIFETIME: i64 = 172_800;

fn main() -> Result<(), Box<dyn Error>> {
    // `RUST_LOG=globus_app=debug` shows each decision, request and storage step of
    // the library (never a secret) on standard error.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let started = Instant::now();
    println!("globus-app quickstart: a UserApp and a ClientApp against a fake Globus Auth");
    println!("running on this machine (no Globus account or internet needed)\n");

    // 1. The server.
    let fake = FakeAuth::start();
    step(
        1,
        &format!(
            "Started a fake Globus Auth at {} (in this process).",
            fake.base_url()
        ),
    );
    detail("The apps below are pointed at it instead of https://auth.globus.org/.");

    // 2. Where the tokens go.
    let dir = tempfile::Builder::new()
        .prefix("globus-app-quickstart-")
        .tempdir()?;
    let token_file = dir.path().join("tokens.json");
    step(
        2,
        "Tokens will be kept in a JSON file (the Python SDK's format):",
    );
    detail(&token_file.display().to_string());

    // The apps read this clock, so the example can jump ahead 48 hours at step 5
    // instead of waiting; the fake server's own clock moves with it.
    let clock = ManualClock::new(UnixTime(i64::try_from(fake.now())?));
    let user_config = || {
        AppConfig::default()
            .auth_url(fake.base_url())
            .token_storage(TokenStorageChoice::JsonFile(token_file.clone()))
            .request_refresh_tokens(true)
            .clock(Arc::new(clock.clone()))
            .login_flow(LoginFlowChoice::Custom(Arc::new(playing_the_browser())))
    };
    let mut requirements = ScopeRequirements::new();
    requirements.add_str(TRANSFER, TRANSFER_ALL)?;

    // 3. The login.
    let app = UserApp::new(
        "Quickstart",
        OAuthClient::native(NATIVE_CLIENT_ID),
        requirements.clone(),
        user_config(),
    )?;
    step(
        3,
        "Logging in with the local-server flow (browser + loopback redirect).",
    );
    detail("This example plays the browser itself, through the flow's open_with hook:");
    app.login(None, false)?;
    let user = fake.user();
    detail(&format!(
        "-> logged in as {} (identity {})",
        user.username,
        app.identity_id().unwrap_or_default()
    ));
    detail(&format!(
        "-> the server saw {} and {} (the code exchange, with PKCE); the identity comes \
         from the id_token, no extra request",
        count(
            fake.requests_to(Endpoint::Authorize).len(),
            "authorize page visit"
        ),
        count(fake.requests_to(Endpoint::Token).len(), "token request"),
    ));

    // 4. A header, and the file.
    let first = app.get_authorizer(TRANSFER)?;
    step(4, &format!("Authorization header for {TRANSFER}:"));
    detail(&redact(first.header_value()));
    detail(&format!("valid until {}", first.expires_at().iso8601()));
    let stored = app
        .token_storage()
        .get_token_data_by_resource_server(globus_app::storage::DEFAULT_NAMESPACE)?;
    detail(&format!(
        "the token file now holds tokens for: {}{}",
        stored.keys().cloned().collect::<Vec<_>>().join(", "),
        file_mode(&token_file)
    ));
    let before = fake.requests().len();
    let again = app.authorization_header(TRANSFER)?;
    detail(&format!(
        "asking again returns the cached header ({} to the server, no file read)",
        count(fake.requests().len() - before, "request")
    ));
    assert_eq!(again, first.header_value());

    // 5. Expiry and refresh.
    clock.advance(TOKEN_LIFETIME);
    fake.advance(u64::try_from(TOKEN_LIFETIME)?);
    step(
        5,
        "48 hours later (a ManualClock jumps ahead), the access token has expired.",
    );
    let refreshed = app.get_authorizer(TRANSFER)?;
    detail(&format!(
        "-> renewed with the refresh token: {}, {} in total",
        count(
            fake.token_requests("refresh_token").len(),
            "refresh request"
        ),
        count(fake.requests_to(Endpoint::Authorize).len(), "login")
    ));
    detail(&format!("new header: {}", redact(refreshed.header_value())));
    detail(&format!("valid until {}", refreshed.expires_at().iso8601()));
    assert_ne!(refreshed.header_value(), first.header_value());

    // 6. A second app instance on the same file.
    let logins = fake.requests_to(Endpoint::Authorize).len();
    let before = fake.requests().len();
    let second = UserApp::new(
        "Quickstart",
        OAuthClient::native(NATIVE_CLIENT_ID),
        requirements,
        user_config(),
    )?;
    let second_header = second.authorization_header(TRANSFER)?;
    step(
        6,
        "A second UserApp (as a new run of the tool would) reads the same token file.",
    );
    detail(&format!(
        "-> same header: {}; logins: {}, requests to the server: {}",
        if second_header == refreshed.header_value() {
            "yes"
        } else {
            "no"
        },
        fake.requests_to(Endpoint::Authorize).len() - logins,
        fake.requests().len() - before
    ));
    drop(second);

    // 7. A service account.
    let service = ClientApp::new(
        "Quickstart Service",
        OAuthClient::confidential(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
        {
            let mut r = ScopeRequirements::new();
            r.add_str(TRANSFER, TRANSFER_ALL)?;
            r
        },
        AppConfig::default()
            .auth_url(fake.base_url())
            .token_storage(TokenStorageChoice::Memory)
            .clock(Arc::new(clock.clone())),
    )?;
    let service_header = service.authorization_header(TRANSFER)?;
    step(
        7,
        "A ClientApp (a service account, no user) gets its own token with client credentials:",
    );
    detail(&redact(&service_header));
    detail(&format!(
        "-> {} (HTTP Basic with the client secret); kept in memory",
        count(
            fake.token_requests("client_credentials").len(),
            "client_credentials request"
        )
    ));
    drop(service);

    // 8. Logout.
    let current = app.get_authorizer(TRANSFER)?;
    let report = app.logout(false)?;
    step(
        8,
        "Logout revokes the tokens at the server and removes them from the file.",
    );
    detail(&format!("-> removed: {}", report.removed.join(", ")));
    detail(&format!(
        "-> the server got {} (access and refresh token of each); the last header is \
         now {}",
        count(
            fake.requests_to(Endpoint::Revoke).len(),
            "revocation request"
        ),
        if fake.is_access_token_active(current.access_token()) {
            "still active"
        } else {
            "inactive"
        }
    ));
    let left = app
        .token_storage()
        .get_token_data_by_resource_server(globus_app::storage::DEFAULT_NAMESPACE)?;
    detail(&format!("-> tokens left in the file: {}", left.len()));
    app.close()?;
    drop(app);

    // 9. Clean up.
    let path = dir.path().to_owned();
    dir.close()?;
    step(
        9,
        &format!(
            "Removed {} (exists now: {}). Done in {:.2} s.",
            path.display(),
            path.exists(),
            started.elapsed().as_secs_f64()
        ),
    );
    println!("\nNext: examples/login.rs logs in to the real Globus Auth (GLOBUS_CLIENT_ID).");
    Ok(())
}

/// The local-server login flow with this program as the user's browser.
fn playing_the_browser() -> LocalServerLoginFlow {
    LocalServerLoginFlow::new()
        .timeout(Duration::from_secs(30))
        // A real tool refuses this flow in an SSH session or with a text browser; here
        // no browser is started, so those checks do not apply.
        .env_lookup(|_| None)
        // What the flow tells the user (the URL and the wait, on standard error by
        // default) joins this program's narration instead.
        .feedback(|message: &LoginMessage<'_>| {
            if let LoginMessage::WaitingForBrowser { timeout, .. } = message {
                detail(&format!(
                    "   the flow shows the user the login URL and waits up to {} s for the login",
                    timeout.as_secs()
                ));
            }
            Ok(())
        })
        .open_with(|url| {
            detail(&format!(
                "   the \"browser\" opens {}",
                shorten(url.as_str(), 72)
            ));
            let pages = client::browse(url.as_str())?;
            let landing = pages.last().map(client::Response::text).unwrap_or_default();
            let outcome = if landing.contains("Login successful") {
                "Login successful"
            } else {
                "something unexpected"
            };
            detail(&format!(
                "   Globus Auth redirected it to the app's loopback listener, whose page says \
                 \"{outcome}\""
            ));
            Ok(())
        })
}

/// `1 request`, `4 requests`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn step(n: u32, text: &str) {
    println!("{n}. {text}");
}

fn detail(text: &str) {
    println!("   {text}");
}

/// `Bearer …wxyz (N characters hidden)`: the last four characters, enough to tell two
/// tokens apart, never the token itself.
fn redact(header: &str) -> String {
    let token = header.strip_prefix("Bearer ").unwrap_or(header);
    let count = token.chars().count();
    let shown: String = token.chars().skip(count.saturating_sub(4)).collect();
    format!(
        "Bearer …{shown} ({} characters hidden)",
        count.saturating_sub(4)
    )
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}…")
}

#[cfg(unix)]
fn file_mode(path: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .map(|m| format!(" (file mode {:o})", m.permissions().mode() & 0o777))
        .unwrap_or_default()
}

#[cfg(not(unix))]
fn file_mode(_: &std::path::Path) -> String {
    String::new()
}
