//! The error returned when a scope string or scope name is malformed.

use std::fmt;

/// The longest `found` excerpt an error keeps, in characters.
const EXCERPT_CHARS: usize = 64;

/// A scope string, scope name or id that could not be turned into a [`Scope`](super::Scope).
///
/// It says what is wrong ([`kind`](Self::kind)), where ([`position`](Self::position),
/// a byte offset into the text that was parsed) and shows the offending text
/// ([`found`](Self::found), which starts at `position`).
///
/// ```
/// use globus_app_core::scopes::{self, ScopeParseErrorKind};
///
/// let err = scopes::parse("openid transfer[]").unwrap_err();
/// assert_eq!(err.kind(), ScopeParseErrorKind::EmptyBrackets);
/// assert_eq!(err.position(), 15);
/// assert_eq!(err.found(), "[]");
/// assert!(err.to_string().contains("at byte 15"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope string at byte {position} ({found:?}): {kind}")]
#[non_exhaustive]
pub struct ScopeParseError {
    kind: ScopeParseErrorKind,
    position: usize,
    found: String,
}

impl ScopeParseError {
    /// Builds an error; `found` is cut to a short excerpt.
    pub(crate) fn new(kind: ScopeParseErrorKind, position: usize, found: &str) -> Self {
        let found = match found.char_indices().nth(EXCERPT_CHARS) {
            Some((cut, _)) => format!("{}…", &found[..cut]),
            None => found.to_owned(),
        };
        Self {
            kind,
            position,
            found,
        }
    }

    /// What is wrong.
    pub const fn kind(&self) -> ScopeParseErrorKind {
        self.kind
    }

    /// The byte offset (not the character count) in the parsed text where the
    /// problem starts.
    pub const fn position(&self) -> usize {
        self.position
    }

    /// The offending text, starting at [`position`](Self::position): a
    /// character, a bracket pair, or a scope name. Long text is cut short and
    /// ends with `…`.
    pub fn found(&self) -> &str {
        &self.found
    }
}

/// The kinds of [`ScopeParseError`].
///
/// The `Display` form explains the rule that was broken and how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeParseErrorKind {
    /// A scope name is empty (`Scope::new("")`), or a string that must hold
    /// exactly one scope holds none.
    EmptyName,
    /// A scope name holds a character scope names may not contain: whitespace,
    /// a control character, `[`, `]` or `*`.
    InvalidCharacter,
    /// A `*` is not directly followed by a scope name, or stands inside a name
    /// (`*` marks the scope that starts right after it, as in `*name`).
    MisplacedOptionalMarker,
    /// A `[` does not directly follow a scope name (it is at the start, after
    /// whitespace, or after another `[`).
    BracketWithoutScope,
    /// A `[` is followed by `]` with only whitespace between.
    EmptyBrackets,
    /// A `]` closes no open `[`.
    UnmatchedCloseBracket,
    /// A `[` is never closed.
    UnclosedBracket,
    /// A `]` is followed by something other than whitespace, `]` or the end.
    MissingSeparator,
    /// A scope depends on itself, directly or through other scopes (after
    /// merging every occurrence of each scope into one node).
    Cycle,
    /// Dependencies nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH) levels
    /// (after merging).
    TooDeep,
    /// The parsed scopes, dependencies included and expanded after merging,
    /// exceed [`MAX_SCOPES`](super::MAX_SCOPES).
    TooLarge,
    /// A string that must hold exactly one scope holds several.
    MultipleScopes,
    /// An id given to a scope helper (a collection, endpoint or flow id) is not
    /// a UUID.
    InvalidUuid,
}

impl fmt::Display for ScopeParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyName => "expected a scope name, found none",
            Self::InvalidCharacter => {
                "scope names may not contain whitespace, control characters, '[', ']' or '*'"
            }
            Self::MisplacedOptionalMarker => {
                "'*' marks a scope as optional and must come right before its name, as in '*name'"
            }
            Self::BracketWithoutScope => {
                "'[' must come right after the scope whose dependencies it lists, with no space, \
                 as in 'name[dependency]'"
            }
            Self::EmptyBrackets => {
                "empty dependency list; put at least one scope between the brackets or drop them"
            }
            Self::UnmatchedCloseBracket => "this ']' closes no '['; remove it or add the '['",
            Self::UnclosedBracket => "this '[' is never closed; add a matching ']'",
            Self::MissingSeparator => {
                "']' must be followed by whitespace, another ']' or the end of the string"
            }
            Self::Cycle => {
                "dependency cycle: this scope ends up depending on itself \
                 (every occurrence of a scope shares one set of dependencies)"
            }
            Self::TooDeep => "dependencies nest too deeply (the limit is scopes::MAX_DEPTH levels)",
            Self::TooLarge => {
                "too many scopes once dependencies are expanded (the limit is scopes::MAX_SCOPES)"
            }
            Self::MultipleScopes => {
                "expected exactly one scope, found another; use scopes::parse for a list"
            }
            Self::InvalidUuid => {
                "expected a UUID such as 6c54cade-bde5-45c1-bdea-f4bd71dba2cc \
                 (hex digits in groups of 8-4-4-4-12)"
            }
        })
    }
}
