//! A command-line client for Globus Auth, built on globus-app: the interface a user
//! (and the project's end-to-end checks) drive.
//!
//! ```text
//! cargo run --example cli -- [OPTIONS] COMMAND
//!
//! Commands:
//!   login [--force]     log in (if needed, or always with --force)
//!   status              one line per resource server: valid, expired or missing
//!   header RS           print the Authorization header value for a resource server
//!   whoami              print the identity id of the stored tokens
//!   logout [--sweep]    revoke and remove tokens (--sweep: every resource server)
//!
//! Options:
//!   --runtime blocking|tokio|async-std    (default blocking; each needs its cargo feature)
//!   --client-id ID          (or GLOBUS_CLIENT_ID)
//!   --client-secret SECRET  (or GLOBUS_CLIENT_SECRET; makes a ClientApp)
//!   --app-name NAME         (default "Unnamed Globus App")
//!   --storage json|sqlite|memory          (default json)
//!   --flow command-line|local-server      (default command-line)
//!   --refresh-tokens
//!   --scope RESOURCE_SERVER=SCOPE_STRING  (repeatable)
//! ```
//!
//! It honours `GLOBUS_SDK_ENVIRONMENT`, `GLOBUS_SDK_SERVICE_URL_AUTH`, `BROWSER` and
//! `HOME` like the Python SDK.
//!
//! The same commands run on each runtime adapter the build has: `blocking` (the
//! default feature), `tokio` and `async-std` (`cargo run --example cli --features
//! tokio -- --runtime tokio status`). The async apps are driven here with their
//! runtime's `block_on`; see the `tokio_service` and `async_std_app` examples for
//! them inside async code.

// A build without any runtime feature compiles but can only say so.
#![cfg_attr(
    not(any(feature = "blocking", feature = "tokio", feature = "async-std")),
    allow(unused)
)]

use globus_app::core::UnixTime;
use globus_app::{
    AppConfig, Clock, Error, LoginFlowChoice, OAuthClient, ScopeRequirements, SystemClock,
    TokenStorage, TokenStorageChoice,
};
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: cli [--runtime blocking|tokio|async-std] [--client-id ID] \
[--client-secret SECRET] [--app-name NAME] [--storage json|sqlite|memory] \
[--flow command-line|local-server] [--refresh-tokens] [--scope RS=SCOPES]... \
(login [--force] | status | header RS | whoami | logout [--sweep])";

/// Which runtime adapter runs the apps.
#[derive(Clone, Copy, Debug)]
enum Runtime {
    Blocking,
    Tokio,
    AsyncStd,
}

impl Runtime {
    fn parse(name: &str) -> Result<Runtime, String> {
        let (runtime, compiled) = match name {
            "blocking" => (Runtime::Blocking, cfg!(feature = "blocking")),
            "tokio" => (Runtime::Tokio, cfg!(feature = "tokio")),
            "async-std" => (Runtime::AsyncStd, cfg!(feature = "async-std")),
            other => {
                return Err(format!(
                    "unknown runtime {other:?} (blocking, tokio, async-std)"
                ));
            }
        };
        if compiled {
            Ok(runtime)
        } else {
            Err(format!(
                "the {name} runtime is not compiled into this build; rebuild with \
                 `--features {name}`"
            ))
        }
    }
}

#[derive(Debug)]
enum Command {
    Login { force: bool },
    Status,
    Header(String),
    Whoami,
    Logout { sweep: bool },
}

