//! [`RedisTokenStorage`]: token data in Redis, shared by every process and host that
//! reaches the server, with leases (feature `redis`).
//!
//! # Key layout
//!
//! Under a prefix (default `globus-app`, settable with `?prefix=` in the URL or
//! [`RedisTokenStorage::with_prefix`]), per namespace:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}:{namespace}:tokens` | hash | resource server → the token data as JSON, the fields of the reference's token files |
//! | `{prefix}:{namespace}:lease` | string, with a time to live (`PX`) | the lease holder's owner id |
//! | `{prefix}:{namespace}:fence` | integer | the last fence given out (`INCR`) |
//! | `{prefix}:{namespace}:written` | integer | the fence of the last fenced write accepted |
//!
//! A lease is taken with `SET … PX` after checking the holder, and released and
//! written under a fence by Lua scripts, so every step is atomic on the server. The
//! time to live runs on the server's clock. One primary, not Redlock: a fencing check
//! on the primary is what keeps a late writer out.
//!
//! # URLs
//!
//! `redis://[user:password@]host[:port][/db][?prefix=…]`, `rediss://…` (TLS through
//! rustls with the ring provider, the operating system's and Mozilla's roots, or the
//! CA certificate of `?ca=/path/to/ca.pem`) and `redis+unix:///path/to/socket[?db=…]`. The password never shows in `Debug`,
//! `Display` or an error.

use crate::lease::{Fence, LeaseOutcome, LeaseStorage};
use crate::server::{entry_error, lenient, redact, server_error, strict};
use crate::token::{read_token_json_text, token_to_value};
use crate::{LoadedNamespace, StorageError, TokenData, TokenStorage};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The key prefix when the URL gives none.
pub const DEFAULT_PREFIX: &str = "globus-app";

/// How long a connection attempt or a command may take.
const TIMEOUT: Duration = Duration::from_secs(5);

const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('INCR', KEYS[2])}
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
";

const FENCED_WRITE: &str = r"
local written = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < written then
  return {0, written}
end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return {1, written}
";

/// Token data in Redis (see the [module documentation](self) for the keys, the URLs
/// and how leases work).
///
/// ```no_run
/// use globus_app_storage::{RedisTokenStorage, TokenStorage};
/// let storage = RedisTokenStorage::open("redis://127.0.0.1:6379/0?prefix=my-service")?;
/// let tokens = storage.get_token_data_by_resource_server("DEFAULT")?;
/// # Ok::<(), globus_app_storage::StorageError>(())
/// ```
pub struct RedisTokenStorage {
    client: redis::Client,
    /// The connection, made on first use and again after a failure; `Closed` after
    /// `close`.
    connection: Mutex<Connection>,
    prefix: String,
    /// The URL without its password, for messages.
    shown: String,
}

enum Connection {
    None,
    Open(Box<redis::Connection>),
    Closed,
}

impl RedisTokenStorage {
    /// Opens a storage on the server at `url` (nothing is sent until the first
    /// operation). A `prefix` query parameter sets the key prefix.
    ///
    /// # Errors
    /// [`StorageError::Server`] for a URL the client cannot use.
    pub fn open(url: &str) -> Result<RedisTokenStorage, StorageError> {
        let shown = redact(url, "Redis");
        let mut parsed =
            url::Url::parse(url).map_err(|e| server_error(&shown, "parse the URL", &e))?;
        let find = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let prefix = find("prefix").unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        let ca = find("ca");
        // The client knows neither `prefix` nor `ca`; it keeps the other parameters
        // (`db` of a Unix socket).
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| k != "prefix" && k != "ca")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        let client = match ca {
            None => redis::Client::open(parsed.as_str()),
            Some(path) => {
                let pem = std::fs::read(&path)
                    .map_err(|e| StorageError::io(&path, "read the CA certificate", e))?;
                redis::Client::build_with_tls(
                    parsed.as_str(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
        }
        .map_err(|e| server_error(&shown, "use the URL", &e))?;
        Ok(RedisTokenStorage {
            client,
            connection: Mutex::new(Connection::None),
            prefix,
            shown,
        })
    }

    /// Uses `prefix` for the keys instead of the URL's (or the default).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisTokenStorage {
        self.prefix = prefix.into();
        self
    }

    /// Returns the key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, namespace: &str, what: &str) -> String {
        format!("{}:{namespace}:{what}", self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the connection, connecting first if needed; a failed connection
    /// is dropped, so the next call connects again.
    fn with<R>(
        &self,
        action: &'static str,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<R>,
    ) -> Result<R, StorageError> {
        let mut guard = self.lock();
        if matches!(*guard, Connection::Closed) {
            return Err(StorageError::Closed { path: None });
        }
        if matches!(*guard, Connection::None) {
            let connection = self
                .client
                .get_connection_with_timeout(TIMEOUT)
                .map_err(|e| server_error(&self.shown, "connect to", &e))?;
            let _ = connection.set_read_timeout(Some(TIMEOUT));
            let _ = connection.set_write_timeout(Some(TIMEOUT));
            *guard = Connection::Open(Box::new(connection));
        }
        let Connection::Open(connection) = &mut *guard else {
            return Err(StorageError::Closed { path: None });
        };
        match f(connection) {
            Ok(value) => Ok(value),
            Err(e) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *guard = Connection::None;
                }
                Err(server_error(&self.shown, action, &e))
            }
        }
    }

