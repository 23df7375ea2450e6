//! The examples written for the real Globus Auth, run against the fake one: they read
//! `GLOBUS_SDK_SERVICE_URL_AUTH` like the Python SDK, so the same binaries log in,
//! print redacted headers, and say clearly what is missing.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
    client,
};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn example_path(name: &str) -> PathBuf {
    // Examples are built by `cargo test` next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// A command for an example, in a clean environment pointed at `fake`.
fn example(name: &str, fake: &FakeAuth, home: &Path) -> Command {
    let mut command = Command::new(example_path(name));
    command
        .env("HOME", home)
        .env("GLOBUS_SDK_SERVICE_URL_AUTH", fake.base_url())
        .env_remove("GLOBUS_CLIENT_ID")
        .env_remove("GLOBUS_CLIENT_SECRET")
        .env_remove("GLOBUS_SDK_ENVIRONMENT")
        .env_remove("SSH_TTY")
        .env_remove("SSH_CONNECTION");
    command
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// No line shows more of a token than its last four characters.
fn assert_redacted(text: &str, fake_token_prefix: &str) {
    assert!(!text.contains(fake_token_prefix), "a token leaked:\n{text}");
}

#[test]
fn each_example_says_what_it_needs() {
    let fake = FakeAuth::start();
    let home = tempfile::tempdir().unwrap();
    for name in ["login", "client_app", "custom_storage", "custom_login_flow"] {
        let out = example(name, &fake, home.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("GLOBUS_CLIENT_ID"), "{name}: {stderr}");
        assert!(
            stderr.contains("https://app.globus.org/settings/developers"),
            "{name}: {stderr}"
        );
    }
    // A client id without a secret is not enough for the service account.
    let out = example("client_app", &fake, home.path())
        .env("GLOBUS_CLIENT_ID", CONFIDENTIAL_CLIENT_ID)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("GLOBUS_CLIENT_SECRET")
    );
    assert!(fake.requests().is_empty());
}

#[cfg(unix)]
fn browser_script(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nexec python3 -c 'import sys, urllib.request; \
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1]).read()' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(unix)]
#[test]
#[ignore = "needs python3 to play the browser; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn login_example_logs_in_once_then_reuses_the_file() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let browser = browser_script(dir.path());
    let run = |args: &[&str]| {
        ok(example("login", &fake, &home)
            .env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID)
            .env("BROWSER", &browser)
            .args(args)
            .output()
            .unwrap())
    };
    let first = run(&["--local-server"]);
    assert!(first.contains("Authorization: Bearer …"), "{first}");
    assert!(
        first.contains(&format!("identity id:   {}", fake.user().id)),
        "{first}"
    );
    let file = home
        .join(".globus/app")
        .join(NATIVE_CLIENT_ID)
        .join("login-example/tokens.json");
    assert!(
        first.contains(&format!("token file:    {}", file.display())),
        "{first}"
    );
    assert!(file.exists());
    assert_redacted(&first, "faAT");
    assert_eq!(fake.requests_to(Endpoint::Authorize).len(), 1);
    // The refresh token was asked for.
    assert_eq!(
        fake.requests_to(Endpoint::Authorize)[0].query_value("access_type"),
        Some("offline")
    );

    let second = run(&["--local-server"]);
    assert_eq!(
        fake.requests_to(Endpoint::Authorize).len(),
        1,
        "no second login"
    );
    assert_eq!(
        first.lines().next(),
        second.lines().next(),
        "same token from the file"
    );

    let out = run(&["--logout"]);
    assert!(
        out.starts_with("logged out; removed tokens for: auth.globus.org, transfer.api.globus.org"),
        "{out}"
    );
    assert_eq!(fake.requests_to(Endpoint::Revoke).len(), 4);
}

