//! Telegram end to end against a local Bot API server (`support/telegram_server.rs`):
//! `deliver` for every documented reply, the real `weekbell run` answering webhook updates,
//! and the real `weekbell run` long polling — restarts, a second poller, a refused token, two
//! replicas on one database, and no token in any log or output.

mod support;
#[path = "support/telegram_server.rs"]
mod telegram_server;

use chrono::Utc;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::daemon::{Daemon, wait_until, weekbell, weekbell_ok};
use support::{client, dead_url, part};
use telegram_server::{BOT_USERNAME, FakeTelegram, GROUP, TgReply};
use weekbell::config::{ChannelConfig, PlatformSettings, TelegramSettings};
use weekbell::people::Directory;
use weekbell::platforms::{Outcome, Platform, ReplyVerdict, ReplyVia, deliver, deliver_reply};
use weekbell::render::{RenderOptions, RenderTarget, Renderer};
use weekbell::secret::Secret;

const TIMEOUT: Duration = Duration::from_millis(600);
const SECRET_TOKEN: &str = "wb-webhook_9f2c41d7a0b3";
/// Basic groups of the migration tests. Telegram's chat ids are global, and so is what
/// weekbell learns of a group's upgrade (one test process runs all these tests): each test
/// upgrades its own group.
const FLOOD_TEST_GROUP: i64 = -4_000_000_001;
const OUTBOUND_TEST_GROUP: i64 = -4_000_000_002;
const ALICE: i64 = 111_000_111;
const BOB: i64 = 222_000_222;

// ---- outbound ----------------------------------------------------------------------------------

fn channel(tg: &FakeTelegram) -> ChannelConfig {
    let mut ch = support::channel(Platform::Telegram, "https://unused.example/", None);
    ch.webhook = None;
    ch.settings = PlatformSettings::Telegram(TelegramSettings {
        bot_token: Some(Secret::new(tg.token())),
        chat_id: GROUP.to_string(),
        api_base: Some(tg.api_base()),
        ..Default::default()
    });
    ch
}

/// The channel's Telegram settings, to change one.
fn bot(ch: &mut ChannelConfig) -> &mut TelegramSettings {
    match &mut ch.settings {
        PlatformSettings::Telegram(t) => t,
        other => panic!("not a Telegram channel: {other:?}"),
    }
}

async fn send(ch: &ChannelConfig, text: &str) -> Outcome {
    deliver(&client(TIMEOUT), ch, &part(text), Utc::now()).await
}

fn kind(o: &Outcome) -> &'static str {
    match o {
        Outcome::Sent => "sent",
        Outcome::Retry { .. } => "retry",
        Outcome::Wait { .. } => "wait",
        Outcome::Permanent { .. } => "permanent",
    }
}

#[tokio::test]
async fn html_reaches_the_group_as_telegram_parses_it() {
    let tg = FakeTelegram::start().await;
    let got = send(
        &channel(&tg),
        "<b>Weekly status</b>\n• API-101 R&amp;D &lt;edge&gt; <a href=\"tg://user?id=111000111\">Alice</a>",
    )
    .await;
    assert_eq!(got, Outcome::Sent);
    let sent = tg.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].chat_id, GROUP);
    assert_eq!(sent[0].text, "Weekly status\n• API-101 R&D <edge> Alice");
    assert_eq!(
        sent[0].entities,
        vec![("bold".into(), 0, 13), ("text_mention".into(), 35, 5)]
    );
    assert_eq!(sent[0].params["parse_mode"], "HTML");
    assert_eq!(sent[0].params["link_preview_options"]["is_disabled"], true);
}

