//! Value grammars shared by the document readers: host names, IPv4 addresses, e-mail addresses,
//! https URLs, hex colours, E.164 phone numbers and RFC 3339 timestamps.
//!
//! Each is a plain predicate (or names the broken rule) and never reports the text it was given,
//! so a reader can turn a refusal into a rejection that names the path and the rule only. They
//! live apart from the reader so a grammar can be read, tested and tightened on its own.

/// Longest host name (RFC 1035).
const MAX_HOST_NAME_CHARS: usize = 253;
/// Longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Longest e-mail local part (RFC 5321).
const MAX_EMAIL_LOCAL_CHARS: usize = 64;

/// A host: an RFC 1123 host name or a dotted-quad IPv4 address.
pub(crate) fn is_host(text: &str) -> bool {
    is_ipv4(text) || is_host_name(text)
}

/// An RFC 1123 host name: dot-separated labels of 1 to 63 letters, digits and inner hyphens,
/// at most 253 characters, and a last label that is not all digits (so `1.2.3.999` is not
/// mistaken for a name). No trailing dot.
pub(crate) fn is_host_name(text: &str) -> bool {
    text.len() <= MAX_HOST_NAME_CHARS
        && text.split('.').all(is_dns_label)
        && text
            .rsplit('.')
            .next()
            .is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
}

fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A dotted-quad IPv4 address, decimal octets without leading zeros.
pub(crate) fn is_ipv4(text: &str) -> bool {
    let mut octets = 0usize;
    text.split('.').all(|octet| {
        octets += 1;
        octets <= 4 && is_decimal_in(octet, 0..=255)
    }) && octets == 4
}

/// Decimal digits without a leading zero (except `0` itself), inside `range`.
fn is_decimal_in(text: &str, range: core::ops::RangeInclusive<u32>) -> bool {
    !text.is_empty()
        && text.len() <= 10
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.parse::<u32>().is_ok_and(|n| range.contains(&n))
}

/// A pragmatic e-mail address: `local@domain`, ASCII only. The local part is a dot-atom
/// (RFC 5322 atext separated by single dots, at most 64 characters; no quoted forms); the
/// domain is a host name with at least one dot (no address literals); at most 254 in all.
pub(crate) fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    text.len() <= MAX_EMAIL_CHARS
        && local.len() <= MAX_EMAIL_LOCAL_CHARS
        && is_dot_atom(local)
        && domain.contains('.')
        && is_host_name(domain)
}

fn is_dot_atom(text: &str) -> bool {
    text.split('.')
        .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// A CSS hex colour: `#rgb` or `#rrggbb`, either case.
pub(crate) fn is_hex_colour(text: &str) -> bool {
    text.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An E.164 phone number: `+`, then 2 to 15 digits, the first not zero.
pub(crate) fn is_e164_phone(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// Checks an absolute `https` URL: RFC 3986 characters only (no spaces, quotes, angle
/// brackets, backslashes or control characters), well-formed percent escapes, no user
/// information, a host name or IPv4 host, and an optional port from 1 to 65535.
///
/// # Errors
/// The rule the URL breaks.
pub(crate) fn check_https_url(url: &str) -> Result<(), &'static str> {
    if !url.bytes().all(is_url_byte) {
        return Err("must contain only URL characters (no spaces, quotes or control characters)");
    }
    if !has_valid_percent_escapes(url) {
        return Err("must use well-formed percent escapes");
    }
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .and_then(|_| url.get(8..))
        .ok_or("must be an https URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain user information");
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if is_decimal_in(port, 1..=65_535) => host,
        Some(_) => return Err("must have a port from 1 to 65535"),
        None => authority,
    };
    if !is_host(host) {
        return Err("must have a valid host name");
    }
    Ok(())
}

fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn has_valid_percent_escapes(text: &str) -> bool {
    let is_hex = |digit: Option<u8>| digit.is_some_and(|d| d.is_ascii_hexdigit());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' && !(is_hex(bytes.next()) && is_hex(bytes.next())) {
            return false;
        }
    }
    true
}

