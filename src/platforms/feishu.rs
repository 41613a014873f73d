//! Feishu / Lark custom bot: outbound wire format.

pub(super) mod directory;

use super::driver::{Driver, documented};
use super::{
    PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, TokenCache, TokenKey, configured,
    hmac_sha256, int_field, json_body, json_headers, str_field, webhook_url, with_quote,
    without_code,
};
use crate::config::{ChannelConfig, FeishuSettings, PlatformSettings};
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// Markdown only exists inside an interactive card.
pub(super) const DIALECT: Dialect = Dialect::FeishuMarkdown;

/// The request body may be at most 20 KB.
pub(super) const BODY_LIMIT: usize = 20_000;

/// Text budget per part, leaving room for the card envelope, header and JSON escaping.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(18_000);

/// Card markdown mentions by open_id or user_id: `<at id=ou_xxx></at>`.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Feishu).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// An interactive card whose header shows the title, so templates need not repeat it.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({
        "msg_type": "interactive",
        "card": {
            "header": { "title": { "tag": "plain_text", "content": part.title } },
            "elements": [ { "tag": "markdown", "content": part.text } ],
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Transport: signing, request, reply table.

/// 5 messages a second per bot. Feishu also allows only 100 a minute; see
/// [`Platform::default_rate_limit`](crate::types::Platform::default_rate_limit).
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(5, Duration::from_secs(1));

/// How long to wait after 11232 (flow control): the stricter of Feishu's limits is per minute.
pub(super) const THROTTLE_WAIT: Duration = Duration::from_secs(60);

const TOKEN_HINT: &str = "paste the bot's whole webhook address \
    (https://open.feishu.cn/open-apis/bot/v2/hook/…) into `webhook`; if it is already there, the \
    bot was removed from the group: add it again and use its new address";

const SIGN_HINT: &str = "set `secret` to the secret shown under the bot's 安全设置 → 签名校验 \
    (signature verification), or turn signature verification off; also check this server's \
    clock, which Feishu allows to be one hour off at most";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every reply the custom bot is known to give (`code` in the body; HTTP 200 for most, and a
/// 4xx for 9499).
///
/// Sources: the custom bot guide on open.feishu.cn (19021, 19022, 19024, 9499, 11232) and
/// observed replies (19001, 19036).
pub(super) const REPLIES: &[ReplyRow<i64>] = &[
    ReplyRow {
        code: 0,
        platform_message: "success",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: 9499,
        platform_message: "Bad Request",
        verdict: ReplyVerdict::Permanent,
        reason: "Feishu could not read the request",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: 11232,
        platform_message: "frequency limited",
        verdict: ReplyVerdict::Wait(THROTTLE_WAIT),
        reason: "Feishu is throttling this bot: more than 5 messages in a second or 100 in a \
                 minute",
        hint: "if another system posts through the same bot, give weekbell its own bot; \
               schedules at :00 and :30 meet Feishu's busiest minutes",
    },
    ReplyRow {
        code: 19001,
        platform_message: "param invalid: incoming webhook access token invalid",
        verdict: ReplyVerdict::Permanent,
        reason: "Feishu does not accept this webhook's token: the address is wrong or the bot \
                 was removed",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: 19021,
        platform_message: "sign match fail or timestamp is not within one hour from current time",
        verdict: ReplyVerdict::Permanent,
        reason: "Feishu refused the signature: `secret` is not this bot's signing secret, or \
                 this server's clock is more than an hour off",
        hint: SIGN_HINT,
    },
    ReplyRow {
        code: 19022,
        platform_message: "Ip Not Allowed",
        verdict: ReplyVerdict::Permanent,
        reason: "Feishu refused the message: this server's IP is not on the bot's IP allow-list",
        hint: "add this server's public IP to the bot's 安全设置 → IP 白名单, or remove the \
               allow-list",
    },
    ReplyRow {
        code: 19024,
        platform_message: "Key Words Not Found",
        verdict: ReplyVerdict::Permanent,
        reason: "Feishu refused the message: it contains none of the bot's custom keywords",
        hint: "in the bot's 安全设置 → 自定义关键词, add a keyword that every message contains \
               (such as the title), or remove the keyword setting",
    },
    ReplyRow {
        code: 19036,
        platform_message: "The message exceeds the size limit",
        verdict: ReplyVerdict::Permanent,
        reason: "the message is larger than Feishu allows",
        hint: "set a smaller `max_message_size` on the channel so long messages are split into \
               smaller parts",
    },
];

/// The 签名校验 signature: `base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", message = ""))`.
/// Key and message are the other way round from DingTalk's, and the timestamp is in seconds.
pub(super) fn sign(timestamp_s: i64, secret: &str) -> Result<String, Outcome> {
    let key = format!("{timestamp_s}\n{secret}");
    let mac = hmac_sha256(key.as_bytes(), b"")?;
    Ok(super::base64(&mac))
}

/// `POST <webhook>` with the card body, plus top-level `"timestamp"` (seconds, as a string) and
/// `"sign"` when `secret` is set.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = webhook_url(channel)?;
    let mut body = request_body(part);
    if let Some(secret) = configured(channel.secret.as_ref()) {
        let timestamp = now.timestamp();
        let sign = sign(timestamp, secret.trim())?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("timestamp".into(), Value::String(timestamp.to_string()));
            fields.insert("sign".into(), Value::String(sign));
        }
    }
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&body)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Replies to chat commands: the Open API, with the app's tenant access token.

