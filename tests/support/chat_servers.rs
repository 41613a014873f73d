//! Local servers that behave like the chat platforms' incoming webhooks, for tests.
//!
//! Each fake listens on `127.0.0.1:<random port>`, checks requests the way the platform does and
//! answers with the platform's own reply shapes, so a transport (or the whole daemon) can be
//! tested end to end without the internet:
//!
//! | fake | URL ([`FakeServer::url`]) | checks, and the refusal each one gives |
//! |---|---|---|
//! | [`FakeDingTalk`] | `/robot/send?access_token=T` | token (300001, or 40035 when missing); `Content-Type: application/json` (43004); body ≤ 20000 bytes (460101); with a secret, `timestamp` (ms, within 1 h) and `sign` in the query (310000 "sign not match" / "invalid timestamp"); JSON body (40035); `msgtype` known (400105) with its matching object (40035); keyword (310000 "keywords not in content") |
//! | [`FakeDingTalk`], session | `/robot/sendBySession?session=T` ([`FakeServer::session_url`]): a message's `sessionWebhook`, unsigned | session (300001); then as above, without the signature |
//! | [`FakeFeishu`], Open API | `/open-apis/auth/v3/tenant_access_token/internal` (app_id [`FEISHU_APP_ID`], app_secret = T; else code 10014) and `/open-apis/im/v1/messages/{id}/reply` (`Authorization: Bearer t-T`, else HTTP 400 code 99991663; `msg_type` and a JSON-string `content`, else 230001) | as listed |
//! | [`FakeWeCom`] | `/cgi-bin/webhook/send?key=T` | key (93000); JSON (40058); `msgtype` (40008); content non-empty (44004), text ≤ 2048 and markdown ≤ 4096 bytes (40058) |
//! | [`FakeFeishu`] | `/open-apis/bot/v2/hook/T` | token (19001); body ≤ 20000 bytes (19036); JSON (HTTP 400, 9499); with a secret, body `timestamp` (s, within 1 h) and `sign` (19021); `msg_type` with its `content`/`card` (HTTP 400, 9499); keyword in the text values (19024) |
//! | [`FakeSlack`] | `/services/TFAKE/BFAKE/T` | token (403 `invalid_token`, other paths 404 `no_service`); JSON (400 `invalid_payload`); `text` (400 `no_text`) |
//! | [`FakeWebhook`] | `/hook/T` | token (404); with a secret, `X-Weekbell-Timestamp` (within 300 s) and `X-Weekbell-Signature` (401); JSON (400) |
//!
//! Accepted messages are recorded (parsed JSON, headers, arrival time) and answered with the
//! platform's success reply. Any request can instead be answered from a script:
//!
//! ```ignore
//! mod support;
//! use support::chat_servers::*;
//!
//! let srv = FakeDingTalk::start(FakeOptions { secret: Some("SECabc".into()), ..Default::default() }).await;
//! // srv.url() is the webhook to configure; srv.secret() the 加签 secret.
//! srv.script([Reply::Code(130101), Reply::Status(500), Reply::Delay(Duration::from_secs(5)), Reply::Reset]);
//! // … four requests get those answers, the fifth is handled normally …
//! let bodies: Vec<serde_json::Value> = srv.received();
//! let all = srv.wait_for(3, Duration::from_secs(10)).await; // for daemon tests
//! ```
//!
//! Scripted replies are consumed one per request, in order, before any check; when the script
//! is empty the fake checks and records as the platform would. The fake's clock for the
//! one-hour signing window is the real clock unless [`FakeOptions::now`] pins it.

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen, random_token};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How a fake is set up.
#[derive(Debug, Clone, Default)]
pub struct FakeOptions {
    /// The signing secret the fake checks (DingTalk 加签, Feishu 签名校验, generic webhook
    /// `signing_secret`). `None`: requests are not signed and signatures are ignored. Slack and
    /// WeCom have no signing and ignore it.
    pub secret: Option<String>,
    /// A custom keyword every message must contain (DingTalk, Feishu).
    pub keyword: Option<String>,
    /// The webhook token; a random one when `None`.
    pub token: Option<String>,
    /// The fake's "now" for timestamp windows; the real clock when `None`.
    pub now: Option<DateTime<Utc>>,
}

