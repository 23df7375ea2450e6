//! Testing your own code against a fake Globus Auth: a small function of a user's
//! program (log in when needed, call Transfer, answer a Globus Auth Requirements
//! Error by logging in again as it asks), and its tests on the blocking and tokio
//! runtimes with `globus-app-testing`. No internet, no Globus account, no
//! environment variable: the tests run in parallel in one process.
//!
//! ```sh
//! cargo run --example testing                            # runs the function against a fake
//! cargo test --example testing --features tokio          # its tests
//! ```

use globus_app::blocking::{ServiceClient, UserApp};
use globus_app::{Error, ScopeRequirements};
use serde_json::Value;

/// The user's function: the Transfer tasks of whoever is logged in. A GARE (a
/// collection that needs a session from a given domain, say) is answered once by
/// logging in with its parameters, then the call is made again.
pub fn recent_tasks(app: &UserApp) -> Result<Value, Error> {
    let transfer = ServiceClient::transfer(app.clone())?;
    let response = match transfer.get("v0.10/task_list?limit=10") {
        Err(error) if error.authorization_parameters().is_some() => {
            app.login(error.authorization_parameters().cloned(), true)?;
            transfer.get("v0.10/task_list?limit=10")?
        }
        other => other?,
    };
    response.json()
}

/// The same function for tokio.
#[cfg(feature = "tokio")]
pub async fn recent_tasks_async(app: &globus_app::tokio::UserApp) -> Result<Value, Error> {
    let transfer = globus_app::tokio::ServiceClient::transfer(app.clone())?;
    let response = match transfer.get("v0.10/task_list?limit=10").await {
        Err(error) if error.authorization_parameters().is_some() => {
            app.login(error.authorization_parameters().cloned(), true)
                .await?;
            transfer.get("v0.10/task_list?limit=10").await?
        }
        other => other?,
    };
    response.json()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use globus_app_testing::{FakeAuth, ScriptedBrowser};
    let fake = FakeAuth::start();
    let browser = ScriptedBrowser::new();
    let app = UserApp::new(
        "Testing Example",
        fake.native_client(),
        ScopeRequirements::new(),
        fake.app_config(&browser),
    )?;
    let tasks = recent_tasks(&app)?;
    println!(
        "the stand-in Transfer answered {} for {}",
        tasks["path"], tasks["username"]
    );
    println!(
        "logins through the scripted browser: {}",
        browser.visits().len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use globus_app_testing::{
        Endpoint, FakeAuth, ResourceServerConfig, ScriptedBrowser, SessionRequirement,
    };

    const TRANSFER: &str = "transfer.api.globus.org";

    fn app(fake: &FakeAuth, browser: &ScriptedBrowser) -> UserApp {
        UserApp::new(
            "My Tool",
            fake.native_client(),
            ScopeRequirements::new(),
            fake.app_config(browser),
        )
        .expect("the app builds")
    }

    #[test]
    fn the_first_call_logs_in_through_the_browser() {
        let fake = FakeAuth::start();
        let browser = ScriptedBrowser::new();
        let tasks = recent_tasks(&app(&fake, &browser)).expect("tasks");
        assert_eq!(tasks["path"], "/v0.10/task_list");
        assert_eq!(tasks["username"], "alice@example.org");
        let visits = browser.visits();
        assert_eq!(visits.len(), 1);
        assert!(
            visits[0].page.contains("Login successful"),
            "{}",
            visits[0].page
        );
    }

    #[test]
    fn a_session_requirement_is_met_by_one_more_login() {
        let fake = FakeAuth::start();
        let browser = ScriptedBrowser::new();
        let app = app(&fake, &browser);
        recent_tasks(&app).expect("first call");
        fake.configure_resource_server(
            TRANSFER,
            ResourceServerConfig::new()
                .require_session(SessionRequirement::SingleDomain("example.edu".into())),
        );
        recent_tasks(&app).expect("the GARE is answered");
        let logins = fake.requests_to(Endpoint::Authorize);
        assert_eq!(logins.len(), 2);
        assert_eq!(
            logins[1].query_value("session_required_single_domain"),
            Some("example.edu")
        );
        let statuses: Vec<_> = fake
            .resource_server_requests(TRANSFER)
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [Some(200), Some(403), Some(200)]);
    }

    #[test]
    fn a_user_who_declines_gets_an_error_not_a_hang() {
        let fake = FakeAuth::start();
        fake.set_authorize_behavior(globus_app_testing::AuthorizeBehavior::Deny(
            "access_denied".into(),
        ));
        let browser = ScriptedBrowser::new();
        let error = recent_tasks(&app(&fake, &browser)).unwrap_err();
        assert!(error.to_string().contains("access_denied"), "{error}");
        assert!(fake.resource_server_requests(TRANSFER).is_empty());
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn on_tokio_too_with_a_refresh_after_the_clock_jumps() {
        let fake = FakeAuth::start();
        let browser = ScriptedBrowser::new();
        let app = globus_app::tokio::UserApp::new(
            "My Tool",
            fake.native_client(),
            ScopeRequirements::new(),
            fake.app_config(&browser).request_refresh_tokens(true),
        )
        .expect("the app builds");
        recent_tasks_async(&app).await.expect("first call");
        // Two days and a bit later the token has expired: one refresh, no login.
        fake.advance(2 * 86_400 + 60);
        recent_tasks_async(&app).await.expect("after the jump");
        assert_eq!(fake.token_requests("refresh_token").len(), 1);
        assert_eq!(browser.visits().len(), 1);
    }
}
