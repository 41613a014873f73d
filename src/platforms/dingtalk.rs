//! DingTalk (钉钉) custom group robot: outbound wire format.

pub(super) mod directory;

use super::driver::{Driver, documented};
use super::{
    PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, configured, hmac_sha256, int_field,
    json_body, json_headers, str_field, webhook_url, with_quote, without_code,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

pub(super) const DIALECT: Dialect = Dialect::DingTalkMarkdown;

/// The robot refuses bodies over 20,000 bytes (`errcode 460101`).
pub(super) const BODY_LIMIT: usize = 20_000;

/// Text budget per part: 2,000 bytes below the body limit leave room for the envelope, the
/// title, the `at` lists and JSON escaping; the renderer re-splits if a request still overflows.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(18_000);

/// DingTalk notifies by user id (`atUserIds`) or, failing that, by mobile (`atMobiles`); the
/// same id must also be written as `@id` in the text, which the dialect does.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Dingtalk);
    let mobile = if handle.is_some() {
        None
    } else {
        super::safe_mobile(person)
    };
    (handle.is_some() || mobile.is_some()).then(|| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle,
        mobile,
    })
}

/// `msgtype: markdown`, or `text` when the channel chose it. A markdown title is only the
/// notification preview, so templates repeat it as a heading in the text. Either way the
/// mentioned people are in `at` and, as `@id`, in the text: DingTalk needs both to notify.
pub(super) fn request_body(part: &OutboundPart, as_text: bool) -> Value {
    let (user_ids, mobiles) = super::mention_lists(part);
    let at = json!({ "atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": false });
    if as_text {
        json!({ "msgtype": "text", "text": { "content": part.text }, "at": at })
    } else {
        json!({
            "msgtype": "markdown",
            "markdown": { "title": part.title, "text": part.text },
            "at": at,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Session webhooks: where an answer to a command may go.

/// The hosts a message's `sessionWebhook` may point at. DingTalk's robot documentation, the
/// official Stream SDKs' examples and every captured message show
/// `https://oapi.dingtalk.com/robot/sendBySession?session=…`; `api.dingtalk.com` is DingTalk's
/// newer OpenAPI host (the Stream gateway's), allowed too so that a move of the endpoint there
/// does not silently stop the answers.
pub(crate) const SESSION_WEBHOOK_HOSTS: &[&str] = &["oapi.dingtalk.com", "api.dingtalk.com"];

/// Why weekbell will not post to `url`, a `sessionWebhook` read from an inbound message, or
/// `None` when it may: HTTPS on port 443 of one of [`SESSION_WEBHOOK_HOSTS`], or the origin of
/// the channel's `api_base` (set only to reach a local stand-in, as the tests do).
///
/// The URL is the sender's word: the callback's signature does not cover the body, so without
/// this rule a captured header pair could send the answer (the task list) anywhere, loopback
/// and the office's intranet included. The reason names the refused origin, never the URL,
/// whose query is the session's credential.
pub(crate) fn session_webhook_refusal(url: &str, api_base: Option<&str>) -> Option<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some("the session webhook is not a URL".into());
    };
    let origin = parsed.origin().ascii_serialization();
    let shown: String = origin.chars().take(100).collect();
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(format!(
            "the session webhook on {shown} carries a user name"
        ));
    }
    let on_base = api_base
        .and_then(|b| reqwest::Url::parse(b).ok())
        .is_some_and(|b| b.origin() == parsed.origin());
    let on_dingtalk = parsed.scheme() == "https"
        && parsed.port_or_known_default() == Some(443)
        && parsed
            .host_str()
            .is_some_and(|h| SESSION_WEBHOOK_HOSTS.contains(&h));
    (!on_base && !on_dingtalk).then(|| {
        format!(
            "the session webhook points at {shown}, which is not DingTalk ({}) over HTTPS nor \
             the channel's api_base",
            SESSION_WEBHOOK_HOSTS.join(", ")
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Transport: signing, request, reply table.

/// 20 messages a minute per robot; more and DingTalk blocks the robot for 10 minutes (130101).
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(20, Duration::from_secs(60));

/// How long to wait after DingTalk says "too fast" (130101, 410100).
///
/// DingTalk blocks a robot for 10 minutes once it has sent more than 20 messages in a minute.
/// We wait one minute rather than ten: the block may have started well before our message (the
/// robot may be shared with another system), and a delivery worker doubles its wait for each
/// consecutive `Wait` on a channel, so a full block costs a few probes (1 + 2 + 4 + 8 minutes)
/// while a short one costs only a minute.
pub(super) const THROTTLE_WAIT: Duration = Duration::from_secs(60);

const KEYWORD_SIGN_IP_HINT: &str = "check the robot's 安全设置 (security settings) in the group's \
    智能群助手: add a keyword that every message contains (such as the title), or set `secret` to \
    the 加签 secret starting with SEC, or add this server's public IP to the allow-list; if `secret` \
    is set, also check this server's clock (DingTalk allows one hour of difference)";

const TOKEN_HINT: &str = "copy the robot's whole Webhook address (…/robot/send?access_token=…) \
    again from the group's 智能群助手 settings into `webhook`";

const SPLIT_HINT: &str = "set a smaller `max_message_size` on the channel so long messages are \
    split into smaller parts";

const CONTENT_HINT: &str = "DingTalk's content review refused the text: find the task text or \
    link that triggers it and reword it";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every reply the custom robot is known to give (`errcode` in an HTTP 200 body).
///
/// Sources: the robot's error-code table on open.dingtalk.com (310000, 400013, 400101, 400102,
/// 400105, 400106, 410100, 430101–430104, 460101) and observed replies (130101, 300001, 300005,
/// 40035, 43004, -1). Codes not listed here are handled by [`classify`]'s fallback.
pub(super) const REPLIES: &[ReplyRow<i64>] = &[
    ReplyRow {
        code: 0,
        platform_message: "ok",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: -1,
        platform_message: "系统繁忙 (system busy)",
        verdict: ReplyVerdict::Retry,
        reason: "DingTalk is busy",
        hint: "",
    },
    ReplyRow {
        code: 130101,
        platform_message: "send too fast, exceed 20 times per minute",
        verdict: ReplyVerdict::Wait(THROTTLE_WAIT),
        reason: "DingTalk is throttling this robot: it sent more than 20 messages in a minute, \
                 and DingTalk blocks it for 10 minutes",
        hint: "if another system posts through the same robot, give weekbell its own robot",
    },
    ReplyRow {
        code: 410100,
        platform_message: "发送速度太快而限流 (sending too fast, throttled)",
        verdict: ReplyVerdict::Wait(THROTTLE_WAIT),
        reason: "DingTalk is throttling this robot: messages are sent too fast",
        hint: "if another system posts through the same robot, give weekbell its own robot",
    },
    ReplyRow {
        code: 300001,
        platform_message: "token is not exist",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk does not know this robot's access_token: the robot was removed or the \
                 webhook address is wrong",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: 300005,
        platform_message: "token is not exist",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk does not know this robot's access_token: the robot was removed or the \
                 webhook address is wrong",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: 310000,
        platform_message: "keywords not in content / sign not match / invalid timestamp / ip X not in whitelist",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk refused the message: the robot's security keyword is missing from it, \
                 the signature secret is wrong, or this server's IP is not on the allow-list",
        hint: KEYWORD_SIGN_IP_HINT,
    },
    ReplyRow {
        code: 400013,
        platform_message: "群已被解散 (the group was disbanded)",
        verdict: ReplyVerdict::Permanent,
        reason: "the DingTalk group this robot posts to was disbanded",
        hint: "add a custom robot to a group that exists and put its webhook in `webhook`",
    },
    ReplyRow {
        code: 400101,
        platform_message: "access_token不存在 (access_token does not exist)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk does not know this robot's access_token: the webhook address is wrong",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: 400102,
        platform_message: "机器人已停用 (the robot is disabled)",
        verdict: ReplyVerdict::Permanent,
        reason: "the DingTalk robot is disabled",
        hint: "ask a group admin to enable the robot again in the group's 智能群助手 settings",
    },
    ReplyRow {
        code: 400105,
        platform_message: "不支持的消息类型 (unsupported message type)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk does not support the message type weekbell sent",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: 400106,
        platform_message: "机器人不存在 (the robot does not exist)",
        verdict: ReplyVerdict::Permanent,
        reason: "the DingTalk robot no longer exists: it was removed from the group",
        hint: "add a custom robot to the group again and put its new webhook in `webhook`",
    },
    ReplyRow {
        code: 40035,
        platform_message: "缺少参数 json / access_token (missing parameter)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk says a required parameter is missing: the webhook address lacks its \
                 access_token, or the body was not understood",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: 43004,
        platform_message: "无效的HTTP HEADER Content-Type",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk refused the request's Content-Type header",
        hint: "if a proxy sits between weekbell and DingTalk, make it keep the Content-Type \
               header; otherwise this is a weekbell bug",
    },
    ReplyRow {
        code: 430101,
        platform_message: "含有不安全的外链 (contains an unsafe link)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk's content review refused the message: it contains a link DingTalk \
                 considers unsafe",
        hint: CONTENT_HINT,
    },
    ReplyRow {
        code: 430102,
        platform_message: "含有不合适的文本 (contains inappropriate text)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk's content review refused the message's text",
        hint: CONTENT_HINT,
    },
    ReplyRow {
        code: 430103,
        platform_message: "含有不合适的图片 (contains an inappropriate image)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk's content review refused an image in the message",
        hint: CONTENT_HINT,
    },
    ReplyRow {
        code: 430104,
        platform_message: "含有不合适的内容 (contains inappropriate content)",
        verdict: ReplyVerdict::Permanent,
        reason: "DingTalk's content review refused the message's content",
        hint: CONTENT_HINT,
    },
    ReplyRow {
        code: 460101,
        platform_message: "message too long, exceed 20000 bytes",
        verdict: ReplyVerdict::Permanent,
        reason: "the message is longer than DingTalk's limit of 20000 bytes",
        hint: SPLIT_HINT,
    },
];

/// The 加签 signature, before URL-encoding: `base64(HMAC-SHA256(key = secret, message =
/// "{timestamp_ms}\n{secret}"))`.
pub(super) fn sign(timestamp_ms: i64, secret: &str) -> Result<String, Outcome> {
    let message = format!("{timestamp_ms}\n{secret}");
    let mac = hmac_sha256(secret.as_bytes(), message.as_bytes())?;
    Ok(super::base64(&mac))
}

/// `POST <webhook>[&timestamp=<ms>&sign=<urlencoded sign>]` with the markdown body.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let mut url = webhook_url(channel)?;
    if let Some(secret) = configured(channel.secret.as_ref()) {
        let timestamp = now.timestamp_millis();
        let sign = sign(timestamp, secret.trim())?;
        // A webhook pasted with an old signature in it would send two; keep only ours.
        let stale = url
            .query_pairs()
            .any(|(k, _)| k == "timestamp" || k == "sign");
        if stale {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "timestamp" && k != "sign")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        // `append_pair` form-encodes, which turns base64's `+ / =` into `%2B %2F %3D`.
        url.query_pairs_mut()
            .append_pair("timestamp", &timestamp.to_string())
            .append_pair("sign", &sign);
    }
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&request_body(
            part,
            channel.dialect() == Dialect::DingTalkText,
        ))?,
    })
}

/// DingTalk answers HTTP 200 with `errcode`; only `errcode == 0` is delivered. Codes not in
/// [`REPLIES`]: those from 300000 to 499999 (DingTalk's ranges for token, security, robot and
/// content refusals) are permanent, because resending the same request gets the same refusal
/// and repeats count against the robot's 20-a-minute budget; any other code is retried, bounded
/// by the caller's attempts and deadline.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let reply: Option<Value> = serde_json::from_slice(body).ok();
    let Some(code) = reply.as_ref().and_then(|r| int_field(r, "errcode")) else {
        return without_code("DingTalk", status, retry_after, body);
    };
    let message = reply.as_ref().and_then(|r| str_field(r, "errmsg"));
    if let Some(row) = REPLIES.iter().find(|row| row.code == code) {
        return row.outcome("DingTalk errcode", code, message, retry_after);
    }
    if (300_000..500_000).contains(&code) {
        Outcome::Permanent {
            reason: with_quote(
                "DingTalk refused the message",
                "DingTalk errcode",
                code,
                message,
            ),
            hint: "look the code up in DingTalk's custom robot documentation \
                   (open.dingtalk.com); the message is not resent as is"
                .into(),
        }
    } else {
        Outcome::Retry {
            reason: with_quote(
                "DingTalk answered with an error weekbell does not know",
                "DingTalk errcode",
                code,
                message,
            ),
        }
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    text_dialect: Some(Dialect::DingTalkText),
    size_limit: Some(SIZE_LIMIT),
    body_limit: Some(BODY_LIMIT),
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, _| mention_for(person),
    request_body: |part, dialect| request_body(part, dialect == Dialect::DingTalkText),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::{channel, header, now, part};

    const SECRET: &str = "SEC2b1f0c5e8a9d4f7b3c6e1a0d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";

    #[test]
    fn session_webhooks_go_only_to_dingtalk_over_https_or_the_channel_api_base() {
        for ok in [
            "https://oapi.dingtalk.com/robot/sendBySession?session=c2e0a5",
            "https://api.dingtalk.com/robot/sendBySession?session=c2e0a5",
            "https://OAPI.dingtalk.com:443/robot/sendBySession?session=c2e0a5",
        ] {
            assert_eq!(session_webhook_refusal(ok, None), None, "{ok}");
        }
        for refused in [
            "http://oapi.dingtalk.com/robot/sendBySession?session=c2e0a5",
            "https://oapi.dingtalk.com:8443/robot/sendBySession?session=c2e0a5",
            "https://oapi.dingtalk.com.evil.example/robot/sendBySession?session=c2e0a5",
            "https://evil.example/?x=oapi.dingtalk.com",
            "https://user@oapi.dingtalk.com/robot/sendBySession?session=c2e0a5",
            "http://127.0.0.1:8080/anything",
            "https://[::1]/anything",
            "http://169.254.169.254/latest/meta-data/",
            "file:///etc/passwd",
            "not a url",
        ] {
            let why = session_webhook_refusal(refused, None);
            assert!(why.is_some(), "{refused}");
            assert!(!why.unwrap_or_default().contains("c2e0a5"), "{refused}");
        }
        let base = Some("http://127.0.0.1:8080");
        assert_eq!(
            session_webhook_refusal("http://127.0.0.1:8080/robot/sendBySession?session=t", base),
            None
        );
        assert!(
            session_webhook_refusal("http://127.0.0.1:8081/robot/sendBySession", base).is_some()
        );
        assert!(
            session_webhook_refusal("http://localhost:8080/robot/sendBySession", base).is_some()
        );
    }

    #[test]
    fn sign_known_answer() {
        // Cross-checked with Python:
        //   base64.b64encode(hmac.new(secret, f"{ts}\n{secret}", sha256).digest())
        assert_eq!(
            sign(1_764_918_000_000, SECRET).ok().as_deref(),
            Some("csdRKV/zUXe8P7G0dV7IjhJ2l5oGSnD97KqnUaVAgWg=")
        );
    }

    #[test]
    fn prepare_signs_the_url() {
        let ch = channel(
            Platform::Dingtalk,
            "https://oapi.dingtalk.com/robot/send?access_token=abc123",
            Some(SECRET),
        );
        let req = Platform::Dingtalk.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(
            req.url.expose(),
            "https://oapi.dingtalk.com/robot/send?access_token=abc123\
             &timestamp=1764918000000&sign=csdRKV%2FzUXe8P7G0dV7IjhJ2l5oGSnD97KqnUaVAgWg%3D"
        );
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["at"]["atUserIds"][0], "staff-0001");
    }

    #[test]
    fn prepare_replaces_a_stale_signature_and_skips_empty_secrets() {
        let ch = channel(
            Platform::Dingtalk,
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=old",
            Some(SECRET),
        );
        let url = Platform::Dingtalk
            .prepare(&ch, &part(), now())
            .map(|r| r.url.expose().to_string())
            .unwrap_or_default();
        assert_eq!(url.matches("timestamp=").count(), 1, "{url}");
        assert!(!url.contains("sign=old"), "{url}");

        let ch = channel(
            Platform::Dingtalk,
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            Some(""),
        );
        let url = Platform::Dingtalk
            .prepare(&ch, &part(), now())
            .map(|r| r.url.expose().to_string())
            .unwrap_or_default();
        assert_eq!(url, "https://oapi.dingtalk.com/robot/send?access_token=abc");
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let body = serde_json::json!({ "errcode": row.code, "errmsg": row.platform_message });
            let got = classify(200, None, body.to_string().as_bytes());
            crate::platforms::replies::assert_verdict(&row.code.to_string(), row.verdict, &got);
        }
    }

    #[test]
    fn specific_replies() {
        let got = classify(
            200,
            None,
            br#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
        );
        assert_eq!(
            got,
            Outcome::Permanent {
                reason: "DingTalk refused the message: the robot's security keyword is missing \
                         from it, the signature secret is wrong, or this server's IP is not on \
                         the allow-list (DingTalk errcode 310000: keywords not in content)"
                    .into(),
                hint: KEYWORD_SIGN_IP_HINT.into(),
            }
        );
        // The throttle honours a Retry-After when one comes along.
        let got = classify(
            200,
            Some(Duration::from_secs(5)),
            br#"{"errcode":130101,"errmsg":"send too fast"}"#,
        );
        assert!(matches!(got, Outcome::Wait { after, .. } if after == Duration::from_secs(5)));
        // errcode as a string, as some gateways re-encode it.
        assert_eq!(classify(200, None, br#"{"errcode":"0"}"#), Outcome::Sent);
    }

    #[test]
    fn unknown_codes_and_bodies() {
        let got = classify(200, None, br#"{"errcode":410999,"errmsg":"new"}"#);
        assert!(matches!(got, Outcome::Permanent { .. }), "{got:?}");
        let got = classify(200, None, br#"{"errcode":12345,"errmsg":"new"}"#);
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
        // HTTP 200 without an errcode is not proof of delivery.
        let got = classify(200, None, b"<html>portal</html>");
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
        assert!(matches!(classify(502, None, b""), Outcome::Retry { .. }));
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), b""),
            Outcome::Wait { after, .. } if after == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(404, None, b""),
            Outcome::Permanent { .. }
        ));
    }
}