#[derive(Debug)]
struct Options {
    runtime: Runtime,
    client_id: String,
    client_secret: Option<String>,
    app_name: String,
    storage: TokenStorageChoice,
    flow: LoginFlowChoice,
    refresh_tokens: bool,
    requirements: ScopeRequirements,
    command: Command,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut client_id = env("GLOBUS_CLIENT_ID");
    let mut client_secret = env("GLOBUS_CLIENT_SECRET");
    let mut runtime = None;
    let mut app_name = "Unnamed Globus App".to_owned();
    let mut storage = TokenStorageChoice::Json;
    let mut flow = LoginFlowChoice::CommandLine;
    let mut refresh_tokens = false;
    let mut requirements = ScopeRequirements::new();
    let mut positional = Vec::new();
    let mut force = false;
    let mut sweep = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runtime" => runtime = Some(Runtime::parse(&value("--runtime")?)?),
            "--client-id" => client_id = Some(value("--client-id")?),
            "--client-secret" => client_secret = Some(value("--client-secret")?),
            "--app-name" => app_name = value("--app-name")?,
            "--storage" => {
                storage = match value("--storage")?.as_str() {
                    "json" => TokenStorageChoice::Json,
                    "sqlite" => TokenStorageChoice::Sqlite,
                    "memory" => TokenStorageChoice::Memory,
                    other => {
                        return Err(format!("unknown storage {other:?} (json, sqlite, memory)"));
                    }
                }
            }
            "--flow" => {
                flow = match value("--flow")?.as_str() {
                    "command-line" => LoginFlowChoice::CommandLine,
                    "local-server" => LoginFlowChoice::LocalServer,
                    other => {
                        return Err(format!(
                            "unknown flow {other:?} (command-line, local-server)"
                        ));
                    }
                }
            }
            "--refresh-tokens" => refresh_tokens = true,
            "--scope" => {
                let spec = value("--scope")?;
                let (rs, scopes) = spec.split_once('=').ok_or(format!(
                    "--scope takes RESOURCE_SERVER=SCOPE_STRING, not {spec:?}"
                ))?;
                requirements
                    .add_str(rs, scopes)
                    .map_err(|e| format!("--scope {rs}: {e}"))?;
            }
            "--force" => force = true,
            "--sweep" => sweep = true,
            "-h" | "--help" => {
                let compiled: Vec<&str> = ["blocking", "tokio", "async-std"]
                    .into_iter()
                    .filter(|name| Runtime::parse(name).is_ok())
                    .collect();
                return Err(format!(
                    "{USAGE}\nruntimes in this build: {} (others need their cargo feature)",
                    compiled.join(", ")
                ));
            }
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}\n{USAGE}"));
            }
            _ => positional.push(arg),
        }
    }
    let command = match positional.as_slice() {
        [c] if c == "login" => Command::Login { force },
        [c] if c == "status" => Command::Status,
        [c, rs] if c == "header" => Command::Header(rs.clone()),
        [c] if c == "whoami" => Command::Whoami,
        [c] if c == "logout" => Command::Logout { sweep },
        _ => return Err(USAGE.to_owned()),
    };
    let runtime = match runtime {
        Some(runtime) => runtime,
        None => Runtime::parse("blocking")
            .map_err(|e| format!("{e}, or pass --runtime tokio|async-std"))?,
    };
    let client_id = client_id.ok_or("no client id: pass --client-id or set GLOBUS_CLIENT_ID")?;
    Ok(Options {
        runtime,
        client_id,
        client_secret,
        app_name,
        storage,
        flow,
        refresh_tokens,
        requirements,
        command,
    })
}

impl Options {
    fn config(&self) -> AppConfig {
        AppConfig::default()
            .token_storage(self.storage.clone())
            .request_refresh_tokens(self.refresh_tokens)
    }

    fn client(&self) -> OAuthClient {
        match &self.client_secret {
            Some(secret) => OAuthClient::confidential(self.client_id.clone(), secret.clone()),
            None => OAuthClient::native(self.client_id.clone()),
        }
    }
}

