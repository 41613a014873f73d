//! The schema: the scripts in `migrations/` (whose README holds the rules for a new one),
//! embedded at build time by `sqlx::migrate!` and applied by sqlx's migrator (version 5 adds
//! `directory`, the platforms' answers to mobile and email look-ups).
//!
//! sqlx records each applied version in `_sqlx_migrations` with the SHA-384 of its script and
//! refuses a database whose applied script differs from this build's
//! ([`StoreError::EditedMigration`]). So the rule "never edit an applied script", which the
//! store's own migrator before it could only state, is now checked.
//!
//! Two processes may open one database at once (replicas behind a load balancer, or the daemon
//! and a CLI command):
//! - PostgreSQL: sqlx's migrator holds an advisory lock (keyed by the database's name) while it
//!   runs, and applies each version in a transaction of its own together with its row.
//! - SQLite: sqlx's migrator takes no lock there, and two openers would both try to create the
//!   tables. So the store runs it inside one `BEGIN IMMEDIATE` transaction: the file's write
//!   lock serialises openers (the second waits, up to `busy_timeout`, then finds every version
//!   applied), and the whole upgrade commits or rolls back as one. sqlx would begin a
//!   transaction of its own per version, which SQLite cannot nest, so on SQLite every version
//!   runs as sqlx's "no transaction" kind inside the store's; the checksums do not change.
//!
//! A database made by the store's own migrator (which kept `schema_migrations(version,
//! applied_ms)`) is adopted on open: its versions are recorded in `_sqlx_migrations`, with the
//! checksums of the scripts that migrator ran, in one transaction (under the write lock on
//! SQLite; on PostgreSQL under the advisory lock that migrator took, so an opener still running
//! it is waited for too), and sqlx applies whatever is newer. `schema_migrations` is left as
//! it was; nothing reads it once `_sqlx_migrations` exists.

use super::{Backend, Store, StoreError, sql};
use crate::secret::Redactor;
use sqlx::AnyConnection;
use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};
use std::borrow::Cow;

/// Every version, oldest first, with its script (read from the files when weekbell is built).
static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations");

/// sqlx's bookkeeping table: its default name, which `sqlx::migrate!` uses unless a
/// `sqlx.toml` says otherwise (there is none).
const SQLX_TABLE: &str = "_sqlx_migrations";

/// The store's own migrator's bookkeeping table, in databases made before sqlx's.
const LEGACY_TABLE: &str = "schema_migrations";

/// What a failure outside any one version's script is reported against.
const BOOKKEEPING: &str = "the _sqlx_migrations table";

/// The SHA-384 of each script as the store's own migrator held it (a string constant per
/// version, the bytes the files hold now), recorded when a database it made is adopted: a
/// script edited since is then refused as any applied script that was edited.
const LEGACY_CHECKSUMS: [(i64, [u8; 48]); 4] = [
    (
        1,
        [
            0x00, 0xdf, 0xfc, 0x98, 0x81, 0x7b, 0x7a, 0x31, 0x70, 0x5e, 0x21, 0x3d, 0x1c, 0xf1,
            0x60, 0xa1, 0x08, 0x2c, 0xf9, 0xdc, 0xd6, 0x12, 0x2a, 0x3b, 0x43, 0x3f, 0xf5, 0xfd,
            0x4d, 0xe1, 0x60, 0xef, 0x29, 0x79, 0x13, 0x84, 0x32, 0xb1, 0xab, 0x03, 0x17, 0xe0,
            0xe4, 0x46, 0x76, 0xbd, 0x80, 0x19,
        ],
    ),
    (
        2,
        [
            0xb6, 0x33, 0x0e, 0xa3, 0xbd, 0x34, 0xfd, 0x80, 0x7e, 0x01, 0xfb, 0x30, 0x79, 0x39,
            0x62, 0x2e, 0x7b, 0x97, 0xd0, 0x94, 0xc3, 0x94, 0x8a, 0x7a, 0x6d, 0xe2, 0x7a, 0x0d,
            0x55, 0x95, 0x56, 0xe7, 0x1d, 0x8e, 0x3d, 0x75, 0xca, 0x44, 0x0e, 0xf0, 0x4e, 0xe4,
            0xaf, 0x30, 0x1b, 0x6c, 0x3c, 0x19,
        ],
    ),
    (
        3,
        [
            0x2f, 0xbf, 0x8b, 0xa4, 0x8a, 0x18, 0x97, 0x71, 0xd7, 0x69, 0xcd, 0x1e, 0x73, 0x09,
            0xda, 0xb3, 0xf6, 0x7b, 0x2d, 0xcd, 0xb5, 0x73, 0x0f, 0xc2, 0x33, 0x5a, 0x3c, 0x26,
            0x92, 0xdf, 0x0c, 0x4f, 0x37, 0xbb, 0x8c, 0x9b, 0x54, 0x55, 0xb3, 0x4a, 0xa9, 0x20,
            0xd7, 0x31, 0x31, 0xd1, 0x7a, 0x7d,
        ],
    ),
    (
        4,
        [
            0x53, 0x28, 0x4e, 0x83, 0xbc, 0x91, 0x0d, 0x79, 0xfe, 0xfc, 0x77, 0x25, 0x6e, 0xdd,
            0xdd, 0x9f, 0xbb, 0x94, 0x52, 0x80, 0xcb, 0x83, 0xcd, 0x52, 0x28, 0x73, 0x1a, 0xe0,
            0x13, 0xee, 0xfb, 0x5c, 0x6f, 0x2a, 0xf1, 0x68, 0x54, 0x81, 0xba, 0x4d, 0x85, 0xe1,
            0x54, 0x95, 0xdc, 0x0e, 0x34, 0xab,
        ],
    ),
];

