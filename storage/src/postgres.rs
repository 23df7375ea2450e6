//! [`PostgresTokenStorage`]: token data in PostgreSQL, shared by every process and
//! host that reaches the database, with leases (feature `postgres`).
//!
//! # Tables
//!
//! Created on first use, in the schema of the URL's `?schema=` (default `public`),
//! under a transaction-scoped advisory lock so that processes starting at once do not
//! race; never dropped:
//!
//! ```sql
//! CREATE TABLE globus_app_tokens (
//!     namespace TEXT NOT NULL,
//!     resource_server TEXT NOT NULL,
//!     token_data JSON NOT NULL,           -- the fields of the reference's token files
//!     PRIMARY KEY (namespace, resource_server)
//! );
//! CREATE TABLE globus_app_leases (
//!     namespace TEXT PRIMARY KEY,
//!     owner TEXT, expires_at TIMESTAMPTZ, -- the holder, on the server's clock
//!     issued BIGINT NOT NULL,             -- the last fence given out
//!     written BIGINT NOT NULL             -- the fence of the last fenced write
//! );
//! CREATE TABLE globus_app_schema (version INTEGER NOT NULL);  -- 1
//! ```
//!
//! The token data is a `json` column, not `jsonb`: `jsonb` cannot hold the NUL
//! character that a string in the reference's token files can carry, while `json`
//! keeps the exact text (and is queried with the same operators).
//!
//! A lease is a compare-and-set of its row against `now()` in one statement; a fenced
//! write locks the row (`FOR UPDATE`) and writes the tokens in the same transaction.
//! This works behind connection poolers (no session state).
//!
//! # URLs
//!
//! `postgres://[user[:password]@]host[:port]/database[?schema=…&sslmode=…]` (also
//! `postgresql://`). `sslmode=require` (or `verify-full`) connects over TLS with
//! rustls (ring, Mozilla's roots); the default is plain TCP, for a local server. The
//! password never shows in `Debug`, `Display` or an error. The `postgres` crate runs
//! a small tokio runtime inside each connection: this feature is what brings tokio
//! into a blocking build.

use crate::lease::{Fence, LeaseOutcome, LeaseStorage};
use crate::server::{lenient, redact, server_error, strict};
use crate::token::token_to_value;
use crate::{LoadedNamespace, StorageError, TokenData, TokenStorage};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The schema version this crate writes and reads.
const SCHEMA_VERSION: i32 = 1;

/// The advisory lock key of the first-use DDL (any fixed number; "globusap").
const DDL_LOCK: i64 = 0x676c_6f62_7573_6170;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Token data in PostgreSQL (see the [module documentation](self)).
///
/// ```no_run
/// use globus_app_storage::{PostgresTokenStorage, TokenStorage};
/// let storage = PostgresTokenStorage::open("postgres://app@db.example.org/tokens?schema=my_service&sslmode=require")?;
/// let tokens = storage.get_token_data_by_resource_server("DEFAULT")?;
/// # Ok::<(), globus_app_storage::StorageError>(())
/// ```
pub struct PostgresTokenStorage {
    config: postgres::Config,
    tls: Option<Arc<rustls::ClientConfig>>,
    schema: String,
    client: Mutex<Client>,
    shown: String,
}

enum Client {
    None,
    Open(Box<postgres::Client>),
    Closed,
}

impl PostgresTokenStorage {
    /// Opens a storage on the database at `url` (nothing is sent until the first
    /// operation, which creates the tables if needed).
    ///
    /// # Errors
    /// [`StorageError::Server`] for a URL that does not parse, or a `schema` that is
    /// not a plain identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub fn open(url: &str) -> Result<PostgresTokenStorage, StorageError> {
        let shown = redact(url, "PostgreSQL");
        let mut parsed =
            url::Url::parse(url).map_err(|e| server_error(&shown, "parse the URL", &e))?;
        let mut schema = "public".to_owned();
        let mut tls = false;
        let mut kept = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "schema" => schema = value.into_owned(),
                "sslmode" => {
                    tls = matches!(value.as_ref(), "require" | "verify-ca" | "verify-full");
                    kept.push((key.into_owned(), value.into_owned()));
                }
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        if !valid_identifier(&schema) {
            return Err(server_error(
                &shown,
                "use the URL",
                &format!(
                    "the schema {schema:?} is not a plain identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
                ),
            ));
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        let mut config: postgres::Config = parsed
            .as_str()
            .parse()
            .map_err(|e| server_error(&shown, "use the URL", &e))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        let tls = if tls {
            Some(Arc::new(tls_config(&shown)?))
        } else {
            None
        };
        Ok(PostgresTokenStorage {
            config,
            tls,
            schema,
            client: Mutex::new(Client::None),
            shown,
        })
    }

