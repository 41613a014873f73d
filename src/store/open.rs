//! Opening a store: reading its URL, connecting (one pool per process), switching a SQLite
//! file to WAL, and bringing the schema up to date.

use super::error::{self, redact_parts};
use super::{Backend, Store, StoreError, migrations, redact_url, sql};
use crate::secret::Redactor;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Connections per process on SQLite: one. SQLite has one writer at a time anyway, and with
/// several connections a thousand delivery workers contend through SQLite's busy handler,
/// which sleeps in steps of up to 100 ms; one connection queues them fairly in the pool
/// instead (fan-out throughput went from 850 to the figure in BENCHMARKS.md).
const SQLITE_MAX_CONNECTIONS: u32 = 1;
/// Connections per replica on PostgreSQL.
const PG_MAX_CONNECTIONS: u32 = 8;
/// How long a caller waits for a free connection (or, on SQLite, for the file's write lock,
/// via `busy_timeout` in `sql::SQLITE_CONNECTION_SETUP`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long opening a PostgreSQL store waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a store URL points at.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    Sqlite(PathBuf),
    /// The URL as given, less surrounding whitespace.
    Postgres(String),
}

impl Store {
    /// Opens the database and brings its schema up to date.
    ///
    /// - `sqlite://data/weekbell.db` or `sqlite:data/weekbell.db`: a file, relative to the
    ///   current directory (`sqlite:///var/lib/weekbell/state.db` for an absolute path). Missing
    ///   parent directories are created, and the file is switched to WAL mode.
    /// - `postgres://user:password@host:5432/database` (or `postgresql://`): any PostgreSQL
    ///   parameters sqlx accepts may follow, e.g. `?sslmode=require`.
    ///
    /// `sqlite::memory:` is refused: an in-memory SQLite database lives inside one connection,
    /// so the pool's other connections would each see a different, empty database, and every
    /// claimed slot and queued message would vanish when the process exits — the very things
    /// the store exists to remember. Tests use a file in a temporary directory.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let store = match parse_target(url)? {
            Target::Sqlite(path) => open_sqlite(&path).await?,
            Target::Postgres(url) => open_postgres(&url).await?,
        };
        migrations::run(&store).await?;
        tracing::info!(backend = %store.backend, store = %store.location, "store open");
        Ok(store)
    }

    /// Like [`Store::open`], but `None` for a SQLite file that does not exist yet: read-only
    /// commands (`tasks`, `preview`, `export`) should not create a database as a side effect.
    pub async fn open_existing(url: &str) -> Result<Option<Store>, StoreError> {
        if let Target::Sqlite(path) = parse_target(url)?
            && !path.exists()
        {
            return Ok(None);
        }
        Store::open(url).await.map(Some)
    }
}

const MEMORY_REFUSED: &str = "an in-memory SQLite database lives inside one connection, so the \
     pool's other connections would each see a different, empty database, and every claimed slot \
     and queued message would vanish when weekbell exits — use a file, e.g. \
     sqlite://data/weekbell.db";

pub(super) fn parse_target(url: &str) -> Result<Target, StoreError> {
    let unsupported = |reason: &str| StoreError::UnsupportedUrl {
        url: redact_url(url),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok(Target::Postgres(trimmed.to_owned()));
    }
    let rest = if lower.starts_with("sqlite://") {
        &trimmed["sqlite://".len()..]
    } else if lower.starts_with("sqlite:") {
        &trimmed["sqlite:".len()..]
    } else {
        return Err(unsupported(
            "expected sqlite://PATH (for example sqlite://data/weekbell.db) or \
             postgres://USER:PASSWORD@HOST:PORT/DATABASE",
        ));
    };
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    if path == ":memory:"
        || path.starts_with("file::memory:")
        || params.is_some_and(|p| p.contains("mode=memory"))
    {
        return Err(unsupported(MEMORY_REFUSED));
    }
    if params.is_some() {
        return Err(unsupported(
            "weekbell sets the SQLite options itself (WAL, busy timeout, create if missing); \
             remove the `?…` part",
        ));
    }
    if path.is_empty() {
        return Err(unsupported(
            "no file path; write e.g. sqlite://data/weekbell.db",
        ));
    }
    Ok(Target::Sqlite(PathBuf::from(
        error::percent_decode(path).into_owned(),
    )))
}

async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
    let shown = path.display().to_string();
    let Some(file_name) = path.file_name() else {
        return Err(StoreError::UnsupportedUrl {
            url: format!("sqlite://{shown}"),
            reason: "the path names a directory, not a file; write e.g. \
                     sqlite://data/weekbell.db"
                .to_owned(),
        });
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir_error = |e: std::io::Error| StoreError::CreateDir {
        dir: dir.display().to_string(),
        detail: e.to_string(),
    };
    tokio::fs::create_dir_all(&dir).await.map_err(dir_error)?;
    let dir = tokio::fs::canonicalize(&dir).await.map_err(dir_error)?;
    let absolute = dir.join(file_name);
    let Some(absolute_text) = absolute.to_str() else {
        return Err(StoreError::UnsupportedUrl {
            url: format!("sqlite://{shown}"),
            reason: "the path is not valid UTF-8; choose a path without such characters".to_owned(),
        });
    };
    let open_error = |e: sqlx::Error| StoreError::OpenSqlite {
        path: shown.clone(),
        detail: e.to_string(),
    };
    let connect_url = format!("sqlite://{}?mode=rwc", percent_encode_path(absolute_text));
    let pool = AnyPoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(sql::SQLITE_CONNECTION_SETUP)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(&connect_url)
        .await
        .map_err(open_error)?;
    enable_wal(&pool).await.map_err(open_error)?;
    Ok(Store {
        pool,
        backend: Backend::Sqlite,
        location: Arc::from(shown.as_str()),
        secrets: Arc::from(Vec::new()),
    })
}

/// Switches the file to WAL once; the mode is stored in the file, so later opens find it set.
/// Changing the mode needs a lock that `busy_timeout` does not wait for, so when another
/// process opens the same new file at the same moment, wait a little and look again.
async fn enable_wal(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let mut tries = 0;
    loop {
        let mode: String = sqlx::query_scalar(sql::SQLITE_JOURNAL_MODE)
            .fetch_one(pool)
            .await?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match sqlx::raw_sql(sql::SQLITE_SET_WAL).execute(pool).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(_)) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn open_postgres(url: &str) -> Result<Store, StoreError> {
    let (shown, secrets) = redact_parts(url);
    let connect_error = |detail: String| StoreError::ConnectPostgres {
        url: shown.clone(),
        detail: Redactor::of(&secrets).text(&detail),
    };
    // One plain connection first: the pool retries a refused connection until its acquire
    // timeout and then reports only "pool timed out", which hides the cause.
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
        Err(_) => {
            return Err(connect_error(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(connect_error(e.to_string())),
        Ok(Ok(conn)) => {
            // Only a probe; a failure to say goodbye politely does not matter.
            let _ = conn.close().await;
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(PG_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    Ok(Store {
        pool,
        backend: Backend::Postgres,
        location: Arc::from(shown.as_str()),
        secrets: Arc::from(secrets),
    })
}

/// What stays as it is in a SQLite file path inside a URL: letters, digits, `/` and the
/// unreserved marks; everything else (`?`, `#`, `%`, spaces, non-ASCII) is escaped.
const SQLITE_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Escapes what the SQLite URL parser would otherwise read as syntax (`?`, `#`, `%`, spaces).
pub(super) fn percent_encode_path(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, SQLITE_PATH).to_string()
}
