//! The `cli` example against the fake Globus Auth, as a user runs it: a real process
//! with `GLOBUS_SDK_SERVICE_URL_AUTH`, `HOME` and a `BROWSER` program; once with each
//! runtime adapter (`--runtime`) this build has.
//!
//! The tests that play the user do it from Rust (the fake's pages followed by
//! `client::browse`, the code typed on the child's standard input), so they need
//! nothing outside Rust. Only the whole round trip through a `BROWSER` script needs
//! python3, and is ignored unless asked for. Every wait on a child is bounded: a
//! child still running when its test ends is killed.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, Fault,
    NATIVE_CLIENT_ID, client,
};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCOPE: &str = "transfer.api.globus.org=urn:globus:auth:scope:transfer.api.globus.org:all";
const TRANSFER: &str = "transfer.api.globus.org";
/// The local-server login's notice, for `--login-timeout 600`.
const WAITING: &str =
    "waiting for the login in your browser; Ctrl-C to cancel; gives up in 10 minutes";
/// The command-line login's prompt.
const PROMPT: &str = "Enter the resulting Authorization Code here: ";
/// A watchdog against a hang, not a measure: a working step takes well under it.
const WATCHDOG: Duration = Duration::from_secs(60);

fn cli_path() -> PathBuf {
    // Examples are built by `cargo test` next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("cli{}", std::env::consts::EXE_SUFFIX))
}