/// Feishu's Open API; Lark's is `https://open.larksuite.com` (channel option `api_base`).
pub(super) const DEFAULT_API_BASE: &str = "https://open.feishu.cn";

/// Open API codes meaning "the tenant token is not valid (any more)": fetch a new one.
const TOKEN_INVALID: [i64; 3] = [99_991_661, 99_991_663, 99_991_668];

static TOKENS: TokenCache = TokenCache::new();

fn api_base(channel: &ChannelConfig) -> String {
    channel.api_base().unwrap_or(DEFAULT_API_BASE).to_string()
}

/// Answers message `message_id` with `part` as a card, through the Open API.
pub(super) async fn reply(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    part: &OutboundPart,
    message_id: &str,
    now: DateTime<Utc>,
) -> Outcome {
    if message_id.is_empty()
        || !message_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Outcome::Permanent {
            reason: "the Feishu message id to reply to is malformed".into(),
            hint: BUG_HINT.into(),
        };
    }
    let base = api_base(channel);
    let token = match tenant_token(client, channel, &base).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let card = json!({
        "header": { "title": { "tag": "plain_text", "content": part.title } },
        "elements": [ { "tag": "markdown", "content": part.text } ],
    });
    let body = json!({ "msg_type": "interactive", "content": card.to_string() });
    let url = format!("{base}/open-apis/im/v1/messages/{message_id}/reply");
    let request = PreparedRequest {
        url: Secret::new(url),
        headers: vec![
            (
                "content-type".to_string(),
                "application/json; charset=utf-8".to_string(),
            ),
            (
                "authorization".to_string(),
                format!("Bearer {}", token.expose()),
            ),
        ],
        body: match json_body(&body) {
            Ok(b) => b,
            Err(o) => return o,
        },
    };
    let outcome = super::sending::send(client, Platform::Feishu, request, now).await;
    if let Outcome::Retry { reason } = &outcome
        && TOKEN_INVALID
            .iter()
            .any(|c| reason.contains(&c.to_string()))
    {
        TOKENS.forget(&token_key(channel, &base));
    }
    outcome
}

/// The Feishu app a channel answers as; `None` for a channel of another platform.
fn app(channel: &ChannelConfig) -> Option<&FeishuSettings> {
    match &channel.settings {
        PlatformSettings::Feishu(app) => Some(app),
        _ => None,
    }
}

fn token_key(channel: &ChannelConfig, base: &str) -> TokenKey {
    let app_id = app(channel)
        .and_then(|a| a.app_id.as_ref())
        .map(|s| s.expose().to_string())
        .unwrap_or_default();
    (base.to_string(), app_id)
}

/// The app's tenant access token: cached until shortly before it expires.
async fn tenant_token(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    base: &str,
) -> Result<Secret, Outcome> {
    let key = token_key(channel, base);
    if let Some(token) = TOKENS.get(&key) {
        return Ok(token);
    }
    let (Some(app_id), Some(app_secret)) = (
        configured(app(channel).and_then(|a| a.app_id.as_ref())),
        configured(app(channel).and_then(|a| a.app_secret.as_ref())),
    ) else {
        return Err(Outcome::Permanent {
            reason: "replying in Feishu needs the app's credentials".into(),
            hint: "set `app_id` and `app_secret` on the channel (开发者后台 → 凭证与基础信息)"
                .into(),
        });
    };
    let url = format!("{base}/open-apis/auth/v3/tenant_access_token/internal");
    let answer = client
        .post(url)
        .json(&json!({ "app_id": app_id, "app_secret": app_secret }))
        .send()
        .await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            return Err(Outcome::Retry {
                reason: format!(
                    "cannot reach Feishu for an access token: {}",
                    e.without_url()
                ),
            });
        }
    };
    let status = response.status().as_u16();
    let body: Value = match response.json().await {
        Ok(v) => v,
        Err(_) => {
            return Err(Outcome::Retry {
                reason: format!("Feishu answered HTTP {status} without JSON to a token request"),
            });
        }
    };
    let code = int_field(&body, "code").unwrap_or(-1);
    let token = str_field(&body, "tenant_access_token").filter(|t| !t.is_empty());
    match (code, token) {
        (0, Some(token)) => {
            let expire = body.get("expire").and_then(Value::as_u64).unwrap_or(7200);
            let token = Secret::new(token);
            TOKENS.put(key, token.clone(), expire);
            Ok(token)
        }
        _ if status >= 500 => Err(Outcome::Retry {
            reason: format!("Feishu's token service answered HTTP {status}"),
        }),
        (code, _) => Err(Outcome::Permanent {
            reason: with_quote(
                "Feishu refused the app's credentials",
                "Feishu code",
                code,
                str_field(&body, "msg"),
            ),
            hint:
                "check `app_id` and `app_secret` on the channel against the app's 凭证与基础信息 \
                   page, and that the app is published with the bot feature on"
                    .into(),
        }),
    }
}

