//! What weekbell does when what it stands on fails while it runs (docs/guarantees.md, the
//! failure table): the database goes away and comes back, the disk fills up and is freed, the
//! clock jumps forward and back.
//!
//! - `postgres_going_away_…`: the real `weekbell run` on PostgreSQL through a TCP proxy that
//!   the test cuts for 12 s (every connection dropped, new ones refused) while a digest is due
//!   every 3 s and a command arrives. Needs `WEEKBELL_TEST_PG_URL` (CI sets it); without it
//!   the test says so and passes.
//! - `a_full_disk_…`: the real daemon on SQLite on a 4 MiB tmpfs that the test fills to the
//!   last byte and frees again. Mounting needs root (CI runs as root); elsewhere the test says
//!   why it cannot run and passes.
//! - `clock_jumps_…`: the scheduler on a real SQLite store with a clock the test moves.
//!
//! Each outage test then holds the ledger and outbox against the sink: every slot in the ledger
//! once, none lost, every message sent, and more copies at the sink than sent messages only as
//! the at-least-once rule allows (a send whose outcome could not be recorded). It prints a
//! summary line for CI logs.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::ConnectOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::chat_servers::{FakeOptions, FakeServer, FakeWebhook};
use support::daemon::{Daemon, wait_until};
use support::pg::FreshDatabase;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use weekbell::clock::Clock;
use weekbell::daemon::{Scheduler, Shared};
use weekbell::plan::Plan;
use weekbell::store::{LedgerEntry, OutboxFilter, OutboxStatus, SlotStatus, Store};

