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

use globus_app::blocking::{ClientApp, UserApp};
use globus_app::core::UnixTime;
use globus_app::{
    AppConfig, Clock, Error, LoginFlowChoice, OAuthClient, ScopeRequirements, SystemClock,
    TokenStorage, TokenStorageChoice,
};
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: cli [--client-id ID] [--client-secret SECRET] [--app-name NAME] \
[--storage json|sqlite|memory] [--flow command-line|local-server] [--refresh-tokens] \
[--scope RS=SCOPES]... (login [--force] | status | header RS | whoami | logout [--sweep])";

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
            "-h" | "--help" => return Err(USAGE.to_owned()),
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
    let client_id = client_id.ok_or("no client id: pass --client-id or set GLOBUS_CLIENT_ID")?;
    Ok(Options {
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

/// Either kind of app, behind the operations this tool uses.
enum App {
    User(UserApp),
    Client(ClientApp),
}

impl App {
    fn build(options: &Options) -> Result<App, Error> {
        let config = AppConfig::default()
            .token_storage(options.storage.clone())
            .request_refresh_tokens(options.refresh_tokens);
        match &options.client_secret {
            Some(secret) => Ok(App::Client(ClientApp::new(
                &options.app_name,
                OAuthClient::confidential(options.client_id.clone(), secret.clone()),
                options.requirements.clone(),
                config,
            )?)),
            None => Ok(App::User(UserApp::new(
                &options.app_name,
                OAuthClient::native(options.client_id.clone()),
                options.requirements.clone(),
                config.login_flow(options.flow.clone()),
            )?)),
        }
    }

    fn run(&self, command: &Command) -> Result<String, Error> {
        match (self, command) {
            (App::User(app), Command::Login { force }) => {
                app.login(None, *force).map(|()| "logged in".to_owned())
            }
            (App::Client(app), Command::Login { force }) => {
                app.login(*force).map(|()| "logged in".to_owned())
            }
            (_, Command::Header(rs)) => self.header(rs),
            (_, Command::Status) => self.status(),
            (App::User(app), Command::Whoami) => {
                // The identity is known once tokens are loaded: a status check loads them.
                let _ = app.login_required()?;
                Ok(app
                    .identity_id()
                    .unwrap_or_else(|| "(not logged in)".to_owned()))
            }
            (App::Client(_), Command::Whoami) => {
                Ok("(a ClientApp acts as its client; no user identity)".to_owned())
            }
            (App::User(app), Command::Logout { sweep }) => app.logout(*sweep).map(describe_logout),
            (App::Client(app), Command::Logout { sweep }) => {
                app.logout(*sweep).map(describe_logout)
            }
        }
    }

    fn header(&self, rs: &str) -> Result<String, Error> {
        match self {
            App::User(app) => app.authorization_header(rs),
            App::Client(app) => app.authorization_header(rs),
        }
    }

    fn status(&self) -> Result<String, Error> {
        let (storage, requirements): (&Arc<dyn TokenStorage>, ScopeRequirements) = match self {
            App::User(app) => (app.token_storage(), app.scope_requirements()),
            App::Client(app) => (app.token_storage(), app.scope_requirements()),
        };
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
    let result = App::build(&options).and_then(|app| {
        let out = app.run(&options.command);
        if let Err(e) = match &app {
            App::User(a) => a.close(),
            App::Client(a) => a.close(),
        } {
            eprintln!("warning: {e}");
        }
        out
    });
    match result {
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