/// A scripted answer for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The platform's result code in its own reply shape: DingTalk and WeCom
    /// `{"errcode": c, "errmsg": …}` with HTTP 200; Feishu `{"code": c, "msg": …, "data": {}}`
    /// with HTTP 200 (HTTP 400 for 9499). For Slack and the generic webhook, which have no
    /// numeric codes, it answers HTTP `c` with a plain-text body (use [`Reply::Text`] for
    /// Slack's error strings).
    Code(i64),
    /// This HTTP status with a gateway-style plain-text body (`502 Bad Gateway`).
    Status(u16),
    /// HTTP 429 with `Retry-After: <seconds>` (Slack's body: `rate_limited`).
    TooManyRequests { retry_after_secs: u64 },
    /// This status and plain-text body, e.g. `Reply::Text(403, "invalid_token")` for Slack.
    Text(u16, String),
    /// This status and JSON body.
    Json(u16, Value),
    /// Handle the request as usual (checked and, if accepted, recorded at once), but answer
    /// only after this long: a platform that posted the message and answered late.
    Delay(Duration),
    /// Read the request, then reset the connection (TCP RST) without answering.
    Reset,
    /// Read the request, then close the connection (FIN) without answering.
    Close,
}

/// A message the fake accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub headers: Vec<(String, String)>,
    /// The path and query it arrived on (holds the token).
    pub path_and_query: String,
    pub at: Instant,
    pub wall: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DingTalk,
    WeCom,
    Feishu,
    Slack,
    Webhook,
}

macro_rules! fake {
    ($name:ident, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name;

        impl $name {
            /// Starts the fake on a random loopback port.
            pub async fn start(options: FakeOptions) -> FakeServer {
                FakeServer::start($kind, options).await
            }
        }
    };
}

fake!(
    FakeDingTalk,
    Kind::DingTalk,
    "A DingTalk custom robot (`/robot/send?access_token=…`)."
);
fake!(
    FakeWeCom,
    Kind::WeCom,
    "A WeCom group robot (`/cgi-bin/webhook/send?key=…`)."
);
fake!(
    FakeFeishu,
    Kind::Feishu,
    "A Feishu custom bot (`/open-apis/bot/v2/hook/…`)."
);
fake!(
    FakeSlack,
    Kind::Slack,
    "A Slack incoming webhook (`/services/TFAKE/BFAKE/…`)."
);
fake!(
    FakeWebhook,
    Kind::Webhook,
    "A generic JSON webhook receiver that checks weekbell's HMAC headers (`/hook/…`)."
);

/// A running fake platform, on [`FakeHttp`] (received bodies, exchanges, waits). Dropping it
/// stops the server.
pub struct FakeServer {
    http: FakeHttp,
    peer: Arc<Peer>,
}

/// What the checks need to know.
struct Peer {
    kind: Kind,
    options: FakeOptions,
    token: String,
}

impl Deref for FakeServer {
    type Target = FakeHttp;

    fn deref(&self) -> &FakeHttp {
        &self.http
    }
}

