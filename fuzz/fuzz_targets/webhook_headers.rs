//! Standard Webhooks headers (src/signature/webhooks.rs): `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` (or the `svix-*` aliases) and the body, verified against the fixed
//! policy's key ring. Accepted only when a `v1,` entry is the true HMAC of `id.timestamp.body`
//! under a usable key, recomputed here with `hmac` directly.
//!
//! Input: four fields separated by `\n` (id, timestamp, signature, body; the body may contain
//! anything). A leading `s` selects the `svix-*` names.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use syncgate::webhooks::{self, WebhookHeaders};
use syncgate::{Headers, RustCrypto, SkewWindow, TenantPolicy};
use syncgate_fuzz::{NOW, policy};

fn fixed_policy() -> &'static TenantPolicy {
    static POLICY: OnceLock<TenantPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

fuzz_target!(|data: &[u8]| {
    let (prefix, data) = match data.split_first() {
        Some((b's', rest)) => ("svix", rest),
        _ => ("webhook", data),
    };
    let mut fields = data.splitn(4, |b| *b == b'\n');
    let (Some(id), Some(ts), Some(sig)) = (fields.next(), fields.next(), fields.next()) else {
        return;
    };
    let body = fields.next().unwrap_or_default();
    let (Ok(id), Ok(ts), Ok(sig)) = (
        std::str::from_utf8(id),
        std::str::from_utf8(ts),
        std::str::from_utf8(sig),
    ) else {
        return;
    };
    let headers: Headers = [
        (format!("{prefix}-id"), id),
        (format!("{prefix}-timestamp"), ts),
        (format!("{prefix}-signature"), sig),
    ]
    .into_iter()
    .collect();
    assert!(WebhookHeaders::present(&headers));
    let Some(Ok(found)) = WebhookHeaders::find(&headers) else {
        return;
    };
    let policy = fixed_policy();
    let Ok(verified) = webhooks::verify(
        found,
        body,
        &policy.keys,
        SkewWindow::new(policy.skew_seconds),
        NOW,
        &RustCrypto,
    ) else {
        return;
    };
    assert!(
        verified.key.status.verifies(),
        "accepted with a revoked key"
    );
    assert!(
        (verified.timestamp - NOW).abs() <= 300,
        "accepted outside the window"
    );
    assert_eq!(verified.id, found.id);
    let expected = hmac_entry(
        verified.key.secret.expose_bytes(),
        found.id,
        found.timestamp,
        body,
    );
    assert!(
        found
            .signature
            .split_ascii_whitespace()
            .any(|e| e == expected),
        "accepted without the true v1 entry"
    );
});

fn hmac_entry(secret: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    for part in [id.as_bytes(), b".", ts.as_bytes(), b".", body] {
        mac.update(part);
    }
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}
