//! The `cli` example against the fake Globus Auth, as a user runs it: a real process
//! with `GLOBUS_SDK_SERVICE_URL_AUTH`, `HOME` and a `BROWSER` program that fetches the
//! URL it is given; once with each runtime adapter (`--runtime`) this build has.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_fake_auth::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, FakeAuth, NATIVE_CLIENT_ID,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCOPE: &str = "transfer.api.globus.org=urn:globus:auth:scope:transfer.api.globus.org:all";

fn cli_path() -> PathBuf {
    // Examples are built by `cargo test` next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("cli{}", std::env::consts::EXE_SUFFIX))
}

fn browser_script(dir: &Path) -> PathBuf {
    let path = dir.join("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nexec python3 -c 'import sys, urllib.request; \
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1]).read()' \"$1\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

struct Cli<'a> {
    fake: &'a FakeAuth,
    home: PathBuf,
    browser: PathBuf,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(cli_path())
            .args(args)
            .env("HOME", &self.home)
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", self.fake.base_url())
            .env("BROWSER", &self.browser)
            .env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID)
            .env_remove("GLOBUS_CLIENT_SECRET")
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .env_remove("SSH_TTY")
            .env_remove("SSH_CONNECTION")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }
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
    let cli = Cli {
        fake: &fake,
        home: dir.path().join("home"),
        browser: browser_script(dir.path()),
    };
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
        assert!(
            cli.ok(&with(&["logout"]))
                .starts_with("logged out (2 resource servers removed)")
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
    let cli = Cli {
        fake: &fake,
        home: dir.path().join("home"),
        browser: dir.path().join("no-browser"),
    };
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
