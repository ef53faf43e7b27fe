//! The request as the core sees it: method, absolute URL, headers and raw body bytes.
//!
//! The core does no I/O, so adapters (the worker, the wasm layer, the origin) build an
//! [`HttpRequest`] from whatever their runtime hands them. The URL is absolute so every RFC 9421
//! derived component (`@authority`, `@scheme`, `@target-uri`, `@path`, `@query`) can be computed;
//! header names are case-insensitive; the body stays bytes exactly as received, since the MAC and
//! the `Content-Digest` cover bytes, not a re-serialised JSON value.

use std::collections::BTreeMap;

use crate::error::Rejection;

/// Header fields with case-insensitive names.
///
/// Repeated fields are combined into one value joined by `", "`, as RFC 9110 §5.3 allows and
/// RFC 9421 §2.1 requires for the signature base.
///
/// Fields keep their first-seen order, each stored as one buffer (lowercase name, then value).
/// A request's few fields are found by a linear scan, which costs less than any index; once
/// there are [`INDEX_FROM`] distinct fields an ordered index by name takes over, so collecting
/// n fields costs O(n log n) whatever the sender sends (an ordered map, unlike a hash map, has
/// no worst case a sender can aim for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Lowercase name and combined value, in first-seen order.
    fields: Vec<Field>,
    /// Lowercase name → position in `fields`; built once there are [`INDEX_FROM`] fields.
    index: Option<BTreeMap<String, usize>>,
}

/// From this many distinct fields on, [`Headers`] finds a name through an ordered index instead
/// of a linear scan.
const INDEX_FROM: usize = 32;

/// Optional whitespace around a field value (RFC 9110 §5.6.3).
const fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// One field: `text` holds the lowercase name followed by the (combined) value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    text: String,
    name_len: usize,
}

impl Field {
    fn new(name: &str, value: &str) -> Self {
        let mut text = String::with_capacity(name.len() + value.len());
        text.push_str(name);
        text.make_ascii_lowercase();
        text.push_str(value);
        Self {
            text,
            name_len: name.len(),
        }
    }

    #[inline]
    fn name(&self) -> &str {
        self.text.get(..self.name_len).unwrap_or_default()
    }

    #[inline]
    fn value(&self) -> &str {
        self.text.get(self.name_len..).unwrap_or_default()
    }
}

impl Headers {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Position of the field named `name`, compared case-insensitively.
    fn position(&self, name: &str) -> Option<usize> {
        // Stored names are lowercase: an exact match is a case-insensitive one, and a name
        // without uppercase letters matches exactly or not at all.
        self.position_lowercase(name).or_else(|| {
            if !name.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            match &self.index {
                Some(index) => index.get(&name.to_ascii_lowercase()).copied(),
                None => self
                    .fields
                    .iter()
                    .position(|f| f.name_len == name.len() && f.name().eq_ignore_ascii_case(name)),
            }
        })
    }

    /// Position of the field named `name`, which is lowercase already.
    fn position_lowercase(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.fields.iter().position(|f| f.name() == name),
        }
    }

    /// Adds `field`, whose name is not present yet.
    fn push(&mut self, field: Field) {
        if let Some(index) = &mut self.index {
            index.insert(field.name().to_string(), self.fields.len());
        } else if self.fields.len() + 1 >= INDEX_FROM {
            let mut index = BTreeMap::new();
            for (at, f) in self.fields.iter().enumerate() {
                index.insert(f.name().to_string(), at);
            }
            index.insert(field.name().to_string(), self.fields.len());
            self.index = Some(index);
        }
        self.fields.push(field);
    }

    /// Adds a field line; the name is lowercased and the value trimmed. A repeated name is
    /// combined with the earlier value.
    pub fn append(&mut self, name: &str, value: &str) {
        // The line is lowercased into its own buffer first: most names are new, and the buffer
        // then becomes the field.
        let field = Field::new(name.trim(), value.trim_matches(is_blank));
        match self
            .position_lowercase(field.name())
            .and_then(|at| self.fields.get_mut(at))
        {
            Some(existing) => {
                existing.text.push_str(", ");
                existing.text.push_str(field.value());
            }
            None => self.push(field),
        }
    }

    /// Sets a field, replacing every earlier line of that name (case-insensitively); the name is
    /// lowercased and the value trimmed. A replaced field keeps its place in the order.
    pub fn set(&mut self, name: &str, value: &str) {
        let field = Field::new(name.trim(), value.trim_matches(is_blank));
        match self
            .position_lowercase(field.name())
            .and_then(|at| self.fields.get_mut(at))
        {
            Some(existing) => *existing = field,
            None => self.push(field),
        }
    }

    /// The (combined) value of a field, by case-insensitive name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = self.position(name)?;
        self.fields.get(at).map(Field::value)
    }

    /// Whether the field is present.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// How many distinct fields there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// All fields, names lowercased, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|f| (f.name(), f.value()))
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (name, value) in iter {
            headers.append(name.as_ref(), value.as_ref());
        }
        headers
    }
}

