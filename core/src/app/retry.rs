//! When to retry a failed request, and how long to wait first.

use std::time::Duration;

/// Bounded retries with exponential backoff for HTTP 429, 5xx and transport
/// failures, honouring `Retry-After`.
///
/// ```
/// use globus_app_core::app::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.delay(1, None), Some(Duration::from_millis(500)));
/// assert_eq!(policy.delay(2, None), Some(Duration::from_secs(1)));
/// assert_eq!(policy.delay(1, Some(3)), Some(Duration::from_secs(3)));
/// assert_eq!(policy.delay(3, None), None); // the third failure is final
/// assert_eq!(policy.delay(1, Some(3600)), None); // too long to wait
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub base_delay: Duration,
    /// The longest wait. A `Retry-After` longer than this ends the retries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// A policy with the given attempts and delays.
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base_delay,
            max_delay,
        }
    }

    /// Returns how long to wait after the `failures`-th failed attempt before the
    /// next one, or `None` to give up.
    pub fn delay(&self, failures: u32, retry_after_seconds: Option<u64>) -> Option<Duration> {
        if failures == 0 || failures >= self.max_attempts {
            return None;
        }
        if let Some(secs) = retry_after_seconds {
            let wait = Duration::from_secs(secs);
            return (wait <= self.max_delay).then_some(wait);
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }
}

/// Retries of an authorized request to a service, as the reference's transport
/// does them: at most `max_retries` more attempts in all (a resend after a renewal
/// or a login counts as one), waiting `Retry-After` when the service says, else
/// an exponential backoff with jitter, never longer than `max_sleep`.
///
/// ```
/// use globus_app_core::app::RequestRetry;
/// use std::time::Duration;
/// let retry = RequestRetry::default();
/// assert_eq!(retry.max_retries, 5);
/// // After the first attempt: 0.25 s to 0.75 s, by the jitter (0.0 to 1.0).
/// assert_eq!(retry.delay(1, None, 0.0), Duration::from_millis(250));
/// assert_eq!(retry.delay(1, None, 1.0), Duration::from_millis(750));
/// // Doubling after each attempt, up to `max_sleep`.
/// assert_eq!(retry.delay(3, None, 0.5), Duration::from_secs(2));
/// assert_eq!(retry.delay(6, None, 0.5), Duration::from_secs(10));
/// // `Retry-After` is honoured, up to `max_sleep`.
/// assert_eq!(retry.delay(1, Some(3), 0.5), Duration::from_secs(3));
/// assert_eq!(retry.delay(1, Some(3600), 0.5), Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRetry {
    /// Attempts after the first (default 5, as the reference's transport).
    pub max_retries: u32,
    /// The longest wait between two attempts (default 10 s), `Retry-After`
    /// included.
    pub max_sleep: Duration,
}

impl Default for RequestRetry {
    fn default() -> Self {
        RequestRetry {
            max_retries: 5,
            max_sleep: Duration::from_secs(10),
        }
    }
}

impl RequestRetry {
    /// No retries: each request is sent once (a resend after a renewal or a login
    /// is then not possible either).
    pub fn none() -> Self {
        RequestRetry {
            max_retries: 0,
            ..RequestRetry::default()
        }
    }

    /// A policy with these limits.
    pub fn new(max_retries: u32, max_sleep: Duration) -> Self {
        RequestRetry {
            max_retries,
            max_sleep,
        }
    }

    /// The wait after the `attempt`-th attempt failed (1 for the first):
    /// `Retry-After` if given, else `(0.25 + 0.5 × jitter) × 2^(attempt − 1)`
    /// seconds, with `jitter` in `0.0..=1.0`; at most `max_sleep`.
    pub fn delay(&self, attempt: u32, retry_after_seconds: Option<u64>, jitter: f64) -> Duration {
        let wait = match retry_after_seconds {
            Some(seconds) => Duration::from_secs(seconds),
            None => {
                let factor = f64::from(1u32 << attempt.saturating_sub(1).min(20));
                let seconds = (0.25 + 0.5 * jitter.clamp(0.0, 1.0)) * factor;
                Duration::from_secs_f64(seconds.min(self.max_sleep.as_secs_f64()))
            }
        };
        wait.min(self.max_sleep)
    }
}
