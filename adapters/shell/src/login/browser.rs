//! Opening the system browser, after refusing the environments where a browser
//! login cannot work.

use super::LoginError;
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Programs that `$BROWSER` may name which are refused: text-only browsers cannot
/// complete a Globus login and take over the terminal while they run.
///
/// The reference's list (`lynx`, `www-browser`, `links`, `elinks`, `w3m`), plus the
/// other text browsers that the `webbrowser` crate would run in the foreground.
pub const TEXT_BROWSERS: &[&str] = &[
    "lynx",
    "www-browser",
    "links",
    "links2",
    "elinks",
    "w3m",
    "netrik",
    "retawq",
];

/// The environment variables that decide whether a browser login can work, captured
/// once so that a test (or an app with its own idea of the environment) can supply
/// them.
///
/// Only this shell crate reads the process environment; the core never does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrowserEnv {
    /// `$SSH_TTY`: set by sshd for a login with a terminal.
    pub ssh_tty: Option<String>,
    /// `$SSH_CONNECTION`: set by sshd for every SSH session.
    pub ssh_connection: Option<String>,
    /// `$BROWSER`: a `:`-separated list of browser commands.
    pub browser: Option<String>,
}

impl BrowserEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> BrowserEnv {
        BrowserEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (a name in, the value out).
    ///
    /// ```
    /// use globus_app_shell::login::BrowserEnv;
    /// let env = BrowserEnv::from_lookup(|name| (name == "BROWSER").then(|| "firefox".to_owned()));
    /// assert_eq!(env.browser.as_deref(), Some("firefox"));
    /// assert!(env.check().is_ok());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> BrowserEnv {
        BrowserEnv {
            ssh_tty: lookup("SSH_TTY"),
            ssh_connection: lookup("SSH_CONNECTION"),
            browser: lookup("BROWSER"),
        }
    }

    /// Returns true if this looks like an SSH session (`SSH_TTY` or `SSH_CONNECTION`
    /// set and not empty).
    pub fn is_remote_session(&self) -> bool {
        [&self.ssh_tty, &self.ssh_connection]
            .into_iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
    }

    /// Returns the first text-only browser that `$BROWSER` names, if any.
    ///
    /// Every `:`-separated entry counts, not only the first: the `webbrowser` crate
    /// falls through to the next entry when one fails to start, and a text browser
    /// reached that way would take over the terminal in the middle of the login.
    pub fn text_browser(&self) -> Option<&str> {
        self.browser
            .as_deref()?
            .split(':')
            .filter_map(|entry| entry.split_ascii_whitespace().next())
            .find(|program| is_text_browser(program))
    }

    /// Refuses the environments where a browser login cannot work.
    ///
    /// # Errors
    /// [`LoginError::RemoteSession`] in an SSH session;
    /// [`LoginError::TextBrowser`] when `$BROWSER` names a text-only browser.
    pub fn check(&self) -> Result<(), LoginError> {
        if self.is_remote_session() {
            return Err(LoginError::RemoteSession);
        }
        if let Some(browser) = self.text_browser() {
            return Err(LoginError::TextBrowser {
                browser: browser.to_owned(),
            });
        }
        Ok(())
    }
}

/// Compares the program's file name, without a directory or `.exe`, to
/// [`TEXT_BROWSERS`].
fn is_text_browser(program: &str) -> bool {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    let lower = name.to_ascii_lowercase();
    let name = lower.strip_suffix(".exe").unwrap_or(&lower);
    TEXT_BROWSERS.contains(&name)
}

/// Opens `url` in the system browser, after [`BrowserEnv::check`].
///
/// `$BROWSER` (as `env` has it) comes first: a `:`-separated list of commands, each
/// tried in turn until one starts, where `%s` stands for the URL (appended when no
/// entry has it), `%c` for `:` and `%%` for `%`. Without it, or when none of its
/// commands starts, the `webbrowser` crate opens the desktop's default browser. The
/// browser runs in the background, its output discarded; this returns once it has
/// started, without waiting for its exit status (the local-server flow watches it).
///
/// # Errors
/// [`LoginError::RemoteSession`], [`LoginError::TextBrowser`], or
/// [`LoginError::BrowserNotOpened`] when no browser could be started.
///
/// ```no_run
/// use globus_app_shell::login::{BrowserEnv, open_browser};
/// let url = url::Url::parse("https://app.globus.org/").unwrap();
/// open_browser(&url, &BrowserEnv::from_process())?;
/// # Ok::<(), globus_app_shell::login::LoginError>(())
/// ```
pub fn open_browser(url: &url::Url, env: &BrowserEnv) -> Result<(), LoginError> {
    env.check()?;
    launch(url, env)
        .map(drop)
        .map_err(LoginError::BrowserNotOpened)
}

/// A browser started for a login.
pub(super) struct Launched {
    /// The `$BROWSER` command this crate started, and its process, until it has
    /// exited. `None` for the desktop's default browser, which the `webbrowser`
    /// crate starts without reporting how its command ends.
    watched: Option<(String, Child)>,
}

impl Launched {
    /// Returns true while the browser command runs and is watched.
    pub(super) fn is_watched(&self) -> bool {
        self.watched.is_some()
    }

    /// Checks, without waiting, whether the browser command has exited: its failure
    /// once it exited with one (then it is no longer watched), else `None`.
    pub(super) fn failure(&mut self) -> Option<io::Error> {
        let (program, child) = self.watched.as_mut()?;
        let failed = match child.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) if status.success() => None,
            Ok(Some(status)) => Some(io::Error::other(format!(
                "the browser command `{program}` failed ({status})"
            ))),
            Err(e) => Some(io::Error::new(
                e.kind(),
                format!("the browser command `{program}` could not be watched: {e}"),
            )),
        };
        self.watched = None;
        failed
    }
}

