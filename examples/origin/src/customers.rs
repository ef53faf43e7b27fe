//! The customer routes: list, read, create, merge-patch.
//!
//! The edge has checked the API key, its scope, the body and the key's field ownership; the
//! origin checks the body and the ownership again with the same core (`syncgate::customer`), so a
//! bug or a misconfiguration at the edge cannot write what the key does not own, and keeps the
//! truths only the database has: which records exist for the tenant, their versions, and which
//! `Idempotency-Key`s were used.
//!
//! Wire decisions:
//! - Records carry `ETag: "<version>"` (a strong tag). `If-Match` takes `*` or a list of entity
//!   tags; the comparison is strong, so a weak tag (`W/"3"`) never matches. A tag that does not
//!   match the current version is `409 version_conflict` naming the current version; a header that
//!   is not entity-tag syntax (`3` without quotes) is `422 invalid_field` `If-Match`.
//! - A patch that leaves every field as it is writes nothing: the answer is the record with its
//!   version and `updatedAt` unchanged (so two systems echoing each other's values do not bump
//!   versions forever). The precondition is still checked first.
//! - An `Idempotency-Key` is per tenant and compared with the SHA-256 of the raw body: the same
//!   JSON with different whitespace is a different body. Only a successful create is stored;
//!   a refused one can be retried with the same key. Stored answers are kept 24 h.
//! - A list cursor is opaque (base64url of `v1:<sequence>`); lists are ordered by insertion, so a
//!   record created while a client pages appears on a later page, never twice, and none is
//!   skipped.
//! - `POST` needs `Content-Type: application/json`, `PATCH` `application/merge-patch+json` or
//!   `application/json`; a missing or other type is `415 unsupported_media_type`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use syncgate::customer::{Customer, check_field_ownership, validate_create, validate_patch};
use syncgate::{Primitives, Rejection, RustCrypto, hex, is_valid_instance_code};

use crate::attest::Attestation;
use crate::clock::rfc3339;
use crate::error::OriginError;
use crate::http::{Request, Response};
use crate::store::Store;
use crate::store::customers::{
    CreateOutcome, CreateWrite, IdempotencyClaim, PatchOutcome, Precondition,
};
use crate::sync::{REPLAYED_HEADER, check_idempotency_key};

/// Records per page when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 50;
/// Most records per page.
pub const MAX_LIMIT: usize = 200;
/// Every customer id starts with this.
pub const ID_PREFIX: &str = "cus_";
/// Random bytes in an id (24 hex digits).
pub const ID_RANDOM_BYTES: usize = 12;
/// The RFC 7396 media type.
pub const MERGE_PATCH_MEDIA_TYPE: &str = "application/merge-patch+json";
/// The plain JSON media type.
pub const JSON_MEDIA_TYPE: &str = "application/json";

/// What a cursor encodes before base64url: this prefix, then the last sequence number seen.
const CURSOR_PREFIX: &str = "v1:";
/// Longest cursor accepted (far longer than any this origin hands out).
const MAX_CURSOR_CHARS: usize = 64;

/// A list answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    items: &'a [Customer],
    next_cursor: Option<String>,
}

/// `GET /origin/v1/{tenant}/customers?limit=&cursor=`.
///
/// # Errors
/// `invalid_field` `limit` or `cursor`, or a storage error.
pub fn list(store: &Store, tenant: &str, request: &Request) -> Result<Response, OriginError> {
    let (limit, after) = list_params(request.query())?;
    let page = store.list_customers(tenant, after, limit)?;
    let body = serde_json::to_vec(&Page {
        items: &page.items,
        next_cursor: page.next_after.map(encode_cursor),
    })?;
    Ok(Response::json(200, JSON_MEDIA_TYPE, body))
}

/// `GET /origin/v1/{tenant}/customers/{id}`.
///
/// # Errors
/// `not_found` (also for another tenant's id), or a storage error.
pub fn get(store: &Store, tenant: &str, id: &str) -> Result<Response, OriginError> {
    let customer = store.customer(tenant, id)?.ok_or(Rejection::NotFound)?;
    record_response(200, &customer)
}

