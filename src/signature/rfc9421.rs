//! RFC 9421 HTTP Message Signatures with `hmac-sha256`, and RFC 9530 `Content-Digest`.
//!
//! A signer lists the request components it covers in `Signature-Input`; both sides rebuild the
//! same *signature base* from the request and MAC it. syncgate requires `"@method"`, `"@path"`
//! and `"content-digest"` to be covered — the digest binds the body — and the parameters
//! `created`, `nonce` and `keyid`. Any other component a signer chooses (`@authority`,
//! `@target-uri`, header fields, …) is honoured, so any compliant RFC 9421 library interoperates.
//!
//! `Signature-Input`, `Signature` and `Content-Digest` are RFC 8941 structured fields, parsed with
//! the `sfv` crate: a hand-written parser is where signature schemes usually go wrong, and `sfv`
//! also gives the canonical re-serialisation the `@signature-params` line needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sfv::{
    BareItem, Dictionary, FieldType, InnerList, Item, Key, ListEntry, ListSerializer, Parser,
    Version,
};

use crate::error::{Rejection, fragment};
use crate::request::HttpRequest;
use crate::signature::crypto::{Primitives, SHA256_LEN};
use crate::signature::keys::{KeyRing, SigningKey};
use crate::signature::skew::SkewWindow;

/// The only algorithm syncgate verifies.
pub const ALGORITHM: &str = "hmac-sha256";
/// Components every syncgate signature must cover.
pub const REQUIRED_COMPONENTS: [&str; 3] = ["@method", "@path", "content-digest"];
/// Default signature label used when signing.
pub const DEFAULT_LABEL: &str = "sig1";
/// At most this many signatures in one request are considered.
pub const MAX_SIGNATURES: usize = 8;
/// At most this many components in one signature.
pub const MAX_COMPONENTS: usize = 32;
/// Longest accepted `nonce` parameter.
pub const MAX_NONCE_LEN: usize = 128;

/// One labelled entry of `Signature-Input`: the covered components and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureInput {
    label: String,
    components: Vec<String>,
    params: InnerList,
    serialized: String,
}

/// The parameters syncgate needs from a signature, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// `created`: Unix seconds.
    pub created: i64,
    /// `expires`: Unix seconds, if set.
    pub expires: Option<i64>,
    /// `nonce`: the replay key.
    pub nonce: String,
    /// `keyid`: which key of the tenant's ring.
    pub keyid: String,
    /// `tag`: an application tag, if set.
    pub tag: Option<String>,
}

impl SignatureInput {
    /// The signature's label (`sig1`).
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Covered component identifiers, in order.
    #[must_use]
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The `@signature-params` value: the canonical serialisation of this entry.
    #[must_use]
    pub fn serialized_params(&self) -> &str {
        &self.serialized
    }

    /// Parses every entry of a `Signature-Input` field value.
    ///
    /// # Errors
    /// `malformed_signature` when the value is not a dictionary of inner lists of strings.
    pub fn parse_all(value: &str) -> Result<Vec<Self>, Rejection> {
        let dict: Dictionary = Parser::new(value)
            .with_version(Version::Rfc8941)
            .parse()
            .map_err(|_| Rejection::malformed("signature-input is not a structured dictionary"))?;
        if dict.len() > MAX_SIGNATURES {
            return Err(Rejection::malformed("too many signatures"));
        }
        dict.into_iter()
            .map(|(label, entry)| Self::from_entry(label.as_str(), entry))
            .collect()
    }

