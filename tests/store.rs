//! The store through its public API. Every test runs on a fresh SQLite file and, when
//! `WEEKBELL_TEST_PG_URL` is set (CI sets it), again on PostgreSQL in a schema of its own:
//! `CREATE SCHEMA wb_test_<pid>_<n>_<nanos>`, the store's URL gets
//! `?options=-c search_path=<schema>`, and the schema is dropped afterwards even if the test
//! panicked. So tests run in parallel against one database without seeing each other.

use sqlx::Connection;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Barrier;
use weekbell::store::{
    Appended, Backend, CursorLease, DirectoryEntry, InboundText, NewEvent, NewMessage,
    OutboxCounts, OutboxFilter, OutboxStatus, OutboxUpdate, SlotClaim, SlotStatus, Store,
    StoreError,
};
use weekbell::types::Platform;

/// What almost every line here does with a store call: it must succeed. A failure panics with
/// the store's error at the calling line (`#[track_caller]`), which a closure would not give.
trait OrFail<T> {
    fn or_fail(self) -> T;
}

impl<T, E: std::fmt::Display> OrFail<T> for Result<T, E> {
    #[track_caller]
    fn or_fail(self) -> T {
        match self {
            Ok(value) => value,
            Err(e) => panic!("the store call failed: {e}"),
        }
    }
}

// ---- harness -----------------------------------------------------------------------------------

/// A test's view of its database: the open store, and the URL to open it again (as a second
/// process or replica would).
struct Ctx {
    store: Store,
    url: String,
}

impl Ctx {
    async fn reopen(&self) -> Store {
        match Store::open(&self.url).await {
            Ok(store) => store,
            Err(e) => panic!("reopening {}: {e}", self.store.location()),
        }
    }
}

/// An empty database, not yet opened.
struct Fresh {
    backend: Backend,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Fresh {
    async fn cleanup(self) {
        match self.cleanup {
            Cleanup::Dir(dir) => drop(dir),
            Cleanup::Schema { admin_url, schema } => {
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("connect to PostgreSQL to drop the test schema: {e}")
                    });
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("drop the test schema: {e}"));
                conn.close().await.ok();
            }
        }
    }
}

fn pg_url() -> Option<String> {
    std::env::var("WEEKBELL_TEST_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A fresh SQLite file, and a fresh PostgreSQL schema when `WEEKBELL_TEST_PG_URL` is set.
async fn fresh_databases() -> Vec<Fresh> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join("state").join("weekbell.db");
    let mut all = vec![Fresh {
        backend: Backend::Sqlite,
        url: format!("sqlite://{}", path.display()),
        cleanup: Cleanup::Dir(dir),
    }];
    if let Some(admin_url) = pg_url() {
        let schema = format!("wb_test_{}", unique_suffix());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("WEEKBELL_TEST_PG_URL is set but PostgreSQL is not reachable: {e}")
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("create the test schema: {e}"));
        conn.close().await.ok();
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        all.push(Fresh {
            backend: Backend::Postgres,
            url: format!("{admin_url}{sep}options=-c%20search_path%3D{schema}"),
            cleanup: Cleanup::Schema { admin_url, schema },
        });
    }
    all
}

/// Runs `test` on each fresh database, cleaning up afterwards whether it passed or not.
async fn on_fresh_databases<F, Fut>(test: F)
where
    F: Fn(Fresh) -> Fut,
    Fut: Future<Output = Fresh> + Send + 'static,
{
    for fresh in fresh_databases().await {
        let backend = fresh.backend;
        match tokio::spawn(test(fresh)).await {
            Ok(fresh) => fresh.cleanup().await,
            Err(e) => {
                eprintln!("store test failed on {backend}");
                // The schema's name is lost with the panic; a leftover wb_test_* schema is
                // harmless and named after the process.
                std::panic::resume_unwind(e.into_panic())
            }
        }
    }
}

