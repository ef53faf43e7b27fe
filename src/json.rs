//! JSON helpers shared by the payload, customer and policy readers.
//!
//! serde's own messages quote the offending value (`invalid type: string "hunter2"`), which would
//! put an SMTP password or a secret into an error answer. Everything here reports paths and
//! expectations only.
//!
//! Documents are parsed once into a [`serde_json::Value`] (refusing repeated object keys, which
//! different parsers resolve differently) and then read by small path-aware readers: every
//! rejection names the exact place (`smtp.port`, `features.modules[2].group`, `tags[3]`) and the
//! rule, never what was found there. The `syntax` module holds the value grammars (host names,
//! e-mail addresses, https URLs, …) that the readers share.

use core::fmt;
use core::ops::RangeInclusive;
use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Rejection, fragment};
use crate::policy::is_identifier;

/// The largest integer JavaScript represents exactly (2^53 − 1). Versions stay within it so the
/// edge, the npm package and the origin read the same number.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Longest object key a path will print; longer or stranger keys are never echoed.
const MAX_PRINTED_KEY_CHARS: usize = 64;

/// Which document a [`JsonPath`] points into; it decides which rejection a broken rule becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Document {
    /// A sync payload: a broken rule is `invalid_payload` with a `path` (empty for the root).
    SyncPayload,
    /// A customer record: a broken rule is `invalid_field` with a `field` (`body` for the root).
    Customer,
}

/// Where a value sits in a document: `smtp.port`, `features.modules[2].group`,
/// `features.overrides["crm.reports"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath {
    document: Document,
    text: String,
}

impl JsonPath {
    /// The root of a document.
    pub(crate) const fn root(document: Document) -> Self {
        Self {
            document,
            text: String::new(),
        }
    }

    /// The path of member `name`. Names with a `.` print in brackets; a name that is not an
    /// identifier (it may carry anything the sender chose) is never printed: the path stays at
    /// the object.
    pub(crate) fn field(&self, name: &str) -> Self {
        let text = if !is_identifier(name, MAX_PRINTED_KEY_CHARS) {
            self.text.clone()
        } else if name.contains('.') {
            format!("{}[\"{name}\"]", self.text)
        } else if self.text.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.text)
        };
        Self {
            document: self.document,
            text,
        }
    }

    /// The path of item `index` of an array.
    pub(crate) fn index(&self, index: usize) -> Self {
        Self {
            document: self.document,
            text: format!("{}[{index}]", self.text),
        }
    }

    /// The rejection for a rule broken here.
    pub(crate) fn reject(&self, reason: impl Into<String>) -> Rejection {
        match self.document {
            Document::SyncPayload => Rejection::invalid_payload(self.text.clone(), reason),
            Document::Customer if self.text.is_empty() => Rejection::invalid_field("body", reason),
            Document::Customer => Rejection::invalid_field(self.text.clone(), reason),
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a whole document (one value, nothing after it, no repeated keys).
///
/// # Errors
/// At the root: not JSON, or an object repeats a key.
pub(crate) fn parse_document(body: &[u8], root: &JsonPath) -> Result<Value, Rejection> {
    serde_json::from_slice::<UniqueKeys>(body)
        .map(|UniqueKeys(value)| value)
        .map_err(|err| root.reject(describe_error(&err)))
}

/// Implements `Deserialize` through a path-aware reader, so serde users (e.g.
/// `serde_wasm_bindgen`) get exactly the rules and messages of the reader.
///
/// # Errors
/// The reader's rejection, as a serde error message.
pub(crate) fn deserialize_with<'de, D, T>(
    deserializer: D,
    read: impl FnOnce(&Value) -> Result<T, Rejection>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let UniqueKeys(value) = UniqueKeys::deserialize(deserializer)?;
    read(&value).map_err(de::Error::custom)
}

/// A JSON value whose objects have unique keys. A signed document with a repeated key would mean
/// one thing to one parser and another to the next, so it is refused rather than resolved.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor).map(Self)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(deserializer).map(|UniqueKeys(value)| value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(duplicate_key_message(&key)));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

fn duplicate_key_message(key: &str) -> String {
    if is_identifier(key, MAX_PRINTED_KEY_CHARS) {
        format!("duplicate field `{key}`")
    } else {
        "duplicate field".into()
    }
}

/// A JSON object read member by member; only the members a schema names are allowed.
pub(crate) struct Fields<'v> {
    object: &'v Map<String, Value>,
    path: JsonPath,
}

