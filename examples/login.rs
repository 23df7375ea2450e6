//! Log in to Globus as yourself and get an `Authorization` header for the Transfer API.
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<your client id> cargo run --example login
//! GLOBUS_CLIENT_ID=<your client id> cargo run --example login -- --local-server
//! ```
//!
//! Needs a **native** client (a "thick client or script that is installed and run by
//! users on their devices"), registered at <https://app.globus.org/settings/developers>;
//! its client id goes in `GLOBUS_CLIENT_ID`.
//!
//! The first run logs in: on the command line (open the printed URL, paste the code
//! back) or, with `--local-server`, in your browser with a redirect to a loopback port.
//! The tokens (with a refresh token) go to the same JSON file the Python SDK's
//! `UserApp` would use, `~/.globus/app/{client id}/login-example/tokens.json`, so the
//! next run starts without a login. `--logout` revokes them and removes them.
//!
//! Prints the header (shortened: never the whole token) and your identity id.

use globus_app::blocking::UserApp;
use globus_app::scopes::transfer;
use globus_app::storage::paths::{FileFormat, default_token_file_path};
use globus_app::{AppConfig, LoginFlowChoice, OAuthClient, ScopeRequirements};
use std::process::ExitCode;

const APP_NAME: &str = "Login Example";

fn main() -> ExitCode {
    let Some(client_id) = std::env::var("GLOBUS_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        eprintln!(
            "This example logs in to Globus and needs a client id.\n\
             Register a native app (\"thick client or script\") at \
             https://app.globus.org/settings/developers, then run:\n\n    \
             GLOBUS_CLIENT_ID=<client id> cargo run --example login\n\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&client_id, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(client_id: &str, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let flow = if args.iter().any(|a| a == "--local-server") {
        LoginFlowChoice::LocalServer
    } else {
        LoginFlowChoice::CommandLine
    };
    let mut requirements = ScopeRequirements::new();
    requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?;
    let app = UserApp::new(
        APP_NAME,
        OAuthClient::native(client_id),
        requirements,
        AppConfig::default()
            .login_flow(flow)
            .request_refresh_tokens(true),
    )?;

    if args.iter().any(|a| a == "--logout") {
        let report = app.logout(false)?;
        println!(
            "logged out; removed tokens for: {}",
            report.removed.join(", ")
        );
        for (_, error) in report.revocation_failures {
            // The error names the token and its resource server.
            eprintln!("warning: {error}; the token was removed from this machine anyway");
        }
        return Ok(());
    }

    // Logs in if needed (no stored tokens, expired without a refresh token, missing
    // scopes); otherwise serves the stored token, renewing it when it is about to expire.
    let authorization = app.get_authorizer(transfer::RESOURCE_SERVER)?;
    println!("Authorization: {}", redact(authorization.header_value()));
    println!("valid until:   {}", authorization.expires_at().iso8601());
    println!(
        "identity id:   {}",
        app.identity_id().as_deref().unwrap_or("(unknown)")
    );
    // The same path the Python SDK's UserApp computes for this client id and app name.
    let environment =
        std::env::var("GLOBUS_SDK_ENVIRONMENT").unwrap_or_else(|_| "production".into());
    let file = default_token_file_path(client_id, APP_NAME, &environment, FileFormat::Json)?;
    println!("token file:    {}", file.display());
    app.close()?;
    Ok(())
}

/// `Bearer …wxyz (N characters hidden)`: never the whole token.
fn redact(header: &str) -> String {
    let token = header.strip_prefix("Bearer ").unwrap_or(header);
    let count = token.chars().count();
    let shown: String = token.chars().skip(count.saturating_sub(4)).collect();
    format!(
        "Bearer …{shown} ({} characters hidden)",
        count.saturating_sub(4)
    )
}