    /// Returns the schema of the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn table(&self, name: &str) -> String {
        format!("\"{}\".{name}", self.schema)
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connect(&self) -> Result<postgres::Client, StorageError> {
        let mut client = match &self.tls {
            Some(config) => self
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                    (**config).clone(),
                )),
            None => self.config.connect(postgres::NoTls),
        }
        .map_err(|e| server_error(&self.shown, "connect to", &pg_error(&e)))?;
        self.create_tables(&mut client)?;
        Ok(client)
    }

    /// Creates the tables if needed, under an advisory lock held by the transaction,
    /// and checks the schema version.
    fn create_tables(&self, client: &mut postgres::Client) -> Result<(), StorageError> {
        let sql =
            |e: postgres::Error| server_error(&self.shown, "create the tables of", &pg_error(&e));
        let mut transaction = client.transaction().map_err(sql)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&DDL_LOCK])
            .map_err(sql)?;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
                 CREATE TABLE IF NOT EXISTS {tokens} (
                     namespace TEXT NOT NULL,
                     resource_server TEXT NOT NULL,
                     token_data JSON NOT NULL,
                     PRIMARY KEY (namespace, resource_server));
                 CREATE TABLE IF NOT EXISTS {leases} (
                     namespace TEXT PRIMARY KEY,
                     owner TEXT,
                     expires_at TIMESTAMPTZ,
                     issued BIGINT NOT NULL,
                     written BIGINT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {version} (version INTEGER NOT NULL);",
                schema = self.schema,
                tokens = self.table("globus_app_tokens"),
                leases = self.table("globus_app_leases"),
                version = self.table("globus_app_schema"),
            ))
            .map_err(sql)?;
        let version_table = self.table("globus_app_schema");
        let rows = transaction
            .query(&format!("SELECT version FROM {version_table}"), &[])
            .map_err(sql)?;
        match rows.first().map(|row| row.get::<_, i32>(0)) {
            None => {
                transaction
                    .execute(
                        &format!("INSERT INTO {version_table}(version) VALUES ($1)"),
                        &[&SCHEMA_VERSION],
                    )
                    .map_err(sql)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(server_error(
                    &self.shown,
                    "use",
                    &format!(
                        "its tables have schema version {other}, this version of globus-app knows {SCHEMA_VERSION}"
                    ),
                ));
            }
        }
        transaction.commit().map_err(sql)
    }

    /// Runs `f` on the connection, connecting first if needed; a broken connection is
    /// dropped, so the next call connects again.
    fn with<R>(
        &self,
        action: &'static str,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, postgres::Error>,
    ) -> Result<R, StorageError> {
        let mut guard = self.lock();
        if matches!(*guard, Client::Closed) {
            return Err(StorageError::Closed { path: None });
        }
        if matches!(*guard, Client::None) {
            *guard = Client::Open(Box::new(self.connect()?));
        }
        let Client::Open(client) = &mut *guard else {
            return Err(StorageError::Closed { path: None });
        };
        let result = f(client);
        if client.is_closed() {
            *guard = Client::None;
        }
        result.map_err(|e| server_error(&self.shown, action, &pg_error(&e)))
    }

    fn read_all(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let table = self.table("globus_app_tokens");
        self.with("read tokens from", |client| {
            let rows = client.query(
                &format!(
                    "SELECT resource_server, token_data::text FROM {table} WHERE namespace = $1"
                ),
                &[&namespace],
            )?;
            Ok(rows
                .iter()
                .map(|row| (row.get(0), row.get::<_, String>(1).into_bytes()))
                .collect())
        })
    }

    fn upsert(
        transaction: &mut postgres::Transaction<'_>,
        table: &str,
        namespace: &str,
        tokens: &[TokenData],
    ) -> Result<(), postgres::Error> {
        let statement = transaction.prepare(&format!(
            "INSERT INTO {table}(namespace, resource_server, token_data) VALUES ($1, $2, $3::text::json)
             ON CONFLICT (namespace, resource_server) DO UPDATE SET token_data = EXCLUDED.token_data"
        ))?;
        for token in tokens {
            let json = token_to_value(token).to_string();
            transaction.execute(&statement, &[&namespace, &token.resource_server, &json])?;
        }
        Ok(())
    }
}

