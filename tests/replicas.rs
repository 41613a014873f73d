//! "Nothing lost, nothing twice": three `weekbell run` replicas on one PostgreSQL database.
//!
//! A schedule fires every second to two generic webhook sinks for at least 100 slots. One
//! replica is killed with SIGKILL about a third of the way in, at a moment when it holds a
//! message in flight (the sink has it and holds its answer back), and is restarted about two
//! thirds of the way in. Then the schedule is removed from the config (every replica reloads
//! it), the outbox drains and the replicas stop on SIGTERM. The test checks that every slot
//! is in the ledger once, not skipped, with exactly one `sent` message per channel; that each
//! sink received every message, and more than once only a message in flight at the kill; and
//! that signed Slack commands sent to one replica are seen by the others. It prints a summary
//! line (slots, messages, kills, duplicates, losses, slots claimed per replica) for CI logs.
//!
//! It needs PostgreSQL: `WEEKBELL_TEST_PG_URL` (CI always sets it, to
//! `postgres://postgres@127.0.0.1:5432/test`) names a server where the test may create and
//! drop a database of its own. Without the variable the test prints why and passes.

mod support;

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::chat_servers::*;
use support::daemon::{Daemon, read};
use support::pg::FreshDatabase;
use support::slack_form;
use weekbell::inbound::slack;

/// The whole test, replicas, kill, restart and drain included, ends within this.
const BUDGET: Duration = Duration::from_secs(240);
/// Slots in the ledger before the replicas are stopped.
const SLOTS: i64 = 100;
const SCHEDULE: &str = "tick";
/// The two webhook channels the schedule posts to.
const SINKS: [&str; 2] = ["alpha", "beta"];
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// How long the sink holds back its answer to the message in flight at the kill.
const HELD_ANSWER: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_on_postgres_lose_nothing_and_send_nothing_twice() {
    let Some(admin_url) = support::pg::admin_url() else {
        return;
    };
    let db = FreshDatabase::create(&admin_url, "replicas").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    if tokio::time::timeout(BUDGET, scenario(&db.url, dir.path()))
        .await
        .is_err()
    {
        // The scenario's future is dropped by now, and with it every daemon (killed).
        panic!(
            "the test did not finish within {}s; daemon logs:\n{}",
            BUDGET.as_secs(),
            daemon_logs(dir.path())
        );
    }
    eprintln!("replicas test took {:.1}s", started.elapsed().as_secs_f64());
}

