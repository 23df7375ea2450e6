//! The refresh storm: 1000 threads share one `UserApp` whose access token has just
//! expired, and all ask for a header at once. One refresh request must reach the
//! server; the others wait for its result. The wall time of the storm (from the
//! moment the threads are released until the last one has its header) is compared
//! with the time of a single caller's refresh.
//!
//! ```sh
//! cargo bench -p globus-app-blocking --bench refresh_storm
//! cargo bench -p globus-app-blocking --bench refresh_storm -- --callers 1000 --rounds 7
//! cargo bench -p globus-app-blocking --bench refresh_storm -- --memory   # no file
//! ```
//!
//! The tokens are in a JSON file (a refresh stores them: an atomic rewrite with
//! `fsync`), and the fake Globus Auth runs in-process on the loopback interface.
//! The clocks of the app and of the server jump 48 hours before each round.
//!
//! Waking 1000 OS threads is not free (on 2 cores, tens of milliseconds), so each
//! round also times the same 1000 threads on a valid token: the difference is what
//! the refresh adds.
//! Prints a table, then `RESULT` lines for `benches/compare.py`.

use globus_app_blocking::login::LocalServerLoginFlow;
use globus_app_blocking::{
    AppConfig, LoginFlowChoice, ManualClock, OAuthClient, ScopeRequirements, TokenStorageChoice,
    UserApp,
};
use globus_app_testing::{FakeAuth, NATIVE_CLIENT_ID, client};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const TRANSFER: &str = "transfer.api.globus.org";
const LIFETIME: i64 = 172_800;

struct Setup {
    fake: FakeAuth,
    clock: ManualClock,
    app: UserApp,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new(memory: bool) -> Setup {
        let fake = FakeAuth::start();
        let clock = ManualClock::new(globus_app_core::UnixTime(
            i64::try_from(fake.now()).expect("time"),
        ));
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let mut requirements = ScopeRequirements::new();
        requirements
            .add_str(
                TRANSFER,
                "urn:globus:auth:scope:transfer.api.globus.org:all",
            )
            .expect("scope");
        let flow = LocalServerLoginFlow::new()
            .feedback(|_: &globus_app_blocking::login::LoginMessage<'_>| Ok(()))
            .env_lookup(|_| None)
            .open_with(|url| client::browse(url.as_str()).map(drop));
        let app = UserApp::new(
            "Refresh Storm",
            OAuthClient::native(NATIVE_CLIENT_ID),
            requirements,
            AppConfig::default()
                .auth_url(fake.base_url())
                .token_storage(if memory {
                    TokenStorageChoice::Memory
                } else {
                    TokenStorageChoice::JsonFile(dir.path().join("tokens.json"))
                })
                .request_refresh_tokens(true)
                .clock(Arc::new(clock.clone()))
                .login_flow(LoginFlowChoice::Custom(Arc::new(flow))),
        )
        .expect("app");
        app.login(None, false).expect("login");
        app.authorization_header(TRANSFER).expect("header");
        Setup {
            fake,
            clock,
            app,
            _dir: dir,
        }
    }

    /// Moves both clocks past the access token's expiry.
    fn expire(&self) {
        self.clock.advance(LIFETIME);
        self.fake
            .advance(u64::try_from(LIFETIME).expect("lifetime"));
    }

    fn refreshes(&self) -> usize {
        self.fake.token_requests("refresh_token").len()
    }
}

/// One storm: returns its wall time and the number of refresh requests it caused.
/// With `expire` false the token is valid: the same threads, released the same way,
/// only take the hot path (the baseline of what waking them costs).
fn storm(setup: &Setup, callers: usize, expire: bool) -> (Duration, usize) {
    if expire {
        setup.expire();
    }
    let before = setup.refreshes();
    let barrier = Arc::new(Barrier::new(callers));
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let app = setup.app.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let header = app.authorization_header(TRANSFER).expect("header");
                (start, Instant::now(), header)
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let first_start = results.iter().map(|r| r.0).min().expect("callers");
    let last_end = results.iter().map(|r| r.1).max().expect("callers");
    assert!(
        results.windows(2).all(|w| w[0].2 == w[1].2),
        "every caller gets the same new header"
    );
    (last_end - first_start, setup.refreshes() - before)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut callers = 1000;
    let mut rounds = 7;
    let mut memory = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .expect("a number after the option")
        };
        match arg.as_str() {
            "--callers" => callers = number(),
            "--rounds" => rounds = number(),
            "--memory" => memory = true,
            _ => {} // `cargo bench` passes --bench
        }
    }
    let setup = Setup::new(memory);

    // A single caller's refresh (after a warm-up round).
    let mut singles = Vec::new();
    for round in 0..=rounds * 3 {
        setup.expire();
        let start = Instant::now();
        setup.app.authorization_header(TRANSFER).expect("header");
        if round > 0 {
            singles.push(start.elapsed());
        }
    }
    let single = median(singles);

    let mut walls = Vec::new();
    let mut baselines = Vec::new();
    let mut refreshes = Vec::new();
    storm(&setup, callers, true); // warm-up
    for _ in 0..rounds {
        let (wall, n) = storm(&setup, callers, true);
        walls.push(wall);
        refreshes.push(n);
        let (baseline, none) = storm(&setup, callers, false);
        assert_eq!(none, 0, "a valid token is not refreshed");
        baselines.push(baseline);
    }
    let wall = median(walls.clone());
    let worst = walls.iter().max().copied().unwrap_or_default();
    let baseline = median(baselines);

    let storage = if memory { "memory" } else { "JSON file" };
    println!("refresh storm: {callers} threads, one UserApp, {storage} storage, {rounds} rounds");
    println!(
        "  single refresh (1 caller), median:  {:8.3} ms",
        ms(single)
    );
    println!(
        "  storm wall time, median (worst):    {:8.3} ms ({:.3} ms)",
        ms(wall),
        ms(worst)
    );
    println!(
        "  same threads, valid token, median:  {:8.3} ms (waking the threads, no refresh)",
        ms(baseline)
    );
    println!(
        "  storm / single:                     {:8.2}x",
        wall.as_secs_f64() / single.as_secs_f64()
    );
    println!(
        "  storm - valid-token storm:          {:8.3} ms (what the refresh adds)",
        ms(wall.saturating_sub(baseline))
    );
    println!("  refresh requests per storm:         {refreshes:?}");
    println!();
    println!("RESULT refresh_storm.threads.callers={callers}");
    println!("RESULT refresh_storm.threads.single_ms={:.4}", ms(single));
    println!("RESULT refresh_storm.threads.storm_ms={:.4}", ms(wall));
    println!(
        "RESULT refresh_storm.threads.baseline_ms={:.4}",
        ms(baseline)
    );
    println!(
        "RESULT refresh_storm.threads.max_refreshes={}",
        refreshes.iter().max().copied().unwrap_or(0)
    );
}
