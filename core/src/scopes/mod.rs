//! Globus scope strings: parsing, serializing, merging, and the common scopes.
//!
//! A scope string lists scopes separated by whitespace. A scope is a name,
//! optionally marked optional with a leading `*`, optionally followed (with no
//! space) by its dependencies in brackets, themselves scopes, nested to any
//! depth:
//!
//! ```text
//! list  = [ws] [scope *(ws scope)] [ws]   ; "" and "  " are empty lists
//! scope = ["*"] name ["[" list "]"]       ; "*": optional; the list in [] is not empty
//! name  = 1*(any char but whitespace, control chars, "[", "]", "*")
//! ws    = 1*(Unicode whitespace)
//! ```
//!
//! For example `urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/COLLECTION/data_access]`.
//!
//! [`parse`] merges duplicates the way Globus Auth does: every occurrence of a
//! name becomes one node whose dependencies are the union of the dependencies
//! it has anywhere, so `a[b] c[a[d]]` parses as `a[b d] c[a[b d]]`. A
//! dependency (or a top-level scope) listed both optional and required is
//! required. Cycles (`a[b[a]]`, or `a[b] b[a]` after merging) are errors.
//!
//! ```
//! use globus_app_core::scopes::{self, Scope};
//!
//! let parsed = scopes::parse("openid *email transfer[*collection] transfer[other]")?;
//! assert_eq!(scopes::serialize(&parsed), "openid *email transfer[*collection other]");
//!
//! let transfer: Scope = "transfer[*collection other]".parse()?;
//! assert_eq!(transfer, parsed[2]);
//! assert!(transfer.dependencies()[0].is_optional());
//! # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
//! ```
//!
//! # Differences from the Python SDK (globus-sdk 4.10)
//!
//! The output is the same set of scopes for every string both accept, but:
//! - order is deterministic: first appearance in the string (Python's is
//!   set order);
//! - a top-level scope listed both optional and required (`a *a`) becomes one
//!   required scope (Python keeps both), the same rule both apply to
//!   dependencies;
//! - any Unicode whitespace separates scopes (Python splits on spaces only and
//!   keeps tabs or newlines inside names);
//! - a `*` inside a name (`foo*bar`) is an error (Python reads `foo *bar`);
//! - control characters in names are errors;
//! - nesting is limited to [`MAX_DEPTH`] levels and the expanded result to
//!   [`MAX_SCOPES`] scopes, so no input can exhaust the stack or memory
//!   (merging can otherwise expand a short string exponentially).
//!
//! # Common scopes
//!
//! Each service has a module with its resource server and scopes, as
//! `const` [`Scope`] values ([`auth`], [`transfer`], [`groups`], [`nexus`],
//! [`search`], [`timers`], [`flows`], [`compute`], [`gcs`]), and
//! [`resource_server_of`] tells which resource server a scope belongs to.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

mod error;
mod name;
mod parse;
mod resource_server;

pub mod auth;
pub mod compute;
pub mod flows;
pub mod gcs;
pub mod groups;
pub mod nexus;
pub mod search;
pub mod timers;
pub mod transfer;

#[cfg(test)]
mod tests;

pub use error::{ScopeParseError, ScopeParseErrorKind};
pub(crate) use name::uuid as name_uuid;
pub use resource_server::resource_server_of;

/// The deepest nesting [`parse`] accepts, counted in scopes along the longest
/// dependency chain after merging (`a` is 1 deep, `a[b[c]]` is 3 deep).
///
/// Real scope trees are a handful of levels deep; the limit keeps recursive
/// operations on parsed scopes (display, drop, comparison) far from the stack's
/// end. (The Python SDK's serializer already fails at 300 levels.)
pub const MAX_DEPTH: usize = 128;

/// The most scopes [`parse`] returns, counting every dependency at every level
/// once the merged graph is expanded into trees.
pub const MAX_SCOPES: usize = 10_000;

