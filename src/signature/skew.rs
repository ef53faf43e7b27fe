//! The timestamp window.
//!
//! A signature carries the time it was made; the edge accepts it only while the clock difference
//! is within the tenant's window, in both directions. The window also bounds the replay ledger: a
//! nonce only has to be remembered until its timestamp falls out of the window, after which the
//! request would be refused as stale anyway.
//!
//! The core never reads a clock: the caller passes `now` in Unix seconds.

use crate::error::Rejection;

/// Extra seconds a ledger entry outlives its window, to absorb clock differences between the
/// edge's instances.
pub const LEDGER_MARGIN_SECONDS: i64 = 60;

/// Accepted clock skew, in seconds, both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewWindow {
    seconds: i64,
}

impl SkewWindow {
    /// A window of `seconds` in both directions.
    #[must_use]
    pub fn new(seconds: u64) -> Self {
        Self {
            seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        }
    }

    /// The window's width in seconds.
    #[must_use]
    pub const fn seconds(&self) -> i64 {
        self.seconds
    }

    /// Accepts `timestamp` when `now - window <= timestamp <= now + window`.
    ///
    /// # Errors
    /// `stale_timestamp` when older, `future_timestamp` when newer.
    pub fn check(&self, timestamp: i64, now: i64) -> Result<(), Rejection> {
        if timestamp < now.saturating_sub(self.seconds) {
            Err(Rejection::StaleTimestamp)
        } else if timestamp > now.saturating_add(self.seconds) {
            Err(Rejection::FutureTimestamp)
        } else {
            Ok(())
        }
    }

    /// When a ledger entry for a request signed at `timestamp` may be forgotten: after it, the
    /// same request is refused as stale, so the entry is no longer needed.
    #[must_use]
    pub const fn ledger_expiry(&self, timestamp: i64) -> i64 {
        timestamp
            .saturating_add(self.seconds)
            .saturating_add(LEDGER_MARGIN_SECONDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_inclusive() {
        let w = SkewWindow::new(300);
        let now = 1_700_000_000;
        assert!(w.check(now - 300, now).is_ok());
        assert!(w.check(now + 300, now).is_ok());
        assert_eq!(w.check(now - 301, now), Err(Rejection::StaleTimestamp));
        assert_eq!(w.check(now + 301, now), Err(Rejection::FutureTimestamp));
        assert!(w.check(i64::MIN, now).is_err());
        assert!(w.check(i64::MAX, now).is_err());
    }
}