    fn from_entry(label: &str, entry: ListEntry) -> Result<Self, Rejection> {
        let ListEntry::InnerList(list) = entry else {
            return Err(Rejection::malformed(
                "a signature-input member must be an inner list",
            ));
        };
        if list.items.len() > MAX_COMPONENTS {
            return Err(Rejection::malformed("too many covered components"));
        }
        let mut components = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let Some(name) = item.bare_item.as_string() else {
                return Err(Rejection::malformed("a covered component must be a string"));
            };
            if !item.params.is_empty() {
                return Err(Rejection::malformed(
                    "component parameters (;sf, ;key, ;bs, ;req, ;tr) are not supported",
                ));
            }
            let name = name.as_str();
            if components.iter().any(|c| c == name) {
                return Err(Rejection::malformed("a component is covered twice"));
            }
            components.push(name.to_string());
        }
        let mut serializer = ListSerializer::new();
        let entry = ListEntry::InnerList(list);
        serializer.members([&entry]);
        let serialized = serializer
            .finish()
            .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
        let ListEntry::InnerList(params) = entry else {
            return Err(Rejection::malformed(
                "a signature-input member must be an inner list",
            ));
        };
        Ok(Self {
            label: label.to_string(),
            components,
            params,
            serialized,
        })
    }

    /// The typed parameters, requiring `created`, `nonce` and `keyid` and allowing only
    /// `alg="hmac-sha256"`.
    ///
    /// # Errors
    /// `malformed_signature` naming the missing or ill-typed parameter.
    pub fn params(&self) -> Result<SignatureParams, Rejection> {
        let p = &self.params.params;
        let int = |name: &str| -> Result<Option<i64>, Rejection> {
            match p.get(name) {
                None => Ok(None),
                Some(BareItem::Integer(i)) => Ok(Some(i64::from(*i))),
                Some(_) => Err(Rejection::malformed(format!("{name} must be an integer"))),
            }
        };
        let string = |name: &str| -> Result<Option<String>, Rejection> {
            match p.get(name) {
                None => Ok(None),
                Some(BareItem::String(s)) => Ok(Some(s.as_str().to_string())),
                Some(_) => Err(Rejection::malformed(format!("{name} must be a string"))),
            }
        };
        let required = |name: &str, v: Option<String>| {
            v.ok_or_else(|| Rejection::malformed(format!("the {name} parameter is required")))
        };
        if let Some(alg) = string("alg")?
            && alg != ALGORITHM
        {
            return Err(Rejection::malformed("alg must be hmac-sha256"));
        }
        let created = int("created")?
            .ok_or_else(|| Rejection::malformed("the created parameter is required"))?;
        let expires = int("expires")?;
        if expires.is_some_and(|e| e < created) {
            return Err(Rejection::malformed("expires is before created"));
        }
        let nonce = required("nonce", string("nonce")?)?;
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(Rejection::malformed("nonce must be 1 to 128 characters"));
        }
        let keyid = required("keyid", string("keyid")?)?;
        Ok(SignatureParams {
            created,
            expires,
            nonce,
            keyid,
            tag: string("tag")?,
        })
    }

    /// Checks that the syncgate-required components are covered.
    ///
    /// # Errors
    /// `malformed_signature` naming the first missing component.
    pub fn require_components(&self) -> Result<(), Rejection> {
        match REQUIRED_COMPONENTS
            .iter()
            .find(|r| !self.components.iter().any(|c| c == *r))
        {
            Some(missing) => Err(Rejection::malformed(format!(
                "the signature must cover \"{missing}\""
            ))),
            None => Ok(()),
        }
    }

    /// Builds the signature base (RFC 9421 §2.5) for this entry over `request`.
    ///
    /// # Errors
    /// `malformed_signature` when a covered component is unknown or a covered header is absent.
    pub fn signature_base(&self, request: &HttpRequest) -> Result<String, Rejection> {
        build_base(request, &self.components, &self.serialized)
    }
}

fn component_value(request: &HttpRequest, name: &str) -> Result<String, Rejection> {
    let uri = &request.uri;
    Ok(match name {
        "@method" => request.method.clone(),
        "@authority" => uri.authority().to_string(),
        "@scheme" => uri.scheme().to_string(),
        "@target-uri" => uri.target_uri(),
        "@path" => uri.path().to_string(),
        "@query" => uri.query_component(),
        "@request-target" => uri.request_target(),
        derived if derived.starts_with('@') => {
            return Err(Rejection::malformed(format!(
                "covered component {} is not supported",
                fragment(derived)
            )));
        }
        header => {
            if header.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(Rejection::malformed(
                    "covered header names must be lowercase",
                ));
            }
            request
                .headers
                .get(header)
                .ok_or_else(|| {
                    Rejection::malformed(format!("covered header {} is missing", fragment(header)))
                })?
                .to_string()
        }
    })
}

fn build_base(
    request: &HttpRequest,
    components: &[String],
    serialized_params: &str,
) -> Result<String, Rejection> {
    let mut base = String::with_capacity(256);
    for name in components {
        let value = component_value(request, name)?;
        if value.contains('\n') || value.contains('\r') {
            return Err(Rejection::malformed(
                "a covered value contains a line break",
            ));
        }
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(serialized_params);
    Ok(base)
}

/// The `Content-Digest` value for a body: `sha-256=:<base64>:` (RFC 9530).
#[must_use]
pub fn content_digest_value(body_sha256: &[u8; SHA256_LEN]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(body_sha256))
}

/// Checks a `Content-Digest` header against the body's SHA-256.
///
/// Other algorithms may be listed alongside; `sha-256` must be among them and match.
///
/// # Errors
/// `digest_mismatch` when the value has no `sha-256` member or it does not match.
pub fn check_content_digest(value: &str, body_sha256: &[u8; SHA256_LEN]) -> Result<(), Rejection> {
    let dict: Dictionary = Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse()
        .map_err(|_| Rejection::DigestMismatch)?;
    match dict.get("sha-256") {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) if bytes.as_slice() == body_sha256.as_slice() => Ok(()),
        _ => Err(Rejection::DigestMismatch),
    }
}