/// A Globus scope: a name, whether it is optional, and the scopes it depends on.
///
/// A scope's name is never empty and never contains whitespace, a control
/// character, `[`, `]` or `*`; every constructor checks this. The `Display`
/// form is the Globus scope-string syntax, `*name[dep1 dep2[...]]`, which
/// [`parse`] and [`FromStr`] read back.
///
/// An optional scope (Globus Auth calls it "atomically revocable") can be
/// declined or revoked without the scopes consented to with it.
///
/// Equality compares names, flags and dependencies in order. Scopes built by
/// hand are not merged: `a[b b]` stays as built until it is parsed or
/// [`merge`]d.
///
/// ```
/// use globus_app_core::scopes::{Scope, gcs, transfer};
///
/// let collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
/// let scope = transfer::ALL.with_dependency(gcs::data_access(collection)?.optional(true));
/// assert_eq!(
///     scope.to_string(),
///     "urn:globus:auth:scope:transfer.api.globus.org:all\
///      [*https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access]",
/// );
/// assert_eq!(scope.resource_server(), Some("transfer.api.globus.org"));
/// assert_eq!(scope.to_string().parse::<Scope>()?, scope);
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    name: Cow<'static, str>,
    optional: bool,
    dependencies: Vec<Scope>,
}

impl Scope {
    /// A required scope with no dependencies, after checking its name.
    ///
    /// `name` is a bare name: to read the scope-string syntax (`*`, `[...]`)
    /// use [`str::parse`] or [`parse`].
    ///
    /// # Errors
    /// [`ScopeParseErrorKind::EmptyName`] for an empty name,
    /// [`ScopeParseErrorKind::InvalidCharacter`] (with the byte offset) for
    /// whitespace, a control character, `[`, `]` or `*`.
    ///
    /// ```
    /// use globus_app_core::scopes::{Scope, ScopeParseErrorKind};
    ///
    /// assert_eq!(Scope::new("openid")?.name(), "openid");
    /// let err = Scope::new("open id").unwrap_err();
    /// assert_eq!((err.kind(), err.position()), (ScopeParseErrorKind::InvalidCharacter, 4));
    /// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Scope, ScopeParseError> {
        let name = name.into();
        name::validate(&name)?;
        Ok(Scope {
            name: Cow::Owned(name),
            optional: false,
            dependencies: Vec::new(),
        })
    }

    /// A required scope with no dependencies from a name known at compile
    /// time, without allocating; usable in `const` items.
    ///
    /// # Panics
    /// If `name` is not a valid scope name (see [`Scope::new`]); in a `const`
    /// item this is a compile-time error.
    ///
    /// ```
    /// use globus_app_core::scopes::Scope;
    ///
    /// const MY_SCOPE: Scope = Scope::from_static("https://auth.globus.org/scopes/my-api/all");
    /// assert_eq!(MY_SCOPE.resource_server(), Some("my-api"));
    /// ```
    pub const fn from_static(name: &'static str) -> Scope {
        assert!(
            !name.is_empty() && name::first_forbidden(name).is_none(),
            "Scope::from_static: invalid scope name (empty, or containing whitespace, \
             a control character, '[', ']' or '*')"
        );
        Scope {
            name: Cow::Borrowed(name),
            optional: false,
            dependencies: Vec::new(),
        }
    }

    /// The scope's name, without `*` or dependencies.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the scope is optional (written with a leading `*`).
    pub const fn is_optional(&self) -> bool {
        self.optional
    }

    /// The scopes this scope depends on, in order.
    pub fn dependencies(&self) -> &[Scope] {
        &self.dependencies
    }

    /// The resource server this scope belongs to, when its name tells it; see
    /// [`resource_server_of`].
    pub fn resource_server(&self) -> Option<&str> {
        resource_server_of(&self.name)
    }

    /// This scope, marked optional or required.
    #[must_use]
    pub const fn optional(mut self, optional: bool) -> Scope {
        self.optional = optional;
        self
    }

    /// This scope with `dependency` added after its current dependencies.
    #[must_use]
    pub fn with_dependency(mut self, dependency: Scope) -> Scope {
        self.dependencies.push(dependency);
        self
    }

    /// This scope with `dependencies` added after its current dependencies.
    #[must_use]
    pub fn with_dependencies(mut self, dependencies: impl IntoIterator<Item = Scope>) -> Scope {
        self.dependencies.extend(dependencies);
        self
    }
}