impl<'v> Fields<'v> {
    /// Reads `value` as an object whose members are all in `known`.
    ///
    /// # Errors
    /// When `value` is not an object, or at the first member (in the object's key order) not in
    /// `known`.
    pub(crate) fn new(
        value: &'v Value,
        path: &JsonPath,
        known: &[&str],
    ) -> Result<Self, Rejection> {
        let fields = Self::open(value, path)?;
        match fields
            .object
            .keys()
            .find(|key| !known.contains(&key.as_str()))
        {
            Some(unknown) => Err(path.field(unknown).reject("unknown field")),
            None => Ok(fields),
        }
    }

    /// Reads `value` as an object, leaving its member names to the caller.
    ///
    /// # Errors
    /// When `value` is not an object.
    pub(crate) fn open(value: &'v Value, path: &JsonPath) -> Result<Self, Rejection> {
        let object = value
            .as_object()
            .ok_or_else(|| path.reject("must be an object"))?;
        Ok(Self {
            object,
            path: path.clone(),
        })
    }

    /// The first of `names` present (even as `null`), in the order given.
    pub(crate) fn first_present<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names
            .iter()
            .copied()
            .find(|name| self.object.contains_key(*name))
    }

    /// Member `name` as sent, `null` included, with its path.
    pub(crate) fn raw(&self, name: &str) -> Option<(&'v Value, JsonPath)> {
        self.object
            .get(name)
            .map(|value| (value, self.path.field(name)))
    }

    /// Member `name`, read by `read`.
    ///
    /// # Errors
    /// `is required` when absent or `null`; else what `read` says.
    pub(crate) fn required<T>(
        &self,
        name: &str,
        read: impl FnOnce(&'v Value, &JsonPath) -> Result<T, Rejection>,
    ) -> Result<T, Rejection> {
        match self.raw(name) {
            Some((value, path)) if !value.is_null() => read(value, &path),
            _ => Err(self.path.field(name).reject("is required")),
        }
    }

    /// Member `name`, read by `read`; absent and `null` both mean "not given".
    ///
    /// # Errors
    /// What `read` says.
    pub(crate) fn optional<T>(
        &self,
        name: &str,
        read: impl FnOnce(&'v Value, &JsonPath) -> Result<T, Rejection>,
    ) -> Result<Option<T>, Rejection> {
        match self.raw(name) {
            Some((value, path)) if !value.is_null() => read(value, &path).map(Some),
            _ => Ok(None),
        }
    }
}

/// Reads a string.
///
/// # Errors
/// When `value` is not a string.
pub(crate) fn read_string(value: &Value, path: &JsonPath) -> Result<String, Rejection> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| path.reject("must be a string"))
}

/// Reads `true` or `false`.
///
/// # Errors
/// When `value` is not a boolean.
pub(crate) fn read_bool(value: &Value, path: &JsonPath) -> Result<bool, Rejection> {
    value
        .as_bool()
        .ok_or_else(|| path.reject("must be true or false"))
}

/// Reads a whole number inside `range`.
///
/// # Errors
/// When `value` is not a whole number inside `range`.
pub(crate) fn read_integer(
    value: &Value,
    path: &JsonPath,
    range: RangeInclusive<u64>,
) -> Result<u64, Rejection> {
    value
        .as_u64()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            path.reject(format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        })
}

