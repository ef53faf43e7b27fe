//! Provider webhooks: HubSpot (v3), Stripe, GitHub, Slack and Shopify deliveries, verified with
//! each provider's own scheme before the edge forwards them (`POST /v1/{instance}/hooks/{provider}`).
//!
//! Sans-IO like the rest of the core: [`verify_hook`] takes the request as received, the
//! provider's secret from the tenant policy and `now`, and answers a [`HookVerdict`] or a
//! [`Rejection`] with the stable codes of signed syncs — `missing_signature` (no signature
//! header), `malformed_signature` (a header that cannot be read), `stale_timestamp` /
//! `future_timestamp` (outside the provider's window), `invalid_signature` (the MAC does not
//! verify) and `invalid_payload` (a signed body that does not carry what the delivery key is
//! read from). Tags are compared only by the MAC library ([`Primitives::find_hmac_sha256`]).
//!
//! | provider | header | MAC input | window | delivery key |
//! | --- | --- | --- | --- | --- |
//! | [`hubspot`] | `X-HubSpot-Signature-v3` (base64), `X-HubSpot-Request-Timestamp` (ms) | method + URI + body + timestamp | 300 s | the delivery's events (signed) |
//! | [`stripe`] | `Stripe-Signature: t=…,v1=…` (several `v1`) | `t.body` | 300 s | the event `id` (signed) |
//! | [`github`] | `X-Hub-Signature-256: sha256=<hex>` | body | none | `X-GitHub-Delivery` (not signed) |
//! | [`slack`] | `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp` | `v0:ts:body` | 300 s | timestamp + body (signed) |
//! | [`shopify`] | `X-Shopify-Hmac-Sha256` (base64) | body | none | `X-Shopify-Webhook-Id` (not signed) |
//!
//! **Replay.** The edge's ledger keeps two keys per delivery ([`HookVerdict::replay_keys`]): the
//! delivery key and the body's SHA-256, both bound to the tenant and the provider, for
//! [`HOOK_LEDGER_SECONDS`] — longer than any window, because providers retry a failed delivery
//! for hours to days, each time signed afresh with a new timestamp. The body hash is always
//! signed material, so editing an unsigned id header (GitHub's, Shopify's) cannot dodge the
//! ledger; for those two providers a captured delivery can be replayed only as a duplicate the
//! ledger refuses while it remembers it. The origin's `Idempotency-Key`
//! ([`HookVerdict::idempotency_key`]) is likewise derived from signed material only.

pub mod github;
pub mod hubspot;
pub mod shopify;
pub mod slack;
pub mod stripe;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Rejection;
use crate::replay::{ReplayKeys, bound_hash};
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, RustCrypto, hex};
use crate::signature::keys::Secret;
use crate::signature::skew::SkewWindow;

/// How long the ledger remembers a provider delivery, in seconds (three days): Stripe retries a
/// failed delivery for up to three days, HubSpot for a day, Shopify for hours, and GitHub keeps
/// deliveries for redelivery for three days.
pub const HOOK_LEDGER_SECONDS: i64 = 3 * 24 * 3600;

/// The timestamp window of the providers that sign a timestamp (HubSpot, Stripe, Slack), in
/// seconds, in both directions.
pub const PROVIDER_WINDOW_SECONDS: u64 = 300;

/// Longest delivery id (`X-GitHub-Delivery`, `X-Shopify-Webhook-Id`, a Stripe event id) kept.
pub const MAX_DELIVERY_ID_CHARS: usize = 128;

/// Longest event type (`X-GitHub-Event`, `X-Shopify-Topic`, a Stripe event `type`) kept.
pub const MAX_EVENT_TYPE_CHARS: usize = 128;

/// A webhook provider the edge verifies.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// HubSpot webhooks, signature v3.
    #[serde(rename = "hubspot")]
    HubSpot,
    /// Stripe webhooks (`Stripe-Signature`).
    Stripe,
    /// GitHub webhooks (`X-Hub-Signature-256`).
    #[serde(rename = "github")]
    GitHub,
    /// Slack requests (`X-Slack-Signature` v0).
    Slack,
    /// Shopify webhooks (`X-Shopify-Hmac-Sha256`).
    Shopify,
}

impl Provider {
    /// Every provider, in wire order.
    pub const ALL: [Self; 5] = [
        Self::HubSpot,
        Self::Stripe,
        Self::GitHub,
        Self::Slack,
        Self::Shopify,
    ];

