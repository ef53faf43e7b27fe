//! How a command fails: a one-line message and an exit status.
//!
//! Exit statuses are part of the interface, so scripts can tell the cases apart:
//! `0` success, `1` refused (a request failed verification, or the edge answered an error),
//! `2` bad input or usage (unreadable file, malformed JSON, a bad argument), `3` the edge could
//! not be reached or gave an unreadable answer, or the output could not be written.
//! Messages are lowercase, name what was wrong, and never quote a secret.

use std::fmt;
use std::process::ExitCode;

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Refused: verification failed or the edge answered a problem. Exit status 1.
    Refused(String),
    /// Bad input or usage. Exit status 2.
    Usage(String),
    /// Transport or output failure. Exit status 3.
    Io(String),
}

impl Failure {
    /// Bad input or usage.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// Refused by verification or by the edge.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }

    /// Transport or output failure.
    pub fn io(message: impl Into<String>) -> Self {
        Self::Io(message.into())
    }

    /// The process exit status for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Refused(_) => 1,
            Self::Usage(_) => 2,
            Self::Io(_) => 3,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Self::Refused(message) | Self::Usage(message) | Self::Io(message)) = self;
        // One line, whatever a message carries.
        let line: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "error: {line}")
    }
}

/// The result of a command.
pub type Outcome<T = ()> = Result<T, Failure>;

/// Replaces every `whsec_…` word in `text` with `whsec_…` so a message can never carry a secret
/// that was typed in the wrong place (clap quotes unexpected arguments verbatim).
pub fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(syncgate::SECRET_PREFIX) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        out.push_str(syncgate::SECRET_PREFIX);
        let after = from
            .get(syncgate::SECRET_PREFIX.len()..)
            .unwrap_or_default();
        let secret_len = after
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | ','))
            .map_or(after.len(), |(i, _)| i);
        if secret_len > 0 {
            out.push('…');
        }
        rest = after.get(secret_len..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_secrets("unexpected argument 'whsec_abc+/=' found"),
            "unexpected argument 'whsec_…' found"
        );
        assert_eq!(redact_secrets("whsec_x whsec_y"), "whsec_… whsec_…");
        assert_eq!(redact_secrets("no secret"), "no secret");
        assert_eq!(
            redact_secrets("must be whsec_ followed by base64"),
            "must be whsec_ followed by base64"
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let text = Failure::usage("a\nb\rc").to_string();
        assert_eq!(text, "error: a b c");
    }
}
