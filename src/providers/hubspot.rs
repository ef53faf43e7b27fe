//! HubSpot webhooks, signature v3: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256 of
//! `method + URI + body + timestamp` under the app's client secret, `X-HubSpot-Request-Timestamp`
//! is the signing time in Unix milliseconds, and a request older than five minutes is refused
//! ([HubSpot: validating requests]). The URI is the full request URL as the edge received it
//! (`https://host/v1/{instance}/hooks/hubspot?…`), with the percent-escapes HubSpot decodes
//! before signing (`%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`) decoded. Versions 1 and 2
//! (plain SHA-256 of secret and body, no timestamp) are not accepted.
//!
//! **Delivery key.** A v3 body is a JSON array of up to 100 events, and HubSpot says plainly that
//! it may send an event more than once, that `eventId` alone is not guaranteed unique, and that a
//! retry carries the same events with a higher `attemptNumber` (so the body, and its hash,
//! change between attempts). The delivery key is therefore made of the events' identities, not
//! of the body: each event is `(portalId, subscriptionId, eventId, occurredAt)`, or, for an event
//! without an `eventId`, `(portalId, objectId, occurredAt, subscriptionType, propertyName)`; the
//! sorted, de-duplicated identities are hashed into one key for the delivery. A retry of a
//! delivery is refused as a replay; a delivery that re-batches some of the same events with
//! others is a new delivery (the ledger works per request; an origin that must see each event
//! once de-duplicates the events it stores by the same identities).
//!
//! [HubSpot: validating requests]: https://developers.hubspot.com/docs/api/webhooks/validating-requests

use std::collections::BTreeSet;

use serde_json::Value;

use crate::document::reader::{Document, JsonPath, Node, parse_document};
use crate::error::Rejection;
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, hex};

