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
    (1..=62).contains(&rest.len())
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Whether `code` is a well-formed instance code: an identifier (see [`is_valid_identifier`]).
#[must_use]
pub fn is_valid_instance_code(code: &str) -> bool {
    is_valid_identifier(code)
}

/// ASCII name of 1..=`max` characters: letters, digits, `-`, `_`, `.`, not only dots (`.` and
/// `..` are path segments). Key ids, module keys, groups, plans and record ids use it.
pub(crate) fn is_identifier(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !text.bytes().all(|b| b == b'.')
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
    fn names_are_never_only_dots() {
        for bad in [".", "..", "..."] {
            assert!(!is_identifier(bad, 64), "{bad}");
        }
        for good in ["a.b", ".a", "crm.reports", "k_1"] {
            assert!(is_identifier(good, 64), "{good}");
        }
    }
}