/// The media type of a `Content-Type` value, lowercased, without parameters
/// (`Application/JSON; charset=utf-8` → `application/json`).
#[must_use]
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// An absolute `http(s)` URL split into the parts RFC 9421 derives components from.
///
/// The normalised URL (`scheme://authority/path?query`) is kept as one string with the parts'
/// boundaries, so parsing allocates once and `@target-uri` is that string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUri {
    /// `{scheme}://{authority}{path}` followed by `?{query}` when there is a query.
    text: String,
    /// End of the scheme (then `://`).
    scheme_end: usize,
    /// End of the authority, start of the path.
    authority_end: usize,
    /// End of the path; a query follows (after `?`) when `has_query`.
    path_end: usize,
    has_query: bool,
}

impl TargetUri {
    /// Parses an absolute URL; a fragment is dropped.
    ///
    /// # Errors
    /// `malformed_signature` when the URL is not an absolute `http`/`https` URL.
    pub fn parse(url: &str) -> Result<Self, Rejection> {
        let bad = || Rejection::malformed("the request url must be an absolute http(s) url");
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad());
        }
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        // The scheme ends at the first `://`; for `http` and `https` that is right after them.
        let starts = |prefix: &str| {
            url.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        let (scheme, rest) = if starts("http://") {
            ("http", url.get(7..))
        } else if starts("https://") {
            ("https", url.get(8..))
        } else {
            return Err(bad());
        };
        let rest = rest.ok_or_else(bad)?;
        // Bytes, not chars: `/` and `?` are ASCII, so their byte index is a char boundary.
        let authority_end = rest
            .bytes()
            .position(|b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at_checked(authority_end).ok_or_else(bad)?;
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        let authority = without_default_port(authority, scheme);
        let mut text = String::with_capacity(
            scheme.len() + 3 + authority.len() + path.len() + query.map_or(0, |q| q.len() + 1),
        );
        text.push_str(scheme);
        text.push_str("://");
        text.push_str(authority);
        text.make_ascii_lowercase();
        let authority_end = text.len();
        text.push_str(path);
        let path_end = text.len();
        if let Some(q) = query {
            text.push('?');
            text.push_str(q);
        }
        Ok(Self {
            text,
            scheme_end: scheme.len(),
            authority_end,
            path_end,
            has_query: query.is_some(),
        })
    }

    /// `@scheme`: the lowercase scheme.
    #[must_use]
    pub fn scheme(&self) -> &str {
        self.text.get(..self.scheme_end).unwrap_or_default()
    }

    /// `@authority`: lowercase host, with the port unless it is the scheme's default.
    #[must_use]
    pub fn authority(&self) -> &str {
        self.text
            .get(self.scheme_end + 3..self.authority_end)
            .unwrap_or_default()
    }

    /// `@path`: the absolute path, `/` when empty.
    #[must_use]
    pub fn path(&self) -> &str {
        self.text
            .get(self.authority_end..self.path_end)
            .unwrap_or_default()
    }

    /// `@query`: `?` followed by the query, or `?` alone when there is none (RFC 9421 §2.2.7).
    #[must_use]
    pub fn query_component(&self) -> String {
        if self.has_query {
            self.text.get(self.path_end..).unwrap_or("?").to_string()
        } else {
            "?".to_string()
        }
    }

    /// The raw query without `?`, if any.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        if self.has_query {
            self.text.get(self.path_end + 1..)
        } else {
            None
        }
    }

    /// `@request-target`: path and query as in the request line.
    #[must_use]
    pub fn request_target(&self) -> String {
        self.text
            .get(self.authority_end..)
            .unwrap_or_default()
            .to_string()
    }

    /// `@target-uri`: the full absolute URI, normalised.
    #[must_use]
    pub fn target_uri(&self) -> String {
        self.text.clone()
    }
}

