//! "Nothing lost, nothing twice": the real daemon posts a digest every two seconds to a local
//! DingTalk robot (`support/chaos_sink.rs`) that fails about a third of its requests (HTTP
//! 5xx, 429 with `Retry-After: 1`, `errcode -1` in a 200, a 12 s stall past weekbell's 10 s
//! request timeout, a reset connection), while the daemon is killed with SIGKILL at random
//! points (0.5–3 s after each start, down 0–3 s, once 45 s) at least 20 times and restarted.
//! Then one last run, with the schedule moved out of the way, drains the outbox (faults on for
//! its first minute, then off) and stops on SIGTERM; the SQLite ledger and outbox are then held
//! against what the robot received. About 3.5 minutes; bounded by the budgets below.
//!
//! Every digest body is the same text (the built-in template shows dates, not the slot's time,
//! and weekbell sends no idempotency key), so messages are told apart by order and time: one
//! channel's messages are sent strictly one after another, weekbell records `sent_ms` after the
//! robot's answer (which the robot holds back at least 20 ms) and leases the next message only
//! after that record is written. So the robot's acceptances up to 10 ms before a message's
//! `sent_ms`, and after the previous message's, are that message's copies: the last is the one
//! weekbell recorded, any earlier one is a duplicate, whose first copy must have been in flight
//! when a daemon was killed (one per kill at most).
//!
//! The ledger is also checked against the kills: no slot from before the first start, slots
//! claimed in time order, and of the slots missed while down (older than the 30 s start-up
//! grace) at most the newest sent, marked late.
//!
//! Repeat a run with `WEEKBELL_FAULTS_SEED=<seed>` (the robot's faults and the kill timing
//! follow the seed; weekbell's own backoff jitter does not).

#[path = "support/chaos_sink.rs"]
mod chaos_sink;
mod support;

use chaos_sink::{Accepted, ChaosOptions, ChaosSink, Fault};
use sqlx::{ConnectOptions, Row};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::daemon::Daemon;

/// Kills to aim for; at least [`MIN_KILLS`] must happen (the chaos may overrun
/// [`CHAOS_BUDGET`] by 30 s for them).
const KILLS: usize = 24;
const MIN_KILLS: usize = 20;
/// No new daemon is started for the chaos after this long (once [`MIN_KILLS`] are done).
const CHAOS_BUDGET: Duration = Duration::from_secs(150);
/// Once, halfway, the daemon stays down this long: longer than [`STARTUP_GRACE_US`] by enough
/// for a few slots to be missed for good (one sent late, the others skipped).
const LONG_DOWNTIME: Duration = Duration::from_secs(45);
/// weekbell's `daemon::scheduler::STARTUP_GRACE`: at a start, slots of the last 30 s are fired
/// as usual; only older ones count as missed (README, "Sending").
const STARTUP_GRACE_US: i64 = 30_000_000;
/// The last run must empty the outbox within this long.
const DRAIN_BUDGET: Duration = Duration::from_secs(150);
/// The faults stay on while draining until this long, then stop, so that an unlucky run of
/// failures (backoff doubles: 2, 4, 8, … s) cannot outlast [`DRAIN_BUDGET`].
const DRAIN_CALM_AFTER: Duration = Duration::from_secs(60);
/// Every successful answer is delayed at least this long (see [`ChaosOptions::min_latency`]).
const MIN_LATENCY: Duration = Duration::from_millis(20);
/// weekbell's request timeout (`platforms::SEND_TIMEOUT`) is 10 s; a stall outlasts it.
const STALL: Duration = Duration::from_secs(12);
/// A first copy may reach the robot a little after its sender was killed (the kernel still
/// delivers what the process wrote).
const POST_MORTEM_SLACK_US: i64 = 1_000_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The English team list, one DingTalk channel on the robot (no secret, no rate limit) and a
/// digest on `cron` with a catch-up of an hour.
fn write_config(dir: &Path, cron: &str) -> PathBuf {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "sqlite://weekbell.db"
[tasks]
source = "{}"
[tasks.columns]
owners = "owner"
unit = "team"
[channels.ding]
platform = "dingtalk"
webhook = "${{DING_HOOK}}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
dingtalk = "ding-alice"
[[schedules]]
name = "tick"
cron = "{cron}"
kind = "digest"
channels = ["ding"]
catch_up = "1h"
"#,
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn open_db(dir: &Path) -> sqlx::SqliteConnection {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("weekbell.db"))
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open the store: {e}"))
}