impl FakeServer {
    async fn start(kind: Kind, options: FakeOptions) -> FakeServer {
        let token = options
            .token
            .clone()
            .unwrap_or_else(|| random_token(b"0123456789abcdef", 40));
        let peer = Arc::new(Peer {
            kind,
            options,
            token,
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start(move |seen| checks.check(seen)).await;
        FakeServer { http, peer }
    }

    /// The webhook URL to configure, token included.
    pub fn url(&self) -> String {
        self.url_with_token(&self.peer.token)
    }

    /// The webhook URL with another token, to test refusals.
    pub fn url_with_token(&self, token: &str) -> String {
        let base = self.base_url();
        match self.peer.kind {
            Kind::DingTalk => format!("{base}/robot/send?access_token={token}"),
            Kind::WeCom => format!("{base}/cgi-bin/webhook/send?key={token}"),
            Kind::Feishu => format!("{base}/open-apis/bot/v2/hook/{token}"),
            Kind::Slack => format!("{base}/services/TFAKE/BFAKE/{token}"),
            Kind::Webhook => format!("{base}/hook/{token}"),
        }
    }

    /// DingTalk: a message's `sessionWebhook` on this fake.
    pub fn session_url(&self) -> String {
        format!(
            "{}/robot/sendBySession?session={}",
            self.base_url(),
            self.peer.token
        )
    }

    /// The token in [`FakeServer::url`].
    pub fn token(&self) -> &str {
        &self.peer.token
    }

    /// The signing secret the fake checks, if any.
    pub fn secret(&self) -> Option<&str> {
        self.peer.options.secret.as_deref()
    }

    /// Queues answers for the next requests, after any already queued.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        let kind = self.peer.kind;
        self.http
            .script(replies.into_iter().map(|r| scripted(kind, r)));
    }

    /// The accepted messages with their headers and arrival times.
    pub fn messages(&self) -> Vec<Received> {
        self.http
            .records()
            .into_iter()
            .map(|(body, seen)| Received {
                body,
                headers: seen
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
                path_and_query: seen.path_and_query,
                at: seen.at,
                wall: seen.wall,
            })
            .collect()
    }
}

impl Peer {
    fn check(&self, seen: &Seen) -> Checked {
        let now = self.options.now.unwrap_or_else(Utc::now);
        match self.kind {
            Kind::DingTalk => check_dingtalk(self, now, seen),
            Kind::WeCom => check_wecom(self, seen),
            Kind::Feishu
                if seen.path().starts_with("/open-apis/auth/")
                    || seen.path().starts_with("/open-apis/im/") =>
            {
                check_feishu_open_api(self, seen)
            }
            Kind::Feishu => check_feishu(self, now, seen),
            Kind::Slack => check_slack(self, seen),
            Kind::Webhook => check_webhook(self, now, seen),
        }
    }
}

fn success(kind: Kind) -> Answer {
    match kind {
        Kind::DingTalk | Kind::WeCom => Answer::json(200, &json!({"errcode": 0, "errmsg": "ok"})),
        Kind::Feishu => Answer::json(
            200,
            &json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
        ),
        Kind::Slack | Kind::Webhook => Answer::text(200, "ok"),
    }
}

fn scripted(kind: Kind, reply: Reply) -> Scripted {
    let answer = match reply {
        Reply::Code(code) => match kind {
            Kind::DingTalk => Answer::json(
                200,
                &json!({"errcode": code, "errmsg": dingtalk_message(code)}),
            ),
            Kind::WeCom => Answer::json(
                200,
                &json!({"errcode": code, "errmsg": wecom_message(code)}),
            ),
            Kind::Feishu => Answer::json(
                if code == 9499 { 400 } else { 200 },
                &json!({"code": code, "msg": feishu_message(code), "data": {}}),
            ),
            Kind::Slack | Kind::Webhook => {
                let status = u16::try_from(code)
                    .ok()
                    .filter(|s| (100..600).contains(s))
                    .unwrap_or(500);
                Answer::text(status, reason_phrase(status))
            }
        },
        Reply::Status(status) => Answer::text(status, reason_phrase(status)),
        Reply::TooManyRequests { retry_after_secs } => {
            let body = if kind == Kind::Slack {
                "rate_limited"
            } else {
                "Too Many Requests"
            };
            Answer::text(429, body).with_header("retry-after", retry_after_secs.to_string())
        }
        Reply::Text(status, body) => Answer::text(status, body),
        Reply::Json(status, body) => Answer::json(status, &body),
        Reply::Delay(d) => return Scripted::Delay(d),
        Reply::Reset => return Scripted::Reset,
        Reply::Close => return Scripted::Close,
    };
    Scripted::Answer(answer)
}

fn reason_phrase(status: u16) -> String {
    let phrase = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    format!("{status} {phrase}")
}

const DING_MORE: &str = "more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";

fn dingtalk_message(code: i64) -> String {
    match code {
        0 => "ok".into(),
        -1 => "系统繁忙".into(),
        130101 => "send too fast, exceed 20 times per minute".into(),
        300001 | 300005 => "token is not exist".into(),
        310000 => format!("sign not match, {DING_MORE}"),
        400013 => "群已被解散".into(),
        400101 => "access_token不存在".into(),
        400102 => "机器人已停用".into(),
        400105 => "不支持的消息类型".into(),
        400106 => "机器人不存在".into(),
        410100 => "发送速度太快而限流".into(),
        430101 => "含有不安全的外链".into(),
        430102 => "含有不合适的文本".into(),
        430103 => "含有不合适的图片".into(),
        430104 => "含有不合适的内容".into(),
        460101 => "message too long, exceed 20000 bytes".into(),
        40035 => "缺少参数 json".into(),
        43004 => "无效的HTTP HEADER Content-Type".into(),
        _ => "unknown error".into(),
    }
}

fn wecom_message(code: i64) -> String {
    let text = match code {
        0 => return "ok".into(),
        -1 => "system busy",
        45009 => "api freq out of limit",
        93000 => "invalid webhook url",
        40058 => "markdown.content exceed max length 4096. invalid Request Parameter",
        40008 => "invalid message type",
        44004 => "empty content",
        _ => "unknown error",
    };
    format!(
        "{text}, hint: [1764918000123456789012345], from ip: 127.0.0.1, more info at \
         https://open.work.weixin.qq.com/devtool/query?e={code}"
    )
}

fn feishu_message(code: i64) -> &'static str {
    match code {
        0 => "success",
        9499 => "Bad Request",
        11232 => "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
        19001 => "param invalid: incoming webhook access token invalid",
        19021 => "sign match fail or timestamp is not within one hour from current time",
        19022 => "Ip Not Allowed",
        19024 => "Key Words Not Found",
        19036 => "The message exceeds the size limit",
        _ => "unknown error",
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn configured_secret(peer: &Peer) -> Option<&str> {
    peer.options
        .secret
        .as_deref()
        .filter(|s| !s.trim().is_empty())
}

/// Every string value in `value`, except under keys that carry no text a person reads.
fn texts(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(fields) => {
            for (key, v) in fields {
                if !matches!(
                    key.as_str(),
                    "href"
                        | "url"
                        | "tag"
                        | "image_key"
                        | "msgtype"
                        | "msg_type"
                        | "timestamp"
                        | "sign"
                        | "atMobiles"
                        | "atUserIds"
                ) {
                    texts(v, out);
                }
            }
        }
        _ => {}
    }
}

fn check_dingtalk(peer: &Peer, now: DateTime<Utc>, seen: &Seen) -> Checked {
    let refuse = |code: i64, msg: String| {
        Checked::Answer(Answer::json(200, &json!({"errcode": code, "errmsg": msg})))
    };
    // A message's session webhook needs no signature: the session is the credential.
    let session = seen.path() == "/robot/sendBySession";
    if !session && seen.path() != "/robot/send" {
        return Checked::Answer(Answer::json(
            404,
            &json!({"errcode": 404, "errmsg": "请求的URI地址不存在"}),
        ));
    }
    let token_param = if session { "session" } else { "access_token" };
    match seen.query(token_param) {
        None => return refuse(40035, format!("缺少参数 {token_param}")),
        Some(t) if t != peer.token => return refuse(300001, "token is not exist".into()),
        Some(_) => {}
    }
    let content_type = seen.header("content-type").unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return refuse(43004, "无效的HTTP HEADER Content-Type".into());
    }
    if seen.body.len() > 20_000 {
        return refuse(460101, "message too long, exceed 20000 bytes".into());
    }
    if let Some(secret) = configured_secret(peer).filter(|_| !session) {
        let (Some(timestamp), Some(sign)) = (seen.query("timestamp"), seen.query("sign")) else {
            return refuse(310000, format!("sign not match, {DING_MORE}"));
        };
        let Ok(ts) = timestamp.parse::<i64>() else {
            return refuse(310000, format!("invalid timestamp, {DING_MORE}"));
        };
        if (now.timestamp_millis() - ts).abs() > 3_600_000 {
            return refuse(310000, format!("invalid timestamp, {DING_MORE}"));
        }
        let expected = b64(&hmac_sha256(
            secret.as_bytes(),
            format!("{ts}\n{secret}").as_bytes(),
        ));
        if sign != expected {
            return refuse(310000, format!("sign not match, {DING_MORE}"));
        }
    }
    let Ok(value) = serde_json::from_slice::<Value>(&seen.body) else {
        return refuse(40035, "缺少参数 json".into());
    };
    let msgtype = value.get("msgtype").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        msgtype,
        "text" | "markdown" | "link" | "actionCard" | "feedCard"
    ) {
        return refuse(400105, "不支持的消息类型".into());
    }
    if !value.get(msgtype).is_some_and(Value::is_object) {
        return refuse(40035, format!("缺少参数 {msgtype}"));
    }
    if let Some(keyword) = peer.options.keyword.as_deref() {
        let mut text = String::new();
        texts(&value[msgtype], &mut text);
        if !text.contains(keyword) {
            return refuse(310000, format!("keywords not in content, {DING_MORE}"));
        }
    }
    Checked::Accept(value, success(peer.kind))
}