async fn scenario(db_url: &str, dir: &Path) {
    let sinks = [
        FakeWebhook::start(FakeOptions::default()).await,
        FakeWebhook::start(FakeOptions::default()).await,
    ];
    let slack_sink = FakeSlack::start(FakeOptions::default()).await;
    let config = dir.join("weekbell.toml");
    write_config(&config, db_url, true);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(db_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
    let env = vec![
        ("HOOK_ALPHA".to_string(), sinks[0].url()),
        ("HOOK_BETA".to_string(), sinks[1].url()),
        ("SLACK_HOOK".to_string(), slack_sink.url()),
        ("SLACK_SIGNING_SECRET".to_string(), SLACK_SECRET.to_string()),
    ];
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut replicas: Vec<Replica> = ["r1", "r2", "r3"]
        .into_iter()
        .map(|name| Replica::new(name, dir, &config, &env, &client))
        .collect();
    for r in &mut replicas {
        r.start();
    }
    for r in &mut replicas {
        r.wait_healthy().await;
    }

    commands_through_one_replica_are_seen_by_the_others(&replicas).await;
    let kill = kill_the_replica_with_a_send_in_flight(&pool, &sinks[0], &mut replicas, dir).await;
    let victim = kill.victim;
    // About two thirds of the way: restart it on the same port; it sees both commands.
    wait_for_slots(&pool, 2 * SLOTS / 3, dir).await;
    replicas[victim].start();
    replicas[victim].wait_healthy().await;
    let mine = replicas[victim].command("list mine").await;
    assert!(
        task_line(&mine, "API-101").contains("70%"),
        "the restarted {} does not see the recorded progress:\n{mine}",
        replicas[victim].name
    );

    stop_the_schedule_drain_the_outbox_and_stop(&config, db_url, &pool, &mut replicas, dir).await;
    let slots = every_second_is_in_the_ledger_once_and_on_time_or_late(&pool, dir).await;
    let (per_channel, messages) = every_slot_has_one_sent_message_per_channel(&pool, &slots).await;
    let (duplicates, losses) = each_message_reached_its_sink_once_or_twice_if_in_flight_at_the_kill(
        &sinks,
        per_channel,
        &kill,
        dir,
    );

    // The commands were recorded once each, whichever replica took them.
    let progress_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_events WHERE task_id = 'API-101' AND field = 'progress'",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(progress_events, 2);

    let mut claims: BTreeMap<String, usize> = BTreeMap::new();
    for s in &slots {
        let who = replicas
            .iter()
            .find_map(|r| {
                let i = r.instances.iter().position(|i| *i == s.claimed_by)?;
                Some(if i == 0 {
                    r.name.to_string()
                } else {
                    format!("{}-restart{i}", r.name)
                })
            })
            .unwrap_or_else(|| format!("unknown:{}", s.claimed_by));
        *claims.entry(who).or_default() += 1;
    }
    let late = slots.iter().filter(|s| s.status == "late").count();
    let claims_text: Vec<String> = claims.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "replicas summary: slots={} messages={messages} kills=1 duplicates={duplicates} \
         losses={losses} late_slots={late} killed={} claims: {}",
        slots.len(),
        replicas[victim].name,
        claims_text.join(" ")
    );
    assert_eq!(losses, 0, "messages lost");
    pool.close().await;
}

/// Each message reached its sink, and more than once only if in flight at the kill (the held
/// one exactly twice); the duplicates and losses.
fn each_message_reached_its_sink_once_or_twice_if_in_flight_at_the_kill(
    sinks: &[FakeServer],
    mut per_channel: HashMap<String, Vec<SentRow>>,
    kill: &Kill,
    dir: &Path,
) -> (usize, usize) {
    let mut duplicates = 0;
    let mut losses = 0;
    for (channel, sink) in SINKS.iter().zip(sinks) {
        let mut sent = per_channel.remove(*channel).unwrap_or_default();
        sent.sort_by(|a, b| {
            (a.sent_ms, a.created_ms, a.ord, &a.id).cmp(&(b.sent_ms, b.created_ms, b.ord, &b.id))
        });
        let received = sink.messages();
        for m in &received {
            let title = m.body["title"].as_str().unwrap_or_default();
            assert!(
                title.starts_with("Weekly status"),
                "{channel} got {}",
                m.body
            );
        }
        let arrivals: Vec<i64> = received.iter().map(|m| m.wall.timestamp_millis()).collect();
        let tally = attribute(&sent, &arrivals);
        assert_eq!(
            tally.unmatched, 0,
            "{channel}: receipts that match no sent message"
        );
        for (m, &n) in sent.iter().zip(&tally.counts) {
            if n == 0 {
                losses += 1;
                eprintln!("{channel}: {} never arrived", m.id);
            }
            if n > 1 {
                duplicates += n - 1;
                eprintln!("{channel}: {} arrived {n} times", m.id);
                assert!(
                    kill.in_flight.contains(&m.id),
                    "{} arrived {n} times but was not in flight at the kill ({})",
                    m.id,
                    kill.at_ms
                );
            }
            if m.id == kill.held_id && n != 2 {
                let i = sent.iter().position(|r| r.id == kill.held_id).unwrap_or(0);
                let around: Vec<String> = sent[i.saturating_sub(2)..(i + 3).min(sent.len())]
                    .iter()
                    .map(|r| format!("{} created {} sent {}", r.id, r.created_ms, r.sent_ms))
                    .collect();
                let near: Vec<i64> = arrivals
                    .iter()
                    .copied()
                    .filter(|&a| a >= m.created_ms - 3000 && a <= m.sent_ms + 3000)
                    .collect();
                panic!(
                    "{} was held at the kill ({}) and must arrive twice, got \
                     {n}\nmessages: {around:#?}\narrivals: {near:?}\n{}",
                    kill.held_id,
                    kill.at_ms,
                    daemon_logs(dir)
                );
            }
        }
    }
    (duplicates, losses)
}