use super::{
    MAX_EVENT_TYPE_CHARS, Signed, decode_base64, mac_matches, signature_header, timestamp_header,
    visible, window,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-hubspot-signature-v3";
/// The timestamp header (Unix milliseconds).
pub const TIMESTAMP_HEADER: &str = "x-hubspot-request-timestamp";
/// Most events read from one delivery (HubSpot sends at most 100).
pub const MAX_EVENTS: usize = 1_000;

/// The percent-escapes HubSpot decodes in the URI before signing, and what they decode to.
const DECODED_ESCAPES: [(&str, char); 12] = [
    ("3A", ':'),
    ("2F", '/'),
    ("3F", '?'),
    ("40", '@'),
    ("21", '!'),
    ("24", '$'),
    ("27", '\''),
    ("28", '('),
    ("29", ')'),
    ("2A", '*'),
    ("2C", ','),
    ("3B", ';'),
];

/// The URI as HubSpot signs it: `uri` with [`DECODED_ESCAPES`] decoded (hex digits in either
/// case), every other escape left as it is.
#[must_use]
pub fn signed_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(at) = rest.find('%') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let escape = from.get(1..3).unwrap_or_default();
        match DECODED_ESCAPES
            .iter()
            .find(|(hex, _)| hex.eq_ignore_ascii_case(escape))
        {
            Some((_, decoded)) => {
                out.push(*decoded);
                rest = from.get(3..).unwrap_or_default();
            }
            None => {
                out.push('%');
                rest = from.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// Verifies a HubSpot v3 delivery at `now`.
///
/// # Errors
/// `missing_signature`, `malformed_signature` (no timestamp, not base64), `stale_timestamp`,
/// `future_timestamp`, `invalid_signature`, and `invalid_payload` when the signed body is not an
/// array of events each with an identity.
pub(crate) fn verify(
    request: &HttpRequest,
    key: &[u8],
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Signed, Rejection> {
    let header = signature_header(request, SIGNATURE_HEADER)?;
    let (timestamp_text, millis) = timestamp_header(request, TIMESTAMP_HEADER, 15)?;
    let tag = decode_base64(header)
        .ok_or_else(|| Rejection::malformed("x-hubspot-signature-v3 must be base64"))?;
    let timestamp = millis.div_euclid(1000);
    window().check(timestamp, now)?;
    let uri = signed_uri(&request.uri.target_uri());
    let parts: [&[u8]; 4] = [
        request.method.as_bytes(),
        uri.as_bytes(),
        &request.body,
        timestamp_text.as_bytes(),
    ];
    if !mac_matches(primitives, key, &parts, &[tag]) {
        return Err(Rejection::InvalidSignature);
    }
    let (delivery_key, event_type) = delivery_key(&request.body, primitives)?;
    Ok(Signed {
        timestamp: Some(timestamp),
        delivery_id: None,
        delivery_id_signed: false,
        delivery_key,
        delivery_key_signed: true,
        event_type,
    })
}

/// The delivery key of a v3 body (see the module docs) and the first event's
/// `subscriptionType`.
fn delivery_key(
    body: &[u8],
    primitives: &dyn Primitives,
) -> Result<(String, Option<String>), Rejection> {
    let root = JsonPath::root(Document::SyncPayload);
    let events = parse_document(body, &root)?;
    let events = events
        .as_array()
        .filter(|events| !events.is_empty())
        .ok_or_else(|| root.reject("must be a non-empty array of events"))?;
    if events.len() > MAX_EVENTS {
        return Err(root.reject("has too many events"));
    }
    let mut identities = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let at = root.index(i);
        if event.as_object().is_none() {
            return Err(at.reject("must be an event object"));
        }
        let member = |name: &str| match event.get(name) {
            Some(Node::Number(number)) => Value::Number(number.clone()),
            Some(Node::String(text)) => Value::String(text.to_string()),
            _ => Value::Null,
        };
        let kind = |k: &str| Value::String(k.to_string());
        let parts = if !member("eventId").is_null() {
            vec![
                kind("e"),
                member("portalId"),
                member("subscriptionId"),
                member("eventId"),
                member("occurredAt"),
            ]
        } else if !member("objectId").is_null() && !member("occurredAt").is_null() {
            vec![
                kind("o"),
                member("portalId"),
                member("objectId"),
                member("occurredAt"),
                member("subscriptionType"),
                member("propertyName"),
            ]
        } else {
            return Err(at.reject("needs an eventId, or an objectId and an occurredAt"));
        };
        identities.push(Value::Array(parts).to_string());
    }
    // Sorted and de-duplicated through a set of &str (a map type the core has anyway, where a
    // sort of Strings would add a quicksort instance to the wasm).
    let mut unique: BTreeSet<&str> = BTreeSet::new();
    unique.extend(identities.iter().map(String::as_str));
    let unique: Vec<&str> = unique.into_iter().collect();
    let digest = hex(&primitives.sha256(unique.join("\n").as_bytes()));
    let event_type = events
        .first()
        .and_then(|e| e.get("subscriptionType"))
        .and_then(Node::as_str);
    Ok((
        format!("events:{digest}"),
        visible(event_type, MAX_EVENT_TYPE_CHARS),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::signature::crypto::RustCrypto;
    use base64::Engine as _;

    const SECRET: &[u8] = b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const NOW: i64 = 1_790_000_000;
    const URL: &str = "https://edge.example/v1/acme-eu1/hooks/hubspot";

    fn body(attempt: u32) -> String {
        format!(
            r#"[{{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":{attempt},"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}}]"#
        )
    }

    fn sign(method: &str, uri: &str, body: &str, ts: &str) -> String {
        let tag = RustCrypto.hmac_sha256(
            SECRET,
            &[
                method.as_bytes(),
                uri.as_bytes(),
                body.as_bytes(),
                ts.as_bytes(),
            ],
        );
        base64::engine::general_purpose::STANDARD.encode(tag)
    }

    fn request(url: &str, signature: Option<&str>, ts: Option<&str>, body: &str) -> HttpRequest {
        let mut headers: Headers = [("Content-Type", "application/json")].into_iter().collect();
        if let Some(signature) = signature {
            headers.append("X-HubSpot-Signature-v3", signature);
        }
        if let Some(ts) = ts {
            headers.append("X-HubSpot-Request-Timestamp", ts);
        }
        HttpRequest::new("POST", url, headers, body.as_bytes()).unwrap()
    }

    #[test]
    fn verifies_inside_the_window_and_retries_share_the_key() {
        let ts = (NOW * 1000).to_string();
        let first = body(0);
        let signature = sign("POST", URL, &first, &ts);
        let signed = verify(
            &request(URL, Some(&signature), Some(&ts), &first),
            SECRET,
            NOW,
            &RustCrypto,
        )
        .unwrap();
        assert_eq!(signed.event_type.as_deref(), Some("contact.creation"));
        let retry = body(1);
        let signature = sign("POST", URL, &retry, &ts);
        let again = verify(
            &request(URL, Some(&signature), Some(&ts), &retry),
            SECRET,
            NOW,
            &RustCrypto,
        )
        .unwrap();
        assert_eq!(signed.delivery_key, again.delivery_key);
        let req = request(URL, Some(&signature), Some(&ts), &retry);
        assert_eq!(
            verify(&req, SECRET, NOW + 301, &RustCrypto).unwrap_err(),
            Rejection::StaleTimestamp
        );
        assert_eq!(
            verify(&req, SECRET, NOW - 301, &RustCrypto).unwrap_err(),
            Rejection::FutureTimestamp
        );
    }

    #[test]
    fn method_uri_body_and_timestamp_are_signed() {
        let ts = (NOW * 1000).to_string();
        let b = body(0);
        let signature = sign("POST", URL, &b, &ts);
        let tampered_body = b.replace("62515", "62516");
        let other_ts = (NOW * 1000 + 1).to_string();
        for req in [
            request(URL, Some(&signature), Some(&ts), &tampered_body),
            request(&format!("{URL}?x=1"), Some(&signature), Some(&ts), &b),
            request(
                "https://edge.example/v1/other-eu1/hooks/hubspot",
                Some(&signature),
                Some(&ts),
                &b,
            ),
            request(URL, Some(&signature), Some(&other_ts), &b),
        ] {
            assert_eq!(
                verify(&req, SECRET, NOW, &RustCrypto).unwrap_err(),
                Rejection::InvalidSignature
            );
        }
        let mut put = request(URL, Some(&signature), Some(&ts), &b);
        put.method = "PUT".into();
        assert_eq!(
            verify(&put, SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::InvalidSignature
        );
    }

    #[test]
    fn escapes_hubspot_decodes() {
        assert_eq!(
            signed_uri("https://h/p%3Aa%2fb?q=%40x%20y%2C%zz%"),
            "https://h/p:a/b?q=@x%20y,%zz%"
        );
        let url = "https://edge.example/v1/acme-eu1/hooks/hubspot?tag=a%3Ab";
        let ts = (NOW * 1000).to_string();
        let b = body(0);
        let signature = sign(
            "POST",
            "https://edge.example/v1/acme-eu1/hooks/hubspot?tag=a:b",
            &b,
            &ts,
        );
        assert!(
            verify(
                &request(url, Some(&signature), Some(&ts), &b),
                SECRET,
                NOW,
                &RustCrypto
            )
            .is_ok()
        );
    }

    #[test]
    fn headers_and_bodies_that_are_refused() {
        let ts = (NOW * 1000).to_string();
        let b = body(0);
        let signature = sign("POST", URL, &b, &ts);
        assert_eq!(
            verify(&request(URL, None, Some(&ts), &b), SECRET, NOW, &RustCrypto).unwrap_err(),
            Rejection::MissingSignature
        );
        for (signature, ts) in [
            (signature.as_str(), None),
            (signature.as_str(), Some("1790000000.5")),
            ("!!", Some(ts.as_str())),
        ] {
            assert_eq!(
                verify(
                    &request(URL, Some(signature), ts, &b),
                    SECRET,
                    NOW,
                    &RustCrypto
                )
                .unwrap_err()
                .code(),
                "malformed_signature"
            );
        }
        for bad in [
            "{}",
            "[]",
            "[1]",
            r#"[{"portalId":1}]"#,
            r#"[{"eventId":1,"eventId":2}]"#,
        ] {
            let signature = sign("POST", URL, bad, &ts);
            assert_eq!(
                verify(
                    &request(URL, Some(&signature), Some(&ts), bad),
                    SECRET,
                    NOW,
                    &RustCrypto
                )
                .unwrap_err()
                .code(),
                "invalid_payload",
                "{bad}"
            );
        }
        let fallback = r#"[{"portalId":1,"objectId":2,"occurredAt":3,"subscriptionType":"contact.propertyChange","propertyName":"email"}]"#;
        let signature = sign("POST", URL, fallback, &ts);
        assert!(
            verify(
                &request(URL, Some(&signature), Some(&ts), fallback),
                SECRET,
                NOW,
                &RustCrypto
            )
            .is_ok()
        );
    }
}