#[test]
fn client_app_example_makes_one_grant_for_all_workers() {
    let fake = FakeAuth::start();
    let home = tempfile::tempdir().unwrap();
    let out = ok(example("client_app", &fake, home.path())
        .env("GLOBUS_CLIENT_ID", CONFIDENTIAL_CLIENT_ID)
        .env("GLOBUS_CLIENT_SECRET", CONFIDENTIAL_CLIENT_SECRET)
        .output()
        .unwrap());
    assert!(out.starts_with("Authorization: Bearer …"), "{out}");
    for i in 0..4 {
        assert!(out.contains(&format!("worker {i}: Bearer …")), "{out}");
    }
    assert_redacted(&out, "faAT");
    assert_eq!(fake.token_requests("client_credentials").len(), 1);
    assert!(
        !home.path().join(".globus").exists(),
        "memory storage writes no file"
    );

    // Another resource server through --scope.
    let out = ok(example("client_app", &fake, home.path())
        .env("GLOBUS_CLIENT_ID", CONFIDENTIAL_CLIENT_ID)
        .env("GLOBUS_CLIENT_SECRET", CONFIDENTIAL_CLIENT_SECRET)
        .args([
            "--scope",
            "groups.api.globus.org=urn:globus:auth:scope:groups.api.globus.org:all",
        ])
        .output()
        .unwrap());
    assert!(out.contains("worker 3: Bearer …"), "{out}");
    let grants = fake.token_requests("client_credentials");
    assert_eq!(grants.len(), 2);
    assert!(
        grants[1]
            .form_value("scope")
            .unwrap()
            .contains("groups.api.globus.org:all")
    );
}

#[test]
fn custom_storage_example_passes_conformance_and_audits_a_login() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = ok(example("custom_storage", &fake, &home)
        .arg("--self-test")
        .output()
        .unwrap());
    assert!(out.contains("passes the TokenStorage conformance suite"));

    // A login on the command line: the test reads the URL the example prints, plays
    // the browser, and types the code.
    let audit = dir.path().join("audit.log");
    let mut command = example("custom_storage", &fake, &home);
    command
        .env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID)
        .args(["--audit-log", audit.to_str().unwrap()]);
    let printed = command_line_login(command);
    assert_eq!(printed.matches("got a header of").count(), 3, "{printed}");

    let log = std::fs::read_to_string(&audit).unwrap();
    let ops: Vec<&str> = log.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    // One read at start (nothing found), one store after the login, the close; the
    // three headers come from the app's memory.
    assert_eq!(
        ops.iter()
            .filter(|op| op.starts_with("get") || **op == "load")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains(" load ns=DEFAULT found 0"), "{log}");
    assert_eq!(ops.iter().filter(|op| **op == "store").count(), 1, "{log}");
    assert_eq!(ops.last(), Some(&"close"), "{log}");
    assert!(log.contains("transfer.api.globus.org scope="), "{log}");
    assert!(log.contains(&fake.user().id), "{log}");
    assert_redacted(&log, "faAT");
    assert_redacted(&log, "faRT");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn custom_login_flow_example_hands_off_through_files() {
    let fake = FakeAuth::start();
    let dir = tempfile::tempdir().unwrap();
    let handoff = dir.path().join("handoff");
    let child = example("custom_login_flow", &fake, &dir.path().join("home"))
        .env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID)
        .args(["--dir", handoff.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The "user": waits for the URL file, logs in, writes the redirect URL back.
    let url_file = handoff.join("login-url.txt");
    let started = Instant::now();
    let url = loop {
        if let Ok(text) = std::fs::read_to_string(&url_file)
            && text.ends_with('\n')
        {
            break text.trim().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no URL file");
        std::thread::sleep(Duration::from_millis(20));
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&handoff).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    let responses = client::browse(&url).unwrap();
    let location = responses[0].location().unwrap();
    assert!(location.contains("state="), "{location}");
    std::fs::write(handoff.join("login-code"), format!("{location}\n")).unwrap();

    let out = ok(child.wait_with_output().unwrap());
    assert!(
        out.starts_with("Globus login needed: open the URL in "),
        "{out}"
    );
    assert!(
        out.contains(&format!("logged in as identity {}", fake.user().id)),
        "{out}"
    );
    assert!(!url_file.exists() && !handoff.join("login-code").exists());
    let exchange = &fake.token_requests("authorization_code")[0];
    assert_eq!(
        exchange.form_value("redirect_uri").unwrap(),
        fake.url("v2/web/auth-code")
    );
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_service_example_shares_one_grant() {
    let fake = FakeAuth::start();
    let home = tempfile::tempdir().unwrap();
    let out = example("tokio_service", &fake, home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "needs its credentials");
    let out = ok(example("tokio_service", &fake, home.path())
        .env("GLOBUS_CLIENT_ID", CONFIDENTIAL_CLIENT_ID)
        .env("GLOBUS_CLIENT_SECRET", CONFIDENTIAL_CLIENT_SECRET)
        .output()
        .unwrap());
    for job in 0..8 {
        assert!(out.contains(&format!("job {job}: Bearer …")), "{out}");
    }
    assert!(out.contains("8 jobs served in "), "{out}");
    assert_redacted(&out, "faAT");
    assert_eq!(fake.token_requests("client_credentials").len(), 1);
}

/// Runs a command-line login: reads the URL the child prints on stderr, plays the
/// browser, types the code; returns what the child printed on stdout, which holds
/// nothing of the login's prompt.
fn command_line_login(mut command: Command) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout_pipe = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout_pipe, &mut text).unwrap();
        text
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut told = String::new();
    let url = loop {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "no URL:\n{told}");
        told.push_str(&line);
        if line.contains("/v2/oauth2/authorize?") {
            break line.trim().to_owned();
        }
    };
    let responses = client::browse(&url).unwrap();
    let (code, _) = client::code_from_redirect(&responses[0]).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{code}").unwrap();
    drop(stdin);
    std::io::Read::read_to_string(&mut stderr, &mut told).unwrap();
    let status = child.wait().unwrap();
    let printed = stdout.join().unwrap();
    assert!(status.success(), "{printed}\n{told}");
    assert!(
        told.contains("Enter the resulting Authorization Code here: "),
        "{told}"
    );
    assert!(!printed.contains("/v2/oauth2/authorize?"), "{printed}");
    printed
}