/// TLS with rustls, the ring provider and Mozilla's roots.
fn tls_config(shown: &str) -> Result<rustls::ClientConfig, StorageError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| server_error(shown, "set up TLS for", &e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A schema name that can go into DDL as a quoted identifier, as is.
fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A PostgreSQL error's primary message (its detail can quote a value, so it is left
/// out), or the client's.
fn pg_error(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

impl fmt::Debug for PostgresTokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTokenStorage")
            .field("server", &self.shown)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl TokenStorage for PostgresTokenStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let table = self.table("globus_app_tokens");
        self.with("store tokens in", |client| {
            let mut transaction = client.transaction()?;
            Self::upsert(&mut transaction, &table, namespace, tokens)?;
            transaction.commit()
        })
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

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        let table = self.table("globus_app_tokens");
        let removed = self.with("remove tokens from", |client| {
            client.execute(
                &format!("DELETE FROM {table} WHERE namespace = $1 AND resource_server = $2"),
                &[&namespace, &resource_server],
            )
        })?;
        Ok(removed > 0)
    }

    fn close(&self) -> Result<(), StorageError> {
        *self.lock() = Client::Closed;
        Ok(())
    }

    fn leases(&self) -> Option<&dyn LeaseStorage> {
        Some(self)
    }
}

impl LeaseStorage for PostgresTokenStorage {
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError> {
        let table = self.table("globus_app_leases");
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        self.with("take the lease on", |client| {
            // One statement: take it if free, expired or ours, on the server's clock.
            let taken = client.query_opt(
                &format!(
                    "INSERT INTO {table} AS l (namespace, owner, expires_at, issued, written)
                     VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1, 0)
                     ON CONFLICT (namespace) DO UPDATE
                       SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
                           issued = l.issued + 1
                       WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= now()
                     RETURNING issued"
                ),
                &[&namespace, &owner, &(ttl_ms as f64)],
            )?;
            if let Some(row) = taken {
                let fence: i64 = row.get(0);
                return Ok(LeaseOutcome::Acquired(Fence(
                    u64::try_from(fence).unwrap_or(0),
                )));
            }
            let row = client.query_one(
                &format!(
                    "SELECT GREATEST(0, (EXTRACT(EPOCH FROM (expires_at - now())) * 1000))::bigint
                     FROM {table} WHERE namespace = $1"
                ),
                &[&namespace],
            )?;
            let remaining: i64 = row.get(0);
            Ok(LeaseOutcome::Busy {
                remaining: Duration::from_millis(u64::try_from(remaining).unwrap_or(0)),
            })
        })
    }

    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError> {
        let table = self.table("globus_app_leases");
        self.with("release the lease on", |client| {
            client
                .execute(
                    &format!(
                        "UPDATE {table} SET owner = NULL, expires_at = NULL
                         WHERE namespace = $1 AND owner = $2"
                    ),
                    &[&namespace, &owner],
                )
                .map(|_| ())
        })
    }

    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError> {
        let (leases, tokens_table) = (
            self.table("globus_app_leases"),
            self.table("globus_app_tokens"),
        );
        let fence_value = i64::try_from(fence.0).unwrap_or(i64::MAX);
        let refused = self.with("store tokens in", |client| {
            let mut transaction = client.transaction()?;
            transaction.execute(
                &format!(
                    "INSERT INTO {leases}(namespace, issued, written) VALUES ($1, 0, 0)
                     ON CONFLICT (namespace) DO NOTHING"
                ),
                &[&namespace],
            )?;
            let written: i64 = transaction
                .query_one(
                    &format!("SELECT written FROM {leases} WHERE namespace = $1 FOR UPDATE"),
                    &[&namespace],
                )?
                .get(0);
            if fence_value < written {
                transaction.rollback()?;
                return Ok(Some(written));
            }
            transaction.execute(
                &format!("UPDATE {leases} SET written = $2 WHERE namespace = $1"),
                &[&namespace, &fence_value],
            )?;
            Self::upsert(&mut transaction, &tokens_table, namespace, tokens)?;
            transaction.commit()?;
            Ok(None)
        })?;
        match refused {
            None => Ok(()),
            Some(written) => Err(StorageError::Fenced {
                fence: fence.0,
                written: u64::try_from(written).unwrap_or(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_their_password_and_schemas_are_checked() {
        let storage =
            PostgresTokenStorage::open("postgres://app:s3cret@127.0.0.1:1/db?schema=svc_a")
                .unwrap();
        assert_eq!(storage.schema(), "svc_a");
        let shown = format!("{storage:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("***"),
            "{shown}"
        );
        let error = storage
            .get_token_data("DEFAULT", "x")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
        for bad in ["Public", "a-b", "x;drop", "\"q\"", "", "1abc"] {
            let url = format!(
                "postgres://127.0.0.1/db?schema={}",
                url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
            );
            assert!(PostgresTokenStorage::open(&url).is_err(), "{bad}");
        }
        assert_eq!(
            PostgresTokenStorage::open("postgresql://127.0.0.1/db")
                .unwrap()
                .schema(),
            "public"
        );
    }
}
