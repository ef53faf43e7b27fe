//! JSON helpers shared by the payload, customer and policy readers.
//!
//! serde's own messages quote the offending value (`invalid type: string "hunter2"`), which would
//! put an SMTP password or a secret into an error answer. Everything here reports paths and
//! expectations only.

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
            let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
            sanitize_data_message(text)
        }
    }
}

/// Keeps the parts of a serde data error that name fields and expectations, drops quoted values.
fn sanitize_data_message(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = prefix.trim_end_matches([':', ' ']);
            return match rest.split_once(", expected ") {
                Some((_, expected)) => format!("{kind}, expected {expected}"),
                None => kind.to_string(),
            };
        }
    }
    if message.starts_with("unknown field")
        || message.starts_with("missing field")
        || message.starts_with("duplicate field")
        || message.starts_with("unknown variant")
    {
        // These quote field and variant names, which come from the schema or are keys of the
        // input; cap the length so a huge key cannot bloat an answer.
        let mut short: String = message.chars().take(200).collect();
        if short.len() < message.len() {
            short.push('…');
        }
        return short;
    }
    "does not match the expected shape".into()
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
