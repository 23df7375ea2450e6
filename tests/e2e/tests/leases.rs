//! One refresh across apps that share a storage with leases: each app here has its
//! own single flight (as separate processes do), so only the storage's lease keeps
//! them from renewing the same token several times.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::TokenStorageChoice;
use globus_app_e2e::{Backend, TOKEN_LIFETIME, TRANSFER, World};
use std::sync::{Arc, Barrier};

fn apps_sharing_one_store_refresh_once(storage: TokenStorageChoice) {
    let w = World::new(Backend::Memory);
    let config = || {
        w.config()
            .request_refresh_tokens(true)
            .token_storage(storage.clone())
    };
    let apps: Vec<_> = (0..8)
        .map(|_| w.user_app::<globus_app_e2e::Blocking>(config()))
        .collect();
    apps[0].login(None, false).unwrap();
    w.advance(TOKEN_LIFETIME + 1);
    let start = Arc::new(Barrier::new(apps.len()));
    let headers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = apps
            .iter()
            .map(|app| {
                let start = Arc::clone(&start);
                scope.spawn(move || {
                    start.wait();
                    app.authorization_header(TRANSFER).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(w.refresh_count(), 1, "one refresh for eight apps");
    assert!(
        headers.windows(2).all(|pair| pair[0] == pair[1]),
        "{headers:?}"
    );
    assert_eq!(w.authorize_count(), 1);
}

#[test]
fn apps_sharing_a_sqlite_file_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    apps_sharing_one_store_refresh_once(TokenStorageChoice::SqliteFile(
        dir.path().join("tokens.db"),
    ));
}

#[test]
fn apps_sharing_a_json_file_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    apps_sharing_one_store_refresh_once(TokenStorageChoice::JsonFile(
        dir.path().join("tokens.json"),
    ));
}

#[test]
fn apps_sharing_a_memory_storage_refresh_once() {
    let storage = Arc::new(globus_app_storage::MemoryTokenStorage::new());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Custom(storage));
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn apps_sharing_a_redis_server_refresh_once() {
    let url = std::env::var("GLOBUS_APP_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("globus-app-test:e2e:{}:{nanos}", std::process::id());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Redis(format!(
        "{url}?prefix={prefix}"
    )));
}

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn apps_sharing_a_postgres_database_refresh_once() {
    let base = std::env::var("GLOBUS_APP_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!("globus_app_test_e2e_{}_{nanos}", std::process::id());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Postgres(format!(
        "{base}?schema={schema}"
    )));
    if let Ok(mut client) = postgres_client(&base) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
    }
}

fn postgres_client(url: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(url, postgres::NoTls)
}

