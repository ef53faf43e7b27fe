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
//!
//! `sfv` is used through its visitor parser and its serializers, without its `parsed-types`
//! feature (`Dictionary`, `Parameters`, … as `IndexMap`s): that leaves `indexmap`, `hashbrown`
//! and SipHash out of the wasm (about 20 KB of the npm package). The visitors below only keep
//! what this module reads, in plain vectors, and follow RFC 8941's rule for repeated keys as the
//! parsed types do: a dictionary member or parameter keeps the position where its key first
//! appears and the value it has last. Every other part of a field is still parsed and checked by
//! `sfv` (the `Ignored` visitor validates what it discards), so a field is accepted or refused
//! exactly as before.

use std::collections::BTreeMap;
use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{
    BareItem, BareItemFromInput, DictSerializer, Integer, Key, KeyRef, ListSerializer, Parser,
    RefBareItem, StringRef, Version,
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
    params: Params,
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
        let members = Parser::new(value)
            .with_version(Version::Rfc8941)
            .parse_dictionary_with_visitor(Members::<InputMember>::default())
            .map_err(|_| Rejection::malformed("signature-input is not a structured dictionary"))?;
        if members.len() > MAX_SIGNATURES {
            return Err(Rejection::malformed("too many signatures"));
        }
        members
            .into_iter()
            .map(|(label, entry)| Self::from_entry(label.as_str(), entry))
            .collect()
    }

    fn from_entry(label: &str, entry: InputMember) -> Result<Self, Rejection> {
        let InputMember::InnerList { items, params } = entry else {
            return Err(Rejection::malformed(
                "a signature-input member must be an inner list",
            ));
        };
        if items.len() > MAX_COMPONENTS {
            return Err(Rejection::malformed("too many covered components"));
        }
        let mut components = Vec::with_capacity(items.len());
        for item in &items {
            let ComponentItem::String { name, has_params } = item else {
                return Err(Rejection::malformed("a covered component must be a string"));
            };
            if *has_params {
                return Err(Rejection::malformed(
                    "component parameters (;sf, ;key, ;bs, ;req, ;tr) are not supported",
                ));
            }
            if components.iter().any(|c| c == name) {
                return Err(Rejection::malformed("a component is covered twice"));
            }
            components.push(name.clone());
        }
        let serialized = serialize_inner_list(&components, &params)
            .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
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
        let p = &self.params;
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
    let members = Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(Members::<BytesMember>::default())
        .map_err(|_| Rejection::DigestMismatch)?;
    match members.get("sha-256") {
        Some(BytesMember::Bytes(bytes)) if bytes.as_slice() == body_sha256.as_slice() => Ok(()),
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
    let signatures = Parser::new(signature)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(Members::<BytesMember>::default())
        .map_err(|_| Rejection::malformed("signature is not a structured dictionary"))?;
    Ok(inputs
        .into_iter()
        .map(|input| {
            let tag = match signatures.get(input.label()) {
                Some(BytesMember::Bytes(bytes)) => Ok(bytes.clone()),
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
    let int = |v: i64| {
        Integer::try_from(v)
            .map(RefBareItem::Integer)
            .map_err(|_| Rejection::malformed("timestamp out of range"))
    };
    let mut items = Vec::with_capacity(components.len());
    for c in &components {
        items.push(sf_string(c, "a component")?);
    }
    let mut params: Vec<(&KeyRef, RefBareItem<'_>)> =
        vec![(key("created")?, int(options.created)?)];
    if let Some(expires) = options.expires {
        params.push((key("expires")?, int(expires)?));
    }
    params.push((
        key("nonce")?,
        sf_string(&options.nonce, "the nonce")?.into(),
    ));
    params.push((key("alg")?, sf_string(ALGORITHM, "alg")?.into()));
    params.push((key("keyid")?, sf_string(kid, "the key id")?.into()));
    if let Some(tag) = &options.tag {
        params.push((key("tag")?, sf_string(tag, "the tag")?.into()));
    }
    let label = key(&options.label)?;
    let mut input_dict = DictSerializer::new();
    {
        let mut list = input_dict.inner_list(label);
        for item in items {
            let _ = list.bare_item(item);
        }
        let _ = list.finish().parameters(params);
    }
    let signature_input = input_dict
        .finish()
        .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
    let parsed = SignatureInput::parse_all(&signature_input)?;
    let input = parsed
        .first()
        .ok_or_else(|| Rejection::malformed("signature-input cannot be serialised"))?;
    let base = input.signature_base(&request)?;
    let tag = primitives.hmac_sha256(secret, &[base.as_bytes()]);
    let mut signature_dict = DictSerializer::new();
    let _ = signature_dict.bare_item(label, tag.as_slice());
    let signature = signature_dict
        .finish()
        .ok_or_else(|| Rejection::malformed("signature cannot be serialised"))?;
    Ok(vec![
        ("content-digest".into(), digest),
        ("signature-input".into(), signature_input),
        ("signature".into(), signature),
    ])
}

/// `s` as a structured-field string, or why `what` cannot be one.
fn sf_string<'s>(s: &'s str, what: &str) -> Result<&'s StringRef, Rejection> {
    StringRef::from_str(s)
        .map_err(|_| Rejection::malformed(format!("{what} must be printable ascii")))
}

/// `name` as a structured-field key.
fn key(name: &str) -> Result<&KeyRef, Rejection> {
    KeyRef::from_str(name).map_err(|_| Rejection::malformed("invalid structured field key"))
}

/// The `@signature-params` value of an entry: `("c1" "c2" …)` and its parameters, as RFC 8941
/// serialises them (the components are strings without parameters: [`SignatureInput::parse_all`]
/// refuses any other).
fn serialize_inner_list(components: &[String], params: &Params) -> Option<String> {
    let mut out = ListSerializer::new();
    {
        let mut list = out.inner_list();
        for c in components {
            let _ = list.bare_item(StringRef::from_str(c).ok()?);
        }
        let _ = list
            .finish()
            .parameters(params.0.iter().map(|(k, v)| (k, RefBareItem::from(v))));
    }
    out.finish()
}

/// Parameters as RFC 8941 §4.2.3.2 reads them: in the order their keys first appear, each with
/// the value it has last.
#[derive(Debug, Clone, PartialEq, Default)]
struct Params(Vec<(Key, BareItem)>);

impl Params {
    fn get(&self, name: &str) -> Option<&BareItem> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    }
}

/// Collects parameters in the order they are read, then keeps one per key
/// ([`ParameterVisitor::parameter`] leaves repeated keys to the visitor).
#[derive(Default)]
struct ParamsVisitor(Vec<(Key, BareItem)>);

impl<'de> ParameterVisitor<'de> for ParamsVisitor {
    type Out = Params;
    type Error = Infallible;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        self.0.push((key.to_owned(), value.into()));
        Ok(())
    }

    fn finish(self) -> Result<Params, Self::Error> {
        Ok(Params(last_value_first_place(self.0)))
    }
}

/// Pairs in the order their keys first appear, each with the value it has last: how RFC 8941
/// reads repeated dictionary keys and parameter keys. Sorting through a map keeps a field of
/// many repeated keys from costing quadratic time.
fn last_value_first_place<V>(pairs: Vec<(Key, V)>) -> Vec<(Key, V)> {
    let mut slots: BTreeMap<Key, usize> = BTreeMap::new();
    let mut out: Vec<(Key, V)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match slots.get(&key).and_then(|&i| out.get_mut(i)) {
            Some(slot) => slot.1 = value,
            None => {
                slots.insert(key.clone(), out.len());
                out.push((key, value));
            }
        }
    }
    out
}

/// The members of a dictionary, by key, as a [`MemberValue`] keeps them.
struct Members<M>(Vec<(Key, M)>);

impl<M> Default for Members<M> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// What a dictionary member's value is reduced to while it is read.
trait MemberValue: Sized {
    /// The member is an item (a bare item with parameters).
    fn item(bare_item: BareItemFromInput<'_>) -> Self;
    /// The member is an inner list; `visit` collects it.
    fn inner_list() -> Self;
    /// The inner list's parts, when this kind of member keeps them.
    fn list_parts(&mut self) -> Option<(&mut Vec<ComponentItem>, &mut Params)>;
}

/// A member read for its byte sequence only (`Signature`, `Content-Digest`).
#[derive(Debug)]
enum BytesMember {
    Bytes(Vec<u8>),
    Other,
}

impl MemberValue for BytesMember {
    fn item(bare_item: BareItemFromInput<'_>) -> Self {
        match bare_item {
            BareItemFromInput::ByteSequence(bytes) => Self::Bytes(bytes),
            _ => Self::Other,
        }
    }
    fn inner_list() -> Self {
        Self::Other
    }
    fn list_parts(&mut self) -> Option<(&mut Vec<ComponentItem>, &mut Params)> {
        None
    }
}

/// A `Signature-Input` member: an inner list of components with its parameters, or anything else.
#[derive(Debug)]
enum InputMember {
    InnerList {
        items: Vec<ComponentItem>,
        params: Params,
    },
    Other,
}

/// One item of a `Signature-Input` inner list.
#[derive(Debug)]
enum ComponentItem {
    String { name: String, has_params: bool },
    Other,
}

impl MemberValue for InputMember {
    fn item(_: BareItemFromInput<'_>) -> Self {
        Self::Other
    }
    fn inner_list() -> Self {
        Self::InnerList {
            items: Vec::new(),
            params: Params::default(),
        }
    }
    fn list_parts(&mut self) -> Option<(&mut Vec<ComponentItem>, &mut Params)> {
        match self {
            Self::InnerList { items, params } => Some((items, params)),
            Self::Other => None,
        }
    }
}

impl<M: MemberValue> Members<M> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, name: &str) -> Option<&M> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    }

    fn into_iter(self) -> impl Iterator<Item = (Key, M)> {
        self.0.into_iter()
    }
}

