//! The command-line login flow, driven through injected input and output.

use globus_app_core::redirect::RedirectError;
use globus_app_shell::login::{
    CancelToken, CommandLineLoginFlow, LoginContext, LoginError, LoginFlow,
};
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};

const DEFAULT_REDIRECT: &str = "https://auth.globus.org/v2/web/auth-code";
const AUTHORIZE: &str = "https://auth.globus.org/v2/oauth2/authorize?client_id=C&state=the-state";

/// Output the test can read after the flow wrote it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).expect("utf-8 output")
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs one login with `input` typed by the user; returns the result and the output.
fn run(
    input: &str,
) -> (
    Result<globus_app_core::redirect::RedirectParams, LoginError>,
    String,
) {
    let out = Captured::default();
    let flow = CommandLineLoginFlow::with_io(Cursor::new(input.as_bytes().to_vec()), out.clone());
    let ctx = LoginContext::new("Test App", true, DEFAULT_REDIRECT);
    flow.check(&ctx)
        .expect("native clients need no redirect URI");
    let pending = flow.prepare(&ctx).expect("prepare");
    assert_eq!(pending.redirect_uri(), DEFAULT_REDIRECT);
    let url = url::Url::parse(AUTHORIZE).expect("url");
    let result = pending.wait_for_redirect(&url, "the-state");
    (result, out.text())
}

#[test]
fn a_bare_code_is_accepted() {
    let (result, _) = run("  8gZKXuGhUwLdVcmWexDApm2Ca0Ujpx \n");
    let params = result.expect("code accepted");
    assert!(params.has_code());
    let code = params
        .into_code("the-state")
        .expect("a bare code has no state to check");
    assert_eq!(code.secret(), "8gZKXuGhUwLdVcmWexDApm2Ca0Ujpx");
}

#[test]
fn a_code_without_a_final_newline_is_accepted() {
    let (result, _) = run("abc");
    assert!(result.expect("code").has_code());
}

#[test]
fn output_shows_the_url_between_rules_then_the_prompt() {
    let (_, output) = run("abc\n");
    let banner = "Please authenticate with Globus here:";
    let rule = "-".repeat(banner.len());
    let expected = format!(
        "\n{banner}\n{rule}\n{AUTHORIZE}\n{rule}\n\nEnter the resulting Authorization Code here: "
    );
    assert_eq!(output, expected);
}

#[test]
fn a_pasted_redirect_url_with_the_right_state_is_accepted() {
    let (result, _) =
        run("https://auth.globus.org/v2/web/auth-code?code=pasted-code&state=the-state\n");
    let params = result.expect("pasted URL accepted");
    assert_eq!(params.state(), Some("the-state"));
    let code = params.into_code("the-state").expect("code");
    assert_eq!(code.secret(), "pasted-code");
}

#[test]
fn a_pasted_redirect_url_with_another_state_is_refused() {
    let (result, _) = run("http://localhost:1234/?code=secret-code&state=someone-else\n");
    let err = result.expect_err("wrong state");
    assert!(matches!(
        err,
        LoginError::Redirect(RedirectError::StateMismatch)
    ));
    assert!(!err.to_string().contains("secret-code"));
    assert!(!format!("{err:?}").contains("secret-code"));
}

#[test]
fn a_pasted_redirect_url_without_a_state_is_refused() {
    let (result, _) = run("http://localhost:1234/?code=c\n");
    assert!(matches!(
        result,
        Err(LoginError::Redirect(RedirectError::StateMismatch))
    ));
}

#[test]
fn a_pasted_denial_is_reported() {
    let (result, _) = run(
        "http://localhost:1/?error=access_denied&error_description=No+thanks&state=the-state\n",
    );
    let err = result.expect_err("denied");
    assert!(matches!(
        err,
        LoginError::Redirect(RedirectError::Denied { .. })
    ));
    assert!(err.to_string().contains("No thanks"));
}

