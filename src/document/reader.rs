//! The path-aware JSON reader shared by the payload and customer schemas.
//!
//! Documents are parsed once into a [`serde_json::Value`] (refusing repeated object keys, which
//! different parsers resolve differently) and then read by small path-aware readers: every
//! rejection names the exact place (`smtp.port`, `features.modules[2].group`, `tags[3]`) and the
//! rule, never what was found there (an SMTP password must not come back in an error). The value
//! grammars the readers check strings against are in [`super::grammar`]; serde's own failures are
//! described by [`crate::error::describe_error`], which drops quoted values.

use core::fmt;
use core::ops::RangeInclusive;
use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::grammar;
use crate::error::{Rejection, describe_error};
use crate::policy::identifier::is_identifier;

/// The largest integer JavaScript represents exactly (2^53 − 1). Versions stay within it so the
/// edge, the npm package and the origin read the same number.
pub(crate) const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

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

/// Reads an e-mail address (see [`grammar::is_email_address`]).
///
/// # Errors
/// Not a string, or not an e-mail address.
pub(crate) fn read_email(value: &Value, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        grammar::is_email_address,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