/// What a verified RFC 9421 signature establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'k> {
    /// The key that verified.
    pub key: &'k SigningKey,
    /// The signature's parameters.
    pub params: SignatureParams,
    /// The label of the signature that verified.
    pub label: String,
}

/// Verifies the request's RFC 9421 signature against a tenant's key ring.
///
/// Checks run cheapest first: field syntax and required components and parameters, the
/// timestamp window (and `expires`), the key, the body digest, then the MAC. When several
/// signatures are present, the first that verifies wins; if none does, the first one's reason is
/// reported.
///
/// # Errors
/// The first failing check's rejection.
pub fn verify<'k>(
    request: &HttpRequest,
    body_sha256: &[u8; SHA256_LEN],
    keys: &'k KeyRing,
    window: SkewWindow,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Verified<'k>, Rejection> {
    let mut first_error = None;
    for (input, tag) in labelled_signatures(request)? {
        match verify_one(
            request,
            &input,
            tag,
            body_sha256,
            keys,
            window,
            now,
            primitives,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(Rejection::MissingSignature))
}

/// A signature's tag from the `Signature` dictionary, or why its label cannot be checked.
pub(crate) type LabelledTag = Result<Vec<u8>, Rejection>;

/// Every signature a request labels, in the order of its `Signature-Input`, each with its tag
/// from `Signature` (or why that label cannot be checked: no tag, or not a byte sequence).
///
/// # Errors
/// `missing_signature` without both headers; `malformed_signature` when either does not parse.
pub(crate) fn labelled_signatures(
    request: &HttpRequest,
) -> Result<Vec<(SignatureInput, LabelledTag)>, Rejection> {
    let input = request
        .headers
        .get("signature-input")
        .ok_or(Rejection::MissingSignature)?;
    let signature = request
        .headers
        .get("signature")
        .ok_or(Rejection::MissingSignature)?;
    let inputs = SignatureInput::parse_all(input)?;
    let signatures: Dictionary = Parser::new(signature)
        .with_version(Version::Rfc8941)
        .parse()
        .map_err(|_| Rejection::malformed("signature is not a structured dictionary"))?;
    Ok(inputs
        .into_iter()
        .map(|input| {
            let tag = match signatures.get(input.label()) {
                Some(ListEntry::Item(Item {
                    bare_item: BareItem::ByteSequence(bytes),
                    ..
                })) => Ok(bytes.clone()),
                Some(_) => Err(Rejection::malformed("a signature must be a byte sequence")),
                None => Err(Rejection::malformed(
                    "signature-input names a label that signature lacks",
                )),
            };
            (input, tag)
        })
        .collect())
}

/// The checks of one signature that need no key, in order: the required components are
/// covered, the parameters parse, `created` is inside the window and `expires` has not passed.
///
/// # Errors
/// The first failing check's rejection.
pub(crate) fn check_unkeyed(
    input: &SignatureInput,
    window: SkewWindow,
    now: i64,
) -> Result<SignatureParams, Rejection> {
    input.require_components()?;
    let params = input.params()?;
    window.check(params.created, now)?;
    if params.expires.is_some_and(|expires| now > expires) {
        return Err(Rejection::StaleTimestamp);
    }
    Ok(params)
}

#[allow(clippy::too_many_arguments)]
fn verify_one<'k>(
    request: &HttpRequest,
    input: &SignatureInput,
    tag: LabelledTag,
    body_sha256: &[u8; SHA256_LEN],
    keys: &'k KeyRing,
    window: SkewWindow,
    now: i64,
    primitives: &dyn Primitives,
) -> Result<Verified<'k>, Rejection> {
    let tag = tag?;
    let params = check_unkeyed(input, window, now)?;
    let key = keys.get(&params.keyid).ok_or(Rejection::UnknownKey)?;
    if !key.status.verifies() {
        return Err(Rejection::RevokedKey);
    }
    let digest = request
        .headers
        .get("content-digest")
        .ok_or_else(|| Rejection::malformed("covered header content-digest is missing"))?;
    check_content_digest(digest, body_sha256)?;
    let base = input.signature_base(request)?;
    if !primitives.verify_hmac_sha256(
        key.secret.expose_bytes(),
        &[base.as_bytes()],
        tag.as_slice(),
    ) {
        return Err(Rejection::InvalidSignature);
    }
    Ok(Verified {
        key,
        params,
        label: input.label().to_string(),
    })
}

/// How to sign a request with RFC 9421.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// Signature label. Default `sig1`.
    pub label: String,
    /// `created`, Unix seconds.
    pub created: i64,
    /// `expires`, Unix seconds, if any.
    pub expires: Option<i64>,
    /// `nonce`: unique per request.
    pub nonce: String,
    /// Components covered beyond the required three (e.g. `@authority`, `content-type`).
    pub extra_components: Vec<String>,
    /// `tag`, if any.
    pub tag: Option<String>,
}

