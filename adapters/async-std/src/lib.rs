//! # globus-app-async-std
//!
//! The async-std runtime adapter of globus-app. It performs the I/O that the
//! protocol core asks for. (Under construction: the apps land in a later change.)
#![forbid(unsafe_code)]
#![warn(missing_docs)]
