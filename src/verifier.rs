//! A compiled verifier, and the two-phase seam that lets a host compute the hashes.
//!
//! [`Verifier::new`] takes a tenant policy once (parsed, keys decoded) and verifies any number
//! of requests against it. Verification is split in two so the passes over the body — the only
//! part whose cost grows with the request — can run wherever hashing is fastest, synchronously
//! or not, while every decision stays here:
//!
//! 1. [`Verifier::prepare`] reads the request head (method, URL, headers, body length) and runs
//!    every check that needs no hash: instance state, size, media type, signature headers,
//!    timestamp window, key. It answers a [`Pending`]: whether the body's SHA-256 is needed and
//!    which HMAC-SHA256 tags to compute ([`MacInput`]: a key of the ring, a prefix, and whether
//!    the body follows the prefix).
//! 2. The host computes them ([`HostDigests`]) — Node's `crypto`, WebCrypto (async), or
//!    [`Pending::compute`] with the pure-Rust [`Primitives`] (the reference).
//! 3. [`Verifier::finish_signature`] compares the digest and the tags (tags in constant time,
//!    with `subtle`) and picks the signature that verified; [`Verifier::finish`] also parses and
//!    admits the payload (steps 6–7).
//!
//! The verdicts are exactly those of running every check in one pass: candidates are decided
//! in the same order, and a candidate's first failing check is the one reported. The host only
//! ever sees key indices, prefixes and the body; it never decides anything.

use subtle::ConstantTimeEq as _;

use crate::error::Rejection;
use crate::policy::TenantPolicy;
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, RustCrypto, SHA256_LEN};
use crate::signature::keys::SigningKey;
use crate::signature::rfc9421::{
    SignatureParams, check_content_digest, check_unkeyed, labelled_signatures,
};
use crate::signature::skew::SkewWindow;
use crate::signature::{Scheme, webhooks};
use crate::verify::{
    Authenticated, Verdict, admit_bytes, admit_bytes_without_payload, detect_scheme, precheck,
};

/// How far a verification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Steps 1–5: headers, window, key, digest, MAC. The payload is not parsed, and for
    /// Standard Webhooks the body is not hashed beyond its MAC.
    Signature,
    /// Steps 1–7: the signature, then payload schema, tenant and scope.
    Full,
}

/// One HMAC-SHA256 the host computes: `HMAC(key, prefix || body?)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacInput {
    /// Index of the key in the policy's ring ([`Verifier::keys`]).
    pub key: usize,
    /// The bytes MACed before the body (a signature base, or `{id}.{timestamp}.`).
    pub prefix: String,
    /// Whether the body follows the prefix in the MACed message.
    pub body: bool,
}

/// What the host computed for a [`Pending`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostDigests {
    /// SHA-256 of the body, when [`Pending::body_sha256`] asked for it.
    pub body_sha256: Option<[u8; SHA256_LEN]>,
    /// One tag per [`Pending::macs`] entry, in order.
    pub macs: Vec<[u8; SHA256_LEN]>,
}

/// One RFC 9421 signature whose cheap checks passed.
#[derive(Debug, Clone)]
struct Rfc9421Candidate {
    key: usize,
    params: SignatureParams,
    tag: Vec<u8>,
    /// The `Content-Digest` value to check against the body's hash.
    digest: String,
    /// Index of this signature's MAC in [`Pending::macs`], or why its base could not be built.
    mac: Result<usize, Rejection>,
}

#[derive(Debug, Clone)]
enum Plan {
    /// One entry per `Signature-Input` member, in order: a candidate, or its first failure.
    Rfc9421(Vec<Result<Rfc9421Candidate, Rejection>>),
    /// Standard Webhooks: `(key index, MAC index)` of usable keys (newest first), then of
    /// revoked keys. Both empty when the header carried no `v1,` tag.
    Webhooks {
        id: String,
        timestamp: i64,
        tags: Vec<Vec<u8>>,
        usable: Vec<(usize, usize)>,
        revoked: Vec<(usize, usize)>,
        any_usable: bool,
    },
}