/// Signs `request` (whose body is final) and returns the headers to set:
/// `content-digest`, `signature-input` and `signature`. They replace any fields of those names
/// the request carries (see [`crate::request::Headers::set`]).
///
/// # Errors
/// `malformed_signature` when a label, nonce, key id, tag or component cannot be expressed as a
/// structured field, or a covered header is missing from the request.
pub fn sign(
    request: &HttpRequest,
    kid: &str,
    secret: &[u8],
    options: &SignOptions,
    primitives: &dyn Primitives,
) -> Result<Vec<(String, String)>, Rejection> {
    let digest = content_digest_value(&primitives.sha256(&request.body));
    // The digest this signature covers is the one returned: a `Content-Digest` the request
    // already carries (stale or not, in any case) is replaced, never combined with it.
    let mut request = request.clone();
    request.headers.set("content-digest", &digest);

    let mut components: Vec<String> = REQUIRED_COMPONENTS.map(String::from).to_vec();
    for extra in &options.extra_components {
        if !components.contains(extra) {
            components.push(extra.clone());
        }
    }
    let sf_string = |s: &str, what: &str| {
        sfv::String::from_string(s.to_string())
            .map_err(|_| Rejection::malformed(format!("{what} must be printable ascii")))
    };
    let key = |name: &str| {
        Key::from_string(name.to_string())
            .map_err(|_| Rejection::malformed("invalid structured field key"))
    };
    let mut items = Vec::with_capacity(components.len());
    for c in &components {
        items.push(Item::new(BareItem::String(sf_string(c, "a component")?)));
    }
    let mut list = InnerList::new(items);
    let int = |v: i64| {
        sfv::Integer::try_from(v).map_err(|_| Rejection::malformed("timestamp out of range"))
    };
    list.params
        .insert(key("created")?, BareItem::Integer(int(options.created)?));
    if let Some(expires) = options.expires {
        list.params
            .insert(key("expires")?, BareItem::Integer(int(expires)?));
    }
    list.params.insert(
        key("nonce")?,
        BareItem::String(sf_string(&options.nonce, "the nonce")?),
    );
    list.params
        .insert(key("alg")?, BareItem::String(sf_string(ALGORITHM, "alg")?));
    list.params.insert(
        key("keyid")?,
        BareItem::String(sf_string(kid, "the key id")?),
    );
    if let Some(tag) = &options.tag {
        list.params
            .insert(key("tag")?, BareItem::String(sf_string(tag, "the tag")?));
    }
    let label = key(&options.label)?;
    let mut input_dict = Dictionary::new();
    input_dict.insert(label.clone(), ListEntry::InnerList(list));
    let signature_input = input_dict
        .serialize()
        .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
    let parsed = SignatureInput::parse_all(&signature_input)?;
    let input = parsed
        .first()
        .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
    let base = input.signature_base(&request)?;
    let tag = primitives.hmac_sha256(secret, &[base.as_bytes()]);
    let mut signature_dict = Dictionary::new();
    signature_dict.insert(
        label,
        ListEntry::Item(Item::new(BareItem::ByteSequence(tag.to_vec()))),
    );
    let signature = signature_dict
        .serialize()
        .ok_or_else(|| Rejection::malformed("signature cannot be serialised"))?;
    Ok(vec![
        ("content-digest".into(), digest),
        ("signature-input".into(), signature_input),
        ("signature".into(), signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::crypto::RustCrypto;

    #[test]
    fn content_digest_known_answer() {
        let d = RustCrypto.sha256(br#"{"hello": "world"}"#);
        assert_eq!(
            content_digest_value(&d),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert!(
            check_content_digest(
                "sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
                &d
            )
            .is_ok()
        );
        assert_eq!(
            check_content_digest("sha-256=:AAAA:", &d),
            Err(Rejection::DigestMismatch)
        );
        assert_eq!(
            check_content_digest("garbage((", &d),
            Err(Rejection::DigestMismatch)
        );
    }

    #[test]
    fn signature_params_line_is_canonical() {
        let parsed =
            SignatureInput::parse_all(r#"sig1=( "@method"  "@path" );created=1;keyid="k""#)
                .unwrap();
        assert_eq!(
            parsed[0].serialized_params(),
            r#"("@method" "@path");created=1;keyid="k""#
        );
    }

    #[test]
    fn malformed_inputs() {
        for value in [
            "sig1=\"@method\"",
            "sig1=(@method)",
            r#"sig1=("@method";sf)"#,
            r#"sig1=("@method" "@method")"#,
            "not a dictionary (",
        ] {
            assert_eq!(
                SignatureInput::parse_all(value).unwrap_err().code(),
                "malformed_signature",
                "{value}"
            );
        }
    }
}
