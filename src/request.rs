//! The request as the core sees it: method, absolute URL, headers and raw body bytes.
//!
//! The core does no I/O, so adapters (the worker, the wasm layer, the origin) build an
//! [`HttpRequest`] from whatever their runtime hands them. The URL is absolute so every RFC 9421
//! derived component (`@authority`, `@scheme`, `@target-uri`, `@path`, `@query`) can be computed;
//! header names are case-insensitive; the body stays bytes exactly as received, since the MAC and
//! the `Content-Digest` cover bytes, not a re-serialised JSON value.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::error::Rejection;

/// Header fields with case-insensitive names.
///
/// Repeated fields are combined into one value joined by `", "`, as RFC 9110 §5.3 allows and
/// RFC 9421 §2.1 requires for the signature base.
///
/// Fields keep their first-seen order; an ordered index by lowercase name makes adding and
/// looking up a field O(log n), so collecting n fields costs O(n log n) whatever the sender
/// sends (an ordered map, unlike a hash map, has no worst case a sender can aim for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Lowercase name and combined value, in first-seen order.
    fields: Vec<(String, String)>,
    /// Lowercase name → position in `fields`.
    index: BTreeMap<String, usize>,
}

impl Headers {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field line; the name is lowercased and the value trimmed. A repeated name is
    /// combined with the earlier value.
    pub fn append(&mut self, name: &str, value: &str) {
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim_matches([' ', '\t']);
        match self.index.entry(name) {
            Entry::Occupied(at) => {
                if let Some((_, existing)) = self.fields.get_mut(*at.get()) {
                    existing.push_str(", ");
                    existing.push_str(value);
                }
            }
            Entry::Vacant(slot) => {
                self.fields.push((slot.key().clone(), value.to_string()));
                slot.insert(self.fields.len() - 1);
            }
        }
    }

    /// Sets a field, replacing every earlier line of that name (case-insensitively); the name is
    /// lowercased and the value trimmed. A replaced field keeps its place in the order.
    pub fn set(&mut self, name: &str, value: &str) {
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim_matches([' ', '\t']);
        match self.index.entry(name) {
            Entry::Occupied(at) => {
                if let Some((_, existing)) = self.fields.get_mut(*at.get()) {
                    value.clone_into(existing);
                }
            }
            Entry::Vacant(slot) => {
                self.fields.push((slot.key().clone(), value.to_string()));
                slot.insert(self.fields.len() - 1);
            }
        }
    }

    /// The (combined) value of a field, by case-insensitive name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.index.get(&name.to_ascii_lowercase())
        } else {
            self.index.get(name)
        }?;
        self.fields.get(*at).map(|(_, value)| value.as_str())
    }

    /// Whether the field is present.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
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
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUri {
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
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
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at_checked(authority_end).ok_or_else(bad)?;
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (path_and_query, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Ok(Self {
            authority: normalize_authority(authority, &scheme),
            scheme,
            path: path.to_string(),
            query,
        })
    }

    /// `@scheme`: the lowercase scheme.
    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `@authority`: lowercase host, with the port unless it is the scheme's default.
    #[must_use]
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `@path`: the absolute path, `/` when empty.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `@query`: `?` followed by the query, or `?` alone when there is none (RFC 9421 §2.2.7).
    #[must_use]
    pub fn query_component(&self) -> String {
        format!("?{}", self.query.as_deref().unwrap_or(""))
    }

    /// The raw query without `?`, if any.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// `@request-target`: path and query as in the request line.
    #[must_use]
    pub fn request_target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// `@target-uri`: the full absolute URI, normalised.
    #[must_use]
    pub fn target_uri(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            self.authority,
            self.request_target()
        )
    }
}

fn normalize_authority(authority: &str, scheme: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    match lower.strip_suffix(default_port) {
        Some(host) if !host.is_empty() && !host.ends_with(':') => host.to_string(),
        _ => lower,
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
