//! The path-aware JSON reader shared by the payload and customer schemas.
//!
//! Documents are parsed once into a [`Node`] tree (refusing repeated object keys, which
//! different parsers resolve differently) and then read by small path-aware readers: every
//! rejection names the exact place (`smtp.port`, `features.modules[2].group`, `tags[3]`) and the
//! rule, never what was found there (an SMTP password must not come back in an error). The value
//! grammars the readers check strings against are in [`super::grammar`]; serde's own failures are
//! described by [`crate::error::describe_error`], which drops quoted values.
//!
//! Why a tree at all, rather than deserialising straight into the schema types: the order in
//! which problems are reported is part of the contract. A syntax error or a repeated key anywhere
//! in the body wins over every schema rule, and schema rules are checked in schema order
//! (`type`, then `tenant`, then `version`, …), not in the order the sender wrote the members. A
//! streaming visitor would see a bad `version` before a syntax error at the end of the body, so
//! the body is parsed whole first. The tree is cheap: strings and keys borrow from the body (only
//! a string with escapes is copied), objects are vectors in document order (no hashing, and no
//! `preserve_order` feature needed for "the first unknown member" to mean the first one sent),
//! and the readers copy a string out only once it has passed its rule.

use core::fmt;
use core::ops::RangeInclusive;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

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
    /// A tenant policy: a broken rule is `invalid_field` with field `policy`, the path leading
    /// the reason (`keys[0].status: must be one of …`).
    Policy,
}

/// Where a value sits in a document: `smtp.port`, `features.modules[2].group`,
/// `features.overrides["crm.reports"]`.
///
/// A path is a chain of borrowed steps back to the root, so making one costs nothing: readers
/// build a path for every member and item they read, and almost all of them are never printed.
/// The text is written only when a rule is broken ([`JsonPath::reject`]) or the path is shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonPath<'p> {
    document: Document,
    step: Step<'p>,
}

/// The last step of a [`JsonPath`].
#[derive(Debug, Clone, Copy)]
enum Step<'p> {
    /// The document itself.
    Root,
    /// Member `name` of the object at the parent path.
    Field(&'p JsonPath<'p>, &'p str),
    /// Item `index` of the array at the parent path.
    Index(&'p JsonPath<'p>, usize),
}

impl<'p> JsonPath<'p> {
    /// The root of a document.
    pub(crate) const fn root(document: Document) -> Self {
        Self {
            document,
            step: Step::Root,
        }
    }

    /// The path of member `name`. Names with a `.` print in brackets; a name that is not an
    /// identifier (it may carry anything the sender chose) is never printed: the path stays at
    /// the object.
    pub(crate) const fn field(&'p self, name: &'p str) -> Self {
        Self {
            document: self.document,
            step: Step::Field(self, name),
        }
    }

    /// The path of item `index` of an array.
    pub(crate) const fn index(&'p self, index: usize) -> Self {
        Self {
            document: self.document,
            step: Step::Index(self, index),
        }
    }

    /// The rejection for a rule broken here.
    pub(crate) fn reject(&self, reason: impl Into<String>) -> Rejection {
        let text = self.text();
        match self.document {
            Document::SyncPayload => Rejection::invalid_payload(text, reason),
            Document::Customer if text.is_empty() => Rejection::invalid_field("body", reason),
            Document::Customer => Rejection::invalid_field(text, reason),
            Document::Policy if text.is_empty() => Rejection::invalid_field("policy", reason),
            Document::Policy => {
                Rejection::invalid_field("policy", format!("{text}: {}", reason.into()))
            }
        }
    }

    /// The path as printed (empty for the root).
    fn text(&self) -> String {
        let mut text = String::new();
        self.write_to(&mut text);
        text
    }

