//! Provider webhooks (src/providers/): HubSpot v3, Stripe, GitHub, Slack and Shopify deliveries
//! verified with a fixed secret at the fuzz clock. A delivery is accepted only when its
//! signature header carries the true HMAC-SHA256 of the provider's signed string, recomputed
//! here with `hmac` directly, and only inside the window for the providers that sign a time.
//!
//! Input: a first byte choosing the provider (mod 5), then four fields separated by `\n`:
//! signature header, timestamp header, delivery id header, body (the body may contain anything).
#![no_main]

use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use syncgate::providers::{Provider, ProviderSecret, verify_hook};
use syncgate::{Headers, HttpRequest, RustCrypto};
use syncgate_fuzz::NOW;

const SECRET: &str = "fuzz-provider-secret-0123456789";
const URL: &str = "https://edge.example/v1/acme-eu1/hooks/p";

fn tag(parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((choice, data)) = data.split_first() else {
        return;
    };
    let provider = Provider::ALL[usize::from(*choice) % Provider::ALL.len()];
    let mut fields = data.splitn(4, |b| *b == b'\n');
    let (Some(sig), Some(ts), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
        return;
    };
    let body = fields.next().unwrap_or_default();
    let (Ok(sig), Ok(ts), Ok(id)) = (
        std::str::from_utf8(sig),
        std::str::from_utf8(ts),
        std::str::from_utf8(id),
    ) else {
        return;
    };
    let (sig_name, ts_name, id_name) = match provider {
        Provider::HubSpot => ("x-hubspot-signature-v3", "x-hubspot-request-timestamp", "x-id"),
        Provider::Stripe => ("stripe-signature", "x-ts", "x-id"),
        Provider::GitHub => ("x-hub-signature-256", "x-ts", "x-github-delivery"),
        Provider::Slack => ("x-slack-signature", "x-slack-request-timestamp", "x-id"),
        Provider::Shopify => ("x-shopify-hmac-sha256", "x-ts", "x-shopify-webhook-id"),
    };
    let headers: Headers = [(sig_name, sig), (ts_name, ts), (id_name, id)]
        .into_iter()
        .collect();
    let Ok(request) = HttpRequest::new("POST", URL, headers, body) else {
        return;
    };
    let secret = ProviderSecret::new(SECRET).unwrap();
    let Ok(verdict) = verify_hook(provider, &request, &secret, NOW, &RustCrypto) else {
        return;
    };
    // What the core read back from the headers (a header value is trimmed when stored).
    let sig = request.headers.get(sig_name).unwrap_or_default();
    let ts = request.headers.get(ts_name).unwrap_or_default();
    let accepted = match provider {
        Provider::HubSpot => {
            let expected = b64(&tag(&[b"POST", URL.as_bytes(), body, ts.as_bytes()]));
            sig.trim() == expected
        }
        Provider::Stripe => {
            let t = sig
                .split(',')
                .find_map(|i| i.trim().strip_prefix("t="))
                .unwrap_or_default();
            let expected = hex(&tag(&[t.as_bytes(), b".", body]));
            sig.split(',')
                .filter_map(|i| i.trim().strip_prefix("v1="))
                .any(|v| v.trim().eq_ignore_ascii_case(&expected))
        }
        Provider::GitHub => sig
            .trim()
            .strip_prefix("sha256=")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(&hex(&tag(&[body])))),
        Provider::Slack => sig.trim().strip_prefix("v0=").is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case(&hex(&tag(&[b"v0:", ts.trim().as_bytes(), b":", body])))
        }),
        Provider::Shopify => sig.trim() == b64(&tag(&[body])),
    };
    assert!(accepted, "{provider:?} accepted without the true MAC");
    if let Some(at) = verdict.timestamp {
        assert!(provider.signs_timestamp());
        assert!((at - NOW).abs() <= 300, "accepted outside the window");
    } else {
        assert!(!provider.signs_timestamp(), "a signed time was dropped");
    }
});
