//! Your own `LoginFlow`: a login handed over through files, for programs with no
//! terminal to prompt on.
//!
//! ```sh
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example custom_login_flow
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example custom_login_flow -- --dir /some/dir
//! ```
//!
//! A service started by a supervisor, a job on a cluster node, a Jupyter kernel: none
//! can prompt for a code on standard input, and none can open a browser. This flow
//! prints one short line saying where to look, writes the authorize URL to
//! `{dir}/login-url.txt`, and waits (up to 10 minutes) for the user to put the
//! authorization code, or the whole URL of the page that showed it, in
//! `{dir}/login-code`:
//!
//! ```sh
//! cat /tmp/globus-login-1234/login-url.txt       # open it in a browser anywhere, log in
//! echo 'THE-CODE' > /tmp/globus-login-1234/login-code
//! ```
//!
//! Then it removes both files and hands the code back; the app exchanges it (with the
//! PKCE verifier only it knows) and checks the `state` if a URL was given.
//!
//! The directory is created with mode 0700 (by default a new one in the temporary
//! directory). Tokens are kept in memory, so every run shows the flow.
//!
//! Needs a native client id in `GLOBUS_CLIENT_ID` (see `examples/login.rs`).

use globus_app::blocking::UserApp;
use globus_app::core::redirect::RedirectParams;
use globus_app::login::{LoginContext, LoginError, LoginFlow, PendingLogin};
use globus_app::scopes::transfer;
use globus_app::{AppConfig, LoginFlowChoice, OAuthClient, ScopeRequirements, TokenStorageChoice};
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A login through two files in a private directory.
#[derive(Debug, Clone)]
struct FileHandoffLoginFlow {
    dir: PathBuf,
    timeout: Duration,
    poll: Duration,
}

impl FileHandoffLoginFlow {
    fn new(dir: PathBuf) -> Self {
        FileHandoffLoginFlow {
            dir,
            timeout: Duration::from_secs(600),
            poll: Duration::from_millis(250),
        }
    }

    fn url_file(&self) -> PathBuf {
        self.dir.join("login-url.txt")
    }

    fn code_file(&self) -> PathBuf {
        self.dir.join("login-code")
    }
}

impl LoginFlow for FileHandoffLoginFlow {
    fn check(&self, ctx: &LoginContext<'_>) -> Result<(), LoginError> {
        // The user copies a code from Globus Auth's page: that is the default redirect
        // of native clients; a confidential client must name its own page.
        if !ctx.client_is_native && ctx.configured_redirect_uri.is_none() {
            return Err(LoginError::RedirectUriRequired);
        }
        Ok(())
    }

    fn prepare(&self, ctx: &LoginContext<'_>) -> Result<Box<dyn PendingLogin>, LoginError> {
        self.check(ctx)?;
        create_private_dir(&self.dir).map_err(|e| other(&self.dir, e))?;
        // A code left over from an earlier login would be refused by Globus Auth; start
        // clean.
        match std::fs::remove_file(self.code_file()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(other(&self.code_file(), e));
            }
            _ => {}
        }
        Ok(Box::new(Pending {
            flow: self.clone(),
            redirect_uri: ctx
                .configured_redirect_uri
                .unwrap_or(ctx.default_redirect_uri)
                .to_owned(),
        }))
    }
}

struct Pending {
    flow: FileHandoffLoginFlow,
    redirect_uri: String,
}

impl PendingLogin for Pending {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn wait_for_redirect(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
    ) -> Result<RedirectParams, LoginError> {
        let flow = &self.flow;
        let url_file = flow.url_file();
        let code_file = flow.code_file();
        std::fs::write(&url_file, format!("{authorize_url}\n")).map_err(|e| other(&url_file, e))?;
        println!(
            "Globus login needed: open the URL in {} and put the code in {}",
            url_file.display(),
            code_file.display()
        );
        let started = Instant::now();
        let result = loop {
            match std::fs::read_to_string(&code_file) {
                // An empty file may be one still being written: wait for its content.
                Ok(text) if !text.trim().is_empty() => {
                    let params = RedirectParams::from_pasted(&text)?;
                    // A URL must carry this login's state; a bare code has none to check.
                    params.clone().into_code(state)?;
                    break Ok(params);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => break Err(other(&code_file, e)),
            }
            if started.elapsed() >= flow.timeout {
                break Err(LoginError::Timeout {
                    waited: flow.timeout,
                });
            }
            std::thread::sleep(flow.poll);
        };
        // The code is single-use, but do not leave it (or the URL) lying around.
        let _ = std::fs::remove_file(&code_file);
        let _ = std::fs::remove_file(&url_file);
        result
    }
}

fn other(path: &Path, e: io::Error) -> LoginError {
    LoginError::Other(format!("{}: {e}", path.display()).into())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn main() -> ExitCode {
    let Some(client_id) = std::env::var("GLOBUS_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        eprintln!(
            "This example logs in to Globus and needs a native client id in GLOBUS_CLIENT_ID \
             (register one at https://app.globus.org/settings/developers):\n\n    \
             GLOBUS_CLIENT_ID=<client id> cargo run --example custom_login_flow\n\n\
             To try the library without a Globus account: cargo run --example quickstart"
        );
        return ExitCode::from(2);
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [] => std::env::temp_dir().join(format!("globus-login-{}", std::process::id())),
        [flag, dir] if flag == "--dir" => PathBuf::from(dir),
        _ => {
            eprintln!("usage: custom_login_flow [--dir DIRECTORY]");
            return ExitCode::from(2);
        }
    };
    match run(&client_id, dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(client_id: &str, dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut requirements = ScopeRequirements::new();
    requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?;
    let app = UserApp::new(
        "Custom Login Flow Example",
        OAuthClient::native(client_id),
        requirements,
        AppConfig::default()
            .login_flow(LoginFlowChoice::Custom(Arc::new(
                FileHandoffLoginFlow::new(dir),
            )))
            .token_storage(TokenStorageChoice::Memory),
    )?;
    let header = app.authorization_header(transfer::RESOURCE_SERVER)?;
    println!(
        "logged in as identity {}; got a header of {} characters",
        app.identity_id().as_deref().unwrap_or("(unknown)"),
        header.len()
    );
    Ok(())
}