/// A change through r1 is seen by r2 and r3; one through r3 is seen by r1.
async fn commands_through_one_replica_are_seen_by_the_others(replicas: &[Replica]) {
    // A replica counts other writers' events at most every `state::FRESH_FOR`, so a change is
    // seen by every command that reaches another replica that long after it was committed.
    let seen_after = weekbell::state::FRESH_FOR * 2;
    let reply = replicas[0].command("progress API-101 40%").await;
    assert!(reply.contains("40%"), "r1 answered progress with: {reply}");
    tokio::time::sleep(seen_after).await;
    for r in &replicas[1..] {
        let mine = r.command("list mine").await;
        assert!(
            task_line(&mine, "API-101").contains("40%"),
            "{} does not see the progress recorded through r1:\n{mine}",
            r.name
        );
    }
    let reply = replicas[2].command("progress API-101 70% halfway").await;
    assert!(reply.contains("70%"), "r3 answered progress with: {reply}");
    tokio::time::sleep(seen_after).await;
    let mine = replicas[0].command("list mine").await;
    assert!(
        task_line(&mine, "API-101").contains("70%"),
        "r1 does not see the progress recorded through r3:\n{mine}"
    );
}

/// The replica killed, and what it held.
struct Kill {
    /// Its index among the replicas.
    victim: usize,
    /// The message the sink held unanswered at the kill.
    held_id: String,
    at_ms: i64,
    /// The victim's leased rows at the kill.
    in_flight: BTreeSet<String>,
}

/// About a third of the way: kills the replica sending a message that the sink has received
/// but not yet answered, so its send is in flight at the SIGKILL.
async fn kill_the_replica_with_a_send_in_flight(
    pool: &PgPool,
    alpha: &FakeServer,
    replicas: &mut [Replica],
    dir: &Path,
) -> Kill {
    wait_for_slots(pool, SLOTS / 3, dir).await;
    alpha.script([Reply::Delay(HELD_ANSWER)]);
    let (held_id, owner) = held_message(pool, SINKS[0], alpha, dir).await;
    let victim = replicas
        .iter()
        .position(|r| r.instances.last() == Some(&owner))
        .unwrap_or_else(|| panic!("the lease owner {owner} is none of the running replicas"));
    let kill_ms = chrono::Utc::now().timestamp_millis();
    replicas[victim].kill9();
    // After the kill nothing changes the victim's rows: what it still holds was in flight.
    let in_flight: BTreeSet<String> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE status = 'pending' AND lease_owner = $1")
            .bind(&owner)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .collect();
    assert!(
        in_flight.contains(&held_id),
        "{held_id} (held at the sink) is not among the killed replica's leased rows {in_flight:?}"
    );
    eprintln!(
        "killed {} ({owner}) with {held_id} in flight",
        replicas[victim].name
    );

    Kill {
        victim,
        held_id,
        at_ms: kill_ms,
        in_flight,
    }
}

/// Enough slots: removes the schedule (every replica reloads the config), lets the outbox
/// drain, then stops everyone with SIGTERM; each stops cleanly.
async fn stop_the_schedule_drain_the_outbox_and_stop(
    config: &Path,
    db_url: &str,
    pool: &PgPool,
    replicas: &mut [Replica],
    dir: &Path,
) {
    wait_for_slots(pool, SLOTS, dir).await;
    write_config(config, db_url, false);
    for r in replicas.iter() {
        let d = r
            .daemon
            .as_ref()
            .unwrap_or_else(|| panic!("{} is down", r.name));
        eventually("every replica to reload the config", dir, async || {
            d.log()
                .contains("reloaded the config and task list")
                .then_some(())
        })
        .await;
    }
    eventually("the outbox to drain", dir, async || {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'pending'")
                .fetch_one(pool)
                .await
                .ok()?;
        (pending == 0).then_some(())
    })
    .await;
    for r in replicas.iter_mut() {
        let d = r
            .daemon
            .take()
            .unwrap_or_else(|| panic!("{} is down", r.name));
        let (code, log) = d.terminate().await;
        assert_eq!(code, Some(0), "{} did not stop cleanly:\n{log}", r.name);
    }
}

