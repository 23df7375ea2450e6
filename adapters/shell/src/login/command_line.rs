//! The command-line login: print the URL, read the code.

use super::feedback::{Feedback, LoginFeedback, LoginMessage, WriterFeedback};
use super::{CancelToken, LoginContext, LoginError, LoginFlow, PendingLogin};
use globus_app_core::redirect::RedirectParams;
use std::fmt;
use std::io::{BufRead, Read as _, Write};
use std::sync::{Arc, Mutex, PoisonError};

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
/// Both go to standard error (the reference writes them to standard output), so a
/// program whose output is captured (`HDR=$(my-tool header …)`) still shows the
/// prompt on the terminal, and its output holds only its result. An app with its own
/// console routes them elsewhere with [`feedback`](Self::feedback) (they arrive as
/// [`LoginMessage::PasteCode`]) or [`with_io`](Self::with_io).
///
/// A cancelled wait
/// ([`wait_for_redirect_with_cancel`](PendingLogin::wait_for_redirect_with_cancel),
/// which async apps use: dropping the login's future cancels it) stops reading and
/// ends with [`LoginError::Cancelled`]. On Unix, standard input is polled and read
/// only once input is ready and the wait is not cancelled, so a line typed after the
/// cancel is left to the program. Elsewhere, and for the input of
/// [`with_io`](Self::with_io), a read that has begun runs to the end of its line.
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

struct Terminal {
    input: Input,
    output: Feedback,
}

impl CommandLineLoginFlow {
    /// A flow that reads standard input and writes its prompt to standard error.
    pub fn new() -> CommandLineLoginFlow {
        CommandLineLoginFlow::from_terminal(Terminal {
            input: Input::Stdin,
            output: Feedback::stderr(),
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
            output: Feedback::custom(WriterFeedback::new(output)),
        })
    }

    /// Sends the prompt ([`LoginMessage::PasteCode`]) to `sink` instead of standard
    /// error; the answer is still read from the flow's input. For every clone of
    /// this flow.
    ///
    /// ```
    /// use globus_app_shell::login::{CommandLineLoginFlow, LoginMessage};
    /// let flow = CommandLineLoginFlow::new().feedback(|message: &LoginMessage<'_>| {
    ///     eprint!("{}", message.terminal_text());
    ///     Ok(())
    /// });
    /// # let _ = flow;
    /// ```
    pub fn feedback(self, sink: impl LoginFeedback + 'static) -> CommandLineLoginFlow {
        self.io
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .output = Feedback::custom(sink);
        self
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
            .field("input", &if custom { "custom" } else { "stdin" })
            .field("feedback", &io.output)
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
        self.wait_for_redirect_with_cancel(authorize_url, state, &CancelToken::new())
    }

    fn wait_for_redirect_with_cancel(
        self: Box<Self>,
        authorize_url: &url::Url,
        state: &str,
        cancel: &CancelToken,
    ) -> Result<RedirectParams, LoginError> {
        // One login at a time on a terminal: the lock keeps two prompts apart.
        let mut io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        if cancel.is_cancelled() {
            return Err(LoginError::Cancelled);
        }
        io.show(authorize_url).map_err(LoginError::Terminal)?;
        let line = io.read_line(cancel)?;
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
        self.output
            .show(&LoginMessage::PasteCode { authorize_url: url })
    }

    /// Reads one line; EOF before any byte is [`LoginError::InputClosed`].
    fn read_line(&mut self, cancel: &CancelToken) -> Result<String, LoginError> {
        let input = match &mut self.input {
            Input::Stdin => return stdin::read_line(cancel),
            Input::Custom(input) => input,
        };
        if cancel.is_cancelled() {
            return Err(LoginError::Cancelled);
        }
        let mut line = String::new();
        match input.take(MAX_LINE).read_line(&mut line) {
            Ok(0) => Err(LoginError::InputClosed),
            Ok(_) => Ok(line),
            Err(e) => Err(LoginError::Terminal(e)),
        }
    }
}