async fn pending(dir: &Path) -> Option<i64> {
    if !dir.join("weekbell.db").exists() {
        return None;
    }
    let mut db = open_db(dir).await;
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .fetch_one(&mut db)
        .await
        .ok()
}

struct Slot {
    local: String,
    at_ms: i64,
    status: String,
    messages: i64,
    claimed_ms: i64,
}

struct Message {
    id: String,
    slot_key: String,
    status: String,
    attempts: i64,
    created_ms: i64,
    ord: i64,
    sent_ms: Option<i64>,
}

async fn read_store(dir: &Path) -> (Vec<Slot>, Vec<Message>) {
    let mut db = open_db(dir).await;
    let ledger = sqlx::query(
        "SELECT schedule, slot_local, slot_at_ms, status, messages, claimed_ms \
         FROM slot_ledger ORDER BY slot_at_ms",
    )
    .fetch_all(&mut db)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .iter()
    .map(|r| {
        let schedule: String = r.get("schedule");
        assert_eq!(schedule, "tick");
        Slot {
            local: r.get("slot_local"),
            at_ms: r.get("slot_at_ms"),
            status: r.get("status"),
            messages: r.get("messages"),
            claimed_ms: r.get("claimed_ms"),
        }
    })
    .collect();
    let outbox = sqlx::query(
        "SELECT id, slot_key, channel, status, attempts, created_ms, ord, sent_ms FROM outbox",
    )
    .fetch_all(&mut db)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .iter()
    .map(|r| {
        let channel: String = r.get("channel");
        assert_eq!(channel, "ding");
        Message {
            id: r.get("id"),
            slot_key: r.get("slot_key"),
            status: r.get("status"),
            attempts: r.get("attempts"),
            created_ms: r.get("created_ms"),
            ord: r.get("ord"),
            sent_ms: r.get("sent_ms"),
        }
    })
    .collect();
    (ledger, outbox)
}

