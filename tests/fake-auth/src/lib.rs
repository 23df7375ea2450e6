//! A loopback fake Globus Auth server for tests and the offline quickstart.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
