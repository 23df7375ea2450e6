//! Tests written the way a user of globus-app writes them, against the published
//! crates only (`globus-app` and `globus-app-testing`); they are in `tests/`.
#![forbid(unsafe_code)]