/// What [`Verifier::prepare`] asks the host to compute, and what it will decide with.
#[derive(Debug, Clone)]
pub struct Pending {
    depth: Depth,
    scheme: Scheme,
    body_len: usize,
    body_sha256: bool,
    macs: Vec<MacInput>,
    plan: Plan,
}

impl Pending {
    /// Whether the host must hash the body with SHA-256.
    #[must_use]
    pub const fn body_sha256(&self) -> bool {
        self.body_sha256
    }

    /// The HMAC-SHA256 tags the host must compute, in order.
    #[must_use]
    pub fn macs(&self) -> &[MacInput] {
        &self.macs
    }

    /// The scheme being verified.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// How far this verification goes.
    #[must_use]
    pub const fn depth(&self) -> Depth {
        self.depth
    }

    /// The reference host: computes what this asks with `primitives` over `body`.
    #[must_use]
    pub fn compute(
        &self,
        keys: &[SigningKey],
        body: &[u8],
        primitives: &dyn Primitives,
    ) -> HostDigests {
        HostDigests {
            body_sha256: self.body_sha256.then(|| primitives.sha256(body)),
            macs: self
                .macs
                .iter()
                .map(|m| {
                    let key = keys.get(m.key).map_or(&[][..], |k| k.secret.expose_bytes());
                    if m.body {
                        primitives.hmac_sha256(key, &[m.prefix.as_bytes(), body])
                    } else {
                        primitives.hmac_sha256(key, &[m.prefix.as_bytes()])
                    }
                })
                .collect(),
        }
    }
}

/// What steps 1–5 established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureVerdict<'p> {
    /// The scheme that verified.
    pub scheme: Scheme,
    /// The key that verified.
    pub key: &'p SigningKey,
    /// The nonce (`nonce` parameter or `webhook-id`).
    pub nonce: String,
    /// The signature's timestamp, Unix seconds.
    pub timestamp: i64,
    /// SHA-256 of the body, when it was computed (always for RFC 9421 and [`Depth::Full`]).
    pub body_sha256: Option<[u8; SHA256_LEN]>,
}

/// Steps 1–4 on the request head (everything that needs no hash); see the module docs.
///
/// `request.body` is not read: `body_len` is the body's length in bytes.
///
/// # Errors
/// The first failing check's [`Rejection`], exactly as one-pass verification would report it
/// when no later check can come first.
pub fn prepare(
    policy: &TenantPolicy,
    request: &HttpRequest,
    body_len: usize,
    now: i64,
    depth: Depth,
) -> Result<Pending, Rejection> {
    precheck(policy, request.headers.get("content-type"), body_len)?;
    let scheme = detect_scheme(request, policy)?;
    let window = SkewWindow::new(policy.skew_seconds);
    let mut macs = Vec::new();
    let plan = match scheme {
        Scheme::Rfc9421 => Plan::Rfc9421(prepare_rfc9421(policy, request, window, now, &mut macs)?),
        Scheme::StandardWebhooks => prepare_webhooks(policy, request, window, now, &mut macs)?,
    };
    Ok(Pending {
        depth,
        scheme,
        body_len,
        body_sha256: scheme == Scheme::Rfc9421 || depth == Depth::Full,
        macs,
        plan,
    })
}

fn prepare_rfc9421(
    policy: &TenantPolicy,
    request: &HttpRequest,
    window: SkewWindow,
    now: i64,
    macs: &mut Vec<MacInput>,
) -> Result<Vec<Result<Rfc9421Candidate, Rejection>>, Rejection> {
    let signatures = labelled_signatures(request)?;
    let mut candidates = Vec::with_capacity(signatures.len());
    for (input, tag) in signatures {
        let candidate = (|| {
            let tag = tag?;
            let params = check_unkeyed(&input, window, now)?;
            let key = policy
                .keys
                .0
                .iter()
                .position(|k| k.kid == params.keyid)
                .ok_or(Rejection::UnknownKey)?;
            if !policy.keys.0.get(key).is_some_and(|k| k.status.verifies()) {
                return Err(Rejection::RevokedKey);
            }
            let digest = request
                .headers
                .get("content-digest")
                .ok_or_else(|| Rejection::malformed("covered header content-digest is missing"))?;
            let mac = input.signature_base(request).map(|base| {
                macs.push(MacInput {
                    key,
                    prefix: base,
                    body: false,
                });
                macs.len() - 1
            });
            Ok(Rfc9421Candidate {
                key,
                params,
                tag,
                digest: digest.to_string(),
                mac,
            })
        })();
        candidates.push(candidate);
    }
    Ok(candidates)
}

