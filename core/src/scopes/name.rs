//! Which characters a scope name may hold, checkable in `const` context.

use super::error::{ScopeParseError, ScopeParseErrorKind};

/// True for the characters a scope name may not contain: Unicode whitespace,
/// control characters, and the grammar's `[`, `]` and `*`.
///
/// Written out by hand so that it can run in a `const fn`; a unit test checks
/// it against `char::is_whitespace` and `char::is_control` for every `char`.
pub(crate) const fn is_forbidden(c: u32) -> bool {
    matches!(
        c,
        // C0 controls, tab, newlines and space
        0x00..=0x20
        // '*', '[' and ']'
        | 0x2A | 0x5B | 0x5D
        // DEL, C1 controls (NEL among them) and no-break space
        | 0x7F..=0xA0
        // the remaining Unicode White_Space code points
        | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000
    )
}

/// Decodes the character starting at byte `i` of valid UTF-8 `bytes`,
/// returning its code point and length.
const fn decode(bytes: &[u8], i: usize) -> (u32, usize) {
    let b0 = bytes[i] as u32;
    if b0 < 0x80 {
        (b0, 1)
    } else if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | (bytes[i + 1] as u32 & 0x3F), 2)
    } else if b0 < 0xF0 {
        (
            ((b0 & 0x0F) << 12)
                | ((bytes[i + 1] as u32 & 0x3F) << 6)
                | (bytes[i + 2] as u32 & 0x3F),
            3,
        )
    } else {
        (
            ((b0 & 0x07) << 18)
                | ((bytes[i + 1] as u32 & 0x3F) << 12)
                | ((bytes[i + 2] as u32 & 0x3F) << 6)
                | (bytes[i + 3] as u32 & 0x3F),
            4,
        )
    }
}

/// The byte offset of the first character of `name` a scope name may not
/// contain, if any.
pub(crate) const fn first_forbidden(name: &str) -> Option<usize> {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let (c, len) = decode(bytes, i);
        if is_forbidden(c) {
            return Some(i);
        }
        i += len;
    }
    None
}

/// Checks that `name` is a valid scope name: non-empty, with no whitespace,
/// control character, `[`, `]` or `*`.
pub(crate) fn validate(name: &str) -> Result<(), ScopeParseError> {
    if name.is_empty() {
        return Err(ScopeParseError::new(ScopeParseErrorKind::EmptyName, 0, ""));
    }
    match first_forbidden(name) {
        None => Ok(()),
        Some(at) => {
            let bad = name[at..].chars().next().map_or(0, char::len_utf8);
            Err(ScopeParseError::new(
                ScopeParseErrorKind::InvalidCharacter,
                at,
                &name[at..at + bad],
            ))
        }
    }
}

/// Checks that `id` is a UUID in its 8-4-4-4-12 hex form and returns it in
/// lower case, the form Globus uses.
pub(crate) fn uuid(id: &str) -> Result<String, ScopeParseError> {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    let invalid = |at: usize| ScopeParseError::new(ScopeParseErrorKind::InvalidUuid, at, id);
    let mut count = 0;
    for (at, c) in id.char_indices() {
        let ok = if HYPHENS.contains(&count) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        };
        if !ok || count >= 36 {
            return Err(invalid(at));
        }
        count += 1;
    }
    if count < 36 {
        return Err(invalid(id.len()));
    }
    Ok(id.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_matches_std_for_every_char() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let expected = c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '*');
            assert_eq!(is_forbidden(u32::from(c)), expected, "{c:?}");
        }
    }

    #[test]
    fn decoding_matches_std() {
        let s = "a\u{e9}\u{20ac}\u{1f600}\u{3000}z";
        let mut i = 0;
        let mut decoded = Vec::new();
        while i < s.len() {
            let (c, len) = decode(s.as_bytes(), i);
            decoded.push(char::from_u32(c).expect("a valid char"));
            i += len;
        }
        assert_eq!(decoded, s.chars().collect::<Vec<_>>());
        assert_eq!(first_forbidden("a\u{e9}\u{3000}"), Some(3));
        assert_eq!(first_forbidden("caf\u{e9}"), None);
    }

    #[test]
    fn uuid_check() {
        assert_eq!(
            uuid("6C54CADE-bde5-45c1-bdea-f4bd71dba2cc").as_deref(),
            Ok("6c54cade-bde5-45c1-bdea-f4bd71dba2cc")
        );
        let pos = |s: &str| uuid(s).map_err(|e| (e.kind(), e.position()));
        let bad = ScopeParseErrorKind::InvalidUuid;
        assert_eq!(pos(""), Err((bad, 0)));
        assert_eq!(pos("6c54cade"), Err((bad, 8)));
        assert_eq!(pos("6c54cadeXbde5-45c1-bdea-f4bd71dba2cc"), Err((bad, 8)));
        assert_eq!(pos("6c54cade-bde5-45c1-bdea-f4bd71dba2cg"), Err((bad, 35)));
        assert_eq!(pos("6c54cade-bde5-45c1-bdea-f4bd71dba2cc0"), Err((bad, 36)));
        assert_eq!(pos("6c54cadebde545c1bdeaf4bd71dba2cc"), Err((bad, 8)));
        assert_eq!(
            pos("6c54cad\u{e9}-bde5-45c1-bdea-f4bd71dba2cc"),
            Err((bad, 7))
        );
    }
}
