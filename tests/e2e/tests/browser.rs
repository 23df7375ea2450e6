//! The local-server login's landing page in a real browser: headless Chromium opens
//! the authorize URL at the fake Globus Auth, follows its redirect to the app's
//! loopback listener, and the test reads the page Chromium rendered (`--dump-dom`).
//! One run per outcome: a login, a denied consent, a redirect with another `state`.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::login::LoginMessage;
use globus_app_blocking::{LocalServerLoginFlow, LoginFlowChoice};
use globus_app_e2e::{Backend, World};
use globus_app_testing::AuthorizeBehavior;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn chromium() -> String {
    std::env::var("GLOBUS_APP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// A flow whose browser is headless Chromium; the page it rendered goes to `dom`.
/// With `other_state`, the authorize URL's `state` is changed first, so the redirect
/// carries a state this login did not make.
fn chromium_flow(
    dom: &Arc<Mutex<String>>,
    other_state: bool,
    timeout: Duration,
) -> LocalServerLoginFlow {
    let dom = Arc::clone(dom);
    LocalServerLoginFlow::new()
        .timeout(timeout)
        .feedback(|_: &LoginMessage<'_>| Ok(()))
        .open_with(move |url| {
            let mut url = url.clone();
            if other_state {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "state" {
                            "not-this-login".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            let profile = tempfile::tempdir()?;
            let out = Command::new(chromium())
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg("--dump-dom")
                .arg(url.as_str())
                .output()?;
            *dom.lock().unwrap() = String::from_utf8_lossy(&out.stdout).into_owned();
            Ok(())
        })
}

fn login(w: &World, flow: LocalServerLoginFlow) -> Result<(), globus_app_core::app::Error> {
    let app = w.user_app::<globus_app_e2e::Blocking>(
        w.config()
            .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
    );
    app.login(None, true)
}

#[test]
#[ignore = "needs Chromium (/usr/bin/chromium, or $GLOBUS_APP_CHROMIUM); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn a_login_shows_the_success_page_in_chromium() {
    let w = World::new(Backend::Memory);
    let dom = Arc::new(Mutex::new(String::new()));
    login(&w, chromium_flow(&dom, false, Duration::from_secs(60))).unwrap();
    let page = dom.lock().unwrap().clone();
    assert!(
        page.contains("<title>Login successful - E2E App</title>"),
        "{page}"
    );
    assert_eq!(page.matches("<h1>").count(), 1, "{page}");
    assert!(page.contains("You may close this tab"), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert_eq!(w.fake.token_requests("authorization_code").len(), 1);
}

#[test]
#[ignore = "needs Chromium (/usr/bin/chromium, or $GLOBUS_APP_CHROMIUM); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn a_denied_consent_shows_the_failure_page_in_chromium() {
    let w = World::new(Backend::Memory);
    w.fake.set_authorize_behavior(AuthorizeBehavior::Deny(
        "The user declined <the> consent".into(),
    ));
    let dom = Arc::new(Mutex::new(String::new()));
    let error = login(&w, chromium_flow(&dom, false, Duration::from_secs(60))).unwrap_err();
    assert!(error.to_string().contains("declined"), "{error}");
    let page = dom.lock().unwrap().clone();
    assert!(page.contains("<h1>Login failed</h1>"), "{page}");
    // The description is shown escaped, with what to do next.
    assert!(
        page.contains("The user declined &lt;the&gt; consent"),
        "{page}"
    );
    assert!(page.contains("try again"), "{page}");
    assert!(!page.contains("<script"), "{page}");
}

#[test]
#[ignore = "needs Chromium (/usr/bin/chromium, or $GLOBUS_APP_CHROMIUM); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn a_redirect_with_another_state_is_not_this_login() {
    let w = World::new(Backend::Memory);
    let dom = Arc::new(Mutex::new(String::new()));
    let error = login(&w, chromium_flow(&dom, true, Duration::from_secs(3))).unwrap_err();
    // The listener did not take it: the login kept waiting, and ended at its timeout.
    assert!(
        error.to_string().contains("no login redirect arrived"),
        "{error}"
    );
    let page = dom.lock().unwrap().clone();
    assert!(page.contains("Not Found"), "{page}");
    assert!(!page.contains("Login successful"), "{page}");
    assert!(
        w.fake.token_requests("authorization_code").is_empty(),
        "no code exchanged"
    );
}
