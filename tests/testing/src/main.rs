//! Runs the fake Globus Auth server as a process, for clients that are not Rust tests
//! (the Python SDK in the comparison scripts, curl, a browser):
//!
//! ```sh
//! cargo run -p globus-app-testing --bin globus-fake-auth            # a free port
//! cargo run -p globus-app-testing --bin globus-fake-auth -- 8765    # a given port
//! ```
//!
//! It prints `GLOBUS_SDK_SERVICE_URL_AUTH=<base URL>`, one
//! `GLOBUS_SDK_SERVICE_URL_<SERVICE>=<base URL>` line per stand-in resource server
//! (Transfer, Groups, Search, Flows and Timers, each accepting any valid token issued
//! for it, with no further requirement) and the default clients, then serves until its
//! standard input closes (Ctrl-D) or it is killed.

use std::io::BufRead;

use globus_app_testing::{
    CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, CONFIDENTIAL_REDIRECT_URI, FakeAuth,
    NATIVE_CLIENT_ID, ResourceServerConfig, STAND_IN_SERVICES,
};

fn main() {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 0,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: globus-app-testing [PORT]");
            std::process::exit(2);
        }
    };
    let builder = STAND_IN_SERVICES
        .iter()
        .fold(FakeAuth::builder().port(port), |builder, (_, rs)| {
            builder.resource_server(*rs, ResourceServerConfig::new())
        });
    let fake = match builder.try_start() {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("GLOBUS_SDK_SERVICE_URL_AUTH={}", fake.base_url());
    for (service, rs) in STAND_IN_SERVICES {
        let url = fake.resource_server_url(rs);
        println!(
            "GLOBUS_SDK_SERVICE_URL_{}={url}",
            service.to_ascii_uppercase()
        );
    }
    println!("native client id:       {NATIVE_CLIENT_ID}");
    println!("confidential client id: {CONFIDENTIAL_CLIENT_ID}");
    println!("confidential secret:    {CONFIDENTIAL_CLIENT_SECRET}");
    println!("confidential redirect:  {CONFIDENTIAL_REDIRECT_URI}");
    println!("serving until standard input closes");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
}