    /// Appends the path to `out`, which holds nothing else.
    fn write_to(&self, out: &mut String) {
        match self.step {
            Step::Root => {}
            Step::Field(parent, name) => {
                parent.write_to(out);
                if !is_identifier(name, MAX_PRINTED_KEY_CHARS) {
                    // Not printed: the path stays at the object.
                } else if name.contains('.') {
                    out.push_str("[\"");
                    out.push_str(name);
                    out.push_str("\"]");
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
            }
            Step::Index(parent, index) => {
                parent.write_to(out);
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
}

impl fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A parsed JSON value whose strings borrow from the document where they can.
///
/// Objects keep their members in document order and never repeat a key (see
/// [`parse_document`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number.
    Number(Number),
    /// A string (borrowed unless it had escapes).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object, members in document order, keys unique.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Reads an already parsed [`Value`] (its strings are borrowed).
    ///
    /// # Errors
    /// Never for a `Value` serde_json built; the rejection is at `root` when it does.
    pub(crate) fn from_value(value: &'a Value, root: &JsonPath) -> Result<Self, Rejection> {
        Self::deserialize(value).map_err(|err| root.reject(describe_error(&err)))
    }

    const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The text of a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) const fn as_object(&self) -> Option<&Vec<(Cow<'a, str>, Self)>> {
        match self {
            Self::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The items of an array.
    pub(crate) fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// An object's member by name (`None` for a missing member or a non-object).
    pub(crate) fn get(&self, name: &str) -> Option<&Self> {
        self.as_object()?
            .iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }
}

/// Parses a whole document (one value, nothing after it, no repeated keys).
///
/// A body that is valid UTF-8 as a whole (every body worth reading) is checked once, up front,
/// and its strings are then taken as they are; any other body goes through the byte reader,
/// which finds the bad bytes where they are, so a syntax error before them still wins.
///
/// # Errors
/// At the root: not JSON, or an object repeats a key.
pub(crate) fn parse_document<'a>(body: &'a [u8], root: &JsonPath) -> Result<Node<'a>, Rejection> {
    // Trailing whitespace (senders pad bodies with it) is skipped a word at a time here rather
    // than a byte at a time by the parser. A body parses exactly when it does without its
    // trailing whitespace, to the same tree; only the position in an error (the end of input)
    // would differ, so a failure is read again from the whole body for the very same error.
    let value = trim_trailing_whitespace(body);
    if value.len() < body.len()
        && let Ok(node) = read_bytes(value)
    {
        return Ok(node);
    }
    read_bytes(body).map_err(|err| root.reject(describe_error(&err)))
}

/// Parses `body` as one JSON document.
fn read_bytes(body: &[u8]) -> Result<Node<'_>, serde_json::Error> {
    match core::str::from_utf8(body) {
        Ok(text) => read_whole(serde_json::Deserializer::from_str(text)),
        Err(_) => read_whole(serde_json::Deserializer::from_slice(body)),
    }
}

/// `body` without the JSON whitespace (space, tab, line feed, carriage return) at its end.
fn trim_trailing_whitespace(mut body: &[u8]) -> &[u8] {
    const SPACES: [u8; 8] = [b' '; 8];
    while let Some((rest, last)) = body.split_last_chunk::<8>() {
        if *last != SPACES {
            break;
        }
        body = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\n' | b'\r'] = body {
        body = rest;
    }
    body
}

/// One value, then nothing but whitespace (what `serde_json::from_slice` does).
fn read_whole<'a, R: serde_json::de::Read<'a>>(
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<Node<'a>, serde_json::Error> {
    let node = NodeSeed {
        scratch: &mut Scratch::default(),
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(node)
}

/// Implements `Deserialize` through a path-aware reader, so serde users (e.g.
/// `serde_wasm_bindgen`) get exactly the rules and messages of the reader.
///
/// # Errors
/// The reader's rejection, as a serde error message.
pub(crate) fn deserialize_with<'de, D, T>(
    deserializer: D,
    read: impl FnOnce(&Node<'de>) -> Result<T, Rejection>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let node = Node::deserialize(deserializer)?;
    read(&node).map_err(de::Error::custom)
}

/// A signed document with a repeated key would mean one thing to one parser and another to the
/// next, so it is refused rather than resolved.
impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        NodeSeed {
            scratch: &mut Scratch::default(),
        }
        .deserialize(deserializer)
    }
}

/// The items and members of the arrays and objects still open while a document is read, one
/// stack for the whole document. A finished array or object moves its own entries off the top
/// into a vector of exactly their number, so each array and object costs one allocation, however
/// long it is, instead of a vector grown by doubling.
#[derive(Default)]
struct Scratch<'de> {
    items: Vec<Node<'de>>,
    members: Vec<(Cow<'de, str>, Node<'de>)>,
}

/// Reads one value, its arrays and objects through the document's [`Scratch`].
struct NodeSeed<'s, 'de> {
    scratch: &'s mut Scratch<'de>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node<'de>, E> {
        Number::from_f64(value)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(value)))
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let start = self.scratch.items.len();
        while let Some(item) = seq.next_element_seed(NodeSeed {
            scratch: &mut *self.scratch,
        })? {
            self.scratch.items.push(item);
        }
        Ok(Node::Array(self.scratch.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let start = self.scratch.members.len();
        // Small objects (every schema object) are checked by a scan; a set takes over for large
        // ones, so a wide object costs linear time, not quadratic.
        let mut seen: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(Key(key)) = map.next_key_seed(KeySeed)? {
            let members = self.scratch.members.get(start..).unwrap_or_default();
            let repeated = if members.len() < SCAN_LIMIT {
                members.iter().any(|(name, _)| *name == key)
            } else {
                if seen.is_empty() {
                    seen.extend(members.iter().map(|(name, _)| name.clone()));
                }
                !seen.insert(key.clone())
            };
            if repeated {
                return Err(de::Error::custom(duplicate_key_message(&key)));
            }
            let value = map.next_value_seed(NodeSeed {
                scratch: &mut *self.scratch,
            })?;
            self.scratch.members.push((key, value));
        }
        Ok(Node::Object(self.scratch.members.drain(start..).collect()))
    }
}