#[test]
fn eof_is_a_clear_error() {
    let (result, output) = run("");
    let err = result.expect_err("EOF");
    assert!(matches!(err, LoginError::InputClosed));
    let message = err.to_string();
    assert!(message.contains("standard input closed"), "{message}");
    assert!(message.contains("interactive terminal"), "{message}");
    // The URL was still shown before the read.
    assert!(output.contains(AUTHORIZE));
}

#[test]
fn an_empty_line_is_a_clear_error() {
    for input in ["\n", "   \r\n"] {
        let (result, _) = run(input);
        let err = result.expect_err("empty");
        assert!(matches!(err, LoginError::EmptyInput), "{input:?}: {err:?}");
        assert!(
            err.to_string()
                .contains("no authorization code was entered")
        );
    }
}

#[test]
fn text_that_is_neither_code_nor_url_is_refused_without_echo() {
    let (result, _) = run("my secret words\n");
    let err = result.expect_err("malformed");
    assert!(matches!(
        err,
        LoginError::Redirect(RedirectError::Malformed(_))
    ));
    assert!(!err.to_string().contains("secret words"));
}

#[test]
fn only_the_first_line_is_read_per_login() {
    let out = Captured::default();
    let flow = CommandLineLoginFlow::with_io(Cursor::new(b"first\nsecond\n".to_vec()), out);
    let ctx = LoginContext::new("Test App", true, DEFAULT_REDIRECT);
    let url = url::Url::parse(AUTHORIZE).expect("url");
    for expected in ["first", "second"] {
        let params = flow
            .prepare(&ctx)
            .expect("prepare")
            .wait_for_redirect(&url, "the-state")
            .expect("code");
        assert_eq!(params.into_code("x").expect("code").secret(), expected);
    }
    let third = flow
        .prepare(&ctx)
        .expect("prepare")
        .wait_for_redirect(&url, "the-state");
    assert!(matches!(third, Err(LoginError::InputClosed)));
}

#[test]
fn a_confidential_client_needs_a_configured_redirect() {
    let flow = CommandLineLoginFlow::with_io(std::io::empty(), std::io::sink());
    let ctx = LoginContext::new("Test App", false, DEFAULT_REDIRECT);
    let err = flow.check(&ctx).expect_err("no redirect");
    assert!(matches!(err, LoginError::RedirectUriRequired));
    assert!(err.to_string().contains("redirect URI"));
    let ctx = ctx.with_configured_redirect_uri(Some("https://app.example.org/callback"));
    flow.check(&ctx).expect("configured");
    let pending = flow.prepare(&ctx).expect("prepare");
    assert_eq!(pending.redirect_uri(), "https://app.example.org/callback");
}

#[test]
fn the_flow_is_a_shareable_trait_object() {
    fn assert_shareable<T: Send + Sync + 'static>(_: &T) {}
    let flow: Box<dyn LoginFlow> = Box::new(CommandLineLoginFlow::new());
    assert_shareable(&flow);
    assert!(format!("{flow:?}").contains("CommandLineLoginFlow"));
}

/// An input that fails the test if the flow reads it.
struct Untouched;

impl std::io::Read for Untouched {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("the input was read after the cancel")
    }
}

#[test]
fn a_cancelled_wait_neither_prompts_nor_reads() {
    let out = Captured::default();
    let flow = CommandLineLoginFlow::with_io(std::io::BufReader::new(Untouched), out.clone());
    let ctx = LoginContext::new("Test App", true, DEFAULT_REDIRECT);
    let pending = flow.prepare(&ctx).expect("prepare");
    let cancel = CancelToken::new();
    cancel.cancel();
    let url = url::Url::parse(AUTHORIZE).expect("url");
    let result = pending.wait_for_redirect_with_cancel(&url, "the-state", &cancel);
    assert!(matches!(result, Err(LoginError::Cancelled)), "{result:?}");
    assert_eq!(out.text(), "");
}
