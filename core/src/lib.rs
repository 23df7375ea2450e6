//! # globus-app-core
//!
//! The Sans-IO protocol core of globus-app.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod scopes;
mod secret;
mod time;
mod token;

pub use secret::{AccessToken, AuthorizationCode, ClientSecret, CodeVerifier, IdToken, RefreshToken};
pub use time::UnixTime;
pub use token::TokenData;

/// An HTTP request the core asks an adapter to send, exactly once, following no redirects.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An HTTP response an adapter hands back to the core, whatever its status.
pub type HttpResponse = http::Response<Vec<u8>>;