    fn read_all(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let key = self.key(namespace, "tokens");
        self.with("read tokens from", |c| {
            redis::cmd("HGETALL")
                .arg(&key)
                .query::<Vec<(String, Vec<u8>)>>(c)
        })
    }
}

impl fmt::Debug for RedisTokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStorage")
            .field("server", &self.shown)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl TokenStorage for RedisTokenStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let key = self.key(namespace, "tokens");
        let mut command = redis::cmd("HSET");
        command.arg(&key);
        for token in tokens {
            command
                .arg(&token.resource_server)
                .arg(token_to_value(token).to_string());
        }
        self.with("store tokens in", |c| command.query::<()>(c))
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        strict(&self.shown, namespace, self.read_all(namespace)?)
    }

    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        Ok(lenient(namespace, self.read_all(namespace)?))
    }

    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        let key = self.key(namespace, "tokens");
        let json = self.with("read tokens from", |c| {
            redis::cmd("HGET")
                .arg(&key)
                .arg(resource_server)
                .query::<Option<Vec<u8>>>(c)
        })?;
        json.map(|json| {
            read_token_json_text(&json)
                .map_err(|problem| entry_error(&self.shown, namespace, resource_server, &problem))
        })
        .transpose()
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        let key = self.key(namespace, "tokens");
        let removed = self.with("remove tokens from", |c| {
            redis::cmd("HDEL")
                .arg(&key)
                .arg(resource_server)
                .query::<u64>(c)
        })?;
        Ok(removed > 0)
    }

    fn close(&self) -> Result<(), StorageError> {
        *self.lock() = Connection::Closed;
        Ok(())
    }

    fn leases(&self) -> Option<&dyn LeaseStorage> {
        Some(self)
    }
}

impl LeaseStorage for RedisTokenStorage {
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError> {
        let script = redis::Script::new(ACQUIRE);
        let (lease, fence) = (self.key(namespace, "lease"), self.key(namespace, "fence"));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let (taken, value): (i64, i64) = self.with("take the lease on", |c| {
            script
                .key(&lease)
                .key(&fence)
                .arg(owner)
                .arg(ttl_ms)
                .invoke(c)
        })?;
        Ok(if taken == 1 {
            LeaseOutcome::Acquired(Fence(u64::try_from(value).unwrap_or(0)))
        } else {
            LeaseOutcome::Busy {
                remaining: Duration::from_millis(u64::try_from(value).unwrap_or(0)),
            }
        })
    }

    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError> {
        let script = redis::Script::new(RELEASE);
        let lease = self.key(namespace, "lease");
        self.with("release the lease on", |c| {
            script.key(&lease).arg(owner).invoke::<i64>(c).map(|_| ())
        })
    }

    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError> {
        let script = redis::Script::new(FENCED_WRITE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key(namespace, "written"))
            .key(self.key(namespace, "tokens"))
            .arg(fence.0);
        for token in tokens {
            invocation
                .arg(&token.resource_server)
                .arg(token_to_value(token).to_string());
        }
        let (accepted, written): (i64, i64) =
            self.with("store tokens in", |c| invocation.invoke(c))?;
        if accepted == 1 {
            Ok(())
        } else {
            Err(StorageError::Fenced {
                fence: fence.0,
                written: u64::try_from(written).unwrap_or(0),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_their_password_and_keep_the_prefix_apart() {
        let storage =
            RedisTokenStorage::open("redis://app:s3cret@127.0.0.1:6390/2?prefix=svc-a").unwrap();
        assert_eq!(storage.prefix(), "svc-a");
        let shown = format!("{storage:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("***"),
            "{shown}"
        );
        let error = storage
            .get_token_data("DEFAULT", "x")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("s3cret") && error.contains("127.0.0.1:6390"),
            "{error}"
        );
        assert_eq!(
            RedisTokenStorage::open("redis://127.0.0.1/")
                .unwrap()
                .prefix(),
            DEFAULT_PREFIX
        );
        assert!(RedisTokenStorage::open("not a url").is_err());
        assert!(RedisTokenStorage::open("http://127.0.0.1/").is_err());
    }
}