fn check_wecom(peer: &Peer, seen: &Seen) -> Checked {
    let refuse = |code: i64| {
        Checked::Answer(Answer::json(
            200,
            &json!({"errcode": code, "errmsg": wecom_message(code)}),
        ))
    };
    if seen.path() != "/cgi-bin/webhook/send" || seen.query("key").as_deref() != Some(&peer.token) {
        return refuse(93000);
    }
    let Ok(value) = serde_json::from_slice::<Value>(&seen.body) else {
        return refuse(40058);
    };
    let msgtype = value.get("msgtype").and_then(Value::as_str).unwrap_or("");
    let limit = match msgtype {
        "text" => 2048,
        "markdown" | "markdown_v2" => 4096,
        _ => return refuse(40008),
    };
    let content = value[msgtype]["content"].as_str().unwrap_or("");
    if content.is_empty() {
        return refuse(44004);
    }
    if content.len() > limit {
        let msg = format!(
            "{msgtype}.content exceed max length {limit}. invalid Request Parameter, hint: \
             [1764918000123456789012345], from ip: 127.0.0.1, more info at \
             https://open.work.weixin.qq.com/devtool/query?e=40058"
        );
        return Checked::Answer(Answer::json(200, &json!({"errcode": 40058, "errmsg": msg})));
    }
    Checked::Accept(value, success(peer.kind))
}

