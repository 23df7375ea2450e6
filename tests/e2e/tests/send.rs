//! Compile-time checks that the async adapters' apps can be shared between tasks
//! (`Send + Sync + Clone + 'static`) and that every future they return is `Send`,
//! so it can be spawned on a multi-threaded executor. Written once, checked for
//! both async adapters; the test passes when this file compiles.

fn assert_send<T: Send>(_: &T) {}
fn assert_shareable<T: Send + Sync + Clone + 'static>() {}

macro_rules! futures_are_send {
    ($module:ident, $adapter:ident) => {
        mod $module {
            use super::{assert_send, assert_shareable};
            use $adapter::{ClientApp, UserApp};

            #[allow(dead_code, unused_must_use, clippy::let_underscore_future)]
            fn checks(user: &UserApp, client: &ClientApp) {
                assert_shareable::<UserApp>();
                assert_shareable::<ClientApp>();
                assert_send(&user.get_authorizer("rs"));
                assert_send(&user.authorization_header("rs"));
                assert_send(&user.login(None, false));
                assert_send(&user.login_required());
                assert_send(&user.logout(false));
                assert_send(&client.get_authorizer("rs"));
                assert_send(&client.authorization_header("rs"));
                assert_send(&client.login(true));
                assert_send(&client.login_required());
                assert_send(&client.logout(true));
            }

            #[test]
            fn apps_are_shareable_and_futures_are_send() {
                // The assertions are in `checks`, made when this compiles.
                let _ = checks;
            }
        }
    };
}

futures_are_send!(tokio, globus_app_tokio);
futures_are_send!(async_std, globus_app_async_std);
