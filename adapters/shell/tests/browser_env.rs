//! The local-server flow with the real system-browser path: `$BROWSER` names a
//! script that plays the browser.
//!
//! The `webbrowser` crate reads `BROWSER` from the real process environment, and
//! this crate forbids the `unsafe` that `std::env::set_var` needs in edition 2024.
//! So the parent test re-runs this test binary as a child process, filtered to the
//! single test [`child_logs_in_through_the_browser_script`] (`--exact`), with
//! `BROWSER` set for that child only. That test does nothing unless the guard
//! variable [`CHILD_GUARD`] is set, so in the normal run it passes at once.
//!
//! The script receives the authorize URL as `$1`, takes `redirect_uri` and `state`
//! from it and GETs `{redirect_uri}/?code=…&state=…` with python3's urllib, like a
//! browser following Globus Auth's redirect. It writes the landing page it got into
//! a FIFO that the child reads: a blocking open and read, so no sleep or polling
//! is needed to wait for the script, which `webbrowser` runs in the background.
#![cfg(unix)]

use globus_app_core::oauth::{AuthorizeRequest, Exchange as _};
use globus_app_core::{AuthService, OAuthClient};
use globus_app_shell::login::{LocalServerLoginFlow, LoginContext, LoginFlow};
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// Set (to the FIFO's path) only in the child process.
const CHILD_GUARD: &str = "GLOBUS_APP_SHELL_TEST_BROWSER_FIFO";
const CHILD_TEST: &str = "child_logs_in_through_the_browser_script";
/// Generous bounds; a working run takes well under a second.
const GENEROUS: Duration = Duration::from_secs(60);

const BROWSER_PY: &str = r#"
import sys, urllib.parse, urllib.request
authorize_url, fifo = sys.argv[1], sys.argv[2]
try:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    target = query["redirect_uri"] + "/?" + urllib.parse.urlencode(
        {"code": "code-from-script", "state": query["state"]})
    # No proxy: the redirect goes to this machine's loopback listener.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(target, timeout=30) as response:
        page = response.read().decode("utf-8")
except Exception as error:
    page = "BROWSER SCRIPT ERROR: %r" % (error,)
with open(fifo, "w") as out:
    out.write(page)
"#;

fn write_browser_script(dir: &Path, fifo: &Path) -> std::path::PathBuf {
    let py = dir.join("browser.py");
    std::fs::write(&py, BROWSER_PY).expect("write browser.py");
    let script = dir.join("fake-browser");
    let body = format!(
        "#!/bin/sh\nexec python3 '{}' \"$1\" '{}'\n",
        py.display(),
        fifo.display()
    );
    std::fs::write(&script, body).expect("write the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

#[test]
#[ignore = "needs python3 to play the browser; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn browser_env_script_completes_a_local_server_login() {
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "this test needs python3 on PATH to play the browser"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("page.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let script = write_browser_script(dir.path(), &fifo);

    let exe = std::env::current_exe().expect("the test binary");
    let child = Command::new(exe)
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env("BROWSER", &script)
        .env(CHILD_GUARD, &fifo)
        // Whatever session runs the tests, the child is "local".
        .env_remove("SSH_TTY")
        .env_remove("SSH_CONNECTION")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success(),
        "child failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test\n--- stdout\n{stdout}"
    );
    assert!(
        stdout.contains("CHILD: login completed through $BROWSER"),
        "{stdout}"
    );
}

/// Runs only in the child process spawned above.
#[test]
fn child_logs_in_through_the_browser_script() {
    let Some(fifo) = std::env::var_os(CHILD_GUARD) else {
        return; // the normal test run: nothing to do here
    };
    // Read the page the script writes, in the background: opening a FIFO blocks
    // until the script opens it.
    let (page_tx, page_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut page = String::new();
        let read = std::fs::File::open(&fifo).and_then(|mut f| f.read_to_string(&mut page));
        let _ = page_tx.send(read.map(|_| page));
    });

    // The system-browser path: the process environment, webbrowser::open.
    let flow = LocalServerLoginFlow::new().timeout(GENEROUS);
    let ctx = LoginContext::new(
        "Browser Env Test",
        true,
        "https://auth.globus.org/v2/web/auth-code",
    );
    flow.check(&ctx).expect("check");
    let pending = flow
        .prepare(&ctx)
        .expect("prepare: no SSH, BROWSER is not a text browser");
    let attempt = AuthorizeRequest::new(
        AuthService::production(),
        OAuthClient::native("CLIENT"),
        pending.redirect_uri(),
        "openid",
    )
    .start(&[9; 48]);
    let params = pending
        .wait_for_redirect(attempt.authorize_url(), attempt.state())
        .expect("the script delivered the redirect");
    let grant = attempt.complete(params).expect("state matches");
    let form = String::from_utf8(grant.request().body().to_vec()).expect("form");
    assert!(form.contains("code=code-from-script"), "{form}");

    let page = page_rx
        .recv_timeout(GENEROUS)
        .expect("the script wrote the page")
        .expect("read the FIFO");
    assert!(page.contains("Login successful"), "{page}");
    assert!(page.contains("Browser Env Test"), "{page}");
    println!("CHILD: login completed through $BROWSER");
}
