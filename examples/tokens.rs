//! Lists what a token file holds, without showing a single token.
//!
//! ```sh
//! cargo run --example tokens -- list ~/.globus/app/CLIENT_ID/APP/tokens.json
//! cargo run --example tokens -- list tokens.db --namespace other-app
//! ```
//!
//! Works on JSON and SQLite token files written by globus-app or by the Python
//! globus-sdk (the format is chosen by the extension, else by the file's first bytes).
//! Prints one line per resource server of the namespace (`DEFAULT` unless
//! `--namespace` says otherwise): resource server, identity id, expiry (ISO 8601, UTC)
//! and whether it has passed, whether a refresh token is stored, and the scopes. The
//! file is opened for reading only.

use globus_app::core::UnixTime;
use globus_app::storage::{DEFAULT_NAMESPACE, JsonTokenStorage, StorageError, TokenStorage};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: tokens list PATH [--namespace NS]

Lists the token data in a JSON or SQLite token file, one line per resource server.
Never prints a token.";

/// The parsed command line.
struct Args {
    path: PathBuf,
    namespace: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    match args.next().as_deref() {
        Some("list") => {}
        Some("-h" | "--help") => return Err(String::new()),
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("missing command".to_owned()),
    }
    let mut path = None;
    let mut namespace = None;
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(String::new());
        } else if arg == "--namespace" {
            namespace = Some(args.next().ok_or("--namespace needs a value")?);
        } else if let Some(value) = arg.strip_prefix("--namespace=") {
            namespace = Some(value.to_owned());
        } else if arg.starts_with("--") {
            return Err(format!("unknown option {arg:?}"));
        } else if path.is_none() {
            path = Some(PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok(Args {
        path: path.ok_or("missing PATH")?,
        namespace: namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
    })
}

/// True if the file is a SQLite database: by extension, else by its header.
fn is_sqlite(path: &Path) -> Result<bool, StorageError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => return Ok(false),
        Some("db" | "sqlite" | "sqlite3") => return Ok(true),
        _ => {}
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read as _;
        let mut filled = 0;
        while filled < header.len() {
            match f.read(&mut header[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    });
    match read {
        Ok(n) => Ok(header[..n] == *b"SQLite format 3\0"),
        Err(source) => Err(io_error(path, source)),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> StorageError {
    StorageError::other(format!("cannot read {}: {source}", path.display()))
}

/// Opens the file for reading only; returns the storage and its namespaces.
fn open(path: &Path) -> Result<(Box<dyn TokenStorage>, Vec<String>), StorageError> {
    // Refuse a missing file rather than report it empty: it is likely a typo.
    std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if is_sqlite(path)? {
        #[cfg(feature = "sqlite")]
        {
            let storage = globus_app::storage::SqliteTokenStorage::open_read_only(path)?;
            let namespaces = storage.namespaces()?;
            return Ok((Box::new(storage), namespaces));
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(StorageError::other(
            "this build has no SQLite support: enable the `sqlite` feature",
        ));
    }
    let storage = JsonTokenStorage::new(path);
    let namespaces = storage.namespaces()?;
    Ok((Box::new(storage), namespaces))
}

/// Formats seconds since 1970 as ISO 8601 in UTC, e.g. `2023-11-14T22:13:20Z`.
fn iso8601(seconds: i64) -> String {
    globus_app::core::UnixTime(seconds).iso8601()
}

/// "expired 3d 2h ago" or "valid for 59m".
fn status(expires_at: i64, now: i64, expired: bool) -> String {
    let span = |seconds: i64| {
        let (d, h, m) = (
            seconds / 86_400,
            seconds % 86_400 / 3600,
            seconds % 3600 / 60,
        );
        match (d, h) {
            (0, 0) => format!("{m}m"),
            (0, _) => format!("{h}h {m}m"),
            _ => format!("{d}d {h}h"),
        }
    };
    if expired {
        format!("expired {} ago", span(now.saturating_sub(expires_at)))
    } else {
        format!("valid for {}", span(expires_at.saturating_sub(now)))
    }
}

fn list(args: &Args) -> Result<(), StorageError> {
    let (storage, namespaces) = open(&args.path)?;
    let tokens = storage.get_token_data_by_resource_server(&args.namespace)?;
    if tokens.is_empty() {
        eprintln!(
            "no token data in namespace {:?} of {}; its namespaces: {}",
            args.namespace,
            args.path.display(),
            if namespaces.is_empty() {
                "none".to_owned()
            } else {
                format!("{namespaces:?}")
            }
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    for (resource_server, token) in &tokens {
        let expired = token.is_expired(UnixTime(now));
        println!(
            "{resource_server}  identity={}  expires={} ({})  refresh_token={}  scopes={}",
            token.identity_id.as_deref().unwrap_or("-"),
            iso8601(token.expires_at_seconds),
            status(token.expires_at_seconds, now, expired),
            if token.refresh_token.is_some() {
                "yes"
            } else {
                "no"
            },
            token.scope,
        );
    }
    storage.close()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tokens: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match list(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tokens: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        // No panic at the extremes.
        let _ = iso8601(i64::MAX);
        let _ = iso8601(i64::MIN);
    }
}
