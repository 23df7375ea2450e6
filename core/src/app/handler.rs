//! The user's token-validation error handler: a callback that sees why stored
//! tokens cannot serve a request and answers with a decision, which the engine
//! carries out.

use super::error::Error;
use super::validation::TokenValidationError;
use crate::oauth::AuthorizationParameters;
use std::fmt;
use std::sync::Arc;

/// What the handler knows when it decides.
#[derive(Debug)]
#[non_exhaustive]
pub struct ValidationErrorContext<'a> {
    /// Why the stored tokens cannot serve.
    pub error: &'a TokenValidationError,
    /// The resource server whose authorization was asked for.
    pub resource_server: &'a str,
    /// The app's name.
    pub app_name: &'a str,
    /// The identity of the stored tokens, when known.
    pub identity: Option<&'a str>,
}

/// What the app does about a token validation error.
#[derive(Debug)]
#[non_exhaustive]
pub enum ValidationDecision {
    /// Log in with these parameters (for instance the default ones, or a session
    /// requirement), then decide again once: a second failure is returned.
    Login(AuthorizationParameters),
    /// Revoke and remove the tokens of the required resource servers, then return
    /// the error (the next call logs in, as the configuration says).
    Logout,
    /// Return this error (for instance `Error::TokenValidation(ctx.error.clone())`).
    Fail(Error),
}

/// A handler for token validation errors, as the reference's
/// `token_validation_error_handler`, but returning a decision instead of acting:
/// it runs while the app holds its single-flight turn, so it must not (and, given
/// only the context, cannot) call the app itself.
///
/// ```
/// use globus_app_core::app::{OnValidationError, ValidationDecision, ValidationErrorHandler};
/// use globus_app_core::oauth::AuthorizationParameters;
/// let policy = OnValidationError::Handler(ValidationErrorHandler::new(|ctx| {
///     if ctx.resource_server == "auth.globus.org" {
///         ValidationDecision::Fail(ctx.error.clone().into())
///     } else {
///         ValidationDecision::Login(AuthorizationParameters::default())
///     }
/// }));
/// ```
#[derive(Clone)]
pub struct ValidationErrorHandler(
    Arc<dyn Fn(&ValidationErrorContext<'_>) -> ValidationDecision + Send + Sync>,
);

impl ValidationErrorHandler {
    /// Wraps a callback.
    pub fn new(
        handler: impl Fn(&ValidationErrorContext<'_>) -> ValidationDecision + Send + Sync + 'static,
    ) -> ValidationErrorHandler {
        ValidationErrorHandler(Arc::new(handler))
    }

    /// Asks the callback.
    pub fn decide(&self, context: &ValidationErrorContext<'_>) -> ValidationDecision {
        (self.0)(context)
    }
}

impl fmt::Debug for ValidationErrorHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValidationErrorHandler(..)")
    }
}

impl PartialEq for ValidationErrorHandler {
    /// The same callback (clones of one handler).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ValidationErrorHandler {}