/// The Feishu app id [`FakeFeishu`]'s Open API accepts (its app secret is the fake's token).
pub const FEISHU_APP_ID: &str = "cli_a1b2c3d4e5f6";

fn check_feishu_open_api(peer: &Peer, seen: &Seen) -> Checked {
    let value: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
    if seen.path() == "/open-apis/auth/v3/tenant_access_token/internal" {
        let ok = value["app_id"] == FEISHU_APP_ID && value["app_secret"] == peer.token.as_str();
        return Checked::Answer(if ok {
            Answer::json(
                200,
                &json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-{}", peer.token), "expire": 7200}),
            )
        } else {
            Answer::json(200, &json!({"code": 10014, "msg": "app secret invalid"}))
        });
    }
    let bearer = seen.header("authorization").unwrap_or("");
    if bearer != format!("Bearer t-{}", peer.token) {
        return Checked::Answer(Answer::json(
            400,
            &json!({"code": 99991663, "msg": "Invalid access token for authorization. Please make a request with token attached."}),
        ));
    }
    let content_ok = value["content"]
        .as_str()
        .is_some_and(|c| serde_json::from_str::<Value>(c).is_ok());
    if value["msg_type"].as_str().is_none() || !content_ok {
        return Checked::Answer(Answer::json(
            400,
            &json!({"code": 230001, "msg": "Your request contains an invalid request parameter."}),
        ));
    }
    Checked::Accept(value, success(peer.kind))
}

