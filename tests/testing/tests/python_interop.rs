//! The reference client against the fake server: the Python globus-sdk 4.10 logs in
//! (verifying the id_token's RS256 signature with the published JWKs), refreshes,
//! reads the consent forest, revokes, runs a whole `UserApp`, and uses client
//! credentials, all against an in-process [`FakeAuth`] (`tests/python/against_fake.py`).
//!
//! Runs `$GLOBUS_APP_PYTHON` (else `python3`). Ignored by a plain `cargo test`;
//! `cargo test -- --ignored` runs it and fails, saying why, if that Python cannot
//! import `globus_sdk`.

use std::path::{Path, PathBuf};
use std::process::Command;

use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, Endpoint, FakeAuth, NATIVE_CLIENT_ID,
};

fn python() -> PathBuf {
    let python =
        PathBuf::from(std::env::var_os("GLOBUS_APP_PYTHON").unwrap_or_else(|| "python3".into()));
    let why = match Command::new(&python)
        .args(["-c", "import globus_sdk; print(globus_sdk.__version__)"])
        .output()
    {
        Ok(out) if out.status.success() => return python,
        Ok(out) => format!(
            "it cannot import globus_sdk ({})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        ),
        Err(e) => format!("it cannot be run: {e}"),
    };
    panic!(
        "the Python interop test needs {} with globus-sdk 4.10 ($GLOBUS_APP_PYTHON), but {why}",
        python.display()
    );
}

#[test]
#[ignore = "needs Python with globus-sdk 4.10 ($GLOBUS_APP_PYTHON, else python3); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn python_globus_sdk_works_against_the_fake() {
    let python = python();
    let fake = FakeAuth::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/against_fake.py");
    let dependent =
        "https://auth.globus.org/scopes/11111111-2222-4333-8444-555555555555/data_access";
    let output = Command::new(&python)
        .arg(&script)
        .args([
            fake.base_url(),
            NATIVE_CLIENT_ID,
            CONFIDENTIAL_CLIENT_ID,
            CONFIDENTIAL_CLIENT_SECRET,
            dependent,
        ])
        .env_remove("GLOBUS_SDK_ENVIRONMENT")
        // a proxy from the environment must not intercept 127.0.0.1
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python SDK failed against the fake:\n{stdout}\n{stderr}\nlog: {:#?}",
        fake.requests()
    );
    for check in [
        "ok: native login with PKCE; id_token signature verified",
        "ok: consent forest meets the dependent scope",
        "ok: revoked refresh token is invalid_grant",
        "ok: UserApp login and authorizer",
        "ok: client credentials and introspection",
    ] {
        assert!(stdout.contains(check), "missing {check:?} in:\n{stdout}");
    }
    // The reference fetched the OpenID configuration and the JWKs to verify the token.
    assert!(!fake.requests_to(Endpoint::OpenidConfiguration).is_empty());
    assert!(!fake.requests_to(Endpoint::Jwks).is_empty());
}