/// Objects with fewer members than this are checked for repeats by a scan.
const SCAN_LIMIT: usize = 16;

/// An object key, borrowed from the document when it has no escapes.
struct Key<'de>(Cow<'de, str>);

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value)))
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
pub(crate) struct Fields<'v, 'd, 'p> {
    object: &'v [(Cow<'d, str>, Node<'d>)],
    path: JsonPath<'p>,
}

impl<'v, 'd, 'p> Fields<'v, 'd, 'p> {
    /// Reads `value` as an object whose members are all in `known`.
    ///
    /// # Errors
    /// When `value` is not an object, or at the first member (in the object's key order) not in
    /// `known`.
    pub(crate) fn new(
        value: &'v Node<'d>,
        path: &JsonPath<'p>,
        known: &[&str],
    ) -> Result<Self, Rejection> {
        let fields = Self::open(value, path)?;
        match fields
            .object
            .iter()
            .find(|(key, _)| !known.contains(&key.as_ref()))
        {
            Some((unknown, _)) => Err(path.field(unknown).reject("unknown field")),
            None => Ok(fields),
        }
    }

    /// Reads `value` as an object, leaving its member names to the caller.
    ///
    /// # Errors
    /// When `value` is not an object.
    pub(crate) fn open(value: &'v Node<'d>, path: &JsonPath<'p>) -> Result<Self, Rejection> {
        let object = value
            .as_object()
            .ok_or_else(|| path.reject("must be an object"))?;
        Ok(Self {
            object,
            path: *path,
        })
    }

    fn get(&self, name: &str) -> Option<&'v Node<'d>> {
        self.object
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first of `names` present (even as `null`), in the order given.
    pub(crate) fn first_present<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names.iter().copied().find(|name| self.get(name).is_some())
    }

    /// Member `name` as sent, `null` included, with its path.
    pub(crate) fn raw<'s>(&'s self, name: &'s str) -> Option<(&'v Node<'d>, JsonPath<'s>)> {
        self.get(name).map(|value| (value, self.path.field(name)))
    }

    /// Member `name`, read by `read`.
    ///
    /// # Errors
    /// `is required` when absent or `null`; else what `read` says.
    pub(crate) fn required<T>(
        &self,
        name: &str,
        read: impl FnOnce(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
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
        read: impl FnOnce(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
    ) -> Result<Option<T>, Rejection> {
        match self.raw(name) {
            Some((value, path)) if !value.is_null() => read(value, &path).map(Some),
            _ => Ok(None),
        }
    }
}

/// The text of a string, not yet copied.
///
/// # Errors
/// When `value` is not a string.
pub(crate) fn read_str<'v>(value: &'v Node<'_>, path: &JsonPath) -> Result<&'v str, Rejection> {
    value
        .as_str()
        .ok_or_else(|| path.reject("must be a string"))
}

/// Reads `true` or `false`.
///
/// # Errors
/// When `value` is not a boolean.
pub(crate) fn read_bool(value: &Node<'_>, path: &JsonPath) -> Result<bool, Rejection> {
    match value {
        Node::Bool(flag) => Ok(*flag),
        _ => Err(path.reject("must be true or false")),
    }
}

/// Reads a whole number inside `range`.
///
/// # Errors
/// When `value` is not a whole number inside `range`.
pub(crate) fn read_integer(
    value: &Node<'_>,
    path: &JsonPath,
    range: RangeInclusive<u64>,
) -> Result<u64, Rejection> {
    match value {
        Node::Number(number) => number.as_u64().filter(|number| range.contains(number)),
        _ => None,
    }
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
pub(crate) fn read_list<'v, 'd, T>(
    value: &'v Node<'d>,
    path: &JsonPath,
    max_items: usize,
    mut read_item: impl FnMut(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
) -> Result<Vec<T>, Rejection> {
    let Node::Array(items) = value else {
        return Err(path.reject("must be an array"));
    };
    if items.len() > max_items {
        return Err(path.reject(format!("must have at most {max_items} items")));
    }
    let mut list = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        list.push(read_item(item, &path.index(index))?);
    }
    Ok(list)
}

/// Reads a string that `accepts` approves of.
///
/// # Errors
/// Not a string, or `rule` when `accepts` refuses it.
pub(crate) fn read_matching(
    value: &Node<'_>,
    path: &JsonPath,
    accepts: fn(&str) -> bool,
    rule: &str,
) -> Result<String, Rejection> {
    check_matching(value, path, accepts, rule).map(str::to_owned)
}

/// Checks that `value` is a string that `accepts` approves of, and lends it.
///
/// # Errors
/// As [`read_matching`].
pub(crate) fn check_matching<'v>(
    value: &'v Node<'_>,
    path: &JsonPath,
    accepts: fn(&str) -> bool,
    rule: &str,
) -> Result<&'v str, Rejection> {
    let text = read_str(value, path)?;
    if accepts(text) {
        Ok(text)
    } else {
        Err(path.reject(rule))
    }
}