/// Reads an array of at most `max_items` items, each read by `read_item` at its index.
///
/// # Errors
/// When `value` is not an array or is too long; else the first item's rejection.
pub(crate) fn read_list<'v, T>(
    value: &'v Value,
    path: &JsonPath,
    max_items: usize,
    mut read_item: impl FnMut(&'v Value, &JsonPath) -> Result<T, Rejection>,
) -> Result<Vec<T>, Rejection> {
    let items = value
        .as_array()
        .ok_or_else(|| path.reject("must be an array"))?;
    if items.len() > max_items {
        return Err(path.reject(format!("must have at most {max_items} items")));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| read_item(item, &path.index(index)))
        .collect()
}

/// Reads a string that `accepts` approves of.
///
/// # Errors
/// Not a string, or `rule` when `accepts` refuses it.
pub(crate) fn read_matching(
    value: &Value,
    path: &JsonPath,
    accepts: fn(&str) -> bool,
    rule: &str,
) -> Result<String, Rejection> {
    let text = read_string(value, path)?;
    if accepts(&text) {
        Ok(text)
    } else {
        Err(path.reject(rule))
    }
}

/// Reads an e-mail address (see [`syntax::is_email_address`]).
///
/// # Errors
/// Not a string, or not an e-mail address.
pub(crate) fn read_email(value: &Value, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        syntax::is_email_address,
        "must be an e-mail address (local@domain)",
    )
}

/// What the keys of an object used as a map must look like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRule {
    /// Whether a key is well-formed.
    pub(crate) accepts: fn(&str) -> bool,
    /// The rule, for the rejection (e.g. `keys must be module keys`).
    pub(crate) reason: &'static str,
}

/// Reads an object used as a map: at most `max_entries` entries, keys checked by `keys`, each
/// value read by `read_value` at its key's path.
///
/// # Errors
/// When `value` is not an object or is too large, at the first bad key, else the first value's
/// rejection (in key order).
pub(crate) fn read_map<'v, T>(
    value: &'v Value,
    path: &JsonPath,
    keys: KeyRule,
    max_entries: usize,
    mut read_value: impl FnMut(&'v Value, &JsonPath) -> Result<T, Rejection>,
) -> Result<BTreeMap<String, T>, Rejection> {
    let object = value
        .as_object()
        .ok_or_else(|| path.reject("must be an object"))?;
    if object.len() > max_entries {
        return Err(path.reject(format!("must have at most {max_entries} entries")));
    }
    object
        .iter()
        .map(|(key, value)| {
            if !(keys.accepts)(key) {
                return Err(path.reject(keys.reason));
            }
            Ok((key.clone(), read_value(value, &path.field(key))?))
        })
        .collect()
}

/// Limits for a free-text value: length in characters, and whether it may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextRule {
    max_chars: usize,
    multi_line: bool,
}

impl TextRule {
    /// One line of 1 to `max_chars` characters, no control characters.
    pub(crate) const fn single_line(max_chars: usize) -> Self {
        Self {
            max_chars,
            multi_line: false,
        }
    }

    /// 1 to `max_chars` characters; line breaks and tabs allowed, other control characters not.
    pub(crate) const fn multi_line(max_chars: usize) -> Self {
        Self {
            max_chars,
            multi_line: true,
        }
    }

    /// Checks `text` against the rule.
    ///
    /// # Errors
    /// Empty, too long, or a forbidden control character.
    pub(crate) fn check(self, text: &str, path: &JsonPath) -> Result<(), Rejection> {
        if text.is_empty() {
            return Err(path.reject("must not be empty"));
        }
        if text.chars().count() > self.max_chars {
            return Err(path.reject(format!("must be at most {} characters", self.max_chars)));
        }
        let allowed = |c: char| self.multi_line && matches!(c, '\n' | '\r' | '\t');
        if text.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(path.reject("must not contain control characters"));
        }
        Ok(())
    }

    /// Reads a string and checks it against the rule.
    ///
    /// # Errors
    /// Not a string, or [`TextRule::check`] fails.
    pub(crate) fn read(self, value: &Value, path: &JsonPath) -> Result<String, Rejection> {
        let text = read_string(value, path)?;
        self.check(&text, path)?;
        Ok(text)
    }
}