    /// The wire name, as in the route and the policy (`hubspot`, `stripe`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HubSpot => "hubspot",
            Self::Stripe => "stripe",
            Self::GitHub => "github",
            Self::Slack => "slack",
            Self::Shopify => "shopify",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether the provider signs a timestamp (and so has a window).
    #[must_use]
    pub const fn signs_timestamp(self) -> bool {
        matches!(self, Self::HubSpot | Self::Stripe | Self::Slack)
    }
}

/// A provider's webhook secret: the text the provider shows (a HubSpot app's client secret, a
/// Stripe endpoint's `whsec_…` signing secret, a GitHub webhook secret, a Slack signing secret,
/// a Shopify app's client secret). The MAC key is the text's UTF-8 bytes as they are — Stripe's
/// `whsec_` is part of its key, not base64 to decode. Redacted in `Debug`, never serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSecret(Secret);

impl ProviderSecret {
    /// Wraps the secret's text.
    ///
    /// # Errors
    /// A short reason (never echoing the input) when it is shorter than 16 or longer than 128
    /// bytes.
    pub fn new(text: &str) -> Result<Self, &'static str> {
        Secret::from_bytes(text.as_bytes().to_vec())
            .map(Self)
            .map_err(|_| "a provider secret must be 16 to 128 bytes")
    }

    /// The MAC key. Named so every use is easy to find in review.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_bytes()
    }
}

impl<'de> Deserialize<'de> for ProviderSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

/// One provider's entry in a tenant policy: `{"secret": "…"}`. Serialised as `{}`: the admin
/// API shows which providers are configured, never their secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// The provider's secret. Never serialised.
    #[serde(skip_serializing)]
    pub secret: ProviderSecret,
}

/// The `providers` member of a tenant policy: which providers' webhooks an instance accepts,
/// each with its secret. A provider without an entry is answered `not_found`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Providers {
    /// HubSpot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubspot: Option<ProviderEntry>,
    /// Stripe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<ProviderEntry>,
    /// GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<ProviderEntry>,
    /// Slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<ProviderEntry>,
    /// Shopify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopify: Option<ProviderEntry>,
}

impl Providers {
    /// The entry of `provider`, when the instance accepts it.
    #[must_use]
    pub const fn get(&self, provider: Provider) -> Option<&ProviderEntry> {
        self.slot(provider).as_ref()
    }

    /// Sets (`Some`) or removes (`None`) the entry of `provider`.
    pub fn set(&mut self, provider: Provider, entry: Option<ProviderEntry>) {
        *self.slot_mut(provider) = entry;
    }

    const fn slot(&self, provider: Provider) -> &Option<ProviderEntry> {
        match provider {
            Provider::HubSpot => &self.hubspot,
            Provider::Stripe => &self.stripe,
            Provider::GitHub => &self.github,
            Provider::Slack => &self.slack,
            Provider::Shopify => &self.shopify,
        }
    }

    const fn slot_mut(&mut self, provider: Provider) -> &mut Option<ProviderEntry> {
        match provider {
            Provider::HubSpot => &mut self.hubspot,
            Provider::Stripe => &mut self.stripe,
            Provider::GitHub => &mut self.github,
            Provider::Slack => &mut self.slack,
            Provider::Shopify => &mut self.shopify,
        }
    }

    /// The configured providers and their entries, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (Provider, &ProviderEntry)> {
        Provider::ALL
            .into_iter()
            .filter_map(|p| self.get(p).map(|entry| (p, entry)))
    }

    /// Whether no provider is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// What one provider's verifier establishes about a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    /// The signed timestamp, Unix seconds, for providers that sign one.
    pub timestamp: Option<i64>,
    /// The delivery's id as the provider names it, when it sends one.
    pub delivery_id: Option<String>,
    /// Whether the MAC covers `delivery_id`.
    pub delivery_id_signed: bool,
    /// The material the delivery key is made of (see the module table).
    pub delivery_key: String,
    /// Whether the MAC covers everything `delivery_key` is made of.
    pub delivery_key_signed: bool,
    /// The event type, when the provider says.
    pub event_type: Option<String>,
}

/// What an accepted provider delivery established.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookVerdict {
    /// The provider.
    pub provider: Provider,
    /// The signed timestamp, Unix seconds (`None` for GitHub and Shopify, which sign none).
    pub timestamp: Option<i64>,
    /// The delivery's id as the provider names it (Stripe's event id, `X-GitHub-Delivery`,
    /// `X-Shopify-Webhook-Id`; `None` for HubSpot and Slack).
    pub delivery_id: Option<String>,
    /// Whether the signature covers `delivery_id` (Stripe) or not (GitHub, Shopify).
    pub delivery_id_signed: bool,
    /// The delivery key the ledger de-duplicates on (see the module table), as text.
    pub delivery_key: String,
    /// The event type, when the provider says (Stripe's `type`, `X-GitHub-Event`,
    /// `X-Shopify-Topic`, the first HubSpot event's `subscriptionType`, a Slack event's `type`).
    pub event_type: Option<String>,
    /// Lowercase hex SHA-256 of the body.
    pub body_sha256: String,
    /// The origin's `Idempotency-Key` for this delivery: `hook-{provider}-{hex}`, a hash of
    /// signed material only (the delivery key when the provider signs it, else the body hash).
    pub idempotency_key: String,
}

