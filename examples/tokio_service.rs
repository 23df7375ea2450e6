//! A tokio service that acts as a Globus service account (`ClientApp`).
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<client id> GLOBUS_CLIENT_SECRET=<secret> \
//!     cargo run --example tokio_service --features tokio
//! ```
//!
//! Needs a **confidential** client with a secret (see `examples/client_app.rs`).
//!
//! One `ClientApp` is built at start-up and cloned into every task (a clone is an
//! `Arc`). Each job asks it for a header right before it calls a Globus API: the
//! first one runs the client-credentials grant, the others wait for it and share the
//! token, and later jobs are served from memory without waiting for anything. When
//! the token nears its expiry, the next job renews it, once, for everybody.
//! Storage and HTTP never block the runtime's worker threads.

use globus_app::scopes::transfer;
use globus_app::tokio::ClientApp;
use globus_app::{AppConfig, OAuthClient, ScopeRequirements, TokenStorageChoice};
use std::error::Error;
use std::process::ExitCode;
use std::time::Instant;

type BoxError = Box<dyn Error + Send + Sync>;

fn main() -> ExitCode {
    // A service logs what the library decides: `RUST_LOG=globus_app=debug` for every
    // request and renewal, `globus_app=warn` (the usual setting) for degraded service.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_ansi(false)
        .init();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(client_id), Some(secret)) = (env("GLOBUS_CLIENT_ID"), env("GLOBUS_CLIENT_SECRET"))
    else {
        eprintln!(
            "This example acts as a Globus service account and needs a confidential client:\n\
             register one at https://app.globus.org/settings/developers (\"service account or \
             application credential\"), create a client secret, then run:\n\n    \
             GLOBUS_CLIENT_ID=<client id> GLOBUS_CLIENT_SECRET=<secret> \
             cargo run --example tokio_service --features tokio\n\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    // `#[tokio::main]` does the same; the time driver must be on (`enable_all`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(client_id, secret)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(client_id: String, secret: String) -> Result<(), BoxError> {
    let mut requirements = ScopeRequirements::new();
    requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?;
    let app = ClientApp::new(
        "Tokio Service Example",
        OAuthClient::confidential(client_id, secret),
        requirements,
        // A service usually starts fresh: one grant at start-up costs one request.
        AppConfig::default().token_storage(TokenStorageChoice::Memory),
    )?;

    let started = Instant::now();
    let mut jobs = tokio::task::JoinSet::new();
    for job in 0..8 {
        let app = app.clone();
        jobs.spawn(async move {
            let header = app.authorization_header(transfer::RESOURCE_SERVER).await?;
            // Here the job would call the Transfer API with
            // `Authorization: {header}`, using the service's own HTTP client.
            Ok::<_, globus_app::Error>(format!("job {job}: {}", redact(&header)))
        });
    }
    while let Some(done) = jobs.join_next().await {
        println!("{}", done??);
    }
    println!(
        "8 jobs served in {:.1} ms with one shared token",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Later requests are served from memory until the token is about to expire.
    let authorization = app.get_authorizer(transfer::RESOURCE_SERVER).await?;
    println!("token valid until {}", authorization.expires_at().iso8601());
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
