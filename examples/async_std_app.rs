//! A `UserApp` under async-std: log in as yourself, then serve several tasks.
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example async_std_app --features async-std
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example async_std_app --features async-std -- --local-server
//! ```
//!
//! Needs a **native** client id (see `examples/login.rs`). The first run logs in (on
//! the command line, or in the browser with `--local-server`) and keeps the tokens,
//! with a refresh token, in the JSON file the Python SDK's `UserApp` would use; the
//! next runs reuse them.
//!
//! async-std is discontinued upstream and its maintainers point to smol; the
//! `async_std` apps depend on neither runtime and run under both (replace
//! `async_std::task::block_on` with `smol::block_on`). The terminal, the browser,
//! files and HTTP requests run on smol's blocking pool, never on the executor.

use globus_app::async_std::UserApp;
use globus_app::scopes::transfer;
use globus_app::{AppConfig, LoginFlowChoice, OAuthClient, ScopeRequirements};
use std::process::ExitCode;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let Some(client_id) = std::env::var("GLOBUS_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        eprintln!(
            "This example logs in to Globus and needs a native client id in GLOBUS_CLIENT_ID \
             (register one at https://app.globus.org/settings/developers):\n\n    \
             GLOBUS_CLIENT_ID=<client id> cargo run --example async_std_app --features async-std\n\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let local_server = std::env::args().skip(1).any(|a| a == "--local-server");
    match async_std::task::block_on(run(client_id, local_server)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(client_id: String, local_server: bool) -> Result<(), BoxError> {
    let mut requirements = ScopeRequirements::new();
    requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?;
    let flow = if local_server {
        LoginFlowChoice::LocalServer
    } else {
        LoginFlowChoice::CommandLine
    };
    let app = UserApp::new(
        "Async Std Example",
        OAuthClient::native(client_id),
        requirements,
        AppConfig::default()
            .login_flow(flow)
            .request_refresh_tokens(true),
    )?;

    // Logs in if needed (once, even with several tasks asking at the same time).
    app.login(None, false).await?;
    println!(
        "identity id: {}",
        app.identity_id().as_deref().unwrap_or("(unknown)")
    );

    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let app = app.clone();
            async_std::task::spawn(async move {
                let header = app.authorization_header(transfer::RESOURCE_SERVER).await?;
                Ok::<_, globus_app::Error>(format!("task {i}: {}", redact(&header)))
            })
        })
        .collect();
    for task in tasks {
        println!("{}", task.await?);
    }
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