/// Every second from the first slot to the last is in the ledger once, none skipped, each
/// with one message per sink; the ledger's rows.
async fn every_second_is_in_the_ledger_once_and_on_time_or_late(
    pool: &PgPool,
    dir: &Path,
) -> Vec<LedgerRow> {
    let ledger = sqlx::query(
        "SELECT schedule, slot_local, slot_at_ms, status, claimed_by, messages \
         FROM slot_ledger ORDER BY slot_at_ms",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut slots: Vec<LedgerRow> = Vec::new();
    for row in &ledger {
        slots.push(LedgerRow {
            key: format!(
                "{}@{}",
                row.get::<String, _>("schedule"),
                row.get::<String, _>("slot_local")
            ),
            at_ms: row.get("slot_at_ms"),
            status: row.get("status"),
            claimed_by: row.get("claimed_by"),
            messages: row.get("messages"),
        });
    }
    let skipped: Vec<&LedgerRow> = slots.iter().filter(|s| s.status == "skipped").collect();
    assert!(
        skipped.is_empty(),
        "slots skipped while replicas were running: {:?}\n{}",
        skipped.iter().map(|s| &s.key).collect::<Vec<_>>(),
        daemon_logs(dir)
    );
    let distinct: BTreeSet<&str> = slots.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        distinct.len(),
        slots.len(),
        "a slot key is in the ledger twice"
    );
    let gaps: Vec<(i64, i64)> = slots
        .windows(2)
        .filter(|w| w[1].at_ms - w[0].at_ms != 1000)
        .map(|w| (w[0].at_ms, w[1].at_ms))
        .collect();
    assert!(gaps.is_empty(), "seconds missing from the ledger: {gaps:?}");
    assert!(slots.len() as i64 >= SLOTS, "{} slots", slots.len());
    for s in &slots {
        assert!(
            s.status == "on_time" || s.status == "late",
            "{} has status {}",
            s.key,
            s.status
        );
        assert_eq!(
            s.messages,
            SINKS.len() as i64,
            "{} enqueued {}",
            s.key,
            s.messages
        );
    }

    slots
}

/// Exactly one message per slot and channel, all sent; the messages per channel and their
/// number.
async fn every_slot_has_one_sent_message_per_channel(
    pool: &PgPool,
    slots: &[LedgerRow],
) -> (HashMap<String, Vec<SentRow>>, usize) {
    let distinct: BTreeSet<&str> = slots.iter().map(|s| s.key.as_str()).collect();
    let outbox =
        sqlx::query("SELECT id, slot_key, channel, status, created_ms, ord, sent_ms FROM outbox")
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let mut per_channel: HashMap<String, Vec<SentRow>> = HashMap::new();
    let mut per_slot: HashMap<(String, String), usize> = HashMap::new();
    for row in &outbox {
        let id: String = row.get("id");
        let slot_key: String = row.get("slot_key");
        let channel: String = row.get("channel");
        let status: String = row.get("status");
        assert!(
            distinct.contains(slot_key.as_str()),
            "{id} belongs to no slot in the ledger"
        );
        assert_eq!(status, "sent", "{id} ended {status}");
        *per_slot
            .entry((slot_key.clone(), channel.clone()))
            .or_default() += 1;
        per_channel.entry(channel).or_default().push(SentRow {
            id,
            created_ms: row.get("created_ms"),
            ord: row.get("ord"),
            sent_ms: row.get::<Option<i64>, _>("sent_ms").unwrap_or(i64::MAX),
        });
    }
    for s in slots {
        for channel in SINKS {
            let n = per_slot
                .get(&(s.key.clone(), channel.to_string()))
                .copied()
                .unwrap_or(0);
            assert_eq!(n, 1, "{} has {n} messages for {channel}", s.key);
        }
    }
    let messages = outbox.len();
    assert_eq!(messages, slots.len() * SINKS.len());

    (per_channel, messages)
}

