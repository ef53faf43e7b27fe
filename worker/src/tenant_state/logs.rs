//! The sync log: every attempt, applied or rejected, newest first (brief §4 item shape).

use serde::{Deserialize, Serialize};
use syncgate::Rejection;
use worker::{Response, Result, SqlStorageValue};

use super::{TenantState, int, opt_str, page_params, paginate, str_value, u64_value};
use crate::http;

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
    /// `valid`, `invalid`, `missing` or `not_checked`.
    pub signature_result: String,
    /// `applied` or `rejected`.
    pub status: String,
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
        signature_result: &str,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            received_at,
            source_ip,
            payload_type: None,
            payload_version: None,
            key_id: None,
            signature_result: signature_result.into(),
            status: "rejected".into(),
            code: Some(rejection.code().into()),
            message: Some(rejection.to_string()),
        }
    }
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
        self.sql().exec(
            "INSERT INTO sync_log (request_id, received_at, source_ip, payload_type, payload_version, key_id, signature_result, status, code, message)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                str_value(&entry.request_id),
                int(entry.received_at),
                opt_str(entry.source_ip.as_deref()),
                opt_str(entry.payload_type.as_deref()),
                entry.payload_version.map_or(SqlStorageValue::Null, u64_value),
                opt_str(entry.key_id.as_deref()),
                str_value(&entry.signature_result),
                str_value(&entry.status),
                opt_str(entry.code.as_deref()),
                opt_str(entry.message.as_deref()),
            ],
        )?;
        Ok(())
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