/// An RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`.
/// Fields are range-checked (day 1–31, second 0–60), not checked against the calendar.
pub(crate) fn is_rfc3339_timestamp(text: &str) -> bool {
    text.split_once(['T', 't'])
        .is_some_and(|(date, time)| is_date(date) && is_time_with_offset(time))
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [year, month, day]
        if is_fixed_width(year, 4, 0..=9999)
            && is_fixed_width(month, 2, 1..=12)
            && is_fixed_width(day, 2, 1..=31))
}

fn is_time_with_offset(text: &str) -> bool {
    let (clock, offset) = match text.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, None),
        None => match text.rsplit_once(['+', '-']) {
            Some((clock, offset)) => (clock, Some(offset)),
            None => return false,
        },
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let hms: Vec<&str> = hms.split(':').collect();
    let offset_ok = offset.is_none_or(|offset| {
        matches!(offset.split_once(':'), Some((h, m))
            if is_fixed_width(h, 2, 0..=23) && is_fixed_width(m, 2, 0..=59))
    });
    offset_ok
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && matches!(hms.as_slice(), [h, m, s]
            if is_fixed_width(h, 2, 0..=23)
                && is_fixed_width(m, 2, 0..=59)
                && is_fixed_width(s, 2, 0..=60))
}

fn is_fixed_width(text: &str, width: usize, range: core::ops::RangeInclusive<u32>) -> bool {
    text.len() == width
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|n| range.contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_addresses() {
        for good in [
            "smtp.example.com",
            "mailhog",
            "a-b.c1.io",
            "10.0.0.1",
            "xn--bcher-kva.de",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com.",
            "1.2.3.999",
            "01.2.3.4",
            "1234",
            "exa mple.com",
            "[::1]",
            "ex_ample.com",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
        assert!(!is_host(&format!("{}.com", "a".repeat(64))));
        for (text, ipv4) in [
            ("255.255.255.255", true),
            ("0.0.0.0", true),
            ("1.2.3", false),
            ("1.2.3.4.5", false),
            ("1.2.3.4.", false),
            ("1.2.3.256", false),
            ("", false),
            ("...", false),
        ] {
            assert_eq!(is_ipv4(text), ipv4, "{text}");
        }
    }

    #[test]
    fn email_addresses() {
        for good in [
            "a@b.co",
            "no-reply@acme.test",
            "first.last+tag@sub.example.org",
            "x!#$%&'*+/=?^_`{|}~@a.io",
        ] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a@@b.co",
            ".a@b.co",
            "a.@b.co",
            "a..b@b.co",
            "a b@b.co",
            "\"a\"@b.co",
            "a@1.2.3.4",
            "a@[1.2.3.4]",
            "ä@b.co",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
        assert!(!is_email_address(&format!("{}@b.co", "a".repeat(65))));
    }

    #[test]
    fn https_urls() {
        for good in [
            "https://acme.test",
            "https://acme.test/logo.svg?v=2#x",
            "HTTPS://cdn.acme.test:8443/a%20b.png",
            "https://10.0.0.1/x",
        ] {
            assert_eq!(check_https_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://acme.test/",
            "https://",
            "https:///x",
            "https://user:pw@acme.test/",
            "https://acme.test:0/",
            "https://acme.test:99999/",
            "https://acme.test/a b",
            "https://acme.test/\"onload=",
            "https://acme.test\\@evil.test/",
            "https://acme.test/%zz",
            "https://[::1]/",
            "javascript:alert(1)",
            " https://acme.test/",
        ] {
            assert!(check_https_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn colours_phones_and_timestamps() {
        assert!(is_hex_colour("#1f6feb"));
        assert!(is_hex_colour("#FFF"));
        for bad in ["1f6feb", "#1f6fe", "#ggg", "#1f6feb00", "red"] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
        assert!(is_e164_phone("+14155550123"));
        assert!(is_e164_phone("+12"));
        for bad in [
            "14155550123",
            "+0123",
            "+1",
            "+1234567890123456",
            "+1 415",
            "+",
        ] {
            assert!(!is_e164_phone(bad), "{bad}");
        }
        for good in [
            "2026-11-22T10:00:00Z",
            "2026-11-22t10:00:00.123+01:00",
            "1999-01-31T23:59:60-12:30",
        ] {
            assert!(is_rfc3339_timestamp(good), "{good}");
        }
        for bad in [
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00.Z",
            "26-11-22T10:00:00Z",
        ] {
            assert!(!is_rfc3339_timestamp(bad), "{bad}");
        }
    }
}
