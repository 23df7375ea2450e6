//! A service account: get tokens with the client-credentials grant and use them.
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<client id> GLOBUS_CLIENT_SECRET=<secret> cargo run --example client_app
//! ```
//!
//! Needs a **confidential** client ("a service account or application credential"),
//! registered at <https://app.globus.org/settings/developers>, with a client secret.
//! No person logs in: the client acts as itself, with its own identity
//! (`{client id}@clients.auth.globus.org`), so give that identity access to the
//! collections or groups it needs.
//!
//! The tokens are kept in memory here (a service usually starts fresh and asks again;
//! a client-credentials grant costs one request). The app renews them by itself before
//! they expire; clones of the app share them, and a thousand threads asking at the
//! moment of expiry cause a single request.
//!
//! `--scope RS=SCOPE` asks for something other than the Transfer API, e.g.
//! `--scope groups.api.globus.org=urn:globus:auth:scope:groups.api.globus.org:all`.

use globus_app::blocking::ClientApp;
use globus_app::scopes::transfer;
use globus_app::{AppConfig, OAuthClient, ScopeRequirements, TokenStorageChoice};
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(client_id), Some(secret)) = (env("GLOBUS_CLIENT_ID"), env("GLOBUS_CLIENT_SECRET"))
    else {
        eprintln!(
            "This example acts as a Globus service account and needs a confidential client:\n\
             register one at https://app.globus.org/settings/developers (\"service account or \
             application credential\"), create a client secret, then run:\n\n    \
             GLOBUS_CLIENT_ID=<client id> GLOBUS_CLIENT_SECRET=<secret> \
             cargo run --example client_app\n\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(client_id, secret, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    client_id: String,
    secret: String,
    args: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut requirements = ScopeRequirements::new();
    let mut resource_server = transfer::RESOURCE_SERVER.to_owned();
    match args {
        [] => requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?,
        [flag, spec] if flag == "--scope" => {
            let (rs, scopes) = spec
                .split_once('=')
                .ok_or("--scope takes RESOURCE_SERVER=SCOPE_STRING")?;
            requirements.add_str(rs, scopes)?;
            rs.clone_into(&mut resource_server);
        }
        _ => return Err("usage: client_app [--scope RESOURCE_SERVER=SCOPE_STRING]".into()),
    }

    let app = ClientApp::new(
        "Client App Example",
        OAuthClient::confidential(client_id, secret),
        requirements,
        AppConfig::default().token_storage(TokenStorageChoice::Memory),
    )?;

    // The first call runs the client-credentials grant; the next ones are served from
    // memory until the token is about to expire.
    let authorization = app.get_authorizer(&resource_server)?;
    println!("Authorization: {}", redact(authorization.header_value()));
    println!("valid until:   {}", authorization.expires_at().iso8601());

    // The app is cheap to clone and shared between threads: here four workers each
    // build a request header, and no further grant is made.
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let app = app.clone();
            let rs = resource_server.clone();
            std::thread::spawn(move || {
                app.authorization_header(&rs)
                    .map(|h| format!("worker {i}: {}", redact(&h)))
            })
        })
        .collect();
    for worker in workers {
        match worker.join() {
            Ok(line) => println!("{}", line?),
            Err(_) => return Err("a worker thread panicked".into()),
        }
    }
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
