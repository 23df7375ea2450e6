//! Login cost in HTTP requests, counted in the fake Globus Auth's log, for this crate
//! and (when a Python with globus-sdk 4.10 is given) for the reference on the same
//! server:
//!
//! - **first login**: a `UserApp` requiring `transfer:all` (plus `openid`, which every
//!   user app adds) logs in and returns a header;
//! - **first login, dependent scope**: the same with `transfer:all[data_access]`, which
//!   is checked against the user's consents;
//! - **next run, dependent scope**: a new app on the same token file returns a header
//!   (no login; the dependent scope is checked again).
//!
//! The user's browser visit to the authorize page is not counted (the app does not
//! make it); everything the app itself sends is.
//!
//! ```sh
//! cargo bench -p globus-app-blocking --bench login_requests
//! GLOBUS_APP_PYTHON=/path/to/venv/bin/python cargo bench -p globus-app-blocking --bench login_requests
//! ```
//!
//! Prints a table, then one `RESULT` line per figure for `benches/compare.py`.

use globus_app_blocking::login::LocalServerLoginFlow;
use globus_app_blocking::{
    AppConfig, LoginFlowChoice, OAuthClient, ScopeRequirements, TokenStorageChoice, UserApp,
};
use globus_app_testing::{Endpoint, FakeAuth, LoggedRequest, NATIVE_CLIENT_ID, client};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const COLLECTION: &str = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Login,
    LoginDependent,
    ReuseDependent,
}

impl Case {
    const ALL: [Case; 3] = [Case::Login, Case::LoginDependent, Case::ReuseDependent];

    fn key(self) -> &'static str {
        match self {
            Case::Login => "login",
            Case::LoginDependent => "login-dependent",
            Case::ReuseDependent => "reuse-dependent",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Case::Login => "first login (transfer:all + openid)",
            Case::LoginDependent => "first login, dependent scope",
            Case::ReuseDependent => "next run, dependent scope",
        }
    }

    fn dependent(self) -> bool {
        self != Case::Login
    }
}

fn dependent_scope() -> String {
    format!("https://auth.globus.org/scopes/{COLLECTION}/data_access")
}

/// What the app sent: every logged request but the browser's authorize visit.
fn app_requests(log: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in log.iter().filter(|r| r.endpoint != Endpoint::Authorize) {
        let name = match request.endpoint {
            Endpoint::Token => format!("token ({})", request.grant_type().unwrap_or("?")),
            other => format!("{other:?}"),
        };
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

struct Count {
    total: usize,
    logins: usize,
    detail: BTreeMap<String, usize>,
}

impl Count {
    fn of(fake: &FakeAuth) -> Count {
        let log = fake.requests();
        let detail = app_requests(&log);
        Count {
            total: detail.values().sum(),
            logins: log
                .iter()
                .filter(|r| r.endpoint == Endpoint::Authorize)
                .count(),
            detail,
        }
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .detail
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        format!("{} ({})", self.total, parts.join(", "))
    }
}

fn rust_app(fake: &FakeAuth, file: &Path, dependent: bool) -> UserApp {
    let mut requirements = ScopeRequirements::new();
    let scope = if dependent {
        format!("{TRANSFER_ALL}[{}]", dependent_scope())
    } else {
        TRANSFER_ALL.to_owned()
    };
    requirements.add_str(TRANSFER, &scope).expect("scope");
    let flow = LocalServerLoginFlow::new()
        .timeout(Duration::from_secs(30))
        .feedback(|_: &globus_app_blocking::login::LoginMessage<'_>| Ok(()))
        .env_lookup(|_| None)
        .open_with(|url| client::browse(url.as_str()).map(drop));
    UserApp::new(
        "Login Cost",
        OAuthClient::native(NATIVE_CLIENT_ID),
        requirements,
        AppConfig::default()
            .auth_url(fake.base_url())
            .token_storage(TokenStorageChoice::JsonFile(file.to_owned()))
            .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
    )
    .expect("app")
}

/// Runs the three cases with this crate; returns their counts.
fn rust_counts(dir: &Path) -> Vec<Count> {
    let mut counts = Vec::new();
    let mut shared: Option<(FakeAuth, PathBuf)> = None;
    for case in Case::ALL {
        let (fake, file) = match (case, shared.take()) {
            (Case::ReuseDependent, Some(previous)) => previous,
            _ => (
                FakeAuth::start(),
                dir.join(format!("rust-{}.json", case.key())),
            ),
        };
        fake.clear_log();
        let app = rust_app(&fake, &file, case.dependent());
        if case != Case::ReuseDependent {
            app.login(None, false).expect("login");
        }
        app.authorization_header(TRANSFER).expect("header");
        app.close().expect("close");
        counts.push(Count::of(&fake));
        shared = Some((fake, file));
    }
    counts
}

/// Runs the three cases with the Python globus-sdk; `None` if it cannot run.
fn python_counts(python: &Path, dir: &Path) -> Option<Vec<Count>> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/python/login_requests.py");
    let mut counts = Vec::new();
    let mut shared: Option<(FakeAuth, PathBuf)> = None;
    for case in Case::ALL {
        let (fake, file) = match (case, shared.take()) {
            (Case::ReuseDependent, Some(previous)) => previous,
            _ => (
                FakeAuth::start(),
                dir.join(format!("python-{}.json", case.key())),
            ),
        };
        fake.clear_log();
        let output = Command::new(python)
            .arg(&script)
            .arg(case.key())
            .arg(&file)
            .arg(dependent_scope())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", fake.base_url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .output();
        match output {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                eprintln!(
                    "the Python side failed ({}):\n{}",
                    case.key(),
                    String::from_utf8_lossy(&out.stderr)
                );
                return None;
            }
            Err(e) => {
                eprintln!("cannot run {}: {e}", python.display());
                return None;
            }
        }
        counts.push(Count::of(&fake));
        shared = Some((fake, file));
    }
    Some(counts)
}

fn main() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let rust = rust_counts(dir.path());
    let python = std::env::var_os("GLOBUS_APP_PYTHON")
        .map(PathBuf::from)
        .and_then(|python| python_counts(&python, dir.path()));
    if python.is_none() {
        eprintln!(
            "(set GLOBUS_APP_PYTHON to a Python with globus-sdk 4.10 to count the reference's requests)"
        );
    }

    println!("HTTP requests the app sends (the browser's authorize visit not counted)");
    for (i, case) in Case::ALL.into_iter().enumerate() {
        println!("\n{}:", case.title());
        println!("  globus-app: {}", rust[i].describe());
        if let Some(python) = &python {
            println!("  globus-sdk: {}", python[i].describe());
        }
    }
    println!();
    for (i, case) in Case::ALL.into_iter().enumerate() {
        println!(
            "RESULT login_requests.{}.rust={}",
            case.key(),
            rust[i].total
        );
        println!(
            "RESULT login_requests.{}.rust_logins={}",
            case.key(),
            rust[i].logins
        );
        if let Some(python) = &python {
            println!(
                "RESULT login_requests.{}.python={}",
                case.key(),
                python[i].total
            );
            println!(
                "RESULT login_requests.{}.python_logins={}",
                case.key(),
                python[i].logins
            );
        }
    }
}
