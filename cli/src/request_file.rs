//! The request `syncgate verify` reads, in one of two forms.
//!
//! **JSON** (the shape the npm package's `verifyRequest` takes):
//!
//! ```json
//! { "method": "POST", "url": "https://edge.example/v1/acme-eu1/sync",
//!   "headers": { "content-type": "application/json", "signature": "…" },
//!   "body": "{\"type\":\"branding\",…}" }
//! ```
//!
//! `headers` maps names (any case) to a string or an array of strings (joined with `", "`);
//! `body` is the body text, or `bodyBase64` its bytes in standard base64. Unknown members are
//! refused.
//!
//! **Raw HTTP/1.1**: the request line, header lines, an empty line and the body, as on the wire
//! (CRLF or LF line ends). The URL is the request target when absolute, else
//! `<scheme>://<Host><target>` with the scheme given by the caller (`https` by default). With a
//! `Content-Length`, the body is that many bytes; without one, everything after the empty line.
//! Chunked bodies and folded header lines are refused.
//!
//! A document whose first non-blank byte is `{` is JSON; anything else is raw HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use syncgate::{Headers, HttpRequest};

use crate::failure::{Failure, Outcome};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
}

/// Parses a request document (JSON or raw HTTP/1.1); `raw_scheme` completes a raw request's URL.
///
/// # Errors
/// A usage failure describing what is malformed (never quoting header values or the body).
pub fn parse(bytes: &[u8], raw_scheme: &str) -> Outcome<HttpRequest> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        parse_json(bytes)
    } else {
        parse_raw(bytes, raw_scheme)
    }
}

fn bad(what: impl Into<String>) -> Failure {
    Failure::usage(format!("request: {}", what.into()))
}

fn parse_json(bytes: &[u8]) -> Outcome<HttpRequest> {
    let request: JsonRequest =
        serde_json::from_slice(bytes).map_err(|e| bad(syncgate::error::describe_error(&e)))?;
    let mut headers = Headers::new();
    for (name, value) in &request.headers {
        match value {
            Value::String(text) => headers.append(name, text),
            Value::Array(parts) => {
                let parts: Option<Vec<&str>> = parts.iter().map(Value::as_str).collect();
                let parts = parts
                    .ok_or_else(|| bad(format!("header {name} must be a string or strings")))?;
                headers.append(name, &parts.join(", "));
            }
            _ => return Err(bad(format!("header {name} must be a string or strings"))),
        }
    }
    let body = match (request.body, request.body_base64) {
        (Some(_), Some(_)) => return Err(bad("give body or bodyBase64, not both")),
        (Some(text), None) => text.into_bytes(),
        (None, Some(encoded)) => STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad("bodyBase64 must be standard base64"))?,
        (None, None) => Vec::new(),
    };
    HttpRequest::new(&request.method, &request.url, headers, body).map_err(|r| bad(r.to_string()))
}

/// The next line of `bytes` (without its `\n` or `\r\n`) and what follows it.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let (line, rest) = bytes.split_at(end);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, rest.get(1..).unwrap_or_default()))
}

fn text(line: &[u8], what: &str) -> Outcome<String> {
    String::from_utf8(line.to_vec()).map_err(|_| bad(format!("the {what} is not utf-8")))
}

fn parse_raw(bytes: &[u8], raw_scheme: &str) -> Outcome<HttpRequest> {
    // Blank lines before the request line are ignored (RFC 9112 §2.2).
    let mut rest = bytes;
    let request_line = loop {
        let (line, after) =
            split_line(rest).ok_or_else(|| bad("not json and not an http/1.1 request"))?;
        rest = after;
        if !line.is_empty() {
            break text(line, "request line")?;
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(
            "not json, and the first line is not 'METHOD target HTTP/1.1'",
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only http/1.x request text is understood"));
    }

    let mut headers = Headers::new();
    loop {
        let (line, after) =
            split_line(rest).ok_or_else(|| bad("the header section has no ending empty line"))?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Err(bad("folded header lines are not supported"));
        }
        let line = text(line, "header section")?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("a header line has no colon"))?;
        if name.is_empty() || name.ends_with([' ', '\t']) {
            return Err(bad("a header line has a malformed name"));
        }
        headers.append(name, value);
    }
    if headers
        .get("transfer-encoding")
        .is_some_and(|te| !te.eq_ignore_ascii_case("identity"))
    {
        return Err(bad("chunked or encoded bodies are not supported"));
    }
    let body = match headers.get("content-length") {
        Some(length) => {
            let length: usize = length
                .trim()
                .parse()
                .map_err(|_| bad("content-length is not a number"))?;
            rest.get(..length)
                .ok_or_else(|| bad("the body is shorter than its content-length"))?
        }
        None => rest,
    };

    let url = if target.starts_with('/') {
        let host = headers
            .get("host")
            .ok_or_else(|| bad("a request with a path target needs a host header"))?;
        format!("{raw_scheme}://{host}{target}")
    } else {
        target.to_string()
    };
    HttpRequest::new(method, &url, headers, body.to_vec()).map_err(|r| bad(r.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_requests() {
        let r = parse(
            br#" {"method":"post","url":"https://e.test/v1/a/sync?x=1",
                 "headers":{"Content-Type":"application/json","X-A":["1","2"]},"body":"{}"}"#,
            "https",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri.path(), "/v1/a/sync");
        assert_eq!(r.headers.get("content-type"), Some("application/json"));
        assert_eq!(r.headers.get("x-a"), Some("1, 2"));
        assert_eq!(r.body, b"{}");

        let r = parse(
            br#"{"method":"POST","url":"https://e.test/","bodyBase64":"AAEC"}"#,
            "https",
        )
        .unwrap();
        assert_eq!(r.body, [0, 1, 2]);

        for bad in [
            &br#"{"method":"POST","url":"https://e.test/","extra":1}"#[..],
            br#"{"method":"POST","url":"/relative"}"#,
            br#"{"method":"POST","url":"https://e.test/","headers":{"a":1}}"#,
            br#"{"method":"POST","url":"https://e.test/","body":"a","bodyBase64":"AA=="}"#,
            br#"{"method":"POST""#,
        ] {
            assert!(
                parse(bad, "https").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn raw_requests() {
        let text = b"POST /v1/acme/sync?a=b HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}\n";
        let r = parse(text, "https").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri.target_uri(), "https://edge.test/v1/acme/sync?a=b");
        assert_eq!(r.headers.get("content-type"), Some("application/json"));
        assert_eq!(r.body, b"{}", "content-length bounds the body");

        let lf = b"\nPOST http://edge.test:8787/v1/a/sync HTTP/1.1\nX: 1\n\nbody bytes";
        let r = parse(lf, "https").unwrap();
        assert_eq!(r.uri.authority(), "edge.test:8787");
        assert_eq!(r.body, b"body bytes");

        for bad in [
            &b"POST /x HTTP/1.1\r\n\r\n"[..],
            b"POST /x HTTP/2\r\nHost: a\r\n\r\n",
            b"POST /x\r\nHost: a\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nshort",
            b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\n",
            b"",
        ] {
            assert!(
                parse(bad, "https").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
