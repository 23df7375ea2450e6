//! Benchmarks of every storage: get one resource server's token data, get all of a
//! namespace's, and store (replace) all of them in one call, with 1 and 20 resource
//! servers in the namespace. See `README.md` beside this file for figures.
//!
//! Files live in Cargo's target temporary directory (a real disk, not a tmpfs), so
//! JSON and SQLite stores pay for their `fsync`s.

use divan::Bencher;
use divan::counter::ItemsCount;
use globus_app_storage::testing::sample_token;
use globus_app_storage::{
    DEFAULT_NAMESPACE, JsonTokenStorage, MemoryTokenStorage, SqliteTokenStorage, TokenData,
    TokenStorage,
};
use std::path::Path;

fn main() {
    divan::main();
}

/// How many resource servers the namespace holds.
const SIZES: [usize; 2] = [1, 20];

/// A backend to benchmark.
trait Backend {
    fn open(dir: &Path) -> Box<dyn TokenStorage>;
}

struct Memory;
struct Json;
struct Sqlite;

impl Backend for Memory {
    fn open(_: &Path) -> Box<dyn TokenStorage> {
        Box::new(MemoryTokenStorage::new())
    }
}

impl Backend for Json {
    fn open(dir: &Path) -> Box<dyn TokenStorage> {
        Box::new(JsonTokenStorage::new(dir.join("tokens.json")))
    }
}

impl Backend for Sqlite {
    fn open(dir: &Path) -> Box<dyn TokenStorage> {
        Box::new(SqliteTokenStorage::open(dir.join("tokens.db")).expect("open"))
    }
}

fn tokens(n: usize) -> Vec<TokenData> {
    (0..n)
        .map(|i| sample_token(&format!("resource-server-{i:02}.api.globus.org")))
        .collect()
}

/// A storage holding `n` resource servers in the default namespace, and one more
/// namespace beside it, as a shared file would.
fn filled<B: Backend>(n: usize) -> (tempfile::TempDir, Box<dyn TokenStorage>) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let storage = B::open(dir.path());
    storage
        .store_token_data(DEFAULT_NAMESPACE, &tokens(n))
        .expect("store");
    storage
        .store_token_data("other-app", &tokens(2))
        .expect("store");
    (dir, storage)
}

#[divan::bench(types = [Memory, Json, Sqlite], args = SIZES, max_time = 1)]
fn get_one<B: Backend>(bencher: Bencher, n: usize) {
    let (_dir, storage) = filled::<B>(n);
    let last = format!("resource-server-{:02}.api.globus.org", n - 1);
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        storage
            .get_token_data(DEFAULT_NAMESPACE, &last)
            .expect("get")
            .expect("present")
    });
}

#[divan::bench(types = [Memory, Json, Sqlite], args = SIZES, max_time = 1)]
fn get_all<B: Backend>(bencher: Bencher, n: usize) {
    let (_dir, storage) = filled::<B>(n);
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .expect("get all")
    });
}

/// Stores (replaces) all `n` resource servers in one call, as after a login.
#[divan::bench(types = [Memory, Json, Sqlite], args = SIZES, max_time = 1)]
fn store<B: Backend>(bencher: Bencher, n: usize) {
    let (_dir, storage) = filled::<B>(n);
    let tokens = tokens(n);
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        storage
            .store_token_data(DEFAULT_NAMESPACE, &tokens)
            .expect("store")
    });
}
