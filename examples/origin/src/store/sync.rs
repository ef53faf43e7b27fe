//! Applying a sync payload, and the reads that show its effect.
//!
//! [`Store::apply_sync`] does everything in one `BEGIN IMMEDIATE` transaction: look up the
//! idempotency key (a hit returns the first answer and applies nothing), refuse a section version
//! that is not newer than the stored one (`stale_version`, defence in depth: the edge checks this
//! too, but only the origin's database is the truth), write each section carried, recompute the
//! module state from the features section, record the last sync, and store the answer under the
//! idempotency key. Concurrent identical requests serialise on the transaction and the key's
//! primary key, so exactly one applies.
//!
//! No read selects `smtp_settings.password`: the bootstrap shows whether one is set, nothing more.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;
use syncgate::payload::{
    Branding, Features, RedactedSmtp, Section, Smtp, SmtpEncryption, SyncPayload,
};
use syncgate::{DEFAULT_BLOCKED_GROUPS, Rejection, recompute_modules};

use super::Store;
use crate::clock::rfc3339;
use crate::error::OriginError;

/// The idempotency scope of sync requests.
pub const SYNC_SCOPE: &str = "sync";
/// How long a stored idempotent answer is kept, in seconds (one day: far beyond the edge's
/// retry horizon, which is bounded by its 300 s signature window).
pub const IDEMPOTENCY_RETENTION_SECONDS: i64 = 86_400;

/// One sync request to apply.
#[derive(Debug, Clone, Copy)]
pub struct SyncWrite<'a> {
    /// The routed tenant (already checked against the payload's `tenant`).
    pub tenant: &'a str,
    /// The de-duplication key (the edge sends the body's SHA-256).
    pub idempotency_key: &'a str,
    /// Lowercase hex SHA-256 of the body, to detect a key reused with another body.
    pub body_sha256: &'a str,
    /// The edge's request id.
    pub request_id: &'a str,
    /// The key id that signed the payload at the edge.
    pub key_id: &'a str,
    /// The parsed payload.
    pub payload: &'a SyncPayload,
    /// The tenant's blocked module groups, as the edge sent them; the defaults when absent.
    pub blocked_groups: Option<&'a [String]>,
    /// The JSON answer to give now and to every retry.
    pub answer: &'a [u8],
    /// Server time, Unix seconds.
    pub now: i64,
}

/// What [`Store::apply_sync`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Applied now; answer with the given answer.
    Applied,
    /// Seen before: nothing applied; answer with the first answer.
    Replayed {
        /// The first answer's status.
        status: u16,
        /// The first answer's JSON body.
        body: Vec<u8>,
    },
}

/// The last applied sync, as the bootstrap shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastSync {
    /// When it was applied (RFC 3339 UTC).
    pub at: String,
    /// Its payload type.
    pub payload_type: String,
    /// Its payload version.
    pub payload_version: i64,
    /// The edge request id (shown by `sync/state` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The signing key id (shown by `sync/state` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// The app bootstrap: what the CRM shows right after a sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    /// The tenant.
    pub tenant: String,
    /// Branding, `null` when never synced.
    pub branding: Option<Value>,
    /// Recomputed module states (`[]` when features were never synced).
    pub modules: Value,
    /// Union of enabled modules' permissions (`[]` when never synced).
    pub permissions: Value,
    /// The plan, `null` when features were never synced.
    pub plan: Option<String>,
    /// SMTP settings without the password (`passwordSet` instead), `null` when never synced.
    pub smtp: Option<Value>,
    /// The last sync, `null` when never synced.
    pub last_sync: Option<LastSync>,
}

/// One section's applied version, for `sync/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionState {
    /// The last applied version.
    pub version: i64,
    /// When it was applied (RFC 3339 UTC).
    pub applied_at: String,
    /// The request that applied it.
    pub request_id: String,
}

/// Per-section versions and the last sync, for debugging and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// The tenant.
    pub tenant: String,
    /// `features`, `branding`, `smtp`: each `null` when never applied.
    pub sections: SectionStates,
    /// The last sync with its request and key id, `null` when never synced.
    pub last_sync: Option<LastSync>,
}

