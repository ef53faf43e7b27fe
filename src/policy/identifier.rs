//! The identifier grammars, in one place.
//!
//! Two grammars name things in syncgate. *Identifiers* ([`is_valid_identifier`]) are instance
//! codes and tenant ids: they end up in URL paths, so they are the strict lowercase grammar.
//! *Names* ([`is_identifier`]) are key ids, module keys, groups, plans, permissions and record
//! ids: a wider ASCII grammar, also the one a JSON path uses to decide whether a sender's object
//! key is safe to print. Every reader and validator asks these functions, so a grammar changes
//! here or nowhere.

/// The identifier grammar of instance codes and tenant ids, as the rejections state it.
pub const IDENTIFIER_RULE: &str = "must match [a-z0-9][a-z0-9-]{1,62}";

/// Whether `text` is a syncgate identifier: `[a-z0-9][a-z0-9-]{1,62}`, 2 to 63 characters of
/// lowercase ASCII letters, digits and `-`, not starting with `-`.
///
/// Instance codes and tenant ids both follow it. Both end up in URL paths (`/v1/{instance}`,
/// `/origin/v1/{tenant}`), so the grammar leaves out everything a path treats specially: no `.`
/// (so no `.` or `..` segment), `/`, `%` (no percent-encoded `%2e`), `?`, `#`, uppercase (no
/// two spellings of one id) or non-ASCII.
#[must_use]
pub fn is_valid_identifier(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    (1..=62).contains(&rest.len()) && *first != b'-' && all_in(bytes, LOWER_IDENTIFIER)
}

/// Whether `code` is a well-formed instance code: an identifier (see [`is_valid_identifier`]).
#[must_use]
pub fn is_valid_instance_code(code: &str) -> bool {
    is_valid_identifier(code)
}

/// ASCII name of 1..=`max` characters: letters, digits, `-`, `_`, `.`, not only dots (`.` and
/// `..` are path segments). Key ids, module keys, groups, plans and record ids use it.
pub(crate) fn is_identifier(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && all_in(bytes, NAME)
        && bytes.iter().any(|b| *b != b'.')
}

/// Permission of 1..=`max` characters: like a name, and may also use `:` (`customers:write`).
pub(crate) fn is_permission(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty() && bytes.len() <= max && all_in(bytes, PERMISSION)
}

/// Byte classes of the grammars above, one bit each, looked up per byte: these checks run on
/// every key, name and permission of a payload, so they are one table load and one test a byte
/// rather than a chain of range comparisons.
const NAME: u8 = 1;
/// [`NAME`] and `:`.
const PERMISSION: u8 = 2;
/// `a-z`, `0-9` and `-`.
const LOWER_IDENTIFIER: u8 = 4;

/// The class bits of every byte value (all zero outside ASCII).
const BYTE_CLASSES: [u8; 256] = byte_classes();

// Evaluated by the compiler only (`BYTE_CLASSES`): an index out of range would fail the build,
// never a run. `get_mut` is not yet callable in a const fn.
#[allow(clippy::indexing_slicing)]
const fn byte_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut index = 0;
    while index < table.len() {
        #[allow(clippy::cast_possible_truncation)]
        let byte = index as u8;
        let name = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        let mut class = 0;
        if name {
            class |= NAME | PERMISSION;
        }
        if byte == b':' {
            class |= PERMISSION;
        }
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' {
            class |= LOWER_IDENTIFIER;
        }
        table[index] = class;
        index += 1;
    }
    table
}

/// Whether every byte of `bytes` is in `class`: eight table loads a step, no branch per byte.
fn all_in(bytes: &[u8], class: u8) -> bool {
    let classes = |byte: &u8| BYTE_CLASSES.get(usize::from(*byte)).copied().unwrap_or(0);
    let (chunks, rest) = bytes.as_chunks::<8>();
    let mut seen = class;
    for [a, b, c, d, e, f, g, h] in chunks {
        seen &= classes(a)
            & classes(b)
            & classes(c)
            & classes(d)
            & classes(e)
            & classes(f)
            & classes(g)
            & classes(h);
    }
    for byte in rest {
        seen &= classes(byte);
    }
    seen == class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_codes() {
        assert!(is_valid_instance_code("acme-eu1"));
        assert!(is_valid_instance_code("a1"));
        assert!(!is_valid_instance_code("a"));
        assert!(!is_valid_instance_code("-acme"));
        assert!(!is_valid_instance_code("Acme"));
        assert!(!is_valid_instance_code(&"a".repeat(64)));
        assert!(is_valid_instance_code(&"a".repeat(63)));
    }

    #[test]
    fn byte_classes_match_the_stated_grammars() {
        for byte in 0..=u8::MAX {
            let text = [b'a', byte, b'1'];
            let Ok(text) = core::str::from_utf8(&text) else {
                assert!(!byte.is_ascii(), "{byte}");
                continue;
            };
            let name = byte.is_ascii_alphanumeric() || b"-_.".contains(&byte);
            assert_eq!(is_identifier(text, 64), name, "{byte}");
            assert_eq!(is_permission(text, 64), name || byte == b':', "{byte}");
            let lower = byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-';
            assert_eq!(is_valid_identifier(text), lower, "{byte}");
        }
        for text in ["é", "aé", "\u{80}a"] {
            assert!(!is_identifier(text, 64), "{text}");
            assert!(!is_permission(text, 64), "{text}");
            assert!(!is_valid_identifier(text), "{text}");
        }
        assert!(is_permission("customers:write", 128));
        assert!(is_permission(":", 1));
        assert!(!is_permission("", 1));
        assert!(!is_permission("ab", 1));
        assert!(!is_identifier(&"a".repeat(65), 64));
        assert!(!is_valid_identifier("0"));
        assert!(is_valid_identifier("0-"));
        assert!(!is_valid_identifier("-0"));
    }

    #[test]
    fn names_are_never_only_dots() {
        for bad in [".", "..", "..."] {
            assert!(!is_identifier(bad, 64), "{bad}");
        }
        for good in ["a.b", ".a", "crm.reports", "k_1"] {
            assert!(is_identifier(good, 64), "{good}");
        }
    }
}
