//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
//!
//! The signed content is `{id}.{timestamp}.{body}`; the signature header holds one or more
//! space-separated `v1,<base64>` entries so senders can sign with old and new secrets while they
//! rotate. No key id travels on the wire, so every usable key of the tenant is tried and the
//! verdict records which one matched. The `svix-*` header names, which Svix's libraries send, are
//! accepted as aliases.
//!
//! `webhook-id` is the nonce. It is covered by the MAC, so the replay ledger is keyed on signed
//! material and cannot be bypassed by editing the header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::Rejection;
use crate::request::Headers;
use crate::signature::crypto::Primitives;
use crate::signature::keys::{KeyRing, SigningKey};
use crate::signature::skew::SkewWindow;

/// At most this many `v1,` entries are considered.
pub const MAX_SIGNATURES: usize = 16;
/// Longest accepted `webhook-id`.
pub const MAX_ID_LEN: usize = 128;

/// The three header values of a Standard Webhooks request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id` (or `svix-id`).
    pub id: &'a str,
    /// `webhook-timestamp` (or `svix-timestamp`).
    pub timestamp: &'a str,
    /// `webhook-signature` (or `svix-signature`).
    pub signature: &'a str,
}

impl<'a> WebhookHeaders<'a> {
    /// Reads the headers, preferring `webhook-*` over `svix-*`. `None` when no signature header
    /// is present at all.
    #[must_use]
    pub fn find(headers: &'a Headers) -> Option<Result<Self, Rejection>> {
        let get = |name: &str, alias: &str| headers.get(name).or_else(|| headers.get(alias));
        let signature = get("webhook-signature", "svix-signature")?;
        let (Some(id), Some(timestamp)) = (
            get("webhook-id", "svix-id"),
            get("webhook-timestamp", "svix-timestamp"),
        ) else {
            return Some(Err(Rejection::malformed(
                "webhook-id and webhook-timestamp are required with webhook-signature",
            )));
        };
        Some(Ok(Self {
            id,
            timestamp,
            signature,
        }))
    }

    /// Whether any Standard Webhooks signature header is present.
    #[must_use]
    pub fn present(headers: &Headers) -> bool {
        headers.contains("webhook-signature") || headers.contains("svix-signature")
    }
}

/// What a verified Standard Webhooks signature establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'k> {
    /// The key that matched.
    pub key: &'k SigningKey,
    /// `webhook-id`, the nonce.
    pub id: String,
    /// `webhook-timestamp`, Unix seconds.
    pub timestamp: i64,
}

/// Parses the `v1,` entries of a signature header. Entries of other versions (`v1a,` for
/// asymmetric signatures) are skipped; a `v1,` entry that is not base64 is kept as an empty tag,
/// which never verifies.
///
/// # Errors
/// `malformed_signature` when the header is empty, has too many entries or an entry without `,`.
pub fn v1_tags(signature: &str) -> Result<Vec<Vec<u8>>, Rejection> {
    let entries = || signature.split_ascii_whitespace();
    let (mut count, mut v1, mut bare) = (0_usize, 0_usize, false);
    for entry in entries() {
        count += 1;
        v1 += usize::from(entry.starts_with("v1,"));
        bare |= !entry.contains(',');
    }
    if count == 0 {
        return Err(Rejection::malformed("webhook-signature is empty"));
    }
    if count > MAX_SIGNATURES {
        return Err(Rejection::malformed(
            "too many signatures in webhook-signature",
        ));
    }
    if bare {
        return Err(Rejection::malformed(
            "webhook-signature entries must look like v1,<base64>",
        ));
    }
    let mut tags = Vec::with_capacity(v1);
    tags.extend(
        entries()
            .filter_map(|e| e.strip_prefix("v1,"))
            .map(|b64| STANDARD.decode(b64).unwrap_or_default()),
    );
    Ok(tags)
}

/// Verifies a Standard Webhooks request against a tenant's key ring.
///
/// Order: header syntax, timestamp window, usable keys (newest first), MAC. When no usable key
/// matches but a revoked one does, the answer is `revoked_key`, so a sender still on a revoked
/// secret learns why.
///
/// # Errors
/// The first failing check's rejection.
pub fn verify<'k>(
    headers: WebhookHeaders<'_>,
    body: &[u8],
    keys: &'k KeyRing,
    window: SkewWindow,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Verified<'k>, Rejection> {
    let WebhookHeaders {
        id,
        timestamp,
        signature,
    } = headers;
    check_id(id)?;
    let ts = parse_timestamp(timestamp)?;
    let tags = v1_tags(signature)?;
    window.check(ts, now)?;
    let tag_refs: Vec<&[u8]> = tags.iter().map(Vec::as_slice).collect();
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    let matches = |key: &SigningKey| {
        !tag_refs.is_empty()
            && primitives
                .find_hmac_sha256(key.secret.expose_bytes(), &parts, &tag_refs)
                .is_some()
    };
    if let Some(key) = keys.usable().find(|k| matches(k)) {
        return Ok(Verified {
            key,
            id: id.to_string(),
            timestamp: ts,
        });
    }
    if keys.0.iter().any(|k| !k.status.verifies() && matches(k)) {
        return Err(Rejection::RevokedKey);
    }
    if keys.usable().next().is_none() {
        return Err(Rejection::UnknownKey);
    }
    Err(Rejection::InvalidSignature)
}

/// Checks a `webhook-id`: 1 to 128 visible ASCII characters.
///
/// # Errors
/// `malformed_signature` otherwise.
pub fn check_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(Rejection::malformed(
            "webhook-id must be 1 to 128 visible ascii characters",
        ));
    }
    Ok(())
}

/// Parses `webhook-timestamp`: Unix seconds, at most 12 digits.
///
/// # Errors
/// `malformed_signature` otherwise.
pub fn parse_timestamp(text: &str) -> Result<i64, Rejection> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::malformed(
            "webhook-timestamp must be unix seconds",
        ));
    }
    text.parse()
        .map_err(|_| Rejection::malformed("webhook-timestamp must be unix seconds"))
}

/// Signs `body` and returns the headers to add: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` (one `v1,` entry).
///
/// # Errors
/// `malformed_signature` when `id` is empty, too long or not visible ASCII.
pub fn sign(
    id: &str,
    timestamp: i64,
    body: &[u8],
    secret: &[u8],
    primitives: &dyn Primitives,
) -> Result<Vec<(String, String)>, Rejection> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(Rejection::malformed(
            "webhook-id must be 1 to 128 visible ascii characters",
        ));
    }
    let ts = timestamp.to_string();
    let tag = primitives.hmac_sha256(secret, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    Ok(vec![
        ("webhook-id".into(), id.to_string()),
        ("webhook-timestamp".into(), ts),
        (
            "webhook-signature".into(),
            format!("v1,{}", STANDARD.encode(tag)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries() {
        assert!(v1_tags("").is_err());
        assert!(v1_tags("garbage").is_err());
        assert_eq!(v1_tags("v1,").unwrap(), vec![Vec::<u8>::new()]);
        assert_eq!(v1_tags("v1a,AAAA v2,BBBB").unwrap().len(), 0);
        assert_eq!(
            v1_tags("v1,AAAA v1,!!").unwrap(),
            vec![vec![0, 0, 0], vec![]]
        );
    }
}
