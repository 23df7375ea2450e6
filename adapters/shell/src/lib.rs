//! # globus-app-shell
//!
//! The I/O that every runtime adapter of globus-app shares, written once: login flows
//! (the terminal, the system browser and a loopback listener), the app
//! configuration, the storage and login steps of an operation, and the process's
//! clock, randomness and environment.
//!
//! Everything here is blocking; the async adapters run it on their runtime's
//! blocking-task pool. Only sending HTTP requests and sleeping are left to each
//! adapter.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assemble;
pub mod config;
pub mod io;
pub mod login;
pub mod system;

pub use assemble::{AppParts, IoParts, assemble};
pub use config::{AppConfig, LoginFlowChoice, TokenStorageChoice};
pub use io::{Action, LocalAction, LocalIo};
