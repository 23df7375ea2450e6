//! Several processes store different resource servers into one JSON file and one
//! SQLite file at the same time: every one of them is kept.
//!
//! The children are this test binary itself, re-entered through the `child` test with
//! an environment variable. They start together: each waits for its standard input to
//! close, which the parent does once all are spawned. The assertion depends only on
//! the final contents, not on timing.

use globus_app_storage::testing::sample_token;
use globus_app_storage::{
    AccessToken, DEFAULT_NAMESPACE, JsonTokenStorage, TokenData, TokenStorage,
};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHILDREN: usize = 8;
const ROUNDS: usize = 25;
const CHILD_VAR: &str = "GLOBUS_APP_STORAGE_TEST_CHILD";
const DIR_VAR: &str = "GLOBUS_APP_STORAGE_TEST_DIR";

/// What child `i` stores in round `round`: two resource servers of its own, and the
/// resource server all children share.
fn tokens(i: usize, round: usize) -> Vec<TokenData> {
    ["a", "b", "shared"]
        .into_iter()
        .map(|suffix| {
            let rs = if suffix == "shared" {
                "shared".to_owned()
            } else {
                format!("child-{i}-{suffix}")
            };
            let mut token = sample_token(&rs);
            token.access_token = AccessToken::new(format!("child-{i}-round-{round}"));
            token
        })
        .collect()
}

fn storages(dir: &Path) -> Vec<Box<dyn TokenStorage>> {
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let mut storages: Vec<Box<dyn TokenStorage>> =
        vec![Box::new(JsonTokenStorage::new(dir.join("tokens.json")))];
    #[cfg(feature = "sqlite")]
    storages.push(Box::new(
        globus_app_storage::SqliteTokenStorage::open(dir.join("tokens.db"))
            .expect("open the database"),
    ));
    storages
}

/// The child process's work; does nothing in a normal test run.
#[test]
fn child() {
    let (Some(i), Some(dir)) = (std::env::var_os(CHILD_VAR), std::env::var_os(DIR_VAR)) else {
        return;
    };
    let i: usize = i.to_string_lossy().parse().expect("child number");
    let storages = storages(&PathBuf::from(dir));
    // The barrier: the parent closes our stdin once every child is running.
    let mut buffer = Vec::new();
    std::io::stdin().read_to_end(&mut buffer).expect("stdin");
    for round in 0..ROUNDS {
        for storage in &storages {
            storage
                .store_token_data(DEFAULT_NAMESPACE, &tokens(i, round))
                .expect("store");
        }
    }
}

#[test]
fn concurrent_processes_keep_every_update() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Create both files first, so that the children race on updates, not creation.
    for storage in storages(dir.path()) {
        storage
            .store_token_data("setup", &[sample_token("setup")])
            .expect("setup");
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", "child", "--nocapture", "--test-threads=1"])
                .env(CHILD_VAR, i.to_string())
                .env(DIR_VAR, dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a child")
        })
        .collect();
    for child in &mut children {
        drop(child.stdin.take());
    }
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().expect("wait");
        assert!(
            output.status.success(),
            "child {i} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    for storage in storages(dir.path()) {
        let all = storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .expect("read");
        for i in 0..CHILDREN {
            for suffix in ["a", "b"] {
                let rs = format!("child-{i}-{suffix}");
                let token = all
                    .get(&rs)
                    .unwrap_or_else(|| panic!("{storage:?} lost {rs}"));
                assert_eq!(
                    token.access_token.secret(),
                    format!("child-{i}-round-{}", ROUNDS - 1),
                    "{storage:?}: {rs} is not the last update"
                );
            }
        }
        let shared = all.get("shared").expect("shared");
        assert!(
            shared
                .access_token
                .secret()
                .ends_with(&format!("-round-{}", ROUNDS - 1))
        );
        assert_eq!(all.len(), 2 * CHILDREN + 1, "{storage:?}: {:?}", all.keys());
        assert!(
            storage
                .get_token_data("setup", "setup")
                .expect("setup")
                .is_some()
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec!["tokens.json", "tokens.json.lock"];
    if cfg!(feature = "sqlite") {
        expected.insert(0, "tokens.db");
    }
    assert_eq!(names, expected, "no temporary or journal file is left");
}
