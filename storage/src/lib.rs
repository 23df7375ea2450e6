//! # globus-app-storage
//!
//! Token storages for globus-app.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
