//! The Redis storage against a real Redis (`$GLOBUS_APP_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`): the conformance suites, leases, many namespaces, and
//! a server that cannot be reached. Each run keeps its keys under a prefix of its
//! own, and removes them.
#![cfg(feature = "redis")]

use globus_app_storage::testing::{
    conformance, conformance_lease, conformance_shared, sample_token,
};
use globus_app_storage::{RedisTokenStorage, StorageError, TokenStorage};
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("GLOBUS_APP_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A prefix no other run uses.
fn prefix(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "globus-app-test:{name}:{}:{nanos}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn open(prefix: &str) -> RedisTokenStorage {
    RedisTokenStorage::open(&url())
        .expect("open")
        .with_prefix(prefix)
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn passes_the_conformance_suites() {
    conformance(|| open(&prefix("fresh")));
    let shared = prefix("shared");
    conformance_shared(|| open(&shared));
    let leases = prefix("leases");
    conformance_lease(|| open(&leases), std::thread::sleep);
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn keeps_thousands_of_namespaces() {
    let prefix = prefix("many");
    let storage = open(&prefix);
    for i in 0..3000 {
        storage
            .store_token_data(
                &format!("user-{i}"),
                &[sample_token("transfer.api.globus.org")],
            )
            .expect("store");
    }
    for i in [0, 1234, 2999] {
        let tokens = storage
            .get_token_data_by_resource_server(&format!("user-{i}"))
            .expect("read");
        assert_eq!(tokens.len(), 1);
    }
    for i in 0..3000 {
        storage
            .remove_token_data(&format!("user-{i}"), "transfer.api.globus.org")
            .expect("remove");
    }
}

#[test]
fn a_server_that_cannot_be_reached_is_a_typed_error_without_the_password() {
    let storage = RedisTokenStorage::open("redis://user:hunter2@127.0.0.1:1/").expect("open");
    let error = storage
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(matches!(error, StorageError::Server { .. }), "{error:?}");
    let shown = format!("{error} {error:?} {storage:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
}

/// A TLS redis-server of this test's own on a free port, with a CA and a server
/// certificate for 127.0.0.1 made by `openssl`; stopped when dropped.
struct TlsRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl TlsRedis {
    fn start() -> TlsRedis {
        use std::process::Command;
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl");
            assert!(status.success(), "openssl {args:?}");
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(dir.path().join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("redis-server");
        // Ready when it says so (its log goes to standard output).
        let stdout = child.stdout.take().expect("stdout");
        let ready = std::io::BufRead::lines(std::io::BufReader::new(stdout))
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        assert!(ready, "redis-server did not start with TLS");
        TlsRedis { port, dir, child }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs redis-server (built with TLS) and openssl; run with `cargo test -- --ignored` (bash .ci/run does)"]
fn rediss_urls_connect_over_tls_with_the_ring_provider() {
    let server = TlsRedis::start();
    let ca = server.dir.path().join("ca.pem");
    let url = format!(
        "rediss://127.0.0.1:{}/?ca={}&prefix={}",
        server.port,
        ca.display(),
        prefix("tls")
    );
    let storage = RedisTokenStorage::open(&url).expect("open");
    storage
        .store_token_data("DEFAULT", &[sample_token("auth.globus.org")])
        .expect("a store over TLS");
    assert!(
        storage
            .get_token_data("DEFAULT", "auth.globus.org")
            .expect("read")
            .is_some()
    );
    // Without the CA, the server's certificate is not trusted: a typed error.
    let untrusted =
        RedisTokenStorage::open(&format!("rediss://127.0.0.1:{}/", server.port)).expect("open");
    assert!(matches!(
        untrusted.get_token_data("DEFAULT", "auth.globus.org"),
        Err(StorageError::Server { .. })
    ));
}