#[tokio::test]
async fn every_documented_reply_maps_to_its_outcome_over_http() {
    let tg = FakeTelegram::start().await;
    let ch = channel(&tg);
    let rows = Platform::Telegram.documented_replies();
    assert!(rows.len() > 15);
    for row in rows.iter().filter(|r| r.verdict != ReplyVerdict::Sent) {
        let code = match row.code.as_str() {
            "Unauthorized" => 401,
            "Not Found" => 404,
            c if c.starts_with("Too Many Requests") => 429,
            c if c.starts_with("Forbidden") => 403,
            _ => 400,
        };
        let description = if code == 429 {
            format!("{} 60", row.code)
        } else {
            row.code.clone()
        };
        tg.script("sendMessage", [TgReply::error(code, &description)]);
        let got = send(&ch, "x").await;
        match row.verdict {
            ReplyVerdict::Wait(after) => assert!(
                matches!(&got, Outcome::Wait { after: a, .. } if *a == after),
                "{}: {got:?}",
                row.code
            ),
            ReplyVerdict::Permanent => {
                let Outcome::Permanent { reason, hint } = &got else {
                    panic!("{}: {got:?}", row.code)
                };
                assert!(reason.starts_with(row.reason), "{reason}");
                assert!(reason.contains(&row.code), "{reason}");
                assert_eq!(hint, row.hint, "{}", row.code);
            }
            other => panic!("{}: unexpected verdict {other:?}", row.code),
        }
    }
    assert!(tg.sent().is_empty());
}

#[tokio::test]
async fn flood_control_migration_and_server_errors() {
    let tg = FakeTelegram::start().await;
    let ch = channel(&tg);
    tg.script("sendMessage", [TgReply::flood(35)]);
    assert!(matches!(
        send(&ch, "x").await,
        Outcome::Wait { after, .. } if after == Duration::from_secs(35)
    ));
    // A group upgraded to a supergroup is followed once (see the migration test); refused
    // there too, the message is a dead letter that names the new id.
    let mut basic = ch.clone();
    bot(&mut basic).chat_id = FLOOD_TEST_GROUP.to_string();
    tg.add_chat(FLOOD_TEST_GROUP, "group", None);
    tg.script(
        "sendMessage",
        [
            TgReply::migrated(-1_009_876_543_210),
            TgReply::migrated(-1_009_876_543_210),
        ],
    );
    let Outcome::Permanent { reason, hint } = send(&basic, "x").await else {
        panic!("a migrated group refused twice is permanent")
    };
    assert!(reason.contains("supergroup"), "{reason}");
    assert!(hint.contains("chat_id = \"-1009876543210\""), "{hint}");
    tg.script(
        "sendMessage",
        [
            TgReply::error(500, "Internal Server Error"),
            TgReply::Status(502),
            TgReply::Delay(Duration::from_secs(3)),
        ],
    );
    for _ in 0..3 {
        let got = send(&ch, "x").await;
        assert_eq!(kind(&got), "retry", "{got:?}");
    }
    // The delayed one was posted all the same (at-least-once), and the next goes through.
    assert_eq!(send(&ch, "x").await, Outcome::Sent);
    let mut dead = ch.clone();
    bot(&mut dead).api_base = Some(dead_url("").await.trim_end_matches('/').into());
    assert_eq!(kind(&send(&dead, "x").await), "retry");
}

#[tokio::test]
async fn the_fake_refuses_what_telegram_refuses() {
    let tg = FakeTelegram::start().await;
    let ch = channel(&tg);
    // Unbalanced and unknown tags: Telegram's own parser messages, judged a weekbell bug.
    for (html, says) in [
        (
            "<b>open",
            "Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            "<blink>x</blink>",
            "Unsupported start tag \"blink\" at byte offset 0",
        ),
        ("a</b>", "Unexpected end tag at byte offset 1"),
    ] {
        let Outcome::Permanent { reason, hint } = send(&ch, html).await else {
            panic!("{html} was not refused")
        };
        assert!(
            reason.contains("can't parse entities") && reason.contains(says),
            "{reason}"
        );
        assert!(hint.contains("weekbell bug"), "{hint}");
    }
    let Outcome::Permanent { reason, .. } = send(&ch, &"x".repeat(4097)).await else {
        panic!("a long message was not refused")
    };
    assert!(reason.contains("message is too long"), "{reason}");
    assert!(
        send(&ch, &"😀".repeat(2049)).await != Outcome::Sent,
        "4,098 UTF-16 units"
    );
    assert_eq!(send(&ch, &"😀".repeat(2048)).await, Outcome::Sent);
    let Outcome::Permanent { reason, .. } = send(&ch, "<b> </b>").await else {
        panic!("an empty message was not refused")
    };
    assert!(reason.contains("message text is empty"), "{reason}");
    let mut elsewhere = ch.clone();
    bot(&mut elsewhere).chat_id = "-100424242".into();
    let Outcome::Permanent { reason, .. } = send(&elsewhere, "x").await else {
        panic!("an unknown chat was not refused")
    };
    assert!(reason.contains("chat not found"), "{reason}");
    let mut wrong = ch.clone();
    bot(&mut wrong).bot_token = Some(Secret::new(
        "7012345678:AAwrongwrongwrongwrongwrongwrongwro",
    ));
    let Outcome::Permanent { reason, hint } = send(&wrong, "x").await else {
        panic!("a wrong token was not refused")
    };
    assert!(
        reason.contains("Unauthorized") && hint.contains("BotFather"),
        "{reason}"
    );
    assert!(!reason.contains("AAwrong"), "{reason}");
}