/// Runs `test` with an open store on each fresh database.
async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for fresh in fresh_databases().await {
        let store = match Store::open(&fresh.url).await {
            Ok(store) => store,
            Err(e) => panic!("opening a fresh {} store: {e}", fresh.backend),
        };
        assert_eq!(store.backend(), fresh.backend);
        let ctx = Ctx {
            store: store.clone(),
            url: fresh.url.clone(),
        };
        let outcome = tokio::spawn(test(ctx)).await;
        store.close().await;
        let backend = fresh.backend;
        fresh.cleanup().await;
        if let Err(e) = outcome {
            eprintln!("store test failed on {backend}");
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

// ---- builders ----------------------------------------------------------------------------------

const T0: i64 = 1_796_000_000_000; // 2026-11-29, roughly

fn claim(schedule: &str, slot_local: &str, slot_at_ms: i64, by: &str) -> SlotClaim {
    SlotClaim {
        schedule: schedule.into(),
        slot_local: slot_local.into(),
        slot_at_ms,
        status: SlotStatus::OnTime,
        claimed_by: by.into(),
        now_ms: slot_at_ms + 5,
    }
}

fn msg(slot_key: &str, channel: &str, ord: i64, created_ms: i64) -> NewMessage {
    NewMessage {
        id: format!("{slot_key}/{channel}/0/{ord}"),
        slot_key: slot_key.into(),
        channel: channel.into(),
        platform: "console".into(),
        ord,
        payload: format!(r#"{{"text":"part {ord} 周报"}}"#),
        late: false,
        deadline_ms: created_ms + 3_600_000,
        created_ms,
    }
}

/// Enqueues `messages` under a claim of their own slot.
async fn enqueue(store: &Store, slot: &str, messages: &[NewMessage]) {
    let c = claim("test", slot, T0, "seed");
    assert!(
        store
            .claim_slot(&c, messages)
            .await
            .unwrap_or_else(|e| panic!("claim: {e}"))
    );
}

/// One channel's view of the batch lease: its head leased, or when to ask again.
#[allow(clippy::large_enum_variant)] // a test's short-lived answer
#[derive(Debug, PartialEq)]
enum Head {
    Empty,
    WaitUntil(i64),
    Leased(weekbell::store::OutboxMessage),
}

async fn lease_head(
    store: &Store,
    channel: &str,
    worker: &str,
    now: i64,
    lease_ms: i64,
) -> Result<Head, weekbell::store::StoreError> {
    let mut got = store
        .lease_heads(worker, now, lease_ms, Some(channel), 10)
        .await?;
    assert!(got.len() <= 1, "one head per channel, got {got:?}");
    Ok(match got.pop() {
        Some(m) => Head::Leased(m),
        None => match store.next_leasable(Some(channel)).await? {
            Some(t) => Head::WaitUntil(t),
            None => Head::Empty,
        },
    })
}

fn leased(head: Head) -> weekbell::store::OutboxMessage {
    match head {
        Head::Leased(m) => m,
        other => panic!("expected a lease, got {other:?}"),
    }
}

async fn count(store: &Store) -> OutboxCounts {
    store
        .outbox_counts()
        .await
        .unwrap_or_else(|e| panic!("counts: {e}"))
}

async fn all_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .outbox(OutboxFilter {
            limit: 0,
            ..OutboxFilter::default()
        })
        .await
        .unwrap_or_else(|e| panic!("outbox: {e}"))
        .into_iter()
        .map(|m| m.id)
        .collect();
    ids.sort();
    ids
}

// ---- migrations and opening --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_are_idempotent() {
    on_each_backend(|ctx| async move {
        let c = claim("friday-digest", "2026-12-04T17:00", T0, "a");
        let m = msg("friday-digest@2026-12-04T17:00", "county", 0, T0);
        assert!(ctx.store.claim_slot(&c, &[m]).await.or_fail());
        // Open twice more: nothing is re-applied, nothing is lost.
        let again = ctx.reopen().await;
        let third = ctx.reopen().await;
        assert!(
            third
                .is_claimed("friday-digest", "2026-12-04T17:00")
                .await
                .or_fail()
        );
        assert_eq!(again.outbox_counts().await.or_fail().pending, 1);
        again.close().await;
        third.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_opening_a_new_database_at_once_all_succeed() {
    on_fresh_databases(|fresh| async move {
        let mut handles = Vec::new();
        for _ in 0..4 {
            let url = fresh.url.clone();
            handles.push(tokio::spawn(async move { Store::open(&url).await }));
        }
        for h in handles {
            match h.await.or_fail() {
                Ok(store) => {
                    assert_eq!(
                        store.outbox_counts().await.or_fail(),
                        OutboxCounts::default()
                    );
                    store.close().await;
                }
                Err(e) => panic!("concurrent open failed: {e}"),
            }
        }
        fresh
    })
    .await;
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_uses_wal() {
    let dir = tempfile::tempdir().or_fail();
    let path = dir.path().join("a").join("b").join("weekbell.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .or_fail();
    assert_eq!(store.backend(), Backend::Sqlite);
    store
        .save_task_snapshot("tasks.csv", "[]", T0)
        .await
        .or_fail();
    assert!(path.exists());
    assert!(
        dir.path().join("a/b/weekbell.db-wal").exists(),
        "WAL mode keeps a -wal file beside the database while it is open"
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_open_errors_say_what_to_do() {
    let dir = tempfile::tempdir().or_fail();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").or_fail();
    let err = Store::open(&format!("sqlite://{}/weekbell.db", file.display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("check the path"), "{err}");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).or_fail();
    let err = Store::open(&format!("sqlite://{}", garbage.display()))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot open the SQLite database at {}",
            garbage.display()
        )),
        "{text}"
    );
    assert!(text.contains("check the directory is writable"), "{text}");

    let err = Store::open("sqlite::memory:").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn errors_never_show_the_database_password() {
    // Nothing listens on port 1, so connecting fails and the URL ends up in the message.
    let url = "postgres://weekbell:Sup3rS3cret%21@127.0.0.1:1/weekbell?password=Sup3rS3cret%21";
    let err = Store::open(url).await.unwrap_err();
    let display = err.to_string();
    let debug = format!("{err:?}");
    for text in [&display, &debug] {
        assert!(!text.contains("Sup3rS3cret"), "{text}");
    }
    assert!(matches!(err, StoreError::ConnectPostgres { .. }), "{debug}");
    assert!(
        display.contains("postgres://weekbell:***@127.0.0.1:1/weekbell?password=***"),
        "{display}"
    );
    assert!(display.contains("check the server is running"), "{display}");

    let err = Store::open("mysql://root:Sup3rS3cret@db/weekbell")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("Sup3rS3cret"), "{err}");
}

/// The versions sqlx's migrator has recorded as applied, read with a connection of the test's own.
async fn applied_versions(backend: Backend, url: &str) -> Vec<i64> {
    let mut conn = raw_connection(backend, url).await;
    let versions =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("read _sqlx_migrations: {e}"));
    conn.close().await.ok();
    versions
}

/// Every version this build knows: one script per version in the store's migrations folder.
fn every_version() -> Vec<i64> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations");
    let scripts = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("the migrations folder: {e}"))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sql"))
        .count();
    (1..=i64::try_from(scripts).unwrap_or_else(|e| panic!("a few scripts: {e}"))).collect()
}

/// A connection outside the store, as an operator with a SQL shell has; it creates a missing
/// SQLite file, as the store's own migrator did.
async fn raw_connection(backend: Backend, url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(url.trim_start_matches("sqlite://"));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .unwrap_or_else(|e| panic!("create the database's directory: {e}"));
            }
            format!("{url}?mode=rwc")
        }
        Backend::Postgres => url.to_owned(),
    };
    sqlx::AnyConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// Makes the database as the store's own migrator left it at `version`, from the copy of its
