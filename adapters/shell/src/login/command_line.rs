//! The command-line login: print the URL, read the code.

use super::{LoginContext, LoginError, LoginFlow, PendingLogin};
use globus_app_core::redirect::RedirectParams;
use std::fmt;
use std::io::{BufRead, Read as _, Write};
use std::sync::{Arc, Mutex, PoisonError};

const BANNER: &str = "Please authenticate with Globus here:";
const PROMPT: &str = "Enter the resulting Authorization Code here: ";
/// A code is ~30 characters and a redirect URL a few hundred; a longer line is
/// refused rather than buffered without bound.
const MAX_LINE: u64 = 16 * 1024;

/// A login through the terminal: prints the authorize URL, then reads the
/// authorization code that Globus Auth's page shows (or the whole URL of the page the
/// browser ended on) from one line of input.
///
/// The redirect URI is the app's configured one, else Globus Auth's
/// `v2/web/auth-code` page (native clients only: a confidential client must configure
/// its own, which [`check`](LoginFlow::check) enforces).
///
/// Output looks like the reference's:
///
/// ```text
///
/// Please authenticate with Globus here:
/// -------------------------------------
/// https://auth.globus.org/v2/oauth2/authorize?client_id=…
/// -------------------------------------
///
/// Enter the resulting Authorization Code here:
/// ```
///
/// Both go to standard output, like the reference (the prompt is part of the
/// interaction, and a script that captures stdout sees the URL it must show).
///
/// ```
/// use globus_app_shell::login::{CommandLineLoginFlow, LoginContext, LoginFlow};
/// let input = std::io::Cursor::new(b"the-code\n".to_vec());
/// let flow = CommandLineLoginFlow::with_io(input, std::io::sink());
/// let ctx = LoginContext::new("App", true, "https://auth.globus.org/v2/web/auth-code");
/// let pending = flow.prepare(&ctx).unwrap();
/// assert_eq!(pending.redirect_uri(), "https://auth.globus.org/v2/web/auth-code");
/// let url = url::Url::parse("https://auth.globus.org/v2/oauth2/authorize?state=s").unwrap();
/// let redirect = pending.wait_for_redirect(&url, "s").unwrap();
/// assert!(redirect.has_code());
/// ```
#[derive(Clone)]
pub struct CommandLineLoginFlow {
    io: Arc<Mutex<Terminal>>,
}

enum Input {
    Stdin,
    Custom(Box<dyn BufRead + Send>),
}

enum Output {
    Stdout,
    Custom(Box<dyn Write + Send>),
}

struct Terminal {
    input: Input,
    output: Output,
}

impl CommandLineLoginFlow {
    /// A flow on the process's standard input and output.
    pub fn new() -> CommandLineLoginFlow {
        CommandLineLoginFlow::from_terminal(Terminal {
            input: Input::Stdin,
            output: Output::Stdout,
        })
    }

    /// A flow that reads `input` and writes `output` instead of the terminal (for
    /// tests, or an app with its own console).
    pub fn with_io(
        input: impl BufRead + Send + 'static,
        output: impl Write + Send + 'static,
    ) -> CommandLineLoginFlow {
        CommandLineLoginFlow::from_terminal(Terminal {
            input: Input::Custom(Box::new(input)),
            output: Output::Custom(Box::new(output)),
        })
    }

    fn from_terminal(terminal: Terminal) -> CommandLineLoginFlow {
        CommandLineLoginFlow {
            io: Arc::new(Mutex::new(terminal)),
        }
    }
}

impl Default for CommandLineLoginFlow {
    fn default() -> Self {
        CommandLineLoginFlow::new()
    }
}

impl fmt::Debug for CommandLineLoginFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        let custom = matches!(io.input, Input::Custom(_));
        f.debug_struct("CommandLineLoginFlow")
            .field("io", &if custom { "custom" } else { "stdio" })
            .finish()
    }
}

impl LoginFlow for CommandLineLoginFlow {
    fn check(&self, ctx: &LoginContext<'_>) -> Result<(), LoginError> {
        if !ctx.client_is_native && ctx.configured_redirect_uri.is_none() {
            return Err(LoginError::RedirectUriRequired);
        }
        Ok(())
    }