/// Value grammars shared by the readers. Each is a plain predicate (or names the broken rule)
/// and never reports the text it was given.
pub(crate) mod syntax {
    /// Longest host name (RFC 1035).
    const MAX_HOST_NAME_CHARS: usize = 253;
    /// Longest e-mail address (RFC 5321 path limit).
    const MAX_EMAIL_CHARS: usize = 254;
    /// Longest e-mail local part (RFC 5321).
    const MAX_EMAIL_LOCAL_CHARS: usize = 64;

    /// A host: an RFC 1123 host name or a dotted-quad IPv4 address.
    pub(crate) fn is_host(text: &str) -> bool {
        is_ipv4(text) || is_host_name(text)
    }

    /// An RFC 1123 host name: dot-separated labels of 1 to 63 letters, digits and inner hyphens,
    /// at most 253 characters, and a last label that is not all digits (so `1.2.3.999` is not
    /// mistaken for a name). No trailing dot.
    pub(crate) fn is_host_name(text: &str) -> bool {
        text.len() <= MAX_HOST_NAME_CHARS
            && text.split('.').all(is_dns_label)
            && text
                .rsplit('.')
                .next()
                .is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
    }

    fn is_dns_label(label: &str) -> bool {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }

    /// A dotted-quad IPv4 address, decimal octets without leading zeros.
    pub(crate) fn is_ipv4(text: &str) -> bool {
        let octets: Vec<&str> = text.split('.').collect();
        octets.len() == 4 && octets.iter().all(|octet| is_decimal_in(octet, 0..=255))
    }

    /// Decimal digits without a leading zero (except `0` itself), inside `range`.
    fn is_decimal_in(text: &str, range: core::ops::RangeInclusive<u32>) -> bool {
        !text.is_empty()
            && text.len() <= 10
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'))
            && text.parse::<u32>().is_ok_and(|n| range.contains(&n))
    }

    /// A pragmatic e-mail address: `local@domain`, ASCII only. The local part is a dot-atom
    /// (RFC 5322 atext separated by single dots, at most 64 characters; no quoted forms); the
    /// domain is a host name with at least one dot (no address literals); at most 254 in all.
    pub(crate) fn is_email_address(text: &str) -> bool {
        let Some((local, domain)) = text.rsplit_once('@') else {
            return false;
        };
        text.len() <= MAX_EMAIL_CHARS
            && local.len() <= MAX_EMAIL_LOCAL_CHARS
            && is_dot_atom(local)
            && domain.contains('.')
            && is_host_name(domain)
    }

    fn is_dot_atom(text: &str) -> bool {
        text.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
    }

    fn is_atext(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
    }

