//! # globus-app-shell
//!
//! The I/O that every runtime adapter of globus-app shares, written once: login flows
//! (the terminal, the system browser and a loopback listener), the app
//! configuration, and the process's clock, randomness and environment.
//!
//! Everything here is blocking; the async adapters run it on their runtime's
//! blocking-task pool.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod login;