/// `POST /origin/v1/{tenant}/customers`.
///
/// # Errors
/// `unsupported_media_type`, `invalid_field` (the body, or a malformed `Idempotency-Key`),
/// `forbidden_field`, `idempotency_conflict`, or a storage error.
pub fn create(
    store: &Store,
    attestation: &Attestation,
    request: &Request,
    now: i64,
) -> Result<Response, OriginError> {
    require_media_type(request, &[JSON_MEDIA_TYPE])?;
    if let Some(key) = &attestation.idempotency_key {
        check_idempotency_key(key)?;
    }
    let input = validate_create(&request.body)?;
    if let Some(owned) = &attestation.fields {
        check_field_ownership(&input.touched_fields(), owned)?;
    }
    let customer = Customer::new(new_customer_id()?, input, rfc3339(now));
    let record_json = serde_json::to_string(&customer)?;
    let body_sha256 = hex(&RustCrypto.sha256(&request.body));
    let outcome = store.create_customer(&CreateWrite {
        tenant: &attestation.tenant,
        customer: &customer,
        record_json: &record_json,
        idempotency: attestation
            .idempotency_key
            .as_deref()
            .map(|key| IdempotencyClaim {
                key,
                body_sha256: &body_sha256,
            }),
        request_id: &attestation.request_id,
        now,
    })?;
    match outcome {
        CreateOutcome::Created => Ok(with_location(
            record_response(201, &customer)?,
            attestation,
            &customer.id,
        )),
        CreateOutcome::Replayed { status, body } => {
            let first: Customer = serde_json::from_slice(&body)?;
            let response = Response::json(status, JSON_MEDIA_TYPE, body)
                .with_header("etag", &etag(first.version))
                .with_header(REPLAYED_HEADER, "true");
            Ok(with_location(response, attestation, &first.id))
        }
    }
}

/// `PATCH /origin/v1/{tenant}/customers/{id}`.
///
/// # Errors
/// `unsupported_media_type`, `invalid_field` (the body, or a malformed `If-Match`),
/// `forbidden_field`, `not_found`, `version_conflict`, or a storage error.
pub fn patch(
    store: &Store,
    attestation: &Attestation,
    id: &str,
    request: &Request,
    now: i64,
) -> Result<Response, OriginError> {
    require_media_type(request, &[MERGE_PATCH_MEDIA_TYPE, JSON_MEDIA_TYPE])?;
    let precondition = parse_if_match(attestation.if_match.as_deref())?;
    let patch = validate_patch(&request.body)?;
    if let Some(owned) = &attestation.fields {
        check_field_ownership(&patch.touched_fields(), owned)?;
    }
    let outcome = store.patch_customer(
        &attestation.tenant,
        id,
        &patch,
        &precondition,
        &rfc3339(now),
    )?;
    match outcome {
        PatchOutcome::Updated(customer) | PatchOutcome::Unchanged(customer) => {
            record_response(200, &customer)
        }
    }
}

/// A record answer with its `ETag`.
fn record_response(status: u16, customer: &Customer) -> Result<Response, OriginError> {
    Ok(
        Response::json(status, JSON_MEDIA_TYPE, serde_json::to_vec(customer)?)
            .with_header("etag", &etag(customer.version)),
    )
}

/// Adds `Location: /v1/{instance}/customers/{id}` — the record's address at the edge — when the
/// edge named a well-formed instance.
fn with_location(response: Response, attestation: &Attestation, id: &str) -> Response {
    match attestation
        .instance
        .as_deref()
        .filter(|instance| is_valid_instance_code(instance))
    {
        Some(instance) => {
            response.with_header("location", &format!("/v1/{instance}/customers/{id}"))
        }
        None => response,
    }
}

/// The strong entity tag of a version.
#[must_use]
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

fn require_media_type(request: &Request, accepted: &[&str]) -> Result<(), Rejection> {
    let media_type = request
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if accepted.iter().any(|a| a.eq_ignore_ascii_case(media_type)) => Ok(()),
        _ => Err(Rejection::UnsupportedMediaType),
    }
}

/// A new record id: `cus_` and 24 lowercase hex digits from the operating system's CSPRNG.
fn new_customer_id() -> Result<String, OriginError> {
    let mut random = [0_u8; ID_RANDOM_BYTES];
    getrandom::fill(&mut random)
        .map_err(|e| OriginError::Storage(format!("no random bytes for an id: {e}")))?;
    Ok(format!("{ID_PREFIX}{}", hex(&random)))
}

