//! Slack Socket Mode: the client against a local Slack that speaks the protocol, and the real
//! `weekbell run` answering commands typed in a Slack with no public URL.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::chat_servers::{FakeOptions, FakeSlack};
use support::daemon::Daemon;
use support::logs::Logs;
use support::slack_socket_server::{
    ACK_DEADLINE, FakeSocketMode, OpenReply, SlackConn, app_mention, slash_command,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use weekbell::inbound::slack_socket::{InlineAnswer, SocketConfig, run};
use weekbell::inbound::{Backoff, InboundMessage, ReplyRoute};
use weekbell::secret::Secret;

const APP_TOKEN: &str = "xapp-1-A0TESTAPP-7301-4d6f6e64617920746f6b656e0123456789abcdef";
const WAIT: Duration = Duration::from_secs(5);

fn config(slack: &FakeSocketMode, token: &str) -> SocketConfig {
    SocketConfig {
        api_base: slack.api_base().to_string(),
        backoff: Backoff {
            min: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        ..SocketConfig::new(Secret::new(token))
    }
}

/// What the test's handler was given, and what became of its inline answer.
#[derive(Debug)]
struct Call {
    message: InboundMessage,
    had_inline: bool,
    inline_sent: Option<bool>,
}

/// Starts the client; the handler answers slash commands inline with `answer: TEXT` after
/// `delay`, and reports every call.
fn start(
    config: SocketConfig,
    delay: Duration,
) -> (
    JoinHandle<()>,
    mpsc::UnboundedReceiver<Call>,
    watch::Sender<bool>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let handler = move |message: InboundMessage, inline: Option<InlineAnswer>| {
        let tx = tx.clone();
        async move {
            let had_inline = inline.is_some();
            let inline_sent = match inline {
                Some(inline) => {
                    tokio::time::sleep(delay).await;
                    let text = format!("answer: {}", message.text);
                    Some(
                        inline
                            .send(json!({"response_type": "in_channel", "text": text}))
                            .is_ok(),
                    )
                }
                None => None,
            };
            let _ = tx.send(Call {
                message,
                had_inline,
                inline_sent,
            });
        }
    };
    let task = tokio::spawn(run(config, support::client(WAIT), handler, shutdown));
    (task, rx, stop)
}

async fn stop_promptly(task: JoinHandle<()>, stop: &watch::Sender<bool>) {
    let _ = stop.send(true);
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the client panicked: {e}"),
        Err(_) => panic!("the client did not stop within 2 s of shutdown"),
    }
}

async fn next_call(rx: &mut mpsc::UnboundedReceiver<Call>) -> Call {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(c)) => c,
        _ => panic!("the handler was not called"),
    }
}

