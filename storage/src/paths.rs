//! Where an app's token file lives by default, as in the Python SDK.
//!
//! `~/.globus/app/{client_id}/{app name slug}/{env-}tokens.{json|db}` on Unix and
//! `%LOCALAPPDATA%\globus\app\{client_id}\{app name slug}\{env-}tokens.{json|db}` on
//! Windows, where `{env-}` is empty for the `production` environment and e.g.
//! `sandbox-` otherwise. An app written in Python with the same client id, app name
//! and environment uses the same file.
//!
//! ```
//! use globus_app_storage::paths::{FileFormat, app_data_dir_in_home, token_file_path};
//! use std::path::Path;
//!
//! let base = app_data_dir_in_home(Path::new("/home/ada"));
//! let path = token_file_path(
//!     &base, "6d6e6b0c-0000-4000-8000-000000000000", "My Tool 2.0", "sandbox",
//!     FileFormat::Json,
//! )?;
//! # #[cfg(unix)]
//! assert_eq!(
//!     path,
//!     Path::new("/home/ada/.globus/app/6d6e6b0c-0000-4000-8000-000000000000/my-tool-2-0/sandbox-tokens.json")
//! );
//! # Ok::<(), globus_app_storage::StorageError>(())
//! ```

use crate::StorageError;
use std::path::{Path, PathBuf};

/// The kind of token file, which decides its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileFormat {
    /// A JSON file ([`JsonTokenStorage`](crate::JsonTokenStorage)), `tokens.json`.
    Json,
    /// A SQLite database (`SqliteTokenStorage`), `tokens.db`.
    Sqlite,
}

impl FileFormat {
    /// Returns the file name extension without the dot: `json` or `db`.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Sqlite => "db",
        }
    }
}

/// Turns an app name into a directory name the way the Python SDK does.
///
/// - the characters `<>:"/\|?*` become `+`;
/// - `.` and space become `-`;
/// - characters that are not printable are dropped: control and format characters,
///   separators other than the space, private-use characters;
/// - the result is lowercased.
///
/// An empty result, or one that Windows reserves (`con`, `prn`, `aux`, `nul`, `com`
/// or `lpt` followed by one digit), is an [`InvalidName`](StorageError::InvalidName)
/// error.
///
/// Two differences from Python, both in rare corners: Python also drops code points
/// its Unicode database has not assigned (which depends on the Python version), and
/// this function also rejects `com`/`lpt` followed by a non-decimal numeric character
/// such as `²` (which Windows reserves too).
///
/// ```
/// use globus_app_storage::paths::slugify_app_name;
/// assert_eq!(slugify_app_name("My App: v2.0").unwrap(), "my-app+-v2-0");
/// assert_eq!(slugify_app_name("a\0b").unwrap(), "ab");
/// assert!(slugify_app_name("COM1").is_err());
/// assert!(slugify_app_name("\n").is_err());
/// ```
pub fn slugify_app_name(app_name: &str) -> Result<String, StorageError> {
    let slug = app_name
        .chars()
        .filter_map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => Some('+'),
            '.' | ' ' => Some('-'),
            c if is_printable(c) => Some(c),
            _ => None,
        })
        .collect::<String>()
        .to_lowercase();
    let error = |reason: String| StorageError::InvalidName {
        what: "app name",
        value: app_name.to_owned(),
        reason,
    };
    if is_reserved(&slug) {
        return Err(error(format!(
            "it becomes {slug:?}, a file name Windows reserves for a device; \
             choose a different app name"
        )));
    }
    if slug.is_empty() {
        return Err(error(
            "nothing is left once the characters unusable in file names are removed; \
             choose a different app name"
                .to_owned(),
        ));
    }
    Ok(slug)
}

