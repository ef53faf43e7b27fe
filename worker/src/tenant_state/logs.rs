//! The sync log: every attempt, applied or rejected, newest first (brief §4 item shape).
//!
//! Rows fall into three [`LogClass`]es, each bounded on its own, so that no amount of one can
//! push out another: applied syncs (the tenant's record of applied work, kept for the retention
//! period up to [`super::LOG_RETENTION_ROWS`]), signed requests the edge refused, and refusals
//! of requests that were never authenticated. Anyone can send the last kind, so a flood of them
//! only ever replaces older rows of its own small class, and is also counted per code and
//! minute (`refusedLastHour` in `sync/status`). Stored text is cut to a short length whatever
//! its source.

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use worker::{Response, Result, SqlStorageValue};

use super::{
    LOG_RETENTION_ROWS, TenantState, int, opt_str, page_params, paginate, str_value, u64_value,
};
use crate::http;

/// How far signature checking got (`signatureResult` in the log): the core's stage of the
/// rejection.
pub use syncgate::error::SignatureStage as SignatureResult;

/// Whether a logged sync was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    /// Applied at the origin.
    Applied,
    /// Refused, at the edge or by the origin.
    Rejected,
}

impl LogStatus {
    /// The stored and listed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Rejected => "rejected",
        }
    }
}

/// One sync log row as stored and listed (brief §4 item shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Edge request id.
    pub request_id: String,
    /// Arrival time, Unix milliseconds.
    pub received_at: i64,
    /// Source IP.
    pub source_ip: Option<String>,
    /// Payload type, when known.
    pub payload_type: Option<String>,
    /// Payload version, when known.
    pub payload_version: Option<u64>,
    /// Key id, when known.
    pub key_id: Option<String>,
    /// How far signature checking got.
    pub signature_result: SignatureResult,
    /// Applied or rejected.
    pub status: LogStatus,
    /// Rejection code, null when applied.
    pub code: Option<String>,
    /// Rejection message, null when applied.
    pub message: Option<String>,
}

impl LogEntry {
    /// A rejected attempt.
    #[must_use]
    pub fn rejected(
        request_id: &str,
        received_at: i64,
        source_ip: Option<String>,
        rejection: &Rejection,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            received_at,
            source_ip,
            payload_type: None,
            payload_version: None,
            key_id: None,
            signature_result: rejection.stage(),
            status: LogStatus::Rejected,
            code: Some(rejection.code().into()),
            message: Some(rejection.to_string()),
        }
    }
}

/// Longest message stored in a log row, in characters.
pub const MAX_LOG_MESSAGE_CHARS: usize = 200;
/// Longest source IP or other short field stored in a log row, in characters.
pub const MAX_LOG_FIELD_CHARS: usize = 64;

/// The class of a sync log row, each kept within its own bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogClass {
    /// An applied sync.
    Applied,
    /// A signed, authenticated request the edge refused (payload, scope, replay, version, origin).
    Refused,
    /// A request refused before it was authenticated (unsigned, wrongly signed, too large, …).
    Unsigned,
}

impl LogClass {
    /// Every class.
    pub const ALL: [Self; 3] = [Self::Applied, Self::Refused, Self::Unsigned];

    /// The class of `entry`.
    #[must_use]
    pub fn of(entry: &LogEntry) -> Self {
        if entry.signature_result != SignatureResult::Valid {
            Self::Unsigned
        } else if entry.status == LogStatus::Applied {
            Self::Applied
        } else {
            Self::Refused
        }
    }

    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Refused => "refused",
            Self::Unsigned => "unsigned",
        }
    }

    /// Most rows of this class kept.
    #[must_use]
    pub const fn cap(self) -> i64 {
        match self {
            Self::Applied => LOG_RETENTION_ROWS,
            Self::Refused => LOG_RETENTION_ROWS,
            Self::Unsigned => 500,
        }
    }
}

/// `text` cut to at most `max` characters.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[derive(Deserialize)]
struct CodeCount {
    code: String,
    n: i64,
}

#[derive(Deserialize)]
struct LogRow {
    seq: i64,
    request_id: String,
    received_at: i64,
    source_ip: Option<String>,
    payload_type: Option<String>,
    payload_version: Option<i64>,
    key_id: Option<String>,
    signature_result: String,
    status: String,
    code: Option<String>,
    message: Option<String>,
}

