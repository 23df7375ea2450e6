//! A command-line client for Globus Auth, built on globus-app: the interface a user
//! (and the project's end-to-end checks) drive.
//!
//! ```text
//! cargo run --example cli -- [OPTIONS] <COMMAND>
//!
//! Commands:
//!   login   Log in, unless the stored tokens already cover every scope requirement
//!   status  One line per resource server: valid, expired or missing
//!   header  Print the Authorization header value of a resource server, logging in if needed
//!   whoami  Print the identity id of the stored tokens
//!   logout  Revoke the stored tokens and remove them
//!   request Send a request to a service with a resource server's token; print the body
//!
//! Options (before or after the command):
//!   --runtime <RUNTIME>        blocking, tokio or async-std: those compiled in [default: the first]
//!   --client-id <ID>           [env: GLOBUS_CLIENT_ID]
//!   --client-secret <SECRET>   makes a ClientApp [env: GLOBUS_CLIENT_SECRET]
//!   --app-name <NAME>          [default: "Unnamed Globus App"]
//!   --storage <STORAGE>        json, sqlite or memory [default: json]
//!   --flow <FLOW>              command-line or local-server [default: command-line]
//!   --login-timeout <SECONDS>  how long the local-server login waits [default: 3600]
//!   --refresh-tokens
//!   --scope <RS=SCOPES>        a scope requirement (repeatable)
//! ```
//!
//! `cli --help` and `cli <COMMAND> --help` say more. Results go to standard output
//! (`HDR=$(cli … header RS)` captures only the header); the login's prompt, the
//! local-server login's URL and notices, warnings and errors go to standard error.
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

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use globus_app::core::UnixTime;
use globus_app::core::app::RequestKind;
use globus_app::core::destinations::GLOBUS_SERVICES;
use globus_app::login::LocalServerLoginFlow;
use globus_app::{
    AppConfig, Clock, Error, LoginFlowChoice, OAuthClient, ScopeRequirements, SystemClock,
    TokenStorage, TokenStorageChoice,
};
use std::ffi::OsStr;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The environment variables, after the options in `--help`.
const ENVIRONMENT_HELP: &str = "\
Environment:
  GLOBUS_CLIENT_ID             the client id, when --client-id is not given
  GLOBUS_CLIENT_SECRET         the client secret, when --client-secret is not given
  GLOBUS_SDK_ENVIRONMENT       the Globus environment (production, sandbox, ...) [default: production]
  GLOBUS_SDK_SERVICE_URL_AUTH  Globus Auth's base URL, instead of the environment's
  BROWSER                      the local-server login's browser command (':'-separated list; %s is the URL)
  HOME                         where token files are kept (~/.globus/app/CLIENT_ID/APP_NAME/)

Results go to standard output; the login's prompt, the local-server login's URL, warnings
and errors go to standard error.";

