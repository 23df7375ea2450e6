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