    /// A CSS hex colour: `#rgb` or `#rrggbb`, either case.
    pub(crate) fn is_hex_colour(text: &str) -> bool {
        text.strip_prefix('#').is_some_and(|hex| {
            matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
    }

    /// An E.164 phone number: `+`, then 2 to 15 digits, the first not zero.
    pub(crate) fn is_e164_phone(text: &str) -> bool {
        text.strip_prefix('+').is_some_and(|digits| {
            (2..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        })
    }

    /// Checks an absolute `https` URL: RFC 3986 characters only (no spaces, quotes, angle
    /// brackets, backslashes or control characters), well-formed percent escapes, no user
    /// information, a host name or IPv4 host, and an optional port from 1 to 65535.
    ///
    /// # Errors
    /// The rule the URL breaks.
    pub(crate) fn check_https_url(url: &str) -> Result<(), &'static str> {
        if !url.bytes().all(is_url_byte) {
            return Err(
                "must contain only URL characters (no spaces, quotes or control characters)",
            );
        }
        if !has_valid_percent_escapes(url) {
            return Err("must use well-formed percent escapes");
        }
        let rest = url
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .and_then(|_| url.get(8..))
            .ok_or("must be an https URL")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not contain user information");
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if is_decimal_in(port, 1..=65_535) => host,
            Some(_) => return Err("must have a port from 1 to 65535"),
            None => authority,
        };
        if !is_host(host) {
            return Err("must have a valid host name");
        }
        Ok(())
    }

    fn is_url_byte(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
    }

    fn has_valid_percent_escapes(text: &str) -> bool {
        let is_hex = |digit: Option<u8>| digit.is_some_and(|d| d.is_ascii_hexdigit());
        let mut bytes = text.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' && !(is_hex(bytes.next()) && is_hex(bytes.next())) {
                return false;
            }
        }
        true
    }

    /// An RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`.
    /// Fields are range-checked (day 1–31, second 0–60), not checked against the calendar.
    pub(crate) fn is_rfc3339_timestamp(text: &str) -> bool {
        text.split_once(['T', 't'])
            .is_some_and(|(date, time)| is_date(date) && is_time_with_offset(time))
    }

    fn is_date(text: &str) -> bool {
        let parts: Vec<&str> = text.split('-').collect();
        matches!(parts.as_slice(), [year, month, day]
            if is_fixed_width(year, 4, 0..=9999)
                && is_fixed_width(month, 2, 1..=12)
                && is_fixed_width(day, 2, 1..=31))
    }

    fn is_time_with_offset(text: &str) -> bool {
        let (clock, offset) = match text.strip_suffix(['Z', 'z']) {
            Some(clock) => (clock, None),
            None => match text.rsplit_once(['+', '-']) {
                Some((clock, offset)) => (clock, Some(offset)),
                None => return false,
            },
        };
        let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
        let hms: Vec<&str> = hms.split(':').collect();
        let offset_ok = offset.is_none_or(|offset| {
            matches!(offset.split_once(':'), Some((h, m))
                if is_fixed_width(h, 2, 0..=23) && is_fixed_width(m, 2, 0..=59))
        });
        offset_ok
            && !fraction.is_empty()
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && matches!(hms.as_slice(), [h, m, s]
                if is_fixed_width(h, 2, 0..=23)
                    && is_fixed_width(m, 2, 0..=59)
                    && is_fixed_width(s, 2, 0..=60))
    }

    fn is_fixed_width(text: &str, width: usize, range: core::ops::RangeInclusive<u32>) -> bool {
        text.len() == width
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<u32>().is_ok_and(|n| range.contains(&n))
    }
}

/// Describes a serde_json error without quoting any value from the input.
#[must_use]
pub fn describe_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Io => "could not be read".into(),
        Category::Syntax | Category::Eof => format!(
            "not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        ),
        Category::Data => {
            let text = err.to_string();
            let text = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            sanitize_data_message(text)
        }
    }
}

/// Keeps the parts of a serde data error that name fields and expectations, drops quoted values.
fn sanitize_data_message(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = prefix.trim_end_matches([':', ' ']);
            // The value comes first and may contain anything; the expectation is serde's tail.
            return match rest.rsplit_once(", expected ") {
                Some((_, expected)) => format!("{kind}, expected {expected}"),
                None => kind.to_string(),
            };
        }
    }
    for kind in [
        "unknown field",
        "missing field",
        "duplicate field",
        "unknown variant",
    ] {
        if let Some(rest) = message
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix(" `"))
        {
            return name_message(kind, rest);
        }
    }
    "does not match the expected shape".into()
}

