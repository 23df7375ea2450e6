//! The process's clock, randomness, environment and host name: the inputs the pure
//! core takes as arguments.

use globus_app_core::UnixTime;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of wall-clock time.
///
/// Apps read the time through a clock so that tests can move it: token expiry is
/// then tested without waiting.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Returns the current time.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock, read coarsely where the system offers it.
///
/// On Linux this reads `CLOCK_REALTIME_COARSE` (a few milliseconds of resolution,
/// no system call): token expiry is decided in whole seconds, and the precise clock
/// costs more than the rest of the hot path on some virtual machines. The coarse
/// clock follows the wall clock through suspend and time changes like the precise one.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            UnixTime(now.tv_sec)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            UnixTime(secs)
        }
    }
}

/// A clock that moves only when told: for tests and simulations.
///
/// ```
/// use globus_app_shell::system::{Clock, ManualClock};
/// use globus_app_core::UnixTime;
/// let clock = ManualClock::new(UnixTime(1000));
/// clock.advance(60);
/// assert_eq!(clock.now(), UnixTime(1060));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: UnixTime) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.0)))
    }

    /// A clock starting at the system time.
    pub fn starting_now() -> Self {
        ManualClock::new(SystemClock.now())
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// Returns 48 bytes from the operating system's random generator, for a login's
/// PKCE verifier and `state`.
///
/// # Errors
/// The OS generator failed (practically never).
pub fn login_random() -> Result<[u8; 48], getrandom::Error> {
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// Reads an environment variable; unset, empty and non-UTF-8 values are `None`.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Returns this machine's host name as the reference shows it in the grant label:
/// from the operating system, without a macOS `.local` suffix; `None` when the
/// system has none.
pub fn hostname() -> Option<String> {
    nice_hostname(&gethostname::gethostname())
}

/// The host name as the grant label shows it: `.local` stripped, empty as none.
fn nice_hostname(raw: &std::ffi::OsStr) -> Option<String> {
    let name = raw.to_string_lossy();
    let name = name.trim();
    let name = name.strip_suffix(".local").unwrap_or(name);
    (!name.is_empty()).then(|| name.to_owned())
}

/// The label a native client's grant gets on the consent page, as the reference
/// builds it: `"{app_name} on {host}"`, or the app name alone when the host name
/// is unknown.
pub fn grant_label(app_name: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("{app_name} on {host}"),
        None => app_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_label_is_the_reference_s() {
        use std::ffi::OsStr;
        assert_eq!(
            nice_hostname(OsStr::new("DereksMacbook.local")).as_deref(),
            Some("DereksMacbook")
        );
        assert_eq!(
            nice_hostname(OsStr::new("build-07")).as_deref(),
            Some("build-07")
        );
        assert_eq!(nice_hostname(OsStr::new("")), None);
        assert_eq!(nice_hostname(OsStr::new(".local")), None);
        assert_eq!(
            grant_label("My App", Some("build-07")),
            "My App on build-07"
        );
        assert_eq!(grant_label("My App", None), "My App");
        // This machine has a name, and it is the one uname gives.
        let host = hostname().unwrap();
        assert!(!host.is_empty() && !host.ends_with(".local"));
    }

    #[test]
    fn system_clock_agrees_with_the_precise_clock() {
        let precise = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let coarse = SystemClock.now().0;
        assert!((coarse - precise).abs() <= 1, "{coarse} vs {precise}");
    }
}
