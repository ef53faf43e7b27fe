//! Shared pieces of the syncgate fuzz targets: the fixed tenant policy, the text form of a
//! request the `verify_request` target reads, and independent oracles that re-check an accepted
//! request's MAC without the verifier's own code (RustCrypto `hmac`/`sha2`, `sfv` and `base64`
//! directly).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sfv::{BareItem, Dictionary, Item, ListEntry, ListSerializer, Parser, Version};
use sha2::{Digest, Sha256};
use syncgate::{Headers, HttpRequest, Scheme, SigningOptions, TenantPolicy, Verdict, sign_request};

/// The verifier's clock in every target.
pub const NOW: i64 = 1_790_000_000;

/// The fixed policy's keys: kid, version, status, secret.
pub const KEYS: [(&str, u32, &str, &str); 3] = [
    ("k2", 2, "active", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    (
        "k1",
        1,
        "retiring",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    ),
    ("k0", 0, "revoked", "whsec_dGhpcy1pcy1hLXJldm9rZWQta2V5LTAx"),
];

/// A key the policy does not know (kid `kx`), for signing attempts that must fail.
pub const UNKNOWN_KEY: (&str, &str) = ("kx", "whsec_dW5rbm93bi1rZXktbm90LWluLXRoZS1wb2xpY3k=");

/// The policy every verify target checks against: both schemes, three keys (active, retiring,
/// revoked), the default groups and limits.
#[must_use]
pub fn policy() -> TenantPolicy {
    let keys: Vec<String> = KEYS
        .iter()
        .map(|(kid, version, status, secret)| {
            format!(
                r#"{{"kid":"{kid}","version":{version},"status":"{status}","secret":"{secret}"}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{}]}}"#,
        keys.join(",")
    );
    match TenantPolicy::from_json(&json) {
        Ok(policy) => policy,
        Err(e) => panic!("the fuzz policy is invalid: {e}"),
    }
}

/// The secret bytes of key `index` (0..=2 the policy's keys, else the unknown key) and its kid.
#[must_use]
pub fn key(index: usize) -> (&'static str, Vec<u8>) {
    let (kid, whsec) = match KEYS.get(index) {
        Some((kid, _, _, secret)) => (*kid, *secret),
        None => UNKNOWN_KEY,
    };
    let bytes = whsec
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_default();
    (kid, bytes)
}

/// How the harness signs a parsed request before verifying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignSpec {
    /// The scheme.
    pub scheme: Scheme,
    /// Key index (see [`key`]).
    pub key: usize,
    /// The nonce or webhook-id.
    pub nonce: String,
    /// `created` relative to [`NOW`].
    pub created_offset: i64,
    /// RFC 9421 `expires`, seconds after created.
    pub expires_in: Option<u32>,
    /// RFC 9421 components beyond the required three.
    pub cover: Vec<String>,
    /// RFC 9421 label.
    pub label: Option<String>,
    /// RFC 9421 tag.
    pub tag: Option<String>,
}

/// A request in the text form the `verify_request` target reads:
///
/// ```text
/// POST https://edge.example/v1/acme-eu1/sync
/// content-type: application/json
/// :sign: rfc9421            (optional: the harness signs, see below)
/// :key: 0                   (0 active k2, 1 retiring k1, 2 revoked k0, 3 unknown kx)
/// :nonce: n-1
/// :created: -5              (seconds relative to NOW)
/// :expires: 60
/// :cover: content-type @authority
/// :label: sig1
/// :tag: t
/// :after:                   (header lines below are added after signing)
/// x-extra: 1
///
/// {"type": ...}             (the body, raw bytes)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRequest {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Header lines before signing.
    pub headers: Vec<(String, String)>,
    /// Header lines added after signing.
    pub after: Vec<(String, String)>,
    /// Harness signing, if asked for.
    pub sign: Option<SignSpec>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TextRequest {
    /// Parses the text form; `None` when the head is not UTF-8 or has no request line.
    #[must_use]
    pub fn parse(data: &[u8]) -> Option<Self> {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(at) => (data.get(..at)?, data.get(at + 2..)?),
            None => (data, &[][..]),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.split('\n');
        let (method, url) = lines.next()?.split_once(' ')?;
        let mut request = Self {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            after: Vec::new(),
            sign: None,
            body: body.to_vec(),
        };
        let mut spec = SignSpec {
            scheme: Scheme::Rfc9421,
            key: 0,
            nonce: "n-1".into(),
            created_offset: 0,
            expires_in: None,
            cover: Vec::new(),
            label: None,
            tag: None,
        };
        let mut signing = false;
        let mut after = false;
        for line in lines {
            if let Some(pseudo) = line.strip_prefix(':') {
                let (name, value) = pseudo.split_once(':').unwrap_or((pseudo, ""));
                let value = value.trim();
                match name {
                    "sign" => {
                        signing = true;
                        spec.scheme = if value == "standard-webhooks" {
                            Scheme::StandardWebhooks
                        } else {
                            Scheme::Rfc9421
                        };
                    }
                    "key" => spec.key = value.parse().unwrap_or(0),
                    "nonce" => spec.nonce = value.to_string(),
                    "created" => spec.created_offset = value.parse().unwrap_or(0),
                    "expires" => spec.expires_in = value.parse().ok(),
                    "cover" => spec.cover = value.split(' ').map(String::from).collect(),
                    "label" => spec.label = Some(value.to_string()),
                    "tag" => spec.tag = Some(value.to_string()),
                    "after" => after = true,
                    _ => {}
                }
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let field = (name.to_string(), value.to_string());
            if after {
                request.after.push(field);
            } else {
                request.headers.push(field);
            }
        }
        if signing {
            request.sign = Some(spec);
        }
        Some(request)
    }

    /// The text form (the inverse of [`TextRequest::parse`] for what the seeds use).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {}\n", self.method, self.url);
        for (n, v) in &self.headers {
            head.push_str(&format!("{n}: {v}\n"));
        }
        if let Some(spec) = &self.sign {
            head.push_str(&format!(
                ":sign: {}\n:key: {}\n",
                spec.scheme.as_str(),
                spec.key
            ));
            head.push_str(&format!(
                ":nonce: {}\n:created: {}\n",
                spec.nonce, spec.created_offset
            ));
            if let Some(e) = spec.expires_in {
                head.push_str(&format!(":expires: {e}\n"));
            }
            if !spec.cover.is_empty() {
                head.push_str(&format!(":cover: {}\n", spec.cover.join(" ")));
            }
            if let Some(l) = &spec.label {
                head.push_str(&format!(":label: {l}\n"));
            }
            if let Some(t) = &spec.tag {
                head.push_str(&format!(":tag: {t}\n"));
            }
        }
        if !self.after.is_empty() {
            head.push_str(":after:\n");
            for (n, v) in &self.after {
                head.push_str(&format!("{n}: {v}\n"));
            }
        }
        head.pop();
        let mut out = head.into_bytes();
        out.extend_from_slice(b"\n\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// Builds the request: parses method and URL, signs when asked (a signing failure leaves it
    /// unsigned), then adds the `:after:` headers. `None` when method or URL is refused.
    #[must_use]
    pub fn build(&self) -> Option<HttpRequest> {
        let headers: Headers = self.headers.iter().map(|(n, v)| (n, v)).collect();
        let mut request =
            HttpRequest::new(&self.method, &self.url, headers, self.body.clone()).ok()?;
        if let Some(spec) = &self.sign {
            let (kid, secret) = key(spec.key);
            let mut options = SigningOptions::new(
                spec.scheme,
                NOW.saturating_add(spec.created_offset),
                &spec.nonce,
            );
            options.expires_in = spec.expires_in;
            options.extra_components = spec.cover.clone();
            options.label = spec.label.clone();
            options.tag = spec.tag.clone();
            if let Ok(added) = sign_request(&request, kid, &secret, &options) {
                for (name, value) in added {
                    request.headers.append(&name, &value);
                }
            }
        }
        for (name, value) in &self.after {
            request.headers.append(name, value);
        }
        Some(request)
    }
}

fn hmac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn lowercase_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Re-checks an accepted request without the verifier's code: the verdict's key is usable, the
/// timestamp in the window, the payload hash the body's, and the request carries a valid MAC by
/// that key over the verdict's nonce and timestamp. Returns the reason when it does not.
///
/// # Errors
/// A description of the first broken promise.
pub fn check_accepted(
    request: &HttpRequest,
    policy: &TenantPolicy,
    verdict: &Verdict,
) -> Result<(), String> {
    let key = policy
        .keys
        .get(&verdict.key_id)
        .ok_or("accepted with a key the policy does not have")?;
    if !key.status.verifies() {
        return Err("accepted with a revoked key".into());
    }
    let skew = i64::try_from(policy.skew_seconds).unwrap_or(i64::MAX);
    if (verdict.timestamp - NOW).abs() > skew {
        return Err("accepted outside the skew window".into());
    }
    let body_hash = Sha256::digest(&request.body);
    if verdict.payload_hash != lowercase_hex(&body_hash) {
        return Err("the payload hash is not the body's".into());
    }
    let secret = key.secret.expose_bytes();
    match verdict.scheme {
        Scheme::StandardWebhooks => check_webhook_mac(request, verdict, secret),
        Scheme::Rfc9421 => check_rfc9421_mac(request, verdict, secret, &body_hash),
    }
}

fn check_webhook_mac(
    request: &HttpRequest,
    verdict: &Verdict,
    secret: &[u8],
) -> Result<(), String> {
    let get = |name: &str| {
        request
            .headers
            .get(&format!("webhook-{name}"))
            .or_else(|| request.headers.get(&format!("svix-{name}")))
            .ok_or_else(|| format!("accepted without a {name} header"))
    };
    let (id, timestamp, signature) = (get("id")?, get("timestamp")?, get("signature")?);
    if id != verdict.nonce {
        return Err("the nonce is not the webhook-id".into());
    }
    if timestamp.parse::<i64>().ok() != Some(verdict.timestamp) {
        return Err("the timestamp is not webhook-timestamp".into());
    }
    let expected = format!(
        "v1,{}",
        STANDARD.encode(hmac(
            secret,
            &[
                id.as_bytes(),
                b".",
                timestamp.as_bytes(),
                b".",
                &request.body
            ]
        ))
    );
    if signature
        .split_ascii_whitespace()
        .any(|entry| entry == expected)
    {
        Ok(())
    } else {
        Err("accepted without a valid v1 entry".into())
    }
}

fn dictionary(value: Option<&str>) -> Option<Dictionary> {
    Parser::new(value?)
        .with_version(Version::Rfc8941)
        .parse()
        .ok()
}

/// The signature base of one `Signature-Input` member, built here from the request.
fn base_of(request: &HttpRequest, entry: &ListEntry) -> Option<String> {
    let ListEntry::InnerList(list) = entry else {
        return None;
    };
    let mut base = String::new();
    for item in &list.items {
        let name = item.bare_item.as_string()?.as_str();
        let uri = &request.uri;
        let value = match name {
            "@method" => request.method.clone(),
            "@authority" => uri.authority().to_string(),
            "@scheme" => uri.scheme().to_string(),
            "@target-uri" => uri.target_uri(),
            "@path" => uri.path().to_string(),
            "@query" => uri.query_component(),
            "@request-target" => uri.request_target(),
            n if n.starts_with('@') || n.bytes().any(|b| b.is_ascii_uppercase()) => return None,
            header => request.headers.get(header)?.to_string(),
        };
        if value.contains(['\n', '\r']) || !item.params.is_empty() {
            return None;
        }
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    let mut serializer = ListSerializer::new();
    serializer.members([entry]);
    base.push_str("\"@signature-params\": ");
    base.push_str(&serializer.finish()?);
    Some(base)
}

fn check_rfc9421_mac(
    request: &HttpRequest,
    verdict: &Verdict,
    secret: &[u8],
    body_hash: &[u8],
) -> Result<(), String> {
    let digest = dictionary(request.headers.get("content-digest"))
        .ok_or("accepted without a parseable content-digest")?;
    match digest.get("sha-256") {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) if bytes.as_slice() == body_hash => {}
        _ => return Err("accepted with a content-digest that is not the body's".into()),
    }
    let inputs = dictionary(request.headers.get("signature-input"))
        .ok_or("accepted without a parseable signature-input")?;
    let signatures = dictionary(request.headers.get("signature"))
        .ok_or("accepted without a parseable signature")?;
    for (label, entry) in &inputs {
        let ListEntry::InnerList(list) = entry else {
            continue;
        };
        let param = |name: &str| list.params.get(name);
        let covers = |c: &str| {
            list.items
                .iter()
                .any(|i| i.bare_item.as_string().is_some_and(|s| s.as_str() == c))
        };
        let matches_verdict = param("keyid")
            .and_then(BareItem::as_string)
            .map(|s| s.as_str())
            == Some(verdict.key_id.as_str())
            && param("nonce")
                .and_then(BareItem::as_string)
                .map(|s| s.as_str())
                == Some(verdict.nonce.as_str())
            && param("created")
                .and_then(BareItem::as_integer)
                .map(i64::from)
                == Some(verdict.timestamp)
            && ["@method", "@path", "content-digest"]
                .iter()
                .all(|c| covers(c));
        if !matches_verdict {
            continue;
        }
        let Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(tag),
            ..
        })) = signatures.get(label.as_str())
        else {
            continue;
        };
        if let Some(base) = base_of(request, entry)
            && hmac(secret, &[base.as_bytes()]) == *tag
        {
            return Ok(());
        }
    }
    Err("accepted without a signature that verifies by the oracle".into())
}

/// The request the `rfc9421_fields` target swaps one field of: signed with the active key,
/// covering `content-type` and `@authority` besides the required components.
#[must_use]
pub fn rfc9421_fixture() -> Option<HttpRequest> {
    let headers: Headers = [("content-type", "application/json"), ("x-a", "1")]
        .into_iter()
        .collect();
    let mut request = HttpRequest::new(
        "POST",
        "https://edge.example/v1/acme-eu1/sync?x=1",
        headers,
        br#"{"hello": "world"}"#.to_vec(),
    )
    .ok()?;
    let (kid, secret) = key(0);
    let mut options = SigningOptions::new(Scheme::Rfc9421, NOW, "n-1");
    options.extra_components = vec!["content-type".into(), "@authority".into()];
    for (name, value) in sign_request(&request, kid, &secret, &options).ok()? {
        request.headers.append(&name, &value);
    }
    Some(request)
}