/// The applied version of each section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionStates {
    /// The features section.
    pub features: Option<SectionState>,
    /// The branding section.
    pub branding: Option<SectionState>,
    /// The SMTP section.
    pub smtp: Option<SectionState>,
}

/// The table holding a section. Fixed names, never user input.
const fn table(section: Section) -> &'static str {
    match section {
        Section::Features => "features",
        Section::Branding => "branding",
        Section::Smtp => "smtp_settings",
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Applies a sync payload idempotently (see the module docs).
    ///
    /// # Errors
    /// `stale_version` when a carried section is not newer than the stored one,
    /// `idempotency_conflict` when the key was used with another body, or a storage error.
    pub fn apply_sync(&self, write: &SyncWrite<'_>) -> Result<SyncOutcome, OriginError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM idempotency_keys WHERE created_unix < ?1",
                params![write.now.saturating_sub(IDEMPOTENCY_RETENTION_SECONDS)],
            )?;
            let earlier: Option<(String, i64, String)> = tx
                .query_row(
                    "SELECT body_sha256, status, response FROM idempotency_keys
                     WHERE tenant = ?1 AND scope = ?2 AND key = ?3",
                    params![write.tenant, SYNC_SCOPE, write.idempotency_key],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((body_sha256, status, response)) = earlier {
                if body_sha256 != write.body_sha256 {
                    return Err(Rejection::IdempotencyConflict.into());
                }
                return Ok(SyncOutcome::Replayed {
                    status: u16::try_from(status).unwrap_or(200),
                    body: response.into_bytes(),
                });
            }
            check_versions(&tx, write)?;
            let at = rfc3339(write.now);
            let payload = write.payload;
            if let Some(features) = payload.features() {
                write_features(&tx, write, &at, features)?;
            }
            if let Some(branding) = payload.branding() {
                write_branding(&tx, write, &at, branding)?;
            }
            if let Some(smtp) = payload.smtp() {
                write_smtp(&tx, write, &at, smtp)?;
            }
            tx.execute(
                "INSERT INTO last_sync (tenant, at, payload_type, payload_version, request_id, key_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (tenant) DO UPDATE SET at = excluded.at,
                   payload_type = excluded.payload_type, payload_version = excluded.payload_version,
                   request_id = excluded.request_id, key_id = excluded.key_id",
                params![
                    write.tenant,
                    at,
                    payload.payload_type().as_str(),
                    to_i64(payload.version()),
                    write.request_id,
                    write.key_id
                ],
            )?;
            let answer = String::from_utf8_lossy(write.answer);
            tx.execute(
                "INSERT INTO idempotency_keys
                   (tenant, scope, key, body_sha256, status, response, request_id, created_unix)
                 VALUES (?1, ?2, ?3, ?4, 200, ?5, ?6, ?7)",
                params![
                    write.tenant,
                    SYNC_SCOPE,
                    write.idempotency_key,
                    write.body_sha256,
                    answer,
                    write.request_id,
                    write.now
                ],
            )?;
            tx.commit()?;
            Ok(SyncOutcome::Applied)
        })
    }

    /// The app bootstrap for `tenant` (empty state when nothing was ever synced).
    ///
    /// # Errors
    /// A storage error.
    pub fn bootstrap(&self, tenant: &str) -> Result<Bootstrap, OriginError> {
        self.with(|conn| {
            let branding = conn
                .query_row(
                    "SELECT title, logo_url, sidebar_logo_url, favicon_url, primary_color, footer
                     FROM branding WHERE tenant = ?1",
                    params![tenant],
                    |row| {
                        Ok(BrandingRow {
                            title: row.get(0)?,
                            logo_url: row.get(1)?,
                            sidebar_logo_url: row.get(2)?,
                            favicon_url: row.get(3)?,
                            primary_color: row.get(4)?,
                            footer: row.get(5)?,
                        })
                    },
                )
                .optional()?;
            let branding = match branding {
                Some(row) => Some(row.into_json()?),
                None => None,
            };
            let features: Option<(String, String, String)> = conn
                .query_row(
                    "SELECT plan, modules, permissions FROM features WHERE tenant = ?1",
                    params![tenant],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            let (plan, modules, permissions) = match features {
                Some((plan, modules, permissions)) => (
                    Some(plan),
                    serde_json::from_str(&modules)?,
                    serde_json::from_str(&permissions)?,
                ),
                None => (None, Value::Array(Vec::new()), Value::Array(Vec::new())),
            };
            // The password column is deliberately not selected.
            let smtp = conn
                .query_row(
                    "SELECT host, port, encryption, username, password IS NOT NULL, from_email,
                            from_name
                     FROM smtp_settings WHERE tenant = ?1",
                    params![tenant],
                    |row| {
                        Ok(SmtpRow {
                            host: row.get(0)?,
                            port: row.get(1)?,
                            encryption: row.get(2)?,
                            username: row.get(3)?,
                            password_set: row.get(4)?,
                            from_email: row.get(5)?,
                            from_name: row.get(6)?,
                        })
                    },
                )
                .optional()?;
            let smtp = match smtp {
                Some(row) => Some(row.into_json()?),
                None => None,
            };
            Ok(Bootstrap {
                tenant: tenant.to_string(),
                branding,
                modules,
                permissions,
                plan,
                smtp,
                last_sync: last_sync(conn, tenant, false)?,
            })
        })
    }

    /// Per-section applied versions and the last sync for `tenant`.
    ///
    /// # Errors
    /// A storage error.
    pub fn sync_state(&self, tenant: &str) -> Result<SyncState, OriginError> {
        self.with(|conn| {
            let section = |section: Section| -> Result<Option<SectionState>, OriginError> {
                let sql = format!(
                    "SELECT version, updated_at, request_id FROM {} WHERE tenant = ?1",
                    table(section)
                );
                Ok(conn
                    .query_row(&sql, params![tenant], |row| {
                        Ok(SectionState {
                            version: row.get(0)?,
                            applied_at: row.get(1)?,
                            request_id: row.get(2)?,
                        })
                    })
                    .optional()?)
            };
            Ok(SyncState {
                tenant: tenant.to_string(),
                sections: SectionStates {
                    features: section(Section::Features)?,
                    branding: section(Section::Branding)?,
                    smtp: section(Section::Smtp)?,
                },
                last_sync: last_sync(conn, tenant, true)?,
            })
        })
    }
}