fn check_feishu(peer: &Peer, now: DateTime<Utc>, seen: &Seen) -> Checked {
    let refuse = |status: u16, code: i64| {
        Checked::Answer(Answer::json(
            status,
            &json!({"code": code, "msg": feishu_message(code), "data": {}}),
        ))
    };
    let Some(token) = seen.path().strip_prefix("/open-apis/bot/v2/hook/") else {
        return Checked::Answer(Answer::text(404, "404 page not found"));
    };
    if token != peer.token {
        return refuse(200, 19001);
    }
    if seen.body.len() > 20_000 {
        return refuse(200, 19036);
    }
    let Ok(value) = serde_json::from_slice::<Value>(&seen.body) else {
        return refuse(400, 9499);
    };
    if let Some(secret) = configured_secret(peer) {
        let timestamp = match value.get("timestamp") {
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        let sign = value.get("sign").and_then(Value::as_str);
        let (Some(ts), Some(sign)) = (timestamp, sign) else {
            return refuse(200, 19021);
        };
        let expected = b64(&hmac_sha256(format!("{ts}\n{secret}").as_bytes(), b""));
        if (now.timestamp() - ts).abs() > 3600 || sign != expected {
            return refuse(200, 19021);
        }
    }
    let msg_type = value.get("msg_type").and_then(Value::as_str).unwrap_or("");
    let payload = match msg_type {
        "interactive" => value.get("card"),
        "text" | "post" | "image" | "share_chat" => value.get("content"),
        _ => None,
    };
    let Some(payload) = payload.filter(|p| p.is_object()) else {
        return refuse(400, 9499);
    };
    if let Some(keyword) = peer.options.keyword.as_deref() {
        let mut text = String::new();
        texts(payload, &mut text);
        if !text.contains(keyword) {
            return refuse(200, 19024);
        }
    }
    Checked::Accept(value, success(peer.kind))
}

fn check_slack(peer: &Peer, seen: &Seen) -> Checked {
    let Some(token) = seen.path().strip_prefix("/services/TFAKE/BFAKE/") else {
        return Checked::Answer(Answer::text(404, "no_service"));
    };
    if token != peer.token {
        return Checked::Answer(Answer::text(403, "invalid_token"));
    }
    let Ok(value) = serde_json::from_slice::<Value>(&seen.body) else {
        return Checked::Answer(Answer::text(400, "invalid_payload"));
    };
    let has_text = value
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    let has_blocks = value.get("blocks").is_some() || value.get("attachments").is_some();
    if !has_text && !has_blocks {
        return Checked::Answer(Answer::text(400, "no_text"));
    }
    Checked::Accept(value, success(peer.kind))
}

fn check_webhook(peer: &Peer, now: DateTime<Utc>, seen: &Seen) -> Checked {
    if seen.path().strip_prefix("/hook/") != Some(peer.token.as_str()) {
        return Checked::Answer(Answer::text(404, "not found"));
    }
    if let Some(secret) = configured_secret(peer) {
        let header = |name: &str| seen.header(name);
        let (Some(timestamp), Some(signature)) = (
            header("x-weekbell-timestamp"),
            header("x-weekbell-signature"),
        ) else {
            return Checked::Answer(Answer::text(401, "missing signature"));
        };
        let Ok(ts) = timestamp.parse::<i64>() else {
            return Checked::Answer(Answer::text(401, "bad timestamp"));
        };
        if (now.timestamp() - ts).abs() > 300 {
            return Checked::Answer(Answer::text(401, "stale timestamp"));
        }
        let mut message = format!("{ts}.").into_bytes();
        message.extend_from_slice(&seen.body);
        let expected = format!(
            "sha256={}",
            hex::encode(hmac_sha256(secret.as_bytes(), &message))
        );
        if signature != expected {
            return Checked::Answer(Answer::text(401, "bad signature"));
        }
    }
    match serde_json::from_slice::<Value>(&seen.body) {
        Ok(value) => Checked::Accept(value, success(peer.kind)),
        Err(_) => Checked::Answer(Answer::text(400, "body is not JSON")),
    }
}