/// The `slot=…` of every "slot claimed" line.
fn claimed_slots(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("slot claimed"))
        .filter_map(|l| {
            let rest = &l[l.find("slot=")? + 5..];
            Some(
                rest.split_whitespace()
                    .next()?
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .collect()
}

/// Everything that happened within 15 s of `around_us`, in time order, for a failure message.
fn timeline(
    around_us: i64,
    sent: &[&Message],
    accepted: &[Accepted],
    faults: &[(Fault, i64)],
    kills: &[Kill],
    logs: &str,
) -> String {
    let near = |t: i64| (t - around_us).abs() <= 15_000_000;
    let mut events: Vec<(i64, String)> = Vec::new();
    for m in sent {
        let t = m.sent_ms.unwrap_or(0) * 1000;
        if near(t) {
            events.push((
                t,
                format!("outbox: {} sent_ms (attempts {})", m.id, m.attempts),
            ));
        }
    }
    for a in accepted.iter().filter(|a| near(a.wall_us)) {
        events.push((a.wall_us, "robot: accepted".into()));
    }
    for (f, t) in faults.iter().filter(|(_, t)| near(*t)) {
        events.push((*t, format!("robot: fault {}", f.name())));
    }
    for k in kills {
        if near(k.started_us) {
            events.push((k.started_us, "test: SIGKILL".into()));
            events.push((k.done_us, "test: killed".into()));
        }
    }
    for line in logs.lines() {
        let t = line
            .split_whitespace()
            .next()
            .and_then(|w| chrono::DateTime::parse_from_rfc3339(w).ok())
            .map(|d| d.timestamp_micros());
        if let Some(t) = t
            && near(t)
            && (line.contains("delivery") || line.contains("started") || line.contains("slot"))
        {
            events.push((t, format!("log: {}", &line[28.min(line.len())..])));
        }
    }
    events.sort_by_key(|e| e.0);
    events
        .iter()
        .map(|(t, e)| {
            let dt = chrono::DateTime::from_timestamp_micros(*t).unwrap_or_default();
            format!("{} {e}", dt.format("%H:%M:%S%.6f"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ledger against the kills: no slot before the first start, claims in time order, and
/// of the slots missed while down (older than the start-up grace) at most the newest sent, late.
fn check_slot_rules(ledger: &[Slot], kills: &[Kill], spawns_us: &[i64]) {
    let skipped = ledger.iter().filter(|s| s.status == "skipped").count();
    let late = ledger.iter().filter(|s| s.status == "late").count();
    let slot_list = || {
        ledger
            .iter()
            .map(|s| {
                let at = chrono::DateTime::from_timestamp_millis(s.claimed_ms).unwrap_or_default();
                format!(
                    "{} {} (claimed {})",
                    s.local,
                    s.status,
                    at.format("%H:%M:%S%.3f")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    // A schedule the ledger has never seen starts from now: no slot before the first start.
    let first_start_ms = spawns_us[0] / 1000;
    let early: Vec<&str> = ledger
        .iter()
        .filter(|s| s.at_ms < first_start_ms)
        .map(|s| s.local.as_str())
        .collect();
    assert!(
        early.is_empty(),
        "slots from before weekbell first started ({}) are in the ledger: {early:?}\n{}",
        chrono::DateTime::from_timestamp_millis(first_start_ms).unwrap_or_default(),
        slot_list()
    );
    // Slots are claimed in time order: a restart never goes back to fill in slots older than
    // one already claimed.
    for w in ledger.windows(2) {
        assert!(
            w[0].claimed_ms <= w[1].claimed_ms,
            "slot {} was claimed after the later slot {}\n{}",
            w[0].local,
            w[1].local,
            slot_list()
        );
    }
    // Missed while down (and older than the start-up grace): at most the newest is sent,
    // late; the others are skipped.
    for (i, k) in kills.iter().enumerate() {
        let Some(&next) = spawns_us.get(i + 1) else {
            continue;
        };
        let missed: Vec<&Slot> = ledger
            .iter()
            .filter(|s| {
                s.at_ms * 1000 > k.done_us && s.at_ms * 1000 < next - STARTUP_GRACE_US - 1_000_000
            })
            .collect();
        let sent: Vec<&&Slot> = missed.iter().filter(|s| s.status != "skipped").collect();
        assert!(
            sent.len() <= 1 && sent.iter().all(|s| s.status == "late"),
            "slots missed while down: {:?}\n{}",
            missed
                .iter()
                .map(|s| format!("{} {}", s.local, s.status))
                .collect::<Vec<_>>(),
            slot_list()
        );
    }
    assert!(
        skipped >= 1 && late >= 1,
        "a {LONG_DOWNTIME:?} outage left no skipped or late slot\n{}",
        slot_list()
    );
}

#[derive(Debug, Clone, Copy)]
struct Kill {
    started_us: i64,
    done_us: i64,
}

/// What the chaos and the drain left: the kills, the daemons' starts and logs, and figures.
struct Run {
    seed: u64,
    began: Instant,
    kills: Vec<Kill>,
    spawns_us: Vec<i64>,
    logs: Vec<String>,
    /// The drain's daemon log.
    last_log: String,
    chaos_took: Duration,
    drain_took: Duration,
    pending_at_drain: i64,
    /// When the faults were turned off while draining, if they were.
    calmed: Option<Duration>,
}

/// Runs the daemon against `sink`, SIGKILLs it [`KILLS`] times, then lets one last daemon
/// drain the outbox and stop cleanly.
async fn kill_and_restart_then_drain(
    seed: u64,
    sink: &ChaosSink,
    dir: &Path,
    began: Instant,
) -> Run {
    let cfg = write_config(dir, "*/2 * * * * *");
    let url = sink.url();
    let env = [("DING_HOOK", url.as_str())];
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);

    // Chaos: run, kill at a random point, stay down a while (long enough, sometimes, for
    // slots to be missed and caught up or skipped), restart.
    let mut kills: Vec<Kill> = Vec::new();
    let mut spawns_us: Vec<i64> = Vec::new();
    let mut logs: Vec<String> = Vec::new();
    while kills.len() < KILLS
        && (began.elapsed() < CHAOS_BUDGET || kills.len() < MIN_KILLS)
        && began.elapsed() < CHAOS_BUDGET + Duration::from_secs(30)
    {
        spawns_us.push(chrono::Utc::now().timestamp_micros());
        let d = Daemon::start(dir, &cfg, &env);
        tokio::time::sleep(Duration::from_millis(rng.u64(500..=3000))).await;
        let started_us = chrono::Utc::now().timestamp_micros();
        let log = d.kill9();
        kills.push(Kill {
            started_us,
            done_us: chrono::Utc::now().timestamp_micros(),
        });
        logs.push(log);
        let down = if kills.len() == KILLS / 2 {
            LONG_DOWNTIME
        } else {
            Duration::from_millis(rng.u64(0..=3000))
        };
        tokio::time::sleep(down).await;
    }
    let chaos_took = began.elapsed();
    let last = logs.last().cloned().unwrap_or_default();
    assert!(
        kills.len() >= MIN_KILLS,
        "only {} kills in {chaos_took:?}; last log:\n{}",
        kills.len(),
        tail(&last, 40)
    );

    // Drain: the schedule moved to New Year's midnight so that no new slot comes; the faults
    // stay on (for DRAIN_CALM_AFTER at most). Runs until the outbox has nothing pending, then
    // SIGTERM.
    let drain_began = Instant::now();
    let pending_at_drain = pending(dir).await.unwrap_or(0);
    let cfg = write_config(dir, "0 0 0 1 1 *");
    spawns_us.push(chrono::Utc::now().timestamp_micros());
    let d = Daemon::start(dir, &cfg, &env);
    let mut calmed = None;
    loop {
        if pending(dir).await == Some(0) {
            break;
        }
        if calmed.is_none() && drain_began.elapsed() > DRAIN_CALM_AFTER {
            sink.set_chaos(false);
            calmed = Some(drain_began.elapsed());
        }
        if drain_began.elapsed() > DRAIN_BUDGET {
            panic!(
                "the outbox still has {:?} pending after {DRAIN_BUDGET:?} of draining (seed {seed}); \
                 daemon log:\n{}",
                pending(dir).await,
                tail(&d.log(), 80)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{}", tail(&log, 60));
    logs.push(log.clone());
    let drain_took = drain_began.elapsed();

    Run {
        seed,
        began,
        kills,
        spawns_us,
        logs,
        last_log: log,
        chaos_took,
        drain_took,
        pending_at_drain,
        calmed,
    }
}

/// The slots' figures: messages expected, slots skipped and late.
struct SlotCounts {
    expected: i64,
    skipped: usize,
    late: usize,
}

/// The ledger has one row per slot, every slot on the two-second grid, each time once; no
/// slot fired twice, and each claimed slot's messages are exactly the ledger's count.
fn each_slot_is_in_the_ledger_once_and_fired_at_most_once(
    ledger: &[Slot],
    outbox: &[Message],
    all_logs: &str,
) -> SlotCounts {
    let mut times = HashSet::new();
    for s in ledger {
        assert_eq!(s.at_ms % 2000, 0, "slot {} off the grid", s.local);
        assert!(
            times.insert(s.at_ms),
            "slot {} twice in the ledger",
            s.local
        );
        assert!(
            ["on_time", "late", "skipped"].contains(&s.status.as_str()),
            "slot {} is {}",
            s.local,
            s.status
        );
    }
    let skipped = ledger.iter().filter(|s| s.status == "skipped").count();
    let late = ledger.iter().filter(|s| s.status == "late").count();
    // No slot fired twice: each claim is logged once, and each claimed slot's messages are
    // exactly the ledger's count; skipped slots have none.
    let mut seen = HashSet::new();
    for key in claimed_slots(all_logs) {
        assert!(seen.insert(key.clone()), "slot {key} was claimed twice");
    }
    let mut by_slot: BTreeMap<&str, Vec<&Message>> = BTreeMap::new();
    for m in outbox {
        by_slot.entry(m.slot_key.as_str()).or_default().push(m);
    }
    let mut expected = 0i64;
    for s in ledger {
        let key = format!("tick@{}", s.local);
        let got = by_slot.remove(key.as_str()).unwrap_or_default();
        if s.status == "skipped" {
            assert!(
                got.is_empty() && s.messages == 0,
                "skipped {key} has messages"
            );
        } else {
            assert!(s.messages >= 1, "{key} claimed without messages");
            assert_eq!(got.len() as i64, s.messages, "{key}: outbox rows vs ledger");
            expected += s.messages;
        }
    }
    assert!(
        by_slot.is_empty(),
        "messages of no slot: {:?}",
        by_slot.keys()
    );
    for key in &seen {
        assert!(
            ledger
                .iter()
                .any(|s| format!("tick@{}", s.local) == *key && s.status != "skipped"),
            "{key} was claimed but is not in the ledger"
        );
    }

    SlotCounts {
        expected,
        skipped,
        late,
    }
}

/// Every message was sent (none dead, dropped or pending), in queue order; the messages in
/// sending order.
fn every_message_was_sent_in_queue_order<'m>(
    outbox: &'m [Message],
    ctx: &dyn Fn() -> String,
) -> Vec<&'m Message> {
    let unsent: Vec<String> = outbox
        .iter()
        .filter(|m| m.status != "sent" || m.sent_ms.is_none())
        .map(|m| format!("{} {} after {} attempts", m.id, m.status, m.attempts))
        .collect();
    assert!(unsent.is_empty(), "not sent: {unsent:?}\n{}", ctx());

    // In order: sending order is queue order.
    let mut sent: Vec<&Message> = outbox.iter().collect();
    sent.sort_by_key(|m| (m.sent_ms, m.created_ms, m.ord));
    let mut queue: Vec<&Message> = outbox.iter().collect();
    queue.sort_by_key(|m| (m.created_ms, m.ord));
    let sent_ids: Vec<&str> = sent.iter().map(|m| m.id.as_str()).collect();
    let queue_ids: Vec<&str> = queue.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(sent_ids, queue_ids, "messages were sent out of order");

    sent
}

/// How the robot's copies match the sent messages.
struct Copies {
    /// Messages sent per the outbox that no copy matches.
    losses: Vec<String>,
    /// (first copy, the copy after it, message id).
    duplicates: Vec<(i64, i64, String)>,
    /// Copies after the last message weekbell recorded.
    phantoms: usize,
    min_gap_us: i64,
    min_lead_us: i64,
}

/// Matches each sent message with its copies at the robot (`accepted`, by arrival).
fn copies_of_each_message(sent: &[&Message], accepted: &[Accepted]) -> Copies {
    // The robot's side: match each sent message with its copies. Every copy of a message
    // reached the robot at least MIN_LATENCY before weekbell's `sent_ms` (ms, truncated); the
    // next message's copies come after it. Half of MIN_LATENCY is the margin either side.
    let margin_us = i64::try_from(MIN_LATENCY.as_micros() / 2).unwrap_or(0);
    let mut losses = Vec::new();
    // (first copy, the copy after it)
    let mut duplicates: Vec<(i64, i64, String)> = Vec::new();
    let mut next = 0usize;
    let mut min_gap_us = i64::MAX;
    let mut min_lead_us = i64::MAX;
    for m in sent {
        let sent_us = m.sent_ms.unwrap_or(0) * 1000 - margin_us;
        let from = next;
        while next < accepted.len() && accepted[next].wall_us <= sent_us {
            next += 1;
        }
        if next == from {
            losses.push(m.id.clone());
            continue;
        }
        min_lead_us = min_lead_us.min(m.sent_ms.unwrap_or(0) * 1000 - accepted[next - 1].wall_us);
        for i in from..next - 1 {
            duplicates.push((accepted[i].wall_us, accepted[i + 1].wall_us, m.id.clone()));
        }
        if let Some(a) = accepted.get(next) {
            min_gap_us = min_gap_us.min(a.wall_us - m.sent_ms.unwrap_or(0) * 1000);
        }
    }
    Copies {
        losses,
        duplicates,
        phantoms: accepted.len() - next,
        min_gap_us,
        min_lead_us,
    }
}

/// Each duplicate's first copy was in flight at a kill: a kill came after it (allowing for
/// delivery just after the kill) and before its next copy; one kill, at most one duplicate.
fn each_duplicate_was_in_flight_at_a_kill(
    duplicates: &[(i64, i64, String)],
    kills: &[Kill],
    ctx: &dyn Fn() -> String,
) {
    let mut used = vec![false; kills.len()];
    for (first, again, id) in duplicates {
        let k = (0..kills.len()).find(|&i| {
            let k = kills[i];
            !used[i] && k.done_us + POST_MORTEM_SLACK_US >= *first && k.started_us <= *again
        });
        match k {
            Some(i) => used[i] = true,
            None => panic!(
                "{id} reached the robot twice ({first} µs and {again} µs) without a kill in \
                 between\n{}",
                ctx()
            ),
        }
    }
    assert!(duplicates.len() <= kills.len());
}

/// The run's figures, for the log of a passing run.
fn print_figures(
    sink: &ChaosSink,
    run: &Run,
    ledger: &[Slot],
    outbox: &[Message],
    slots: &SlotCounts,
    copies: &Copies,
    accepted: &[Accepted],
) {
    let faults = sink.faults();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, _) in &faults {
        *by_kind.entry(f.name()).or_default() += 1;
    }
    for f in Fault::ALL {
        by_kind.entry(f.name()).or_default();
    }
    let took = run.began.elapsed();
    let seed = run.seed;
    let texts: HashSet<&str> = accepted.iter().map(|a| a.text.as_str()).collect();
    println!(
        "faults: kills={} slots={} (skipped={} late={}) messages={} \
         sink_failures={} duplicates={} losses={} seed={seed}",
        run.kills.len(),
        ledger.len(),
        slots.skipped,
        slots.late,
        slots.expected,
        faults.len(),
        copies.duplicates.len(),
        copies.losses.len(),
    );
    println!(
        "faults: requests={} accepted={} distinct_texts={} failures_by_kind={by_kind:?} \
         pending_at_drain={} max_attempts={} chaos={:.1?} drain={:.1?} (faults off after \
         {:.1?}) total={took:.1?} min_gap_after_sent={}µs min_lead_before_sent={}µs",
        sink.requests(),
        accepted.len(),
        texts.len(),
        run.pending_at_drain,
        outbox.iter().map(|m| m.attempts).max().unwrap_or(0),
        run.chaos_took,
        run.drain_took,
        run.calmed,
        if copies.min_gap_us == i64::MAX {
            -1
        } else {
            copies.min_gap_us
        },
        copies.min_lead_us,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_lost_nothing_twice() {
    let began = Instant::now();
    let seed = std::env::var("WEEKBELL_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("faults: seed={seed} (WEEKBELL_FAULTS_SEED={seed} repeats the faults and kills)");
    let sink = ChaosSink::start(ChaosOptions {
        seed,
        failure_rate: 1.0 / 3.0,
        // 5xx, 429, errcode -1, stall, reset. Stalls are fewer: each holds the channel 10 s.
        weights: [28, 18, 28, 10, 16],
        stall: STALL,
        min_latency: MIN_LATENCY,
        max_latency: Duration::from_millis(300),
    })
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = kill_and_restart_then_drain(seed, &sink, dir.path(), began).await;

    let (ledger, outbox) = read_store(dir.path()).await;
    let all_logs = run.logs.join("\n");
    let ctx = || format!("seed {seed}; last daemon log:\n{}", tail(&run.last_log, 60));
    assert!(
        !all_logs.contains("panicked"),
        "a daemon panicked:\n{all_logs}"
    );
    assert!(sink.refused().is_empty(), "{:?}", sink.refused());
    let slots = each_slot_is_in_the_ledger_once_and_fired_at_most_once(&ledger, &outbox, &all_logs);
    let sent = every_message_was_sent_in_queue_order(&outbox, &ctx);

    // The robot's side: every sent message reached it; no copy came after the last one.
    let mut accepted: Vec<Accepted> = sink.accepted();
    accepted.sort_by_key(|a| a.wall_us);
    let copies = copies_of_each_message(&sent, &accepted);
    if let Some(lost) = copies.losses.first() {
        let at = sent
            .iter()
            .find(|m| &m.id == lost)
            .and_then(|m| m.sent_ms)
            .unwrap_or(0);
        panic!(
            "sent per the outbox but never accepted by the robot: {:?} (seed {seed})\n{}",
            copies.losses,
            timeline(
                at * 1000,
                &sent,
                &accepted,
                &sink.faults(),
                &run.kills,
                &all_logs
            )
        );
    }
    assert_eq!(
        copies.phantoms,
        0,
        "the robot accepted {} messages after the last one weekbell recorded\n{}",
        copies.phantoms,
        ctx()
    );
    each_duplicate_was_in_flight_at_a_kill(&copies.duplicates, &run.kills, &ctx);

    print_figures(&sink, &run, &ledger, &outbox, &slots, &copies, &accepted);
    let took = began.elapsed();
    check_slot_rules(&ledger, &run.kills, &run.spawns_us);
    assert_eq!(outbox.len() as i64, slots.expected);
    assert_eq!(accepted.len(), outbox.len() + copies.duplicates.len());
    assert!(took < Duration::from_secs(7 * 60), "took {took:?}");
}