/// Refuses the payload when any carried section is not newer than what is stored.
fn check_versions(tx: &Transaction<'_>, write: &SyncWrite<'_>) -> Result<(), OriginError> {
    let received = write.payload.version();
    for section in write.payload.sections() {
        let sql = format!("SELECT version FROM {} WHERE tenant = ?1", table(section));
        let stored: Option<i64> = tx
            .query_row(&sql, params![write.tenant], |row| row.get(0))
            .optional()?;
        if let Some(stored) = stored
            && stored >= to_i64(received)
        {
            return Err(Rejection::StaleVersion {
                section: section.as_str().to_string(),
                applied_version: u64::try_from(stored).unwrap_or(0),
                received_version: received,
            }
            .into());
        }
    }
    Ok(())
}

fn write_features(
    tx: &Transaction<'_>,
    write: &SyncWrite<'_>,
    at: &str,
    features: &Features,
) -> Result<(), OriginError> {
    let defaults: Vec<String> = DEFAULT_BLOCKED_GROUPS.map(String::from).to_vec();
    let blocked = write.blocked_groups.unwrap_or(&defaults);
    let state = recompute_modules(features, blocked);
    tx.execute(
        "INSERT INTO features
           (tenant, version, plan, definition, modules, permissions, updated_at, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (tenant) DO UPDATE SET version = excluded.version, plan = excluded.plan,
           definition = excluded.definition, modules = excluded.modules,
           permissions = excluded.permissions, updated_at = excluded.updated_at,
           request_id = excluded.request_id",
        params![
            write.tenant,
            to_i64(write.payload.version()),
            features.plan,
            serde_json::to_string(features)?,
            serde_json::to_string(&state.modules)?,
            serde_json::to_string(&state.permissions)?,
            at,
            write.request_id
        ],
    )?;
    Ok(())
}

fn write_branding(
    tx: &Transaction<'_>,
    write: &SyncWrite<'_>,
    at: &str,
    branding: &Branding,
) -> Result<(), OriginError> {
    let footer = match &branding.footer {
        Some(footer) => Some(serde_json::to_string(footer)?),
        None => None,
    };
    tx.execute(
        "INSERT INTO branding
           (tenant, version, title, logo_url, sidebar_logo_url, favicon_url, primary_color,
            footer, updated_at, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (tenant) DO UPDATE SET version = excluded.version, title = excluded.title,
           logo_url = excluded.logo_url, sidebar_logo_url = excluded.sidebar_logo_url,
           favicon_url = excluded.favicon_url, primary_color = excluded.primary_color,
           footer = excluded.footer, updated_at = excluded.updated_at,
           request_id = excluded.request_id",
        params![
            write.tenant,
            to_i64(write.payload.version()),
            branding.title,
            branding.logo_url,
            branding.sidebar_logo_url,
            branding.favicon_url,
            branding.primary_color,
            footer,
            at,
            write.request_id
        ],
    )?;
    Ok(())
}

fn write_smtp(
    tx: &Transaction<'_>,
    write: &SyncWrite<'_>,
    at: &str,
    smtp: &Smtp,
) -> Result<(), OriginError> {
    tx.execute(
        "INSERT INTO smtp_settings
           (tenant, version, host, port, encryption, username, password, from_email, from_name,
            updated_at, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (tenant) DO UPDATE SET version = excluded.version, host = excluded.host,
           port = excluded.port, encryption = excluded.encryption, username = excluded.username,
           password = excluded.password, from_email = excluded.from_email,
           from_name = excluded.from_name, updated_at = excluded.updated_at,
           request_id = excluded.request_id",
        params![
            write.tenant,
            to_i64(write.payload.version()),
            smtp.host,
            smtp.port,
            smtp.encryption.as_str(),
            smtp.username,
            smtp.password,
            smtp.from_email,
            smtp.from_name,
            at,
            write.request_id
        ],
    )?;
    Ok(())
}

fn last_sync(
    conn: &rusqlite::Connection,
    tenant: &str,
    with_ids: bool,
) -> Result<Option<LastSync>, OriginError> {
    Ok(conn
        .query_row(
            "SELECT at, payload_type, payload_version, request_id, key_id
             FROM last_sync WHERE tenant = ?1",
            params![tenant],
            |row| {
                Ok(LastSync {
                    at: row.get(0)?,
                    payload_type: row.get(1)?,
                    payload_version: row.get(2)?,
                    request_id: if with_ids { Some(row.get(3)?) } else { None },
                    key_id: if with_ids { Some(row.get(4)?) } else { None },
                })
            },
        )
        .optional()?)
}

/// A branding row.
struct BrandingRow {
    title: String,
    logo_url: Option<String>,
    sidebar_logo_url: Option<String>,
    favicon_url: Option<String>,
    primary_color: Option<String>,
    footer: Option<String>,
}

/// The branding section's wire shape (as synced, camelCase, absent fields left out).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrandingView {
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sidebar_logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    favicon_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    footer: Option<Value>,
}

impl BrandingRow {
    fn into_json(self) -> Result<Value, OriginError> {
        let footer = match self.footer {
            Some(text) => Some(serde_json::from_str(&text)?),
            None => None,
        };
        Ok(serde_json::to_value(BrandingView {
            title: self.title,
            logo_url: self.logo_url,
            sidebar_logo_url: self.sidebar_logo_url,
            favicon_url: self.favicon_url,
            primary_color: self.primary_color,
            footer,
        })?)
    }
}

/// An SMTP row without the password.
struct SmtpRow {
    host: String,
    port: u16,
    encryption: String,
    username: Option<String>,
    password_set: bool,
    from_email: String,
    from_name: Option<String>,
}

impl SmtpRow {
    /// The core's redacted SMTP shape: everything but the password, plus `passwordSet`.
    fn into_json(self) -> Result<Value, OriginError> {
        let encryption = SmtpEncryption::ALL
            .into_iter()
            .find(|e| e.as_str() == self.encryption)
            .ok_or_else(|| {
                OriginError::Storage("unknown smtp encryption in the database".into())
            })?;
        Ok(serde_json::to_value(RedactedSmtp {
            host: &self.host,
            port: self.port,
            encryption,
            username: self.username.as_deref(),
            password_set: self.password_set,
            from_email: &self.from_email,
            from_name: self.from_name.as_deref(),
        })?)
    }
}