/// `authority` without the scheme's default port (`:443`, `:80`, compared case-insensitively
/// like the host), unless that would leave no host or a bare `:`.
fn without_default_port<'a>(authority: &'a str, scheme: &str) -> &'a str {
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    match authority.strip_suffix(default_port) {
        Some(host) if !host.is_empty() && !host.ends_with(':') => host,
        _ => authority,
    }
}

/// A request as given to the core: `{ method, url, headers, body }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, uppercase (`@method`).
    pub method: String,
    /// The parsed absolute URL.
    pub uri: TargetUri,
    /// Header fields.
    pub headers: Headers,
    /// The raw body bytes, exactly as received.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// Builds a request from its parts.
    ///
    /// # Errors
    /// `malformed_signature` when the method is not an HTTP token or the URL is not absolute.
    pub fn new(
        method: &str,
        url: &str,
        headers: Headers,
        body: impl Into<Vec<u8>>,
    ) -> Result<Self, Rejection> {
        let is_token = !method.is_empty()
            && method.len() <= 32
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !is_token {
            return Err(Rejection::malformed(
                "the request method is not an http method",
            ));
        }
        Ok(Self {
            method: method.to_ascii_uppercase(),
            uri: TargetUri::parse(url)?,
            headers,
            body: body.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_components() {
        let u = TargetUri::parse("HTTPS://Example.COM:443/foo?param=Value&Pet=dog#frag").unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.authority(), "example.com");
        assert_eq!(u.path(), "/foo");
        assert_eq!(u.query_component(), "?param=Value&Pet=dog");
        assert_eq!(u.request_target(), "/foo?param=Value&Pet=dog");
        assert_eq!(
            u.target_uri(),
            "https://example.com/foo?param=Value&Pet=dog"
        );
        let u = TargetUri::parse("http://127.0.0.1:8787").unwrap();
        assert_eq!(u.authority(), "127.0.0.1:8787");
        assert_eq!(u.path(), "/");
        assert_eq!(u.query_component(), "?");
    }

    #[test]
    fn bad_urls() {
        for url in [
            "/relative",
            "ftp://x/",
            "https:///p",
            "https://a b/",
            "https://u@h/",
        ] {
            assert_eq!(
                TargetUri::parse(url).unwrap_err().code(),
                "malformed_signature"
            );
        }
    }

    #[test]
    fn headers_are_case_insensitive_and_combined() {
        let h: Headers = [
            ("Content-Type", "application/json"),
            ("X-A", " 1 "),
            ("x-a", "2"),
        ]
        .into_iter()
        .collect();
        assert_eq!(h.get("content-type"), Some("application/json"));
        assert_eq!(h.get("X-a"), Some("1, 2"));
        assert!(!h.contains("signature"));
        assert_eq!(h.len(), 2);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("content-type", "application/json"), ("x-a", "1, 2")]
        );
    }

    #[test]
    fn many_fields_are_found_the_same_way_as_few() {
        // Past INDEX_FROM fields the lookup switches to the index; answers must not change.
        let mut h = Headers::new();
        for i in 0..3 * INDEX_FROM {
            h.append(&format!(" X-F{i} "), &format!("v{i}"));
            h.append(&format!("x-f{}", i / 2), "again");
        }
        h.set("X-F7", "seven");
        h.set("X-New", "n");
        assert_eq!(h.len(), 3 * INDEX_FROM + 1);
        assert_eq!(h.get("x-f1"), Some("v1, again, again"));
        assert_eq!(h.get("X-F7"), Some("seven"));
        assert_eq!(h.get("x-new"), Some("n"));
        let last = 3 * INDEX_FROM - 1;
        assert_eq!(
            h.get(&format!("X-f{last}")),
            Some(format!("v{last}").as_str())
        );
        assert!(!h.contains("x-f"));
        let names: Vec<String> = h.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names.first().map(String::as_str), Some("x-f0"));
        assert_eq!(names.last().map(String::as_str), Some("x-new"));
    }

    #[test]
    fn set_replaces_every_line_of_a_name() {
        let mut h: Headers = [
            ("A", "1"),
            ("Content-Digest", "old"),
            ("content-digest", "older"),
        ]
        .into_iter()
        .collect();
        h.set("CONTENT-DIGEST", " new ");
        assert_eq!(h.get("content-digest"), Some("new"));
        h.set("b", "2");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("a", "1"), ("content-digest", "new"), ("b", "2")]
        );
    }
}