#[cfg(unix)]
fn browser_script(dir: &Path) -> String {
    let path = dir.join("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nexec python3 -c 'import sys, urllib.request; \
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1]).read()' \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

struct Cli<'a> {
    fake: &'a FakeAuth,
    home: PathBuf,
    /// `$BROWSER`.
    browser: String,
}

impl<'a> Cli<'a> {
    /// A cli run against `fake`, with its home under `dir` and `browser` as
    /// `$BROWSER`.
    fn new(fake: &'a FakeAuth, dir: &Path, browser: impl Into<String>) -> Cli<'a> {
        Cli {
            fake,
            home: dir.join("home"),
            browser: browser.into(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cli_path());
        command
            .args(args)
            .env("HOME", &self.home)
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", self.fake.base_url())
            .env("BROWSER", &self.browser)
            .env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID)
            .env_remove("GLOBUS_CLIENT_SECRET")
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .env_remove("SSH_TTY")
            .env_remove("SSH_CONNECTION")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts the cli with piped standard streams, under watch.
    fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let stdin = child.stdin.take();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Running {
            name: format!("{args:?}"),
            child,
            started,
            stdin,
            stdout,
            stderr,
        }
    }
}

/// Reads a child's stream to its end on a thread, into a buffer the test can look at.
fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buffer
}

/// A cli process under watch: its output collected as it comes; killed if it is
/// still running when dropped (a failed assertion, or a test that is done with it).
struct Running {
    name: String,
    child: Child,
    started: Instant,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn transcript(&self) -> String {
        format!(
            "{}\n--- stdout\n{}\n--- stderr\n{}",
            self.name,
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (at most `within` from the start of the process) until standard error
    /// holds `needle`; returns how long after the start that was.
    fn stderr_shows(&mut self, needle: &str, within: Duration) -> Duration {
        loop {
            let elapsed = self.started.elapsed();
            if self.stderr().contains(needle) {
                return elapsed;
            }
            if elapsed > within {
                self.kill();
                panic!(
                    "{needle:?} not on stderr within {within:?}\n{}",
                    self.transcript()
                );
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Exited: what it printed is complete once the readers are done.
                std::thread::sleep(Duration::from_millis(50));
                assert!(
                    self.stderr().contains(needle),
                    "exited ({status}) without {needle:?} on stderr\n{}",
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The authorize URL printed on standard error.
    fn printed_url(&self) -> String {
        let stderr = self.stderr();
        stderr
            .lines()
            .find(|line| line.contains("/v2/oauth2/authorize?"))
            .unwrap_or_else(|| panic!("no URL on stderr\n{}", self.transcript()))
            .trim()
            .to_owned()
    }

    /// Types a line on the child's standard input, then closes it.
    fn type_line(&mut self, line: &str) {
        let mut stdin = self.stdin.take().unwrap();
        writeln!(stdin, "{line}").unwrap();
    }

    /// Waits (bounded) for the child to exit; returns its status, stdout and stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + WATCHDOG;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("did not exit within {WATCHDOG:?}\n{}", self.transcript());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The readers end with the pipes; give them a moment to take the last bytes.
        let settled = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.stdout) + Arc::strong_count(&self.stderr) > 2
            && Instant::now() < settled
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        (status, self.stdout(), self.stderr())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Plays the user of a command-line login: follows the printed URL to the fake's
/// authorize page and types the code it issued.
fn type_the_code(running: &mut Running) {
    running.stderr_shows(PROMPT, WATCHDOG);
    let url = running.printed_url();
    let responses = client::browse(&url).unwrap();
    let (code, _) = client::code_from_redirect(&responses[0])
        .unwrap_or_else(|| panic!("no code in the redirect\n{}", running.transcript()));
    running.type_line(&code);
}

/// The runtimes this build of the example has.
fn runtimes() -> Vec<&'static str> {
    let mut runtimes = Vec::new();
    if cfg!(feature = "blocking") {
        runtimes.push("blocking");
    }
    if cfg!(feature = "tokio") {
        runtimes.push("tokio");
    }
    if cfg!(feature = "async-std") {
        runtimes.push("async-std");
    }
    runtimes
}

#[cfg(all(unix, feature = "blocking"))]
#[test]
#[ignore = "needs python3 to play the browser; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn login_header_status_whoami_logout_blocking() {
    login_header_status_whoami_logout("blocking");
}

#[cfg(all(unix, feature = "tokio"))]
#[test]
#[ignore = "needs python3 to play the browser; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn login_header_status_whoami_logout_tokio() {
    login_header_status_whoami_logout("tokio");
}

#[cfg(all(unix, feature = "async-std"))]
#[test]
#[ignore = "needs python3 to play the browser; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn login_header_status_whoami_logout_async_std() {
    login_header_status_whoami_logout("async-std");
}

#[cfg(unix)]
#[allow(dead_code)] // without any runtime feature
fn login_header_status_whoami_logout(runtime: &str) {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), browser_script(dir.path()));
    for storage in ["json", "sqlite"] {
        let base = ["--runtime", runtime, "--storage", storage, "--scope", SCOPE];
        let with = |extra: &[&'static str]| -> Vec<&str> {
            base.iter().copied().chain(extra.iter().copied()).collect()
        };
        assert_eq!(
            cli.ok(&with(&["status"])),
            "auth.globus.org: missing\ntransfer.api.globus.org: missing\n"
        );
        assert_eq!(
            cli.ok(&with(&["--flow", "local-server", "login"])),
            "logged in\n"
        );
        let status = cli.ok(&with(&["status"]));
        assert!(
            status.contains("transfer.api.globus.org: valid (expires "),
            "{status}"
        );
        assert!(status.contains(&fake.user().id), "{status}");
        assert!(!status.contains("faAT"), "no token in status output");
        let header = cli.ok(&with(&["header", "transfer.api.globus.org"]));
        assert!(
            header.starts_with("Bearer ") && fake.is_access_token_active(header.trim()[7..].trim())
        );
        assert_eq!(cli.ok(&with(&["whoami"])).trim(), fake.user().id);
        assert_eq!(
            cli.ok(&with(&["logout"])),
            "logged out (2 resource servers removed)\n"
        );
        assert!(!fake.is_access_token_active(header.trim()[7..].trim()));
        assert!(
            cli.ok(&with(&["status"]))
                .contains("transfer.api.globus.org: missing")
        );
    }
    let file = dir
        .path()
        .join("home/.globus/app")
        .join(NATIVE_CLIENT_ID)
        .join("unnamed-globus-app/tokens.json");
    assert!(file.exists(), "{}", file.display());
}

#[test]
fn client_app_and_errors() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(
        &fake,
        dir.path(),
        dir.path().join("no-browser").to_str().unwrap().to_owned(),
    );
    for (n, runtime) in runtimes().into_iter().enumerate() {
        let header = cli.ok(&[
            "--runtime",
            runtime,
            "--client-id",
            CONFIDENTIAL_CLIENT_ID,
            "--client-secret",
            CONFIDENTIAL_CLIENT_SECRET,
            "--storage",
            "memory",
            "--scope",
            SCOPE,
            "header",
            "transfer.api.globus.org",
        ]);
        assert!(header.starts_with("Bearer "), "{runtime}: {header}");
        assert_eq!(fake.token_requests("client_credentials").len(), n + 1);
    }
    // A runtime that is unknown, or not compiled in, is a usage error that says so.
    let unknown = cli.run(&["--runtime", "gevent", "status"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("blocking, tokio, async-std"));
    for runtime in ["blocking", "tokio", "async-std"] {
        if !runtimes().contains(&runtime) {
            let out = cli.run(&["--runtime", runtime, "--scope", SCOPE, "status"]);
            assert_eq!(out.status.code(), Some(2));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("--features {runtime}")),
                "{stderr}"
            );
        }
    }
    // Usage errors exit 2; failures exit 1 with a message on stderr.
    assert_eq!(cli.run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        cli.run(&["--storage", "floppy", "status"]).status.code(),
        Some(2)
    );
    let bad = cli.run(&[
        "--client-id",
        CONFIDENTIAL_CLIENT_ID,
        "--client-secret",
        "wrong",
        "--storage",
        "memory",
        "--scope",
        SCOPE,
        "header",
        "transfer.api.globus.org",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(
        stderr.contains("401") && !stderr.contains("wrong"),
        "{stderr}"
    );
}

/// With `BROWSER=false` (a browser command that fails), the local-server login shows
/// the URL and how long it waits on stderr at once, says that the browser failed,
/// and keeps waiting: the user opens the printed URL, and only the header reaches
/// stdout.
#[test]
fn local_server_login_shows_the_url_and_waits_when_the_browser_fails() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false".to_owned());
    for runtime in runtimes() {
        let mut running = cli.spawn(&[
            "--runtime",
            runtime,
            "--storage",
            "memory",
            "--flow",
            "local-server",
            "--login-timeout",
            "600",
            "--scope",
            SCOPE,
            "header",
            TRANSFER,
        ]);
        let shown = running.stderr_shows(WAITING, WATCHDOG);
        eprintln!("{runtime}: the notice came {shown:?} after the start");
        assert!(
            shown < Duration::from_secs(1),
            "{runtime}: the notice came {shown:?} after the start\n{}",
            running.transcript()
        );
        let url = running.printed_url();
        assert!(url.starts_with(fake.base_url()), "{url}");
        running.stderr_shows(
            "the browser command `false` failed (exit status: 1)",
            WATCHDOG,
        );
        assert!(
            running.stderr().contains("still waiting"),
            "{}",
            running.transcript()
        );
        assert_eq!(running.stdout(), "", "{runtime}: stdout while waiting");
        assert!(
            matches!(running.child.try_wait(), Ok(None)),
            "{runtime}: gave up\n{}",
            running.transcript()
        );
        assert!(fake.requests().is_empty(), "{runtime}: nothing sent yet");

        // The user opens the printed URL by hand.
        let pages = client::browse(&url).unwrap();
        let landing = pages.last().unwrap().text();
        assert!(landing.contains("Login successful"), "{landing}");
        let (status, stdout, stderr) = running.finish();
        assert!(status.success(), "{runtime}: {status}\n{stderr}");
        let header = stdout.strip_suffix('\n').unwrap_or_default();
        assert!(
            header.starts_with("Bearer ") && !header.contains('\n'),
            "{runtime}: stdout holds more than the header: {stdout:?}"
        );
        assert!(fake.is_access_token_active(&header["Bearer ".len()..]));
        assert!(
            !stderr.contains(&header["Bearer ".len()..]),
            "a token on stderr"
        );
        fake.clear_log();
    }
}