/// Feishu's result is `code` (older replies: `StatusCode`), whatever the HTTP status: only
/// `code == 0` is delivered. Codes not in [`REPLIES`]: 9000–9999 and 19000–19999 (request and
/// custom-bot refusals) are permanent; any other code is retried, bounded by the caller's
/// attempts and deadline.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let reply: Option<Value> = serde_json::from_slice(body).ok();
    let code = reply
        .as_ref()
        .and_then(|r| int_field(r, "code").or_else(|| int_field(r, "StatusCode")));
    let Some(code) = code else {
        return without_code("Feishu", status, retry_after, body);
    };
    let message = reply
        .as_ref()
        .and_then(|r| str_field(r, "msg").or_else(|| str_field(r, "StatusMessage")));
    if let Some(row) = REPLIES.iter().find(|row| row.code == code) {
        return row.outcome("Feishu code", code, message, retry_after);
    }
    if (9_000..10_000).contains(&code) || (19_000..20_000).contains(&code) {
        Outcome::Permanent {
            reason: with_quote("Feishu refused the message", "Feishu code", code, message),
            hint: "look the code up in Feishu's custom bot guide (open.feishu.cn); the message \
                   is not resent as is"
                .into(),
        }
    } else if status == 429 {
        Outcome::Wait {
            after: retry_after.unwrap_or(THROTTLE_WAIT),
            reason: with_quote("Feishu asked us to slow down", "Feishu code", code, message),
        }
    } else {
        Outcome::Retry {
            reason: with_quote(
                "Feishu answered with an error weekbell does not know",
                "Feishu code",
                code,
                message,
            ),
        }
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    size_limit: Some(SIZE_LIMIT),
    body_limit: Some(BODY_LIMIT),
    shows_title: true,
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, _| mention_for(person),
    request_body: |part, _| request_body(part),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::{channel, header, now, part};

    const SECRET: &str = "qH3nXkVJ8fTzY2mWcR5pLd";

    #[test]
    fn sign_known_answer() {
        // Cross-checked with Python:
        //   base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", sha256).digest())
        assert_eq!(
            sign(1_764_918_000, SECRET).ok().as_deref(),
            Some("G7eCWG23yLezjFIWVUZL/h/CyBWoQuONWKdm/PV8Y4g=")
        );
    }

    #[test]
    fn prepare_adds_timestamp_and_sign_to_the_body() {
        let url = "https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-9f2d";
        let ch = channel(Platform::Feishu, url, Some(SECRET));
        let req = Platform::Feishu.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), url);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["timestamp"], "1764918000");
        assert_eq!(body["sign"], "G7eCWG23yLezjFIWVUZL/h/CyBWoQuONWKdm/PV8Y4g=");
        assert_eq!(body["msg_type"], "interactive");

        let unsigned = channel(Platform::Feishu, url, None);
        let body = Platform::Feishu
            .prepare(&unsigned, &part(), now())
            .map(|r| r.body)
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert!(body.get("sign").is_none() && body.get("timestamp").is_none());
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let body = json!({ "code": row.code, "msg": row.platform_message, "data": {} });
            // 9499 comes with HTTP 400; the code decides either way.
            for status in [200, 400] {
                let got = classify(status, None, body.to_string().as_bytes());
                crate::platforms::replies::assert_verdict(&row.code.to_string(), row.verdict, &got);
            }
        }
    }

    #[test]
    fn legacy_and_unknown_replies() {
        assert_eq!(
            classify(200, None, br#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Outcome::Sent
        );
        let got = classify(200, None, br#"{"code":19099,"msg":"new"}"#);
        assert!(matches!(got, Outcome::Permanent { .. }), "{got:?}");
        let got = classify(200, None, br#"{"code":12345,"msg":"new"}"#);
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
        let got = classify(
            429,
            None,
            br#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
        );
        assert!(matches!(got, Outcome::Wait { .. }), "{got:?}");
        assert!(matches!(classify(200, None, b"ok"), Outcome::Retry { .. }));
        assert!(matches!(classify(500, None, b""), Outcome::Retry { .. }));
    }
}
