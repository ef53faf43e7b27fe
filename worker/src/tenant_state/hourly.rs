//! Accepted and refused syncs per hour over the last day, for the operator dashboard
//! (`GET /admin/v1/instances/{instance}/sync/hourly`).
//!
//! Accepted counts come from the applied rows of the sync log (kept 30 days). Refused counts
//! come from the per-minute refusal counters (kept [`REFUSAL_COUNT_MINUTES`], one day), not from
//! log rows: refusals of unauthenticated requests keep only their newest rows, so a flood would
//! be undercounted from the log, while every refusal is counted. They are the same counters as
//! `refusedLastHour` in `sync/status` (customer-API calls without a valid key included).

use serde::Deserialize;
use worker::{Response, Result};

use super::{REFUSAL_COUNT_MINUTES, TenantState, int};
use crate::http;

/// Hours in the series (the current, partial hour last).
pub const HOURS: i64 = REFUSAL_COUNT_MINUTES / 60;

const HOUR_MS: i64 = 3_600_000;

#[derive(Deserialize)]
struct HourCount {
    hour: i64,
    n: i64,
}

#[derive(Deserialize)]
struct CodeCount {
    code: String,
    n: i64,
}

impl TenantState {
    /// `{"from","to","hours":[{"start","accepted","refused"}…],"refusedByCode":{…}}`: one entry
    /// per clock hour (UTC), oldest first, ending with the hour of `now_ms`.
    pub(super) fn hourly(&self, now_ms: i64) -> Result<Response> {
        let first = now_ms.div_euclid(HOUR_MS) - (HOURS - 1);
        let sql = self.sql();
        let accepted: Vec<HourCount> = sql
            .exec(
                "SELECT received_at / 3600000 AS hour, COUNT(*) AS n FROM sync_log
                 WHERE status = 'applied' AND received_at >= ? GROUP BY hour",
                vec![int(first * HOUR_MS)],
            )?
            .to_array()?;
        let refused: Vec<HourCount> = sql
            .exec(
                "SELECT minute / 60 AS hour, SUM(n) AS n FROM refusal_counts
                 WHERE minute >= ? GROUP BY hour",
                vec![int(first * 60)],
            )?
            .to_array()?;
        let by_code: Vec<CodeCount> = sql
            .exec(
                "SELECT code, SUM(n) AS n FROM refusal_counts WHERE minute >= ?
                 GROUP BY code ORDER BY code",
                vec![int(first * 60)],
            )?
            .to_array()?;
        let count =
            |rows: &[HourCount], hour: i64| rows.iter().find(|r| r.hour == hour).map_or(0, |r| r.n);
        let hours: Vec<serde_json::Value> = (first..first + HOURS)
            .map(|hour| {
                serde_json::json!({
                    "start": http::rfc3339(hour * HOUR_MS),
                    "accepted": count(&accepted, hour),
                    "refused": count(&refused, hour),
                })
            })
            .collect();
        http::json(
            &serde_json::json!({
                "from": http::rfc3339(first * HOUR_MS),
                "to": http::rfc3339((first + HOURS) * HOUR_MS),
                "hours": hours,
                "refusedByCode": by_code
                    .into_iter()
                    .map(|row| (row.code, serde_json::Value::from(row.n)))
                    .collect::<serde_json::Map<_, _>>(),
            }),
            200,
        )
    }
}
