//! The hot path: an `Authorization` header for a valid cached token, from one and two
//! threads sharing one app, and what a first call costs (build the app, read the JSON
//! token file, validate). See `benches/README.md` at the workspace root for figures
//! and the comparison with the Python globus-sdk.
//!
//! ```sh
//! cargo bench -p globus-app-blocking --bench hot_path
//! ```
//!
//! The app points at an in-process fake Globus Auth, which the hot path never calls
//! (checked before measuring).

use divan::Bencher;
use globus_app_blocking::{AppConfig, OAuthClient, ScopeRequirements, TokenStorageChoice, UserApp};
use globus_app_storage::{JsonTokenStorage, TokenStorage, testing::sample_token};
use globus_app_testing::{FakeAuth, NATIVE_CLIENT_ID};
use std::path::{Path, PathBuf};

const TRANSFER: &str = "transfer.api.globus.org";

fn main() {
    divan::main();
}

/// A token file with valid tokens for `auth.globus.org` and Transfer, and a server
/// that must see no request.
struct Fixture {
    fake: FakeAuth,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let fake = FakeAuth::start();
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let path = dir.path().join("tokens.json");
        let mut auth = sample_token("auth.globus.org");
        auth.scope = "openid profile email".to_owned();
        JsonTokenStorage::new(path.clone())
            .store_token_data("DEFAULT", &[auth, sample_token(TRANSFER)])
            .expect("store");
        Fixture {
            fake,
            path,
            _dir: dir,
        }
    }

    fn app(&self) -> UserApp {
        app_on(&self.fake, &self.path)
    }

    /// An app that has served one header (so its token is cached).
    fn warm_app(&self) -> UserApp {
        let app = self.app();
        app.authorization_header(TRANSFER).expect("header");
        assert!(
            self.fake.requests().is_empty(),
            "the hot path made a request"
        );
        app
    }
}

fn app_on(fake: &FakeAuth, path: &Path) -> UserApp {
    let mut requirements = ScopeRequirements::new();
    requirements
        .add_str(
            TRANSFER,
            "urn:globus:auth:scope:transfer.api.globus.org:all",
        )
        .expect("scope");
    UserApp::new(
        "Bench App",
        OAuthClient::native(NATIVE_CLIENT_ID),
        requirements,
        AppConfig::default()
            .auth_url(fake.base_url())
            .token_storage(TokenStorageChoice::JsonFile(path.to_owned())),
    )
    .expect("app")
}

/// `get_authorizer`: the cached `Authorization` (a shared, immutable header).
#[divan::bench(threads = [1, 2], sample_count = 200, sample_size = 500)]
fn get_authorizer(bencher: Bencher) {
    let fixture = Fixture::new();
    let app = fixture.warm_app();
    bencher.bench(|| {
        app.get_authorizer(divan::black_box(TRANSFER))
            .expect("authorizer")
    });
}

/// `authorization_header`: the same, copied into a new `String` (what the Python
/// `get_authorizer(rs).get_authorization_header()` returns).
#[divan::bench(threads = [1, 2], sample_count = 200, sample_size = 500)]
fn authorization_header(bencher: Bencher) {
    let fixture = Fixture::new();
    let app = fixture.warm_app();
    bencher.bench(|| {
        app.authorization_header(divan::black_box(TRANSFER))
            .expect("header")
    });
}

/// A first header in a running process: build a `UserApp` on the JSON file, read and
/// validate the tokens, return the header (what a tool does once per run).
#[divan::bench(sample_count = 200)]
fn first_header_from_file(bencher: Bencher) {
    let fixture = Fixture::new();
    bencher.bench(|| {
        let app = fixture.app();
        app.authorization_header(TRANSFER).expect("header")
    });
}

/// For reference: one read of the system clock, which the hot path makes on every
/// call to check the token's expiry (its cost depends on the machine's clock source;
/// on virtual machines it can be most of the hot path).
#[divan::bench(sample_count = 200, sample_size = 500)]
fn reference_clock_read() -> globus_app_core::UnixTime {
    use globus_app_blocking::Clock as _;
    globus_app_blocking::SystemClock.now()
}