/// A command-line client for Globus Auth, built on globus-app.
///
/// Logs in (a UserApp; a ClientApp when there is a client secret), keeps the tokens
/// in a file shared with the Python globus-sdk, and prints what scripts need.
#[derive(Debug, Parser)]
#[command(name = "cli", after_help = ENVIRONMENT_HELP)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Options {
    /// The runtime adapter that runs the app: the ones compiled into this build
    /// (others need their cargo feature, e.g. `--features tokio`)
    #[arg(long, global = true, value_parser = RuntimeParser, default_value = Runtime::default_name())]
    runtime: Runtime,

    /// The app's client id, a UUID (register one at https://app.globus.org/settings/developers)
    #[arg(long, global = true, value_name = "ID", env = "GLOBUS_CLIENT_ID")]
    client_id: Option<String>,

    /// The client secret of a confidential client: makes a ClientApp, which logs in
    /// with its client credentials
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        env = "GLOBUS_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,

    /// The app's name: part of the token file's path
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "Unnamed Globus App"
    )]
    app_name: String,

    /// Where the tokens are kept
    ///
    /// json, sqlite, memory, or the URL of a shared store: redis://HOST[:PORT][/DB][?prefix=P],
    /// rediss://…, redis+unix:///SOCKET (feature `redis`), postgres://[USER@]HOST/DB[?schema=S]
    /// (feature `postgres`)
    #[arg(long, global = true, value_name = "STORAGE", default_value = "json", value_parser = parse_storage)]
    storage: Storage,

    /// How a UserApp logs in
    #[arg(long, global = true, value_enum, default_value_t = Flow::CommandLine)]
    flow: Flow,

    /// How long the local-server login waits for the browser
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 3600)]
    login_timeout: u64,

    /// Ask for refresh tokens, so that expired access tokens are renewed without a login
    #[arg(long, global = true)]
    refresh_tokens: bool,

    /// A scope requirement: the resource server, `=`, its scopes (a scope string);
    /// repeatable. `openid` of auth.globus.org is always required
    #[arg(long = "scope", global = true, value_name = "RS=SCOPES", value_parser = parse_scope)]
    scopes: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in, unless the stored tokens already cover every scope requirement
    Login {
        /// Log in even if the stored tokens would do
        #[arg(long)]
        force: bool,
    },
    /// One line per resource server: valid, expired or missing
    ///
    /// With the expiry, the identity and whether there is a refresh token; never a
    /// token.
    Status,
    /// Print the Authorization header value of a resource server, logging in if needed
    ///
    /// Prints `Bearer …` alone on standard output, so `HDR=$(cli … header RS)`
    /// captures only the header; a login's prompt goes to standard error.
    Header {
        /// The resource server, e.g. transfer.api.globus.org; it needs a --scope
        /// (except auth.globus.org)
        #[arg(value_name = "RS")]
        resource_server: String,
    },
    /// Print the identity id of the stored tokens
    Whoami,
    /// Send a request to a service with a resource server's token; print the body
    ///
    /// Prints the response body on standard output exactly as received. Exits 0 on
    /// a 2xx answer, otherwise 1 with one line on standard error
    /// (`error: HTTP <status> <code>: <message>`). The token goes only to the
    /// service's own host (GLOBUS_SDK_SERVICE_URL_<NAME> moves it); a 401 renews the
    /// token once and resends; 429 and 5xx are retried. A Globus service's default
    /// scope is used when there is no --scope for it.
    Request {
        /// The HTTP method [default: GET, or POST with --data]
        #[arg(long, short = 'X', value_name = "METHOD")]
        method: Option<String>,
        /// A JSON body, or @FILE to read it from a file
        #[arg(long, short = 'd', value_name = "JSON|@FILE")]
        data: Option<String>,
        /// Answer a Globus Auth Requirements Error (403) by logging in with its
        /// parameters and sending the request again, once
        #[arg(long)]
        redrive_gares: bool,
        /// The resource server whose token the request carries, e.g. transfer.api.globus.org
        #[arg(value_name = "RESOURCE_SERVER")]
        resource_server: String,
        /// The URL, e.g. https://transfer.api.globus.org/v0.10/endpoint_search?filter_fulltext=x
        url: String,
    },
    /// Revoke the stored tokens and remove them
    ///
    /// Tokens that could not be revoked are removed all the same and reported on
    /// standard error, one line per resource server.
    Logout {
        /// Every resource server in the storage, not only the required ones
        #[arg(long)]
        sweep: bool,
    },
}

/// Which runtime adapter runs the apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runtime {
    Blocking,
    Tokio,
    AsyncStd,
}

impl Runtime {
    const ALL: [Runtime; 3] = [Runtime::Blocking, Runtime::Tokio, Runtime::AsyncStd];