/// Parses `If-Match` (RFC 9110 §13.1.1): absent or `*` is any version; otherwise a
/// comma-separated list of entity tags, of which the strong ones are kept.
///
/// # Errors
/// `invalid_field` `If-Match` when the value is not that syntax.
pub fn parse_if_match(value: Option<&str>) -> Result<Precondition, Rejection> {
    const OWS: [char; 2] = [' ', '\t'];
    let Some(value) = value else {
        return Ok(Precondition::Any);
    };
    let bad = || Rejection::InvalidField {
        field: "If-Match".into(),
        reason: "must be * or a list of quoted entity tags, such as \"3\"".into(),
    };
    let mut rest = value.trim_matches(OWS);
    if rest == "*" {
        return Ok(Precondition::Any);
    }
    let mut tags = Vec::new();
    loop {
        let (weak, tagged) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let inner = tagged.strip_prefix('"').ok_or_else(bad)?;
        let (tag, after) = inner.split_once('"').ok_or_else(bad)?;
        // etagc = %x21 / %x23-7E / obs-text
        if !tag
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            return Err(bad());
        }
        if !weak {
            tags.push(tag.to_string());
        }
        rest = after.trim_start_matches(OWS);
        if rest.is_empty() {
            return Ok(Precondition::OneOf(tags));
        }
        rest = rest
            .strip_prefix(',')
            .ok_or_else(bad)?
            .trim_start_matches(OWS);
    }
}

/// `limit` (default [`DEFAULT_LIMIT`], 1 to [`MAX_LIMIT`]) and the sequence number a `cursor`
/// stands for (0 without one). Other parameters are ignored.
fn list_params(query: Option<&str>) -> Result<(usize, i64), Rejection> {
    let mut limit = None;
    let mut cursor = None;
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            _ => continue,
        };
        if slot.is_some() {
            return Err(invalid(name, "must be given at most once"));
        }
        *slot = Some(percent_decode(value).ok_or_else(|| invalid(name, "is not valid"))?);
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => parse_limit(&text).ok_or_else(|| {
            invalid(
                "limit",
                &format!("must be an integer from 1 to {MAX_LIMIT}"),
            )
        })?,
    };
    let after = match cursor {
        None => 0,
        Some(text) => decode_cursor(&text)
            .ok_or_else(|| invalid("cursor", "is not a cursor this API handed out"))?,
    };
    Ok((limit, after))
}

fn invalid(field: &str, reason: &str) -> Rejection {
    Rejection::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

fn parse_limit(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
}

/// The opaque cursor standing for "after sequence number `seq`".
#[must_use]
pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let digits = std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix(CURSOR_PREFIX)?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Decodes `%XX` escapes (a `+` stays a `+`); `None` for a bad escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let high = char::from(bytes.next()?).to_digit(16)?;
            let low = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(high * 16 + low).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_syntax() {
        assert_eq!(parse_if_match(None).unwrap(), Precondition::Any);
        assert_eq!(parse_if_match(Some(" * ")).unwrap(), Precondition::Any);
        assert_eq!(
            parse_if_match(Some(r#""3""#)).unwrap(),
            Precondition::OneOf(vec!["3".into()])
        );
        assert_eq!(
            parse_if_match(Some(r#"W/"3", "4" ,"x""#)).unwrap(),
            Precondition::OneOf(vec!["4".into(), "x".into()])
        );
        assert_eq!(
            parse_if_match(Some(r#"W/"3""#)).unwrap(),
            Precondition::OneOf(Vec::new())
        );
        for bad in [
            "3",
            "",
            r#""3"#,
            r#""3","#,
            r#""3" "4""#,
            r#""a b""#,
            r#""1", *"#,
        ] {
            assert!(parse_if_match(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(Precondition::OneOf(vec!["3".into()]).holds(3));
        assert!(!Precondition::OneOf(vec!["03".into()]).holds(3));
    }

    #[test]
    fn list_parameters() {
        assert_eq!(list_params(None).unwrap(), (DEFAULT_LIMIT, 0));
        assert_eq!(list_params(Some("limit=200&x=1")).unwrap(), (200, 0));
        assert_eq!(list_params(Some("limit=%31")).unwrap(), (1, 0));
        let cursor = encode_cursor(42);
        assert_eq!(
            list_params(Some(&format!("cursor={cursor}&limit=7"))).unwrap(),
            (7, 42)
        );
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=", "limit"),
            ("limit=+5", "limit"),
            ("limit=abc", "limit"),
            ("limit=1&limit=2", "limit"),
            ("limit=%zz", "limit"),
            ("cursor=", "cursor"),
            ("cursor=42", "cursor"),
            ("cursor=djE6", "cursor"),
            ("cursor=djE6LTE", "cursor"),
            ("cursor=!!!", "cursor"),
        ] {
            match list_params(Some(query)) {
                Err(Rejection::InvalidField { field: f, .. }) => assert_eq!(f, field, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }
}
