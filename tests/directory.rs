//! Finding people on the platforms by mobile or email: the directory look-ups against local
//! stand-ins of DingTalk's, Feishu's and Slack's directory APIs (found, not found, refused
//! credentials, rate limits), and end to end: `weekbell run` resolving a mobile at start, and
//! an unknown DingTalk sender whose mobile is on the list recognised after one look-up.

mod support;

use chrono::Utc;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::daemon::{Daemon, team_tasks, weekbell_ok, write_team_config};
use support::directory_servers::*;
use support::fake_http::{Answer, Scripted};
use weekbell::config::{ChannelConfig, PlatformSettings};
use weekbell::inbound::dingtalk;
use weekbell::people::Contact;
use weekbell::platforms::directory::{look_up, sender_mobile};
use weekbell::platforms::{Outcome, Platform};
use weekbell::secret::Secret;

/// A channel `office` on `platform` with these credentials, its API at `base` (a local fake),
/// built from its keys as the config loader builds it.
fn channel(platform: Platform, base: &str, credentials: &[(&str, &str)]) -> ChannelConfig {
    let mut ch = support::channel(platform, "https://example.invalid/hook", None);
    ch.name = "office".into();
    let credentials = credentials
        .iter()
        .map(|(k, v)| (k.to_string(), Secret::new(*v)))
        .collect();
    let options = [("api_base".to_string(), base.to_string())].into();
    ch.settings = PlatformSettings::from_keys(platform, credentials, options);
    ch
}

fn dingtalk_channel(base: &str, secret: &str) -> ChannelConfig {
    let credentials = [("app_key", DING_APP_KEY), ("app_secret", secret)];
    channel(Platform::Dingtalk, base, &credentials)
}

fn feishu_channel(base: &str, secret: &str) -> ChannelConfig {
    let credentials = [("app_id", FEISHU_APP_ID), ("app_secret", secret)];
    channel(Platform::Feishu, base, &credentials)
}

fn slack_channel(base: &str, token: &str) -> ChannelConfig {
    channel(Platform::Slack, base, &[("bot_token", token)])
}

fn client() -> reqwest::Client {
    support::client(Duration::from_secs(10))
}

/// The channel's directory asked about `contacts` now.
async fn ask(ch: &ChannelConfig, contacts: &[Contact<'_>]) -> Result<Vec<Option<String>>, Outcome> {
    look_up(&client(), ch, contacts, Utc::now()).await
}

fn permanent(outcome: Outcome, secret: &str) -> (String, String) {
    match outcome {
        Outcome::Permanent { reason, hint } => {
            assert!(
                !reason.contains(secret) && !hint.contains(secret),
                "{reason} / {hint}"
            );
            (reason, hint)
        }
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
}

// ---- DingTalk ------------------------------------------------------------------------------------

#[tokio::test]
async fn dingtalk_finds_a_member_by_mobile_and_answers_none_for_a_stranger_with_one_token() {
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], true).await;
    let ch = dingtalk_channel(&ding.base_url(), DING_APP_SECRET);
    let ids = ask(&ch, &[Contact::Mobile("13800000001")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    assert_eq!(ids, vec![Some("manager42".to_string())]);
    let ids = ask(&ch, &[Contact::Mobile("13900000009")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    assert_eq!(
        ids,
        vec![None],
        "errcode 60121 is 'no such user', not an error"
    );
    let asked: Vec<Value> = ding.http.received();
    assert_eq!(
        asked,
        vec![
            json!({"mobile": "13800000001"}),
            json!({"mobile": "13900000009"})
        ]
    );
    assert_eq!(ding.calls("/gettoken"), 1, "the access token is reused");
}

#[tokio::test]
async fn dingtalk_tells_a_senders_mobile_by_their_userid() {
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], false).await;
    let ch = dingtalk_channel(&ding.base_url(), DING_APP_SECRET);
    let mobile = sender_mobile(&client(), &ch, "manager42", Utc::now())
        .await
        .unwrap_or_else(|e| panic!("user/get failed: {e:?}"));
    assert_eq!(mobile.as_deref(), Some("13800000001"));
    let nobody = sender_mobile(&client(), &ch, "nobody", Utc::now())
        .await
        .unwrap_or_else(|e| panic!("user/get failed: {e:?}"));
    assert_eq!(nobody, None);
}

#[tokio::test]
async fn dingtalk_refused_credentials_name_the_channel_and_never_the_secret() {
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], true).await;
    let wrong = "WrongSecretWrongSecret0000";
    let ch = dingtalk_channel(&ding.base_url(), wrong);
    let outcome = ask(&ch, &[Contact::Mobile("13800000001")])
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong app secret was taken"));
    let (reason, hint) = permanent(outcome, wrong);
    assert!(
        reason.contains("`office`") && reason.contains("40089"),
        "{reason}"
    );
    assert!(hint.contains("app_secret"), "{hint}");
}