/// With the command-line login and stdout captured (`HDR=$(cli … header RS)`), the
/// prompt goes to stderr and only the header to stdout.
#[test]
fn command_line_login_prompts_on_stderr_and_prints_only_the_header() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false".to_owned());
    for runtime in runtimes() {
        let mut running = cli.spawn(&[
            "--runtime",
            runtime,
            "--storage",
            "memory",
            "--scope",
            SCOPE,
            "header",
            TRANSFER,
        ]);
        type_the_code(&mut running);
        let (status, stdout, stderr) = running.finish();
        assert!(status.success(), "{runtime}: {status}\n{stderr}");
        assert!(
            stderr.contains("Please authenticate with Globus here:") && stderr.contains(PROMPT),
            "{runtime}: {stderr}"
        );
        let header = stdout.strip_suffix('\n').unwrap_or_default();
        assert!(
            header.starts_with("Bearer ") && !header.contains('\n'),
            "{runtime}: stdout holds more than the header: {stdout:?}"
        );
        assert!(fake.is_access_token_active(&header["Bearer ".len()..]));
    }
}

#[test]
fn help_is_on_stdout_with_commands_runtimes_and_environment() {
    let fake = FakeAuth::start();
    let cli = Cli {
        fake: &fake,
        home: PathBuf::from("/nonexistent"),
        browser: "false".to_owned(),
    };
    let secret = "a-secret-the-help-must-not-show";
    let out = cli
        .command(&["--help"])
        .env("GLOBUS_CLIENT_SECRET", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Compared with whitespace collapsed: how clap wraps lines depends on the
    // features the build unified.
    let help = words(&String::from_utf8(out.stdout).unwrap());
    for needle in [
        "login Log in",
        "status One line per resource server",
        "header Print the Authorization header value",
        "whoami Print the identity id",
        "logout Revoke the stored tokens",
        "GLOBUS_CLIENT_ID",
        "GLOBUS_CLIENT_SECRET",
        "GLOBUS_SDK_ENVIRONMENT",
        "GLOBUS_SDK_SERVICE_URL_AUTH",
        "BROWSER",
        "--login-timeout",
    ] {
        assert!(help.contains(needle), "{needle:?} missing:\n{help}");
    }
    assert!(!help.contains(secret), "the secret in the help:\n{help}");
    // The runtimes: those compiled in, and only those, as the possible values.
    let values = help
        .split("Possible values:")
        .nth(1)
        .and_then(|rest| rest.split("[default:").next())
        .unwrap_or_default();
    for runtime in ["blocking", "tokio", "async-std"] {
        assert_eq!(
            values.contains(&format!("- {runtime}:")),
            runtimes().contains(&runtime),
            "{runtime}:\n{values}"
        );
    }
    // Each command has its own help.
    let header = words(&cli.ok(&["header", "--help"]));
    assert!(
        header.contains("Usage: cli header [OPTIONS] <RS>") && header.contains("--scope"),
        "{header}"
    );
    let logout = words(&cli.ok(&["help", "logout"]));
    assert!(
        logout.contains("--sweep") && logout.contains("one line per resource server"),
        "{logout}"
    );
    assert!(fake.requests().is_empty());
}

/// `text` with every run of whitespace made one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `header RS` without scope requirements for RS fails at once (no login could get
/// its token), for user and client apps, before any request.
#[test]
fn header_without_scope_requirements_fails_before_any_request() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false".to_owned());
    for runtime in runtimes() {
        for client in [
            &[][..],
            &[
                "--client-id",
                CONFIDENTIAL_CLIENT_ID,
                "--client-secret",
                CONFIDENTIAL_CLIENT_SECRET,
                // A client app needs some requirement to be built at all.
                "--scope",
                "other.example.org=urn:globus:auth:scope:other.example.org:all",
            ][..],
        ] {
            let mut args = vec!["--runtime", runtime];
            args.extend_from_slice(client);
            args.extend_from_slice(&["header", TRANSFER]);
            let out = cli.run(&args);
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(
                    "no scope requirements for transfer.api.globus.org: add --scope \
                     transfer.api.globus.org="
                ),
                "{stderr}"
            );
            assert!(out.stdout.is_empty());
            assert!(
                fake.requests().is_empty(),
                "{args:?}: {:?}",
                fake.requests()
            );
        }
    }
}