    fn name(self) -> &'static str {
        match self {
            Runtime::Blocking => "blocking",
            Runtime::Tokio => "tokio",
            Runtime::AsyncStd => "async-std",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Runtime::Blocking => "ureq, no async runtime",
            Runtime::Tokio => "reqwest on a tokio runtime",
            Runtime::AsyncStd => "ureq on smol's blocking pool, driven by async-std",
        }
    }

    fn is_compiled(self) -> bool {
        match self {
            Runtime::Blocking => cfg!(feature = "blocking"),
            Runtime::Tokio => cfg!(feature = "tokio"),
            Runtime::AsyncStd => cfg!(feature = "async-std"),
        }
    }

    fn compiled() -> impl Iterator<Item = Runtime> {
        Runtime::ALL.into_iter().filter(|r| r.is_compiled())
    }

    /// The first runtime compiled in (`blocking` when none is: it then says so).
    fn default_name() -> &'static str {
        Runtime::compiled()
            .next()
            .unwrap_or(Runtime::Blocking)
            .name()
    }

    fn parse(name: &str) -> Result<Runtime, String> {
        let Some(runtime) = Runtime::ALL.into_iter().find(|r| r.name() == name) else {
            return Err(format!(
                "unknown runtime {name:?} (blocking, tokio, async-std)"
            ));
        };
        if runtime.is_compiled() {
            Ok(runtime)
        } else {
            Err(format!(
                "the {name} runtime is not compiled into this build; rebuild with \
                 `--features {name}`"
            ))
        }
    }
}

/// Parses `--runtime`, listing the compiled-in runtimes as its possible values and
/// saying which feature a missing one needs.
#[derive(Clone, Copy, Debug)]
struct RuntimeParser;

impl TypedValueParser for RuntimeParser {
    type Value = Runtime;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Runtime, clap::Error> {
        let name = value.to_string_lossy();
        Runtime::parse(&name).map_err(|message| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{message}\n"))
                .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Runtime::compiled().map(|r| PossibleValue::new(r.name()).help(r.description())),
        ))
    }
}

/// Where the tokens are kept.
#[derive(Clone, Debug)]
enum Storage {
    /// A JSON file under ~/.globus/app (the Python SDK's format and path)
    Json,
    /// A SQLite database under ~/.globus/app (the Python SDK's format and path)
    Sqlite,
    /// In memory: every run starts logged out
    Memory,
    /// A Redis server, shared with other processes and hosts
    Redis(String),
    /// A PostgreSQL database, shared with other processes and hosts
    Postgres(String),
}

fn parse_storage(value: &str) -> Result<Storage, String> {
    match value {
        "json" => Ok(Storage::Json),
        "sqlite" => Ok(Storage::Sqlite),
        "memory" => Ok(Storage::Memory),
        url if ["redis://", "rediss://", "redis+unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme)) =>
        {
            Ok(Storage::Redis(url.to_owned()))
        }
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Storage::Postgres(url.to_owned()))
        }
        _ => Err(
            "expected json, sqlite, memory, or a redis://, rediss://, redis+unix:// or postgres:// URL"
                .to_owned(),
        ),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Flow {
    /// Print the URL, read the code that the Globus page shows from standard input
    CommandLine,
    /// Open the browser (honouring $BROWSER) and receive the login on a loopback port
    LocalServer,
}

/// `RS=SCOPES`, with the scopes checked.
fn parse_scope(spec: &str) -> Result<(String, String), String> {
    let (rs, scopes) = spec
        .split_once('=')
        .ok_or_else(|| format!("expected RESOURCE_SERVER=SCOPES, not {spec:?}"))?;
    ScopeRequirements::new()
        .add_str(rs, scopes)
        .map_err(|e| format!("{rs}: {e}"))?;
    Ok((rs.to_owned(), scopes.to_owned()))
}

/// Why the command failed.
#[derive(Debug)]
enum Failure {
    /// The command line cannot work as given (exit 2).
    Usage(String),
    /// The app failed (exit 1).
    App(Error),
    /// The service answered with an error status (exit 1): its body, as received.
    Answer {
        body: Vec<u8>,
        error: Box<globus_app::GlobusApiError>,
    },
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::App(error)
    }
}

/// What a command prints: its result on standard output, warnings on standard error.
#[derive(Debug, Default)]
struct Report {
    out: String,
    warnings: Vec<String>,
    /// Bytes to print exactly as they are instead of `out` (a response body).
    raw: Option<Vec<u8>>,
}

impl From<String> for Report {
    fn from(out: String) -> Report {
        Report {
            out,
            warnings: Vec::new(),
            raw: None,
        }
    }
}

