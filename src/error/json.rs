//! serde_json failures described without the sender's text.
//!
//! serde's own messages quote the offending value (`invalid type: string "hunter2"`), which would
//! put an SMTP password or a secret into an error answer. [`describe_error`] keeps what names a
//! field or an expectation and drops every value, so the document reader, the policy parser and
//! the edge's and the CLI's own serde types all report failures the same safe way.

use super::text::fragment;

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
}
