//! What a login flow tells the user while it runs, and where that goes.
//!
//! Both flows of this crate report through a [`LoginFeedback`]: by default
//! [`StderrFeedback`], which writes to standard error, never to standard output, so
//! that a program whose output is captured (`HDR=$(my-tool header …)`) still shows
//! the prompt on the terminal and prints only its result. A GUI or a service supplies
//! its own sink (`feedback` on either flow) and routes the [`LoginMessage`]s where its
//! user looks: a dialog, a log, a notification.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::describe_duration;

/// The banner above the authorize URL, as the reference prints it.
const BANNER: &str = "Please authenticate with Globus here:";
/// The command-line flow's prompt, as the reference prints it.
const PROMPT: &str = "Enter the resulting Authorization Code here: ";

/// Something a login flow tells the user.
///
/// `Display` gives the text as a terminal shows it (several lines for some
/// messages, no final newline); [`terminal_text`](Self::terminal_text) adds the
/// spacing around it. A sink that shows them some other way reads the fields.
/// New messages may be added.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum LoginMessage<'a> {
    /// The command-line flow: log in at `authorize_url`, then type the code that the
    /// page shows (or paste the URL the browser ended on). Ends with the prompt; the
    /// flow reads the answer right after it.
    PasteCode {
        /// The URL to open.
        authorize_url: &'a url::Url,
    },
    /// The local-server flow waits for the login to come back from the browser: it
    /// is about to open `authorize_url` in the browser, and gives up after `timeout`.
    /// The user can open the URL by hand (in a browser on this machine: the login
    /// comes back to a loopback port).
    WaitingForBrowser {
        /// The URL the browser is sent to.
        authorize_url: &'a url::Url,
        /// How long the flow waits for the login.
        timeout: Duration,
    },
    /// The local-server flow could not open the browser, or the browser command
    /// failed (a `$BROWSER` program that exited with an error). The flow goes on
    /// waiting for a login at the URL shown before.
    BrowserFailed {
        /// What failed (it names the command and its exit status).
        error: &'a io::Error,
    },
}

impl LoginMessage<'_> {
    /// Returns true if the flow reads the user's answer right after this message
    /// (on the same line of a terminal).
    pub fn is_prompt(&self) -> bool {
        matches!(self, LoginMessage::PasteCode { .. })
    }

    /// The exact text a terminal shows: the reference's blank line before the
    /// command-line banner, and a final newline after every message except the
    /// prompt.
    ///
    /// ```
    /// use globus_app_shell::login::LoginMessage;
    /// use std::time::Duration;
    /// let url = url::Url::parse("https://auth.globus.org/v2/oauth2/authorize?x=1").unwrap();
    /// let text = LoginMessage::WaitingForBrowser {
    ///     authorize_url: &url,
    ///     timeout: Duration::from_secs(600),
    /// }
    /// .terminal_text();
    /// assert!(text.contains("https://auth.globus.org/v2/oauth2/authorize?x=1\n"));
    /// assert!(text.ends_with("Ctrl-C to cancel; gives up in 10 minutes\n"));
    /// ```
    pub fn terminal_text(&self) -> String {
        if self.is_prompt() {
            format!("\n{self}")
        } else {
            format!("{self}\n")
        }
    }
}

impl fmt::Display for LoginMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginMessage::PasteCode { authorize_url } => {
                let rule = "-".repeat(BANNER.len());
                write!(f, "{BANNER}\n{rule}\n{authorize_url}\n{rule}\n\n{PROMPT}")
            }
            LoginMessage::WaitingForBrowser {
                authorize_url,
                timeout,
            } => write!(
                f,
                "Log in with Globus in your browser; if it does not open, open this URL in a \
                 browser on this machine:\n{authorize_url}\nwaiting for the login in your \
                 browser; Ctrl-C to cancel; gives up in {}",
                describe_duration(*timeout)
            ),
            LoginMessage::BrowserFailed { error } => write!(
                f,
                "{error}; open the URL above in a browser on this machine to log in (still \
                 waiting)"
            ),
        }
    }
}