/// The newest version this build knows.
fn latest_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Brings the database up to [`latest_version`]. Safe to run from several processes at once.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let before = match store.backend() {
        Backend::Sqlite => run_sqlite(store).await?,
        Backend::Postgres => run_postgres(store).await?,
    };
    let latest = latest_version();
    if before < latest {
        tracing::info!(
            from = before,
            to = latest,
            store = store.location(),
            "store schema brought up to date"
        );
    }
    Ok(())
}

/// Adopts and migrates in one transaction under the file's write lock; answers the version the
/// database was at.
async fn run_sqlite(store: &Store) -> Result<i64, StoreError> {
    let bookkeeping = |e: sqlx::Error| refused(store, 0, &e.to_string());
    let mut tx = store.begin_write().await.map_err(bookkeeping)?;
    let before = adopt(store, &mut tx).await?;
    let in_our_transaction = Migrator::with_migrations(
        MIGRATOR
            .iter()
            .map(|m| Migration {
                no_tx: true,
                ..m.clone()
            })
            .collect(),
    );
    run_migrator(&in_our_transaction, &mut tx)
        .await
        .map_err(|e| failed(store, e))?;
    tx.commit().await.map_err(bookkeeping)?;
    Ok(before)
}

/// Adopts in a transaction of its own, then lets sqlx's migrator run as it does on its own;
/// answers the version the database was at.
async fn run_postgres(store: &Store) -> Result<i64, StoreError> {
    let bookkeeping = |e: sqlx::Error| refused(store, 0, &e.to_string());
    let mut tx = store.begin_write().await.map_err(bookkeeping)?;
    sqlx::query(sql::PG_MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(bookkeeping)?;
    let before = adopt(store, &mut tx).await?;
    tx.commit().await.map_err(bookkeeping)?;

    let mut conn = store.pool().acquire().await.map_err(bookkeeping)?;
    if let Err(e) = run_migrator(&MIGRATOR, &mut conn).await {
        // sqlx returns before unlocking: closing the connection releases its session lock,
        // which would otherwise go back to the pool with it.
        conn.close_on_drop();
        return Err(failed(store, e));
    }
    Ok(before)
}

/// `Migrator::run` on one connection. `run` itself takes any `Acquire<'a>`, and awaited inside
/// `Store::open` that bound leaves rustc unable to prove the future `Send` for every lifetime:
/// each `tokio::spawn` of a future that opens a store fails to compile ("implementation of
/// `Acquire` is not general enough": sqlx issues 954 and 2529, both open; boxing the future
/// does not help). `run_direct` is what `run` calls once it has the connection, and what the
/// thread of 2529 gives as the way around; it is public, though left out of sqlx's docs.
async fn run_migrator(migrator: &Migrator, conn: &mut AnyConnection) -> Result<(), MigrateError> {
    migrator.run_direct(None, conn, false).await
}

/// Records the versions the store's own migrator applied in sqlx's table, if that is how the
/// database was made, and answers the version the database is at (0 when it is new). Runs in
/// the caller's transaction, which holds the lock that keeps two openers from adopting at once.
async fn adopt(store: &Store, conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let bookkeeping = |e: sqlx::Error| refused(store, 0, &e.to_string());
    if table_exists(store, conn, SQLX_TABLE)
        .await
        .map_err(bookkeeping)?
    {
        let version: Option<i64> = sqlx::query_scalar(sql::SQLX_LATEST_VERSION)
            .fetch_one(&mut *conn)
            .await
            .map_err(bookkeeping)?;
        return Ok(version.unwrap_or(0));
    }
    if !table_exists(store, conn, LEGACY_TABLE)
        .await
        .map_err(bookkeeping)?
    {
        return Ok(0);
    }
    let versions: Vec<i64> = sqlx::query_scalar(sql::LEGACY_APPLIED_VERSIONS)
        .fetch_all(&mut *conn)
        .await
        .map_err(bookkeeping)?;
    let mut adopted = Vec::with_capacity(versions.len());
    for &version in &versions {
        let script = MIGRATOR.iter().find(|m| m.version == version);
        let checksum = LEGACY_CHECKSUMS.iter().find(|(v, _)| *v == version);
        let (Some(script), Some((_, checksum))) = (script, checksum) else {
            return Err(StoreError::SchemaTooNew {
                location: store.location().to_owned(),
                found: versions.iter().copied().max().unwrap_or(version),
                known: latest_version(),
            });
        };
        adopted.push(Migration {
            checksum: Cow::Borrowed(&checksum[..]),
            ..script.clone()
        });
    }
    conn.ensure_migrations_table(SQLX_TABLE)
        .await
        .map_err(|e| failed(store, e))?;
    for applied in &adopted {
        conn.skip(SQLX_TABLE, applied)
            .await
            .map_err(|e| failed(store, e))?;
    }
    let before = versions.iter().copied().max().unwrap_or(0);
    tracing::info!(
        version = before,
        store = store.location(),
        "store schema recorded in _sqlx_migrations from schema_migrations"
    );
    Ok(before)
}

async fn table_exists(
    store: &Store,
    conn: &mut AnyConnection,
    table: &str,
) -> Result<bool, sqlx::Error> {
    let statement = match store.backend() {
        Backend::Sqlite => sql::SQLITE_TABLE_EXISTS,
        Backend::Postgres => sql::PG_TABLE_EXISTS,
    };
    let row = sqlx::query(statement)
        .bind(table)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// What an operator can act on, for each way sqlx's migrator refuses.
fn failed(store: &Store, e: MigrateError) -> StoreError {
    match e {
        MigrateError::VersionMismatch(version) => StoreError::EditedMigration {
            location: store.location().to_owned(),
            version,
            name: name_of(version),
        },
        MigrateError::VersionMissing(found) if found > latest_version() => {
            StoreError::SchemaTooNew {
                location: store.location().to_owned(),
                found,
                known: latest_version(),
            }
        }
        MigrateError::ExecuteMigration(e, version) => refused(store, version, &e.to_string()),
        other => refused(store, 0, &other.to_string()),
    }
}

fn refused(store: &Store, version: i64, detail: &str) -> StoreError {
    StoreError::Migrate {
        location: store.location().to_owned(),
        version: i32::try_from(version).unwrap_or(i32::MAX),
        name: name_of(version),
        detail: Redactor::of(store.secrets.iter()).text(detail),
    }
}

/// A version's name (its file name less the number, `_` read as spaces).
fn name_of(version: i64) -> &'static str {
    MIGRATOR
        .iter()
        .find(|m| m.version == version)
        .map_or(BOOKKEEPING, |m| m.description.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (i, m) in MIGRATOR.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "migration {:?}", m.description);
        }
        assert_eq!(latest_version() as usize, MIGRATOR.iter().count());
    }

    #[test]
    fn scripts_stay_in_the_portable_subset() {
        for m in MIGRATOR.iter() {
            let upper = m.sql.as_str().to_uppercase();
            for word in [
                "SERIAL",
                "AUTOINCREMENT",
                "BOOLEAN",
                "JSONB",
                "TIMESTAMP",
                "GREATEST",
            ] {
                assert!(
                    !upper.contains(word),
                    "migration {} uses {word}, which only one backend understands",
                    m.version
                );
            }
        }
    }

    #[test]
    fn the_first_four_scripts_are_the_ones_the_old_migrator_applied() {
        for (version, checksum) in LEGACY_CHECKSUMS {
            let script = MIGRATOR.iter().find(|m| m.version == version);
            assert_eq!(
                script.map(|m| &m.checksum[..]),
                Some(&checksum[..]),
                "version {version} was edited after it was applied"
            );
        }
    }

    #[test]
    fn every_script_in_the_folder_is_embedded() {
        // sqlx::migrate! reads the folder when the crate is compiled, and cargo does not watch
        // the folder: a script added without touching a Rust file is not built in.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".sql"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        assert_eq!(
            files.len(),
            MIGRATOR.iter().count(),
            "{files:?}: touch src/store/migrations.rs, so the build embeds them all"
        );
    }
}