impl fmt::Display for Scope {
    /// Writes the scope-string form, `*name[dep1 dep2]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.optional {
            f.write_char('*')?;
        }
        f.write_str(&self.name)?;
        if let Some((first, rest)) = self.dependencies.split_first() {
            f.write_char('[')?;
            fmt::Display::fmt(first, f)?;
            for dependency in rest {
                f.write_char(' ')?;
                fmt::Display::fmt(dependency, f)?;
            }
            f.write_char(']')?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ScopeParseError;

    /// Parses a string holding exactly one top-level scope (with any
    /// dependencies), merging duplicates as [`parse`] does.
    ///
    /// # Errors
    /// Every error of [`parse`], plus [`ScopeParseErrorKind::EmptyName`] when
    /// the string holds no scope and [`ScopeParseErrorKind::MultipleScopes`]
    /// (at the second scope) when it holds several.
    fn from_str(s: &str) -> Result<Scope, ScopeParseError> {
        parse::parse_graph(s)?.into_scope()
    }
}

/// Parses a whitespace-separated scope string into its top-level scopes.
///
/// Duplicates are merged (see the [module docs](self)); the scopes come in
/// order of first appearance. An empty or all-whitespace string gives an
/// empty list. Never panics.
///
/// # Errors
/// A [`ScopeParseError`] naming the byte position of the first problem:
/// misplaced `*`, misplaced, empty, unmatched or unclosed brackets, a missing
/// separator after `]`, a control character, a dependency cycle, or a tree
/// beyond [`MAX_DEPTH`] or [`MAX_SCOPES`].
///
/// ```
/// use globus_app_core::scopes::{self, ScopeParseErrorKind};
///
/// let parsed = scopes::parse("a[b] c[a[d]]")?;
/// assert_eq!(scopes::serialize(&parsed), "a[b d] c[a[b d]]");
///
/// let err = scopes::parse("a[b] b[a]").unwrap_err();
/// assert_eq!((err.kind(), err.position(), err.found()), (ScopeParseErrorKind::Cycle, 7, "a"));
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
pub fn parse(scopes: &str) -> Result<Vec<Scope>, ScopeParseError> {
    Ok(parse::parse_graph(scopes)?.into_scopes())
}

/// Joins scopes (or scope strings) into one space-separated scope string, as
/// sent to Globus Auth. Nothing is parsed or merged; items that display as
/// empty are skipped.
///
/// ```
/// use globus_app_core::scopes::{self, auth};
///
/// assert_eq!(scopes::serialize([auth::OPENID, auth::EMAIL]), "openid email");
/// assert_eq!(scopes::serialize(["openid", "", "profile"]), "openid profile");
/// ```
pub fn serialize<I>(scopes: I) -> String
where
    I: IntoIterator,
    I::Item: fmt::Display,
{
    let mut out = String::new();
    for scope in scopes {
        let mark = out.len();
        if mark > 0 {
            out.push(' ');
        }
        let start = out.len();
        // writing to a String cannot fail
        let _ = write!(out, "{scope}");
        if out.len() == start {
            out.truncate(mark);
        }
    }
    out
}

/// Merges scopes (or scope strings) into one list, as if they were parsed
/// together: one node per name with the union of its dependencies.
///
/// ```
/// use globus_app_core::scopes::{self, Scope};
///
/// let a = Scope::new("a")?.with_dependency(Scope::new("b")?);
/// let merged = scopes::merge([a.to_string().as_str(), "a[*c]", "d"])?;
/// assert_eq!(scopes::serialize(&merged), "a[b *c] d");
/// # Ok::<(), globus_app_core::scopes::ScopeParseError>(())
/// ```
///
/// # Errors
/// As [`parse`] on `serialize(scopes)`, so positions are byte offsets into
/// that string: mostly [`ScopeParseErrorKind::Cycle`] when the inputs
/// together form a cycle, or a syntax error inside a string item.
pub fn merge<I>(scopes: I) -> Result<Vec<Scope>, ScopeParseError>
where
    I: IntoIterator,
    I::Item: fmt::Display,
{
    parse(&serialize(scopes))
}

/// `https://auth.globus.org/scopes/{id}/{short_name}` for a UUID `id`, which
/// is written in lower case.
fn url_scope(id: &str, short_name: &str) -> Result<Scope, ScopeParseError> {
    let id = name::uuid(id)?;
    Scope::new(format!("https://auth.globus.org/scopes/{id}/{short_name}"))
}