impl<'de, M: MemberValue> DictionaryVisitor<'de> for Members<M> {
    type Out = Self;
    type Error = Infallible;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        Ok(MemberVisitor { members: self, key })
    }

    fn finish(self) -> Result<Self, Self::Error> {
        Ok(Self(last_value_first_place(self.0)))
    }
}

/// Reads one member's value into its [`Members`].
struct MemberVisitor<'a, 'de, M> {
    members: &'a mut Members<M>,
    key: &'de KeyRef,
}

impl<'de, M: MemberValue> ItemVisitor<'de> for MemberVisitor<'_, 'de, M> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        self.members
            .0
            .push((self.key.to_owned(), M::item(bare_item)));
        Ok(Ignored)
    }
}

impl<'de, M: MemberValue> EntryVisitor<'de> for MemberVisitor<'_, 'de, M> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(self)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        self.members.0.push((self.key.to_owned(), M::inner_list()));
        Ok(InnerListReader {
            target: self.members.0.last_mut().and_then(|(_, m)| m.list_parts()),
        })
    }
}

/// Reads an inner list's items and parameters into a member that keeps them (or discards them).
struct InnerListReader<'a> {
    target: Option<(&'a mut Vec<ComponentItem>, &'a mut Params)>,
}

impl<'de> InnerListVisitor<'de> for InnerListReader<'_> {
    type Error = Infallible;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(ComponentReader {
            items: self.target.as_mut().map(|(items, _)| &mut **items),
        })
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Self::Error> {
        Ok(ListParams {
            target: self.target.map(|(_, params)| params),
            read: ParamsVisitor::default(),
        })
    }
}