fn prepare_webhooks(
    policy: &TenantPolicy,
    request: &HttpRequest,
    window: SkewWindow,
    now: i64,
    macs: &mut Vec<MacInput>,
) -> Result<Plan, Rejection> {
    let headers =
        webhooks::WebhookHeaders::find(&request.headers).ok_or(Rejection::MissingSignature)??;
    let webhooks::WebhookHeaders {
        id,
        timestamp,
        signature,
    } = headers;
    webhooks::check_id(id)?;
    let ts = webhooks::parse_timestamp(timestamp)?;
    let tags = webhooks::v1_tags(signature)?;
    window.check(ts, now)?;
    let keys = &policy.keys.0;
    // Newest version first, ties in ring order (as `KeyRing::usable`: an insertion sort of a
    // handful of keys, no driftsort instance in the wasm).
    let version = |i: usize| keys.get(i).map_or(0, |k| k.version);
    let mut usable: Vec<usize> = Vec::new();
    for i in (0..keys.len()).filter(|&i| keys.get(i).is_some_and(|k| k.status.verifies())) {
        let at = usable.partition_point(|&kept| version(kept) >= version(i));
        usable.insert(at, i);
    }
    let any_usable = !usable.is_empty();
    let revoked: Vec<usize> = (0..keys.len())
        .filter(|&i| keys.get(i).is_some_and(|k| !k.status.verifies()))
        .collect();
    let (mut usable_macs, mut revoked_macs) = (Vec::new(), Vec::new());
    if !tags.is_empty() {
        let mut prefix = String::with_capacity(id.len() + timestamp.len() + 2);
        for part in [id, ".", timestamp, "."] {
            prefix.push_str(part);
        }
        // Every key's MAC has the same prefix; the last one takes it, the others a copy.
        let mut left = usable.len() + revoked.len();
        let mut prefix = Some(prefix);
        for (list, out) in [(&usable, &mut usable_macs), (&revoked, &mut revoked_macs)] {
            for &key in list {
                left -= 1;
                let prefix = if left == 0 {
                    prefix.take().unwrap_or_default()
                } else {
                    prefix.clone().unwrap_or_default()
                };
                macs.push(MacInput {
                    key,
                    prefix,
                    body: true,
                });
                out.push((key, macs.len() - 1));
            }
        }
    }
    Ok(Plan::Webhooks {
        id: id.to_string(),
        timestamp: ts,
        tags,
        usable: usable_macs,
        revoked: revoked_macs,
        any_usable,
    })
}

/// Whether `computed` equals `tag`, in constant time (a tag of another length never matches):
/// `subtle`'s slice comparison, whose per-byte optimisation barrier is the point of using it.
fn tag_matches(computed: &[u8; SHA256_LEN], tag: &[u8]) -> bool {
    bool::from(computed.as_slice().ct_eq(tag))
}