impl HookVerdict {
    /// The replay ledger keys of this delivery for `tenant`: the delivery key and the body hash,
    /// each bound to the tenant and the provider, remembered until `now` +
    /// [`HOOK_LEDGER_SECONDS`].
    #[must_use]
    pub fn replay_keys(&self, tenant: &str, now: i64, primitives: &dyn Primitives) -> ReplayKeys {
        let provider = self.provider.as_str();
        ReplayKeys {
            nonce_key: bound_hash(
                primitives,
                "syncgate/hook-delivery/v1",
                &[tenant, provider, &self.delivery_key],
            ),
            payload_key: bound_hash(
                primitives,
                "syncgate/hook-body/v1",
                &[tenant, provider, &self.body_sha256],
            ),
            expires_at: now.saturating_add(HOOK_LEDGER_SECONDS),
        }
    }
}

/// The answer to an applied provider delivery: `{"status":"applied","requestId","provider",
/// "deliveryId"}`, given by the edge and by the origin (and again to every retry of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookApplied {
    /// Always `applied`.
    pub status: crate::origin::idempotency::AppliedStatus,
    /// The request that applied it.
    pub request_id: String,
    /// The provider.
    pub provider: Provider,
    /// The delivery's id as the provider names it, when there is one.
    pub delivery_id: Option<String>,
}

impl HookApplied {
    /// The answer for delivery `delivery_id` of `provider` applied by `request_id`.
    #[must_use]
    pub fn new(request_id: &str, provider: Provider, delivery_id: Option<&str>) -> Self {
        Self {
            status: crate::origin::idempotency::AppliedStatus::Applied,
            request_id: request_id.to_string(),
            provider,
            delivery_id: delivery_id.map(str::to_string),
        }
    }
}

/// Verifies a delivery of `provider` signed with `secret`, at `now` (Unix seconds).
///
/// Order: signature headers, timestamp syntax and window (providers that sign one), MAC, then
/// the signed body's delivery key. Nothing is parsed before the MAC verifies.
///
/// # Errors
/// `missing_signature`, `malformed_signature`, `stale_timestamp`, `future_timestamp`,
/// `invalid_signature`, or `invalid_payload` when a signed body lacks its delivery key.
pub fn verify_hook(
    provider: Provider,
    request: &HttpRequest,
    secret: &ProviderSecret,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<HookVerdict, Rejection> {
    let key = secret.expose_bytes();
    let signed = match provider {
        Provider::HubSpot => hubspot::verify(request, key, now, primitives)?,
        Provider::Stripe => stripe::verify(request, key, now, primitives)?,
        Provider::GitHub => github::verify(request, key, primitives)?,
        Provider::Slack => slack::verify(request, key, now, primitives)?,
        Provider::Shopify => shopify::verify(request, key, primitives)?,
    };
    let body_sha256 = hex(&primitives.sha256(&request.body));
    let idempotency_material = if signed.delivery_key_signed {
        signed.delivery_key.as_str()
    } else {
        body_sha256.as_str()
    };
    let idempotency_key = format!(
        "hook-{}-{}",
        provider.as_str(),
        hex(&primitives.sha256(idempotency_material.as_bytes()))
    );
    Ok(HookVerdict {
        provider,
        timestamp: signed.timestamp,
        delivery_id: signed.delivery_id,
        delivery_id_signed: signed.delivery_id_signed,
        delivery_key: signed.delivery_key,
        event_type: signed.event_type,
        body_sha256,
        idempotency_key,
    })
}

/// [`verify_hook`] with the pure-Rust primitives.
///
/// # Errors
/// As [`verify_hook`].
pub fn verify_hook_default(
    provider: Provider,
    request: &HttpRequest,
    secret: &ProviderSecret,
    now: i64,
) -> Result<HookVerdict, Rejection> {
    verify_hook(provider, request, secret, now, &RustCrypto)
}

// Helpers shared by the provider modules.

/// The provider window.
pub(crate) fn window() -> SkewWindow {
    SkewWindow::new(PROVIDER_WINDOW_SECONDS)
}

/// The provider's signature header `name`.
///
/// # Errors
/// `missing_signature` when the request has none.
pub(crate) fn signature_header<'r>(
    request: &'r HttpRequest,
    name: &str,
) -> Result<&'r str, Rejection> {
    request.headers.get(name).ok_or(Rejection::MissingSignature)
}