/// Reads one inner-list item: a string component (noting whether it has parameters) or other.
struct ComponentReader<'a> {
    items: Option<&'a mut Vec<ComponentItem>>,
}

impl<'de> ItemVisitor<'de> for ComponentReader<'_> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        let item = match bare_item {
            BareItemFromInput::String(name) => ComponentItem::String {
                name: name.as_str().to_string(),
                has_params: false,
            },
            _ => ComponentItem::Other,
        };
        let slot = self.items.map(|items| {
            items.push(item);
            items.last_mut()
        });
        Ok(ComponentParams {
            item: slot.flatten(),
        })
    }
}

/// Notes that a component item has parameters (syncgate refuses them; their values are unused).
struct ComponentParams<'a> {
    item: Option<&'a mut ComponentItem>,
}

impl<'de> ParameterVisitor<'de> for ComponentParams<'_> {
    type Out = ();
    type Error = Infallible;

    fn parameter(&mut self, _: &'de KeyRef, _: BareItemFromInput<'de>) -> Result<(), Self::Error> {
        if let Some(ComponentItem::String { has_params, .. }) = self.item.as_deref_mut() {
            *has_params = true;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Reads an inner list's parameters into its member.
struct ListParams<'a> {
    target: Option<&'a mut Params>,
    read: ParamsVisitor,
}

impl<'de> ParameterVisitor<'de> for ListParams<'_> {
    type Out = ();
    type Error = Infallible;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        if self.target.is_some() {
            self.read.parameter(key, value)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        if let Some(target) = self.target {
            *target = self.read.finish()?;
        }
        Ok(())
    }
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

    /// A member's label and, when syncgate accepts it, its components and `@signature-params`.
    type ReferenceMember = (String, Option<(Vec<String>, String)>);

    /// What sfv's parsed types (the `parsed-types` feature, a dev-dependency) make of a
    /// `Signature-Input` value: per member, the label and either its components and canonical
    /// `@signature-params` line, or `None` when syncgate refuses it (not an inner list of distinct
    /// strings without parameters).
    fn reference_inputs(value: &str) -> Option<Vec<ReferenceMember>> {
        let dict: sfv::Dictionary = Parser::new(value)
            .with_version(Version::Rfc8941)
            .parse()
            .ok()?;
        Some(
            dict.iter()
                .map(|(label, entry)| {
                    let parts = match entry {
                        sfv::ListEntry::InnerList(list) => list
                            .items
                            .iter()
                            .map(|i| match &i.bare_item {
                                BareItem::String(s) if i.params.is_empty() => {
                                    Some(s.as_str().to_string())
                                }
                                _ => None,
                            })
                            .collect::<Option<Vec<String>>>()
                            .filter(|c| {
                                c.len() <= MAX_COMPONENTS
                                    && c.iter().enumerate().all(|(i, x)| !c[..i].contains(x))
                            })
                            .map(|components| {
                                let mut ser = ListSerializer::new();
                                ser.members([entry]);
                                (components, ser.finish().unwrap())
                            }),
                        sfv::ListEntry::Item(_) => None,
                    };
                    (label.as_str().to_string(), parts)
                })
                .collect(),
        )
    }

    /// What sfv's parsed types make of a `Signature` or `Content-Digest` value: the byte
    /// sequence of member `name`, if it is one.
    fn reference_bytes(value: &str, name: &str) -> Option<Option<Vec<u8>>> {
        let dict: sfv::Dictionary = Parser::new(value)
            .with_version(Version::Rfc8941)
            .parse()
            .ok()?;
        Some(match dict.get(name) {
            Some(sfv::ListEntry::Item(sfv::Item {
                bare_item: BareItem::ByteSequence(b),
                ..
            })) => Some(b.clone()),
            _ => None,
        })
    }

    /// Dictionaries built from what RFC 8941 fields are made of (repeated keys, every bare item
    /// type, parameters on items and lists, inner lists of strings or not), a quarter of them
    /// then damaged by one inserted piece or one removed character.
    fn generated_fields(count: usize) -> Vec<String> {
        const KEYS: [&str; 4] = ["sig1", "sig2", "sha-256", "a"];
        const COMPONENTS: [&str; 6] = [
            "\"@method\"",
            "\"@path\"",
            "\"content-digest\"",
            "\"q\\\"s\"",
            "tok",
            "7",
        ];
        const PARAMS: [&str; 10] = [
            ";created=1",
            ";created=2",
            ";keyid=\"k\"",
            ";nonce=\"n\"",
            ";alg=\"hmac-sha256\"",
            ";a",
            ";b=?0",
            ";c=1.50",
            ";d=tok/x",
            ";e=:AAAA:",
        ];
        const ITEMS: [&str; 7] = [
            ":X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            ":AA==:",
            "?1",
            "-12",
            "tok",
            "\"s\"",
            "4.5",
        ];
        const DAMAGE: [&str; 8] = ["(", ")", ",", "=", ";", " ", "\"", ":"];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        (0..count)
            .map(|_| {
                let mut out = String::new();
                for m in 0..1 + next(4) {
                    if m > 0 {
                        out.push_str([", ", ",", " ,  "][next(3)]);
                    }
                    out.push_str(KEYS[next(KEYS.len())]);
                    match next(3) {
                        0 => {
                            out.push_str("=(");
                            for i in 0..next(5) {
                                if i > 0 {
                                    out.push_str([" ", "  "][next(2)]);
                                }
                                let kinds = if next(4) == 0 { COMPONENTS.len() } else { 3 };
                                out.push_str(COMPONENTS[next(kinds)]);
                                if next(8) == 0 {
                                    out.push_str(PARAMS[next(PARAMS.len())]);
                                }
                            }
                            out.push(')');
                        }
                        1 => {
                            out.push('=');
                            out.push_str(ITEMS[next(ITEMS.len())]);
                        }
                        _ => {}
                    }
                    for _ in 0..next(5) {
                        out.push_str(PARAMS[next(PARAMS.len())]);
                    }
                }
                if next(4) == 0 && !out.is_empty() {
                    let at = next(out.len());
                    if out.is_char_boundary(at) {
                        if next(2) == 0 {
                            out.insert_str(at, DAMAGE[next(DAMAGE.len())]);
                        } else {
                            out.remove(at);
                        }
                    }
                }
                out
            })
            .collect()
    }

    fn fields_to_check() -> Vec<String> {
        let mut fields: Vec<String> = [
            r#"sig1=("@method" "@path");created=1;created=2;keyid="k""#,
            r#"sig1=("@method");a=1, sig2=("@path"), sig1=("@path");b=2"#,
            r#"sig1=("@method";x), sig1=("@path")"#,
            r#"sig1=("@method"), sig1=:AAAA:"#,
            r#"sig1=("@method");a;b=?0;c=1.5;d=tok;e=:AA==:;f=-0"#,
            r#"a=1, b, c=?0, d=(1 2), e=("x");p"#,
            "sig1=:AAAA:, sig1=:AA==:",
            "sig1=:AAAA:;p=1, sig2=(:AA==:)",
            "sha-256=:AA==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-256=?1",
            "sig1=(\"@method\"), ,sig2=(\"@path\")",
        ]
        .map(String::from)
        .to_vec();
        fields.extend(generated_fields(20_000));
        fields
    }

    #[test]
    fn signature_input_reads_as_sfv_parsed_types_do() {
        let mut accepted = 0;
        for value in fields_to_check() {
            let ours = SignatureInput::parse_all(&value);
            match reference_inputs(&value) {
                None => assert_eq!(
                    ours.map_err(|e| e.to_string()),
                    Err(
                        Rejection::malformed("signature-input is not a structured dictionary")
                            .to_string()
                    ),
                    "{value}"
                ),
                Some(members) if members.len() > MAX_SIGNATURES => {
                    assert!(ours.is_err(), "{value}");
                }
                Some(members) => {
                    let first_refused = members.iter().position(|(_, p)| p.is_none());
                    match first_refused {
                        Some(_) => assert!(ours.is_err(), "{value}"),
                        None => {
                            let ours = ours.unwrap_or_else(|e| panic!("{value}: {e}"));
                            assert_eq!(ours.len(), members.len(), "{value}");
                            for (entry, (label, parts)) in ours.iter().zip(&members) {
                                let (components, serialized) = parts.clone().unwrap();
                                assert_eq!(entry.label(), label, "{value}");
                                assert_eq!(entry.components(), components.as_slice(), "{value}");
                                assert_eq!(entry.serialized_params(), serialized, "{value}");
                            }
                            accepted += 1;
                        }
                    }
                }
            }
        }
        assert!(accepted > 1_000, "only {accepted} generated fields parsed");
    }

    #[test]
    fn byte_sequence_members_read_as_sfv_parsed_types_do() {
        let mut found = 0;
        for value in fields_to_check() {
            for name in ["sig1", "sha-256"] {
                let ours = Parser::new(&value)
                    .with_version(Version::Rfc8941)
                    .parse_dictionary_with_visitor(Members::<BytesMember>::default())
                    .ok()
                    .map(|m| match m.get(name) {
                        Some(BytesMember::Bytes(b)) => Some(b.clone()),
                        _ => None,
                    });
                let reference = reference_bytes(&value, name);
                assert_eq!(ours, reference, "{value} ({name})");
                found += usize::from(matches!(reference, Some(Some(_))));
            }
        }
        assert!(found > 1_000, "only {found} byte sequences found");
    }

    #[test]
    fn repeated_parameters_keep_first_place_and_last_value() {
        let parsed = SignatureInput::parse_all(
            r#"sig1=("@method" "@path" "content-digest");created=1;keyid="a";nonce="n";created=5;keyid="b""#,
        )
        .unwrap();
        assert_eq!(
            parsed[0].serialized_params(),
            r#"("@method" "@path" "content-digest");created=5;keyid="b";nonce="n""#
        );
        let params = parsed[0].params().unwrap();
        assert_eq!((params.created, params.keyid.as_str()), (5, "b"));
    }

    #[test]
    fn many_repeated_keys_are_read_in_bounded_time() {
        let value = format!("sig1=(\"@method\"){}", ";a=1".repeat(100_000));
        let started = std::time::Instant::now();
        let parsed = SignatureInput::parse_all(&value).unwrap();
        assert_eq!(parsed[0].serialized_params(), r#"("@method");a=1"#);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
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
