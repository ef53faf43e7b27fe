//! Fault injection and counters for the end-to-end tests (`--test-controls` only).
//!
//! The edge's reliability rules — nothing accepted is lost, nothing is applied twice, a failed or
//! silent origin releases the nonce — can only be tested against an origin that fails on demand.
//! `POST /__control` sets a mode for the next signed requests: `fail` answers 500 without applying,
//! `stall` waits (30 s by default, `stallMs` to change) and then answers 500 without applying,
//! `drop` closes the connection without a response, `ok` goes back to normal. `times` limits a
//! mode to that many requests (default: until changed). `GET /__control/stats` tells a test what
//! reached the origin at all, so it can assert that a rejected request never did.
//!
//! Without `--test-controls` these routes do not exist (404); the counters are kept regardless
//! because they cost nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::OriginError;

/// Default stall before a `stall` answer: longer than any sensible edge timeout.
pub const DEFAULT_STALL: Duration = Duration::from_secs(30);
/// Longest stall a control may ask for (10 minutes).
pub const MAX_STALL_MS: u64 = 600_000;

/// What the next signed requests suffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Normal operation.
    Ok,
    /// Answer 500 without applying.
    Fail,
    /// Wait, then answer 500 without applying.
    Stall,
    /// Close the connection without answering.
    Drop,
}

/// A fault to inject into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500.
    Fail,
    /// Wait this long, then answer 500.
    Stall(Duration),
    /// Close the connection.
    Drop,
}

/// A `POST /__control` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlRequest {
    /// The new mode; unchanged when absent.
    pub mode: Option<Mode>,
    /// How many signed requests the mode applies to; unlimited when absent.
    pub times: Option<u64>,
    /// The stall duration in milliseconds (default 30000).
    pub stall_ms: Option<u64>,
    /// Zero the counters.
    #[serde(default)]
    pub reset_stats: bool,
}

/// The current fault mode, as `POST /__control` answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlState {
    /// The mode.
    pub mode: Mode,
    /// Requests left in this mode; `null` for unlimited.
    pub remaining: Option<u64>,
    /// The stall duration in milliseconds.
    pub stall_ms: u64,
}

/// The fault-injection switch. Shared by all connection threads.
#[derive(Debug)]
pub struct Controls {
    state: Mutex<ControlState>,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            state: Mutex::new(ControlState {
                mode: Mode::Ok,
                remaining: None,
                stall_ms: u64::try_from(DEFAULT_STALL.as_millis()).unwrap_or(30_000),
            }),
        }
    }
}

impl Controls {
    /// Applies a control request and returns the new state.
    ///
    /// # Errors
    /// `invalid_control` when `stallMs` is over [`MAX_STALL_MS`].
    pub fn set(&self, request: &ControlRequest) -> Result<ControlState, OriginError> {
        if request.stall_ms.is_some_and(|ms| ms > MAX_STALL_MS) {
            return Err(OriginError::InvalidControl(format!(
                "stallMs must be at most {MAX_STALL_MS}"
            )));
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mode) = request.mode {
            state.mode = mode;
            state.remaining = if mode == Mode::Ok {
                None
            } else {
                request.times
            };
        }
        if let Some(ms) = request.stall_ms {
            state.stall_ms = ms;
        }
        Ok(*state)
    }

    /// The fault for the next signed request, if any; counts it against `times`.
    pub fn take(&self) -> Option<Fault> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = match state.mode {
            Mode::Ok => return None,
            Mode::Fail => Fault::Fail,
            Mode::Stall => Fault::Stall(Duration::from_millis(state.stall_ms)),
            Mode::Drop => Fault::Drop,
        };
        match state.remaining {
            Some(0) => {
                state.mode = Mode::Ok;
                state.remaining = None;
                return None;
            }
            Some(n) => {
                state.remaining = Some(n.saturating_sub(1));
                if n == 1 {
                    state.mode = Mode::Ok;
                    state.remaining = None;
                }
            }
            None => {}
        }
        Some(fault)
    }
}

/// What reached the origin.
#[derive(Debug, Default)]
pub struct Stats {
    received: Mutex<BTreeMap<&'static str, u64>>,
    applied: AtomicU64,
    replayed: AtomicU64,
    rejected: AtomicU64,
    faulted: AtomicU64,
    previous_secret: AtomicU64,
}

/// A snapshot of [`Stats`], as `GET /__control/stats` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Requests per route name (tenant routes and `not_found`; not `healthz` or controls).
    pub received: BTreeMap<&'static str, u64>,
    /// Sync payloads applied (replays not counted).
    pub applied: u64,
    /// Sync requests answered from the idempotency table.
    pub replayed: u64,
    /// Requests refused (any 4xx problem answer).
    pub rejected: u64,
    /// Requests hit by an injected fault.
    pub faulted: u64,
    /// Requests whose attestation verified with the previous secret (a rotation in progress).
    #[serde(rename = "previousSecret")]
    pub previous_secret: u64,
}

impl Stats {
    /// Counts a request to `route`.
    pub fn received(&self, route: &'static str) {
        let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        let count = received.entry(route).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Counts an applied sync.
    pub fn applied(&self) {
        self.applied.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a replayed (idempotent) sync answer.
    pub fn replayed(&self) {
        self.replayed.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a refusal.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts an injected fault.
    pub fn faulted(&self) {
        self.faulted.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a request attested with the previous secret.
    pub fn previous_secret(&self) {
        self.previous_secret.fetch_add(1, Ordering::SeqCst);
    }

    /// The current counts.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            received: self
                .received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            applied: self.applied.load(Ordering::SeqCst),
            replayed: self.replayed.load(Ordering::SeqCst),
            rejected: self.rejected.load(Ordering::SeqCst),
            faulted: self.faulted.load(Ordering::SeqCst),
            previous_secret: self.previous_secret.load(Ordering::SeqCst),
        }
    }

    /// Zeroes every count.
    pub fn reset(&self) {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for counter in [
            &self.applied,
            &self.replayed,
            &self.rejected,
            &self.faulted,
            &self.previous_secret,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(mode: Mode, times: Option<u64>) -> ControlRequest {
        ControlRequest {
            mode: Some(mode),
            times,
            stall_ms: None,
            reset_stats: false,
        }
    }

    #[test]
    fn times_counts_down_then_resets() {
        let c = Controls::default();
        c.set(&control(Mode::Fail, Some(2))).unwrap();
        assert_eq!(c.take(), Some(Fault::Fail));
        assert_eq!(c.take(), Some(Fault::Fail));
        assert_eq!(c.take(), None);
        c.set(&control(Mode::Drop, None)).unwrap();
        for _ in 0..5 {
            assert_eq!(c.take(), Some(Fault::Drop));
        }
        c.set(&control(Mode::Ok, Some(3))).unwrap();
        assert_eq!(c.take(), None);
        c.set(&control(Mode::Fail, Some(0))).unwrap();
        assert_eq!(c.take(), None);
    }
}