/// Step 5 with the host's digests: the body digest and the MACs; see the module docs.
///
/// # Errors
/// `digest_mismatch`, `invalid_signature`, `revoked_key`, `unknown_key` or a candidate's
/// earlier failure, as one-pass verification reports them. Digests the host left out count as
/// not matching.
pub fn finish_signature<'p>(
    policy: &'p TenantPolicy,
    pending: Pending,
    digests: &HostDigests,
) -> Result<SignatureVerdict<'p>, Rejection> {
    let mac_at = |i: usize| digests.macs.get(i);
    let keys = &policy.keys.0;
    let key_at = |i: usize| keys.get(i).ok_or(Rejection::UnknownKey);
    match pending.plan {
        Plan::Rfc9421(candidates) => {
            let body_sha256 = digests.body_sha256.ok_or(Rejection::DigestMismatch);
            let mut first_error = None;
            for candidate in candidates {
                let decided = candidate.and_then(|c| {
                    let sha = body_sha256.clone()?;
                    check_content_digest(&c.digest, &sha)?;
                    let mac = c.mac?;
                    if !mac_at(mac).is_some_and(|m| tag_matches(m, &c.tag)) {
                        return Err(Rejection::InvalidSignature);
                    }
                    Ok(SignatureVerdict {
                        scheme: Scheme::Rfc9421,
                        key: key_at(c.key)?,
                        nonce: c.params.nonce,
                        timestamp: c.params.created,
                        body_sha256: Some(sha),
                    })
                });
                match decided {
                    Ok(verdict) => return Ok(verdict),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(first_error.unwrap_or(Rejection::MissingSignature))
        }
        Plan::Webhooks {
            id,
            timestamp,
            tags,
            usable,
            revoked,
            any_usable,
        } => {
            let matches = |&(_, mac): &(usize, usize)| {
                mac_at(mac).is_some_and(|m| tags.iter().any(|t| tag_matches(m, t)))
            };
            if let Some(&(key, _)) = usable.iter().find(|k| matches(k)) {
                return Ok(SignatureVerdict {
                    scheme: Scheme::StandardWebhooks,
                    key: key_at(key)?,
                    nonce: id,
                    timestamp,
                    body_sha256: digests.body_sha256,
                });
            }
            if revoked.iter().any(matches) {
                return Err(Rejection::RevokedKey);
            }
            if !any_usable {
                return Err(Rejection::UnknownKey);
            }
            Err(Rejection::InvalidSignature)
        }
    }
}

/// Steps 5–7: [`finish_signature`], then the payload in `body` is parsed and admitted.
///
/// # Errors
/// As [`finish_signature`], then `invalid_payload`, `tenant_mismatch` and the scope codes.
/// `invalid_field` (`body`) when `body` is not as long as the head said; `internal_error` when
/// the host left out the body's hash (a host bug, never a sender's).
pub fn finish(
    policy: &TenantPolicy,
    pending: Pending,
    digests: &HostDigests,
    body: &[u8],
) -> Result<Verdict, Rejection> {
    let authenticated = finish_authenticated(policy, pending, digests, body.len())?;
    admit_body(policy, &authenticated, body)
}

fn finish_authenticated<'p>(
    policy: &'p TenantPolicy,
    pending: Pending,
    digests: &HostDigests,
    body_len: usize,
) -> Result<Authenticated<'p>, Rejection> {
    if pending.body_len != body_len {
        return Err(Rejection::invalid_field(
            "body",
            "changed between prepare and finish",
        ));
    }
    let v = finish_signature(policy, pending, digests)?;
    Ok(Authenticated {
        scheme: v.scheme,
        key: v.key,
        nonce: v.nonce,
        timestamp: v.timestamp,
        body_sha256: v.body_sha256.ok_or(Rejection::InternalError)?,
    })
}

fn admit_body(
    policy: &TenantPolicy,
    authenticated: &Authenticated<'_>,
    body: &[u8],
) -> Result<Verdict, Rejection> {
    admit_bytes(body, policy, authenticated, &RustCrypto)
}

/// Steps 1–5 in one call with `primitives` as the host: [`prepare`], [`Pending::compute`],
/// then [`finish_authenticated`]. What [`crate::authenticate`] runs.
///
/// # Errors
/// The first failing check's [`Rejection`].
pub fn authenticate_with<'p>(
    policy: &'p TenantPolicy,
    request: &HttpRequest,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Authenticated<'p>, Rejection> {
    let pending = prepare(policy, request, request.body.len(), now, Depth::Full)?;
    let digests = pending.compute(&policy.keys.0, &request.body, primitives);
    finish_authenticated(policy, pending, &digests, request.body.len())
}

/// A tenant policy compiled for verification: parsed and checked once, keys decoded once.
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: TenantPolicy,
}