#[cfg(feature = "async-std")]
#[test]
fn async_std_example_logs_in_once() {
    let fake = FakeAuth::start();
    let home = tempfile::tempdir().unwrap();
    let run = || {
        let mut command = example("async_std_app", &fake, home.path());
        command.env("GLOBUS_CLIENT_ID", NATIVE_CLIENT_ID);
        command
    };
    let first = command_line_login(run());
    assert!(
        first.contains(&format!("identity id: {}", fake.user().id)),
        "{first}"
    );
    for task in 0..3 {
        assert!(first.contains(&format!("task {task}: Bearer …")), "{first}");
    }
    assert_redacted(&first, "faAT");
    assert_eq!(fake.requests_to(Endpoint::Authorize).len(), 1);
    // The next run reuses the stored tokens: no prompt, no login.
    let second = ok(run().stdin(Stdio::null()).output().unwrap());
    assert!(second.contains("task 2: Bearer …"), "{second}");
    assert_eq!(fake.requests_to(Endpoint::Authorize).len(), 1);
}

/// `transfer_ls` (and its tokio twin) against the stand-in Transfer: the listing's
/// request carries the service account's token to the configured host only, and
/// the answer is printed one entry per line.
#[test]
fn transfer_ls_lists_a_directory_through_a_service_client() {
    let fake = FakeAuth::start();
    let home = tempfile::tempdir().unwrap();
    let transfer = fake.resource_server_url("transfer.api.globus.org");
    let mut names = vec!["transfer_ls"];
    if cfg!(feature = "tokio") {
        names.push("transfer_ls_tokio");
    }
    for name in names {
        let listing = serde_json::json!({"DATA_TYPE": "file_list", "DATA": [
            {"name": "data", "type": "dir", "size": 4096},
            {"name": "a b.txt", "type": "file", "size": 12}]});
        fake.respond_once("transfer.api.globus.org", 200, &listing);
        let out = example(name, &fake, home.path())
            .env("GLOBUS_CLIENT_ID", CONFIDENTIAL_CLIENT_ID)
            .env("GLOBUS_CLIENT_SECRET", CONFIDENTIAL_CLIENT_SECRET)
            .env("GLOBUS_SDK_SERVICE_URL_TRANSFER", &transfer)
            .args(["6c54cade-bde5-45c1-bdea-f4bd71dba2cc", "/~/my dir/"])
            .output()
            .unwrap();
        let stdout = ok(out);
        assert_eq!(
            stdout, "dir           4096  data/\nfile            12  a b.txt\n",
            "{name}"
        );
        let sent = fake
            .resource_server_requests("transfer.api.globus.org")
            .pop()
            .unwrap();
        assert_eq!(
            sent.path,
            "/v0.10/operation/endpoint/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/ls"
        );
        assert!(
            sent.query.contains(&("path".into(), "/~/my dir/".into())),
            "{:?}",
            sent.query
        );
        assert!(
            matches!(sent.auth, globus_app_testing::AuthScheme::Bearer(_)),
            "{:?}",
            sent.auth
        );
    }
}
