//! API keys for the read routes and the customer API.
//!
//! A key is `sgk_<id>_<secret>`: the id (16 hex) names the key in logs and admin calls, the
//! secret (64 hex) is shown once at creation. Only the SHA-256 of the whole key is stored — in
//! the tenant's Durable Object, not KV, so a revocation takes effect on the next request.
//! A key belongs to one tenant: it is looked up in that tenant's object only, so tenant A's key
//! cannot act on tenant B.

use serde::{Deserialize, Serialize};
use syncgate::{Primitives, Rejection, RustCrypto, hex};

/// Scopes an API key may hold.
pub const SCOPES: [&str; 3] = ["sync:read", "customers:read", "customers:write"];
/// Prefix of every key.
pub const PREFIX: &str = "sgk_";

/// A newly issued key: the plaintext goes to the caller once, the hash to storage.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// Public id.
    pub id: String,
    /// The full plaintext key.
    pub key: String,
    /// Lowercase hex SHA-256 of the key.
    pub hash: String,
}

/// Issues a fresh key, or `None` if the platform had no randomness.
#[must_use]
pub fn issue() -> Option<IssuedKey> {
    let id = crate::http::random_hex(8)?;
    let secret = crate::http::random_secret()?;
    let key = format!("{PREFIX}{id}_{}", hex(&secret));
    Some(IssuedKey {
        hash: hash(&key),
        id,
        key,
    })
}

/// Lowercase hex SHA-256 of a key.
#[must_use]
pub fn hash(key: &str) -> String {
    hex(&RustCrypto.sha256(key.as_bytes()))
}

/// The id part of a well-formed key.
#[must_use]
pub fn id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of_len = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of_len(id, 16) && hex_of_len(secret, 64)).then_some(id)
}

/// Body of `POST /admin/v1/instances/{instance}/api-keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyRequest {
    /// Scopes, a non-empty subset of [`SCOPES`].
    pub scopes: Vec<String>,
    /// Customer fields the key may write; absent means all.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// A label for operators.
    #[serde(default)]
    pub name: Option<String>,
}

impl ApiKeyRequest {
    /// Parses and checks a request body.
    ///
    /// # Errors
    /// `invalid_field` naming the offending field.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        let request: Self = serde_json::from_slice(body).map_err(|e| Rejection::InvalidField {
            field: "body".into(),
            reason: syncgate::error::describe_error(&e),
        })?;
        if request.scopes.is_empty() {
            return Err(invalid("scopes", "must name at least one scope"));
        }
        if let Some(i) = request
            .scopes
            .iter()
            .position(|s| !SCOPES.contains(&s.as_str()))
        {
            return Err(invalid(
                &format!("scopes[{i}]"),
                "must be sync:read, customers:read or customers:write",
            ));
        }
        if let Some(fields) = &request.fields
            && let Some(i) = fields.iter().position(|f| {
                f.is_empty()
                    || f.len() > 64
                    || !f
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            })
        {
            return Err(invalid(
                &format!("fields[{i}]"),
                "must be a customer field name",
            ));
        }
        if request
            .name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 100)
        {
            return Err(invalid("name", "must be at most 100 characters"));
        }
        Ok(request)
    }
}

fn invalid(field: &str, reason: &str) -> Rejection {
    Rejection::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A stored key record (what the Durable Object keeps; never the plaintext).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Public id.
    pub id: String,
    /// Lowercase hex SHA-256 of the key.
    pub hash: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Owned fields, if limited.
    pub fields: Option<Vec<String>>,
    /// Operator label.
    pub name: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}