#[tokio::test]
async fn commands_events_retries_refresh_and_shutdown() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let (task, mut rx, stop) = start(config(&slack, APP_TOKEN), Duration::ZERO);

    let mut conn = slack.next_connection(WAIT).await;
    let calls = slack.open_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {APP_TOKEN}").as_str())
    );

    // A slash command: the answer rides in the ack.
    let (ack, attempt) = conn
        .deliver(
            &slash_command("env-1", "trig.1", "U01ALICE", "done 12"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(attempt, 0);
    assert_eq!(ack["payload"]["text"], "answer: done 12", "{ack}");
    assert_eq!(ack["payload"]["response_type"], "in_channel", "{ack}");
    let call = next_call(&mut rx).await;
    assert!(call.had_inline && call.inline_sent == Some(true));
    assert_eq!(call.message.message_id, "trig.1");
    assert!(matches!(
        call.message.reply,
        ReplyRoute::SlackCommand { .. }
    ));

    // A mention: acked at once without a payload, then handed over.
    let (ack, _) = conn
        .deliver(
            &app_mention("env-2", "Ev01", "1764918000.000100", "U01ALICE", "list"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack, json!({"envelope_id": "env-2"}));
    let call = next_call(&mut rx).await;
    assert!(!call.had_inline);
    assert_eq!(call.message.message_id, "C2147483705:1764918000.000100");
    assert_eq!(call.message.text, "<@U0BOT> list");

    // Slack's retry of that event (same event_id, retry_attempt 1), and the same trigger
    // again: acked, nothing handed over twice.
    let mut retry = app_mention("env-3", "Ev01", "1764918000.000100", "U01ALICE", "list");
    retry["retry_attempt"] = json!(1);
    retry["retry_reason"] = json!("timeout");
    let (ack, _) = conn.deliver(&retry, ACK_DEADLINE).await;
    assert_eq!(ack, json!({"envelope_id": "env-3"}));
    let (ack, _) = conn
        .deliver(
            &slash_command("env-4", "trig.1", "U01ALICE", "done 12"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack, json!({"envelope_id": "env-4"}));
    // The bot's own message and an interactive payload are acked and skipped.
    let (ack, _) = conn
        .deliver(
            &app_mention("env-5", "Ev02", "1764918001.000100", "U0BOT", "hi"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack["envelope_id"], "env-5");
    let (ack, _) = conn
        .deliver(
            &json!({"envelope_id": "env-6", "type": "interactive", "accepts_response_payload": false,
                    "payload": {"type": "block_actions"}}),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack["envelope_id"], "env-6");
    conn.send_text("not json");
    let (ack, _) = conn
        .deliver(
            &app_mention("env-7", "Ev03", "1764918002.000100", "U02BOB", "done 3"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack["envelope_id"], "env-7");
    let call = next_call(&mut rx).await;
    assert_eq!(call.message.message_id, "C2147483705:1764918002.000100");
    assert!(rx.try_recv().is_err(), "something was handed over twice");
    assert!(
        conn.pongs() > 0,
        "the client does not answer WebSocket pings"
    );

    // `disconnect` refresh_requested: a new connection is opened before the old one closes,
    // and the old one is closed once it is up.
    conn.disconnect("refresh_requested");
    let conn2 = slack.next_connection(WAIT).await;
    assert_ne!(conn2.ticket, conn.ticket);
    assert_eq!(slack.open_calls().len(), 2);
    conn.expect_closed(WAIT).await;
    let mut conn2 = conn2;
    let (ack, _) = conn2
        .deliver(
            &app_mention("env-8", "Ev04", "1764918003.000100", "U01ALICE", "done 4"),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack["envelope_id"], "env-8");
    assert_eq!(
        next_call(&mut rx).await.message.message_id,
        "C2147483705:1764918003.000100"
    );

    // `too_many_websockets`: reconnect, with a word about other connections.
    conn2.disconnect("too_many_websockets");
    conn2.expect_closed(WAIT).await;
    let conn3 = slack.next_connection(WAIT).await;
    assert!(
        slack.refused_sockets().is_empty(),
        "{:?}",
        slack.refused_sockets()
    );

    stop_promptly(task, &stop).await;
    conn3.expect_closed(WAIT).await;
    let log = logs.text();
    assert!(log.contains("Slack Socket Mode connected"), "{log}");
    assert!(log.contains("refresh_requested"), "{log}");
    assert!(log.contains("another weekbell"), "{log}");
    assert!(log.contains("unreadable frame"), "{log}");
    assert!(!log.contains(APP_TOKEN), "{log}");
    for ticket in slack.tickets() {
        assert!(!log.contains(&ticket), "ticket in the log: {log}");
    }
}

#[tokio::test]
async fn a_slow_command_is_acked_in_time_without_its_answer() {
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let (task, mut rx, stop) = start(config(&slack, APP_TOKEN), Duration::from_millis(2_800));
    let mut conn = slack.next_connection(WAIT).await;
    let sent = tokio::time::Instant::now();
    let (ack, attempt) = conn
        .deliver(
            &slash_command("env-1", "trig.slow", "U01ALICE", "status"),
            ACK_DEADLINE,
        )
        .await;
    let took = sent.elapsed();
    assert_eq!(attempt, 0);
    assert_eq!(ack, json!({"envelope_id": "env-1"}));
    assert!(
        took >= Duration::from_millis(2_400) && took < ACK_DEADLINE,
        "{took:?}"
    );
    // The handler learns that the ack left without it, so it can answer another way.
    let call = next_call(&mut rx).await;
    assert_eq!(call.inline_sent, Some(false));
    stop_promptly(task, &stop).await;
}

#[tokio::test]
async fn a_command_running_through_a_refresh_is_acked_with_its_answer_on_the_new_connection() {
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let handling = Duration::from_millis(1_500);
    let (task, mut rx, stop) = start(config(&slack, APP_TOKEN), handling);
    let mut conn = slack.next_connection(WAIT).await;
    let sent = tokio::time::Instant::now();
    conn.send(&slash_command("env-1", "trig.moved", "U01ALICE", "status"));
    // Slack moves the app while the command runs: the new connection is up and the old one
    // closed long before the handler answers.
    conn.disconnect("refresh_requested");
    let mut conn2 = slack.next_connection(WAIT).await;
    conn.expect_closed(WAIT).await;
    assert!(
        sent.elapsed() < handling,
        "the refresh outlasted the command"
    );
    assert_eq!(
        conn.try_recv(Duration::ZERO).await,
        None,
        "acked on the old one"
    );

    let ack = conn2.recv(ACK_DEADLINE).await;
    assert!(sent.elapsed() < ACK_DEADLINE, "{:?}", sent.elapsed());
    assert_eq!(ack["envelope_id"], "env-1", "{ack}");
    assert_eq!(ack["payload"]["text"], "answer: status", "{ack}");
    let call = next_call(&mut rx).await;
    assert_eq!(call.inline_sent, Some(true));
    stop_promptly(task, &stop).await;
}

#[tokio::test]
async fn unacked_events_are_redelivered_and_handled_once() {
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let (task, mut rx, stop) = start(config(&slack, APP_TOKEN), Duration::ZERO);
    let mut conn = slack.next_connection(WAIT).await;
    // Slack sends the event, the connection is lost before any ack, and Slack retries it on
    // the next connection.
    conn.send(&app_mention(
        "env-1",
        "Ev10",
        "1764918010.000100",
        "U01ALICE",
        "done 7",
    ));
    let first = conn.recv(WAIT).await;
    assert_eq!(first["envelope_id"], "env-1");
    drop(conn);
    let mut conn2 = slack.next_connection(WAIT).await;
    let mut retry = app_mention("env-2", "Ev10", "1764918010.000100", "U01ALICE", "done 7");
    retry["retry_attempt"] = json!(1);
    let (ack, _) = conn2.deliver(&retry, Duration::from_millis(500)).await;
    assert_eq!(ack["envelope_id"], "env-2");
    let call = next_call(&mut rx).await;
    assert_eq!(call.message.message_id, "C2147483705:1764918010.000100");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.try_recv().is_err(), "handled twice");
    stop_promptly(task, &stop).await;
}

#[tokio::test]
async fn a_refused_token_stops_the_client_with_a_hint() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let bot_token = "xoxb-1234-5678-notanapptoken";
    let (task, _rx, stop) = start(config(&slack, bot_token), Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = slack.open_calls();
    assert_eq!(calls.len(), 1, "a fatal refusal was retried: {calls:?}");
    assert_eq!(calls[0].answer["error"], "not_allowed_token_type");
    assert!(!task.is_finished(), "the client must wait for shutdown");
    stop_promptly(task, &stop).await;
    let log = logs.text();
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains("app-level token (xapp-"), "{log}");
    assert!(log.contains("does not start with xapp-"), "{log}");
    assert!(!log.contains(bot_token), "{log}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_slack_asks() {
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    slack.script([
        OpenReply::RateLimited {
            retry_after_secs: 1,
        },
        OpenReply::Error("internal_error".into()),
    ]);
    let (task, _rx, stop) = start(config(&slack, APP_TOKEN), Duration::ZERO);
    let _conn = slack.next_connection(WAIT).await;
    let calls = slack.open_calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0].status, 429);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    // An ordinary error is retried after the (short, in this test) backoff.
    assert!(calls[2].at.duration_since(calls[1].at) < Duration::from_millis(500));
    stop_promptly(task, &stop).await;
}

#[tokio::test]
async fn the_client_future_is_send_when_the_handler_is() {
    fn is_send<T: Send>(_: &T) {}
    let (_stop, shutdown) = watch::channel(false);
    let fut = run(
        SocketConfig::new(Secret::new(APP_TOKEN)),
        support::client(WAIT),
        |_m: InboundMessage, _i: Option<InlineAnswer>| async {},
        shutdown,
    );
    is_send(&fut);
}

// ---------------------------------------------------------------------------------------------
// The real daemon.

/// `weekbell run` with one Slack channel in Socket Mode and no `[server]` at all: commands
/// reach it only over the socket.
fn daemon(dir: &std::path::Path, slack: &FakeSocketMode, webhook: &str) -> Daemon {
    let tasks =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
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
[channels.eng]
platform = "slack"
webhook = "{webhook}"
app_token = "${{SLACK_APP_TOKEN}}"
socket_mode = true
api_base = "{}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
slack = "U01ALICE"
admin = true
"#,
        tasks.display(),
        slack.api_base()
    );
    let config = dir.join("weekbell.toml");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    Daemon::start(dir, &config, &[("SLACK_APP_TOKEN", APP_TOKEN)])
}

fn task_status(dir: &std::path::Path, id: &str) -> Value {
    let out = support::daemon::weekbell(
        dir,
        &dir.join("weekbell.toml"),
        &["tasks", "--json"],
        &[("SLACK_APP_TOKEN", APP_TOKEN)],
    );
    let tasks: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    tasks
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == id))
        .map(|t| t["status"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_typed_in_slack_reach_weekbell_without_a_public_url() {
    let slack = FakeSocketMode::start(APP_TOKEN).await;
    let sink = FakeSlack::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = daemon(dir.path(), &slack, &sink.url());
    let mut conn: SlackConn = slack.next_connection(Duration::from_secs(20)).await;

    // `/weekbell done API-101`: the answer is in the ack.
    let (ack, _) = conn
        .deliver(
            &slash_command("env-1", "trig.e2e.1", "U01ALICE", "done API-101 shipped"),
            ACK_DEADLINE,
        )
        .await;
    let text = ack["payload"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("API-101"), "{ack}\n{}", d.log());
    assert_eq!(ack["payload"]["response_type"], "in_channel");
    assert_eq!(task_status(dir.path(), "API-101"), "done");

    // `@weekbell block API-102 …`: acked at once, answered on the channel's webhook.
    let (ack, _) = conn
        .deliver(
            &app_mention(
                "env-2",
                "EvE2E1",
                "1764918100.000100",
                "U01ALICE",
                "block API-102 waiting for review",
            ),
            ACK_DEADLINE,
        )
        .await;
    assert_eq!(ack, json!({"envelope_id": "env-2"}));
    let got = sink.wait_for(1, Duration::from_secs(15)).await;
    let posted = got.first().map(|b| b.to_string()).unwrap_or_default();
    assert!(posted.contains("API-102"), "{posted}\n{}", d.log());
    assert_eq!(task_status(dir.path(), "API-102"), "blocked");

    // Slack's retry of the mention records nothing again and posts nothing again.
    let mut retry = app_mention(
        "env-3",
        "EvE2E1",
        "1764918100.000100",
        "U01ALICE",
        "block API-102 waiting for review",
    );
    retry["retry_attempt"] = json!(1);
    let _ = conn.deliver(&retry, ACK_DEADLINE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1);

    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("Slack Socket Mode connected"), "{log}");
    assert!(!log.contains(APP_TOKEN), "{log}");
}