/// The command line, checked: what [`run`] needs.
#[derive(Debug)]
struct Settings {
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

impl Settings {
    fn new(cli: Cli) -> Result<Settings, Failure> {
        let Cli { options, command } = cli;
        let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
        let client_id = non_empty(options.client_id).ok_or_else(|| {
            Failure::Usage(
                "no client id: pass --client-id or set GLOBUS_CLIENT_ID (register an app at \
                 https://app.globus.org/settings/developers)"
                    .to_owned(),
            )
        })?;
        let mut requirements = ScopeRequirements::new();
        for (rs, scopes) in &options.scopes {
            requirements
                .add_str(rs, scopes)
                .map_err(|e| Failure::Usage(format!("--scope {rs}: {e}")))?;
        }
        if let Command::Request {
            resource_server, ..
        } = &command
            && requirements.get(resource_server).is_none()
            && let Some(service) = GLOBUS_SERVICES
                .iter()
                .find(|s| s.resource_server == resource_server.as_str())
        {
            // A Globus service's default scope, as its client in the Python SDK asks.
            requirements
                .add(resource_server, service.default_scopes.iter().cloned())
                .map_err(|e| Failure::Usage(e.to_string()))?;
        }
        let flow = match options.flow {
            Flow::CommandLine => LoginFlowChoice::CommandLine,
            Flow::LocalServer => LoginFlowChoice::Custom(Arc::new(
                LocalServerLoginFlow::new().timeout(Duration::from_secs(options.login_timeout)),
            )),
        };
        Ok(Settings {
            runtime: options.runtime,
            client_id,
            client_secret: non_empty(options.client_secret),
            app_name: options.app_name,
            storage: match options.storage {
                Storage::Json => TokenStorageChoice::Json,
                Storage::Sqlite => TokenStorageChoice::Sqlite,
                Storage::Memory => TokenStorageChoice::Memory,
                Storage::Redis(url) => TokenStorageChoice::Redis(url),
                Storage::Postgres(url) => TokenStorageChoice::Postgres(url),
            },
            flow,
            refresh_tokens: options.refresh_tokens,
            requirements,
            command,
        })
    }

    fn config(&self) -> AppConfig {
        let redrive = matches!(
            self.command,
            Command::Request {
                redrive_gares: true,
                ..
            }
        );
        AppConfig::default()
            .token_storage(self.storage.clone())
            .request_refresh_tokens(self.refresh_tokens)
            .auto_redrive_gares(redrive)
    }