/// scripts in `tests/fixtures`.
async fn make_with_the_old_migrator(backend: Backend, url: &str, version: usize) {
    const OLD: &str = include_str!("fixtures/store-made-by-the-old-migrator.sql");
    let mut conn = raw_connection(backend, url).await;
    let mut sections = OLD.split("\n-- @version ");
    let head = sections.next().unwrap_or_default();
    // Each section goes on from its version number to the end of that line.
    let scripts = sections.map(|s| s.split_once('\n').map_or("", |(_, script)| script));
    for script in std::iter::once(head).chain(scripts.take(version)) {
        sqlx::raw_sql(script)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("the old migrator's scripts on {backend}: {e}"));
    }
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_made_by_the_old_migrator_opens_at_once_in_four_processes_with_its_rows() {
    on_fresh_databases(|fresh| async move {
        make_with_the_old_migrator(fresh.backend, &fresh.url, 4).await;
        let mut conn = raw_connection(fresh.backend, &fresh.url).await;
        let slot = "friday-digest@2026-11-27T17:00";
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO slot_ledger VALUES ('friday-digest', '2026-11-27T17:00', {T0}, \
                 'on_time', 'old', {T0}, 1);
             INSERT INTO outbox (id, slot_key, channel, platform, ord, payload, status, \
                 attempts, next_try_ms, deadline_ms, late, created_ms, updated_ms) VALUES \
                 ('{slot}/county/0/0', '{slot}', 'county', 'console', 0, '{{\"text\":\"周报\"}}', \
                 'pending', 0, {T0}, {T0} + 3600000, 0, {T0}, {T0});
             INSERT INTO task_snapshot VALUES ('current', 'tasks.csv', '[]', {T0});
             INSERT INTO task_events (id, dedupe_key, task_id, at_ms, actor, source, channel, \
                 field, old_value, new_value) VALUES ('e1', 'chat:county:m1/0', '14', {T0}, \
                 'sun.qiang', 'chat', 'county', 'status', 'todo', 'done');
             INSERT INTO inbound_seen (channel, message_id, seen_ms) VALUES ('county', 'm1', {T0});"
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("rows the old store wrote: {e}"));
        conn.close().await.ok();

        // Replicas restarted onto the new build open it together: one records the old versions
        // in sqlx's table, the others wait and find them there.
        let mut handles = Vec::new();
        for _ in 0..4 {
            let url = fresh.url.clone();
            handles.push(tokio::spawn(async move { Store::open(&url).await }));
        }
        let mut stores = Vec::new();
        for h in handles {
            match h.await.or_fail() {
                Ok(store) => stores.push(store),
                Err(e) => panic!("opening a database the old migrator made: {e}"),
            }
        }
        assert_eq!(
            applied_versions(fresh.backend, &fresh.url).await,
            every_version()
        );
        let s = &stores[0];
        assert!(
            s.is_claimed("friday-digest", "2026-11-27T17:00")
                .await
                .or_fail()
        );
        let message = s.outbox_get(&format!("{slot}/county/0/0")).await.or_fail();
        assert_eq!(message.map(|m| m.status), Some(OutboxStatus::Pending));
        assert_eq!(count(s).await.pending, 1);
        let snapshot = s
            .load_task_snapshot()
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("the snapshot"));
        assert_eq!(
            (snapshot.source.as_str(), snapshot.json.as_str()),
            ("tasks.csv", "[]")
        );
        let events = s.events(None, None).await.or_fail();
        assert_eq!(
            events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e1"]
        );
        assert!(
            !s.note_inbound("county", "m1", T0 + 1).await.or_fail(),
            "m1 was seen"
        );
        for store in stores {
            store.close().await;
        }
        // And again, as on every later start: nothing left to do.
        let again = Store::open(&fresh.url)
            .await
            .unwrap_or_else(|e| panic!("a later start: {e}"));
        assert_eq!(count(&again).await.pending, 1);
        again.close().await;
        assert_eq!(
            applied_versions(fresh.backend, &fresh.url).await,
            every_version()
        );
        fresh
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_the_old_migrator_left_at_version_2_gets_the_later_versions_from_sqlx() {
    on_fresh_databases(|fresh| async move {
        make_with_the_old_migrator(fresh.backend, &fresh.url, 2).await;
        let store = Store::open(&fresh.url)
            .await
            .unwrap_or_else(|e| panic!("open at version 2: {e}"));
        assert_eq!(
            applied_versions(fresh.backend, &fresh.url).await,
            every_version()
        );
        // Version 3's table and version 4's column are there.
        assert_eq!(
            store
                .bind_signature("ding", "sig-1", "body-a", T0, T0 - 1_000)
                .await
                .or_fail(),
            "body-a"
        );
        let from = from_text("m2", "done 14");
        let events = [event("e2", Some("chat:county:m2/0"), "14", T0)];
        assert_eq!(
            store.append_events(Some(&from), &events).await.or_fail(),
            Appended::Events(1)
        );
        store.close().await;
        fresh
    })
    .await;
}

/// Changes sqlx's bookkeeping with `statement` (its `$1` a checksum of no script) from outside
/// the store, then opens the store again, which must refuse.
async fn reopen_after(ctx: &Ctx, statement: &'static str) -> StoreError {
    let mut conn = raw_connection(ctx.store.backend(), &ctx.url).await;
    sqlx::query(statement)
        .bind(vec![0u8; 48])
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    conn.close().await.ok();
    match Store::open(&ctx.url).await {
        Ok(_) => panic!("opened after {statement}"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_applied_script_that_was_edited_since_is_refused_with_what_to_do() {
    on_each_backend(|ctx| async move {
        // What the database holds for version 2 no longer matches the script in this build,
        // as after someone edited the script once it had been applied.
        let err = reopen_after(
            &ctx,
            "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2",
        )
        .await;
        assert!(
            matches!(err, StoreError::EditedMigration { version: 2, .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("schema version 2 (inbound cursors)"),
            "{text}"
        );
        assert!(text.contains("an applied script is never edited"), "{text}");
        assert!(text.contains("make the change in a new version"), "{text}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_a_newer_weekbell_migrated_is_refused() {
    on_each_backend(|ctx| async move {
        let err = reopen_after(
            &ctx,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99, 'from a newer weekbell', TRUE, $1, 0)",
        )
        .await;
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("run the newer weekbell"), "{err}");
    })
    .await;
}

// ---- slot ledger -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_slot_is_claimed_exactly_once_when_eight_race() {
    on_each_backend(|ctx| async move {
        // Half the racers use a second pool, as a second replica would.
        let other = ctx.reopen().await;
        let slot = "friday-digest@2026-12-04T17:00";
        let messages: Vec<NewMessage> = (0..3).map(|i| msg(slot, "county", i, T0)).collect();
        let barrier = Arc::new(Barrier::new(8));
        let mut racers = Vec::new();
        for i in 0..8 {
            let store = if i % 2 == 0 {
                ctx.store.clone()
            } else {
                other.clone()
            };
            let barrier = barrier.clone();
            let messages = messages.clone();
            racers.push(tokio::spawn(async move {
                let c = claim("friday-digest", "2026-12-04T17:00", T0, &format!("r{i}"));
                barrier.wait().await;
                store.claim_slot(&c, &messages).await.map(|won| (i, won))
            }));
        }
        let mut winners = Vec::new();
        for r in racers {
            let (i, won) = r
                .await
                .or_fail()
                .unwrap_or_else(|e| panic!("no racer may fail: {e}"));
            if won {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "winners: {winners:?}");
        let ids = all_ids(&ctx.store).await;
        assert_eq!(ids.len(), 3, "{ids:?}");
        let entry = ctx
            .store
            .latest_slot("friday-digest")
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(entry.claimed_by, format!("r{}", winners[0]));
        assert_eq!(entry.messages, 3);
        other.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_that_fails_half_way_leaves_nothing() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let slot = "weekly@2026-12-07T09:00";
        // The second insert into the outbox fails (same id twice) after the ledger row went in.
        let dup = vec![msg(slot, "county", 0, T0), msg(slot, "county", 0, T0)];
        let c = claim("weekly", "2026-12-07T09:00", T0, "a");
        let err = s.claim_slot(&c, &dup).await.unwrap_err();
        assert!(matches!(err, StoreError::Query { .. }), "{err:?}");
        assert!(err.to_string().contains("rolled back"), "{err}");
        assert!(
            err.to_string().contains("same key is already stored"),
            "{err}"
        );
        assert!(!s.is_claimed("weekly", "2026-12-07T09:00").await.or_fail());
        assert!(s.latest_slot("weekly").await.or_fail().is_none());
        assert!(all_ids(s).await.is_empty());

        // A message id taken by another slot fails the same way, mid-transaction.
        let taken = msg("other@x", "county", 0, T0);
        enqueue(s, "other-slot", std::slice::from_ref(&taken)).await;
        let clash = vec![msg(slot, "county", 1, T0), taken.clone()];
        assert!(s.claim_slot(&c, &clash).await.is_err());
        assert!(!s.is_claimed("weekly", "2026-12-07T09:00").await.or_fail());
        assert_eq!(all_ids(s).await, vec![taken.id.clone()]);

        // The slot is still free for a good claim.
        let good = vec![msg(slot, "county", 0, T0), msg(slot, "county", 1, T0)];
        assert!(s.claim_slot(&c, &good).await.or_fail());
        assert_eq!(all_ids(s).await.len(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_claim_writes_nothing() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let c = claim("daily", "2026-12-01T08:00", T0, "a");
        assert!(s.claim_slot(&c, &[]).await.or_fail());
        let late = vec![msg("daily@2026-12-01T08:00", "team", 0, T0 + 1)];
        let mut again = c.clone();
        again.claimed_by = "b".into();
        assert!(!s.claim_slot(&again, &late).await.or_fail());
        assert!(all_ids(s).await.is_empty());
        let entry = s
            .latest_slot("daily")
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(
            (entry.claimed_by.as_str(), entry.messages, entry.claimed_ms),
            ("a", 0, T0 + 5)
        );
        assert!(s.is_claimed("daily", "2026-12-01T08:00").await.or_fail());
        assert!(!s.is_claimed("daily", "2026-12-02T08:00").await.or_fail());
        assert!(!s.is_claimed("nightly", "2026-12-01T08:00").await.or_fail());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ledger_lists_newest_first_with_every_status() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let day = 86_400_000;
        for (i, status) in SlotStatus::ALL.into_iter().enumerate() {
            let i = i as i64;
            let mut c = claim(
                "digest",
                &format!("2026-12-0{}T17:00", i + 1),
                T0 + i * day,
                "a",
            );
            c.status = status;
            assert!(s.claim_slot(&c, &[]).await.or_fail());
        }
        // Claimed out of order: the latest is by slot time, not by claim time.
        let early = claim("digest", "2026-11-30T17:00", T0 - day, "a");
        assert!(s.claim_slot(&early, &[]).await.or_fail());
        let other = claim("reminders", "2026-12-09T09:00", T0 + 9 * day, "a");
        assert!(s.claim_slot(&other, &[]).await.or_fail());

        let latest = s
            .latest_slot("digest")
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(latest.slot_local, "2026-12-04T17:00");
        assert_eq!(latest.status, SlotStatus::Manual);
        assert!(s.latest_slot("nothing").await.or_fail().is_none());

        let digest = s.ledger(Some("digest"), 0).await.or_fail();
        let order: Vec<(&str, SlotStatus)> = digest
            .iter()
            .map(|e| (e.slot_local.as_str(), e.status))
            .collect();
        assert_eq!(
            order,
            vec![
                ("2026-12-04T17:00", SlotStatus::Manual),
                ("2026-12-03T17:00", SlotStatus::Skipped),
                ("2026-12-02T17:00", SlotStatus::Late),
                ("2026-12-01T17:00", SlotStatus::OnTime),
                ("2026-11-30T17:00", SlotStatus::OnTime),
            ]
        );
        let all = s.ledger(None, 2).await.or_fail();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].schedule, "reminders");
        assert_eq!(s.ledger(None, -1).await.or_fail().len(), 6);
    })
    .await;
}

// ---- outbox ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waiting_head_blocks_its_channel_only() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        // Channel a: an older slot (its part 5) before a newer slot's parts 0 and 1.
        let older = msg("d@1", "a", 5, T0);
        let newer0 = msg("d@2", "a", 0, T0 + 10);
        let newer1 = msg("d@2", "a", 1, T0 + 10);
        let b0 = msg("d@2", "b", 0, T0 + 10);
        enqueue(s, "1", std::slice::from_ref(&older)).await;
        enqueue(s, "2", &[newer1.clone(), b0.clone(), newer0.clone()]).await;
        assert_eq!(
            s.pending_channels().await.or_fail(),
            vec!["a".to_owned(), "b".to_owned()]
        );

        let now = T0 + 1_000;
        let head = leased(lease_head(s, "a", "w1", now, 30_000).await.or_fail());
        assert_eq!(head.id, older.id);
        assert_eq!(head.lease_owner.as_deref(), Some("w1"));
        assert_eq!(head.lease_until_ms, Some(now + 30_000));
        s.mark_retry(&head.id, now + 60_000, "HTTP 502")
            .await
            .or_fail();

        // The head waits for its retry; the rest of channel a waits behind it.
        assert_eq!(
            lease_head(s, "a", "w1", now + 1, 30_000).await.or_fail(),
            Head::WaitUntil(now + 60_000)
        );
        assert_eq!(
            lease_head(s, "a", "w2", now + 59_999, 30_000)
                .await
                .or_fail(),
            Head::WaitUntil(now + 60_000)
        );
        // Channel b is not held up.
        let b = leased(lease_head(s, "b", "w1", now + 1, 30_000).await.or_fail());
        assert_eq!(b.id, b0.id);
        s.mark_sent(&b.id, "w1", now + 2).await.or_fail();
        assert_eq!(
            lease_head(s, "b", "w1", now + 3, 30_000).await.or_fail(),
            Head::Empty
        );

        // When due, the same head comes back, then the newer slot's parts in order.
        let again = leased(
            lease_head(s, "a", "w2", now + 60_000, 30_000)
                .await
                .or_fail(),
        );
        assert_eq!((again.id.as_str(), again.attempts), (older.id.as_str(), 1));
        assert_eq!(again.last_error.as_deref(), Some("HTTP 502"));
        s.mark_sent(&again.id, "w2", now + 60_001).await.or_fail();
        let mut sent = Vec::new();
        let mut t = now + 60_002;
        while let Head::Leased(m) = lease_head(s, "a", "w2", t, 30_000).await.or_fail() {
            s.mark_sent(&m.id, "w2", t).await.or_fail();
            sent.push(m.id);
            t += 1;
        }
        assert_eq!(sent, vec![newer0.id.clone(), newer1.id.clone()]);
        assert!(s.pending_channels().await.or_fail().is_empty());
        assert_eq!(
            lease_head(s, "nowhere", "w1", t, 30_000).await.or_fail(),
            Head::Empty
        );
        let done = s
            .outbox_get(&older.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(done.status, OutboxStatus::Sent);
        assert_eq!(done.sent_ms, Some(now + 60_001));
        assert_eq!(done.lease_owner.as_deref(), Some("w2"));
        assert_eq!(done.lease_until_ms, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_lease_takes_every_due_head_and_one_record_writes_every_outcome() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let a0 = msg("d@1", "a", 0, T0);
        let a1 = msg("d@1", "a", 1, T0);
        let b0 = msg("d@1", "b", 0, T0);
        let mut c0 = msg("d@1", "c", 0, T0);
        c0.created_ms = T0 + 5_000; // not due yet at `now`
        enqueue(s, "1", &[a0.clone(), a1.clone(), b0.clone(), c0.clone()]).await;
        let now = T0 + 1_000;

        let got = s.lease_heads("w", now, 30_000, None, 100).await.or_fail();
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec![a0.id.as_str(), b0.id.as_str()]);
        // Heads in flight are not leased again; the next instant anything frees up is c's.
        assert!(
            s.lease_heads("w", now + 1, 30_000, None, 100)
                .await
                .or_fail()
                .is_empty()
        );
        assert_eq!(s.next_leasable(None).await.or_fail(), Some(T0 + 5_000));
        // The limit counts messages.
        let one = s
            .lease_heads("w2", T0 + 5_000, 30_000, None, 1)
            .await
            .or_fail();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id, c0.id);

        let missing = s
            .record(&[
                OutboxUpdate::Sent {
                    id: a0.id.clone(),
                    worker: "w".into(),
                    at_ms: now + 2,
                },
                OutboxUpdate::Retry {
                    id: b0.id.clone(),
                    next_try_ms: now + 60_000,
                    error: "HTTP 502".into(),
                },
                OutboxUpdate::Released {
                    id: c0.id.clone(),
                    worker: "w2".into(),
                },
                OutboxUpdate::Sent {
                    id: "no/such/0/0".into(),
                    worker: "w".into(),
                    at_ms: now + 2,
                },
            ])
            .await
            .or_fail();
        assert_eq!(missing, vec!["no/such/0/0".to_owned()]);
        let sent = s
            .outbox_get(&a0.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(sent.status, OutboxStatus::Sent);
        let released = s
            .outbox_get(&c0.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(
            (released.lease_owner, released.lease_until_ms),
            (None, None)
        );
        // a's next part and the released c are due; b waits for its retry.
        let got = s
            .lease_heads("w", now + 5_000, 30_000, None, 100)
            .await
            .or_fail();
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec![a1.id.as_str(), c0.id.as_str()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dead_and_dropped_messages_do_not_block_their_channel() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let m0 = msg("d@1", "a", 0, T0);
        let m1 = msg("d@1", "a", 1, T0);
        let m2 = msg("d@1", "a", 2, T0);
        enqueue(s, "1", &[m0.clone(), m1.clone(), m2.clone()]).await;
        let now = T0 + 100;
        let h = leased(lease_head(s, "a", "w", now, 1_000).await.or_fail());
        s.mark_dead(&h.id, "keyword refused", now).await.or_fail();
        assert!(s.outbox_drop(&m1.id, now).await.or_fail());
        let h = leased(lease_head(s, "a", "w", now + 1, 1_000).await.or_fail());
        assert_eq!(h.id, m2.id);

        // Revived, the old dead letter is the oldest pending message again: it goes first
        // once m2's lease is given up.
        assert!(s.outbox_retry(&m0.id, now + 2, 600_000).await.or_fail());
        s.mark_retry(&m2.id, now + 2, "timeout").await.or_fail();
        let h = leased(lease_head(s, "a", "w", now + 3, 1_000).await.or_fail());
        assert_eq!(h.id, m0.id);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn only_one_worker_gets_a_lease() {
    on_each_backend(|ctx| async move {
        let other = ctx.reopen().await;
        let m = msg("d@1", "a", 0, T0);
        enqueue(&ctx.store, "1", std::slice::from_ref(&m)).await;
        let now = T0 + 1_000;
        let lease_ms = 30_000;

        // Eight workers, on two pools, ask at the same instant: one lease.
        for round in 0..5 {
            let t = now + round * 100_000;
            let barrier = Arc::new(Barrier::new(8));
            let mut askers = Vec::new();
            for w in 0..8 {
                let store = if w % 2 == 0 {
                    ctx.store.clone()
                } else {
                    other.clone()
                };
                let barrier = barrier.clone();
                askers.push(tokio::spawn(async move {
                    barrier.wait().await;
                    lease_head(&store, "a", &format!("r{round}w{w}"), t, lease_ms).await
                }));
            }
            let mut winners = 0;
            for a in askers {
                match a
                    .await
                    .or_fail()
                    .unwrap_or_else(|e| panic!("lease_head: {e}"))
                {
                    Head::Leased(got) => {
                        winners += 1;
                        assert_eq!(got.id, m.id);
                    }
                    // On PostgreSQL a loser skips the locked row (`SKIP LOCKED`) and may look
                    // before the winner commits: the head then still reads as due now.
                    Head::WaitUntil(at) => assert!(at == t + lease_ms + 1 || at <= t, "{at}"),
                    Head::Empty => panic!("the message is pending"),
                }
            }
            assert_eq!(winners, 1, "round {round}");
            // Let the next round start from a free message.
            ctx.store.mark_retry(&m.id, t + 1, "test").await.or_fail();
        }

        // An expired lease is taken over; a live one is not, not even by its holder, who
        // extends it instead.
        let t = now + 1_000_000;
        let first = leased(
            lease_head(&ctx.store, "a", "w1", t, lease_ms)
                .await
                .or_fail(),
        );
        assert_eq!(first.lease_until_ms, Some(t + lease_ms));
        assert_eq!(
            lease_head(&ctx.store, "a", "w1", t + 10, lease_ms)
                .await
                .or_fail(),
            Head::WaitUntil(t + lease_ms + 1)
        );
        assert!(
            ctx.store
                .extend_lease(&first.id, "w1", t + 10 + lease_ms)
                .await
                .or_fail()
        );
        assert!(
            !other
                .extend_lease(&first.id, "w2", t + 10 + lease_ms)
                .await
                .or_fail(),
            "only the holder extends a lease"
        );
        let until = t + 10 + lease_ms;
        assert_eq!(
            lease_head(&other, "a", "w2", until, lease_ms)
                .await
                .or_fail(),
            Head::WaitUntil(until + 1)
        );
        let taken = leased(
            lease_head(&other, "a", "w2", until + 1, lease_ms)
                .await
                .or_fail(),
        );
        assert_eq!(taken.lease_owner.as_deref(), Some("w2"));
        assert_eq!(
            lease_head(&ctx.store, "a", "w1", until + 2, lease_ms)
                .await
                .or_fail(),
            Head::WaitUntil(until + 1 + lease_ms + 1)
        );
        other.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_dead_revive_and_drop_transitions() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let mut m = msg("d@1", "a", 0, T0);
        m.deadline_ms = T0 + 5_000;
        let n = msg("d@1", "a", 1, T0);
        enqueue(s, "1", &[m.clone(), n.clone()]).await;
        let now = T0 + 1_000;

        leased(lease_head(s, "a", "w", now, 5_000).await.or_fail());
        s.mark_retry(&m.id, now + 2_000, "HTTP 503").await.or_fail();
        let r = s
            .outbox_get(&m.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(r.status, OutboxStatus::Pending);
        assert_eq!((r.attempts, r.next_try_ms), (1, now + 2_000));
        assert_eq!(r.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!((r.lease_owner, r.lease_until_ms), (None, None));
        assert_eq!(r.updated_ms, T0, "a retry does not change the status");

        leased(lease_head(s, "a", "w", now + 2_000, 5_000).await.or_fail());
        s.mark_dead(&m.id, "errcode 310000: keyword not matched", now + 2_100)
            .await
            .or_fail();
        let d = s
            .outbox_get(&m.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(d.status, OutboxStatus::Dead);
        assert_eq!(d.attempts, 2);
        assert_eq!(
            d.last_error.as_deref(),
            Some("errcode 310000: keyword not matched")
        );
        assert_eq!(
            (d.updated_ms, d.lease_owner.as_deref()),
            (now + 2_100, None)
        );
        // Further marks of a message that is no longer pending change nothing.
        s.mark_retry(&m.id, now + 9_000, "late report")
            .await
            .or_fail();
        s.mark_dead(&m.id, "again", now + 9_000).await.or_fail();
        assert_eq!(
            s.outbox_get(&m.id)
                .await
                .or_fail()
                .unwrap_or_else(|| panic!("expected a row, found none")),
            d
        );

        // Revive: pending now, attempts reset, the deadline pushed out (never pulled in).
        assert!(s.outbox_retry(&m.id, now + 10_000, 600_000).await.or_fail());
        let v = s
            .outbox_get(&m.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(v.status, OutboxStatus::Pending);
        assert_eq!((v.attempts, v.next_try_ms), (0, now + 10_000));
        assert_eq!(v.deadline_ms, now + 610_000);
        assert_eq!(v.updated_ms, now + 10_000);
        assert!(s.outbox_retry(&m.id, now + 10_001, 1).await.or_fail());
        assert_eq!(
            s.outbox_get(&m.id)
                .await
                .or_fail()
                .unwrap_or_else(|| panic!("expected a row, found none"))
                .deadline_ms,
            now + 610_000
        );

        // Expired without a new attempt: dead, attempts unchanged.
        s.mark_expired(&n.id, "past its deadline", now + 11_000)
            .await
            .or_fail();
        let e = s
            .outbox_get(&n.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!((e.status, e.attempts), (OutboxStatus::Dead, 0));

        // Drop: pending or dead → dropped, once; a dropped message is not revived.
        assert!(s.outbox_drop(&m.id, now + 12_000).await.or_fail());
        assert!(s.outbox_drop(&n.id, now + 12_000).await.or_fail());
        assert!(!s.outbox_drop(&m.id, now + 12_001).await.or_fail());
        assert!(!s.outbox_retry(&m.id, now + 12_001, 1_000).await.or_fail());
        let dropped = s
            .outbox_get(&m.id)
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(
            (dropped.status, dropped.updated_ms),
            (OutboxStatus::Dropped, now + 12_000)
        );

        // Sent is final for retry and drop; marking it sent again is harmless.
        let p = msg("d@2", "b", 0, T0);
        enqueue(s, "2", std::slice::from_ref(&p)).await;
        let h = leased(lease_head(s, "b", "w", now, 5_000).await.or_fail());
        s.mark_sent(&h.id, "w", now + 1).await.or_fail();
        s.mark_sent(&h.id, "w", now + 99).await.or_fail();
        assert_eq!(
            s.outbox_get(&p.id)
                .await
                .or_fail()
                .unwrap_or_else(|| panic!("expected a row, found none"))
                .sent_ms,
            Some(now + 1)
        );
        assert!(!s.outbox_retry(&p.id, now + 2, 1_000).await.or_fail());
        assert!(!s.outbox_drop(&p.id, now + 2).await.or_fail());

        // Unknown ids.
        assert!(!s.outbox_retry("nope", now, 1).await.or_fail());
        assert!(!s.outbox_drop("nope", now).await.or_fail());
        assert!(s.outbox_get("nope").await.or_fail().is_none());
        for err in [
            s.mark_sent("nope", "w", now).await.unwrap_err(),
            s.mark_retry("nope", now, "x").await.unwrap_err(),
            s.mark_dead("nope", "x", now).await.unwrap_err(),
            s.mark_expired("nope", "x", now).await.unwrap_err(),
        ] {
            assert!(matches!(err, StoreError::NoSuchMessage { .. }), "{err:?}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_outbox_lists_newest_first_and_counts_by_status() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        assert_eq!(count(s).await, OutboxCounts::default());
        let mut late = msg("d@2", "b", 0, T0 + 10);
        late.late = true;
        enqueue(s, "1", &[msg("d@1", "a", 0, T0), msg("d@1", "a", 1, T0)]).await;
        enqueue(s, "2", &[msg("d@2", "a", 0, T0 + 10), late.clone()]).await;
        enqueue(s, "3", &[msg("d@3", "a", 0, T0 + 20)]).await;
        let now = T0 + 100;
        let h = leased(lease_head(s, "a", "w", now, 1_000).await.or_fail());
        s.mark_sent(&h.id, "w", now).await.or_fail();
        let h = leased(lease_head(s, "a", "w", now, 1_000).await.or_fail());
        s.mark_dead(&h.id, "bad token", now).await.or_fail();
        assert!(s.outbox_drop("d@3/a/0/0", now).await.or_fail());
        assert_eq!(
            count(s).await,
            OutboxCounts {
                pending: 2,
                sent: 1,
                dead: 1,
                dropped: 1
            }
        );

        let ids = |v: Vec<weekbell::store::OutboxMessage>| -> Vec<String> {
            v.into_iter().map(|m| m.id).collect()
        };
        let everything = s.outbox(OutboxFilter::default()).await.or_fail();
        assert_eq!(
            ids(everything),
            vec![
                "d@3/a/0/0",
                "d@2/a/0/0",
                "d@2/b/0/0",
                "d@1/a/0/1",
                "d@1/a/0/0"
            ]
        );
        let pending_a = OutboxFilter {
            status: Some(OutboxStatus::Pending),
            channel: Some("a".into()),
            limit: 10,
        };
        assert_eq!(ids(s.outbox(pending_a).await.or_fail()), vec!["d@2/a/0/0"]);
        let dead = OutboxFilter {
            status: Some(OutboxStatus::Dead),
            ..OutboxFilter::default()
        };
        assert_eq!(ids(s.outbox(dead).await.or_fail()), vec!["d@1/a/0/1"]);
        let b = OutboxFilter {
            channel: Some("b".into()),
            ..OutboxFilter::default()
        };
        let got = s.outbox(b).await.or_fail();
        assert_eq!(got.len(), 1);
        assert!(got[0].late);
        assert_eq!(got[0].payload, late.payload);
        assert_eq!(got[0].deadline_ms, late.deadline_ms);
        let two = OutboxFilter {
            limit: 2,
            ..OutboxFilter::default()
        };
        assert_eq!(s.outbox(two).await.or_fail().len(), 2);
        let json = serde_json::to_value(s.outbox_get("d@2/b/0/0").await.or_fail()).or_fail();
        assert_eq!(json["status"], "pending");
        assert_eq!(json["late"], true);
    })
    .await;
}

// ---- snapshot, events, inbound ids ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_task_snapshot_round_trips() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        assert!(s.load_task_snapshot().await.or_fail().is_none());
        let first = r#"[{"id":"1","title":"整改河道垃圾","status":"todo"}]"#;
        s.save_task_snapshot("tasks/整改清单.xlsx", first, T0)
            .await
            .or_fail();
        let got = s
            .load_task_snapshot()
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(
            (got.source.as_str(), got.json.as_str(), got.saved_ms),
            ("tasks/整改清单.xlsx", first, T0)
        );
        // A second save replaces the first; a big list fits.
        let big = format!("[{}]", vec![r#"{"id":"x","notes":"……"}"#; 20_000].join(","));
        s.save_task_snapshot("team.csv", &big, T0 + 1)
            .await
            .or_fail();
        let got = ctx
            .reopen()
            .await
            .load_task_snapshot()
            .await
            .or_fail()
            .unwrap_or_else(|| panic!("expected a row, found none"));
        assert_eq!(
            (got.source.as_str(), got.json.len(), got.saved_ms),
            ("team.csv", big.len(), T0 + 1)
        );
    })
    .await;
}

#[tokio::test]
async fn the_first_day_a_row_was_seen_is_kept_and_later_ones_change_nothing() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        assert!(s.first_seen().await.or_fail().is_empty());
        let rows = |day: &str| -> Vec<(String, String)> {
            ["1", "12"]
                .iter()
                .map(|id| (id.to_string(), day.to_string()))
                .collect()
        };
        assert_eq!(
            s.remember_first_seen(&rows("2026-12-01"), T0)
                .await
                .or_fail(),
            2
        );
        // Read again in February: nothing new is remembered, the December day stays.
        assert_eq!(
            s.remember_first_seen(&rows("2027-02-03"), T0 + 1)
                .await
                .or_fail(),
            0
        );
        let mut more = rows("2027-02-03");
        more.push(("央督-7".into(), "2027-02-03".into()));
        assert_eq!(s.remember_first_seen(&more, T0 + 2).await.or_fail(), 1);
        let mut seen = ctx.reopen().await.first_seen().await.or_fail();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("1".to_string(), "2026-12-01".to_string()),
                ("12".to_string(), "2026-12-01".to_string()),
                ("央督-7".to_string(), "2027-02-03".to_string()),
            ]
        );
    })
    .await;
}

fn event(id: &str, dedupe: Option<&str>, task: &str, at_ms: i64) -> NewEvent {
    NewEvent {
        id: id.into(),
        dedupe_key: dedupe.map(Into::into),
        task_id: task.into(),
        at_ms,
        actor: "zhang.wei".into(),
        source: "chat".into(),
        channel: Some("county".into()),
        field: "status".into(),
        old_value: Some("todo".into()),
        new_value: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_are_recorded_once_per_dedupe_key() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        assert!(
            s.append_event(&event("e1", Some("ding-msg-1"), "12", T0))
                .await
                .or_fail()
        );
        // The platform retries the same message: a new event id, the same key.
        assert!(
            !s.append_event(&event("e2", Some("ding-msg-1"), "12", T0 + 5))
                .await
                .or_fail()
        );
        // The same event id again.
        assert!(
            !s.append_event(&event("e1", Some("ding-msg-9"), "12", T0))
                .await
                .or_fail()
        );
        // Without a key, events never clash.
        assert!(
            s.append_event(&event("e3", None, "12", T0 + 20))
                .await
                .or_fail()
        );
        assert!(
            s.append_event(&event("e4", None, "7", T0 + 10))
                .await
                .or_fail()
        );

        let all = s.events(None, None).await.or_fail();
        let order: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(order, vec!["e1", "e4", "e3"]);
        assert_eq!(all[0].dedupe_key.as_deref(), Some("ding-msg-1"));
        assert_eq!(all[0].old_value.as_deref(), Some("todo"));
        assert_eq!(all[0].new_value, None);
        assert_eq!(all[0].channel.as_deref(), Some("county"));
        let of_12: Vec<String> = s
            .events(Some("12"), None)
            .await
            .or_fail()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(of_12, vec!["e1", "e3"]);
        let since: Vec<String> = s
            .events(None, Some(T0 + 10))
            .await
            .or_fail()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(since, vec!["e4", "e3"]);
        assert!(
            s.events(Some("12"), Some(T0 + 21))
                .await
                .or_fail()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inbound_ids_are_seen_once_per_channel() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        assert!(s.note_inbound("county", "msg-1", T0).await.or_fail());
        assert!(!s.note_inbound("county", "msg-1", T0 + 1).await.or_fail());
        assert!(s.note_inbound("team", "msg-1", T0 + 2).await.or_fail());
        assert_eq!(s.prune_inbound(T0 + 2, 100).await.or_fail(), 1);
        assert!(s.note_inbound("county", "msg-1", T0 + 3).await.or_fail());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signature_stays_bound_to_its_first_body_on_every_replica_until_pruned() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let other = ctx.reopen().await;
        let keep = |now: i64| now - 1_000;
        // First use binds; a retry of the same body is answered with it.
        assert_eq!(
            s.bind_signature("ding", "sig-1", "body-a", T0, keep(T0))
                .await
                .or_fail(),
            "body-a"
        );
        assert_eq!(
            s.bind_signature("ding", "sig-1", "body-a", T0 + 1, keep(T0))
                .await
                .or_fail(),
            "body-a"
        );
        // Another body with the same pair learns the first, on another replica too.
        assert_eq!(
            other
                .bind_signature("ding", "sig-1", "body-b", T0 + 2, keep(T0))
                .await
                .or_fail(),
            "body-a"
        );
        // Pairs are per channel.
        assert_eq!(
            s.bind_signature("ding2", "sig-1", "body-b", T0 + 3, keep(T0))
                .await
                .or_fail(),
            "body-b"
        );
        // Eight requests racing with one new pair agree on one body.
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (store, barrier) = (ctx.reopen().await, barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .bind_signature("ding", "sig-race", &format!("body-{i}"), T0 + 4, keep(T0))
                    .await
                    .or_fail()
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            winners.push(t.await.or_fail());
        }
        winners.dedup();
        assert_eq!(winners.len(), 1, "{winners:?}");
        // Once the pair can no longer be accepted its row goes, on the next binding.
        let later = T0 + 10_000;
        assert_eq!(
            s.bind_signature("ding", "sig-2", "body-c", later, keep(later))
                .await
                .or_fail(),
            "body-c"
        );
        assert_eq!(
            s.bind_signature("ding", "sig-1", "body-b", later, keep(later))
                .await
                .or_fail(),
            "body-b"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_inbound_ids_are_forgotten_a_batch_at_a_time() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        for n in 0..5 {
            assert!(
                s.note_inbound("county", &format!("m{n}"), T0)
                    .await
                    .or_fail()
            );
        }
        assert!(s.note_inbound("county", "recent", T0 + 10).await.or_fail());
        assert_eq!(s.prune_inbound(T0 + 10, 2).await.or_fail(), 2);
        assert_eq!(s.prune_inbound(T0 + 10, 2).await.or_fail(), 2);
        assert_eq!(s.prune_inbound(T0 + 10, 2).await.or_fail(), 1);
        assert_eq!(s.prune_inbound(T0 + 10, 2).await.or_fail(), 0);
        assert!(!s.note_inbound("county", "recent", T0 + 11).await.or_fail());
    })
    .await;
}

fn from_text(message_id: &str, text: &str) -> InboundText {
    InboundText {
        channel: "county".into(),
        message_id: message_id.into(),
        text_sha256: format!("sha-of-{text}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reused_message_id_with_other_text_records_nothing_and_says_so() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let done = from_text("ding-msg-1", "done 12");
        let first = [event("c1/0", Some("chat:county:ding-msg-1/0"), "12", T0)];
        assert_eq!(
            s.append_events(Some(&done), &first).await.or_fail(),
            Appended::Events(1)
        );
        // The platform's retry: the same text, nothing new, no complaint.
        assert_eq!(
            s.append_events(Some(&done), &first).await.or_fail(),
            Appended::Events(0)
        );
        // The same id with other text, and events that would otherwise be new.
        let other = [event("c2/0", Some("chat:county:other/0"), "13", T0 + 1)];
        assert_eq!(
            s.append_events(Some(&from_text("ding-msg-1", "done 13")), &other)
                .await
                .or_fail(),
            Appended::IdSeenWithOtherText
        );
        let recorded: Vec<String> = s
            .events(None, None)
            .await
            .or_fail()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(recorded, ["c1/0"]);
        // The same id on another channel is another message.
        let elsewhere = InboundText {
            channel: "team".into(),
            ..from_text("ding-msg-1", "done 13")
        };
        assert_eq!(
            s.append_events(Some(&elsewhere), &other).await.or_fail(),
            Appended::Events(1)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sent_and_dropped_messages_are_pruned_by_age_in_batches_pending_and_dead_stay() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let messages: Vec<NewMessage> = (0..6).map(|n| msg("old", "team", n, T0)).collect();
        enqueue(s, "old", &messages).await;
        for m in &messages[..3] {
            s.mark_sent(&m.id, "w", T0 + 10).await.or_fail();
        }
        assert!(s.outbox_drop(&messages[3].id, T0 + 10).await.or_fail());
        s.mark_dead(&messages[4].id, "refused", T0 + 10)
            .await
            .or_fail();
        let recent = msg("new", "team", 0, T0 + 50);
        enqueue(s, "new", std::slice::from_ref(&recent)).await;
        s.mark_sent(&recent.id, "w", T0 + 60).await.or_fail();

        assert_eq!(s.prune_outbox(T0 + 20, 3).await.or_fail(), 3);
        assert_eq!(s.prune_outbox(T0 + 20, 3).await.or_fail(), 1);
        assert_eq!(s.prune_outbox(T0 + 20, 3).await.or_fail(), 0);
        let left = all_ids(s).await;
        assert_eq!(left, ["new/team/0/0", "old/team/0/4", "old/team/0/5"]);
    })
    .await;
}

// ---- inbound cursors ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cursor_is_leased_by_one_replica_and_set_back_when_the_ids_restart_lower() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let other = ctx.reopen().await;
        let tg = "telegram:123456789";
        let lease = |until| T0 + until;
        assert_eq!(
            s.lease_cursor(tg, "a", T0, lease(90_000)).await.or_fail(),
            CursorLease::Held { position: None }
        );
        assert_eq!(
            other
                .lease_cursor(tg, "b", T0 + 1, lease(90_001))
                .await
                .or_fail(),
            CursorLease::Busy {
                holder: "a".into(),
                until_ms: lease(90_000)
            }
        );
        assert!(s.move_cursor(tg, "a", 900_001, T0 + 2).await.or_fail());
        // Telegram restarted its update ids below the last (after a week without updates):
        // the cursor follows them down, or the poller would ask with the old offset for ever.
        assert!(s.move_cursor(tg, "a", 501, T0 + 3).await.or_fail());
        assert_eq!(
            s.lease_cursor(tg, "a", T0 + 4, lease(95_000))
                .await
                .or_fail(),
            CursorLease::Held {
                position: Some(501)
            }
        );
        // "a" stalls past its lease; "b" takes over where "a" left off.
        let late = lease(95_001);
        assert_eq!(
            other
                .lease_cursor(tg, "b", late, late + 90_000)
                .await
                .or_fail(),
            CursorLease::Held {
                position: Some(501)
            }
        );
        // "a" wakes up: fenced off, and it cannot take the lease back while "b" holds it.
        assert!(!s.move_cursor(tg, "a", 600, late + 1).await.or_fail());
        assert!(matches!(
            s.lease_cursor(tg, "a", late + 2, late + 90_002).await.or_fail(),
            CursorLease::Busy { holder, .. } if holder == "b"
        ));
        // A release hands the cursor on at once.
        other.release_cursor(tg, "b", late + 3).await.or_fail();
        assert_eq!(
            s.lease_cursor(tg, "a", late + 4, late + 90_004)
                .await
                .or_fail(),
            CursorLease::Held {
                position: Some(501)
            }
        );
        // Another bot's cursor is its own.
        assert_eq!(
            other
                .lease_cursor("telegram:42", "b", late + 5, late + 9_000)
                .await
                .or_fail(),
            CursorLease::Held { position: None }
        );
        other.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_eight_replicas_asking_at_once_one_gets_the_cursor() {
    on_each_backend(|ctx| async move {
        let other = ctx.reopen().await;
        let barrier = Arc::new(Barrier::new(8));
        let mut racers = Vec::new();
        for i in 0..8 {
            let store = if i % 2 == 0 {
                ctx.store.clone()
            } else {
                other.clone()
            };
            let barrier = barrier.clone();
            racers.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .lease_cursor("telegram:7", &format!("r{i}"), T0, T0 + 60_000)
                    .await
            }));
        }
        let mut held = 0;
        for r in racers {
            match r
                .await
                .or_fail()
                .unwrap_or_else(|e| panic!("no racer may fail: {e}"))
            {
                CursorLease::Held { position: None } => held += 1,
                CursorLease::Busy { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(held, 1);
        other.close().await;
    })
    .await;
}

// ---- properties ----------------------------------------------------------------------------------

/// Whatever the mix of slots, channels and parts, draining a channel yields its messages in
/// (created_ms, ord, id) order, and every channel is drained completely.
#[test]
fn draining_channels_follows_creation_order() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .or_fail();
    for fresh in rt.block_on(fresh_databases()) {
        let store = rt.block_on(Store::open(&fresh.url)).or_fail();
        let backend = fresh.backend;
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        let case = AtomicU64::new(0);
        // (slot created offset, channel index, part count) per slot
        let strategy = proptest::collection::vec((0i64..5, 0usize..3, 1i64..4), 1..8);
        let outcome = runner.run(&strategy, |slots| {
            let n = case.fetch_add(1, Ordering::Relaxed);
            let result = rt.block_on(drain_case(&store, n, &slots));
            prop_assert!(result.is_ok(), "{:?}", result);
            Ok(())
        });
        rt.block_on(store.close());
        rt.block_on(fresh.cleanup());
        if let Err(e) = outcome {
            panic!("on {backend}: {e}");
        }
    }
}

/// One property case: enqueue the slots, drain every channel, compare with the sorted order.
/// Channel names carry the case number, so cases share one database without meeting.
async fn drain_case(store: &Store, n: u64, slots: &[(i64, usize, i64)]) -> Result<(), String> {
    let mut expected: Vec<Vec<(i64, i64, String)>> = vec![Vec::new(); 3];
    for (i, (offset, channel, parts)) in slots.iter().enumerate() {
        let slot = format!("p{n}@{i}");
        let channel_name = format!("case{n}-c{channel}");
        let created = T0 + offset;
        let messages: Vec<NewMessage> = (0..*parts)
            .map(|ord| msg(&slot, &channel_name, ord, created))
            .collect();
        for m in &messages {
            expected[*channel].push((m.created_ms, m.ord, m.id.clone()));
        }
        let c = claim(&format!("p{n}"), &i.to_string(), created, "p");
        store
            .claim_slot(&c, &messages)
            .await
            .map_err(|e| e.to_string())?;
    }
    for (channel, want) in expected.iter_mut().enumerate() {
        // The guarantee is (created_ms, ord) order; ties between slots are broken by id, whose
        // order follows the database's collation, so compare keys and the set of ids.
        want.sort();
        let mut got = Vec::new();
        let now = T0 + 1_000;
        let name = format!("case{n}-c{channel}");
        loop {
            match lease_head(store, &name, "w", now, 1_000).await {
                Ok(Head::Leased(m)) => {
                    store
                        .mark_sent(&m.id, "w", now)
                        .await
                        .map_err(|e| e.to_string())?;
                    got.push((m.created_ms, m.ord, m.id));
                }
                Ok(Head::Empty) => break,
                Ok(other) => return Err(format!("unexpected {other:?}")),
                Err(e) => return Err(e.to_string()),
            }
        }
        let keys = |v: &[(i64, i64, String)]| -> Vec<(i64, i64)> {
            v.iter().map(|(c, o, _)| (*c, *o)).collect()
        };
        let mut got_ids: Vec<&String> = got.iter().map(|(_, _, id)| id).collect();
        got_ids.sort();
        let mut want_ids: Vec<&String> = want.iter().map(|(_, _, id)| id).collect();
        want_ids.sort();
        if keys(&got) != keys(want) || got_ids != want_ids {
            return Err(format!("channel {channel}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

// ---- directory look-ups --------------------------------------------------------------------------

#[tokio::test]
async fn a_directory_answer_is_kept_replaced_and_a_not_found_is_kept_as_none() {
    on_each_backend(|ctx| async move {
        let s = &ctx.store;
        let other = ctx.reopen().await;
        s.put_directory(Platform::Dingtalk, "mobile", "13800000001", None, T0)
            .await
            .or_fail();
        s.put_directory(
            Platform::Slack,
            "email",
            "li@example.com",
            Some("U012AB"),
            T0,
        )
        .await
        .or_fail();
        // The person joined DingTalk later: the next look-up's answer replaces "not found".
        other
            .put_directory(
                Platform::Dingtalk,
                "mobile",
                "13800000001",
                Some("manager42"),
                T0 + 9,
            )
            .await
            .or_fail();
        assert_eq!(
            s.directory().await.or_fail(),
            vec![
                DirectoryEntry {
                    platform: Platform::Dingtalk,
                    key_kind: "mobile".into(),
                    key: "13800000001".into(),
                    user_id: Some("manager42".into()),
                    resolved_ms: T0 + 9,
                },
                DirectoryEntry {
                    platform: Platform::Slack,
                    key_kind: "email".into(),
                    key: "li@example.com".into(),
                    user_id: Some("U012AB".into()),
                    resolved_ms: T0,
                },
            ]
        );
        other.close().await;
    })
    .await;
}
