//! Chat commands end to end: the real `weekbell run` with its HTTP server, requests signed the
//! way each platform signs them, answers checked where each platform reads them (inline, a
//! DingTalk session webhook, Feishu's Open API, WeCom's encrypted passive reply, Discord's
//! interaction follow-ups), and the task list checked through `weekbell tasks` and
//! `weekbell history`.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::chat_servers::*;
use support::daemon::{Daemon, team_tasks, weekbell, weekbell_ok, write_team_config};
use support::dingtalk_stream_server::{FakeStreamGateway, robot_frame, robot_message};
use support::googlechat_server::{FakeGoogleChat, FakeGoogleKeys, GoogleSigner};
use support::slack_form;
use support::teams_server::{Endpoint, FakeTeams};
use weekbell::inbound::{WeComInbound, dingtalk, feishu, slack, teams};
use weekbell::secret::Secret;

const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const DING_APP_SECRET: &str = "gU3kq8Xw2Lr9Zt5Vb7Nm1Pq4Sd6Fh8Jk0Lz2Xc4Vb6Nm8Qw";
const FEISHU_ENCRYPT_KEY: &str = "kF9s2LmQ7xYzA1bC3dE5fG7hJ9kL1mN";
const WECOM_TOKEN: &str = "QDfCNvKdKgD5Jp";
const WECOM_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const API_TOKEN: &str = "api-7c1f0e9b2d4a";

/// The English team list, Alice known on every platform, the server on `port`.
fn config(dir: &Path, port: u16, server: &str, channels: &str) -> PathBuf {
    let people = r#"[[people]]
id = "alice"
name = "Alice"
slack = "U01ALICE"
dingtalk = "manager7675"
feishu = "ou_alice"
wecom = "alice.w"
discord = "80351110224678912"
mattermost = "alice"
teams = "7faf80cb-3f56-4d82-b2de-e3d64fc06f2b"
googlechat = "users/115236089054"
[[people]]
id = "bob"
name = "Bob"
slack = "U02BOB"
discord = "80351110224678913"
mattermost = "bob"
"#;
    write_team_config(
        dir,
        port,
        server,
        &team_tasks(),
        &format!("{channels}\n{people}"),
    )
}