/// `` kind `name`, tail `` with the name (a key or variant of the input, so the sender's text)
/// as a [`fragment`] and the tail (`expected one of …`, from the schema) as serde wrote it.
/// serde writes the name first and the tail last, so the tail is found from the end: a name
/// that itself contains "`, expected " cannot move text of its own into the tail.
fn name_message(kind: &str, rest: &str) -> String {
    for fixed in ["`, there are no fields", "`, there are no variants"] {
        if let Some(name) = rest.strip_suffix(fixed) {
            return format!(
                "{kind} `{}`{}",
                fragment(name),
                fixed.trim_start_matches('`')
            );
        }
    }
    match rest.rsplit_once("`, expected ") {
        Some((name, expected)) => format!("{kind} `{}`, expected {expected}", fragment(name)),
        None => format!(
            "{kind} `{}`",
            fragment(rest.strip_suffix('`').unwrap_or(rest))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Smtp {
        port: u16,
        password: String,
    }

    #[test]
    fn errors_never_quote_values() {
        for body in [
            r#"{"port": "hunter2", "password": "x"}"#,
            r#"{"port": 1, "password": 123456789}"#,
            r#"{"port": 99999999, "password": "hunter2"}"#,
        ] {
            let err = serde_json::from_str::<Smtp>(body).unwrap_err();
            let text = describe_error(&err);
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("123456789"), "{text}");
            assert!(!text.contains("99999999"), "{text}");
        }
        let err = serde_json::from_str::<Smtp>(r#"{"port":1,"password":"x","y":1}"#).unwrap_err();
        assert!(describe_error(&err).starts_with("unknown field `y`"));
        let err = serde_json::from_str::<Smtp>("{").unwrap_err();
        assert!(describe_error(&err).starts_with("not valid JSON"));
    }

    fn payload_root() -> JsonPath {
        JsonPath::root(Document::SyncPayload)
    }

    #[test]
    fn paths_print_schema_names_and_never_strange_keys() {
        let root = payload_root();
        assert_eq!(root.field("smtp").field("port").to_string(), "smtp.port");
        assert_eq!(
            root.field("features")
                .field("modules")
                .index(2)
                .field("group")
                .to_string(),
            "features.modules[2].group"
        );
        assert_eq!(
            root.field("overrides").field("crm.reports").to_string(),
            r#"overrides["crm.reports"]"#
        );
        assert_eq!(
            root.field("overrides").field("a\"b c").to_string(),
            "overrides"
        );
        let customer = JsonPath::root(Document::Customer);
        assert_eq!(customer.reject("x").field(), Some("body"));
        assert_eq!(customer.field("email").reject("x").field(), Some("email"));
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let root = payload_root();
        assert!(parse_document(br#"{"a":{"b":1,"c":[{"d":1}]}}"#, &root).is_ok());
        let err = parse_document(br#"{"a":{"b":1,"b":2}}"#, &root).unwrap_err();
        assert!(err.to_string().contains("duplicate field `b`"), "{err}");
        let err = parse_document(br#"{"a":[{"x y":1,"x y":2}]}"#, &root).unwrap_err();
        assert!(!err.to_string().contains("x y"), "{err}");
        assert!(parse_document(b"{} {}", &root).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        let err = parse_document(deep.as_bytes(), &payload_root()).unwrap_err();
        assert_eq!(err.code(), "invalid_payload");
    }

    #[test]
    fn unknown_members_are_named_only_when_safe() {
        let root = payload_root();
        let value = serde_json::json!({"a": 1, "zz": 2});
        let err = Fields::new(&value, &root, &["a"]).err().unwrap();
        assert_eq!(err.field(), Some("zz"));
        let value = serde_json::json!({"a": 1, "hunter2 secret": 2});
        let err = Fields::new(&value, &root, &["a"]).err().unwrap();
        assert_eq!(err.field(), Some(""));
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn text_rules() {
        let path = payload_root().field("t");
        let rule = TextRule::single_line(3);
        assert!(rule.check("abc", &path).is_ok());
        assert!(rule.check("äöü", &path).is_ok());
        assert!(rule.check("", &path).is_err());
        assert!(rule.check("abcd", &path).is_err());
        assert!(rule.check("a\nb", &path).is_err());
        assert!(TextRule::multi_line(3).check("a\nb", &path).is_ok());
        assert!(TextRule::multi_line(3).check("a\u{7}b", &path).is_err());
    }

    #[test]
    fn integers_are_whole_and_in_range() {
        let path = payload_root().field("n");
        let read = |v: Value| read_integer(&v, &path, 1..=10);
        assert_eq!(read(serde_json::json!(10)), Ok(10));
        for bad in [
            serde_json::json!(0),
            serde_json::json!(11),
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!("5"),
        ] {
            assert!(read(bad).is_err());
        }
    }

    #[test]
    fn host_names_and_addresses() {
        for good in [
            "smtp.example.com",
            "mailhog",
            "a-b.c1.io",
            "10.0.0.1",
            "xn--bcher-kva.de",
        ] {
            assert!(syntax::is_host(good), "{good}");
        }
        for bad in [
            "",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com.",
            "1.2.3.999",
            "01.2.3.4",
            "1234",
            "exa mple.com",
            "[::1]",
            "ex_ample.com",
        ] {
            assert!(!syntax::is_host(bad), "{bad}");
        }
        assert!(!syntax::is_host(&format!("{}.com", "a".repeat(64))));
    }

    #[test]
    fn email_addresses() {
        for good in [
            "a@b.co",
            "no-reply@acme.test",
            "first.last+tag@sub.example.org",
            "x!#$%&'*+/=?^_`{|}~@a.io",
        ] {
            assert!(syntax::is_email_address(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a@@b.co",
            ".a@b.co",
            "a.@b.co",
            "a..b@b.co",
            "a b@b.co",
            "\"a\"@b.co",
            "a@1.2.3.4",
            "a@[1.2.3.4]",
            "ä@b.co",
        ] {
            assert!(!syntax::is_email_address(bad), "{bad}");
        }
        assert!(!syntax::is_email_address(&format!(
            "{}@b.co",
            "a".repeat(65)
        )));
    }

    #[test]
    fn https_urls() {
        for good in [
            "https://acme.test",
            "https://acme.test/logo.svg?v=2#x",
            "HTTPS://cdn.acme.test:8443/a%20b.png",
            "https://10.0.0.1/x",
        ] {
            assert_eq!(syntax::check_https_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://acme.test/",
            "https://",
            "https:///x",
            "https://user:pw@acme.test/",
            "https://acme.test:0/",
            "https://acme.test:99999/",
            "https://acme.test/a b",
            "https://acme.test/\"onload=",
            "https://acme.test\\@evil.test/",
            "https://acme.test/%zz",
            "https://[::1]/",
            "javascript:alert(1)",
            " https://acme.test/",
        ] {
            assert!(syntax::check_https_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn colours_phones_and_timestamps() {
        assert!(syntax::is_hex_colour("#1f6feb"));
        assert!(syntax::is_hex_colour("#FFF"));
        for bad in ["1f6feb", "#1f6fe", "#ggg", "#1f6feb00", "red"] {
            assert!(!syntax::is_hex_colour(bad), "{bad}");
        }
        assert!(syntax::is_e164_phone("+14155550123"));
        assert!(syntax::is_e164_phone("+12"));
        for bad in [
            "14155550123",
            "+0123",
            "+1",
            "+1234567890123456",
            "+1 415",
            "+",
        ] {
            assert!(!syntax::is_e164_phone(bad), "{bad}");
        }
        for good in [
            "2026-11-22T10:00:00Z",
            "2026-11-22t10:00:00.123+01:00",
            "1999-01-31T23:59:60-12:30",
        ] {
            assert!(syntax::is_rfc3339_timestamp(good), "{good}");
        }
        for bad in [
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00.Z",
            "26-11-22T10:00:00Z",
        ] {
            assert!(!syntax::is_rfc3339_timestamp(bad), "{bad}");
        }
    }
}