#[tokio::test]
async fn dingtalk_rate_limit_answers_ask_to_wait() {
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], true).await;
    let ch = dingtalk_channel(&ding.base_url(), DING_APP_SECRET);
    // The token is fetched first; the look-up then meets the per-second limit.
    ask(&ch, &[Contact::Mobile("13800000001")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    ding.http.script([Scripted::Answer(Answer::json(
        200,
        &json!({"errcode": 90018, "errmsg": "当前企业调用该接口超过限制", "request_id": "5w82ciuur781"}),
    ))]);
    let outcome = ask(&ch, &[Contact::Mobile("13800000001")]).await;
    assert!(matches!(outcome, Err(Outcome::Wait { .. })), "{outcome:?}");
}

// ---- Feishu --------------------------------------------------------------------------------------

#[tokio::test]
async fn feishu_resolves_mobiles_and_emails_in_one_batch_and_a_stranger_has_no_id() {
    let feishu =
        FakeFeishuDirectory::start(&[("13800000001", "ou_li"), ("wang@example.com", "ou_wang")])
            .await;
    let ch = feishu_channel(&feishu.base_url(), FEISHU_APP_SECRET);
    let ids = ask(
        &ch,
        &[
            Contact::Mobile("13800000001"),
            Contact::Email("wang@example.com"),
            Contact::Mobile("13900000009"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("batch_get_id failed: {e:?}"));
    assert_eq!(
        ids,
        vec![Some("ou_li".to_string()), Some("ou_wang".to_string()), None]
    );
    assert_eq!(feishu.http.received().len(), 1, "one request for the batch");
}

#[tokio::test]
async fn feishu_refused_credentials_are_permanent_and_a_429_asks_to_wait() {
    let feishu = FakeFeishuDirectory::start(&[("13800000001", "ou_li")]).await;
    let wrong = "WrongFeishuSecret000000000000000";
    let ch = feishu_channel(&feishu.base_url(), wrong);
    let outcome = ask(&ch, &[Contact::Mobile("13800000001")])
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong app secret was taken"));
    permanent(outcome, wrong);

    let ch = feishu_channel(&feishu.base_url(), FEISHU_APP_SECRET);
    ask(&ch, &[Contact::Mobile("13800000001")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    feishu.http.script([Scripted::Answer(
        Answer::json(
            429,
            &json!({"code": 99991400, "msg": "request trigger frequency limit"}),
        )
        .with_header("x-ogw-ratelimit-reset", "3"),
    )]);
    let outcome = ask(&ch, &[Contact::Mobile("13800000001")]).await;
    assert!(matches!(outcome, Err(Outcome::Wait { .. })), "{outcome:?}");
}

// ---- Slack ---------------------------------------------------------------------------------------

#[tokio::test]
async fn slack_finds_a_member_by_email_and_users_not_found_is_none() {
    let slack = FakeSlackDirectory::start(&[("li@example.com", "U012LINA")]).await;
    let ch = slack_channel(&slack.base_url(), SLACK_BOT_TOKEN);
    let ids = ask(&ch, &[Contact::Email("li@example.com")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    assert_eq!(ids, vec![Some("U012LINA".to_string())]);
    let ids = ask(&ch, &[Contact::Email("zz@example.com")])
        .await
        .unwrap_or_else(|e| panic!("look-up failed: {e:?}"));
    assert_eq!(ids, vec![None]);
}

#[tokio::test]
async fn slack_a_bad_bot_token_is_permanent_and_a_429_waits_as_long_as_retry_after_says() {
    let slack = FakeSlackDirectory::start(&[("li@example.com", "U012LINA")]).await;
    let wrong = "xoxb-0000000000-0000000000-WrongToken";
    let ch = slack_channel(&slack.base_url(), wrong);
    let outcome = ask(&ch, &[Contact::Email("li@example.com")])
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong bot token was taken"));
    let (reason, hint) = permanent(outcome, wrong);
    assert!(reason.contains("invalid_auth"), "{reason}");
    assert!(hint.contains("bot_token"), "{hint}");

    let ch = slack_channel(&slack.base_url(), SLACK_BOT_TOKEN);
    slack.http.script([Scripted::Answer(
        Answer::json(429, &json!({"ok": false, "error": "ratelimited"}))
            .with_header("retry-after", "30"),
    )]);
    let outcome = ask(&ch, &[Contact::Email("li@example.com")]).await;
    match outcome {
        Err(Outcome::Wait { after, .. }) => assert_eq!(after, Duration::from_secs(30)),
        other => panic!("expected a wait, got {other:?}"),
    }
}

// ---- end to end ----------------------------------------------------------------------------------

/// A DingTalk channel whose app is `ding`, Li Na on the list by her mobile only.
fn config(dir: &Path, port: u16, ding: &FakeDingTalkDirectory) -> std::path::PathBuf {
    let rest = format!(
        r#"[channels.ding]
platform = "dingtalk"
webhook = "{base}/robot/send?access_token=robottoken"
app_key = "{DING_APP_KEY}"
app_secret = "${{DING_APP_SECRET}}"
api_base = "{base}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
mobile = "+86 138 0000 0001"
"#,
        base = ding.base_url()
    );
    write_team_config(dir, port, "", &team_tasks(), &rest)
}

fn callback(ding: &FakeDingTalkDirectory, msg_id: &str, staff_id: &str, text: &str) -> String {
    let now_ms = Utc::now().timestamp_millis();
    json!({
        "conversationId": "cid6KeBBLoveMJOGXoYKF5x7EeiodoA==",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id,
        "senderNick": "Alice",
        "isAdmin": false,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
        "createAt": now_ms,
        "conversationType": "2",
        "senderId": format!("$:LWCP_v1:${staff_id}"),
        "isInAtList": true,
        "sessionWebhook": format!("{}/robot/sendBySession?session=c2e0a5", ding.base_url()),
        "text": {"content": text},
        "robotCode": DING_APP_KEY,
        "msgtype": "text"
    })
    .to_string()
}

async fn post(client: &reqwest::Client, port: u16, body: String) -> u16 {
    let ts = Utc::now().timestamp_millis().to_string();
    client
        .post(format!("http://127.0.0.1:{port}/hooks/ding"))
        .header("content-type", "application/json; charset=utf-8")
        .header("timestamp", &ts)
        .header("sign", dingtalk::sign(DING_APP_SECRET, &ts))
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("posting the callback: {e}"))
        .status()
        .as_u16()
}

fn progress(dir: &Path, config: &Path, id: &str) -> Value {
    let env = [("DING_APP_SECRET", DING_APP_SECRET)];
    let tasks: Value = serde_json::from_str(&weekbell_ok(dir, config, &["tasks", "--json"], &env))
        .unwrap_or_else(|e| panic!("tasks --json: {e}"));
    tasks
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id))
        .map(|t| t["progress"].clone())
        .unwrap_or_else(|| panic!("no task {id}"))
}

/// `weekbell run` for an office whose DingTalk app is `ding`, up and answering.
struct Office {
    dir: tempfile::TempDir,
    port: u16,
    config: std::path::PathBuf,
    daemon: Daemon,
    http: reqwest::Client,
}

impl Office {
    async fn start(ding: &FakeDingTalkDirectory) -> Office {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let config = config(dir.path(), port, ding);
        let daemon = Daemon::start(dir.path(), &config, &[("DING_APP_SECRET", DING_APP_SECRET)]);
        let http = support::client(Duration::from_secs(15));
        daemon
            .wait_healthy(&http, &format!("http://127.0.0.1:{port}"))
            .await;
        Office {
            dir,
            port,
            config,
            daemon,
            http,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_dingtalk_sender_whose_mobile_is_on_the_list_is_recognised_after_one_look_up() {
    // Alice joined DingTalk after weekbell asked by her mobile: only `user/get` knows her.
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], false).await;
    let Office {
        dir,
        port,
        config,
        daemon,
        http,
    } = Office::start(&ding).await;

    let status = post(
        &http,
        port,
        callback(&ding, "msg-1", "manager42", "progress API-101 60%"),
    )
    .await;
    assert_eq!(status, 200, "{}", daemon.log());
    ding.http.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(
        progress(dir.path(), &config, "API-101"),
        60,
        "{}",
        daemon.log()
    );
    assert_eq!(ding.calls("/topapi/v2/user/get"), 1);

    // The answer is kept: her next command needs no second look-up.
    let status = post(
        &http,
        port,
        callback(&ding, "msg-2", "manager42", "progress API-101 70%"),
    )
    .await;
    assert_eq!(status, 200);
    support::daemon::wait_until("the second command", Duration::from_secs(15), || {
        progress(dir.path(), &config, "API-101") == 70
    })
    .await;
    assert_eq!(ding.calls("/topapi/v2/user/get"), 1, "{}", daemon.log());
    let (_, log) = daemon.terminate().await;
    assert!(!log.contains(DING_APP_SECRET), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mobile_on_the_list_is_resolved_at_start_and_a_stranger_is_refused_after_one_look_up() {
    let ding = FakeDingTalkDirectory::start(&[("manager42", "13800000001")], true).await;
    let Office {
        dir,
        port,
        config,
        daemon,
        http,
    } = Office::start(&ding).await;
    support::daemon::wait_until("the start look-up", Duration::from_secs(15), || {
        ding.calls("/topapi/v2/user/getbymobile") == 1
    })
    .await;
    // Recognised by the handle found at start (once the plan has it), without asking who she is.
    support::daemon::wait_until("the handle in the plan", Duration::from_secs(15), || {
        daemon
            .log()
            .contains("handles found in the platforms' directories")
    })
    .await;
    let _ = post(
        &http,
        port,
        callback(&ding, "msg-1", "manager42", "progress API-101 55%"),
    )
    .await;
    support::daemon::wait_until("Alice's command", Duration::from_secs(20), || {
        progress(dir.path(), &config, "API-101") == 55
    })
    .await;
    assert_eq!(ding.calls("/topapi/v2/user/get"), 0, "{}", daemon.log());

    // A stranger: asked about once, refused, and not asked about again.
    for n in 0..2 {
        let status = post(
            &http,
            port,
            callback(
                &ding,
                &format!("msg-x{n}"),
                "stranger9",
                "progress API-101 10%",
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
    support::daemon::wait_until("two refusals", Duration::from_secs(15), || {
        ding.http
            .received()
            .iter()
            .filter(|r| r.get("markdown").is_some() || r.get("text").is_some())
            .count()
            >= 3
    })
    .await;
    assert_eq!(ding.calls("/topapi/v2/user/get"), 1, "{}", daemon.log());
    assert_eq!(progress(dir.path(), &config, "API-101"), 55);
    let (_, log) = daemon.terminate().await;
    assert!(!log.contains(DING_APP_SECRET), "{log}");
}
