//! The async adapters under their runtimes: many tasks and one refresh; a caller
//! dropped mid-request or mid-write never leaves the app stuck or the storage
//! half-written. Written once; run for tokio (the tokio adapter), async-std and
//! smol (the async-std adapter).

#![allow(clippy::unwrap_used)] // a panic is how a test fails

/// Generates the tests for one adapter under one runtime: `$block_on` drives the
/// test, `$spawn` starts a task and returns a future of its output.
macro_rules! concurrency_tests {
    ($module:ident, $adapter:ident, $block_on:path, $spawn:path) => {
        mod $module {
            use globus_app_core::OAuthClient;
            use globus_app_e2e::{
                Backend, GatedStorage, TOKEN_LIFETIME, TRANSFER, World, cancel_when, transfer,
            };
            use globus_app_storage::{JsonTokenStorage, TokenStorage};
            use globus_app_testing::{Endpoint, Fault, NATIVE_CLIENT_ID};
            use std::sync::Arc;
            use std::time::{Duration, Instant};
            use $adapter::{TokenStorageChoice, UserApp};

            fn logged_in(w: &World, storage: Option<TokenStorageChoice>) -> UserApp {
                let mut config = w.config().request_refresh_tokens(true);
                if let Some(storage) = storage {
                    config = config.token_storage(storage);
                }
                UserApp::new(
                    "E2E App",
                    OAuthClient::native(NATIVE_CLIENT_ID),
                    transfer(),
                    config,
                )
                .unwrap()
            }

            #[test]
            fn thousand_tasks_one_refresh() {
                let w = World::new(Backend::Json);
                let app = logged_in(&w, None);
                $block_on(async {
                    app.login(None, false).await.unwrap();
                    let first = app.authorization_header(TRANSFER).await.unwrap();
                    w.advance(TOKEN_LIFETIME);
                    let tasks: Vec<_> = (0..1000)
                        .map(|_| {
                            let app = app.clone();
                            $spawn(async move { app.authorization_header(TRANSFER).await })
                        })
                        .collect();
                    let mut headers = Vec::with_capacity(tasks.len());
                    for task in tasks {
                        headers.push(task.await.unwrap());
                    }
                    assert_eq!(headers.len(), 1000);
                    assert!(headers.iter().all(|h| *h == headers[0]));
                    assert_ne!(headers[0], first);
                    assert_eq!(w.refresh_count(), 1);
                });
            }

            #[test]
            fn cancelled_mid_request_then_the_next_caller_succeeds() {
                let w = World::new(Backend::Sqlite);
                let app = logged_in(&w, None);
                $block_on(async {
                    app.login(None, false).await.unwrap();
                    w.advance(TOKEN_LIFETIME);
                    // The refresh hangs at the server; the caller gives up meanwhile.
                    w.fake
                        .inject_fault(Endpoint::Token, Fault::Delay(Duration::from_secs(20)), 1);
                    cancel_when(app.authorization_header(TRANSFER), || {
                        w.fake.pending_faults() == 0
                    })
                    .await;
                    // The app is not stuck: the next caller refreshes at once.
                    let start = Instant::now();
                    let header = app.authorization_header(TRANSFER).await.unwrap();
                    assert!(start.elapsed() < Duration::from_secs(10));
                    assert!(
                        w.fake
                            .is_access_token_active(header.trim_start_matches("Bearer "))
                    );
                    let stored = app
                        .token_storage()
                        .get_token_data("DEFAULT", TRANSFER)
                        .unwrap()
                        .unwrap();
                    assert_eq!(stored.authorization_header(), header);
                });
            }

            #[test]
            fn cancelled_mid_write_then_the_write_completes_first() {
                let w = World::new(Backend::Json);
                let path = w.dir.path().join("tokens.json");
                let gated = Arc::new(GatedStorage::new(Arc::new(JsonTokenStorage::new(&path))));
                let app = logged_in(&w, Some(TokenStorageChoice::Custom(gated.clone())));
                $block_on(async {
                    app.login(None, false).await.unwrap();
                    w.advance(TOKEN_LIFETIME);
                    // The refresh is answered; the caller is dropped while its
                    // tokens are being written.
                    gated.arm();
                    cancel_when(app.authorization_header(TRANSFER), || gated.entered()).await;
                    assert_eq!(w.refresh_count(), 1);
                    // The next caller waits for that write instead of reading the old
                    // tokens (which would cause a second refresh) ...
                    let next = $spawn({
                        let app = app.clone();
                        async move { app.authorization_header(TRANSFER).await }
                    });
                    async_io::Timer::after(Duration::from_millis(100)).await;
                    assert_eq!(w.refresh_count(), 1, "the next caller did not wait");
                    // ... and gets the tokens it wrote once the write is done.
                    gated.release();
                    let header = next.await.unwrap();
                    assert_eq!(w.refresh_count(), 1);
                    let stored = JsonTokenStorage::new(&path)
                        .get_token_data("DEFAULT", TRANSFER)
                        .unwrap()
                        .unwrap();
                    assert_eq!(stored.authorization_header(), header);
                });
            }
        }
    };
}

fn tokio_spawn<F>(future: F) -> impl Future<Output = F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = ::tokio::spawn(future);
    async move { handle.await.unwrap() }
}

concurrency_tests!(
    tokio,
    globus_app_tokio,
    globus_app_e2e::tokio_block_on,
    crate::tokio_spawn
);
concurrency_tests!(
    async_std,
    globus_app_async_std,
    ::async_std::task::block_on,
    ::async_std::task::spawn
);
concurrency_tests!(smol, globus_app_async_std, ::smol::block_on, ::smol::spawn);