/// Starts a browser on `url` (see [`open_browser`]; the checks are the caller's).
///
/// # Errors
/// No browser could be started; the message says so.
pub(super) fn launch(url: &url::Url, env: &BrowserEnv) -> io::Result<Launched> {
    let entries = env.browser.as_deref().unwrap_or_default().split(':');
    for args in entries.filter_map(|entry| browser_command(entry, url.as_str())) {
        let Some((program, rest)) = args.split_first() else {
            continue;
        };
        let started = Command::new(program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        // A command that does not start (not installed): the next one.
        if let Ok(child) = started {
            return Ok(Launched {
                watched: Some((program.clone(), child)),
            });
        }
    }
    match webbrowser::open(url.as_str()) {
        Ok(()) => Ok(Launched { watched: None }),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("no web browser could be opened ({e})"),
        )),
    }
}

/// One `$BROWSER` entry as a command line for `url`: split at whitespace, `%s`
/// replaced by the URL (appended when no field has it), `%c` by `:`, `%%` by `%`.
/// `None` for an empty entry.
fn browser_command(entry: &str, url: &str) -> Option<Vec<String>> {
    let mut has_url = false;
    let mut args: Vec<String> = entry
        .split_ascii_whitespace()
        .map(|field| {
            let mut out = String::with_capacity(field.len());
            let mut chars = field.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('s') => {
                        out.push_str(url);
                        has_url = true;
                    }
                    Some('c') => out.push(':'),
                    Some('%') => out.push('%'),
                    Some(other) => {
                        out.push('%');
                        out.push(other);
                    }
                    None => out.push('%'),
                }
            }
            out
        })
        .collect();
    if args.is_empty() {
        return None;
    }
    if !has_url {
        args.push(url.to_owned());
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BrowserEnv {
        BrowserEnv::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn ssh_sessions_are_refused() {
        assert!(matches!(
            env(&[("SSH_TTY", "/dev/pts/0")]).check(),
            Err(LoginError::RemoteSession)
        ));
        assert!(matches!(
            env(&[("SSH_CONNECTION", "10.0.0.1 5 10.0.0.2 22")]).check(),
            Err(LoginError::RemoteSession)
        ));
        assert!(env(&[("SSH_TTY", "")]).check().is_ok());
        assert!(env(&[]).check().is_ok());
    }

    #[test]
    fn text_browsers_are_refused_by_program_name() {
        for value in [
            "lynx",
            "/usr/bin/w3m",
            "links -g",
            "firefox:elinks",
            "www-browser %s",
            "/usr/local/bin/Lynx",
        ] {
            let err = env(&[("BROWSER", value)]).check();
            assert!(
                matches!(err, Err(LoginError::TextBrowser { .. })),
                "{value}: {err:?}"
            );
        }
        let err = env(&[("BROWSER", "/opt/w3m")]).check();
        match err {
            Err(e @ LoginError::TextBrowser { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("`/opt/w3m`") && msg.contains("command-line"));
            }
            other => panic!("{other:?}"),
        }
        for value in [
            "firefox",
            "/usr/bin/lynx-wrapper",
            "open -a Safari",
            "",
            "::",
        ] {
            assert!(env(&[("BROWSER", value)]).check().is_ok(), "{value}");
        }
    }

    #[test]
    fn browser_entries_become_command_lines() {
        let url = "http://127.0.0.1:5/?a=%41";
        assert_eq!(
            browser_command("firefox", url),
            Some(vec!["firefox".to_owned(), url.to_owned()])
        );
        assert_eq!(
            browser_command("  open -a  Safari ", url),
            Some(vec![
                "open".into(),
                "-a".into(),
                "Safari".into(),
                url.to_owned()
            ])
        );
        assert_eq!(
            browser_command("b --url=%s --x=%c%%%q", url),
            Some(vec!["b".into(), format!("--url={url}"), "--x=:%%q".into()])
        );
        assert_eq!(browser_command(" ", url), None);
        assert_eq!(browser_command("", url), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_browser_command_that_fails_is_noticed() {
        let url = url::Url::parse("http://127.0.0.1:1/").expect("url");
        let mut launched =
            launch(&url, &env(&[("BROWSER", "/nonexistent/browser:false")])).expect("launched");
        assert!(launched.is_watched());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let failure = loop {
            if let Some(failure) = launched.failure() {
                break failure;
            }
            assert!(std::time::Instant::now() < deadline, "`false` never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let message = failure.to_string();
        assert!(
            message.starts_with("the browser command `false` failed (exit status: 1)"),
            "{message}"
        );
        assert!(!launched.is_watched() && launched.failure().is_none());

        let mut launched = launch(&url, &env(&[("BROWSER", "true")])).expect("launched");
        while launched.is_watched() {
            assert!(launched.failure().is_none(), "`true` succeeds");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn open_browser_checks_before_opening() {
        let url = url::Url::parse("http://127.0.0.1:1/").expect("url");
        assert!(matches!(
            open_browser(&url, &env(&[("SSH_CONNECTION", "x")])),
            Err(LoginError::RemoteSession)
        ));
        assert!(matches!(
            open_browser(&url, &env(&[("BROWSER", "lynx")])),
            Err(LoginError::TextBrowser { .. })
        ));
    }
}