/// Python's `str.isprintable`: not a control, format, surrogate, private-use or
/// unassigned character, nor a separator other than the space. (Unassigned code points
/// are not known here and count as printable.)
fn is_printable(c: char) -> bool {
    // Format characters (Unicode category Cf), as of Unicode 14 (Python 3.11).
    const FORMAT: [(u32, u32); 21] = [
        (0xAD, 0xAD),
        (0x600, 0x605),
        (0x61C, 0x61C),
        (0x6DD, 0x6DD),
        (0x70F, 0x70F),
        (0x890, 0x891),
        (0x8E2, 0x8E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    // Private use (Co).
    const PRIVATE: [(u32, u32); 3] = [(0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD)];
    if c == ' ' {
        return true;
    }
    // White space minus the controls is exactly the separators (Zs, Zl, Zp).
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let cp = u32::from(c);
    !FORMAT
        .iter()
        .chain(PRIVATE.iter())
        .any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

/// `con|prn|aux|nul|com\d|lpt\d`, matching the whole slug.
fn is_reserved(slug: &str) -> bool {
    if matches!(slug, "con" | "prn" | "aux" | "nul") {
        return true;
    }
    let mut chars = slug.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let digit = chars.next();
    (prefix == "com" || prefix == "lpt")
        && digit.is_some_and(char::is_numeric)
        && chars.next().is_none()
}

/// Returns the directory that holds every app's token files for the current user:
/// `~/.globus/app` on Unix; on Windows `%LOCALAPPDATA%\globus\app` (else
/// `%APPDATA%\globus\app`, else `~\AppData\Local\globus\app`).
///
/// The home directory comes from `HOME` (else the password database) on Unix.
pub fn app_data_dir() -> Result<PathBuf, StorageError> {
    #[cfg(windows)]
    for var in ["LOCALAPPDATA", "APPDATA"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("globus").join("app"));
        }
    }
    match std::env::home_dir() {
        Some(home) if !home.as_os_str().is_empty() => Ok(app_data_dir_in_home(&home)),
        _ => Err(StorageError::NoHomeDirectory {
            reason: if cfg!(windows) {
                "LOCALAPPDATA, APPDATA and USERPROFILE are not set"
            } else {
                "HOME is not set and the user has no home directory in the password database"
            },
        }),
    }
}

/// Returns what [`app_data_dir`] returns for a user whose home directory is `home`
/// (on Windows, when `LOCALAPPDATA` and `APPDATA` are not set).
pub fn app_data_dir_in_home(home: &Path) -> PathBuf {
    if cfg!(windows) {
        home.join("AppData")
            .join("Local")
            .join("globus")
            .join("app")
    } else {
        home.join(".globus").join("app")
    }
}

/// Returns the token file path of an app under `app_data_dir`:
/// `{app_data_dir}/{client_id}/{slug}/{env-}tokens.{ext}`, where `slug` is
/// [`slugify_app_name`]`(app_name)` and `{env-}` is empty for `production`.
///
/// The client id and environment must be usable as path components (not empty, no
/// `/`, `\` or NUL, not `.` or `..`).
pub fn token_file_path(
    app_data_dir: &Path,
    client_id: &str,
    app_name: &str,
    environment: &str,
    format: FileFormat,
) -> Result<PathBuf, StorageError> {
    check_component("client id", client_id)?;
    check_component("environment", environment)?;
    let slug = slugify_app_name(app_name)?;
    let file_name = if environment == "production" {
        format!("tokens.{}", format.extension())
    } else {
        format!("{environment}-tokens.{}", format.extension())
    };
    Ok(app_data_dir.join(client_id).join(slug).join(file_name))
}

/// Returns the default token file path of an app for the current user, as the Python
/// SDK's `GlobusApp` computes it: [`token_file_path`] under [`app_data_dir`].
pub fn default_token_file_path(
    client_id: &str,
    app_name: &str,
    environment: &str,
    format: FileFormat,
) -> Result<PathBuf, StorageError> {
    token_file_path(&app_data_dir()?, client_id, app_name, environment, format)
}

fn check_component(what: &'static str, value: &str) -> Result<(), StorageError> {
    let reason = if value.is_empty() {
        "it is empty"
    } else if value == "." || value == ".." {
        "it is a relative directory name"
    } else if value.contains(['/', '\\', '\0']) {
        "it contains a path separator or NUL"
    } else {
        return Ok(());
    };
    Err(StorageError::InvalidName {
        what,
        value: value.to_owned(),
        reason: format!("{reason}; check the app's configuration"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_python() {
        // The examples of the Python docstring, and more.
        let cases = [
            ("a?", "a+"),
            ("a. b", "a--b"),
            ("a\0b", "ab"),
            ("AB", "ab"),
            ("<>:\"/\\|?*", "+++++++++"),
            ("con.txt", "con-txt"),
            ("com10", "com10"),
            ("Ünïcödé Straße", "ünïcödé-straße"),
            ("tab\there", "tabhere"),
            ("nb\u{a0}sp", "nbsp"),
            ("zero\u{200b}width", "zerowidth"),
            ("private\u{e000}use", "privateuse"),
            ("ΣΑΣ", "σας"),
        ];
        for (name, slug) in cases {
            assert_eq!(slugify_app_name(name).expect(name), slug, "{name:?}");
        }
    }

    #[test]
    fn reserved_and_empty_names_are_errors() {
        for name in [
            "con",
            "PRN",
            "Aux",
            "nul",
            "COM1",
            "lpt9",
            "com\u{661}",
            "",
            "\n\t",
            "\u{200b}",
        ] {
            let err = slugify_app_name(name).expect_err(name);
            assert!(
                matches!(
                    err,
                    StorageError::InvalidName {
                        what: "app name",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(
                err.to_string().contains("choose a different app name"),
                "{err}"
            );
        }
    }

    #[test]
    fn paths() {
        let base = Path::new("base");
        let p = token_file_path(base, "cid", "App", "production", FileFormat::Sqlite).expect("ok");
        assert_eq!(p, base.join("cid").join("app").join("tokens.db"));
        let p = token_file_path(base, "cid", "App", "sandbox", FileFormat::Json).expect("ok");
        assert_eq!(p, base.join("cid").join("app").join("sandbox-tokens.json"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0"] {
            assert!(token_file_path(base, bad, "App", "production", FileFormat::Json).is_err());
            assert!(token_file_path(base, "cid", "App", bad, FileFormat::Json).is_err());
        }
    }

    #[cfg(unix)]
    #[test]
    fn home() {
        assert_eq!(
            app_data_dir_in_home(Path::new("/h")),
            Path::new("/h/.globus/app")
        );
    }
}
