//! DingTalk's HTTP callback against the real `weekbell run`: what its signature does not cover.
//! The `timestamp`/`sign` pair signs only the timestamp, so the body (sender, text, the
//! `sessionWebhook` the answer goes to, the robot it is for) is the sender's word. These tests
//! play the attacker who captured one signed request.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::chat_servers::{FakeDingTalk, FakeOptions, FakeServer};
use support::daemon::{Daemon, team_tasks, weekbell, write_team_config};
use weekbell::inbound::dingtalk;

const APP_SECRET: &str = "gU3kq8Xw2Lr9Zt5Vb7Nm1Pq4Sd6Fh8Jk0Lz2Xc4Vb6Nm8Qw";
const APP_KEY: &str = "dingappkey";
/// Alice's staff id; she may change any task.
const ALICE: &str = "manager7675";

struct Running {
    daemon: Daemon,
    hook: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Running {
    /// The daemon with one DingTalk channel taking callbacks; `extra` adds channel keys.
    async fn start(ding: &FakeServer, extra: &str) -> Running {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let config = write_config(dir.path(), port, ding, extra);
        let daemon = Daemon::start(dir.path(), &config, &[("DING_APP_SECRET", APP_SECRET)]);
        let client = support::client(Duration::from_secs(10));
        let base = format!("http://127.0.0.1:{port}");
        daemon.wait_healthy(&client, &base).await;
        Running {
            daemon,
            hook: format!("{base}/hooks/ding"),
            client,
            dir,
            config,
        }
    }

    /// Posts `body` with the given header pair; the HTTP status.
    async fn post(&self, ts: &str, sign: &str, body: &Value) -> u16 {
        self.client
            .post(&self.hook)
            .header("content-type", "application/json; charset=utf-8")
            .header(dingtalk::TIMESTAMP_HEADER, ts)
            .header(dingtalk::SIGN_HEADER, sign)
            .body(body.to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn history(&self) -> Vec<Value> {
        let out = weekbell(
            self.dir.path(),
            &self.config,
            &["history", "--json"],
            &[("DING_APP_SECRET", APP_SECRET)],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        v.as_array().cloned().unwrap_or_default()
    }
}

fn write_config(dir: &Path, port: u16, ding: &FakeServer, extra: &str) -> PathBuf {
    let rest = format!(
        r#"[channels.ding]
platform = "dingtalk"
webhook = "{}"
app_key = "{APP_KEY}"
app_secret = "${{DING_APP_SECRET}}"
rate_limit = "off"
{extra}
[[people]]
id = "alice"
name = "Alice"
dingtalk = "{ALICE}"
"#,
        ding.url(),
    );
    write_team_config(dir, port, "", &team_tasks(), &rest)
}

/// A robot message as DingTalk sends it (the fields of its "接收消息" example).
fn message(msg_id: &str, staff_id: &str, text: &str, session_webhook: &str) -> Value {
    let now_ms = chrono::Utc::now().timestamp_millis();
    json!({
        "conversationId": "cid6KeBBLoveMJOGXoYKF5x7EeiodoA==",
        "chatbotCorpId": "dinge8a565xxxx",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id,
        "senderNick": "someone",
        "isAdmin": false,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
        "createAt": now_ms,
        "senderCorpId": "dinge8a565xxxx",
        "conversationType": "2",
        "senderId": format!("$:LWCP_v1:${staff_id}"),
        "conversationTitle": "平台组",
        "isInAtList": true,
        "sessionWebhook": session_webhook,
        "text": {"content": text},
        "robotCode": APP_KEY,
        "msgtype": "text"
    })
}

fn fresh_pair() -> (String, String) {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let sign = dingtalk::sign(APP_SECRET, &ts);
    (ts, sign)
}

fn changes_to(history: &[Value], task: &str) -> usize {
    history.iter().filter(|e| e["task"] == task).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_header_pair_with_a_new_body_is_refused_and_records_nothing() {
    let ding = FakeDingTalk::start(FakeOptions::default()).await;
    let r = Running::start(&ding, &format!("api_base = \"{}\"", ding.base_url())).await;

    // A stranger's harmless message, signed by DingTalk and captured on the way.
    let (ts, sign) = fresh_pair();
    let original = message("msgOrig001==", "stranger01", "help", &ding.session_url());
    assert_eq!(r.post(&ts, &sign, &original).await, 200);
    ding.wait_for(1, Duration::from_secs(15)).await;
    // DingTalk's own retry, the same body with the same headers, is still accepted (and the
    // msgId dedupe answers it once).
    assert_eq!(r.post(&ts, &sign, &original).await, 200);

    // The same pair with new bodies: Alice's id, another msgId, a change to a task, answers
    // sent elsewhere.
    let forged = [
        message("msgForged01==", ALICE, "done API-101", &ding.session_url()),
        message(
            "msgForged02==",
            ALICE,
            "progress API-102 90%",
            &ding.session_url(),
        ),
        message("msgOrig001==", ALICE, "help", &ding.session_url()),
    ];
    for body in &forged {
        assert_eq!(r.post(&ts, &sign, body).await, 401, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let history = r.history();
    assert_eq!(changes_to(&history, "API-101"), 0, "{history:?}");
    assert_eq!(changes_to(&history, "API-102"), 0, "{history:?}");
    assert_eq!(ding.received().len(), 1, "only the original was answered");

    // The refusal was the binding, not the body: Alice's own message, freshly signed, runs.
    let (ts2, sign2) = fresh_pair();
    assert_eq!(r.post(&ts2, &sign2, &forged[0]).await, 200);
    ding.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(changes_to(&r.history(), "API-101"), 1);

    let (_, log) = r.daemon.terminate().await;
    assert!(log.contains("already accepted with another body"), "{log}");
    assert!(!log.contains(APP_SECRET) && !log.contains(&sign), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_or_plain_http_session_webhook_or_another_robot_is_refused_and_sent_nothing() {
    // The fake stands for the attacker's listener on loopback; no api_base names it.
    let sink = FakeDingTalk::start(FakeOptions::default()).await;
    let r = Running::start(&sink, "").await;
    let port = sink.addr().port();
    let targets = [
        sink.session_url(),
        format!("http://127.0.0.1:{port}/anything"),
        format!("https://127.0.0.1:{port}/robot/sendBySession?session=x"),
        "http://oapi.dingtalk.com/robot/sendBySession?session=x".to_string(),
        "https://oapi.dingtalk.com.attacker.example/robot/sendBySession?session=x".to_string(),
    ];
    for (i, target) in targets.iter().enumerate() {
        let (ts, sign) = fresh_pair();
        let body = message(&format!("msgSsrf{i}=="), ALICE, "done API-101", target);
        assert_eq!(r.post(&ts, &sign, &body).await, 400, "{target}");
    }
    // A message for another robot of the same company, with an allowed webhook.
    let (ts, sign) = fresh_pair();
    let mut other_robot = message(
        "msgOtherRobot==",
        ALICE,
        "done API-101",
        "https://oapi.dingtalk.com/robot/sendBySession?session=x",
    );
    other_robot["robotCode"] = json!("dingsomeotherapp");
    assert_eq!(r.post(&ts, &sign, &other_robot).await, 401);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.request_count(),
        0,
        "a request reached the attacker's listener"
    );
    assert_eq!(changes_to(&r.history(), "API-101"), 0);
    let (_, log) = r.daemon.terminate().await;
    assert!(
        log.contains("which is not DingTalk") && log.contains("127.0.0.1"),
        "{log}"
    );
    assert!(
        log.contains("robotCode is not this channel's app_key"),
        "{log}"
    );
    assert!(!log.contains("session=x"), "{log}");
}
