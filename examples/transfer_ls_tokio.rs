//! List a directory of a Globus collection with the Transfer API on tokio: a service
//! client over an app, with the 401 renewal, consent errors and retries handled by the app.
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<client id> cargo run --example transfer_ls_tokio --features tokio -- <COLLECTION_ID> [PATH]
//! ```
//!
//! With only `GLOBUS_CLIENT_ID` (a native client) it acts as you: the first run logs
//! in on the command line. With `GLOBUS_CLIENT_SECRET` as well it acts as that
//! service account. `GLOBUS_SDK_SERVICE_URL_TRANSFER` points it at another Transfer
//! (its token then goes there, and only there). Many collections need a
//! `data_access` consent: the first listing answers with a Globus Auth Requirements
//! Error, and this example logs in again as it asks (`auto_redrive_gares`), once.
//!
//! The blocking version of the same program is `transfer_ls`.

use globus_app::tokio::{ClientApp, ServiceClient, UserApp};
use globus_app::{AppConfig, OAuthClient, ScopeRequirements};
use serde_json::Value;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(client_id), [collection, rest @ ..]) = (env("GLOBUS_CLIENT_ID"), args.as_slice())
    else {
        eprintln!(
            "usage: GLOBUS_CLIENT_ID=<client id> cargo run --example transfer_ls_tokio --features tokio -- \
             <COLLECTION_ID> [PATH]\n\n\
             Register an app at https://app.globus.org/settings/developers to get a client id \
             (add GLOBUS_CLIENT_SECRET to act as a service account).\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let path = rest.first().map_or("/~/", String::as_str);
    let config = AppConfig::default().auto_redrive_gares(true);
    let transfer = match env("GLOBUS_CLIENT_SECRET") {
        Some(secret) => ClientApp::new(
            "transfer_ls",
            OAuthClient::confidential(client_id, secret),
            ScopeRequirements::new(),
            config,
        )
        .and_then(ServiceClient::transfer),
        None => UserApp::new(
            "transfer_ls",
            OAuthClient::native(client_id),
            ScopeRequirements::new(),
            config,
        )
        .and_then(ServiceClient::transfer),
    };
    let listing = match transfer {
        Ok(transfer) => transfer.get(&ls_path(collection, path)).await,
        Err(e) => Err(e),
    };
    match listing.and_then(|response| response.json::<Value>()) {
        Ok(listing) => {
            print!("{}", format_listing(&listing));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `/v0.10/operation/endpoint/{collection}/ls?path={path}`, both escaped.
fn ls_path(collection: &str, path: &str) -> String {
    let escape = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "/v0.10/operation/endpoint/{}/ls?path={}",
        escape(collection),
        escape(path)
    )
}

/// One line per entry: type, size, name (directories end with `/`).
fn format_listing(listing: &Value) -> String {
    let mut out = String::new();
    for entry in listing["DATA"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or("?");
        let kind = entry["type"].as_str().unwrap_or("?");
        let slash = if kind == "dir" { "/" } else { "" };
        let size = entry["size"].as_u64().unwrap_or(0);
        out.push_str(&format!("{kind:<5} {size:>12}  {name}{slash}\n"));
    }
    out
}