/// Reading a line of standard input that a cancel can interrupt.
mod stdin {
    use super::{CancelToken, LoginError, MAX_LINE};
    use std::io::BufRead as _;

    /// Reads one line of standard input (at most [`MAX_LINE`] bytes).
    ///
    /// Unix: polls standard input and reads only once input is ready, checking the
    /// cancel in between, so no byte is taken after a cancel: a line typed then is
    /// left to the program. The bytes read go through the process's shared `Stdin`
    /// buffer and only up to the end of the line, so whatever follows the code
    /// (typed ahead, or piped) is also left to the program. (Bytes the program's
    /// own earlier reads left in that buffer are only seen once more input comes or
    /// the input ends: the buffer cannot be inspected without reading.)
    #[cfg(unix)]
    pub(super) fn read_line(cancel: &CancelToken) -> Result<String, LoginError> {
        let stdin = std::io::stdin();
        let mut line = Vec::new();
        // Waits for the user as long as they take, like a blocking read, but wakes
        // every tick to see whether the login was cancelled.
        loop {
            if cancel.is_cancelled() {
                return Err(LoginError::Cancelled);
            }
            if !poll::ready(&stdin) {
                continue;
            }
            // Ready input is read only if the login is still wanted.
            if cancel.is_cancelled() {
                return Err(LoginError::Cancelled);
            }
            let mut locked = stdin.lock();
            let available = locked.fill_buf().map_err(LoginError::Terminal)?;
            if available.is_empty() {
                drop(locked);
                return finish(line);
            }
            let limit = usize::try_from(MAX_LINE).unwrap_or(usize::MAX);
            let room = limit.saturating_sub(line.len());
            let (take, ends) = match available.iter().position(|&b| b == b'\n') {
                Some(newline) if newline < room => (newline + 1, true),
                _ => (available.len().min(room), false),
            };
            line.extend_from_slice(&available[..take]);
            locked.consume(take);
            // A line longer than the limit ends there, as `take(MAX_LINE)` would.
            if ends || line.len() >= limit {
                return finish(line);
            }
        }
    }

    /// Without a way to poll: one blocking read, after checking the cancel.
    #[cfg(not(unix))]
    pub(super) fn read_line(cancel: &CancelToken) -> Result<String, LoginError> {
        use std::io::Read as _;
        if cancel.is_cancelled() {
            return Err(LoginError::Cancelled);
        }
        let mut line = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(LoginError::Terminal)?;
        finish(line)
    }

    /// The line read: none at all is [`LoginError::InputClosed`]; bytes that are not
    /// UTF-8 are a terminal error, as `read_line` reports them.
    fn finish(line: Vec<u8>) -> Result<String, LoginError> {
        if line.is_empty() {
            return Err(LoginError::InputClosed);
        }
        String::from_utf8(line).map_err(|_| {
            LoginError::Terminal(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })
    }

    #[cfg(unix)]
    mod poll {
        use rustix::event::{PollFd, PollFlags, Timespec};

        /// How long one poll waits (50 ms): the most a cancelled login's thread
        /// lingers (an async runtime that shuts down waits for it).
        const TICK: Timespec = Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };

        /// Returns true when a read of `stdin` will not block: input is ready, the
        /// input ended, or it cannot be polled (macOS cannot poll a terminal; the
        /// read then blocks, as it did before polling).
        pub(super) fn ready(stdin: &std::io::Stdin) -> bool {
            let mut fds = [PollFd::new(stdin, PollFlags::IN)];
            match rustix::event::poll(&mut fds, Some(&TICK)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => false,
                // IN, HUP (the writer closed), ERR or NVAL: the read tells. If
                // poll itself fails, a blocking read is what is left.
                Ok(_) | Err(_) => true,
            }
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
        let text = format!("{:?}", CommandLineLoginFlow::new());
        assert!(text.contains("stdin") && text.contains("stderr"), "{text}");
        let text = format!(
            "{:?}",
            CommandLineLoginFlow::new().feedback(|_: &LoginMessage<'_>| Ok(()))
        );
        assert!(text.contains("custom"), "{text}");
    }
}
