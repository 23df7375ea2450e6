//! Wall-clock time as the core sees it: an argument, never a clock read.

use std::fmt;

/// Seconds since the Unix epoch.
///
/// Token expiry in Globus Auth is wall-clock time, so the core works in whole
/// seconds. Adapters read the clock and pass the value in; tests pass any value.
///
/// ```
/// use globus_app_core::UnixTime;
/// let t = UnixTime(1_700_000_000);
/// assert_eq!(t + 60, UnixTime(1_700_000_060));
/// assert_eq!(t.saturating_sub(UnixTime(1_699_999_000)), 1000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// Returns the number of seconds from `earlier` to `self`, or zero if
    /// `earlier` is later.
    pub fn saturating_sub(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0).max(0)
    }
}

impl std::ops::Add<i64> for UnixTime {
    type Output = UnixTime;
    fn add(self, secs: i64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }
}

impl std::ops::Sub<i64> for UnixTime {
    type Output = UnixTime;
    fn sub(self, secs: i64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
