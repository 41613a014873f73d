//! `deliver` against local fakes of each platform: success, signatures, every documented reply,
//! throttling, server errors, dead ports, slow answers, dropped connections, and secrets that
//! must never show up in what comes back.

mod support;

use chrono::{Duration as ChronoDuration, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use support::chat_servers::{
    FakeDingTalk, FakeFeishu, FakeOptions, FakeServer, FakeSlack, FakeWeCom, FakeWebhook, Reply,
};
use support::{channel, client, dead_url, part};
use weekbell::config::{ChannelConfig, PlatformSettings};
use weekbell::platforms::{DEFAULT_WAIT, Outcome, Platform, ReplyVerdict, deliver};

const DING_SECRET: &str = "SEC5d1c0e7a9b3f2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
const FEISHU_SECRET: &str = "fsk9Yt2QmWc7Lp4ZrX8vNb";
const WEBHOOK_SECRET: &str = "whsec-7f3a9c2e1b";

/// The client timeout in these tests; slow replies are scripted well beyond it.
const TIMEOUT: Duration = Duration::from_millis(400);

/// The platforms under test, each with its fake and the secret it signs with.
#[derive(Debug, Clone, Copy)]
enum P {
    DingTalk,
    WeCom,
    Feishu,
    Slack,
    Webhook,
}

const ALL: [P; 5] = [P::DingTalk, P::WeCom, P::Feishu, P::Slack, P::Webhook];

impl P {
    fn platform(self) -> Platform {
        match self {
            P::DingTalk => Platform::Dingtalk,
            P::WeCom => Platform::Wecom,
            P::Feishu => Platform::Feishu,
            P::Slack => Platform::Slack,
            P::Webhook => Platform::Webhook,
        }
    }

    fn secret(self) -> Option<&'static str> {
        match self {
            P::DingTalk => Some(DING_SECRET),
            P::Feishu => Some(FEISHU_SECRET),
            P::Webhook => Some(WEBHOOK_SECRET),
            P::WeCom | P::Slack => None,
        }
    }

    async fn start(self, keyword: Option<&str>) -> FakeServer {
        let options = FakeOptions {
            secret: self.secret().map(str::to_string),
            keyword: keyword.map(str::to_string),
            ..FakeOptions::default()
        };
        match self {
            P::DingTalk => FakeDingTalk::start(options).await,
            P::WeCom => FakeWeCom::start(options).await,
            P::Feishu => FakeFeishu::start(options).await,
            P::Slack => FakeSlack::start(options).await,
            P::Webhook => FakeWebhook::start(options).await,
        }
    }

    /// A signed channel pointing at `srv`.
    fn channel(self, srv: &FakeServer) -> ChannelConfig {
        channel(self.platform(), &srv.url(), self.secret())
    }

    /// The path a dead-port URL gets, so only the port is wrong.
    fn path(self) -> &'static str {
        match self {
            P::DingTalk => "/robot/send?access_token=abcdef0123456789",
            P::WeCom => "/cgi-bin/webhook/send?key=abcdef0123456789",
            P::Feishu => "/open-apis/bot/v2/hook/abcdef0123456789",
            P::Slack => "/services/TFAKE/BFAKE/abcdef0123456789",
            P::Webhook => "/hook/abcdef0123456789",
        }
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

fn permanent_reason(o: &Outcome) -> &str {
    match o {
        Outcome::Permanent { reason, .. } => reason,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn every_platform_delivers_to_its_fake() {
    for p in ALL {
        let srv = p.start(None).await;
        let got = send(&p.channel(&srv), "## 本周督办\n\n- 12 清理河道").await;
        assert_eq!(got, Outcome::Sent, "{p:?}");
        let received = srv.received();
        assert_eq!(received.len(), 1, "{p:?}");
        let body = &received[0];
        let text = match p {
            P::DingTalk => &body["markdown"]["text"],
            P::WeCom => &body["markdown"]["content"],
            P::Feishu => &body["card"]["elements"][0]["content"],
            P::Slack | P::Webhook => &body["text"],
        };
        assert_eq!(text, "## 本周督办\n\n- 12 清理河道", "{p:?}: {body}");
    }
}

/// `template = …` on a generic webhook channel; the other platforms take no template and, as
/// a config key they do not know, it changes nothing there.
fn set_template(ch: &mut ChannelConfig, template: &str) {
    if let PlatformSettings::Webhook(webhook) = &mut ch.settings {
        webhook.template = Some(template.to_string());
    }
}

/// `msgtype = "text"` on a DingTalk or WeCom channel.
fn send_as_text(ch: &mut ChannelConfig) {
    ch.settings = PlatformSettings::from_keys(
        ch.platform,
        BTreeMap::new(),
        BTreeMap::from([("msgtype".to_string(), "text".to_string())]),
    );
}

#[tokio::test]
async fn dingtalk_and_wecom_text_messages_are_accepted_by_their_fakes() {
    for p in [P::DingTalk, P::WeCom] {
        let srv = p.start(None).await;
        let mut ch = p.channel(&srv);
        send_as_text(&mut ch);
        let got = send(&ch, "本周督办：12 清理河道 @staff-0001").await;
        assert_eq!(got, Outcome::Sent, "{p:?}");
        let body = &srv.received()[0];
        assert_eq!(body["msgtype"], "text", "{p:?}: {body}");
        assert_eq!(body["text"]["content"], "本周督办：12 清理河道 @staff-0001");
        match p {
            P::DingTalk => assert_eq!(body["at"]["atUserIds"], serde_json::json!(["staff-0001"])),
            _ => assert_eq!(
                body["text"]["mentioned_list"],
                serde_json::json!(["staff-0001"])
            ),
        }
    }
    // WeCom counts 2,048 bytes for text (4,096 for markdown): the fake refuses more, as WeCom does.
    let srv = P::WeCom.start(None).await;
    let mut ch = P::WeCom.channel(&srv);
    send_as_text(&mut ch);
    let got = send(&ch, &"督".repeat(700)).await;
    assert!(permanent_reason(&got).contains("40058"), "{got:?}");
}

#[tokio::test]
async fn signatures_are_checked_by_the_fakes() {
    let cases = [
        (P::DingTalk, "310000", "signature secret is wrong"),
        (P::Feishu, "19021", "refused the signature"),
        (P::Webhook, "401", "refused the request's credentials"),
    ];
    for (p, code, words) in cases {
        let srv = p.start(None).await;
        // The right secret passes…
        assert_eq!(send(&p.channel(&srv), "x").await, Outcome::Sent, "{p:?}");
        // …a wrong one is refused for good, in the platform's words…
        let wrong = channel(p.platform(), &srv.url(), Some("SECwrong-secret-0000"));
        let got = send(&wrong, "x").await;
        let reason = permanent_reason(&got);
        assert!(reason.contains(code), "{p:?}: {reason}");
        assert!(reason.contains(words), "{p:?}: {reason}");
        // …and so is no secret at all.
        let unsigned = channel(p.platform(), &srv.url(), None);
        let got = send(&unsigned, "x").await;
        assert!(permanent_reason(&got).contains(code), "{p:?}: {got:?}");
        // A clock two hours off fails the fake's time window.
        let ch = p.channel(&srv);
        let late = Utc::now() - ChronoDuration::hours(2);
        let got = deliver(&client(TIMEOUT), &ch, &part("x"), late).await;
        assert!(permanent_reason(&got).contains(code), "{p:?}: {got:?}");
        assert_eq!(srv.received().len(), 1, "{p:?}");
    }
}

#[tokio::test]
async fn wrong_tokens_are_permanent_with_the_platforms_reason() {
    let cases = [
        (P::DingTalk, "300001"),
        (P::WeCom, "93000"),
        (P::Feishu, "19001"),
        (P::Slack, "invalid_token"),
        (P::Webhook, "404"),
    ];
    for (p, code) in cases {
        let srv = p.start(None).await;
        let ch = channel(
            p.platform(),
            &srv.url_with_token("0000wrongtoken0000"),
            p.secret(),
        );
        let got = send(&ch, "x").await;
        let Outcome::Permanent { reason, hint } = &got else {
            panic!("{p:?}: {got:?}")
        };
        assert!(reason.contains(code), "{p:?}: {reason}");
        assert!(hint.contains("webhook"), "{p:?}: {hint}");
    }
    // WeCom's hint says what people get wrong: the whole URL, key included.
    let srv = P::WeCom.start(None).await;
    let ch = channel(Platform::Wecom, &srv.url_with_token("nope-nope-nope"), None);
    let got = send(&ch, "x").await;
    assert!(matches!(&got, Outcome::Permanent { hint, .. } if hint.contains("key included")));
}

#[tokio::test]
async fn keywords_sizes_and_payloads_are_checked_by_the_fakes() {
    // DingTalk keyword: missing → 310000 "keywords not in content".
    let srv = P::DingTalk.start(Some("清理")).await;
    let ch = P::DingTalk.channel(&srv);
    assert_eq!(send(&ch, "12 清理河道").await, Outcome::Sent);
    let got = send(&ch, "nothing relevant").await;
    assert!(
        permanent_reason(&got).contains("keywords not in content"),
        "{got:?}"
    );

    // DingTalk body over 20000 bytes → 460101.
    let got = send(&ch, &"清理".repeat(4000)).await;
    assert!(permanent_reason(&got).contains("460101"), "{got:?}");

    // Feishu keyword → 19024.
    let srv = P::Feishu.start(Some("weekbell")).await;
    let ch = P::Feishu.channel(&srv);
    let got = send(&ch, "no keyword here").await;
    assert!(permanent_reason(&got).contains("19024"), "{got:?}");
    assert_eq!(send(&ch, "weekbell digest").await, Outcome::Sent);

    // Feishu body over 20 KB → 19036.
    let got = send(&ch, &"weekbell ".repeat(3000)).await;
    assert!(permanent_reason(&got).contains("19036"), "{got:?}");

    // WeCom markdown over 4096 bytes → 40058, with WeCom's words.
    let srv = P::WeCom.start(None).await;
    let got = send(&P::WeCom.channel(&srv), &"进".repeat(1400)).await;
    let reason = permanent_reason(&got);
    assert!(reason.contains("40058"), "{reason}");
    assert!(reason.contains("exceed max length 4096"), "{reason}");
    // …and an empty one → 44004.
    let got = send(&P::WeCom.channel(&srv), "").await;
    assert!(permanent_reason(&got).contains("44004"), "{got:?}");

    // Slack without text → 400 no_text.
    let srv = P::Slack.start(None).await;
    let got = send(&P::Slack.channel(&srv), "   ").await;
    assert!(permanent_reason(&got).contains("no_text"), "{got:?}");
}

/// The HTTP status Slack uses for each of its webhook error strings.
fn slack_status(code: &str) -> u16 {
    match code {
        "ok" => 200,
        "invalid_payload" | "no_text" | "too_many_attachments" => 400,
        "posting_to_general_channel_denied"
        | "invalid_token"
        | "action_prohibited"
        | "team_disabled" => 403,
        "channel_not_found" | "no_service" | "no_active_hooks" => 404,
        "channel_is_archived" => 410,
        "rate_limited" => 429,
        other => panic!("no status known for Slack's {other}"),
    }
}

#[tokio::test]
async fn every_documented_reply_maps_to_its_outcome_over_http() {
    for p in [P::DingTalk, P::WeCom, P::Feishu, P::Slack] {
        let srv = p.start(None).await;
        let ch = p.channel(&srv);
        let rows = p.platform().documented_replies();
        assert!(!rows.is_empty(), "{p:?}");
        for row in rows {
            let reply = match p {
                P::Slack => Reply::Text(slack_status(&row.code), row.code.clone()),
                _ => Reply::Code(row.code.parse().unwrap_or_default()),
            };
            srv.script([reply]);
            let got = send(&ch, "x").await;
            match row.verdict {
                ReplyVerdict::Sent => assert_eq!(got, Outcome::Sent, "{p:?} {}", row.code),
                ReplyVerdict::Retry => {
                    assert_eq!(kind(&got), "retry", "{p:?} {}: {got:?}", row.code);
                }
                ReplyVerdict::Wait(after) => assert!(
                    matches!(&got, Outcome::Wait { after: a, .. } if *a == after),
                    "{p:?} {}: {got:?}",
                    row.code
                ),
                ReplyVerdict::Permanent => {
                    let Outcome::Permanent { reason, hint } = &got else {
                        panic!("{p:?} {}: {got:?}", row.code)
                    };
                    assert!(reason.starts_with(row.reason), "{p:?}: {reason}");
                    assert!(reason.contains(&row.code), "{p:?}: {reason}");
                    assert_eq!(hint, row.hint, "{p:?} {}", row.code);
                }
            }
        }
        // Nothing scripted was recorded as a message.
        assert!(srv.received().is_empty(), "{p:?}");
    }
}

#[tokio::test]
async fn the_generic_webhook_is_judged_by_status() {
    let srv = P::Webhook.start(None).await;
    let ch = P::Webhook.channel(&srv);
    let cases: &[(u16, &str)] = &[
        (200, "sent"),
        (201, "sent"),
        (204, "sent"),
        (301, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (408, "retry"),
        (410, "permanent"),
        (413, "permanent"),
        (422, "permanent"),
        (429, "wait"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
    ];
    for &(status, want) in cases {
        srv.script([Reply::Status(status)]);
        let got = send(&ch, "x").await;
        assert_eq!(kind(&got), want, "HTTP {status}: {got:?}");
    }
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    for p in ALL {
        let srv = p.start(None).await;
        let ch = p.channel(&srv);
        srv.script([Reply::TooManyRequests {
            retry_after_secs: 7,
        }]);
        let got = send(&ch, "x").await;
        assert!(
            matches!(&got, Outcome::Wait { after, .. } if *after == Duration::from_secs(7)),
            "{p:?}: {got:?}"
        );
        // Without the header, a minute.
        srv.script([Reply::Status(429)]);
        let got = send(&ch, "x").await;
        assert!(
            matches!(&got, Outcome::Wait { after, .. } if *after == DEFAULT_WAIT),
            "{p:?}: {got:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_are_retried_and_the_next_attempt_succeeds() {
    for p in ALL {
        let srv = p.start(None).await;
        let ch = p.channel(&srv);
        srv.script([Reply::Status(500), Reply::Status(502)]);
        assert_eq!(kind(&send(&ch, "x").await), "retry", "{p:?}");
        assert_eq!(kind(&send(&ch, "x").await), "retry", "{p:?}");
        assert_eq!(send(&ch, "x").await, Outcome::Sent, "{p:?}");
        assert_eq!(srv.request_count(), 3, "{p:?}");
        assert_eq!(srv.received().len(), 1, "{p:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_retried() {
    for p in ALL {
        let url = dead_url(p.path()).await;
        let ch = channel(p.platform(), &url, p.secret());
        let got = send(&ch, "x").await;
        let Outcome::Retry { reason } = &got else {
            panic!("{p:?}: {got:?}")
        };
        assert!(reason.contains("connection refused"), "{p:?}: {reason}");
    }
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    for p in ALL {
        let srv = p.start(None).await;
        let ch = p.channel(&srv);
        srv.script([Reply::Delay(Duration::from_secs(3))]);
        let started = std::time::Instant::now();
        let got = send(&ch, "x").await;
        let Outcome::Retry { reason } = &got else {
            panic!("{p:?}: {got:?}")
        };
        assert!(reason.contains("timed out after"), "{p:?}: {reason}");
        assert!(started.elapsed() < Duration::from_secs(2), "{p:?}");
        // The platform posted it nonetheless: the caller's retry will be a duplicate, which is
        // why delivery is at-least-once.
        assert_eq!(srv.received().len(), 1, "{p:?}");
    }
}

#[tokio::test]
async fn reset_and_closed_connections_are_retried() {
    for p in ALL {
        let srv = p.start(None).await;
        let ch = p.channel(&srv);
        srv.script([Reply::Reset, Reply::Close]);
        let reset = send(&ch, "x").await;
        let closed = send(&ch, "x").await;
        for got in [&reset, &closed] {
            let Outcome::Retry { reason } = got else {
                panic!("{p:?}: {got:?}")
            };
            assert!(
                reason.contains("reset") || reason.contains("closed the connection"),
                "{p:?}: {reason}"
            );
        }
        assert_eq!(send(&ch, "x").await, Outcome::Sent, "{p:?}");
    }
}

#[tokio::test]
async fn webhook_template_shapes_the_body() {
    let srv = P::Webhook.start(None).await;
    let mut ch = P::Webhook.channel(&srv);
    set_template(
        &mut ch,
        r#"{"msg_type": "text", "content": {"text": {{ (title ~ "\n" ~ text)|tojson }}},
            "who": {{ mentions|map(attribute="name")|list|tojson }}, "n": {{ part }}}"#,
    );
    assert_eq!(send(&ch, "第一行\n\"quoted\"").await, Outcome::Sent);
    let body = srv.received().pop().unwrap_or(Value::Null);
    assert_eq!(
        body["content"]["text"],
        "本周督办 weekly digest\n第一行\n\"quoted\""
    );
    assert_eq!(body["who"][0], "孙强");
    assert_eq!(body["n"], 1);

    // A template that does not produce JSON never reaches the network.
    set_template(&mut ch, r#"{"text": {{ text }}}"#);
    let got = send(&ch, "x").await;
    assert!(
        permanent_reason(&got).contains("did not produce valid JSON"),
        "{got:?}"
    );
    assert_eq!(srv.request_count(), 1);
}

#[tokio::test]
async fn console_prints_and_reports_sent() {
    let ch = channel(Platform::Console, "http://unused.invalid/", None);
    let got = deliver(&client(TIMEOUT), &ch, &part("hello"), Utc::now()).await;
    assert_eq!(got, Outcome::Sent);
}

/// Nothing a caller gets back (reasons, hints, a prepared request's Debug) may contain the
/// webhook token or a secret, whatever goes wrong, even when a server echoes them.
#[tokio::test]
async fn no_outcome_or_debug_output_contains_a_token_or_secret() {
    const TOKEN: &str = "tok3n5ecretABCDEF0123456789";
    for p in ALL {
        let options = FakeOptions {
            secret: p.secret().map(str::to_string),
            token: Some(TOKEN.to_string()),
            keyword: Some("weekbell".into()),
            ..FakeOptions::default()
        };
        let srv = match p {
            P::DingTalk => FakeDingTalk::start(options).await,
            P::WeCom => FakeWeCom::start(options).await,
            P::Feishu => FakeFeishu::start(options).await,
            P::Slack => FakeSlack::start(options).await,
            P::Webhook => FakeWebhook::start(options).await,
        };
        let ch = p.channel(&srv);
        let secrets: Vec<&str> = [Some(TOKEN), p.secret(), Some("SECwrong-secret-0000")]
            .into_iter()
            .flatten()
            .collect();
        let mut texts: Vec<String> = Vec::new();
        fn collect_into(texts: &mut Vec<String>, o: &Outcome) {
            texts.push(format!("{o:?}"));
            if let Outcome::Permanent { reason, hint } = o {
                texts.push(reason.clone());
                texts.push(hint.clone());
            }
        }

        // The prepared request's Debug.
        match p.platform().prepare(&ch, &part("weekbell"), Utc::now()) {
            Ok(req) => texts.push(format!("{req:?}")),
            Err(o) => collect_into(&mut texts, &o),
        }
        // Echoing servers, every scripted failure, and the fakes' own refusals.
        let url = srv.url();
        srv.script([
            Reply::Text(404, format!("no hook at {url} (token {TOKEN})")),
            Reply::Text(500, format!("upstream {url} failed")),
            Reply::Json(
                200,
                serde_json::json!({"errcode": 310000, "code": 19021, "errmsg": url, "msg": url}),
            ),
            Reply::Code(310000),
            Reply::Status(502),
            Reply::TooManyRequests {
                retry_after_secs: 1,
            },
            Reply::Delay(Duration::from_secs(3)),
            Reply::Reset,
            Reply::Close,
        ]);
        for _ in 0..9 {
            collect_into(&mut texts, &send(&ch, "weekbell").await);
        }
        collect_into(&mut texts, &send(&ch, "no keyword").await);
        let wrong = channel(p.platform(), &url, Some("SECwrong-secret-0000"));
        collect_into(&mut texts, &send(&wrong, "weekbell").await);
        let dead = channel(
            p.platform(),
            &dead_url(&format!("/x/{TOKEN}")).await,
            p.secret(),
        );
        collect_into(&mut texts, &send(&dead, "weekbell").await);
        let mut bad_template = p.channel(&srv);
        set_template(&mut bad_template, &format!("{{{{ {TOKEN} }}}}"));
        collect_into(&mut texts, &send(&bad_template, "weekbell").await);
        // A URL that is not a URL at all.
        let not_a_url = channel(p.platform(), &format!("htp:/{TOKEN}"), p.secret());
        collect_into(&mut texts, &send(&not_a_url, "weekbell").await);
        // The channel's own Debug.
        texts.push(format!("{ch:?}"));

        for text in &texts {
            for secret in &secrets {
                assert!(!text.contains(secret), "{p:?} leaked {secret}: {text}");
            }
        }
        // The outcomes were real failures, not all Sent.
        assert!(texts.iter().any(|t| t.contains("Permanent")), "{p:?}");
        assert!(texts.iter().any(|t| t.contains("timed out")), "{p:?}");
    }
}

/// The delivery worker runs `deliver` on spawned tasks, so its future must be `Send`.
#[tokio::test]
async fn deliver_can_run_on_a_spawned_task() {
    let srv = P::Slack.start(None).await;
    let ch = P::Slack.channel(&srv);
    let task =
        tokio::spawn(async move { deliver(&client(TIMEOUT), &ch, &part("x"), Utc::now()).await });
    assert!(matches!(task.await, Ok(Outcome::Sent)));
}

// ---------------------------------------------------------------------------------------------
// Discord and Mattermost, against their own fakes (tests/support/{discord,mattermost}_server.rs).

mod discord_and_mattermost {
    use super::*;
    use support::discord_server::{DiscordOptions, DiscordReply, FakeDiscord, code_reply};
    use support::mattermost_server::{
        FakeMattermost, MattermostOptions, MattermostReply, app_error_reply,
    };
    use weekbell::render::Mention;

    fn discord_part(text: &str, ids: &[&str]) -> weekbell::render::OutboundPart {
        let mut p = part(text);
        p.mentions = ids
            .iter()
            .map(|id| Mention {
                person_id: None,
                name: "someone".into(),
                handle: Some(id.to_string()),
                mobile: None,
            })
            .collect();
        p
    }

    async fn send_part(ch: &ChannelConfig, p: &weekbell::render::OutboundPart) -> Outcome {
        deliver(&client(TIMEOUT), ch, p, Utc::now()).await
    }

    #[tokio::test]
    async fn discord_posts_with_wait_and_pings_only_the_mentioned() {
        let srv = FakeDiscord::start(DiscordOptions::default()).await;
        let ch = channel(Platform::Discord, &srv.url(), None);
        let text = "Hi <@80351110224678912>, 12 is due. @\u{200B}everyone <@99999999999999999>";
        let got = send_part(&ch, &discord_part(text, &["80351110224678912"])).await;
        assert_eq!(got, Outcome::Sent);
        assert_eq!(srv.statuses(), [200]);
        let m = &srv.received()[0];
        assert!(
            m.path_and_query.ends_with("?wait=true"),
            "{}",
            m.path_and_query
        );
        assert_eq!(m.pings, ["80351110224678912"]);
        assert!(!m.pings_everyone);
        // A thread's webhook keeps its thread.
        let threaded = channel(
            Platform::Discord,
            &format!("{}?thread_id=1180366720153127999", srv.url()),
            None,
        );
        assert_eq!(send_part(&threaded, &part("x")).await, Outcome::Sent);
        assert!(
            srv.received()[1]
                .path_and_query
                .ends_with("?thread_id=1180366720153127999&wait=true")
        );
    }

    #[tokio::test]
    async fn discord_refusals_from_the_fake_are_permanent_in_discords_words() {
        let srv = FakeDiscord::start(DiscordOptions::default()).await;
        let ch = channel(Platform::Discord, &srv.url(), None);
        let cases: Vec<(Outcome, &str)> = vec![
            (send(&ch, "   ").await, "50006"),
            (send(&ch, &"督".repeat(2001)).await, "Must be 2000 or fewer"),
            (
                send(
                    &channel(
                        Platform::Discord,
                        &srv.url_with(WRONG_ID, srv.token()),
                        None,
                    ),
                    "x",
                )
                .await,
                "10015",
            ),
            (
                send(
                    &channel(
                        Platform::Discord,
                        &srv.url_with(support::discord_server::WEBHOOK_ID, "nope-nope-nope"),
                        None,
                    ),
                    "x",
                )
                .await,
                "50027",
            ),
        ];
        for (got, words) in cases {
            assert!(permanent_reason(&got).contains(words), "{words}: {got:?}");
        }
        // Exactly 2,000 characters is fine.
        assert_eq!(send(&ch, &"督".repeat(2000)).await, Outcome::Sent);
    }

    const WRONG_ID: &str = "1180366720153128999";

    #[tokio::test]
    async fn discord_every_documented_code_maps_to_its_outcome_over_http() {
        let srv = FakeDiscord::start(DiscordOptions::default()).await;
        let ch = channel(Platform::Discord, &srv.url(), None);
        for row in Platform::Discord.documented_replies() {
            let code: i64 = row.code.parse().unwrap_or_default();
            srv.script([DiscordReply::Code(code)]);
            let got = send(&ch, "x").await;
            match row.verdict {
                ReplyVerdict::Permanent => {
                    let Outcome::Permanent { reason, hint } = &got else {
                        panic!("{code}: {got:?}")
                    };
                    assert!(reason.starts_with(row.reason), "{reason}");
                    assert!(reason.contains(code_reply(code).1), "{reason}");
                    assert_eq!(hint, row.hint);
                }
                ReplyVerdict::Retry => assert_eq!(kind(&got), "retry", "{code}: {got:?}"),
                // The fake's 429 bodies carry retry_after 1.5, which wins over the default.
                ReplyVerdict::Wait(_) => assert!(
                    matches!(&got, Outcome::Wait { after, .. } if *after == Duration::from_millis(1500)),
                    "{code}: {got:?}"
                ),
                ReplyVerdict::Sent => panic!("no success row expected"),
            }
        }
        assert!(srv.received().is_empty());
    }

    #[tokio::test]
    async fn discord_rate_limits_are_honoured() {
        let srv = FakeDiscord::start(DiscordOptions { rate_limit: true }).await;
        let ch = channel(Platform::Discord, &srv.url(), None);
        for _ in 0..5 {
            assert_eq!(send(&ch, "x").await, Outcome::Sent);
        }
        let got = send(&ch, "x").await;
        let Outcome::Wait { after, reason } = &got else {
            panic!("{got:?}")
        };
        assert!(
            *after > Duration::ZERO && *after <= Duration::from_secs(2),
            "{after:?}"
        );
        assert!(reason.contains("5 messages per 2 seconds"), "{reason}");
        tokio::time::sleep(*after).await;
        assert_eq!(send(&ch, "x").await, Outcome::Sent);
        // The global limit says so; the float retry_after wins over the rounded header.
        srv.script([DiscordReply::RateLimited {
            retry_after: 64.57,
            global: true,
        }]);
        let got = send(&ch, "x").await;
        assert!(
            matches!(&got, Outcome::Wait { after, reason } if *after == Duration::from_millis(64_570) && reason.contains("global")),
            "{got:?}"
        );
        // Server errors are retried; slow answers time out.
        srv.script([
            DiscordReply::Status(502),
            DiscordReply::Delay(Duration::from_secs(3)),
        ]);
        assert_eq!(kind(&send(&ch, "x").await), "retry");
        assert_eq!(kind(&send(&ch, "x").await), "retry");
    }

    #[tokio::test]
    async fn mattermost_posts_json_and_mentions_by_username() {
        let srv = FakeMattermost::start(MattermostOptions::default()).await;
        let ch = channel(Platform::Mattermost, &srv.url(), None);
        let text = "Hi @alice, ask @\u{200B}channel nothing";
        assert_eq!(send(&ch, text).await, Outcome::Sent);
        let m = &srv.received()[0];
        assert!(
            m.content_type.starts_with("application/json"),
            "{}",
            m.content_type
        );
        assert_eq!(m.body, serde_json::json!({"text": text}));
        assert_eq!(m.mentions, ["alice"]);
        assert!(!m.channel_wide);
        assert_eq!(m.posts.len(), 1);
    }

    #[tokio::test]
    async fn mattermost_errors_map_to_their_outcomes() {
        let srv = FakeMattermost::start(MattermostOptions::default()).await;
        let ch = channel(Platform::Mattermost, &srv.url(), None);
        for row in Platform::Mattermost.documented_replies() {
            let reply = if row.code == "limit exceeded" {
                MattermostReply::TooManyRequests {
                    retry_after_secs: 3,
                }
            } else {
                let id: &'static str = Box::leak(row.code.clone().into_boxed_str());
                MattermostReply::AppError(id)
            };
            srv.script([reply]);
            let got = send(&ch, "x").await;
            match row.verdict {
                ReplyVerdict::Permanent => {
                    let Outcome::Permanent { reason, hint } = &got else {
                        panic!("{}: {got:?}", row.code)
                    };
                    assert!(reason.starts_with(row.reason), "{reason}");
                    assert!(reason.contains(app_error_reply(&row.code).1), "{reason}");
                    assert_eq!(hint, row.hint);
                }
                ReplyVerdict::Retry => assert_eq!(kind(&got), "retry", "{}", row.code),
                ReplyVerdict::Wait(_) => assert!(
                    matches!(&got, Outcome::Wait { after, .. } if *after == Duration::from_secs(3)),
                    "{got:?}"
                ),
                ReplyVerdict::Sent => panic!("no success row expected"),
            }
        }
        // The fake's own checks: a wrong key, no text, webhooks turned off.
        let wrong = channel(
            Platform::Mattermost,
            &srv.url_with("nosuchhook0000000000000000"),
            None,
        );
        assert!(permanent_reason(&send(&wrong, "x").await).contains("Invalid webhook"));
        assert!(permanent_reason(&send(&ch, "").await).contains("No text specified"));
        let off = FakeMattermost::start(MattermostOptions {
            disabled: true,
            ..MattermostOptions::default()
        })
        .await;
        let got = send(&channel(Platform::Mattermost, &off.url(), None), "x").await;
        assert!(
            permanent_reason(&got).contains("disabled by the system admin"),
            "{got:?}"
        );
        srv.script([
            MattermostReply::Status(502),
            MattermostReply::Delay(Duration::from_secs(3)),
        ]);
        assert_eq!(kind(&send(&ch, "x").await), "retry");
        assert_eq!(kind(&send(&ch, "x").await), "retry");
        assert_eq!(send(&ch, "x").await, Outcome::Sent);
    }

    #[tokio::test]
    async fn mattermost_rate_limiting_waits_as_told() {
        let srv = FakeMattermost::start(MattermostOptions {
            per_sec: Some(2),
            ..MattermostOptions::default()
        })
        .await;
        let ch = channel(Platform::Mattermost, &srv.url(), None);
        for _ in 0..4 {
            assert_eq!(send(&ch, "x").await, Outcome::Sent);
        }
        let got = send(&ch, "x").await;
        assert!(
            matches!(&got, Outcome::Wait { after, reason } if *after == Duration::from_secs(1) && reason.contains("limit exceeded")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn no_discord_or_mattermost_outcome_contains_the_webhook_token() {
        let discord = FakeDiscord::start(DiscordOptions::default()).await;
        let mattermost = FakeMattermost::start(MattermostOptions::default()).await;
        for (ch, token) in [
            (
                channel(Platform::Discord, &discord.url(), None),
                discord.token().to_string(),
            ),
            (
                channel(Platform::Mattermost, &mattermost.url(), None),
                mattermost.key().to_string(),
            ),
        ] {
            discord.script([DiscordReply::Code(50035), DiscordReply::Status(500)]);
            mattermost.script([
                MattermostReply::AppError("web.incoming_webhook.invalid.app_error"),
                MattermostReply::Status(500),
            ]);
            let mut seen = Vec::new();
            for text in ["x", "x", "", &"y".repeat(20_000)] {
                seen.push(format!("{:?}", send(&ch, text).await));
            }
            let dead = channel(
                ch.platform,
                &dead_url(&format!("/api/webhooks/1/{token}")).await,
                None,
            );
            seen.push(format!("{:?}", send(&dead, "x").await));
            for s in &seen {
                assert!(!s.contains(&token), "{s}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Microsoft Teams (Workflows and the retired connector) and Google Chat, against the fakes in
// `support/teams_server.rs` and `support/googlechat_server.rs`.

mod teams_and_google_chat {
    use super::*;
    use support::googlechat_server::{ChatReply, FakeGoogleChat};
    use support::teams_server::{Endpoint, FakeTeams, TeamsReply};
    use weekbell::render::OutboundPart;

    /// A part whose text carries its mention in each platform's syntax.
    fn part_for(platform: Platform, text: &str) -> OutboundPart {
        let mut p = part(text);
        p.mentions[0].handle = Some(match platform {
            Platform::Teams => "sun.qiang@county.gov.cn".into(),
            _ => "115236089054".into(),
        });
        p
    }

    async fn send_part(ch: &ChannelConfig, p: &OutboundPart) -> Outcome {
        deliver(&client(TIMEOUT), ch, p, Utc::now()).await
    }

    const TEAMS_TEXT: &str = "**本周督办**\n\n• 12 清理河道 <at>孙强</at>\n• 13 修复路灯";

    #[tokio::test]
    async fn both_teams_endpoints_take_the_card() {
        for endpoint in [Endpoint::Workflows, Endpoint::Connector] {
            let srv = FakeTeams::start(endpoint).await;
            let ch = channel(Platform::Teams, &srv.url(), None);
            let got = send_part(&ch, &part_for(Platform::Teams, TEAMS_TEXT)).await;
            assert_eq!(got, Outcome::Sent, "{endpoint:?}");
            let received = srv.received();
            assert_eq!(received.len(), 1, "{endpoint:?}");
            let card = &received[0]["attachments"][0]["content"];
            assert_eq!(card["body"][0]["text"], "本周督办 weekly digest");
            assert_eq!(
                card["body"][1]["text"], "**本周督办**",
                "{endpoint:?}: {card}"
            );
            assert_eq!(
                card["body"][2]["text"],
                "• 12 清理河道 <at>孙强</at>\n\n• 13 修复路灯"
            );
            let entity = &card["msteams"]["entities"][0];
            assert_eq!(entity["text"], "<at>孙强</at>");
            assert_eq!(entity["mentioned"]["id"], "sun.qiang@county.gov.cn");
            let status = srv.exchanges()[0].status;
            let expected = if endpoint == Endpoint::Workflows {
                202
            } else {
                200
            };
            assert_eq!(status, Some(expected), "{endpoint:?}");
        }
    }

    #[tokio::test]
    async fn teams_workflows_refusals_and_replies() {
        let srv = FakeTeams::start(Endpoint::Workflows).await;
        let p = part_for(Platform::Teams, TEAMS_TEXT);
        let reason = |o: &Outcome| o.reason().unwrap_or_default().to_string();
        // Credentials and address, checked by the fake as Logic Apps does.
        let wrong_sig = channel(Platform::Teams, &srv.url_with_token("forged"), None);
        let got = send_part(&wrong_sig, &p).await;
        assert_eq!(kind(&got), "permanent");
        assert!(
            reason(&got).starts_with("the webhook address's signature is wrong"),
            "{got:?}"
        );
        let no_sig = srv
            .url()
            .split("&sig=")
            .next()
            .unwrap_or_default()
            .to_string();
        let got = send_part(&channel(Platform::Teams, &no_sig, None), &p).await;
        assert!(
            reason(&got).starts_with("the webhook address lacks its signature"),
            "{got:?}"
        );
        let other_flow = srv
            .url()
            .replace(support::teams_server::WORKFLOW_ID, "0000");
        let got = send_part(&channel(Platform::Teams, &other_flow, None), &p).await;
        assert!(
            reason(&got).starts_with("there is no flow at this webhook address"),
            "{got:?}"
        );
        // A card whose mention entity does not occur in its text is refused by the fake.
        let ch = channel(Platform::Teams, &srv.url(), None);
        let broken = part_for(Platform::Teams, "no mention here");
        let got = send_part(&ch, &broken).await;
        assert!(
            reason(&got).starts_with("the flow's trigger expects another body"),
            "{got:?}"
        );
        // Scripted replies.
        srv.script([
            TeamsReply::Error(400, "WorkflowTriggerIsNotEnabled"),
            TeamsReply::TooManyRequests {
                retry_after_secs: 2,
            },
            TeamsReply::Status(502),
            TeamsReply::Delay(Duration::from_secs(3)),
            TeamsReply::Reset,
        ]);
        let got = send_part(&ch, &p).await;
        assert!(
            reason(&got).starts_with("the flow behind this webhook is turned off"),
            "{got:?}"
        );
        assert!(matches!(
            send_part(&ch, &p).await,
            Outcome::Wait { after, .. } if after == Duration::from_secs(2)
        ));
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        let slow = send_part(&ch, &p).await;
        assert!(reason(&slow).contains("timed out"), "{slow:?}");
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        assert_eq!(send_part(&ch, &p).await, Outcome::Sent);
    }

    #[tokio::test]
    async fn teams_connector_errors_arrive_wrapped_in_a_200() {
        let srv = FakeTeams::start(Endpoint::Connector).await;
        let ch = channel(Platform::Teams, &srv.url(), None);
        let p = part_for(Platform::Teams, TEAMS_TEXT);
        srv.script([
            TeamsReply::Wrapped(429),
            TeamsReply::Wrapped(413),
            TeamsReply::Wrapped(503),
        ]);
        assert!(matches!(
            send_part(&ch, &p).await,
            Outcome::Wait { after, .. } if after == Duration::from_secs(15)
        ));
        let too_large = send_part(&ch, &p).await;
        assert!(
            permanent_reason(&too_large).starts_with("Teams refused the message as too large"),
            "{too_large:?}"
        );
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        // The fake's own checks: a message over 28 KB, a wrong address.
        let mut big = part_for(Platform::Teams, &"大".repeat(10_000));
        big.mentions.clear();
        let got = send_part(&ch, &big).await;
        assert!(
            permanent_reason(&got).starts_with("Teams refused the message as too large"),
            "{got:?}"
        );
        let wrong = channel(Platform::Teams, &srv.url_with_token("nope"), None);
        assert_eq!(kind(&send_part(&wrong, &p).await), "permanent");
        assert_eq!(send_part(&ch, &p).await, Outcome::Sent);
        assert_eq!(srv.received().len(), 1);
    }

    #[tokio::test]
    async fn google_chat_takes_text_and_refuses_as_google_does() {
        let srv = FakeGoogleChat::start().await;
        let ch = channel(Platform::Googlechat, &srv.url(), None);
        let text = "*本周督办*\n• 12 清理河道 <users/115236089054>";
        let p = part_for(Platform::Googlechat, text);
        assert_eq!(send_part(&ch, &p).await, Outcome::Sent);
        assert_eq!(srv.received(), [serde_json::json!({ "text": text })]);

        let reason = |o: &Outcome| o.reason().unwrap_or_default().to_string();
        let wrong_key = srv
            .url()
            .replace(support::googlechat_server::WEBHOOK_KEY, "AIzaWrong");
        let got = send_part(&channel(Platform::Googlechat, &wrong_key, None), &p).await;
        assert!(
            reason(&got).contains("INVALID_ARGUMENT: API key not valid"),
            "{got:?}"
        );
        let got = send_part(
            &channel(Platform::Googlechat, &srv.url_with_token("x"), None),
            &p,
        )
        .await;
        assert!(
            reason(&got).starts_with("Google Chat does not accept this webhook's key or token"),
            "{got:?}"
        );
        let other_space = srv
            .url()
            .replace(support::googlechat_server::SPACE, "AAAAgone");
        let got = send_part(&channel(Platform::Googlechat, &other_space, None), &p).await;
        assert!(
            reason(&got).starts_with("the webhook's Google Chat space no longer exists"),
            "{got:?}"
        );
        let long = part_for(Platform::Googlechat, &"长".repeat(4_097));
        let got = send_part(&ch, &long).await;
        assert!(
            reason(&got).contains("Message is longer than 4096 characters"),
            "{got:?}"
        );

        srv.script([
            ChatReply::TooManyRequests {
                retry_after_secs: 3,
            },
            ChatReply::Error(500, "INTERNAL", "Internal error encountered."),
            ChatReply::Status(503),
            ChatReply::Error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
            ),
            ChatReply::Delay(Duration::from_secs(3)),
            ChatReply::Close,
        ]);
        assert!(matches!(
            send_part(&ch, &p).await,
            Outcome::Wait { after, .. } if after == Duration::from_secs(3)
        ));
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        let denied = send_part(&ch, &p).await;
        assert!(
            reason(&denied).starts_with("Google Chat refused the webhook"),
            "{denied:?}"
        );
        assert!(reason(&send_part(&ch, &p).await).contains("timed out"));
        assert_eq!(kind(&send_part(&ch, &p).await), "retry");
        assert_eq!(send_part(&ch, &p).await, Outcome::Sent);
    }

    #[tokio::test]
    async fn no_teams_or_google_chat_outcome_shows_the_url_credentials() {
        let teams = FakeTeams::start(Endpoint::Workflows).await;
        let chat = FakeGoogleChat::start().await;
        for (platform, url, secrets) in [
            (
                Platform::Teams,
                teams.url(),
                vec![teams.token().to_string()],
            ),
            (
                Platform::Googlechat,
                chat.url(),
                vec![
                    chat.token().to_string(),
                    support::googlechat_server::WEBHOOK_KEY.to_string(),
                ],
            ),
        ] {
            let ch = channel(platform, &url, None);
            let p = part_for(platform, "x");
            let mut texts = Vec::new();
            for wrong in [
                url.replace(&secrets[0], "forged0123456789abcdef"),
                dead_url(&format!("/v1/spaces/x/messages?key=k&token={}", secrets[0])).await,
            ] {
                texts.push(format!(
                    "{:?}",
                    send_part(&channel(platform, &wrong, None), &p).await
                ));
            }
            if let Ok(req) = platform.prepare(&ch, &p, Utc::now()) {
                texts.push(format!("{req:?}"));
            }
            texts.push(format!("{ch:?}"));
            for text in &texts {
                for secret in &secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{platform} leaked {secret}: {text}"
                    );
                }
            }
        }
    }
}
