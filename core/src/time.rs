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
    /// Formats the time as ISO 8601 in UTC, e.g. `2023-11-14T22:13:20Z`.
    ///
    /// ```
    /// use globus_app_core::UnixTime;
    /// assert_eq!(UnixTime(1_700_000_000).iso8601(), "2023-11-14T22:13:20Z");
    /// ```
    pub fn iso8601(self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }

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

/// Converts days since 1970-01-01 to (year, month, day) of the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::UnixTime;

    #[test]
    fn iso8601() {
        assert_eq!(UnixTime(0).iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(4_102_444_800).iso8601(), "2100-01-01T00:00:00Z");
        assert_eq!(UnixTime(951_782_400).iso8601(), "2000-02-29T00:00:00Z");
        assert_eq!(UnixTime(-1).iso8601(), "1969-12-31T23:59:59Z");
        let _ = UnixTime(i64::MAX).iso8601();
        let _ = UnixTime(i64::MIN).iso8601();
    }
}