    fn client(&self) -> OAuthClient {
        match &self.client_secret {
            Some(secret) => OAuthClient::confidential(self.client_id.clone(), secret.clone()),
            None => OAuthClient::native(self.client_id.clone()),
        }
    }
}

/// `header RS` needs scope requirements for RS: without them no login could get its
/// token, so it fails before any request.
fn check_header_target(command: &Command, requirements: &ScopeRequirements) -> Result<(), Failure> {
    if let Command::Header {
        resource_server: rs,
    }
    | Command::Request {
        resource_server: rs,
        ..
    } = command
        && requirements.get(rs).is_none_or(<[_]>::is_empty)
    {
        return Err(Failure::Usage(format!(
            "no scope requirements for {rs}: add --scope {rs}=… (its scopes, e.g. \
             urn:globus:auth:scope:{rs}:all)"
        )));
    }
    Ok(())
}

/// Runs the command with the apps of one runtime module (`globus_app::$runtime`):
/// a `ClientApp` when there is a secret, else a `UserApp`. `$wait` turns what an app
/// method returns into its result: nothing to do for blocking apps, the runtime's
/// `block_on` for async ones. The app is closed at the end.
macro_rules! run_with {
    ($runtime:ident, $wait:path, $settings:expr) => {{
        use globus_app::$runtime::{ClientApp, UserApp};
        let settings: &Settings = $settings;
        let (name, client, requirements) = (
            &settings.app_name,
            settings.client(),
            settings.requirements.clone(),
        );
        if settings.client_secret.is_some() {
            let app = ClientApp::new(name, client, requirements, settings.config())?;
            let out = match check_header_target(&settings.command, &app.scope_requirements()) {
                Err(e) => Err(e),
                Ok(()) => match &settings.command {
                    Command::Login { force } => {
                        $wait(app.login(*force)).map(|()| "logged in".to_owned().into())
                    }
                    Command::Header { resource_server } => {
                        $wait(app.authorization_header(resource_server)).map(Report::from)
                    }
                    Command::Status => status(app.token_storage(), &app.scope_requirements()),
                    Command::Whoami => Ok(Report::from(
                        "(a ClientApp acts as its client; no user identity)".to_owned(),
                    )),
                    Command::Request {
                        resource_server, ..
                    } => match http_request(&settings.command) {
                        Ok(request) => {
                            let out = answer($wait(app.request(resource_server, request)));
                            return finish(app.close(), out);
                        }
                        Err(e) => return finish(app.close(), Err(e)),
                    },
                    Command::Logout { sweep } => $wait(app.logout(*sweep)).map(describe_logout),
                }
                .map_err(Failure::from),
            };
            finish(app.close(), out)
        } else {
            let config = settings.config().login_flow(settings.flow.clone());
            let app = UserApp::new(name, client, requirements, config)?;
            let out = match check_header_target(&settings.command, &app.scope_requirements()) {
                Err(e) => Err(e),
                Ok(()) => match &settings.command {
                    Command::Login { force } => {
                        $wait(app.login(None, *force)).map(|()| "logged in".to_owned().into())
                    }
                    Command::Header { resource_server } => {
                        $wait(app.authorization_header(resource_server)).map(Report::from)
                    }
                    Command::Status => status(app.token_storage(), &app.scope_requirements()),
                    // The identity is known once tokens are loaded: a status check
                    // loads them.
                    Command::Request {
                        resource_server, ..
                    } => match http_request(&settings.command) {
                        Ok(request) => {
                            let out = answer($wait(app.request(resource_server, request)));
                            return finish(app.close(), out);
                        }
                        Err(e) => return finish(app.close(), Err(e)),
                    },
                    Command::Whoami => $wait(app.login_required()).map(|_| {
                        Report::from(
                            app.identity_id()
                                .unwrap_or_else(|| "(not logged in)".to_owned()),
                        )
                    }),
                    Command::Logout { sweep } => $wait(app.logout(*sweep)).map(describe_logout),
                }
                .map_err(Failure::from),
            };
            finish(app.close(), out)
        }
    }};
}

fn run(settings: &Settings) -> Result<Report, Failure> {
    match settings.runtime {
        #[cfg(feature = "blocking")]
        Runtime::Blocking => run_with!(blocking, std::convert::identity, settings),
        #[cfg(feature = "tokio")]
        Runtime::Tokio => run_with!(tokio, tokio_block_on, settings),
        #[cfg(feature = "async-std")]
        Runtime::AsyncStd => run_with!(async_std, async_std::task::block_on, settings),
        #[allow(unreachable_patterns)] // the parser accepts only the compiled-in runtimes
        other => Err(Failure::Usage(format!(
            "the {} runtime is not compiled into this build; rebuild with `--features {}`",
            other.name(),
            other.name()
        ))),
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

/// The command's result, after closing the app (a close failure is a warning).
fn finish(closed: Result<(), Error>, out: Result<Report, Failure>) -> Result<Report, Failure> {
    if let Err(e) = closed {
        eprintln!("warning: {e}");
    }
    out
}

fn status(
    storage: &Arc<dyn TokenStorage>,
    requirements: &ScopeRequirements,
) -> Result<Report, Error> {
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
    Ok(Report::from(lines.join("\n")))
}

/// `1 resource server`, `2 resource servers`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The logout's result, and one warning per resource server whose tokens could not
/// all be revoked: which tokens, and why.
fn describe_logout(report: globus_app::LogoutReport) -> Report {
    let out = format!(
        "logged out ({} removed)",
        count(report.removed.len(), "resource server")
    );
    // The failures of each resource server, in the order of the report.
    let mut by_rs: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (rs, error) in &report.revocation_failures {
        let (token, reason) = revocation_failure(error);
        match by_rs.iter_mut().find(|(seen, _)| seen == rs) {
            Some((_, failures)) => failures.push((token, reason)),
            None => by_rs.push((rs.clone(), vec![(token, reason)])),
        }
    }
    let warnings = by_rs
        .into_iter()
        .map(|(rs, failures)| {
            let same_reason = failures.windows(2).all(|w| w[0].1 == w[1].1);
            let what = if same_reason {
                let tokens: Vec<&str> = failures.iter().map(|(t, _)| t.as_str()).collect();
                format!("{} ({})", tokens.join(" and the "), failures[0].1)
            } else {
                failures
                    .iter()
                    .map(|(token, reason)| format!("{token} ({reason})"))
                    .collect::<Vec<_>>()
                    .join(", nor the ")
            };
            format!(
                "warning: {rs}: could not revoke the {what}; the tokens were removed from this \
                 machine anyway"
            )
        })
        .collect();
    Report {
        out,
        warnings,
        raw: None,
    }
}

/// Which token a failed revocation was for, and why it failed (the error without
/// the request it names, which the warning's line says once).
fn revocation_failure(error: &Error) -> (String, String) {
    match error {
        Error::Response {
            request: RequestKind::Revoke { token, .. },
            error,
        } => (token.to_string(), error.to_string()),
        Error::Transport {
            request: RequestKind::Revoke { token, .. },
            error,
        } => (
            token.to_string(),
            format!("{error}; check the network connection"),
        ),
        other => ("token".to_owned(), other.to_string()),
    }
}

fn main() -> ExitCode {
    // `--help` prints on standard output and exits 0; a command line
    // that does not parse exits 2 with the reason on standard error.
    let cli = Cli::parse();
    let outcome = Settings::new(cli).and_then(|settings| run(&settings));
    match outcome {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("{warning}");
            }
            match &report.raw {
                Some(bytes) => {
                    let mut stdout = std::io::stdout();
                    if stdout
                        .write_all(bytes)
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        return ExitCode::FAILURE;
                    }
                }
                None => println!("{}", report.out),
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::App(Error::AuthorizationRequired { error, .. })) => {
            eprintln!("error: {error} (--redrive-gares logs in as it asks and sends again)");
            ExitCode::FAILURE
        }
        Err(Failure::App(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(Failure::Answer { body, error }) => {
            // The body as received, then the one line that says what went wrong.
            let _ = std::io::stdout().write_all(&body);
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The request of `request`: its method, URL and JSON body (`--data`, or `@FILE`).
fn http_request(command: &Command) -> Result<globus_app::http::Request<Vec<u8>>, Failure> {
    let Command::Request {
        method, data, url, ..
    } = command
    else {
        return Err(Failure::Usage("not a request".to_owned()));
    };
    let body = match data.as_deref() {
        None => None,
        Some(path) if path.starts_with('@') => Some(
            std::fs::read(&path[1..]).map_err(|e| Failure::Usage(format!("--data {path}: {e}")))?,
        ),
        Some(json) => Some(json.as_bytes().to_vec()),
    };
    if let Some(body) = &body
        && let Err(e) = serde_json::from_slice::<serde_json::Value>(body)
    {
        return Err(Failure::Usage(format!("--data is not JSON: {e}")));
    }
    let method = match (method, &body) {
        (Some(method), _) => method.to_ascii_uppercase(),
        (None, Some(_)) => "POST".to_owned(),
        (None, None) => "GET".to_owned(),
    };
    let mut request = globus_app::http::Request::builder()
        .method(method.as_str())
        .uri(url.as_str())
        .header("Accept", "application/json");
    if body.is_some() {
        request = request.header("Content-Type", "application/json");
    }
    request
        .body(body.unwrap_or_default())
        .map_err(|e| Failure::Usage(format!("{method} {url}: {e}")))
}

/// The outcome of `request`: a 2xx body to print as is; any other answer's body,
/// and its error line.
fn answer(result: Result<globus_app::http::Response<Vec<u8>>, Error>) -> Result<Report, Failure> {
    let response = result?;
    if response.status().is_success() {
        return Ok(Report {
            raw: Some(response.into_body()),
            ..Report::default()
        });
    }
    let error = Box::new(globus_app::GlobusApiError::from_response(&response));
    Err(Failure::Answer {
        body: response.into_body(),
        error,
    })
}