/// Runs the command with the apps of one runtime module (`globus_app::$runtime`):
/// a `ClientApp` when there is a secret, else a `UserApp`. `$wait` turns what an app
/// method returns into its result: nothing to do for blocking apps, the runtime's
/// `block_on` for async ones. The storage is closed at the end.
macro_rules! run_with {
    ($runtime:ident, $wait:path, $options:expr) => {{
        use globus_app::$runtime::{ClientApp, UserApp};
        let options: &Options = $options;
        let (name, client, requirements) = (
            &options.app_name,
            options.client(),
            options.requirements.clone(),
        );
        if options.client_secret.is_some() {
            let app = ClientApp::new(name, client, requirements, options.config())?;
            let out = match &options.command {
                Command::Login { force } => $wait(app.login(*force)).map(|()| "logged in".into()),
                Command::Header(rs) => $wait(app.authorization_header(rs)),
                Command::Status => status(app.token_storage(), &app.scope_requirements()),
                Command::Whoami => Ok("(a ClientApp acts as its client; no user identity)".into()),
                Command::Logout { sweep } => $wait(app.logout(*sweep)).map(describe_logout),
            };
            finish(app.close(), out)
        } else {
            let config = options.config().login_flow(options.flow.clone());
            let app = UserApp::new(name, client, requirements, config)?;
            let out = match &options.command {
                Command::Login { force } => {
                    $wait(app.login(None, *force)).map(|()| "logged in".into())
                }
                Command::Header(rs) => $wait(app.authorization_header(rs)),
                Command::Status => status(app.token_storage(), &app.scope_requirements()),
                // The identity is known once tokens are loaded: a status check loads them.
                Command::Whoami => $wait(app.login_required()).map(|_| {
                    app.identity_id()
                        .unwrap_or_else(|| "(not logged in)".to_owned())
                }),
                Command::Logout { sweep } => $wait(app.logout(*sweep)).map(describe_logout),
            };
            finish(app.close(), out)
        }
    }};
}

fn run(options: &Options) -> Result<String, Error> {
    match options.runtime {
        #[cfg(feature = "blocking")]
        Runtime::Blocking => run_with!(blocking, std::convert::identity, options),
        #[cfg(feature = "tokio")]
        Runtime::Tokio => run_with!(tokio, tokio_block_on, options),
        #[cfg(feature = "async-std")]
        Runtime::AsyncStd => run_with!(async_std, async_std::task::block_on, options),
        #[allow(unreachable_patterns)] // `parse` accepts only the compiled-in runtimes
        other => Err(Error::Internal(format!("{other:?} is not compiled in"))),
    }
}

/// Runs a future on a tokio runtime kept for the whole process (the app's HTTP
/// connections belong to the runtime that made them).
#[cfg(feature = "tokio")]
fn tokio_block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(future)
}

/// The command's result, after closing the storage (a close failure is a warning).
fn finish(closed: Result<(), Error>, out: Result<String, Error>) -> Result<String, Error> {
    if let Err(e) = closed {
        eprintln!("warning: {e}");
    }
    out
}

fn status(
    storage: &Arc<dyn TokenStorage>,
    requirements: &ScopeRequirements,
) -> Result<String, Error> {
    let tokens = storage
        .get_token_data_by_resource_server(globus_app::storage::DEFAULT_NAMESPACE)
        .map_err(|e| Error::Storage(Arc::new(e)))?;
    let now = SystemClock.now();
    let lines: Vec<String> = requirements
        .resource_servers()
        .map(|rs| match tokens.get(rs) {
            None => format!("{rs}: missing"),
            Some(token) => {
                let word = if token.is_expired(now) {
                    "expired"
                } else {
                    "valid"
                };
                format!(
                    "{rs}: {word} (expires {}; identity {}; refresh token {})",
                    UnixTime(token.expires_at_seconds).iso8601(),
                    token.identity_id.as_deref().unwrap_or("unknown"),
                    if token.refresh_token.is_some() {
                        "yes"
                    } else {
                        "no"
                    },
                )
            }
        })
        .collect();
    Ok(lines.join("\n"))
}

fn describe_logout(report: globus_app::LogoutReport) -> String {
    let mut out = format!(
        "logged out ({} resource servers removed)",
        report.removed.len()
    );
    for (rs, error) in report.revocation_failures {
        out.push_str(&format!(
            "\nwarning: revoking a token for {rs} failed: {error}"
        ));
    }
    out
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