/// A signed timestamp header `name`: its text as the provider signs it (trimmed) and its value,
/// at most `max_digits` decimal digits.
///
/// # Errors
/// `malformed_signature` when it is missing or not digits.
pub(crate) fn timestamp_header<'r>(
    request: &'r HttpRequest,
    name: &str,
    max_digits: usize,
) -> Result<(&'r str, i64), Rejection> {
    let text = request
        .headers
        .get(name)
        .ok_or_else(|| Rejection::malformed(format!("{name} is required")))?
        .trim();
    Ok((text, parse_digits(text, max_digits, name)?))
}
/// Parses a timestamp header of decimal digits (at most `max_digits`).
pub(crate) fn parse_digits(text: &str, max_digits: usize, what: &str) -> Result<i64, Rejection> {
    let text = text.trim();
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::malformed(format!(
            "{what} must be a decimal number"
        )));
    }
    text.parse()
        .map_err(|_| Rejection::malformed(format!("{what} must be a decimal number")))
}

/// Decodes a lowercase or uppercase hex tag; `None` when it is not hex.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    ::hex::decode(text.trim()).ok()
}

/// Decodes a standard base64 tag; `None` when it is not base64.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// Whether `key` verifies one of `tags` over `parts` (constant time; an empty tag never does).
pub(crate) fn mac_matches(
    primitives: &dyn Primitives,
    key: &[u8],
    parts: &[&[u8]],
    tags: &[Vec<u8>],
) -> bool {
    let tags: Vec<&[u8]> = tags
        .iter()
        .map(Vec::as_slice)
        .filter(|t| !t.is_empty())
        .collect();
    !tags.is_empty() && primitives.find_hmac_sha256(key, parts, &tags).is_some()
}

/// A header value kept as an id or a type: 1 to `max` visible ASCII characters, else `None`.
pub(crate) fn visible(value: Option<&str>, max: usize) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::Value::String(p.as_str().into())
            );
        }
        assert_eq!(Provider::parse("HubSpot"), None);
        assert_eq!(Provider::parse("svix"), None);
    }

    #[test]
    fn providers_serialise_without_secrets() {
        let providers: Providers = serde_json::from_str(
            r#"{"github":{"secret":"It's a Secret to Everybody"},"stripe":{"secret":"whsec_test_secret_0123456789"}}"#,
        )
        .unwrap();
        assert!(providers.get(Provider::GitHub).is_some());
        assert!(providers.get(Provider::Slack).is_none());
        let out = serde_json::to_string(&providers).unwrap();
        assert_eq!(out, r#"{"stripe":{},"github":{}}"#);
        assert!(!format!("{providers:?}").contains("Everybody"));
        for bad in [
            r#"{"gitlab":{"secret":"0123456789abcdef"}}"#,
            r#"{"github":{"secret":"short"}}"#,
            r#"{"github":{"secret":"0123456789abcdef","x":1}}"#,
            r#"{"github":{}}"#,
        ] {
            let err = serde_json::from_str::<Providers>(bad)
                .unwrap_err()
                .to_string();
            assert!(!err.contains("0123456789abcdef"), "{err}");
        }
    }

    #[test]
    fn replay_keys_are_bound_to_tenant_and_provider() {
        let verdict = HookVerdict {
            provider: Provider::GitHub,
            timestamp: None,
            delivery_id: Some("d1".into()),
            delivery_id_signed: false,
            delivery_key: "d1".into(),
            event_type: None,
            body_sha256: "ab".into(),
            idempotency_key: "hook-github-00".into(),
        };
        let a = verdict.replay_keys("acme", 100, &RustCrypto);
        assert_eq!(a.expires_at, 100 + HOOK_LEDGER_SECONDS);
        assert_ne!(a.nonce_key, a.payload_key);
        let b = verdict.replay_keys("globex", 100, &RustCrypto);
        assert_ne!(a.nonce_key, b.nonce_key);
        assert_ne!(a.payload_key, b.payload_key);
        let shopify = HookVerdict {
            provider: Provider::Shopify,
            ..verdict
        };
        let c = shopify.replay_keys("acme", 100, &RustCrypto);
        assert_ne!(a.nonce_key, c.nonce_key);
        assert_ne!(a.payload_key, c.payload_key);
    }
}