impl Verifier {
    /// A verifier for `policy` (already parsed and validated, as [`TenantPolicy::from_json`]
    /// leaves it).
    #[must_use]
    pub fn new(policy: &TenantPolicy) -> Self {
        Self {
            policy: policy.clone(),
        }
    }

    /// A verifier for a policy in JSON.
    ///
    /// # Errors
    /// `invalid_field` naming the offending policy field.
    pub fn from_json(json: &str) -> Result<Self, Rejection> {
        Ok(Self {
            policy: TenantPolicy::from_json(json)?,
        })
    }

    /// The policy this verifier checks against.
    #[must_use]
    pub const fn policy(&self) -> &TenantPolicy {
        &self.policy
    }

    /// The key ring, indexed as [`MacInput::key`] is.
    #[must_use]
    pub fn keys(&self) -> &[SigningKey] {
        &self.policy.keys.0
    }

    /// Phase one on a request head: see [`prepare`]. `request.body` is not read.
    ///
    /// # Errors
    /// The first failing check that needs no hash.
    pub fn prepare(
        &self,
        request: &HttpRequest,
        body_len: usize,
        now: i64,
        depth: Depth,
    ) -> Result<Pending, Rejection> {
        prepare(&self.policy, request, body_len, now, depth)
    }

    /// Phase two for [`Depth::Signature`]: see [`finish_signature`].
    ///
    /// # Errors
    /// As [`finish_signature`].
    pub fn finish_signature(
        &self,
        pending: Pending,
        digests: &HostDigests,
    ) -> Result<SignatureVerdict<'_>, Rejection> {
        finish_signature(&self.policy, pending, digests)
    }

    /// Phase two for [`Depth::Full`]: see [`finish`].
    ///
    /// # Errors
    /// As [`finish`].
    pub fn finish(
        &self,
        pending: Pending,
        digests: &HostDigests,
        body: &[u8],
    ) -> Result<Verdict, Rejection> {
        finish(&self.policy, pending, digests, body)
    }

    /// [`Verifier::finish`], also answering the position in [`Verifier::keys`] of the key that
    /// verified (the verdict names it by id, and ids need not be unique in a ring).
    ///
    /// # Errors
    /// As [`finish`].
    pub fn finish_keyed(
        &self,
        pending: Pending,
        digests: &HostDigests,
        body: &[u8],
    ) -> Result<(Verdict, usize), Rejection> {
        let (authenticated, index) = self.finish_key(pending, digests, body)?;
        Ok((admit_body(&self.policy, &authenticated, body)?, index))
    }

    /// [`Verifier::finish_keyed`] for a caller that reads the verdict's fields and never its
    /// payload (see [`crate::admit_without_payload`]): the same checks and rejections.
    ///
    /// # Errors
    /// As [`finish`].
    pub fn finish_keyed_without_payload(
        &self,
        pending: Pending,
        digests: &HostDigests,
        body: &[u8],
    ) -> Result<(Verdict<()>, usize), Rejection> {
        let (authenticated, index) = self.finish_key(pending, digests, body)?;
        let verdict = admit_bytes_without_payload(body, &self.policy, &authenticated, &RustCrypto)?;
        Ok((verdict, index))
    }

    /// Steps 1–5 of phase two, and the position in [`Verifier::keys`] of the key that verified.
    fn finish_key(
        &self,
        pending: Pending,
        digests: &HostDigests,
        body: &[u8],
    ) -> Result<(Authenticated<'_>, usize), Rejection> {
        let authenticated = finish_authenticated(&self.policy, pending, digests, body.len())?;
        let index = self
            .keys()
            .iter()
            .position(|k| core::ptr::eq(k, authenticated.key))
            .ok_or(Rejection::InternalError)?;
        Ok((authenticated, index))
    }

    /// Steps 1–7 with the pure-Rust primitives: the same verdict as
    /// [`crate::verify_request`].
    ///
    /// # Errors
    /// The first failing check's [`Rejection`].
    pub fn verify(&self, request: &HttpRequest, now: i64) -> Result<Verdict, Rejection> {
        self.verify_with(request, now, &RustCrypto)
    }

    /// [`Verifier::verify`] with `primitives` as the host.
    ///
    /// # Errors
    /// The first failing check's [`Rejection`].
    pub fn verify_with(
        &self,
        request: &HttpRequest,
        now: i64,
        primitives: &dyn Primitives,
    ) -> Result<Verdict, Rejection> {
        let body = &request.body;
        let pending = self.prepare(request, body.len(), now, Depth::Full)?;
        let digests = pending.compute(self.keys(), body, primitives);
        self.finish(pending, &digests, body)
    }

    /// Steps 1–5 with the pure-Rust primitives: no payload parse.
    ///
    /// # Errors
    /// The first failing signature check's [`Rejection`].
    pub fn verify_signature(
        &self,
        request: &HttpRequest,
        now: i64,
    ) -> Result<SignatureVerdict<'_>, Rejection> {
        let body = &request.body;
        let pending = self.prepare(request, body.len(), now, Depth::Signature)?;
        let digests = pending.compute(self.keys(), body, &RustCrypto);
        self.finish_signature(pending, &digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Headers;
    use crate::sign::{SigningOptions, sign_request};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_800_000_000;

    fn verifier() -> Verifier {
        Verifier::from_json(&format!(
            r#"{{"instance":"acme-eu1","tenant":"acme","keys":[
                {{"kid":"old","version":1,"status":"retiring","secret":"{SECRET}"}},
                {{"kid":"k2","version":2,"status":"active","secret":"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}]}}"#
        ))
        .unwrap()
    }

    fn signed(scheme: Scheme, body: &str) -> HttpRequest {
        let mut headers = Headers::new();
        headers.append("content-type", "application/json");
        let mut request = HttpRequest::new(
            "POST",
            "https://edge.example/v1/acme-eu1/sync",
            headers,
            body.as_bytes().to_vec(),
        )
        .unwrap();
        let secret = crate::signature::keys::Secret::from_whsec(SECRET).unwrap();
        let options = SigningOptions::new(scheme, NOW, "n-1");
        for (name, value) in sign_request(&request, "old", secret.expose_bytes(), &options).unwrap()
        {
            request.headers.set(&name, &value);
        }
        request
    }

    const BODY: &str =
        r#"{"type":"branding","tenant":"acme","version":1,"branding":{"title":"A"}}"#;

    #[test]
    fn the_plan_asks_for_one_pass_over_the_body_per_key() {
        let v = verifier();
        let wh = signed(Scheme::StandardWebhooks, BODY);
        let p = v.prepare(&wh, BODY.len(), NOW, Depth::Signature).unwrap();
        assert!(
            !p.body_sha256(),
            "a webhook signature check needs no body hash"
        );
        // Both usable keys, newest first, each over `id.ts.` + body.
        let keys: Vec<usize> = p.macs().iter().map(|m| m.key).collect();
        assert_eq!(keys, [1, 0]);
        assert!(
            p.macs()
                .iter()
                .all(|m| m.body && m.prefix == format!("n-1.{NOW}."))
        );
        assert!(
            v.prepare(&wh, BODY.len(), NOW, Depth::Full)
                .unwrap()
                .body_sha256()
        );

        let rfc = signed(Scheme::Rfc9421, BODY);
        let p = v.prepare(&rfc, BODY.len(), NOW, Depth::Signature).unwrap();
        assert!(p.body_sha256(), "the content-digest needs the body hash");
        assert_eq!(p.macs().len(), 1);
        assert!(!p.macs()[0].body && p.macs()[0].prefix.starts_with("\"@method\": POST\n"));
    }

    #[test]
    fn the_core_decides_whatever_the_host_answers() {
        let v = verifier();
        for scheme in [Scheme::StandardWebhooks, Scheme::Rfc9421] {
            let request = signed(scheme, BODY);
            let pending = || v.prepare(&request, BODY.len(), NOW, Depth::Full).unwrap();
            let good = pending().compute(v.keys(), BODY.as_bytes(), &RustCrypto);
            let verdict = v.finish(pending(), &good, BODY.as_bytes()).unwrap();
            assert_eq!(verdict.key_id, "old");
            assert_eq!(verdict, v.verify(&request, NOW).unwrap());

            // A wrong tag, a missing tag, a truncated one: refused, never accepted.
            let mut wrong = good.clone();
            for tag in &mut wrong.macs {
                tag[0] ^= 1;
            }
            let missing = HostDigests {
                macs: Vec::new(),
                ..good.clone()
            };
            for digests in [&wrong, &missing] {
                assert_eq!(
                    v.finish(pending(), digests, BODY.as_bytes()).unwrap_err(),
                    Rejection::InvalidSignature,
                    "{scheme:?}"
                );
            }
            // No body hash: RFC 9421 cannot match its digest; a full check cannot name the payload.
            let no_hash = HostDigests {
                body_sha256: None,
                ..good.clone()
            };
            let expected = match scheme {
                Scheme::Rfc9421 => Rejection::DigestMismatch,
                Scheme::StandardWebhooks => Rejection::InternalError,
            };
            assert_eq!(
                v.finish(pending(), &no_hash, BODY.as_bytes()).unwrap_err(),
                expected
            );
            // A body that is not the one the head announced.
            let err = v.finish(pending(), &good, b"{}").unwrap_err();
            assert_eq!(err.code(), "invalid_field");
        }
    }

    #[test]
    fn the_keyed_finishes_name_the_key_and_agree_with_finish() {
        let v = verifier();
        let without_payload = |verdict: serde_json::Value| {
            let mut verdict = verdict;
            verdict.as_object_mut().unwrap().remove("payload");
            verdict
        };
        for scheme in [Scheme::StandardWebhooks, Scheme::Rfc9421] {
            let request = signed(scheme, BODY);
            let pending = || v.prepare(&request, BODY.len(), NOW, Depth::Full).unwrap();
            let good = pending().compute(v.keys(), BODY.as_bytes(), &RustCrypto);
            let verdict = v.finish(pending(), &good, BODY.as_bytes()).unwrap();
            // "old" is the ring's first key.
            let keyed = v.finish_keyed(pending(), &good, BODY.as_bytes()).unwrap();
            assert_eq!(keyed, (verdict.clone(), 0), "{scheme:?}");
            let (bare, key) = v
                .finish_keyed_without_payload(pending(), &good, BODY.as_bytes())
                .unwrap();
            assert_eq!(key, 0, "{scheme:?}");
            assert_eq!(
                without_payload(serde_json::to_value(&bare).unwrap()),
                without_payload(serde_json::to_value(&verdict).unwrap()),
                "{scheme:?}"
            );
            let mut wrong = good.clone();
            for tag in &mut wrong.macs {
                tag[0] ^= 1;
            }
            let refused = v.finish_keyed_without_payload(pending(), &wrong, BODY.as_bytes());
            assert_eq!(refused.unwrap_err(), Rejection::InvalidSignature);
        }
    }

    #[test]
    fn a_tag_matches_only_itself() {
        let tag: [u8; SHA256_LEN] = core::array::from_fn(|i| u8::try_from(i * 7 + 1).unwrap());
        assert!(tag_matches(&tag, &tag));
        for i in 0..SHA256_LEN {
            for bit in 0..8 {
                let mut other = tag;
                other[i] ^= 1 << bit;
                assert!(!tag_matches(&tag, &other), "byte {i} bit {bit}");
            }
        }
        assert!(!tag_matches(&tag, &tag[..31]));
        assert!(!tag_matches(&tag, &[tag.as_slice(), &[0]].concat()));
        assert!(!tag_matches(&tag, &[]));
        assert!(tag_matches(&[0; SHA256_LEN], &[0; SHA256_LEN]));
    }

    #[test]
    fn signature_only_skips_the_payload() {
        let v = verifier();
        let body = r#"{"type":"nonsense"}"#;
        let request = signed(Scheme::StandardWebhooks, body);
        let sig = v.verify_signature(&request, NOW).unwrap();
        assert_eq!((sig.key.kid.as_str(), sig.body_sha256), ("old", None));
        assert_eq!(
            v.verify(&request, NOW).unwrap_err().code(),
            "invalid_payload"
        );
    }
}