#[test]
fn a_client_id_that_is_not_a_uuid_is_refused_with_its_message() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false".to_owned());
    for runtime in runtimes() {
        let out = cli.run(&["--runtime", runtime, "--client-id", "my-app", "status"]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.starts_with("error: the client id \"my-app\" is not a UUID"),
            "{stderr}"
        );
    }
    assert!(fake.requests().is_empty());
}

/// Revocations refused by the server: the logout still removes every token, and
/// says on stderr, once per resource server, which tokens were not revoked and why.
#[test]
fn logout_reports_unrevoked_tokens_once_per_resource_server_on_stderr() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false".to_owned());
    for runtime in runtimes() {
        let base = ["--runtime", runtime, "--refresh-tokens", "--scope", SCOPE];
        let with = |extra: &[&'static str]| -> Vec<&str> {
            base.iter().copied().chain(extra.iter().copied()).collect()
        };
        let mut running = cli.spawn(&with(&["login"]));
        type_the_code(&mut running);
        let (status, stdout, stderr) = running.finish();
        assert!(status.success(), "{runtime}: {stderr}");
        assert_eq!(stdout, "logged in\n");

        // Every revocation fails (a status that is not retried).
        fake.inject_fault(Endpoint::Revoke, Fault::Status(403), 4);
        let out = cli.run(&with(&["logout"]));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{runtime}: {stderr}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "logged out (2 resource servers removed)\n"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{runtime}: {stderr}");
        for (line, rs) in lines.iter().zip(["auth.globus.org", TRANSFER]) {
            assert!(
                line.starts_with(&format!(
                    "warning: {rs}: could not revoke the access token and the refresh token \
                     (Globus Auth answered HTTP 403"
                )),
                "{runtime}: {line}"
            );
            assert!(
                line.ends_with("the tokens were removed from this machine anyway"),
                "{line}"
            );
            assert!(!line.contains("revoking"), "a repeated prefix: {line}");
        }
        assert!(
            !stderr.contains("faAT") && !stderr.contains("faRT"),
            "{stderr}"
        );
        assert_eq!(fake.pending_faults(), 0);
        assert!(
            cli.ok(&with(&["status"]))
                .contains("transfer.api.globus.org: missing")
        );
        // One resource server: the count is singular.
        let mut running = cli.spawn(&["--runtime", runtime, "login"]);
        type_the_code(&mut running);
        assert!(running.finish().0.success());
        assert_eq!(
            cli.ok(&["--runtime", runtime, "logout"]),
            "logged out (1 resource server removed)\n"
        );
    }
}