struct LedgerRow {
    key: String,
    at_ms: i64,
    status: String,
    claimed_by: String,
    messages: i64,
}

struct SentRow {
    id: String,
    created_ms: i64,
    ord: i64,
    sent_ms: i64,
}

struct Tally {
    /// Receipts per message, in the order of `sent`.
    counts: Vec<usize>,
    /// Receipts after the last recorded send, which no message can explain.
    unmatched: usize,
}

/// Matches a sink's receipts (arrival times, ms) to one channel's messages (in send order).
///
/// The bodies of two slots' digests are the same text, so receipts are matched by time. A
/// channel sends one message at a time: the next becomes the head only once this one's
/// outcome is committed, and `sent_ms` is stamped after the sink answered. So every receipt of
/// message `j` arrived at or after `sent_ms(j-1)` and at or before `sent_ms(j)`; a repeat of
/// `j` (a send in flight at a kill, sent again when its lease ran out) falls in the same
/// window. A receipt in the very millisecond `j` was recorded is `j`'s (on loopback the answer
/// comes back within it), unless that leaves `j+1` with none: then it was `j+1`'s.
fn attribute(sent: &[SentRow], arrivals: &[i64]) -> Tally {
    let mut got: Vec<Vec<i64>> = vec![Vec::new(); sent.len()];
    let mut unmatched = 0;
    let mut j = 0;
    for &at in arrivals {
        while j < sent.len() && sent[j].sent_ms < at {
            j += 1;
        }
        match got.get_mut(j) {
            Some(g) => g.push(at),
            None => unmatched += 1,
        }
    }
    for j in 1..sent.len() {
        let tie = sent[j - 1].sent_ms;
        if got[j].is_empty()
            && got[j - 1].len() > 1
            && got[j - 1].last() == Some(&tie)
            && sent[j].created_ms <= tie
            && let Some(at) = got[j - 1].pop()
        {
            got[j].push(at);
        }
    }
    Tally {
        counts: got.iter().map(Vec::len).collect(),
        unmatched,
    }
}