/// Reads an e-mail address (see [`grammar::is_email_address`]).
///
/// # Errors
/// Not a string, or not an e-mail address.
pub(crate) fn read_email(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
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
pub(crate) fn read_map<'v, 'd, T>(
    value: &'v Node<'d>,
    path: &JsonPath,
    keys: KeyRule,
    max_entries: usize,
    mut read_value: impl FnMut(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
) -> Result<BTreeMap<String, T>, Rejection> {
    let object = value
        .as_object()
        .ok_or_else(|| path.reject("must be an object"))?;
    if object.len() > max_entries {
        return Err(path.reject(format!("must have at most {max_entries} entries")));
    }
    // Inserted one by one: `collect` into a map would sort first, and each sort is a few KB of
    // wasm per entry type.
    let mut map = BTreeMap::new();
    for (key, value) in object {
        if !(keys.accepts)(key) {
            return Err(path.reject(keys.reason));
        }
        let read = read_value(value, &path.field(key))?;
        map.insert(key.clone().into_owned(), read);
    }
    Ok(map)
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
        // ASCII text (almost all of it) is counted and checked byte by byte; other text char
        // by char. The two agree: an ASCII character is one byte, and its control characters
        // are exactly the bytes below 0x20 and 0x7f.
        let ascii = text.is_ascii();
        let chars = if ascii {
            text.len()
        } else {
            text.chars().count()
        };
        if chars > self.max_chars {
            return Err(path.reject(format!("must be at most {} characters", self.max_chars)));
        }
        let allowed = |c: char| self.multi_line && matches!(c, '\n' | '\r' | '\t');
        let control = if ascii {
            text.bytes()
                .any(|b| (b < 0x20 || b == 0x7f) && !allowed(char::from(b)))
        } else {
            text.chars().any(|c| c.is_control() && !allowed(c))
        };
        if control {
            return Err(path.reject("must not contain control characters"));
        }
        Ok(())
    }

    /// Reads a string and checks it against the rule.
    ///
    /// # Errors
    /// Not a string, or [`TextRule::check`] fails.
    pub(crate) fn read(self, value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
        let text = read_str(value, path)?;
        self.check(text, path)?;
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_root() -> JsonPath<'static> {
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
    fn deep_paths_print_exactly_as_their_steps_say() {
        let root = payload_root();
        let features = root.field("features");
        let modules = features.field("modules");
        let module = modules.index(2);
        let permissions = module.field("permissions");
        assert_eq!(
            permissions.index(15).to_string(),
            "features.modules[2].permissions[15]"
        );
        assert_eq!(root.index(3).to_string(), "[3]");
        let dotted = root.index(3);
        let dotted = dotted.field("x.y");
        assert_eq!(dotted.index(0).to_string(), r#"[3]["x.y"][0]"#);
        let strange = root.field("a b");
        assert_eq!(strange.to_string(), "");
        assert_eq!(strange.field("c").to_string(), "c");
        assert_eq!(strange.index(1).to_string(), "[1]");
        let long = "x".repeat(MAX_PRINTED_KEY_CHARS + 1);
        let overrides = root.field("overrides");
        assert_eq!(overrides.field(&long).to_string(), "overrides");
        let edge = "y".repeat(MAX_PRINTED_KEY_CHARS);
        assert_eq!(
            overrides.field(&edge).to_string(),
            format!("overrides.{edge}")
        );
        assert_eq!(overrides.field("..").to_string(), "overrides");
        assert_eq!(
            root.field("a").field("b.c").field("d").to_string(),
            r#"a["b.c"].d"#
        );
        let err = permissions.index(15).reject("broken");
        assert_eq!(err.field(), Some("features.modules[2].permissions[15]"));
        let customer = JsonPath::root(Document::Customer);
        assert_eq!(customer.field("a b").reject("x").field(), Some("body"));
        assert_eq!(
            customer.field("tags").index(3).reject("x").field(),
            Some("tags[3]")
        );
    }

    #[test]
    fn padded_and_broken_bodies_fail_where_a_plain_parser_says() {
        let root = payload_root();
        for body in [
            &b"{\"a\":1   "[..],
            b"{\"a\":1 \t\r\n        ",
            b"                ",
            b"",
            b"{}  x        ",
            b"[1,]         ",
            b"{\"a\":\"\xff\"}        ",
            b"{\"a\":\"\xff\"     ",
            b"[\"\xc3\"]\x0c        ",
            b"{\"a\":1}\x0c",
        ] {
            let expected = serde_json::from_slice::<Value>(body).unwrap_err();
            let err = parse_document(body, &root).unwrap_err();
            assert_eq!(
                err,
                root.reject(describe_error(&expected)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let padded = parse_document(b"{\"a\":[1,\"b\"]}  \n\t               ", &root).unwrap();
        assert_eq!(padded, parse_document(b"{\"a\":[1,\"b\"]}", &root).unwrap());
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
    fn repeats_are_found_in_wide_objects_and_through_escapes() {
        let root = payload_root();
        let wide: Vec<String> = (0..100).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let body = format!("{{{}}}", wide.join(","));
        assert!(parse_document(body.as_bytes(), &root).is_ok());
        for repeated in ["k3", "k99"] {
            let body = format!(r#"{{{},"{repeated}":0}}"#, wide.join(","));
            let err = parse_document(body.as_bytes(), &root).unwrap_err();
            assert!(err.to_string().contains("duplicate field"), "{err}");
        }
        let err = parse_document(br#"{"ab":1,"\u0061b":2}"#, &root).unwrap_err();
        assert!(err.to_string().contains("duplicate field `ab`"), "{err}");
    }

    #[test]
    fn strings_borrow_from_the_body_unless_escaped() {
        let root = payload_root();
        let node = parse_document(br#"{"a":"plain","b":"esc\naped"}"#, &root).unwrap();
        let Node::Object(members) = node else {
            panic!("not an object")
        };
        assert!(matches!(
            &members[0],
            (Cow::Borrowed("a"), Node::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(&members[1].1, Node::String(Cow::Owned(text)) if text == "esc\naped"));
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
        let value = Node::from_value(&value, &root).unwrap();
        let err = Fields::new(&value, &root, &["a"]).err().unwrap();
        assert_eq!(err.field(), Some("zz"));
        let value = serde_json::json!({"a": 1, "hunter2 secret": 2});
        let value = Node::from_value(&value, &root).unwrap();
        let err = Fields::new(&value, &root, &["a"]).err().unwrap();
        assert_eq!(err.field(), Some(""));
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn text_rules() {
        let root = payload_root();
        let path = root.field("t");
        let rule = TextRule::single_line(3);
        assert!(rule.check("abc", &path).is_ok());
        assert!(rule.check("äöü", &path).is_ok());
        assert!(rule.check("", &path).is_err());
        assert!(rule.check("abcd", &path).is_err());
        assert!(rule.check("a\nb", &path).is_err());
        assert!(TextRule::multi_line(3).check("a\nb", &path).is_ok());
        assert!(TextRule::multi_line(3).check("a\u{7}b", &path).is_err());
        // The ASCII shortcut and the char path agree on every single character.
        for code in (0..=0x2ffu32).chain([0x2028, 0xfeff, 0x1_f600]) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let text = format!("a{c}");
            for rule in [TextRule::single_line(2), TextRule::multi_line(2)] {
                let expected = !(c.is_control() && !(rule.multi_line && "\n\r\t".contains(c)));
                assert_eq!(rule.check(&text, &path).is_ok(), expected, "{code:#x}");
            }
            assert!(
                TextRule::single_line(1).check(&text, &path).is_err(),
                "{code:#x}"
            );
        }
        assert!(TextRule::single_line(2).check("é\u{85}", &path).is_err());
        assert!(TextRule::single_line(2).check("éé", &path).is_ok());
        assert!(TextRule::single_line(1).check("éé", &path).is_err());
    }

    #[test]
    fn integers_are_whole_and_in_range() {
        let root = payload_root();
        let path = root.field("n");
        let read = |v: Value| read_integer(&Node::from_value(&v, &path).unwrap(), &path, 1..=10);
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