#[test]
fn request_prints_the_body_as_received_and_one_error_line() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false");
    let service = fake.resource_server_url(TRANSFER);
    let url = format!("{service}v0.10/endpoint_search?filter_fulltext=x");
    let request = |extra: &[&str]| {
        let mut command = cli.command(
            &[
                &[
                    "--client-id",
                    CONFIDENTIAL_CLIENT_ID,
                    "--client-secret",
                    CONFIDENTIAL_CLIENT_SECRET,
                    "--storage",
                    "memory",
                ],
                extra,
            ]
            .concat(),
        );
        command.env("GLOBUS_SDK_SERVICE_URL_TRANSFER", &service);
        command.output().unwrap()
    };
    for runtime in runtimes() {
        // No --scope: Transfer's default scope. The body, exactly as received.
        let out = request(&["--runtime", runtime, "request", TRANSFER, &url]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sent = fake.resource_server_requests(TRANSFER).pop().unwrap();
        let echo: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(echo["path"], "/v0.10/endpoint_search");
        assert_eq!(echo["client_id"], CONFIDENTIAL_CLIENT_ID);
        assert_eq!(sent.status, Some(200));
        assert!(!out.stdout.ends_with(b"\n\n"));
    }
    // A POST with --data from a file.
    let body = dir.path().join("body.json");
    std::fs::write(&body, br#"{"DATA_TYPE": "transfer"}"#).unwrap();
    let data = format!("@{}", body.display());
    let out = request(&["request", "--data", &data, TRANSFER, &url]);
    assert!(out.status.success());
    let echo: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (echo["method"].as_str(), echo["body_length"].as_u64()),
        (Some("POST"), Some(25))
    );

    // An error answer: its body on stdout, one line on stderr, exit 1.
    let not_found = serde_json::json!({"code": "ClientError.NotFound", "message": "No such path"});
    fake.respond_once(TRANSFER, 404, &not_found);
    let out = request(&["request", TRANSFER, &url]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        not_found
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: HTTP 404 ClientError.NotFound: No such path\n"
    );

    // A GARE without --redrive-gares: the typed error, in one line.
    let gare = serde_json::json!({"code": "AuthorizationRequired", "message": "Missing MFA",
        "authorization_parameters": {"session_required_mfa": true}});
    fake.respond_once(TRANSFER, 403, &gare);
    let out = request(&["request", TRANSFER, &url]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: HTTP 403 AuthorizationRequired: Missing MFA"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);

    // Another host: refused, nothing sent there, and no token in the message.
    let before = fake.requests().len();
    let out = request(&["request", TRANSFER, "https://example.com/v0.10/x"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("refusing to send a token"), "{stderr}");
    assert!(!stderr.contains("Bearer"));
    assert_eq!(fake.requests().len(), before);

    // 503 with Retry-After: 1, then 200.
    fake.inject_resource_server_fault(
        TRANSFER,
        Fault::RetryAfter {
            status: 503,
            retry_after: 1,
        },
        1,
    );
    let out = request(&["request", "--method", "DELETE", TRANSFER, &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Vec<_> = fake
        .resource_server_requests(TRANSFER)
        .iter()
        .rev()
        .take(2)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(503)]);
}

/// Two `cli` processes on one shared store: the second finds the first's token.
fn a_shared_store_is_shared_by_processes(url: &str) {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false");
    let run = |command: &[&str]| {
        let mut args = vec![
            "--client-id",
            CONFIDENTIAL_CLIENT_ID,
            "--client-secret",
            CONFIDENTIAL_CLIENT_SECRET,
            "--scope",
            SCOPE,
            "--storage",
            url,
        ];
        args.extend_from_slice(command);
        cli.ok(&args)
    };
    let first = run(&["header", TRANSFER]);
    // Another process finds the token in the store: no second grant.
    let second = run(&["header", TRANSFER]);
    assert_eq!(first, second);
    assert_eq!(fake.token_requests("client_credentials").len(), 1);
    let status = run(&["status"]);
    assert!(
        status.contains("transfer.api.globus.org: valid"),
        "{status}"
    );
    run(&["logout"]);
}

/// A name no other run uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("globus_app_test_{name}_{}_{nanos}", std::process::id())
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn a_redis_storage_is_shared_by_processes() {
    if !cfg!(feature = "redis") {
        panic!("build with --features redis (bash .ci/run does)");
    }
    let base = std::env::var("GLOBUS_APP_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    a_shared_store_is_shared_by_processes(&format!("{base}?prefix={}", unique("cli")));
}

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn a_postgres_storage_is_shared_by_processes() {
    if !cfg!(feature = "postgres") {
        panic!("build with --features postgres (bash .ci/run does)");
    }
    let base = std::env::var("GLOBUS_APP_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    a_shared_store_is_shared_by_processes(&format!("{base}?schema={}", unique("cli")));
}

/// Eight `cli` processes at once on one JSON token file whose token has expired:
/// the file's lease lets one of them renew, and the others read its token.
#[test]
fn eight_processes_on_one_json_file_renew_once() {
    use globus_app::storage::paths::{FileFormat, app_data_dir_in_home, token_file_path};
    use globus_app::storage::{JsonTokenStorage, TokenData, TokenStorage};
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::new(&fake, dir.path(), "false");
    // An expired service-account token in the default file of the app.
    let file = token_file_path(
        &app_data_dir_in_home(&cli.home),
        CONFIDENTIAL_CLIENT_ID,
        "Unnamed Globus App",
        "production",
        FileFormat::Json,
    )
    .unwrap();
    let expired: TokenData = serde_json::from_value(serde_json::json!({
        "resource_server": TRANSFER,
        "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
        "access_token": "EXPIRED-AT",
        "expires_at_seconds": 1_000_000_000,
        "token_type": "Bearer"
    }))
    .unwrap();
    JsonTokenStorage::new(&file)
        .store_token_data("DEFAULT", &[expired])
        .unwrap();
    let args = [
        "--client-id",
        CONFIDENTIAL_CLIENT_ID,
        "--client-secret",
        CONFIDENTIAL_CLIENT_SECRET,
        "--scope",
        SCOPE,
        "header",
        TRANSFER,
    ];
    let children: Vec<_> = (0..8)
        .map(|_| {
            cli.command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let headers: Vec<String> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(
        fake.token_requests("client_credentials").len(),
        1,
        "one renewal for eight processes"
    );
    assert!(
        headers.windows(2).all(|pair| pair[0] == pair[1]),
        "{headers:?}"
    );
    assert!(!headers[0].contains("EXPIRED-AT"));
}