/// A database of the test's own on the server at `WEEKBELL_TEST_PG_URL`, dropped at the end
/// (also when the test fails).
/// The config: the English team list, Alice on Slack, a Slack channel taking signed commands,
/// two webhook sinks and (with `schedule`) a digest every second to both.
fn write_config(path: &Path, db_url: &str, schedule: bool) {
    let tasks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
    let schedule = if schedule {
        format!(
            "[[schedules]]\nname = \"{SCHEDULE}\"\ncron = \"* * * * * *\"\nkind = \"digest\"\n\
             catch_up = \"1h\"\nchannels = [\"{}\", \"{}\"]\n",
            SINKS[0], SINKS[1]
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "{db_url}"
[server]
listen = "${{WB_LISTEN}}"
[tasks]
source = "{}"
[tasks.columns]
owners = "owner"
unit = "team"
[channels.team]
platform = "slack"
webhook = "${{SLACK_HOOK}}"
signing_secret = "${{SLACK_SIGNING_SECRET}}"
[channels.{}]
platform = "webhook"
webhook = "${{HOOK_ALPHA}}"
rate_limit = "off"
[channels.{}]
platform = "webhook"
webhook = "${{HOOK_BETA}}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
slack = "U01ALICE"
{schedule}"#,
        tasks.display(),
        SINKS[0],
        SINKS[1],
    );
    // Written whole and renamed into place, so a replica never reads half a file.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{e}"));
    // Owner-only, as the daemon asks of a file that names a database.
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{e}"));
}

/// One replica: a name, its own port, and the daemon when it runs.
struct Replica {
    name: &'static str,
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    base: String,
    client: reqwest::Client,
    daemon: Option<Daemon>,
    /// The instance id of each start, as in `slot_ledger.claimed_by` and `outbox.lease_owner`.
    instances: Vec<String>,
}

impl Replica {
    fn new(
        name: &'static str,
        dir: &Path,
        config: &Path,
        env: &[(String, String)],
        client: &reqwest::Client,
    ) -> Replica {
        let port = support::free_port();
        let mut env = env.to_vec();
        env.push(("WB_LISTEN".into(), format!("127.0.0.1:{port}")));
        Replica {
            name,
            dir: dir.to_path_buf(),
            config: config.to_path_buf(),
            env,
            base: format!("http://127.0.0.1:{port}"),
            client: client.clone(),
            daemon: None,
            instances: Vec::new(),
        }
    }

    fn start(&mut self) {
        assert!(self.daemon.is_none(), "{} is already running", self.name);
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.daemon = Some(Daemon::start(&self.dir, &self.config, &env));
    }

    /// Waits for `/healthz`, then notes the instance id the daemon logged at start.
    async fn wait_healthy(&mut self) {
        let health = format!("{}/healthz", self.base);
        let deadline = Instant::now() + Duration::from_secs(60);
        let daemon = self
            .daemon
            .as_ref()
            .unwrap_or_else(|| panic!("not started"));
        loop {
            if let Ok(r) = self.client.get(&health).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never answered /healthz:\n{}",
                self.name,
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = daemon.log();
        let instance = log
            .lines()
            .find(|l| l.contains("weekbell started"))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("instance="))
            })
            .unwrap_or_else(|| panic!("{} logged no instance id:\n{log}", self.name))
            .to_string();
        self.instances.push(instance);
    }

    fn kill9(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.kill9();
        }
    }

    /// Sends `text` as Alice's Slack slash command, signed, and returns the inline answer.
    async fn command(&self, text: &str) -> String {
        let trigger = format!("{}.{:016x}", self.name, fastrand::u64(..));
        let body = slack_form(text, "U01ALICE", &trigger);
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = slack::signature(SLACK_SECRET, &ts, body.as_bytes());
        let resp = self
            .client
            .post(format!("{}/hooks/team", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sig)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} did not take {text:?}: {e}", self.name));
        let status = resp.status().as_u16();
        let text_body = resp.text().await.unwrap_or_default();
        assert_eq!(
            status, 200,
            "{} answered {text:?} with {text_body}",
            self.name
        );
        let answer: Value =
            serde_json::from_str(&text_body).unwrap_or_else(|e| panic!("{e}: {text_body}"));
        answer["text"].as_str().unwrap_or_default().to_string()
    }
}

/// The line of a `list` answer that names `id` (empty when there is none).
fn task_line<'a>(answer: &'a str, id: &str) -> &'a str {
    answer.lines().find(|l| l.contains(id)).unwrap_or_default()
}

