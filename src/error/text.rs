//! Sender text in rejections: short, printable, quote-free fragments.
//!
//! A rejection names what was wrong — a covered component, a JSON key, a module key — and those
//! names come from the sender. Repeating them verbatim lets a sender grow an answer (and the log
//! row that records it) to the size of its request, or smuggle control characters and quotes
//! into a log line. Every piece of sender text that goes into a [`Rejection`](super::Rejection)
//! passes through [`fragment`]; the whole message, field and path are bounded again when the
//! rejection is shown, so a rejection built elsewhere (the worker, the origin) cannot escape the
//! limits either.

use std::borrow::Cow;

/// Longest fragment of sender text a rejection carries, in characters (ellipsis included).
pub const MAX_FRAGMENT_CHARS: usize = 64;
/// Longest rejection message (`Display`, the problem document's `detail`), in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// Longest field or payload path (the problem document's `field`), in characters.
pub const MAX_FIELD_CHARS: usize = 96;

/// What marks text that was cut.
const ELLIPSIS: &str = "...";
/// What replaces a character that is not shown.
const REPLACEMENT: char = '?';

/// Sender text as a rejection may show it: at most [`MAX_FRAGMENT_CHARS`] characters of
/// printable ASCII. Control characters, non-ASCII characters, quotes (`"`, `'`, `` ` ``) and
/// backslashes become `?`; text that was longer ends in `...`.
///
/// The result is its own fragment (applying `fragment` twice changes nothing).
#[must_use]
pub fn fragment(text: &str) -> String {
    bounded(text, MAX_FRAGMENT_CHARS, true).into_owned()
}

/// `text` with every character that is not printable ASCII replaced (and quotes and
/// backslashes too when `neutralise_quotes`), cut to at most `max` characters with an ellipsis.
/// Borrows when nothing changes.
pub(crate) fn bounded(text: &str, max: usize, neutralise_quotes: bool) -> Cow<'_, str> {
    let fits = text.len() <= max;
    if fits && text.chars().all(|c| shown(c, neutralise_quotes) == c) {
        return Cow::Borrowed(text);
    }
    let mut out = Bounded::new(max, neutralise_quotes);
    out.push_str(text);
    Cow::Owned(out.finish())
}

/// A field or payload path as a rejection shows it (see [`MAX_FIELD_CHARS`]).
pub(crate) fn field(text: &str) -> Cow<'_, str> {
    bounded(text, MAX_FIELD_CHARS, false)
}

fn shown(c: char, neutralise_quotes: bool) -> char {
    let quote = matches!(c, '"' | '\'' | '`' | '\\');
    if (' '..='~').contains(&c) && !(neutralise_quotes && quote) {
        c
    } else {
        REPLACEMENT
    }
}

/// A string builder that keeps at most `max` shown characters, then marks the cut.
#[derive(Debug)]
pub(crate) struct Bounded {
    text: String,
    chars: usize,
    max: usize,
    neutralise_quotes: bool,
    cut: bool,
}

impl Bounded {
    /// An empty builder for at most `max` characters (at least the ellipsis).
    pub(crate) fn new(max: usize, neutralise_quotes: bool) -> Self {
        Self {
            text: String::with_capacity(max.min(256)),
            chars: 0,
            max: max.max(ELLIPSIS.len()),
            neutralise_quotes,
            cut: false,
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            if self.chars >= self.max {
                self.cut = true;
                return;
            }
            self.text.push(shown(c, self.neutralise_quotes));
            self.chars += 1;
        }
    }

    /// The text, ending in `...` when more was written than fits.
    pub(crate) fn finish(mut self) -> String {
        if self.cut {
            // Every kept character is ASCII, so byte and character positions agree.
            self.text.truncate(self.max - ELLIPSIS.len());
            self.text.push_str(ELLIPSIS);
        }
        self.text
    }
}

impl core::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_printable_text_is_kept() {
        assert_eq!(fragment("content-type"), "content-type");
        assert!(matches!(bounded("x-a", 64, true), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let cut = fragment(&"a".repeat(20_000));
        assert_eq!(cut.chars().count(), MAX_FRAGMENT_CHARS);
        assert!(cut.ends_with("..."));
        assert_eq!(cut.matches('a').count(), MAX_FRAGMENT_CHARS - 3);
        assert_eq!(fragment(&"b".repeat(64)), "b".repeat(64));
        assert_eq!(fragment(&"b".repeat(65)).len(), 64);
    }

    #[test]
    fn controls_non_ascii_and_quotes_are_replaced() {
        assert_eq!(fragment("a\nb\r\u{0}\u{7f}"), "a?b???");
        assert_eq!(fragment("é✓\u{202e}"), "???");
        assert_eq!(fragment(r#"say "hi" 'x' `y` \z"#), "say ?hi? ?x? ?y? ?z");
        // Paths keep their own quotes; only controls and non-ASCII go.
        assert_eq!(field(r#"overrides["crm.x"]"#), r#"overrides["crm.x"]"#);
        assert_eq!(field("a\u{1b}[31m"), "a?[31m");
    }

    #[test]
    fn fragments_are_stable() {
        for text in [
            "",
            "x",
            &"q\"".repeat(100),
            &"é".repeat(70),
            &"z".repeat(64),
        ] {
            let once = fragment(text);
            assert_eq!(fragment(&once), once);
            assert!(once.len() <= MAX_FRAGMENT_CHARS);
        }
    }
}