struct Running {
    daemon: Daemon,
    base: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Running {
    async fn start(channels: &str, env: &[(&str, &str)]) -> Running {
        Running::start_with("", channels, env).await
    }

    /// With extra lines for `[server]`.
    async fn start_with(server: &str, channels: &str, env: &[(&str, &str)]) -> Running {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let config = config(dir.path(), port, server, channels);
        let daemon = Daemon::start(dir.path(), &config, env);
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let health = format!("{base}/healthz");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(&health).send().await
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
            daemon,
            base,
            client,
            dir,
            config,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn hook(&self, channel: &str) -> String {
        format!("{}/hooks/{channel}", self.base)
    }

    fn cli(&self, args: &[&str]) -> String {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        weekbell_ok(self.dir.path(), &self.config, args, &env)
    }

    fn history(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.cli(&["history", "--json"]))
            .unwrap_or_else(|e| panic!("{e}"));
        v.as_array().cloned().unwrap_or_default()
    }

    fn task(&self, id: &str) -> Value {
        let v: Value =
            serde_json::from_str(&self.cli(&["tasks", "--json"])).unwrap_or_else(|e| panic!("{e}"));
        v.as_array()
            .and_then(|a| a.iter().find(|t| t["id"] == id).cloned())
            .unwrap_or_else(|| panic!("no task {id}"))
    }
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn post_slack(r: &Running, body: &str, secret: &str, ts: i64) -> (u16, String) {
    let ts = ts.to_string();
    let sig = slack::signature(secret, &ts, body.as_bytes());
    let resp = r
        .client
        .post(r.hook("team"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn slack_channel(srv: &FakeServer) -> String {
    format!(
        "[channels.team]\nplatform = \"slack\"\nwebhook = \"{}\"\nsigning_secret = \"${{SLACK_SIGNING_SECRET}}\"\n",
        srv.url()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_slash_command_changes_the_list_once_and_answers_inline_refusals_and_help_to_the_asker_alone()
 {
    let sink = FakeSlack::start(FakeOptions::default()).await;
    let r = Running::start(
        &slack_channel(&sink),
        &[("SLACK_SIGNING_SECRET", SLACK_SECRET)],
    )
    .await;
    let body = slack_form(
        "done API-101 shipped",
        "U01ALICE",
        "13345224609.738474920.8088930838d88f008e0",
    );
    let (status, text) = post_slack(&r, &body, SLACK_SECRET, now_s()).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(answer["response_type"], "in_channel");
    let reply = answer["text"].as_str().unwrap_or_default();
    assert!(
        reply.contains("API-101") && reply.contains("done"),
        "{reply}"
    );

    // Slack retries the same command (same trigger id): answered again, recorded once.
    let (status, _) = post_slack(&r, &body, SLACK_SECRET, now_s()).await;
    assert_eq!(status, 200);
    let history = r.history();
    let status_changes: Vec<&Value> = history.iter().filter(|e| e["field"] == "status").collect();
    assert_eq!(status_changes.len(), 1, "{history:?}");
    assert_eq!(status_changes[0]["new"], "done");
    assert_eq!(status_changes[0]["actor"], "alice");
    assert_eq!(status_changes[0]["source"], "chat");
    assert_eq!(status_changes[0]["channel"], "team");
    assert_eq!(r.task("API-101")["status"], "done");

    // Bob does not own DOC-400: told who can (its owner, frank), nothing changes.
    let (_, text) = post_slack(
        &r,
        &slack_form("done DOC-400", "U02BOB", "t2"),
        SLACK_SECRET,
        now_s(),
    )
    .await;
    assert!(text.contains("frank"), "{text}");
    assert_eq!(r.task("DOC-400")["status"], "todo");
    let ephemeral = |text: &str| {
        let answer: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        answer["response_type"] == "ephemeral"
    };
    assert!(ephemeral(&text), "a refusal is Bob's alone: {text}");
    // A stranger is told to ask an admin; unknown text gets the help. Both only to the asker.
    let (_, text) = post_slack(
        &r,
        &slack_form("list", "U09NOBODY", "t3"),
        SLACK_SECRET,
        now_s(),
    )
    .await;
    assert!(text.contains("U09NOBODY"), "{text}");
    assert!(ephemeral(&text), "{text}");
    let (_, text) = post_slack(
        &r,
        &slack_form("what is this", "U01ALICE", "t4"),
        SLACK_SECRET,
        now_s(),
    )
    .await;
    assert!(text.contains("done"), "the help lists the commands: {text}");
    assert!(ephemeral(&text), "{text}");

    // The metrics count it.
    let metrics = r
        .client
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains("weekbell_commands_total{command=\"done\",outcome=\"changed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("weekbell_outbox_messages{status=\"pending\"}"));
    let (code, log) = r.daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains(SLACK_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_stale_unsigned_and_oversized_requests_change_nothing() {
    let sink = FakeSlack::start(FakeOptions::default()).await;
    let r = Running::start(
        &slack_channel(&sink),
        &[("SLACK_SIGNING_SECRET", SLACK_SECRET)],
    )
    .await;
    let good = slack_form("done API-101", "U01ALICE", "tt1");
    let ts = now_s().to_string();
    let sig = slack::signature(SLACK_SECRET, &ts, good.as_bytes());
    let send = |body: String, headers: Vec<(&'static str, String)>| {
        let mut req = r
            .client
            .post(r.hook("team"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    type Headers = Vec<(&'static str, String)>;
    let cases: Vec<(&str, String, Headers, u16)> = vec![
        (
            "tampered body",
            good.replace("API-101", "API-102"),
            vec![
                ("x-slack-request-timestamp", ts.clone()),
                ("x-slack-signature", sig.clone()),
            ],
            401,
        ),
        (
            "wrong secret",
            good.clone(),
            vec![
                ("x-slack-request-timestamp", ts.clone()),
                (
                    "x-slack-signature",
                    slack::signature("not-the-secret", &ts, good.as_bytes()),
                ),
            ],
            401,
        ),
        (
            "stale timestamp",
            good.clone(),
            {
                let old = (now_s() - 600).to_string();
                vec![
                    (
                        "x-slack-signature",
                        slack::signature(SLACK_SECRET, &old, good.as_bytes()),
                    ),
                    ("x-slack-request-timestamp", old),
                ]
            },
            401,
        ),
        (
            "missing signature header",
            good.clone(),
            vec![("x-slack-request-timestamp", ts.clone())],
            401,
        ),
        (
            "oversized body",
            format!("{good}&pad={}", "x".repeat(70 * 1024)),
            vec![
                ("x-slack-request-timestamp", ts.clone()),
                ("x-slack-signature", sig.clone()),
            ],
            413,
        ),
    ];
    for (what, body, headers, want) in cases {
        let resp = send(body, headers).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), want, "{what}");
        let text = resp.text().await.unwrap_or_default();
        assert!(text.is_empty(), "{what}: a refusal says nothing: {text}");
    }
    assert!(r.history().is_empty(), "no change from any refused request");
    assert_eq!(r.task("API-101")["status"], "in_progress");
    // Unknown channels are not found; the log says why each request was refused.
    let resp = r
        .client
        .post(r.hook("nope"))
        .body("x")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 404);
    let (_, log) = r.daemon.terminate().await;
    for reason in [
        "signature does not match",
        "outside the ±300 s window",
        "x-slack-signature is missing",
        "over 64 KiB",
        "no such channel",
    ] {
        assert!(
            log.to_lowercase().contains(&reason.to_lowercase()),
            "log lacks {reason}:\n{log}"
        );
    }
    assert!(!log.contains(SLACK_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dingtalk_callback_is_answered_through_its_session_webhook() {
    let ding = FakeDingTalk::start(FakeOptions::default()).await;
    let channels = format!(
        "[channels.ding]\nplatform = \"dingtalk\"\nwebhook = \"{}\"\napp_key = \"dingappkey\"\napp_secret = \"${{DING_APP_SECRET}}\"\napi_base = \"{}\"\nrate_limit = \"off\"\n",
        ding.url(),
        ding.base_url()
    );
    let r = Running::start(&channels, &[("DING_APP_SECRET", DING_APP_SECRET)]).await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let body = json!({
        "conversationId": "cid6KeBBLoveMJOGXoYKF5x7EeiodoA==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
        "chatbotCorpId": "dinge8a565xxxx",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": "msgdsiw8Yz1hxGhBPiHI0QZKQ==",
        "senderNick": "Alice",
        "isAdmin": false,
        "senderStaffId": "manager7675",
        "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
        "createAt": now_ms,
        "senderCorpId": "dinge8a565xxxx",
        "conversationType": "2",
        "senderId": "$:LWCP_v1:$alice",
        "conversationTitle": "平台组",
        "isInAtList": true,
        "sessionWebhook": ding.session_url(),
        "text": {"content": " progress API-101 80% almost there"},
        "robotCode": "dingappkey",
        "msgtype": "text"
    })
    .to_string();
    let post = |ts: String, sign: String, body: String| {
        r.client
            .post(r.hook("ding"))
            .header("content-type", "application/json; charset=utf-8")
            .header("timestamp", ts)
            .header("sign", sign)
            .body(body)
            .send()
    };
    let ts = now_ms.to_string();
    let resp = post(
        ts.clone(),
        dingtalk::sign(DING_APP_SECRET, &ts),
        body.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let got = ding.wait_for(1, Duration::from_secs(15)).await;
    let content = got[0]["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        content.contains("API-101") && content.contains("80%"),
        "{}",
        got[0]
    );
    // DingTalk redelivers: answered once, recorded once.
    let resp = post(
        ts.clone(),
        dingtalk::sign(DING_APP_SECRET, &ts),
        body.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ding.received().len(), 1);
    assert_eq!(
        r.history()
            .iter()
            .filter(|e| e["field"] == "progress")
            .count(),
        1
    );
    assert_eq!(r.task("API-101")["progress"], 80);
    // A wrong signature is refused.
    let resp = post(ts.clone(), dingtalk::sign("wrong", &ts), body)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 401);
    let outbox = r.cli(&["outbox", "list", "--json"]);
    assert!(outbox.contains("reply:ding:"), "{outbox}");
    assert!(
        !outbox.contains(ding.token()),
        "the session webhook is not printed: {outbox}"
    );
    let (_, log) = r.daemon.terminate().await;
    assert!(
        !log.contains(DING_APP_SECRET) && !log.contains(ding.token()),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feishu_event_is_answered_through_the_open_api() {
    let fs = FakeFeishu::start(FakeOptions::default()).await;
    let channels = format!(
        "[channels.lark]\nplatform = \"feishu\"\nwebhook = \"{}\"\napp_id = \"{FEISHU_APP_ID}\"\napp_secret = \"${{FEISHU_APP_SECRET}}\"\nencrypt_key = \"${{FEISHU_ENCRYPT_KEY}}\"\napi_base = \"{}\"\n",
        fs.url(),
        fs.base_url()
    );
    let r = Running::start(
        &channels,
        &[
            ("FEISHU_APP_SECRET", fs.token()),
            ("FEISHU_ENCRYPT_KEY", FEISHU_ENCRYPT_KEY),
        ],
    )
    .await;
    // The URL verification Feishu sends when the address is saved: encrypted, unsigned.
    let challenge =
        json!({"challenge": "ajls384kdjx98XX", "token": "", "type": "url_verification"});
    let sealed = feishu::encrypt(
        FEISHU_ENCRYPT_KEY,
        challenge.to_string().as_bytes(),
        *b"fedcba9876543210",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let resp = r
        .client
        .post(r.hook("lark"))
        .header("content-type", "application/json")
        .body(json!({ "encrypt": sealed }).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, json!({"challenge": "ajls384kdjx98XX"}));

    let event = json!({
        "schema": "2.0",
        "header": {
            "event_id": "5e3702a84e847582be8db7fb73283c02",
            "event_type": "im.message.receive_v1",
            "create_time": (now_s() * 1000).to_string(),
            "token": "",
            "app_id": FEISHU_APP_ID,
            "tenant_key": "2ca1d211f64f6438"
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": "ou_alice", "user_id": "e33ggbyz", "union_id": "on_8ed6aa6"},
                "sender_type": "user",
                "tenant_key": "736588c9260f175e"
            },
            "message": {
                "message_id": "om_5ce6d572455d361153b7cb51da133945",
                "create_time": (now_s() * 1000).to_string(),
                "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                "chat_type": "group",
                "message_type": "text",
                "content": "{\"text\":\"@_user_1 block API-101 waiting for the vendor\"}",
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "weekbell"}]
            }
        }
    });
    let encrypted = feishu::encrypt(
        FEISHU_ENCRYPT_KEY,
        event.to_string().as_bytes(),
        *b"0123456789abcdef",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let body = json!({ "encrypt": encrypted }).to_string();
    let ts = now_s().to_string();
    let nonce = "1628347564";
    let resp = r
        .client
        .post(r.hook("lark"))
        .header("content-type", "application/json")
        .header("x-lark-request-timestamp", &ts)
        .header("x-lark-request-nonce", nonce)
        .header(
            "x-lark-signature",
            feishu::signature(FEISHU_ENCRYPT_KEY, &ts, nonce, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let got = fs.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got[0]["msg_type"], "interactive");
    let card: Value = serde_json::from_str(got[0]["content"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = card["elements"][0]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("API-101") && text.contains("blocked"),
        "{card}"
    );
    assert_eq!(r.task("API-101")["status"], "blocked");
    let (_, log) = r.daemon.terminate().await;
    assert!(
        !log.contains(fs.token()) && !log.contains(FEISHU_ENCRYPT_KEY),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wecom_ai_bot_gets_an_encrypted_passive_reply() {
    let wc = FakeWeCom::start(FakeOptions::default()).await;
    let channels = format!(
        "[channels.wx]\nplatform = \"wecom\"\nwebhook = \"{}\"\ntoken = \"${{WECOM_TOKEN}}\"\nencoding_aes_key = \"${{WECOM_AES_KEY}}\"\n",
        wc.url()
    );
    let r = Running::start(
        &channels,
        &[
            ("WECOM_TOKEN", WECOM_TOKEN),
            ("WECOM_AES_KEY", WECOM_AES_KEY),
        ],
    )
    .await;
    let bot = WeComInbound {
        token: Secret::new(WECOM_TOKEN),
        encoding_aes_key: Secret::new(WECOM_AES_KEY),
        receive_id: None,
    };
    // URL verification: a signed GET whose `echostr` decrypts to the answer.
    let ts = now_s();
    let echo = bot
        .encrypt(b"5927782489442352469", *b"0123456789abcdef", ts, "n0nce")
        .unwrap_or_else(|e| panic!("{e}"));
    let echostr: String = echo
        .encrypt
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let resp = r
        .client
        .get(format!(
            "{}?msg_signature={}&timestamp={ts}&nonce=n0nce&echostr={echostr}",
            r.hook("wx"),
            echo.msg_signature
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap_or_default(), "5927782489442352469");

    let message = json!({
        "msgid": "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=",
        "aibotid": "AIBOTID",
        "chatid": "CHATID",
        "chattype": "group",
        "from": {"userid": "alice.w"},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
        "msgtype": "text",
        "text": {"content": "@weekbell 完成 API-101"}
    })
    .to_string();
    let ts = now_s();
    let sealed = bot
        .encrypt(message.as_bytes(), *b"abcdefghijklmnop", ts, "nonce123")
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "{}?msg_signature={}&timestamp={ts}&nonce=nonce123",
        r.hook("wx"),
        sealed.msg_signature
    );
    let resp = r
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(json!({ "encrypt": sealed.encrypt }).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let reply: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    let encrypted = reply["encrypt"].as_str().unwrap_or_default();
    let expected_sig = weekbell::inbound::wecom::signature(
        WECOM_TOKEN,
        reply["timestamp"].as_str().unwrap_or_default(),
        reply["nonce"].as_str().unwrap_or_default(),
        encrypted,
    );
    assert_eq!(reply["msgsignature"], expected_sig.as_str(), "{reply}");
    let plain = bot.decrypt(encrypted).unwrap_or_else(|e| panic!("{e}"));
    let plain: Value = serde_json::from_slice(&plain).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain["msgtype"], "stream");
    assert_eq!(plain["stream"]["finish"], true);
    let content = plain["stream"]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("API-101") && content.contains("已完成"),
        "{plain}"
    );
    assert_eq!(r.task("API-101")["status"], "done");
    let _ = r.daemon.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_api_takes_a_bearer_token() {
    let hook = FakeWebhook::start(FakeOptions::default()).await;
    let channels = format!(
        "[channels.api]\nplatform = \"webhook\"\nwebhook = \"{}\"\ntoken = \"${{API_TOKEN}}\"\n",
        hook.url()
    );
    let r = Running::start(&channels, &[("API_TOKEN", API_TOKEN)]).await;
    let send = |token: &str, body: Value| {
        r.client
            .post(r.hook("api"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let body =
        json!({"id": "req-1", "as": "alice", "text": "note API-101 design review on Tuesday"});
    let resp = send(API_TOKEN, body.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer["command"], "note");
    assert_eq!(answer["recorded"], 1);
    assert!(
        answer["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("API-101")
    );
    // The same request id again records nothing.
    let again: Value = send(API_TOKEN, body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again["recorded"], 0);
    let resp = send(
        "wrong-token",
        json!({"id": "req-2", "as": "alice", "text": "done API-101"}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 401);
    let notes = r.task("API-101")["notes"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(notes.contains("design review on Tuesday"), "{notes}");
    assert_eq!(r.history().len(), 1);
    let (_, log) = r.daemon.terminate().await;
    assert!(!log.contains(API_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn dingtalk_stream_mode_needs_no_public_address() {
    const APP_KEY: &str = "dingz0kqmbxkvlbd6xyz";
    let ding = FakeDingTalk::start(FakeOptions::default()).await;
    let gateway = FakeStreamGateway::start(APP_KEY, DING_APP_SECRET).await;
    let channels = format!(
        "[channels.ding]\nplatform = \"dingtalk\"\nwebhook = \"{}\"\napp_key = \"{APP_KEY}\"\napp_secret = \"${{DING_APP_SECRET}}\"\nstream = true\napi_base = \"{}\"\nrate_limit = \"off\"\n",
        ding.url(),
        gateway.gateway()
    );
    let r = Running::start(&channels, &[("DING_APP_SECRET", DING_APP_SECRET)]).await;
    let mut conn = gateway.next_connection(Duration::from_secs(15)).await;
    // The office's message, as DingTalk pushes it over the socket, answered via its session
    // webhook on the fake.
    let mut data: Value =
        serde_json::from_str(&robot_message("msgStream001==", " 完成 API-101 已上线"))
            .unwrap_or_else(|e| panic!("{e}"));
    // Without a session webhook (this channel's api_base is the gateway, so one on the fake
    // would be refused), answered through the channel's webhook.
    if let Some(fields) = data.as_object_mut() {
        fields.remove("sessionWebhook");
    }
    conn.send(&robot_frame("frame-1", &data.to_string())).await;
    let ack = conn.recv(Duration::from_secs(10)).await;
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["headers"]["messageId"], "frame-1");
    let got = ding.wait_for(1, Duration::from_secs(15)).await;
    let text = got[0]["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("API-101") && text.contains("已完成"),
        "{}",
        got[0]
    );
    assert_eq!(r.task("API-101")["status"], "done");
    let (code, log) = r.daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains(DING_APP_SECRET), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_sender_is_slowed_down_and_others_are_not() {
    let sink = FakeSlack::start(FakeOptions::default()).await;
    let r = Running::start_with(
        "sender_rate_limit = \"3/min\"",
        &slack_channel(&sink),
        &[("SLACK_SIGNING_SECRET", SLACK_SECRET)],
    )
    .await;
    for i in 0..3 {
        let body = slack_form(&format!("note API-101 n{i}"), "U01ALICE", &format!("f{i}"));
        let (_, text) = post_slack(&r, &body, SLACK_SECRET, now_s()).await;
        assert!(text.contains("API-101"), "{text}");
    }
    let body = slack_form("note API-101 n3", "U01ALICE", "f3");
    let (status, text) = post_slack(&r, &body, SLACK_SECRET, now_s()).await;
    assert_eq!(status, 200);
    assert!(text.contains("Too many commands"), "{text}");
    // Bob is not held back by Alice's flood.
    let (_, text) = post_slack(
        &r,
        &slack_form("list mine", "U02BOB", "b1"),
        SLACK_SECRET,
        now_s(),
    )
    .await;
    assert!(text.contains("API-102"), "{text}");
    let notes = r.history().iter().filter(|e| e["field"] == "note").count();
    assert_eq!(notes, 3, "the fourth note was not recorded");
    let _ = r.daemon.terminate().await;
}

/// The tokens of weekbell's Mattermost slash command and outgoing webhook.
const MM_COMMAND_TOKEN: &str = "xbxb8ctiffgd5d6huoc3pbqqpc";
const MM_OUTGOING_TOKEN: &str = "4m1ztuqcwbdqtfhsdrfr1mdaxy";
/// Alice's Mattermost user id.
const MM_ALICE_ID: &str = "ih5x7c4qdpyqdy4rcm9ju7ecxr";

async fn post_mm(
    r: &Running,
    content_type: &str,
    auth: Option<&str>,
    body: String,
) -> (u16, String) {
    let mut req = r
        .client
        .post(r.hook("mm"))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body);
    if let Some(token) = auth {
        req = req.header("authorization", format!("Token {token}"));
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Every platform's fake, the daemon posting to all of them with every credential set, and
/// the environment that holds the credentials.
struct EveryPlatform {
    ding: FakeServer,
    wecom: FakeServer,
    lark: FakeServer,
    slack: FakeServer,
    hook: FakeServer,
    flow: FakeTeams,
    space: FakeGoogleChat,
    discord: support::discord_server::FakeDiscord,
    mattermost: support::mattermost_server::FakeMattermost,
    env: Vec<(&'static str, String)>,
    r: Running,
}

async fn every_platform_running() -> EveryPlatform {
    const DING_SECRET: &str = "SECd1e9f0a7b3c5d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0";
    const FEISHU_SECRET: &str = "fsk9Yt2QmWc7Lp4ZrX8vNbQ1";
    const HOOK_SECRET: &str = "whsec-7f3a9c2e1b5d";
    let ding = FakeDingTalk::start(FakeOptions {
        secret: Some(DING_SECRET.into()),
        ..FakeOptions::default()
    })
    .await;
    let wecom = FakeWeCom::start(FakeOptions::default()).await;
    let lark = FakeFeishu::start(FakeOptions {
        secret: Some(FEISHU_SECRET.into()),
        ..FakeOptions::default()
    })
    .await;
    let slack = FakeSlack::start(FakeOptions::default()).await;
    let hook = FakeWebhook::start(FakeOptions {
        secret: Some(HOOK_SECRET.into()),
        ..FakeOptions::default()
    })
    .await;
    let flow = FakeTeams::start(Endpoint::Workflows).await;
    let space = FakeGoogleChat::start().await;
    let discord = support::discord_server::FakeDiscord::start(
        support::discord_server::DiscordOptions::default(),
    )
    .await;
    let mattermost = support::mattermost_server::FakeMattermost::start(
        support::mattermost_server::MattermostOptions::default(),
    )
    .await;
    let env: Vec<(&'static str, String)> = vec![
        ("DING_HOOK", ding.url()),
        ("DING_SECRET", DING_SECRET.into()),
        ("DING_APP_SECRET", DING_APP_SECRET.into()),
        ("WECOM_HOOK", wecom.url()),
        ("WECOM_TOKEN", WECOM_TOKEN.into()),
        ("WECOM_AES_KEY", WECOM_AES_KEY.into()),
        ("LARK_HOOK", lark.url()),
        ("LARK_SECRET", FEISHU_SECRET.into()),
        ("LARK_APP_SECRET", lark.token().into()),
        ("LARK_ENCRYPT_KEY", FEISHU_ENCRYPT_KEY.into()),
        ("SLACK_HOOK", slack.url()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.into()),
        ("API_HOOK", hook.url()),
        ("API_HOOK_SECRET", HOOK_SECRET.into()),
        ("API_TOKEN", API_TOKEN.into()),
        ("TEAMS_HOOK", flow.url()),
        ("TEAMS_TOKEN", TEAMS_TOKEN.into()),
        ("CHAT_HOOK", space.url()),
        ("DISCORD_HOOK", discord.url()),
        ("MM_HOOK", mattermost.url()),
        ("MM_TOKEN", MM_COMMAND_TOKEN.into()),
    ];
    let channels = format!(
        r#"[channels.ding]
platform = "dingtalk"
webhook = "${{DING_HOOK}}"
secret = "${{DING_SECRET}}"
app_key = "dingappkey"
app_secret = "${{DING_APP_SECRET}}"
api_base = "{}"
rate_limit = "off"
[channels.wx]
platform = "wecom"
webhook = "${{WECOM_HOOK}}"
token = "${{WECOM_TOKEN}}"
encoding_aes_key = "${{WECOM_AES_KEY}}"
rate_limit = "off"
[channels.lark]
platform = "feishu"
webhook = "${{LARK_HOOK}}"
secret = "${{LARK_SECRET}}"
app_id = "{FEISHU_APP_ID}"
app_secret = "${{LARK_APP_SECRET}}"
encrypt_key = "${{LARK_ENCRYPT_KEY}}"
api_base = "{}"
rate_limit = "off"
[channels.team]
platform = "slack"
webhook = "${{SLACK_HOOK}}"
signing_secret = "${{SLACK_SIGNING_SECRET}}"
rate_limit = "off"
[channels.api]
platform = "webhook"
webhook = "${{API_HOOK}}"
signing_secret = "${{API_HOOK_SECRET}}"
token = "${{API_TOKEN}}"
rate_limit = "off"
[channels.msteams]
platform = "teams"
webhook = "${{TEAMS_HOOK}}"
security_token = "${{TEAMS_TOKEN}}"
rate_limit = "off"
[channels.gchat]
platform = "googlechat"
webhook = "${{CHAT_HOOK}}"
audience = "123456789012"
certs = "{}"
rate_limit = "off"
[channels.dc]
platform = "discord"
webhook = "${{DISCORD_HOOK}}"
public_key = "{}"
api_base = "{}"
rate_limit = "off"
[channels.mm]
platform = "mattermost"
webhook = "${{MM_HOOK}}"
token = "${{MM_TOKEN}}"
rate_limit = "off"
[[schedules]]
name = "tick"
cron = "*/2 * * * * *"
kind = "digest"
channels = ["ding", "wx", "lark", "team", "api", "msteams", "gchat", "dc", "mm"]
"#,
        ding.base_url(),
        lark.base_url(),
        support::dead_url("/certs").await,
        support::discord_server::public_key(),
        discord.api_base(),
    );
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = Running::start(&channels, &env_ref).await;

    EveryPlatform {
        ding,
        wecom,
        lark,
        slack,
        hook,
        flow,
        space,
        discord,
        mattermost,
        env,
        r,
    }
}

/// Commands, good and refused, on each platform; then a few slots out to every platform.
async fn exercise_every_platform(p: &EveryPlatform) {
    let EveryPlatform {
        ding,
        slack,
        flow,
        space,
        discord,
        mattermost,
        r,
        ..
    } = p;
    let (_, _) = post_slack(
        r,
        &slack_form("done API-101", "U01ALICE", "s1"),
        SLACK_SECRET,
        now_s(),
    )
    .await;
    let (status, _) = post_slack(
        r,
        &slack_form("done API-101", "U01ALICE", "s2"),
        "wrong",
        now_s(),
    )
    .await;
    assert_eq!(status, 401);
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let body = json!({"msgId": "m1", "msgtype": "text", "text": {"content": "list"},
        "senderId": "$:x", "senderStaffId": "manager7675", "conversationId": "c1",
        "robotCode": "dingappkey",
        "sessionWebhook": ding.session_url(),
        "sessionWebhookExpiredTime": chrono::Utc::now().timestamp_millis() + 3_600_000})
    .to_string();
    let _ = r
        .client
        .post(r.hook("ding"))
        .header("timestamp", &ts)
        .header("sign", dingtalk::sign(DING_APP_SECRET, &ts))
        .body(body)
        .send()
        .await;
    let _ = r
        .client
        .post(r.hook("api"))
        .bearer_auth("not-the-token")
        .json(&json!({"id": "x", "as": "alice", "text": "help"}))
        .send()
        .await;
    let _ = r
        .client
        .post(r.hook("api"))
        .bearer_auth(API_TOKEN)
        .json(&json!({"id": "y", "as": "alice", "text": "status"}))
        .send()
        .await;
    let activity = teams_activity("17330436", ALICE_AAD, "<at>weekbell</at> status");
    for auth in [
        teams::signature(TEAMS_TOKEN, activity.as_bytes()),
        "HMAC d3JvbmcK".to_string(),
    ] {
        let _ = post_raw(r, "msteams", &activity, Some(&auth)).await;
    }
    let event = chat_event(
        "MESSAGE",
        "spaces/A/messages/x",
        "users/115236089054",
        "list",
        "list",
    );
    let (status, _) = post_raw(r, "gchat", &event, Some("Bearer a.b.c")).await;
    assert_eq!(status, 401);
    for token in [MM_COMMAND_TOKEN, "wrongwrongwrongwrongwrong1"] {
        let form = support::mattermost_server::slash_command(
            token,
            MM_ALICE_ID,
            "alice",
            "list",
            &support::mattermost_server::new_id(),
        );
        let _ = post_mm(r, "application/x-www-form-urlencoded", Some(token), form).await;
    }
    // Let a few slots go out to every platform.
    let _ = slack.wait_for(2, Duration::from_secs(20)).await;
    let _ = flow.wait_for(2, Duration::from_secs(20)).await;
    let _ = space.wait_for(2, Duration::from_secs(20)).await;
    let _ = ding.wait_for(3, Duration::from_secs(20)).await;
    assert!(
        !discord
            .wait_for(2, Duration::from_secs(20))
            .await
            .is_empty(),
        "nothing reached Discord"
    );
    assert!(
        !mattermost
            .wait_for(2, Duration::from_secs(20))
            .await
            .is_empty(),
        "nothing reached Mattermost"
    );
}

/// What must never show, by name: each credential in the environment (for a webhook, the
/// token part of its URL) and the Chat webhook's API key.
fn secrets_of(p: &EveryPlatform) -> Vec<(String, String)> {
    let mut secrets = vec![(
        "the Chat webhook key".to_string(),
        support::googlechat_server::WEBHOOK_KEY.to_string(),
    )];
    for (name, value) in &p.env {
        let secret_part = match *name {
            // For webhooks, the token part of the URL is the secret.
            "DING_HOOK" => p.ding.token().to_string(),
            "WECOM_HOOK" => p.wecom.token().to_string(),
            "LARK_HOOK" => p.lark.token().to_string(),
            "SLACK_HOOK" => p.slack.token().to_string(),
            "API_HOOK" => p.hook.token().to_string(),
            "TEAMS_HOOK" => p.flow.token().to_string(),
            "CHAT_HOOK" => p.space.token().to_string(),
            "DISCORD_HOOK" => p.discord.token().to_string(),
            "MM_HOOK" => p.mattermost.key().to_string(),
            _ => value.clone(),
        };
        secrets.push((name.to_string(), secret_part));
    }
    secrets
}

fn assert_no_secret_in(seen: &str, secrets: &[(String, String)]) {
    for (name, secret_part) in secrets {
        assert!(
            !seen.contains(secret_part.as_str()),
            "{name} leaked:\n{}",
            seen.lines()
                .filter(|l| l.contains(secret_part.as_str()))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Every credential of every platform at once, the daemon sending and answering, refusals
/// logged and metrics scraped: no secret shows in the log or the metrics.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_the_daemon_log_or_metrics() {
    let p = every_platform_running().await;
    exercise_every_platform(&p).await;
    let secrets = secrets_of(&p);
    let r = p.r;
    let metrics = r
        .client
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let mut seen = metrics;
    let (_, log) = r.daemon.terminate().await;
    seen.push_str(&log);
    assert!(log.contains("refused a hook"), "the refusals were logged");
    assert_no_secret_in(&seen, &secrets);
}

/// The same, with every CLI command run on its store and a config error shown: no secret
/// shows in their output.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_cli_output_or_a_config_error() {
    let p = every_platform_running().await;
    exercise_every_platform(&p).await;
    let secrets = secrets_of(&p);
    let slack_url = p.slack.url();
    let r = p.r;
    let mut seen = String::new();
    for args in [
        vec!["check"],
        vec!["next"],
        vec!["tasks", "--json"],
        vec!["history", "--json"],
        vec!["outbox", "list", "--json"],
        vec!["outbox"],
        vec!["preview", "tick", "--json"],
        vec!["cmd", "--as", "alice", "status"],
    ] {
        let env: Vec<(&str, &str)> = r
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let o = weekbell(r.dir.path(), &r.config, &args, &env);
        seen.push_str(&String::from_utf8_lossy(&o.stdout));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    // A config error shows the file with literal secrets masked.
    let broken = r.dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        format!(
            "[channels.x]\nplatform = \"slack\"\nwebhook = \"{}\"\nbogus = 1\n",
            slack_url
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(r.dir.path(), &broken, &["check"], &[]);
    assert_eq!(o.status.code(), Some(2));
    seen.push_str(&String::from_utf8_lossy(&o.stderr));
    let (_, log) = r.daemon.terminate().await;
    seen.push_str(&log);
    assert_no_secret_in(&seen, &secrets);
}

// ---------------------------------------------------------------------------------------------
// Discord interactions and Mattermost slash commands / outgoing webhooks.

mod discord_and_mattermost {
    use super::*;
    use support::discord_server::{
        APP_SEED, APPLICATION_ID, DiscordOptions, FakeDiscord, ping, public_key, signed_headers,
        slash_command,
    };
    use support::mattermost_server::{
        FakeMattermost, MattermostOptions, new_id, outgoing_webhook, slash_command as mm_command,
    };

    const ALICE: &str = "80351110224678912";
    const BOB: &str = "80351110224678913";

    async fn post_discord(
        r: &Running,
        body: &str,
        headers: Vec<(&'static str, String)>,
    ) -> (u16, String, String) {
        let mut req = r
            .client
            .post(r.hook("dc"))
            .header("content-type", "application/json")
            .header(
                "user-agent",
                "Discord-Interactions/1.0 (+https://discord.com)",
            )
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, content_type, resp.text().await.unwrap_or_default())
    }

    fn discord_channel(srv: &FakeDiscord, extra: &str) -> String {
        format!(
            "[channels.dc]\nplatform = \"discord\"\nwebhook = \"{}\"\npublic_key = \"${{DISCORD_PUBLIC_KEY}}\"\napi_base = \"{}\"\n{extra}",
            srv.url(),
            srv.api_base()
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn discord_interactions_are_verified_answered_and_deduplicated() {
        let srv = FakeDiscord::start(DiscordOptions::default()).await;
        let key = public_key();
        let r = Running::start(
            &discord_channel(&srv, ""),
            &[("DISCORD_PUBLIC_KEY", key.as_str())],
        )
        .await;

        // Saving the endpoint URL: Discord's PING must get a PONG, and its deliberately bad
        // signature a 401.
        let (status, ctype, text) =
            post_discord(&r, &ping(), signed_headers(&APP_SEED, now_s(), &ping())).await;
        assert_eq!((status, text.as_str()), (200, r#"{"type":1}"#));
        assert!(ctype.starts_with("application/json"), "{ctype}");
        let (status, _, _) =
            post_discord(&r, &ping(), signed_headers(&[9; 32], now_s(), &ping())).await;
        assert_eq!(status, 401);

        // A change from Alice: answered in the channel, pinging nobody.
        let body = slash_command(
            "1180000000000000101",
            "aW50ZXJhY3Rpb24tMQ",
            ALICE,
            "done API-101 shipped",
        );
        let (status, _, text) =
            post_discord(&r, &body, signed_headers(&APP_SEED, now_s(), &body)).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(answer["type"], 4);
        assert_eq!(answer["data"]["allowed_mentions"], json!({"parse": []}));
        assert!(
            answer["data"].get("flags").is_none(),
            "a change is public: {answer}"
        );
        let content = answer["data"]["content"].as_str().unwrap_or_default();
        assert!(
            content.contains("API") && content.contains("101"),
            "{content}"
        );
        assert!(content.chars().count() <= 2000);
        assert_eq!(r.task("API-101")["status"], "done");
        // The same interaction again: answered, recorded once.
        let (status, _, _) =
            post_discord(&r, &body, signed_headers(&APP_SEED, now_s(), &body)).await;
        assert_eq!(status, 200);
        let changes = r
            .history()
            .iter()
            .filter(|e| e["field"] == "status")
            .count();
        assert_eq!(changes, 1);
        let recorded = r.history().len();

        // Lookups and mistakes are shown to the asker only.
        for (id, user, text) in [
            ("1180000000000000102", ALICE, "list mine"),
            ("1180000000000000103", "1234567", "list"),
            ("1180000000000000104", ALICE, "what is this"),
        ] {
            let body = slash_command(id, "aW50ZXJhY3Rpb24tMg", user, text);
            let (_, _, answer) =
                post_discord(&r, &body, signed_headers(&APP_SEED, now_s(), &body)).await;
            let answer: Value = serde_json::from_str(&answer).unwrap_or_default();
            assert_eq!(answer["data"]["flags"], 64, "{text}: {answer}");
        }
        // Bob may not close Alice's task: told so, nothing changes.
        let body = slash_command(
            "1180000000000000105",
            "aW50ZXJhY3Rpb24tMw",
            BOB,
            "reopen API-101",
        );
        let (_, _, text) = post_discord(&r, &body, signed_headers(&APP_SEED, now_s(), &body)).await;
        assert!(text.contains("alice") || text.contains("Alice"), "{text}");
        assert_eq!(r.task("API-101")["status"], "done");

        // Forged, tampered, unsigned and stale requests: 401, nothing changes.
        let good = slash_command(
            "1180000000000000106",
            "aW50ZXJhY3Rpb24tNA",
            ALICE,
            "done API-102",
        );
        let signed = signed_headers(&APP_SEED, now_s(), &good);
        type Headers = Vec<(&'static str, String)>;
        let cases: Vec<(&str, String, Headers)> = vec![
            (
                "tampered body",
                good.replace("API-102", "WEB-211"),
                signed.clone(),
            ),
            (
                "another key",
                good.clone(),
                signed_headers(&[1; 32], now_s(), &good),
            ),
            ("no signature", good.clone(), vec![signed[1].clone()]),
            ("no timestamp", good.clone(), vec![signed[0].clone()]),
            (
                "stale",
                good.clone(),
                signed_headers(&APP_SEED, now_s() - 600, &good),
            ),
        ];
        for (what, body, headers) in cases {
            let (status, _, text) = post_discord(&r, &body, headers).await;
            assert_eq!(status, 401, "{what}");
            assert!(text.is_empty(), "{what}: {text}");
        }
        assert_eq!(r.task("API-102")["status"], "todo");
        assert_eq!(r.task("WEB-211")["status"], "in_progress");
        assert_eq!(
            r.history().len(),
            recorded,
            "only the first command changed anything"
        );
        let (code, log) = r.daemon.terminate().await;
        assert_eq!(code, Some(0), "{log}");
        for reason in [
            "signature does not match",
            "x-signature-ed25519 is missing",
            "outside the ±300 s window",
        ] {
            assert!(log.contains(reason), "log lacks {reason}:\n{log}");
        }
        assert!(
            !log.contains("aW50ZXJhY3Rpb24"),
            "interaction tokens stay out of the log"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_long_discord_answer_continues_in_follow_ups() {
        let srv = FakeDiscord::start(DiscordOptions::default()).await;
        let key = public_key();
        let r = Running::start(
            &discord_channel(&srv, "max_message_size = 400\n"),
            &[("DISCORD_PUBLIC_KEY", key.as_str())],
        )
        .await;
        let token = "aW50ZXJhY3Rpb246Zm9sbG93LXVw";
        srv.open_interaction(APPLICATION_ID, token);
        let body = slash_command("1180000000000000201", token, ALICE, "status");
        let (status, _, text) =
            post_discord(&r, &body, signed_headers(&APP_SEED, now_s(), &body)).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        let first = answer["data"]["content"].as_str().unwrap_or_default();
        assert!(first.starts_with("(1/"), "{first}");
        assert!(
            answer["data"].get("flags").is_none(),
            "the digest is for the channel"
        );
        let total: usize = first
            .split_once('/')
            .and_then(|(_, rest)| rest.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(total >= 2, "{first}");
        let followups = srv.wait_for(total - 1, Duration::from_secs(20)).await;
        assert_eq!(followups.len(), total - 1);
        for (i, m) in followups.iter().enumerate() {
            assert_eq!(
                m.path_and_query,
                format!("/api/v10/webhooks/{APPLICATION_ID}/{token}")
            );
            let content = m.body["content"].as_str().unwrap_or_default();
            assert!(
                content.starts_with(&format!("({}/{total})", i + 2)),
                "{content}"
            );
            assert!(content.chars().count() <= 400);
            assert!(m.pings.is_empty() && !m.pings_everyone);
        }
        let (_, log) = r.daemon.terminate().await;
        assert!(!log.contains(token), "{log}");
    }

    /// A daemon with one Mattermost channel that takes both a slash command's token and an
    /// outgoing webhook's; the fake Mattermost it posts to.
    async fn mattermost_running() -> (FakeMattermost, Running) {
        let srv = FakeMattermost::start(MattermostOptions::default()).await;
        let channels = format!(
            "[channels.mm]\nplatform = \"mattermost\"\nwebhook = \"{}\"\ntoken = \"${{MM_COMMAND_TOKEN}} ${{MM_OUTGOING_TOKEN}}\"\n",
            srv.url()
        );
        let r = Running::start(
            &channels,
            &[
                ("MM_COMMAND_TOKEN", MM_COMMAND_TOKEN),
                ("MM_OUTGOING_TOKEN", MM_OUTGOING_TOKEN),
            ],
        )
        .await;
        (srv, r)
    }

    /// Stops the daemon: a clean exit, and neither token in its log; the log, for more checks.
    async fn mattermost_stopped(r: Running) -> String {
        let (code, log) = r.daemon.terminate().await;
        assert_eq!(code, Some(0), "{log}");
        assert!(
            !log.contains(MM_COMMAND_TOKEN) && !log.contains(MM_OUTGOING_TOKEN),
            "{log}"
        );
        log
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[tokio::test(flavor = "multi_thread")]
    async fn a_mattermost_slash_command_changes_the_list_once_and_is_answered_in_the_channel() {
        let (_srv, r) = mattermost_running().await;
        let trigger = format!("{}:{MM_ALICE_ID}:1764918000000:sig", new_id());
        let body = mm_command(
            MM_COMMAND_TOKEN,
            MM_ALICE_ID,
            "alice",
            "done API-101 shipped",
            &trigger,
        );
        let (status, text) = post_mm(&r, FORM, Some(MM_COMMAND_TOKEN), body.clone()).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(answer["response_type"], "in_channel");
        assert_eq!(answer["skip_slack_parsing"], true);
        assert!(
            answer["text"]
                .as_str()
                .unwrap_or_default()
                .contains("API-101"),
            "{answer}"
        );
        // Its retry records nothing.
        let (status, _) = post_mm(&r, FORM, Some(MM_COMMAND_TOKEN), body).await;
        assert_eq!(status, 200);
        assert_eq!(r.task("API-101")["status"], "done");
        let changes = r
            .history()
            .iter()
            .filter(|e| e["field"] == "status")
            .count();
        assert_eq!(changes, 1);
        mattermost_stopped(r).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn mattermost_lookups_are_ephemeral_and_a_stranger_is_told_who_they_are() {
        let (_srv, r) = mattermost_running().await;
        let body = mm_command(
            MM_COMMAND_TOKEN,
            MM_ALICE_ID,
            "alice",
            "list mine",
            &new_id(),
        );
        let (_, text) = post_mm(&r, FORM, Some(MM_COMMAND_TOKEN), body).await;
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(answer["response_type"], "ephemeral", "{answer}");
        let body = mm_command(
            MM_COMMAND_TOKEN,
            &new_id(),
            "mallory",
            "done API-102",
            &new_id(),
        );
        let (_, text) = post_mm(&r, FORM, Some(MM_COMMAND_TOKEN), body).await;
        assert!(text.contains("mallory"), "{text}");
        assert_eq!(r.task("API-102")["status"], "todo");
        mattermost_stopped(r).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_mattermost_outgoing_webhook_is_answered_as_a_thread_reply_and_recorded_once() {
        let (_srv, r) = mattermost_running().await;
        // The trigger word is `weekbell`; the body is JSON.
        let post_id = new_id();
        let body = outgoing_webhook(
            MM_OUTGOING_TOKEN,
            MM_ALICE_ID,
            "alice",
            "weekbell note API-101 rollout on Tuesday",
            &post_id,
        );
        let notes_before = r.history().iter().filter(|e| e["field"] == "note").count();
        let (status, text) = post_mm(&r, "application/json", None, body.clone()).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(answer["response_type"], "comment");
        assert!(
            answer["text"]
                .as_str()
                .unwrap_or_default()
                .contains("API-101"),
            "{answer}"
        );
        let (status, _) = post_mm(&r, "application/json", None, body).await;
        assert_eq!(status, 200);
        let notes = r.history().iter().filter(|e| e["field"] == "note").count();
        assert_eq!(notes, notes_before + 1, "the same post id records once");
        assert!(
            r.task("API-101")["notes"]
                .as_str()
                .unwrap_or_default()
                .contains("rollout on Tuesday"),
            "{}",
            r.task("API-101")
        );
        mattermost_stopped(r).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn wrong_mismatched_or_missing_mattermost_tokens_are_refused_and_change_nothing() {
        let (_srv, r) = mattermost_running().await;
        let before = r.history().len();
        let cases: Vec<(&str, &str, Option<&str>, String)> = vec![
            (
                "wrong header token",
                FORM,
                Some("wrongwrongwrongwrongwrongw"),
                mm_command(
                    MM_COMMAND_TOKEN,
                    MM_ALICE_ID,
                    "alice",
                    "done API-102",
                    &new_id(),
                ),
            ),
            (
                "body token disagrees with the header",
                FORM,
                Some(MM_COMMAND_TOKEN),
                mm_command(
                    MM_OUTGOING_TOKEN,
                    MM_ALICE_ID,
                    "alice",
                    "done API-102",
                    &new_id(),
                ),
            ),
            (
                "wrong body token",
                "application/json",
                None,
                outgoing_webhook(
                    "wrongwrongwrongwrongwrongw",
                    MM_ALICE_ID,
                    "alice",
                    "weekbell done API-102",
                    &new_id(),
                ),
            ),
            (
                "no token",
                FORM,
                None,
                mm_command("", MM_ALICE_ID, "alice", "done API-102", &new_id())
                    .replace("&token=&", "&"),
            ),
        ];
        for (what, ctype, auth, body) in cases {
            let (status, text) = post_mm(&r, ctype, auth, body).await;
            assert_eq!(status, 401, "{what}: {text}");
            assert!(text.is_empty(), "{what}: {text}");
        }
        assert_eq!(r.history().len(), before);
        assert_eq!(r.task("API-102")["status"], "todo");
        let log = mattermost_stopped(r).await;
        assert!(log.contains("token does not match"), "{log}");
    }
}

// Microsoft Teams outgoing webhooks and Google Chat apps.

/// A security token as Teams generates them: 32 random bytes, base64.
const TEAMS_TOKEN: &str = "Q3m9pL0xV7sK2wR5tY8uI1oA4dF6gH9jZ0cX3vB5nM8=";
const ALICE_AAD: &str = "7faf80cb-3f56-4d82-b2de-e3d64fc06f2b";

async fn post_raw(r: &Running, channel: &str, body: &str, auth: Option<&str>) -> (u16, String) {
    let mut req = r
        .client
        .post(r.hook(channel))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string());
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// An outgoing-webhook activity from `aad` saying `html`, as Teams posts it.
fn teams_activity(id: &str, aad: &str, html: &str) -> String {
    json!({
        "type": "message", "id": id, "timestamp": "2026-12-01T09:00:07.437Z",
        "serviceUrl": "https://smba.trafficmanager.net/emea/", "channelId": "msteams",
        "from": {"id": format!("29:1{aad}"), "name": "Alice", "aadObjectId": aad},
        "conversation": {"isGroup": true, "id": format!("19:5b1f@thread.tacv2;messageid={id}")},
        "recipient": null, "textFormat": "plain", "text": html,
        "entities": [{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"}],
        "channelData": {"teamsChannelId": "19:5b1f@thread.tacv2", "teamsTeamId": "19:7e2a@thread.tacv2",
                        "tenant": {"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}
    })
    .to_string()
}

/// The texts of the card in a Teams answer.
fn card_text(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(v["type"], "message", "{v}");
    v["attachments"][0]["content"]["body"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_outgoing_webhook_command_is_answered_inline_and_recorded_once() {
    let flow = FakeTeams::start(Endpoint::Workflows).await;
    let channels = "[channels.team]\nplatform = \"teams\"\nwebhook = \"${TEAMS_WEBHOOK}\"\nsecurity_token = \"${TEAMS_TOKEN}\"\nmax_message_size = 400\n";
    let r = Running::start(
        channels,
        &[("TEAMS_WEBHOOK", &flow.url()), ("TEAMS_TOKEN", TEAMS_TOKEN)],
    )
    .await;
    let body = teams_activity(
        "1733043607437",
        ALICE_AAD,
        "<at>weekbell</at>&nbsp;done API-101 shipped\n",
    );
    let auth = teams::signature(TEAMS_TOKEN, body.as_bytes());
    let (status, answer) = post_raw(&r, "team", &body, Some(&auth)).await;
    assert_eq!(status, 200, "{answer}");
    let text = card_text(&answer);
    assert!(text.contains("API-101") && text.contains("done"), "{text}");
    // Teams offers the same message again (a replay): answered, recorded once.
    let (status, _) = post_raw(&r, "team", &body, Some(&auth)).await;
    assert_eq!(status, 200);
    let history = r.history();
    let changes: Vec<&Value> = history.iter().filter(|e| e["field"] == "status").collect();
    assert_eq!(changes.len(), 1, "{history:?}");
    assert_eq!(changes[0]["actor"], "alice");
    assert_eq!(r.task("API-101")["status"], "done");

    // Refused: a tampered body, another token, no header, a Bearer header.
    let tampered = body.replace("API-101", "API-102");
    let other = teams::signature(
        "QgyNSToQjf4p6+YzDpjKks1/tXeJQ7FhVHqRwTnugVI=",
        body.as_bytes(),
    );
    for (what, body, auth) in [
        ("tampered", tampered.as_str(), Some(auth.as_str())),
        ("other token", body.as_str(), Some(other.as_str())),
        ("unsigned", body.as_str(), None),
        ("bearer", body.as_str(), Some("Bearer x")),
    ] {
        let (status, text) = post_raw(&r, "team", body, auth).await;
        assert_eq!(status, 401, "{what}");
        assert!(text.is_empty(), "{what}: {text}");
    }
    assert_eq!(r.task("API-102")["status"], "todo");

    // A stranger is told the id to give an admin.
    let stranger = teams_activity(
        "1733043607999",
        "0d9e8f7a-6b5c-4d3e-9f1a-2b3c4d5e6f70",
        "<at>weekbell</at> list",
    );
    let (_, answer) = post_raw(
        &r,
        "team",
        &stranger,
        Some(&teams::signature(TEAMS_TOKEN, stranger.as_bytes())),
    )
    .await;
    assert!(
        card_text(&answer).contains("0d9e8f7a-6b5c-4d3e-9f1a-2b3c4d5e6f70"),
        "{answer}"
    );

    // `status` answers with the digest's first part; the others follow through the flow.
    let status_cmd = teams_activity(
        "1733043608001",
        ALICE_AAD,
        "<p><at>weekbell</at> status</p>",
    );
    let (status, answer) = post_raw(
        &r,
        "team",
        &status_cmd,
        Some(&teams::signature(TEAMS_TOKEN, status_cmd.as_bytes())),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let first = card_text(&answer);
    assert!(first.contains("(1/"), "{first}");
    let parts: usize = first
        .split("(1/")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no part count in {first}"));
    assert!(parts > 1);
    let rest = flow.wait_for(parts - 1, Duration::from_secs(20)).await;
    assert_eq!(rest.len(), parts - 1, "{rest:?}");
    let second = rest[0]["attachments"][0]["content"]["body"][1]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(second.starts_with(&format!("(2/{parts})")), "{second}");

    let (code, log) = r.daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("signature does not match"), "{log}");
    for secret in [TEAMS_TOKEN, flow.token()] {
        assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
}

const PROJECT: &str = "123456789012";
const ADDON_SA: &str = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com";

/// A classic Chat interaction event.
fn chat_event(kind: &str, name: &str, user: &str, text: &str, argument: &str) -> String {
    json!({
        "type": kind, "eventTime": "2026-12-01T09:00:00.000Z",
        "space": {"name": "spaces/AAAAq7Rk2Xw", "type": "ROOM", "displayName": "Team"},
        "message": {"name": name, "sender": {"name": user, "displayName": "Alice", "type": "HUMAN"},
                    "text": text, "argumentText": argument,
                    "thread": {"name": "spaces/AAAAq7Rk2Xw/threads/t1"},
                    "space": {"name": "spaces/AAAAq7Rk2Xw"}},
        "user": {"name": user, "displayName": "Alice", "type": "HUMAN"},
    })
    .to_string()
}

/// A daemon with three Google Chat channels: `chat` (project-number audience, X.509 keys),
/// `addon` (its own URL as audience, JWKS, one service account) and `nokeys` (keys nowhere to
/// be had); the keys it trusts and one it does not.
struct GoogleChatApp {
    known: GoogleSigner,
    unknown: GoogleSigner,
    keys: FakeGoogleKeys,
    space: FakeGoogleChat,
    /// The `addon` channel's hook URL, its audience.
    endpoint: String,
    r: Running,
}

const ALICE_CHAT: &str = "users/115236089054";

async fn google_chat_running() -> GoogleChatApp {
    let known = GoogleSigner::generate("5f1c6e0b2d3a4f8e9b7c1d0e3f2a4b6c8d9e0f1a");
    let unknown = GoogleSigner::generate("00ddeeff00ddeeff00ddeeff00ddeeff00ddeeff");
    let keys = FakeGoogleKeys::start(&[&known], 21_600).await;
    let space = FakeGoogleChat::start().await;
    let port_hint = "__ENDPOINT__";
    let channels = format!(
        r#"[channels.chat]
platform = "googlechat"
webhook = "${{CHAT_WEBHOOK}}"
audience = "{PROJECT}"
certs = "{x509}"
[channels.addon]
platform = "googlechat"
webhook = "${{CHAT_WEBHOOK}}"
audience = "{port_hint}"
certs = "{jwks}"
service_account = "{ADDON_SA}"
[channels.nokeys]
platform = "googlechat"
webhook = "${{CHAT_WEBHOOK}}"
audience = "{PROJECT}"
certs = "{dead}"
"#,
        x509 = keys.x509_url(),
        jwks = keys.jwks_url(),
        dead = support::dead_url("/certs").await,
    );
    // The add-on channel's audience is its own hook URL, known once the port is.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = support::free_port();
    let endpoint = format!("http://127.0.0.1:{port}/hooks/addon");
    let channels = channels.replace(port_hint, &endpoint);
    let config_path = config(dir.path(), port, "", &channels);
    let env = [("CHAT_WEBHOOK", space.url())];
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let daemon = Daemon::start(dir.path(), &config_path, &env_ref);
    let r = Running {
        daemon,
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
        dir,
        config: config_path,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while r
        .client
        .get(format!("{}/healthz", r.base))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "{}", r.daemon.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    GoogleChatApp {
        known,
        unknown,
        keys,
        space,
        endpoint,
        r,
    }
}

/// Stops the daemon: a clean exit, and neither the webhook's token nor its key in the log;
/// the log, for more checks.
async fn google_chat_stopped(app: GoogleChatApp) -> String {
    let (code, log) = app.r.daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    for secret in [app.space.token(), support::googlechat_server::WEBHOOK_KEY] {
        assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
    log
}

fn bearer(token: String) -> String {
    format!("Bearer {token}")
}

/// Alice's `done API-101 shipped` as a classic event with a project-number token: answered
/// with a Message that says it is done.
async fn google_chat_done(app: &GoogleChatApp) -> String {
    let event = chat_event(
        "MESSAGE",
        "spaces/AAAAq7Rk2Xw/messages/m1.m1",
        ALICE_CHAT,
        "@weekbell done API-101 shipped",
        " done API-101 shipped",
    );
    let auth = bearer(app.known.project_token(PROJECT, now_s()));
    let (status, answer) = post_raw(&app.r, "chat", &event, Some(&auth)).await;
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    let text = v["text"].as_str().unwrap_or_default();
    assert!(text.contains("API-101") && text.contains("done"), "{v}");
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_chat_event_with_a_project_number_token_is_answered_and_recorded_once() {
    let app = google_chat_running().await;
    let event = google_chat_done(&app).await;
    let auth = bearer(app.known.project_token(PROJECT, now_s()));
    let (status, _) = post_raw(&app.r, "chat", &event, Some(&auth)).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.r
            .history()
            .iter()
            .filter(|e| e["field"] == "status")
            .count(),
        1
    );
    assert_eq!(app.r.task("API-101")["status"], "done");
    google_chat_stopped(app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_add_on_event_with_its_id_token_is_answered_in_the_add_on_format() {
    let app = google_chat_running().await;
    google_chat_done(&app).await;
    let addon = json!({
        "commonEventObject": {"hostApp": "CHAT", "platform": "WEB"},
        "authorizationEventObject": {"systemIdToken": "unused"},
        "chat": {"user": {"name": ALICE_CHAT, "displayName": "Alice", "type": "HUMAN"},
                 "eventTime": "2026-12-01T09:01:00Z",
                 "appCommandPayload": {"appCommandMetadata": {"appCommandId": 1, "appCommandType": "SLASH_COMMAND"},
                     "space": {"name": "spaces/AAAAq7Rk2Xw"},
                     "message": {"name": "spaces/AAAAq7Rk2Xw/messages/m2.m2", "text": "/weekbell reopen API-101",
                                 "argumentText": " reopen API-101"}}}
    })
    .to_string();
    let id_auth = bearer(app.known.id_token(&app.endpoint, ADDON_SA, now_s()));
    let (status, answer) = post_raw(&app.r, "addon", &addon, Some(&id_auth)).await;
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    let text = v["hostAppDataAction"]["chatDataAction"]["createMessageAction"]["message"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("API-101"), "{v}");
    assert_eq!(app.r.task("API-101")["status"], "in_progress");
    google_chat_stopped(app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_chat_app_added_to_a_space_answers_with_the_command_list() {
    let app = google_chat_running().await;
    let added = google_chat_added();
    let auth = bearer(app.known.project_token(PROJECT, now_s()));
    let (status, answer) = post_raw(&app.r, "chat", &added, Some(&auth)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("weekbell commands"), "{answer}");
    google_chat_stopped(app).await;
}

/// The event of the app being added to a space.
fn google_chat_added() -> String {
    json!({"type": "ADDED_TO_SPACE", "space": {"name": "spaces/AAAAq7Rk2Xw"},
           "user": {"name": ALICE_CHAT, "type": "HUMAN"}})
    .to_string()
}

/// A message event that would mark API-101 done, for the refusals.
fn google_chat_done_again() -> String {
    chat_event(
        "MESSAGE",
        "spaces/AAAAq7Rk2Xw/messages/m3.m3",
        ALICE_CHAT,
        "done API-101",
        "done API-101",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn google_chat_tokens_that_are_forged_expired_misaddressed_or_missing_change_nothing() {
    let app = google_chat_running().await;
    let (known, unknown, r) = (&app.known, &app.unknown, &app.r);
    // The keys in the cache, as after any accepted event (this one changes nothing).
    let added = google_chat_added();
    let auth = bearer(known.project_token(PROJECT, now_s()));
    assert_eq!(post_raw(r, "chat", &added, Some(&auth)).await.0, 200);
    let before = r.task("API-101")["status"].clone();
    // A key Google does not publish, an expired token, another audience, an ID token of
    // someone else's service account, alg none, no token.
    let done_again = google_chat_done_again();
    let expired = known.sign(
        &json!({"alg": "RS256", "kid": known.kid}),
        &json!({"iss": "chat@system.gserviceaccount.com", "aud": PROJECT, "iat": now_s() - 7200, "exp": now_s() - 3600}),
    );
    let none = format!(
        "{}.{}.",
        base64_url(&json!({"alg": "none", "kid": known.kid}).to_string()),
        base64_url(&json!({"iss": "chat@system.gserviceaccount.com", "aud": PROJECT, "iat": now_s(), "exp": now_s() + 60}).to_string())
    );
    let fetches_before = app.keys.fetches();
    for (what, channel, auth) in [
        (
            "unpublished key",
            "chat",
            Some(bearer(unknown.project_token(PROJECT, now_s()))),
        ),
        ("expired", "chat", Some(bearer(expired))),
        (
            "other audience",
            "chat",
            Some(bearer(known.project_token("987654321098", now_s()))),
        ),
        (
            "other service account",
            "addon",
            Some(bearer(known.id_token(
                &app.endpoint,
                "mallory@evil.iam.gserviceaccount.com",
                now_s(),
            ))),
        ),
        ("alg none", "chat", Some(bearer(none))),
        ("no token", "chat", None),
    ] {
        let (status, text) = post_raw(r, channel, &done_again, auth.as_deref()).await;
        assert_eq!(status, 401, "{what}: {text}");
        assert!(text.is_empty(), "{what}: {text}");
    }
    // An unknown key id may make the cache look again at most once, not per request.
    for _ in 0..5 {
        let (status, _) = post_raw(
            r,
            "chat",
            &done_again,
            Some(&bearer(unknown.project_token(PROJECT, now_s()))),
        )
        .await;
        assert_eq!(status, 401);
    }
    assert!(
        app.keys.fetches() <= fetches_before + 1,
        "{} fetches",
        app.keys.fetches()
    );
    assert_eq!(r.task("API-101")["status"], before);
    let log = google_chat_stopped(app).await;
    for reason in [
        "not among the",
        "expired",
        "another audience",
        "not of Google Chat",
        "only RS256",
        "authorization is missing",
    ] {
        assert!(log.contains(reason), "log lacks {reason}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_google_keys_to_be_had_a_chat_event_is_answered_503_and_nothing_is_recorded() {
    let app = google_chat_running().await;
    let before = app.r.task("API-101")["status"].clone();
    let auth = bearer(app.known.project_token(PROJECT, now_s()));
    let (status, _) = post_raw(&app.r, "nokeys", &google_chat_done_again(), Some(&auth)).await;
    assert_eq!(status, 503);
    assert_eq!(app.r.task("API-101")["status"], before);
    let log = google_chat_stopped(app).await;
    assert!(log.contains("cannot load Google's signing keys"), "{log}");
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