/// Polls `probe` until it answers, for at most a minute; fails with the daemon logs.
async fn eventually<T>(what: &str, dir: &Path, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; daemon logs:\n{}",
            daemon_logs(dir)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the ledger holds at least `n` slots that were not skipped.
async fn wait_for_slots(pool: &PgPool, n: i64, dir: &Path) {
    eventually(&format!("{n} slots in the ledger"), dir, async || {
        let got: i64 =
            sqlx::query_scalar("SELECT count(*) FROM slot_ledger WHERE status <> 'skipped'")
                .fetch_one(pool)
                .await
                .ok()?;
        (got >= n).then_some(())
    })
    .await;
}

/// Waits until `channel`'s head is at `sink` (which holds its answer back) and has been
/// leased for a second: returns its id and the replica holding it.
async fn held_message(
    pool: &PgPool,
    channel: &str,
    sink: &FakeServer,
    dir: &Path,
) -> (String, String) {
    let mut seen: Option<(String, String, Instant)> = None;
    eventually("a message held at the sink", dir, async || {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let row = sqlx::query(
            "SELECT id, lease_owner FROM outbox WHERE channel = $1 AND status = 'pending' \
             AND lease_owner IS NOT NULL AND lease_until_ms > $2 \
             ORDER BY created_ms, ord, id LIMIT 1",
        )
        .bind(channel)
        .bind(now_ms)
        .fetch_optional(pool)
        .await
        .ok()??;
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE channel = $1 AND status = 'sent'",
        )
        .bind(channel)
        .fetch_one(pool)
        .await
        .ok()?;
        // Nothing was sent twice yet, so a receipt beyond the sent rows is the head, in flight.
        let at_sink = sink.messages().len() as i64 > sent;
        let leased: (String, String) = (row.get("id"), row.get("lease_owner"));
        match &seen {
            // A send normally takes milliseconds; one leased for a second is the held one.
            Some((id, owner, since)) if (id, owner) == (&leased.0, &leased.1) => {
                (at_sink && since.elapsed() >= Duration::from_secs(1)).then_some(leased)
            }
            _ => {
                seen = Some((leased.0, leased.1, Instant::now()));
                None
            }
        }
    })
    .await
}

/// Every daemon log in `dir`, oldest first: its start line, its warnings and errors, and its
/// last lines.
fn daemon_logs(dir: &Path) -> String {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("daemon-") && n.ends_with(".log"))
                })
                .map(|p| {
                    let t = std::fs::metadata(&p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    (t, p)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::new();
    for (_, path) in files {
        let log = read(&path);
        let lines: Vec<&str> = log.lines().collect();
        out.push_str(&format!("===== {} =====\n", path.display()));
        // Warnings and errors, less the start-up notes about owners with no [[people]] entry.
        for l in lines.iter().filter(|l| {
            l.contains("weekbell started")
                || ((l.contains(" WARN ") || l.contains(" ERROR "))
                    && !l.contains("matches no configured person")
                    && !l.contains("不是已配置的人员"))
        }) {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("----- last lines -----\n");
        for l in &lines[lines.len().saturating_sub(30)..] {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The matcher itself: a repeat lands on its message, a missing receipt is a loss, and a
/// receipt in the millisecond its predecessor was recorded goes to the next message.
#[test]
fn receipts_are_matched_to_messages_by_send_time() {
    let sent = |rows: &[(i64, i64)]| -> Vec<SentRow> {
        rows.iter()
            .enumerate()
            .map(|(i, &(created_ms, sent_ms))| SentRow {
                id: format!("m{i}"),
                created_ms,
                ord: 0,
                sent_ms,
            })
            .collect()
    };
    let three = sent(&[(0, 10), (1000, 1010), (2000, 40_000)]);
    // Each once.
    let t = attribute(&three, &[9, 1008, 39_990]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 1, 1], 0));
    // The third was in flight at a kill (2005) and sent again when its lease ran out.
    let t = attribute(&three, &[9, 1008, 2005, 39_990]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 1, 2], 0));
    // The second never arrived; a receipt after the last recorded send matches nothing.
    let t = attribute(&three, &[9, 39_990, 40_001]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 0, 1], 1));
    // The second arrived in the same millisecond as the first was recorded.
    let tie = sent(&[(0, 10), (5, 12), (2000, 2010)]);
    let t = attribute(&tie, &[9, 10, 2005]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 1, 1], 0));
    // A repeat arrives in the millisecond it is recorded; the next message right after it.
    let repeat = sent(&[(1000, 1005), (2000, 31_014), (3000, 31_020)]);
    let t = attribute(&repeat, &[1005, 2006, 31_014, 31_019]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 2, 1], 0));
    // Each arrives in the millisecond it is recorded.
    let t = attribute(&three, &[10, 1010, 40_000]);
    assert_eq!((t.counts, t.unmatched), (vec![1, 1, 1], 0));
}
