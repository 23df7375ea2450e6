//! The README's first command, `cargo run --example quickstart`, as a newcomer runs it:
//! it exits 0, prints every step, shows no token, and leaves nothing behind.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn example_path(name: &str) -> PathBuf {
    // Examples are built by `cargo test` next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn quickstart_runs_every_step_and_cleans_up() {
    let started = Instant::now();
    let out = Command::new(example_path("quickstart"))
        // An SSH session or a text browser must not stop it: it plays the browser.
        .env("SSH_TTY", "/dev/pts/9")
        .env("BROWSER", "lynx")
        .env_remove("GLOBUS_SDK_SERVICE_URL_AUTH")
        .env_remove("GLOBUS_SDK_ENVIRONMENT")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );

    for (n, needle) in [
        (1, "Started a fake Globus Auth at http://127.0.0.1:"),
        (2, "Tokens will be kept in a JSON file"),
        (3, "Logging in with the local-server flow"),
        (4, "Authorization header for transfer.api.globus.org"),
        (5, "the access token has expired"),
        (6, "A second UserApp"),
        (7, "A ClientApp"),
        (8, "Logout revokes the tokens"),
        (9, "Removed "),
    ] {
        let line = format!("{n}. ");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.contains(needle)),
            "step {n} ({needle}) missing:\n{stdout}"
        );
    }
    for needle in [
        "plays the browser itself",
        "Login successful",
        "1 authorize page visit and 1 token request",
        "renewed with the refresh token: 1 refresh request, 1 login in total",
        "same header: yes; logins: 0, requests to the server: 0",
        "1 client_credentials request",
        "the server got 4 revocation requests",
        "the last header is now inactive",
        "tokens left in the file: 0",
        "(exists now: false)",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }

    // Headers are redacted: no "Bearer" is followed by a whole token.
    for line in stdout.lines().filter(|l| l.contains("Bearer ")) {
        assert!(line.contains("Bearer …"), "unredacted: {line}");
        assert!(line.contains("characters hidden"), "{line}");
    }

    // The temporary directory it printed is gone.
    let dir = stdout
        .lines()
        .find_map(|l| l.strip_prefix("9. Removed "))
        .and_then(|rest| rest.split(" (exists now").next())
        .unwrap();
    assert!(!Path::new(dir).exists(), "{dir} left behind");
    let file = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("tokens.json"))
        .unwrap();
    assert!(file.starts_with(dir), "{file} is not under {dir}");
}

/// `RUST_LOG=globus_app=debug` shows each request, storage step and decision of the
/// library, inside a span per operation, and no secret.
#[test]
fn quickstart_logs_every_request_and_decision_without_a_secret() {
    let out = Command::new(example_path("quickstart"))
        .env("SSH_TTY", "/dev/pts/9")
        .env("BROWSER", "lynx")
        .env("RUST_LOG", "globus_app=debug")
        .env_remove("GLOBUS_SDK_SERVICE_URL_AUTH")
        .env_remove("GLOBUS_SDK_ENVIRONMENT")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8(out.stderr).unwrap();
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    // Logins, the refresh after expiry, revocations: every request one line.
    assert!(count("request sent") >= 6, "{log}");
    assert!(count("storage step") >= 10, "{log}");
    assert!(count("renewing the access token") >= 1, "{log}");
    assert!(count("starting a login") >= 1, "{log}");
    assert!(count("operation done") >= 5, "{log}");
    assert!(log.lines().all(|l| l.contains("operation{op=")), "{log}");
    // The fake's tokens and codes are recognisable by their shape; none shows.
    for secret_shape in [
        "Bearer ",
        "refresh_token=",
        "code_verifier",
        "client_secret",
    ] {
        assert!(!log.contains(secret_shape), "{secret_shape} in:\n{log}");
    }
}
