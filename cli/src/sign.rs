//! `syncgate sign`: the headers a sender adds, or a ready `curl` command.
//!
//! Signing itself is the core's [`syncgate::sign_request`]; this module only builds the
//! request the core signs (method, URL, `Content-Type` and any `--header`, the body bytes) and
//! prints the result.

use std::borrow::Cow;

use syncgate::{Headers, HttpRequest, Scheme, Secret, SigningOptions, sign_request};

use crate::failure::{Failure, Outcome};
use crate::io::{self, Input};

/// What to sign and how (the parsed `sign` arguments).
#[derive(Debug)]
pub struct SignRequest {
    /// The absolute URL the request goes to.
    pub url: String,
    /// The HTTP method.
    pub method: String,
    /// The key id (RFC 9421 `keyid`; not on the wire for Standard Webhooks).
    pub kid: String,
    /// The signing secret.
    pub secret: Secret,
    /// The scheme.
    pub scheme: Scheme,
    /// The nonce; random when absent.
    pub nonce: Option<String>,
    /// The signature time; now when absent.
    pub created: Option<i64>,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// Extra request headers, `Name: value`.
    pub headers: Vec<String>,
    /// RFC 9421 components covered beyond the required ones.
    pub components: Vec<String>,
    /// RFC 9421 `expires`, seconds after `created`.
    pub expires_in: Option<u32>,
    /// RFC 9421 `tag`.
    pub tag: Option<String>,
    /// RFC 9421 signature label.
    pub label: Option<String>,
    /// Print a curl command instead of header lines.
    pub curl: bool,
    /// Where the body comes from.
    pub body: Input,
}

/// A parsed `Name: value` header argument.
///
/// # Errors
/// When the name is not an HTTP token or the value holds a line break.
pub fn parse_header(arg: &str) -> Outcome<(String, String)> {
    let (name, value) = arg
        .split_once(':')
        .ok_or_else(|| Failure::usage("a --header must look like 'Name: value'"))?;
    let name = name.trim();
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token {
        return Err(Failure::usage("a --header name must be an http token"));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Failure::usage(format!(
            "the value of --header {name} must not contain control characters"
        )));
    }
    Ok((name.to_string(), value.to_string()))
}

/// The display form of a header name the core returns in lowercase.
fn display_name(name: &str) -> Cow<'_, str> {
    match name {
        "content-digest" => Cow::Borrowed("Content-Digest"),
        "signature-input" => Cow::Borrowed("Signature-Input"),
        "signature" => Cow::Borrowed("Signature"),
        "content-type" => Cow::Borrowed("Content-Type"),
        // Standard Webhooks spells its headers in lowercase.
        other => Cow::Borrowed(other),
    }
}

/// A rejection's reason without the code's prefix (`malformed signature: `).
fn reason(rejection: &syncgate::Rejection) -> String {
    match rejection {
        syncgate::Rejection::MalformedSignature { detail } => detail.clone(),
        other => other.to_string(),
    }
}

/// A random nonce: 16 bytes as hex (`msg_` in front for Standard Webhooks, like its senders).
fn random_nonce(scheme: Scheme) -> Outcome<String> {
    let hex = syncgate::hex(&io::random_bytes::<16>()?);
    Ok(match scheme {
        Scheme::Rfc9421 => hex,
        Scheme::StandardWebhooks => format!("msg_{hex}"),
    })
}

/// Runs `sign` and returns what to print.
///
/// # Errors
/// A usage failure for bad input (unreadable body, bad header, an option the wire cannot carry).
pub fn run(args: &SignRequest) -> Outcome<String> {
    let body = args.body.read()?;
    let mut request_headers: Vec<(String, String)> = Vec::new();
    let extra: Vec<(String, String)> = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Outcome<_>>()?;
    if !extra
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request_headers.push(("Content-Type".into(), args.content_type.clone()));
    }
    request_headers.extend(extra);
    let headers: Headers = request_headers.iter().cloned().collect();
    let request = HttpRequest::new(&args.method, &args.url, headers, body)
        .map_err(|r| Failure::usage(reason(&r)))?;

    let nonce = match &args.nonce {
        Some(nonce) => nonce.clone(),
        None => random_nonce(args.scheme)?,
    };
    let created = match args.created {
        Some(created) => created,
        None => io::now()?,
    };
    let mut options = SigningOptions::new(args.scheme, created, nonce);
    options.extra_components.clone_from(&args.components);
    options.expires_in = args.expires_in;
    options.tag.clone_from(&args.tag);
    options.label.clone_from(&args.label);
    let signed = sign_request(&request, &args.kid, args.secret.expose_bytes(), &options)
        .map_err(|r| Failure::usage(format!("cannot sign: {}", reason(&r))))?;
    let signed: Vec<(String, String)> = signed
        .into_iter()
        .map(|(n, v)| (display_name(&n).into_owned(), v))
        .collect();

    if args.curl {
        request_headers.extend(signed);
        curl_command(args, &request, &request_headers)
    } else {
        Ok(signed
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect::<String>())
    }
}

fn quote(word: &str) -> Outcome<Cow<'_, str>> {
    shlex::try_quote(word).map_err(|_| {
        Failure::usage("a value for the curl command contains a nul byte and cannot be quoted")
    })
}

/// A POSIX-shell command that sends `request` with `headers` (one argument per line).
fn curl_command(
    args: &SignRequest,
    request: &HttpRequest,
    headers: &[(String, String)],
) -> Outcome<String> {
    let mut lines = Vec::new();
    let mut first = String::new();
    if args.body == Input::Stdin {
        // `--data-binary @-` so a body starting with `@` is never taken for a file name.
        let text = std::str::from_utf8(&request.body).map_err(|_| {
            Failure::usage("a body from standard input must be utf-8 for --curl; pass a file")
        })?;
        first.push_str("printf '%s' ");
        first.push_str(&quote(text)?);
        first.push_str(" | ");
    }
    // `-w '\n'`: the answer ends with a line break, so a terminal prompt starts on its own line.
    first.push_str("curl -sS -w '\\n' -X ");
    first.push_str(&quote(&request.method)?);
    first.push(' ');
    first.push_str(&quote(&args.url)?);
    lines.push(first);
    for (name, value) in headers {
        lines.push(format!("-H {}", quote(&format!("{name}: {value}"))?));
    }
    match &args.body {
        Input::Stdin => lines.push("--data-binary @-".to_string()),
        Input::File(path) => lines.push(format!("--data-binary {}", quote(&format!("@{path}"))?)),
    }
    Ok(format!("{}\n", lines.join(" \\\n  ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_arguments() {
        assert_eq!(
            parse_header("X-Trace:  abc ").unwrap(),
            ("X-Trace".to_string(), "abc".to_string())
        );
        assert_eq!(
            parse_header("a:b:c").unwrap(),
            ("a".to_string(), "b:c".to_string())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(parse_header("x: a\nb").is_err());
    }
}