/// Where a login flow's messages go: standard error by default
/// ([`StderrFeedback`]), any writer ([`WriterFeedback`]), or your own sink.
///
/// A closure taking `&LoginMessage<'_>` and returning `io::Result<()>` is a sink:
///
/// ```
/// use globus_app_shell::login::{LocalServerLoginFlow, LoginMessage};
/// let flow = LocalServerLoginFlow::new().feedback(|message: &LoginMessage<'_>| {
///     if let LoginMessage::WaitingForBrowser { authorize_url, .. } = message {
///         // e.g. show a dialog with a button that opens `authorize_url`
///         let _ = authorize_url;
///     }
///     Ok(())
/// });
/// # let _ = flow;
/// ```
pub trait LoginFeedback: Send + Sync {
    /// Shows `message` to the user.
    ///
    /// # Errors
    /// The sink's failure. The command-line flow then ends its login with
    /// [`LoginError::Terminal`](super::LoginError::Terminal) (no prompt, no answer);
    /// the local-server flow goes on, as the browser may still open.
    fn show(&self, message: &LoginMessage<'_>) -> io::Result<()>;
}

impl<F> LoginFeedback for F
where
    F: Fn(&LoginMessage<'_>) -> io::Result<()> + Send + Sync,
{
    fn show(&self, message: &LoginMessage<'_>) -> io::Result<()> {
        self(message)
    }
}

/// Writes each message's [`terminal_text`](LoginMessage::terminal_text) to standard
/// error: the default sink of both flows.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrFeedback;

impl LoginFeedback for StderrFeedback {
    fn show(&self, message: &LoginMessage<'_>) -> io::Result<()> {
        let mut err = io::stderr().lock();
        err.write_all(message.terminal_text().as_bytes())?;
        err.flush()
    }
}

/// Writes each message's [`terminal_text`](LoginMessage::terminal_text) to a writer
/// (a log file, a pipe, a test's buffer).
pub struct WriterFeedback<W>(Mutex<W>);

impl<W: Write + Send> WriterFeedback<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> WriterFeedback<W> {
        WriterFeedback(Mutex::new(out))
    }
}

impl<W> fmt::Debug for WriterFeedback<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriterFeedback")
    }
}

impl<W: Write + Send> LoginFeedback for WriterFeedback<W> {
    fn show(&self, message: &LoginMessage<'_>) -> io::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(message.terminal_text().as_bytes())?;
        out.flush()
    }
}

/// A flow's sink, shared by its clones and the logins it prepares.
#[derive(Clone)]
pub(super) struct Feedback {
    sink: Arc<dyn LoginFeedback>,
    custom: bool,
}

impl Feedback {
    pub(super) fn stderr() -> Feedback {
        Feedback {
            sink: Arc::new(StderrFeedback),
            custom: false,
        }
    }

    pub(super) fn custom(sink: impl LoginFeedback + 'static) -> Feedback {
        Feedback {
            sink: Arc::new(sink),
            custom: true,
        }
    }

    pub(super) fn show(&self, message: &LoginMessage<'_>) -> io::Result<()> {
        self.sink.show(message)
    }
}

impl fmt::Debug for Feedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.custom { "custom" } else { "stderr" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> url::Url {
        url::Url::parse("https://auth.globus.org/v2/oauth2/authorize?state=s").expect("url")
    }

    #[test]
    fn the_prompt_keeps_the_reference_layout() {
        let url = url();
        let text = LoginMessage::PasteCode {
            authorize_url: &url,
        }
        .terminal_text();
        let rule = "-".repeat(BANNER.len());
        assert_eq!(
            text,
            format!("\n{BANNER}\n{rule}\n{url}\n{rule}\n\n{PROMPT}")
        );
    }

    #[test]
    fn the_waiting_notice_names_the_url_and_the_timeout_on_its_own_lines() {
        let url = url();
        let text = LoginMessage::WaitingForBrowser {
            authorize_url: &url,
            timeout: Duration::from_secs(3600),
        }
        .terminal_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1], url.as_str());
        assert_eq!(
            lines[2],
            "waiting for the login in your browser; Ctrl-C to cancel; gives up in 1 hour"
        );
    }

    #[test]
    fn a_browser_failure_says_the_wait_goes_on() {
        let error = io::Error::other("the browser command `false` failed (exit status: 1)");
        let text = LoginMessage::BrowserFailed { error: &error }.terminal_text();
        assert_eq!(
            text,
            "the browser command `false` failed (exit status: 1); open the URL above in a \
             browser on this machine to log in (still waiting)\n"
        );
    }

    #[test]
    fn writers_and_closures_are_sinks() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let url = url();
        let message = LoginMessage::PasteCode {
            authorize_url: &url,
        };
        let sink = Feedback::custom(WriterFeedback::new(Shared(Arc::clone(&buffer))));
        sink.show(&message).expect("written");
        let written = buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        assert_eq!(written, message.terminal_text().into_bytes());

        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let sink = Feedback::custom(move |m: &LoginMessage<'_>| {
            record
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(m.is_prompt());
            Ok(())
        });
        sink.show(&message).expect("shown");
        assert_eq!(*seen.lock().unwrap_or_else(PoisonError::into_inner), [true]);
        assert_eq!(format!("{sink:?}"), "custom");
        assert_eq!(format!("{:?}", Feedback::stderr()), "stderr");
    }
}