    fn prepare(&self, ctx: &LoginContext<'_>) -> Result<Box<dyn PendingLogin>, LoginError> {
        self.check(ctx)?;
        let redirect_uri = ctx
            .configured_redirect_uri
            .unwrap_or(ctx.default_redirect_uri)
            .to_owned();
        Ok(Box::new(CommandLinePending {
            io: Arc::clone(&self.io),
            redirect_uri,
        }))
    }
}

struct CommandLinePending {
    io: Arc<Mutex<Terminal>>,
    redirect_uri: String,
}

impl PendingLogin for CommandLinePending {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn wait_for_redirect(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
    ) -> Result<RedirectParams, LoginError> {
        // One login at a time on a terminal: the lock keeps two prompts apart.
        let mut io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        io.show(authorize_url).map_err(LoginError::Terminal)?;
        let line = io.read_line()?;
        if line.trim().is_empty() {
            return Err(LoginError::EmptyInput);
        }
        let params = RedirectParams::from_pasted(&line)?;
        // A pasted URL must carry this login's state; a bare code has none to check.
        params.clone().into_code(state)?;
        Ok(params)
    }
}

impl Terminal {
    fn show(&mut self, url: &url::Url) -> std::io::Result<()> {
        let rule = "-".repeat(BANNER.len());
        let text = format!("\n{BANNER}\n{rule}\n{url}\n{rule}\n\n{PROMPT}");
        match &mut self.output {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            Output::Custom(out) => {
                out.write_all(text.as_bytes())?;
                out.flush()
            }
        }
    }

    /// Reads one line; EOF before any byte is [`LoginError::InputClosed`].
    fn read_line(&mut self) -> Result<String, LoginError> {
        let mut line = String::new();
        let read = match &mut self.input {
            Input::Stdin => std::io::stdin().lock().take(MAX_LINE).read_line(&mut line),
            Input::Custom(input) => input.take(MAX_LINE).read_line(&mut line),
        };
        match read {
            Ok(0) => Err(LoginError::InputClosed),
            Ok(_) => Ok(line),
            Err(e) => Err(LoginError::Terminal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globus_app_core::redirect::RedirectError;

    const DEFAULT: &str = "https://auth.globus.org/v2/web/auth-code";

    #[test]
    fn redirect_uri_choice() {
        let flow = CommandLineLoginFlow::with_io(std::io::empty(), std::io::sink());
        let native = LoginContext::new("A", true, DEFAULT);
        assert_eq!(
            flow.prepare(&native).expect("native").redirect_uri(),
            DEFAULT
        );
        let configured = native.with_configured_redirect_uri(Some("https://example.org/cb"));
        assert_eq!(
            flow.prepare(&configured)
                .expect("configured")
                .redirect_uri(),
            "https://example.org/cb"
        );
        let confidential = LoginContext::new("A", false, DEFAULT);
        assert!(matches!(
            flow.check(&confidential),
            Err(LoginError::RedirectUriRequired)
        ));
        assert!(matches!(
            flow.prepare(&confidential),
            Err(LoginError::RedirectUriRequired)
        ));
        let confidential =
            confidential.with_configured_redirect_uri(Some("https://example.org/cb"));
        assert!(flow.check(&confidential).is_ok());
    }

    #[test]
    fn an_overlong_line_is_refused_without_echoing_it() {
        let long = "x".repeat(MAX_LINE as usize * 2);
        let flow = CommandLineLoginFlow::with_io(std::io::Cursor::new(long), std::io::sink());
        let pending = flow
            .prepare(&LoginContext::new("A", true, DEFAULT))
            .expect("prepare");
        let url = url::Url::parse("https://auth.globus.org/").expect("url");
        let err = pending.wait_for_redirect(&url, "s").expect_err("too long");
        assert!(matches!(
            err,
            LoginError::Redirect(RedirectError::Malformed(_))
        ));
        assert!(!err.to_string().contains("xxx"));
    }

    #[test]
    fn debug_names_the_io() {
        assert!(format!("{:?}", CommandLineLoginFlow::new()).contains("stdio"));
    }
}