/// A digest far over 4,096 units, with bold section headers and mentions, split by the
/// renderer: every part is accepted by the fake's parser and the text survives whole.
#[tokio::test]
async fn a_huge_digest_arrives_in_parts_telegram_accepts() {
    use weekbell::people::Person;
    use weekbell::render::DigestInput;
    use weekbell::tasks::{Assignee, RowRef, Status, Task};
    let tg = FakeTelegram::start().await;
    let ch = channel(&tg);
    let alice = Person {
        id: "alice".into(),
        name: "Alice <A&B>".into(),
        unit: None,
        mobile: None,
        email: None,
        handles: [(Platform::Telegram, ALICE.to_string())].into(),
        admin: false,
    };
    let people = Directory::new(vec![alice]);
    let tasks: Vec<Task> = (0..300)
        .map(|i| Task {
            id: format!("T-{i}"),
            title: format!(
                "整改 item {i} with <angle> & ampersand 😀 {}",
                "x".repeat(40)
            ),
            unit: format!("unit-{}", i % 7),
            leader: None,
            owners: vec![Assignee {
                name: "Alice <A&B>".into(),
                person: Some("alice".into()),
            }],
            due: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
            unreadable_due: None,
            due_anchored: None,
            extension: Default::default(),
            co_leaders: Vec::new(),
            list: None,
            status: Status::Todo,
            progress: None,
            notes: String::new(),
            category: String::new(),
            channel: None,
            details: Default::default(),
            source: RowRef {
                sheet: "t.csv".into(),
                row: i + 2,
            },
        })
        .collect();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap_or_default();
    let activity = Default::default();
    let input = DigestInput {
        tasks: &tasks,
        today,
        period_start: None,
        period_end: today,
        activity: &activity,
        stale_list_note: None,
        warnings: None,
        absences: None,
    };
    let renderer =
        Renderer::new(RenderOptions { section_cap: 300 }).unwrap_or_else(|e| panic!("{e}"));
    let message = renderer
        .digest(
            &RenderTarget::new(Platform::Telegram, weekbell::config::Locale::En),
            &input,
            &people,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(message.parts.len() > 3, "{} parts", message.parts.len());
    let http = client(Duration::from_secs(5));
    for p in &message.parts {
        assert!(p.text.encode_utf16().count() <= 4096);
        let got = deliver(&http, &ch, p, Utc::now()).await;
        assert_eq!(got, Outcome::Sent, "part {}: {got:?}", p.part);
    }
    let shown: String = tg.sent().iter().map(|s| s.text.clone()).collect();
    for i in [0, 150, 299] {
        assert!(
            shown.contains(&format!("整改 item {i} with <angle> & ampersand")),
            "{i}"
        );
    }
}

#[tokio::test]
async fn an_answer_replies_to_the_command_in_its_chat() {
    let tg = FakeTelegram::start().await;
    let ch = channel(&tg);
    let command = tg.push_message(GROUP, ALICE, Some("alice_tg"), "/list");
    let message_id = command["message"]["message_id"]
        .as_i64()
        .unwrap_or_default();
    let via = ReplyVia::TelegramMessage {
        chat_id: GROUP,
        message_id,
        message_thread_id: None,
    };
    let got = deliver_reply(&client(TIMEOUT), &ch, &part("ok"), &via, Utc::now()).await;
    assert_eq!(got, Outcome::Sent);
    let sent = tg.sent();
    assert_eq!(sent[0].reply_to, Some(message_id));
    assert_eq!(sent[0].chat_id, GROUP);
}

#[tokio::test]
async fn messages_to_a_group_that_became_a_supergroup_go_to_the_supergroup() {
    let tg = FakeTelegram::start().await;
    let supergroup = -1_004_000_000_002;
    tg.add_chat(OUTBOUND_TEST_GROUP, "group", None);
    let command = tg.push_message(OUTBOUND_TEST_GROUP, ALICE, Some("alice_tg"), "/list");
    tg.migrate_group(OUTBOUND_TEST_GROUP, supergroup, ALICE);
    let mut ch = channel(&tg);
    bot(&mut ch).chat_id = OUTBOUND_TEST_GROUP.to_string();

    // The digest: refused at the old id with the new one, and sent there at once.
    assert_eq!(send(&ch, "digest").await, Outcome::Sent);
    // The next one goes straight to the supergroup.
    assert_eq!(send(&ch, "reminder").await, Outcome::Sent);
    // So does the answer to a command given in the old group before the upgrade.
    let via = ReplyVia::TelegramMessage {
        chat_id: OUTBOUND_TEST_GROUP,
        message_id: command["message"]["message_id"]
            .as_i64()
            .unwrap_or_default(),
        message_thread_id: None,
    };
    let got = deliver_reply(&client(TIMEOUT), &ch, &part("answer"), &via, Utc::now()).await;
    assert_eq!(got, Outcome::Sent);

    let sent = tg.sent();
    let chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    assert_eq!(chats, vec![supergroup; 3]);
    assert_eq!(sent[0].text, "digest");
    assert_eq!(
        tg.calls_of("sendMessage").len(),
        4,
        "one refusal, then three sends"
    );
}

// ---- the daemon --------------------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The English team list; Alice known by her Telegram user id, Bob by his username.
fn write_config(dir: &Path, port: u16, store: &str, channel: &str) -> PathBuf {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "{store}"
[server]
listen = "127.0.0.1:{port}"
[tasks]
source = "{}"
[tasks.columns]
owners = "owner"
unit = "team"
[channels.tg]
platform = "telegram"
bot_token = "${{TG_TOKEN}}"
chat_id = "{GROUP}"
api_base = "${{TG_API}}"
rate_limit = "off"
{channel}
[[people]]
id = "alice"
name = "Alice"
telegram = "{ALICE}"
[[people]]
id = "bob"
name = "Bob"
telegram = "@Bob_TG"
"#,
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

struct Running {
    daemon: Option<Daemon>,
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    base: String,
}

impl Running {
    async fn start(dir: &Path, config: PathBuf, port: u16, env: Vec<(String, String)>) -> Running {
        let env_ref: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let daemon = Daemon::start(dir, &config, &env_ref);
        let base = format!("http://127.0.0.1:{port}");
        let http = client(Duration::from_secs(2));
        let health = format!("{base}/healthz");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(&health).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never came up:\n{}",
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Running {
            daemon: Some(daemon),
            dir: dir.to_path_buf(),
            config,
            env,
            base,
        }
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(Daemon::log).unwrap_or_default()
    }

    async fn stop(&mut self) -> String {
        let Some(daemon) = self.daemon.take() else {
            return String::new();
        };
        let (code, log) = daemon.terminate().await;
        assert_eq!(code, Some(0), "{log}");
        log
    }

    fn cli(&self, args: &[&str]) -> String {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        weekbell_ok(&self.dir, &self.config, args, &env)
    }

    fn history(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.cli(&["history", "--json"]))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    fn task(&self, id: &str) -> Value {
        serde_json::from_str::<Value>(&self.cli(&["tasks", "--json"]))
            .ok()
            .and_then(|v| {
                v.as_array()
                    .and_then(|a| a.iter().find(|t| t["id"] == id).cloned())
            })
            .unwrap_or_else(|| panic!("no task {id}"))
    }
}

fn env(tg: &FakeTelegram) -> Vec<(String, String)> {
    vec![
        ("TG_TOKEN".into(), tg.token()),
        ("TG_API".into(), tg.api_base()),
        ("TG_SECRET".into(), SECRET_TOKEN.into()),
    ]
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("weekbell.db").display())
}

async fn set_webhook(tg: &FakeTelegram, url: &str, secret: &str) {
    let answer: Value = client(Duration::from_secs(5))
        .post(tg.method_url("setWebhook"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "url={}&secret_token={secret}&allowed_updates=%5B%22message%22%5D",
            url.replace(':', "%3A").replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(answer["ok"], true, "{answer}");
}

fn status_changes(history: &[Value]) -> usize {
    history.iter().filter(|e| e["field"] == "status").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_updates_change_the_list_once_and_are_answered_as_replies() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = support::free_port();
    // No bot_username: weekbell asks getMe.
    let config = write_config(
        dir.path(),
        port,
        &sqlite(dir.path()),
        "secret_token = \"${TG_SECRET}\"",
    );
    let mut r = Running::start(dir.path(), config, port, env(&tg)).await;
    let hook = format!("{}/hooks/tg", r.base);
    set_webhook(&tg, &hook, SECRET_TOKEN).await;
    assert!(
        tg.wait_for_calls(Duration::from_secs(10), |c| c
            .iter()
            .any(|c| c.method == "getme"))
            .await,
        "getMe was not asked"
    );
    wait_until("the bot's name in the log", Duration::from_secs(10), || {
        r.log().contains("the bot is @weekbell_bot")
    })
    .await;

    let done = tg.push_message(
        GROUP,
        ALICE,
        Some("alice_tg"),
        &format!("/done@{BOT_USERNAME} API-101 shipped"),
    );
    assert_eq!(tg.deliver_webhook(&done).await, 200);
    let sent = tg.wait_for_sent(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{}", r.log());
    assert_eq!(sent[0].chat_id, GROUP);
    assert_eq!(sent[0].reply_to, done["message"]["message_id"].as_i64());
    assert!(
        sent[0].text.contains("API-101") && sent[0].text.contains("done"),
        "{}",
        sent[0].text
    );
    assert_eq!(r.task("API-101")["status"], "done");

    // Telegram redelivers the same update (our answer was slow, say): nothing twice.
    assert_eq!(tg.deliver_webhook(&done).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(tg.sent().len(), 1, "answered twice");
    assert_eq!(status_changes(&r.history()), 1);

    // A command for another bot in the group is not ours.
    let other = tg.push_message(GROUP, BOB, Some("bob_tg"), "/done@other_bot API-102");
    assert_eq!(tg.deliver_webhook(&other).await, 200);
    // Forged updates: wrong or missing secret token.
    let forged = tg.push_message(GROUP, BOB, Some("bob_tg"), "/done API-102");
    assert_eq!(tg.deliver_to(&hook, Some("guessed"), &forged).await, 401);
    assert_eq!(tg.deliver_to(&hook, None, &forged).await, 401);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(r.task("API-102")["status"], "todo");
    assert_eq!(tg.sent().len(), 1);

    // Bob, known by his @username (written with another case), in a private chat.
    let mine = tg.push_message(BOB, BOB, Some("bob_tg"), "list mine");
    assert_eq!(tg.deliver_webhook(&mine).await, 200);
    let sent = tg.wait_for_sent(2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].chat_id, BOB);
    assert!(sent[1].text.contains("API-102"), "{}", sent[1].text);

    let log = r.stop().await;
    assert!(log.contains("refused a hook"), "{log}");
    assert!(!log.contains(&tg.token()), "the token leaked:\n{log}");
    assert!(
        !log.contains(SECRET_TOKEN),
        "the secret token leaked:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_takes_commands_without_a_public_url_and_resumes_after_a_restart() {
    let tg = FakeTelegram::start().await;
    // A webhook left over from an earlier setup: polling must remove it first.
    set_webhook(&tg, "https://old.example/hook", "old_secret").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = support::free_port();
    let config = write_config(
        dir.path(),
        port,
        &sqlite(dir.path()),
        &format!("polling = true\nbot_username = \"{BOT_USERNAME}\""),
    );
    let mut r = Running::start(dir.path(), config.clone(), port, env(&tg)).await;
    wait_until("polling to start", Duration::from_secs(15), || {
        r.log().contains("polling for commands")
    })
    .await;
    assert!(tg.webhook().is_none(), "deleteWebhook was not called");

    let done = tg.push_message(GROUP, ALICE, Some("alice_tg"), "/done API-101 shipped");
    let sent = tg.wait_for_sent(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{}", r.log());
    assert_eq!(sent[0].reply_to, done["message"]["message_id"].as_i64());
    assert!(sent[0].text.contains("API-101"), "{}", sent[0].text);
    assert_eq!(r.task("API-101")["status"], "done");
    // The next poll confirms it at Telegram.
    let done_id = done["update_id"].as_i64().unwrap_or_default();
    assert!(
        tg.wait_for_calls(Duration::from_secs(10), |calls| calls
            .iter()
            .any(
                |c| c.method == "getupdates" && c.params["offset"].as_i64() == Some(done_id + 1)
            ))
        .await,
        "{done_id}: {:?}\n{}",
        tg.calls_of("getUpdates")
            .iter()
            .map(|c| (c.params.clone(), c.status))
            .collect::<Vec<_>>(),
        r.log()
    );
    assert!(tg.pending().is_empty(), "{:?}", tg.pending());
    // Ignored chatter is confirmed too, and answered with nothing.
    tg.push_message(GROUP, BOB, Some("bob_tg"), "lunch?");
    wait_until(
        "the chatter to be confirmed",
        Duration::from_secs(10),
        || tg.pending().is_empty(),
    )
    .await;

    // Shutdown is prompt even though a 25 s poll is in flight.
    let started = std::time::Instant::now();
    let log = r.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(log.contains("Telegram polling stopped"), "{log}");

    // While weekbell is down, Bob writes; Telegram keeps it.
    tg.push_message(
        GROUP,
        BOB,
        Some("bob_tg"),
        "/note API-102 waiting for the CA",
    );
    let calls_before = tg.calls_of("getUpdates").len();
    let mut r = Running::start(dir.path(), config, port, env(&tg)).await;
    let sent = tg.wait_for_sent(2, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 2, "{}", r.log());
    assert!(sent[1].text.contains("API-102"), "{}", sent[1].text);
    // The restart resumed after Alice's command: its first poll asked from the stored offset.
    let first_after = &tg.calls_of("getUpdates")[calls_before];
    assert!(
        first_after.params["offset"].as_i64() > Some(done_id),
        "{}",
        first_after.params
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(tg.sent().len(), 2, "an update was run twice");
    let history = r.history();
    assert_eq!(status_changes(&history), 1, "{history:?}");
    let bobs_note = |e: &&Value| {
        e["field"] == "note" && e["new"].as_str().is_some_and(|n| n.contains("the CA"))
    };
    assert_eq!(history.iter().filter(bobs_note).count(), 1, "{history:?}");
    let log = r.stop().await;
    assert!(!log.contains(&tg.token()), "the token leaked:\n{log}");
}

/// `weekbell run` polling for `tg`'s bot, with `chat` as the channel's `chat_id` and SQLite in
/// `dir`, once its polling is under way.
async fn start_polling(tg: &FakeTelegram, dir: &Path, chat: i64) -> Running {
    let port = support::free_port();
    let config = write_config(
        dir,
        port,
        &sqlite(dir),
        &format!("polling = true\nbot_username = \"{BOT_USERNAME}\""),
    );
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    let text = text.replace(
        &format!("chat_id = \"{GROUP}\""),
        &format!("chat_id = \"{chat}\""),
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let r = Running::start(dir, config, port, env(tg)).await;
    wait_until("polling to start", Duration::from_secs(15), || {
        r.log().contains("polling for commands")
    })
    .await;
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_follows_update_ids_that_restart_lower_after_a_quiet_week() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut r = start_polling(&tg, dir.path(), GROUP).await;
    let before = tg.push_message(GROUP, ALICE, Some("alice_tg"), "/done API-101");
    assert_eq!(tg.wait_for_sent(1, Duration::from_secs(15)).await.len(), 1);
    wait_until(
        "the command to be confirmed",
        Duration::from_secs(10),
        || tg.pending().is_empty(),
    )
    .await;

    // A week later Telegram starts its ids afresh, below the stored offset.
    let old_id = before["update_id"].as_i64().unwrap_or_default();
    tg.restart_update_ids(old_id - 700_000);
    let after = tg.push_message(
        GROUP,
        BOB,
        Some("bob_tg"),
        "/note API-102 after a quiet week",
    );
    let new_id = after["update_id"].as_i64().unwrap_or_default();
    assert!(new_id < old_id);
    let sent = tg.wait_for_sent(2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2, "{}", r.log());
    assert!(sent[1].text.contains("API-102"), "{}", sent[1].text);
    // Confirmed by asking with the served id + 1, though that is below the old offset.
    assert!(
        tg.wait_for_calls(Duration::from_secs(10), |calls| calls
            .iter()
            .any(
                |c| c.method == "getupdates" && c.params["offset"].as_i64() == Some(new_id + 1)
            ))
        .await,
        "{:?}",
        tg.calls_of("getUpdates")
            .iter()
            .rev()
            .take(5)
            .map(|c| c.params["offset"].clone())
            .collect::<Vec<_>>()
    );
    assert!(tg.pending().is_empty(), "{:?}", tg.pending());
    // And then it waits in one long poll instead of asking again and again.
    let polls = tg.calls_of("getUpdates").len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let more = tg.calls_of("getUpdates").len() - polls;
    assert!(more <= 1, "{more} getUpdates calls in a quiet second");
    let notes = r.history().iter().filter(|e| e["field"] == "note").count();
    assert_eq!(notes, 1);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_from_the_supergroup_a_group_became_are_taken_with_a_warning() {
    let tg = FakeTelegram::start().await;
    let (group, supergroup) = (-4_000_000_003_i64, -1_004_000_000_003_i64);
    tg.add_chat(group, "group", None);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut r = start_polling(&tg, dir.path(), group).await;

    tg.migrate_group(group, supergroup, ALICE);
    tg.push_message(supergroup, ALICE, Some("alice_tg"), "/done API-101");
    let sent = tg.wait_for_sent(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{}", r.log());
    assert_eq!(sent[0].chat_id, supergroup);
    assert!(sent[0].text.contains("API-101"), "{}", sent[0].text);
    assert_eq!(r.task("API-101")["status"], "done");
    let log = r.stop().await;
    let warning = log
        .lines()
        .find(|l| l.contains("was upgraded to the supergroup"))
        .unwrap_or_else(|| panic!("no warning:\n{log}"));
    assert!(warning.contains("chat_id") && warning.contains(&supergroup.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_poller_and_flood_control_are_survived() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut r = start_polling(&tg, dir.path(), GROUP).await;
    // Another program polls the same bot: Telegram ends weekbell's poll with 409.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer: Value = client(Duration::from_secs(5))
        .post(tg.method_url("getUpdates"))
        .json(&json!({"timeout": 0}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(answer["ok"], true);
    wait_until("the conflict to be logged", Duration::from_secs(10), || {
        r.log().contains("another program is polling this bot")
    })
    .await;
    // Then Telegram asks it to slow down once.
    tg.script("getUpdates", [TgReply::flood(1)]);
    tg.push_message(GROUP, ALICE, Some("alice_tg"), "/done API-101");
    let sent = tg.wait_for_sent(1, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 1, "{}", r.log());
    assert_eq!(r.task("API-101")["status"], "done");
    let log = r.stop().await;
    assert!(log.contains("Telegram asks to slow down"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_stops_polling_with_a_clear_log_line() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = support::free_port();
    let config = write_config(dir.path(), port, &sqlite(dir.path()), "polling = true");
    let mut env = env(&tg);
    env[0].1 = format!(
        "{}:AAwrongwrongwrongwrongwrongwrongwro",
        telegram_server::BOT_ID
    );
    let mut r = Running::start(dir.path(), config, port, env).await;
    wait_until("the refusal to be logged", Duration::from_secs(15), || {
        r.log().contains("Telegram refuses the bot token")
    })
    .await;
    let calls = tg.calls().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        tg.calls().len(),
        calls,
        "it kept calling with a refused token"
    );
    let log = r.stop().await;
    assert!(log.contains("BotFather"), "{log}");
    assert!(!log.contains("AAwrongwrong"), "the token leaked:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_on_one_database_take_turns_at_polling() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = sqlite(dir.path());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a_dir, &b_dir] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let channel = format!("polling = true\nbot_username = \"{BOT_USERNAME}\"");
    let (pa, pb) = (support::free_port(), support::free_port());
    let ca = write_config(&a_dir, pa, &store, &channel);
    let cb = write_config(&b_dir, pb, &store, &channel);
    let mut a = Running::start(&a_dir, ca, pa, env(&tg)).await;
    wait_until("a to poll", Duration::from_secs(15), || {
        a.log().contains("polling for commands")
    })
    .await;
    let mut b = Running::start(&b_dir, cb, pb, env(&tg)).await;
    wait_until("b to stand by", Duration::from_secs(15), || {
        b.log()
            .contains("another replica polls this bot; standing by")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let conflicts = tg
        .calls_of("getUpdates")
        .iter()
        .filter(|c| c.status == 409)
        .count();
    assert_eq!(conflicts, 0, "the replicas fought over getUpdates");

    tg.push_message(GROUP, ALICE, Some("alice_tg"), "/done API-101");
    assert_eq!(tg.wait_for_sent(1, Duration::from_secs(15)).await.len(), 1);
    // The poller stops; the other takes over at its next look (every 15 s).
    a.stop().await;
    tg.push_message(GROUP, BOB, Some("bob_tg"), "/note API-102 renewing");
    let sent = tg.wait_for_sent(2, Duration::from_secs(30)).await;
    assert_eq!(sent.len(), 2, "{}", b.log());
    assert!(b.log().contains("polling for commands"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(tg.sent().len(), 2, "an update was run twice");
    let history = b.history();
    assert_eq!(status_changes(&history), 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_appears_in_logs_outbox_or_cli_output() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = support::free_port();
    // Every send fails with replies that quote the request, plus a digest every 2 s.
    let channel = format!(
        "secret_token = \"${{TG_SECRET}}\"\nbot_username = \"{BOT_USERNAME}\"\n\
         [[schedules]]\nname = \"tick\"\ncron = \"*/2 * * * * *\"\nkind = \"digest\"\nchannels = [\"tg\"]"
    );
    let config = write_config(dir.path(), port, &sqlite(dir.path()), &channel);
    let token = tg.token();
    tg.script(
        "sendMessage",
        [
            TgReply::error(
                400,
                &format!("Bad Request: bad url /bot{token}/sendMessage"),
            ),
            TgReply::Status(502),
            TgReply::error(401, "Unauthorized"),
        ],
    );
    let r = Running::start(dir.path(), config, port, env(&tg)).await;
    tg.wait_for_calls(Duration::from_secs(20), |c| {
        c.iter().filter(|c| c.method == "sendmessage").count() >= 3
    })
    .await;
    let forged = tg.push_message(GROUP, ALICE, Some("alice_tg"), "/done API-101");
    let hook = format!("{}/hooks/tg", r.base);
    assert_eq!(tg.deliver_to(&hook, Some("nope"), &forged).await, 401);
    let mut seen = String::new();
    for args in [
        vec!["check"],
        vec!["outbox", "list", "--json"],
        vec!["outbox"],
        vec!["preview", "tick", "--json"],
        vec!["history", "--json"],
    ] {
        let env: Vec<(&str, &str)> = r
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let o = weekbell(&r.dir, &r.config, &args, &env);
        seen.push_str(&String::from_utf8_lossy(&o.stdout));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let mut r = r;
    seen.push_str(&r.stop().await);
    assert!(
        seen.contains("Telegram"),
        "the failures were reported:\n{seen}"
    );
    let secret_part = token.split_once(':').map_or(token.as_str(), |(_, s)| s);
    for needle in [secret_part, SECRET_TOKEN] {
        assert!(
            !seen.contains(needle),
            "leaked:\n{}",
            seen.lines()
                .filter(|l| l.contains(needle))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