impl TenantState {
    pub(super) fn append_log(&self, entry: &LogEntry) -> Result<()> {
        let class = LogClass::of(entry);
        let short = |field: Option<&str>| field.map(|f| cut(f, MAX_LOG_FIELD_CHARS));
        self.sql().exec(
            "INSERT INTO sync_log (request_id, received_at, source_ip, payload_type, payload_version, key_id, signature_result, status, code, message, class)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                str_value(&cut(&entry.request_id, MAX_LOG_FIELD_CHARS)),
                int(entry.received_at),
                opt_str(short(entry.source_ip.as_deref()).as_deref()),
                opt_str(short(entry.payload_type.as_deref()).as_deref()),
                entry.payload_version.map_or(SqlStorageValue::Null, u64_value),
                opt_str(short(entry.key_id.as_deref()).as_deref()),
                str_value(entry.signature_result.as_str()),
                str_value(entry.status.as_str()),
                opt_str(short(entry.code.as_deref()).as_deref()),
                opt_str(
                    entry
                        .message
                        .as_deref()
                        .map(|m| cut(m, MAX_LOG_MESSAGE_CHARS))
                        .as_deref(),
                ),
                str_value(class.as_str()),
            ],
        )?;
        if class != LogClass::Applied {
            // Refusals are bounded as they arrive, not only when the alarm prunes.
            self.trim_log(class)?;
            if let Some(code) = &entry.code {
                self.count_refusal(code, entry.received_at)?;
            }
        }
        Ok(())
    }

    /// Deletes the rows of `class` beyond its cap, oldest first.
    pub(super) fn trim_log(&self, class: LogClass) -> Result<()> {
        self.sql().exec(
            "DELETE FROM sync_log WHERE class = ? AND seq <= (
               SELECT seq FROM sync_log WHERE class = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            vec![
                str_value(class.as_str()),
                str_value(class.as_str()),
                int(class.cap()),
            ],
        )?;
        Ok(())
    }

    /// Counts one refusal with `code` in the minute of `at_ms` (the whole cost of a refusal
    /// that is not worth a row, such as a customer-API call without a valid key).
    pub(super) fn count_refusal(&self, code: &str, at_ms: i64) -> Result<()> {
        self.sql().exec(
            "INSERT INTO refusal_counts (minute, code, n) VALUES (?, ?, 1)
             ON CONFLICT (minute, code) DO UPDATE SET n = n + 1",
            vec![
                int(at_ms / 60_000),
                str_value(&cut(code, MAX_LOG_FIELD_CHARS)),
            ],
        )?;
        Ok(())
    }

    /// Refusals per code over the last hour.
    pub(super) fn refused_last_hour(&self, now_ms: i64) -> Result<serde_json::Value> {
        let rows: Vec<CodeCount> = self
            .sql()
            .exec(
                "SELECT code, SUM(n) AS n FROM refusal_counts WHERE minute > ? GROUP BY code ORDER BY code",
                vec![int(now_ms / 60_000 - 60)],
            )?
            .to_array()?;
        Ok(serde_json::Value::Object(
            rows.into_iter()
                .map(|row| (row.code, serde_json::Value::from(row.n)))
                .collect(),
        ))
    }

    pub(super) fn logs(&self, url: &worker::Url) -> Result<Response> {
        let (limit, cursor) = page_params(url);
        let rows: Vec<LogRow> = self
            .sql()
            .exec(
                "SELECT seq, request_id, received_at, source_ip, payload_type, payload_version, key_id,
                        signature_result, status, code, message
                 FROM sync_log WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                vec![int(cursor), int(limit + 1)],
            )?
            .to_array()?;
        let (page, next_cursor) = paginate(&rows, limit, |row| row.seq);
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|row| {
                serde_json::json!({
                    "requestId": row.request_id,
                    "receivedAt": http::rfc3339(row.received_at),
                    "sourceIp": row.source_ip,
                    "payloadType": row.payload_type,
                    "payloadVersion": row.payload_version,
                    "keyId": row.key_id,
                    "signatureResult": row.signature_result,
                    "status": row.status,
                    "code": row.code,
                    "message": row.message,
                })
            })
            .collect();
        http::json(
            &serde_json::json!({ "items": items, "nextCursor": next_cursor }),
            200,
        )
    }
}