/// A TCP forwarder to a server, which the test can cut and mend: the store becomes
/// unreachable and comes back.
struct Forwarder {
    port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Forwarder {
    fn to(upstream: &str) -> Forwarder {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: Arc<std::sync::Mutex<Vec<TcpStream>>> = Arc::default();
        let (flag, streams, upstream) = (Arc::clone(&cut), Arc::clone(&open), upstream.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut list = streams.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Forwarder { port, cut, open }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    fn mend(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn an_unreachable_store_is_a_typed_error_and_a_valid_cached_token_is_still_served() {
    let w = World::new(Backend::Memory);
    let forwarder = Forwarder::to("127.0.0.1:6379");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let url = format!(
        "redis://127.0.0.1:{}/?prefix=globus-app-test:fault:{}:{nanos}",
        forwarder.port,
        std::process::id()
    );
    let app = globus_app_blocking::ClientApp::new(
        "Fault",
        globus_app_core::OAuthClient::confidential(
            globus_app_testing::CONFIDENTIAL_CLIENT_ID,
            globus_app_testing::CONFIDENTIAL_CLIENT_SECRET,
        ),
        globus_app_e2e::transfer(),
        w.base_config()
            .token_storage(TokenStorageChoice::Redis(url)),
    )
    .unwrap();
    let header = app.authorization_header(TRANSFER).unwrap();
    forwarder.cut();
    // The valid token in memory is served: no storage step on the hot path.
    assert_eq!(app.authorization_header(TRANSFER).unwrap(), header);
    // A renewal needs the store: a typed storage error, nothing served expired.
    w.advance(TOKEN_LIFETIME + 1);
    let error = app.authorization_header(TRANSFER).unwrap_err();
    assert!(
        matches!(error, globus_app_core::app::Error::Storage(_)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("127.0.0.1:{}", forwarder.port)),
        "{error}"
    );
    // The store comes back: the app reconnects and renews.
    forwarder.mend();
    let renewed = app.authorization_header(TRANSFER).unwrap();
    assert_ne!(renewed, header);
    assert_eq!(w.fake.token_requests("client_credentials").len(), 2);
}

/// A holder slower than its lease: another app takes the expired lease and renews;
/// the slow holder's late write is refused by the fence, and it serves the newer
/// token instead of overwriting it.
#[test]
fn a_holder_slower_than_its_lease_is_fenced_out_and_adopts_the_newer_token() {
    use globus_app_testing::{Endpoint, Fault};
    use std::time::{Duration, Instant};
    let w = World::new(Backend::Memory);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let config = || {
        w.config()
            .request_refresh_tokens(true)
            .token_storage(TokenStorageChoice::JsonFile(file.clone()))
            .lease_time_to_live(Duration::from_millis(300))
    };
    let slow = w.user_app::<globus_app_e2e::Blocking>(config());
    let fast = w.user_app::<globus_app_e2e::Blocking>(config());
    slow.login(None, false).unwrap();
    w.advance(TOKEN_LIFETIME + 1);
    // The slow app's refresh is answered late, well past its lease.
    w.fake.inject_fault(
        Endpoint::Token,
        Fault::Delay(Duration::from_millis(1500)),
        1,
    );
    let (slow_header, fast_header) = std::thread::scope(|scope| {
        let slow_call = scope.spawn(|| slow.authorization_header(TRANSFER).unwrap());
        // The fast app asks once the slow one's refresh is under way.
        let deadline = Instant::now() + Duration::from_secs(10);
        while w.fake.pending_faults() > 0 {
            assert!(Instant::now() < deadline, "the slow refresh never started");
            std::thread::sleep(Duration::from_millis(1));
        }
        let fast_header = fast.authorization_header(TRANSFER).unwrap();
        (slow_call.join().unwrap(), fast_header)
    });
    // Two refreshes (the late one is legal), one token kept: the newer.
    assert_eq!(w.refresh_count(), 2);
    assert_eq!(
        slow_header, fast_header,
        "the slow app adopted the newer token"
    );
    let stored = globus_app_storage::JsonTokenStorage::new(&file);
    let kept = globus_app_storage::TokenStorage::get_token_data(&stored, "DEFAULT", TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(
        format!("Bearer {}", kept.access_token.secret()),
        fast_header
    );
}

/// A process that died holding the lease (its lease row stays, no one releases it):
/// another app renews once the lease's time to live is over, and nothing is lost.
#[test]
fn a_lease_left_by_a_dead_holder_expires_and_the_next_app_renews() {
    use globus_app_storage::TokenStorage;
    use std::time::Duration;
    let w = World::new(Backend::Memory);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let app = w.user_app::<globus_app_e2e::Blocking>(
        w.config()
            .request_refresh_tokens(true)
            .token_storage(TokenStorageChoice::JsonFile(file.clone()))
            .lease_time_to_live(Duration::from_millis(300)),
    );
    app.login(None, false).unwrap();
    w.advance(TOKEN_LIFETIME + 1);
    let dead = globus_app_storage::JsonTokenStorage::new(&file);
    let taken = dead
        .leases()
        .unwrap()
        .acquire_lease("DEFAULT", "a-process-that-died", Duration::from_millis(300))
        .unwrap();
    assert!(matches!(
        taken,
        globus_app_storage::LeaseOutcome::Acquired(_)
    ));
    drop(dead);
    let started = std::time::Instant::now();
    let header = app.authorization_header(TRANSFER).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it waited for the lease"
    );
    assert_eq!(w.refresh_count(), 1);
    assert!(
        w.fake
            .is_access_token_active(header.trim_start_matches("Bearer "))
    );
    // The refresh token was kept: the stored tokens still renew.
    let stored = globus_app_storage::JsonTokenStorage::new(&file);
    let kept = stored.get_token_data("DEFAULT", TRANSFER).unwrap().unwrap();
    assert!(kept.refresh_token.is_some());
}
