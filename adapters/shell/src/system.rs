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

/// Returns this machine's host name, for the consent page's grant label
/// (`"{app name} on {host}"`), if it can be found.
pub fn hostname() -> Option<String> {
    #[cfg(unix)]
    {
        for file in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
            if let Ok(name) = std::fs::read_to_string(file) {
                let name = name.trim();
                if !name.is_empty() {
                    return Some(name.to_owned());
                }
            }
        }
        env_var("HOSTNAME")
    }
    #[cfg(not(unix))]
    {
        env_var("COMPUTERNAME")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