const SLOT_EVERY_MS: i64 = 3_000;
const API_TOKEN: &str = "wb_outage_test_token_5b1e";
const OUTAGE: Duration = Duration::from_secs(12);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The English team list, one generic webhook channel that also takes API commands, a
/// digest every 3 s with an hour of catch-up, and an HTTP server on `port`.
fn write_config(dir: &Path, store_url: &str, port: u16) -> PathBuf {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "{store_url}"
[server]
listen = "127.0.0.1:{port}"
sender_rate_limit = "off"
[tasks]
source = "{tasks}"
[tasks.columns]
owners = "owner"
unit = "team"
[channels.sink]
platform = "webhook"
webhook = "${{SINK_URL}}"
token = "${{API_TOKEN}}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
[[schedules]]
name = "tick"
cron = "*/3 * * * * *"
kind = "digest"
channels = ["sink"]
catch_up = "1h"
"#,
        tasks = tasks.display(),
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One API command; the HTTP status and the JSON answer (`Null` when there is none).
async fn command(port: u16, id: &str, text: &str) -> (u16, Value) {
    let response = client()
        .post(format!("http://127.0.0.1:{port}/hooks/sink"))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "id": id, "as": "alice", "text": text }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the command did not get an answer: {e}"));
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// The command sent again as a platform would after an error, until it is answered 200 (or
/// 40 s have passed): the last status and answer.
async fn retry_command(port: u16, id: &str, text: &str) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (status, answer) = command(port, id, text).await;
        if status == 200 || Instant::now() > deadline {
            return (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Stops the daemon just after a digest arrived, so that no slot is claimed too late to be
/// sent before the stop (it would rightly stay in the outbox for the next start).
async fn stop_between_slots(daemon: Daemon, sink: &FakeServer) -> (Option<i32>, String) {
    let seen = sink.received().len();
    wait_until("the next digest", Duration::from_secs(10), || {
        sink.received().len() > seen
    })
    .await;
    daemon.terminate().await
}

/// A sink, a port and the daemon on `store_url`, once it has sent its first two digests.
async fn start(dir: &Path, store_url: &str) -> (FakeServer, u16, Daemon) {
    let sink = FakeWebhook::start(FakeOptions::default()).await;
    let port = support::free_port();
    let config = write_config(dir, store_url, port);
    let sink_url = sink.url();
    let env = [("SINK_URL", sink_url.as_str()), ("API_TOKEN", API_TOKEN)];
    let daemon = Daemon::start(dir, &config, &env);
    wait_until("the first digests", Duration::from_secs(30), || {
        sink.received().len() >= 2
    })
    .await;
    (sink, port, daemon)
}

async fn healthy(port: u16) -> bool {
    client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn whole_outbox(store: &Store) -> Vec<weekbell::store::OutboxMessage> {
    store
        .outbox(OutboxFilter {
            limit: 0,
            ..OutboxFilter::default()
        })
        .await
        .unwrap_or_else(|e| panic!("cannot read the outbox: {e}"))
}

/// The ledger and outbox after the daemon stopped, held against what the sink received.
/// Returns the summary counts: (slots, messages, copies at the sink, duplicates).
async fn check_nothing_lost(
    store: &Store,
    sink: &FakeServer,
    log: &str,
) -> (usize, usize, usize, usize) {
    let mut ledger: Vec<LedgerEntry> = store
        .ledger(Some("tick"), 0)
        .await
        .unwrap_or_else(|e| panic!("cannot read the ledger: {e}"));
    ledger.sort_by_key(|e| e.slot_at_ms);
    assert!(
        ledger.len() >= 8,
        "too few slots for the test to mean anything: {ledger:?}\n{log}"
    );
    for pair in ledger.windows(2) {
        assert_eq!(
            pair[1].slot_at_ms - pair[0].slot_at_ms,
            SLOT_EVERY_MS,
            "a slot is missing between {} and {}\n{log}",
            pair[0].slot_local,
            pair[1].slot_local
        );
    }
    let skipped: Vec<&str> = ledger
        .iter()
        .filter(|e| e.status == SlotStatus::Skipped)
        .map(|e| e.slot_local.as_str())
        .collect();
    assert!(
        skipped.is_empty(),
        "slots skipped, though within catch_up: {skipped:?}"
    );
    let outbox = whole_outbox(store).await;
    let unsent: Vec<String> = outbox
        .iter()
        .filter(|m| m.status != OutboxStatus::Sent)
        .map(|m| format!("{} {:?}", m.id, m.status))
        .collect();
    assert!(unsent.is_empty(), "not sent: {unsent:?}\n{log}");
    // Nothing half-written: each claim holds exactly the messages it says it enqueued.
    for entry in &ledger {
        let key = format!("tick@{}", entry.slot_local);
        let n = outbox.iter().filter(|m| m.slot_key == key).count();
        assert_eq!(
            i64::try_from(n).unwrap_or(-1),
            entry.messages,
            "slot {key}: the claim says {} messages, the outbox holds {n}",
            entry.messages
        );
        assert!(n >= 1, "slot {key} enqueued nothing");
    }
    let copies = sink.received().len();
    assert!(
        copies >= outbox.len(),
        "the sink got {copies} messages for {} sent: messages were lost\n{log}",
        outbox.len()
    );
    (ledger.len(), outbox.len(), copies, copies - outbox.len())
}

/// A send is repeated only when its outcome could not be recorded: every duplicate has a
/// logged failure to record behind it.
fn check_duplicates_explained(duplicates: usize, log: &str) {
    let unrecorded = log
        .lines()
        .filter(|l| l.contains("cannot record the outcome of sends"))
        .count();
    assert!(
        duplicates == 0 || unrecorded > 0,
        "{duplicates} duplicate sends, but no outcome failed to be recorded\n{log}"
    );
}

/// While the store refuses, the scheduler backs off instead of retrying in a tight loop.
fn check_no_retry_storm(log: &str, outage: Duration) {
    let retries = log
        .lines()
        .filter(|l| l.contains("could not record a slot"))
        .count();
    let bound = usize::try_from(outage.as_secs()).unwrap_or(usize::MAX);
    assert!(
        retries <= bound,
        "{retries} attempts to record a slot in a {}s outage: the scheduler does not back off",
        outage.as_secs()
    );
}

// ---------------------------------------------------------------------------------------------
// The database goes away: PostgreSQL behind a proxy the test cuts.

/// A TCP proxy to `upstream` that can drop every connection and refuse new ones.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (accept_up, accept_cut) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut downstream, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(downstream);
                    continue;
                }
                let mut cut_seen = accept_cut.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut downstream, &mut server) => {}
                        _ = cut_seen.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user@host:port/db?…` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

/// `url` with its `host:port` replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    url.replacen(&host_port(url), &addr.to_string(), 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_going_away_loses_no_slot_and_no_command() {
    let Some(admin_url) = support::pg::admin_url() else {
        return;
    };
    let db = FreshDatabase::create(&admin_url, "outage").await;
    let proxy = Proxy::start(host_port(&db.url)).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (sink, port, daemon) = start(dir.path(), &through(&db.url, proxy.addr)).await;

    proxy.cut();
    let cut_at = Instant::now();
    // A command while the database is away is not lost: it is refused with an error status
    // (503 when the store fails at once, 408 when it does not answer within the request
    // timeout), so the platform retries it, and nothing is recorded.
    let (status, _) = command(port, "req-during-outage", "progress API-101 40%").await;
    assert!(
        status == 503 || status == 408,
        "a command during the outage got HTTP {status}"
    );
    assert!(
        healthy(port).await,
        "the daemon stopped answering /healthz during the outage"
    );
    tokio::time::sleep(OUTAGE.saturating_sub(cut_at.elapsed())).await;
    let during = sink.received().len();
    proxy.restore();

    // The platform's retry of that command, after the database is back: recorded once.
    let (status, answer) = retry_command(port, "req-during-outage", "progress API-101 40%").await;
    assert_eq!(
        status,
        200,
        "the retried command after the outage: {answer}\n{}",
        daemon.log()
    );
    assert_eq!(answer["recorded"], json!(1), "{answer}");
    let (_, again) = command(port, "req-during-outage", "progress API-101 40%").await;
    assert_eq!(
        again["recorded"],
        json!(0),
        "a second retry recorded again: {again}"
    );
    assert!(
        again["reply"].as_str().is_some_and(|r| r.contains("40%")),
        "{again}"
    );

    // The slots that fell due during the outage are sent once it is over.
    let outage_slots = usize::try_from(OUTAGE.as_millis() / 3_000).unwrap_or(0);
    wait_until("the slots of the outage", Duration::from_secs(60), || {
        sink.received().len() > during + outage_slots
    })
    .await;
    let (code, log) = stop_between_slots(daemon, &sink).await;
    assert_eq!(code, Some(0), "weekbell run did not stop cleanly:\n{log}");
    let store = Store::open(&db.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
    let (slots, messages, copies, duplicates) = check_nothing_lost(&store, &sink, &log).await;
    check_duplicates_explained(duplicates, &log);
    check_no_retry_storm(&log, OUTAGE);
    store.close().await;
    eprintln!(
        "database outage: outage={}s slots={slots} messages={messages} copies={copies} \
         duplicates={duplicates} losses=0",
        OUTAGE.as_secs()
    );
}

// ---------------------------------------------------------------------------------------------
// The disk fills up: SQLite on a small tmpfs the test fills.

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// `None` (with the reason) when this process may not mount (not root, no tmpfs).
    fn mount(path: PathBuf, size: &str) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(SmallDisk { path })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Writes a file until the disk refuses: every block is taken.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let Ok(mut file) = std::fs::File::create(&filler) else {
            return filler;
        };
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&[0u8]);
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_writes_and_loses_nothing_once_freed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let disk = match SmallDisk::mount(dir.path().join("disk"), "4m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipped: cannot mount a small tmpfs to fill ({why}); CI runs this as root");
            return;
        }
    };
    let db_path = disk.path.join("weekbell.db");
    let (sink, port, daemon) = start(dir.path(), &format!("sqlite://{}", db_path.display())).await;

    let filler = disk.fill();
    let full_at = Instant::now();
    wait_until(
        "a write refused for want of space",
        Duration::from_secs(20),
        || daemon.log().contains("disk is full"),
    )
    .await;
    let (status, answer) =
        command(port, "req-disk-full", "note API-101 written on a full disk").await;
    assert!(
        status == 503 || status == 200 && answer["recorded"] == json!(1),
        "a command on a full disk got HTTP {status}: {answer}"
    );
    let refused = status == 503;
    assert!(
        healthy(port).await,
        "the daemon stopped answering /healthz on a full disk"
    );
    tokio::time::sleep(OUTAGE.saturating_sub(full_at.elapsed())).await;
    let during = sink.received().len();
    std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("cannot free the disk: {e}"));

    let (status, answer) =
        retry_command(port, "req-disk-full", "note API-101 written on a full disk").await;
    assert_eq!(
        status, 200,
        "the retried command after freeing the disk: {answer}"
    );
    let expected = if refused { json!(1) } else { json!(0) };
    assert_eq!(answer["recorded"], expected, "{answer}");
    let outage_slots = usize::try_from(OUTAGE.as_millis() / 3_000).unwrap_or(0);
    wait_until(
        "the slots due while the disk was full",
        Duration::from_secs(60),
        || sink.received().len() > during + outage_slots,
    )
    .await;
    let (code, log) = stop_between_slots(daemon, &sink).await;
    assert_eq!(code, Some(0), "weekbell run did not stop cleanly:\n{log}");

    let store = Store::open(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap_or_else(|e| panic!("cannot open the store after the test: {e}"));
    let (slots, messages, copies, duplicates) = check_nothing_lost(&store, &sink, &log).await;
    check_duplicates_explained(duplicates, &log);
    check_no_retry_storm(&log, OUTAGE);
    store.close().await;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db_path)
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open the SQLite file: {e}"));
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot check the SQLite file: {e}"));
    assert_eq!(integrity, "ok", "the SQLite file is damaged");
    eprintln!(
        "disk full: outage={}s slots={slots} messages={messages} copies={copies} \
         duplicates={duplicates} losses=0 command_refused={refused}",
        OUTAGE.as_secs()
    );
}

// ---------------------------------------------------------------------------------------------
// The clock jumps: the scheduler with a clock the test sets.

/// A clock the test moves by hand, forward or back.
struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = t;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0)
        .single()
        .unwrap_or_else(|| panic!("no such time {h}:{m}"))
}

/// An hourly digest with two hours of catch-up, to a console channel.
fn hourly_plan(dir: &Path) -> Plan {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        "timezone = \"UTC\"\nlocale = \"en\"\n[tasks]\nsource = \"{}\"\n[tasks.columns]\n\
         owners = \"owner\"\nunit = \"team\"\n[channels.terminal]\nplatform = \"console\"\n\
         [[schedules]]\nname = \"hourly\"\ncron = \"0 * * * *\"\nkind = \"digest\"\n\
         channels = [\"terminal\"]\ncatch_up = \"2h\"\n",
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    Plan::load(&path, at(10, 0).date_naive()).unwrap_or_else(|e| panic!("{e}"))
}

async fn slots(store: &Store) -> Vec<(String, SlotStatus)> {
    let mut ledger = store
        .ledger(Some("hourly"), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger.sort_by_key(|e| e.slot_at_ms);
    ledger
        .into_iter()
        .map(|e| (e.slot_local, e.status))
        .collect()
}

async fn fire_due(schedulers: &mut [&mut Scheduler], plan: &Plan) {
    for s in schedulers {
        s.fire_due(plan).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn clock_jumps_send_each_slot_at_most_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plan = hourly_plan(dir.path());
    let url = format!("sqlite://{}", dir.path().join("weekbell.db").display());
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock(std::sync::Mutex::new(at(10, 30))));
    let shared = Arc::new(Shared::new(store.clone(), clock.clone()));
    let mut scheduler = Scheduler::new(shared.clone());
    scheduler
        .catch_up(&plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    clock.set(at(11, 0));
    fire_due(&mut [&mut scheduler], &plan).await;
    assert_eq!(
        slots(&store).await,
        [("2026-12-07T11:00".into(), SlotStatus::OnTime)]
    );

    // Forward four hours (a suspended laptop, an NTP step): the slots more than catch_up late
    // are recorded as skipped, the ones within it are sent.
    clock.set(at(15, 10));
    fire_due(&mut [&mut scheduler], &plan).await;
    assert_eq!(
        slots(&store).await,
        [
            ("2026-12-07T11:00".into(), SlotStatus::OnTime),
            ("2026-12-07T12:00".into(), SlotStatus::Skipped),
            ("2026-12-07T13:00".into(), SlotStatus::Skipped),
            ("2026-12-07T14:00".into(), SlotStatus::OnTime),
            ("2026-12-07T15:00".into(), SlotStatus::OnTime),
        ]
    );

    // Back three hours, in this process and in a new one (a restart after the clock was
    // corrected): the hours passed a second time fire nothing again.
    clock.set(at(12, 5));
    fire_due(&mut [&mut scheduler], &plan).await;
    let mut restarted = Scheduler::new(shared.clone());
    restarted
        .catch_up(&plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for h in [13, 14, 15] {
        clock.set(at(h, 1));
        fire_due(&mut [&mut scheduler, &mut restarted], &plan).await;
    }
    assert_eq!(slots(&store).await.len(), 5, "{:?}", slots(&store).await);

    // Once the clock is past the last slot again, the schedule goes on, each slot once.
    clock.set(at(16, 0));
    fire_due(&mut [&mut scheduler, &mut restarted], &plan).await;
    let after = slots(&store).await;
    assert_eq!(after.len(), 6, "{after:?}");
    assert_eq!(after[5], ("2026-12-07T16:00".into(), SlotStatus::OnTime));
    let sent = whole_outbox(&store).await;
    // One digest per slot sent (11, 14, 15, 16): none twice.
    let mut keys: Vec<&str> = sent.iter().map(|m| m.slot_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(
        sent.len(),
        keys.len(),
        "a slot was enqueued twice: {keys:?}"
    );
    store.close().await;
}
